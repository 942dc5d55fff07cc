/**
 * The local org: a Salesforce REST API emulator on localhost that jsforce talks to exactly as to a
 * real org (see docs/local-org.md). `startLocalOrg()` seeds or loads the demo org and serves it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { X509Certificate, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generate } from 'selfsigned';
import { loadSchema } from './schema';
import { Store, readLegacyState, LEGACY_STATE_FILE, type QueryRefusal } from './store';
import { DataFolder } from './persistence';
import { generateUsers, seedRecords, ORG_TIME_ZONE, type DemoIds } from './demo';
import { createApp, type Faults, type Runtime, type Session } from './server';

export interface LocalOrgOptions {
    /** 0 = a free port (default). */
    port?: number;
    /** Persistence folder; default: a fresh temporary folder. */
    dataDir?: string;
    /** Demo org size (default 5000). */
    users?: number;
    /** Seed of the demo data (default 42). */
    seed?: number;
    /** Wipe dataDir and reseed. */
    reset?: boolean;
    sessionTtlSeconds?: number;
    dailyApiLimit?: number;
    clientId?: string;
    clientSecret?: string;
    log?: (line: string) => void;
}

/**
 * The org's clock: what the org stamps records with (CreatedDate, LastModifiedDate, SystemModstamp), what
 * SOQL date literals (TODAY, LAST_N_DAYS:n) count from and what the Date header says. Real time plus an
 * offset a test can move; sessions and JWT expiry keep to real time, so moving it never signs anyone out.
 */
export interface LocalOrgClock {
    now(): number;
    /** Moves the org's time forward (or back) by `ms`. */
    advance(ms: number): void;
    /** Sets the org's time to `ms` (it keeps running from there). */
    set(ms: number): void;
}

export interface LocalOrgFaults {
    expireAllSessions(): void;
    failNext(n: number, status?: 500 | 503): void;
    failFraction(p: number, status?: 500 | 503): void;
    latency(ms: number): void;
    dropNextConnections(n: number): void;
    /** Bulk API 2.0 query jobs take this long to complete: queued (UploadComplete) half, InProgress half. */
    bulkQueryDelay(ms: number): void;
    /**
     * Every query (REST, Composite or Bulk API) whose text contains `text` is refused with a 400, as a real org
     * refuses a query it will not run: `errorCode` (INVALID_FIELD by default) and `message` under the query
     * line and a caret, in Salesforce's format. For a refusal the local org's SOQL would not give by itself.
     */
    refuseQueriesContaining(text: string, refusal?: { errorCode?: string; message?: string }): void;
    clear(): void;
}

export interface LocalOrg {
    url: string;
    clientId: string;
    clientSecret: string;
    jwt: { consumerKey: string; privateKeyPem: string; username: string };
    apiUsage(): { used: number; limit: number };
    resetApiCounter(): void;
    faults: LocalOrgFaults;
    clock: LocalOrgClock;
    ids: { integrationUserId: string; adminUserIds: string[]; orgId: string };
    reset(): Promise<void>;
    stop(): Promise<void>;
}

const PERSIST_COALESCE_MS = 200;

export const DEFAULT_CLIENT_ID = 'rollcall-local-dev-client';
export const DEFAULT_CLIENT_SECRET = 'rollcall-local-dev-secret';
/** Users the demo org seeds when LOCAL_ORG_USERS is not set. */
export const DEMO_USERS = 5000;

const REPO_ROOT = resolve(__dirname, '../../..');
const FORCE_APP = join(REPO_ROOT, 'force-app', 'main', 'default');
const SCHEMA_DIR = join(__dirname, 'schema');

interface ConnectedApp {
    consumerKey: string;
    privateKeyPem: string;
    certificatePem: string;
}

function writeFileAtomically(file: string, content: string): void {
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, content);
    renameSync(temp, file);
}

/** The integration user's connected app: key pair and self-signed certificate, kept in the data folder. */
async function connectedApp(dataDir: string): Promise<ConnectedApp> {
    const file = join(dataDir, 'connected-app.json');
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as ConnectedApp;
    const pems = await generate([{ name: 'commonName', value: 'rollcall-integration' }], {
        keySize: 2048,
        notAfterDate: new Date(Date.now() + 10 * 365 * 86_400_000),
        algorithm: 'sha256'
    });
    const app: ConnectedApp = {
        consumerKey: `3MVG9${randomBytes(32).toString('base64url').replace(/[-_]/g, 'x')}`,
        privateKeyPem: pems.private,
        certificatePem: pems.cert
    };
    writeFileAtomically(file, JSON.stringify(app, null, 2));
    return app;
}

export async function startLocalOrg(opts: LocalOrgOptions = {}): Promise<LocalOrg> {
    const log = opts.log ?? (() => undefined);
    const dataDir = opts.dataDir ? resolve(opts.dataDir) : mkdtempSync(join(tmpdir(), 'rollcall-local-org-'));
    if (opts.reset && existsSync(dataDir)) {
        rmSync(dataDir, { recursive: true, force: true });
    }
    mkdirSync(dataDir, { recursive: true });

    const schema = loadSchema(FORCE_APP, SCHEMA_DIR);
    const app = await connectedApp(dataDir);

    let offset = 0;
    const clock: LocalOrgClock = {
        now: () => Date.now() + offset,
        advance: (ms) => {
            offset += ms;
        },
        set: (ms) => {
            offset = ms - Date.now();
        }
    };
    let store!: Store;
    // The refusal fault switch outlives a reset, like the other switches.
    const queryRefusals: QueryRefusal[] = [];
    let ids!: DemoIds;
    let meta!: { seed: number; users: number; seededAt: number };

    const folder = new DataFolder(dataDir);
    const seed = (fresh: boolean): void => {
        if (fresh) folder.clear();
        const legacy = fresh || folder.exists() ? undefined : readLegacyState(dataDir);
        const stored = fresh ? undefined : (folder.meta() ?? legacy);
        const wanted = {
            seed: opts.seed ?? stored?.seed ?? 42,
            users: opts.users ?? stored?.users ?? DEMO_USERS
        };
        const reuse = stored && stored.seed === wanted.seed && stored.users === wanted.users;
        if (stored && !reuse)
            log(`local org: ${dataDir} holds another demo org (seed/users changed); reseeding`);
        meta = { ...wanted, seededAt: reuse ? stored.seededAt : clock.now() };
        store = new Store(schema);
        store.queryRefusals = queryRefusals;
        ids = generateUsers(store, meta);
        if (reuse && !legacy) {
            store.clearForLoad();
            const loaded = folder.load((object, id, row) => store.loadStored(object, id, row));
            if (loaded) store.counters = loaded.counters;
            if (loaded?.tornTail)
                log(`local org: ${folder.logFile}: a torn last line (a crash mid-write) was ignored`);
        } else {
            if (reuse && legacy) store.restore(legacy);
            else seedRecords(store, ids, meta);
            folder.writeSnapshot(meta, store.counters, store.storedRows());
            rmSync(join(dataDir, LEGACY_STATE_FILE), { force: true });
        }
        // Everything so far is in the snapshot or came from it.
        store.takeChanges();
    };
    const started = Date.now();
    seed(false);
    log(
        `local org: ${store.table('User').rows.size} users ready in ${Date.now() - started} ms (data: ${dataDir})`
    );

    const faults: Faults = {
        failNext: 0,
        failNextStatus: 503,
        failFraction: 0,
        failFractionStatus: 503,
        latencyMs: 0,
        dropNext: 0,
        bulkDelayMs: 0
    };
    const sessions = new Map<string, Session>();
    const api = { used: 0, limit: opts.dailyApiLimit ?? 100_000, day: new Date().toISOString().slice(0, 10) };
    let url = '';
    const clientId = opts.clientId ?? DEFAULT_CLIENT_ID;
    const clientSecret = opts.clientSecret ?? DEFAULT_CLIENT_SECRET;

    let stopped = false;
    // Writes are coalesced: at most one log append per PERSIST_COALESCE_MS, and stop() flushes. An
    // append holds only the records changed since the last one; the log is compacted into a new
    // snapshot once it has outgrown the last one.
    let flushTimer: NodeJS.Timeout | undefined;
    const flush = (): void => {
        if (flushTimer) clearTimeout(flushTimer);
        flushTimer = undefined;
        try {
            folder.append(store.takeChanges(), store.counters);
            if (folder.shouldCompact()) folder.writeSnapshot(meta, store.counters, store.storedRows());
        } catch (e) {
            log(`local org: could not save ${dataDir}: ${e instanceof Error ? e.message : String(e)}`);
        }
    };

    const runtime: Runtime = {
        url: () => url,
        get store() {
            return store;
        },
        get orgId() {
            return ids.orgId;
        },
        get integrationUserId() {
            return ids.integrationUserId;
        },
        get integrationUsername() {
            return ids.integrationUsername;
        },
        clientId,
        clientSecret,
        consumerKey: app.consumerKey,
        certificate: new X509Certificate(app.certificatePem),
        sessionTtlMs: (opts.sessionTtlSeconds ?? 7200) * 1000,
        sessions,
        faults,
        api,
        timeZone: () => {
            const org = store.table('Organization').rows.values().next().value;
            return typeof org?.TimeZoneSidKey === 'string' ? org.TimeZoneSidKey : ORG_TIME_ZONE;
        },
        now: () => clock.now(),
        persist: () => {
            if (!stopped) flushTimer ??= setTimeout(flush, PERSIST_COALESCE_MS);
        },
        log
    };

    // Node refuses heads over its own limit (16 KiB by default, counted its own way) with 431 before the
    // app sees them; the app applies Salesforce's limit itself (server.ts), so Node's is set well above.
    const server: Server = createServer({ maxHeaderSize: 64 * 1024 }, createApp(runtime));
    await new Promise<void>((ok, fail) => {
        server.once('error', fail);
        server.listen(opts.port ?? 0, '127.0.0.1', () => ok());
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    return {
        url,
        clientId,
        clientSecret,
        jwt: {
            consumerKey: app.consumerKey,
            privateKeyPem: app.privateKeyPem,
            username: ids.integrationUsername
        },
        apiUsage: () => ({ used: api.used, limit: api.limit }),
        resetApiCounter: () => {
            api.used = 0;
        },
        clock,
        faults: {
            expireAllSessions: () => sessions.clear(),
            failNext: (n, status = 503) => {
                faults.failNext = n;
                faults.failNextStatus = status;
            },
            failFraction: (p, status = 503) => {
                faults.failFraction = p;
                faults.failFractionStatus = status;
            },
            latency: (ms) => {
                faults.latencyMs = ms;
            },
            dropNextConnections: (n) => {
                faults.dropNext = n;
            },
            bulkQueryDelay: (ms) => {
                faults.bulkDelayMs = ms;
            },
            refuseQueriesContaining: (text, refusal = {}) => {
                queryRefusals.push({
                    text,
                    errorCode: refusal.errorCode ?? 'INVALID_FIELD',
                    message:
                        refusal.message ?? `the local org refuses queries containing ${JSON.stringify(text)}`
                });
            },
            clear: () => {
                queryRefusals.length = 0;
                Object.assign(faults, {
                    failNext: 0,
                    failFraction: 0,
                    latencyMs: 0,
                    dropNext: 0,
                    bulkDelayMs: 0
                });
            }
        },
        get ids() {
            return {
                integrationUserId: ids.integrationUserId,
                adminUserIds: [...ids.adminUserIds],
                orgId: ids.orgId
            };
        },
        reset: async () => {
            if (flushTimer) clearTimeout(flushTimer);
            flushTimer = undefined;
            seed(true);
        },
        stop: async () => {
            if (stopped) return;
            stopped = true;
            await new Promise<void>((ok) => {
                server.close(() => ok());
                server.closeAllConnections();
            });
            if (flushTimer || store.hasChanges()) flush();
            folder.close();
            // A data folder the org made for itself (no dataDir given) goes with it.
            if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
        }
    };
}
