/**
 * The service's heap budget (service/src/heap.ts): npm start applies ROLLCALL_MAX_HEAP_MB, and in local mode
 * a seed the budget cannot hold is refused at start with what to change.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
    DEFAULT_MAX_HEAP_MB,
    heapBudgetNotApplied,
    heapLimitMb,
    localOrgHeapProblem,
    oldSpaceBudgetMb
} from '../../service/src/heap';

const ROOT = join(__dirname, '..', '..');
const startScript = (
    JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }
).scripts.start;

/** Runs npm start's own command line with the service replaced by a print of the heap limit. */
function heapLimitUnderStartScript(env: Record<string, string>): number {
    const command = startScript.replace(
        '--import tsx service/src/main.ts',
        `--import tsx -p "require('./service/src/heap').oldSpaceBudgetMb()"`
    );
    const { ROLLCALL_MAX_HEAP_MB: _unset, ...inherited } = process.env;
    const result = spawnSync('sh', ['-c', command], {
        cwd: ROOT,
        env: { ...inherited, ...env },
        encoding: 'utf8'
    });
    expect(result.stderr).toBe('');
    return Number(result.stdout.trim());
}

describe('heap budget', () => {
    it('when npm start runs, then the heap limit is the default budget, or ROLLCALL_MAX_HEAP_MB when set', () => {
        expect(startScript).toContain(
            `--max-old-space-size=\${ROLLCALL_MAX_HEAP_MB:-${DEFAULT_MAX_HEAP_MB}}`
        );

        const byDefault = heapLimitUnderStartScript({});
        const raised = heapLimitUnderStartScript({ ROLLCALL_MAX_HEAP_MB: '1024' });

        expect(byDefault).toBe(DEFAULT_MAX_HEAP_MB);
        expect(raised).toBe(1024);
    });

    it('when the budget is read, then the command line wins over NODE_OPTIONS, and the last flag counts', () => {
        expect(
            oldSpaceBudgetMb(
                ['--max-old-space-size=300', '--max_old_space_size=400'],
                '--max-old-space-size=900'
            )
        ).toBe(400);
        expect(oldSpaceBudgetMb(['--expose-gc'], '--trace-gc --max-old-space-size=900')).toBe(900);
        expect(oldSpaceBudgetMb([], '')).toBe(heapLimitMb());
    });

    it('when ROLLCALL_MAX_HEAP_MB is set, then a process started without that budget is warned, one with it is not', () => {
        expect(heapBudgetNotApplied(undefined, 4096)).toBeUndefined();
        expect(heapBudgetNotApplied(384, 384)).toBeUndefined();
        expect(heapBudgetNotApplied(384, 4096)).toBe(
            'ROLLCALL_MAX_HEAP_MB=384 is applied by npm start (--max-old-space-size); this process runs with 4096 MB for its old generation'
        );
    });

    it('when the local org seed fits in the budget, then nothing is said; when not, the fix is named', () => {
        expect(localOrgHeapProblem(5000, DEFAULT_MAX_HEAP_MB)).toBeUndefined();

        const problem = localOrgHeapProblem(1_000_000, DEFAULT_MAX_HEAP_MB);

        expect(problem).toMatch(/^LOCAL_ORG_USERS=1000000 needs about 1908 MB of heap .* may use 384 MB/);
        const suggested = Number(/ROLLCALL_MAX_HEAP_MB=(\d+) npm start/.exec(problem ?? '')?.[1]);
        expect(localOrgHeapProblem(1_000_000, suggested)).toBeUndefined();
        expect(localOrgHeapProblem(1_000_000, suggested - 256)).toBeDefined();
    });

    it('when the service starts in local mode with a seed its heap cannot hold, then it exits naming the fix', () => {
        const dataDir = mkdtempSync(join(tmpdir(), 'rollcall-heap-'));
        try {
            const result = spawnSync(
                process.execPath,
                ['--max-old-space-size=160', '--import', 'tsx', join(ROOT, 'service', 'src', 'main.ts')],
                {
                    cwd: ROOT,
                    env: {
                        PATH: process.env.PATH ?? '',
                        DATA_DIR: dataDir,
                        LOCAL_ORG_USERS: '100000',
                        LOG_FORMAT: 'json'
                    },
                    encoding: 'utf8',
                    timeout: 60_000
                }
            );

            expect(result.status).toBe(1);
            expect(`${result.stdout}${result.stderr}`).toMatch(
                /LOCAL_ORG_USERS=100000 needs about 191 MB of heap for the embedded local org, but this process may use 160 MB\. Start it with ROLLCALL_MAX_HEAP_MB=\d+ npm start/
            );
        } finally {
            rmSync(dataDir, { recursive: true, force: true });
        }
    });
});
