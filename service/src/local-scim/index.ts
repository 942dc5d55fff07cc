/**
 * The local SCIM app: a SCIM 2.0 server (RFC 7643 / 7644) on localhost, persisted in a data folder,
 * with fault switches like the local org's (see docs/local-scim.md). `startLocalScimApp()` loads or
 * seeds it and serves it under `<url>` = `http://127.0.0.1:PORT/scim/v2`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { GROUP_SCHEMA } from './schemas';
import { ScimStore, STORE_FILE } from './store';
import { clearFaults, createScimApp, setFaultsFromJson, type FaultState, type Limits } from './server';

export { ScimStore } from './store';

export interface LocalScimOptions {
    /** 0 = a free port (default). */
    port?: number;
    /** Default 127.0.0.1. */
    host?: string;
    /** Persistence folder; default: a fresh temporary folder, removed on stop. */
    dataDir?: string;
    /** The bearer token clients must send. */
    token: string;
    /** Groups created when the data folder holds no store yet (default DEFAULT_SEED_GROUPS). */
    seedGroups?: string[];
    /** Wipe the data folder first. */
    reset?: boolean;
    /** ServiceProviderConfig limits (defaults: maxResults 200, bulk supported, 1,000 operations / 1 MiB). */
    limits?: Partial<Limits>;
    log?: (line: string) => void;
}

/** Fault switches, off by default; the same as POST /admin/faults. `method` limits a one-shot fault to one HTTP method. */
export interface LocalScimFaults {
    /** The next `n` requests answer 429 with `Retry-After: retryAfterSeconds`. */
    rateLimitNext(n: number, retryAfterSeconds?: number, method?: string): void;
    /** The next `n` requests answer `status` (503 by default). */
    failNext(n: number, status?: number, method?: string): void;
    /** A fraction `p` of requests answer `status` (503 by default). */
    failFraction(p: number, status?: number): void;
    /** Every request waits `ms` before it is handled. */
    latency(ms: number): void;
    /** The next `n` requests wait `ms` before they are handled (then are handled: a client that timed out may find its write done). */
    delayNext(n: number, ms: number, method?: string): void;
    /** The next `n` requests are handled (a write is applied) and the connection is destroyed before the answer. */
    dropNextAnswers(n: number, method?: string): void;
    clear(): void;
    state(): FaultState;
}

export interface LocalScimApp {
    /** The SCIM base URL: http://127.0.0.1:PORT/scim/v2 */
    url: string;
    /** The admin routes' base: http://127.0.0.1:PORT/admin */
    adminUrl: string;
    token: string;
    dataDir: string;
    faults: LocalScimFaults;
    store: ScimStore;
    /** Requests received under /scim/v2 (faulted ones included) and writes applied. */
    stats(): { requests: number; byMethod: Record<string, number>; writes: number };
    stop(): Promise<void>;
}

/** The token `npm run local-scim` accepts unless LOCAL_SCIM_TOKEN says otherwise (a local dev value, not a secret). */
export const LOCAL_SCIM_DEV_TOKEN = 'rollcall-local-scim-dev-token';
export const DEFAULT_SEED_GROUPS = ['Sales', 'Engineering', 'Customer Success', 'Support', 'Admins'];
/** Writes are saved at most once per this many ms (and on stop)… */
const PERSIST_COALESCE_MS = 250;
/** …or five times the last save's duration, so that saving a large store takes at most a sixth of the time. */
const PERSIST_COST_FACTOR = 5;

export async function startLocalScimApp(options: LocalScimOptions): Promise<LocalScimApp> {
    if (!options.token) throw new Error('startLocalScimApp: a token is required');
    const log = options.log ?? (() => undefined);
    const dataDir = options.dataDir
        ? resolve(options.dataDir)
        : mkdtempSync(join(tmpdir(), 'rollcall-local-scim-'));
    if (options.reset) rmSync(join(dataDir, STORE_FILE), { force: true });
    mkdirSync(dataDir, { recursive: true });
    // Temp files of a save cut short by a crash.
    for (const f of readdirSync(dataDir))
        if (f.startsWith(`${STORE_FILE}.`) && f.endsWith('.tmp')) rmSync(join(dataDir, f));

    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let lastSaveMs = 0;
    const flush = (): void => {
        if (timer) clearTimeout(timer);
        timer = undefined;
        try {
            const started = performance.now();
            store.save();
            lastSaveMs = performance.now() - started;
        } catch (e) {
            log(`local SCIM app: could not save ${dataDir}: ${e instanceof Error ? e.message : String(e)}`);
        }
    };
    const store: ScimStore = new ScimStore(dataDir, () => {
        if (!stopped)
            timer ??= setTimeout(flush, Math.max(PERSIST_COALESCE_MS, lastSaveMs * PERSIST_COST_FACTOR));
    });
    if (!store.load()) {
        for (const name of options.seedGroups ?? DEFAULT_SEED_GROUPS)
            store.create('Group', { schemas: [GROUP_SCHEMA], displayName: name }, new Date());
        flush();
    }
    store.writes = 0;

    const faults: FaultState = { oneShot: [], failFraction: 0, failFractionStatus: 503, latencyMs: 0 };
    const requests = { total: 0, byMethod: {} as Record<string, number> };
    let base = '';
    const app = createScimApp({
        store,
        base: () => base,
        token: options.token,
        faults,
        limits: {
            maxResults: options.limits?.maxResults ?? 200,
            bulk: options.limits?.bulk ?? true,
            bulkMaxOperations: options.limits?.bulkMaxOperations ?? 1000,
            bulkMaxPayloadSize: options.limits?.bulkMaxPayloadSize ?? 1_048_576
        },
        requests,
        log
    });
    const server: Server = createServer(app);
    const host = options.host ?? '127.0.0.1';
    await new Promise<void>((ok, fail) => {
        server.once('error', fail);
        server.listen(options.port ?? 0, host, () => ok());
    });
    const origin = `http://${host.includes(':') ? `[${host}]` : host}:${(server.address() as AddressInfo).port}`;
    base = `${origin}/scim/v2`;
    log(`local SCIM app: ${store.users.size} users, ${store.groups.size} groups (data: ${dataDir})`);

    const oneShot = (kind: 'status' | 'rateLimit' | 'drop' | 'delay', body: Record<string, unknown>) =>
        setFaultsFromJson(faults, {
            [kind === 'status'
                ? 'failNext'
                : kind === 'rateLimit'
                  ? 'rateLimitNext'
                  : kind === 'drop'
                    ? 'dropNextAnswers'
                    : 'delayNext']: body
        });

    return {
        url: base,
        adminUrl: `${origin}/admin`,
        token: options.token,
        dataDir,
        store,
        faults: {
            rateLimitNext: (n, retryAfterSeconds = 1, method) =>
                oneShot('rateLimit', { count: n, retryAfterSeconds, method }),
            failNext: (n, status = 503, method) => oneShot('status', { count: n, status, method }),
            failFraction: (p, status = 503) => setFaultsFromJson(faults, { failFraction: { p, status } }),
            latency: (ms) => setFaultsFromJson(faults, { latencyMs: ms }),
            delayNext: (n, ms, method) => oneShot('delay', { count: n, ms, method }),
            dropNextAnswers: (n, method) => oneShot('drop', { count: n, method }),
            clear: () => clearFaults(faults),
            state: () => structuredClone(faults)
        },
        stats: () => ({ requests: requests.total, byMethod: { ...requests.byMethod }, writes: store.writes }),
        stop: async () => {
            if (stopped) return;
            stopped = true;
            await new Promise<void>((ok) => {
                server.close(() => ok());
                server.closeAllConnections();
            });
            flush();
            if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
        }
    };
}
