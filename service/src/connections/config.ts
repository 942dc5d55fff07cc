/**
 * Where each connection's app lives: `CONNECTIONS_FILE` (DESIGN §10), a JSON file
 * `{"<Connection__c.Key__c>": {"baseUrl": "https://…/scim/v2", "token": "…" | "tokenFile": "<path>"}}`.
 * The org holds the policy; the URL and the token live here, never in the org. Parsed once at start; a
 * bad entry stops the process with a message naming it. Tokens are registered as secrets (redacted from
 * every log line and error) and kept out of JSON.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import type { AppDirectory, AppDirectoryFactory } from './app-directory';

/** One app the service can reach. `token()` reads the bearer token; it is never serialised. */
export interface ConnectionEndpoint {
    key: string;
    baseUrl: string;
    token(): string;
}

const KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/;

const entrySchema = z
    .object({
        baseUrl: z
            .string()
            .trim()
            .refine(
                (v) => /^https?:\/\/[^\s]+$/i.test(v),
                'baseUrl must be an http(s) URL (the SCIM base, e.g. https://app.example.com/scim/v2)'
            ),
        token: z.string().min(1, 'token must not be empty').optional(),
        tokenFile: z.string().trim().min(1, 'tokenFile must name a file').optional()
    })
    .strict()
    .refine((entry) => (entry.token === undefined) !== (entry.tokenFile === undefined), {
        message: 'give exactly one of "token" or "tokenFile"'
    });

const fileSchema = z.record(z.string(), z.unknown());

function endpoint(key: string, baseUrl: string, token: string): ConnectionEndpoint {
    const value = { key, baseUrl: baseUrl.replace(/\/+$/, '') } as ConnectionEndpoint;
    // Not an own enumerable property: JSON.stringify, a logger or a spread never sees it.
    Object.defineProperty(value, 'token', { value: () => token, enumerable: false });
    return value;
}

/**
 * Parses the file's text. Problems are returned, one line per bad entry, each naming the entry and never
 * echoing a token.
 */
export function parseConnectionsFile(
    text: string,
    options: { file: string; readFile?: (path: string) => string }
): { endpoints: ConnectionEndpoint[]; problems: string[] } {
    const problems: string[] = [];
    const endpoints: ConnectionEndpoint[] = [];
    let raw: unknown;
    try {
        raw = JSON.parse(text) as unknown;
    } catch (error) {
        return {
            endpoints,
            problems: [`CONNECTIONS_FILE (${options.file}): not valid JSON (${(error as Error).message})`]
        };
    }
    const file = fileSchema.safeParse(raw);
    if (!file.success || Array.isArray(raw)) {
        return {
            endpoints,
            problems: [
                `CONNECTIONS_FILE (${options.file}): must be a JSON object {"<connection key>": {"baseUrl": …, "token" | "tokenFile": …}}`
            ]
        };
    }
    const readFile = options.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
    for (const [key, value] of Object.entries(file.data)) {
        const where = `CONNECTIONS_FILE (${options.file}) entry "${key}"`;
        if (!KEY.test(key)) {
            problems.push(
                `${where}: the key must be a Connection__c Key__c (letters, digits, "-", "_", "."; at most 40)`
            );
            continue;
        }
        const entry = entrySchema.safeParse(value);
        if (!entry.success) {
            problems.push(`${where}: ${entry.error.issues.map((issue) => issue.message).join('; ')}`);
            continue;
        }
        let token = entry.data.token;
        if (token === undefined && entry.data.tokenFile !== undefined) {
            const path = resolve(dirname(options.file), entry.data.tokenFile);
            try {
                token = readFile(path).trim();
            } catch {
                problems.push(`${where}: tokenFile ${path} cannot be read`);
                continue;
            }
            if (token === '') {
                problems.push(`${where}: tokenFile ${path} is empty`);
                continue;
            }
        }
        endpoints.push(endpoint(key, entry.data.baseUrl, token as string));
    }
    return { endpoints, problems };
}

/** Reads and parses CONNECTIONS_FILE (problems as parseConnectionsFile). */
export function loadConnectionsFile(file: string): { endpoints: ConnectionEndpoint[]; problems: string[] } {
    let text: string;
    try {
        text = readFileSync(file, 'utf8');
    } catch {
        return { endpoints: [], problems: [`CONNECTIONS_FILE: ${file} cannot be read`] };
    }
    return parseConnectionsFile(text, { file });
}

/** How an endpoint becomes an AppDirectory (the SCIM adapter, `createScimDirectory`). */
export type DirectoryConstructor = (options: { baseUrl: string; token: string }) => AppDirectory;

/** One AppDirectory per configured connection, made on first use and kept (its stats, its concurrency). */
export function directoryFactory(
    endpoints: ConnectionEndpoint[],
    create: DirectoryConstructor
): AppDirectoryFactory {
    const byKey = new Map(endpoints.map((entry) => [entry.key, entry]));
    const made = new Map<string, AppDirectory>();
    return {
        forConnection(key: string) {
            const entry = byKey.get(key);
            if (!entry) return undefined;
            let directory = made.get(key);
            if (!directory) {
                directory = create({ baseUrl: entry.baseUrl, token: entry.token() });
                made.set(key, directory);
            }
            return directory;
        },
        configuredKeys: () => [...byKey.keys()].sort()
    };
}

/** A factory with fixed directories (tests, and local mode's demo app). */
export function fixedDirectories(directories: Record<string, AppDirectory>): AppDirectoryFactory {
    return {
        forConnection: (key) => directories[key],
        configuredKeys: () => Object.keys(directories).sort()
    };
}
