/**
 * Persistence: the org keeps its records in its data folder across restarts (a snapshot and an
 * append-only log, see data-folder.test.ts for the log itself), a crash mid-write leaves the last good
 * state, and reset brings back the seeded demo org.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalOrg } from '../../service/src/local-org';
import { DataFolder, SNAPSHOT_FILE } from '../../service/src/local-org/persistence';
import { clientCredentialsToken, rest, v } from './helpers';

const ROOT = join(__dirname, '../..');

describe('local org persistence', () => {
    let dir: string;

    beforeEach(() => {
        dir = mkdtempSync(join(tmpdir(), 'rollcall-local-org-test-'));
    });

    afterEach(() => {
        rmSync(dir, { recursive: true, force: true });
    });

    it('when the org restarts on the same folder, then records, users and keys are as they were', async () => {
        const first = await startLocalOrg({ dataDir: dir, users: 100 });
        const token = await clientCredentialsToken(first);
        const created = await rest(first, token, v('/sobjects/Condition_Set__c'), {
            method: 'POST',
            body: { Name: 'Kept', Active__c: true }
        });
        const id = (created.body as { id: string }).id;
        const userId = first.ids.adminUserIds[0];
        await rest(first, token, v(`/sobjects/User/${userId}`), {
            method: 'PATCH',
            body: { Department: 'Moved' }
        });
        const key = first.jwt.privateKeyPem;
        await first.stop();

        const second = await startLocalOrg({ dataDir: dir });
        try {
            const t = await clientCredentialsToken(second);
            const record = await rest(second, t, v(`/sobjects/Condition_Set__c/${id}`));
            const user = await rest(second, t, v(`/sobjects/User/${userId}?fields=Department`));
            const count = await rest(second, t, v('/query?q=SELECT+COUNT()+FROM+User'));

            expect(record.body).toMatchObject({ Name: 'Kept', Active__c: true });
            expect(user.body).toMatchObject({ Department: 'Moved' });
            expect((count.body as { totalSize: number }).totalSize).toBe(100);
            expect(second.jwt.privateKeyPem).toBe(key);
        } finally {
            await second.stop();
        }
    });

    it('when a crash left a half-written temp file, then the org starts from the last good state', async () => {
        const first = await startLocalOrg({ dataDir: dir, users: 50 });
        const token = await clientCredentialsToken(first);
        await rest(first, token, v('/sobjects/Condition_Set__c'), {
            method: 'POST',
            body: { Name: 'Before the crash' }
        });
        await first.stop();
        writeFileSync(
            join(dir, 'org-snapshot.jsonl.99999.tmp'),
            '{"format":2,"seed":1}\n["Condition_Set__c",{"Id":'
        );

        const second = await startLocalOrg({ dataDir: dir });
        try {
            const t = await clientCredentialsToken(second);
            const q = await rest(
                second,
                t,
                v(
                    `/query?q=${encodeURIComponent("SELECT Id FROM Condition_Set__c WHERE Name = 'Before the crash'")}`
                )
            );
            expect((q.body as { totalSize: number }).totalSize).toBe(1);
        } finally {
            await second.stop();
        }
    });

    it('when the process is killed while it appends and compacts, then the folder loads to a state of one moment', async () => {
        // A child process appends flushes in a tight loop and compacts every 40th; it is killed at a random
        // moment. Every flush sets record i to value n and the counter to n: a whole state has them equal.
        const script = `
            const { DataFolder } = require(${JSON.stringify(join(ROOT, 'service/src/local-org/persistence.ts'))});
            const folder = new DataFolder(${JSON.stringify(dir)});
            const meta = { seed: 1, users: 1, seededAt: 0 };
            const rows = new Map();
            folder.writeSnapshot(meta, { n: 0 }, []);
            let n = 0;
            process.stdout.write('ready\\n');
            for (;;) {
                n++;
                const changes = [];
                for (let i = 0; i < 50; i++) {
                    const row = { Id: 'a0B' + i, Value: n, Pad: 'x'.repeat(200) };
                    rows.set(row.Id, row);
                    changes.push(['Condition_Set__c', row.Id, row]);
                }
                folder.append(changes, { n });
                if (n % 40 === 0) folder.writeSnapshot(meta, { n }, [...rows.values()].map((r) => ['Condition_Set__c', r]));
            }
        `;
        const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], {
            cwd: ROOT,
            stdio: ['ignore', 'pipe', 'inherit']
        });
        await new Promise<void>((ok) => child.stdout.once('data', () => ok()));
        await new Promise((r) => setTimeout(r, 300 + Math.random() * 300));
        child.kill('SIGKILL');
        await new Promise((r) => child.once('exit', r));

        const folder = new DataFolder(dir);
        const values = new Map<string, unknown>();
        const loaded = folder.load((_object, id, row) => values.set(id, row?.Value));
        folder.close();
        expect(loaded?.counters.n).toBeGreaterThan(0);
        expect(values.size).toBe(50);
        expect(new Set(values.values())).toEqual(new Set([loaded?.counters.n]));
    }, 20000);

    it('when the folder holds the previous format (one org.json), then it is read once and rewritten as a snapshot', async () => {
        const first = await startLocalOrg({ dataDir: dir, users: 30 });
        const token = await clientCredentialsToken(first);
        await rest(first, token, v('/sobjects/Condition_Set__c'), {
            method: 'POST',
            body: { Name: 'From the old format' }
        });
        await first.stop();
        // Rewrite what the org stored in the old layout: { format: 1, seed, users, seededAt, counters, tables }.
        const folder = new DataFolder(dir);
        const tables: Record<string, unknown[]> = {};
        const meta = folder.meta()!;
        const loaded = folder.load((object, _id, row) => {
            if (row) (tables[object] ??= []).push(row);
        });
        folder.close();
        rmSync(join(dir, SNAPSHOT_FILE));
        for (const name of readdirSync(dir)) if (name.startsWith('org-log-')) rmSync(join(dir, name));
        writeFileSync(
            join(dir, 'org.json'),
            JSON.stringify({ format: 1, ...meta, counters: loaded!.counters, tables })
        );

        const second = await startLocalOrg({ dataDir: dir });
        try {
            const t = await clientCredentialsToken(second);
            const q = await rest(
                second,
                t,
                v(
                    `/query?q=${encodeURIComponent("SELECT Id FROM Condition_Set__c WHERE Name = 'From the old format'")}`
                )
            );
            expect((q.body as { totalSize: number }).totalSize).toBe(1);
            expect(existsSync(join(dir, 'org.json'))).toBe(false);
            expect(existsSync(join(dir, SNAPSHOT_FILE))).toBe(true);
        } finally {
            await second.stop();
        }
    });

    it('when the org is reset, then the demo org comes back and changes are gone', async () => {
        const org = await startLocalOrg({ dataDir: dir, users: 50 });
        try {
            const token = await clientCredentialsToken(org);
            await rest(org, token, v('/sobjects/Condition_Set__c'), {
                method: 'POST',
                body: { Name: 'Temporary' }
            });

            await org.reset();

            const t = await clientCredentialsToken(org);
            const q = await rest(
                org,
                t,
                v(`/query?q=${encodeURIComponent('SELECT Name FROM Condition_Set__c ORDER BY CreatedDate')}`)
            );
            expect((q.body as { records: Array<{ Name: string }> }).records.map((r) => r.Name)).toEqual([
                'New AEs in EMEA',
                'Sales managers',
                'SDRs created in the last 90 days',
                'Customer Success (draft)'
            ]);
        } finally {
            await org.stop();
        }
    });

    it('when started with reset, then the folder is wiped and reseeded', async () => {
        const first = await startLocalOrg({ dataDir: dir, users: 30 });
        await first.stop();
        expect(existsSync(join(dir, SNAPSHOT_FILE))).toBe(true);

        const second = await startLocalOrg({ dataDir: dir, users: 40, reset: true });
        try {
            const t = await clientCredentialsToken(second);
            const q = await rest(second, t, v('/query?q=SELECT+COUNT()+FROM+User'));
            expect((q.body as { totalSize: number }).totalSize).toBe(40);
        } finally {
            await second.stop();
        }
    });
});
