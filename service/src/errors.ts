/**
 * The service's one error type. `code` is stable (clients and tests match on it), `status` is the HTTP
 * status the error middleware answers with, `cause` keeps the original error for the logs.
 */
export type ErrorCode =
    | 'UNAUTHORIZED'
    | 'FORBIDDEN'
    | 'VALIDATION_FAILED'
    | 'NOT_FOUND'
    | 'RUN_IN_PROGRESS'
    | 'PREVIEW_EXPIRED'
    | 'PREVIEW_NOT_EXECUTABLE'
    | 'PAYLOAD_TOO_LARGE'
    | 'INVALID_SIGNATURE'
    | 'INVALID_TOKEN'
    | 'ORG_UNAVAILABLE'
    | 'ORG_LIMIT_EXCEEDED'
    | 'ORG_REQUEST_FAILED'
    | 'ORG_AUTH_FAILED'
    | 'METHOD_NOT_ALLOWED'
    | 'HEADERS_TOO_LARGE'
    | 'SCHEDULE_DISABLED'
    | 'SHUTTING_DOWN'
    | 'ALREADY_TRIGGERED'
    | 'CONFIG_INVALID'
    | 'INTERNAL';

const DEFAULT_STATUS: Record<ErrorCode, number> = {
    UNAUTHORIZED: 401,
    FORBIDDEN: 403,
    VALIDATION_FAILED: 400,
    NOT_FOUND: 404,
    RUN_IN_PROGRESS: 409,
    PREVIEW_EXPIRED: 409,
    PREVIEW_NOT_EXECUTABLE: 409,
    PAYLOAD_TOO_LARGE: 413,
    INVALID_SIGNATURE: 401,
    INVALID_TOKEN: 400,
    ORG_UNAVAILABLE: 503,
    ORG_LIMIT_EXCEEDED: 503,
    ORG_REQUEST_FAILED: 502,
    ORG_AUTH_FAILED: 502,
    METHOD_NOT_ALLOWED: 405,
    HEADERS_TOO_LARGE: 431,
    SCHEDULE_DISABLED: 409,
    SHUTTING_DOWN: 503,
    ALREADY_TRIGGERED: 409,
    CONFIG_INVALID: 500,
    INTERNAL: 500
};

/** Every stable error code (the OpenAPI file lists the same ones; a test checks it). */
export const ERROR_CODES = Object.keys(DEFAULT_STATUS) as ErrorCode[];

export interface AppErrorOptions {
    status?: number;
    cause?: unknown;
    /** Extra fields returned to the client beside code and message (e.g. the running run's id). */
    details?: Record<string, unknown>;
    /** Response headers that belong to the error (e.g. `Allow` on a 405). */
    headers?: Record<string, string>;
}

export class AppError extends Error {
    readonly code: ErrorCode;
    readonly status: number;
    readonly details?: Record<string, unknown>;
    readonly headers?: Record<string, string>;

    constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
        super(message, options.cause === undefined ? undefined : { cause: options.cause });
        this.name = 'AppError';
        this.code = code;
        this.status = options.status ?? DEFAULT_STATUS[code];
        this.details = options.details;
        this.headers = options.headers;
    }
}

export function isAppError(error: unknown): error is AppError {
    return error instanceof AppError;
}

/**
 * Shapes of secrets that an upstream error message may echo (a jsforce error can carry the session id, a
 * token endpoint the assertion, an SMTP URL its password). Each is replaced wherever it appears.
 */
const SECRET_SHAPES: [RegExp, string][] = [
    [
        /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g,
        '[redacted private key]'
    ],
    // A Salesforce session id / access token: the org id, "!", then the token.
    [/\b00D[a-zA-Z0-9]{12}(?:[a-zA-Z0-9]{3})?![A-Za-z0-9._~+/=-]+/g, '[redacted session id]'],
    // A JWT (e.g. the bearer assertion): three base64url parts, the first a JSON header.
    [/\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, '[redacted JWT]'],
    // A token after Bearer/OAuth; a plain word ("bearer secret" in a message) is not one: a token is long or
    // holds a digit or punctuation.
    [
        /\b(Bearer|OAuth)\s+(?:[A-Za-z0-9._~+/!=-]{20,}|[A-Za-z]*[0-9._~+/!=-][A-Za-z0-9._~+/!=-]*)/gi,
        '$1 [redacted]'
    ],
    [/\bxox[a-z]-[A-Za-z0-9-]+/g, '[redacted Slack token]'],
    [
        /\b((?:access_token|refresh_token|assertion|client_secret|password|pass|sid)["']?\s*[=:]\s*["']?)[^\s"'&,;]+/gi,
        '$1[redacted]'
    ],
    // Credentials in a URL (smtps://user:password@host).
    [/(\/\/[^/\s:@]+:)[^@\s/]+@/g, '$1[redacted]@']
];

/** Exact secret values in use (configured secrets, current access tokens); the newest few hundred. */
const knownSecrets = new Set<string>();
const KNOWN_SECRETS_CAP = 200;

/** Adds a value that must never appear in logs, errors or run records. */
export function registerSecret(value: string | undefined): void {
    if (!value || value.length < 8) return;
    knownSecrets.delete(value);
    knownSecrets.add(value);
    if (knownSecrets.size > KNOWN_SECRETS_CAP) knownSecrets.delete(knownSecrets.values().next().value!);
}

/** The text with every known secret and every secret-shaped token replaced. */
export function redact(text: string): string {
    let out = text;
    for (const secret of knownSecrets) if (out.includes(secret)) out = out.split(secret).join('[redacted]');
    for (const [shape, replacement] of SECRET_SHAPES) out = out.replace(shape, replacement);
    return out;
}

/** A short, secret-free description of any thrown value, for run records, logs and HTTP errors. */
export function describeError(error: unknown): string {
    if (error instanceof AppError) return redact(`${error.code}: ${error.message}`);
    if (error instanceof Error) return redact(error.message);
    return redact(String(error));
}
