/**
 * The Composite resource (`POST /services/data/vXX.X/composite`) as the REST API Developer Guide describes it
 * ("Send Multiple Requests Using Composite", "Composite Request Body", "Composite Subrequest Result"):
 *
 * - the whole series counts as one call toward the API limits (the server counts the POST, nothing else);
 * - at most 25 subrequests, of which at most 5 query operations (query, queryAll, a further page of either)
 *   or sObject Collections; a request over either limit is refused whole;
 * - every subrequest names a `referenceId` (letters, digits and underscores, unique in the request); later
 *   subrequests may use `@{referenceId.field}` / `@{referenceId.records[0].Id}` in their url;
 * - the top-level answer is 200 with one result per subrequest, in order: `body`, `httpHeaders`,
 *   `httpStatusCode`, `referenceId`. A failing subrequest's body is the usual error array;
 * - `allOrNone: false` (the default): the other subrequests run, those that refer to a failed one answer
 *   400 PROCESSING_HALTED; `allOrNone: true`: once one fails, every other answers 400 PROCESSING_HALTED.
 *
 * The local org emulates the query subrequests (`GET …/query?q=`, `…/queryAll?q=`, and the
 * `nextRecordsUrl` of either); any other subrequest answers 400 with errorCode NOT_SUPPORTED_BY_LOCAL_ORG,
 * so a test that needs one fails loudly instead of passing on an invented behaviour.
 */
import { SalesforceError } from './errors';

export const COMPOSITE_MAX_SUBREQUESTS = 25;
export const COMPOSITE_MAX_QUERIES = 5;

const REFERENCE_ID = /^[A-Za-z0-9_]+$/;
const REFERENCE = /@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}/g;
const QUERY_URL = /^\/services\/data\/v(\d{2}\.\d)\/(queryAll|query)(?:\/([^/?]+))?\/?(?:\?(.*))?$/;
const COLLECTIONS_URL = /^\/services\/data\/v\d{2}\.\d\/composite\/sobjects(?:[/?]|$)/;
const HALTED = 'The transaction was rolled back since another operation in the same transaction failed.';

export interface CompositeSubrequest {
    method?: unknown;
    url?: unknown;
    referenceId?: unknown;
    body?: unknown;
    httpHeaders?: unknown;
}

export interface CompositeSubrequestResult {
    body: unknown;
    httpHeaders: Record<string, string>;
    httpStatusCode: number;
    referenceId: string;
}

export interface CompositeHandlers {
    /** The first page of a SOQL query, as the query resource answers it. */
    query(soql: string, scanAll: boolean): unknown;
    /** A further page, by the locator of a nextRecordsUrl. */
    queryMore(locator: string, scanAll: boolean): unknown;
}

function errorBody(errorCode: string, message: string): Array<{ errorCode: string; message: string }> {
    return [{ errorCode, message }];
}

/** A query operation in the sense of the limit: query, queryAll, a further page of either, a collection. */
function isQueryOperation(sub: CompositeSubrequest): boolean {
    const url = typeof sub.url === 'string' ? sub.url : '';
    return QUERY_URL.test(url) || COLLECTIONS_URL.test(url);
}

/** The value at `path` (`.records[0].Id`) in an earlier subrequest's body, or undefined. */
function lookup(body: unknown, path: string): unknown {
    let value: unknown = body;
    for (const [, key, index] of path.matchAll(/\.([A-Za-z0-9_]+)|\[(\d+)\]/g)) {
        if (value === null || typeof value !== 'object') return undefined;
        value =
            key !== undefined ? (value as Record<string, unknown>)[key] : (value as unknown[])[Number(index)];
    }
    return value;
}

/** Validates the request as a whole: anything wrong here refuses the request, nothing runs. */
function validate(input: unknown): { allOrNone: boolean; subrequests: CompositeSubrequest[] } {
    const body = (input ?? {}) as { allOrNone?: unknown; compositeRequest?: unknown };
    if (!Array.isArray(body.compositeRequest)) {
        throw new SalesforceError(400, 'JSON_PARSER_ERROR', 'compositeRequest is required');
    }
    const subrequests = body.compositeRequest as CompositeSubrequest[];
    if (subrequests.length > COMPOSITE_MAX_SUBREQUESTS) {
        throw new SalesforceError(
            400,
            'LIMIT_EXCEEDED',
            `A composite request can hold at most ${COMPOSITE_MAX_SUBREQUESTS} subrequests; it has ${subrequests.length}`
        );
    }
    const queries = subrequests.filter(isQueryOperation).length;
    if (queries > COMPOSITE_MAX_QUERIES) {
        throw new SalesforceError(
            400,
            'LIMIT_EXCEEDED',
            `A composite request can hold at most ${COMPOSITE_MAX_QUERIES} query or sObject Collections operations; it has ${queries}`
        );
    }
    const seen = new Set<string>();
    for (const sub of subrequests) {
        if (
            sub === null ||
            typeof sub !== 'object' ||
            typeof sub.url !== 'string' ||
            typeof sub.method !== 'string'
        )
            throw new SalesforceError(400, 'JSON_PARSER_ERROR', 'Every subrequest needs a method and a url');
        const ref = sub.referenceId;
        if (typeof ref !== 'string' || !REFERENCE_ID.test(ref)) {
            throw new SalesforceError(
                400,
                'INVALID_INPUT',
                `Invalid referenceId ${JSON.stringify(ref ?? null)}: use only letters, numbers and underscores`
            );
        }
        if (seen.has(ref))
            throw new SalesforceError(
                400,
                'INVALID_INPUT',
                `Duplicate referenceId provided in the request: ${ref}`
            );
        seen.add(ref);
    }
    return { allOrNone: body.allOrNone === true, subrequests };
}

/** Runs a composite request; throws SalesforceError for a request refused as a whole. */
export function runComposite(
    input: unknown,
    handlers: CompositeHandlers
): { compositeResponse: CompositeSubrequestResult[] } {
    const { allOrNone, subrequests } = validate(input);
    const results: CompositeSubrequestResult[] = [];
    const bodies = new Map<string, { ok: boolean; body: unknown }>();
    let failed = false;
    for (const sub of subrequests) {
        const referenceId = String(sub.referenceId);
        const answer = (httpStatusCode: number, body: unknown): void => {
            const ok = httpStatusCode < 300;
            if (!ok) failed = true;
            bodies.set(referenceId, { ok, body });
            results.push({ body, httpHeaders: {}, httpStatusCode, referenceId });
        };
        if (allOrNone && failed) {
            answer(400, errorBody('PROCESSING_HALTED', HALTED));
            continue;
        }
        // References: to an earlier subrequest that succeeded and holds the value.
        let unresolved: string | undefined;
        const url = String(sub.url).replace(REFERENCE, (whole, ref: string, path: string) => {
            const earlier = bodies.get(ref);
            const value = earlier?.ok ? lookup(earlier.body, path) : undefined;
            if (value === undefined || value === null || typeof value === 'object') {
                unresolved ??=
                    earlier?.ok === false ? `${ref} failed` : `No value for ${whole.slice(2, -1)} found`;
                return whole;
            }
            return encodeURIComponent(String(value));
        });
        if (unresolved) {
            answer(400, errorBody('PROCESSING_HALTED', `Invalid reference specified. ${unresolved}`));
            continue;
        }
        try {
            answer(200, dispatch(String(sub.method), url, handlers));
        } catch (error) {
            if (!(error instanceof SalesforceError)) throw error;
            answer(error.status, error.body());
        }
    }
    if (allOrNone && failed) {
        // Every subrequest but the one that failed answers PROCESSING_HALTED (the ones before it too).
        const first = results.findIndex((result) => result.httpStatusCode >= 300);
        for (let i = 0; i < first; i++) {
            results[i] = { ...results[i], httpStatusCode: 400, body: errorBody('PROCESSING_HALTED', HALTED) };
        }
    }
    return { compositeResponse: results };
}

function dispatch(method: string, url: string, handlers: CompositeHandlers): unknown {
    const query = QUERY_URL.exec(url);
    if (!query) {
        if (!url.startsWith('/services/data/v'))
            throw new SalesforceError(404, 'NOT_FOUND', 'The requested resource does not exist');
        throw new SalesforceError(
            400,
            'NOT_SUPPORTED_BY_LOCAL_ORG',
            `The local org emulates only query and queryAll subrequests in a composite request, not ${method} ${url.split('?')[0]}`
        );
    }
    if (method !== 'GET') {
        throw new SalesforceError(
            405,
            'METHOD_NOT_ALLOWED',
            `HTTP Method '${method}' not allowed. Allowed are GET`
        );
    }
    const [, , resource, locator, search] = query;
    const scanAll = resource === 'queryAll';
    if (locator) return handlers.queryMore(decodeURIComponent(locator), scanAll);
    const q = new URLSearchParams(search ?? '').get('q') ?? '';
    return handlers.query(q, scanAll);
}
