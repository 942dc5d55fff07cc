/**
 * Local mode: `start()` with no org configured (the embedded local org, the outbox), the demo sync of
 * `npm start`, and the CLI (`bin/rollcall … --json`).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runDemo } from '../../service/src/cli/demo';
import { start } from '../../service/src/main';
import { writeServiceFile } from '../../service/src/service-file';
import { removeDir } from './support/stack';

jest.setTimeout(120_000);

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

describe('local mode', () => {
    let dir: string;

    beforeAll(() => {
        dir = mkdtempSync(join(tmpdir(), 'rollcall-local-mode-'));
    });

    afterAll(() => removeDir(dir));

    it('when started with no configuration, then the demo sync runs on the local org and the emails land in the outbox', async () => {
        // Arrange
        const outbox = join(dir, 'outbox');
        const lines: string[] = [];
        const log = jest.spyOn(console, 'log').mockImplementation((line: string) => lines.push(String(line)));
        const service = await start({
            env: {
                NODE_ENV: 'test',
                LOG_LEVEL: 'silent',
                PORT: '0',
                DATA_DIR: join(dir, 'data'),
                OUTBOX_DIR: outbox,
                LOCAL_ORG_USERS: '300'
            }
        });

        try {
            // Act
            await runDemo(service);
        } finally {
            log.mockRestore();
            await service.stop();
        }

        // Assert
        expect(service.config.mode).toBe('local');
        expect(service.localOrg?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        const output = lines.join('\n');
        expect(output).toMatch(
            /Preview \w+: \d+ users evaluated \(those the condition sets' queries selected\), \d+ eligible/
        );
        expect(output).toMatch(/Completed/);
        expect(output).toContain(`outbox ${outbox}`);
        const [runDir] = readdirSync(outbox);
        const files = readdirSync(join(outbox, runDir));
        expect(files).toContain('audit.eml');
        expect(files.length).toBeGreaterThan(1);
        const invitation = readFileSync(
            join(
                outbox,
                runDir,
                files.find((f) => f !== 'audit.eml')!
            ),
            'utf8'
        );
        expect(invitation).toMatch(/Subject: Action needed: connect your calendar/);
    });

    it('when the CLI is asked for JSON against the local service, then preview, runs and explain print parseable results', async () => {
        // Arrange: a local-mode service, recorded in its data folder as `npm start` does
        const env = {
            ...process.env,
            NODE_ENV: 'test',
            DATA_DIR: join(dir, 'cli-data'),
            OUTBOX_DIR: join(dir, 'cli-outbox'),
            LOCAL_ORG_USERS: '300',
            LOG_LEVEL: 'silent'
        };
        const service = await start({ env: { ...env, PORT: '0' }, timers: false });
        writeServiceFile(service.config.dataDir, {
            url: service.url,
            secret: service.config.apiSecret,
            pid: process.pid,
            initiatedBy: service.localOrg?.ids.adminUserIds[0]
        });
        const cli = (...args: string[]) => run(join(ROOT, 'bin', 'rollcall'), args, { env, cwd: dir });

        // Act
        const previewed = JSON.parse((await cli('preview', '--json')).stdout) as {
            run: { runId: string; counts: { eligible: number } };
            items: { userId: string; email: string }[];
        };
        const preview = { runId: previewed.run.runId, eligible: previewed.run.counts.eligible, ...previewed };
        const runs = JSON.parse((await cli('runs', '--json')).stdout) as {
            runs: { runId: string; status: string }[];
        };
        const explained = JSON.parse((await cli('explain', preview.items[0].email, '--json')).stdout) as {
            userId: string;
            products: { eligible: boolean }[];
        };
        const failure = await cli('explain', 'nobody@nowhere.example', '--json').catch(
            (error: { stdout: string }) => error
        );

        const explainedText = (await cli('explain', preview.items[0].userId)).stdout;
        const synced = await cli('sync');
        const syncedJson = JSON.parse((await cli('sync', '--json')).stdout) as {
            run: { status: string; trigger: string; counts: { eligible: number; invited: number } };
        };
        await service.stop();

        // Assert
        expect(preview.eligible).toBeGreaterThan(0);
        expect(runs.runs.find((r) => r.runId === preview.runId)?.status).toBe('Previewed');
        expect(explained.userId).toBe(preview.items[0].userId);
        expect(explained.products.some((p) => p.eligible)).toBe(true);
        expect(explainedText).toContain(preview.items[0].userId);
        expect(explainedText).toMatch(/Product\s+Status\s+Eligible\s+Why/);
        // The human sync: a summary table (the progress bar is drawn on a terminal's stderr only)
        expect(synced.stdout).toMatch(
            /Run\s+Status\s+Trigger\s+Evaluated\s+Eligible\s+Invited\s+Reminded\s+Skipped\s+Failed/
        );
        expect(synced.stdout).toMatch(/^Outcome: \d+ invited, \d+ reminded, \d+ skipped, \d+ failed$/m);
        expect(synced.stdout).toMatch(/RUN-\d+\s+Completed\s+Manual/);
        expect(synced.stdout).not.toContain('"level"');
        // Everyone was invited by the first sync; the second finds their status changed and invites nobody again
        expect(syncedJson.run).toMatchObject({ status: 'Completed', trigger: 'Manual' });
        expect(syncedJson.run.counts.invited).toBe(0);
        expect(JSON.parse(failure.stdout)).toEqual({
            error: { code: 'NOT_FOUND', message: expect.any(String) }
        });
    });
});
