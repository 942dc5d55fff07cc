import { jwtAudience } from '../../service/src/adapters/salesforce';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { configuredSecrets, ENV_VARIABLES, loadConfig } from '../../service/src/config';
import { redact, registerSecret } from '../../service/src/errors';

const RSA_KEY_PEM = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
    type: 'pkcs8',
    format: 'pem'
}) as string;
const ORG_ENV = {
    SF_LOGIN_URL: 'https://login.salesforce.com',
    SF_CLIENT_ID: 'client',
    SF_USERNAME: 'integration@example.com',
    ROLLCALL_API_SECRET: 'x'.repeat(40),
    AUTH_TOKEN_SECRET: 'y'.repeat(40)
};

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
            SF_PRIVATE_KEY: RSA_KEY_PEM.replace(/\n/g, '\\n'),
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
        expect(config.salesforce?.privateKeyPem).toBe(RSA_KEY_PEM);
        expect(config.mail.transport).toMatchObject({
            kind: 'smtp',
            host: 'smtp.example.com',
            port: 465,
            secure: true
        });
        expect(config.scheduler).toBe('apex');
        expect(config.host).toBe('0.0.0.0');
    });

    it.each([
        [
            'a PEM block with a body that is not a key',
            '-----BEGIN PRIVATE KEY-----\\nabc\\n-----END PRIVATE KEY-----'
        ],
        ['a truncated key', RSA_KEY_PEM.slice(0, 400).replace(/\n/g, '\\n')],
        ['a public key', '-----BEGIN PUBLIC KEY-----\\nMIIBIjAN\\n-----END PUBLIC KEY-----']
    ])('when SF_PRIVATE_KEY is %s, then the configuration is refused naming SF_PRIVATE_KEY', (_what, key) => {
        const attempt = () => loadConfig({ ...ORG_ENV, SF_PRIVATE_KEY: key });

        expect(attempt).toThrow(/SF_PRIVATE_KEY: must be a PEM private key/);
        expect(attempt).not.toThrow(/abc|MIIBIjAN/);
    });

    it('when SMTP_URL holds a password, then the password (as written and decoded) is redacted wherever it appears', () => {
        const config = loadConfig({ SMTP_URL: 'smtps://mailer:s3cr%40t-Pa55word@smtp.example.com:465' });

        for (const secret of configuredSecrets(config)) registerSecret(secret);

        const echoed = redact('535 5.7.8 Authentication failed for mailer / s3cr@t-Pa55word');
        expect(echoed).not.toContain('s3cr@t-Pa55word');
        expect(redact('login s3cr%40t-Pa55word refused')).not.toContain('s3cr%40t-Pa55word');
    });

    it('when ADMIN_APP_PORT is set, then the admin app uses it; when it is bad or taken by another server, then it is named', () => {
        expect(loadConfig({}).adminApp.port).toBe(0);
        expect(loadConfig({ ADMIN_APP_PORT: '8090' }).adminApp.port).toBe(8090);
        expect(() => loadConfig({ ADMIN_APP_PORT: 'ninety' })).toThrow(/ADMIN_APP_PORT/);
        expect(() => loadConfig({ ADMIN_APP_PORT: '70000' })).toThrow(/ADMIN_APP_PORT/);
        expect(() => loadConfig({ ADMIN_APP_PORT: '8080' })).toThrow(/ADMIN_APP_PORT: must differ from PORT/);
        expect(() => loadConfig({ ADMIN_APP_PORT: '9000', LOCAL_ORG_PORT: '9000' })).toThrow(
            /ADMIN_APP_PORT: must differ from LOCAL_ORG_PORT/
        );
    });

    it('when the link template has no {token}, then it is refused', () => {
        expect(() => loadConfig({ AUTH_LINK_URL_TEMPLATE: 'https://x.example.com/authorize' })).toThrow(
            /AUTH_LINK_URL_TEMPLATE: must contain \{token\}/
        );
    });

    it('when .env.example is read, then it documents exactly the variables the service reads', () => {
        const text = readFileSync(join(__dirname, '..', '..', '.env.example'), 'utf8');
        const documented = [...text.matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map((match) => match[1]);

        expect([...new Set(documented)].sort()).toEqual([...ENV_VARIABLES].sort());
    });

    it('when LOG_FORMAT or SF_JWT_AUDIENCE are bad, then each is named', () => {
        const attempt = () => loadConfig({ LOG_FORMAT: 'xml', SF_JWT_AUDIENCE: 'login.salesforce.com' });

        expect(attempt).toThrow(/LOG_FORMAT/);
        expect(attempt).toThrow(/SF_JWT_AUDIENCE: must be an http\(s\) URL/);
        expect(loadConfig({}).logFormat).toBe('auto');
    });
});

describe('JWT audience', () => {
    it.each([
        ['https://login.salesforce.com', undefined, 'https://login.salesforce.com'],
        ['https://acme.my.salesforce.com', undefined, 'https://login.salesforce.com'],
        ['https://test.salesforce.com', undefined, 'https://test.salesforce.com'],
        ['https://acme--uat.sandbox.my.salesforce.com', undefined, 'https://test.salesforce.com'],
        ['http://127.0.0.1:4567', undefined, 'http://127.0.0.1:4567'],
        ['https://acme.my.salesforce.com', 'https://acme.my.site.com/', 'https://acme.my.site.com']
    ])('when the login URL is %s (SF_JWT_AUDIENCE %s), then aud is %s', (loginUrl, audience, expected) => {
        expect(jwtAudience({ loginUrl, audience })).toBe(expected);
    });
});
