/**
 * Secrets never leak: an org whose error bodies echo the session id or the JWT assertion (as proxies and
 * some Salesforce errors do) must not get them into HTTP errors, logs or the run record. The service talks
 * to the local org through a proxy that answers chosen calls (or chosen subrequests of a Composite request)
 * with such errors.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { LocalOrg } from '../../service/src/local-org';
import type { RunningService } from '../../service/src/main';
import { start } from '../../service/src/main';
import type { OrgStore } from '../../service/src/domain/org-store';
import { redact, registerSecret } from '../../service/src/errors';
import { terseLine } from '../../service/src/logger';
import {
    API_SECRET,
    SLACK_TOKEN,
    TOKEN_SECRET,
    WEBHOOK_SECRET,
    api,
    previewViaApi,
    orgStore,
    TEST_DATA_DIR,
    removeDir,
    serviceEnv,
    startTestOrg
} from './support/stack';

jest.setTimeout(60_000);

interface LeakingProxy {
    url: string;
    /** Access tokens and assertions that went through the proxy. */
    tokens: Set<string>;
    /** Answer matching API calls with an error body quoting the request's session id. */
    leakOn?: (method: string, path: string) => boolean;
    /** Answer the token endpoint with an error quoting the assertion. */
    leakAssertion: boolean;
    close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
}

async function startLeakingProxy(target: string): Promise<LeakingProxy> {
    const proxy: LeakingProxy = {
        url: '',
        tokens: new Set(),
        leakAssertion: false,
        close: async () => undefined
    };
    const server: Server = createServer((req, res) => {
        void (async () => {
            const body = await readBody(req);
            const path = req.url ?? '/';
            const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
            if (bearer) proxy.tokens.add(bearer);
            if (path.startsWith('/services/oauth2/token')) {
                const assertion = new URLSearchParams(body.toString()).get('assertion') ?? '';
                proxy.tokens.add(assertion);
                if (proxy.leakAssertion) {
                    res.writeHead(400, { 'content-type': 'application/json' });
                    res.end(
                        JSON.stringify({
                            error: 'invalid_grant',
                            error_description: `assertion=${assertion} rejected for ${assertion}`
                        })
                    );
                    return;
                }
            }
            const leak = (token: string) => [
                {
                    errorCode: 'INVALID_QUERY_FILTER_OPERATOR',
                    message: `Request rejected by the gateway (Authorization: Bearer ${token}; sid ${token})`
                }
            ];
            if (bearer && proxy.leakOn?.(req.method ?? 'GET', decodeURIComponent(path))) {
                res.writeHead(400, { 'content-type': 'application/json' });
                res.end(JSON.stringify(leak(bearer)));
                return;
            }
            // A Composite request: the matching subrequests answer the leaking error, the others the org's answer.
            const subrequests =
                bearer && req.method === 'POST' && /\/composite$/.test(path)
                    ? (JSON.parse(body.toString()) as { compositeRequest: { method: string; url: string }[] })
                          .compositeRequest
                    : [];
            const headers = { ...req.headers } as Record<string, string>;
            delete headers.host;
            delete headers['content-length'];
            const upstream = await fetch(`${target}${path}`, {
                method: req.method,
                headers,
                body: ['GET', 'HEAD'].includes(req.method ?? 'GET') ? undefined : body
            });
            let text = (await upstream.text()).split(target).join(proxy.url);
            if (
                bearer &&
                upstream.ok &&
                subrequests.some((sub) => proxy.leakOn?.(sub.method, decodeURIComponent(sub.url)))
            ) {
                const answer = JSON.parse(text) as { compositeResponse: Record<string, unknown>[] };
                subrequests.forEach((sub, index) => {
                    if (proxy.leakOn?.(sub.method, decodeURIComponent(sub.url)))
                        answer.compositeResponse[index] = {
                            ...answer.compositeResponse[index],
                            httpStatusCode: 400,
                            body: leak(bearer)
                        };
                });
                text = JSON.stringify(answer);
            }
            res.writeHead(upstream.status, {
                'content-type': upstream.headers.get('content-type') ?? 'application/json'
            });
            res.end(text);
        })();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    proxy.close = () =>
        new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
        });
    return proxy;
}

let org: LocalOrg;
let dataDir: string;
let proxy: LeakingProxy;
let service: RunningService;
let store: OrgStore;
const logLines: string[] = [];

beforeAll(async () => {
    ({ org, dataDir } = await startTestOrg({ users: 100, seed: 13 }));
    proxy = await startLeakingProxy(org.url);
    store = orgStore(org);
    const destination = new Writable({
        write(chunk: Buffer, _encoding, callback) {
            logLines.push(chunk.toString());
            callback();
        }
    });
    service = await start({
        env: {
            ...serviceEnv({ port: 1 }, undefined, {
                LOG_LEVEL: 'debug',
                SMTP_PASSWORD: 'smtp-password-1234567'
            }),
            SMTP_USER: 'rollcall',
            SF_LOGIN_URL: proxy.url,
            SF_JWT_AUDIENCE: org.url,
            SF_CLIENT_ID: org.jwt.consumerKey,
            SF_USERNAME: org.jwt.username,
            SF_PRIVATE_KEY: org.jwt.privateKeyPem,
            SF_RETRY_BASE_MS: '5'
        },
        timers: false,
        initialSweep: false,
        logDestination: destination
    });
});

afterAll(async () => {
    await service?.stop();
    await proxy?.close();
    await org?.stop();
    removeDir(dataDir);
    // The run journals' folder (DATA_DIR of the services under test).
    removeDir(TEST_DATA_DIR);
});

afterEach(() => {
    proxy.leakOn = undefined;
    proxy.leakAssertion = false;
});

function expectNoSecret(text: string): void {
    expect(proxy.tokens.size).toBeGreaterThan(0);
    for (const secret of [
        ...proxy.tokens,
        API_SECRET,
        TOKEN_SECRET,
        WEBHOOK_SECRET,
        'smtp-password-1234567',
        'PRIVATE KEY'
    ]) {
        expect(text).not.toContain(secret);
    }
}

describe('secrets in upstream errors', () => {
    it('when an org error quotes the session id, then the HTTP error and the logs carry it redacted', async () => {
        // Arrange: sign in first, then the condition set query is answered with the leaking error
        expect((await api(service, 'GET', '/readyz')).status).toBe(200);
        proxy.leakOn = (method, path) => method === 'GET' && path.includes('FROM Condition_Set__c');

        // Act
        const response = await previewViaApi(service, org.ids.adminUserIds[0]);

        // Assert: the preview fails, and says why on the run, redacted
        expect(response.run.status).toBe('Failed');
        expect(response.run.error).toEqual(expect.stringContaining('INVALID_QUERY_FILTER_OPERATOR'));
        expect(JSON.stringify(response.run)).toContain('[redacted');
        expectNoSecret(JSON.stringify(response.run));
        expectNoSecret(JSON.stringify(await store.findRun(response.runId)));
        expectNoSecret(logLines.join(''));
    });

    it('when a scheduled run fails on such an error, then Error__c on the run record is redacted', async () => {
        // Arrange
        proxy.leakOn = (method, path) => method === 'GET' && path.includes('FROM Condition_Set__c');

        // Act
        const accepted = await api(service, 'POST', '/v1/runs', { trigger: 'scheduled' });
        await service.provisioning.waitForRun(String(accepted.body.runId));

        // Assert
        const run = await store.findRun(String(accepted.body.runId));
        expect(run?.Status__c).toBe('Failed');
        expect(run?.Error__c).toContain('INVALID_QUERY_FILTER_OPERATOR');
        expect(run?.Error__c).toContain('[redacted');
        expectNoSecret(JSON.stringify(run));
        expectNoSecret(logLines.join(''));
    });

    it('when the token endpoint quotes the assertion, then the sign-in error is actionable and redacted', async () => {
        // Arrange: a fresh sign-in is needed
        org.faults.expireAllSessions();
        proxy.leakAssertion = true;

        // Act
        const response = await api(service, 'POST', '/v1/previews', { initiatedBy: org.ids.adminUserIds[0] });

        // Assert
        expect(response.status).toBe(502);
        const error = response.body.error as { code: string; message: string };
        expect(error.code).toBe('ORG_AUTH_FAILED');
        expect(error.message).toContain('invalid_grant');
        expect(error.message).toContain('SF_PRIVATE_KEY');
        expectNoSecret(JSON.stringify(response.body));
        expectNoSecret(logLines.join(''));
        proxy.leakAssertion = false;
        expect((await previewViaApi(service, org.ids.adminUserIds[0])).run.status).toBe('Previewed');
    });
});

describe('redaction', () => {
    it.each([
        ['a session id', 'INVALID_SESSION_ID: 00D5g000004ABCD!AQ8AQHx.Yz-_12345 expired', '00D5g000004ABCD!'],
        ['a bearer header', 'upstream said Authorization: Bearer abc.def-123', 'abc.def-123'],
        ['a JWT', 'bad assertion eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl', 'eyJhbGciOiJSUzI1NiJ9'],
        ['a Slack token', `token ${SLACK_TOKEN} revoked`, SLACK_TOKEN],
        ['SMTP URL credentials', 'connect smtps://mailer:hunter2@smtp.example.com:465 failed', 'hunter2'],
        ['a form field', 'grant_type=x&assertion=abc123def&client_secret=s3cr3t', 's3cr3t'],
        ['a PEM key', 'key -----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY----- refused', 'MIIEvQ']
    ])('when a message carries %s, then redact removes it', (_what, text, secret) => {
        expect(redact(text)).not.toContain(secret);
        expect(redact(text)).toContain('[redacted');
    });

    it('when a value was registered as a secret, then redact removes it wherever it appears', () => {
        registerSecret('plain-looking-secret-value');

        expect(redact('x plain-looking-secret-value y')).toBe('x [redacted] y');
    });

    it('when a log line is written in the terse form, then it is one readable line without the base fields', () => {
        const line = terseLine(
            JSON.stringify({
                level: 30,
                time: '2026-11-23T07:01:02.345Z',
                service: 'rollcall',
                runId: 'a0D5g0000000001EAA',
                invited: 3,
                msg: 'Run finished',
                err: 'two words'
            })
        );

        expect(line).toBe('07:01:02 INFO  Run finished runId=a0D5g0000000001EAA invited=3 err="two words"');
    });
});
