/**
 * Local mode's demo connection (DESIGN §10): `npm start` starts the local SCIM app next to the local org
 * (persisted in $DATA_DIR/local-scim, seeded with the demo groups) and writes the CONNECTIONS_FILE entry
 * the demo connection (`demo-scim`) reads: $DATA_DIR/connections.json, its token in a file of its own
 * (0600) beside it, so the JSON never holds it. The app itself is h19a's `startLocalScimApp`
 * (service/src/local-scim/), passed in by main.ts.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_CONNECTION_KEY, DEMO_SCIM_GROUPS } from '../local-org/demo';
import { loadConnectionsFile, type ConnectionEndpoint } from './config';

/** The part of h19a's `startLocalScimApp` contract this file uses. */
export type LocalScimStarter = (options: {
    port?: number;
    host?: string;
    dataDir?: string;
    token: string;
    seedGroups?: string[];
}) => Promise<{ url: string; token: string; stop(): Promise<void> }>;

export interface LocalConnections {
    file: string;
    url: string;
    endpoints: ConnectionEndpoint[];
    stop(): Promise<void>;
}

/** Starts the local SCIM app and writes the demo connection's CONNECTIONS_FILE entry for it. */
export async function startLocalConnections(
    dataDir: string,
    startApp: LocalScimStarter
): Promise<LocalConnections> {
    const token = randomBytes(24).toString('base64url');
    const app = await startApp({
        host: '127.0.0.1',
        port: 0,
        dataDir: join(dataDir, 'local-scim'),
        token,
        seedGroups: DEMO_SCIM_GROUPS
    });
    mkdirSync(dataDir, { recursive: true });
    const tokenFile = join(dataDir, 'connections.token');
    writeFileSync(tokenFile, `${app.token}\n`, { mode: 0o600 });
    const file = join(dataDir, 'connections.json');
    writeFileSync(
        file,
        `${JSON.stringify({ [DEMO_CONNECTION_KEY]: { baseUrl: app.url, tokenFile: 'connections.token' } }, null, 2)}\n`
    );
    const loaded = loadConnectionsFile(file);
    if (loaded.problems.length > 0) {
        await app.stop();
        throw new Error(loaded.problems.join('; '));
    }
    return { file, url: app.url, endpoints: loaded.endpoints, stop: () => app.stop() };
}
