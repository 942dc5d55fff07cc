/**
 * The CLI is a client of the running service's API (DESIGN §5): it finds the service through --url,
 * ROLLCALL_URL or the service.json that `npm start` writes, never opens the org or the local org's data
 * folder, and says clearly when no service runs.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalOrg } from '../../service/src/local-org';
import type { RunningService } from '../../service/src/main';
import { writeServiceFile } from '../../service/src/service-file';
import { startSmtpSink, type SmtpSink } from './support/peers';
import {
    API_SECRET,
    api,
    createSetFor,
    orgStore,
    removeDir,
    serviceEnv,
    startService,
    startTestOrg,
    TEST_DATA_DIR
} from './support/stack';

jest.setTimeout(90_000);

const CLI = join(__dirname, '../../service/src/cli/index.ts');

let org: LocalOrg;
let orgDir: string;
let smtp: SmtpSink;
let service: RunningService;
let cliDataDir: string;

beforeAll(async () => {
    ({ org, dataDir: orgDir } = await startTestOrg({ users: 80, seed: 41 }));
    smtp = await startSmtpSink();
    service = await startService(org, serviceEnv(smtp));
    cliDataDir = mkdtempSync(join(tmpdir(), 'rollcall-cli-'));
});

afterAll(async () => {
    await service?.stop();
    await smtp?.close();
    await org?.stop();
    removeDir(orgDir);
    removeDir(cliDataDir);
    removeDir(TEST_DATA_DIR);
});

function cli(
    args: string[],
    env: Record<string, string | undefined>
): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
        env: { PATH: process.env.PATH, LOG_LEVEL: 'silent', ...env },
        stdio: ['ignore', 'pipe', 'pipe']
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('CLI', () => {
    it('when no service is running, then it says so and opens no local org', async () => {
        const empty = mkdtempSync(join(tmpdir(), 'rollcall-cli-empty-'));

        const result = await cli(['runs'], { DATA_DIR: empty });

        expect(result.code).toBe(1);
        expect(result.stderr).toContain('No running Rollcall service found');
        expect(result.stderr).toContain('npm start');
        expect(existsSync(join(empty, 'local-org'))).toBe(false);
        removeDir(empty);
    });

    it('when the recorded service is gone, then it says that no service answers there', async () => {
        const stale = mkdtempSync(join(tmpdir(), 'rollcall-cli-stale-'));
        writeServiceFile(stale, { url: 'http://127.0.0.1:9', secret: API_SECRET, pid: 1 });

        const result = await cli(['runs'], { DATA_DIR: stale });

        expect(result.code).toBe(1);
        expect(result.stderr).toContain('No Rollcall service answers at http://127.0.0.1:9');
        removeDir(stale);
    });

    it('when npm start recorded the service, then sync runs through its API and runs lists the run', async () => {
        // Arrange
        const { users } = await createSetFor(orgStore(org), 2, {
            name: 'CLI sync',
            product: 'Instant Booker',
            statuses: 'Not Invited'
        });
        writeServiceFile(cliDataDir, {
            url: service.url,
            secret: API_SECRET,
            pid: process.pid,
            initiatedBy: org.ids.adminUserIds[0]
        });

        // Act
        const sync = await cli(['sync', '--json'], { DATA_DIR: cliDataDir });
        const runs = await cli(['runs', '--json'], { DATA_DIR: cliDataDir });

        // Assert
        expect(sync.stderr).toBe('');
        expect(sync.code).toBe(0);
        const { run } = JSON.parse(sync.stdout) as { run: { runId: string; status: string } };
        expect(run.status).toBe('Completed');
        for (const user of users) {
            const invitations = smtp.to(user.Email).filter((m) => !String(m.subject).startsWith('Rollcall '));
            expect(invitations).toHaveLength(1);
        }
        const listed = JSON.parse(runs.stdout) as { runs: { runId: string }[] };
        expect(listed.runs.map((r) => r.runId)).toContain(run.runId);
        expect(existsSync(join(cliDataDir, 'local-org'))).toBe(false);
    });

    it('when --url and ROLLCALL_API_SECRET are given, then explain answers through GET /v1/users/{key}/explain', async () => {
        const [user] = await orgStore(org).users(org.ids.adminUserIds);

        const result = await cli(['explain', String(user.Email), '--json', '--url', service.url], {
            ROLLCALL_API_SECRET: API_SECRET,
            DATA_DIR: mkdtempSync(join(tmpdir(), 'rollcall-cli-none-'))
        });

        expect(result.code).toBe(0);
        expect(JSON.parse(result.stdout)).toMatchObject({ userId: user.Id });
    });

    it('when a user key matches nobody, then the explain route answers 404', async () => {
        const response = await api(service, 'GET', '/v1/users/nobody%40example.invalid/explain');

        expect(response.status).toBe(404);
        expect(response.body.error).toEqual({
            code: 'NOT_FOUND',
            message: 'No user matches "nobody@example.invalid"'
        });
    });

    it('when the service file is written, then only its owner can read it (it holds the secret)', () => {
        const file = writeServiceFile(cliDataDir, { url: service.url, secret: API_SECRET, pid: 1 });

        expect(statSync(file).mode & 0o777).toBe(0o600);
    });
});
