/**
 * The local org's data folder (persistence.ts): a snapshot plus an append-only log. Replay, a torn last
 * line, compaction and what a crash mid-compaction leaves behind.
 */
import {
    appendFileSync,
    existsSync,
    mkdtempSync,
    readdirSync,
    readFileSync,
    rmSync,
    statSync,
    writeFileSync
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataFolder, SNAPSHOT_FILE, type StoredRow } from '../../service/src/local-org/persistence';

const META = { seed: 7, users: 10, seededAt: 1_700_000_000_000 };

function loadAll(dir: string) {
    const folder = new DataFolder(dir);
    const rows = new Map<string, StoredRow>();
    const loaded = folder.load((object, id, row) => {
        if (row) rows.set(`${object}/${id}`, row);
        else rows.delete(`${object}/${id}`);
    });
    return { folder, rows, loaded };
}

function logFiles(dir: string): string[] {
    return readdirSync(dir).filter((name) => name.startsWith('org-log-'));
}

describe('local org data folder', () => {
    let dir: string;

    beforeEach(() => {
        dir = mkdtempSync(join(tmpdir(), 'rollcall-data-folder-'));
    });

    afterEach(() => {
        rmSync(dir, { recursive: true, force: true });
    });

    it('when changes were appended after the snapshot, then loading replays them in order over it', () => {
        const folder = new DataFolder(dir);
        folder.writeSnapshot(META, { a0B: 2 }, [
            ['Condition_Set__c', { Id: 'a0B1', Name: 'one' }],
            ['Condition_Set__c', { Id: 'a0B2', Name: 'two' }]
        ]);
        folder.append([['Condition_Set__c', 'a0B1', { Id: 'a0B1', Name: 'one, renamed' }]], { a0B: 2 });
        folder.append(
            [
                ['Condition_Set__c', 'a0B3', { Id: 'a0B3', Name: 'three' }],
                ['Condition_Set__c', 'a0B2', null]
            ],
            { a0B: 3 }
        );
        folder.close();

        const { folder: again, rows, loaded } = loadAll(dir);
        again.close();

        expect(loaded).toEqual({ meta: META, counters: { a0B: 3 }, logLines: 2, tornTail: false });
        expect([...rows.entries()]).toEqual([
            ['Condition_Set__c/a0B1', { Id: 'a0B1', Name: 'one, renamed' }],
            ['Condition_Set__c/a0B3', { Id: 'a0B3', Name: 'three' }]
        ]);
    });

    it('when the last log line is torn (a crash mid-append), then it is ignored and cut off before the next append', () => {
        const folder = new DataFolder(dir);
        folder.writeSnapshot(META, { a0B: 0 }, []);
        folder.append([['Condition_Set__c', 'a0B1', { Id: 'a0B1', Name: 'whole' }]], { a0B: 1 });
        const logFile = folder.logFile!;
        folder.close();
        appendFileSync(logFile, '{"c":{"a0B":2},"w":[["Condition_Set__c","a0B2",{"Id":"a0B2","Na');

        const first = loadAll(dir);
        first.folder.append([['Condition_Set__c', 'a0B9', { Id: 'a0B9', Name: 'after' }]], { a0B: 9 });
        first.folder.close();
        const second = loadAll(dir);
        second.folder.close();

        expect(first.loaded?.tornTail).toBe(true);
        expect([...first.rows.keys()]).toEqual(['Condition_Set__c/a0B1']);
        expect(first.loaded?.counters).toEqual({ a0B: 1 });
        expect(second.loaded?.tornTail).toBe(false);
        expect(second.loaded?.logLines).toBe(2);
        expect([...second.rows.keys()]).toEqual(['Condition_Set__c/a0B1', 'Condition_Set__c/a0B9']);
        expect(readFileSync(logFile, 'utf8').split('\n').filter(Boolean)).toHaveLength(2);
    });

    it('when a whole line in the middle of the log is unreadable, then loading fails and names the file', () => {
        const folder = new DataFolder(dir);
        folder.writeSnapshot(META, {}, []);
        const logFile = folder.logFile!;
        folder.close();
        writeFileSync(logFile, 'not json\n{"c":{},"w":[]}\n');

        expect(() => loadAll(dir)).toThrow(`${logFile}: unreadable line`);
    });

    it('when the log is compacted, then the new snapshot holds the state, the old log is gone and appends go to the new one', () => {
        const folder = new DataFolder(dir);
        folder.writeSnapshot(META, { a0B: 0 }, []);
        const firstLog = folder.logFile!;
        folder.append([['Condition_Set__c', 'a0B1', { Id: 'a0B1', Name: 'v1' }]], { a0B: 1 });
        folder.writeSnapshot(META, { a0B: 1 }, [['Condition_Set__c', { Id: 'a0B1', Name: 'v1' }]]);
        folder.append([['Condition_Set__c', 'a0B1', { Id: 'a0B1', Name: 'v2' }]], { a0B: 1 });
        const secondLog = folder.logFile!;
        folder.close();

        const { folder: again, rows, loaded } = loadAll(dir);
        again.close();

        expect(secondLog).not.toBe(firstLog);
        expect(existsSync(firstLog)).toBe(false);
        expect(logFiles(dir)).toEqual([secondLog.split('/').pop()]);
        expect(loaded?.logLines).toBe(1);
        expect(rows.get('Condition_Set__c/a0B1')).toEqual({ Id: 'a0B1', Name: 'v2' });
    });

    it('when compaction was cut short (a new log and a temp snapshot left), then the old snapshot and its log load and the leftovers go', () => {
        const folder = new DataFolder(dir);
        folder.writeSnapshot(META, { a0B: 0 }, []);
        folder.append([['Condition_Set__c', 'a0B1', { Id: 'a0B1', Name: 'kept' }]], { a0B: 1 });
        folder.close();
        // What a crash between creating the next log and renaming the new snapshot leaves.
        writeFileSync(join(dir, 'org-log-2.jsonl'), '');
        writeFileSync(join(dir, `${SNAPSHOT_FILE}.12345.tmp`), '{"format":2');

        const { folder: again, rows } = loadAll(dir);
        again.close();

        expect(rows.get('Condition_Set__c/a0B1')).toEqual({ Id: 'a0B1', Name: 'kept' });
        expect(readdirSync(dir).sort()).toEqual(['org-log-1.jsonl', SNAPSHOT_FILE]);
    });

    it('when the log outgrows the snapshot and the floor, then it asks to be compacted', () => {
        const folder = new DataFolder(dir);
        folder.writeSnapshot(META, {}, []);
        const row = { Id: 'a0B1', Pad: 'x'.repeat(64 * 1024) };
        let appends = 0;
        while (!folder.shouldCompact()) {
            folder.append([['Condition_Set__c', 'a0B1', row]], {});
            appends++;
        }
        const logBytes = statSync(folder.logFile!).size;
        folder.close();

        expect(logBytes).toBeGreaterThan(8 * 1024 * 1024);
        expect(appends).toBeLessThan(200);
    });

    it('when nothing changed, then an append writes nothing', () => {
        const folder = new DataFolder(dir);
        folder.writeSnapshot(META, {}, []);
        folder.append([], { a0B: 5 });
        const size = statSync(folder.logFile!).size;
        folder.close();

        expect(size).toBe(0);
    });
});
