/**
 * Configuration, parsed once from the environment by one schema. A bad value stops the process with a
 * message naming every bad variable. With no org configured the service runs in local mode: the embedded
 * local org, emails written to an outbox folder, generated secrets.
 */
import { createPrivateKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { loadConnectionsFile, type ConnectionEndpoint } from './connections/config';
import { AppError } from './errors';
import { BULK_QUERY_ABOVE } from './use-cases/candidates';

const bool = z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .transform((v) => ['true', '1', 'yes'].includes(v));
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
/** Seconds, fractions allowed (tests and demos shorten the run timings). */
const seconds = (min: number, max: number) => z.coerce.number().min(min).max(max);
const optionalText = z
    .string()
    .trim()
    .transform((v) => (v === '' ? undefined : v))
    .optional();
const httpUrl = z
    .string()
    .trim()
    .refine((v) => /^https?:\/\/[^\s]+$/i.test(v), 'must be an http(s) URL');
const mailbox = z
    .string()
    .trim()
    .refine(
        (v) => !/[\r\n]/.test(v) && /^(?:[^<>\r\n]*<[^\s@<>]+@[^\s@<>]+>|[^\s@<>,;"]+@[^\s@<>,;"]+)$/.test(v),
        'must be an address such as "Rollcall <rollcall@example.com>"'
    );

const envSchema = z.object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
    PORT: int(0, 65535).default(8080),
    HOST: optionalText,
    ROLLCALL_API_SECRET: optionalText.refine(
        (v) => v === undefined || v.length >= 32,
        'must be at least 32 characters'
    ),
    REQUEST_BODY_LIMIT: z.string().trim().default('256kb'),
    /** The V8 heap budget `npm start` passes (--max-old-space-size); read here to warn when it was not applied. */
    ROLLCALL_MAX_HEAP_MB: int(128, 65_536).optional(),

    SF_LOGIN_URL: optionalText.refine(
        (v) => v === undefined || /^https?:\/\//.test(v),
        'must be an http(s) URL'
    ),
    SF_CLIENT_ID: optionalText,
    SF_USERNAME: optionalText,
    SF_PRIVATE_KEY: optionalText,
    SF_PRIVATE_KEY_FILE: optionalText,
    SF_JWT_AUDIENCE: optionalText.refine(
        (v) => v === undefined || /^https?:\/\/[^\s]+$/.test(v),
        'must be an http(s) URL'
    ),
    SF_API_VERSION: z
        .string()
        .trim()
        .regex(/^\d{2}\.0$/, 'must look like 62.0')
        .default('62.0'),
    SF_RETRY_ATTEMPTS: int(0, 10).default(4),
    SF_RETRY_BASE_MS: int(1, 60_000).default(300),

    DATA_DIR: z.string().trim().default('.data'),
    LOCAL_ORG_PORT: int(0, 65535).default(0),
    /** Local mode: the admin app's port (0: any free port, printed at start). */
    ADMIN_APP_PORT: int(0, 65535).default(0),
    LOCAL_ORG_USERS: int(1, 1_000_000).optional(),

    SMTP_URL: optionalText,
    SMTP_HOST: optionalText,
    SMTP_PORT: int(1, 65535).default(587),
    SMTP_SECURE: bool.default(false),
    SMTP_REQUIRE_TLS: bool.default(false),
    SMTP_TLS_REJECT_UNAUTHORIZED: bool.default(true),
    SMTP_USER: optionalText,
    SMTP_PASSWORD: optionalText,
    SMTP_MAX_CONNECTIONS: int(1, 100).default(5),
    SMTP_RATE_PER_SECOND: int(0, 100_000).default(0),
    SMTP_TIMEOUT_MS: int(100, 600_000).default(30_000),
    SMTP_RETRY_ATTEMPTS: int(0, 10).default(3),
    SMTP_RETRY_BASE_MS: int(1, 60_000).default(500),
    OUTBOX_DIR: z.string().trim().default('outbox'),
    MAIL_FROM: mailbox.default('Rollcall <rollcall@localhost>'),
    MAIL_REPLY_TO: mailbox.optional(),
    MAIL_SUPPORT_CONTACT: z.string().trim().max(200).default('your Salesforce administrator'),
    TEMPLATES_DIR: optionalText,

    SLACK_BOT_TOKEN: optionalText,
    SLACK_API_URL: optionalText.refine(
        (v) => v === undefined || /^https?:\/\//.test(v),
        'must be an http(s) URL'
    ),
    SLACK_CHANNEL: optionalText,
    SLACK_TIMEOUT_MS: int(100, 120_000).default(10_000),

    AUTH_LINK_URL_TEMPLATE: httpUrl
        .refine((v) => v.includes('{token}'), 'must contain {token}')
        .default('https://scheduling.example.com/authorize?token={token}'),
    AUTH_TOKEN_SECRET: optionalText.refine(
        (v) => v === undefined || v.length >= 32,
        'must be at least 32 characters'
    ),
    AUTH_TOKEN_TTL_HOURS: int(1, 24 * 90).default(168),
    WEBHOOK_SECRET: optionalText.refine(
        (v) => v === undefined || v.length >= 32,
        'must be at least 32 characters'
    ),
    WEBHOOK_TOLERANCE_SECONDS: int(1, 3600).default(300),
    RUN_LINK_URL_TEMPLATE: optionalText.refine(
        (v) => v === undefined || (/^https?:\/\//.test(v) && v.includes('{runId}')),
        'must be an http(s) URL containing {runId}'
    ),

    PREVIEW_TTL_HOURS: int(1, 24 * 30).default(24),
    /** Candidates above which a candidate query is read by a Bulk API 2.0 query job (docs/decisions.md). */
    BULK_QUERY_ABOVE: int(0, 1_000_000_000).default(BULK_QUERY_ABOVE),
    HEARTBEAT_SECONDS: seconds(0.1, 3600).default(15),
    STALE_RUN_SECONDS: seconds(0.4, 86_400).default(120),
    SWEEP_SECONDS: seconds(0.1, 86_400).default(60),
    AUDIT_TABLE_CAP: int(1, 100_000).default(200),
    PREVIEW_PAGE_SIZE: int(1, 2000).default(200),
    SCHEDULER: z.enum(['apex', 'service', 'off']).optional(),
    SHUTDOWN_TIMEOUT_SECONDS: int(1, 600).default(10),
    DEMO_ON_START: bool.optional(),
    ADMIN_RECIPIENT_CAP: int(1, 1000).default(50),
    /** JSON file of the apps the connections reach: {"<Key__c>": {"baseUrl", "token" | "tokenFile"}} (DESIGN §10). */
    CONNECTIONS_FILE: optionalText
});

/** Every variable the service reads (.env.example documents each; a test checks it). */
export const ENV_VARIABLES = Object.keys(envSchema.shape);

export type Env = Record<string, string | undefined>;

export interface SalesforceConfig {
    loginUrl: string;
    clientId: string;
    username: string;
    privateKeyPem: string;
    /** The JWT's `aud`; default derived from loginUrl (see jwtAudience). */
    audience?: string;
    apiVersion: string;
    retryAttempts: number;
    retryBaseMs: number;
}

export type MailTransportConfig =
    | {
          kind: 'smtp';
          url?: string;
          host?: string;
          port: number;
          secure: boolean;
          requireTls: boolean;
          rejectUnauthorized: boolean;
          user?: string;
          password?: string;
          maxConnections: number;
          ratePerSecond: number;
          timeoutMs: number;
      }
    | { kind: 'outbox'; dir: string };

export interface Config {
    mode: 'local' | 'org';
    env: 'development' | 'production' | 'test';
    logLevel: string;
    /**
     * json: JSON lines on stdout (production). pretty: terse lines. In local mode the logs go to stderr so
     * that stdout carries the human summary; `auto` is pretty there when stderr is a terminal, json otherwise.
     */
    logFormat: 'auto' | 'json' | 'pretty';
    port: number;
    host: string;
    apiSecret: string;
    apiSecretGenerated: boolean;
    requestBodyLimit: string;
    /** The heap budget asked for (ROLLCALL_MAX_HEAP_MB), when set; npm start applies it (service/src/heap.ts). */
    maxHeapMb?: number;
    /** DATA_DIR: the local org, the run journals and `service.json` (where the CLI finds the service). */
    dataDir: string;
    salesforce?: SalesforceConfig;
    /** Only for local mode: how the embedded local org is started. */
    localOrg: { dataDir: string; port: number; users?: number; apiVersion: string };
    /** Only for local mode: where `npm start` serves the admin app (0: any free port). */
    adminApp: { port: number };
    mail: {
        transport: MailTransportConfig;
        from: string;
        replyTo?: string;
        supportContact: string;
        retryAttempts: number;
        retryBaseMs: number;
        templatesDir: string;
    };
    slack: { token?: string; apiUrl?: string; channel?: string; timeoutMs: number };
    links: {
        authorizationUrlTemplate: string;
        tokenSecret: string;
        tokenTtlHours: number;
        runUrlTemplate?: string;
    };
    webhook: { secret?: string; toleranceSeconds: number };
    runs: {
        previewTtlHours: number;
        heartbeatSeconds: number;
        staleAfterSeconds: number;
        sweepSeconds: number;
        auditTableCap: number;
        previewPageSize: number;
        adminRecipientCap: number;
        /** BULK_QUERY_ABOVE: candidates above which a query is read by a Bulk API 2.0 query job. */
        bulkQueryAbove: number;
        /** Run journals: every outcome as soon as the mailer returns, applied by a resume ($DATA_DIR/journal). */
        journalDir: string;
    };
    scheduler: 'apex' | 'service' | 'off';
    shutdownTimeoutSeconds: number;
    demoOnStart: boolean;
    /** CONNECTIONS_FILE: the apps the service can reach, by connection key (tokens never serialised). */
    connections: { file?: string; endpoints: ConnectionEndpoint[] };
}

/** Names of the variables that hold secrets: never logged, never echoed back in errors. */
export const SECRET_VARIABLES = [
    'ROLLCALL_API_SECRET',
    'SF_PRIVATE_KEY',
    'SMTP_PASSWORD',
    'SMTP_URL',
    'SLACK_BOT_TOKEN',
    'AUTH_TOKEN_SECRET',
    'WEBHOOK_SECRET'
];

export const DEFAULT_TEMPLATES_DIR = resolve(__dirname, '..', 'templates');

function generatedSecret(): string {
    return randomBytes(32).toString('base64url');
}

export function loadConfig(env: Env = process.env): Config {
    const problems: string[] = [];
    const parsed = envSchema.safeParse(env);
    if (!parsed.success) {
        for (const issue of parsed.error.issues) {
            problems.push(`${issue.path.join('.') || '(environment)'}: ${issue.message}`);
        }
        throw configError(problems);
    }
    const e = parsed.data;

    const orgVariables = [
        'SF_LOGIN_URL',
        'SF_CLIENT_ID',
        'SF_USERNAME',
        'SF_PRIVATE_KEY',
        'SF_PRIVATE_KEY_FILE'
    ] as const;
    const mode: Config['mode'] = orgVariables.some((name) => e[name] !== undefined) ? 'org' : 'local';

    let salesforce: SalesforceConfig | undefined;
    if (mode === 'org') {
        if (!e.SF_CLIENT_ID) problems.push('SF_CLIENT_ID: required when an org is configured');
        if (!e.SF_USERNAME) problems.push('SF_USERNAME: required when an org is configured');
        let privateKeyPem = e.SF_PRIVATE_KEY?.replace(/\\n/g, '\n');
        if (!privateKeyPem && e.SF_PRIVATE_KEY_FILE) {
            try {
                privateKeyPem = readFileSync(e.SF_PRIVATE_KEY_FILE, 'utf8');
            } catch {
                problems.push('SF_PRIVATE_KEY_FILE: cannot be read');
            }
        }
        if (!privateKeyPem && !e.SF_PRIVATE_KEY_FILE) {
            problems.push('SF_PRIVATE_KEY: required (or SF_PRIVATE_KEY_FILE) when an org is configured');
        } else if (privateKeyPem && !isPrivateKey(privateKeyPem)) {
            // Caught here, a bad key is one clear message instead of ERR_OSSL_* on every org call.
            problems.push(
                `${e.SF_PRIVATE_KEY ? 'SF_PRIVATE_KEY' : 'SF_PRIVATE_KEY_FILE'}: must be a PEM private key (RSA) that can be read`
            );
        }
        if (!e.ROLLCALL_API_SECRET) problems.push('ROLLCALL_API_SECRET: required when an org is configured');
        if (!e.AUTH_TOKEN_SECRET) problems.push('AUTH_TOKEN_SECRET: required when an org is configured');
        if (e.SF_CLIENT_ID && e.SF_USERNAME && privateKeyPem) {
            salesforce = {
                loginUrl: (e.SF_LOGIN_URL ?? 'https://login.salesforce.com').replace(/\/+$/, ''),
                clientId: e.SF_CLIENT_ID,
                username: e.SF_USERNAME,
                privateKeyPem,
                audience: e.SF_JWT_AUDIENCE,
                apiVersion: e.SF_API_VERSION,
                retryAttempts: e.SF_RETRY_ATTEMPTS,
                retryBaseMs: e.SF_RETRY_BASE_MS
            };
        }
    }
    if (e.SMTP_USER && !e.SMTP_PASSWORD) problems.push('SMTP_PASSWORD: required when SMTP_USER is set');
    const takenPorts: [string, number][] = [
        ['PORT', e.PORT],
        ['LOCAL_ORG_PORT', e.LOCAL_ORG_PORT]
    ];
    for (const [name, port] of takenPorts) {
        if (e.ADMIN_APP_PORT !== 0 && e.ADMIN_APP_PORT === port) {
            problems.push(`ADMIN_APP_PORT: must differ from ${name} (both are ${port})`);
        }
    }
    if (e.HEARTBEAT_SECONDS * 4 > e.STALE_RUN_SECONDS) {
        // The provisioning lease lives STALE_RUN_SECONDS and is renewed with each heartbeat; its holder stops
        // sending after half of it without a renewal, so several renewals must fit in that half.
        problems.push(
            `STALE_RUN_SECONDS: must be at least 4 × HEARTBEAT_SECONDS (${e.HEARTBEAT_SECONDS * 4}); it is ${e.STALE_RUN_SECONDS}`
        );
    }
    const connections: Config['connections'] = { file: e.CONNECTIONS_FILE, endpoints: [] };
    if (e.CONNECTIONS_FILE) {
        const loaded = loadConnectionsFile(resolve(e.CONNECTIONS_FILE));
        problems.push(...loaded.problems);
        connections.endpoints = loaded.endpoints;
    }
    if (problems.length > 0) throw configError(problems);

    const transport: MailTransportConfig =
        e.SMTP_URL || e.SMTP_HOST
            ? {
                  kind: 'smtp',
                  url: e.SMTP_URL,
                  host: e.SMTP_HOST,
                  port: e.SMTP_PORT,
                  secure: e.SMTP_SECURE,
                  requireTls: e.SMTP_REQUIRE_TLS,
                  rejectUnauthorized: e.SMTP_TLS_REJECT_UNAUTHORIZED,
                  user: e.SMTP_USER,
                  password: e.SMTP_PASSWORD,
                  maxConnections: e.SMTP_MAX_CONNECTIONS,
                  ratePerSecond: e.SMTP_RATE_PER_SECOND,
                  timeoutMs: e.SMTP_TIMEOUT_MS
              }
            : { kind: 'outbox', dir: resolve(e.OUTBOX_DIR) };

    return {
        mode,
        env: e.NODE_ENV,
        logLevel: e.LOG_LEVEL,
        logFormat: e.LOG_FORMAT,
        port: e.PORT,
        host: e.HOST ?? (mode === 'local' ? '127.0.0.1' : '0.0.0.0'),
        apiSecret: e.ROLLCALL_API_SECRET ?? generatedSecret(),
        apiSecretGenerated: e.ROLLCALL_API_SECRET === undefined,
        requestBodyLimit: e.REQUEST_BODY_LIMIT,
        maxHeapMb: e.ROLLCALL_MAX_HEAP_MB,
        dataDir: resolve(e.DATA_DIR),
        salesforce,
        localOrg: {
            dataDir: resolve(e.DATA_DIR, 'local-org'),
            port: e.LOCAL_ORG_PORT,
            users: e.LOCAL_ORG_USERS,
            apiVersion: e.SF_API_VERSION
        },
        adminApp: { port: e.ADMIN_APP_PORT },
        mail: {
            transport,
            from: e.MAIL_FROM,
            replyTo: e.MAIL_REPLY_TO,
            supportContact: e.MAIL_SUPPORT_CONTACT,
            retryAttempts: e.SMTP_RETRY_ATTEMPTS,
            retryBaseMs: e.SMTP_RETRY_BASE_MS,
            templatesDir: e.TEMPLATES_DIR ? resolve(e.TEMPLATES_DIR) : DEFAULT_TEMPLATES_DIR
        },
        slack: {
            token: e.SLACK_BOT_TOKEN,
            apiUrl: e.SLACK_API_URL,
            channel: e.SLACK_CHANNEL,
            timeoutMs: e.SLACK_TIMEOUT_MS
        },
        links: {
            authorizationUrlTemplate: e.AUTH_LINK_URL_TEMPLATE,
            tokenSecret: e.AUTH_TOKEN_SECRET ?? generatedSecret(),
            tokenTtlHours: e.AUTH_TOKEN_TTL_HOURS,
            runUrlTemplate: e.RUN_LINK_URL_TEMPLATE
        },
        webhook: { secret: e.WEBHOOK_SECRET, toleranceSeconds: e.WEBHOOK_TOLERANCE_SECONDS },
        runs: {
            previewTtlHours: e.PREVIEW_TTL_HOURS,
            heartbeatSeconds: e.HEARTBEAT_SECONDS,
            staleAfterSeconds: e.STALE_RUN_SECONDS,
            sweepSeconds: e.SWEEP_SECONDS,
            auditTableCap: e.AUDIT_TABLE_CAP,
            previewPageSize: e.PREVIEW_PAGE_SIZE,
            adminRecipientCap: e.ADMIN_RECIPIENT_CAP,
            bulkQueryAbove: e.BULK_QUERY_ABOVE,
            journalDir: resolve(e.DATA_DIR, 'journal')
        },
        scheduler: e.SCHEDULER ?? (mode === 'local' ? 'service' : 'apex'),
        shutdownTimeoutSeconds: e.SHUTDOWN_TIMEOUT_SECONDS,
        demoOnStart: e.DEMO_ON_START ?? (mode === 'local' && e.NODE_ENV !== 'test'),
        connections
    };
}

function isPrivateKey(pem: string): boolean {
    try {
        return createPrivateKey(pem).asymmetricKeyType === 'rsa';
    } catch {
        return false;
    }
}

/**
 * The secret values a configuration holds, for redaction: the configured secrets, and the password inside
 * SMTP_URL as it is written and as it is sent (percent-decoded), since a server may echo it in a 535.
 */
export function configuredSecrets(config: Config): string[] {
    const transport = config.mail.transport;
    const values = [
        config.apiSecret,
        config.links.tokenSecret,
        config.webhook.secret,
        config.slack.token,
        config.salesforce?.privateKeyPem,
        transport.kind === 'smtp' ? transport.password : undefined,
        transport.kind === 'smtp' ? transport.url : undefined,
        ...config.connections.endpoints.map((entry) => entry.token())
    ];
    if (transport.kind === 'smtp' && transport.url) {
        try {
            const password = new URL(transport.url).password;
            values.push(password);
            values.push(decodeURIComponent(password));
        } catch {
            // An unparsable URL fails at the mailer; the whole URL is registered above.
        }
    }
    return values.filter((value): value is string => Boolean(value));
}

function configError(problems: string[]): AppError {
    return new AppError('CONFIG_INVALID', `Invalid configuration:\n  - ${problems.join('\n  - ')}`);
}
