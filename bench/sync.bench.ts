/**
 * `npm run bench -- sync`: a scheduled sync (evaluate + invite in one go) over 50,000 users of which
 * about 5,000 are eligible (BENCH_USERS / BENCH_ELIGIBLE), on the local org with a local SMTP sink.
 * The service runs in this process, the local org and the SMTP sink each in a child process of their
 * own, so CPU seconds and peak memory are reported for each apart: the service's figures are its own.
 * BENCH_BULK_ABOVE sets the service's BULK_QUERY_ABOVE (the Bulk API 2.0 threshold) to compare read paths.
 * BENCH_CPU_PROF=<dir> writes a V8 CPU profile of the org and of the SMTP sink there (run this file with
 * `node --cpu-prof` for the service's own).
 *
 * API call floor, over everything the run reads and writes: each REST query one call per 2,000 rows
 * (at least one; queries read together share one Composite call per 5, each further 2,000 rows one more), each Bulk API 2.0 query job four calls (create, one status check, one result set,
 * delete) plus one per further 50,000 rows, and one write call per 200 records written. Last stdout line:
 * {"bench":"sync","users":…,"eligible":…,"seconds":…,"msPerInvite":…,"apiCalls":…,"apiCallFloor":…,
 *  "serviceCpuSeconds":…,"orgCpuSeconds":…,"smtpCpuSeconds":…,"peakRssMb":…,"peakLiveHeapMb":…,
 *  "heapLimitMb":…,"orgPeakRssMb":…,…}
 * The service runs with the heap budget npm start gives it (bench/run.ts); peakLiveHeapMb is the most heap
 * still in use just after a full collection, i.e. what the service holds rather than what awaits collection.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants as perfConstants, PerformanceObserver } from 'node:perf_hooks';
import { createInterface, type Interface } from 'node:readline';
import { SMTPServer } from 'smtp-server';
import { OrgStore } from '../service/src/domain/org-store';
import { overriding } from '../test/service/support/gateway';
import { deactivateAllSets, orgStore, setScheduleEnabled } from '../test/service/support/stack';
import { startLocalOrg } from '../service/src/local-org';
import { start } from '../service/src/main';
import {
    COMPOSITE_QUERIES,
    type BulkRow,
    type OrgGateway,
    type QueryPageInfo,
    type QueryRequest,
    type SObjectRecord
} from '../service/src/ports';
import { BULK_RESULT_SET_RECORDS } from '../service/src/adapters/salesforce';
import { heapLimitMb } from '../service/src/heap';

const USERS = Number(process.env.BENCH_USERS ?? 50_000);
const TARGET_ELIGIBLE = Number(process.env.BENCH_ELIGIBLE ?? 5_000);
const PRODUCT = 'Meeting Links';
const ELIGIBLE_STATUSES = ['Not Invited', 'Expired', 'Revoked'];

interface OrgInfo {
    orgUrl: string;
    consumerKey: string;
    username: string;
    privateKeyPem: string;
    eligible: number;
    seedSeconds: number;
}

/** What a peer process reports about itself: CPU seconds so far and its peak resident memory. */
interface PeerStats {
    cpuSeconds: number;
    maxRssMb: number;
    [detail: string]: number;
}

function ownStats(): PeerStats {
    const cpu = process.cpuUsage();
    return {
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
        maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024)
    };
}

/**
 * A peer's side of the line protocol: its first stdout line is its info; then each `stats` line on stdin
 * is answered with one JSON line of PeerStats; stdin's end stops it.
 */
function servePeer(info: object, stats: () => PeerStats, stop: () => Promise<void>): void {
    process.stdout.write(`${JSON.stringify(info)}\n`);
    const input = createInterface({ input: process.stdin });
    input.on('line', (line) => {
        if (line.trim() === 'stats') process.stdout.write(`${JSON.stringify(stats())}\n`);
    });
    input.on('close', () => {
        void stop().then(() => process.exit(0));
    });
}

/** Child process: the local org with one set selecting about TARGET_ELIGIBLE eligible users. */
async function orgPeer(): Promise<void> {
    const dataDir = mkdtempSync(join(tmpdir(), 'rollcall-bench-org-'));
    const seedStarted = process.hrtime.bigint();
    const org = await startLocalOrg({ users: USERS, seed: 2024, dataDir, reset: true });
    const seedSeconds = Number(process.hrtime.bigint() - seedStarted) / 1e9;
    const store = orgStore(org);
    await deactivateAllSets(store);
    // Scheduled runs are refused while the schedule is off (as the demo org ships).
    await setScheduleEnabled(org, true);
    // Choose a CreatedDate cut-off so that about TARGET_ELIGIBLE active users are eligible. Read page by
    // page, keeping only the dates: at 1,000,000 users the records would weigh on the org's own figures.
    const blocked = new Set(
        (await store.authorizations('all', [PRODUCT]))
            .filter((a) => !ELIGIBLE_STATUSES.includes(String(a.Status__c)))
            .map((a) => a.User__c)
    );
    const dates: number[] = [];
    await store.org.queryPages<{ Id: string; CreatedDate: string }>(
        'SELECT Id, CreatedDate FROM User WHERE IsActive = true',
        (users) => {
            for (const u of users)
                if (!blocked.has(u.Id)) dates.push(Date.parse(u.CreatedDate.replace(/\+0000$/, 'Z')));
        }
    );
    const eligibleDates = Float64Array.from(dates).sort().reverse();
    dates.length = 0;
    // SOQL datetimes have whole seconds.
    const cutoff =
        Math.floor(eligibleDates[Math.min(TARGET_ELIGIBLE, eligibleDates.length) - 1] / 1000) * 1000;
    const eligible = eligibleDates.filter((d) => d >= cutoff).length;
    await store.org.create('Condition_Set__c', [
        {
            Name: 'Bench: recent users',
            Active__c: true,
            Products__c: PRODUCT,
            Eligible_Statuses__c: ELIGIBLE_STATUSES.join(';'),
            Definition__c: JSON.stringify({
                version: 1,
                conditions: [
                    {
                        field: 'CreatedDate',
                        operator: 'greaterOrEqual',
                        value: new Date(cutoff).toISOString().replace('.000Z', 'Z')
                    }
                ]
            })
        }
    ]);
    await store.org.close();
    org.resetApiCounter();
    const info: OrgInfo = {
        orgUrl: org.url,
        consumerKey: org.jwt.consumerKey,
        username: org.jwt.username,
        privateKeyPem: org.jwt.privateKeyPem,
        eligible,
        seedSeconds
    };
    servePeer(
        info,
        () => ({ ...ownStats(), apiCalls: org.apiUsage().used }),
        async () => {
            await org.stop();
            rmSync(dataDir, { recursive: true, force: true });
        }
    );
}

/** Child process: an SMTP sink that reads and drops every message. */
async function smtpPeer(): Promise<void> {
    let received = 0;
    const smtp = new SMTPServer({
        authOptional: true,
        disabledCommands: ['STARTTLS'],
        logger: false,
        onData(stream, _session, callback) {
            stream.on('data', () => undefined);
            stream.on('end', () => {
                received++;
                callback();
            });
        }
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()));
    servePeer(
        { smtpPort: (smtp.server.address() as { port: number }).port },
        () => ({ ...ownStats(), received }),
        () => new Promise<void>((resolve) => smtp.close(() => resolve()))
    );
}

/** The parent's handle on a peer process. */
class Peer<Info> {
    private constructor(
        private readonly child: ChildProcess,
        private readonly lines: Interface,
        readonly info: Info
    ) {}

    static async start<Info>(role: 'org' | 'smtp'): Promise<Peer<Info>> {
        const profile = process.env.BENCH_CPU_PROF
            ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
            : [];
        const child = spawn(process.execPath, [...profile, '--import', 'tsx', __filename, `--peer=${role}`], {
            stdio: ['pipe', 'pipe', 'inherit']
        });
        const lines = createInterface({ input: child.stdout! });
        const info = await new Promise<Info>((resolve, reject) => {
            lines.once('line', (line) => resolve(JSON.parse(line) as Info));
            child.once('exit', (code) => reject(new Error(`bench ${role} process exited with ${code}`)));
        });
        return new Peer(child, lines, info);
    }

    async stats(): Promise<PeerStats> {
        const answer = new Promise<PeerStats>((resolve) =>
            this.lines.once('line', (line) => resolve(JSON.parse(line) as PeerStats))
        );
        this.child.stdin!.write('stats\n');
        return answer;
    }

    async stop(): Promise<void> {
        const exited = new Promise((resolve) => this.child.once('exit', resolve));
        this.child.stdin!.end();
        await exited;
    }
}

/** Counts rows read (by path) and records written, to compute the API call floor. */
class CountingGateway {
    queries = 0;
    /** A query costs at least one call, then one per 2,000 rows. */
    restFloor = 0;
    restRows = 0;
    restPages = 0;
    bulkJobs = 0;
    bulkRows = 0;
    bulkCalls = 0;
    bulkSets = 0;
    recordsWritten = 0;
    log: string[] = [];
    /** The gateway the service uses: what is counted goes through here, the rest straight to `inner`. */
    readonly gateway: OrgGateway;
    constructor(private readonly inner: OrgGateway) {
        this.gateway = overriding(inner, {
            query: (soql) => this.query(soql),
            queryPages: (soql, onPage) => this.queryPages(soql, onPage),
            bulkQuery: (soql, onPage) => this.bulkQuery(soql, onPage),
            queryTogether: (requests) => this.queryTogether(requests),
            queryAll: (soql) => this.queryAll(soql),
            create: (sobject, records) => this.create(sobject, records),
            update: (records, options) => this.update(records, options),
            upsert: (sobject, field, records) => this.upsert(sobject, field, records)
        });
    }
    /** Forget what readiness read: the figures are the run's own. */
    reset(): void {
        this.queries = this.restFloor = this.restRows = this.restPages = 0;
        this.bulkJobs = this.bulkRows = this.bulkCalls = this.bulkSets = 0;
        this.recordsWritten = 0;
        this.log = [];
    }
    get rowsRead(): number {
        return this.restRows + this.bulkRows;
    }
    async query<T extends object = SObjectRecord>(soql: string): Promise<T[]> {
        const rows: T[] = [];
        await this.queryPages<T>(soql, (page) => {
            for (const row of page) rows.push(row);
        });
        return rows;
    }
    async queryPages<T extends object = SObjectRecord>(
        soql: string,
        onPage: (records: T[], page: QueryPageInfo) => unknown
    ): Promise<void> {
        let pages = 0;
        let rows = 0;
        this.queries++;
        await this.inner.queryPages<T>(soql, (records, page) => {
            pages++;
            rows += records.length;
            return onPage(records, page);
        });
        this.restPages += pages;
        this.restRows += rows;
        this.restFloor += Math.max(1, Math.ceil(rows / 2000));
        this.log.push(`query ${pages} pages ${rows} rows: ${soql.slice(0, 60)}`);
    }
    async bulkQuery(soql: string, onPage: (rows: BulkRow[]) => unknown) {
        const stats = await this.inner.bulkQuery(soql, onPage);
        this.bulkJobs++;
        this.bulkRows += stats.records;
        this.bulkCalls += stats.calls;
        this.bulkSets += stats.pages;
        this.log.push(
            `bulk query ${stats.calls} calls ${stats.pages} result sets ${stats.records} rows: ${soql.slice(0, 60)}`
        );
        return stats;
    }
    /**
     * Queries read together: one call per Composite request of up to COMPOSITE_QUERIES (a lone query is a
     * plain one), then one per further 2,000 rows of each query.
     */
    async queryTogether(requests: QueryRequest[]) {
        const outcomes = await this.inner.queryTogether(requests);
        const composites = Math.ceil(requests.length / COMPOSITE_QUERIES);
        this.queries += requests.length;
        this.restFloor += composites;
        // The REST calls: the composite requests, and a queryMore per further page of 2,000 rows.
        this.restPages += composites;
        outcomes.forEach((outcome, index) => {
            const rows = outcome.status === 'fulfilled' ? outcome.value.length : 0;
            this.restRows += rows;
            this.restFloor += Math.max(0, Math.ceil(rows / 2000) - 1);
            this.restPages += Math.max(0, Math.ceil(rows / 2000) - 1);
            this.log.push(`together ${rows} rows: ${requests[index].soql.slice(0, 60)}`);
        });
        return outcomes;
    }
    async queryAll<T extends object = SObjectRecord>(soql: string): Promise<T[]> {
        this.queries++;
        const rows = await this.inner.queryAll!<T>(soql);
        this.restRows += rows.length;
        this.restFloor += Math.max(1, Math.ceil(rows.length / 2000));
        this.log.push(`queryAll ${rows.length} rows: ${soql.slice(0, 60)}`);
        return rows;
    }
    async create(sobject: string, records: SObjectRecord[]) {
        this.recordsWritten += records.length;
        this.log.push(`create ${sobject} ${records.length}`);
        return this.inner.create(sobject, records);
    }
    async update(records: SObjectRecord[], options?: { retry?: boolean }) {
        this.recordsWritten += records.length;
        this.log.push(`update ${records.length}`);
        return this.inner.update(records, options);
    }
    async upsert(sobject: string, field: string, records: SObjectRecord[]) {
        this.recordsWritten += records.length;
        this.log.push(`upsert ${sobject} ${records.length}`);
        return this.inner.upsert(sobject, field, records);
    }
}

async function main(): Promise<void> {
    const [orgPeerHandle, smtpPeerHandle] = await Promise.all([
        Peer.start<OrgInfo>('org'),
        Peer.start<{ smtpPort: number }>('smtp')
    ]);
    const info = orgPeerHandle.info;
    console.log(
        `org: ${USERS} users, ${info.eligible} eligible for ${PRODUCT}; seeded in ${info.seedSeconds.toFixed(1)} s`
    );

    const outbox = mkdtempSync(join(tmpdir(), 'rollcall-bench-'));
    let counting!: CountingGateway;
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
            SMTP_PORT: String(smtpPeerHandle.info.smtpPort),
            SMTP_MAX_CONNECTIONS: '10',
            HEARTBEAT_SECONDS: '15',
            OUTBOX_DIR: outbox,
            // Run journals of this bench only (a bench killed midway leaves none behind in the repo's .data).
            DATA_DIR: join(outbox, 'data'),
            SCHEDULER: 'off',
            // BENCH_BULK_ABOVE forces a read path (0: Bulk API as soon as a query has more than one page).
            ...(process.env.BENCH_BULK_ABOVE ? { BULK_QUERY_ABOVE: process.env.BENCH_BULK_ABOVE } : {})
        },
        timers: false,
        initialSweep: false,
        wrapOrg: (org) => (counting = new CountingGateway(org)).gateway
    });

    // As deployed: the orchestrator waits for /readyz (sign-in, User describe, org time zone) before traffic.
    const beforeReady = service.org.apiCalls();
    const ready = await fetch(`${service.url}/readyz`);
    if (!ready.ok) throw new Error(`service not ready: ${ready.status}`);
    const readinessCalls = service.org.apiCalls() - beforeReady;
    const callsBefore = service.org.apiCalls();
    counting.reset();
    const [orgBefore, smtpBefore] = await Promise.all([orgPeerHandle.stats(), smtpPeerHandle.stats()]);
    const loadBefore = loadavg()[0];
    const cpuBefore = process.cpuUsage();
    // What the service keeps: heap in use just after each full collection (the rest of the heap is garbage).
    let peakLiveBytes = 0;
    const collections = new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) {
            if (
                ((entry as { detail?: unknown }).detail as { kind?: number } | undefined)?.kind ===
                perfConstants.NODE_PERFORMANCE_GC_MAJOR
            )
                peakLiveBytes = Math.max(peakLiveBytes, process.memoryUsage().heapUsed);
        }
    });
    collections.observe({ entryTypes: ['gc'] });
    const started = process.hrtime.bigint();
    const { runId } = await service.provisioning.scheduled();
    await service.provisioning.waitForRun(runId);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    collections.disconnect();
    const cpu = process.cpuUsage(cpuBefore);
    const serviceCpuSeconds = (cpu.user + cpu.system) / 1e6;
    const loadAfter = loadavg()[0];
    const [orgAfter, smtpAfter] = await Promise.all([orgPeerHandle.stats(), smtpPeerHandle.stats()]);
    const apiCalls = service.org.apiCalls() - callsBefore;
    const { rowsRead, recordsWritten } = counting;
    // Per path: a REST query one call per 2,000 rows (at least one); a bulk job its create, one status
    // check, one call per result set of BULK_RESULT_SET_RECORDS and its delete.
    const readFloor =
        counting.restFloor + counting.bulkJobs * 3 + Math.ceil(counting.bulkRows / BULK_RESULT_SET_RECORDS);
    const run = await service.provisioning.getRun(runId);
    const snapshot = JSON.parse((await new OrgStore(service.org).runSnapshot(runId)) ?? '{}') as {
        invalid?: { name: string; reasons: string[] }[];
    };
    for (const set of snapshot.invalid ?? [])
        console.log(`invalid set ${set.name}: ${set.reasons.join(' ')}`);
    await service.stop();
    await Promise.all([orgPeerHandle.stop(), smtpPeerHandle.stop()]);
    rmSync(outbox, { recursive: true, force: true });

    const apiCallFloor = readFloor + Math.ceil(recordsWritten / 200);
    const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
    const peakLiveHeapMb = Math.round(peakLiveBytes / 1_048_576);
    const heapBudgetMb = heapLimitMb();
    const orgCpuSeconds = orgAfter.cpuSeconds - orgBefore.cpuSeconds;
    const smtpCpuSeconds = smtpAfter.cpuSeconds - smtpBefore.cpuSeconds;
    const msPerInvite = run.counts.invited > 0 ? (seconds * 1000) / run.counts.invited : 0;
    console.log(
        `run ${runId}: ${run.status}; ${run.counts.evaluated} evaluated, ${run.counts.eligible} eligible, ` +
            `${run.counts.invited} invited, ${run.counts.failed} failed in ${seconds.toFixed(2)} s ` +
            `(${msPerInvite.toFixed(3)} ms per invitation); SMTP sink received ${smtpAfter.received - smtpBefore.received}`
    );
    console.log(
        `CPU seconds during the run: service ${serviceCpuSeconds.toFixed(2)}, local org ${orgCpuSeconds.toFixed(2)}, ` +
            `SMTP sink ${smtpCpuSeconds.toFixed(2)}; peak RSS: service ${peakRssMb} MB (heap limit ${heapBudgetMb} MB, ` +
            `live after full collections at most ${peakLiveHeapMb} MB), local org ${orgAfter.maxRssMb} MB; ` +
            `machine load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after (${cpus().length} CPUs)`
    );
    console.log(
        `Reads: REST ${counting.restPages} calls for ${counting.restRows} rows in ${counting.queries} queries; ` +
            `Bulk API 2.0 ${counting.bulkCalls} calls for ${counting.bulkRows} rows in ${counting.bulkJobs} jobs ` +
            `(${counting.bulkSets} result sets)`
    );
    console.log(
        `Salesforce: ${apiCalls} API calls (floor ${apiCallFloor}: ${rowsRead} rows read, ` +
            `${recordsWritten} records written); ${((apiCalls / apiCallFloor - 1) * 100).toFixed(1)}% over the floor; ` +
            `readiness before it: ${readinessCalls} calls (User describe, org time zone)`
    );
    if (process.env.BENCH_VERBOSE) console.log(counting.log.join('\n'));
    if (run.status !== 'Completed') throw new Error(`run ended ${run.status}`);
    console.log(
        JSON.stringify({
            bench: 'sync',
            users: USERS,
            eligible: run.counts.eligible,
            seconds: Number(seconds.toFixed(2)),
            msPerInvite: Number(msPerInvite.toFixed(3)),
            apiCalls,
            apiCallFloor,
            restReadCalls: counting.restPages,
            restRows: counting.restRows,
            bulkReadCalls: counting.bulkCalls,
            bulkRows: counting.bulkRows,
            invitesPerSec: Math.round(run.counts.invited / seconds),
            serviceCpuSeconds: Number(serviceCpuSeconds.toFixed(2)),
            orgCpuSeconds: Number(orgCpuSeconds.toFixed(2)),
            smtpCpuSeconds: Number(smtpCpuSeconds.toFixed(2)),
            peakRssMb,
            peakLiveHeapMb,
            heapLimitMb: heapBudgetMb,
            orgPeakRssMb: orgAfter.maxRssMb,
            orgSeedSeconds: Number(info.seedSeconds.toFixed(1))
        })
    );
}

const role = process.argv.find((arg) => arg.startsWith('--peer='))?.slice('--peer='.length);
const entry = role === 'org' ? orgPeer : role === 'smtp' ? smtpPeer : main;
entry().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
});
