/**
 * SOQL semantics of the local org, as Salesforce documents them (see docs/local-org.md): case,
 * null rules, LIKE escapes, IN, multi-select INCLUDES/EXCLUDES, date literals in the org time zone,
 * ordering, aggregates, LIMIT/OFFSET, queryAll. Evaluated in-process on a small seeded org.
 */
import { join } from 'node:path';
import { loadSchema } from '../../service/src/local-org/schema';
import { Store, type Row } from '../../service/src/local-org/store';
import { generateUsers, seedRecords } from '../../service/src/local-org/demo';
import { runQuery } from '../../service/src/local-org/soql';
import { SalesforceError } from '../../service/src/local-org/errors';
import { formatDateTime } from '../../service/src/local-org/time';

const ROOT = join(__dirname, '../..');
const schema = loadSchema(join(ROOT, 'force-app/main/default'), join(ROOT, 'service/src/local-org/schema'));
const NOW = Date.parse('2024-03-15T18:30:00Z'); // 11:30 in Los Angeles (PDT, UTC-7)
const store = new Store(schema);
const ids = generateUsers(store, { seed: 3, users: 300, seededAt: NOW });
seedRecords(store, ids, { seed: 3, seededAt: NOW });
const ctx = { userId: ids.adminUserIds[0], now: NOW };
const def = (name: string) => schema.objects.get(name)!;

const run = store.insert(
    def('Provisioning_Run__c'),
    { Status__c: 'Completed', Invited_Count__c: 5 },
    ctx,
    ids.orgId
);
const items: Array<[string, Row]> = [
    [
        'underscore',
        { Reason__c: 'a_b', Products__c: 'Round Robin;Instant Booker', Email__c: 'x@example.com' }
    ],
    ['percent', { Reason__c: 'a%b', Products__c: 'Round Robin' }],
    ['plain', { Reason__c: 'AxB', Products__c: 'Meeting Links;Instant Booker;Round Robin' }],
    ['quote', { Reason__c: "O'Brien", Products__c: null }],
    ['backslash', { Reason__c: 'back\\slash', Products__c: 'Instant Booker' }],
    ['null', { Reason__c: null, Products__c: 'Meeting Links' }]
];
const itemIds = new Map<string, string>();
for (const [label, fields] of items) {
    const row = store.insert(
        def('Provisioning_Run_Item__c'),
        { Run__c: run.Id, Status__c: 'Pending', ...fields },
        ctx,
        ids.orgId
    );
    itemIds.set(String(row.Id), label);
}

function query(soql: string, includeDeleted = false): Array<Record<string, unknown>> {
    const result = runQuery(
        { schema, store, now: NOW, timeZone: 'America/Los_Angeles', includeDeleted, apiVersion: '62.0' },
        soql
    );
    return result.aggregate ?? result.page(0, result.totalSize).map(result.project);
}

function labels(where: string): string[] {
    return query(`SELECT Id FROM Provisioning_Run_Item__c WHERE ${where}`)
        .map((r) => itemIds.get(String(r.Id)) ?? '?')
        .sort();
}

function queryError(soql: string): SalesforceError {
    try {
        query(soql);
    } catch (e) {
        if (e instanceof SalesforceError) return e;
        throw e;
    }
    throw new Error('expected an error');
}

describe('SOQL semantics', () => {
    it.each([
        ["Reason__c = 'axb'", ['plain']],
        ["Reason__c = 'AXB'", ['plain']],
        ["Reason__c != 'axb'", ['backslash', 'null', 'percent', 'quote', 'underscore']],
        ['Reason__c = null', ['null']],
        ['Reason__c != null', ['backslash', 'percent', 'plain', 'quote', 'underscore']],
        ["Reason__c IN ('AXB', 'a_b')", ['plain', 'underscore']],
        ["Reason__c NOT IN ('AXB', 'a_b')", ['backslash', 'null', 'percent', 'quote']],
        ["Reason__c < 'b'", ['percent', 'plain', 'underscore']],
        ["NOT Reason__c < 'b'", ['backslash', 'null', 'quote']],
        ["Reason__c LIKE 'a_b'", ['percent', 'plain', 'underscore']],
        ["Reason__c LIKE 'a\\_b'", ['underscore']],
        ["Reason__c LIKE 'a\\%b'", ['percent']],
        ["Reason__c LIKE 'A%'", ['percent', 'plain', 'underscore']],
        ["Reason__c LIKE '%\\\\%'", ['backslash']],
        ["Reason__c = 'O\\'Brien'", ['quote']],
        ["Reason__c = 'back\\\\slash'", ['backslash']],
        ["NOT Reason__c LIKE 'a%'", ['backslash', 'null', 'quote']],
        ["Reason__c = '\\u0041xB'", ['plain']],
        ["Reason__c LIKE '\\u0061\\_b'", ['underscore']]
    ])('text: WHERE %s', (where, expected) => {
        expect(labels(where)).toEqual(expected);
    });

    it.each([
        ["Products__c INCLUDES ('Round Robin')", ['percent', 'plain', 'underscore']],
        ["Products__c INCLUDES ('round robin;instant booker')", ['plain', 'underscore']],
        [
            "Products__c INCLUDES ('Round Robin;Instant Booker', 'Meeting Links')",
            ['null', 'plain', 'underscore']
        ],
        ["Products__c EXCLUDES ('Round Robin')", ['backslash', 'null', 'quote']],
        ["Products__c EXCLUDES ('Round Robin;Instant Booker')", ['backslash', 'null', 'percent', 'quote']],
        ["Products__c = 'Instant Booker;Round Robin'", ['underscore']],
        ['Products__c = null', ['quote']]
    ])('multi-select: WHERE %s', (where, expected) => {
        expect(labels(where)).toEqual(expected);
    });

    it('when multi-select values are saved, then they are stored in the picklist order as A;B', () => {
        const [row] = query(`SELECT Products__c FROM Provisioning_Run_Item__c WHERE Reason__c = 'AxB'`);
        expect(row.Products__c).toBe('Round Robin;Instant Booker;Meeting Links');
    });

    it('when a long Id IN list is sent, then every listed record matches (15- and 18-character ids)', () => {
        const users = query('SELECT Id FROM User ORDER BY CreatedDate LIMIT 250').map((r) => String(r.Id));
        const list = users.map((id, i) => `'${i % 2 ? id : id.slice(0, 15)}'`).join(', ');

        const found = query(`SELECT Id FROM User WHERE Id IN (${list})`).map((r) => String(r.Id));

        expect(found.sort()).toEqual([...users].sort());
    });

    it('when a parent field is in WHERE, then records without a parent are compared as null', () => {
        const noRole = query('SELECT Id, UserRoleId FROM User WHERE UserRole.Name = null');
        const withRole = query("SELECT Id, UserRole.Name FROM User WHERE UserRole.Name LIKE 'emea%'");

        expect(noRole.length).toBeGreaterThan(0);
        expect(noRole.every((r) => r.UserRoleId === null)).toBe(true);
        expect(withRole.length).toBeGreaterThan(0);
        expect(withRole.every((r) => String((r.UserRole as { Name: string }).Name).startsWith('EMEA'))).toBe(
            true
        );
    });

    it('when a boolean is compared with null, then null means false (as documented)', () => {
        const inactive = query('SELECT Id FROM User WHERE IsActive = false').length;
        expect(query('SELECT Id FROM User WHERE IsActive = null').length).toBe(inactive);
    });

    it('when a boolean is compared with != null, then it means = true (as documented)', () => {
        const active = query('SELECT Id FROM User WHERE IsActive = true').length;
        expect(query('SELECT Id FROM User WHERE IsActive != null').length).toBe(active);
    });

    it('when a parent boolean is filtered and the parent is missing, then it is false, never null', () => {
        const noManager = query('SELECT Id FROM User WHERE ManagerId = null').map((r) => r.Id);
        const falseOrNoManager = new Set(
            query('SELECT Id FROM User WHERE Manager.IsActive = false').map((r) => r.Id)
        );

        expect(noManager.length).toBeGreaterThan(0);
        expect(noManager.every((id) => falseOrNoManager.has(id))).toBe(true);
        expect(query('SELECT Id FROM User WHERE Manager.IsActive = null').length).toBe(falseOrNoManager.size);
        expect(
            query('SELECT Id FROM User WHERE Manager.IsActive != true').every((r) =>
                falseOrNoManager.has(r.Id)
            )
        ).toBe(true);
    });

    it('when an INCLUDES value has an empty part, then the part names nothing', () => {
        expect(labels("Products__c INCLUDES ('Round Robin;')")).toEqual(
            labels("Products__c INCLUDES ('Round Robin')")
        );
        expect(labels("Products__c INCLUDES (';')")).toEqual([]);
        expect(labels("Products__c EXCLUDES (';')").length).toBe(items.length);
    });

    it('when date literals are used, then ranges are whole days in the org time zone', () => {
        const today = '2024-03-15T07:00:00.000+0000'; // midnight in Los Angeles
        const make = (iso: string) =>
            store.insert(
                def('Provisioning_Run__c'),
                { Status__c: 'Queued', Heartbeat__c: iso },
                ctx,
                ids.orgId
            );
        const rows = {
            beforeMidnightLA: make('2024-03-15T06:59:59.000Z'),
            midnightLA: make(today),
            tenDaysAgo: make('2024-03-05T12:00:00Z'),
            tomorrow: make('2024-03-16T08:00:00Z')
        };
        const hit = (literal: string) => {
            const found = new Set(
                query(`SELECT Id FROM Provisioning_Run__c WHERE Heartbeat__c = ${literal}`).map((r) => r.Id)
            );
            return Object.entries(rows)
                .filter(([, r]) => found.has(r.Id))
                .map(([k]) => k)
                .sort();
        };

        expect(hit('TODAY')).toEqual(['midnightLA']);
        expect(hit('YESTERDAY')).toEqual(['beforeMidnightLA']);
        expect(hit('TOMORROW')).toEqual(['tomorrow']);
        expect(hit('LAST_N_DAYS:10')).toEqual(['beforeMidnightLA', 'midnightLA', 'tenDaysAgo']);
        expect(hit('LAST_N_DAYS:9')).toEqual(['beforeMidnightLA', 'midnightLA']);
        expect(hit('N_DAYS_AGO:10')).toEqual(['tenDaysAgo']);
        expect(hit('NEXT_N_DAYS:1')).toEqual(['tomorrow']);
        expect(hit('THIS_MONTH')).toEqual(['beforeMidnightLA', 'midnightLA', 'tenDaysAgo', 'tomorrow']);
        const after = query('SELECT Id FROM Provisioning_Run__c WHERE Heartbeat__c > TODAY').map((r) => r.Id);
        expect(after).toEqual([rows.tomorrow.Id]);
        const before = query('SELECT Id FROM Provisioning_Run__c WHERE Heartbeat__c < LAST_N_DAYS:9').map(
            (r) => r.Id
        );
        expect(before).toEqual([rows.tenDaysAgo.Id]);
    });

    it('when datetimes are compared with a literal, then the offset is honoured', () => {
        const found = query(
            'SELECT Id FROM Provisioning_Run__c WHERE Heartbeat__c >= 2024-03-15T00:00:00-07:00'
        ).length;
        expect(found).toBe(2);
        expect(formatDateTime(Date.parse('2024-01-02T03:04:05Z'))).toBe('2024-01-02T03:04:05.000+0000');
    });

    it('when users are ordered by CreatedDate with LIMIT and OFFSET, then the page is the right slice', () => {
        const all = query('SELECT Id, CreatedDate FROM User ORDER BY CreatedDate');
        const page = query('SELECT Id FROM User ORDER BY CreatedDate LIMIT 10 OFFSET 5');
        const desc = query('SELECT Id FROM User ORDER BY CreatedDate DESC LIMIT 1');

        expect(page.map((r) => r.Id)).toEqual(all.slice(5, 15).map((r) => r.Id));
        expect(desc[0].Id).toBe(all[all.length - 1].Id);
        const dates = all.map((r) => String(r.CreatedDate));
        expect([...dates].sort()).toEqual(dates);
    });

    it('when ordering on a field with nulls, then nulls come first unless NULLS LAST (both directions), case-insensitively', () => {
        const reasons = (soql: string) => query(soql).map((r) => r.Reason__c);
        const base = `SELECT Reason__c FROM Provisioning_Run_Item__c WHERE Run__c = '${String(run.Id)}'`;

        expect(reasons(`${base} ORDER BY Reason__c`)).toEqual([
            null,
            'a%b',
            'a_b',
            'AxB',
            'back\\slash',
            "O'Brien"
        ]);
        expect(reasons(`${base} ORDER BY Reason__c DESC`)[0]).toBeNull();
        expect(reasons(`${base} ORDER BY Reason__c DESC NULLS LAST`)).toEqual([
            "O'Brien",
            'back\\slash',
            'AxB',
            'a_b',
            'a%b',
            null
        ]);
    });

    it('when COUNT() and GROUP BY are used, then they aggregate like Salesforce', () => {
        const total = runQuery(
            {
                schema,
                store,
                now: NOW,
                timeZone: 'America/Los_Angeles',
                includeDeleted: false,
                apiVersion: '62.0'
            },
            'SELECT COUNT() FROM User'
        );
        const groups = query('SELECT Department, COUNT(Id) FROM User GROUP BY Department');

        expect(total.totalSize).toBe(300);
        expect(groups.reduce((s, g) => s + Number(g.expr0), 0)).toBe(300);
        expect(groups[0]).toEqual({
            attributes: { type: 'AggregateResult' },
            Department: expect.anything(),
            expr0: expect.any(Number)
        });
    });

    it('when a semi-join selects ids, then only matching parents are returned', () => {
        const admins = query(
            "SELECT Id FROM User WHERE Id IN (SELECT AssigneeId FROM PermissionSetAssignment WHERE PermissionSet.Name = 'Rollcall_Admin')"
        ).map((r) => r.Id);
        expect(admins.sort()).toEqual([...ids.adminUserIds].sort());
    });

    it('when a record is deleted, then only queryAll returns it, with IsDeleted true', () => {
        const victim = store.insert(def('Condition_Set__c'), { Name: 'to delete' }, ctx, ids.orgId);
        store.delete(def('Condition_Set__c'), String(victim.Id), ctx);

        expect(query(`SELECT Id FROM Condition_Set__c WHERE Id = '${String(victim.Id)}'`)).toEqual([]);
        expect(
            query(`SELECT Id, IsDeleted FROM Condition_Set__c WHERE Id = '${String(victim.Id)}'`, true)
        ).toEqual([expect.objectContaining({ IsDeleted: true })]);
    });

    it.each([
        ['SELECT Id FROM Nope__c', 'INVALID_TYPE', "sObject type 'Nope__c' is not supported."],
        [
            "SELECT Id FROM User WHERE Profile.Nam = 'x'",
            'INVALID_FIELD',
            "No such column 'Nam' on entity 'Profile'."
        ],
        [
            "SELECT Id FROM User WHERE Boss.Name = 'x'",
            'INVALID_FIELD',
            "Didn't understand relationship 'Boss' in field path."
        ],
        [
            "SELECT Id FROM User WHERE IsActive = 'true'",
            'INVALID_FIELD',
            "value of filter criterion for field 'IsActive' must be of type boolean and should not be enclosed in quotes"
        ],
        [
            'SELECT Id FROM User WHERE CreatedDate > 2024-01-01',
            'INVALID_FIELD',
            "value of filter criterion for field 'CreatedDate' must be of type dateTime"
        ],
        ["SELECT Id FROM User WHERE Id = 'abc'", 'INVALID_QUERY_FILTER_OPERATOR', 'invalid ID field: abc'],
        // An 18-character Id whose case was lost (pasted from a case-insensitive tool), whose checksum is
        // broken, or of another length: a real org refuses each the same way.
        [
            "SELECT Id FROM User WHERE ManagerId = '005d0000001abcdiak'",
            'INVALID_QUERY_FILTER_OPERATOR',
            'invalid ID field: 005d0000001abcdiak'
        ],
        [
            "SELECT Id FROM User WHERE ManagerId = '005D0000001AbCdIAA'",
            'INVALID_QUERY_FILTER_OPERATOR',
            'invalid ID field: 005D0000001AbCdIAA'
        ],
        [
            "SELECT Id FROM User WHERE Id IN ('005D0000001AbCdIA')",
            'INVALID_QUERY_FILTER_OPERATOR',
            'invalid ID field: 005D0000001AbCdIA'
        ],
        [
            "SELECT Id FROM Condition_Set__c WHERE Definition__c = 'x'",
            'INVALID_FIELD',
            "field 'Definition__c' can not be filtered in query call"
        ],
        [
            "SELECT Id FROM User WHERE Department INCLUDES ('x')",
            'INVALID_FIELD',
            'includes or excludes operator only valid on multipicklist field'
        ],
        ["SELECT Id FROM User WHERE Department = 'a\\qb'", 'MALFORMED_QUERY', 'Illegal escape sequence'],
        ["SELECT Id FROM User WHERE Department = 'a\\u00G1'", 'MALFORMED_QUERY', 'Illegal escape sequence'],
        ["SELECT Id FROM User WHERE Department = 'a\\%'", 'MALFORMED_QUERY', 'Illegal escape sequence'],
        ['SELECT Id, Id FROM User', 'MALFORMED_QUERY', 'duplicate field selected: Id']
    ])('when %s, then %s', (soql, code, text) => {
        const e = queryError(soql);
        expect(e.errorCode).toBe(code);
        expect(e.message).toContain(text);
        if (code !== 'MALFORMED_QUERY' || !text.includes('duplicate'))
            expect(e.message).toMatch(/\nERROR at Row:1:Column:\d+\n/);
    });
});

describe('AND and OR at one level', () => {
    it.each([
        ["Department = 'Sales' AND IsActive = true OR Title = 'CEO'", 'OR'],
        ["Department = 'Sales' OR IsActive = true AND Title = 'CEO'", 'AND'],
        ["IsActive = true AND (Department = 'Sales' AND Title = 'CEO' OR Title = 'CFO')", 'OR'],
        ["NOT Department = 'Sales' AND IsActive = true OR Title = 'CEO'", 'OR'],
        [
            "Id IN (SELECT AssigneeId FROM PermissionSetAssignment WHERE PermissionSet.Name = 'A' AND Assignee.IsActive = true OR PermissionSet.Name = 'B')",
            'OR'
        ]
    ])(
        'when the WHERE is %s, then MALFORMED_QUERY "unexpected token: %s" with the caret on it',
        (where, token) => {
            const soql = `SELECT Id FROM User WHERE ${where}`;
            const e = queryError(soql);
            expect(e.errorCode).toBe('MALFORMED_QUERY');
            const column = Number(/ERROR at Row:1:Column:(\d+)/.exec(e.message)?.[1]);
            expect(e.message.endsWith(`\nunexpected token: ${token}`)).toBe(true);
            expect(soql.slice(column - 1, column - 1 + token.length + 1)).toBe(`${token} `);
            // The operator under the caret is the first one that differs from its level's first.
            const level = where.includes('(SELECT') ? where.slice(where.indexOf('WHERE')) : where;
            expect(soql.indexOf(level) + level.search(new RegExp(` ${token} `)) + 1).toBe(column - 1);
        }
    );

    it.each([
        "(Department = 'Sales' AND IsActive = true) OR Title = 'CEO'",
        "Department = 'Sales' AND (IsActive = true OR Title = 'CEO')",
        "Department = 'Sales' AND IsActive = true AND Title != 'CEO'",
        "Department = 'Sales' OR Title = 'CEO' OR Title = 'CFO'",
        "(NOT Department = 'Sales') AND (IsActive = true OR Title = 'CEO')",
        "Title = 'AND OR' AND Department = 'OR'",
        "Id IN (SELECT AssigneeId FROM PermissionSetAssignment WHERE (PermissionSet.Name = 'A' AND Assignee.IsActive = true) OR PermissionSet.Name = 'B') OR Title = 'CEO'"
    ])('when the WHERE is %s, then it runs', (where) => {
        expect(() => query(`SELECT Id FROM User WHERE ${where}`)).not.toThrow();
    });
});
