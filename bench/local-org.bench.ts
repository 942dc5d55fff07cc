/**
 * Local org benchmark: start time with 5,000 and 200,000 users (fresh seed and restart from the
 * data folder), and the time to serve one 2,000-record page of a filtered User query (goal < 100 ms).
 * Last stdout line: one JSON object with the figures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalOrg, type LocalOrg } from '../service/src/local-org';
import { clientCredentialsToken } from '../test/local-org/helpers';

const FILTER =
    "SELECT Id, Username, Email, Department, Title, Profile.Name, UserRole.Name, Manager.Email, CreatedDate FROM User WHERE IsActive = true AND (Department = 'Sales' OR UserRole.Name LIKE 'EMEA%') AND CreatedDate = LAST_N_DAYS:2000 ORDER BY CreatedDate";

async function timeStart(users: number, dataDir: string): Promise<{ ms: number; org: LocalOrg }> {
    const t0 = performance.now();
    const org = await startLocalOrg({ users, dataDir });
    return { ms: Math.round(performance.now() - t0), org };
}

async function pageTimes(
    org: LocalOrg
): Promise<{ coldFirstPageMs: number; firstPageMs: number; nextPageMs: number; totalSize: number }> {
    const auth = { authorization: `Bearer ${await clientCredentialsToken(org)}` };
    const runs: Array<{ first: number; next: number; total: number }> = [];
    let cold = 0;
    // Three warm-up rounds (JIT, the cached sort order), then ten measured ones.
    for (let i = 0; i < 13; i++) {
        const t0 = performance.now();
        const res = await fetch(`${org.url}/services/data/v62.0/query?q=${encodeURIComponent(FILTER)}`, {
            headers: auth
        });
        const page = (await res.json()) as { totalSize: number; records: unknown[]; nextRecordsUrl?: string };
        const t1 = performance.now();
        if (page.nextRecordsUrl)
            await (await fetch(`${org.url}${page.nextRecordsUrl}`, { headers: auth })).json();
        const t2 = performance.now();
        if (i === 0) cold = t1 - t0;
        if (i >= 3) runs.push({ first: t1 - t0, next: t2 - t1, total: page.totalSize });
    }
    const median = (xs: number[]): number =>
        Math.round(xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] * 10) / 10;
    return {
        coldFirstPageMs: Math.round(cold),
        firstPageMs: median(runs.map((r) => r.first)),
        nextPageMs: median(runs.map((r) => r.next)),
        totalSize: runs[0].total
    };
}

async function main(): Promise<void> {
    const figures: Record<string, number> = {};
    for (const users of [5_000, 200_000]) {
        const dir = mkdtempSync(join(tmpdir(), 'rollcall-bench-'));
        try {
            const fresh = await timeStart(users, dir);
            await fresh.org.stop();
            const restart = await timeStart(users, dir);
            const page = await pageTimes(restart.org);
            await restart.org.stop();
            console.log(
                `${users} users: fresh start ${fresh.ms} ms, restart ${restart.ms} ms, filtered query ${page.totalSize} rows: first 2,000-record page ${page.firstPageMs} ms (median; ${page.coldFirstPageMs} ms cold), next page ${page.nextPageMs} ms`
            );
            const k = users === 5_000 ? '5k' : '200k';
            figures[`startMs_${k}`] = fresh.ms;
            figures[`restartMs_${k}`] = restart.ms;
            figures[`firstPageMs_${k}`] = page.firstPageMs;
            figures[`coldFirstPageMs_${k}`] = page.coldFirstPageMs;
            figures[`nextPageMs_${k}`] = page.nextPageMs;
            figures[`matching_${k}`] = page.totalSize;
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    }
    console.log(JSON.stringify({ bench: 'local-org', ...figures, pageGoalMs: 100 }));
}

void main();
