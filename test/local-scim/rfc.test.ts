/**
 * The local SCIM app over HTTP, against RFC 7643 / 7644: errors, auth, create, uniqueness, filters,
 * paging, PATCH, ETags, Bulk and the discovery endpoints.
 */
import { startLocalScimApp, type LocalScimApp } from '../../service/src/local-scim';
import {
    BULK_REQUEST,
    createUser,
    ENTERPRISE,
    ERROR,
    filterPath,
    GROUP,
    groupByName,
    patch,
    scim,
    userBody,
    type Json
} from './helpers';

const TOKEN = 'rfc-test-token-7f3a9c';

let app: LocalScimApp;

beforeAll(async () => {
    app = await startLocalScimApp({ token: TOKEN, seedGroups: ['Sales', 'Engineering', 'sales ops'] });
});
afterAll(async () => {
    await app.stop();
});

describe('auth and errors (RFC 7644 §2, §3.12)', () => {
    test('when no token or a wrong token is sent, then 401 with an RFC 7644 error body and WWW-Authenticate', async () => {
        const none = await fetch(`${app.url}/Users`);
        const wrong = await scim({ url: app.url, token: 'nope' }, 'GET', '/Users');
        for (const r of [
            { status: none.status, body: (await none.json()) as Json, headers: none.headers },
            wrong
        ]) {
            expect(r.status).toBe(401);
            expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
            expect(r.body).toEqual({ schemas: [ERROR], status: '401', detail: expect.any(String) });
        }
        const admin = await fetch(`${app.adminUrl}/faults`);
        expect(admin.status).toBe(401);
    });

    test('when a resource does not exist, then 404 with status as a string', async () => {
        const r = await scim(app, 'GET', '/Users/00000000-0000-0000-0000-000000000000');
        expect(r.status).toBe(404);
        expect(r.headers.get('content-type')).toMatch(/^application\/scim\+json/);
        expect(r.body).toEqual({
            schemas: [ERROR],
            status: '404',
            detail: expect.stringContaining('not found')
        });
    });

    test('when the body is not JSON or lacks its schema, then 400 invalidSyntax; a missing userName is invalidValue', async () => {
        expect((await scim(app, 'POST', '/Users', '{"userName": ')).body).toMatchObject({
            status: '400',
            scimType: 'invalidSyntax'
        });
        expect((await scim(app, 'POST', '/Users', { userName: 'x' })).body).toMatchObject({
            scimType: 'invalidSyntax'
        });
        expect(
            (await scim(app, 'POST', '/Users', { schemas: [userBody('').schemas[0]] })).body
        ).toMatchObject({
            status: '400',
            scimType: 'invalidValue'
        });
        expect((await scim(app, 'POST', '/Users', userBody('t', { active: 'yes' }))).body).toMatchObject({
            scimType: 'invalidValue',
            detail: 'active must be true or false'
        });
    });
});

describe('create and uniqueness (RFC 7644 §3.3, RFC 7643 §3.1)', () => {
    test('when a user is created, then 201 with Location, ETag, id and meta; id and meta sent by the client are ignored', async () => {
        const r = await scim(
            app,
            'POST',
            '/Users',
            userBody('Create.Me@example.com', {
                id: 'mine',
                externalId: 'EXT-create',
                meta: { version: 'W/"x"' }
            })
        );
        expect(r.status).toBe(201);
        const u = r.body as Json;
        expect(u.id).not.toBe('mine');
        expect(u.externalId).toBe('EXT-create');
        expect(u.meta).toEqual({
            resourceType: 'User',
            created: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
            lastModified: u.meta.created,
            location: `${app.url}/Users/${u.id}`,
            version: expect.stringMatching(/^W\/"\d+"$/)
        });
        expect(r.headers.get('location')).toBe(u.meta.location);
        expect(r.headers.get('etag')).toBe(u.meta.version);
    });

    test('when a userName is taken in any case, then 409 uniqueness, on create, replace and patch', async () => {
        await createUser(app, 'Taken@example.com');
        const other = await createUser(app, 'other-taken@example.com');
        const dup = await scim(app, 'POST', '/Users', userBody('TAKEN@EXAMPLE.COM'));
        expect(dup.status).toBe(409);
        expect(dup.body).toEqual({
            schemas: [ERROR],
            status: '409',
            scimType: 'uniqueness',
            detail: expect.any(String)
        });
        const put = await scim(app, 'PUT', `/Users/${other.id}`, userBody('taken@example.com'));
        expect(put.body).toMatchObject({ status: '409', scimType: 'uniqueness' });
        const p = await scim(
            app,
            'PATCH',
            `/Users/${other.id}`,
            patch({ op: 'replace', path: 'userName', value: 'taken@Example.com' })
        );
        expect(p.body).toMatchObject({ status: '409', scimType: 'uniqueness' });
        // Renaming a user to its own name in another case is no conflict.
        const self = await scim(
            app,
            'PATCH',
            `/Users/${other.id}`,
            patch({ op: 'replace', path: 'userName', value: 'OTHER-taken@example.com' })
        );
        expect(self.status).toBe(200);
    });
});

describe('filters (RFC 7644 §3.4.2.2)', () => {
    const ids: Record<string, string> = {};
    beforeAll(async () => {
        const people: Array<[string, Json]> = [
            [
                'alice@example.com',
                {
                    externalId: 'EXT-1',
                    title: 'Engineer',
                    active: true,
                    name: { familyName: 'Carter', givenName: 'Alice' },
                    emails: [{ type: 'work', value: 'alice@example.com' }],
                    [ENTERPRISE]: { department: 'Engineering' }
                }
            ],
            [
                'bob@example.org',
                {
                    externalId: 'ext-2',
                    active: true,
                    name: { familyName: 'Marley' },
                    emails: [{ type: 'home', value: 'bob@example.org' }],
                    [ENTERPRISE]: { department: 'Sales' }
                }
            ],
            [
                'carol@example.org',
                {
                    title: 'Director',
                    active: false,
                    emails: [
                        { type: 'work', value: 'carol@example.org' },
                        { type: 'home', value: 'c@home.net' }
                    ]
                }
            ]
        ];
        for (const [userName, extra] of people)
            ids[userName] = (await createUser(app, userName, { ...extra, displayName: 'filter-fixture' }))
                .id as string;
    });

    async function names(filter: string): Promise<string[]> {
        const r = await scim(
            app,
            'GET',
            filterPath('Users', `displayName eq "filter-fixture" and (${filter})`)
        );
        expect(r.status).toBe(200);
        return (r.body?.Resources as Json[]).map((u) => u.userName as string).sort();
    }

    test.each([
        ['userName eq "ALICE@EXAMPLE.COM"', ['alice@example.com'], 'userName is caseExact false'],
        [
            'USERNAME Eq "alice@example.com"',
            ['alice@example.com'],
            'attribute names and operators ignore case'
        ],
        ['externalId eq "EXT-1"', ['alice@example.com'], 'externalId is caseExact'],
        ['externalId eq "ext-1"', [], 'externalId is caseExact'],
        ['userName ne "alice@example.com"', ['bob@example.org', 'carol@example.org'], 'ne'],
        ['userName co "example.org"', ['bob@example.org', 'carol@example.org'], 'co'],
        ['userName sw "B"', ['bob@example.org'], 'sw ignores case on userName'],
        ['userName ew ".COM"', ['alice@example.com'], 'ew'],
        ['title pr', ['alice@example.com', 'carol@example.org'], 'pr'],
        ['not (title pr)', ['bob@example.org'], 'not'],
        ['name.familyName co "arle"', ['bob@example.org'], 'sub-attribute'],
        ['emails.value eq "c@home.net"', ['carol@example.org'], 'multi-valued: any value'],
        ['emails eq "alice@example.com"', ['alice@example.com'], 'complex multi-valued compares its value'],
        [
            'emails[type eq "work" and value ew "example.org"]',
            ['carol@example.org'],
            'value filter: both on one email'
        ],
        ['emails[type eq "home"] and active eq false', ['carol@example.org'], 'value filter and'],
        [`${ENTERPRISE}:department eq "sales"`, ['bob@example.org'], 'enterprise extension by URN'],
        ['active eq false', ['carol@example.org'], 'boolean'],
        ['userName sw "a" or userName sw "b"', ['alice@example.com', 'bob@example.org'], 'or'],
        [
            'userName sw "a" or userName sw "b" and active eq false',
            ['alice@example.com'],
            'and binds tighter than or'
        ],
        [
            '(userName sw "a" or userName sw "b") and active eq true',
            ['alice@example.com', 'bob@example.org'],
            'parentheses'
        ],
        [
            'meta.created gt "2000-01-01T00:00:00Z"',
            ['alice@example.com', 'bob@example.org', 'carol@example.org'],
            'dateTime'
        ],
        ['meta.created lt "2000-01-01T00:00:00Z"', [], 'dateTime'],
        ['title gt "E"', ['alice@example.com'], 'ordering on strings'],
        ['meta.resourceType eq "User"', ['alice@example.com', 'bob@example.org', 'carol@example.org'], 'meta']
    ])('when the filter is %s, then it matches %j (%s)', async (filter, expected) => {
        expect(await names(filter)).toEqual(expected);
    });

    test('when filtering by id, then the one user', async () => {
        const r = await scim(app, 'GET', filterPath('Users', `id eq "${ids['bob@example.org']}"`));
        expect((r.body?.Resources as Json[]).map((u) => u.userName)).toEqual(['bob@example.org']);
    });

    test('when filtering groups by displayName, then case is ignored (RFC 7643 §8.7.1: caseExact false) and names are returned exactly', async () => {
        const r = await scim(app, 'GET', filterPath('Groups', 'displayName eq "SALES"'));
        expect((r.body?.Resources as Json[]).map((g) => g.displayName)).toEqual(['Sales']);
        const sw = await scim(app, 'GET', filterPath('Groups', 'displayName sw "sales"'));
        expect((sw.body?.Resources as Json[]).map((g) => g.displayName).sort()).toEqual([
            'Sales',
            'sales ops'
        ]);
    });

    test.each([
        ['userName xx "a"', 'unknown operator'],
        ['active gt true', 'boolean'],
        ['userName eq', 'expected a value'],
        ['userName eq "open', 'unterminated'],
        ['(userName eq "a"', 'expected ")"'],
        ['userName co 3', 'string value'],
        ['urn:example:unknown:attr eq "x"', 'unknown schema']
    ])('when the filter is %s, then 400 invalidFilter', async (filter, detail) => {
        const r = await scim(app, 'GET', filterPath('Users', filter));
        expect(r.status).toBe(400);
        expect(r.body).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidFilter' });
        expect(r.body?.detail).toContain(detail);
    });

    test('when searching with POST /.search, then the same answer as GET', async () => {
        const r = await scim(app, 'POST', '/Users/.search', {
            schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
            filter: 'userName eq "bob@example.org"',
            attributes: ['userName']
        });
        expect(r.body?.Resources).toEqual([
            { schemas: expect.any(Array), id: ids['bob@example.org'], userName: 'bob@example.org' }
        ]);
    });
});

describe('paging (RFC 7644 §3.4.2.4)', () => {
    let paged: LocalScimApp;
    beforeAll(async () => {
        paged = await startLocalScimApp({ token: TOKEN, seedGroups: [], limits: { maxResults: 4 } });
        for (let i = 1; i <= 7; i++) await createUser(paged, `page-${i}@example.com`);
    });
    afterAll(() => paged.stop());

    test('when reading with startIndex and count, then 1-based pages in creation order, each with totalResults and itemsPerPage', async () => {
        const seen: string[] = [];
        for (const start of [1, 4, 7]) {
            const r = await scim(paged, 'GET', `/Users?startIndex=${start}&count=3`);
            expect(r.body).toMatchObject({
                schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
                totalResults: 7,
                startIndex: start
            });
            expect(r.body?.itemsPerPage).toBe(start === 7 ? 1 : 3);
            seen.push(...(r.body?.Resources as Json[]).map((u) => u.userName as string));
        }
        expect(seen).toEqual(Array.from({ length: 7 }, (_, i) => `page-${i + 1}@example.com`));
    });

    test('when startIndex < 1, count 0, count above maxResults or a start past the end, then as the RFC says', async () => {
        expect((await scim(paged, 'GET', '/Users?startIndex=0&count=1')).body?.Resources[0].userName).toBe(
            'page-1@example.com'
        );
        const none = await scim(paged, 'GET', '/Users?count=0');
        expect(none.body).toMatchObject({ totalResults: 7, itemsPerPage: 0, Resources: [] });
        const capped = await scim(paged, 'GET', '/Users?count=100');
        expect(capped.body).toMatchObject({ totalResults: 7, itemsPerPage: 4 });
        const past = await scim(paged, 'GET', '/Users?startIndex=50');
        expect(past.body).toMatchObject({ totalResults: 7, itemsPerPage: 0 });
        expect((await scim(paged, 'GET', '/Users?count=abc')).body).toMatchObject({
            status: '400',
            scimType: 'invalidValue'
        });
    });
});

describe('PATCH (RFC 7644 §3.5.2)', () => {
    test('when members are added twice and removed by value filter, then each member is there once, and a second removal is noTarget', async () => {
        const users = await Promise.all(['m1', 'm2', 'm3'].map((n) => createUser(app, `${n}@patch.example`)));
        const [u1, u2, u3] = users.map((u) => u.id as string);
        const sales = await groupByName(app, 'Engineering');
        const path = `/Groups/${sales.id}`;
        await scim(
            app,
            'PATCH',
            path,
            patch({ op: 'add', path: 'members', value: [{ value: u1 }, { value: u2 }] })
        );
        const again = await scim(
            app,
            'PATCH',
            path,
            patch({ op: 'Add', path: 'members', value: [{ value: u2 }, { value: u3 }] })
        );
        expect(again.status).toBe(200);
        expect((again.body?.members as Json[]).map((m) => m.value)).toEqual([u1, u2, u3]);
        expect(again.body?.members[0]).toEqual({ value: u1, type: 'User', $ref: `${app.url}/Users/${u1}` });

        const user2 = await scim(app, 'GET', `/Users/${u2}`);
        expect(user2.body?.groups).toEqual([
            { value: sales.id, $ref: `${app.url}/Groups/${sales.id}`, display: 'Engineering', type: 'direct' }
        ]);

        const removed = await scim(
            app,
            'PATCH',
            path,
            patch({ op: 'remove', path: `members[value eq "${u2}"]` })
        );
        expect((removed.body?.members as Json[]).map((m) => m.value)).toEqual([u1, u3]);
        const twice = await scim(
            app,
            'PATCH',
            path,
            patch({ op: 'remove', path: `members[value eq "${u2}"]` })
        );
        expect(twice.body).toMatchObject({ status: '400', scimType: 'noTarget' });
        expect((await scim(app, 'GET', `/Users/${u2}`)).body?.groups).toBeUndefined();

        // Several removals in one PATCH: the same as one by one, so a value named twice is noTarget (and,
        // a PATCH being atomic, nothing is removed); member values compare without case (caseExact false).
        const dupe = await scim(
            app,
            'PATCH',
            path,
            patch(
                { op: 'remove', path: `members[value eq "${u1}"]` },
                { op: 'remove', path: `members[value eq "${u1}"]` }
            )
        );
        expect(dupe.body).toMatchObject({ status: '400', scimType: 'noTarget' });
        const mixed = await scim(
            app,
            'PATCH',
            path,
            patch(
                { op: 'remove', path: `members[value eq "${u1.toUpperCase()}"]` },
                { op: 'add', path: 'members', value: [{ value: u2 }] },
                { op: 'remove', path: `members[value eq "${u3}"]` }
            )
        );
        expect((mixed.body?.members as Json[]).map((m) => m.value)).toEqual([u2]);
        await scim(
            app,
            'PATCH',
            path,
            patch({ op: 'add', path: 'members', value: [{ value: u1 }, { value: u3 }] })
        );

        const unknown = await scim(
            app,
            'PATCH',
            path,
            patch({ op: 'add', path: 'members', value: [{ value: 'no-such-user' }] })
        );
        expect(unknown.body).toMatchObject({ status: '400', scimType: 'invalidValue' });
        const all = await scim(app, 'PATCH', path, patch({ op: 'remove', path: 'members' }));
        expect(all.status).toBe(200);
        expect(all.body?.members).toBeUndefined();
    });

    test('when attributes are patched by path, value filter, extension URN and without a path, then the user holds exactly that', async () => {
        const u = await createUser(app, 'attrs@patch.example', {
            name: { givenName: 'A', familyName: 'B' },
            emails: [{ type: 'home', value: 'h@x.example' }]
        });
        const r = await scim(
            app,
            'PATCH',
            `/Users/${u.id}`,
            patch(
                { op: 'replace', path: 'name.givenName', value: 'Ann' },
                { op: 'add', path: 'emails[type eq "work"].value', value: 'w@x.example' },
                { op: 'replace', path: 'emails[type eq "home"].value', value: 'h2@x.example' },
                { op: 'replace', path: `${ENTERPRISE}:department`, value: 'Finance' },
                { op: 'add', path: 'roles', value: [{ value: 'Light agent', primary: true }] },
                { op: 'replace', value: { active: false, Title: 'Analyst' } },
                { op: 'remove', path: 'name.familyName' }
            )
        );
        expect(r.status).toBe(200);
        expect(r.body).toMatchObject({
            name: { givenName: 'Ann' },
            emails: [
                { type: 'home', value: 'h2@x.example' },
                { type: 'work', value: 'w@x.example' }
            ],
            [ENTERPRISE]: { department: 'Finance' },
            roles: [{ value: 'Light agent', primary: true }],
            active: false,
            title: 'Analyst'
        });
        expect(r.body?.name.familyName).toBeUndefined();
        expect(r.body?.schemas).toEqual([userBody('').schemas[0], ENTERPRISE]);
        // RFC 7643 §3: `schemas` lists the extensions present; the last extension attribute gone, so is its URN.
        const gone = await scim(
            app,
            'PATCH',
            `/Users/${u.id}`,
            patch({ op: 'remove', path: `${ENTERPRISE}:department` })
        );
        expect(gone.body?.schemas).toEqual([userBody('').schemas[0]]);
        expect(gone.body?.[ENTERPRISE]).toBeUndefined();
    });

    test('when one operation fails, then none is applied (a PATCH is atomic), with the RFC error for each failure', async () => {
        const u = await createUser(app, 'atomic@patch.example', { title: 'Before' });
        const path = `/Users/${u.id}`;
        const r = await scim(
            app,
            'PATCH',
            path,
            patch(
                { op: 'replace', path: 'title', value: 'After' },
                { op: 'replace', path: 'emails[type eq "work"].value', value: 'x' }
            )
        );
        expect(r.body).toMatchObject({ status: '400', scimType: 'noTarget' });
        expect((await scim(app, 'GET', path)).body?.title).toBe('Before');

        // Nested values changed by earlier operations (an element matched by a filter, an extension attribute,
        // a sub-attribute) are not changed in the stored user either.
        const nested = await createUser(app, 'atomic.nested@patch.example', {
            name: { givenName: 'Given' },
            emails: [{ type: 'home', value: 'home@x.example' }],
            [ENTERPRISE]: { department: 'Dept' }
        });
        const failing = await scim(
            app,
            'PATCH',
            `/Users/${nested.id}`,
            patch(
                { op: 'replace', path: 'emails[type eq "home"].value', value: 'changed@x.example' },
                { op: 'replace', path: `${ENTERPRISE}:department`, value: 'Changed' },
                { op: 'replace', path: 'name.givenName', value: 'Changed' },
                { op: 'remove', path: 'emails[type eq "home"].display' },
                { op: 'remove', path: 'userName' }
            )
        );
        expect(failing.body).toMatchObject({ status: '400', scimType: 'mutability' });
        expect((await scim(app, 'GET', `/Users/${nested.id}`)).body).toMatchObject({
            name: { givenName: 'Given' },
            emails: [{ type: 'home', value: 'home@x.example' }],
            [ENTERPRISE]: { department: 'Dept' },
            meta: { version: nested.meta.version }
        });

        const cases: Array<[Json, string]> = [
            [{ schemas: ['wrong'], Operations: [{ op: 'add', path: 'title', value: 'x' }] }, 'invalidSyntax'],
            [patch({ op: 'move', path: 'title', value: 'x' }), 'invalidSyntax'],
            [patch({ op: 'remove' }), 'noTarget'],
            [patch({ op: 'remove', path: 'userName' }), 'mutability'],
            [patch({ op: 'replace', path: 'id', value: 'x' }), 'mutability'],
            [patch({ op: 'replace', path: 'title[', value: 'x' }), 'invalidPath'],
            [patch({ op: 'replace', path: 'a.b.c', value: 'x' }), 'invalidPath'],
            [patch({ op: 'replace', path: 'emails[type zz "x"].value', value: 'x' }), 'invalidPath']
        ];
        for (const [body, scimType] of cases) {
            const res = await scim(app, 'PATCH', path, body);
            expect({ body, status: res.status, scimType: res.body?.scimType }).toEqual({
                body,
                status: 400,
                scimType
            });
        }
    });
});

describe('the answer to a write (RFC 7644 §3.5.2: "subject to the attributes query parameter")', () => {
    test('when a PATCH names excludedAttributes=members, then the group comes back without them, but keeps them', async () => {
        const u = await createUser(app, 'narrow@example.com');
        const g = await groupByName(app, 'sales ops');
        const r = await scim(
            app,
            'PATCH',
            `/Groups/${g.id}?excludedAttributes=members`,
            patch({ op: 'add', path: 'members', value: [{ value: u.id }] })
        );
        expect(r.status).toBe(200);
        expect(r.body).toMatchObject({ id: g.id, displayName: 'sales ops' });
        expect(r.body?.members).toBeUndefined();
        expect(r.headers.get('location')).toBe(`${app.url}/Groups/${g.id}`);
        const full = await scim(app, 'GET', `/Groups/${g.id}`);
        expect((full.body?.members as Json[]).map((m) => m.value)).toContain(u.id);
        const created = await scim(
            app,
            'POST',
            '/Users?attributes=userName',
            userBody('narrow2@example.com', { title: 'T' })
        );
        expect(Object.keys(created.body ?? {}).sort()).toEqual(['id', 'schemas', 'userName']);
    });
});

describe('ETags (RFC 7644 §3.14)', () => {
    test('when a client sends a stale If-Match, then 412 and nothing changes; a current one succeeds; If-None-Match gives 304', async () => {
        const u = await createUser(app, 'etag@example.com', { title: 'One' });
        const path = `/Users/${u.id}`;
        const got = await scim(app, 'GET', path);
        const etag = got.headers.get('etag') as string;
        expect(etag).toBe(u.meta.version);
        expect((await scim(app, 'GET', path, undefined, { 'if-none-match': etag })).status).toBe(304);

        const ok = await scim(app, 'PATCH', path, patch({ op: 'replace', path: 'title', value: 'Two' }), {
            'if-match': etag
        });
        expect(ok.status).toBe(200);
        const next = ok.headers.get('etag') as string;
        expect(next).not.toBe(etag);
        expect(ok.body?.meta.version).toBe(next);

        const stale = await scim(
            app,
            'PATCH',
            path,
            patch({ op: 'replace', path: 'title', value: 'Three' }),
            { 'if-match': etag }
        );
        expect(stale.status).toBe(412);
        expect(stale.body).toMatchObject({ schemas: [ERROR], status: '412' });
        expect(
            (await scim(app, 'PUT', path, userBody('etag@example.com'), { 'if-match': etag })).status
        ).toBe(412);
        expect((await scim(app, 'DELETE', path, undefined, { 'if-match': etag })).status).toBe(412);
        expect((await scim(app, 'GET', path)).body?.title).toBe('Two');
        expect((await scim(app, 'DELETE', path, undefined, { 'if-match': next })).status).toBe(204);
        expect((await scim(app, 'GET', path)).status).toBe(404);
    });
});

describe('PUT and DELETE', () => {
    test('when a user is replaced, then attributes not sent are gone; when deleted, then it leaves its groups', async () => {
        const u = await createUser(app, 'put@example.com', { title: 'T', nickName: 'N' });
        const r = await scim(app, 'PUT', `/Users/${u.id}`, userBody('put@example.com', { title: 'T2' }));
        expect(r.body).toMatchObject({ title: 'T2', id: u.id });
        expect(r.body?.nickName).toBeUndefined();
        expect(r.body?.meta.created).toBe(u.meta.created);
        const g = await groupByName(app, 'sales ops');
        await scim(
            app,
            'PATCH',
            `/Groups/${g.id}`,
            patch({ op: 'add', path: 'members', value: [{ value: u.id }] })
        );
        expect((await scim(app, 'DELETE', `/Users/${u.id}`)).status).toBe(204);
        const after = await scim(app, 'GET', `/Groups/${g.id}`);
        expect(((after.body?.members as Json[] | undefined) ?? []).map((m) => m.value)).not.toContain(u.id);
    });
});

describe('Bulk (RFC 7644 §3.7)', () => {
    test('when operations refer to each other by bulkId, forwards too, then they are resolved and answered in request order', async () => {
        const g = await groupByName(app, 'Sales');
        const r = await scim(app, 'POST', '/Bulk', {
            schemas: [BULK_REQUEST],
            Operations: [
                {
                    method: 'PATCH',
                    path: `/Groups/${g.id}`,
                    data: patch({
                        op: 'add',
                        path: 'members',
                        value: [{ value: 'bulkId:u1' }, { value: 'bulkId:u2' }]
                    })
                },
                { method: 'POST', bulkId: 'u1', path: '/Users', data: userBody('bulk1@example.com') },
                { method: 'POST', bulkId: 'u2', path: '/Users', data: userBody('bulk2@example.com') },
                {
                    method: 'POST',
                    bulkId: 'g1',
                    path: '/Groups',
                    data: { schemas: [GROUP], displayName: 'Bulk group', members: [{ value: 'bulkId:u1' }] }
                },
                { method: 'POST', bulkId: 'dup', path: '/Users', data: userBody('BULK1@example.com') }
            ]
        });
        expect(r.status).toBe(200);
        const ops = r.body?.Operations as Json[];
        expect(ops.map((o) => [o.method, o.bulkId, o.status])).toEqual([
            ['PATCH', undefined, '200'],
            ['POST', 'u1', '201'],
            ['POST', 'u2', '201'],
            ['POST', 'g1', '201'],
            ['POST', 'dup', '409']
        ]);
        expect(ops[4].response).toMatchObject({ schemas: [ERROR], status: '409', scimType: 'uniqueness' });
        expect(ops[1].location).toMatch(/\/Users\/[0-9a-f-]{36}$/);
        const u1 = (ops[1].location as string).split('/').pop();
        const members = ((await scim(app, 'GET', `/Groups/${g.id}`)).body?.members as Json[]).map(
            (m) => m.value
        );
        expect(members).toEqual(expect.arrayContaining([u1, (ops[2].location as string).split('/').pop()]));
    });

    test('when failOnErrors is reached, then the rest is not run; an unknown bulkId fails its operation', async () => {
        const r = await scim(app, 'POST', '/Bulk', {
            schemas: [BULK_REQUEST],
            failOnErrors: 1,
            Operations: [
                {
                    method: 'PATCH',
                    path: '/Users/bulkId:nobody',
                    data: patch({ op: 'replace', path: 'title', value: 'x' })
                },
                { method: 'POST', bulkId: 'never', path: '/Users', data: userBody('never@example.com') }
            ]
        });
        expect(r.body?.Operations).toEqual([
            expect.objectContaining({
                method: 'PATCH',
                status: '409',
                response: expect.objectContaining({ detail: expect.stringContaining('bulkId:nobody') })
            })
        ]);
        expect(
            (await scim(app, 'GET', filterPath('Users', 'userName eq "never@example.com"'))).body
                ?.totalResults
        ).toBe(0);
    });

    test('when a bulk request exceeds maxOperations or maxPayloadSize, then 413', async () => {
        const small = await startLocalScimApp({
            token: TOKEN,
            limits: { bulkMaxOperations: 2, bulkMaxPayloadSize: 600 }
        });
        try {
            const op = (i: number) => ({
                method: 'POST',
                bulkId: `b${i}`,
                path: '/Users',
                data: userBody(`b${i}@example.com`)
            });
            const many = await scim(small, 'POST', '/Bulk', {
                schemas: [BULK_REQUEST],
                Operations: [op(1), op(2), op(3)]
            });
            expect(many.status).toBe(413);
            expect(many.body).toMatchObject({ schemas: [ERROR], status: '413' });
            const big = await scim(small, 'POST', '/Bulk', {
                schemas: [BULK_REQUEST],
                Operations: [{ ...op(1), data: userBody('x'.repeat(700)) }]
            });
            expect(big.status).toBe(413);
            expect(big.body?.detail).toContain('maxPayloadSize');
            const spc = await scim(small, 'GET', '/ServiceProviderConfig');
            expect(spc.body?.bulk).toEqual({ supported: true, maxOperations: 2, maxPayloadSize: 600 });
        } finally {
            await small.stop();
        }
    });
});

describe('discovery (RFC 7644 §4)', () => {
    test('when reading /ServiceProviderConfig, /ResourceTypes and /Schemas, then they describe what the app does', async () => {
        const spc = (await scim(app, 'GET', '/ServiceProviderConfig')).body as Json;
        expect(spc).toMatchObject({
            schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
            patch: { supported: true },
            bulk: { supported: true, maxOperations: 1000, maxPayloadSize: 1048576 },
            filter: { supported: true, maxResults: 200 },
            changePassword: { supported: false },
            sort: { supported: false },
            etag: { supported: true },
            authenticationSchemes: [expect.objectContaining({ type: 'oauthbearertoken', primary: true })]
        });
        const types = (await scim(app, 'GET', '/ResourceTypes')).body as Json;
        expect(types.totalResults).toBe(2);
        expect(types.Resources[0]).toMatchObject({
            name: 'User',
            endpoint: '/Users',
            schemaExtensions: [{ schema: ENTERPRISE, required: false }]
        });
        expect((await scim(app, 'GET', '/ResourceTypes/Group')).body).toMatchObject({ endpoint: '/Groups' });
        const schemas = (await scim(app, 'GET', '/Schemas')).body as Json;
        expect((schemas.Resources as Json[]).map((s) => s.id)).toEqual([
            userBody('').schemas[0],
            GROUP,
            ENTERPRISE
        ]);
        const user = (await scim(app, 'GET', `/Schemas/${userBody('').schemas[0]}`)).body as Json;
        expect((user.attributes as Json[]).find((a) => a.name === 'userName')).toMatchObject({
            caseExact: false,
            uniqueness: 'server',
            required: true
        });
    });
});
