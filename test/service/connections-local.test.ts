/**
 * Local mode's demo connection: the local org seeds `demo-scim` and two sets granting it; `start()` starts
 * the local SCIM app (here a stand-in for h19a's startLocalScimApp, behind the same starter signature),
 * writes the CONNECTIONS_FILE entry for it, and the demo run provisions accounts through it.
 */
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_CONNECTION_KEY, DEMO_SCIM_GROUPS } from '../../service/src/local-org/demo';
import { start, type RunningService } from '../../service/src/main';
import { FakeAppDirectory } from './support/app-directory-fake';
import { api, previewViaApi, removeDir, API_SECRET } from './support/stack';

jest.setTimeout(120_000);

let dataDir: string;
let service: RunningService;
const apps: FakeAppDirectory[] = [];
const TOKEN = 'local-scim-token-for-the-test-0123456789';

beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'rollcall-local-connections-'));
    service = await start({
        env: {
            NODE_ENV: 'test',
            LOG_LEVEL: 'silent',
            DATA_DIR: dataDir,
            ROLLCALL_API_SECRET: API_SECRET,
            PORT: '0'
        },
        localOrg: { users: 300, seed: 42 },
        timers: false,
        initialSweep: false,
        // Stand-ins with the contract's signatures: startLocalScimApp and createScimDirectory.
        localScim: async (options) => {
            expect(options.seedGroups).toEqual(DEMO_SCIM_GROUPS);
            return { url: 'http://127.0.0.1:9/scim/v2', token: TOKEN, stop: async () => undefined };
        },
        createDirectory: (options) => {
            expect(options).toEqual({ baseUrl: 'http://127.0.0.1:9/scim/v2', token: TOKEN });
            const app = new FakeAppDirectory(DEMO_SCIM_GROUPS);
            apps.push(app);
            return app;
        }
    });
});

afterAll(async () => {
    await service?.stop();
    removeDir(dataDir);
});

describe('local mode demo connection', () => {
    it('when the service starts in local mode, then the demo connection is configured and the token stays out of the JSON', async () => {
        const file = join(dataDir, 'connections.json');
        expect(existsSync(file)).toBe(true);
        expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
            [DEMO_CONNECTION_KEY]: { baseUrl: 'http://127.0.0.1:9/scim/v2', tokenFile: 'connections.token' }
        });
        expect(readFileSync(file, 'utf8')).not.toContain(TOKEN);
        expect(statSync(join(dataDir, 'connections.token')).mode & 0o077).toBe(0);

        const list = await api(service, 'GET', '/v1/connections');
        expect(list.body.connections).toEqual([
            expect.objectContaining({
                key: DEMO_CONNECTION_KEY,
                name: 'Demo SCIM app',
                configured: true,
                reachable: true
            })
        ]);
        expect(JSON.stringify(list.body)).not.toContain(TOKEN);
    });

    it('when the demo is previewed and run, then the demo sets provision accounts with their groups and roles', async () => {
        const admin = service.localOrg!.ids.adminUserIds[0];
        const preview = await previewViaApi(service, admin);
        const accepted = await api(service, 'POST', '/v1/runs', {
            previewRunId: preview.runId,
            initiatedBy: admin
        });
        expect(accepted.status).toBe(202);
        await service.provisioning.waitForRun(preview.runId);

        const [app] = apps;
        expect(app.users.size).toBeGreaterThan(0);
        for (const account of app.snapshot()) {
            expect(account.externalId).toMatch(new RegExp(`^005\\w{15}:${DEMO_CONNECTION_KEY}$`));
            expect(account.groups).toContain('Sales');
            expect([['Manager'], ['Account Executive']]).toContainEqual(
                (account.roles as Array<{ value: string }>).map((role) => role.value)
            );
        }
    });
});
