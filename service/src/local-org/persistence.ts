/**
 * The local org's data folder: a snapshot plus an append-only log of the changes made since it.
 *
 * - `org-snapshot.jsonl`: line 1 is the header (`format`, demo seed, size, `seededAt`, id counters and
 *   the name of the log that continues it); every further line is one record, `[object, row]`.
 *   Written whole to a temp file, fsync'ed, then renamed over the old one: a crash leaves the old
 *   snapshot or the new one, never a mix.
 * - `org-log-<n>.jsonl`: one line per flush, `{"c": counters, "w": [[object, id, row | null], …]}` (null:
 *   the record is gone). Each line is appended with one write and fsync'ed. A crash mid-append leaves a
 *   torn last line: it is ignored (and cut off before the next append), so the org starts from the last
 *   whole flush. Replaying a line sets each record to its value then, so replay is idempotent.
 * - Compaction writes a new snapshot naming a new, empty log, renames it into place, then deletes the
 *   old log. A crash at any point leaves a snapshot and the one log it names; other logs and temp files
 *   are leftovers and are removed on the next open.
 *
 * A write costs what it changes (not what the org holds), and compaction, which costs the whole state,
 * runs only once the log has grown past the snapshot's own size: writes stay linear in their number.
 */
import {
    closeSync,
    existsSync,
    fsyncSync,
    openSync,
    readdirSync,
    readSync,
    renameSync,
    rmSync,
    statSync,
    truncateSync,
    writeSync
} from 'node:fs';
import { join } from 'node:path';

export type StoredRow = Record<string, unknown>;

export interface SnapshotMeta {
    seed: number;
    users: number;
    seededAt: number;
}

/** One record's new value (null: deleted from storage), as a flush writes it. */
export type Change = [object: string, id: string, row: StoredRow | null];

export const SNAPSHOT_FILE = 'org-snapshot.jsonl';
const LOG_PATTERN = /^org-log-(\d+)\.jsonl$/;
/** The log is compacted once it is larger than this and than the snapshot. */
const MIN_COMPACT_BYTES = 8 * 1024 * 1024;
const READ_CHUNK = 1024 * 1024;

interface SnapshotHeader extends SnapshotMeta {
    format: 2;
    counters: Record<string, number>;
    log: string;
}

interface LogLine {
    c: Record<string, number>;
    w: Change[];
}

export interface LoadedState {
    meta: SnapshotMeta;
    counters: Record<string, number>;
    /** Complete log lines replayed and whether a torn last line was cut off. */
    logLines: number;
    tornTail: boolean;
}

/**
 * Reads a file line by line in chunks (a snapshot of a large org is hundreds of megabytes; it is never
 * held whole). Calls onLine for each complete line (ending in \n) with its end offset; returns the bytes
 * of complete lines and whether bytes after them (a torn line) remain.
 */
function readLines(
    file: string,
    onLine: (line: string, endOffset: number) => unknown
): { valid: number; torn: boolean } {
    const fd = openSync(file, 'r');
    try {
        const buffer = Buffer.alloc(READ_CHUNK);
        let carry: Buffer = Buffer.alloc(0);
        let offset = 0;
        let valid = 0;
        for (;;) {
            const read = readSync(fd, buffer, 0, buffer.length, offset);
            if (read === 0) break;
            offset += read;
            const chunk =
                carry.length > 0
                    ? Buffer.concat([carry, buffer.subarray(0, read)])
                    : buffer.subarray(0, read);
            let start = 0;
            for (;;) {
                const nl = chunk.indexOf(10, start);
                if (nl < 0) break;
                valid += nl + 1 - start;
                if (onLine(chunk.toString('utf8', start, nl), valid) === 'stop')
                    return { valid, torn: false };
                start = nl + 1;
            }
            carry = Buffer.from(chunk.subarray(start));
        }
        return { valid, torn: carry.length > 0 };
    } finally {
        closeSync(fd);
    }
}

function writeAll(fd: number, text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written);
}

export class DataFolder {
    private logName?: string;
    private logFd?: number;
    private logBytes = 0;
    private snapshotBytes = 0;

    constructor(readonly dir: string) {}

    get snapshotFile(): string {
        return join(this.dir, SNAPSHOT_FILE);
    }

    get logFile(): string | undefined {
        return this.logName ? join(this.dir, this.logName) : undefined;
    }

    exists(): boolean {
        return existsSync(this.snapshotFile);
    }

    /** The demo org the snapshot continues (its header alone), or undefined when there is none. */
    meta(): SnapshotMeta | undefined {
        if (!this.exists()) return undefined;
        let header: SnapshotHeader | undefined;
        readLines(this.snapshotFile, (line) => {
            header = JSON.parse(line) as SnapshotHeader;
            return 'stop';
        });
        return header ? { seed: header.seed, users: header.users, seededAt: header.seededAt } : undefined;
    }

    /**
     * Reads the snapshot and replays its log: put is called for every stored record in order (null:
     * gone). A torn last log line is ignored and cut off. Leftover logs and temp files are removed.
     */
    load(put: (object: string, id: string, row: StoredRow | null) => void): LoadedState | undefined {
        if (!this.exists()) return undefined;
        let header: SnapshotHeader | undefined;
        readLines(this.snapshotFile, (line) => {
            if (!header) {
                header = JSON.parse(line) as SnapshotHeader;
                if (header.format !== 2) throw new Error(`${this.snapshotFile}: unknown snapshot format`);
                return;
            }
            const [object, row] = JSON.parse(line) as [string, StoredRow];
            put(object, String(row.Id), row);
        });
        if (!header) throw new Error(`${this.snapshotFile}: empty snapshot`);
        this.snapshotBytes = statSync(this.snapshotFile).size;
        this.removeLeftovers(header.log);
        let counters = header.counters;
        let logLines = 0;
        let tornTail = false;
        const logFile = join(this.dir, header.log);
        if (existsSync(logFile)) {
            const { valid, torn } = readLines(logFile, (line, end) => {
                let entry: LogLine;
                try {
                    entry = JSON.parse(line) as LogLine;
                } catch {
                    throw new Error(
                        `${logFile}: unreadable line ending at byte ${end}; the data folder is damaged`
                    );
                }
                for (const [object, id, row] of entry.w) put(object, id, row);
                counters = entry.c;
                logLines++;
            });
            tornTail = torn;
            this.openLog(header.log, valid);
        } else {
            this.openLog(header.log, 0);
        }
        return {
            meta: { seed: header.seed, users: header.users, seededAt: header.seededAt },
            counters: { ...counters },
            logLines,
            tornTail
        };
    }

    /** Appends one flush: the records' new values and the counters after them. */
    append(changes: Change[], counters: Record<string, number>): void {
        if (this.logFd === undefined) throw new Error('data folder not open: write a snapshot first');
        if (changes.length === 0) return;
        const line = `${JSON.stringify({ c: counters, w: changes } satisfies LogLine)}\n`;
        writeAll(this.logFd, line);
        fsyncSync(this.logFd);
        this.logBytes += Buffer.byteLength(line);
    }

    /** True once the log has outgrown the snapshot (and a floor): time to compact. */
    shouldCompact(): boolean {
        return this.logBytes > Math.max(MIN_COMPACT_BYTES, this.snapshotBytes);
    }

    /**
     * Writes a whole new snapshot that continues with a fresh, empty log; renames it into place, then
     * deletes the old log.
     */
    writeSnapshot(
        meta: SnapshotMeta,
        counters: Record<string, number>,
        rows: Iterable<[object: string, row: StoredRow]>
    ): void {
        const previous = this.logName;
        const generation = previous ? Number(LOG_PATTERN.exec(previous)?.[1] ?? 0) + 1 : 1;
        const nextLog = `org-log-${generation}.jsonl`;
        const nextFd = openSync(join(this.dir, nextLog), 'w');
        const temp = `${this.snapshotFile}.${process.pid}.tmp`;
        const fd = openSync(temp, 'w');
        let bytes = 0;
        try {
            const header: SnapshotHeader = { format: 2, ...meta, counters, log: nextLog };
            let pending = `${JSON.stringify(header)}\n`;
            for (const [object, row] of rows) {
                pending += `${JSON.stringify([object, row])}\n`;
                if (pending.length > READ_CHUNK) {
                    writeAll(fd, pending);
                    bytes += Buffer.byteLength(pending);
                    pending = '';
                }
            }
            writeAll(fd, pending);
            bytes += Buffer.byteLength(pending);
            fsyncSync(fd);
        } catch (error) {
            closeSync(fd);
            closeSync(nextFd);
            rmSync(temp, { force: true });
            throw error;
        }
        closeSync(fd);
        renameSync(temp, this.snapshotFile);
        this.closeLog();
        if (previous) rmSync(join(this.dir, previous), { force: true });
        this.logName = nextLog;
        this.logFd = nextFd;
        this.logBytes = 0;
        this.snapshotBytes = bytes;
    }

    /** Removes the snapshot and every log (a reset). */
    clear(): void {
        this.closeLog();
        this.logName = undefined;
        rmSync(this.snapshotFile, { force: true });
        this.removeLeftovers(undefined);
    }

    close(): void {
        this.closeLog();
    }

    private openLog(name: string, validBytes: number): void {
        this.closeLog();
        const file = join(this.dir, name);
        // Cut a torn last line off, so the next append starts on a line of its own.
        if (existsSync(file) && statSync(file).size !== validBytes) truncateSync(file, validBytes);
        // Append mode: every write lands at the end, whatever the file position.
        const fd = openSync(file, 'a');
        fsyncSync(fd);
        this.logName = name;
        this.logFd = fd;
        this.logBytes = validBytes;
    }

    private closeLog(): void {
        if (this.logFd !== undefined) closeSync(this.logFd);
        this.logFd = undefined;
    }

    /** Logs other than the current one and temp files: what a crash mid-compaction leaves. */
    private removeLeftovers(current: string | undefined): void {
        for (const name of readdirSync(this.dir)) {
            const isLog = LOG_PATTERN.test(name) && name !== current;
            const isTemp = name.startsWith(`${SNAPSHOT_FILE}.`) && name.endsWith('.tmp');
            if (isLog || isTemp) rmSync(join(this.dir, name), { force: true });
        }
    }
}
