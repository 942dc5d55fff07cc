/**
 * Every operator × field type, nulls included: the in-memory outcome and the compiled SOQL.
 * The expectations are SOQL's documented behaviour (docs/engine.md lists the sources).
 */
import {
    compileWhere,
    matchSets,
    OPERATOR_TABLE,
    prepareSets,
    relativeWindow,
    type Condition,
    type ConditionValue,
    type EvalContext
} from '../../service/src/engine';
import { context, schema, set, user, userId } from './helpers';
import { parseWhere } from './soql-oracle';

/**
 * Evaluates one condition on a user in memory, and checks that the compiled SOQL, read by the
 * independent oracle, decides the same (Ids excepted: the oracle does not know 15/18-character Ids).
 */
function matches(
    condition: Condition,
    fields: Record<string, unknown>,
    ctx: EvalContext = context()
): boolean {
    const prepared = prepareSets([set('s1', [condition])], schema);
    expect(prepared.invalid).toEqual([]);
    const record = user(fields);
    const inMemory = matchSets(prepared.valid, record, ctx).length === 1;
    const type = schema.resolve(condition.field)?.type;
    if (type !== 'id' && type !== 'reference' && condition.field !== 'IsManager') {
        const where = compileWhere(prepared.valid[0].definition, schema, ctx);
        expect({ where, bySoql: parseWhere(where).matches(record) }).toEqual({ where, bySoql: inMemory });
    }
    return inMemory;
}

type Row = [
    field: string,
    operator: Condition['operator'],
    value: ConditionValue | undefined,
    actual: unknown,
    expected: boolean
];

const rows: Row[] = [
    // string: case-insensitive; SOQL's two-valued null rules
    ['Str__c', 'equals', 'Sales', 'sales', true],
    ['Str__c', 'equals', 'Sales', 'Sales ', false],
    ['Str__c', 'equals', 'Sales', null, false],
    ['Str__c', 'notEquals', 'Sales', 'SALES', false],
    ['Str__c', 'notEquals', 'Sales', 'Ops', true],
    ['Str__c', 'notEquals', 'Sales', null, true],
    ['Str__c', 'contains', '50%', 'Up 50% off', true],
    ['Str__c', 'contains', '50%', 'Up 500 off', false],
    ['Str__c', 'contains', 'a_b', 'xA_By', true],
    ['Str__c', 'contains', 'a_b', 'xacby', false],
    ['Str__c', 'contains', 'x', null, false],
    ['Str__c', 'notContains', 'x', 'X-ray', false],
    ['Str__c', 'notContains', 'x', 'abc', true],
    ['Str__c', 'notContains', 'x', null, true],
    ['Str__c', 'startsWith', 'EMEA', 'emea north', true],
    ['Str__c', 'startsWith', 'EMEA', 'north EMEA', false],
    ['Str__c', 'startsWith', 'EMEA', null, false],
    ['Str__c', 'in', ['a', 'B'], 'b', true],
    ['Str__c', 'in', ['a', 'B'], 'c', false],
    ['Str__c', 'in', ['a', 'B'], null, false],
    ['Str__c', 'notIn', ['a'], 'A', false],
    ['Str__c', 'notIn', ['a'], 'c', true],
    ['Str__c', 'notIn', ['a'], null, true],
    ['Str__c', 'isNull', undefined, null, true],
    ['Str__c', 'isNull', undefined, '', true],
    ['Str__c', 'isNull', undefined, 'x', false],
    ['Str__c', 'isNotNull', undefined, null, false],
    ['Str__c', 'isNotNull', undefined, 'x', true],
    // textarea, email, phone, url behave as text
    ['Txt__c', 'contains', 'floor 3', 'Main St\nFloor 3', true],
    ['Txt__c', 'equals', 'a', null, false],
    ['Mail__c', 'equals', 'Ann@Example.com', 'ann@example.COM', true],
    ['Mail__c', 'startsWith', 'ann@', null, false],
    ['Tel__c', 'startsWith', '+44', '+44 20 7946 0000', true],
    ['Tel__c', 'notEquals', '+44', null, true],
    ['Web__c', 'contains', 'example', 'https://EXAMPLE.com', true],
    ['Web__c', 'isNotNull', undefined, null, false],
    // picklist (restricted; values compared case-insensitively)
    ['Pick__c', 'equals', 'gold', 'Gold', true],
    ['Pick__c', 'equals', 'Gold', null, false],
    ['Pick__c', 'notEquals', 'Gold', null, true],
    ['Pick__c', 'in', ['Gold', 'Silver'], 'Bronze', false],
    ['Pick__c', 'notIn', ['Gold'], null, true],
    ['Pick__c', 'isNull', undefined, null, true],
    ['Open__c', 'equals', 'Anything', 'anything', true],
    // multi-select picklist: includes/excludes, ";" inside one value means all of them
    ['Multi__c', 'includes', ['A'], 'A;B', true],
    ['Multi__c', 'includes', ['A;C'], 'A;B', false],
    ['Multi__c', 'includes', ['A;B'], 'B;A;C', true],
    ['Multi__c', 'includes', ['C', 'A;B'], 'A;B', true],
    ['Multi__c', 'includes', ['a'], 'A', true],
    ['Multi__c', 'includes', ['A'], null, false],
    ['Multi__c', 'excludes', ['A'], null, true],
    ['Multi__c', 'excludes', ['A'], 'B', true],
    ['Multi__c', 'excludes', ['A;B'], 'A;C', true],
    ['Multi__c', 'excludes', ['A'], 'A;B', false],
    ['Multi__c', 'isNull', undefined, null, true],
    ['Multi__c', 'isNotNull', undefined, 'A', true],
    // boolean: never null in SOQL, null matches false
    ['Flag__c', 'equals', true, true, true],
    ['Flag__c', 'equals', true, null, false],
    ['Flag__c', 'equals', false, null, true],
    ['Flag__c', 'equals', false, false, true],
    ['Flag__c', 'notEquals', true, null, true],
    ['Flag__c', 'notEquals', false, false, false],
    // numbers
    ['Count__c', 'equals', 5, 5, true],
    ['Count__c', 'equals', 5, null, false],
    ['Count__c', 'notEquals', 5, null, true],
    ['Count__c', 'notEquals', 5, 5, false],
    ['Count__c', 'lessThan', 5, 4, true],
    ['Count__c', 'lessThan', 5, 5, false],
    ['Count__c', 'lessThan', 5, null, false],
    ['Count__c', 'greaterThan', 5, 6, true],
    ['Count__c', 'greaterThan', 5, null, false],
    ['Count__c', 'lessOrEqual', 5, 5, true],
    ['Count__c', 'lessOrEqual', 5, null, false],
    ['Count__c', 'greaterOrEqual', 5, 5, true],
    ['Count__c', 'greaterOrEqual', 5, null, false],
    ['Count__c', 'in', [1, 2], 2, true],
    ['Count__c', 'in', [1, 2], null, false],
    ['Count__c', 'notIn', [1], null, true],
    ['Count__c', 'isNull', undefined, null, true],
    ['Count__c', 'isNotNull', undefined, 0, true],
    ['Amount__c', 'lessThan', 2.5, 2.49, true],
    ['Amount__c', 'greaterThan', -1.5, null, false],
    ['Price__c', 'greaterOrEqual', 100, 100, true],
    ['Price__c', 'lessThan', 100, null, false],
    ['Share__c', 'lessThan', 50, 49.9, true],
    ['Share__c', 'notEquals', 50, null, true],
    // date (days in the org's zone; NOW is 2026-03-10T12:00Z, the context zone is UTC)
    ['Day__c', 'equals', '2026-03-01', '2026-03-01', true],
    ['Day__c', 'equals', '2026-03-01', null, false],
    ['Day__c', 'notEquals', '2026-03-01', null, true],
    ['Day__c', 'lessThan', '2026-03-01', '2026-02-28', true],
    ['Day__c', 'lessThan', '2026-03-01', null, false],
    ['Day__c', 'greaterThan', '2026-03-01', '2026-03-02', true],
    ['Day__c', 'lessOrEqual', '2026-03-01', '2026-03-01', true],
    ['Day__c', 'greaterOrEqual', '2026-03-01', '2026-02-01', false],
    ['Day__c', 'withinLastDays', 0, '2026-03-10', true],
    ['Day__c', 'withinLastDays', 0, '2026-03-09', false],
    ['Day__c', 'withinLastDays', 1, '2026-03-09', true],
    ['Day__c', 'withinLastDays', 1, '2026-03-08', false],
    ['Day__c', 'withinLastDays', 1, null, false],
    ['Day__c', 'olderThanDays', 1, '2026-03-08', true],
    ['Day__c', 'olderThanDays', 1, '2026-03-09', false],
    ['Day__c', 'olderThanDays', 1, null, false],
    ['Day__c', 'isNull', undefined, null, true],
    ['Day__c', 'isNotNull', undefined, '2026-03-01', true],
    // datetime (Salesforce returns 2026-03-01T10:00:00.000+0000)
    ['Moment__c', 'equals', '2026-03-01T10:00:00Z', '2026-03-01T10:00:00.000+0000', true],
    ['Moment__c', 'equals', '2026-03-01T11:00:00+01:00', '2026-03-01T10:00:00.000+0000', true],
    ['Moment__c', 'equals', '2026-03-01T10:00:00Z', null, false],
    ['Moment__c', 'notEquals', '2026-03-01T10:00:00Z', null, true],
    ['Moment__c', 'greaterThan', '2026-03-01T00:00:00Z', '2026-03-01T00:00:01.000+0000', true],
    ['Moment__c', 'lessThan', '2026-03-01T00:00:00Z', '2026-03-01T00:00:00.000+0000', false],
    ['Moment__c', 'lessOrEqual', '2026-03-01T00:00:00Z', '2026-03-01T00:00:00.000+0000', true],
    ['Moment__c', 'greaterOrEqual', '2026-03-01T00:00:00Z', null, false],
    ['Moment__c', 'withinLastDays', 1, '2026-03-09T00:00:00.000+0000', true],
    ['Moment__c', 'withinLastDays', 1, '2026-03-08T23:59:59.000+0000', false],
    ['Moment__c', 'withinLastDays', 1, '2026-03-10T23:59:59.000+0000', true],
    ['Moment__c', 'withinLastDays', 1, '2026-03-11T00:00:00.000+0000', false],
    ['Moment__c', 'withinLastDays', 1, null, false],
    ['Moment__c', 'olderThanDays', 1, '2026-03-08T23:59:59.000+0000', true],
    ['Moment__c', 'olderThanDays', 1, '2026-03-09T00:00:00.000+0000', false],
    ['Moment__c', 'olderThanDays', 1, null, false],
    ['Moment__c', 'isNull', undefined, null, true],
    ['Moment__c', 'isNotNull', undefined, '2026-03-01T00:00:00.000+0000', true],
    // id and reference: 15- and 18-character forms are the same record; Ids are case-sensitive
    ['Id', 'equals', userId(900_001).slice(0, 15), userId(900_001), true],
    ['Id', 'equals', userId(900_001), userId(900_001).slice(0, 15), true],
    ['Id', 'equals', '005000000000abc', '005000000000ABC', false],
    ['Id', 'notEquals', userId(900_001), userId(900_002), true],
    ['Id', 'in', [userId(900_001), userId(900_002)], userId(900_002), true],
    ['Id', 'notIn', [userId(900_001)], userId(900_001), false],
    ['Ref__c', 'equals', '001000000000001', null, false],
    ['Ref__c', 'notEquals', '001000000000001', null, true],
    ['Ref__c', 'in', ['001000000000001'], '001000000000001AAA', true],
    ['Ref__c', 'notIn', ['001000000000001'], null, true],
    ['Ref__c', 'isNull', undefined, null, true],
    ['Ref__c', 'isNotNull', undefined, '001000000000001AAA', true]
];

// The other text types and numeric types share the string and int semantics: run the same rows on them.
const textRows = rows.filter(([field]) => field === 'Str__c');
const intRows = rows.filter(([field]) => field === 'Count__c');
const derivedRows: Row[] = [
    ...['Txt__c', 'Mail__c', 'Tel__c', 'Web__c'].flatMap((field) =>
        textRows.map(([, operator, value, actual, expected]): Row => [
            field,
            operator,
            value,
            actual,
            expected
        ])
    ),
    ...['Amount__c', 'Price__c', 'Share__c'].flatMap((field) =>
        intRows.map(([, operator, value, actual, expected]): Row => [
            field,
            operator,
            value,
            actual,
            expected
        ])
    ),
    ['Id', 'isNull', undefined, userId(900_003), false],
    ['Id', 'isNotNull', undefined, userId(900_003), true],
    ['Pick__c', 'isNotNull', undefined, 'Gold', true],
    ['Pick__c', 'isNotNull', undefined, null, false]
];
rows.push(...derivedRows);

describe('operator semantics', () => {
    it.each(rows)(
        'when %s %s %j is evaluated on %j, then it is %s',
        (field, operator, value, actual, expected) => {
            const condition: Condition =
                value === undefined ? { field, operator } : { field, operator, value };
            const fields = field === 'Id' ? { Id: actual } : { [field]: actual };
            expect(matches(condition, fields)).toBe(expected);
        }
    );

    it('when every type is listed in the table above, then every operator allowed for it is exercised', () => {
        const seen = new Set(rows.map(([field, operator]) => `${schema.resolve(field)?.type}:${operator}`));
        const missing: string[] = [];
        for (const field of schema.fields.values()) {
            if (field.relationship || field.derived || !field.filterable) continue;
            for (const operator of OPERATOR_TABLE[field.type]) {
                if (!seen.has(`${field.type}:${operator}`)) missing.push(`${field.type}:${operator}`);
            }
        }
        expect([...new Set(missing)]).toEqual([]);
    });
});

describe('parent fields and derived fields', () => {
    it('when the user has no role, then UserRole.Name is null: equals is false, notEquals and isNull are true', () => {
        const noRole = { UserRole: null };
        expect(matches({ field: 'UserRole.Name', operator: 'equals', value: 'CEO' }, noRole)).toBe(false);
        expect(matches({ field: 'UserRole.Name', operator: 'notEquals', value: 'CEO' }, noRole)).toBe(true);
        expect(matches({ field: 'UserRole.Name', operator: 'isNull' }, noRole)).toBe(true);
        expect(matches({ field: 'UserRole.Name', operator: 'startsWith', value: 'C' }, noRole)).toBe(false);
    });

    it('when the user has no manager, then Manager.IsActive is false, never null (outer-joined booleans)', () => {
        for (const noManager of [{ Manager: null }, {}]) {
            expect(matches({ field: 'Manager.IsActive', operator: 'equals', value: false }, noManager)).toBe(
                true
            );
            expect(matches({ field: 'Manager.IsActive', operator: 'equals', value: true }, noManager)).toBe(
                false
            );
            expect(
                matches({ field: 'Manager.IsActive', operator: 'notEquals', value: true }, noManager)
            ).toBe(true);
        }
        expect(
            compileWhere(
                prepareSets(
                    [set('s', [{ field: 'Manager.IsActive', operator: 'equals', value: false }])],
                    schema
                ).valid[0].definition,
                schema
            )
        ).toBe('Manager.IsActive = false');
    });

    it('when the user has a role and a manager, then their fields are read from the parent records', () => {
        const fields = {
            UserRole: { Name: 'EMEA Sales' },
            Manager: { Department: 'Finance' },
            Profile: { Name: 'Admin' }
        };
        expect(matches({ field: 'userrole.name', operator: 'startsWith', value: 'emea' }, fields)).toBe(true);
        expect(matches({ field: 'Manager.Department', operator: 'equals', value: 'FINANCE' }, fields)).toBe(
            true
        );
        expect(
            matches({ field: 'Profile.Name', operator: 'in', value: ['Admin', 'Standard User'] }, fields)
        ).toBe(true);
        expect(matches({ field: 'Manager.Department', operator: 'isNull' }, { Manager: null })).toBe(true);
    });

    it('when the user is in ctx.managerIds, then IsManager is true, otherwise false', () => {
        const manager = user();
        const report = user({ ManagerId: manager.Id });
        const prepared = prepareSets(
            [set('managers', [{ field: 'IsManager', operator: 'equals', value: true }])],
            schema
        );
        const ctx = context({ managerIds: new Set([manager.Id]) });
        expect(matchSets(prepared.valid, manager, ctx)).toEqual(['managers']);
        expect(matchSets(prepared.valid, report, ctx)).toEqual([]);
    });

    it('when a user is inactive, then no set matches, not even one that matches everything', () => {
        const prepared = prepareSets([set('all', [{ field: 'Str__c', operator: 'isNull' }])], schema);
        expect(matchSets(prepared.valid, user({ IsActive: false }), context())).toEqual([]);
        expect(matchSets(prepared.valid, user({ IsActive: true }), context())).toEqual(['all']);
    });
});

describe('relative dates use the org time zone', () => {
    // NOW = 2026-03-10T12:00Z is 05:00 on 2026-03-10 in Los Angeles (PDT, UTC-7 since 2026-03-08).
    const la = context({ timeZone: 'America/Los_Angeles' });

    it('when the org is in Los Angeles, then "within the last 1 day" starts at local midnight of yesterday', () => {
        const condition: Condition = { field: 'Moment__c', operator: 'withinLastDays', value: 1 };
        expect(matches(condition, { Moment__c: '2026-03-09T06:59:59.000+0000' }, la)).toBe(false);
        expect(matches(condition, { Moment__c: '2026-03-09T07:00:00.000+0000' }, la)).toBe(true);
    });

    it('when the window crosses the DST change, then the earlier midnight uses the standard-time offset', () => {
        const condition: Condition = { field: 'Moment__c', operator: 'withinLastDays', value: 2 };
        // 2026-03-08 00:00 PST = 08:00Z
        expect(matches(condition, { Moment__c: '2026-03-08T07:59:59.000+0000' }, la)).toBe(false);
        expect(matches(condition, { Moment__c: '2026-03-08T08:00:00.000+0000' }, la)).toBe(true);
    });

    it('when DST skips midnight (Santiago, 2024-09-08 starts at 01:00), then the day starts at its first instant', () => {
        // 2024-09-07 23:59:59 CLT (UTC-4) is followed by 2024-09-08 01:00:00 CLST (UTC-3), at 04:00Z.
        const santiago = context({ now: new Date('2024-09-08T15:00:00Z'), timeZone: 'America/Santiago' });
        const today: Condition = { field: 'Moment__c', operator: 'withinLastDays', value: 0 };
        const older: Condition = { field: 'Moment__c', operator: 'olderThanDays', value: 0 };

        expect(matches(today, { Moment__c: '2024-09-08T03:59:59.000+0000' }, santiago)).toBe(false);
        expect(matches(today, { Moment__c: '2024-09-08T04:00:00.000+0000' }, santiago)).toBe(true);
        expect(matches(older, { Moment__c: '2024-09-08T03:59:59.000+0000' }, santiago)).toBe(true);
        expect(relativeWindow(0, santiago.now, 'America/Santiago').fromInstant).toBe(
            Date.parse('2024-09-08T04:00:00Z')
        );
    });

    it('when it is already tomorrow in Tokyo, then today is the Tokyo day for date fields', () => {
        const tokyo = context({ now: new Date('2026-03-10T20:00:00Z'), timeZone: 'Asia/Tokyo' });
        expect(
            matches(
                { field: 'Day__c', operator: 'withinLastDays', value: 0 },
                { Day__c: '2026-03-11' },
                tokyo
            )
        ).toBe(true);
        expect(
            matches(
                { field: 'Day__c', operator: 'withinLastDays', value: 0 },
                { Day__c: '2026-03-10' },
                tokyo
            )
        ).toBe(false);
    });
});

type SoqlRow = [
    field: string,
    operator: Condition['operator'],
    value: ConditionValue | undefined,
    soql: string
];

const soqlRows: SoqlRow[] = [
    ['Str__c', 'equals', "O'Brien", "Str__c = 'O\\'Brien'"],
    ['Str__c', 'notEquals', 'a\\b', "Str__c != 'a\\\\b'"],
    ['Str__c', 'contains', '50%_x', "Str__c LIKE '%50\\%\\_x%'"],
    ['Str__c', 'notContains', 'a', "(NOT Str__c LIKE '%a%')"],
    ['Str__c', 'startsWith', 'EMEA', "Str__c LIKE 'EMEA%'"],
    ['Str__c', 'in', ['a', 'b'], "Str__c IN ('a', 'b')"],
    ['Str__c', 'notIn', ['a'], "Str__c NOT IN ('a')"],
    ['Str__c', 'isNull', undefined, 'Str__c = null'],
    ['Str__c', 'isNotNull', undefined, 'Str__c != null'],
    ['str__C', 'equals', 'x', "Str__c = 'x'"],
    ['Multi__c', 'includes', ['A;B', 'C'], "Multi__c INCLUDES ('A;B', 'C')"],
    ['Multi__c', 'excludes', ['A'], "Multi__c EXCLUDES ('A')"],
    ['Flag__c', 'equals', true, 'Flag__c = true'],
    ['Flag__c', 'notEquals', false, 'Flag__c != false'],
    ['Count__c', 'lessThan', 5, 'Count__c < 5'],
    ['Amount__c', 'greaterOrEqual', 2.5, 'Amount__c >= 2.5'],
    ['Price__c', 'in', [1, 2.25], 'Price__c IN (1, 2.25)'],
    ['Day__c', 'equals', '2026-03-01', 'Day__c = 2026-03-01'],
    ['Moment__c', 'greaterThan', '2026-03-01T11:00:00+01:00', 'Moment__c > 2026-03-01T10:00:00Z'],
    ['Moment__c', 'withinLastDays', 30, 'Moment__c = LAST_N_DAYS:30'],
    ['Moment__c', 'olderThanDays', 30, 'Moment__c < N_DAYS_AGO:30'],
    ['Day__c', 'withinLastDays', 0, 'Day__c = TODAY'],
    ['Id', 'equals', '005000000000001', "Id = '005000000000001AAA'"],
    ['UserRole.Name', 'equals', 'CEO', "UserRole.Name = 'CEO'"],
    ['IsManager', 'equals', true, 'Id != null']
];

describe('SOQL compilation', () => {
    it.each(soqlRows)('when %s %s %j is compiled, then the WHERE is %s', (field, operator, value, soql) => {
        const condition: Condition = value === undefined ? { field, operator } : { field, operator, value };
        const prepared = prepareSets([set('s', [condition])], schema);
        expect(prepared.invalid).toEqual([]);
        expect(compileWhere(prepared.valid[0].definition, schema)).toBe(soql);
    });

    it('when the run context is given, then relative dates compile to the same explicit bounds the evaluator uses', () => {
        const prepared = prepareSets(
            [
                set('s', [
                    { field: 'Moment__c', operator: 'withinLastDays', value: 1 },
                    { field: 'Day__c', operator: 'olderThanDays', value: 2 }
                ])
            ],
            schema
        );
        const where = compileWhere(
            prepared.valid[0].definition,
            schema,
            context({ timeZone: 'America/Los_Angeles' })
        );
        expect(where).toBe(
            '(Moment__c >= 2026-03-09T07:00:00Z AND Moment__c < 2026-03-11T07:00:00Z) AND Day__c < 2026-03-08'
        );
    });

    it.each([
        ['NOT (1 AND 2)', "Str__c != 'a' OR (NOT Count__c < 5)"],
        ['NOT (1 OR NOT 2)', "Str__c != 'a' AND Count__c < 5"],
        ['NOT NOT NOT (1 AND 2)', "Str__c != 'a' OR (NOT Count__c < 5)"],
        ['1 AND NOT (2 OR 3)', "Str__c = 'a' AND ((NOT Count__c < 5) AND Multi__c EXCLUDES ('A'))"]
    ])('when the logic is "%s", then NOT is pushed down to single conditions: %s', (logic, soql) => {
        const conditions: Condition[] = [
            { field: 'Str__c', operator: 'equals', value: 'a' },
            { field: 'Count__c', operator: 'lessThan', value: 5 },
            { field: 'Multi__c', operator: 'includes', value: ['A'] }
        ];
        const used = logic.includes('3') ? conditions : conditions.slice(0, 2);
        const prepared = prepareSets([set('s', used, { logic })], schema);
        expect(prepared.invalid).toEqual([]);
        expect(compileWhere(prepared.valid[0].definition, schema)).toBe(soql);
    });

    it('when a relative window is negated, then each bound is negated and OR-ed', () => {
        const prepared = prepareSets(
            [set('s', [{ field: 'Moment__c', operator: 'withinLastDays', value: 1 }], { logic: 'NOT 1' })],
            schema
        );
        expect(compileWhere(prepared.valid[0].definition, schema, context())).toBe(
            '(NOT Moment__c >= 2026-03-09T00:00:00Z) OR (NOT Moment__c < 2026-03-11T00:00:00Z)'
        );
    });

    it.each([
        ['1 AND 2', "Department = 'Sales'"],
        ['1 OR 2', 'Id != null'],
        ['1 AND NOT 2', "Department = 'Sales'"],
        ['NOT (1 OR 2)', "Department != 'Sales'"],
        ['NOT (1 AND NOT 2)', 'Id != null'],
        ['NOT (1 AND 2)', 'Id != null']
    ])('when IsManager appears in "%s", then it is widened soundly to %s', (logic, soql) => {
        const prepared = prepareSets(
            [
                set(
                    's',
                    [
                        { field: 'Department', operator: 'equals', value: 'Sales' },
                        { field: 'IsManager', operator: 'equals', value: true }
                    ],
                    { logic }
                )
            ],
            schema
        );
        expect(compileWhere(prepared.valid[0].definition, schema)).toBe(soql);
    });
});
