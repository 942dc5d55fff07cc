/**
 * The SCIM adapter (AppDirectory) against the local SCIM app over HTTP: create, search, PATCH, groups,
 * paging, bulk, retries (429 + Retry-After, 5xx, timeouts), lost answers, concurrency, and the token
 * never leaving in an error or a log line.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
    createScimDirectory,
    retryAfterMs,
    type ScimDirectoryOptions
} from '../../service/src/adapters/scim';
import { AppDirectoryError, type AppDirectory } from '../../service/src/connections/app-directory';
import { startLocalScimApp, type LocalScimApp } from '../../service/src/local-scim';
import { ENTERPRISE_USER_SCHEMA, USER_SCHEMA } from '../../service/src/local-scim/schemas';

const TOKEN = 'scim-client-secret-Zq81xV0pLm';

let app: LocalScimApp;
const output: string[] = [];
const originals = { log: console.log, warn: console.warn, error: console.error, info: console.info };
const stdoutWrite = process.stdout.write.bind(process.stdout);
const stderrWrite = process.stderr.write.bind(process.stderr);

beforeAll(async () => {
    // Every line anything prints during these tests is kept, to check that the token never appears.
    for (const k of ['log', 'warn', 'error', 'info'] as const)
        console[k] = (...args: unknown[]) => {
            output.push(args.map(String).join(' '));
        };
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
        output.push(String(chunk));
        return (stdoutWrite as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
        output.push(String(chunk));
        return (stderrWrite as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stderr.write;
    app = await startLocalScimApp({
        token: TOKEN,
        seedGroups: ['Sales', 'sales', 'Engineering', 'Light agents'],
        log: (line) => console.log(line)
    });
});
afterAll(async () => {
    await app.stop();
    Object.assign(console, originals);
    process.stdout.write = stdoutWrite;
    process.stderr.write = stderrWrite;
});
afterEach(() => app.faults.clear());

function directory(overrides: Partial<ScimDirectoryOptions> = {}): AppDirectory {
    return createScimDirectory({ baseUrl: app.url, token: TOKEN, retryBaseMs: 20, ...overrides });
}

function user(userName: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { schemas: [USER_SCHEMA], userName, active: true, ...extra };
}

function usersNamed(userName: string): number {
    let n = 0;
    for (const u of app.store.users.values())
        if (String(u.userName).toLowerCase() === userName.toLowerCase()) n++;
    return n;
}

function memberCount(groupId: string, userId: string): number {
    const members = (app.store.groups.get(groupId)?.members as Array<{ value: string }> | undefined) ?? [];
    return members.filter((m) => m.value === userId).length;
}

async function groupId(dir: AppDirectory, name: string): Promise<string> {
    const g = (await dir.listGroups()).find((x) => x.displayName === name);
    if (!g) throw new Error(`no group ${name}`);
    return g.id;
}

async function expectError(p: Promise<unknown>): Promise<AppDirectoryError> {
    const e = await p.then(
        () => undefined,
        (err: unknown) => err
    );
    expect(e).toBeInstanceOf(AppDirectoryError);
    return e as AppDirectoryError;
}

describe('capabilities', () => {
    test('when reading the app, then what its ServiceProviderConfig and ResourceTypes say', async () => {
        const caps = await directory().capabilities();
        expect(caps).toEqual({
            patch: true,
            bulk: { supported: true, maxOperations: 1000, maxPayloadSize: 1048576 },
            filter: { supported: true, maxResults: 200 },
            etag: true,
            sort: false,
            resourceTypes: ['User', 'Group'],
            userSchemaExtensions: [ENTERPRISE_USER_SCHEMA]
        });
    });
});

describe('users', () => {
    test('when a user is created, then it is found by userName in any case, with its externalId; an unknown one is null', async () => {
        const dir = directory();
        const created = await dir.createUser(
            user('Dana.Scully@example.com', { externalId: '005000000000001AAA:calendly' })
        );
        expect(created.existed).toBe(false);
        expect(created.user).toMatchObject({
            userName: 'Dana.Scully@example.com',
            externalId: '005000000000001AAA:calendly',
            active: true
        });
        const found = await dir.findUser('dana.scully@EXAMPLE.com');
        expect(found?.id).toBe(created.user.id);
        expect(found?.resource.meta).toBeDefined();
        expect(await dir.findUser('nobody@example.com')).toBeNull();
    });

    test('when a userName holds quotes and backslashes, then the filter escapes them and finds exactly that user', async () => {
        const dir = directory();
        const tricky = 'o"brien\\x" or userName pr or "@example.com';
        await dir.createUser(user('plain@example.com'));
        const created = await dir.createUser(user(tricky));
        expect((await dir.findUser(tricky))?.id).toBe(created.user.id);
        expect(await dir.findUser('o"brien')).toBeNull();
    });

    test('when the user already exists (409 uniqueness), then the existing account is returned with existed: true', async () => {
        const dir = directory();
        const first = await dir.createUser(user('twice@example.com'));
        const second = await dir.createUser(user('TWICE@example.com', { externalId: 'other' }));
        expect(second).toEqual({ user: expect.objectContaining({ id: first.user.id }), existed: true });
        expect(usersNamed('twice@example.com')).toBe(1);
    });

    test('when a user is patched, then the answer is the updated user; a bad path is an invalid error with the scimType', async () => {
        const dir = directory();
        const { user: u } = await dir.createUser(user('patch.me@example.com', { name: { givenName: 'P' } }));
        const patched = await dir.patchUser(u.id, [
            { op: 'replace', path: 'name.givenName', value: 'Pat' },
            { op: 'add', path: 'emails[type eq "work"].value', value: 'pat@example.com' },
            { op: 'replace', path: `${ENTERPRISE_USER_SCHEMA}:department`, value: 'Sales' },
            { op: 'replace', path: 'roles', value: [{ value: 'Light agent', primary: true }] },
            { op: 'replace', path: 'active', value: false }
        ]);
        expect(patched.active).toBe(false);
        expect(patched.resource).toMatchObject({
            name: { givenName: 'Pat' },
            emails: [{ type: 'work', value: 'pat@example.com' }],
            [ENTERPRISE_USER_SCHEMA]: { department: 'Sales' },
            roles: [{ value: 'Light agent', primary: true }]
        });
        const e = await expectError(dir.patchUser(u.id, [{ op: 'replace', path: 'a.b.c', value: 1 }]));
        expect(e).toMatchObject({ kind: 'invalid', status: 400, scimType: 'invalidPath' });
        const missing = await expectError(
            dir.patchUser('no-such-id', [{ op: 'replace', path: 'title', value: 'x' }])
        );
        expect(missing.kind).toBe('not_found');
    });

    test('when users are listed, then page by page with startIndex/count, one page at a time, every user once', async () => {
        const paged = await startLocalScimApp({ token: TOKEN, seedGroups: [] });
        try {
            const dir = createScimDirectory({ baseUrl: paged.url, token: TOKEN });
            for (let i = 0; i < 23; i++) await dir.createUser(user(`list-${i}@example.com`));
            const before = dir.stats().byMethod.GET ?? 0;
            const pages: string[][] = [];
            await dir.listUsers(async (users) => {
                await new Promise((r) => setTimeout(r, 5));
                pages.push(users.map((u) => u.userName));
            }, 10);
            expect(pages.map((p) => p.length)).toEqual([10, 10, 3]);
            expect(pages.flat()).toEqual(Array.from({ length: 23 }, (_, i) => `list-${i}@example.com`));
            expect((dir.stats().byMethod.GET ?? 0) - before).toBe(3);
        } finally {
            await paged.stop();
        }
    });

    test('when the app caps a page below the count asked, then the client goes on from what it got', async () => {
        const capped = await startLocalScimApp({ token: TOKEN, seedGroups: [], limits: { maxResults: 4 } });
        try {
            const dir = createScimDirectory({ baseUrl: capped.url, token: TOKEN });
            for (let i = 0; i < 9; i++) await dir.createUser(user(`cap-${i}@example.com`));
            const seen: string[] = [];
            await dir.listUsers((users) => seen.push(...users.map((u) => u.userName)), 100);
            expect(seen).toHaveLength(9);
            expect(new Set(seen).size).toBe(9);
        } finally {
            await capped.stop();
        }
    });
});

describe('groups', () => {
    test('when groups are listed, then their display names exactly as the app has them, case kept', async () => {
        const names = (await directory().listGroups()).map((g) => g.displayName);
        expect(names).toEqual(expect.arrayContaining(['Sales', 'sales', 'Engineering', 'Light agents']));
    });

    test('when 250 members are added in chunks of 100 through /Bulk, then one bulk request, every member once, and adding again changes nothing', async () => {
        const dir = directory({ membersPerPatch: 100 });
        const ids: string[] = [];
        for (let i = 0; i < 250; i++)
            ids.push((await dir.createUser(user(`member-${i}@example.com`))).user.id);
        const gid = await groupId(dir, 'Engineering');
        await dir.capabilities();
        const before = dir.stats();
        await dir.addMembers(gid, [...ids, ids[0]]);
        const after = dir.stats();
        expect(after.requests - before.requests).toBe(1);
        expect((after.byMethod.POST ?? 0) - (before.byMethod.POST ?? 0)).toBe(1);
        const group = (await dir.listGroups()).find((g) => g.id === gid);
        expect(group?.memberIds).toHaveLength(250);
        expect(new Set(group?.memberIds)).toEqual(new Set(ids));

        await dir.addMembers(gid, ids.slice(0, 150));
        expect(app.store.groups.get(gid)?.members).toHaveLength(250);

        await dir.removeMembers(gid, ids.slice(0, 240));
        expect((app.store.groups.get(gid)?.members as Array<{ value: string }>).map((m) => m.value)).toEqual(
            ids.slice(240)
        );
    });

    test('when the app limits bulk operations, then as many bulk requests as its maxOperations needs; without bulk, one PATCH per chunk', async () => {
        for (const [limits, expected] of [
            [{ bulkMaxOperations: 3 }, { POST: 2, PATCH: 0 }],
            [{ bulkMaxPayloadSize: 1700 }, { POST: 3, PATCH: 0 }],
            [{ bulk: false }, { POST: 0, PATCH: 5 }]
        ] as const) {
            const small = await startLocalScimApp({ token: TOKEN, seedGroups: ['G'], limits });
            try {
                const dir = createScimDirectory({ baseUrl: small.url, token: TOKEN, membersPerPatch: 10 });
                const ids: string[] = [];
                for (let i = 0; i < 45; i++)
                    ids.push((await dir.createUser(user(`lim-${i}@example.com`))).user.id);
                const gid = await groupId(dir, 'G');
                await dir.capabilities();
                const before = small.stats().byMethod;
                await dir.addMembers(gid, ids);
                const after = small.stats().byMethod;
                expect({
                    limits,
                    POST: (after.POST ?? 0) - (before.POST ?? 0),
                    PATCH: (after.PATCH ?? 0) - (before.PATCH ?? 0)
                }).toEqual({ limits, ...expected });
                expect(small.store.groups.get(gid)?.members).toHaveLength(45);
            } finally {
                await small.stop();
            }
        }
    });

    test('when the app serves no /ServiceProviderConfig, then memberships go by plain PATCH', async () => {
        const noDiscovery: typeof fetch = async (input, init) =>
            String(input).endsWith('/ServiceProviderConfig')
                ? new Response(JSON.stringify({ detail: 'no such endpoint' }), { status: 404 })
                : fetch(input, init);
        const dir = directory({ fetch: noDiscovery, membersPerPatch: 10 });
        const ids: string[] = [];
        for (let i = 0; i < 25; i++)
            ids.push((await dir.createUser(user(`nodisc-${i}@example.com`))).user.id);
        const gid = await groupId(dir, 'Light agents');
        const before = dir.stats().byMethod;
        await dir.addMembers(gid, ids);
        const after = dir.stats().byMethod;
        expect((after.PATCH ?? 0) - (before.PATCH ?? 0)).toBe(3);
        for (const id of ids) expect(memberCount(gid, id)).toBe(1);
        await dir.removeMembers(gid, ids);
        for (const id of ids) expect(memberCount(gid, id)).toBe(0);
    });

    test('when a member to remove is not in the group (400 noTarget), then the others are removed and it is no error', async () => {
        const dir = directory();
        const a = (await dir.createUser(user('rm-a@example.com'))).user.id;
        const b = (await dir.createUser(user('rm-b@example.com'))).user.id;
        const c = (await dir.createUser(user('rm-c@example.com'))).user.id;
        const gid = await groupId(dir, 'Light agents');
        await dir.addMembers(gid, [a, b]);
        await dir.removeMembers(gid, [a, c]);
        expect((app.store.groups.get(gid)?.members as Array<{ value: string }>).map((m) => m.value)).toEqual([
            b
        ]);
        await dir.removeMembers(gid, [c]);
        const e = await expectError(dir.addMembers(gid, ['not-a-user']));
        expect(e).toMatchObject({ kind: 'invalid', scimType: 'invalidValue' });
    });
});

describe('retries', () => {
    test('when the app answers 429 with Retry-After: 1, then the client waits about a second and succeeds', async () => {
        const dir = directory();
        app.faults.rateLimitNext(1, 1);
        const started = Date.now();
        expect(await dir.findUser('nobody@example.com')).toBeNull();
        expect(Date.now() - started).toBeGreaterThanOrEqual(950);
        expect(dir.stats()).toMatchObject({ requests: 2, retries: 1 });
    });

    test('when Retry-After is longer than the cap, then the cap is waited; when 429 goes on, then rate_limited after the bounded attempts', async () => {
        const dir = directory({ maxRetryAfterMs: 100, retryAttempts: 2 });
        app.faults.rateLimitNext(1, 3600);
        const started = Date.now();
        await dir.findUser('nobody@example.com');
        expect(Date.now() - started).toBeLessThan(1000);
        app.faults.rateLimitNext(5, 3600);
        const e = await expectError(dir.findUser('nobody@example.com'));
        expect(e).toMatchObject({ kind: 'rate_limited', status: 429 });
        expect(e.message).toContain('3 attempts');
        expect(dir.stats()).toMatchObject({ requests: 5, retries: 3 });
    });

    test('when the app fails with 503 twice, then the third attempt succeeds; when it keeps failing, then unavailable', async () => {
        const dir = directory({ retryAttempts: 3 });
        app.faults.failNext(2, 503);
        const created = await dir.createUser(user('after-503@example.com'));
        expect(created.existed).toBe(false);
        expect(dir.stats().retries).toBe(2);
        app.faults.failNext(10, 500);
        const e = await expectError(dir.findUser('x@example.com'));
        expect(e).toMatchObject({ kind: 'unavailable', status: 500 });
        expect(e.message).toMatch(/HTTP 500.*4 attempts/);
    });

    test('when an answer takes longer than the timeout, then the request is retried; when every attempt times out, then timeout', async () => {
        const dir = directory({ timeoutMs: 250 });
        app.faults.delayNext(1, 800, 'GET');
        expect(await dir.findUser('nobody@example.com')).toBeNull();
        expect(dir.stats().retries).toBe(1);
        const slow = directory({ timeoutMs: 150, retryAttempts: 1 });
        app.faults.latency(600);
        const e = await expectError(slow.findUser('nobody@example.com'));
        expect(e.kind).toBe('timeout');
        expect(e.message).toContain('150 ms');
    });

    test('when the app is unreachable, then unavailable after the retries, naming the app', async () => {
        const closed = createServer();
        await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', ok));
        const port = (closed.address() as AddressInfo).port;
        await new Promise<void>((ok) => closed.close(() => ok()));
        const dir = createScimDirectory({
            baseUrl: `http://127.0.0.1:${port}/scim/v2`,
            token: TOKEN,
            retryAttempts: 1,
            retryBaseMs: 10
        });
        const e = await expectError(dir.capabilities());
        expect(e.kind).toBe('unavailable');
        expect(e.message).toContain(`http://127.0.0.1:${port}`);
        expect(dir.stats().requests).toBe(2);
    });
});

describe('lost answers', () => {
    test('when the answer to a create is dropped, then the retry yields exactly one account, existed: true', async () => {
        const dir = directory();
        app.faults.dropNextAnswers(1, 'POST');
        const r = await dir.createUser(user('lost.create@example.com', { externalId: 'ours' }));
        expect(r.existed).toBe(true);
        expect(r.user.externalId).toBe('ours');
        expect(usersNamed('lost.create@example.com')).toBe(1);
    });

    test('when the answer to a membership add is dropped, then exactly one membership (plain PATCH and bulk)', async () => {
        const dir = directory({ membersPerPatch: 2 });
        const gid = await groupId(dir, 'sales');
        const u = (await dir.createUser(user('lost.member@example.com'))).user.id;
        app.faults.dropNextAnswers(1, 'PATCH');
        await dir.addMembers(gid, [u]);
        expect(memberCount(gid, u)).toBe(1);

        const more: string[] = [];
        for (let i = 0; i < 5; i++)
            more.push((await dir.createUser(user(`lost.bulk-${i}@example.com`))).user.id);
        app.faults.dropNextAnswers(1, 'POST');
        await dir.addMembers(gid, more);
        for (const id of [u, ...more]) expect(memberCount(gid, id)).toBe(1);
    });

    test('when the answer to a removal is dropped, then the retry (noTarget) ends with the member removed and no error', async () => {
        const dir = directory();
        const gid = await groupId(dir, 'Sales');
        const u = (await dir.createUser(user('lost.remove@example.com'))).user.id;
        await dir.addMembers(gid, [u]);
        app.faults.dropNextAnswers(1, 'PATCH');
        await dir.removeMembers(gid, [u]);
        expect(memberCount(gid, u)).toBe(0);
    });
});

describe('two instances', () => {
    test('when two connections create the same users and memberships at once, then one account each and one membership', async () => {
        const first = directory();
        const second = directory();
        const names = Array.from({ length: 20 }, (_, i) => `twin-${i}@example.com`);
        const results = await Promise.all(
            names.flatMap((n) => [first.createUser(user(n)), second.createUser(user(n.toUpperCase()))])
        );
        for (const n of names) expect(usersNamed(n)).toBe(1);
        expect(results.filter((r) => r.existed)).toHaveLength(names.length);
        const ids = [...new Set(results.map((r) => r.user.id))];
        expect(ids).toHaveLength(names.length);
        const gid = await groupId(first, 'Engineering');
        await Promise.all([first.addMembers(gid, ids), second.addMembers(gid, ids)]);
        for (const id of ids) expect(memberCount(gid, id)).toBe(1);
    });
});

describe('concurrency', () => {
    test('when many calls are made at once, then at most maxConcurrency requests are in flight on the connection', async () => {
        let inFlight = 0;
        let peak = 0;
        const counting: typeof fetch = async (input, init) => {
            inFlight++;
            peak = Math.max(peak, inFlight);
            try {
                const res = await fetch(input, init);
                await new Promise((r) => setTimeout(r, 20));
                return res;
            } finally {
                inFlight--;
            }
        };
        const dir = directory({ maxConcurrency: 3, fetch: counting });
        await Promise.all(Array.from({ length: 15 }, (_, i) => dir.findUser(`c${i}@example.com`)));
        expect(peak).toBe(3);
        expect(dir.stats().requests).toBe(15);
    });
});

describe('the token', () => {
    test('when the token is wrong, then unauthorized with an actionable message that does not hold either token', async () => {
        const wrong = 'wrong-token-Qx91kPz77';
        const dir = createScimDirectory({ baseUrl: app.url, token: wrong });
        const e = await expectError(dir.findUser('x@example.com'));
        expect(e).toMatchObject({ kind: 'unauthorized', status: 401 });
        expect(e.message).toContain('CONNECTIONS_FILE');
        expect(e.message).not.toContain(wrong);
        expect(e.message).not.toContain(TOKEN);
    });

    test('when the base URL holds credentials or the token cannot be a header, then a clear error at once, without the token', () => {
        const withCredentials = (): AppDirectory =>
            createScimDirectory({ baseUrl: 'https://admin:hunter2x@app.example.com/scim/v2', token: TOKEN });
        expect(withCredentials).toThrow(/holds credentials/);
        expect(withCredentials).toThrow(AppDirectoryError);
        const spaced = `${TOKEN}\n`;
        let message = '';
        try {
            createScimDirectory({ baseUrl: app.url, token: spaced });
        } catch (e) {
            message = (e as Error).message;
        }
        expect(message).toMatch(/characters an HTTP header cannot carry/);
        expect(message).not.toContain(TOKEN);
        expect(() => createScimDirectory({ baseUrl: 'not a url', token: TOKEN })).toThrow(/not a URL/);
    });

    test('when an app echoes the Authorization header in its errors, then the message still holds no token', async () => {
        const echo: Server = createServer((req, res) => {
            res.writeHead(req.url?.startsWith('/scim/v2/Users?') ? 400 : 500, {
                'Content-Type': 'application/scim+json'
            });
            res.end(
                JSON.stringify({
                    schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
                    status: '400',
                    detail: `bad request with ${String(req.headers.authorization)} (${TOKEN})`
                })
            );
        });
        await new Promise<void>((ok) => echo.listen(0, '127.0.0.1', ok));
        try {
            const base = `http://127.0.0.1:${(echo.address() as AddressInfo).port}/scim/v2`;
            const dir = createScimDirectory({
                baseUrl: base,
                token: TOKEN,
                retryAttempts: 1,
                retryBaseMs: 1
            });
            for (const call of [
                () => dir.findUser('x'),
                () => dir.createUser(user('x')),
                () => dir.capabilities()
            ]) {
                const e = await expectError(call());
                expect(e.message).not.toContain(TOKEN);
                expect(e.message).toContain('[redacted]');
                expect(JSON.stringify(e)).not.toContain(TOKEN);
            }
        } finally {
            await new Promise<void>((ok) => echo.close(() => ok()));
        }
    });

    test('when every test above has run, then no line printed holds the token', () => {
        expect(output.length).toBeGreaterThan(0);
        expect(output.filter((l) => l.includes(TOKEN))).toEqual([]);
    });
});

describe('Retry-After', () => {
    test.each([
        ['3', 3000],
        [' 0 ', 0],
        [null, undefined],
        ['soon', undefined]
    ])('when Retry-After is %j, then %j ms', (header, ms) => {
        expect(retryAfterMs(header)).toBe(ms);
    });

    test('when Retry-After is an HTTP date, then the time until it', () => {
        const now = Date.parse('2026-01-01T00:00:00Z');
        expect(retryAfterMs('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    });
});
