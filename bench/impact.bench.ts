/**
 * `npm run bench -- impact`: the condition set editor's warning (POST /v1/condition-sets/impact) for a draft
 * set over 100,000 users, with the demo org's overlapping sets plus two broad ones active. The local org
 * runs in a child process (as a real org is another machine); the service in this one. Every call reads the
 * draft's candidates (its pushed-down query: a first REST page, then a Bulk API 2.0 job) and, since the
 * "Managers" set reads IsManager, the managers' ids, evaluating page by page; nothing is cached between
 * calls. As deployed, the service is probed ready first (/readyz: sign-in, User describe, org time zone;
 * `readinessMs`); the first call after it is cold (`coldMs`: a fresh process, no managers' ids, its code not
 * yet optimised); then RUNS measured calls over HTTP, as an admin editing a set makes them. `cacheColdMs`:
 * the first call of a second service in this warm process, after its readiness. The target is 2 s per call,
 * cold included. Last stdout line:
 * {"bench":"impact","users":…,"matched":…,"evaluated":…,"overlaps":…,"readinessMs":…,"coldMs":…,"cacheColdMs":…,"medianMs":…,"maxMs":…,
 *  "targetMs":2000,
 *  "peakHeapMB":…,"retainedHeapMB":…} (the service's heap above its level before the first call)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startLocalOrg } from '../service/src/local-org';
import { start } from '../service/src/main';
import { orgStore } from '../test/service/support/stack';

const USERS = Number(process.env.BENCH_USERS ?? 100_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const TARGET_MS = 2000;
const SECRET = 'bench-api-secret-0123456789-abcdefghijklmnop';

interface OrgInfo {
    orgUrl: string;
    consumerKey: string;
    username: string;
    privateKeyPem: string;
}

/** Child process: the local org with USERS users, the demo sets and two broad ones active. */
async function orgProcess(): Promise<void> {
    const dataDir = mkdtempSync(join(tmpdir(), 'rollcall-bench-impact-'));
    const org = await startLocalOrg({ users: USERS, seed: 2026, dataDir, reset: true });
    const store = orgStore(org);
    const broad = (name: string, products: string, conditions: unknown[]) => ({
        Name: name,
        Active__c: true,
        Products__c: products,
        Eligible_Statuses__c: 'Not Invited;Expired',
        Definition__c: JSON.stringify({ version: 1, conditions })
    });
    await store.org.create('Condition_Set__c', [
        broad('All of Support', 'Meeting Links', [
            { field: 'Department', operator: 'equals', value: 'Support' }
        ]),
        broad('Managers', 'Round Robin', [{ field: 'IsManager', operator: 'equals', value: true }])
    ]);
    // A real org is warm; the local org's first queries would pay its own JIT warm-up inside the service's
    // cold call. Its query paths (REST, a Bulk API job, CSV results) are exercised once here, in its process.
    await store.org.query('SELECT Id, Title FROM User WHERE IsActive = true LIMIT 2000');
    await store.org.bulkQuery('SELECT Id, Title, ManagerId FROM User WHERE IsActive = true', () => undefined);
    await store.org.close();
    const info: OrgInfo = {
        orgUrl: org.url,
        consumerKey: org.jwt.consumerKey,
        username: org.jwt.username,
        privateKeyPem: org.jwt.privateKeyPem
    };
    process.stdout.write(`ORG ${JSON.stringify(info)}\n`);
    process.stdin.resume();
    process.stdin.on('end', () => {
        void org.stop().finally(() => {
            rmSync(dataDir, { recursive: true, force: true });
            process.exit(0);
        });
    });
}

async function main(): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', __filename, '--org'], {
        stdio: ['pipe', 'pipe', 'inherit']
    });
    const info = await new Promise<OrgInfo>((resolve, reject) => {
        const lines = createInterface({ input: child.stdout! });
        lines.on('line', (line) => {
            if (line.startsWith('ORG ')) resolve(JSON.parse(line.slice(4)) as OrgInfo);
        });
        child.once('exit', (code) => reject(new Error(`org process exited (${code})`)));
    });
    const dataDirs: string[] = [];
    const dataDir = () => {
        dataDirs.push(mkdtempSync(join(tmpdir(), 'rollcall-bench-impact-data-')));
        return dataDirs[dataDirs.length - 1];
    };
    const startService = () =>
        start({
            env: {
                NODE_ENV: 'production',
                LOG_LEVEL: 'silent',
                PORT: '0',
                ROLLCALL_API_SECRET: SECRET,
                AUTH_TOKEN_SECRET: SECRET,
                SF_LOGIN_URL: info.orgUrl,
                SF_JWT_AUDIENCE: info.orgUrl,
                SF_CLIENT_ID: info.consumerKey,
                SF_USERNAME: info.username,
                SF_PRIVATE_KEY: info.privateKeyPem,
                SMTP_HOST: '127.0.0.1',
                SMTP_PORT: '2525',
                ...(process.env.BENCH_BULK_ABOVE ? { BULK_QUERY_ABOVE: process.env.BENCH_BULK_ABOVE } : {}),
                DATA_DIR: dataDir()
            },
            timers: false,
            initialSweep: false
        });
    let service = await startService();
    const draft = {
        name: 'Sales and Support',
        products: ['Round Robin', 'Meeting Links'],
        definition: {
            version: 1,
            conditions: [
                { field: 'Department', operator: 'in', value: ['Sales', 'Support', 'Customer Success'] },
                { field: 'IsActive', operator: 'equals', value: true }
            ]
        }
    };
    const call = async () => {
        const url = service.url;
        const started = performance.now();
        const response = await fetch(`${url}/v1/condition-sets/impact`, {
            method: 'POST',
            headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' },
            body: JSON.stringify(draft)
        });
        const body = (await response.json()) as {
            matched: number;
            evaluated: number;
            alreadyGranted: number;
            overlaps: unknown[];
        };
        if (response.status !== 200)
            throw new Error(`impact answered ${response.status}: ${JSON.stringify(body)}`);
        return { ms: performance.now() - started, body };
    };
    // Memory: the service's heap before the first call, its peak during the calls (sampled), and what the
    // calls leave behind once collected (the first version kept every active user for 60 s).
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const baseHeap = process.memoryUsage().heapUsed;
    let peakHeap = baseHeap;
    const sampler = setInterval(() => {
        peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    }, 5);
    // As deployed: the orchestrator waits for /readyz (sign-in, User describe, org time zone) before traffic.
    const ready = async () => {
        const started = performance.now();
        const response = await fetch(`${service.url}/readyz`);
        if (!response.ok) throw new Error(`service not ready: ${response.status}`);
        return performance.now() - started;
    };
    const readinessMs = await ready();
    const warm = await call();
    console.log(
        `readiness ${readinessMs.toFixed(0)} ms; first call after it (fresh process, candidates read): ${warm.ms.toFixed(0)} ms`
    );
    const times: number[] = [];
    let last = warm.body;
    for (let i = 0; i < RUNS; i++) {
        const { ms, body } = await call();
        times.push(ms);
        last = body;
        console.log(
            `call ${i + 1}: ${ms.toFixed(0)} ms (matched ${body.matched}, already granted ${body.alreadyGranted}, read ${body.evaluated})`
        );
    }
    clearInterval(sampler);
    gc?.();
    const retainedMB = (process.memoryUsage().heapUsed - baseHeap) / 2 ** 20;
    const peakMB = (peakHeap - baseHeap) / 2 ** 20;
    console.log(
        `service heap: peak ${peakMB.toFixed(0)} MB above the start, ${retainedMB.toFixed(1)} MB retained after the calls${gc ? '' : ' (no --expose-gc: not collected)'}`
    );
    times.sort((a, b) => a - b);
    await service.stop();
    // A new service in this (warm) process, probed ready: its first call has no managers' ids cached, as
    // the first check after a minute idle, without the process's own start-up (module loading, JIT) that the
    // first call above also pays.
    service = await startService();
    await ready();
    const cacheCold = await call();
    console.log(`first call of a new service in the warm process: ${cacheCold.ms.toFixed(0)} ms`);
    await service.stop();
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
    child.stdin!.end();
    console.log(
        JSON.stringify({
            bench: 'impact',
            users: USERS,
            matched: last.matched,
            alreadyGranted: last.alreadyGranted,
            evaluated: last.evaluated,
            overlaps: last.overlaps.length,
            readinessMs: Math.round(readinessMs),
            coldMs: Math.round(warm.ms),
            cacheColdMs: Math.round(cacheCold.ms),
            medianMs: Math.round(times[Math.floor(times.length / 2)]),
            maxMs: Math.round(times[times.length - 1]),
            targetMs: TARGET_MS,
            peakHeapMB: Math.round(peakMB),
            retainedHeapMB: Math.round(retainedMB * 10) / 10
        })
    );
}

if (process.argv.includes('--org')) void orgProcess();
else
    main().catch((error) => {
        console.error(error);
        process.exit(1);
    });
