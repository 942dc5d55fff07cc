/**
 * The WHERE clause's structure (AND / OR / NOT and parentheses) is rebuilt from the parser's flat
 * output: for random boolean trees, the local org returns exactly the users the tree selects.
 */
import fc from 'fast-check';
import { join } from 'node:path';
import { loadSchema } from '../../service/src/local-org/schema';
import { Store, type Row } from '../../service/src/local-org/store';
import { generateUsers } from '../../service/src/local-org/demo';
import { runQuery } from '../../service/src/local-org/soql';

const ROOT = join(__dirname, '../..');
const schema = loadSchema(join(ROOT, 'force-app/main/default'), join(ROOT, 'service/src/local-org/schema'));
const store = new Store(schema);
generateUsers(store, { seed: 11, users: 600, seededAt: Date.parse('2024-06-01T12:00:00Z') });
const users = [...store.table('User').rows.values()];

const lower = (v: unknown): string | null => (typeof v === 'string' ? v.toLowerCase() : null);
/** Atoms whose meaning is plain (null rules written out as documented). */
const ATOMS: Array<[string, (u: Row) => boolean]> = [
    ["Department = 'sales'", (u) => lower(u.Department) === 'sales'],
    ["Department != 'Engineering'", (u) => lower(u.Department) !== 'engineering'],
    ['IsActive = true', (u) => u.IsActive === true],
    ["Country IN ('Japan', 'Germany')", (u) => ['japan', 'germany'].includes(lower(u.Country) ?? '')],
    ["Title LIKE '%manager%'", (u) => (lower(u.Title) ?? '').includes('manager')],
    ['ManagerId = null', (u) => u.ManagerId == null],
    ["UserType NOT IN ('CsnOnly')", (u) => u.UserType !== 'CsnOnly']
];

type Tree = { atom: number } | { not: Tree } | { op: 'AND' | 'OR'; parts: Tree[] };

const tree: fc.Arbitrary<Tree> = fc.letrec<{ tree: Tree }>((tie) => ({
    tree: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.record({ atom: fc.integer({ min: 0, max: ATOMS.length - 1 }) }),
        fc.record({ not: tie('tree') }),
        fc.record({
            op: fc.constantFrom<'AND' | 'OR'>('AND', 'OR'),
            parts: fc.array(tie('tree'), { minLength: 2, maxLength: 3 })
        })
    )
})).tree;

/** SOQL needs parentheses when AND and OR mix; extra ones are added at random places. */
function render(t: Tree, extra: () => boolean): string {
    let s: string;
    if ('atom' in t) s = ATOMS[t.atom][0];
    else if ('not' in t) s = `NOT (${render(t.not, extra)})`;
    else
        s = t.parts
            .map((p) => ('op' in p || 'not' in p ? `(${render(p, extra)})` : render(p, extra)))
            .join(` ${t.op} `);
    return extra() ? `(${s})` : s;
}

function evaluate(t: Tree, u: Row): boolean {
    if ('atom' in t) return ATOMS[t.atom][1](u);
    if ('not' in t) return !evaluate(t.not, u);
    return t.op === 'AND' ? t.parts.every((p) => evaluate(p, u)) : t.parts.some((p) => evaluate(p, u));
}

describe('WHERE structure', () => {
    it('when a random AND/OR/NOT tree is queried, then the org returns the users the tree selects', () => {
        fc.assert(
            fc.property(tree, fc.array(fc.boolean(), { minLength: 1, maxLength: 40 }), (t, coins) => {
                let i = 0;
                const where = render(t, () => coins[i++ % coins.length] && i % 3 === 0);
                const result = runQuery(
                    {
                        schema,
                        store,
                        now: Date.now(),
                        timeZone: 'America/Los_Angeles',
                        includeDeleted: false,
                        apiVersion: '62.0'
                    },
                    `SELECT Id FROM User WHERE ${where}`
                );
                const got = new Set(result.page(0, result.totalSize).map((r) => r.Id));
                const expected = users.filter((u) => evaluate(t, u)).map((u) => u.Id);
                expect(got.size).toBe(expected.length);
                for (const id of expected) expect(got.has(id)).toBe(true);
            }),
            { numRuns: 150 }
        );
    });
});
