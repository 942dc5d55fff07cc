/**
 * `npm run bench` runs every benchmark; `npm run bench -- <name>` runs bench/<name>.bench.ts.
 * Each benchmark runs in its own process (so one's memory and JIT state do not colour the next)
 * and prints, as its last line, one JSON object with its figures and its name under `bench`.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MAX_HEAP_MB } from '../service/src/heap';

/**
 * Benchmarks that host the service in their own process (its peers run in child processes): they run with
 * the heap budget `npm start` gives the service (ROLLCALL_MAX_HEAP_MB, service/src/heap.ts), so the memory
 * they report is the service's as deployed.
 */
const SERVICE_BENCHES = new Set(['sync', 'incremental', 'scim']);
const heapBudgetMb = Number(process.env.ROLLCALL_MAX_HEAP_MB ?? DEFAULT_MAX_HEAP_MB);

const benchDir = __dirname;
const available = readdirSync(benchDir)
    .filter((file) => file.endsWith('.bench.ts'))
    .map((file) => file.replace(/\.bench\.ts$/, ''))
    .sort();

const requested = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
const unknown = requested.filter((name) => !available.includes(name));
if (unknown.length > 0) {
    console.error(`Unknown benchmark: ${unknown.join(', ')}. Available: ${available.join(', ')}`);
    process.exit(2);
}

let failed = false;
for (const name of requested.length > 0 ? requested : available) {
    const budget = SERVICE_BENCHES.has(name) ? [`--max-old-space-size=${heapBudgetMb}`] : [];
    console.log(
        `\n== bench ${name}${budget.length > 0 ? ` (service heap budget ${heapBudgetMb} MB, as npm start)` : ''}`
    );
    const result = spawnSync(
        process.execPath,
        [...budget, '--expose-gc', '--import', 'tsx', join(benchDir, `${name}.bench.ts`)],
        {
            stdio: 'inherit'
        }
    );
    if (result.status !== 0) {
        console.error(`bench ${name} failed (exit ${result.status})`);
        failed = true;
    }
}
process.exit(failed ? 1 : 0);
