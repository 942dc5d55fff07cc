/**
 * Candidate query planning: every query fits what Salesforce accepts (a request line of at most
 * 12,000 bytes as jsforce sends it), the queries together return every user a runnable set matches
 * (read by the independent SOQL oracle), and a set no query can carry is named with a reason while
 * the others still run.
 */
import fc from 'fast-check';
import { parseQuery } from '@jetstreamapp/soql-parser-js';
import {
    MAX_QUERIES_PER_SET,
    MAX_QUERY_REQUEST_LINE_BYTES,
    compileWhere,
    encodedLength,
    matchSets,
    planCandidateQueries,
    prepareSets,
    queryRequestLineBytes,
    type Condition,
    type ConditionSetInput,
    type PreparedSet,
    type UserRecord
} from '../../service/src/engine';
import { parseWhere } from './soql-oracle';
import { context, realSchema, schema, set, user, userId } from './helpers';

/** What jsforce puts on the wire: `GET /services/data/v62.0/query?q=<encodeURIComponent> HTTP/1.1`. */
function wireBytes(soql: string): number {
    return `GET /services/data/v62.0/query?q=${encodeURIComponent(soql)} HTTP/1.1`.length;
}

function whereOf(query: string): string {
    return query.slice(query.indexOf(' FROM User WHERE ') + ' FROM User WHERE '.length);
}

/** The users some query returns, read by the oracle. */
function returned(queries: string[], users: UserRecord[]): Set<string> {
    const matchers = queries.map((query) => parseWhere(whereOf(query)).matches);
    return new Set(
        users
            .filter((candidate) => matchers.some((matches) => matches(candidate as Record<string, unknown>)))
            .map((candidate) => candidate.Id)
    );
}

function matched(valid: PreparedSet[], users: UserRecord[]): Set<string> {
    const ctx = context();
    return new Set(users.filter((u) => matchSets(valid, u, ctx).length > 0).map((u) => u.Id));
}

function prepared(sets: ConditionSetInput[], on = realSchema): PreparedSet[] {
    const result = prepareSets(sets, on);
    expect(result.invalid.map(({ errors }) => errors.map((e) => e.message))).toEqual([]);
    return result.valid;
}

function expectWithinLimits(queries: string[]): void {
    for (const query of queries) {
        expect(queryRequestLineBytes(query)).toBe(wireBytes(query));
        expect(wireBytes(query)).toBeLessThanOrEqual(MAX_QUERY_REQUEST_LINE_BYTES);
        expect(() => parseQuery(query)).not.toThrow();
    }
}

const cities = (prefix: string, count: number): string[] =>
    Array.from({ length: count }, (_, i) => `${prefix} ${i}`);

describe('encodedLength', () => {
    it('when any text is measured, then it is the length encodeURIComponent gives', () => {
        fc.assert(
            fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (text) => {
                expect(encodedLength(text)).toBe(encodeURIComponent(text).length);
            }),
            { numRuns: 200 }
        );
        for (const text of ["Saint-Jean-d'Angély", 'Zürich', '東京都', '😀', " %'\\()*!~._-"]) {
            expect(encodedLength(text)).toBe(encodeURIComponent(text).length);
        }
    });
});

describe('planCandidateQueries: long sets', () => {
    const pool = Array.from({ length: 1000 }, () => user());

    it('when a set lists 700 ids, then two queries carry them, each id once, and they return exactly those users', () => {
        const ids = pool.slice(0, 700).map((u) => u.Id);
        const valid = prepared([set('Ids', [{ field: 'Id', operator: 'in', value: ids }])]);

        const plan = planCandidateQueries(valid);

        expect(plan.unrunnable).toEqual([]);
        expect(plan.queries).toHaveLength(2);
        expectWithinLimits(plan.queries);
        for (const id of ids) {
            expect(plan.queries.filter((query) => query.includes(`'${id}'`))).toHaveLength(1);
        }
        expect(returned(plan.queries, pool)).toEqual(new Set(ids));
    });

    it('when three sets list 250 cities each (spaces, apostrophes), then every query fits and every city is asked for once', () => {
        const lists = [
            cities("Saint-Jean-d'Angély", 250),
            cities('Rio de Janeiro', 250),
            cities("L'Aquila dell'Abruzzo", 250)
        ];
        const people = lists.flatMap((list, i) =>
            list.filter((_, j) => j % 25 === i).map((City) => user({ City }))
        );
        const others = [user({ City: 'Paris' }), user({ City: null })];
        const valid = prepared(
            lists.map((list, i) => set(`Cities ${i}`, [{ field: 'City', operator: 'in', value: list }]))
        );

        const plan = planCandidateQueries(valid);

        expect(plan.unrunnable).toEqual([]);
        expectWithinLimits(plan.queries);
        // Each list alone is over 9,000 encoded bytes (a space is %20, `\'` is %5C'): no two fit together.
        expect(plan.queries).toHaveLength(3);
        for (const city of lists.flat()) {
            const literal = `'${city.replace(/'/g, "\\'")}'`;
            expect(plan.queries.filter((query) => query.includes(literal))).toHaveLength(1);
        }
        expect(returned(plan.queries, [...people, ...others])).toEqual(
            matched(valid, [...people, ...others])
        );
        expect(matched(valid, people).size).toBe(people.length);
    });

    it('when values are multibyte, then the queries are cut by their UTF-8 encoded bytes, not by characters', () => {
        const names = Array.from({ length: 400 }, (_, i) => `東京都千代田区 ${i} Zürich 😀`);
        const people = names.filter((_, i) => i % 40 === 0).map((City) => user({ City }));
        const valid = prepared([set('Multibyte', [{ field: 'City', operator: 'in', value: names }])]);

        const plan = planCandidateQueries(valid);

        expectWithinLimits(plan.queries);
        const characters = plan.queries.reduce((sum, query) => sum + query.length, 0);
        // Counted in characters the whole list would have fit in one query of 12,000.
        expect(characters).toBeLessThan(MAX_QUERY_REQUEST_LINE_BYTES);
        expect(plan.queries.length).toBeGreaterThan(2);
        expect(returned(plan.queries, people)).toEqual(new Set(people.map((u) => u.Id)));
    });

    it('when a set excludes 900 ids beside another condition, then the exclusion is left to the evaluation and one query runs', () => {
        const excluded = pool.slice(0, 900).map((u) => u.Id);
        const valid = prepared([
            set('Everyone in Sales but', [
                { field: 'Id', operator: 'notIn', value: excluded },
                { field: 'Department', operator: 'equals', value: 'Sales' }
            ]),
            set('Not these', [{ field: 'Id', operator: 'in', value: excluded }], { logic: 'NOT 1' })
        ]);

        const plan = planCandidateQueries(valid);

        expect(plan.unrunnable).toEqual([]);
        // The second set excludes too, with nothing else: every active user is a candidate.
        expect(plan.queries).toEqual([
            'SELECT Id, Name, Email, IsActive, Department FROM User WHERE IsActive = true'
        ]);
        const first = planCandidateQueries(valid.slice(0, 1));
        expect(first.queries).toEqual([
            "SELECT Id, Name, Email, IsActive, Department FROM User WHERE IsActive = true AND ((Department = 'Sales'))"
        ]);
    });

    it('when one set has a value longer than any request can carry, then that set is named with the reason and the others run', () => {
        const valid = prepared([
            set('Sales', [{ field: 'Department', operator: 'equals', value: 'Sales' }]),
            set('Huge title', [{ field: 'Title', operator: 'equals', value: '東'.repeat(2000) }], {
                id: 'a0B000000000002AAA'
            }),
            set(
                'Huge city',
                [{ field: 'City', operator: 'in', value: ['Paris', 'é'.repeat(2500), 'Rome'] }],
                {
                    id: 'a0B000000000003AAA'
                }
            ),
            set('Ids', [{ field: 'Id', operator: 'in', value: pool.slice(0, 700).map((u) => u.Id) }])
        ]);

        const plan = planCandidateQueries(valid);

        expect(plan.unrunnable).toEqual([
            {
                id: 'a0B000000000003AAA',
                name: 'Huge city',
                reason: `Condition 1 (City is one of 3 values): the value "${'é'.repeat(40)}…" alone makes the query longer than Salesforce accepts (16,384 bytes per request, headers included). Shorten that value or remove it.`
            },
            {
                id: 'a0B000000000002AAA',
                name: 'Huge title',
                reason: 'Condition 1 (Title equals a 2,000-character value) makes the query longer than Salesforce accepts (16,384 bytes per request, headers included). Use a shorter value.'
            }
        ]);
        expectWithinLimits(plan.queries);
        expect(plan.queries.some((query) => query.includes("(Department = 'Sales')"))).toBe(true);
        // Fields only the unrunnable sets read are not selected.
        for (const query of plan.queries)
            expect(query).toMatch(/^SELECT Id, Name, Email, IsActive, Department FROM User /);
        const people = [user({ Department: 'Sales' }), pool[5], user({ City: 'Paris' })];
        const runnable = valid.filter((s) => !plan.unrunnable.some((u) => u.id === s.id));
        expect(returned(plan.queries, people)).toEqual(matched(runnable, people));
    });

    it('when a set would need more than the cap of queries, then it is named instead of run', () => {
        const values = Array.from({ length: 1000 }, (_, i) => `${i} ${'é'.repeat(480)}`);
        const valid = prepared([
            set('Sales', [{ field: 'Department', operator: 'equals', value: 'Sales' }]),
            set('Too many', [{ field: 'City', operator: 'in', value: values }])
        ]);

        const plan = planCandidateQueries(valid);

        expect(plan.unrunnable.map((u) => [u.name, u.reason])).toEqual([
            [
                'Too many',
                `Condition 1 (City is one of 1000 values) needs more than ${MAX_QUERIES_PER_SET} queries to stay within what Salesforce accepts (16,384 bytes per request). Use fewer or shorter values, or split the set into smaller sets.`
            ]
        ]);
        expect(plan.queries).toHaveLength(1);
    });

    it('when a split set and small sets are planned together, then the small sets share the queries', () => {
        const valid = prepared([
            set('Ids', [{ field: 'Id', operator: 'in', value: pool.slice(0, 700).map((u) => u.Id) }]),
            ...['Sales', 'Support', 'Finance'].map((d) =>
                set(d, [{ field: 'Department', operator: 'equals', value: d }])
            )
        ]);

        const plan = planCandidateQueries(valid);

        expect(plan.queries).toHaveLength(2);
        expectWithinLimits(plan.queries);
    });

    it('when extra fields are asked for, then every query selects them once, and they count against the limit', () => {
        const valid = prepared([
            set('Ids', [{ field: 'Id', operator: 'in', value: pool.slice(0, 700).map((u) => u.Id) }])
        ]);
        const extraFields = ['Department', 'title', 'Title', 'Profile.Name', 'Id'];

        const plan = planCandidateQueries(valid, { extraFields });
        const bare = planCandidateQueries(valid);

        expect(plan.queries.length).toBeGreaterThanOrEqual(bare.queries.length);
        expectWithinLimits(plan.queries);
        for (const query of plan.queries) {
            const fields = query.slice('SELECT '.length, query.indexOf(' FROM User')).split(', ');
            expect(fields).toEqual([
                'Id',
                'Name',
                'Email',
                'IsActive',
                'Department',
                'title',
                'Profile.Name'
            ]);
        }
        // The same users as without them: only the selected fields differ.
        expect(returned(plan.queries, pool)).toEqual(returned(bare.queries, pool));
    });
});

// ---------------------------------------------------------------------------------------------
// Property: for random sets with long lists and small byte budgets, every query fits, and the
// queries return every user a runnable set matches (exactly those, when no set excludes).

const TEXTS = [
    "Saint-Jean-d'Angély",
    'São Paulo',
    '東京都',
    'back\\slash',
    'naïve café',
    '😀 x',
    'plain'
].flatMap((base) => Array.from({ length: 12 }, (_, i) => `${base} ${i}`));
const MULTI = ['A', 'B', 'A;B', 'C', 'c;D', 'D'];

const population: UserRecord[] = Array.from({ length: 120 }, (_, i) =>
    user({
        Str__c: i % 9 === 0 ? null : TEXTS[(i * 7) % TEXTS.length],
        Multi__c: [null, 'A;B', 'B', 'C;D', 'A', 'D'][i % 6],
        Count__c: i % 5 === 0 ? null : i % 17
    })
);
const ids = [...population.map((u) => u.Id), ...Array.from({ length: 200 }, (_, i) => userId(50_000 + i))];

const listOf = <T>(values: T[], max: number): fc.Arbitrary<T[]> =>
    fc.shuffledSubarray(values, { minLength: 1, maxLength: max });

const conditionArbitrary: fc.Arbitrary<Condition> = fc.oneof(
    fc.record({
        field: fc.constant('Str__c'),
        operator: fc.constantFrom('in', 'notIn'),
        value: listOf(TEXTS, 80)
    }),
    fc.record({
        field: fc.constant('Str__c'),
        operator: fc.constantFrom('equals', 'notEquals', 'contains', 'notContains', 'startsWith'),
        value: fc.constantFrom(...TEXTS)
    }),
    fc.record({
        field: fc.constant('Id'),
        operator: fc.constantFrom('in', 'notIn'),
        value: listOf(ids, 150)
    }),
    fc.record({
        field: fc.constant('Multi__c'),
        operator: fc.constantFrom('includes', 'excludes'),
        value: listOf(MULTI, 4)
    }),
    fc.record({
        field: fc.constant('Count__c'),
        operator: fc.constantFrom('in', 'notIn'),
        value: listOf(
            Array.from({ length: 17 }, (_, i) => i),
            8
        )
    }),
    fc.record({
        field: fc.constant('Count__c'),
        operator: fc.constant('greaterThan'),
        value: fc.integer({ min: 0, max: 16 })
    }),
    fc.record({ field: fc.constant('Str__c'), operator: fc.constant('isNull') })
) as fc.Arbitrary<Condition>;

type Tree = number | { op: 'AND' | 'OR'; children: Tree[] } | { op: 'NOT'; child: Tree };

function logicText(tree: Tree): string {
    if (typeof tree === 'number') return String(tree);
    if (tree.op === 'NOT') return `NOT ${logicText(tree.child)}`;
    return `(${tree.children.map(logicText).join(` ${tree.op} `)})`;
}

function usesNot(tree: Tree): boolean {
    if (typeof tree === 'number') return false;
    return tree.op === 'NOT' || tree.children.some(usesNot);
}

/** A logic over conditions 1..count that uses each exactly once. */
function treeArbitrary(count: number): fc.Arbitrary<Tree> {
    const build = (numbers: number[], shape: number[]): Tree => {
        if (numbers.length === 1) return shape[0] % 4 === 0 ? { op: 'NOT', child: numbers[0] } : numbers[0];
        const cut = 1 + (shape[0] % (numbers.length - 1));
        const node: Tree = {
            op: shape[1] % 2 === 0 ? 'AND' : 'OR',
            children: [
                build(numbers.slice(0, cut), shape.slice(2)),
                build(numbers.slice(cut), shape.slice(3))
            ]
        };
        return shape[2] % 5 === 0 ? { op: 'NOT', child: node } : node;
    };
    return fc.array(fc.nat(), { minLength: 8, maxLength: 8 }).map((shape) =>
        build(
            Array.from({ length: count }, (_, i) => i + 1),
            [...shape, ...shape, 1, 1, 1]
        )
    );
}

const setArbitrary = fc
    .array(conditionArbitrary, { minLength: 1, maxLength: 4 })
    .chain((conditions) =>
        fc
            .oneof(fc.constant(undefined), treeArbitrary(conditions.length))
            .map((tree) => ({ conditions, tree }))
    );

describe('planCandidateQueries: random sets (property-based, against the SOQL oracle)', () => {
    it('when sets with long lists are planned under small budgets, then every query fits and no matching user is missed', () => {
        let split = 0;
        fc.assert(
            fc.property(
                fc.array(setArbitrary, { minLength: 1, maxLength: 4 }),
                fc.integer({ min: 1_000, max: 5_000 }),
                (generated, budget) => {
                    const inputs = generated.map(({ conditions, tree }, index) =>
                        set(`s${index}`, conditions, tree === undefined ? {} : { logic: logicText(tree) })
                    );
                    const valid = prepared(inputs, schema);

                    const plan = planCandidateQueries(valid, { maxRequestLineBytes: budget, ctx: context() });

                    // Values here are short: a set is unrunnable only when its lists, cut for a small
                    // budget, multiply past the cap on queries.
                    for (const { reason } of plan.unrunnable) expect(reason).toContain('needs more than');
                    const runnable = valid.filter((s) => !plan.unrunnable.some((u) => u.id === s.id));
                    for (const query of plan.queries) {
                        expect(wireBytes(query)).toBeLessThanOrEqual(budget);
                        expect(queryRequestLineBytes(query)).toBe(wireBytes(query));
                    }
                    const fromQueries = returned(plan.queries, population);
                    const expected = matched(runnable, population);
                    expect([...expected].filter((id) => !fromQueries.has(id))).toEqual([]);
                    const excludes = generated.some(
                        ({ conditions, tree }) =>
                            (tree !== undefined && usesNot(tree)) ||
                            conditions.some((c) =>
                                ['notIn', 'notEquals', 'notContains', 'excludes'].includes(c.operator)
                            )
                    );
                    if (!excludes) expect(fromQueries).toEqual(expected);
                    if (valid.some((s) => encodedLength(compileWhere(s.definition, schema)) > budget))
                        split++;
                }
            ),
            { numRuns: 150, seed: 20260310 }
        );
        // The property is only worth something if many plans had to split sets.
        expect(split).toBeGreaterThan(20);
    });
});
