/**
 * The run journal: every invitation outcome is appended to `<dir>/<run id>.<run key>.jsonl` as soon as the mailer
 * returns, and is durable before the sending worker takes its next item. The org writes stay batched; after
 * a hard kill (SIGKILL, OOM, power loss) the resume applies the journaled outcomes instead of sending them
 * again. Appends are synchronous writes (in the kernel at once: a killed process loses nothing) followed
 * by one shared fdatasync for everything appended meanwhile (group commit: a power loss loses nothing
 * acknowledged either), so the cost per outcome stays small with several SMTP connections in flight.
 *
 * A journal belongs to one run: its name and every entry carry the run's Run_Key__c, a UUID chosen when
 * the run was created. A run id alone is not enough: a reset org (a reseeded local org, a refreshed
 * sandbox) hands out the same ids again.
 */
import {
    closeSync,
    fdatasync,
    fsyncSync,
    ftruncateSync,
    mkdirSync,
    openSync,
    readFileSync,
    readdirSync,
    renameSync,
    rmSync,
    writeSync
} from 'node:fs';
import { join } from 'node:path';
import type { JournalContents, JournalEntry, OutcomeJournal, OutcomeJournals } from '../ports';

export type { JournalContents, JournalEntry };

function isEntry(value: unknown): value is JournalEntry {
    const entry = value as Partial<JournalEntry> | null;
    return (
        typeof entry === 'object' &&
        entry !== null &&
        typeof entry.runKey === 'string' &&
        typeof entry.runId === 'string' &&
        typeof entry.itemId === 'string' &&
        typeof entry.userId === 'string' &&
        (entry.status === 'Invited' || entry.status === 'Failed') &&
        typeof entry.at === 'string' &&
        Array.isArray(entry.products)
    );
}

/** Parses a journal's text: one JSON entry per line; a last line without its newline is torn and dropped. */
export function parseJournal(text: string): JournalContents {
    const entries: JournalEntry[] = [];
    let unreadable = 0;
    const end = text.lastIndexOf('\n') + 1;
    for (const line of text.slice(0, end).split('\n')) {
        if (line.trim() === '') continue;
        try {
            const value: unknown = JSON.parse(line);
            if (isEntry(value)) entries.push(value);
            else unreadable++;
        } catch {
            unreadable++;
        }
    }
    return {
        entries,
        validBytes: Buffer.byteLength(text.slice(0, end)),
        torn: end < text.length,
        unreadable
    };
}

/** File names carry the run id and its key; a key is a UUID, anything else is made safe. */
function fileStem(runId: string, runKey: string): string {
    return `${runId}.${runKey.replace(/[^A-Za-z0-9-]/g, '_')}`;
}

export class RunJournal implements OutcomeJournal {
    readonly file: string;
    private fd?: number;
    /** Set when the file cannot be written: outcomes are then only as durable as the org writes. */
    private broken?: Error;
    private syncing?: Promise<void>;
    private dirty = false;

    constructor(
        private readonly dir: string,
        runId: string,
        private readonly runKey: string
    ) {
        this.file = join(dir, `${fileStem(runId, runKey)}.jsonl`);
    }

    failure(): Error | undefined {
        return this.broken;
    }

    /** What a previous process journaled for this run (nothing when there is no file). */
    read(): JournalContents {
        let text: string;
        try {
            text = readFileSync(this.file, 'utf8');
        } catch (error) {
            if ((error as NodeJS.ErrnoException).code === 'ENOENT')
                return { entries: [], validBytes: 0, torn: false, unreadable: 0 };
            throw error;
        }
        const contents = parseJournal(text);
        // Never expected in our own file; counted as unreadable rather than applied.
        const foreign = contents.entries.filter((entry) => entry.runKey !== this.runKey).length;
        return {
            ...contents,
            entries: contents.entries.filter((entry) => entry.runKey === this.runKey),
            unreadable: contents.unreadable + foreign
        };
    }

    /**
     * Appends one outcome; resolves once it is on disk. Throws (once, and marks the journal broken) when the
     * file cannot be written; later appends then resolve at once.
     */
    async append(entry: JournalEntry): Promise<void> {
        if (this.broken) return;
        try {
            const fd = this.open();
            writeSync(fd, `${JSON.stringify(entry)}\n`);
            this.dirty = true;
        } catch (error) {
            this.broken = error as Error;
            throw error;
        }
        await this.sync();
    }

    /** One fdatasync at a time; appends made while it runs share the next one. */
    private async sync(): Promise<void> {
        while (this.dirty) {
            if (this.syncing) {
                await this.syncing;
                continue;
            }
            this.dirty = false;
            const fd = this.fd;
            if (fd === undefined) return;
            this.syncing = new Promise<void>((resolve, reject) =>
                fdatasync(fd, (error) => (error ? reject(error) : resolve()))
            ).finally(() => {
                this.syncing = undefined;
            });
            try {
                await this.syncing;
            } catch (error) {
                this.broken = error as Error;
                throw error;
            }
        }
        await this.syncing;
    }

    private open(): number {
        if (this.fd !== undefined) return this.fd;
        mkdirSync(this.dir, { recursive: true });
        // A torn last line (a crash mid-append) is cut off, so the next entry starts on a line of its own.
        const { validBytes, torn } = this.read();
        const fd = openSync(this.file, 'a');
        if (torn) {
            ftruncateSync(fd, validBytes);
            fsyncSync(fd);
        }
        // The new file's name must survive a power loss too.
        try {
            const dirFd = openSync(this.dir, 'r');
            try {
                fsyncSync(dirFd);
            } finally {
                closeSync(dirFd);
            }
        } catch {
            // Some file systems cannot fsync a directory; the entries themselves are still synced.
        }
        this.fd = fd;
        return fd;
    }

    async close(): Promise<void> {
        await this.syncing?.catch(() => undefined);
        if (this.fd !== undefined) {
            try {
                closeSync(this.fd);
            } catch {
                // already closed
            }
            this.fd = undefined;
        }
    }

    /** The run is finished and every outcome is in the org. */
    async remove(): Promise<void> {
        await this.close();
        rmSync(this.file, { force: true });
    }
}

/** The journals folder (`$DATA_DIR/journal`): one file per run, named by the run's id and key. */
export class JournalFolder implements OutcomeJournals {
    constructor(private readonly dir: string) {}

    open(runId: string, runKey: string): RunJournal {
        return new RunJournal(this.dir, runId, runKey);
    }

    setAsideForeign(runId: string, runKey: string): string[] {
        let names: string[];
        try {
            names = readdirSync(this.dir);
        } catch {
            return [];
        }
        const ours = `${fileStem(runId, runKey)}.jsonl`;
        const moved: string[] = [];
        for (const name of names) {
            if (!name.startsWith(`${runId}.`) || !name.endsWith('.jsonl') || name === ours) continue;
            const target = join(this.dir, `${name}.foreign-${Date.now()}`);
            renameSync(join(this.dir, name), target);
            moved.push(target);
        }
        return moved;
    }
}
