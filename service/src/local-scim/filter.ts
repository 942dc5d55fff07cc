/**
 * SCIM filters (RFC 7644 §3.4.2.2): parsing and evaluation against a stored resource.
 *
 * Grammar (precedence: `not` binds tighter than `and`, `and` tighter than `or`):
 *   FILTER    = attrExp / logExp / valuePath / "not" "(" FILTER ")" / "(" FILTER ")"
 *   valuePath = attrPath "[" valFilter "]"
 *   attrExp   = attrPath "pr" / attrPath compareOp compValue
 *   compValue = false / null / true / number / string (JSON)
 * Attribute names are case-insensitive; string comparisons follow the attribute's `caseExact`
 * (RFC 7643 §2.2 / §7): userName, emails.value and Group displayName ignore case, id and externalId do
 * not. A multi-valued attribute matches when any of its values does; a complex multi-valued attribute
 * without a sub-attribute compares its `value`s.
 */
import { invalidFilter } from './errors';
import {
    containerOf,
    defsOf,
    findDef,
    getAttr,
    parseAttrPath,
    PathError,
    type AttributeDef,
    type AttrPath,
    type ResourceSchema
} from './schemas';

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
type Literal = string | number | boolean | null;

export type Filter =
    | { kind: 'and' | 'or'; left: Filter; right: Filter }
    | { kind: 'not'; filter: Filter }
    | { kind: 'compare'; path: AttrPath; op: CompareOp; value: Literal }
    | { kind: 'present'; path: AttrPath }
    | { kind: 'valuePath'; path: AttrPath; filter: Filter };

const COMPARE_OPS = new Set<string>(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']);

type Token =
    | { t: 'word'; v: string; at: number }
    | { t: 'string'; v: string; at: number }
    | { t: '(' | ')' | '[' | ']'; at: number };

function tokenize(text: string): Token[] {
    const tokens: Token[] = [];
    let i = 0;
    while (i < text.length) {
        const c = text[i];
        if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
            i++;
        } else if (c === '(' || c === ')' || c === '[' || c === ']') {
            tokens.push({ t: c, at: i });
            i++;
        } else if (c === '"') {
            let j = i + 1;
            while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
            if (j >= text.length) throw invalidFilter(`unterminated string at position ${i + 1}`);
            let value: string;
            try {
                value = JSON.parse(text.slice(i, j + 1)) as string;
            } catch {
                throw invalidFilter(`invalid string at position ${i + 1}`);
            }
            tokens.push({ t: 'string', v: value, at: i });
            i = j + 1;
        } else {
            let j = i;
            while (j < text.length && !' \t\r\n()[]"'.includes(text[j])) j++;
            tokens.push({ t: 'word', v: text.slice(i, j), at: i });
            i = j;
        }
    }
    return tokens;
}

class Parser {
    private pos = 0;
    constructor(
        private readonly tokens: Token[],
        private readonly rs: ResourceSchema
    ) {}

    parse(): Filter {
        if (this.tokens.length === 0) throw invalidFilter('the filter is empty');
        const f = this.or(undefined);
        if (this.pos < this.tokens.length) this.fail('unexpected', this.tokens[this.pos]);
        return f;
    }

    /** A value filter (inside a PATCH path's brackets): its attribute names are `parent`'s sub-attributes. */
    parseWithin(parent: AttributeDef): Filter {
        if (this.tokens.length === 0) throw invalidFilter('the value filter is empty');
        const f = this.or(parent);
        if (this.pos < this.tokens.length) this.fail('unexpected', this.tokens[this.pos]);
        return f;
    }

    private peek(): Token | undefined {
        return this.tokens[this.pos];
    }

    private isWord(tok: Token | undefined, word: string): boolean {
        return tok?.t === 'word' && tok.v.toLowerCase() === word;
    }

    private fail(what: string, tok: Token | undefined): never {
        const text =
            tok === undefined
                ? 'end of filter'
                : tok.t === 'word' || tok.t === 'string'
                  ? `"${tok.v}"`
                  : tok.t;
        throw invalidFilter(`${what} ${text}${tok ? ` at position ${tok.at + 1}` : ''}`);
    }

    private expect(t: ')' | ']'): void {
        const tok = this.peek();
        if (tok?.t !== t) this.fail(`expected "${t}", found`, tok);
        this.pos++;
    }

    /** `parent`: the multi-valued attribute whose sub-attributes a value filter names. */
    private or(parent: AttributeDef | undefined): Filter {
        let left = this.and(parent);
        while (this.isWord(this.peek(), 'or')) {
            this.pos++;
            left = { kind: 'or', left, right: this.and(parent) };
        }
        return left;
    }

    private and(parent: AttributeDef | undefined): Filter {
        let left = this.not(parent);
        while (this.isWord(this.peek(), 'and')) {
            this.pos++;
            left = { kind: 'and', left, right: this.not(parent) };
        }
        return left;
    }

    private not(parent: AttributeDef | undefined): Filter {
        if (this.isWord(this.peek(), 'not') && this.tokens[this.pos + 1]?.t === '(') {
            this.pos += 2;
            const filter = this.or(parent);
            this.expect(')');
            return { kind: 'not', filter };
        }
        return this.atom(parent);
    }

    private atom(parent: AttributeDef | undefined): Filter {
        const tok = this.peek();
        if (tok?.t === '(') {
            this.pos++;
            const f = this.or(parent);
            this.expect(')');
            return f;
        }
        if (tok?.t !== 'word') this.fail('expected an attribute, found', tok);
        this.pos++;
        const path = this.path(tok.v, parent);
        const next = this.peek();
        if (next?.t === '[') {
            if (parent) this.fail('value filters do not nest:', next);
            if (path.subAttribute)
                this.fail('a value filter follows an attribute, not a sub-attribute:', tok);
            this.pos++;
            const { def } = defsOf(path, this.rs);
            const inner = this.or(def ?? UNKNOWN_COMPLEX);
            this.expect(']');
            return { kind: 'valuePath', path, filter: inner };
        }
        if (next?.t !== 'word') this.fail('expected an operator, found', next);
        this.pos++;
        const op = next.v.toLowerCase();
        if (op === 'pr') return { kind: 'present', path };
        if (!COMPARE_OPS.has(op)) this.fail('unknown operator', next);
        const value = this.literal();
        const f: Filter = { kind: 'compare', path, op: op as CompareOp, value };
        this.check(f, parent);
        return f;
    }

    private path(text: string, parent: AttributeDef | undefined): AttrPath {
        if (parent) {
            if (!/^[A-Za-z$][\w$-]*$/.test(text))
                throw invalidFilter(`"${text}" is not a sub-attribute name`);
            return { attribute: text };
        }
        try {
            return parseAttrPath(text, this.rs);
        } catch (e) {
            throw invalidFilter(e instanceof PathError ? e.message : String(e));
        }
    }

    private literal(): Literal {
        const tok = this.peek();
        this.pos++;
        if (tok?.t === 'string') return tok.v;
        if (tok?.t === 'word') {
            const w = tok.v;
            if (w === 'true') return true;
            if (w === 'false') return false;
            if (w === 'null') return null;
            if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(w)) return Number(w);
        }
        return this.fail('expected a value (a quoted string, a number, true, false or null), found', tok);
    }

    /** RFC 7644 §3.4.2.2: ordering operators on booleans fail with invalidFilter; so do substring ones on non-strings. */
    private check(f: Extract<Filter, { kind: 'compare' }>, parent: AttributeDef | undefined): void {
        const def = leafDef(f.path, this.rs, parent);
        if (
            ['gt', 'ge', 'lt', 'le'].includes(f.op) &&
            (def?.type === 'boolean' || typeof f.value === 'boolean')
        )
            throw invalidFilter(`"${f.op}" does not apply to the boolean attribute ${pathText(f.path)}`);
        if (['co', 'sw', 'ew'].includes(f.op) && typeof f.value !== 'string')
            throw invalidFilter(`"${f.op}" needs a string value`);
        if (['gt', 'ge', 'lt', 'le'].includes(f.op) && f.value === null)
            throw invalidFilter(`"${f.op}" needs a value, not null`);
    }
}

const UNKNOWN_COMPLEX: AttributeDef = {
    name: '',
    type: 'complex',
    multiValued: true,
    description: '',
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
    subAttributes: []
};

function pathText(p: AttrPath): string {
    return `${p.extension ? `${p.extension}:` : ''}${p.attribute}${p.subAttribute ? `.${p.subAttribute}` : ''}`;
}

/** The definition of the values a path compares: the sub-attribute, or a complex attribute's `value`. */
function leafDef(
    path: AttrPath,
    rs: ResourceSchema,
    parent: AttributeDef | undefined
): AttributeDef | undefined {
    if (parent) return findDef(parent.subAttributes, path.attribute);
    const { def, sub } = defsOf(path, rs);
    if (path.subAttribute) return sub;
    if (def?.type === 'complex') return findDef(def.subAttributes, 'value');
    return def;
}

export function parseFilter(text: string, rs: ResourceSchema): Filter {
    return new Parser(tokenize(text), rs).parse();
}

/** Parses the inside of a PATCH path's brackets: a filter over `parent`'s sub-attributes. */
export function parseValueFilter(text: string, rs: ResourceSchema, parent: AttributeDef | undefined): Filter {
    return new Parser(tokenize(text), rs).parseWithin(parent ?? UNKNOWN_COMPLEX);
}

function valuesAt(
    obj: Record<string, unknown>,
    path: AttrPath,
    rs: ResourceSchema,
    parent: AttributeDef | undefined
): unknown[] {
    const container = parent ? obj : containerOf(obj, path, false);
    if (!container) return [];
    const v = getAttr(container, path.attribute);
    if (v === undefined || v === null) return [];
    const list = Array.isArray(v) ? v : [v];
    if (path.subAttribute) return list.map((e) => getAttr(e, path.subAttribute as string)).flat();
    if (list.some((e) => e !== null && typeof e === 'object')) return list.map((e) => getAttr(e, 'value'));
    return list;
}

function compareOne(
    actual: unknown,
    op: CompareOp,
    expected: Literal,
    def: AttributeDef | undefined
): boolean {
    if (actual === undefined || actual === null) return expected === null && op === 'eq';
    if (expected === null) return false;
    if (typeof expected === 'boolean' || typeof actual === 'boolean') {
        return op === 'eq' && actual === expected;
    }
    if (typeof expected === 'number') {
        const n = typeof actual === 'number' ? actual : Number(actual);
        if (Number.isNaN(n)) return false;
        return ordered(op, n === expected ? 0 : n < expected ? -1 : 1);
    }
    if (typeof actual !== 'string') return false;
    if (def?.type === 'dateTime' && ['eq', 'gt', 'ge', 'lt', 'le'].includes(op)) {
        const a = Date.parse(actual);
        const b = Date.parse(expected);
        if (!Number.isNaN(a) && !Number.isNaN(b)) return ordered(op, a === b ? 0 : a < b ? -1 : 1);
    }
    const exact = def?.caseExact ?? false;
    const a = exact ? actual : actual.toLowerCase();
    const b = exact ? expected : expected.toLowerCase();
    switch (op) {
        case 'co':
            return a.includes(b);
        case 'sw':
            return a.startsWith(b);
        case 'ew':
            return a.endsWith(b);
        default:
            return ordered(op, a === b ? 0 : a < b ? -1 : 1);
    }
}

function ordered(op: CompareOp, c: number): boolean {
    switch (op) {
        case 'eq':
            return c === 0;
        case 'gt':
            return c > 0;
        case 'ge':
            return c >= 0;
        case 'lt':
            return c < 0;
        case 'le':
            return c <= 0;
        default:
            return false;
    }
}

function present(v: unknown): boolean {
    if (v === undefined || v === null || v === '') return false;
    if (Array.isArray(v)) return v.some(present);
    if (typeof v === 'object') return Object.values(v as object).some(present);
    return true;
}

export function matches(
    filter: Filter,
    obj: Record<string, unknown>,
    rs: ResourceSchema,
    parent?: AttributeDef
): boolean {
    switch (filter.kind) {
        case 'and':
            return matches(filter.left, obj, rs, parent) && matches(filter.right, obj, rs, parent);
        case 'or':
            return matches(filter.left, obj, rs, parent) || matches(filter.right, obj, rs, parent);
        case 'not':
            return !matches(filter.filter, obj, rs, parent);
        case 'present':
            return valuesAt(obj, filter.path, rs, parent).some(present);
        case 'compare': {
            const def = leafDef(filter.path, rs, parent);
            const values = valuesAt(obj, filter.path, rs, parent);
            if (filter.op === 'ne') return !values.some((v) => compareOne(v, 'eq', filter.value, def));
            if (values.length === 0) return compareOne(undefined, filter.op, filter.value, def);
            return values.some((v) => compareOne(v, filter.op, filter.value, def));
        }
        case 'valuePath': {
            const container = containerOf(obj, filter.path, false);
            const v = container ? getAttr(container, filter.path.attribute) : undefined;
            const elements = Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
            const { def } = defsOf(filter.path, rs);
            return elements.some(
                (e) =>
                    e !== null &&
                    typeof e === 'object' &&
                    matches(filter.filter, e as Record<string, unknown>, rs, def ?? UNKNOWN_COMPLEX)
            );
        }
    }
}

/**
 * The value a filter requires `attribute` (a core, single-valued attribute) to equal, when every match
 * must have it: `userName eq "x"`, alone or as one side of an `and`. The store answers such a filter
 * from an index instead of a scan.
 */
export function requiredEquality(filter: Filter, attribute: string): string | undefined {
    if (filter.kind === 'compare') {
        const p = filter.path;
        return filter.op === 'eq' &&
            !p.extension &&
            !p.subAttribute &&
            p.attribute.toLowerCase() === attribute.toLowerCase() &&
            typeof filter.value === 'string'
            ? filter.value
            : undefined;
    }
    if (filter.kind === 'and')
        return requiredEquality(filter.left, attribute) ?? requiredEquality(filter.right, attribute);
    return undefined;
}
