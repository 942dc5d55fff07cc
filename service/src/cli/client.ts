/**
 * The CLI's way to the service: it is a client of the API (DESIGN §5) and never opens the org or the
 * local org's data folder. The service is found by `--url`, else ROLLCALL_URL, else the `service.json`
 * that `npm start` writes in DATA_DIR (URL, secret and, in local mode, the demo admin).
 */
import { resolve } from 'node:path';
import { AppError, type ErrorCode } from '../errors';
import { readServiceFile, serviceFilePath } from '../service-file';

export interface Target {
    url: string;
    secret: string;
    /** The initiator to use when `--as` is not given (local mode's demo admin). */
    initiatedBy?: string;
}

export interface TargetOptions {
    url?: string;
    env?: Record<string, string | undefined>;
}

const HOW_TO_START =
    'start it with `npm start`, or point the CLI at one with --url (or ROLLCALL_URL) and ROLLCALL_API_SECRET';

export function findTarget(options: TargetOptions = {}): Target {
    const env = options.env ?? process.env;
    const dataDir = resolve(env.DATA_DIR?.trim() || '.data');
    const recorded = readServiceFile(dataDir);
    const url = (options.url ?? env.ROLLCALL_URL?.trim()) || undefined;
    if (url) {
        const base = url.replace(/\/+$/, '');
        const secret =
            env.ROLLCALL_API_SECRET?.trim() || (recorded?.url === base ? recorded.secret : undefined);
        if (!secret) {
            throw new AppError(
                'CONFIG_INVALID',
                `No API secret for ${base}: set ROLLCALL_API_SECRET (the service's bearer secret)`
            );
        }
        return { url: base, secret, initiatedBy: recorded?.url === base ? recorded.initiatedBy : undefined };
    }
    if (!recorded) {
        throw new AppError(
            'ORG_UNAVAILABLE',
            `No running Rollcall service found (no ${serviceFilePath(dataDir)}): ${HOW_TO_START}`
        );
    }
    return { url: recorded.url, secret: recorded.secret, initiatedBy: recorded.initiatedBy };
}

/** Calls the API; a refused call becomes an AppError with the service's code and message. */
export async function call<T>(target: Target, method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
        response = await fetch(`${target.url}${path}`, {
            method,
            headers: {
                authorization: `Bearer ${target.secret}`,
                ...(body === undefined ? {} : { 'content-type': 'application/json' })
            },
            body: body === undefined ? undefined : JSON.stringify(body)
        });
    } catch {
        throw new AppError(
            'ORG_UNAVAILABLE',
            `No Rollcall service answers at ${target.url}: ${HOW_TO_START}`
        );
    }
    const text = await response.text();
    let parsed: unknown;
    try {
        parsed = text ? JSON.parse(text) : {};
    } catch {
        parsed = {};
    }
    if (!response.ok) {
        const error = (parsed as { error?: { code?: string; message?: string } }).error;
        throw new AppError(
            (error?.code as ErrorCode | undefined) ?? 'INTERNAL',
            error?.message ?? `${method} ${path} answered ${response.status}`,
            { status: response.status }
        );
    }
    return parsed as T;
}

/** Polls a run until `done` says so (previews leave Previewing, runs leave Running). */
export async function waitForRun<T extends { status: string }>(
    target: Target,
    runId: string,
    done: (run: T) => boolean,
    onEach?: (run: T) => void
): Promise<T> {
    for (;;) {
        const run = await call<T>(target, 'GET', `/v1/runs/${runId}`);
        onEach?.(run);
        if (done(run)) return run;
        await new Promise((resolve) => setTimeout(resolve, 200));
    }
}
