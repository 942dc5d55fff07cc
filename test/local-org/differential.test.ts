/**
 * Differential: the engine's SOQL compiler against the engine's in-memory evaluator, with the local
 * org's own, independent SOQL implementation in between. For random condition sets over the demo org,
 * the users the compiled SOQL returns must equal the users the evaluator matches. IsManager is the one
 * documented exception: SOQL cannot semi-join User on User, so its compiled query is a superset that
 * the evaluator narrows.
 */
import fc from 'fast-check';
import type { Connection } from 'jsforce';
import {
    buildSchema,
    compileWhere,
    encodedLength,
    matchSets,
    planCandidateQueries,
    prepareSets,
    type Condition,
    type EvalContext,
    type Schema,
    type SObjectDescribe,
    type UserRecord
} from '../../service/src/engine';
import { startLocalOrg, type LocalOrg } from '../../service/src/local-org';
import { jwtConnection } from './helpers';

const POOL_FIELDS = [
    'Department',
    'Title',
    'Country',
    'City',
    'Division',
    'UserType',
    'TimeZoneSidKey',
    'IsActive',
    'CreatedDate',
    'LastLoginDate',
    'ManagerId',
    'Profile.Name',
    'UserRole.Name',
    'Manager.Department',
    'Manager.Title',
    'Manager.IsActive'
];
const STRING_FIELDS = [
    'Department',
    'Title',
    'Country',
    'City',
    'Division',
    'Profile.Name',
    'UserRole.Name',
    'Manager.Department',
    'Manager.Title'
];
const PICKLIST_FIELDS = ['UserType', 'TimeZoneSidKey'];

let org: LocalOrg;
let conn: Connection;
let schema: Schema;
let users: UserRecord[];
let ctx: EvalContext;
const observed = new Map<string, string[]>();

function valueAt(user: UserRecord, path: string): unknown {
    return path.split('.').reduce<unknown>((value, part) => {
        if (value === null || value === undefined) return null;
        return (value as Record<string, unknown>)[part];
    }, user);
}

async function queryIds(soql: string): Promise<Set<string>> {
    const result = await conn.query<{ Id: string }>(soql, { autoFetch: true, maxFetch: 1_000_000 });
    return new Set(result.records.map((record) => record.Id));
}

beforeAll(async () => {
    org = await startLocalOrg({ users: 5000, seed: 11 });
    conn = await jwtConnection(org);
    const [userDescribe, profileDescribe, roleDescribe] = await Promise.all(
        ['User', 'Profile', 'UserRole'].map((name) => conn.sobject(name).describe())
    );
    schema = buildSchema(userDescribe as unknown as SObjectDescribe, {
        Profile: profileDescribe as unknown as SObjectDescribe,
        UserRole: roleDescribe as unknown as SObjectDescribe
    });
    const [organization] = (
        await conn.query<{ TimeZoneSidKey: string }>('SELECT TimeZoneSidKey FROM Organization')
    ).records;
    const all = await conn.query<UserRecord>(`SELECT Id, Name, Email, ${POOL_FIELDS.join(', ')} FROM User`, {
        autoFetch: true,
        maxFetch: 1_000_000
    });
    users = all.records;
    ctx = {
        now: new Date(),
        timeZone: organization.TimeZoneSidKey,
        managerIds: new Set(
            users
                .filter((user) => user.IsActive === true && user.ManagerId)
                .map((user) => String(user.ManagerId))
        )
    };
    for (const field of [...STRING_FIELDS, ...PICKLIST_FIELDS]) {
        const values = new Set<string>();
        for (const user of users) {
            const value = valueAt(user, field);
            if (typeof value === 'string') values.add(value);
        }
        observed.set(field, [...values].slice(0, 40));
    }
}, 60_000);

afterAll(async () => {
    await org?.stop();
});

/** Values the demo org really holds (so sets match someone), with case changes and hostile strings mixed in. */
function stringValue(field: string): fc.Arbitrary<string> {
    const real = observed.get(field) ?? [];
    const fromOrg = real.length > 0 ? fc.constantFrom(...real) : fc.constant('Sales');
    return fc.oneof(
        { weight: 6, arbitrary: fromOrg },
        { weight: 2, arbitrary: fromOrg.map((value) => value.toUpperCase()) },
        { weight: 2, arbitrary: fromOrg.map((value) => value.slice(0, Math.max(1, value.length >> 1))) },
        {
            weight: 1,
            arbitrary: fc.constantFrom(
                "O'Brien",
                '50%_off',
                'back\\slash',
                'a%',
                '_',
                'émigré',
                'tab\there',
                'line\u2028break',
                ''
            )
        }
    );
}

function conditionArbitrary(): fc.Arbitrary<Condition> {
    const stringCondition = fc.constantFrom(...STRING_FIELDS).chain((field) =>
        fc.oneof(
            fc
                .tuple(
                    fc.constantFrom('equals', 'notEquals', 'contains', 'notContains', 'startsWith'),
                    stringValue(field).filter((value) => value !== '')
                )
                .map(([operator, value]) => ({ field, operator, value }) as Condition),
            fc
                .tuple(
                    fc.constantFrom('in', 'notIn'),
                    fc.array(
                        stringValue(field).filter((v) => v !== ''),
                        { minLength: 1, maxLength: 4 }
                    )
                )
                .map(([operator, value]) => ({ field, operator, value }) as Condition),
            fc.constantFrom('isNull', 'isNotNull').map((operator) => ({ field, operator }) as Condition)
        )
    );
    const picklistCondition = fc.constantFrom(...PICKLIST_FIELDS).chain((field) => {
        const values = observed.get(field) ?? [];
        return fc.oneof(
            fc
                .tuple(fc.constantFrom('equals', 'notEquals'), fc.constantFrom(...values))
                .map(([operator, value]) => ({ field, operator, value }) as Condition),
            fc
                .tuple(fc.constantFrom('in', 'notIn'), fc.subarray(values, { minLength: 1, maxLength: 3 }))
                .map(([operator, value]) => ({ field, operator, value }) as Condition)
        );
    });
    const dateCondition = fc.constantFrom('CreatedDate', 'LastLoginDate').chain((field) =>
        fc.oneof(
            fc
                .tuple(fc.constantFrom('withinLastDays', 'olderThanDays'), fc.integer({ min: 0, max: 2000 }))
                .map(([operator, value]) => ({ field, operator, value }) as Condition),
            fc.constantFrom('isNull', 'isNotNull').map((operator) => ({ field, operator }) as Condition)
        )
    );
    const booleanCondition = fc
        .tuple(
            // Manager.IsActive: a boolean on a parent that may be missing (then false, not null).
            fc.constantFrom('IsActive', 'IsManager', 'Manager.IsActive'),
            fc.constantFrom('equals', 'notEquals'),
            fc.boolean()
        )
        .map(([field, operator, value]) => ({ field, operator, value }) as Condition);
    return fc.oneof(
        { weight: 5, arbitrary: stringCondition },
        { weight: 2, arbitrary: picklistCondition },
        { weight: 2, arbitrary: dateCondition },
        { weight: 1, arbitrary: booleanCondition }
    );
}

function logicArbitrary(count: number): fc.Arbitrary<string | undefined> {
    const numbers = Array.from({ length: count }, (_, index) => index + 1);
    if (count === 1) return fc.constantFrom(undefined, 'NOT 1');
    return fc.oneof(
        fc.constant(undefined),
        fc.constant(numbers.join(' OR ')),
        fc.constant(`NOT (${numbers.join(' AND ')})`),
        fc.constant(`1 AND (${numbers.slice(1).join(' OR ')})`),
        fc.constant(`(NOT 1) OR (${numbers.slice(1).join(' AND ')})`)
    );
}

const definitionArbitrary = fc
    .array(conditionArbitrary(), { minLength: 1, maxLength: 4 })
    .chain((conditions) =>
        logicArbitrary(conditions.length).map((logic) => ({
            version: 1,
            conditions,
            ...(logic ? { logic } : {})
        }))
    );

describe('compiled SOQL against the in-memory evaluator, over the demo org', () => {
    it('when a random condition set is compiled and queried, then the org returns exactly the users the evaluator matches', async () => {
        let compared = 0;
        let nonEmpty = 0;
        await fc.assert(
            // Without the run's context the compiler writes date literals (LAST_N_DAYS:n, N_DAYS_AGO:n),
            // which the org evaluates in the querying user's zone — here the org's, as the evaluator's.
            fc.asyncProperty(definitionArbitrary, fc.boolean(), async (definition, withBounds) => {
                const prepared = prepareSets(
                    [
                        {
                            id: 'a0B000000000001AAA',
                            name: 'Differential',
                            products: ['Round Robin'],
                            eligibleStatuses: ['Not Invited'],
                            definition: JSON.stringify(definition),
                            createdDate: '2024-01-01T00:00:00.000+0000'
                        }
                    ],
                    schema
                );
                expect(prepared.invalid.map((set) => set.errors.map((e) => e.message))).toEqual([]);
                const { queries } = planCandidateQueries(prepared.valid, withBounds ? { ctx } : {});
                const fromSoql = new Set<string>();
                for (const soql of queries) for (const id of await queryIds(soql)) fromSoql.add(id);

                const fromEvaluator = new Set(
                    users
                        .filter((user) => matchSets(prepared.valid, user, ctx).length > 0)
                        .map((user) => user.Id)
                );

                const usesIsManager = definition.conditions.some(
                    (condition) => condition.field === 'IsManager'
                );
                const missing = [...fromEvaluator].filter((id) => !fromSoql.has(id));
                expect(missing).toEqual([]);
                if (!usesIsManager) {
                    const extra = [...fromSoql].filter((id) => !fromEvaluator.has(id));
                    expect(extra).toEqual([]);
                }
                compared++;
                if (fromEvaluator.size > 0) nonEmpty++;
            }),
            { numRuns: 120, seed: 20261123 }
        );
        // The comparison is only worth something if many sets matched somebody.
        expect(compared).toBe(120);
        expect(nonEmpty).toBeGreaterThan(40);
    }, 120_000);
});

/** Fabricated values that encode long: spaces (%20), apostrophes (`\'` is %5C'), accents and CJK (UTF-8). */
function fabricated(count: number, seed: string): string[] {
    const bases = [
        `Saint-Jean-d'Angély`,
        'Rio de Janeiro',
        `L'Aquila`,
        'São Paulo',
        '東京都 千代田区',
        'Zürich'
    ];
    return Array.from({ length: count }, (_, i) => `${bases[i % bases.length]} ${seed} ${i}`);
}

let setNumber = 0;

/** A condition set input with a fresh id. */
function set(
    name: string,
    definition: object
): {
    id: string;
    name: string;
    products: string[];
    eligibleStatuses: ['Not Invited'];
    definition: string;
    createdDate: string;
} {
    return {
        id: `a0B${String(++setNumber).padStart(12, '0')}`,
        name,
        products: ['Round Robin'],
        eligibleStatuses: ['Not Invited'],
        definition: JSON.stringify({ version: 1, ...definition }),
        createdDate: '2024-01-01T00:00:00.000+0000'
    };
}

describe('long sets, planned within Salesforce request limits, over the demo org', () => {
    async function union(queries: string[]): Promise<Set<string>> {
        const ids = new Set<string>();
        for (const soql of queries) for (const id of await queryIds(soql)) ids.add(id);
        return ids;
    }

    function matching(valid: ReturnType<typeof prepareSets>['valid']): Set<string> {
        return new Set(users.filter((user) => matchSets(valid, user, ctx).length > 0).map((user) => user.Id));
    }

    it('when sets list 700 ids and 3 × 250 cities, then every query is accepted and they return exactly the matching users', async () => {
        const active = users.filter((user) => user.IsActive === true).map((user) => user.Id);
        const realCities = [...new Set(users.map((user) => user.City).filter((c): c is string => !!c))];
        const lists = [0, 1, 2].map((k) => [
            ...realCities.filter((_, i) => i % 3 === k),
            ...fabricated(250 - realCities.filter((_, i) => i % 3 === k).length, `list${k}`)
        ]);
        const prepared = prepareSets(
            [
                set('Seven hundred', {
                    conditions: [{ field: 'Id', operator: 'in', value: active.slice(0, 700) }]
                }),
                ...lists.map((cities, k) =>
                    set(`Cities ${k}`, { conditions: [{ field: 'City', operator: 'in', value: cities }] })
                )
            ],
            schema
        );
        expect(prepared.invalid).toEqual([]);

        const plan = planCandidateQueries(prepared.valid, { ctx });

        expect(plan.unrunnable).toEqual([]);
        expect(plan.queries.length).toBeGreaterThan(1);
        // As one query (the request size unchecked), the org refuses them, as Salesforce does: 414 when
        // the URI alone is over 16,384 bytes, 431 when the URI and headers are.
        const [whole] = planCandidateQueries(prepared.valid, { ctx, maxRequestLineBytes: Infinity }).queries;
        await expect(queryIds(whole)).rejects.toMatchObject({
            errorCode: expect.stringMatching(/^ERROR_HTTP_(414|431)$/)
        });
        const fromSoql = await union(plan.queries);
        const expected = matching(prepared.valid);
        expect(expected.size).toBeGreaterThan(700);
        expect([...expected].filter((id) => !fromSoql.has(id))).toEqual([]);
        expect([...fromSoql].filter((id) => !expected.has(id))).toEqual([]);
    }, 60_000);

    it('when one set cannot run, then it alone is reported and the other sets return their users', async () => {
        const prepared = prepareSets(
            [
                set('Sales', { conditions: [{ field: 'Department', operator: 'equals', value: 'Sales' }] }),
                set('Too long', {
                    conditions: [{ field: 'Title', operator: 'equals', value: '長'.repeat(1900) }]
                })
            ],
            schema
        );

        const plan = planCandidateQueries(prepared.valid, { ctx });

        expect(plan.unrunnable.map((set) => set.name)).toEqual(['Too long']);
        const runnable = prepared.valid.filter((set) => set.name === 'Sales');
        const fromSoql = await union(plan.queries);
        expect(fromSoql).toEqual(matching(runnable));
        expect(fromSoql.size).toBeGreaterThan(100);
    }, 60_000);

    it('when random long sets are planned under small budgets, then the org accepts every query and no matching user is missed', async () => {
        const active = users.filter((user) => user.IsActive === true).map((user) => user.Id);
        const cities = [...new Set(users.map((user) => user.City).filter((c): c is string => !!c))];
        const titles = [...new Set(users.map((user) => user.Title).filter((c): c is string => !!c))];
        const pools: Record<string, string[]> = {
            Id: [...active.slice(0, 400), ...users.filter((u) => u.IsActive !== true).map((u) => u.Id)],
            City: [...cities, ...fabricated(150, 'x')],
            Title: [...titles, ...fabricated(60, 'y')]
        };
        const longList = fc.constantFrom('Id', 'City', 'Title').chain((field) =>
            fc
                .tuple(
                    fc.constantFrom('in', 'notIn'),
                    fc.shuffledSubarray(pools[field], {
                        minLength: 1,
                        maxLength: Math.min(300, pools[field].length)
                    })
                )
                .map(([operator, value]) => ({ field, operator, value }) as Condition)
        );
        const definition = fc
            .array(
                fc.oneof({ weight: 3, arbitrary: longList }, { weight: 2, arbitrary: conditionArbitrary() }),
                {
                    minLength: 1,
                    maxLength: 3
                }
            )
            .chain((conditions) => logicArbitrary(conditions.length).map((logic) => ({ conditions, logic })));
        let split = 0;
        await fc.assert(
            fc.asyncProperty(
                fc.array(definition, { minLength: 1, maxLength: 3 }),
                fc.integer({ min: 1_500, max: 6_000 }),
                async (definitions, budget) => {
                    const prepared = prepareSets(
                        definitions.map(({ conditions, logic }, index) =>
                            set(`Random ${index}`, { conditions, ...(logic ? { logic } : {}) })
                        ),
                        schema
                    );
                    expect(prepared.invalid.map((s) => s.errors.map((e) => e.message))).toEqual([]);
                    const plan = planCandidateQueries(prepared.valid, { ctx, maxRequestLineBytes: budget });
                    for (const { reason } of plan.unrunnable) expect(reason).toContain('needs more than');
                    if (
                        prepared.valid.some(
                            (s) => encodedLength(compileWhere(s.definition, schema, ctx)) > budget
                        )
                    )
                        split++;
                    const runnable = prepared.valid.filter(
                        (s) => !plan.unrunnable.some((u) => u.id === s.id)
                    );
                    const fromSoql = await union(plan.queries);
                    const expected = matching(runnable);
                    expect([...expected].filter((id) => !fromSoql.has(id))).toEqual([]);
                }
            ),
            { numRuns: 40, seed: 20261124 }
        );
        expect(split).toBeGreaterThan(10);
    }, 180_000);
});
