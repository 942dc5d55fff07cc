/**
 * The AppDirectory port over SCIM 2.0 (RFC 7644), with Node's global fetch. JSON as
 * application/scim+json; users found by `filter=userName eq "…"`; attribute and membership changes
 * as PatchOp; lists read page by page (startIndex/count); membership changes sent through /Bulk when
 * the app's ServiceProviderConfig offers it and they take more than one PATCH.
 *
 * Retries, inside bounds: 429 (after Retry-After, capped), 500/502/503/504 and timeouts or lost
 * connections (jittered exponential backoff). Every retried write is idempotent on the app: a create
 * whose answer was lost comes back as 409 uniqueness and is resolved by a search (existed: true); adding
 * a member twice is no change (RFC 7644 §3.5.2.1); a removal of a member already gone (400 noTarget) is
 * resolved by reading the group. At most `maxConcurrency` requests are in flight per connection.
 *
 * The token is sent in the Authorization header only and never appears in an error message.
 */
import { redact, registerSecret } from '../errors';
import {
    AppDirectoryError,
    type AppCapabilities,
    type AppDirectory,
    type AppDirectoryStats,
    type AppErrorKind,
    type AppGroup,
    type AppUser,
    type PatchOperation
} from '../connections/app-directory';

export interface ScimDirectoryOptions {
    /** The app's SCIM base, e.g. https://app.example.com/scim/v2 */
    baseUrl: string;
    token: string;
    /** One request, answer body included (default 15,000 ms). */
    timeoutMs?: number;
    /** Retries after the first attempt (default 4). */
    retryAttempts?: number;
    /** First backoff (default 250 ms), doubled per retry, jittered, capped at 10 s. */
    retryBaseMs?: number;
    /** Requests in flight at once on this connection (default 4). */
    maxConcurrency?: number;
    fetch?: typeof fetch;
    /** Members per PATCH operation / per request when adding or removing (default 100). */
    membersPerPatch?: number;
    /** The longest Retry-After honoured (default 30,000 ms); a longer one is waited this long. */
    maxRetryAfterMs?: number;
}

export const SCIM_CONTENT_TYPE = 'application/scim+json';
const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const DEFAULT_PAGE_SIZE = 100;
const MAX_BACKOFF_MS = 10_000;
const RETRIED_STATUSES = new Set([429, 500, 502, 503, 504]);

type Json = Record<string, unknown>;

interface Answer {
    status: number;
    body: Json | undefined;
}

/** A FIFO counting semaphore: bounded concurrency per connection. */
class Semaphore {
    private active = 0;
    private readonly waiting: Array<() => void> = [];
    constructor(private readonly max: number) {}

    async run<T>(task: () => Promise<T>): Promise<T> {
        if (this.active >= this.max) await new Promise<void>((ok) => this.waiting.push(ok));
        else this.active++;
        try {
            return await task();
        } finally {
            const next = this.waiting.shift();
            if (next) next();
            else this.active--;
        }
    }
}

function isObj(v: unknown): v is Json {
    return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function chunks<T>(list: T[], size: number): T[][] {
    const out: T[][] = [];
    for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
    return out;
}

/** A SCIM filter string literal: a JSON string, so quotes, backslashes and control characters are escaped. */
export function scimString(value: string): string {
    return JSON.stringify(value);
}

/** Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
    if (!header) return undefined;
    const text = header.trim();
    if (/^\d+$/.test(text)) return Number(text) * 1000;
    const at = Date.parse(text);
    return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function createScimDirectory(options: ScimDirectoryOptions): AppDirectory {
    return new ScimDirectory(options);
}

class ScimDirectory implements AppDirectory {
    private readonly base: string;
    private readonly origin: string;
    private readonly timeoutMs: number;
    private readonly retryAttempts: number;
    private readonly retryBaseMs: number;
    private readonly maxRetryAfterMs: number;
    private readonly membersPerPatch: number;
    private readonly fetchImpl: typeof fetch;
    private readonly semaphore: Semaphore;
    private readonly counters: AppDirectoryStats = { requests: 0, byMethod: {}, retries: 0 };
    private known?: Promise<AppCapabilities>;

    constructor(private readonly options: ScimDirectoryOptions) {
        let url: URL;
        try {
            url = new URL(options.baseUrl);
        } catch {
            throw new AppDirectoryError(
                'invalid',
                'the connection\'s baseUrl is not a URL (expected e.g. "https://app.example.com/scim/v2")'
            );
        }
        if (url.protocol !== 'https:' && url.protocol !== 'http:')
            throw new AppDirectoryError(
                'invalid',
                `the connection's baseUrl must be http(s), not ${url.protocol}`
            );
        if (url.username || url.password)
            throw new AppDirectoryError(
                'invalid',
                `the baseUrl of the app at ${url.origin} holds credentials: remove them and give the token in CONNECTIONS_FILE`
            );
        if (!options.token)
            throw new AppDirectoryError('unauthorized', `no token for the app at ${url.origin}`);
        // A header carries visible ASCII only; a token with a space or a line break (a tokenFile's trailing
        // newline, say) would make fetch fail with a message of its own.
        if (!/^[\x21-\x7e]+$/.test(options.token))
            throw new AppDirectoryError(
                'unauthorized',
                `the token for the app at ${url.origin} holds characters an HTTP header cannot carry (a space, a line break, a non-ASCII character): check CONNECTIONS_FILE`
            );
        registerSecret(options.token);
        this.origin = url.origin;
        this.base = options.baseUrl.replace(/\/+$/, '');
        this.timeoutMs = options.timeoutMs ?? 15_000;
        this.retryAttempts = options.retryAttempts ?? 4;
        this.retryBaseMs = options.retryBaseMs ?? 250;
        this.maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
        this.membersPerPatch = Math.max(1, options.membersPerPatch ?? 100);
        this.fetchImpl = options.fetch ?? fetch;
        this.semaphore = new Semaphore(Math.max(1, options.maxConcurrency ?? 4));
    }

    stats(): AppDirectoryStats {
        return { ...this.counters, byMethod: { ...this.counters.byMethod } };
    }

    async capabilities(): Promise<AppCapabilities> {
        const fresh = this.readCapabilities();
        this.known = fresh;
        fresh.catch(() => {
            if (this.known === fresh) this.known = undefined;
        });
        return fresh;
    }

    async findUser(userName: string): Promise<AppUser | null> {
        const filter = `userName eq ${scimString(userName)}`;
        const answer = await this.call(
            'GET',
            `/Users?filter=${encodeURIComponent(filter)}&startIndex=1&count=10`,
            undefined,
            `searching for user "${userName}"`
        );
        const resources = this.resources(answer, 'the user search');
        // userName is case-insensitive (RFC 7643 §4.1.1); an app that ignored the filter returns others: skip them.
        const wanted = userName.toLowerCase();
        const found = resources.find(
            (r) => typeof r.userName === 'string' && r.userName.toLowerCase() === wanted
        );
        return found ? this.toUser(found) : null;
    }

    async createUser(resource: Record<string, unknown>): Promise<{ user: AppUser; existed: boolean }> {
        const userName = resource.userName;
        if (typeof userName !== 'string' || userName === '')
            throw new AppDirectoryError('invalid', 'a user to create needs a userName');
        const schemas = Array.isArray(resource.schemas) ? (resource.schemas as unknown[]) : [];
        const body = {
            ...resource,
            schemas: schemas.includes(USER_SCHEMA) ? schemas : [USER_SCHEMA, ...schemas]
        };
        try {
            const answer = await this.call('POST', '/Users', body, `creating user "${userName}"`);
            return { user: this.toUser(this.body(answer, 'the create')), existed: false };
        } catch (e) {
            // 409 uniqueness: it exists (perhaps made by this very create, its answer lost and the POST retried).
            if (!(e instanceof AppDirectoryError) || e.kind !== 'uniqueness') throw e;
            const existing = await this.findUser(userName);
            if (!existing)
                throw new AppDirectoryError(
                    'uniqueness',
                    `the app refused user "${userName}" as a duplicate (409) but has no user with that userName: another unique attribute (an email, the externalId) belongs to someone else`,
                    409,
                    e.scimType
                );
            return { user: existing, existed: true };
        }
    }

    async patchUser(id: string, operations: PatchOperation[]): Promise<AppUser> {
        const what = `updating user ${id}`;
        const answer = await this.call(
            'PATCH',
            `/Users/${encodeURIComponent(id)}`,
            patchBody(operations),
            what
        );
        if (answer.body) return this.toUser(answer.body);
        // 204: the app returned no representation; read it.
        return this.toUser(
            this.body(await this.call('GET', `/Users/${encodeURIComponent(id)}`, undefined, what), what)
        );
    }

    async listGroups(): Promise<AppGroup[]> {
        const groups: AppGroup[] = [];
        await this.pages('/Groups', DEFAULT_PAGE_SIZE, 'listing groups', (resources) => {
            for (const r of resources) {
                if (typeof r.id !== 'string' || typeof r.displayName !== 'string')
                    throw this.protocol('a group without an id or displayName');
                groups.push({
                    id: r.id,
                    displayName: r.displayName,
                    ...(Array.isArray(r.members)
                        ? {
                              memberIds: r.members
                                  .map((m) => (m as Json).value)
                                  .filter((v): v is string => typeof v === 'string')
                          }
                        : {})
                });
            }
        });
        return groups;
    }

    async listUsers(onPage: (users: AppUser[]) => unknown, pageSize = DEFAULT_PAGE_SIZE): Promise<void> {
        await this.pages('/Users', pageSize, 'listing users', async (resources) => {
            await onPage(resources.map((r) => this.toUser(r)));
        });
    }

    async addMembers(groupId: string, userIds: string[]): Promise<void> {
        const ids = [...new Set(userIds)];
        if (ids.length === 0) return;
        // One add operation per chunk; adding a member already there is no change (RFC 7644 §3.5.2.1).
        const requests = chunks(ids, this.membersPerPatch).map((chunk) => [
            { op: 'add' as const, path: 'members', value: chunk.map((value) => ({ value })) }
        ]);
        await this.patchGroup(groupId, requests, `adding members to group ${groupId}`, async () => undefined);
    }

    async removeMembers(groupId: string, userIds: string[]): Promise<void> {
        const ids = [...new Set(userIds)];
        if (ids.length === 0) return;
        const what = `removing members from group ${groupId}`;
        const removal = (chunk: string[]): PatchOperation[] =>
            chunk.map((id) => ({ op: 'remove', path: `members[value eq ${scimString(id)}]` }));
        // A removal whose filter matches no member is 400 noTarget (RFC 7644 §3.5.2): the member is already
        // gone (or this is a retry of a removal that was applied). Remove only those still there.
        const onNoTarget = async (ops: PatchOperation[]): Promise<PatchOperation[] | undefined> => {
            const current = new Set(await this.memberIds(groupId, what));
            const still = ops
                .map((o) => /^members\[value eq (".*")\]$/.exec(o.path ?? ''))
                .flatMap((m) => (m ? [JSON.parse(m[1]) as string] : []));
            const left = still.filter((id) => current.has(id));
            return left.length ? removal(left) : undefined;
        };
        await this.patchGroup(groupId, chunks(ids, this.membersPerPatch).map(removal), what, onNoTarget);
    }

    // ---- group PATCH, plain or through /Bulk ----

    /**
     * Sends each request's operations to PATCH /Groups/{id}: one PATCH each, or, when the app has a bulk
     * endpoint and there is more than one, as few /Bulk requests as its maxOperations and maxPayloadSize allow.
     * `onNoTarget` gives the operations to send again when the app answers 400 noTarget (undefined: done).
     */
    private async patchGroup(
        groupId: string,
        requests: PatchOperation[][],
        what: string,
        onNoTarget: (ops: PatchOperation[]) => Promise<PatchOperation[] | undefined>
    ): Promise<void> {
        const path = `/Groups/${encodeURIComponent(groupId)}`;
        // The answer to a PATCH is the whole group (RFC 7644 §3.5.2), members and all, unless the attributes
        // parameters narrow it: a large group would come back with every chunk.
        const patchPath = `${path}?excludedAttributes=members`;
        const plain = async (ops: PatchOperation[]): Promise<void> => {
            try {
                await this.call('PATCH', patchPath, patchBody(ops), what);
            } catch (e) {
                if (!(e instanceof AppDirectoryError) || e.scimType !== 'noTarget') throw e;
                const again = await onNoTarget(ops);
                if (again) await this.call('PATCH', patchPath, patchBody(again), what);
            }
        };
        // Without a readable /ServiceProviderConfig (some apps serve none), plain PATCHes: every app has those.
        const caps = requests.length > 1 ? await this.cachedCapabilities().catch(() => undefined) : undefined;
        if (!caps?.bulk.supported || caps.bulk.maxOperations < 1) {
            await Promise.all(requests.map(plain));
            return;
        }
        const batches = this.bulkBatches(path, requests, caps.bulk);
        await Promise.all(
            batches.map(async (batch) => {
                const failed = await this.bulk(batch, what);
                for (const f of failed) {
                    if (f.error.scimType === 'noTarget') {
                        const again = await onNoTarget(f.ops);
                        if (again) await plain(again);
                    } else {
                        throw f.error;
                    }
                }
            })
        );
    }

    private bulkBatches(
        path: string,
        requests: PatchOperation[][],
        limits: AppCapabilities['bulk']
    ): Array<Array<{ path: string; ops: PatchOperation[] }>> {
        const envelope = Buffer.byteLength(JSON.stringify({ schemas: [BULK_REQUEST], Operations: [] }));
        const maxSize = limits.maxPayloadSize > 0 ? limits.maxPayloadSize : Number.POSITIVE_INFINITY;
        const batches: Array<Array<{ path: string; ops: PatchOperation[] }>> = [];
        let batch: Array<{ path: string; ops: PatchOperation[] }> = [];
        let size = envelope;
        for (const ops of requests) {
            const opSize = Buffer.byteLength(JSON.stringify(bulkOperation(path, ops))) + 1;
            if (batch.length && (batch.length >= limits.maxOperations || size + opSize > maxSize)) {
                batches.push(batch);
                batch = [];
                size = envelope;
            }
            if (envelope + opSize > maxSize)
                throw new AppDirectoryError(
                    'invalid',
                    `one membership change (${opSize} bytes) is larger than the app's bulk maxPayloadSize (${limits.maxPayloadSize} bytes)`
                );
            batch.push({ path, ops });
            size += opSize;
        }
        if (batch.length) batches.push(batch);
        return batches;
    }

    /** POST /Bulk; the failed operations with their errors. */
    private async bulk(
        batch: Array<{ path: string; ops: PatchOperation[] }>,
        what: string
    ): Promise<Array<{ ops: PatchOperation[]; error: AppDirectoryError }>> {
        const body = { schemas: [BULK_REQUEST], Operations: batch.map((b) => bulkOperation(b.path, b.ops)) };
        const answer = await this.call('POST', '/Bulk', body, what);
        const results = this.body(answer, 'the bulk request').Operations;
        if (!Array.isArray(results)) throw this.protocol('a bulk answer without Operations');
        const failed: Array<{ ops: PatchOperation[]; error: AppDirectoryError }> = [];
        batch.forEach((b, i) => {
            const r = results[i] as Json | undefined;
            const status = Number(r?.status);
            if (!r || !Number.isInteger(status)) {
                failed.push({
                    ops: b.ops,
                    error: this.protocol(`the bulk answer has no status for operation ${i + 1}`)
                });
            } else if (status >= 400) {
                const response = isObj(r.response) ? r.response : undefined;
                failed.push({
                    ops: b.ops,
                    error: this.httpError(status, response, `${what} (bulk operation ${i + 1})`)
                });
            }
        });
        return failed;
    }

    private async memberIds(groupId: string, what: string): Promise<string[]> {
        const answer = await this.call(
            'GET',
            `/Groups/${encodeURIComponent(groupId)}?attributes=members`,
            undefined,
            what
        );
        const members = this.body(answer, what).members;
        return Array.isArray(members)
            ? members.map((m) => (m as Json).value).filter((v): v is string => typeof v === 'string')
            : [];
    }

    // ---- capabilities ----

    private async cachedCapabilities(): Promise<AppCapabilities> {
        return this.known ?? this.capabilities();
    }

    private async readCapabilities(): Promise<AppCapabilities> {
        const spc = this.body(
            await this.call('GET', '/ServiceProviderConfig', undefined, 'reading /ServiceProviderConfig'),
            'ServiceProviderConfig'
        );
        let types: Json[] = [];
        try {
            types = this.resources(
                await this.call('GET', '/ResourceTypes', undefined, 'reading /ResourceTypes'),
                'ResourceTypes'
            );
        } catch (e) {
            // /ResourceTypes is optional in practice (some apps serve only /ServiceProviderConfig).
            if (!(e instanceof AppDirectoryError) || e.kind !== 'not_found') throw e;
        }
        const flag = (key: string) => isObj(spc[key]) && (spc[key] as Json).supported === true;
        const num = (key: string, field: string) => {
            const v = isObj(spc[key]) ? (spc[key] as Json)[field] : undefined;
            return typeof v === 'number' && Number.isFinite(v) ? v : 0;
        };
        const user = types.find((t) => t.name === 'User' || t.id === 'User');
        return {
            patch: flag('patch'),
            bulk: {
                supported: flag('bulk'),
                maxOperations: num('bulk', 'maxOperations'),
                maxPayloadSize: num('bulk', 'maxPayloadSize')
            },
            filter: { supported: flag('filter'), maxResults: num('filter', 'maxResults') },
            etag: flag('etag'),
            sort: flag('sort'),
            resourceTypes: types.map((t) => String(t.name ?? t.id)),
            userSchemaExtensions: Array.isArray(user?.schemaExtensions)
                ? user.schemaExtensions
                      .map((s) => (s as Json).schema)
                      .filter((s): s is string => typeof s === 'string')
                : []
        };
    }

    // ---- paging ----

    private async pages(
        path: string,
        pageSize: number,
        what: string,
        onPage: (resources: Json[]) => unknown
    ): Promise<void> {
        let startIndex = 1;
        const count = Math.max(1, Math.floor(pageSize));
        for (;;) {
            const answer = await this.call(
                'GET',
                `${path}?startIndex=${startIndex}&count=${count}`,
                undefined,
                what
            );
            const body = this.body(answer, what);
            const resources = this.resources(answer, what);
            if (resources.length > 0) await onPage(resources);
            const total = typeof body.totalResults === 'number' ? body.totalResults : undefined;
            startIndex += resources.length;
            // Fewer than asked is not the end (an app may cap the page); an empty page or the total is.
            if (resources.length === 0 || total === undefined || startIndex > total) return;
        }
    }

    // ---- HTTP ----

    private call(method: string, path: string, body: unknown, what: string): Promise<Answer> {
        return this.semaphore.run(() => this.send(method, path, body, what));
    }

    private async send(method: string, path: string, body: unknown, what: string): Promise<Answer> {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        for (let attempt = 1; ; attempt++) {
            this.counters.requests++;
            this.counters.byMethod[method] = (this.counters.byMethod[method] ?? 0) + 1;
            if (attempt > 1) this.counters.retries++;
            const last = attempt > this.retryAttempts;
            let status: number;
            let text: string;
            let retryAfter: string | null = null;
            try {
                const res = await this.fetchImpl(`${this.base}${path}`, {
                    method,
                    headers: {
                        Authorization: `Bearer ${this.options.token}`,
                        Accept: `${SCIM_CONTENT_TYPE}, application/json`,
                        ...(payload === undefined ? {} : { 'Content-Type': SCIM_CONTENT_TYPE })
                    },
                    body: payload,
                    signal: AbortSignal.timeout(this.timeoutMs)
                });
                status = res.status;
                retryAfter = res.headers.get('retry-after');
                text = await res.text();
            } catch (e) {
                // By name, not instanceof: fetch's DOMException may come from another realm.
                const name = (e as { name?: unknown } | null)?.name;
                const timedOut = name === 'TimeoutError' || name === 'AbortError';
                if (!last) {
                    await sleep(this.backoff(attempt));
                    continue;
                }
                throw timedOut
                    ? new AppDirectoryError(
                          'timeout',
                          this.clean(
                              `${what}: the app at ${this.origin} did not answer within ${this.timeoutMs} ms (${attempt} attempts)`
                          )
                      )
                    : new AppDirectoryError(
                          'unavailable',
                          this.clean(
                              `${what}: could not reach the app at ${this.origin} (${networkReason(e)}; ${attempt} attempts)`
                          )
                      );
            }
            if (RETRIED_STATUSES.has(status) && !last) {
                const asked = status === 429 || status === 503 ? retryAfterMs(retryAfter) : undefined;
                await sleep(
                    asked === undefined ? this.backoff(attempt) : Math.min(asked, this.maxRetryAfterMs)
                );
                continue;
            }
            let parsed: Json | undefined;
            if (text.trim() !== '') {
                try {
                    const json: unknown = JSON.parse(text);
                    parsed = isObj(json) ? json : undefined;
                    if (!parsed && status < 400) throw new Error('not an object');
                } catch {
                    if (status < 400)
                        throw this.protocol(
                            `${what}: the app answered HTTP ${status} with a body that is not a JSON object`
                        );
                }
            }
            if (status >= 200 && status < 300) return { status, body: parsed };
            throw this.httpError(status, parsed, what, attempt);
        }
    }

    private backoff(attempt: number): number {
        const full = Math.min(MAX_BACKOFF_MS, this.retryBaseMs * 2 ** (attempt - 1));
        return full / 2 + Math.random() * (full / 2);
    }

    private httpError(
        status: number,
        body: Json | undefined,
        what: string,
        attempts?: number
    ): AppDirectoryError {
        const scimType = typeof body?.scimType === 'string' ? body.scimType : undefined;
        const detail = typeof body?.detail === 'string' ? `: ${body.detail.slice(0, 300)}` : '';
        const tries = attempts && attempts > 1 ? ` after ${attempts} attempts` : '';
        let kind: AppErrorKind;
        let text: string;
        if (status === 401 || status === 403) {
            kind = 'unauthorized';
            text = `${what}: the app at ${this.origin} refused the connection's token (HTTP ${status})${detail}. Check the token (or tokenFile) of this connection in CONNECTIONS_FILE.`;
        } else if (status === 404) {
            kind = 'not_found';
            text = `${what}: not found at ${this.origin} (HTTP 404)${detail}`;
        } else if (status === 409) {
            kind = 'uniqueness';
            text = `${what}: the app refused a duplicate (HTTP 409${scimType ? ` ${scimType}` : ''})${detail}`;
        } else if (status === 429) {
            kind = 'rate_limited';
            text = `${what}: the app at ${this.origin} is still rate limiting (HTTP 429)${tries}`;
        } else if (status >= 500) {
            kind = 'unavailable';
            text = `${what}: the app at ${this.origin} failed (HTTP ${status})${tries}${detail}`;
        } else {
            kind = 'invalid';
            text = `${what}: the app refused the request (HTTP ${status}${scimType ? ` ${scimType}` : ''})${detail}`;
        }
        return new AppDirectoryError(kind, this.clean(text), status, scimType);
    }

    private protocol(text: string): AppDirectoryError {
        return new AppDirectoryError(
            'protocol',
            this.clean(`the app at ${this.origin} answered unexpectedly: ${text}`)
        );
    }

    /** Whatever an app echoes, the token never leaves in a message. */
    private clean(text: string): string {
        return redact(text.split(this.options.token).join('[redacted]'));
    }

    private body(answer: Answer, what: string): Json {
        if (!answer.body) throw this.protocol(`${what}: an empty answer (HTTP ${answer.status})`);
        return answer.body;
    }

    private resources(answer: Answer, what: string): Json[] {
        const list = this.body(answer, what).Resources;
        if (list === undefined) return [];
        if (!Array.isArray(list) || !list.every(isObj))
            throw this.protocol(`${what}: Resources is not a list of objects`);
        return list;
    }

    private toUser(r: Json): AppUser {
        if (typeof r.id !== 'string' || typeof r.userName !== 'string')
            throw this.protocol('a user without an id or userName');
        return {
            id: r.id,
            userName: r.userName,
            ...(typeof r.externalId === 'string' ? { externalId: r.externalId } : {}),
            active: r.active !== false,
            resource: r
        };
    }
}

function patchBody(operations: PatchOperation[]): Json {
    return { schemas: [PATCH_OP], Operations: operations };
}

function bulkOperation(path: string, ops: PatchOperation[]): Json {
    return { method: 'PATCH', path, data: patchBody(ops) };
}

function networkReason(e: unknown): string {
    const cause =
        e instanceof Error ? (e.cause as { code?: string; message?: string } | undefined) : undefined;
    return cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e));
}

function sleep(ms: number): Promise<void> {
    return new Promise((ok) => setTimeout(ok, ms));
}
