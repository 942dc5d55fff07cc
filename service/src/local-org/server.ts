/**
 * The HTTP face of the local org: Salesforce's REST API paths, OAuth token endpoint, error bodies,
 * limits header, API counter and fault switches.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { createVerify, randomBytes, timingSafeEqual, type X509Certificate } from 'node:crypto';
import type { ObjectDef } from './schema';
import type { Row, Store } from './store';
import { SalesforceError, RecordFailure, type RecordError } from './errors';
import { runQuery, type QueryContext, type QueryResult } from './soql';
import { bulkQueryRoutes } from './bulk';
import { runComposite, type SubrequestAnswer } from './composite';
import { makeId, to18 } from './ids';
import { firstDayOfWeek } from './time';

export interface Session {
    userId: string;
    expiresAt: number;
}

export interface Faults {
    failNext: number;
    failNextStatus: 500 | 503;
    failFraction: number;
    failFractionStatus: 500 | 503;
    latencyMs: number;
    dropNext: number;
    /** How long a Bulk API 2.0 query job takes: queued (UploadComplete) half of it, InProgress the rest. */
    bulkDelayMs: number;
}

export interface Runtime {
    url(): string;
    store: Store;
    orgId: string;
    integrationUserId: string;
    integrationUsername: string;
    clientId: string;
    clientSecret: string;
    consumerKey: string;
    certificate: X509Certificate;
    sessionTtlMs: number;
    sessions: Map<string, Session>;
    faults: Faults;
    api: { used: number; limit: number; day: string };
    timeZone(): string;
    /** The org's clock (epoch ms): record stamps, SOQL date literals and the Date header follow it. */
    now(): number;
    persist(): void;
    log(line: string): void;
}

/** 20.0 was Winter '11; three releases a year since. */
const API_VERSIONS = Array.from({ length: 45 }, (_, i) => 20 + i).map((v) => {
    const release = v - 20;
    const season = ['Winter', 'Spring', 'Summer'][release % 3];
    const year = 11 + Math.floor(release / 3);
    return {
        label: `${season} '${String(year).padStart(2, '0')}`,
        url: `/services/data/v${v}.0`,
        version: `${v}.0`
    };
});

/**
 * Salesforce Help, "Maximum number of rows returned by SOQL queries over the REST API" (000386264):
 * "the maximum length for the combined URI and headers is 16,384 bytes. A request exceeding this limit
 * returns a 431 Request Header Fields Too Large error. If the URI itself exceeds this limit, the request
 * returns a 414 URI Too Long error."
 */
export const MAX_URI_AND_HEADERS_BYTES = 16_384;

/**
 * The bytes the limit counts: the request target as sent (`/services/data/…?q=…`) and every header
 * line (`Name: value` and its CRLF). Counting the separators too is the stricter reading of "headers".
 */
export function uriAndHeaderBytes(req: { url?: string; rawHeaders: string[] }): {
    uri: number;
    total: number;
} {
    const uri = Buffer.byteLength(req.url ?? '', 'latin1');
    let headers = 0;
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
        headers +=
            Buffer.byteLength(req.rawHeaders[i], 'latin1') +
            2 +
            Buffer.byteLength(req.rawHeaders[i + 1], 'latin1') +
            2;
    }
    return { uri, total: uri + headers };
}

const MAX_CURSORS_PER_USER = 10;
const CURSOR_IDLE_MS = 15 * 60_000;
const COLLECTION_MAX = 200;

interface Cursor {
    id: string;
    userId: string;
    result: QueryResult;
    batchSize: number;
    lastUsed: number;
}

function sfError(res: Response, e: SalesforceError): void {
    res.status(e.status).json(e.body());
}

function oauthError(res: Response, status: number, error: string, description: string): void {
    res.status(status).json({ error, error_description: description });
}

function base64urlJson(part: string): Record<string, unknown> | undefined {
    try {
        return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
        return undefined;
    }
}

function safeEqual(a: string, b: string): boolean {
    const x = Buffer.from(a);
    const y = Buffer.from(b);
    return x.length === y.length && timingSafeEqual(x, y);
}

export function createApp(rt: Runtime): express.Express {
    const app = express();
    app.disable('x-powered-by');
    const cursors = new Map<string, Cursor>();
    let cursorCounter = 0;

    // ---- request size, checked before anything else, as on the platform ----
    app.use((req: Request, res: Response, next: NextFunction) => {
        // Every answer carries the org's time (RFC 9110 Date, whole seconds), from the org's own clock.
        res.setHeader('Date', new Date(rt.now()).toUTCString());
        const size = uriAndHeaderBytes(req);
        if (size.uri > MAX_URI_AND_HEADERS_BYTES || size.total > MAX_URI_AND_HEADERS_BYTES) {
            const status = size.uri > MAX_URI_AND_HEADERS_BYTES ? 414 : 431;
            rt.log(`${req.method} ${req.path}: ${status}, URI ${size.uri} bytes, with headers ${size.total}`);
            res.status(status).set('Connection', 'close').end();
            return;
        }
        next();
    });

    // ---- fault injection (every /services and /id path) ----
    app.use(async (req: Request, res: Response, next: NextFunction) => {
        const f = rt.faults;
        if (f.dropNext > 0) {
            f.dropNext--;
            rt.log(`fault: dropping connection of ${req.method} ${req.path}`);
            res.writeHead(200, { 'Content-Type': 'application/json;charset=UTF-8' });
            res.write('{"totalSize":');
            res.socket?.destroy();
            return;
        }
        if (f.latencyMs > 0) await new Promise((r) => setTimeout(r, f.latencyMs));
        let status: 500 | 503 | undefined;
        if (f.failNext > 0) {
            f.failNext--;
            status = f.failNextStatus;
        } else if (f.failFraction > 0 && Math.random() < f.failFraction) {
            status = f.failFractionStatus;
        }
        if (status === 503) {
            res.status(503).json([
                { errorCode: 'SERVER_UNAVAILABLE', message: 'Server temporarily unavailable' }
            ]);
            return;
        }
        if (status === 500) {
            const errorId = `${randomBytes(4).readUInt32BE()}-${randomBytes(2).readUInt16BE()} (${-randomBytes(3).readUIntBE(0, 3)})`;
            res.status(500).json([
                {
                    errorCode: 'UNKNOWN_EXCEPTION',
                    message: `An unexpected error occurred. Please include this ErrorId if you contact support: ${errorId}`
                }
            ]);
            return;
        }
        next();
    });

    // ---- OAuth 2.0 ----
    app.post(
        '/services/oauth2/token',
        express.urlencoded({ extended: false }),
        (req: Request, res: Response) => {
            const body = (req.body ?? {}) as Record<string, string>;
            const issue = (userId: string): void => {
                const token = `${rt.orgId.slice(0, 15)}!${randomBytes(48).toString('base64url')}`;
                rt.sessions.set(token, { userId, expiresAt: Date.now() + rt.sessionTtlMs });
                const issuedAt = String(Date.now());
                res.json({
                    access_token: token,
                    signature: randomBytes(32).toString('base64'),
                    scope: 'api',
                    instance_url: rt.url(),
                    id: `${rt.url()}/id/${rt.orgId}/${userId}`,
                    token_type: 'Bearer',
                    issued_at: issuedAt
                });
            };
            if (body.grant_type === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
                const parts = String(body.assertion ?? '').split('.');
                const header = parts.length === 3 ? base64urlJson(parts[0]) : undefined;
                const claims = parts.length === 3 ? base64urlJson(parts[1]) : undefined;
                if (!header || !claims || header.alg !== 'RS256') {
                    oauthError(res, 400, 'invalid_grant', 'invalid assertion');
                    return;
                }
                const verifier = createVerify('RSA-SHA256');
                verifier.update(`${parts[0]}.${parts[1]}`);
                if (!verifier.verify(rt.certificate.publicKey, Buffer.from(parts[2], 'base64url'))) {
                    oauthError(res, 400, 'invalid_grant', 'invalid assertion');
                    return;
                }
                if (claims.iss !== rt.consumerKey) {
                    oauthError(res, 400, 'invalid_client_id', 'client identifier invalid');
                    return;
                }
                const audiences = [rt.url(), 'https://login.salesforce.com', 'https://test.salesforce.com'];
                const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
                if (!aud.some((a) => audiences.includes(String(a).replace(/\/$/, '')))) {
                    oauthError(res, 400, 'invalid_grant', 'audience is invalid');
                    return;
                }
                if (typeof claims.exp !== 'number' || claims.exp * 1000 < Date.now()) {
                    oauthError(res, 400, 'invalid_grant', 'expired assertion');
                    return;
                }
                const user = [...rt.store.table('User').rows.values()].find(
                    (u) => String(u.Username).toLowerCase() === String(claims.sub ?? '').toLowerCase()
                );
                if (!user || user.Id !== rt.integrationUserId) {
                    oauthError(res, 400, 'invalid_grant', "user hasn't approved this consumer");
                    return;
                }
                if (!user.IsActive) {
                    oauthError(res, 400, 'invalid_grant', 'inactive user');
                    return;
                }
                issue(String(user.Id));
                return;
            }
            if (body.grant_type === 'client_credentials') {
                let id = body.client_id ?? '';
                let secret = body.client_secret ?? '';
                const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
                if (basic) [id, secret] = Buffer.from(basic[1], 'base64').toString('utf8').split(':');
                if (!safeEqual(id, rt.clientId) || !safeEqual(secret ?? '', rt.clientSecret)) {
                    oauthError(res, 400, 'invalid_client', 'invalid client credentials');
                    return;
                }
                issue(rt.integrationUserId);
                return;
            }
            oauthError(res, 400, 'unsupported_grant_type', 'grant type not supported');
        }
    );

    const authenticate = (req: Request, res: Response): Session | undefined => {
        const m = /^(?:Bearer|OAuth) (.+)$/i.exec(req.headers.authorization ?? '');
        const session = m ? rt.sessions.get(m[1]) : undefined;
        if (!session || session.expiresAt < Date.now()) {
            if (m && session) rt.sessions.delete(m[1]);
            res.status(401).json([
                { message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }
            ]);
            return undefined;
        }
        session.expiresAt = Date.now() + rt.sessionTtlMs;
        return session;
    };

    const identity = (userId: string): Record<string, unknown> => {
        const user = rt.store.table('User').rows.get(userId) ?? {};
        const base = rt.url();
        const v = '62.0';
        return {
            id: `${base}/id/${rt.orgId}/${userId}`,
            asserted_user: true,
            user_id: userId,
            organization_id: rt.orgId,
            username: user.Username,
            nick_name: user.CommunityNickname,
            display_name: user.Name,
            email: user.Email,
            email_verified: true,
            first_name: user.FirstName,
            last_name: user.LastName,
            timezone: user.TimeZoneSidKey,
            active: user.IsActive,
            user_type: user.UserType,
            language: user.LanguageLocaleKey,
            locale: user.LocaleSidKey,
            utcOffset: 0,
            last_modified_date: user.LastModifiedDate,
            is_app_installed: true,
            urls: {
                enterprise: `${base}/services/Soap/c/{version}/${rt.orgId}`,
                partner: `${base}/services/Soap/u/{version}/${rt.orgId}`,
                rest: `${base}/services/data/v{version}/`,
                sobjects: `${base}/services/data/v{version}/sobjects/`,
                query: `${base}/services/data/v{version}/query/`,
                limits: `${base}/services/data/v{version}/limits/`,
                profile: `${base}/${userId}`,
                custom_domain: base
            },
            api_version: v
        };
    };

    app.get('/services/oauth2/userinfo', (req, res) => {
        const session = authenticate(req, res);
        if (!session) return;
        const info = identity(session.userId);
        res.json({
            sub: info.id,
            user_id: info.user_id,
            organization_id: info.organization_id,
            preferred_username: info.username,
            name: info.display_name,
            email: info.email,
            zoneinfo: info.timezone,
            locale: info.locale,
            active: info.active,
            user_type: info.user_type,
            urls: info.urls
        });
    });
    app.get('/id/:orgId/:userId', (req, res) => {
        const session = authenticate(req, res);
        if (!session) return;
        res.json(identity(String(req.params.userId)));
    });

    app.get('/services/data', (_req, res) => {
        res.json(API_VERSIONS);
    });

    // ---- the REST API: /services/data/vNN.N/... ----
    const api = express.Router({ mergeParams: true });
    app.use(
        '/services/data/:version',
        (req: Request, res: Response, next: NextFunction) => {
            const version = String(req.params.version);
            if (!/^v\d{2}\.\d$/.test(version)) {
                res.status(404).json([
                    { errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }
                ]);
                return;
            }
            const session = authenticate(req, res);
            if (!session) return;
            const today = new Date().toISOString().slice(0, 10);
            if (rt.api.day !== today) {
                rt.api.day = today;
                rt.api.used = 0;
            }
            if (rt.api.used >= rt.api.limit) {
                res.setHeader('Sforce-Limit-Info', `api-usage=${rt.api.used}/${rt.api.limit}`);
                res.status(403).json([
                    { message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }
                ]);
                return;
            }
            rt.api.used++;
            res.setHeader('Sforce-Limit-Info', `api-usage=${rt.api.used}/${rt.api.limit}`);
            res.locals.session = session;
            res.locals.apiVersion = version.slice(1);
            next();
        },
        express.json({ limit: '50mb' }),
        api
    );

    const ctxOf = (res: Response) => ({
        userId: (res.locals.session as Session).userId,
        now: rt.now()
    });
    const apiVersion = (res: Response): string => String(res.locals.apiVersion);
    const objectOf = (name: string): ObjectDef => {
        const def = rt.store.schema.byLower.get(name.toLowerCase());
        if (!def) throw new SalesforceError(404, 'NOT_FOUND', 'The requested resource does not exist');
        return def;
    };
    const recordUrl = (res: Response, type: string, id: string): string =>
        `/services/data/v${apiVersion(res)}/sobjects/${type}/${id}`;
    const renderRecord = (
        res: Response,
        def: ObjectDef,
        row: Row,
        fields?: string[]
    ): Record<string, unknown> => {
        const out: Record<string, unknown> = {
            attributes: { type: def.name, url: recordUrl(res, def.name, String(row.Id)) }
        };
        const list = fields
            ? fields.map((f) => {
                  const field = def.byLower.get(f.trim().toLowerCase());
                  if (!field)
                      throw new SalesforceError(
                          400,
                          'INVALID_FIELD',
                          `No such column '${f.trim()}' on sobject of type ${def.name}`
                      );
                  return field;
              })
            : def.fields;
        for (const f of list) out[f.name] = row[f.name] ?? (f.type === 'boolean' ? false : null);
        return out;
    };

    /**
     * The REST routes a Composite subrequest may also reach ("Send Multiple Requests Using Composite": every
     * sObject resource, query, queryAll, sObject Collections): registered on the router and kept here, so a
     * subrequest runs the very handler the plain request runs.
     */
    type Handler = (req: Request, res: Response) => void;
    const subrequestRoutes: Array<{ method: string; pattern: RegExp; names: string[]; handler: Handler }> =
        [];
    const route = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, handler: Handler): void => {
        const verb = method.toLowerCase() as 'get' | 'post' | 'patch' | 'delete';
        api[verb](path, handler);
        const names: string[] = [];
        const source = path
            .split('/')
            .map((segment) => {
                if (!segment.startsWith(':')) return segment;
                names.push(segment.slice(1));
                return '([^/]+)';
            })
            .join('/');
        subrequestRoutes.push({ method, pattern: new RegExp(`^${source}/?$`), names, handler });
    };

    api.get('/', (req, res) => {
        const base = `/services/data/v${apiVersion(res)}`;
        const names = ['sobjects', 'query', 'queryAll', 'limits', 'composite', 'search', 'tooling', 'recent'];
        res.json(Object.fromEntries(names.map((n) => [n, `${base}/${n}`])));
    });

    api.get('/limits', (_req, res) => {
        const { used, limit } = rt.api;
        res.json({
            DailyApiRequests: { Max: limit, Remaining: Math.max(0, limit - used) },
            DailyAsyncApexExecutions: { Max: 250000, Remaining: 250000 },
            DailyBulkApiBatches: { Max: 15000, Remaining: 15000 },
            DataStorageMB: { Max: 5, Remaining: 5 },
            FileStorageMB: { Max: 20, Remaining: 20 },
            SingleEmail: { Max: 15, Remaining: 15 }
        });
    });

    const describeSummary = (res: Response, def: ObjectDef): Record<string, unknown> => {
        const base = `/services/data/v${apiVersion(res)}/sobjects/${def.name}`;
        return {
            activateable: false,
            associateEntityType: null,
            associateParentEntity: null,
            createable: def.createable,
            custom: def.custom,
            customSetting: def.customSetting,
            deepCloneable: false,
            deletable: def.deletable,
            deprecatedAndHidden: false,
            feedEnabled: false,
            hasSubtypes: false,
            isInterface: false,
            isSubtype: false,
            keyPrefix: def.keyPrefix,
            label: def.label,
            labelPlural: def.labelPlural,
            layoutable: !def.customSetting,
            mergeable: false,
            mruEnabled: def.custom && !def.customSetting,
            name: def.name,
            queryable: true,
            replicateable: true,
            retrieveable: true,
            searchable: def.custom && !def.customSetting,
            triggerable: true,
            undeletable: def.deletable,
            updateable: def.updateable,
            urls: {
                rowTemplate: `${base}/{ID}`,
                defaultValues: `${base}/defaultValues?recordTypeId&fields`,
                describe: `${base}/describe`,
                sobject: base
            }
        };
    };

    route('GET', '/sobjects', (_req, res) => {
        const sobjects = [...rt.store.schema.objects.values()]
            .sort((a, b) => a.name.localeCompare(b.name))
            .map((d) => describeSummary(res, d));
        res.json({ encoding: 'UTF-8', maxBatchSize: 200, sobjects });
    });

    route('GET', '/sobjects/:object/describe', (req, res) => {
        const def = objectOf(String(req.params.object));
        const summary = describeSummary(res, def);
        const base = `/services/data/v${apiVersion(res)}/sobjects/${def.name}`;
        res.json({
            actionOverrides: [],
            activateable: false,
            associateEntityType: null,
            associateParentEntity: null,
            childRelationships: def.children.map((c) => ({
                cascadeDelete: c.cascadeDelete,
                childSObject: c.childSObject,
                deprecatedAndHidden: false,
                field: c.field,
                junctionIdListNames: [],
                junctionReferenceTo: [],
                relationshipName: c.relationshipName,
                restrictedDelete: false
            })),
            compactLayoutable: !def.customSetting,
            createable: def.createable,
            custom: def.custom,
            customSetting: def.customSetting,
            deepCloneable: false,
            defaultImplementation: null,
            deletable: def.deletable,
            deprecatedAndHidden: false,
            extendedBy: null,
            extendsInterfaces: null,
            feedEnabled: false,
            fields: def.fields.map((f) => ({ ...f.describe, cascadeDelete: f.cascadeDelete })),
            hasSubtypes: false,
            implementedBy: null,
            implementsInterfaces: null,
            isInterface: false,
            isSubtype: false,
            keyPrefix: def.keyPrefix,
            label: def.label,
            labelPlural: def.labelPlural,
            layoutable: summary.layoutable,
            listviewable: null,
            lookupLayoutable: null,
            mergeable: false,
            mruEnabled: summary.mruEnabled,
            name: def.name,
            namedLayoutInfos: [],
            networkScopeFieldName: null,
            queryable: true,
            recordTypeInfos: def.customSetting
                ? []
                : [
                      {
                          active: true,
                          available: true,
                          defaultRecordTypeMapping: true,
                          developerName: 'Master',
                          master: true,
                          name: 'Master',
                          recordTypeId: '012000000000000AAA',
                          urls: { layout: `${base}/describe/layouts/012000000000000AAA` }
                      }
                  ],
            replicateable: true,
            retrieveable: true,
            searchLayoutable: summary.searchable,
            searchable: summary.searchable,
            supportedScopes: [{ label: 'All records', name: 'everything' }],
            triggerable: true,
            undeletable: def.deletable,
            updateable: def.updateable,
            urls: {
                ...(summary.urls as object),
                compactLayouts: `${base}/describe/compactLayouts`,
                layouts: `${base}/describe/layouts`
            }
        });
    });

    route('GET', '/sobjects/:object', (req, res) => {
        const def = objectOf(String(req.params.object));
        res.json({ objectDescribe: describeSummary(res, def), recentItems: [] });
    });

    const persistAfter = <T>(fn: () => T): T => {
        const result = fn();
        rt.persist();
        return result;
    };

    const failureBody = (e: RecordFailure): Array<{ message: string; errorCode: string; fields: string[] }> =>
        e.errors.map((x) => ({ message: x.message, errorCode: x.statusCode, fields: x.fields }));

    route('POST', '/sobjects/:object', (req, res) => {
        const def = objectOf(String(req.params.object));
        try {
            const row = persistAfter(() =>
                rt.store.insert(def, (req.body ?? {}) as Row, ctxOf(res), rt.orgId)
            );
            res.setHeader('Location', recordUrl(res, def.name, String(row.Id)));
            res.status(201).json({ id: row.Id, success: true, errors: [] });
        } catch (e) {
            if (e instanceof RecordFailure) res.status(400).json(failureBody(e));
            else throw e;
        }
    });

    const getRecord = (def: ObjectDef, id: string): Row => {
        const full = to18(id);
        const row = full ? rt.store.table(def.name).rows.get(full) : undefined;
        if (!row) throw new SalesforceError(404, 'NOT_FOUND', 'The requested resource does not exist');
        if (row.IsDeleted) throw new SalesforceError(404, 'ENTITY_IS_DELETED', 'entity is deleted', []);
        return row;
    };

    route('GET', '/sobjects/:object/:id', (req, res) => {
        const def = objectOf(String(req.params.object));
        const row = getRecord(def, String(req.params.id));
        const fields = typeof req.query.fields === 'string' ? req.query.fields.split(',') : undefined;
        res.json(renderRecord(res, def, row, fields));
    });

    route('PATCH', '/sobjects/:object/:id', (req, res) => {
        const def = objectOf(String(req.params.object));
        getRecord(def, String(req.params.id));
        try {
            persistAfter(() =>
                rt.store.update(def, String(req.params.id), (req.body ?? {}) as Row, ctxOf(res))
            );
            res.status(204).end();
        } catch (e) {
            if (e instanceof RecordFailure) res.status(400).json(failureBody(e));
            else throw e;
        }
    });

    route('DELETE', '/sobjects/:object/:id', (req, res) => {
        const def = objectOf(String(req.params.object));
        const full = to18(String(req.params.id));
        const row = full ? rt.store.table(def.name).rows.get(full) : undefined;
        if (!row) throw new SalesforceError(404, 'NOT_FOUND', 'The requested resource does not exist');
        if (row.IsDeleted) throw new SalesforceError(404, 'ENTITY_IS_DELETED', 'entity is deleted', []);
        try {
            persistAfter(() => rt.store.atomic(() => rt.store.delete(def, String(full), ctxOf(res))));
            res.status(204).end();
        } catch (e) {
            if (e instanceof RecordFailure) res.status(400).json(failureBody(e));
            else throw e;
        }
    });

    const externalField = (def: ObjectDef, name: string) => {
        const field = def.byLower.get(name.toLowerCase());
        if (!field || !(field.externalId || field.name === 'Id' || field.describe.idLookup === true)) {
            throw new SalesforceError(
                404,
                'NOT_FOUND',
                `Provided external ID field does not exist or is not accessible: ${name}`
            );
        }
        return field;
    };

    /** Upsert one record by external id: update the one match, insert when none, refuse several. */
    const upsertOne = (
        def: ObjectDef,
        fieldName: string,
        value: string,
        body: Row,
        res: Response
    ): { row: Row; created: boolean } => {
        const field = externalField(def, fieldName);
        const matches = rt.store.findByExternalId(def, field.name, value);
        if (matches.length > 1) {
            throw new RecordFailure([
                {
                    statusCode: 'DUPLICATE_EXTERNAL_ID',
                    message: `${field.label}: more than one record found for external id field: [${matches.map((m) => String(m.Id)).join(', ')}]`,
                    fields: [field.name]
                }
            ]);
        }
        const input: Row = { ...body };
        delete input.attributes;
        if (matches.length === 1) {
            delete input[field.name];
            return { row: rt.store.update(def, String(matches[0].Id), input, ctxOf(res)), created: false };
        }
        if (field.name !== 'Id') input[field.name] = value;
        else
            throw new RecordFailure([
                { statusCode: 'NOT_FOUND', message: 'The requested resource does not exist', fields: [] }
            ]);
        return { row: rt.store.insert(def, input, ctxOf(res), rt.orgId), created: true };
    };

    route('GET', '/sobjects/:object/:field/:value', (req, res) => {
        const def = objectOf(String(req.params.object));
        const field = externalField(def, String(req.params.field));
        const matches = rt.store.findByExternalId(def, field.name, String(req.params.value));
        if (matches.length === 0)
            throw new SalesforceError(404, 'NOT_FOUND', 'The requested resource does not exist');
        if (matches.length > 1) {
            res.status(300).json(matches.map((m) => recordUrl(res, def.name, String(m.Id))));
            return;
        }
        res.json(renderRecord(res, def, matches[0]));
    });

    route('PATCH', '/sobjects/:object/:field/:value', (req, res) => {
        const def = objectOf(String(req.params.object));
        const body = (req.body ?? {}) as Row;
        rt.store.checkFieldNames(def, body);
        try {
            const { row, created } = persistAfter(() =>
                upsertOne(def, String(req.params.field), String(req.params.value), body, res)
            );
            res.status(created ? 201 : 200).json({ id: row.Id, success: true, errors: [], created });
        } catch (e) {
            if (e instanceof RecordFailure) res.status(400).json(failureBody(e));
            else throw e;
        }
    });

    // ---- query ----
    const pageOf = (
        res: Response,
        cursor: Cursor,
        pos: number,
        scanAll: boolean
    ): Record<string, unknown> => {
        const { result } = cursor;
        const end = Math.min(pos + cursor.batchSize, result.totalSize);
        const records = result.page(pos, cursor.batchSize).map(result.project);
        const done = end >= result.totalSize;
        const page: Record<string, unknown> = { totalSize: result.totalSize, done };
        if (!done)
            page.nextRecordsUrl = `/services/data/v${apiVersion(res)}/${scanAll ? 'queryAll' : 'query'}/${cursor.id}-${end}`;
        page.records = records;
        if (done) cursors.delete(cursor.id);
        return page;
    };

    /**
     * Date literals are ranges in the time zone of the user who sends the query (Date Formats and
     * Date Literals in WHERE); the org's zone when that user has none.
     */
    const userTimeZone = (userId: string): string => {
        const zone = rt.store.table('User').rows.get(userId)?.TimeZoneSidKey;
        if (typeof zone !== 'string' || zone === '') return rt.timeZone();
        try {
            new Intl.DateTimeFormat('en-US', { timeZone: zone });
            return zone;
        } catch {
            return rt.timeZone();
        }
    };

    /** The querying user's locale (`User.LocaleSidKey`), or the org's default; it sets the first day of the week. */
    const userLocale = (userId: string): string | undefined => {
        const locale = rt.store.table('User').rows.get(userId)?.LocaleSidKey;
        if (typeof locale === 'string' && locale !== '') return locale;
        const org = rt.store.table('Organization').rows.values().next().value;
        return typeof org?.DefaultLocaleSidKey === 'string' ? org.DefaultLocaleSidKey : undefined;
    };

    const queryContext = (userId: string, version: string, includeDeleted: boolean): QueryContext => ({
        schema: rt.store.schema,
        store: rt.store,
        now: rt.now(),
        timeZone: userTimeZone(userId),
        weekStartsOn: firstDayOfWeek(userLocale(userId)),
        includeDeleted,
        apiVersion: version
    });

    /** The first page of a query (REST `query` / `queryAll`), as its body. */
    const soqlFirstPage = (
        res: Response,
        soql: string,
        queryOptions: string,
        scanAll: boolean
    ): Record<string, unknown> => {
        if (soql.trim() === '')
            throw new SalesforceError(400, 'MALFORMED_QUERY', 'A query string has to be specified');
        const session = res.locals.session as Session;
        const result = runQuery(queryContext(session.userId, apiVersion(res), scanAll), soql);
        if (result.aggregate) return { totalSize: result.totalSize, done: true, records: result.aggregate };
        const requested = Number(/batchSize\s*=\s*(\d+)/i.exec(queryOptions)?.[1] ?? 2000);
        const batchSize = Math.min(2000, Math.max(200, requested));
        const now = Date.now();
        for (const [id, c] of cursors) if (now - c.lastUsed > CURSOR_IDLE_MS) cursors.delete(id);
        const mine = [...cursors.values()]
            .filter((c) => c.userId === session.userId)
            .sort((a, b) => a.lastUsed - b.lastUsed);
        while (mine.length >= MAX_CURSORS_PER_USER) cursors.delete(mine.shift()!.id);
        const cursor: Cursor = {
            id: makeId('01g', ++cursorCounter),
            userId: session.userId,
            result,
            batchSize,
            lastUsed: now
        };
        cursors.set(cursor.id, cursor);
        return pageOf(res, cursor, 0, scanAll);
    };

    /** A further page of a query by its locator (`…/query/01g…-2000`), as its body. */
    const soqlNextPage = (res: Response, locator: string, scanAll: boolean): Record<string, unknown> => {
        const m = /^(01g[A-Za-z0-9]{15})-(\d+)$/.exec(locator);
        const cursor = m ? cursors.get(m[1]) : undefined;
        if (!m || !cursor || Date.now() - cursor.lastUsed > CURSOR_IDLE_MS) {
            throw new SalesforceError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
        }
        cursor.lastUsed = Date.now();
        return pageOf(res, cursor, Number(m[2]), scanAll);
    };

    const queryOptionsOf = (req: Request): string => String(req.headers['sforce-query-options'] ?? '');
    route('GET', '/query', (req, res) => {
        res.json(
            soqlFirstPage(res, typeof req.query.q === 'string' ? req.query.q : '', queryOptionsOf(req), false)
        );
    });
    route('GET', '/queryAll', (req, res) => {
        res.json(
            soqlFirstPage(res, typeof req.query.q === 'string' ? req.query.q : '', queryOptionsOf(req), true)
        );
    });
    route('GET', '/query/:locator', (req, res) => {
        res.json(soqlNextPage(res, String(req.params.locator), false));
    });
    route('GET', '/queryAll/:locator', (req, res) => {
        res.json(soqlNextPage(res, String(req.params.locator), true));
    });

    // ---- Composite: several subrequests in one call ----
    /** One subrequest, run by the handler of its route as the plain request would be (composite.ts). */
    const runSubrequest = (
        parent: Request,
        parentRes: Response,
        method: string,
        url: string,
        body: unknown
    ) => {
        const target = /^\/services\/data\/v(\d{2}\.\d)(\/[^?]*)(?:\?(.*))?$/.exec(url);
        if (!target) throw new SalesforceError(404, 'NOT_FOUND', 'The requested resource does not exist');
        const [, version, path, search] = target;
        const matching = subrequestRoutes.filter((r) => r.pattern.test(path));
        const found = matching.find((r) => r.method === method);
        if (!found) {
            if (matching.length > 0) {
                const allowed = [...new Set(matching.map((r) => r.method))].join(', ');
                throw new SalesforceError(
                    405,
                    'METHOD_NOT_ALLOWED',
                    `HTTP Method '${method}' not allowed. Allowed are ${allowed}`
                );
            }
            if (/^\/(?:sobjects|query|queryAll|composite\/sobjects)(?:\/|$)/.test(path))
                throw new SalesforceError(404, 'NOT_FOUND', 'The requested resource does not exist');
            throw new SalesforceError(
                400,
                'NOT_SUPPORTED_BY_LOCAL_ORG',
                `The local org runs sObject, query, queryAll and sObject Collections subrequests in a composite request, not ${method} ${path}`
            );
        }
        let values: string[];
        try {
            values = found.pattern.exec(path)!.slice(1).map(decodeURIComponent);
        } catch {
            throw new SalesforceError(404, 'NOT_FOUND', 'The requested resource does not exist');
        }
        const answer: SubrequestAnswer = { status: 200, body: null, headers: {} };
        // The handlers use this much of Express's request and response; nothing else is sent anywhere.
        const req = {
            method,
            params: Object.fromEntries(found.names.map((name, i) => [name, values[i]])),
            query: Object.fromEntries(new URLSearchParams(search ?? '')),
            body,
            headers: { 'sforce-query-options': parent.headers['sforce-query-options'] }
        };
        const res = {
            locals: { ...parentRes.locals, apiVersion: version },
            status(code: number) {
                answer.status = code;
                return res;
            },
            json(value: unknown) {
                answer.body = value;
                return res;
            },
            end() {
                return res;
            },
            setHeader(name: string, value: unknown) {
                answer.headers[name] = String(value);
                return res;
            }
        };
        try {
            found.handler(req as unknown as Request, res as unknown as Response);
        } catch (e) {
            if (e instanceof RecordFailure) return { status: 400, body: failureBody(e), headers: {} };
            throw e;
        }
        return answer;
    };

    /** The Composite resource answers without Content-Length, at the top level as in its subrequests. */
    const sendWithoutLength = (res: Response, status: number, body: unknown): void => {
        res.status(status).setHeader('Content-Type', 'application/json;charset=UTF-8');
        res.write(JSON.stringify(body));
        res.end();
    };

    api.post('/composite', (req, res) => {
        let outcome: CompositeOutcome;
        try {
            // With allOrNone, what the subrequests wrote is undone when one fails.
            outcome = rt.store.atomic(() => {
                const result = runComposite(req.body, Number(apiVersion(res)), (method, url, body) =>
                    runSubrequest(req, res, method, url, body)
                );
                if (result.rollBack) throw new RolledBack(result);
                return result;
            });
        } catch (e) {
            if (e instanceof RolledBack) outcome = e.outcome;
            else if (e instanceof SalesforceError) {
                sendWithoutLength(res, e.status, e.body());
                return;
            } else throw e;
        }
        rt.persist();
        sendWithoutLength(res, 200, { compositeResponse: outcome.compositeResponse });
    });

    api.get('/composite', (_req, res) => {
        const base = `/services/data/v${apiVersion(res)}/composite`;
        res.json({
            tree: `${base}/tree`,
            batch: `${base}/batch`,
            sobjects: `${base}/sobjects`,
            graph: `${base}/graph`
        });
    });

    for (const kind of ['tree', 'batch', 'graph']) {
        api.all(`/composite/${kind}`, () => {
            throw new SalesforceError(
                400,
                'NOT_SUPPORTED_BY_LOCAL_ORG',
                `The local org does not emulate the composite ${kind} resource`
            );
        });
    }

    // ---- Bulk API 2.0 query jobs ----
    api.use('/jobs/query', bulkQueryRoutes(rt, apiVersion, queryContext));

    // ---- sObject collections ----
    const ROLLED_BACK: RecordError = {
        statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
        message:
            'Record rolled back because not all records were valid and the request was using AllOrNone header',
        fields: []
    };

    type Result = { id?: string; success: boolean; errors: RecordError[]; created?: boolean };

    /** Apply each record; with allOrNone, undo everything when one fails and report the roll-back. */
    const collection = (allOrNone: boolean, count: number, apply: (i: number) => Result): Result[] => {
        if (count > COLLECTION_MAX) {
            throw new SalesforceError(
                400,
                'EXCEEDED_ID_LIMIT',
                `record limit reached. cannot submit more than ${COLLECTION_MAX} records into this call`
            );
        }
        const run = (): Result[] => {
            const results: Result[] = [];
            for (let i = 0; i < count; i++) {
                try {
                    results.push(apply(i));
                } catch (e) {
                    if (e instanceof RecordFailure) results.push({ success: false, errors: e.errors });
                    else throw e;
                }
            }
            return results;
        };
        if (!allOrNone) return persistAfter(run);
        let results: Result[] = [];
        const failed = Symbol('failed');
        try {
            rt.store.atomic(() => {
                results = run();
                if (results.some((r) => !r.success)) throw failed;
            });
            rt.persist();
            return results;
        } catch (e) {
            if (e !== failed) throw e;
            return results.map((r) =>
                r.success
                    ? { ...(r.id ? { id: r.id } : {}), success: false, errors: [ROLLED_BACK] }
                    : { ...r, id: undefined }
            );
        }
    };

    const recordsOf = (req: Request): { allOrNone: boolean; records: Row[] } => {
        const body = (req.body ?? {}) as { allOrNone?: boolean; records?: Row[] };
        if (!Array.isArray(body.records))
            throw new SalesforceError(400, 'JSON_PARSER_ERROR', 'records is required');
        return { allOrNone: body.allOrNone === true, records: body.records };
    };

    const typeOf = (record: Row): ObjectDef => {
        const type = (record.attributes as { type?: string } | undefined)?.type;
        if (!type) throw new SalesforceError(400, 'INVALID_TYPE', 'Must send a concrete entity type.');
        return objectOf(type);
    };

    route('POST', '/composite/sobjects', (req, res) => {
        const { allOrNone, records } = recordsOf(req);
        const defs = records.map(typeOf);
        records.forEach((r, i) => rt.store.checkFieldNames(defs[i], r));
        const results = collection(allOrNone, records.length, (i) => {
            const input = { ...records[i] };
            delete input.attributes;
            const row = rt.store.insert(defs[i], input, ctxOf(res), rt.orgId);
            return { id: String(row.Id), success: true, errors: [] };
        });
        res.json(results.map(stripUndefined));
    });

    route('PATCH', '/composite/sobjects', (req, res) => {
        const { allOrNone, records } = recordsOf(req);
        const defs = records.map(typeOf);
        records.forEach((r, i) => rt.store.checkFieldNames(defs[i], r));
        const results = collection(allOrNone, records.length, (i) => {
            const input = { ...records[i] };
            delete input.attributes;
            const id = input.Id;
            delete input.Id;
            if (typeof id !== 'string' || id === '') {
                throw new RecordFailure([
                    {
                        statusCode: 'MISSING_ARGUMENT',
                        message: 'Id not specified in an update call',
                        fields: []
                    }
                ]);
            }
            const full = to18(id);
            if (!full)
                throw new RecordFailure([
                    { statusCode: 'MALFORMED_ID', message: `malformed id ${id}`, fields: [] }
                ]);
            rt.store.update(defs[i], full, input, ctxOf(res));
            return { id: full, success: true, errors: [] };
        });
        res.json(results.map(stripUndefined));
    });

    route('PATCH', '/composite/sobjects/:object/:field', (req, res) => {
        const def = objectOf(String(req.params.object));
        const field = externalField(def, String(req.params.field));
        const { allOrNone, records } = recordsOf(req);
        records.forEach((r) => rt.store.checkFieldNames(def, r));
        const results = collection(allOrNone, records.length, (i) => {
            const value = records[i][field.name] ?? records[i][String(req.params.field)];
            if (value === undefined || value === null || value === '') {
                throw new RecordFailure([
                    { statusCode: 'MISSING_ARGUMENT', message: `${field.name} not specified`, fields: [] }
                ]);
            }
            const { row, created } = upsertOne(def, field.name, String(value), records[i], res);
            return { id: String(row.Id), success: true, errors: [], created };
        });
        res.json(results.map(stripUndefined));
    });

    route('DELETE', '/composite/sobjects', (req, res) => {
        const ids = String(req.query.ids ?? '')
            .split(',')
            .filter((s) => s !== '');
        const allOrNone = String(req.query.allOrNone ?? 'false') === 'true';
        const results = collection(allOrNone, ids.length, (i) => {
            const raw = ids[i];
            const full = to18(raw);
            if (!full)
                throw new RecordFailure([
                    { statusCode: 'MALFORMED_ID', message: `malformed id ${raw}`, fields: [] }
                ]);
            const found = rt.store.find(full);
            if (!found)
                throw new RecordFailure([
                    {
                        statusCode: 'INVALID_CROSS_REFERENCE_KEY',
                        message: 'invalid cross reference id',
                        fields: []
                    }
                ]);
            rt.store.delete(found.table.def, full, ctxOf(res));
            return { id: full, success: true, errors: [] };
        });
        res.json(results.map((r, i) => stripUndefined({ ...r, id: r.id ?? to18(ids[i]) ?? ids[i] })));
    });

    const retrieveMany = (res: Response, objectName: string, ids: string[], fields: string[]): unknown[] => {
        const def = objectOf(objectName);
        return ids.map((id) => {
            const full = to18(id);
            const row = full ? rt.store.table(def.name).rows.get(full) : undefined;
            return row && !row.IsDeleted ? renderRecord(res, def, row, fields) : null;
        });
    };

    route('GET', '/composite/sobjects/:object', (req, res) => {
        const ids = String(req.query.ids ?? '')
            .split(',')
            .filter((s) => s !== '');
        res.json(
            retrieveMany(res, String(req.params.object), ids, String(req.query.fields ?? 'Id').split(','))
        );
    });

    route('POST', '/composite/sobjects/:object', (req, res) => {
        const body = (req.body ?? {}) as { ids?: string[]; fields?: string[] };
        const ids = Array.isArray(body.ids) ? body.ids.map(String) : [];
        if (ids.length > 2000) {
            throw new SalesforceError(
                400,
                'EXCEEDED_ID_LIMIT',
                'record limit reached. cannot submit more than 2000 records into this call'
            );
        }
        res.json(
            retrieveMany(
                res,
                String(req.params.object),
                ids,
                Array.isArray(body.fields) ? body.fields.map(String) : ['Id']
            )
        );
    });

    api.use((_req: Request, res: Response) => {
        res.status(404).json([{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]);
    });

    app.use((_req: Request, res: Response) => {
        res.status(404).json([{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]);
    });

    app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
        void next;
        if (err instanceof SalesforceError) {
            sfError(res, err);
            return;
        }
        if (err instanceof RecordFailure) {
            res.status(400).json(failureBody(err));
            return;
        }
        const e = err as { type?: string; message?: string };
        if (e?.type === 'entity.parse.failed') {
            res.status(400).json([
                { message: `Unexpected character: ${e.message ?? ''}`, errorCode: 'JSON_PARSER_ERROR' }
            ]);
            return;
        }
        rt.log(`local org error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        res.status(500).json([{ errorCode: 'UNKNOWN_EXCEPTION', message: 'An unexpected error occurred.' }]);
    });

    return app;
}

type CompositeOutcome = ReturnType<typeof runComposite>;

/** Thrown out of the store's transaction to undo an allOrNone composite request's writes. */
class RolledBack extends Error {
    constructor(readonly outcome: CompositeOutcome) {
        super('composite request rolled back');
    }
}

function stripUndefined<T extends object>(value: T): T {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
