/**
 * `npm run bench -- incremental`: an incremental scheduled sync. The local org holds BENCH_USERS users
 * (500,000 by default) and one set selecting about BENCH_ELIGIBLE of them (5,000) or anyone titled
 * "Bench Hire"; a full scheduled run invites them; then BENCH_CHANGED users (100) are edited — every other
 * one becomes a Bench Hire, the rest get another department — and the next scheduled run must be
 * incremental, use at most 15 API calls, take under 10 s, and write exactly the items a full evaluation of
 * the same org finds. The org and the SMTP sink run in a child process (as in the sync bench).
 *
 * Last stdout line:
 * {"bench":"incremental","users":…,"changed":…,"seconds":…,"apiCalls":…,"fullRunApiCalls":…}
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SMTPServer } from 'smtp-server';
import { OrgStore } from '../service/src/domain/org-store';
import { overriding } from '../test/service/support/gateway';
import { deactivateAllSets, orgStore, setScheduleEnabled } from '../test/service/support/stack';
import { startLocalOrg } from '../service/src/local-org';
import { start } from '../service/src/main';
import { Evaluator } from '../service/src/use-cases/evaluation';
import { expireLapsed } from '../service/src/use-cases/lifecycle';
import type { BulkRow, OrgGateway, QueryPageInfo, QueryRequest, SObjectRecord } from '../service/src/ports';

/** BENCH_VERBOSE=1: prints each call the service makes to the org (the others are forwarded as they are). */
function logging(inner: OrgGateway): OrgGateway {
    const log = (what: string) => {
        if (process.env.BENCH_VERBOSE) console.log(`  [${inner.apiCalls()}] ${what.slice(0, 150)}`);
    };
    const timed = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
        const started = process.hrtime.bigint();
        const result = await call();
        if (process.env.BENCH_VERBOSE)
            console.log(
                `    ${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(0)} ms: ${what.slice(0, 60)}`
            );
        return result;
    };
    return overriding(inner, {
        query: <T extends object = SObjectRecord>(soql: string) => (
            log(soql),
            timed(soql, () => inner.query<T>(soql))
        ),
        queryAll: <T extends object = SObjectRecord>(soql: string) => (
            log(`queryAll ${soql}`),
            timed(soql, () => inner.queryAll!<T>(soql))
        ),
        queryTogether: (requests: QueryRequest[]) => (
            log(
                `together (one composite call per 5): ${requests.map((r) => r.soql.slice(0, 60)).join(' | ')}`
            ),
            timed('together', () => inner.queryTogether(requests))
        ),
        queryPages: <T extends object = SObjectRecord>(
            soql: string,
            onPage: (records: T[], page: QueryPageInfo) => unknown
        ) => (log(`pages ${soql}`), timed(soql, () => inner.queryPages<T>(soql, onPage))),
        bulkQuery: (soql: string, onPage: (rows: BulkRow[]) => unknown) => (
            log(`bulk ${soql}`),
            timed(soql, () => inner.bulkQuery(soql, onPage))
        ),
        describe: (sobject: string) => (log(`describe ${sobject}`), inner.describe(sobject)),
        create: (sobject: string, records: SObjectRecord[]) => (
            log(`create ${sobject} ${records.length}`),
            inner.create(sobject, records)
        ),
        update: (records: SObjectRecord[], options?: { retry?: boolean }) => (
            log(`update ${records.length}`),
            inner.update(records, options)
        ),
        upsert: (sobject: string, field: string, records: SObjectRecord[]) => (
            log(`upsert ${sobject} ${records.length}`),
            inner.upsert(sobject, field, records)
        )
    });
}

const USERS = Number(process.env.BENCH_USERS ?? 500_000);
const TARGET_ELIGIBLE = Number(process.env.BENCH_ELIGIBLE ?? 5_000);
const CHANGED = Number(process.env.BENCH_CHANGED ?? 100);
const PRODUCT = 'Meeting Links';
/** How far both clocks move on after the org is set up (more than an incremental run's 10-minute look-back). */
const CLOCK_AHEAD_MS = 15 * 60_000;
const ELIGIBLE_STATUSES = ['Not Invited', 'Expired', 'Revoked'];
const MAX_API_CALLS = 15;
const MAX_SECONDS = 10;

interface PeersInfo {
    orgUrl: string;
    consumerKey: string;
    username: string;
    privateKeyPem: string;
    smtpPort: number;
    seedSeconds: number;
    drained: number;
}

/** Child process: the local org with one set, and an SMTP sink. */
async function peers(): Promise<void> {
    const seedStarted = process.hrtime.bigint();
    const dataDir = mkdtempSync(join(tmpdir(), 'rollcall-bench-incremental-'));
    const org = await startLocalOrg({ users: USERS, seed: 2025, dataDir, reset: true });
    const seedSeconds = Number(process.hrtime.bigint() - seedStarted) / 1e9;
    const store = orgStore(org);
    await deactivateAllSets(store);
    // Scheduled runs are refused while the schedule is off (as the demo org ships).
    await setScheduleEnabled(org, true);
    // The newest TARGET_ELIGIBLE active users (by CreatedDate) are eligible.
    const users = await store.org.query<{ CreatedDate: string }>(
        `SELECT CreatedDate FROM User WHERE IsActive = true ORDER BY CreatedDate DESC LIMIT ${TARGET_ELIGIBLE}`
    );
    const cutoff = Date.parse(users[users.length - 1].CreatedDate.replace(/\+0000$/, 'Z'));
    await store.org.create('Condition_Set__c', [
        {
            Name: 'Bench: recent users and bench hires',
            Active__c: true,
            Products__c: PRODUCT,
            Eligible_Statuses__c: ELIGIBLE_STATUSES.join(';'),
            Definition__c: JSON.stringify({
                version: 1,
                conditions: [
                    {
                        field: 'CreatedDate',
                        operator: 'greaterOrEqual',
                        value: new Date(Math.floor(cutoff / 1000) * 1000).toISOString().replace('.000Z', 'Z')
                    },
                    { field: 'Title', operator: 'equals', value: 'Bench Hire' }
                ],
                logic: '1 OR 2'
            })
        }
    ]);
    // Steady state: the invitations the demo seeded as lapsed were marked Expired long ago, as a running
    // deployment's sweep would have. The org's clock then moves CLOCK_AHEAD_MS on (the service's clock
    // follows, below), so that expiry lies before any run's look-back window instead of inside it.
    const ttlHours = Number(process.env.AUTH_TOKEN_TTL_HOURS ?? 168);
    let drained = 0;
    for (;;) {
        const expired = await expireLapsed(store, new Date(), ttlHours);
        if (expired === 0) break;
        drained += expired;
    }
    org.clock.advance(CLOCK_AHEAD_MS);
    await store.org.close();

    const smtp = new SMTPServer({
        authOptional: true,
        disabledCommands: ['STARTTLS'],
        logger: false,
        onData(stream, _session, callback) {
            stream.on('data', () => undefined);
            stream.on('end', () => callback());
        }
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()));
    const info: PeersInfo = {
        orgUrl: org.url,
        consumerKey: org.jwt.consumerKey,
        username: org.jwt.username,
        privateKeyPem: org.jwt.privateKeyPem,
        smtpPort: (smtp.server.address() as { port: number }).port,
        seedSeconds,
        drained
    };
    process.stdout.write(`${JSON.stringify(info)}\n`);
    process.stdin.resume();
    process.stdin.on('end', () => {
        smtp.close(() => undefined);
        void org.stop().then(() => {
            rmSync(dataDir, { recursive: true, force: true });
            process.exit(0);
        });
    });
}

async function main(): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', __filename, '--peers'], {
        stdio: ['pipe', 'pipe', 'inherit']
    });
    const lines = createInterface({ input: child.stdout! });
    const info = await new Promise<PeersInfo>((resolve, reject) => {
        lines.once('line', (line) => resolve(JSON.parse(line) as PeersInfo));
        child.once('exit', (code) => reject(new Error(`bench peers exited with ${code}`)));
    });
    console.log(
        `org: ${USERS} users seeded in ${info.seedSeconds.toFixed(1)} s; ${info.drained} lapsed invitations marked Expired (steady state; clocks then ${CLOCK_AHEAD_MS / 60_000} min on)`
    );

    const outbox = mkdtempSync(join(tmpdir(), 'rollcall-bench-'));
    const service = await start({
        env: {
            NODE_ENV: 'production',
            LOG_LEVEL: 'warn',
            PORT: '0',
            ROLLCALL_API_SECRET: 'b'.repeat(40),
            AUTH_TOKEN_SECRET: 'c'.repeat(40),
            SF_LOGIN_URL: info.orgUrl,
            SF_CLIENT_ID: info.consumerKey,
            SF_USERNAME: info.username,
            SF_PRIVATE_KEY: info.privateKeyPem,
            SMTP_HOST: '127.0.0.1',
            SMTP_PORT: String(info.smtpPort),
            SMTP_MAX_CONNECTIONS: '10',
            HEARTBEAT_SECONDS: '15',
            OUTBOX_DIR: outbox,
            // Run journals of this bench only (a bench killed midway leaves none behind in the repo's .data).
            DATA_DIR: join(outbox, 'data'),
            SCHEDULER: 'off'
        },
        clock: { now: () => new Date(Date.now() + CLOCK_AHEAD_MS) },
        timers: false,
        initialSweep: false,
        wrapOrg: logging
    });
    const ready = await fetch(`${service.url}/readyz`);
    if (!ready.ok) throw new Error(`service not ready: ${ready.status}`);
    const store = new OrgStore(service.org);
    const scheduled = async () => {
        const callsBefore = service.org.apiCalls();
        const started = process.hrtime.bigint();
        const { runId } = await service.provisioning.scheduled();
        await service.provisioning.waitForRun(runId);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const apiCalls = service.org.apiCalls() - callsBefore;
        const [run] = await store.org.query<Record<string, unknown>>(
            `SELECT Status__c, Evaluation_Kind__c, Evaluation_Reason__c, Evaluated_Count__c, Eligible_Count__c, Invited_Count__c FROM Provisioning_Run__c WHERE Id = '${runId}'`
        );
        return { runId, run, seconds, apiCalls };
    };

    // 1. The full run every incremental one builds on.
    const full = await scheduled();
    console.log(
        `full run: ${String(full.run.Evaluation_Kind__c)}, ${String(full.run.Evaluated_Count__c)} evaluated, ` +
            `${String(full.run.Invited_Count__c)} invited in ${full.seconds.toFixed(2)} s, ${full.apiCalls} API calls`
    );
    if (full.run.Status__c !== 'Completed' || full.run.Evaluation_Kind__c !== 'Full')
        throw new Error(
            `full run ended ${String(full.run.Status__c)} (${String(full.run.Evaluation_Kind__c)})`
        );

    // 2. CHANGED users edited, as an HR integration would (not counted: they are not the service's calls).
    const candidates = await store.org.query<{ Id: string }>(
        `SELECT Id FROM User WHERE IsActive = true AND UserType = 'Standard' AND Email != null ORDER BY Id LIMIT ${CHANGED * 50}`
    );
    const stride = Math.max(1, Math.floor(candidates.length / CHANGED));
    const changed = Array.from({ length: CHANGED }, (_, i) => candidates[i * stride]);
    await store.update(
        changed.map((user, i) =>
            i % 2 === 0
                ? { attributes: { type: 'User' }, Id: user.Id, Title: 'Bench Hire' }
                : { attributes: { type: 'User' }, Id: user.Id, Department: 'Bench Moved' }
        )
    );

    // 3. What a full evaluation of this org finds now (read only, nothing recorded).
    const expectedStarted = process.hrtime.bigint();
    const expected = (
        await new Evaluator(store, { now: () => new Date(Date.now() + CLOCK_AHEAD_MS) }).evaluate()
    ).entries
        .map((entry) => `${entry.userId}:${entry.products.join(';')}`)
        .sort();
    const expectedSeconds = Number(process.hrtime.bigint() - expectedStarted) / 1e9;

    // 4. The incremental run.
    const incremental = await scheduled();
    const items = (await store.items(incremental.runId))
        .map((item) => `${item.User__c}:${item.Products__c ?? ''}`)
        .sort();
    const same = JSON.stringify(items) === JSON.stringify(expected);
    if (!same) {
        const wanted = new Set(expected);
        const got = new Set(items);
        console.log(
            `  written, not expected: ${items
                .filter((item) => !wanted.has(item))
                .slice(0, 10)
                .join(', ')}`
        );
        console.log(
            `  expected, not written: ${expected
                .filter((item) => !got.has(item))
                .slice(0, 10)
                .join(', ')}`
        );
    }
    console.log(
        `incremental run: ${String(incremental.run.Evaluation_Kind__c)} (${String(incremental.run.Evaluation_Reason__c)}), ` +
            `${String(incremental.run.Evaluated_Count__c)} evaluated, ${String(incremental.run.Invited_Count__c)} invited ` +
            `in ${incremental.seconds.toFixed(2)} s, ${incremental.apiCalls} API calls; ` +
            `a full evaluation of the same org finds ${expected.length} (in ${expectedSeconds.toFixed(2)} s): ${same ? 'the same' : 'DIFFERENT'}`
    );
    await service.stop();
    child.stdin!.end();
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(outbox, { recursive: true, force: true });

    const failures = [
        incremental.run.Status__c !== 'Completed' && `run ended ${String(incremental.run.Status__c)}`,
        incremental.run.Evaluation_Kind__c !== 'Incremental' && 'the run was not incremental',
        !same && 'its invitations differ from a full evaluation',
        incremental.apiCalls > MAX_API_CALLS &&
            `${incremental.apiCalls} API calls (at most ${MAX_API_CALLS})`,
        incremental.seconds >= MAX_SECONDS && `${incremental.seconds.toFixed(2)} s (under ${MAX_SECONDS})`
    ].filter(Boolean);
    for (const failure of failures) console.error(`incremental bench: ${String(failure)}`);
    console.log(
        JSON.stringify({
            bench: 'incremental',
            users: USERS,
            changed: CHANGED,
            seconds: Number(incremental.seconds.toFixed(2)),
            apiCalls: incremental.apiCalls,
            fullRunApiCalls: full.apiCalls
        })
    );
    if (failures.length > 0) process.exitCode = 1;
}

if (process.argv.includes('--peers')) {
    peers().catch((error: unknown) => {
        console.error(error);
        process.exit(1);
    });
} else {
    main().catch((error: unknown) => {
        console.error(error);
        process.exit(1);
    });
}
