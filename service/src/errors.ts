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
    | 'SHUTTING_DOWN'
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
    SHUTTING_DOWN: 503,
    CONFIG_INVALID: 500,
    INTERNAL: 500
};

export interface AppErrorOptions {
    status?: number;
    cause?: unknown;
    /** Extra fields returned to the client beside code and message (e.g. the running run's id). */
    details?: Record<string, unknown>;
}

export class AppError extends Error {
    readonly code: ErrorCode;
    readonly status: number;
    readonly details?: Record<string, unknown>;

    constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
        super(message, options.cause === undefined ? undefined : { cause: options.cause });
        this.name = 'AppError';
        this.code = code;
        this.status = options.status ?? DEFAULT_STATUS[code];
        this.details = options.details;
    }
}

export function isAppError(error: unknown): error is AppError {
    return error instanceof AppError;
}

/** A short, secret-free description of any thrown value, for run records and logs. */
export function describeError(error: unknown): string {
    if (error instanceof AppError) return `${error.code}: ${error.message}`;
    if (error instanceof Error) return error.message;
    return String(error);
}
