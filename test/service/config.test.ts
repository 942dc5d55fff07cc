import { loadConfig } from '../../service/src/config';

describe('configuration', () => {
    it('when nothing is configured, then the service runs in local mode with an outbox and generated secrets', () => {
        const config = loadConfig({});

        expect(config.mode).toBe('local');
        expect(config.mail.transport).toMatchObject({
            kind: 'outbox',
            dir: expect.stringMatching(/outbox$/)
        });
        expect(config.apiSecret.length).toBeGreaterThanOrEqual(32);
        expect(config.apiSecretGenerated).toBe(true);
        expect(config.scheduler).toBe('service');
        expect(config.localOrg.dataDir).toMatch(/\.data[/\\]local-org$/);
        expect(config.runs.previewTtlHours).toBe(24);
    });

    it('when several variables are bad, then the error names each of them and no value', () => {
        const attempt = () =>
            loadConfig({ PORT: 'eighty', SMTP_SECURE: 'maybe', ROLLCALL_API_SECRET: 'short-secret-value' });

        expect(attempt).toThrow(/PORT/);
        expect(attempt).toThrow(/SMTP_SECURE/);
        expect(attempt).toThrow(/ROLLCALL_API_SECRET: must be at least 32 characters/);
        expect(attempt).not.toThrow(/short-secret-value/);
    });

    it('when an org is partly configured, then the missing org variables are named', () => {
        const attempt = () => loadConfig({ SF_LOGIN_URL: 'https://login.salesforce.com' });

        expect(attempt).toThrow(/SF_CLIENT_ID: required/);
        expect(attempt).toThrow(/SF_USERNAME: required/);
        expect(attempt).toThrow(/SF_PRIVATE_KEY: required/);
        expect(attempt).toThrow(/ROLLCALL_API_SECRET: required/);
        expect(attempt).toThrow(/AUTH_TOKEN_SECRET: required/);
    });

    it('when a complete org and SMTP are configured, then the real adapters are chosen', () => {
        const config = loadConfig({
            SF_LOGIN_URL: 'https://test.salesforce.com/',
            SF_CLIENT_ID: 'client',
            SF_USERNAME: 'integration@example.com',
            SF_PRIVATE_KEY: '-----BEGIN PRIVATE KEY-----\\nabc\\n-----END PRIVATE KEY-----',
            ROLLCALL_API_SECRET: 'x'.repeat(40),
            AUTH_TOKEN_SECRET: 'y'.repeat(40),
            SMTP_HOST: 'smtp.example.com',
            SMTP_PORT: '465',
            SMTP_SECURE: 'true',
            SMTP_RATE_PER_SECOND: '10'
        });

        expect(config.mode).toBe('org');
        expect(config.salesforce).toMatchObject({
            loginUrl: 'https://test.salesforce.com',
            clientId: 'client'
        });
        expect(config.salesforce?.privateKeyPem).toContain('\nabc\n');
        expect(config.mail.transport).toMatchObject({
            kind: 'smtp',
            host: 'smtp.example.com',
            port: 465,
            secure: true
        });
        expect(config.scheduler).toBe('apex');
        expect(config.host).toBe('0.0.0.0');
    });

    it('when the link template has no {token}, then it is refused', () => {
        expect(() => loadConfig({ AUTH_LINK_URL_TEMPLATE: 'https://x.example.com/authorize' })).toThrow(
            /AUTH_LINK_URL_TEMPLATE: must contain \{token\}/
        );
    });
});
