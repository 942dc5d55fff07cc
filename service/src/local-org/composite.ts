/**
 * The Composite resource (`POST /services/data/vXX.X/composite`) as the REST API Developer Guide describes it
 * ("Send Multiple Requests Using Composite", "Composite Request Body", "Composite Subrequest Result"):
 *
 * - the whole series counts as one call toward the API limits (the server counts the POST, nothing else);
 * - it runs the resources the guide lists: every sObject resource (`…/sobjects/…`, rows by id or by external
 *   id included), query and queryAll (and a further page of either), sObject Collections
 *   (`…/composite/sobjects…`); the server hands each subrequest to the same handler as the plain request;
 * - at most 25 subrequests, of which at most 5 query operations (query, queryAll, a further page of either)
 *   or sObject Collections; a request over either limit is refused whole;
 * - every subrequest names a `referenceId`: one missing refuses the request with 400 JSON_PARSER_ERROR
 *   "'referenceId' is a required field." ("Handle Errors with Composite Resources"); it starts with a letter
 *   or a number and holds only letters, numbers and underscores — from API version 52.0 an illegal one
 *   refuses the whole request, before it any subrequest that used it failed alone ("Composite Subrequest
 *   Result", "Behavior and Responses If There Are Illegal Characters in Reference IDs");
 * - later subrequests use `@{referenceId.field}` / `@{referenceId.records[0].Id}` in their url or body;
 * - the top-level answer is 200 with one result per subrequest, in order: `body`, `httpHeaders` (a create's
 *   `Location`; never `Content-Length`, which the Composite resource does not support, neither here nor on
 *   the top-level answer), `httpStatusCode`, `referenceId`. A failing subrequest's body is the usual error
 *   array;
 * - `allOrNone: false` (the default): the other subrequests run, those that refer to a failed one answer
 *   400 PROCESSING_HALTED; `allOrNone: true`: once one fails, every other answers 400 PROCESSING_HALTED and
 *   the server rolls back what the earlier ones wrote.
 *
 * Any other resource as a subrequest (limits, describe of the whole org's limits, tooling…) answers 400 with
 * errorCode NOT_SUPPORTED_BY_LOCAL_ORG, so a test that needs one fails loudly instead of passing on an
 * invented behaviour.
 */
import { SalesforceError } from './errors';

export const COMPOSITE_MAX_SUBREQUESTS = 25;
export const COMPOSITE_MAX_QUERIES = 5;
/** From this API version an illegal referenceId refuses the whole request. */
export const STRICT_REFERENCE_ID_VERSION = 52;

const REFERENCE_ID = /^[A-Za-z0-9][A-Za-z0-9_]*$/;
const REFERENCE = /@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}/g;
const WHOLE_REFERENCE = /^@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}$/;
const QUERY_URL = /^\/services\/data\/v\d{2}\.\d\/(?:queryAll|query)(?:[/?]|$)/;
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

/** What one subrequest answered: as the plain request would have, headers the handler set included. */
export interface SubrequestAnswer {
    status: number;
    body: unknown;
    headers: Record<string, string>;
}

/** Runs one subrequest (method, url with its query string, body); throws SalesforceError when refused. */
export type SubrequestRunner = (method: string, url: string, body: unknown) => SubrequestAnswer;

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

function illegalReferenceId(ref: string): SalesforceError {
    return new SalesforceError(
        400,
        'JSON_PARSER_ERROR',
        `Provided referenceId ('${ref}') must start with a letter or a number, and it can contain only letters, numbers and underscores ('_').`
    );
}

/** Validates the request as a whole: anything wrong here refuses the request, nothing runs. */
function validate(
    input: unknown,
    apiVersion: number
): { allOrNone: boolean; subrequests: CompositeSubrequest[] } {
    const body = (input ?? {}) as { allOrNone?: unknown; compositeRequest?: unknown };
    if (!Array.isArray(body.compositeRequest)) {
        throw new SalesforceError(400, 'JSON_PARSER_ERROR', "'compositeRequest' is a required field.");
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
        if (sub === null || typeof sub !== 'object')
            throw new SalesforceError(400, 'JSON_PARSER_ERROR', 'Every subrequest must be an object.');
        for (const field of ['method', 'url', 'referenceId'] as const) {
            if (typeof sub[field] !== 'string' || sub[field] === '')
                throw new SalesforceError(400, 'JSON_PARSER_ERROR', `'${field}' is a required field.`);
        }
        const ref = sub.referenceId as string;
        if (!REFERENCE_ID.test(ref) && apiVersion >= STRICT_REFERENCE_ID_VERSION)
            throw illegalReferenceId(ref);
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

/**
 * Runs a composite request; throws SalesforceError for a request refused as a whole. `failed` tells the
 * caller, who owns the transaction, that allOrNone asks it to roll back what the subrequests wrote.
 */
export function runComposite(
    input: unknown,
    apiVersion: number,
    run: SubrequestRunner
): { compositeResponse: CompositeSubrequestResult[]; rollBack: boolean } {
    const { allOrNone, subrequests } = validate(input, apiVersion);
    const results: CompositeSubrequestResult[] = [];
    const bodies = new Map<string, { ok: boolean; body: unknown }>();
    let failed = false;
    for (const sub of subrequests) {
        const referenceId = String(sub.referenceId);
        const answer = (httpStatusCode: number, body: unknown, httpHeaders: Record<string, string> = {}) => {
            const ok = httpStatusCode < 300;
            if (!ok) failed = true;
            bodies.set(referenceId, { ok, body });
            results.push({ body, httpHeaders, httpStatusCode, referenceId });
        };
        if (allOrNone && failed) {
            answer(400, errorBody('PROCESSING_HALTED', HALTED));
            continue;
        }
        // References: to an earlier subrequest that succeeded and holds the value.
        let unresolved: string | undefined;
        const resolve = (ref: string, path: string): unknown => {
            // Before v52.0 a subrequest with an illegal referenceId runs, but nothing can refer to it.
            const earlier = REFERENCE_ID.test(ref) ? bodies.get(ref) : undefined;
            const value = earlier?.ok ? lookup(earlier.body, path) : undefined;
            if (value === undefined || value === null || typeof value === 'object') {
                unresolved ??=
                    earlier?.ok === false
                        ? `${ref} failed`
                        : `No value for ${ref}${path} found in ${ref}. Provided referenceId ('${ref}${path}') must start with a letter or a number, and it can contain only letters, numbers and underscores ('_').`;
                return undefined;
            }
            return value;
        };
        const url = String(sub.url).replace(REFERENCE, (whole, ref: string, path: string) => {
            const value = resolve(ref, path);
            return value === undefined ? whole : encodeURIComponent(String(value));
        });
        const body = substitute(sub.body, resolve);
        if (unresolved) {
            answer(400, errorBody('PROCESSING_HALTED', `Invalid reference specified. ${unresolved}`));
            continue;
        }
        try {
            const result = run(String(sub.method), url, body);
            answer(result.status, result.body, result.headers);
        } catch (error) {
            if (!(error instanceof SalesforceError)) throw error;
            answer(error.status, error.body());
        }
    }
    if (allOrNone && failed) {
        // Every subrequest but the one that failed answers PROCESSING_HALTED (the ones before it too).
        const first = results.findIndex((result) => result.httpStatusCode >= 300);
        for (let i = 0; i < first; i++) {
            results[i] = {
                ...results[i],
                httpHeaders: {},
                httpStatusCode: 400,
                body: errorBody('PROCESSING_HALTED', HALTED)
            };
        }
    }
    return { compositeResponse: results, rollBack: allOrNone && failed };
}

/**
 * References in a subrequest's body: a string that is one reference becomes the value itself (a number
 * stays a number); a reference inside a longer string is put in as text.
 */
function substitute(value: unknown, resolve: (ref: string, path: string) => unknown): unknown {
    if (typeof value === 'string') {
        const whole = WHOLE_REFERENCE.exec(value);
        if (whole) return resolve(whole[1], whole[2]) ?? value;
        return value.replace(REFERENCE, (text, ref: string, path: string) => {
            const found = resolve(ref, path);
            return found === undefined ? text : String(found);
        });
    }
    if (Array.isArray(value)) return value.map((item) => substitute(item, resolve));
    if (value !== null && typeof value === 'object') {
        return Object.fromEntries(
            Object.entries(value as Record<string, unknown>).map(([key, item]) => [
                key,
                substitute(item, resolve)
            ])
        );
    }
    return value;
}
