/**
 * Nothing a user types can change a query's structure, and the compiled SOQL means exactly what the
 * in-memory evaluator decides (a superset where IsManager is involved).
 */
import fc from 'fast-check';
import { parseQuery } from '@jetstreamapp/soql-parser-js';
import {
    compileWhere,
    computeEligibility,
    explain,
    matchSets,
    OPERATOR_TABLE,
    OPERATORS,
    planCandidateQueries,
    prepareSets,
    soqlLike,
    soqlString,
    validateDefinition,
    type Condition,
    type ConditionSetInput,
    type UserRecord
} from '../../service/src/engine';
import { parseWhere, unescapeSoqlString } from './soql-oracle';
import { context, schema, set, user } from './helpers';

const INJECTION_CORPUS: string[] = [
    "O'Brien",
    "' OR Id != null OR Name = '",
    "\\' OR Id != null --",
    'back\\slash',
    'trailing backslash\\',
    '\\\\\\',
    '50% off',
    'under_score',
    '%',
    '_',
    '\\%\\_',
    'line\nbreak',
    'carriage\r\nreturn',
    'tab\there',
    'double "quotes"',
    'unicode: ü é 東京 😀 \u2028 \u00a0',
    "')) OR ((Id != null",
    'x'.repeat(4000)
];

describe('injection corpus', () => {
    it.each(
        INJECTION_CORPUS.map((value) => [
            value.length > 60 ? `${value.slice(0, 20)}… (${value.length})` : value,
            value
        ])
    )(
        'when %j is used with every text operator, then the SOQL parses to the same one-field structure and the same value',
        (_label, value) => {
            for (const operator of [
                'equals',
                'notEquals',
                'contains',
                'notContains',
                'startsWith',
                'in',
                'notIn'
            ] as const) {
                const condition: Condition = {
                    field: 'Str__c',
                    operator,
                    value: operator === 'in' || operator === 'notIn' ? [value, 'other'] : value
                };
                const prepared = prepareSets([set('s', [condition])], schema);
                expect(prepared.invalid).toEqual([]);
                const where = compileWhere(prepared.valid[0].definition, schema);
                const { atoms } = parseWhere(where);
                expect(atoms).toHaveLength(1);
                expect(atoms[0].field).toBe('Str__c');
                const literal = Array.isArray(atoms[0].value) ? atoms[0].value[0] : atoms[0].value;
                if (atoms[0].operator.toUpperCase() === 'LIKE') {
                    const body = literal.slice(1, -1).replace(/^%/, '').replace(/%$/, '');
                    expect(body).toBe(soqlLike(value));
                } else {
                    expect(unescapeSoqlString(literal)).toBe(value);
                }
            }
        }
    );

    it('when a value is 4,001 characters, then it is rejected before any SOQL is built', () => {
        const prepared = prepareSets(
            [set('s', [{ field: 'Str__c', operator: 'equals', value: "'".repeat(4001) }])],
            schema
        );
        expect(prepared.valid).toEqual([]);
        expect(prepared.invalid[0].errors[0].code).toBe('VALUE_TOO_LONG');
    });

    it('when a value holds a control character SOQL cannot escape, then it is rejected', () => {
        const result = validateDefinition(
            { version: 1, conditions: [{ field: 'Str__c', operator: 'equals', value: 'a\u0000b' }] },
            schema
        );
        expect(result.ok).toBe(false);
    });

    it('when a value contains the LIKE wildcards, then the pattern matches them literally in SOQL and in memory', () => {
        const { matches } = parseWhere(`Str__c LIKE '%${soqlLike('50%_x')}%'`);
        expect(matches({ Str__c: 'get 50%_x now' })).toBe(true);
        expect(matches({ Str__c: 'get 50abx now' })).toBe(false);
        expect(soqlString("it's")).toBe("'it\\'s'");
    });
});

// --- random definitions -------------------------------------------------------------------------

const ORACLE_FIELDS = [
    'Str__c',
    'Mail__c',
    'Pick__c',
    'Multi__c',
    'Flag__c',
    'Count__c',
    'Amount__c',
    'Day__c',
    'Moment__c',
    'UserRole.Name',
    'IsManager'
];

const textValue = fc.oneof(
    fc.constantFrom('sales', 'SALES', 'Sa', 'les', '50%', 'a_b', "O'Brien", 'x\\y', 'EMEA', ''),
    fc.string({ maxLength: 6 })
);
const dayValue = fc.constantFrom('2026-03-01', '2026-03-09', '2026-03-10', '2025-12-31', '2026-02-30');
const momentValue = fc.constantFrom(
    '2026-03-01T10:00:00Z',
    '2026-03-09T07:00:00Z',
    '2026-03-10T11:59:59+01:00',
    '2026-03-10T10:00:00.000+0000',
    'yesterday'
);

function valueFor(field: string): fc.Arbitrary<unknown> {
    const type = schema.resolve(field)?.type;
    const single: fc.Arbitrary<unknown> =
        type === 'boolean'
            ? fc.boolean()
            : type === 'int'
              ? fc.integer({ min: -3, max: 10 })
              : type === 'double'
                ? fc.constantFrom(0, 1.5, -2.25, 10)
                : type === 'date'
                  ? dayValue
                  : type === 'datetime'
                    ? momentValue
                    : type === 'picklist'
                      ? fc.constantFrom('Gold', 'silver', 'Bronze', 'Tin')
                      : type === 'multipicklist'
                        ? fc.constantFrom('A', 'B', 'A;B', 'c;d', 'Z')
                        : textValue;
    return fc.oneof(
        { weight: 6, arbitrary: single },
        { weight: 3, arbitrary: fc.array(single, { minLength: 1, maxLength: 3 }) },
        { weight: 2, arbitrary: fc.integer({ min: 0, max: 40 }) },
        { weight: 1, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.anything() }
    );
}

const conditionArbitrary = fc.constantFrom(...ORACLE_FIELDS, 'Nope__c', 'Secret__c').chain((field) =>
    fc.record({
        field: fc.constant(field),
        operator: fc.oneof(
            {
                weight: 8,
                arbitrary: fc.constantFrom(
                    ...(OPERATOR_TABLE[schema.resolve(field)?.type ?? 'string'] ?? OPERATORS)
                )
            },
            { weight: 1, arbitrary: fc.constantFrom(...OPERATORS) },
            { weight: 1, arbitrary: fc.string({ maxLength: 5 }) }
        ),
        value: valueFor(field)
    })
);

type Tree = number | { op: 'AND' | 'OR'; children: Tree[] } | { op: 'NOT'; child: Tree };

function logicText(tree: Tree): string {
    if (typeof tree === 'number') return String(tree);
    if (tree.op === 'NOT') return `NOT ${logicText(tree.child)}`;
    return `(${tree.children.map(logicText).join(` ${tree.op} `)})`;
}

function logicArbitrary(count: number): fc.Arbitrary<string | undefined> {
    const leaf = fc.integer({ min: 1, max: count });
    const { tree } = fc.letrec<{ tree: Tree }>((tie) => ({
        tree: fc.oneof(
            { depthSize: 'small', withCrossShrink: true },
            leaf,
            fc.record({
                op: fc.constantFrom('AND' as const, 'OR' as const),
                children: fc.array(tie('tree'), { minLength: 2, maxLength: 3 })
            }),
            fc.record({ op: fc.constant('NOT' as const), child: tie('tree') })
        )
    }));
    const allUsed = tree.map((t) => {
        const used = new Set<number>();
        const walk = (node: Tree): void => {
            if (typeof node === 'number') used.add(node);
            else if (node.op === 'NOT') walk(node.child);
            else node.children.forEach(walk);
        };
        walk(t);
        const missing = Array.from({ length: count }, (_, i) => i + 1).filter((n) => !used.has(n));
        return missing.length === 0 ? logicText(t) : `${logicText(t)} AND (${missing.join(' AND ')})`;
    });
    return fc.oneof(
        { weight: 3, arbitrary: fc.constant(undefined) },
        { weight: 6, arbitrary: allUsed },
        { weight: 1, arbitrary: fc.string({ maxLength: 12 }) }
    );
}

const definitionArbitrary = fc
    .array(conditionArbitrary, { minLength: 0, maxLength: 5 })
    .chain((conditions) =>
        logicArbitrary(Math.max(conditions.length, 1)).map((logic) =>
            logic === undefined ? { version: 1, conditions } : { version: 1, conditions, logic }
        )
    );

const pool: UserRecord[] = Array.from({ length: 40 }, (_, index) => {
    const pick = <T>(values: T[]): T => values[index % values.length];
    const pick2 = <T>(values: T[]): T => values[Math.floor(index / 3) % values.length];
    return user({
        Str__c: pick(['Sales', 'sales team', null, '50% off', 'a_b', "O'Brien", 'x\\y', 'EMEA North']),
        Mail__c: pick2([null, 'Sales@example.com', 'ops@example.com']),
        Pick__c: pick2(['Gold', 'Silver', null, 'Bronze']),
        Multi__c: pick(['A;B', 'B', null, 'C;D', 'A']),
        Flag__c: index % 3 === 0,
        Count__c: pick2([null, -3, 0, 5, 10]),
        Amount__c: pick([1.5, null, -2.25, 10, 0]),
        Day__c: pick2(['2026-03-01', '2026-03-09', null, '2026-03-10', '2025-12-31']),
        Moment__c: pick([
            '2026-03-01T10:00:00.000+0000',
            null,
            '2026-03-09T07:00:00.000+0000',
            '2026-03-10T10:59:59.000+0000',
            '2026-03-08T23:59:59.000+0000'
        ]),
        UserRole: pick2([null, { Name: 'EMEA Sales' }, { Name: 'US' }])
    });
});

describe('random definitions (property-based)', () => {
    const ctx = context({
        timeZone: 'Europe/Paris',
        managerIds: new Set(pool.filter((_, i) => i % 4 === 0).map((u) => u.Id))
    });

    it('when any definition is validated, then it either compiles to parseable SOQL or fails with messages, and never throws', () => {
        fc.assert(
            fc.property(fc.oneof(definitionArbitrary, fc.anything(), fc.string()), (raw) => {
                const asText = typeof raw === 'string' ? raw : JSON.stringify(raw);
                for (const input of [raw, asText]) {
                    if (input === undefined) continue;
                    const result = validateDefinition(input, schema);
                    if (result.ok) {
                        const where = compileWhere(result.definition, schema, ctx);
                        expect(() => parseQuery(`SELECT Id FROM User WHERE ${where}`)).not.toThrow();
                    } else {
                        expect(result.errors.length).toBeGreaterThan(0);
                        for (const error of result.errors) expect(error.message.length).toBeGreaterThan(10);
                    }
                }
            }),
            { numRuns: 400 }
        );
    });

    it('when a valid definition is compiled, then SOQL (read by an independent oracle) and the evaluator agree on every user', () => {
        fc.assert(
            fc.property(definitionArbitrary, (raw) => {
                const prepared = prepareSets(
                    [set('s', raw.conditions as Condition[], { logic: (raw as { logic?: string }).logic })],
                    schema
                );
                fc.pre(prepared.valid.length === 1);
                const where = compileWhere(prepared.valid[0].definition, schema, ctx);
                const { matches } = parseWhere(where);
                const usesManager = prepared.valid[0].definition.conditions.some(
                    (c) => c.field === 'IsManager'
                );
                for (const candidate of pool) {
                    const inMemory = matchSets(prepared.valid, candidate, ctx).length === 1;
                    const bySoql = matches(candidate);
                    if (usesManager) {
                        if (inMemory) expect(bySoql).toBe(true);
                    } else {
                        expect({ where, user: candidate.Id, bySoql }).toEqual({
                            where,
                            user: candidate.Id,
                            bySoql: inMemory
                        });
                    }
                }
            }),
            { numRuns: 300 }
        );
    });

    it('when sets with any definition, products and statuses are prepared, evaluated and explained, then nothing throws', () => {
        fc.assert(
            fc.property(
                fc.array(
                    fc.record({
                        definition: fc.oneof(
                            definitionArbitrary.map((raw) => JSON.stringify(raw)),
                            fc.string()
                        ),
                        products: fc.oneof(
                            fc.constant(['Scheduler']),
                            fc.array(fc.string(), { maxLength: 2 })
                        ),
                        eligibleStatuses: fc.oneof(
                            fc.constant(['Not Invited']),
                            fc.array(fc.constantFrom('Invited', 'Authorized', 'Nope'), { maxLength: 2 })
                        ),
                        createdDate: fc.oneof(fc.constant('2025-01-01T00:00:00.000+0000'), fc.string())
                    }),
                    { maxLength: 4 }
                ),
                (inputs) => {
                    const sets = inputs.map((input, index) =>
                        set(`s${index}`, [], {
                            ...(input as object),
                            definition: input.definition
                        } as Partial<ConditionSetInput>)
                    );
                    const prepared = prepareSets(sets, schema);
                    expect(prepared.valid.length + prepared.invalid.length).toBe(sets.length);
                    for (const invalid of prepared.invalid) expect(invalid.errors.length).toBeGreaterThan(0);
                    const result = computeEligibility(prepared.valid, pool, () => 'Not Invited', ctx);
                    expect(result.evaluated).toBe(pool.length);
                    explain(prepared, pool[0], () => 'Invited', ctx);
                }
            ),
            { numRuns: 150 }
        );
    });

    it('when valid sets are compiled into candidate queries, then every query parses', () => {
        fc.assert(
            fc.property(
                fc.array(definitionArbitrary, { minLength: 1, maxLength: 6 }),
                fc.integer({ min: 300, max: 3000 }),
                (raws, maxLength) => {
                    const prepared = prepareSets(
                        raws.map((raw, index) =>
                            set(`s${index}`, raw.conditions as Condition[], {
                                logic: (raw as { logic?: string }).logic
                            })
                        ),
                        schema
                    );
                    for (const query of planCandidateQueries(prepared.valid, { maxLength, ctx }).queries) {
                        expect(() => parseQuery(query)).not.toThrow();
                    }
                }
            ),
            { numRuns: 100 }
        );
    });
});
