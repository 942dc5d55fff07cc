import pino, { type Logger } from 'pino';
import { redact } from './errors';

export type { Logger };

/** `json`: one JSON object a line (production, log shippers). `pretty`: one terse human line (a terminal). */
export type LogFormat = 'json' | 'pretty';

/** Paths pino blanks out wherever they appear: tokens, secrets, keys, passwords and auth headers. */
const REDACT_PATHS = [
    'authorization',
    'password',
    'secret',
    'token',
    'accessToken',
    'privateKeyPem',
    'apiSecret',
    '*.authorization',
    '*.password',
    '*.secret',
    '*.token',
    '*.accessToken',
    '*.privateKeyPem',
    '*.apiSecret',
    'req.headers.authorization',
    'req.headers["x-rollcall-signature"]'
];

/** Strings anywhere in a log record (error texts from upstream included) go through `redact`. */
function scrub(value: unknown, depth = 0): unknown {
    if (typeof value === 'string') return redact(value);
    if (depth > 4 || value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((element) => scrub(element, depth + 1));
    return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, scrub(v, depth + 1)]));
}

const LEVELS: Record<number, string> = {
    10: 'TRACE',
    20: 'DEBUG',
    30: 'INFO ',
    40: 'WARN ',
    50: 'ERROR',
    60: 'FATAL'
};
const OMITTED = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname']);

/** One JSON log line as `HH:MM:SS LEVEL message key=value …`. */
export function terseLine(json: string): string {
    let record: Record<string, unknown>;
    try {
        record = JSON.parse(json) as Record<string, unknown>;
    } catch {
        return json.trimEnd();
    }
    const time = typeof record.time === 'string' ? record.time.slice(11, 19) : '';
    const fields = Object.entries(record)
        .filter(([key, value]) => !OMITTED.has(key) && value !== undefined)
        .map(([key, value]) => {
            if (typeof value !== 'string') return `${key}=${JSON.stringify(value)}`;
            return `${key}=${/^\S+$/.test(value) ? value : JSON.stringify(value)}`;
        });
    const level = LEVELS[Number(record.level)] ?? String(record.level);
    return [time, level, String(record.msg ?? ''), ...fields].filter(Boolean).join(' ');
}

export function createLogger(
    level: string,
    destination?: pino.DestinationStream,
    format: LogFormat = 'json'
): Logger {
    const out = destination ?? pino.destination(1);
    const target =
        format === 'pretty' ? { write: (line: string) => void out.write(`${terseLine(line)}\n`) } : out;
    return pino(
        {
            level,
            base: { service: 'rollcall' },
            redact: { paths: REDACT_PATHS, censor: '[redacted]' },
            timestamp: pino.stdTimeFunctions.isoTime,
            formatters: { log: (object) => scrub(object) as Record<string, unknown> },
            hooks: {
                logMethod(args, method) {
                    method.apply(
                        this,
                        args.map((arg) => (typeof arg === 'string' ? redact(arg) : arg)) as Parameters<
                            typeof method
                        >
                    );
                }
            }
        },
        target
    );
}
