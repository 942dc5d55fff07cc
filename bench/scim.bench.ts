/**
 * `npm run bench -- scim`: provisioning accounts and group memberships into a SCIM 2.0 app through the
 * product's own path (DESIGN §10). A local org whose newest BENCH_SCIM_USERS (10,000) active users match one
 * set granting a connection with BENCH_SCIM_GROUPS (3) groups and a role; the connection's app is an empty
 * local SCIM app reached through CONNECTIONS_FILE and the SCIM adapter, as `npm start` wires it. The service
 * previews, then executes the preview (as Provision Users does); then the same population again.
 *
 * The floor (the fewest SCIM requests any client could send for the same result, given what the app
 * advertises in /ServiceProviderConfig):
 * - reads: /ServiceProviderConfig and /ResourceTypes once (the adapter keeps them); the preview reads the
 *   app's users page by page (ceil(accounts / maxResults), at least 1) and its groups (1 page: fewer groups
 *   than maxResults); the execution resolves group names once (1);
 * - creates: one POST /Users per account (SCIM has no bulk-free way to make N accounts in fewer without
 *   /Bulk, and a create through /Bulk is still one operation per account: counting one request per create
 *   is the floor this product keeps, creates being sent one by one so that each lost answer is resolved
 *   alone);
 * - memberships: per group, ceil(members / 100) PATCH operations of 100 members (the adapter's chunk),
 *   packed into as few /Bulk requests as maxOperations and maxPayloadSize allow (each group's changes
 *   are one port call, so at least one request per group);
 * - the unchanged second run: the preview's reads only (user pages ceil(accounts / maxResults), groups 1),
 *   0 writes.
 * Requests must be within 10% of it. Figures also: creates per second over the execution, peak RSS of the
 * service (this process; the local org and the local SCIM app run in child processes of their own, as in
 * the sync bench, and report theirs apart), and the app's writes on the second run (must be 0).
 *
 * Last stdout line: {"bench":"scim","users":…,"groups":…,"first":{…},"second":{…},"peakRssMb":…}
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { createScimDirectory } from '../service/src/adapters/scim';
import { startLocalOrg } from '../service/src/local-org';
import { startLocalScimApp } from '../service/src/local-scim';
import { start, type RunningService } from '../service/src/main';
import { deactivateAllSets, orgStore } from '../test/service/support/stack';

const USERS = Number(process.env.BENCH_SCIM_USERS ?? 10_000);
const GROUP_COUNT = Number(process.env.BENCH_SCIM_GROUPS ?? 3);
const GROUPS = ['Sales', 'Engineering', 'Support', 'Managers', 'EMEA', 'APAC'].slice(0, GROUP_COUNT);
const MEMBERS_PER_PATCH = 100;
const KEY = 'bench-scim';
const TOKEN = 'bench-scim-token-0123456789abcdefghijkl';

/** Requests the service's adapter sent, by method and endpoint (reset per run). */
let byEndpoint: Record<string, number> = {};

function maxRssMb(): number {
    return Math.round(process.resourceUsage().maxRSS / 1024);
}

// ---- the peers (child processes): a line of info on stdout, then a JSON line per `stats` on stdin ----

function servePeer(info: object, stats: () => object, stop: () => Promise<void>): void {
    process.stdout.write(`${JSON.stringify(info)}\n`);
    const input = createInterface({ input: process.stdin });
    input.on('line', (line) => {
        if (line.trim() === 'stats') process.stdout.write(`${JSON.stringify(stats())}\n`);
    });
    input.on('close', () => void stop().then(() => process.exit(0)));
}

interface OrgInfo {
    orgUrl: string;
    consumerKey: string;
    username: string;
    privateKeyPem: string;
    admin: string;
    population: number;
    setupSeconds: number;
}

/** The local org: the newest USERS active users match one set granting the connection GROUPS and a role. */
async function orgPeer(): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'rollcall-bench-scim-org-'));
    const started = performance.now();
    // More users than the population: some of the seeded users are inactive.
    const org = await startLocalOrg({ users: Math.ceil(USERS * 1.3), seed: 19, dataDir: dir, reset: true });
    const store = orgStore(org);
    await deactivateAllSets(store);
    // A CreatedDate cut-off (SOQL datetimes have whole seconds, so a few more may share the last second:
    // the population is what the set matches).
    const dates: number[] = [];
    await store.org.queryPages<{ CreatedDate: string }>(
        'SELECT CreatedDate FROM User WHERE IsActive = true',
        (users) => {
            for (const u of users) dates.push(Date.parse(u.CreatedDate.replace(/\+0000$/, 'Z')));
        }
    );
    dates.sort((a, b) => b - a);
    const cutoff = Math.floor(dates[Math.min(USERS, dates.length) - 1] / 1000) * 1000;
    const population = dates.filter((d) => d >= cutoff).length;
    const [connection] = await store.org.create('Connection__c', [
        { Name: 'Bench app', Key__c: KEY, Active__c: true, Match_On__c: 'Username', Deprovisioning__c: 'Off' }
    ]);
    const [set] = await store.org.create('Condition_Set__c', [
        {
            Name: 'Bench: access for recent users',
            Active__c: true,
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
    await store.org.create('Access_Grant__c', [
        {
            Condition_Set__c: set.id,
            Connection__c: connection.id,
            Groups__c: GROUPS.join('\n'),
            Role__c: 'Member'
        }
    ]);
    await store.org.close();
    const info: OrgInfo = {
        orgUrl: org.url,
        consumerKey: org.jwt.consumerKey,
        username: org.jwt.username,
        privateKeyPem: org.jwt.privateKeyPem,
        admin: org.ids.adminUserIds[0],
        population,
        setupSeconds: (performance.now() - started) / 1000
    };
    servePeer(
        info,
        () => ({ maxRssMb: maxRssMb() }),
        async () => {
            await org.stop();
            rmSync(dir, { recursive: true, force: true });
        }
    );
}

interface ScimStats {
    maxRssMb: number;
    requests: number;
    byMethod: Record<string, number>;
    writes: number;
    users: number;
    memberships: number;
    idLength: number;
}

/** The local SCIM app, empty but for GROUPS. */
async function scimPeer(): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'rollcall-bench-scim-app-'));
    const app = await startLocalScimApp({ token: TOKEN, seedGroups: GROUPS, dataDir: dir });
    servePeer(
        { url: app.url },
        (): ScimStats => {
            const stats = app.stats();
            return {
                maxRssMb: maxRssMb(),
                requests: stats.requests,
                byMethod: stats.byMethod,
                writes: stats.writes,
                users: app.store.users.size,
                memberships: [...app.store.groups.values()].reduce(
                    (sum, group) => sum + ((group.members as unknown[] | undefined) ?? []).length,
                    0
                ),
                idLength: String(app.store.users.keys().next().value ?? '').length
            };
        },
        async () => {
            await app.stop();
            rmSync(dir, { recursive: true, force: true });
        }
    );
}

class Peer<Info> {
    private constructor(
        private readonly child: ChildProcess,
        private readonly lines: Interface,
        readonly info: Info
    ) {}

    static async start<Info>(role: 'org' | 'scim'): Promise<Peer<Info>> {
        const child = spawn(process.execPath, ['--import', 'tsx', __filename, `--peer=${role}`], {
            stdio: ['pipe', 'pipe', 'inherit']
        });
        const lines = createInterface({ input: child.stdout! });
        const info = await new Promise<Info>((resolve, reject) => {
            lines.once('line', (line) => resolve(JSON.parse(line) as Info));
            child.once('exit', (code) => reject(new Error(`bench ${role} process exited with ${code}`)));
        });
        return new Peer(child, lines, info);
    }

    stats<T>(): Promise<T> {
        return new Promise((resolve) => {
            this.lines.once('line', (line) => resolve(JSON.parse(line) as T));
            this.child.stdin!.write('stats\n');
        });
    }

    async stop(): Promise<void> {
        const exited = new Promise((resolve) => this.child.once('exit', resolve));
        this.child.stdin!.end();
        await exited;
    }
}

// ---- the parent: the service ----

interface Phase {
    seconds: number;
    /** The execution alone (the preview excluded). */
    executeSeconds: number;
    requests: number;
    byMethod: Record<string, number>;
    writes: number;
    floor: number;
    actions: number;
    endpoints: Record<string, number>;
}

interface Limits {
    bulk: { supported: boolean; maxOperations: number; maxPayloadSize: number };
    filter: { maxResults: number };
}

/** The membership floor: per group, its 100-member operations in as few /Bulk requests as the limits allow. */
function membershipFloor(members: number, idLength: number, bulk: Limits['bulk']): number {
    const operations = Math.ceil(members / MEMBERS_PER_PATCH);
    if (operations === 0) return 0;
    if (!bulk.supported) return operations;
    // A member is `{"value":"<id>"}` and a comma; an operation's envelope about 150 bytes.
    const bytes = members * (idLength + 13) + operations * 150;
    return Math.max(1, Math.ceil(operations / bulk.maxOperations), Math.ceil(bytes / bulk.maxPayloadSize));
}

async function run(service: RunningService, app: Peer<{ url: string }>, admin: string): Promise<Phase> {
    const before = await app.stats<ScimStats>();
    byEndpoint = {};
    const started = performance.now();
    const preview = await service.provisioning.preview({ initiatedBy: admin });
    const executing = performance.now();
    const { runId } = await service.provisioning.execute({ previewRunId: preview.runId, initiatedBy: admin });
    await service.provisioning.waitForRun(runId);
    const seconds = (performance.now() - started) / 1000;
    const executeSeconds = (performance.now() - executing) / 1000;
    const after = await app.stats<ScimStats>();
    const byMethod: Record<string, number> = {};
    for (const [method, n] of Object.entries(after.byMethod))
        byMethod[method] = n - (before.byMethod[method] ?? 0);
    const outcome = (preview.connections ?? []).find((connection) => connection.key === KEY);
    return {
        seconds,
        executeSeconds,
        requests: after.requests - before.requests,
        byMethod,
        writes: after.writes - before.writes,
        floor: 0,
        actions: Object.values(outcome?.planned ?? {}).reduce((sum, n) => sum + n, 0),
        endpoints: byEndpoint
    };
}

async function main(): Promise<void> {
    const [org, app] = await Promise.all([Peer.start<OrgInfo>('org'), Peer.start<{ url: string }>('scim')]);
    const dir = mkdtempSync(join(tmpdir(), 'rollcall-bench-scim-'));
    const connectionsFile = join(dir, 'connections.json');
    writeFileSync(connectionsFile, JSON.stringify({ [KEY]: { baseUrl: app.info.url, token: TOKEN } }));
    const service = await start({
        env: {
            NODE_ENV: 'test',
            LOG_LEVEL: 'silent',
            PORT: '0',
            DATA_DIR: join(dir, 'service'),
            OUTBOX_DIR: join(dir, 'outbox'),
            CONNECTIONS_FILE: connectionsFile,
            ROLLCALL_API_SECRET: 'bench-scim-api-secret-0123456789abcdefgh',
            AUTH_TOKEN_SECRET: 'bench-scim-token-secret-0123456789abcdefg',
            SF_LOGIN_URL: org.info.orgUrl,
            SF_JWT_AUDIENCE: org.info.orgUrl,
            SF_CLIENT_ID: org.info.consumerKey,
            SF_USERNAME: org.info.username,
            SF_PRIVATE_KEY: org.info.privateKeyPem
        },
        timers: false,
        initialSweep: false,
        // The SCIM adapter as npm start wires it; its fetch counts requests by endpoint for the report.
        createDirectory: (options) =>
            createScimDirectory({
                ...options,
                fetch: (input, init) => {
                    const path = new URL(String(input)).pathname
                        .replace(/^.*\/scim\/v2/, '')
                        .replace(/^\/(Users|Groups)\/[^/]+$/, '/$1/{id}');
                    const key = `${init?.method ?? 'GET'} ${path}`;
                    byEndpoint[key] = (byEndpoint[key] ?? 0) + 1;
                    return fetch(input, init);
                }
            })
    });
    const limits = (await (
        await fetch(`${app.info.url}/ServiceProviderConfig`, {
            headers: { Authorization: `Bearer ${TOKEN}` }
        })
    ).json()) as Limits;
    const admin = org.info.admin;
    const population = org.info.population;

    const first = await run(service, app, admin);
    const afterFirst = await app.stats<ScimStats>();
    const accounts = afterFirst.users;
    const userPages = (n: number) => Math.max(1, Math.ceil(n / limits.filter.maxResults));
    // Reads: discovery (2, kept by the adapter), the preview's user pages of an empty app and its groups
    // (1 + 1), the execution's group names (1). Writes: one create per account, memberships as membershipFloor.
    first.floor =
        2 +
        userPages(0) +
        1 +
        1 +
        accounts +
        GROUPS.length * membershipFloor(accounts, afterFirst.idLength, limits.bulk);
    const second = await run(service, app, admin);
    // The unchanged run: the preview's reads of the app (its users, its groups with their members); nothing sent.
    second.floor = userPages(accounts) + 1;
    const scimStats = await app.stats<ScimStats>();
    const orgStats = await org.stats<{ maxRssMb: number }>();
    const serviceRssMb = maxRssMb();

    await service.stop();
    await Promise.all([app.stop(), org.stop()]);
    rmSync(dir, { recursive: true, force: true });

    const over = (phase: Phase) => (phase.requests / phase.floor - 1) * 100;
    const within = (phase: Phase) => phase.requests <= phase.floor * 1.1;
    const methods = (phase: Phase) =>
        Object.entries(phase.byMethod)
            .map(([m, n]) => `${n} ${m}`)
            .join(', ');
    console.log(
        `Population: ${population} users matching one set granting ${GROUPS.length} groups and a role (org setup ${org.info.setupSeconds.toFixed(1)} s)`
    );
    console.log(
        `First run: ${first.actions} actions planned; ${accounts} accounts and ${scimStats.memberships} memberships in the app`
    );
    console.log(
        `  SCIM requests ${first.requests} (${methods(first)}) vs floor ${first.floor}: ${over(first).toFixed(1)}% over${within(first) ? '' : ' (MORE THAN 10%)'}`
    );
    console.log(
        `  ${first.seconds.toFixed(1)} s preview + execution; ${(accounts / first.executeSeconds).toFixed(0)} creates/s over the execution (${first.executeSeconds.toFixed(1)} s)`
    );
    console.log(
        `Second run (unchanged): ${second.actions} actions, ${second.writes} writes, SCIM requests ${second.requests} vs floor ${second.floor}, ${second.seconds.toFixed(1)} s`
    );
    console.log(
        `Peak RSS: service ${serviceRssMb} MB; local org ${orgStats.maxRssMb} MB and local SCIM app ${scimStats.maxRssMb} MB (their own processes)`
    );
    const figures = {
        bench: 'scim',
        users: population,
        groups: GROUPS.length,
        accounts,
        memberships: scimStats.memberships,
        first: {
            actions: first.actions,
            requests: first.requests,
            floor: first.floor,
            overFloorPercent: Number(over(first).toFixed(1)),
            byMethod: first.byMethod,
            endpoints: first.endpoints,
            writes: first.writes,
            seconds: Number(first.seconds.toFixed(2)),
            executeSeconds: Number(first.executeSeconds.toFixed(2)),
            createsPerSecond: Math.round(accounts / first.executeSeconds)
        },
        second: {
            actions: second.actions,
            requests: second.requests,
            floor: second.floor,
            writes: second.writes,
            endpoints: second.endpoints,
            seconds: Number(second.seconds.toFixed(2))
        },
        peakRssMb: serviceRssMb,
        orgPeakRssMb: orgStats.maxRssMb,
        scimAppPeakRssMb: scimStats.maxRssMb,
        withinTenPercent: within(first) && within(second),
        secondRunWrites: second.writes
    };
    console.log(JSON.stringify(figures));
    if (!figures.withinTenPercent || second.writes !== 0 || accounts !== population) process.exitCode = 1;
}

const role = process.argv.find((arg) => arg.startsWith('--peer='))?.slice('--peer='.length);
void (role === 'org' ? orgPeer() : role === 'scim' ? scimPeer() : main()).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
});
