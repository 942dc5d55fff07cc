/**
 * The HTTP API (DESIGN §5). Routes stay thin: parse, call a use case, answer. Every /v1 route but the
 * authorization webhook needs the deployment's bearer secret (compared in constant time); the webhook
 * is signed by the scheduling product instead.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { z } from 'zod';
import type { Config } from '../config';
import type { ConnectionsService } from '../connections/status';
import { ReplayGuard, SIGNATURE_HEADER, verifyWebhook } from '../domain/tokens';
import { AppError, isAppError, redact } from '../errors';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { Clock } from '../ports';
import {
    authorizationByToken,
    authorizationByUser,
    type ProvisioningService
} from '../use-cases/provisioning';

export interface AppDeps {
    config: Config;
    provisioning: ProvisioningService;
    metrics: Metrics;
    logger: Logger;
    clock: Clock;
    /** Readiness: resolves when the org answers. */
    ready: () => Promise<void>;
    /** The connections (DESIGN §10): their status, the test, a run's actions. */
    connections: ConnectionsService;
}

type RawBodyRequest = Request & { rawBody?: Buffer };

const salesforceId = z.string().regex(/^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/, 'must be a Salesforce id');
/** Manual previews and runs name the admin who starts them (DESIGN §5); the org is asked whether they hold Rollcall_Admin. */
const initiatedBy = z
    .string({
        error: (issue) =>
            issue.input === undefined
                ? 'is required: the Salesforce User Id of the admin who starts this (must hold Rollcall_Admin)'
                : 'must be a Salesforce id'
    })
    .regex(/^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/, 'must be a Salesforce id');
const previewBody = z.strictObject({
    initiatedBy,
    purpose: z
        .enum(['provisioning', 'schedule-check'], { error: 'must be "provisioning" or "schedule-check"' })
        .optional()
});
const executeBody = z.strictObject({
    previewRunId: salesforceId,
    initiatedBy,
    notify: z
        .strictObject({
            admins: z.boolean().optional(),
            recipients: z.array(z.string().max(254)).max(50).optional()
        })
        .optional()
});
const scheduledBody = z.strictObject({
    trigger: z.literal('scheduled', { error: 'must be "scheduled"' }),
    /** The schedule's fire time (or any key of the trigger): triggers with the same slot start one run. */
    slot: z
        .string()
        .regex(/^[\w:.+-]{1,64}$/, 'must be 1–64 letters, digits or _ : . + -, such as 2026-12-01T09:00Z')
        .optional(),
    /** Evaluate every candidate, not only the users changed since the last run (incremental sync). */
    full: z.boolean().optional()
});

/** A condition set as the editor holds it before save (DESIGN §4 definition, products, statuses). */
const draftBody = z.strictObject({
    definition: z.union([
        z.string().min(1).max(131_072),
        z.record(z.string(), z.unknown()).transform((value) => JSON.stringify(value))
    ]),
    // An access-only set grants no product (issue 19): its check still says who it matches.
    products: z.array(z.string().min(1).max(255)).max(50),
    eligibleStatuses: z.array(z.string().min(1).max(40)).max(10).optional(),
    setId: salesforceId.optional(),
    name: z.string().max(80).optional()
});

/** The two run bodies are told apart by `trigger`, so a mistake is reported against the right one. */
function parseRunBody(value: unknown): z.infer<typeof executeBody> | z.infer<typeof scheduledBody> {
    const body = (value ?? {}) as Record<string, unknown>;
    const isObject = typeof body === 'object' && !Array.isArray(body);
    if (isObject && 'trigger' in body) return parse(scheduledBody, body);
    if (isObject && !('previewRunId' in body)) {
        throw new AppError(
            'VALIDATION_FAILED',
            'body: give previewRunId (to execute a preview) or trigger: "scheduled"'
        );
    }
    return parse(executeBody, body);
}

/** Validates a body (or, named by `what`, a path or query parameter); the 400 names each bad field. */
function parse<T>(schema: z.ZodType<T>, value: unknown, what = 'body'): T {
    const result = schema.safeParse(what === 'body' ? (value ?? {}) : value);
    if (!result.success) {
        const message = result.error.issues
            .map(
                (issue) =>
                    `${[what === 'body' ? '' : what, ...issue.path].filter(Boolean).join('.') || 'body'}: ${issue.message}`
            )
            .join('; ');
        throw new AppError('VALIDATION_FAILED', message);
    }
    return result.data;
}

function digest(value: string): Buffer {
    return createHash('sha256').update(value).digest();
}

export function bearerAuth(secret: string) {
    const expected = digest(secret);
    return (req: Request, _res: Response, next: NextFunction) => {
        const header = req.get('authorization') ?? '';
        const match = /^Bearer (.+)$/i.exec(header);
        // Hashing both sides gives equal lengths, so the comparison time says nothing about the secret.
        if (!match || !timingSafeEqual(digest(match[1].trim()), expected)) {
            next(new AppError('UNAUTHORIZED', 'Missing or wrong bearer secret'));
            return;
        }
        next();
    };
}

interface RouterLayer {
    route?: { path: string; methods: Record<string, boolean> };
    matchers?: ((path: string) => unknown)[];
    handle?: { stack?: RouterLayer[] };
    rawPath?: string;
}

/** The methods the app's routes answer on this path (none: the path is not a route at all). */
function allowedMethods(app: express.Express, path: string): string[] {
    const methods = new Set<string>();
    const visit = (stack: RouterLayer[], prefix: string) => {
        for (const layer of stack) {
            if (layer.route) {
                const pattern = new RegExp(`^${`${prefix}${layer.route.path}`.replace(/:\w+/g, '[^/]+')}/?$`);
                if (pattern.test(path)) {
                    for (const method of Object.keys(layer.route.methods)) methods.add(method.toUpperCase());
                }
            } else if (layer.handle?.stack && layer.rawPath !== undefined) {
                visit(layer.handle.stack, `${prefix}${layer.rawPath}`);
            }
        }
    };
    visit((app as unknown as { router: { stack: RouterLayer[] } }).router.stack, '');
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods].sort();
}

/** A request no route answered: 405 naming the methods that path answers, or 404 when none does. */
function routeMiss(app: express.Express, req: Request): AppError {
    const path = `${req.baseUrl}${req.path}`.replace(/\/$/, '') || '/';
    const allowed = allowedMethods(app, path);
    if (allowed.length > 0) {
        return new AppError(
            'METHOD_NOT_ALLOWED',
            `${req.method} is not allowed here; use ${allowed.join(', ')}`,
            {
                headers: { Allow: allowed.join(', ') }
            }
        );
    }
    return new AppError('NOT_FOUND', 'No such route');
}

/** Node answers an oversized header block itself, with no body; the API's clients expect its JSON error. */
export function answerClientErrors(server: Server): void {
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
        if (!socket.writable) return;
        if (error.code === 'HPE_HEADER_OVERFLOW') {
            const body = JSON.stringify({
                error: { code: 'HEADERS_TOO_LARGE', message: 'Request headers are too large' }
            });
            socket.end(
                `HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: application/json; charset=utf-8\r\nCache-Control: no-store\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
            );
            return;
        }
        const timedOut = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
        socket.end(
            `HTTP/1.1 ${timedOut ? '408 Request Timeout' : '400 Bad Request'}\r\nConnection: close\r\n\r\n`
        );
    });
}

export function createApp(deps: AppDeps): express.Express {
    const { config, provisioning, metrics, logger, clock } = deps;
    const app = express();
    app.disable('x-powered-by');
    app.set('trust proxy', false);
    app.use(helmet());
    app.use((req, res, next) => {
        const end = metrics.httpDuration.startTimer({ method: req.method });
        res.on('finish', () => {
            // Only matched routes are labelled by their pattern: a raw path would give every probe its own series.
            const pattern = req.route?.path as string | undefined;
            end({
                route: pattern === undefined ? 'unmatched' : `${req.baseUrl}${pattern}`,
                status: String(res.statusCode)
            });
        });
        next();
    });
    // Answers carry run state and user data: no cache (browser, proxy) may keep them.
    app.use((_req, res, next) => {
        res.set('Cache-Control', 'no-store');
        next();
    });
    // A body in another format would otherwise be ignored and the request run as if it had none.
    app.use((req, _res, next) => {
        const hasBody =
            Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
        if (hasBody && !req.is('application/json')) {
            next(
                new AppError('VALIDATION_FAILED', 'Content-Type must be application/json', {
                    status: 415
                })
            );
            return;
        }
        next();
    });
    app.use(
        express.json({
            limit: config.requestBodyLimit,
            verify: (req, _res, buf) => {
                (req as RawBodyRequest).rawBody = buf;
            }
        })
    );

    app.get('/healthz', (_req, res) => {
        res.json({ status: 'ok' });
    });
    app.get('/readyz', async (_req, res, next) => {
        try {
            await deps.ready();
            res.json({ status: 'ready' });
        } catch (error) {
            next(new AppError('ORG_UNAVAILABLE', 'The org is not reachable', { cause: error }));
        }
    });
    app.get('/metrics', async (_req, res) => {
        res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });

    const replays = new ReplayGuard(config.webhook.toleranceSeconds);
    app.post('/v1/authorizations', async (req: RawBodyRequest, res) => {
        if (!config.webhook.secret)
            throw new AppError('FORBIDDEN', 'The authorization webhook is not configured');
        const signature = req.get(SIGNATURE_HEADER);
        verifyWebhook(
            config.webhook.secret,
            signature,
            req.rawBody ?? Buffer.alloc(0),
            clock.now(),
            config.webhook.toleranceSeconds
        );
        const release = replays.claim(String(signature), clock.now());
        try {
            const body = (req.body ?? {}) as Record<string, unknown>;
            const result = await provisioning.authorize(
                typeof body === 'object' && 'token' in body
                    ? parse(authorizationByToken, body)
                    : parse(authorizationByUser, body)
            );
            res.status(200).json(result);
        } catch (error) {
            release();
            throw error;
        }
    });

    // The webhook's path answers no other method, and its senders carry a signature, not the bearer: a wrong
    // method there is a 405, as everywhere, not the bearer check's 401 below.
    app.use('/v1/authorizations', (req, _res, next) => next(routeMiss(app, req)));

    const v1 = express.Router();
    v1.use(bearerAuth(config.apiSecret));
    v1.post('/previews', async (req, res) => {
        const body = parse(previewBody, req.body);
        const accepted = await provisioning.startPreview(body);
        res.status(202).location(`/v1/runs/${accepted.runId}`).json(accepted);
    });
    v1.post('/runs', async (req, res) => {
        const body = parseRunBody(req.body);
        const accepted =
            'trigger' in body
                ? await provisioning.scheduled({ slot: body.slot, full: body.full })
                : await provisioning.execute(body);
        res.status(202).location(`/v1/runs/${accepted.runId}`).json(accepted);
    });
    // What the service can do that the org cannot know: the schedule screen says when Slack is not set up here.
    v1.get('/status', (_req, res) => {
        res.json({ slack: { configured: Boolean(config.slack.token) } });
    });
    v1.get('/runs', async (req, res) => {
        const limit = parse(z.coerce.number().int().min(1).max(200).default(20), req.query.limit, 'limit');
        res.json({ runs: await provisioning.listRuns(limit) });
    });
    v1.get('/runs/:id', async (req, res) => {
        res.json(await provisioning.getRun(parse(salesforceId, req.params.id, 'id')));
    });
    v1.get('/runs/:id/items', async (req, res) => {
        const items = await provisioning.runItems(parse(salesforceId, req.params.id, 'id'));
        res.json({
            items: items.map((item) => ({
                userId: item.User__c,
                name: item.User__r?.Name ?? item.User__c,
                email: item.Email__c ?? null,
                products: (item.Products__c ?? '').split(';').filter(Boolean),
                matchedSets: (item.Matched_Sets__c ?? '')
                    .split(';')
                    .map((name) => name.trim())
                    .filter(Boolean),
                status: item.Status__c ?? null,
                reason: item.Reason__c ?? null
            }))
        });
    });
    v1.post('/condition-sets/impact', async (req, res) => {
        res.json(await provisioning.draftImpact(parse(draftBody, req.body)));
    });
    v1.get('/users/:key/explain', async (req, res) => {
        const key = parse(z.string().trim().min(1).max(255), req.params.key, 'key');
        res.json(await provisioning.explain(key));
    });
    const { connections } = deps;
    const connectionKey = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/, 'must be a connection key');
    v1.get('/connections', async (_req, res) => {
        res.json(await connections.list());
    });
    v1.post('/connections/:key/test', async (req, res) => {
        res.json(await connections.test(parse(connectionKey, req.params.key, 'key')));
    });
    v1.post('/runs/:id/approve-held', async (req, res) => {
        const body = parse(z.object({ initiatedBy: z.string().optional() }), req.body ?? {});
        res.json(
            await provisioning.approveHeld({
                runId: parse(salesforceId, req.params.id, 'id'),
                initiatedBy: body.initiatedBy
            })
        );
    });
    v1.get('/connections/:key/pending-deactivations', async (req, res) => {
        res.json(await provisioning.pendingDeactivations(parse(connectionKey, req.params.key, 'key')));
    });
    v1.post('/connections/:key/reconcile', async (req, res) => {
        const body = parse(
            z.object({
                initiatedBy: z.string().optional(),
                keep: z.number().int().min(0).max(10_000).optional()
            }),
            req.body ?? {}
        );
        res.json(await provisioning.reconcile({ key: parse(connectionKey, req.params.key, 'key'), ...body }));
    });
    v1.post('/connections/:key/adopt', async (req, res) => {
        const body = parse(
            z.object({
                initiatedBy: z.string().optional(),
                appIds: z.array(z.string().min(1).max(255)).max(10_000).optional(),
                all: z.boolean().optional()
            }),
            req.body ?? {}
        );
        res.json(await provisioning.adopt({ key: parse(connectionKey, req.params.key, 'key'), ...body }));
    });
    v1.get('/runs/:id/actions', async (req, res) => {
        res.json(await connections.runActions(parse(salesforceId, req.params.id, 'id')));
    });
    app.use('/v1', v1);

    app.use((req, _res, next) => next(routeMiss(app, req)));
    app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
        let appError: AppError;
        const bodyError = error as { type?: string; status?: number };
        if (isAppError(error)) appError = error;
        else if (bodyError?.type === 'entity.too.large') {
            appError = new AppError(
                'PAYLOAD_TOO_LARGE',
                `Request body larger than ${config.requestBodyLimit}`
            );
        } else if (bodyError?.type === 'entity.parse.failed') {
            appError = new AppError('VALIDATION_FAILED', 'Request body is not valid JSON');
        } else if (bodyError?.type === 'encoding.unsupported') {
            appError = new AppError(
                'VALIDATION_FAILED',
                'Content-Encoding must be identity, gzip, deflate or br',
                {
                    status: 415
                }
            );
        } else if (error instanceof URIError || (bodyError?.status === 400 && bodyError.type === undefined)) {
            // The router cannot decode a malformed percent-encoded path parameter.
            appError = new AppError('VALIDATION_FAILED', 'The path is not valid percent-encoding');
        } else if (bodyError?.status !== undefined && bodyError.status >= 400 && bodyError.status < 500) {
            appError = new AppError('VALIDATION_FAILED', 'The request could not be read', {
                status: bodyError.status
            });
        } else {
            appError = new AppError('INTERNAL', 'Internal error', { cause: error });
        }
        const log = appError.status >= 500 ? logger.error.bind(logger) : logger.warn.bind(logger);
        const message = redact(appError.message);
        log(
            {
                code: appError.code,
                method: req.method,
                path: req.path,
                err: appError.cause instanceof Error ? redact(appError.cause.message) : undefined
            },
            message
        );
        if (appError.headers) res.set(appError.headers);
        res.status(appError.status).json({
            error: { code: appError.code, message, ...(appError.details ?? {}) }
        });
    });
    return app;
}
