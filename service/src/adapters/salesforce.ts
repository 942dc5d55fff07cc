/**
 * The OrgGateway port over jsforce: the only module that imports jsforce.
 *
 * - Signs in with the OAuth 2.0 JWT bearer flow (assertion signed RS256 with node:crypto).
 * - Queries page by page (query, then queryMore on nextRecordsUrl) so each page is retried on its own,
 *   and hands pages over as they come (`queryPages`) so a caller holds one page at a time.
 * - Reads big results with a Bulk API 2.0 query job (`bulkQuery`): jsforce's bulk2 QueryJobV2 creates,
 *   checks, aborts and deletes the job; a job left before it ended (polling timed out, an error, the service
 *   stopping: `close()`) is aborted before it is deleted, since Salesforce deletes only a terminated job
 *   ("Delete a Query Job"); each result set is one GET of `…/results?maxRecords=…&locator=…`
 *   (jsforce parses the CSV; the next locator comes from the Sforce-Locator header). jsforce's own
 *   `result()` joins every set into one stream with no maxRecords, so it is not used for the sets.
 * - Reads independent queries together through the Composite resource (`queryTogether`): up to 5 query
 *   subrequests in one POST /composite, one API call; further pages by queryMore. A subrequest that failed
 *   for a passing reason (5xx, lock, timeout) is read again on its own, with the usual retries.
 * - Writes through composite/sobjects, 200 records a call; upserts by external id.
 * - Retries 5xx, REQUEST_LIMIT_EXCEEDED and connection errors a bounded number of times with jittered
 *   exponential backoff; re-signs-in on INVALID_SESSION_ID (jsforce's refresh hook and our own retry).
 *   Reads, updates by Id and upserts by external id give the same result when applied twice, so any
 *   failure is retried. A create is not: after a failure the org may have applied it (the response was
 *   lost), so it is retried only when the org surely did not apply it (connection refused, session
 *   expired, API limit); otherwise the error says so (`details.ambiguous`) and the caller reads back.
 * - Counts every REST call it makes (jsforce's own retries are switched off so the count is exact).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createSign } from 'node:crypto';
import { Connection } from 'jsforce';
import { QueryJobV2 } from 'jsforce/lib/api/bulk2';
import type { SalesforceConfig } from '../config';
import { AppError, redact, registerSecret } from '../errors';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { assertSalesforceId } from '../domain/org-store';
import { parseCsv } from './csv';
import {
    COMPOSITE_QUERIES,
    STOP_READING,
    type BulkQueryStats,
    type BulkRow,
    type OrgGateway,
    type QueryPageInfo,
    type QueryRequest,
    type SObjectRecord,
    type WriteResult
} from '../ports';

const BATCH = 200;
const RETRYABLE_CODES = new Set([
    'REQUEST_LIMIT_EXCEEDED',
    'SERVER_UNAVAILABLE',
    'UNABLE_TO_LOCK_ROW',
    'QUERY_TIMEOUT',
    'ECONNREFUSED',
    'ECONNRESET',
    'ETIMEDOUT',
    'EPIPE',
    'UND_ERR_SOCKET'
]);

interface CallContext {
    status?: number;
    headers?: Record<string, string | string[] | undefined>;
}

/** Records per Bulk API 2.0 result set (maxRecords): bounds what one page holds in memory. */
export const BULK_RESULT_SET_RECORDS = 50_000;
/** Job status checks: the first after this long, then 1.5 times longer each time, up to the maximum. */
const BULK_POLL_FIRST_MS = 250;
const BULK_POLL_MAX_MS = 5_000;
const BULK_POLL_TIMEOUT_MS = 30 * 60_000;
/** Query job states after which the job no longer runs: it can be deleted as it is. */
const BULK_TERMINAL_STATES = new Set(['JobComplete', 'Aborted', 'Failed']);
/** How long `close()` waits for running bulk query jobs to be aborted and deleted. */
const BULK_CLOSE_WAIT_MS = 4_000;

/** How a bulk query job's status is polled: the first check after firstMs, growing 1.5× to maxMs. */
export interface BulkPolling {
    firstMs: number;
    maxMs: number;
    timeoutMs: number;
}

interface TokenResponse {
    access_token: string;
    instance_url: string;
    id?: string;
}

interface JsforceError {
    errorCode?: string;
    name?: string;
    code?: string;
    message?: string;
    type?: string;
}

interface QueryPage<T> {
    records: T[];
    totalSize: number;
    done: boolean;
    nextRecordsUrl?: string;
}

interface CompositeSubrequestResult {
    body: unknown;
    httpStatusCode: number;
    referenceId: string;
}

interface CompositeResult {
    id?: string;
    success: boolean;
    errors?: { statusCode?: string; message?: string }[];
}

/** Waits, or less when the signal fires (the caller then sees the signal aborted). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
        if (signal.aborted) return resolve();
        const timer = setTimeout(done, ms);
        function done(): void {
            clearTimeout(timer);
            signal.removeEventListener('abort', done);
            resolve();
        }
        signal.addEventListener('abort', done, { once: true });
    });
}

/** `30 minutes`, `1.2 seconds`: a polling timeout as a person reads it. */
function formatDuration(ms: number): string {
    return ms >= 60_000 ? `${ms / 60_000} minutes` : `${ms / 1000} seconds`;
}

function base64url(input: string | Buffer): string {
    return Buffer.from(input).toString('base64url');
}

/**
 * The `aud` Salesforce expects in a JWT bearer assertion: https://login.salesforce.com for production and
 * My Domain logins, https://test.salesforce.com for sandboxes, whatever the login URL is elsewhere (the
 * local org, an Experience Cloud site). SF_JWT_AUDIENCE overrides it.
 */
export function jwtAudience(config: Pick<SalesforceConfig, 'loginUrl' | 'audience'>): string {
    if (config.audience) return config.audience.replace(/\/+$/, '');
    let host = '';
    try {
        host = new URL(config.loginUrl).hostname.toLowerCase();
    } catch {
        return config.loginUrl;
    }
    if (host === 'test.salesforce.com' || host.endsWith('.sandbox.my.salesforce.com')) {
        return 'https://test.salesforce.com';
    }
    if (host === 'salesforce.com' || host.endsWith('.salesforce.com')) return 'https://login.salesforce.com';
    return config.loginUrl;
}

/** A JWT bearer assertion (RFC 7523) for Salesforce, signed RS256. */
export function signJwtAssertion(
    config: Pick<SalesforceConfig, 'clientId' | 'username' | 'loginUrl' | 'privateKeyPem' | 'audience'>,
    now: Date = new Date()
): string {
    const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
    const claims = base64url(
        JSON.stringify({
            iss: config.clientId,
            sub: config.username,
            aud: jwtAudience(config),
            exp: Math.floor(now.getTime() / 1000) + 180
        })
    );
    const signer = createSign('RSA-SHA256');
    signer.update(`${header}.${claims}`);
    return `${header}.${claims}.${signer.sign(config.privateKeyPem).toString('base64url')}`;
}

export interface SalesforceGatewayOptions {
    config: SalesforceConfig;
    logger: Logger;
    metrics?: Metrics;
    /** Records per Bulk API 2.0 result set (default BULK_RESULT_SET_RECORDS). */
    bulkResultSetRecords?: number;
    /** Job status polling (default: from 250 ms growing to 5 s, for at most 30 minutes). */
    bulkPolling?: Partial<BulkPolling>;
}

/** One record's outcome of an sObject Collections call, errors as `CODE: message`. */
function toWriteResult(result: CompositeResult): WriteResult {
    return {
        id: result.id,
        success: result.success,
        errors: (result.errors ?? []).map((e) => `${e.statusCode ?? 'ERROR'}: ${e.message ?? ''}`)
    };
}

export class SalesforceGateway implements OrgGateway {
    private connection?: Connection;
    private loggingIn?: Promise<Connection>;
    private calls = 0;
    /** The org's clock as its last answer's Date header said (whole seconds, rounded down). */
    private lastServerTime?: Date;
    private readonly context = new AsyncLocalStorage<CallContext>();
    private readonly config: SalesforceConfig;
    private readonly logger: Logger;
    private readonly metrics?: Metrics;
    private readonly bulkResultSetRecords: number;
    private readonly bulkPolling: BulkPolling;
    /** Bulk query jobs being read: `close()` stops each and waits until it is aborted and deleted. */
    private readonly bulkJobs = new Set<{ stop: AbortController; cleaned: Promise<void> }>();
    private closing = false;

    constructor(options: SalesforceGatewayOptions) {
        this.config = options.config;
        this.bulkResultSetRecords = options.bulkResultSetRecords ?? BULK_RESULT_SET_RECORDS;
        this.bulkPolling = {
            firstMs: BULK_POLL_FIRST_MS,
            maxMs: BULK_POLL_MAX_MS,
            timeoutMs: BULK_POLL_TIMEOUT_MS,
            ...options.bulkPolling
        };
        this.logger = options.logger.child({ component: 'salesforce' });
        this.metrics = options.metrics;
    }

    apiCalls(): number {
        return this.calls;
    }

    serverTime(): Date | undefined {
        return this.lastServerTime;
    }

    instanceUrl(): string {
        return this.connection?.instanceUrl ?? this.config.loginUrl;
    }

    /**
     * Stops reading: a bulk query job still being read is aborted and deleted (bounded wait), so it does not
     * run on in the org, counting against its limits, after the service is gone.
     */
    async close(): Promise<void> {
        this.closing = true;
        const jobs = [...this.bulkJobs];
        for (const job of jobs) job.stop.abort();
        if (jobs.length > 0) {
            let timer: NodeJS.Timeout | undefined;
            const bound = new Promise<void>((resolve) => {
                timer = setTimeout(resolve, BULK_CLOSE_WAIT_MS);
            });
            await Promise.race([Promise.all(jobs.map((job) => job.cleaned)), bound]);
            clearTimeout(timer);
        }
        this.connection = undefined;
    }

    async query<T extends object = SObjectRecord>(soql: string, scanAll = false): Promise<T[]> {
        const records: T[] = [];
        await this.queryPages<T>(
            soql,
            (page) => {
                for (const record of page) records.push(record);
            },
            scanAll
        );
        return records;
    }

    async queryAll<T extends object = SObjectRecord>(soql: string): Promise<T[]> {
        return this.query<T>(soql, true);
    }

    async queryPages<T extends object = SObjectRecord>(
        soql: string,
        onPage: (records: T[], page: QueryPageInfo) => unknown,
        scanAll = false
    ): Promise<void> {
        const first = await this.call('query', (conn) =>
            conn.query<never>(soql, { autoFetch: false, scanAll })
        );
        await this.pagesFrom(first as unknown as QueryPage<T>, onPage);
    }

    /** This page and the ones after it (queryMore by `nextRecordsUrl`, a call each), one at a time. */
    private async pagesFrom<T extends object>(
        first: QueryPage<T>,
        onPage: (records: T[], page: QueryPageInfo) => unknown
    ): Promise<void> {
        let page = first;
        for (let index = 0; ; index++) {
            const next = page.done ? undefined : page.nextRecordsUrl;
            const answer = await onPage(page.records, { totalSize: page.totalSize, index });
            if (!next || answer === STOP_READING) return;
            page = (await this.call('queryMore', (conn) =>
                conn.queryMore<never>(next)
            )) as unknown as QueryPage<T>;
        }
    }

    async queryTogether(requests: QueryRequest[]): Promise<PromiseSettledResult<SObjectRecord[]>[]> {
        const settle = (read: Promise<SObjectRecord[]>) =>
            read.then(
                (value): PromiseSettledResult<SObjectRecord[]> => ({ status: 'fulfilled', value }),
                (reason: unknown): PromiseSettledResult<SObjectRecord[]> => ({ status: 'rejected', reason })
            );
        const outcomes: PromiseSettledResult<SObjectRecord[]>[] = [];
        for (let start = 0; start < requests.length; start += COMPOSITE_QUERIES) {
            const group = requests.slice(start, start + COMPOSITE_QUERIES);
            if (group.length === 1) {
                outcomes.push(await settle(this.query(group[0].soql, group[0].scanAll)));
                continue;
            }
            // Reads only: sent again after any failure. A request that fails for good fails each of its reads.
            let response: { compositeResponse: CompositeSubrequestResult[] };
            try {
                response = await this.call('composite query', (conn) =>
                    conn.request<{ compositeResponse: CompositeSubrequestResult[] }>({
                        method: 'POST',
                        url: '/composite',
                        body: JSON.stringify({
                            allOrNone: false,
                            compositeRequest: group.map((request, index) => ({
                                method: 'GET',
                                url: `/services/data/v${conn.version}/${request.scanAll ? 'queryAll' : 'query'}?q=${encodeURIComponent(request.soql)}`,
                                referenceId: `query${index}`
                            }))
                        }),
                        headers: { 'content-type': 'application/json' }
                    })
                );
            } catch (reason) {
                for (const _ of group) outcomes.push({ status: 'rejected', reason });
                continue;
            }
            const byReference = new Map(
                response.compositeResponse.map((result) => [result.referenceId, result])
            );
            for (const [index, request] of group.entries()) {
                const result = byReference.get(`query${index}`);
                outcomes.push(await settle(this.subrequestRecords(request, result)));
            }
        }
        return outcomes;
    }

    /** The records of a query subrequest (its further pages read by queryMore), or its error. */
    private async subrequestRecords(
        request: QueryRequest,
        result: CompositeSubrequestResult | undefined
    ): Promise<SObjectRecord[]> {
        const status = result?.httpStatusCode ?? 500;
        if (!result || status >= 300) {
            const [error] = Array.isArray(result?.body) ? (result.body as JsforceError[]) : [];
            const code = error?.errorCode ?? '';
            // A passing failure of this one query: read it again alone, with the usual retries.
            if (status >= 500 || RETRYABLE_CODES.has(code)) return this.query(request.soql, request.scanAll);
            throw this.toAppError('query', code, { message: error?.message ?? `HTTP ${status}` }, status);
        }
        const records: SObjectRecord[] = [];
        await this.pagesFrom(result.body as QueryPage<SObjectRecord>, (page) => {
            for (const record of page) records.push(record);
        });
        return records;
    }

    async bulkQuery(soql: string, onPage: (rows: BulkRow[]) => unknown): Promise<BulkQueryStats> {
        if (this.closing)
            throw new AppError('SHUTTING_DOWN', 'The service is stopping: no bulk query job started');
        // Counted here rather than as a difference of this.calls: a run's heartbeat may write meanwhile.
        let calls = 0;
        const { firstMs, maxMs, timeoutMs } = this.bulkPolling;
        const polling = { pollInterval: firstMs, pollTimeout: timeoutMs };
        // Creating a query job twice (after a lost answer) only leaves an unused job: safe to retry.
        calls++;
        const created = await this.call('bulk2 create query job', (conn) =>
            new QueryJobV2(conn, {
                bodyParams: { operation: 'query', query: soql },
                pollingOptions: polling
            }).open()
        );
        const jobId = created.id;
        const job = (conn: Connection) => conn.bulk2.job('query', { id: jobId });
        // The job's state as the org last said it; a job left before it ended is aborted before it is deleted.
        let state: string = created.state;
        const stop = new AbortController();
        let cleanedUp!: () => void;
        const entry = { stop, cleaned: new Promise<void>((resolve) => (cleanedUp = resolve)) };
        this.bulkJobs.add(entry);
        const stopped = (): AppError =>
            new AppError('SHUTTING_DOWN', `Salesforce bulk query job ${jobId} left: the service is stopping`);
        let records = 0;
        let pages = 0;
        try {
            const started = Date.now();
            for (let wait = firstMs; ; wait = Math.min(maxMs, wait * 1.5)) {
                if (stop.signal.aborted) throw stopped();
                calls++;
                const info = await this.call('bulk2 job status', (conn) => job(conn).check());
                state = info.state;
                if (info.state === 'JobComplete') break;
                if (info.state === 'Failed' || info.state === 'Aborted') {
                    const reason = (info as { errorMessage?: string }).errorMessage ?? info.state;
                    throw new AppError(
                        'ORG_REQUEST_FAILED',
                        `Salesforce bulk query job ${jobId} ${info.state}: ${redact(reason).slice(0, 300)}`
                    );
                }
                if (Date.now() - started > timeoutMs)
                    throw new AppError(
                        'ORG_UNAVAILABLE',
                        `Salesforce bulk query job ${jobId} not complete after ${formatDuration(timeoutMs)}`
                    );
                await sleep(wait, stop.signal);
            }
            let locator: string | undefined;
            do {
                if (stop.signal.aborted) throw stopped();
                const params = new URLSearchParams({ maxRecords: String(this.bulkResultSetRecords) });
                if (locator) params.set('locator', locator);
                let next: string | undefined;
                calls++;
                const csv = await this.call(
                    'bulk2 query results',
                    (conn) =>
                        // As text, parsed by ./csv (jsforce's CSV parser costs several times more CPU).
                        conn.request<string>(
                            {
                                method: 'GET',
                                url: `/jobs/query/${jobId}/results?${params.toString()}`,
                                headers: { Accept: 'text/csv' }
                            },
                            { responseType: 'text/plain' }
                        ),
                    true,
                    (context) => {
                        const header = context.headers?.['sforce-locator'];
                        next =
                            typeof header === 'string' && header !== '' && header !== 'null'
                                ? header
                                : undefined;
                    }
                );
                let page: BulkRow[];
                try {
                    page = parseCsv(typeof csv === 'string' ? csv : '');
                } catch (error) {
                    throw new AppError(
                        'ORG_REQUEST_FAILED',
                        `Salesforce bulk query job ${jobId} returned a result set that is not CSV: ${(error as Error).message}`
                    );
                }
                pages++;
                records += page.length;
                await onPage(page);
                locator = next;
            } while (locator);
        } finally {
            // A job still queued or running is aborted first: Salesforce deletes only a terminated job, and
            // an abandoned one would run on, counting against the org's limits, until Salesforce purges it.
            if (!BULK_TERMINAL_STATES.has(state)) {
                calls++;
                await this.call('bulk2 abort query job', (conn) => job(conn).abort()).catch(
                    (error: unknown) =>
                        this.logger.warn(
                            { jobId, state, err: redact(String((error as Error)?.message ?? error)) },
                            'Bulk query job not aborted'
                        )
                );
            }
            // The job's results hold user data: deleted at once rather than kept for Salesforce's 7 days.
            calls++;
            await this.call('bulk2 delete query job', (conn) => job(conn).delete()).catch((error: unknown) =>
                this.logger.warn(
                    { jobId, err: redact(String((error as Error)?.message ?? error)) },
                    'Bulk query job not deleted'
                )
            );
            this.bulkJobs.delete(entry);
            cleanedUp();
        }
        return { jobId, records, pages, calls };
    }

    async describe(sobject: string): Promise<unknown> {
        if (!/^\w+$/.test(sobject)) throw new AppError('VALIDATION_FAILED', 'Invalid sObject name');
        return this.call('describe', (conn) => conn.request(`/sobjects/${sobject}/describe`));
    }

    async create(sobject: string, records: SObjectRecord[]): Promise<WriteResult[]> {
        const typed = records.map((record) => ({ ...record, attributes: { type: sobject } }));
        return this.composite('POST', '/composite/sobjects', typed, false);
    }

    async update(records: SObjectRecord[], options: { retry?: boolean } = {}): Promise<WriteResult[]> {
        for (const record of records) {
            if (!record.Id || !record.attributes?.type) {
                throw new AppError('VALIDATION_FAILED', 'Updated records need Id and attributes.type');
            }
        }
        return this.composite('PATCH', '/composite/sobjects', records, options.retry !== false);
    }

    async upsert(sobject: string, externalIdField: string, records: SObjectRecord[]): Promise<WriteResult[]> {
        const typed = records.map((record) => ({ ...record, attributes: { type: sobject } }));
        return this.composite('PATCH', `/composite/sobjects/${sobject}/${externalIdField}`, typed);
    }

    async deleteRecords(ids: string[]): Promise<WriteResult[]> {
        const results: WriteResult[] = [];
        for (let i = 0; i < ids.length; i += BATCH) {
            const chunk = ids.slice(i, i + BATCH);
            for (const id of chunk) assertSalesforceId(id, 'record id');
            const url = `/composite/sobjects?ids=${chunk.join(',')}&allOrNone=false`;
            // Idempotent: deleting again answers ENTITY_IS_DELETED for the id and changes nothing.
            const response = (await this.call(`DELETE /composite/sobjects`, (conn) =>
                conn.request({ method: 'DELETE', url })
            )) as CompositeResult[];
            results.push(...response.map(toWriteResult));
        }
        return results;
    }

    private async composite(
        method: 'POST' | 'PATCH',
        url: string,
        records: SObjectRecord[],
        idempotent = true
    ): Promise<WriteResult[]> {
        const results: WriteResult[] = [];
        for (let i = 0; i < records.length; i += BATCH) {
            const chunk = records.slice(i, i + BATCH);
            const body = JSON.stringify({ allOrNone: false, records: chunk });
            const response = (await this.call(
                `${method} ${url}`,
                (conn) =>
                    conn.request({ method, url, body, headers: { 'content-type': 'application/json' } }),
                idempotent
            )) as CompositeResult[];
            results.push(...response.map(toWriteResult));
        }
        return results;
    }

    /**
     * One REST call with bounded, jittered retries and re-login on an invalid session. A call that is not
     * idempotent is retried only after failures that prove the org did not apply it.
     */
    private async call<R>(
        what: string,
        operation: (conn: Connection) => PromiseLike<R>,
        idempotent = true,
        inspect?: (context: CallContext) => void
    ): Promise<R> {
        let attempt = 0;
        for (;;) {
            attempt++;
            const context: CallContext = {};
            try {
                const conn = await this.ensureConnection();
                const result = await this.context.run(context, () => operation(conn));
                inspect?.(context);
                return result;
            } catch (error) {
                if (error instanceof AppError) throw error;
                const e = (error ?? {}) as JsforceError;
                const code = e.errorCode ?? e.code ?? '';
                const invalidSession =
                    code === 'INVALID_SESSION_ID' || /session.*(expired|invalid)/i.test(e.message ?? '');
                const serverError = (context.status ?? 0) >= 500 || /^ERROR_HTTP_5\d\d$/.test(code);
                const connectionError =
                    e.name === 'FetchError' ||
                    /ECONNREFUSED|ECONNRESET|socket hang up|premature close|Unexpected end of JSON|terminated/i.test(
                        e.message ?? ''
                    );
                const notApplied =
                    invalidSession ||
                    code === 'REQUEST_LIMIT_EXCEEDED' ||
                    code === 'ECONNREFUSED' ||
                    /ECONNREFUSED/.test(e.message ?? '');
                const transient =
                    invalidSession || serverError || connectionError || RETRYABLE_CODES.has(code);
                const retryable = idempotent ? transient : notApplied;
                if (!retryable || attempt > this.config.retryAttempts) {
                    const failure = this.toAppError(what, code, e, context.status);
                    if (idempotent || notApplied || !transient) throw failure;
                    throw new AppError(failure.code, `${failure.message} (the org may have applied it)`, {
                        cause: e,
                        details: { ambiguous: true }
                    });
                }
                const reason = invalidSession
                    ? 'session'
                    : code || (serverError ? `http_${context.status}` : 'connection');
                this.metrics?.salesforceRetries.inc({ reason });
                this.logger.warn({ what, reason, attempt }, 'Salesforce call failed; retrying');
                if (invalidSession) {
                    this.connection = undefined;
                } else {
                    const backoff = this.config.retryBaseMs * 2 ** (attempt - 1);
                    await new Promise((r) => setTimeout(r, backoff / 2 + Math.random() * backoff));
                }
            }
        }
    }

    private toAppError(what: string, code: string, e: JsforceError, status?: number): AppError {
        // Salesforce repeats the whole query in a malformed-query message; its last line says what is wrong.
        // jsforce may quote the request or the response (session id included): redacted before it goes anywhere.
        const detail = redact((e.message ?? '').trim().split('\n').pop() ?? '');
        const message = `Salesforce ${what} failed: ${code ? `${code}: ` : ''}${detail.slice(0, 300)}`;
        if (code === 'REQUEST_LIMIT_EXCEEDED')
            return new AppError('ORG_LIMIT_EXCEEDED', message, { cause: e });
        if ((status ?? 0) >= 500 || e.name === 'FetchError' || RETRYABLE_CODES.has(code)) {
            return new AppError('ORG_UNAVAILABLE', message, { cause: e });
        }
        return new AppError('ORG_REQUEST_FAILED', message, { cause: e });
    }

    private async ensureConnection(): Promise<Connection> {
        if (this.connection) return this.connection;
        if (!this.loggingIn) {
            this.loggingIn = this.login().finally(() => {
                this.loggingIn = undefined;
            });
        }
        return this.loggingIn;
    }

    private async requestToken(): Promise<TokenResponse> {
        const assertion = signJwtAssertion(this.config);
        registerSecret(assertion);
        const body = new URLSearchParams({
            grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
            assertion
        });
        let lastError: unknown;
        for (let attempt = 1; attempt <= this.config.retryAttempts + 1; attempt++) {
            try {
                const response = await fetch(`${this.config.loginUrl}/services/oauth2/token`, {
                    method: 'POST',
                    headers: { 'content-type': 'application/x-www-form-urlencoded' },
                    body
                });
                const json = (await response.json().catch(() => ({}))) as Partial<TokenResponse> & {
                    error?: string;
                    error_description?: string;
                };
                if (response.ok && json.access_token && json.instance_url) {
                    registerSecret(json.access_token);
                    return json as TokenResponse;
                }
                if (response.status < 500) {
                    const why = `${json.error ?? response.status} ${json.error_description ?? ''}`.trim();
                    throw new AppError(
                        'ORG_AUTH_FAILED',
                        `Salesforce sign-in refused: ${redact(why).slice(0, 300)} (check SF_CLIENT_ID, SF_USERNAME, the certificate of SF_PRIVATE_KEY and SF_LOGIN_URL)`
                    );
                }
                lastError = new Error(`token endpoint answered ${response.status}`);
            } catch (error) {
                if (error instanceof AppError) throw error;
                lastError = error;
            }
            const backoff = this.config.retryBaseMs * 2 ** (attempt - 1);
            await new Promise((r) => setTimeout(r, backoff / 2 + Math.random() * backoff));
        }
        throw new AppError('ORG_UNAVAILABLE', 'Salesforce sign-in failed: token endpoint unreachable', {
            cause: lastError
        });
    }

    private async login(): Promise<Connection> {
        const token = await this.requestToken();
        const conn = new Connection({
            instanceUrl: token.instance_url,
            accessToken: token.access_token,
            version: this.config.apiVersion,
            refreshFn: (_conn, callback) => {
                this.requestToken().then(
                    (fresh) => callback(null, fresh.access_token),
                    (error: Error) => callback(error)
                );
            }
        });
        this.instrument(conn);
        this.connection = conn;
        this.logger.info({ instanceUrl: token.instance_url }, 'Signed in to Salesforce');
        return conn;
    }

    /** Counts every REST call and switches off jsforce's own retries (we retry, with our own bounds). */
    private instrument(conn: Connection): void {
        const transport = (
            conn as unknown as { _transport: { httpRequest: (req: unknown, opts?: object) => unknown } }
        )._transport;
        const original = transport.httpRequest.bind(transport);
        transport.httpRequest = (req: unknown, opts: object = {}) => {
            this.calls++;
            this.metrics?.salesforceCalls.inc();
            const pending = original(req, { ...opts, retry: { maxRetries: 0 } }) as Promise<{
                statusCode: number;
                headers?: Record<string, string | string[] | undefined>;
            }>;
            const context = this.context.getStore();
            pending.then(
                (res) => {
                    if (context) {
                        context.status = res.statusCode;
                        context.headers = res.headers;
                    }
                    const header = res.headers?.date;
                    const date = Date.parse(typeof header === 'string' ? header : '');
                    if (!Number.isNaN(date)) this.lastServerTime = new Date(date);
                },
                () => undefined
            );
            return pending;
        };
    }
}
