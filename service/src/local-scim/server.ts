/**
 * The HTTP face of the local SCIM app: RFC 7644's endpoints under /scim/v2 (Users, Groups, .search,
 * Bulk, ServiceProviderConfig, ResourceTypes, Schemas), bearer-token auth, RFC 7644 §3.12 error
 * bodies, ETags, fault switches, and an admin route to set them.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { timingSafeEqual } from 'node:crypto';
import { invalidSyntax, invalidValue, notFound, ScimError } from './errors';
import { matches, parseFilter, requiredEquality } from './filter';
import { applyPatch, canonicalResource, checkResource, stripReadOnly } from './patch';
import {
    BULK_REQUEST,
    BULK_RESPONSE,
    getAttr,
    LIST_RESPONSE,
    RESOURCE_SCHEMAS,
    resourceTypeResources,
    schemaResources,
    SEARCH_REQUEST,
    SERVICE_PROVIDER_CONFIG_SCHEMA,
    type ResourceKind
} from './schemas';
import { ScimStore, type Resource } from './store';

export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';

/** One-shot faults apply to the next matching requests (optionally of one method), in the order set. */
export interface OneShotFault {
    kind: 'status' | 'rateLimit' | 'drop' | 'delay';
    remaining: number;
    method?: string;
    status?: number;
    retryAfterSeconds?: number;
    ms?: number;
}

export interface FaultState {
    oneShot: OneShotFault[];
    failFraction: number;
    failFractionStatus: number;
    latencyMs: number;
}

export interface Limits {
    maxResults: number;
    /** false: ServiceProviderConfig says bulk is not supported and /Bulk answers 501. */
    bulk: boolean;
    bulkMaxOperations: number;
    bulkMaxPayloadSize: number;
}

export interface ScimRuntime {
    store: ScimStore;
    /** The SCIM base URL (…/scim/v2), for meta.location and Location. */
    base(): string;
    token: string;
    faults: FaultState;
    limits: Limits;
    requests: { total: number; byMethod: Record<string, number> };
    log(line: string): void;
}

interface Outcome {
    status: number;
    body?: unknown;
    location?: string;
    etag?: string;
}

interface Conditions {
    ifMatch?: string;
    ifNoneMatch?: string;
}

function safeEqual(a: string, b: string): boolean {
    const x = Buffer.from(a);
    const y = Buffer.from(b);
    return x.length === y.length && timingSafeEqual(x, y);
}

function isObj(v: unknown): v is Record<string, unknown> {
    return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Weak comparison (RFC 9110 §8.8.3.2): `W/"3"` matches `"3"` and `W/"3"`; `*` matches anything. */
function etagMatches(header: string, etag: string): boolean {
    const strip = (t: string) => t.trim().replace(/^W\//, '');
    return header.split(',').some((t) => t.trim() === '*' || strip(t) === strip(etag));
}

function checkIfMatch(cond: Conditions, current: Resource): void {
    if (cond.ifMatch !== undefined && !etagMatches(cond.ifMatch, ScimStore.etag(current)))
        throw new ScimError(
            412,
            `the resource changed: its version is ${ScimStore.etag(current)}, not ${cond.ifMatch}`
        );
}

export function serviceProviderConfig(rt: ScimRuntime): Record<string, unknown> {
    return {
        schemas: [SERVICE_PROVIDER_CONFIG_SCHEMA],
        documentationUri: 'https://datatracker.ietf.org/doc/html/rfc7644',
        patch: { supported: true },
        bulk: {
            supported: rt.limits.bulk,
            maxOperations: rt.limits.bulkMaxOperations,
            maxPayloadSize: rt.limits.bulkMaxPayloadSize
        },
        filter: { supported: true, maxResults: rt.limits.maxResults },
        changePassword: { supported: false },
        sort: { supported: false },
        etag: { supported: true },
        authenticationSchemes: [
            {
                type: 'oauthbearertoken',
                name: 'OAuth Bearer Token',
                description: 'Authentication with a bearer token (RFC 6750)',
                specUri: 'https://www.rfc-editor.org/info/rfc6750',
                primary: true
            }
        ],
        meta: { resourceType: 'ServiceProviderConfig', location: `${rt.base()}/ServiceProviderConfig` }
    };
}

/** A stored resource as the app returns it: computed `groups`, `$ref`s, meta.location, no password. */
function render(
    rt: ScimRuntime,
    kind: ResourceKind,
    r: Resource,
    attributes?: string[],
    excluded?: string[]
): Resource {
    const base = rt.base();
    const out: Resource = {
        ...r,
        meta: { ...(r.meta as object), location: `${base}/${kind}s/${String(r.id)}` }
    };
    delete out.password;
    if (kind === 'User') {
        const groups = [...rt.store.groupIdsOf(String(r.id))].map((gid) => ({
            value: gid,
            $ref: `${base}/Groups/${gid}`,
            display: rt.store.groups.get(gid)?.displayName,
            type: 'direct'
        }));
        if (groups.length) out.groups = groups;
    } else if (Array.isArray(r.members)) {
        out.members = (r.members as Array<{ value: string; type: string }>).map((m) => ({
            ...m,
            $ref: `${base}/${m.type}s/${m.value}`
        }));
    }
    const top = (a: string) => {
        const name = a.replace(/^urn:ietf:params:scim:schemas:core:2\.0:(User|Group):/i, '');
        return name.toLowerCase().startsWith('urn:') ? name.toLowerCase() : name.split('.')[0].toLowerCase();
    };
    if (attributes?.length) {
        const keep = new Set(attributes.map(top));
        for (const k of Object.keys(out))
            if (!['id', 'schemas'].includes(k) && !keep.has(k.toLowerCase())) delete out[k];
    } else if (excluded?.length) {
        const drop = new Set(excluded.map(top));
        for (const k of Object.keys(out))
            if (!['id', 'schemas'].includes(k) && drop.has(k.toLowerCase())) delete out[k];
    }
    return out;
}

function listParam(v: unknown): string[] | undefined {
    if (v === undefined || v === null || v === '') return undefined;
    const text = Array.isArray(v) ? v.join(',') : String(v);
    return text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
}

function intParam(v: unknown, name: string): number | undefined {
    if (v === undefined || v === null || v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n)) throw invalidValue(`${name} must be an integer`);
    return n;
}

interface SearchParams {
    filter?: string;
    startIndex?: unknown;
    count?: unknown;
    attributes?: unknown;
    excludedAttributes?: unknown;
}

/** A query (RFC 7644 §3.4.2): filter, then the page startIndex (1-based) / count, in creation order. */
function search(rt: ScimRuntime, kind: ResourceKind, p: SearchParams): Outcome {
    const rs = RESOURCE_SCHEMAS[kind];
    const filter = p.filter === undefined || p.filter === '' ? undefined : parseFilter(String(p.filter), rs);
    const table = rt.store.table(kind);
    let candidates: Iterable<Resource> = table.values();
    if (filter) {
        // `userName eq "…"` (alone or and-ed) and `id eq "…"` are answered from the indexes, not a scan.
        const userName = kind === 'User' ? requiredEquality(filter, 'userName') : undefined;
        const id = requiredEquality(filter, 'id');
        if (userName !== undefined) {
            const found = rt.store.userIdByUserName(userName);
            candidates = found === undefined ? [] : [table.get(found) as Resource];
        } else if (id !== undefined) {
            const found = table.get(id);
            candidates = found ? [found] : [];
        }
    }
    const startIndex = Math.max(1, intParam(p.startIndex, 'startIndex') ?? 1);
    const count = Math.min(
        rt.limits.maxResults,
        Math.max(0, intParam(p.count, 'count') ?? rt.limits.maxResults)
    );
    let total = 0;
    const page: Resource[] = [];
    for (const r of candidates) {
        if (filter && !matches(filter, r, rs)) continue;
        total++;
        if (total >= startIndex && page.length < count) page.push(r);
    }
    const attributes = listParam(p.attributes);
    const excluded = listParam(p.excludedAttributes);
    return {
        status: 200,
        body: {
            schemas: [LIST_RESPONSE],
            totalResults: total,
            startIndex,
            itemsPerPage: page.length,
            Resources: page.map((r) => render(rt, kind, r, attributes, excluded))
        }
    };
}

function resourceBody(body: unknown, kind: ResourceKind): Resource {
    const rs = RESOURCE_SCHEMAS[kind];
    if (!isObj(body)) throw invalidSyntax(`the request body must be a ${kind} JSON object`);
    const schemas = getAttr(body, 'schemas');
    if (!Array.isArray(schemas) || !schemas.includes(rs.schema))
        throw invalidSyntax(`"schemas" must list ${rs.schema}`);
    const r = canonicalResource(body, rs);
    stripReadOnly(r, rs);
    checkResource(r, rs);
    return r;
}

/** The answer to a write: the resource, "subject to the attributes query parameter" (RFC 7644 §3.5.2). */
function written(
    rt: ScimRuntime,
    kind: ResourceKind,
    r: Resource,
    status: number,
    query: Record<string, unknown>
): Outcome {
    const out = render(rt, kind, r, listParam(query.attributes), listParam(query.excludedAttributes));
    return {
        status,
        body: out,
        etag: ScimStore.etag(r),
        location: `${rt.base()}/${kind}s/${String(r.id)}`
    };
}

/** One request on a resource endpoint: what the routes and the Bulk endpoint both run. */
export function execute(
    rt: ScimRuntime,
    method: string,
    path: string,
    body: unknown,
    cond: Conditions,
    query: Record<string, unknown> = {}
): Outcome {
    const m = /^\/(Users|Groups)(?:\/([^/]+))?$/.exec(path);
    if (!m) throw notFound(`no resource endpoint at ${path}`);
    const kind: ResourceKind = m[1] === 'Users' ? 'User' : 'Group';
    const id = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
    const rs = RESOURCE_SCHEMAS[kind];
    const store = rt.store;
    if (id === undefined) {
        if (method === 'GET') return search(rt, kind, query);
        if (method === 'POST')
            return written(rt, kind, store.create(kind, resourceBody(body, kind), new Date()), 201, query);
        throw new ScimError(405, `${method} is not allowed on /${kind}s`);
    }
    if (id === '.search') {
        if (method !== 'POST') throw new ScimError(405, `${method} is not allowed on /${kind}s/.search`);
        if (!isObj(body) || !Array.isArray(body.schemas) || !body.schemas.includes(SEARCH_REQUEST))
            throw invalidSyntax(`a search body must list the schema ${SEARCH_REQUEST}`);
        return search(rt, kind, body as SearchParams);
    }
    const current = store.get(kind, id);
    switch (method) {
        case 'GET': {
            if (cond.ifNoneMatch !== undefined && etagMatches(cond.ifNoneMatch, ScimStore.etag(current)))
                return { status: 304, etag: ScimStore.etag(current) };
            const out = render(
                rt,
                kind,
                current,
                listParam(query.attributes),
                listParam(query.excludedAttributes)
            );
            return { status: 200, body: out, etag: ScimStore.etag(current) };
        }
        case 'PUT': {
            checkIfMatch(cond, current);
            return written(rt, kind, store.replace(kind, id, resourceBody(body, kind)), 200, query);
        }
        case 'PATCH': {
            checkIfMatch(cond, current);
            // A shallow copy: applyPatch replaces what it changes and never alters the stored values.
            const next = { ...current };
            applyPatch(next, body, rs);
            stripReadOnly(next, rs);
            checkResource(next, rs);
            return written(rt, kind, store.replace(kind, id, next), 200, query);
        }
        case 'DELETE':
            checkIfMatch(cond, current);
            store.delete(kind, id);
            return { status: 204 };
        default:
            throw new ScimError(405, `${method} is not allowed on /${kind}s/{id}`);
    }
}

function errorOutcome(e: unknown, rt: ScimRuntime): Outcome {
    if (e instanceof ScimError) return { status: e.status, body: e.body() };
    rt.log(`local SCIM app: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return { status: 500, body: new ScimError(500, 'internal error').body() };
}

/** `bulkId:x` as a whole value in data, or as a path segment (`/Users/bulkId:x`). */
const BULK_ID = /^bulkId:(.+)$/;
const BULK_ID_SEGMENT = /bulkId:([^/]+)/g;

function referencedBulkIds(v: unknown, out: Set<string>, inPath = false): Set<string> {
    if (typeof v === 'string') {
        if (inPath) for (const m of v.matchAll(BULK_ID_SEGMENT)) out.add(m[1]);
        const m = BULK_ID.exec(v);
        if (m && !inPath) out.add(m[1]);
    } else if (Array.isArray(v)) for (const e of v) referencedBulkIds(e, out);
    else if (isObj(v)) for (const e of Object.values(v)) referencedBulkIds(e, out);
    return out;
}

function resolveBulkIds(v: unknown, ids: Map<string, string>): unknown {
    if (typeof v === 'string') {
        const m = BULK_ID.exec(v);
        return m && ids.has(m[1]) ? ids.get(m[1]) : v;
    }
    if (Array.isArray(v)) return v.map((e) => resolveBulkIds(e, ids));
    if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, resolveBulkIds(e, ids)]));
    return v;
}

function resolvePathBulkIds(path: string, ids: Map<string, string>): string {
    return path.replace(BULK_ID_SEGMENT, (whole, id: string) => ids.get(id) ?? whole);
}

/**
 * POST /Bulk (RFC 7644 §3.7): the operations in order, `bulkId:` references (in a path or in data)
 * resolved to the id the referenced POST created; an operation whose reference is not created yet waits
 * for a later pass, so references may point forward. `failOnErrors` stops after that many errors.
 */
function bulk(rt: ScimRuntime, body: unknown, size: number): Outcome {
    if (size > rt.limits.bulkMaxPayloadSize)
        return {
            status: 413,
            body: new ScimError(
                413,
                `The size of the bulk operation (${size} bytes) exceeds the maxPayloadSize (${rt.limits.bulkMaxPayloadSize}).`
            ).body()
        };
    if (!isObj(body) || !Array.isArray(body.schemas) || !body.schemas.includes(BULK_REQUEST))
        throw invalidSyntax(`a bulk body must list the schema ${BULK_REQUEST}`);
    const ops = body.Operations;
    if (!Array.isArray(ops)) throw invalidSyntax('a bulk body needs an Operations array');
    if (ops.length > rt.limits.bulkMaxOperations)
        return {
            status: 413,
            body: new ScimError(
                413,
                `The bulk request has ${ops.length} operations, more than maxOperations (${rt.limits.bulkMaxOperations}).`
            ).body()
        };
    const failOnErrors = body.failOnErrors === undefined ? undefined : Number(body.failOnErrors);
    const results: Array<Record<string, unknown> | undefined> = new Array(ops.length);
    const created = new Map<string, string>();
    const failed = new Set<string>();
    const posted = new Set(
        ops
            .filter((o) => isObj(o) && typeof o.bulkId === 'string')
            .map((o) => (o as { bulkId: string }).bulkId)
    );
    let errors = 0;
    let pending = ops.map((_, i) => i);
    const fail = (i: number, e: ScimError, op: Record<string, unknown>) => {
        errors++;
        if (typeof op.bulkId === 'string') failed.add(op.bulkId);
        results[i] = {
            method: op.method,
            ...(typeof op.bulkId === 'string' ? { bulkId: op.bulkId } : {}),
            status: String(e.status),
            response: e.body()
        };
    };
    while (pending.length > 0) {
        const waiting: number[] = [];
        for (const i of pending) {
            if (failOnErrors !== undefined && errors >= failOnErrors) break;
            const op = ops[i] as unknown;
            if (!isObj(op)) {
                fail(i, invalidSyntax(`Operations[${i}] must be an object`), {});
                continue;
            }
            const method = typeof op.method === 'string' ? op.method.toUpperCase() : '';
            const refs = referencedBulkIds(op.data, referencedBulkIds(op.path, new Set(), true));
            const unknown = [...refs].find((r) => !posted.has(r) || failed.has(r));
            if (unknown !== undefined) {
                fail(
                    i,
                    new ScimError(
                        409,
                        `bulkId:${unknown} does not name a resource this request created`,
                        'invalidValue'
                    ),
                    op
                );
                continue;
            }
            if ([...refs].some((r) => !created.has(r))) {
                waiting.push(i);
                continue;
            }
            try {
                if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(method))
                    throw invalidSyntax(`Operations[${i}].method must be POST, PUT, PATCH or DELETE`);
                if (method === 'POST' && typeof op.bulkId !== 'string')
                    throw invalidSyntax(`Operations[${i}]: a POST needs a bulkId`);
                if (typeof op.path !== 'string') throw invalidSyntax(`Operations[${i}] needs a path`);
                const path = resolvePathBulkIds(op.path, created);
                const data = resolveBulkIds(op.data, created);
                const cond = typeof op.version === 'string' ? { ifMatch: op.version } : {};
                const out = execute(rt, method, path, data, cond);
                if (method === 'POST') created.set(op.bulkId as string, String((out.body as Resource).id));
                results[i] = {
                    method,
                    ...(typeof op.bulkId === 'string' ? { bulkId: op.bulkId } : {}),
                    ...(out.etag ? { version: out.etag } : {}),
                    ...(out.location ? { location: out.location } : {}),
                    status: String(out.status)
                };
            } catch (e) {
                const err = e instanceof ScimError ? e : new ScimError(500, 'internal error');
                if (!(e instanceof ScimError)) errorOutcome(e, rt);
                fail(i, err, op);
            }
        }
        if (failOnErrors !== undefined && errors >= failOnErrors) break;
        if (waiting.length === pending.length) {
            for (const i of waiting)
                fail(
                    i,
                    new ScimError(409, 'circular bulkId references', 'invalidValue'),
                    ops[i] as Record<string, unknown>
                );
            break;
        }
        pending = waiting;
    }
    return {
        status: 200,
        body: { schemas: [BULK_RESPONSE], Operations: results.filter((r) => r !== undefined) }
    };
}

export function createScimApp(rt: ScimRuntime): express.Express {
    const app = express();
    app.disable('x-powered-by');
    app.disable('etag');

    const reply = (res: Response, out: Outcome): void => {
        if (res.locals.drop) {
            // The fault "dropped answer": the write is done, the answer never arrives.
            rt.log(`fault: dropping the answer (${out.status})`);
            res.socket?.destroy();
            return;
        }
        res.status(out.status);
        if (out.location) res.setHeader('Location', out.location);
        if (out.etag) res.setHeader('ETag', out.etag);
        if (out.body === undefined) {
            res.end();
            return;
        }
        res.setHeader('Content-Type', SCIM_CONTENT_TYPE);
        res.end(JSON.stringify(out.body));
    };
    const fail = (res: Response, e: unknown) => reply(res, errorOutcome(e, rt));

    const authorized = (req: Request): boolean => {
        const m = /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '');
        return m !== null && safeEqual(m[1].trim(), rt.token);
    };
    const auth = (req: Request, res: Response, next: NextFunction) => {
        if (authorized(req)) return next();
        res.setHeader('WWW-Authenticate', 'Bearer realm="local-scim"');
        fail(res, new ScimError(401, 'Authorization failure: a valid bearer token is required.'));
    };

    const json = express.json({
        type: ['application/json', 'application/scim+json', 'application/*+json'],
        limit: '8mb',
        verify: (req, _res, buf) => {
            (req as Request & { rawSize?: number }).rawSize = buf.length;
        }
    });

    // ---- admin: fault switches over HTTP (same bearer token) ----
    app.get('/admin/faults', auth, (_req, res) => {
        res.json(rt.faults);
    });
    app.post('/admin/faults', auth, json, (req, res) => {
        try {
            setFaultsFromJson(rt.faults, req.body);
            res.json(rt.faults);
        } catch (e) {
            res.status(400).json({ error: e instanceof Error ? e.message : String(e) });
        }
    });
    app.delete('/admin/faults', auth, (_req, res) => {
        clearFaults(rt.faults);
        res.status(204).end();
    });
    app.get('/admin/stats', auth, (_req, res) => {
        res.json({
            ...rt.requests,
            writes: rt.store.writes,
            users: rt.store.users.size,
            groups: rt.store.groups.size
        });
    });

    const scim = express.Router();
    // ---- faults (every /scim/v2 request) ----
    scim.use(async (req: Request, res: Response, next: NextFunction) => {
        rt.requests.total++;
        rt.requests.byMethod[req.method] = (rt.requests.byMethod[req.method] ?? 0) + 1;
        const f = rt.faults;
        if (f.latencyMs > 0) await new Promise((r) => setTimeout(r, f.latencyMs));
        const i = f.oneShot.findIndex((o) => o.remaining > 0 && (!o.method || o.method === req.method));
        if (i >= 0) {
            const o = f.oneShot[i];
            o.remaining--;
            if (o.remaining === 0) f.oneShot.splice(i, 1);
            rt.log(`fault: ${o.kind} on ${req.method} ${req.path}`);
            if (o.kind === 'delay') await new Promise((r) => setTimeout(r, o.ms ?? 0));
            if (o.kind === 'drop') res.locals.drop = true;
            if (o.kind === 'rateLimit') {
                res.setHeader('Retry-After', String(o.retryAfterSeconds ?? 1));
                return fail(
                    res,
                    new ScimError(
                        429,
                        'Too many requests: retry after the time the Retry-After header gives.'
                    )
                );
            }
            if (o.kind === 'status')
                return fail(res, new ScimError(o.status ?? 503, 'Service unavailable (fault switch).'));
        }
        if (f.failFraction > 0 && Math.random() < f.failFraction)
            return fail(res, new ScimError(f.failFractionStatus, 'Service unavailable (fault switch).'));
        next();
    });
    scim.use(auth);
    scim.use((req, res, next) => {
        json(req, res, (err?: unknown) => {
            if (err) {
                const e = err as { type?: string; status?: number };
                if (e.type === 'entity.too.large')
                    return fail(res, new ScimError(413, 'The request body is too large.'));
                return fail(res, invalidSyntax('the request body is not valid JSON'));
            }
            next();
        });
    });

    scim.get('/ServiceProviderConfig', (_req, res) =>
        reply(res, { status: 200, body: serviceProviderConfig(rt) })
    );
    const listOf = (resources: Array<Record<string, unknown>>) => ({
        schemas: [LIST_RESPONSE],
        totalResults: resources.length,
        startIndex: 1,
        itemsPerPage: resources.length,
        Resources: resources
    });
    scim.get('/ResourceTypes', (_req, res) =>
        reply(res, { status: 200, body: listOf(resourceTypeResources(rt.base())) })
    );
    scim.get('/ResourceTypes/:name', (req, res) => {
        const found = resourceTypeResources(rt.base()).find((r) => r.id === req.params.name);
        if (found) reply(res, { status: 200, body: found });
        else fail(res, notFound(`no resource type ${req.params.name}`));
    });
    scim.get('/Schemas', (_req, res) =>
        reply(res, { status: 200, body: listOf(schemaResources(rt.base())) })
    );
    scim.get('/Schemas/:id', (req, res) => {
        const found = schemaResources(rt.base()).find((r) => r.id === req.params.id);
        if (found) reply(res, { status: 200, body: found });
        else fail(res, notFound(`no schema ${req.params.id}`));
    });
    scim.post('/Bulk', (req, res) => {
        if (!rt.limits.bulk)
            return fail(res, new ScimError(501, 'This app does not support bulk operations.'));
        try {
            reply(res, bulk(rt, req.body, (req as Request & { rawSize?: number }).rawSize ?? 0));
        } catch (e) {
            fail(res, e);
        }
    });
    scim.use((req, res) => {
        try {
            const cond: Conditions = {
                ifMatch: req.get('if-match') ?? undefined,
                ifNoneMatch: req.get('if-none-match') ?? undefined
            };
            reply(
                res,
                execute(rt, req.method, req.path, req.body, cond, req.query as Record<string, unknown>)
            );
        } catch (e) {
            fail(res, e);
        }
    });
    app.use('/scim/v2', scim);
    app.use((_req, res) => fail(res, notFound('not found: the SCIM endpoints are under /scim/v2')));
    return app;
}

export function clearFaults(f: FaultState): void {
    f.oneShot.length = 0;
    f.failFraction = 0;
    f.failFractionStatus = 503;
    f.latencyMs = 0;
}

/**
 * POST /admin/faults: `{"rateLimitNext": {"count", "retryAfterSeconds"?, "method"?}, "failNext": {"count",
 * "status"?, "method"?}, "dropNextAnswers": {"count", "method"?}, "delayNext": {"count", "ms", "method"?},
 * "failFraction": {"p", "status"?}, "latencyMs": n}` — any subset.
 */
export function setFaultsFromJson(f: FaultState, body: unknown): void {
    if (!isObj(body)) throw new Error('the body must be a JSON object');
    const num = (v: unknown, name: string, min = 0): number => {
        if (typeof v !== 'number' || !Number.isFinite(v) || v < min)
            throw new Error(`${name} must be a number ≥ ${min}`);
        return v;
    };
    const method = (v: unknown): string | undefined => (typeof v === 'string' ? v.toUpperCase() : undefined);
    const oneShot = (key: string, kind: OneShotFault['kind']) => {
        const v = body[key];
        if (v === undefined) return;
        if (!isObj(v)) throw new Error(`${key} must be an object`);
        f.oneShot.push({
            kind,
            remaining: num(v.count, `${key}.count`, 1),
            method: method(v.method),
            ...(kind === 'status'
                ? { status: v.status === undefined ? 503 : num(v.status, `${key}.status`, 500) }
                : {}),
            ...(kind === 'rateLimit'
                ? {
                      retryAfterSeconds:
                          v.retryAfterSeconds === undefined
                              ? 1
                              : num(v.retryAfterSeconds, `${key}.retryAfterSeconds`)
                  }
                : {}),
            ...(kind === 'delay' ? { ms: num(v.ms, `${key}.ms`) } : {})
        });
    };
    oneShot('rateLimitNext', 'rateLimit');
    oneShot('failNext', 'status');
    oneShot('dropNextAnswers', 'drop');
    oneShot('delayNext', 'delay');
    if (body.failFraction !== undefined) {
        const v = body.failFraction;
        if (!isObj(v)) throw new Error('failFraction must be an object {p, status?}');
        f.failFraction = num(v.p, 'failFraction.p');
        f.failFractionStatus = v.status === undefined ? 503 : num(v.status, 'failFraction.status', 500);
    }
    if (body.latencyMs !== undefined) f.latencyMs = num(body.latencyMs, 'latencyMs');
}
