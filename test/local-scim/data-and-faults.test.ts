/**
 * The local SCIM app's data folder (survives a restart, written atomically, seeded once), its fault
 * switches (in-process and over /admin/faults) and a 10,000-user store answering userName searches from
 * its index.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalScimApp, type LocalScimApp } from '../../service/src/local-scim';
import { USER_SCHEMA } from '../../service/src/local-scim/schemas';
import { createUser, ERROR, filterPath, groupByName, patch, scim, type Json } from './helpers';

const TOKEN = 'faults-test-token-1b2c3d';

describe('data folder', () => {
    let dir: string;
    beforeEach(() => {
        dir = mkdtempSync(join(tmpdir(), 'scim-data-test-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    test('when the app restarts on its data folder, then users, groups, memberships and versions are as they were, and the seed is not repeated', async () => {
        const first = await startLocalScimApp({
            token: TOKEN,
            dataDir: dir,
            seedGroups: ['Sales', 'Support']
        });
        const u = await createUser(first, 'persist@example.com', {
            externalId: 'X1',
            name: { givenName: 'P' }
        });
        const sales = await groupByName(first, 'Sales');
        const patched = await scim(
            first,
            'PATCH',
            `/Groups/${sales.id}`,
            patch({ op: 'add', path: 'members', value: [{ value: u.id }] })
        );
        await first.stop();
        expect(readdirSync(dir)).toEqual(['scim.json']);

        const second = await startLocalScimApp({
            token: TOKEN,
            dataDir: dir,
            seedGroups: ['Sales', 'Support', 'New']
        });
        try {
            const again = await scim(second, 'GET', `/Users/${u.id as string}`);
            expect(again.body).toMatchObject({
                userName: 'persist@example.com',
                externalId: 'X1',
                name: { givenName: 'P' }
            });
            expect(again.headers.get('etag')).toBe(u.meta.version);
            expect(again.body?.groups).toEqual([
                expect.objectContaining({ value: sales.id, display: 'Sales' })
            ]);
            const groups = await scim(second, 'GET', '/Groups');
            expect((groups.body?.Resources as Json[]).map((g) => g.displayName)).toEqual([
                'Sales',
                'Support'
            ]);
            const g = await scim(second, 'GET', `/Groups/${sales.id as string}`);
            expect(g.headers.get('etag')).toBe(patched.headers.get('etag'));
            // The userName index is rebuilt: a duplicate is still refused, a search still finds it.
            expect(
                (
                    await scim(second, 'POST', '/Users', {
                        schemas: [USER_SCHEMA],
                        userName: 'PERSIST@example.com'
                    })
                ).status
            ).toBe(409);
            // Versions go on from where they were: a new write never reuses an old ETag.
            const next = await createUser(second, 'next@example.com');
            expect(Number(/\d+/.exec(next.meta.version as string)?.[0])).toBeGreaterThan(
                Number(/\d+/.exec(patched.headers.get('etag') as string)?.[0])
            );
        } finally {
            await second.stop();
        }
    });

    test('when writes come quickly, then the file is saved within a moment, whole JSON, with no temp file left behind', async () => {
        const app = await startLocalScimApp({ token: TOKEN, dataDir: dir });
        try {
            for (let i = 0; i < 20; i++) await createUser(app, `quick-${i}@example.com`);
            await new Promise((r) => setTimeout(r, 400));
            const saved = JSON.parse(readFileSync(join(dir, 'scim.json'), 'utf8')) as Json;
            expect(saved.users).toHaveLength(20);
            expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
        } finally {
            await app.stop();
        }
    });

    test('when the file is damaged, then the start fails naming the file; a temp file left by a crash is removed', async () => {
        writeFileSync(join(dir, 'scim.json'), '{"format": "rollcall-local-scim/1", "users": [');
        await expect(startLocalScimApp({ token: TOKEN, dataDir: dir })).rejects.toThrow(
            join(dir, 'scim.json')
        );
        rmSync(join(dir, 'scim.json'));
        writeFileSync(join(dir, 'scim.json.999.tmp'), 'half');
        const app = await startLocalScimApp({ token: TOKEN, dataDir: dir });
        await app.stop();
        expect(existsSync(join(dir, 'scim.json.999.tmp'))).toBe(false);
    });
});

describe('fault switches', () => {
    let app: LocalScimApp;
    beforeAll(async () => {
        app = await startLocalScimApp({ token: TOKEN });
    });
    afterAll(() => app.stop());
    afterEach(() => app.faults.clear());

    test('when rateLimitNext is set, then 429 with Retry-After and an RFC error body, then normal again', async () => {
        app.faults.rateLimitNext(1, 7);
        const r = await scim(app, 'GET', '/Users');
        expect(r.status).toBe(429);
        expect(r.headers.get('retry-after')).toBe('7');
        expect(r.body).toMatchObject({ schemas: [ERROR], status: '429' });
        expect((await scim(app, 'GET', '/Users')).status).toBe(200);
    });

    test('when failNext is set for one method, then only that method fails, as many times as asked', async () => {
        app.faults.failNext(2, 500, 'POST');
        expect((await scim(app, 'GET', '/Users')).status).toBe(200);
        expect(
            (await scim(app, 'POST', '/Users', { schemas: [USER_SCHEMA], userName: 'f1@example.com' })).body
        ).toMatchObject({ status: '500' });
        expect(
            (await scim(app, 'POST', '/Users', { schemas: [USER_SCHEMA], userName: 'f1@example.com' })).status
        ).toBe(500);
        expect(
            (await scim(app, 'POST', '/Users', { schemas: [USER_SCHEMA], userName: 'f1@example.com' })).status
        ).toBe(201);
    });

    test('when an answer is dropped, then the write is applied and the client gets no answer', async () => {
        app.faults.dropNextAnswers(1, 'POST');
        await expect(
            scim(app, 'POST', '/Users', { schemas: [USER_SCHEMA], userName: 'dropped@example.com' })
        ).rejects.toThrow();
        const found = await scim(app, 'GET', filterPath('Users', 'userName eq "dropped@example.com"'));
        expect(found.body?.totalResults).toBe(1);
    });

    test('when latency or delayNext is set, then answers come that much later', async () => {
        app.faults.delayNext(1, 300);
        let t = Date.now();
        await scim(app, 'GET', '/Users?count=1');
        expect(Date.now() - t).toBeGreaterThanOrEqual(280);
        t = Date.now();
        await scim(app, 'GET', '/Users?count=1');
        expect(Date.now() - t).toBeLessThan(250);
        app.faults.latency(200);
        t = Date.now();
        await scim(app, 'GET', '/Users?count=1');
        expect(Date.now() - t).toBeGreaterThanOrEqual(180);
    });

    test('when faults are set over POST /admin/faults, then they apply, GET shows them and DELETE clears them', async () => {
        const admin = (method: string, body?: unknown) =>
            fetch(`${app.adminUrl}/faults`, {
                method,
                headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
                body: body === undefined ? undefined : JSON.stringify(body)
            });
        const set = await admin('POST', {
            failNext: { count: 1, status: 503 },
            rateLimitNext: { count: 1, retryAfterSeconds: 2, method: 'PATCH' }
        });
        expect(set.status).toBe(200);
        expect(((await (await admin('GET')).json()) as Json).oneShot).toHaveLength(2);
        expect((await scim(app, 'GET', '/Groups')).status).toBe(503);
        expect((await scim(app, 'GET', '/Groups')).status).toBe(200);
        expect((await admin('POST', { failNext: { count: 0 } })).status).toBe(400);
        expect((await admin('DELETE')).status).toBe(204);
        expect(((await (await admin('GET')).json()) as Json).oneShot).toEqual([]);
        const stats = (await (
            await fetch(`${app.adminUrl}/stats`, { headers: { authorization: `Bearer ${TOKEN}` } })
        ).json()) as Json;
        expect(stats.total).toBeGreaterThan(0);
    });
});

describe('a 10,000-user store', () => {
    test('when searching by userName, then the index answers (no scan): far faster than a filter that must scan', async () => {
        const app = await startLocalScimApp({ token: TOKEN });
        try {
            for (let i = 0; i < 10_000; i++)
                app.store.create(
                    'User',
                    { schemas: [USER_SCHEMA], userName: `user${i}@big.example`, title: `T${i % 50}` },
                    new Date()
                );
            // Let the coalesced save of the 10,000 new users pass before timing.
            await new Promise((r) => setTimeout(r, 600));
            const timed = async (filter: (i: number) => string, n: number): Promise<number> => {
                const started = process.hrtime.bigint();
                for (let i = 0; i < n; i++) {
                    const r = await scim(app, 'GET', filterPath('Users', filter((i * 97) % 10_000)));
                    expect(r.body?.totalResults).toBe(1);
                }
                return Number(process.hrtime.bigint() - started) / 1e6 / n;
            };
            const indexed = await timed((i) => `userName eq "USER${i}@big.example"`, 200);
            const scanned = await timed((i) => `userName co "user${i}@big.example"`, 20);
            // Logged for docs/local-scim.md's figures.
            console.log(
                `10,000 users: userName eq ${indexed.toFixed(2)} ms per search, userName co (scan) ${scanned.toFixed(2)} ms`
            );
            expect(indexed).toBeLessThan(25);
            expect(indexed * 3).toBeLessThan(scanned);
        } finally {
            await app.stop();
        }
    }, 60_000);
});
