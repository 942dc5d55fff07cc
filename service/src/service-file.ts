/**
 * Where a running service can be found: `npm start` records its URL and API secret in
 * `$DATA_DIR/service.json` (mode 0600: the secret is in it) and removes it when it stops. The CLI reads it
 * to reach the service; it never opens the org or the data folder's local org itself (DESIGN §5).
 */
import { chmodSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export interface ServiceFile {
    url: string;
    secret: string;
    pid: number;
    /** Local mode: the demo's Rollcall admin, the CLI's default initiator. */
    initiatedBy?: string;
}

export function serviceFilePath(dataDir: string): string {
    return join(dataDir, 'service.json');
}

export function writeServiceFile(dataDir: string, content: ServiceFile): string {
    const file = serviceFilePath(dataDir);
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
    // An existing file keeps its old mode on write; the secret must not stay readable by others.
    chmodSync(file, 0o600);
    return file;
}

export function readServiceFile(dataDir: string): ServiceFile | undefined {
    let text: string;
    try {
        text = readFileSync(serviceFilePath(dataDir), 'utf8');
    } catch {
        return undefined;
    }
    try {
        const parsed = JSON.parse(text) as Partial<ServiceFile>;
        if (typeof parsed.url !== 'string' || typeof parsed.secret !== 'string') return undefined;
        return parsed as ServiceFile;
    } catch {
        return undefined;
    }
}

/** Removes the file if it still describes this process (a newer service may have replaced it). */
export function removeServiceFile(dataDir: string, pid: number): void {
    if (readServiceFile(dataDir)?.pid === pid) rmSync(serviceFilePath(dataDir), { force: true });
}
