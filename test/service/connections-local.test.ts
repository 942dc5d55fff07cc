/**
 * Local mode's demo connection: the local org seeds `demo-scim` and two sets granting it; `start()` starts
 * the local SCIM app (startLocalScimApp), writes the CONNECTIONS_FILE entry for it, and the demo run
 * provisions real accounts and memberships through the SCIM adapter (createScimDirectory).
 *
 * The last test runs `npm start` itself (service/src/main.ts as its own process, the demo on): the wiring of
 * main() is what is checked, by reading the local SCIM app over HTTP with the token from $DATA_DIR, as
 * docs/connections.md tells a developer to.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createScimDirectory } from '../../service/src/adapters/scim';
import { startLocalScimApp } from '../../service/src/local-scim';
import { DEMO_CONNECTION_KEY, DEMO_SCIM_GROUPS } from '../../service/src/local-org/demo';
import { start, type RunningService } from '../../service/src/main';
import { api, previewViaApi, removeDir, API_SECRET } from './support/stack';

jest.setTimeout(180_000);

const ROOT = join(__dirname, '..', '..');

interface ScimList {
    totalResults: number;
    Resources: Array<Record<string, unknown>>;
}

/** GET on the local SCIM app with the token local mode wrote beside connections.json. */
async function scimGet(dataDir: string, path: string): Promise<ScimList> {
    const file = JSON.parse(readFileSync(join(dataDir, 'connections.json'), 'utf8')) as Record<
        string,
        { baseUrl: string; tokenFile: string }
    >;
    const entry = file[DEMO_CONNECTION_KEY];
    const token = readFileSync(join(dataDir, entry.tokenFile), 'utf8').trim();
    const response = await fetch(`${entry.baseUrl}${path}`, {
        headers: { Authorization: `Bearer ${token}` }
    });
    expect(response.status).toBe(200);
    return (await response.json()) as ScimList;
}

/** The demo's accounts as the app has them: each with our externalId, a demo role, and Sales among its groups. */
async function expectDemoAccounts(dataDir: string): Promise<number> {
    const users = await scimGet(dataDir, '/Users?count=200');
    const groups = await scimGet(dataDir, '/Groups?count=200');
    expect(users.totalResults).toBeGreaterThan(0);
    expect(users.Resources).toHaveLength(users.totalResults);
    expect(groups.Resources.map((g) => g.displayName).sort()).toEqual([...DEMO_SCIM_GROUPS].sort());
    const membersOf = new Map(
        groups.Resources.map((g) => [
            String(g.displayName),
            new Set(((g.members ?? []) as Array<{ value: string }>).map((m) => m.value))
        ])
    );
    for (const user of users.Resources) {
        expect(user.externalId).toMatch(new RegExp(`^005\\w{15}:${DEMO_CONNECTION_KEY}$`));
        expect(membersOf.get('Sales')?.has(String(user.id))).toBe(true);
        expect([['Manager'], ['Account Executive']]).toContainEqual(
            (user.roles as Array<{ value: string }>).map((role) => role.value)
        );
    }
    return users.totalResults;
}

describe('local mode demo connection (in-process)', () => {
    let dataDir: string;
    let service: RunningService;

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
            localScim: startLocalScimApp,
            createDirectory: createScimDirectory
        });
    });

    afterAll(async () => {
        await service?.stop();
        removeDir(dataDir);
    });

    it('when the service starts in local mode, then the demo connection reaches the local SCIM app and the token stays out of the JSON', async () => {
        const file = join(dataDir, 'connections.json');
        expect(existsSync(file)).toBe(true);
        const entries = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
        expect(entries).toEqual({
            [DEMO_CONNECTION_KEY]: { baseUrl: service.localScimUrl, tokenFile: 'connections.token' }
        });
        expect(service.localScimUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/scim\/v2$/);
        const token = readFileSync(join(dataDir, 'connections.token'), 'utf8').trim();
        expect(token.length).toBeGreaterThan(20);
        expect(readFileSync(file, 'utf8')).not.toContain(token);
        expect(statSync(join(dataDir, 'connections.token')).mode & 0o077).toBe(0);
        expect(existsSync(join(dataDir, 'local-scim'))).toBe(true);

        const list = await api(service, 'GET', '/v1/connections');
        expect(list.body.connections).toEqual([
            expect.objectContaining({
                key: DEMO_CONNECTION_KEY,
                name: 'Demo SCIM app',
                configured: true,
                reachable: true
            })
        ]);
        const test = await api(service, 'POST', `/v1/connections/${DEMO_CONNECTION_KEY}/test`);
        expect(test.body).toMatchObject({
            reachable: true,
            capabilities: { patch: true, bulk: { supported: true } }
        });
        expect(JSON.stringify([list.body, test.body])).not.toContain(token);
    });

    it('when the demo is previewed and run, then the local SCIM app has the accounts with their groups and roles', async () => {
        const admin = service.localOrg!.ids.adminUserIds[0];
        const preview = await previewViaApi(service, admin);
        const accepted = await api(service, 'POST', '/v1/runs', {
            previewRunId: preview.runId,
            initiatedBy: admin
        });
        expect(accepted.status).toBe(202);
        await service.provisioning.waitForRun(preview.runId);

        const created = await expectDemoAccounts(dataDir);
        const actions = await api(service, 'GET', `/v1/runs/${preview.runId}/actions`);
        const creates = (actions.body.actions as Array<{ kind: string; status: string }>).filter(
            (action) => action.kind === 'Create'
        );
        expect(creates).toHaveLength(created);
        expect(creates.every((action) => action.status === 'Done')).toBe(true);
    });
});

describe('npm start in local mode', () => {
    it('when `npm start` runs with no configuration, then it prints the local SCIM app and the demo creates accounts and memberships there', async () => {
        const dataDir = mkdtempSync(join(tmpdir(), 'rollcall-npm-start-'));
        const child = spawn(
            process.execPath,
            // npm start's heap budget: the admin app's bundle is built in a child process of its own.
            ['--max-old-space-size=384', '--import', 'tsx', join(ROOT, 'service', 'src', 'main.ts')],
            {
                cwd: ROOT,
                env: {
                    PATH: process.env.PATH,
                    HOME: process.env.HOME,
                    DATA_DIR: dataDir,
                    OUTBOX_DIR: join(dataDir, 'outbox'),
                    LOCAL_ORG_USERS: '300',
                    PORT: '0',
                    LOG_LEVEL: 'warn'
                },
                stdio: ['ignore', 'pipe', 'pipe']
            }
        );
        let out = '';
        let err = '';
        child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
        const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
        try {
            await Promise.race([
                new Promise<void>((resolve) => {
                    const check = setInterval(() => {
                        if (out.includes('\nServing.')) {
                            clearInterval(check);
                            resolve();
                        }
                    }, 100);
                }),
                exited.then((code) => {
                    throw new Error(`npm start exited (${code}): ${err}`);
                })
            ]);
            const url = /^Local SCIM app: (\S+)$/m.exec(out)?.[1];
            expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/scim\/v2$/);
            expect(out).toMatch(/Completed/);
            expect(await expectDemoAccounts(dataDir)).toBeGreaterThan(0);
            const token = readFileSync(join(dataDir, 'connections.token'), 'utf8').trim();
            expect(out + err).not.toContain(token);
        } finally {
            child.kill('SIGTERM');
            await exited;
            removeDir(dataDir);
        }
    });
});
