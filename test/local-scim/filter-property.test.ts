/**
 * The filter parser and evaluator against a reference: random boolean trees of comparisons (and, or,
 * not, parentheses only where precedence needs them or at random, operators and attribute names in random
 * case) rendered as RFC 7644 filter text, evaluated on random users, compared with the tree evaluated
 * directly with RFC 7643's caseExact rules (userName and title ignore case, externalId does not).
 */
import fc from 'fast-check';
import { matches, parseFilter } from '../../service/src/local-scim/filter';
import { RESOURCE_SCHEMAS } from '../../service/src/local-scim/schemas';

interface TestUser {
    userName: string;
    externalId?: string;
    title?: string;
    active: boolean;
}

type Attr = 'userName' | 'externalId' | 'title' | 'active';
type Tree =
    | { kind: 'cmp'; attr: Attr; op: 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'pr'; value: string | boolean }
    | { kind: 'and' | 'or'; left: Tree; right: Tree }
    | { kind: 'not'; child: Tree };

const CASE_EXACT: Record<Attr, boolean> = { userName: false, externalId: true, title: false, active: false };
const WORDS = ['ada', 'ADA', 'Ada.Lovelace', 'bob', 'b"ob', 'x\\y', 'lace', 'A'];

function reference(t: Tree, u: TestUser): boolean {
    switch (t.kind) {
        case 'and':
            return reference(t.left, u) && reference(t.right, u);
        case 'or':
            return reference(t.left, u) || reference(t.right, u);
        case 'not':
            return !reference(t.child, u);
        case 'cmp': {
            const v = u[t.attr];
            if (t.op === 'pr') return v !== undefined && v !== '';
            if (typeof t.value === 'boolean') {
                const eq = v === t.value;
                return t.op === 'ne' ? !eq : eq;
            }
            if (typeof v !== 'string') return t.op === 'ne';
            const fold = (s: string) => (CASE_EXACT[t.attr] ? s : s.toLowerCase());
            const a = fold(v);
            const b = fold(t.value);
            switch (t.op) {
                case 'eq':
                    return a === b;
                case 'ne':
                    return a !== b;
                case 'co':
                    return a.includes(b);
                case 'sw':
                    return a.startsWith(b);
                case 'ew':
                    return a.endsWith(b);
            }
        }
    }
}

const randomCase = (s: string, flips: boolean[]) =>
    [...s].map((c, i) => (flips[i % flips.length] ? c.toUpperCase() : c.toLowerCase())).join('');

function render(t: Tree, flips: boolean[], extraParens: boolean[], depth = 0): string {
    const word = (w: string) => randomCase(w, flips.slice(depth % flips.length).concat(flips));
    const paren = (s: string, needed: boolean) =>
        needed || extraParens[depth % extraParens.length] ? `(${s})` : s;
    switch (t.kind) {
        case 'cmp': {
            const attr = word(t.attr);
            if (t.op === 'pr') return `${attr} ${word('pr')}`;
            return `${attr} ${word(t.op)} ${JSON.stringify(t.value)}`;
        }
        case 'not':
            return `${word('not')} (${render(t.child, flips, extraParens, depth + 1)})`;
        case 'and': {
            // An `or` under an `and` needs parentheses: `and` binds tighter.
            const side = (c: Tree) => paren(render(c, flips, extraParens, depth + 1), c.kind === 'or');
            return `${side(t.left)} ${word('and')} ${side(t.right)}`;
        }
        case 'or': {
            const side = (c: Tree) => paren(render(c, flips, extraParens, depth + 1), false);
            return `${side(t.left)} ${word('or')} ${side(t.right)}`;
        }
    }
}

const cmp: fc.Arbitrary<Tree> = fc.oneof(
    fc.record({
        kind: fc.constant('cmp' as const),
        attr: fc.constantFrom<Attr>('userName', 'externalId', 'title'),
        op: fc.constantFrom('eq', 'ne', 'co', 'sw', 'ew', 'pr') as fc.Arbitrary<
            'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'pr'
        >,
        value: fc.constantFrom(...WORDS)
    }),
    fc.record({
        kind: fc.constant('cmp' as const),
        attr: fc.constant<Attr>('active'),
        op: fc.constantFrom('eq', 'ne', 'pr') as fc.Arbitrary<'eq' | 'ne' | 'pr'>,
        value: fc.boolean()
    })
);

const tree: fc.Arbitrary<Tree> = fc.letrec<{ t: Tree }>((tie) => ({
    t: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        cmp,
        fc.record({ kind: fc.constantFrom('and' as const, 'or' as const), left: tie('t'), right: tie('t') }),
        fc.record({ kind: fc.constant('not' as const), child: tie('t') })
    )
})).t;

const user: fc.Arbitrary<TestUser> = fc.record(
    {
        userName: fc.constantFrom(...WORDS, 'ada.lovelace@x', 'Bob'),
        externalId: fc.constantFrom(...WORDS),
        title: fc.constantFrom(...WORDS, ''),
        active: fc.boolean()
    },
    { requiredKeys: ['userName', 'active'] }
);

test('when random filters are evaluated on random users, then the answer is the reference evaluation of the same tree', () => {
    const rs = RESOURCE_SCHEMAS.User;
    fc.assert(
        fc.property(
            tree,
            fc.array(user, { minLength: 1, maxLength: 6 }),
            fc.array(fc.boolean(), { minLength: 1, maxLength: 7 }),
            fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
            (t, users, flips, extraParens) => {
                const text = render(t, flips, extraParens);
                const filter = parseFilter(text, rs);
                for (const u of users) {
                    const resource = { ...u } as Record<string, unknown>;
                    if (matches(filter, resource, rs) !== reference(t, u))
                        throw new Error(
                            `${text} on ${JSON.stringify(u)}: expected ${String(reference(t, u))}`
                        );
                }
            }
        ),
        { numRuns: 400 }
    );
});
