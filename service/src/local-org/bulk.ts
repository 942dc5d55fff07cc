/**
 * Bulk API 2.0 query jobs (Bulk API 2.0 and Bulk API Developer Guide, "Bulk API 2.0 Query"):
 *
 * - `POST …/jobs/query` `{operation: "query" | "queryAll", query, contentType?, columnDelimiter?,
 *   lineEnding?}` creates a job (state `UploadComplete`) and answers its info. The SOQL is checked at
 *   once: a bad query is refused with 400 and the SOQL error's message, as are GROUP BY, OFFSET,
 *   aggregate functions and parent-to-child sub-queries, which Bulk API 2.0 does not support.
 * - The job then runs (`InProgress`) and ends `JobComplete` with `numberRecordsProcessed`; the org's bulk
 *   delay (a fault switch, 0 by default) keeps it queued (`UploadComplete`) for its first half and
 *   `InProgress` for the second. `GET …/jobs/query/{id}` answers the job's info.
 * - `GET …/jobs/query/{id}/results?maxRecords=&locator=` answers one result set as CSV: a header row
 *   (field names in SELECT order, parent fields as `Profile.Name`) and one row per record, every value
 *   in double quotes (a quote doubled), null as an empty value, booleans `true`/`false`, datetimes
 *   `2024-05-01T09:30:00.000Z`. Headers `Sforce-NumberOfRecords` (rows in this set) and
 *   `Sforce-Locator` (the next set's locator, or the string `null` after the last). A locator stays
 *   valid as long as the job exists. Results of a job that is not `JobComplete` answer 412
 *   `JOB_NOT_COMPLETE`. Results are read with the API version that created the job: another version
 *   answers 409 ("Get Results for a Query Job").
 * - `PATCH …/jobs/query/{id}` `{state: "Aborted"}` aborts a job that has not finished ("Abort a Query
 *   Job"); `DELETE …/jobs/query/{id}` deletes a terminated job (`JobComplete`, `Aborted`, `Failed`) with
 *   204, and refuses any other with 400 `API_ERROR` "Error encountered when deleting the job because the
 *   job is not terminated" ("Delete a Query Job"); both answer 404 for an unknown job.
 * - `GET …/jobs/query[?jobType=&queryLocator=]` lists the org's query jobs ("Get Information About All
 *   Query Jobs"): `{done, records, nextRecordsUrl}`, `nextRecordsUrl` null on the last set. The local org
 *   has Bulk API 2.0 query jobs only, so `jobType=Classic` or `V2Ingest` lists none.
 */
import express, { type Request, type Response, type Router } from 'express';
import { SalesforceError } from './errors';
import { makeId } from './ids';
import { runQuery, parseSoql, type QueryContext, type QueryResult } from './soql';
import { formatDateTime, parseDateTime } from './time';
import type { Runtime, Session } from './server';

const DELIMITERS: Record<string, string> = {
    BACKQUOTE: '`',
    CARET: '^',
    COMMA: ',',
    PIPE: '|',
    SEMICOLON: ';',
    TAB: '\t'
};
const LINE_ENDINGS: Record<string, string> = { LF: '\n', CRLF: '\r\n' };
/** Result set size when the request names none ("a default value based on the service"). */
export const DEFAULT_MAX_RECORDS = 10_000;
const MIN_API_VERSION = 47;
/** Jobs per set of the all-query-jobs list (the documented example's locators step by 1,000). */
export const JOB_LIST_SIZE = 1_000;
const JOB_TYPES = new Set(['Classic', 'V2Query', 'V2Ingest']);
const TERMINAL: ReadonlySet<JobState> = new Set<JobState>(['JobComplete', 'Aborted', 'Failed']);

type JobState = 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Aborted' | 'Failed';

interface QueryJob {
    id: string;
    operation: 'query' | 'queryAll';
    object: string;
    createdById: string;
    createdDate: string;
    systemModstamp: string;
    state: JobState;
    apiVersion: string;
    columnDelimiter: string;
    lineEnding: string;
    result: QueryResult;
    started: number;
    finished?: number;
}

function jobError(status: number, errorCode: string, message: string): SalesforceError {
    return new SalesforceError(status, errorCode, message);
}

function csvValue(value: unknown, type: string): string {
    if (value === null || value === undefined) return '""';
    let text: string;
    if (type === 'datetime' && typeof value === 'string') {
        // Stored as the REST API writes them, in UTC (`…+0000`); the Bulk API writes `…Z`.
        if (value.endsWith('+0000')) text = `${value.slice(0, -5)}Z`;
        else {
            const ms = parseDateTime(value);
            text = ms === undefined ? value : new Date(ms).toISOString();
        }
    } else {
        text = String(value);
    }
    return `"${text.replace(/"/g, '""')}"`;
}

/** The locator of the set starting at this offset: Salesforce's look like `MTAwMDA` (base64 of "10000"). */
function locatorOf(offset: number): string {
    return Buffer.from(String(offset)).toString('base64').replace(/=+$/, '');
}

function offsetOf(locator: string): number | undefined {
    const text = Buffer.from(locator, 'base64').toString('utf8');
    return /^\d+$/.test(text) ? Number(text) : undefined;
}

export function bulkQueryRoutes(
    rt: Runtime,
    apiVersion: (res: Response) => string,
    queryContext: (userId: string, apiVersion: string, includeDeleted: boolean) => QueryContext
): Router {
    const router = express.Router();
    const jobs = new Map<string, QueryJob>();
    let counter = 0;

    const info = (job: QueryJob, full: boolean): Record<string, unknown> => {
        const base: Record<string, unknown> = {
            id: job.id,
            operation: job.operation,
            object: job.object,
            createdById: job.createdById,
            createdDate: job.createdDate,
            systemModstamp: job.systemModstamp,
            state: job.state,
            concurrencyMode: 'Parallel',
            contentType: 'CSV',
            apiVersion: Number(job.apiVersion),
            lineEnding: job.lineEnding,
            columnDelimiter: job.columnDelimiter
        };
        if (!full) return base;
        return {
            ...base,
            jobType: 'V2Query',
            numberRecordsProcessed: job.state === 'JobComplete' ? job.result.totalSize : 0,
            retries: 0,
            totalProcessingTime: job.finished ? job.finished - job.started : 0,
            isPkChunkingSupported: true
        };
    };

    const versionCheck = (res: Response): void => {
        if (Number(apiVersion(res)) < MIN_API_VERSION)
            throw jobError(404, 'NOT_FOUND', 'The requested resource does not exist');
    };

    const jobOf = (req: Request, res: Response): QueryJob => {
        versionCheck(res);
        const job = jobs.get(String(req.params.id));
        if (!job) throw jobError(404, 'NOT_FOUND', 'The requested resource does not exist');
        return job;
    };

    const setState = (job: QueryJob, state: JobState): void => {
        job.state = state;
        job.systemModstamp = formatDateTime(Date.now());
    };

    router.post('/', (req: Request, res: Response) => {
        versionCheck(res);
        const body = (req.body ?? {}) as Record<string, unknown>;
        const operation = body.operation;
        if (operation !== 'query' && operation !== 'queryAll')
            throw jobError(400, 'INVALIDJOB', `Invalid operation: ${String(operation ?? '')}`);
        if (typeof body.query !== 'string' || body.query.trim() === '')
            throw jobError(400, 'INVALIDJOB', 'A query is required');
        const columnDelimiter = String(body.columnDelimiter ?? 'COMMA');
        const lineEnding = String(body.lineEnding ?? 'LF');
        if (!(columnDelimiter in DELIMITERS))
            throw jobError(400, 'INVALIDJOB', `Invalid column delimiter: ${columnDelimiter}`);
        if (!(lineEnding in LINE_ENDINGS))
            throw jobError(400, 'INVALIDJOB', `Invalid line ending: ${lineEnding}`);
        if (body.contentType !== undefined && body.contentType !== 'CSV')
            throw jobError(400, 'INVALIDJOB', `Invalid content type: ${String(body.contentType)}`);
        const soql = body.query;
        const session = res.locals.session as Session;
        let result: QueryResult;
        try {
            const parsed = parseSoql(soql) as {
                groupBy?: unknown;
                offset?: number;
                fields?: Array<{ isAggregateFn?: boolean; type?: string }>;
            };
            if (parsed.groupBy !== undefined || parsed.offset !== undefined)
                throw jobError(
                    400,
                    'INVALIDJOB',
                    'GROUP BY and OFFSET are not supported by Bulk API 2.0 queries'
                );
            if ((parsed.fields ?? []).some((f) => f.isAggregateFn || f.type === 'FieldFunctionExpression'))
                throw jobError(
                    400,
                    'INVALIDJOB',
                    'Aggregate functions are not supported by Bulk API 2.0 queries'
                );
            if ((parsed.fields ?? []).some((f) => f.type === 'FieldSubquery'))
                throw jobError(
                    400,
                    'INVALIDJOB',
                    'Parent-to-child relationship queries are not supported by Bulk API 2.0 queries'
                );
            result = runQuery(queryContext(session.userId, apiVersion(res), operation === 'queryAll'), soql);
        } catch (error) {
            if (error instanceof SalesforceError && error.errorCode !== 'INVALIDJOB')
                throw jobError(400, 'INVALIDJOB', error.message);
            throw error;
        }
        const object = result.columns.length > 0 ? (/\bFROM\s+(\w+)/i.exec(soql)?.[1] ?? '') : '';
        const def = rt.store.schema.byLower.get(object.toLowerCase());
        const now = Date.now();
        const job: QueryJob = {
            id: makeId('750', ++counter),
            operation,
            object: def?.name ?? object,
            createdById: session.userId,
            createdDate: formatDateTime(now),
            systemModstamp: formatDateTime(now),
            state: 'UploadComplete',
            apiVersion: apiVersion(res),
            columnDelimiter,
            lineEnding,
            result,
            started: now
        };
        jobs.set(job.id, job);
        // The job runs apart from the request, as on the platform. With the org's bulk delay it waits queued
        // (UploadComplete) for the first half and runs (InProgress) for the second; without, it ends at once.
        const delay = rt.faults.bulkDelayMs;
        const later = (fn: () => void, ms: number): void => {
            if (ms > 0) setTimeout(fn, ms).unref();
            else setImmediate(fn);
        };
        later(
            () => {
                if (job.state !== 'UploadComplete') return;
                setState(job, 'InProgress');
                later(
                    () => {
                        if (job.state !== 'InProgress') return;
                        // Matching is done when the query runs; reading the first record forces any lazy work.
                        job.result.page(0, 1);
                        job.finished = Date.now();
                        setState(job, 'JobComplete');
                    },
                    delay - Math.floor(delay / 2)
                );
            },
            Math.floor(delay / 2)
        );
        res.status(200).json(info(job, false));
    });

    router.get('/', (req: Request, res: Response) => {
        versionCheck(res);
        const jobType = typeof req.query.jobType === 'string' ? req.query.jobType : undefined;
        if (jobType !== undefined && !JOB_TYPES.has(jobType))
            throw jobError(400, 'INVALIDJOB', `Invalid jobType: ${jobType}`);
        const rawLocator = typeof req.query.queryLocator === 'string' ? req.query.queryLocator : '';
        const offset = rawLocator === '' ? 0 : offsetOf(rawLocator);
        // The local org holds Bulk API 2.0 query jobs only: Classic and V2Ingest list none.
        const listed = jobType === undefined || jobType === 'V2Query' ? [...jobs.values()] : [];
        if (offset === undefined || offset > listed.length)
            throw jobError(400, 'INVALIDJOB', `Invalid queryLocator: ${rawLocator}`);
        const end = Math.min(offset + JOB_LIST_SIZE, listed.length);
        const done = end >= listed.length;
        const next = new URLSearchParams(jobType === undefined ? {} : { jobType });
        next.set('queryLocator', locatorOf(end));
        res.json({
            done,
            records: listed.slice(offset, end).map((job) => ({ ...info(job, false), jobType: 'V2Query' })),
            nextRecordsUrl: done ? null : `/services/data/v${apiVersion(res)}/jobs/query?${next.toString()}`
        });
    });

    router.get('/:id', (req: Request, res: Response) => {
        res.json(info(jobOf(req, res), true));
    });

    router.patch('/:id', (req: Request, res: Response) => {
        const job = jobOf(req, res);
        const state = (req.body as { state?: unknown } | undefined)?.state;
        if (state !== 'Aborted')
            throw jobError(400, 'INVALIDJOBSTATE', `Invalid state: ${String(state ?? '')}`);
        if (job.state !== 'UploadComplete' && job.state !== 'InProgress')
            throw jobError(400, 'INVALIDJOBSTATE', `Cannot abort a job in state ${job.state}`);
        setState(job, 'Aborted');
        res.json(info(job, false));
    });

    router.delete('/:id', (req: Request, res: Response) => {
        const job = jobOf(req, res);
        if (!TERMINAL.has(job.state))
            throw jobError(
                400,
                'API_ERROR',
                'Error encountered when deleting the job because the job is not terminated'
            );
        jobs.delete(job.id);
        res.status(204).end();
    });

    router.get('/:id/results', (req: Request, res: Response) => {
        const job = jobOf(req, res);
        if (apiVersion(res) !== job.apiVersion)
            throw jobError(
                409,
                'API_ERROR',
                `Read the results of query job ${job.id} with API version ${job.apiVersion}, the version that created it, not ${apiVersion(res)}`
            );
        if (job.state !== 'JobComplete') {
            throw jobError(
                412,
                'JOB_NOT_COMPLETE',
                `can only download query results of successfully completed bulk job with status: JOB_COMPLETE. Current status: ${job.state.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}`
            );
        }
        const rawMax = req.query.maxRecords;
        const maxRecords = rawMax === undefined ? DEFAULT_MAX_RECORDS : Number(rawMax);
        if (!Number.isInteger(maxRecords) || maxRecords <= 0)
            throw jobError(400, 'INVALIDJOB', `Invalid maxRecords: ${String(rawMax)}`);
        const rawLocator = typeof req.query.locator === 'string' ? req.query.locator : '';
        const offset = rawLocator === '' ? 0 : offsetOf(rawLocator);
        if (offset === undefined || offset > job.result.totalSize)
            throw jobError(400, 'INVALIDJOB', `Invalid locator: ${rawLocator}`);
        const rows = job.result.page(offset, maxRecords);
        const delimiter = DELIMITERS[job.columnDelimiter];
        const newline = LINE_ENDINGS[job.lineEnding];
        const columns = job.result.columns;
        const lines = [columns.map((c) => `"${c.name}"`).join(delimiter)];
        for (const row of rows) lines.push(columns.map((c) => csvValue(c.get(row), c.type)).join(delimiter));
        const end = offset + rows.length;
        res.setHeader('Sforce-NumberOfRecords', String(rows.length));
        res.setHeader('Sforce-Locator', end < job.result.totalSize ? locatorOf(end) : 'null');
        res.type('text/csv; charset=UTF-8').send(lines.join(newline) + newline);
    });

    return router;
}
