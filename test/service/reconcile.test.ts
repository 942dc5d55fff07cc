/**
 * "Compare with the app" (DESIGN §11) against the local SCIM app over HTTP, through the SCIM client:
 * the four lists equal what this test computes independently, and 100,000 app accounts are sorted
 * within bounded memory.
 */
import { createScimDirectory } from '../../service/src/adapters/scim';
import type { ReconcileEntry, ReconcileResult, ReconcileUser } from '../../service/src/engine/reconcile';
import { startLocalScimApp, type LocalScimApp } from '../../service/src/local-scim';
import { USER_SCHEMA } from '../../service/src/local-scim/schemas';
import { reconcileWithApp } from '../../service/src/use-cases/reconcile';

const KEY = 'demo';
const TOKEN = 'reconcile-test-token';

let scim: LocalScimApp;
beforeEach(async () => {
    scim = await startLocalScimApp({ token: TOKEN, seedGroups: [] });
});
afterEach(async () => {
    await scim.stop();
});

function directory() {
    return createScimDirectory({ baseUrl: scim.url, token: TOKEN });
}

function addAppAccount(userName: string, externalId?: string, active = true): string {
    const body: Record<string, unknown> = { schemas: [USER_SCHEMA], userName, active };
    if (externalId !== undefined) body.externalId = externalId;
    return String(scim.store.create('User', body, new Date()).id);
}

function userId(n: number): string {
    return `005${String(n).padStart(12, '0')}AAA`;
}

/** A deterministic generator (mulberry32). */
function random(seed: number): () => number {
    let a = seed;
    return () => {
        a = (a + 0x6d2b79f5) | 0;
        let t = Math.imul(a ^ (a >>> 15), 1 | a);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

/** The lists by brute force: every account against every user, no index, no streaming. */
function oracle(
    users: ReconcileUser[],
    accounts: Array<{ id: string; userName: string; externalId?: string; active: boolean }>
) {
    const lists: Record<'adoptable' | 'manual' | 'noUser' | 'toCreate', ReconcileEntry[]> = {
        adoptable: [],
        manual: [],
        noUser: [],
        toCreate: []
    };
    let recorded = 0;
    const claimed: string[] = [];
    for (const account of accounts) {
        const entry: ReconcileEntry = {
            appId: account.id,
            userName: account.userName,
            active: account.active
        };
        const owner =
            users.find((u) => account.externalId === `${u.userId}:${KEY}`) ??
            users.find(
                (u) => u.userName !== null && u.userName.toLowerCase() === account.userName.toLowerCase()
            );
        if (owner === undefined) {
            lists.noUser.push(entry);
            continue;
        }
        entry.userId = owner.userId;
        const second = claimed.includes(owner.userId);
        claimed.push(owner.userId);
        if (owner.recorded) recorded++;
        else if (second)
            lists.manual.push({ ...entry, note: 'a second account for this user in the app: left Manual' });
        else if (owner.matchesRule) lists.adoptable.push(entry);
        else
            lists.manual.push(
                owner.active ? entry : { ...entry, note: 'the user is inactive in Salesforce' }
            );
    }
    for (const user of users) {
        if (user.matchesRule && !user.recorded && user.userName !== null && !claimed.includes(user.userId))
            lists.toCreate.push({ userName: user.userName, userId: user.userId });
    }
    return { lists, recorded };
}

function expectLists(result: ReconcileResult, expected: ReturnType<typeof oracle>, keep: number) {
    for (const name of ['adoptable', 'manual', 'noUser', 'toCreate'] as const) {
        expect([name, result[name].count]).toEqual([name, expected.lists[name].length]);
        expect([name, result[name].first]).toEqual([name, expected.lists[name].slice(0, keep)]);
    }
    expect(result.recorded).toBe(expected.recorded);
}

test('the four lists equal a brute-force sorting, with every kind of account (random population)', async () => {
    for (const seed of [1, 2, 3]) {
        const rand = random(seed);
        const users: ReconcileUser[] = [];
        for (let n = 0; n < 120; n++) {
            const active = rand() > 0.15;
            users.push({
                userId: userId(seed * 1000 + n),
                userName: rand() > 0.05 ? `user${n}@example.com` : null,
                active,
                matchesRule: active && rand() > 0.4,
                recorded: rand() > 0.85
            });
        }
        for (const id of [...scim.store.users.keys()]) scim.store.delete('User', id);
        const accounts: Array<{ id: string; userName: string; externalId?: string; active: boolean }> = [];
        for (let i = 0; i < 150; i++) {
            const r = rand();
            const n = Math.floor(rand() * 140); // some beyond the users: no Salesforce user
            let userName = `user${n}@example.com`;
            if (r < 0.2) userName = userName.toUpperCase(); // userName ignores case
            let externalId: string | undefined;
            if (r > 0.9) {
                // Ours by externalId, under another userName (renamed in the app).
                userName = `renamed${i}@example.com`;
                externalId = `${userId(seed * 1000 + (n % 120))}:${KEY}`;
            } else if (r > 0.85) externalId = `${userId(seed * 1000 + n)}:other-connection`;
            if (accounts.some((a) => a.userName.toLowerCase() === userName.toLowerCase())) continue;
            const active = rand() > 0.1;
            accounts.push({ id: addAppAccount(userName, externalId, active), userName, externalId, active });
        }
        const expected = oracle(users, accounts);
        // Every list is populated, so the comparison says something.
        for (const list of Object.values(expected.lists)) expect(list.length).toBeGreaterThan(0);
        expect(expected.lists.manual.some((e) => e.note?.startsWith('a second account'))).toBe(true);
        for (const keep of [Number.MAX_SAFE_INTEGER, 5]) {
            const result = await reconcileWithApp(directory(), KEY, users, { keep, pageSize: 17 });
            expect(result.appAccounts).toBe(accounts.length);
            expectLists(result, expected, keep);
        }
    }
});

test('100,000 app accounts are sorted within bounded memory, lists equal to the generated truth', async () => {
    // Users: 0–39,999 match a rule and have an app account (adoptable); 40,000–49,999 match no rule and
    // have one (manual); 50,000–51,999 are inactive and have one (manual, noted); 52,000–52,099 match a
    // rule, are recorded already and have none; 52,100–59,999 match a rule and have none (to create).
    // App accounts: those 52,000 plus 48,000 whose userName no user has; inserted shuffled.
    const users: ReconcileUser[] = [];
    for (let n = 0; n < 60_000; n++) {
        const active = n < 50_000 || n >= 52_000;
        users.push({
            userId: userId(n),
            userName: `user${n}@example.com`,
            active,
            matchesRule: active && (n < 40_000 || n >= 52_000),
            recorded: n >= 52_000 && n < 52_100
        });
    }
    const labels: Array<{ n: number; list: 'adoptable' | 'manual' | 'noUser' }> = [];
    for (let n = 0; n < 52_000; n++) labels.push({ n, list: n < 40_000 ? 'adoptable' : 'manual' });
    for (let n = 100_000; n < 148_000; n++) labels.push({ n, list: 'noUser' });
    const rand = random(42);
    for (let i = labels.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [labels[i], labels[j]] = [labels[j], labels[i]];
    }
    const KEEP = 100;
    const expected = {
        adoptable: [] as ReconcileEntry[],
        manual: [] as ReconcileEntry[],
        noUser: [] as ReconcileEntry[]
    };
    const counts = { adoptable: 0, manual: 0, noUser: 0 };
    for (const { n, list } of labels) {
        const userName = n % 7 === 0 ? `USER${n}@EXAMPLE.COM` : `user${n}@example.com`;
        const appId = addAppAccount(userName);
        counts[list]++;
        if (expected[list].length >= KEEP) continue;
        const entry: ReconcileEntry = { appId, userName, active: true };
        if (list !== 'noUser') entry.userId = userId(n);
        if (n >= 50_000 && n < 52_000) entry.note = 'the user is inactive in Salesforce';
        expected[list].push(entry);
    }
    expect(scim.store.users.size).toBe(100_000);

    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const baseline = process.memoryUsage().heapUsed;
    let peak = baseline;
    // With --expose-gc, the live heap every 10,000 accounts (what stays once garbage is collected):
    // the measure of bounded memory. The raw peak also counts the in-process app's garbage.
    const live: number[] = [];
    const started = performance.now();
    const result = await reconcileWithApp(directory(), KEY, users, {
        keep: KEEP,
        onPage: (read) => {
            peak = Math.max(peak, process.memoryUsage().heapUsed);
            if (gc && read % 10_000 === 0) {
                gc();
                live.push(process.memoryUsage().heapUsed);
            }
        }
    });
    const seconds = (performance.now() - started) / 1000;
    const peakMb = (peak - baseline) / 1_048_576;
    // Growth of the live heap from the first 10,000 accounts read to the most it reached after.
    const liveMb = gc ? (Math.max(...live) - live[0]) / 1_048_576 : Number.NaN;
    process.stdout.write(
        `reconcile 100,000 app accounts × 60,000 users: ${seconds.toFixed(1)} s, heap peak +${peakMb.toFixed(1)} MB over the seeded baseline, ` +
            `live heap +${liveMb.toFixed(1)} MB from 10,000 to 100,000 accounts read (gc exposed: ${gc !== undefined})\n`
    );

    expect(result.appAccounts).toBe(100_000);
    expect(result.adoptable).toEqual({ count: counts.adoptable, first: expected.adoptable });
    expect(result.manual).toEqual({ count: counts.manual, first: expected.manual });
    expect(result.noUser).toEqual({ count: counts.noUser, first: expected.noUser });
    expect(result.toCreate.count).toBe(7_900);
    expect(result.toCreate.first).toEqual(
        Array.from({ length: KEEP }, (_, i) => ({
            userName: `user${52_100 + i}@example.com`,
            userId: userId(52_100 + i)
        }))
    );
    expect(result.recorded).toBe(0);
    // Bounded: the lists hold KEEP entries each whatever the population; the heap grows by the users'
    // index and a page, not by the app's 100,000 accounts (each page is dropped once sorted).
    expect(peakMb).toBeLessThan(160);
    if (gc) expect(liveMb).toBeLessThan(8);
}, 180_000);
