/**
 * `npm run bench -- sync`: a scheduled sync (evaluate + invite in one go) over 50,000 users of which
 * about 5,000 are eligible, on the local org with a local SMTP sink. The org and the sink run in a child
 * process so the figures (peak memory especially) are the service's own.
 *
 * API call floor: one query call per 2,000 rows read plus one write call per 200 records written, over
 * everything the run reads and writes. Last stdout line:
 * {"bench":"sync","users":…,"eligible":…,"seconds":…,"apiCalls":…,"apiCallFloor":…,"invitesPerSec":…,"peakRssMb":…}
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SMTPServer } from 'smtp-server';
import { OrgStore } from '../service/src/domain/org-store';
import { orgStore } from '../test/service/support/stack';
import { startLocalOrg } from '../service/src/local-org';
import { start } from '../service/src/main';
import type { OrgGateway, SObjectRecord } from '../service/src/ports';

const USERS = Number(process.env.BENCH_USERS ?? 50_000);
const TARGET_ELIGIBLE = Number(process.env.BENCH_ELIGIBLE ?? 5_000);
const PRODUCT = 'Meeting Links';
const ELIGIBLE_STATUSES = ['Not Invited', 'Expired', 'Revoked'];

interface PeersInfo {
    orgUrl: string;
    consumerKey: string;
    username: string;
    privateKeyPem: string;
    smtpPort: number;
    eligible: number;
}

/** Child process: the local org (50k users) with one set selecting ~5k eligible users, and an SMTP sink. */
async function peers(): Promise<void> {
    const dataDir = mkdtempSync(join(tmpdir(), 'rollcall-bench-org-'));
    const org = await startLocalOrg({ users: USERS, seed: 2024, dataDir, reset: true });
    const store = orgStore(org);
    const active = await store.org.query<{ Id: string }>(
        'SELECT Id FROM Condition_Set__c WHERE Active__c = true'
    );
    await store.update(
        active.map((set) => ({ attributes: { type: 'Condition_Set__c' }, Id: set.Id, Active__c: false }))
    );
    // Scheduled runs are refused while the schedule is off (as the demo org ships).
    const [settings] = await store.org.query<{ Id: string }>('SELECT Id FROM Rollcall_Settings__c LIMIT 1');
    await store.update([
        { attributes: { type: 'Rollcall_Settings__c' }, Id: settings.Id, Schedule_Enabled__c: true }
    ]);
    // Choose a CreatedDate cut-off so that about TARGET_ELIGIBLE active users are eligible.
    const users = await store.org.query<{ Id: string; CreatedDate: string }>(
        'SELECT Id, CreatedDate FROM User WHERE IsActive = true'
    );
    const blocked = new Set(
        (await store.authorizations('all', [PRODUCT]))
            .filter((a) => !ELIGIBLE_STATUSES.includes(String(a.Status__c)))
            .map((a) => a.User__c)
    );
    const eligibleDates = users
        .filter((u) => !blocked.has(u.Id))
        .map((u) => Date.parse(u.CreatedDate.replace(/\+0000$/, 'Z')))
        .sort((a, b) => b - a);
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
    org.resetApiCounter();

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
    const info: PeersInfo = {
        orgUrl: org.url,
        consumerKey: org.jwt.consumerKey,
        username: org.jwt.username,
        privateKeyPem: org.jwt.privateKeyPem,
        smtpPort: (smtp.server.address() as { port: number }).port,
        eligible
    };
    process.stdout.write(`${JSON.stringify(info)}\n`);
    process.stdin.resume();
    process.stdin.on('end', () => {
        process.stderr.write(
            `bench peers: SMTP received ${received} messages, org API usage ${org.apiUsage().used}\n`
        );
        smtp.close(() => undefined);
        void org.stop().then(() => {
            rmSync(dataDir, { recursive: true, force: true });
            process.exit(0);
        });
    });
}

/** Counts rows read and records written, to compute the API call floor. */
class CountingGateway implements OrgGateway {
    queries = 0;
    rowsRead = 0;
    recordsWritten = 0;
    constructor(private readonly inner: OrgGateway) {}
    log: string[] = [];
    async query<T extends object = SObjectRecord>(soql: string): Promise<T[]> {
        const before = this.inner.apiCalls();
        const rows = await this.inner.query<T>(soql);
        this.log.push(
            `query ${this.inner.apiCalls() - before} calls ${rows.length} rows: ${soql.slice(0, 60)}`
        );
        this.queries++;
        this.rowsRead += rows.length;
        return rows;
    }
    describe(sobject: string) {
        return this.inner.describe(sobject);
    }
    async create(sobject: string, records: SObjectRecord[]) {
        this.recordsWritten += records.length;
        this.log.push(`create ${sobject} ${records.length}`);
        return this.inner.create(sobject, records);
    }
    async update(records: SObjectRecord[]) {
        this.recordsWritten += records.length;
        this.log.push(`update ${records.length}`);
        return this.inner.update(records);
    }
    async upsert(sobject: string, field: string, records: SObjectRecord[]) {
        this.recordsWritten += records.length;
        this.log.push(`upsert ${sobject} ${records.length}`);
        return this.inner.upsert(sobject, field, records);
    }
    apiCalls() {
        return this.inner.apiCalls();
    }
    instanceUrl() {
        return this.inner.instanceUrl();
    }
    close() {
        return this.inner.close();
    }
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
    console.log(`org: ${USERS} users, ${info.eligible} eligible for ${PRODUCT}`);

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
            SMTP_PORT: String(info.smtpPort),
            SMTP_MAX_CONNECTIONS: '10',
            HEARTBEAT_SECONDS: '15',
            OUTBOX_DIR: outbox,
            SCHEDULER: 'off'
        },
        timers: false,
        initialSweep: false,
        wrapOrg: (org) => (counting = new CountingGateway(org))
    });

    // As deployed: the orchestrator waits for /readyz (sign-in, User describe, org time zone) before traffic.
    const beforeReady = service.org.apiCalls();
    const ready = await fetch(`${service.url}/readyz`);
    if (!ready.ok) throw new Error(`service not ready: ${ready.status}`);
    const readinessCalls = service.org.apiCalls() - beforeReady;
    const callsBefore = service.org.apiCalls();
    const started = process.hrtime.bigint();
    const { runId } = await service.provisioning.scheduled();
    await service.provisioning.waitForRun(runId);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const apiCalls = service.org.apiCalls() - callsBefore;
    const rowsRead = counting.rowsRead;
    const recordsWritten = counting.recordsWritten;
    const run = await service.provisioning.getRun(runId);
    const snapshot = JSON.parse((await new OrgStore(service.org).runSnapshot(runId)) ?? '{}') as {
        invalid?: { name: string; reasons: string[] }[];
    };
    for (const set of snapshot.invalid ?? [])
        console.log(`invalid set ${set.name}: ${set.reasons.join(' ')}`);
    await service.stop();
    child.stdin!.end();
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(outbox, { recursive: true, force: true });

    const apiCallFloor = Math.ceil(rowsRead / 2000) + Math.ceil(recordsWritten / 200);
    const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
    console.log(
        `run ${runId}: ${run.status}; ${run.counts.evaluated} evaluated, ${run.counts.eligible} eligible, ` +
            `${run.counts.invited} invited, ${run.counts.failed} failed in ${seconds.toFixed(2)} s`
    );
    console.log(
        `Salesforce: ${apiCalls} API calls (floor ${apiCallFloor}: ${rowsRead} rows read in ${counting.queries} queries, ` +
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
            apiCalls,
            apiCallFloor,
            invitesPerSec: Math.round(run.counts.invited / seconds),
            peakRssMb
        })
    );
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
