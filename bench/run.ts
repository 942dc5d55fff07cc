/**
 * `npm run bench` runs every benchmark; `npm run bench -- <name>` runs bench/<name>.bench.ts.
 * Each benchmark runs in its own process (so one's memory and JIT state do not colour the next)
 * and prints, as its last line, one JSON object with its figures and its name under `bench`.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

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
    console.log(`\n== bench ${name}`);
    const result = spawnSync(
        process.execPath,
        ['--expose-gc', '--import', 'tsx', join(benchDir, `${name}.bench.ts`)],
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
