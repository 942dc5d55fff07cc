/**
 * The HTTP API against the local org: bearer auth, JSON errors, limits, health, metrics, and the
 * OpenAPI file checked against the routes.
 */
import { ConnectionsService } from '../../service/src/connections/status';
import { ConnectionStore } from '../../service/src/domain/connection-store';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { LocalOrg } from '../../service/src/local-org';
import type { RunningService } from '../../service/src/main';
import { ERROR_CODES } from '../../service/src/errors';
import { createApp } from '../../service/src/http/app';
import { signWebhook } from '../../service/src/domain/tokens';
import { idChecksum } from '../../service/src/domain/org-store';
import { until } from './support/peers';
import {
    API_SECRET,
    WEBHOOK_SECRET,
    api,
    orgStore,
    previewViaApi,
    TEST_DATA_DIR,
    removeDir,
    serviceEnv,
    startService,
    startTestOrg
} from './support/stack';

jest.setTimeout(60_000);

let org: LocalOrg;
let dataDir: string;
let service: RunningService;

beforeAll(async () => {
    ({ org, dataDir } = await startTestOrg({ users: 100, seed: 5 }));
    service = await startService(org, serviceEnv({ port: 1 }));
});

afterAll(async () => {
    await service?.stop();
    await org?.stop();
    removeDir(dataDir);
    // The run journals' folder (DATA_DIR of the services under test).
    removeDir(TEST_DATA_DIR);
});

interface Layer {
    route?: { path: string; methods: Record<string, boolean> };
    rawPath?: string;
    handle?: { stack?: Layer[] };
}

function routesOf(stack: Layer[], prefix = ''): string[] {
    const routes: string[] = [];
    for (const layer of stack) {
        if (layer.route) {
            for (const method of Object.keys(layer.route.methods)) {
                routes.push(`${method.toUpperCase()} ${prefix}${layer.route.path}`);
            }
        } else if (layer.handle?.stack) {
            routes.push(...routesOf(layer.handle.stack, `${prefix}${layer.rawPath ?? ''}`));
        }
    }
    return routes;
}

describe('OpenAPI', () => {
    it('when the spec is compared with the routes, then both list the same operations', () => {
        // Arrange
        const spec = parse(readFileSync(join(__dirname, '../../service/openapi.yaml'), 'utf8')) as {
            paths: Record<string, Record<string, unknown>>;
        };
        const specified = Object.entries(spec.paths)
            .flatMap(([path, operations]) =>
                Object.keys(operations).map(
                    (method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`
                )
            )
            .sort();
        const app = createApp({
            config: service.config,
            provisioning: service.provisioning,
            metrics: service.metrics,
            logger: service.logger,
            clock: { now: () => new Date() },
            ready: async () => undefined,
            connections: new ConnectionsService(new ConnectionStore(service.org), undefined)
        });

        // Act
        const routes = routesOf((app as unknown as { router: { stack: Layer[] } }).router.stack).sort();

        // Assert
        expect(routes).toEqual(specified);
    });
});

describe('OpenAPI error codes', () => {
    it('when the spec lists the error codes, then they are exactly the codes the service answers with', () => {
        const spec = parse(readFileSync(join(__dirname, '../../service/openapi.yaml'), 'utf8')) as {
            components: {
                schemas: { Error: { properties: { error: { properties: { code: { enum: string[] } } } } } };
            };
        };

        expect([...spec.components.schemas.Error.properties.error.properties.code.enum].sort()).toEqual(
            [...ERROR_CODES].sort()
        );
    });
});

describe('authentication and errors', () => {
    it('when the bearer secret is missing or wrong, then /v1 answers 401 with a JSON error', async () => {
        const missing = await api(service, 'GET', '/v1/runs', undefined, { authorization: '' });
        const wrong = await api(service, 'GET', '/v1/runs', undefined, { authorization: 'Bearer nope' });
        const almost = await api(service, 'GET', '/v1/runs', undefined, {
            authorization: `Bearer ${API_SECRET.slice(0, -1)}x`
        });

        for (const response of [missing, wrong, almost]) {
            expect(response.status).toBe(401);
            expect(response.body).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } });
        }
    });

    it('when the service has no Slack token, then /v1/status says so, to a caller with the secret only', async () => {
        const status = await api(service, 'GET', '/v1/status');
        const anonymous = await api(service, 'GET', '/v1/status', undefined, { authorization: '' });

        expect(status.status).toBe(200);
        expect(status.body).toEqual({ slack: { configured: false } });
        expect(anonymous.status).toBe(401);
    });

    it('when the body is invalid, then the answer is 400 VALIDATION_FAILED naming the field', async () => {
        const response = await api(service, 'POST', '/v1/runs', { previewRunId: "x' OR Id != null" });

        expect(response.status).toBe(400);
        expect(response.body.error).toMatchObject({ code: 'VALIDATION_FAILED' });
    });

    it('when the body is not JSON, then the answer is 400', async () => {
        const response = await api(service, 'POST', '/v1/previews', '{"oops', {
            'content-type': 'application/json'
        });

        expect(response.status).toBe(400);
        expect(response.body.error).toMatchObject({ code: 'VALIDATION_FAILED' });
    });

    it('when the body has a field the API does not know, then the answer is 400 naming it', async () => {
        const preview = await api(service, 'POST', '/v1/previews', { initiatedBy: undefined, dryRun: true });
        const run = await api(service, 'POST', '/v1/runs', { trigger: 'scheduled', force: true });

        for (const response of [preview, run]) {
            expect(response.status).toBe(400);
            expect(response.body.error).toMatchObject({ code: 'VALIDATION_FAILED' });
        }
        expect((preview.body.error as { message: string }).message).toContain('"dryRun"');
        expect((run.body.error as { message: string }).message).toContain('"force"');
    });

    it.each([
        [{}, 'give previewRunId'],
        [{ trigger: 'nightly' }, 'trigger: must be "scheduled"'],
        [[], 'body'],
        [{ previewRunId: 'a0D5g0000000999EAA', notify: { admins: 'yes' } }, 'notify.admins']
    ])('when the run body is %j, then the 400 says what to send (%s)', async (body, expected) => {
        const response = await api(service, 'POST', '/v1/runs', body);

        expect(response.status).toBe(400);
        expect(response.body.error).toEqual({
            code: 'VALIDATION_FAILED',
            message: expect.stringContaining(expected)
        });
    });

    it('when initiatedBy is not a Salesforce id, then the answer is 400 naming initiatedBy and nothing is written', async () => {
        const before = (await api(service, 'GET', '/v1/runs?limit=200')).body.runs as unknown[];

        const response = await api(service, 'POST', '/v1/previews', { initiatedBy: "005' OR Name != '" });

        expect(response.status).toBe(400);
        expect(response.body.error).toEqual({
            code: 'VALIDATION_FAILED',
            message: 'initiatedBy: must be a Salesforce id'
        });
        expect((await api(service, 'GET', '/v1/runs?limit=200')).body.runs).toHaveLength(before.length);
    });

    it('when an audit recipient tries to smuggle a header, then the answer is 400 naming it and the preview stays executable', async () => {
        // Arrange
        const { runId } = await previewViaApi(service, org.ids.adminUserIds[0]);

        // Act
        const response = await api(service, 'POST', '/v1/runs', {
            previewRunId: runId,
            initiatedBy: org.ids.adminUserIds[0],
            notify: { recipients: ['ops@example.com', 'a@b.com\r\nBcc: x@y.com'] }
        });

        // Assert
        expect(response.status).toBe(400);
        const error = response.body.error as { code: string; message: string };
        expect(error.code).toBe('VALIDATION_FAILED');
        expect(error.message).toContain('notify.recipients.1');
        expect(error.message).toContain('a@b.com\\r\\nBcc: x@y.com');
        expect(error.message).not.toMatch(/[\r\n]/);
        const run = await api(service, 'GET', `/v1/runs/${runId}`);
        expect(run.body).toMatchObject({ status: 'Previewed' });
    });

    it('when the body is not sent as JSON, then the answer is 415 instead of running without it', async () => {
        const response = await api(service, 'POST', '/v1/runs', 'trigger=scheduled', {
            'content-type': 'application/x-www-form-urlencoded'
        });

        expect(response.status).toBe(415);
        expect(response.body.error).toEqual({
            code: 'VALIDATION_FAILED',
            message: 'Content-Type must be application/json'
        });
        expect(service.provisioning.activeRunId()).toBeUndefined();
    });

    it('when the webhook body has neither token nor userId, then the 400 names the missing field', async () => {
        const body = JSON.stringify({ user: '005000000000001AAA' });
        const response = await api(service, 'POST', '/v1/authorizations', body, {
            authorization: '',
            'x-rollcall-signature': signWebhook(WEBHOOK_SECRET, body, new Date())
        });

        expect(response.status).toBe(400);
        expect((response.body.error as { message: string }).message).toMatch(/userId/);
    });

    it('when the body is larger than the limit, then the answer is 413 PAYLOAD_TOO_LARGE', async () => {
        const response = await api(service, 'POST', '/v1/previews', { padding: 'x'.repeat(300_000) });

        expect(response.status).toBe(413);
        expect(response.body.error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    });

    it('when a run does not exist, then the answer is 404 NOT_FOUND', async () => {
        const response = await api(service, 'GET', '/v1/runs/a0D5g0000000999EAA');

        expect(response.status).toBe(404);
        expect(response.body.error).toMatchObject({ code: 'NOT_FOUND' });
    });

    it.each([
        ['/v1/runs/not-an-id', 'id: must be a Salesforce id'],
        ['/v1/runs?limit=many', 'limit: '],
        ['/v1/runs?limit=500', 'limit: ']
    ])('when %s is asked for, then the 400 names the parameter', async (path, expected) => {
        const response = await api(service, 'GET', path);

        expect(response.status).toBe(400);
        expect((response.body.error as { message: string }).message).toContain(expected);
    });

    it('when a run id has a wrong checksum, then the answer is 400 before any query', async () => {
        const response = await api(service, 'GET', '/v1/runs/a0D5g0000000999AAA');

        expect(response.status).toBe(400);
        expect(response.body.error).toMatchObject({ code: 'VALIDATION_FAILED' });
    });

    it('when a route does not exist, then the answer is a JSON 404', async () => {
        const response = await api(service, 'GET', '/nope');

        expect(response.status).toBe(404);
        expect(response.body.error).toMatchObject({ code: 'NOT_FOUND' });
    });

    it('when the webhook signature is wrong, then the answer is 401 INVALID_SIGNATURE', async () => {
        const response = await api(
            service,
            'POST',
            '/v1/authorizations',
            { token: 'abc.def.ghi' },
            {
                authorization: '',
                'x-rollcall-signature': `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}`
            }
        );

        expect(response.status).toBe(401);
        expect(response.body.error).toMatchObject({ code: 'INVALID_SIGNATURE' });
    });
});

describe('HTTP hygiene', () => {
    it('when the bearer secret is wrong, then the 401 says so in words (redaction leaves the message alone)', async () => {
        const response = await api(service, 'GET', '/v1/runs', undefined, { authorization: 'Bearer nope' });

        expect(response.body.error).toEqual({
            code: 'UNAUTHORIZED',
            message: 'Missing or wrong bearer secret'
        });
    });

    it.each([
        ['DELETE', '/v1/runs', 'GET, HEAD, POST'],
        ['PUT', '/v1/runs/a0D5g0000000999EAA', 'GET, HEAD'],
        ['GET', '/v1/previews', 'POST'],
        ['POST', '/healthz', 'GET, HEAD']
    ])('when %s %s is asked for, then the answer is 405 with Allow: %s', async (method, path, allow) => {
        const response = await api(service, method, path);

        expect(response.status).toBe(405);
        expect(response.headers.get('allow')).toBe(allow);
        expect(response.body.error).toMatchObject({ code: 'METHOD_NOT_ALLOWED' });
    });

    it.each([
        ['GET', 'with'],
        ['GET', 'without'],
        ['DELETE', 'without']
    ])(
        'when %s /v1/authorizations is asked for %s the bearer secret, then the answer is 405 with Allow: POST (the webhook carries a signature, not the bearer)',
        async (method, bearer) => {
            const response = await api(
                service,
                method,
                '/v1/authorizations',
                undefined,
                bearer === 'with' ? {} : { authorization: '' }
            );

            expect(response.status).toBe(405);
            expect(response.headers.get('allow')).toBe('POST');
            expect(response.body.error).toMatchObject({ code: 'METHOD_NOT_ALLOWED' });
        }
    );

    it('when the body has an unsupported Content-Encoding, then the answer is 415, not 500', async () => {
        const response = await api(service, 'POST', '/v1/previews', '{}', {
            'content-type': 'application/json',
            'content-encoding': 'x-unknown'
        });

        expect(response.status).toBe(415);
        expect(response.body.error).toMatchObject({ code: 'VALIDATION_FAILED' });
    });

    it('when the path is malformed percent-encoding, then the answer is 400, not 500', async () => {
        const response = await api(service, 'GET', '/v1/runs/%E0%A4%A');

        expect(response.status).toBe(400);
        expect(response.body.error).toMatchObject({ code: 'VALIDATION_FAILED' });
    });

    it('when any API answer is sent, then it carries Cache-Control: no-store', async () => {
        const run = await api(service, 'GET', '/v1/runs');
        const missing = await api(service, 'GET', '/nope');

        expect(run.headers.get('cache-control')).toBe('no-store');
        expect(missing.headers.get('cache-control')).toBe('no-store');
    });

    it('when the request headers are too large, then the 431 has a JSON body', async () => {
        const response = await api(service, 'GET', '/v1/runs', undefined, {
            'x-padding': 'x'.repeat(20_000)
        });

        expect(response.status).toBe(431);
        expect(response.body.error).toMatchObject({ code: 'HEADERS_TOO_LARGE' });
    });

    it('when unknown paths are probed, then /metrics labels them with one fixed route value', async () => {
        await api(service, 'GET', '/probe-a-1');
        await api(service, 'GET', '/v1/probe-b-2', undefined, { authorization: '' });

        const text = await (await fetch(`${service.url}/metrics`)).text();

        expect(text).not.toContain('probe-a-1');
        expect(text).not.toContain('probe-b-2');
        expect(text).toMatch(/route="unmatched"/);
    });
});

describe('schedule checks', () => {
    it('when the schedule screen previews (purpose schedule-check), then the run is marked, never executed and not listed', async () => {
        // Arrange
        const admin = org.ids.adminUserIds[0];
        const accepted = await api(service, 'POST', '/v1/previews', {
            initiatedBy: admin,
            purpose: 'schedule-check'
        });
        expect(accepted.status).toBe(202);
        const runId = String(accepted.body.runId);
        await until(
            async () => (await api(service, 'GET', `/v1/runs/${runId}`)).body.status !== 'Previewing',
            'the schedule check to be evaluated'
        );
        const ordinary = await previewViaApi(service, admin);

        // Act
        const view = await api(service, 'GET', `/v1/runs/${runId}`);
        const listed = (await api(service, 'GET', '/v1/runs?limit=200')).body.runs as { runId: string }[];
        const execute = await api(service, 'POST', '/v1/runs', { previewRunId: runId, initiatedBy: admin });

        // Assert
        expect(view.body).toMatchObject({ status: 'Previewed', purpose: 'schedule-check' });
        expect(listed.map((run) => run.runId)).not.toContain(runId);
        expect(listed.map((run) => run.runId)).toContain(ordinary.runId);
        expect(execute.status).toBe(409);
        expect(execute.body.error).toMatchObject({ code: 'PREVIEW_NOT_EXECUTABLE' });
    });
});

describe('authorization webhook', () => {
    async function deliver(body: string, signature = signWebhook(WEBHOOK_SECRET, body, new Date())) {
        return api(service, 'POST', '/v1/authorizations', body, {
            authorization: '',
            'content-type': 'application/json',
            'x-rollcall-signature': signature
        });
    }

    async function someUserId(offset: number): Promise<string> {
        const users = await orgStore(org).org.query<{ Id: string }>(
            "SELECT Id FROM User WHERE IsActive = true AND UserType = 'Standard' ORDER BY Id LIMIT 20"
        );
        return users[offset].Id;
    }

    it('when the same user is reported with its 15- and its 18-character id, then there is one authorization record', async () => {
        // Arrange
        const userId = await someUserId(0);

        // Act
        const long = await deliver(JSON.stringify({ userId, products: ['Round Robin'] }));
        const short = await deliver(
            JSON.stringify({ userId: userId.slice(0, 15), products: ['Round Robin'] })
        );

        // Assert
        expect([long.status, short.status]).toEqual([200, 200]);
        expect(short.body).toMatchObject({ userId });
        const records = await orgStore(org).org.query<{ Id: string }>(
            `SELECT Id FROM Calendar_Authorization__c WHERE Product__c = 'Round Robin' AND User__c = '${userId}'`
        );
        expect(records).toHaveLength(1);
    });

    it.each([
        ['an unknown product', async () => ({ userId: await someUserId(1), products: ['Teleporter'] })],
        [
            'an id that is not a user',
            async () => ({
                userId: `001000000000001${idChecksum('001000000000001')}`,
                products: ['Round Robin']
            })
        ],
        [
            'authorizedAt in the year 2999',
            async () => ({
                userId: await someUserId(2),
                products: ['Round Robin'],
                authorizedAt: '2999-01-01T00:00:00Z'
            })
        ]
    ])('when the webhook reports %s, then the answer is 400', async (_what, body) => {
        const response = await deliver(JSON.stringify(await body()));

        expect(response.status).toBe(400);
        expect(response.body.error).toMatchObject({ code: 'VALIDATION_FAILED' });
    });

    it('when an identical signed request arrives again within the window, then it is refused as a replay', async () => {
        const body = JSON.stringify({ userId: await someUserId(3), products: ['Instant Booker'] });
        const signature = signWebhook(WEBHOOK_SECRET, body, new Date());

        const first = await deliver(body, signature);
        const again = await deliver(body, signature);

        expect(first.status).toBe(200);
        expect(again.status).toBe(401);
        expect(again.body.error).toEqual({
            code: 'INVALID_SIGNATURE',
            message: expect.stringContaining('replay')
        });
    });
});

describe('health and metrics', () => {
    it('when probed, then /healthz and /readyz answer 200 and helmet headers are set', async () => {
        const health = await api(service, 'GET', '/healthz', undefined, { authorization: '' });
        const ready = await api(service, 'GET', '/readyz', undefined, { authorization: '' });

        expect(health).toMatchObject({ status: 200, body: { status: 'ok' } });
        expect(ready).toMatchObject({ status: 200, body: { status: 'ready' } });
        expect(health.headers.get('x-content-type-options')).toBe('nosniff');
        expect(health.headers.get('x-powered-by')).toBeNull();
    });

    it('when /metrics is scraped, then it lists the run, invitation and Salesforce metrics', async () => {
        await api(service, 'GET', '/readyz');

        const text = await (await fetch(`${service.url}/metrics`)).text();

        for (const name of [
            'rollcall_runs_total',
            'rollcall_invitations_total',
            'rollcall_salesforce_calls_total',
            'rollcall_run_duration_seconds',
            'rollcall_http_request_duration_seconds'
        ]) {
            expect(text).toContain(name);
        }
        expect(text).not.toContain(API_SECRET);
    });
});
