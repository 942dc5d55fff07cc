import pino, { type Logger } from 'pino';

export type { Logger };

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

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
    return pino(
        {
            level,
            base: { service: 'rollcall' },
            redact: { paths: REDACT_PATHS, censor: '[redacted]' },
            timestamp: pino.stdTimeFunctions.isoTime
        },
        destination
    );
}
