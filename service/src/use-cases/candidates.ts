/**
 * How an evaluation reads its candidate users: page by page, never all at once (DESIGN §2 step 2,
 * bounded memory). Each planned query starts on the REST API; its first page says how many records it
 * matches (totalSize). Up to BULK_QUERY_ABOVE candidates the query goes on with queryMore; above, the
 * rest is read through a Bulk API 2.0 query job, whose result sets carry up to 50,000 records per
 * call instead of 2,000 (docs/decisions.md has the measurements behind the threshold). The records of
 * the first REST page are not read twice. A user several planned queries return is handed over once.
 */
import type { Schema, UserRecord } from '../engine';
import { AppError } from '../errors';
import { STOP_READING, type BulkRow, type OrgGateway } from '../ports';

/**
 * True when the org refused a request for what it asked (a 4xx answer: an invalid field, a malformed query,
 * an invalid ID, a request too long), not because it was unavailable, out of API calls or signed out: asking
 * again, or asking something else, may then succeed.
 */
export function isOrgRefusal(error: unknown): error is AppError {
    return error instanceof AppError && error.code === 'ORG_REQUEST_FAILED';
}

/**
 * A candidate query the org refused before answering any page of it. It is the org's error (same code,
 * message and status), so a caller that does not isolate the sets behind the query fails as before; the
 * evaluation catches it to find which set the org refuses (./refused-sets).
 */
export class CandidateQueryRefused extends AppError {
    constructor(
        readonly soql: string,
        readonly refusal: AppError
    ) {
        super(refusal.code, refusal.message, {
            status: refusal.status,
            cause: refusal,
            details: refusal.details
        });
        this.name = 'CandidateQueryRefused';
    }
}

/** Candidates above which a query is read by a Bulk API 2.0 query job rather than queryMore. */
export const BULK_QUERY_ABOVE = 10_000;

export interface CandidatePage {
    users: UserRecord[];
    /** Candidates the query of this page matches (its REST totalSize). */
    querySize: number;
    /** How many queries the evaluation runs. */
    queries: number;
    path: 'rest' | 'bulk';
}

export interface CandidateReadStats {
    pages: number;
    restPages: number;
    bulkPages: number;
    candidates: number;
    bulkJobs: number;
}

export interface CandidateReadOptions {
    /** Overrides BULK_QUERY_ABOVE (tests, the bench's forced paths); Infinity: REST only. */
    bulkAbove?: number;
}

const NUMERIC_TYPES = new Set(['int', 'double', 'currency', 'percent', 'long']);

interface CsvColumn {
    column: string;
    type?: string;
    /** The relationship and the field's name on the parent, for a parent's field (`UserRole.Name`). */
    relationship?: string;
    name: string;
}

/** How each column of a result set is typed and placed: resolved once per column, not once per cell. */
function csvColumns(columns: string[], schema: Schema): CsvColumn[] {
    return columns.map((column) => {
        const dot = column.indexOf('.');
        return {
            column,
            type: schema.resolve(column)?.type,
            relationship: dot < 0 ? undefined : column.slice(0, dot),
            name: dot < 0 ? column : column.slice(dot + 1)
        };
    });
}

function recordFromColumns(row: BulkRow, columns: CsvColumn[]): UserRecord {
    const record: Record<string, unknown> = {};
    let parents: string[] | undefined;
    for (const { column, type, relationship, name } of columns) {
        const text = row[column];
        let value: unknown = text === '' ? null : text;
        if (value !== null && type) {
            if (type === 'boolean') value = text === 'true';
            else if (NUMERIC_TYPES.has(type)) value = Number(text);
            else if (type === 'datetime') value = text.replace(/Z$/, '+0000');
        }
        if (!relationship) {
            record[column] = value;
            continue;
        }
        let parent = record[relationship] as Record<string, unknown> | undefined;
        if (!parent) {
            record[relationship] = parent = {};
            (parents ??= []).push(relationship);
        }
        parent[name] = value;
    }
    for (const relationship of parents ?? []) {
        const parent = record[relationship] as Record<string, unknown>;
        if (Object.values(parent).every((v) => v === null)) record[relationship] = null;
    }
    return record as UserRecord;
}

/**
 * A Bulk API 2.0 CSV row as the REST API would have returned the record: empty is null, booleans and
 * numbers typed by the User describe, datetimes in the REST API's form, and a parent's fields under
 * the relationship (`{ Profile: { Name } }`, null when every one of them is empty: no parent).
 */
export function recordFromCsv(row: BulkRow, schema: Schema): UserRecord {
    return recordFromColumns(row, csvColumns(Object.keys(row), schema));
}

/** The rows of one result set (every row has the result set's columns). */
function recordsFromCsv(rows: BulkRow[], schema: Schema): UserRecord[] {
    if (rows.length === 0) return [];
    const columns = csvColumns(Object.keys(rows[0]), schema);
    return rows.map((row) => recordFromColumns(row, columns));
}

/**
 * Reads the candidates of every query and hands them over one page at a time; each page's consumer
 * finishes before the next page is read.
 */
export async function forEachCandidatePage(
    org: OrgGateway,
    queries: string[],
    schema: Schema,
    onPage: (page: CandidatePage) => Promise<void> | void,
    options: CandidateReadOptions = {}
): Promise<CandidateReadStats> {
    const bulkAbove = options.bulkAbove ?? BULK_QUERY_ABOVE;
    const stats: CandidateReadStats = { pages: 0, restPages: 0, bulkPages: 0, candidates: 0, bulkJobs: 0 };
    // Only several queries can return a user twice; one query's ids need no memory.
    const seen = queries.length > 1 ? new Set<string>() : undefined;
    const fresh = (users: UserRecord[]): UserRecord[] => {
        if (!seen) return users;
        const out: UserRecord[] = [];
        for (const user of users) {
            if (seen.has(user.Id)) continue;
            seen.add(user.Id);
            out.push(user);
        }
        return out;
    };
    const hand = async (users: UserRecord[], querySize: number, path: 'rest' | 'bulk') => {
        stats.pages++;
        if (path === 'rest') stats.restPages++;
        else stats.bulkPages++;
        stats.candidates += users.length;
        await onPage({ users, querySize, queries: queries.length, path });
    };
    for (const soql of queries) {
        let bulk: { size: number; firstPage: Set<string> } | undefined;
        // An error before the first page is the org's answer to the query itself; after it, to a further page
        // or to what the consumer of a page read.
        let answered = false;
        try {
            await org.queryPages<UserRecord>(soql, async (records, page) => {
                answered = true;
                await hand(fresh(records), page.totalSize, 'rest');
                if (page.index === 0 && page.totalSize > bulkAbove && records.length < page.totalSize) {
                    bulk = { size: page.totalSize, firstPage: new Set(records.map((user) => user.Id)) };
                    return STOP_READING;
                }
                return undefined;
            });
        } catch (error) {
            if (!answered && isOrgRefusal(error)) throw new CandidateQueryRefused(soql, error);
            throw error;
        }
        if (!bulk) continue;
        const { size, firstPage } = bulk;
        stats.bulkJobs++;
        await org.bulkQuery(soql, async (rows) => {
            const users = recordsFromCsv(rows, schema).filter((user) => !firstPage.has(user.Id));
            await hand(fresh(users), size, 'bulk');
        });
    }
    return stats;
}

/**
 * A record whose strings are its own. Bulk API rows are slices of their result set's text
 * (adapters/csv.ts), and V8 keeps a slice of 13 characters or more as a view on the whole text it came from:
 * a user kept for the rest of a run (an eligible entry) would keep its whole result set (megabytes) alive.
 * Concatenating and slicing back makes a private copy.
 */
export function ownStrings<T extends object>(record: T): T {
    const copy = { ...record } as Record<string, unknown>;
    for (const key of Object.keys(copy)) {
        const value = copy[key];
        if (typeof value === 'string') copy[key] = ownString(value);
    }
    return copy as T;
}

/** A string of its own (see ownStrings). */
export function ownString(value: string): string {
    return value.length >= 13 ? `${value} `.slice(0, -1) : value;
}

/**
 * The ids of the active users' managers (IsManager), read as candidates are (REST, then the Bulk API above
 * the threshold: about 20 calls for 1,000,000 users instead of 500 pages), keeping only the distinct ids.
 */
export async function readManagerIds(
    org: OrgGateway,
    schema: Schema,
    readOptions: CandidateReadOptions | undefined
): Promise<Set<string>> {
    const managers = new Set<string>();
    try {
        await forEachCandidatePage(
            org,
            ['SELECT Id, ManagerId FROM User WHERE IsActive = true AND ManagerId != null'],
            schema,
            ({ users }) => {
                for (const user of users) {
                    const id = (user as { ManagerId?: unknown }).ManagerId;
                    // Kept past the page: a copy, not a view on the result set's text (ownStrings).
                    if (typeof id === 'string' && !managers.has(id)) managers.add(ownString(id));
                }
            },
            readOptions
        );
    } catch (error) {
        // No set's query: a refusal here is the org's error, not a set to isolate.
        throw error instanceof CandidateQueryRefused ? error.refusal : error;
    }
    return managers;
}
