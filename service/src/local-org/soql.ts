/**
 * SOQL, evaluated here on the org's records: the query is parsed by @jetstreamapp/soql-parser-js and
 * every clause is interpreted with Salesforce's documented semantics (see docs/local-org.md). This is
 * deliberately independent of the provisioning engine's own evaluator.
 */
import { parseQuery } from '@jetstreamapp/soql-parser-js';
import type { FieldDef, ObjectDef, Schema } from './schema';
import { isStringType } from './schema';
import type { Row, Store, Table } from './store';
import { SalesforceError } from './errors';
import { to18 } from './ids';
import {
    dateLiteralRange,
    formatDateTime,
    isDate,
    isKnownDateLiteral,
    localDate,
    normalizeDateTime,
    startOfLocalDay,
    ymdString
} from './time';

export interface QueryContext {
    schema: Schema;
    store: Store;
    now: number;
    /** The querying user's time zone: date literals are whole days there. */
    timeZone: string;
    /** The first day of the querying user's week (0 = Sunday, the default; 1 = Monday). */
    weekStartsOn?: number;
    includeDeleted: boolean;
    apiVersion: string;
}

export interface QueryResult {
    totalSize: number;
    /** Matching records `from`..`from + size` in order (found lazily); `project` gives their JSON form. */
    page: (from: number, size: number) => Row[];
    project: (row: Row) => Record<string, unknown>;
    /**
     * The selected fields in SELECT order, each with its column name as the Bulk API writes it
     * (`Profile.Name` for a parent field) and a reader.
     */
    columns: QueryColumn[];
    /** Aggregate queries: the finished records. */
    aggregate?: Array<Record<string, unknown>>;
}

export interface QueryColumn {
    name: string;
    type: string;
    get: (row: Row) => unknown;
}

/* The parser's output, as far as it is read here. */
interface ParsedField {
    type: string;
    field?: string;
    relationships?: string[];
    functionName?: string;
    parameters?: unknown[];
    isAggregateFn?: boolean;
    alias?: string;
    rawValue?: string;
    subquery?: unknown;
}
interface ParsedCondition {
    field?: string;
    fn?: unknown;
    operator: string;
    literalType?: string | string[];
    value?: string | string[];
    valueQuery?: ParsedQuery;
    openParen?: number;
    closeParen?: number;
    dateLiteralVariable?: number | number[];
}
interface ParsedWhere {
    left: ParsedCondition | null;
    operator?: string;
    right?: ParsedWhere;
}
interface ParsedOrderBy {
    field?: string;
    fn?: unknown;
    order?: string;
    nulls?: string;
}
interface ParsedQuery {
    fields?: ParsedField[];
    sObject?: string;
    where?: ParsedWhere;
    orderBy?: ParsedOrderBy | ParsedOrderBy[];
    groupBy?: { field?: string; fn?: unknown } | Array<{ field?: string; fn?: unknown }>;
    having?: unknown;
    limit?: number;
    offset?: number;
    withSecurityEnforced?: boolean;
}

// ---- errors in Salesforce's format ----------------------------------------------------------

/** `\n<query line>\n<caret>\nERROR at Row:r:Column:c\n<text>`, the caret under the offending token. */
export function queryError(
    errorCode: string,
    soql: string,
    needle: string | number,
    text: string
): SalesforceError {
    let index = typeof needle === 'number' ? needle : -1;
    if (typeof needle === 'string' && needle !== '') {
        const re = new RegExp(
            `(^|[^A-Za-z0-9_.])(${needle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')})(?![A-Za-z0-9_])`,
            'i'
        );
        const m = re.exec(soql);
        index = m ? m.index + m[1].length : soql.toLowerCase().indexOf(needle.toLowerCase());
    }
    if (index < 0) index = 0;
    const before = soql.slice(0, index).split('\n');
    const row = before.length;
    const col = before[before.length - 1].length + 1;
    const line = soql.split('\n')[row - 1];
    return new SalesforceError(
        400,
        errorCode,
        `\n${line}\n${' '.repeat(col - 1)}^\nERROR at Row:${row}:Column:${col}\n${text}`
    );
}

function noSuchColumn(soql: string, name: string, objectName: string): SalesforceError {
    return queryError(
        'INVALID_FIELD',
        soql,
        name,
        `No such column '${name.split('.').pop()}' on entity '${objectName}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`
    );
}

// ---- field paths ------------------------------------------------------------------------------

interface Hop {
    field: FieldDef;
    /** The target table; undefined for polymorphic lookups (resolved by id prefix). */
    table: Table | undefined;
    target: ObjectDef;
}

interface ResolvedPath {
    hops: Hop[];
    field: FieldDef;
    object: ObjectDef;
    get: (row: Row) => unknown;
    getParent: (row: Row, depth: number) => Row | undefined;
}

const getterCache = new Map<string, (row: Row) => unknown>();

/**
 * A getter compiled for one field name: each has its own property-load site, so reading one field
 * over 100,000s of records stays monomorphic (a shared `row[name]` site goes megamorphic and slow).
 */
function fieldGetter(field: FieldDef): (row: Row) => unknown {
    const key = `${field.name}:${field.type === 'boolean'}`;
    let getter = getterCache.get(key);
    if (!getter) {
        getter = new Function(
            'row',
            field.type === 'boolean'
                ? `return row[${JSON.stringify(field.name)}] === true;`
                : `const v = row[${JSON.stringify(field.name)}]; return v === undefined ? null : v;`
        ) as (row: Row) => unknown;
        getterCache.set(key, getter);
    }
    return getter;
}

function valueOf(row: Row, field: FieldDef): unknown {
    const v = row[field.name];
    if (v === undefined || v === null) return field.type === 'boolean' ? false : null;
    return v;
}

function resolvePath(ctx: QueryContext, base: ObjectDef, raw: string, soql: string): ResolvedPath {
    const parts = raw.split('.');
    if (
        parts.length > 1 &&
        parts[0].toLowerCase() === base.name.toLowerCase() &&
        !base.relationships.has(parts[0].toLowerCase())
    ) {
        parts.shift();
    }
    const hops: Hop[] = [];
    let obj = base;
    for (const part of parts.slice(0, -1)) {
        const rel = obj.relationships.get(part.toLowerCase());
        if (!rel) {
            throw queryError(
                'INVALID_FIELD',
                soql,
                raw,
                `Didn't understand relationship '${part}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.`
            );
        }
        const last = parts[parts.length - 1].toLowerCase();
        const candidates = rel.referenceTo
            .map((n) => ctx.schema.objects.get(n))
            .filter((o): o is ObjectDef => !!o);
        const target = candidates.find((o) => o.byLower.has(last)) ?? candidates[0];
        if (!target) throw noSuchColumn(soql, raw, obj.name);
        hops.push({
            field: rel,
            table: rel.referenceTo.length === 1 ? ctx.store.table(target.name) : undefined,
            target
        });
        obj = target;
    }
    const field = obj.byLower.get(parts[parts.length - 1].toLowerCase());
    if (!field) throw noSuchColumn(soql, raw, obj.name);
    const getParent = (row: Row, depth: number): Row | undefined => {
        let current: Row | undefined = row;
        for (let i = 0; i < depth && current; i++) {
            const hop = hops[i];
            const id: unknown = current[hop.field.name];
            if (typeof id !== 'string') return undefined;
            current = hop.table ? hop.table.rows.get(id) : ctx.store.find(id)?.row;
        }
        return current;
    };
    const read = fieldGetter(field);
    // A parent field on a record without that parent is null, except a boolean, which is never null:
    // "Boolean fields on outer-joined objects are treated as false when no records match the query"
    // (null Values in Lookup Relationships and Outer Joins).
    const missing = field.type === 'boolean' ? false : null;
    const firstHop = hops[0];
    const readRef = firstHop ? fieldGetter(firstHop.field) : undefined;
    const get =
        hops.length === 0
            ? read
            : hops.length === 1 && firstHop.table && readRef
              ? (row: Row) => {
                    const id = readRef(row);
                    const parent = typeof id === 'string' ? firstHop.table!.rows.get(id) : undefined;
                    return parent ? read(parent) : missing;
                }
              : (row: Row) => {
                    const parent = getParent(row, hops.length);
                    return parent ? read(parent) : missing;
                };
    return { hops, field, object: obj, get, getParent };
}

// ---- literals ---------------------------------------------------------------------------------

const SIMPLE_ESCAPES: Record<string, string> = {
    n: '\n',
    N: '\n',
    r: '\r',
    R: '\r',
    t: '\t',
    T: '\t',
    b: '\b',
    B: '\b',
    f: '\f',
    F: '\f',
    '"': '"',
    "'": "'",
    '\\': '\\'
};

/** A quoted SOQL string to its value; for LIKE, also the regular expression it matches. */
function unquote(raw: string, soql: string, forLike: boolean): { value: string; regex?: RegExp } {
    const body = raw.startsWith("'") && raw.endsWith("'") ? raw.slice(1, -1) : raw;
    let value = '';
    let regex = '';
    for (let i = 0; i < body.length; i++) {
        const c = body[i];
        if (c === '\\') {
            const next = body[++i];
            if (next !== undefined && next in SIMPLE_ESCAPES) {
                value += SIMPLE_ESCAPES[next];
                regex += SIMPLE_ESCAPES[next].replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
            } else if (next === 'u' && /^[0-9A-Fa-f]{4}$/.test(body.slice(i + 1, i + 5))) {
                // \uXXXX: "A Unicode character with XXXX as the code".
                const character = String.fromCharCode(parseInt(body.slice(i + 1, i + 5), 16));
                i += 4;
                value += character;
                regex += character.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
            } else if (forLike && (next === '%' || next === '_')) {
                value += next;
                regex += next;
            } else {
                throw queryError(
                    'MALFORMED_QUERY',
                    soql,
                    raw,
                    `Invalid string literal '${body}'. Illegal escape sequence '\\${next ?? ''}'`
                );
            }
        } else if (forLike && c === '%') {
            value += c;
            regex += '.*';
        } else if (forLike && c === '_') {
            value += c;
            regex += '.';
        } else {
            value += c;
            regex += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        }
    }
    return forLike ? { value, regex: new RegExp(`^${regex}$`, 'isu') } : { value };
}

type Kind = 'text' | 'id' | 'multi' | 'bool' | 'number' | 'date' | 'datetime';

function kindOf(field: FieldDef): Kind {
    if (field.type === 'multipicklist') return 'multi';
    if (field.type === 'id' || field.type === 'reference') return 'id';
    if (isStringType(field.type)) return 'text';
    if (field.type === 'boolean') return 'bool';
    if (field.type === 'date') return 'date';
    if (field.type === 'datetime') return 'datetime';
    return 'number';
}

const KIND_NAMES: Record<Kind, string> = {
    text: 'string',
    id: 'id',
    multi: 'string',
    bool: 'boolean',
    number: 'double',
    date: 'date',
    datetime: 'dateTime'
};

/** A comparable value, or a date-literal range [start, end). */
type Operand =
    | { kind: 'value'; value: string | number | boolean | null }
    | { kind: 'range'; start: string; end: string };

// ---- WHERE --------------------------------------------------------------------------------------

type Predicate = (row: Row) => boolean;
type Token = '(' | ')' | 'AND' | 'OR' | 'NOT' | ParsedCondition;

/**
 * The parser nests conditions to the right whatever the parentheses, and records them as open/close
 * counts on the conditions (or on a field-less placeholder before a NOT); this puts them back in order
 * as tokens, which WhereCompiler parses with NOT > AND > OR precedence.
 */
function flattenWhere(node: ParsedWhere | undefined, out: Token[]): void {
    if (!node) return;
    const left = node.left;
    if (left) {
        for (let i = 0; i < (left.openParen ?? 0); i++) out.push('(');
        if (left.field !== undefined || left.fn !== undefined) out.push(left);
        for (let i = 0; i < (left.closeParen ?? 0); i++) out.push(')');
    }
    if (node.operator && node.right) {
        out.push(node.operator.toUpperCase() as 'AND' | 'OR' | 'NOT');
        flattenWhere(node.right, out);
    }
}

const CLAUSE_WORDS = new Set(['ORDER', 'GROUP', 'LIMIT', 'OFFSET', 'HAVING', 'WITH', 'FOR', 'UPDATE']);

type StructureToken = '(' | ')' | 'AND' | 'OR' | 'NOT' | 'COND';

/** The WHERE clause's tokens, each with its index in the text; a condition's with its end too. */
interface WhereStructure {
    tokens: StructureToken[];
    at: number[];
    /** For each COND, in order: [start, end) in the text. */
    conditions: Array<[number, number]>;
}

/**
 * The WHERE clause's logical structure read from the text itself: the parser loses a NOT in chains
 * like `NOT (NOT (x))`, so the order of `( ) AND OR NOT` comes from here and each condition (`COND`)
 * from the parser, in source order. Undefined when the text can't be read this way.
 */
function whereStructure(soql: string): WhereStructure | undefined {
    const n = soql.length;
    const isWordChar = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_.:]/.test(c);
    const skipString = (i: number): number => {
        for (let j = i + 1; j < n; j++) {
            if (soql[j] === '\\') j++;
            else if (soql[j] === "'") return j + 1;
        }
        return n;
    };
    const wordAt = (i: number): string => {
        let j = i;
        while (isWordChar(soql[j])) j++;
        return soql.slice(i, j);
    };
    // Find the top-level WHERE.
    let i = 0;
    let depth = 0;
    let start = -1;
    while (i < n) {
        const c = soql[i];
        if (c === "'") i = skipString(i);
        else if (c === '(' || c === ')') {
            depth += c === '(' ? 1 : -1;
            i++;
        } else if (isWordChar(c)) {
            const w = wordAt(i);
            if (depth === 0 && w.toUpperCase() === 'WHERE' && !isWordChar(soql[i - 1])) {
                start = i + w.length;
                break;
            }
            i += w.length;
        } else i++;
    }
    if (start < 0) return undefined;
    const tokens: StructureToken[] = [];
    const at: number[] = [];
    const conditions: Array<[number, number]> = [];
    const push = (token: StructureToken, index: number): void => {
        tokens.push(token);
        at.push(index);
    };
    let group = 0;
    let expectingFactor = true;
    i = start;
    while (i < n) {
        const c = soql[i];
        if (/\s/.test(c)) {
            i++;
            continue;
        }
        if (expectingFactor && c === '(') {
            push('(', i);
            group++;
            i++;
            continue;
        }
        if (!expectingFactor && c === ')') {
            if (group === 0) return undefined;
            push(')', i);
            group--;
            i++;
            continue;
        }
        const w = isWordChar(c) ? wordAt(i).toUpperCase() : '';
        if (expectingFactor && w === 'NOT') {
            push('NOT', i);
            i += 3;
            continue;
        }
        if (!expectingFactor && (w === 'AND' || w === 'OR')) {
            push(w, i);
            expectingFactor = true;
            i += w.length;
            continue;
        }
        if (!expectingFactor && group === 0 && CLAUSE_WORDS.has(w)) break;
        if (!expectingFactor) return undefined;
        // A condition: up to a grouping ')', a top-level AND/OR or clause word, or the end.
        const conditionStart = i;
        let nested = 0;
        while (i < n) {
            const d = soql[i];
            if (d === "'") {
                i = skipString(i);
                continue;
            }
            if (d === '(') nested++;
            else if (d === ')') {
                if (nested === 0) break;
                nested--;
            } else if (nested === 0 && isWordChar(d) && !isWordChar(soql[i - 1])) {
                const word = wordAt(i);
                const upper = word.toUpperCase();
                if (upper === 'AND' || upper === 'OR' || (group === 0 && CLAUSE_WORDS.has(upper))) break;
                i += word.length;
                continue;
            }
            i++;
        }
        push('COND', conditionStart);
        conditions.push([conditionStart, i]);
        expectingFactor = false;
    }
    return group === 0 ? { tokens, at, conditions } : undefined;
}

/** The text of a semi-join's sub-select in a condition (`Id IN (SELECT … )`), with its index. */
function subSelectText(
    soql: string,
    [start, end]: [number, number]
): { text: string; offset: number } | undefined {
    const open = soql.slice(start, end).search(/\(\s*SELECT\b/i);
    const close = soql.lastIndexOf(')', end - 1);
    if (open < 0 || close <= start + open) return undefined;
    return { text: soql.slice(start + open + 1, close), offset: start + open + 1 };
}

class WhereCompiler {
    private tokens: Token[] = [];
    /** Each token's index in the query text, when the structure was read from the text. */
    private at: Array<number | undefined> = [];
    /** Each semi-join condition's sub-select text and its index in the query text. */
    private subSelects = new Map<ParsedCondition, { text: string; offset: number }>();
    private pos = 0;

    constructor(
        private readonly ctx: QueryContext,
        private readonly obj: ObjectDef,
        private readonly soql: string
    ) {}

    /** `text` is the query (or sub-select) the WHERE is read from, `offset` its index in `soql`. */
    compile(where: ParsedWhere, text?: string, offset = 0): Predicate {
        flattenWhere(where, this.tokens);
        const conditions = this.tokens.filter((t): t is ParsedCondition => typeof t !== 'string');
        const structure = text === undefined ? undefined : whereStructure(text);
        if (structure && structure.conditions.length === conditions.length && text !== undefined) {
            let next = 0;
            this.tokens = structure.tokens.map((t) => (t === 'COND' ? conditions[next++] : t));
            this.at = structure.at.map((index) => index + offset);
            structure.conditions.forEach((range, index) => {
                const sub = conditions[index].valueQuery ? subSelectText(text, range) : undefined;
                if (sub)
                    this.subSelects.set(conditions[index], { text: sub.text, offset: offset + sub.offset });
            });
        }
        const p = this.parseGroup();
        if (this.pos !== this.tokens.length)
            throw queryError('MALFORMED_QUERY', this.soql, 'WHERE', 'unexpected token in WHERE');
        return p;
    }

    /**
     * Terms joined by one operator. SOQL has no precedence between AND and OR: "Parentheses are
     * required whenever you mix the operators" (SOQL reference, Logical Operators), and Salesforce
     * answers `a AND b OR c` with MALFORMED_QUERY "unexpected token: OR", the caret on the OR.
     */
    private parseGroup(): Predicate {
        const parts = [this.parseNot()];
        let joiner: 'AND' | 'OR' | undefined;
        for (;;) {
            const t = this.tokens[this.pos];
            if (t !== 'AND' && t !== 'OR') break;
            if (joiner !== undefined && t !== joiner) {
                throw queryError(
                    'MALFORMED_QUERY',
                    this.soql,
                    this.at[this.pos] ?? t,
                    `unexpected token: ${t}`
                );
            }
            joiner = t;
            this.pos++;
            parts.push(this.parseNot());
        }
        if (parts.length === 1) return parts[0];
        if (joiner === 'OR') {
            return (row) => {
                for (const p of parts) if (p(row)) return true;
                return false;
            };
        }
        return (row) => {
            for (const p of parts) if (!p(row)) return false;
            return true;
        };
    }

    private parseNot(): Predicate {
        const t = this.tokens[this.pos];
        if (t === 'NOT') {
            this.pos++;
            const inner = this.parseNot();
            return (row) => !inner(row);
        }
        if (t === '(') {
            this.pos++;
            const inner = this.parseGroup();
            if (this.tokens[this.pos] !== ')')
                throw queryError('MALFORMED_QUERY', this.soql, 'WHERE', 'unexpected token: missing )');
            this.pos++;
            return inner;
        }
        if (t === undefined || typeof t === 'string') {
            throw queryError('MALFORMED_QUERY', this.soql, 'WHERE', `unexpected token: ${String(t)}`);
        }
        this.pos++;
        return this.condition(t);
    }

    private literal(
        kind: Kind,
        field: FieldDef,
        literalType: string,
        raw: string,
        dateN: number | undefined,
        forLike: boolean
    ): Operand & { regex?: RegExp } {
        const soql = this.soql;
        const typeError = (): SalesforceError =>
            queryError(
                'INVALID_FIELD',
                soql,
                raw,
                `value of filter criterion for field '${field.name}' must be of type ${KIND_NAMES[kind]} and should ${kind === 'text' || kind === 'multi' || kind === 'id' ? '' : 'not '}be enclosed in quotes`
            );
        if (literalType === 'NULL') return { kind: 'value', value: kind === 'bool' ? false : null };
        switch (kind) {
            case 'text':
            case 'multi': {
                if (literalType !== 'STRING') throw typeError();
                const { value, regex } = unquote(raw, soql, forLike);
                return { kind: 'value', value, regex };
            }
            case 'id': {
                if (literalType !== 'STRING') throw typeError();
                const { value } = unquote(raw, soql, false);
                const id = to18(value);
                if (!id)
                    throw queryError(
                        'INVALID_QUERY_FILTER_OPERATOR',
                        soql,
                        raw,
                        `invalid ID field: ${value}`
                    );
                return { kind: 'value', value: id };
            }
            case 'bool':
                if (literalType !== 'BOOLEAN') throw typeError();
                return { kind: 'value', value: raw.toUpperCase() === 'TRUE' };
            case 'number':
                if (literalType !== 'INTEGER' && literalType !== 'DECIMAL') throw typeError();
                return { kind: 'value', value: Number(raw) };
            case 'date':
            case 'datetime': {
                if (literalType === 'DATE_LITERAL' || literalType === 'DATE_N_LITERAL') {
                    const literal = dateN === undefined ? raw : raw;
                    if (!isKnownDateLiteral(literal))
                        throw queryError('MALFORMED_QUERY', soql, raw, `unexpected token: '${raw}'`);
                    const today = localDate(this.ctx.now, this.ctx.timeZone);
                    const range = dateLiteralRange(literal, today, this.ctx.weekStartsOn ?? 0);
                    if (!range) throw queryError('MALFORMED_QUERY', soql, raw, `unexpected token: '${raw}'`);
                    if (kind === 'date')
                        return { kind: 'range', start: ymdString(range.start), end: ymdString(range.end) };
                    return {
                        kind: 'range',
                        start: formatDateTime(startOfLocalDay(range.start, this.ctx.timeZone)),
                        end: formatDateTime(startOfLocalDay(range.end, this.ctx.timeZone))
                    };
                }
                if (kind === 'date') {
                    if (literalType !== 'DATE' || !isDate(raw)) throw typeError();
                    return { kind: 'value', value: raw };
                }
                if (literalType !== 'DATETIME') throw typeError();
                const normalized = normalizeDateTime(raw);
                if (!normalized) throw typeError();
                return { kind: 'value', value: normalized };
            }
        }
    }

    private condition(cond: ParsedCondition): Predicate {
        const soql = this.soql;
        if (!cond.field)
            throw queryError(
                'MALFORMED_QUERY',
                soql,
                'WHERE',
                'functions in WHERE are not supported by the local org'
            );
        const path = resolvePath(this.ctx, this.obj, cond.field, soql);
        const field = path.field;
        if (!field.filterable) {
            throw queryError(
                'INVALID_FIELD',
                soql,
                cond.field,
                `field '${field.name}' can not be filtered in query call`
            );
        }
        const op = cond.operator.toUpperCase() === '<>' ? '!=' : cond.operator.toUpperCase();
        const kind = kindOf(field);
        const caseSensitive = kind === 'text' && field.caseSensitive && field.unique;
        const norm = (v: unknown): unknown =>
            typeof v === 'string' && kind !== 'id' && !caseSensitive ? v.toLowerCase() : v;
        const get = path.get;

        if (cond.literalType === 'SUBQUERY' || cond.valueQuery) {
            if (op !== 'IN' && op !== 'NOT IN')
                throw queryError('MALFORMED_QUERY', soql, cond.field, 'semi join only with IN / NOT IN');
            const values = runSemiJoin(
                this.ctx,
                cond.valueQuery as ParsedQuery,
                soql,
                this.subSelects.get(cond)
            );
            return op === 'IN'
                ? (row) => values.has(get(row) as string)
                : (row) => {
                      const v = get(row);
                      return v === null || !values.has(v as string);
                  };
        }

        const rawValues = Array.isArray(cond.value) ? cond.value : [cond.value ?? ''];
        const types = Array.isArray(cond.literalType)
            ? cond.literalType
            : rawValues.map(() => String(cond.literalType));
        const dateNs = Array.isArray(cond.dateLiteralVariable)
            ? cond.dateLiteralVariable
            : [cond.dateLiteralVariable];
        const operands = rawValues.map((raw, i) =>
            this.literal(kind, field, types[i] ?? types[0], raw, dateNs[i], op === 'LIKE')
        );

        if (op === 'LIKE') {
            if (kind !== 'text') {
                throw queryError(
                    'INVALID_FIELD',
                    soql,
                    cond.field,
                    `invalid operator on ${KIND_NAMES[kind]} field: LIKE`
                );
            }
            const regex = operands[0].regex;
            if (!regex || operands[0].kind !== 'value' || operands[0].value === null) return () => false;
            return (row) => {
                const v = get(row);
                return typeof v === 'string' && regex.test(v);
            };
        }
        if (op === 'INCLUDES' || op === 'EXCLUDES') {
            if (kind !== 'multi') {
                throw queryError(
                    'INVALID_FIELD',
                    soql,
                    cond.field,
                    `includes or excludes operator only valid on multipicklist field`
                );
            }
            // Inside one value `;` means AND; the listed values are OR-ed. Empty parts (`'A;'`) name
            // no value and are ignored; a value naming none matches nothing.
            const groups = operands.map((o) =>
                String(o.kind === 'value' ? o.value : '')
                    .toLowerCase()
                    .split(';')
                    .map((s) => s.trim())
                    .filter((s) => s !== '')
            );
            const includes = (row: Row): boolean => {
                const v = get(row);
                if (typeof v !== 'string') return false;
                const selected = new Set(
                    v
                        .toLowerCase()
                        .split(';')
                        .map((s) => s.trim())
                );
                return groups.some((g) => g.length > 0 && g.every((s) => selected.has(s)));
            };
            return op === 'INCLUDES' ? includes : (row) => !includes(row);
        }
        if (kind === 'multi' && (op === '=' || op === '!=')) {
            const sets = operands.map((o) =>
                o.kind === 'value' && o.value !== null
                    ? [...new Set(String(o.value).toLowerCase().split(';'))].sort().join(';')
                    : null
            );
            const eq = (row: Row): boolean => {
                const v = get(row);
                const key =
                    typeof v === 'string' ? [...new Set(v.toLowerCase().split(';'))].sort().join(';') : null;
                return sets[0] === key;
            };
            return op === '=' ? eq : (row) => !eq(row);
        }
        if (op === 'IN' || op === 'NOT IN') {
            const set = new Set(operands.map((o) => (o.kind === 'value' ? norm(o.value) : undefined)));
            const hasNull = set.has(null);
            if (op === 'IN') {
                return (row) => {
                    const v = get(row);
                    return v === null ? hasNull : set.has(norm(v));
                };
            }
            return (row) => {
                const v = get(row);
                return v === null ? !hasNull : !set.has(norm(v));
            };
        }
        if (operands.length !== 1)
            throw queryError('MALFORMED_QUERY', soql, cond.field, `unexpected token: '('`);
        const operand = operands[0];
        if (operand.kind === 'range') {
            const { start, end } = operand;
            const inRange = (v: unknown): boolean => typeof v === 'string' && v >= start && v < end;
            switch (op) {
                case '=':
                    return (row) => inRange(get(row));
                case '!=':
                    return (row) => !inRange(get(row));
                case '<':
                    return (row) => cmp(get(row), (v) => v < start);
                case '<=':
                    return (row) => cmp(get(row), (v) => v < end);
                case '>':
                    return (row) => cmp(get(row), (v) => v >= end);
                case '>=':
                    return (row) => cmp(get(row), (v) => v >= start);
                default:
                    throw queryError('MALFORMED_QUERY', soql, cond.field, `unexpected operator ${op}`);
            }
        }
        const target = norm(operand.value) as string | number | boolean | null;
        if (op === '=' && typeof target === 'string' && kind === 'text' && !caseSensitive) {
            // Length first: most rows differ there, and lower-casing 100,000s of strings is the cost.
            // Only U+0130 changes length when lower-cased, so other strings of another length never match.
            return (row) => {
                const v = get(row);
                if (typeof v !== 'string') return false;
                if (v.length === target.length) return v === target || v.toLowerCase() === target;
                return v.includes('\u0130') && v.toLowerCase() === target;
            };
        }
        switch (op) {
            case '=':
                return target === null ? (row) => get(row) === null : (row) => norm(get(row)) === target;
            case '!=':
                return target === null ? (row) => get(row) !== null : (row) => norm(get(row)) !== target;
            case '<':
            case '<=':
            case '>':
            case '>=': {
                if (kind === 'bool') {
                    throw queryError(
                        'INVALID_FIELD',
                        soql,
                        cond.field,
                        `invalid operator on boolean field: ${op}`
                    );
                }
                if (target === null) return () => false;
                const t = target as string | number;
                const test =
                    op === '<'
                        ? (v: string | number) => v < t
                        : op === '<='
                          ? (v: string | number) => v <= t
                          : op === '>'
                            ? (v: string | number) => v > t
                            : (v: string | number) => v >= t;
                return (row) => {
                    const v = norm(get(row));
                    return v !== null && (typeof v === 'string' || typeof v === 'number') && test(v);
                };
            }
            default:
                throw queryError('MALFORMED_QUERY', soql, cond.field, `unexpected token: ${op}`);
        }
    }
}

function cmp(v: unknown, test: (v: string) => boolean): boolean {
    return typeof v === 'string' && test(v);
}

function runSemiJoin(
    ctx: QueryContext,
    sub: ParsedQuery,
    soql: string,
    text?: { text: string; offset: number }
): Set<string> {
    const obj = lookupObject(ctx, sub.sObject ?? '', soql);
    const field = sub.fields?.[0];
    const name = field?.type === 'FieldRelationship' ? field.rawValue : field?.field;
    if (!name || (sub.fields?.length ?? 0) !== 1)
        throw queryError('MALFORMED_QUERY', soql, 'SELECT', 'semi join sub-selects must select one Id field');
    const path = resolvePath(ctx, obj, name, soql);
    const predicate = sub.where
        ? new WhereCompiler(ctx, obj, soql).compile(sub.where, text?.text, text?.offset)
        : () => true;
    const out = new Set<string>();
    for (const row of ctx.store.table(obj.name).rows.values()) {
        if (row.IsDeleted) continue;
        if (predicate(row)) {
            const v = path.get(row);
            if (typeof v === 'string') out.add(v);
        }
    }
    return out;
}

function lookupObject(ctx: QueryContext, name: string, soql: string): ObjectDef {
    const obj = ctx.schema.byLower.get(name.toLowerCase());
    if (!obj) {
        throw queryError(
            'INVALID_TYPE',
            soql,
            name,
            `sObject type '${name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`
        );
    }
    return obj;
}

// ---- ordering ---------------------------------------------------------------------------------

function compareValues(a: unknown, b: unknown): number {
    if (typeof a === 'string' && typeof b === 'string') {
        const la = a.toLowerCase();
        const lb = b.toLowerCase();
        return la < lb ? -1 : la > lb ? 1 : 0;
    }
    if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
    return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

interface SortKey {
    get: (r: Row) => unknown;
    desc: boolean;
    nullsLast: boolean;
}

/** Sort by precomputed keys (text lower-cased once): ORDER BY over 100,000s of rows stays fast. */
function sortRows<T>(rows: T[], keys: Array<SortKey & { get: (r: T) => unknown }>): T[] {
    return Array.from(sortOrder(rows, keys), (i) => rows[i]);
}

/** The indexes of `rows` in sorted order (keys computed once per row; text lower-cased once). */
function sortOrder<T>(rows: T[], keys: Array<SortKey & { get: (r: T) => unknown }>): Int32Array {
    const columns = keys.map((g) =>
        rows.map((row) => {
            const v = g.get(row);
            return typeof v === 'string'
                ? v.toLowerCase()
                : typeof v === 'boolean'
                  ? Number(v)
                  : (v as number | null);
        })
    );
    const order = Int32Array.from(rows, (_, i) => i);
    return order.sort((x, y) => {
        for (let i = 0; i < keys.length; i++) {
            const a = columns[i][x];
            const b = columns[i][y];
            if (a === b) continue;
            if (a === null || b === null) return (a === null) === keys[i].nullsLast ? 1 : -1;
            const c = a < b ? -1 : 1;
            return keys[i].desc ? -c : c;
        }
        return x - y;
    });
}

// ---- projection -------------------------------------------------------------------------------

interface ProjectionNode {
    entries: Array<
        { kind: 'field'; field: FieldDef } | { kind: 'rel'; name: string; hop: Hop; node: ProjectionNode }
    >;
}

function addToProjection(node: ProjectionNode, path: ResolvedPath): void {
    let current = node;
    for (const hop of path.hops) {
        const name = hop.field.relationshipName ?? '';
        let entry = current.entries.find((e) => e.kind === 'rel' && e.name === name);
        if (!entry) {
            entry = { kind: 'rel', name, hop, node: { entries: [] } };
            current.entries.push(entry);
        }
        current = (entry as { node: ProjectionNode }).node;
    }
    if (!current.entries.some((e) => e.kind === 'field' && e.field.name === path.field.name)) {
        current.entries.push({ kind: 'field', field: path.field });
    }
}

function projector(ctx: QueryContext, obj: ObjectDef, root: ProjectionNode) {
    const base = `/services/data/v${ctx.apiVersion}/sobjects/`;
    const render = (row: Row, type: string, node: ProjectionNode): Record<string, unknown> => {
        const out: Record<string, unknown> = {
            attributes: { type, url: `${base}${type}/${String(row.Id)}` }
        };
        for (const e of node.entries) {
            if (e.kind === 'field') {
                out[e.field.name] = valueOf(row, e.field);
            } else {
                const id = row[e.hop.field.name];
                const parent =
                    typeof id === 'string'
                        ? e.hop.table
                            ? e.hop.table.rows.get(id)
                            : ctx.store.find(id)?.row
                        : undefined;
                const parentType = e.hop.table
                    ? e.hop.target.name
                    : parent
                      ? (ctx.schema.byPrefix.get(String(parent.Id).slice(0, 3))?.name ?? e.hop.target.name)
                      : e.hop.target.name;
                out[e.name] = parent ? render(parent, parentType, e.node) : null;
            }
        }
        return out;
    };
    return (row: Row) => render(row, obj.name, root);
}

// ---- the query --------------------------------------------------------------------------------

function asList<T>(v: T | T[] | undefined): T[] {
    return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

export function parseSoql(soql: string): ParsedQuery {
    try {
        return parseQuery(soql) as unknown as ParsedQuery;
    } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        const found = /but found: '([^']*)'/.exec(message)?.[1];
        const token = found && found !== '' ? found : (soql.trim().split(/\s+/).pop() ?? '');
        throw queryError(
            'MALFORMED_QUERY',
            soql,
            found === undefined || found === '' ? soql.length : token,
            `unexpected token: ${found === undefined || found === '' ? '<EOF>' : token}`
        );
    }
}

export function runQuery(ctx: QueryContext, soql: string): QueryResult {
    const refusal = ctx.store.queryRefusals.find(({ text }) => soql.includes(text));
    if (refusal) throw queryError(refusal.errorCode, soql, soql.indexOf(refusal.text), refusal.message);
    const q = parseSoql(soql);
    const obj = lookupObject(ctx, q.sObject ?? '', soql);
    const table = ctx.store.table(obj.name);
    const fields = q.fields ?? [];
    const predicate = q.where ? new WhereCompiler(ctx, obj, soql).compile(q.where, soql) : undefined;
    if (q.having)
        throw queryError('MALFORMED_QUERY', soql, 'HAVING', 'HAVING is not supported by the local org');
    if (q.offset !== undefined && q.offset > 2000) {
        throw new SalesforceError(400, 'NUMBER_OUTSIDE_VALID_RANGE', 'Maximum SOQL offset allowed is 2000');
    }

    const isAggregate = fields.some((f) => f.isAggregateFn) || asList(q.groupBy).length > 0;
    const order = isAggregate ? [] : asList(q.orderBy);
    const sortKeys = order.map((o) => {
        if (!o.field)
            throw queryError(
                'MALFORMED_QUERY',
                soql,
                'ORDER BY',
                'ORDER BY on functions is not supported by the local org'
            );
        const path = resolvePath(ctx, obj, o.field, soql);
        if (!path.field.sortable)
            throw queryError(
                'INVALID_FIELD',
                soql,
                o.field,
                `field '${path.field.name}' can not be sorted in a query call`
            );
        const desc = o.order?.toUpperCase() === 'DESC';
        const nullsLast = o.nulls?.toUpperCase() === 'LAST';
        return { get: path.get, desc, nullsLast, local: path.hops.length === 0, name: path.field.name };
    });

    const accept = (row: Row): boolean =>
        (!row.IsDeleted || ctx.includeDeleted) && (!predicate || predicate(row));
    if (isAggregate) return aggregate(ctx, obj, q, [...table.rows.values()].filter(accept), soql);

    const root: ProjectionNode = { entries: [] };
    const columns: QueryColumn[] = [];
    const seen = new Set<string>();
    for (const f of fields) {
        if (f.type === 'FieldSubquery')
            throw queryError(
                'MALFORMED_QUERY',
                soql,
                'SELECT',
                'child relationship sub-queries are not supported by the local org'
            );
        if (f.type !== 'Field' && f.type !== 'FieldRelationship') {
            throw queryError(
                'MALFORMED_QUERY',
                soql,
                f.rawValue ?? 'SELECT',
                `unexpected token: ${f.rawValue ?? f.functionName ?? f.type}`
            );
        }
        const name =
            f.type === 'FieldRelationship'
                ? (f.rawValue ?? [...(f.relationships ?? []), f.field].join('.'))
                : (f.field ?? '');
        const path = resolvePath(ctx, obj, name, soql);
        const key = name.toLowerCase();
        if (seen.has(key))
            throw queryError('MALFORMED_QUERY', soql, name, `duplicate field selected: ${path.field.name}`);
        seen.add(key);
        addToProjection(root, path);
        columns.push({
            name: [...path.hops.map((hop) => hop.field.relationshipName ?? ''), path.field.name].join('.'),
            type: path.field.type,
            get: path.get
        });
    }

    // Sorting a whole table by its own fields is cached per table version (with each record's rank),
    // so repeated ordered queries over a large, rarely changing table (User) filter in memory order
    // and only mark ranks: no sort, and no cache-missing walk in sorted order over every record.
    if (sortKeys.length > 0 && !sortKeys.every((k) => k.local)) {
        const sortedMatches = sortRows([...table.rows.values()].filter(accept), sortKeys);
        const matches = lazyMatches(sortedMatches, undefined, () => true, q.offset ?? 0, q.limit);
        return { totalSize: matches.total, page: matches.page, project: projector(ctx, obj, root), columns };
    }
    const key = JSON.stringify(sortKeys.map((k) => [k.name, k.desc, k.nullsLast]));
    let cached = table.sortCache.get(key);
    if (!cached || cached.version !== table.version) {
        const rows = [...table.rows.values()];
        const order = sortKeys.length > 0 ? sortOrder(rows, sortKeys) : Int32Array.from(rows, (_, i) => i);
        const sortedRows = Array.from(order, (i) => rows[i]);
        const ranks = new Int32Array(rows.length);
        order.forEach((rowIndex, rank) => (ranks[rowIndex] = rank));
        cached = { version: table.version, rows, sorted: sortedRows, ranks };
        table.sortCache.set(key, cached);
    }
    const matches =
        sortKeys.length > 0
            ? lazyMatches(cached.rows, cached, accept, q.offset ?? 0, q.limit)
            : lazyMatches(cached.rows, undefined, accept, q.offset ?? 0, q.limit);
    return { totalSize: matches.total, page: matches.page, project: projector(ctx, obj, root), columns };
}

/**
 * Count every match in one pass but keep only the first page; later pages continue from where the
 * last one stopped (the arrays are a snapshot: a change to the table makes new ones). With an order,
 * matches are marked by rank and read back in sorted order.
 */
function lazyMatches(
    source: Row[],
    order: { sorted: Row[]; ranks: Int32Array } | undefined,
    accept: (row: Row) => boolean,
    offset: number,
    limit: number | undefined
) {
    const n = source.length;
    const hit = new Uint8Array(n);
    let count = 0;
    for (let i = 0; i < n; i++) {
        if (accept(source[i])) {
            hit[order ? order.ranks[i] : i] = 1;
            count++;
        }
    }
    const inOrder = order ? order.sorted : source;
    const total = Math.min(Math.max(0, count - offset), limit ?? Number.MAX_SAFE_INTEGER);
    const collected: Row[] = [];
    let scanPos = 0;
    const page = (from: number, size: number): Row[] => {
        const end = offset + Math.min(from + size, total);
        while (collected.length < end && scanPos < n) {
            if (hit[scanPos]) collected.push(inOrder[scanPos]);
            scanPos++;
        }
        return collected.slice(offset + from, end);
    };
    return { total, page };
}

function aggregate(
    ctx: QueryContext,
    obj: ObjectDef,
    q: ParsedQuery,
    rows: Row[],
    soql: string
): QueryResult {
    const fields = q.fields ?? [];
    const groupBy = asList(q.groupBy).map((g) => {
        if (!g.field)
            throw queryError(
                'MALFORMED_QUERY',
                soql,
                'GROUP BY',
                'GROUP BY functions are not supported by the local org'
            );
        return resolvePath(ctx, obj, g.field, soql);
    });
    const countOnly =
        fields.length === 1 &&
        fields[0].functionName?.toUpperCase() === 'COUNT' &&
        (fields[0].parameters ?? []).length === 0;
    if (countOnly && groupBy.length === 0) {
        let n = rows.length;
        if (q.offset) n = Math.max(0, n - q.offset);
        if (q.limit !== undefined) n = Math.min(n, q.limit);
        return { totalSize: n, page: () => [], project: () => ({}), columns: [], aggregate: [] };
    }
    let exprIndex = 0;
    const columns = fields.map((f) => {
        if (f.isAggregateFn) {
            const fn = (f.functionName ?? '').toUpperCase();
            const param = (f.parameters ?? [])[0];
            const path = typeof param === 'string' ? resolvePath(ctx, obj, param, soql) : undefined;
            const key = f.alias ?? `expr${exprIndex++}`;
            return { key, fn, path };
        }
        const name = f.type === 'FieldRelationship' ? (f.rawValue ?? '') : (f.field ?? '');
        const path = resolvePath(ctx, obj, name, soql);
        const grouped = groupBy.findIndex(
            (g) => g.field === path.field && g.hops.length === path.hops.length
        );
        if (grouped < 0)
            throw queryError(
                'MALFORMED_QUERY',
                soql,
                name,
                `Field must be grouped or aggregated: ${path.field.name}`
            );
        return { key: f.alias ?? path.field.name, fn: '', path, grouped };
    });
    const groups = new Map<string, Row[]>();
    for (const row of rows) {
        const key = JSON.stringify(groupBy.map((g) => g.get(row)));
        let list = groups.get(key);
        if (!list) groups.set(key, (list = []));
        list.push(row);
    }
    if (groupBy.length === 0 && groups.size === 0) groups.set('[]', []);
    let records: Array<Record<string, unknown>> = [];
    for (const members of groups.values()) {
        const rec: Record<string, unknown> = { attributes: { type: 'AggregateResult' } };
        for (const c of columns) {
            if (!c.fn) {
                rec[c.key] = members.length > 0 && c.path ? c.path.get(members[0]) : null;
                continue;
            }
            const values = c.path ? members.map((m) => c.path!.get(m)).filter((v) => v !== null) : members;
            switch (c.fn) {
                case 'COUNT':
                    rec[c.key] = values.length;
                    break;
                case 'COUNT_DISTINCT':
                    rec[c.key] = new Set(
                        values.map((v) => (typeof v === 'string' ? v.toLowerCase() : v))
                    ).size;
                    break;
                case 'SUM':
                    rec[c.key] = values.length ? values.reduce((s: number, v) => s + Number(v), 0) : null;
                    break;
                case 'AVG':
                    rec[c.key] = values.length
                        ? values.reduce((s: number, v) => s + Number(v), 0) / values.length
                        : null;
                    break;
                case 'MIN':
                case 'MAX': {
                    const sorted = [...values].sort(compareValues);
                    rec[c.key] = sorted.length
                        ? c.fn === 'MIN'
                            ? sorted[0]
                            : sorted[sorted.length - 1]
                        : null;
                    break;
                }
                default:
                    throw queryError('MALFORMED_QUERY', soql, c.fn, `unsupported aggregate function ${c.fn}`);
            }
        }
        records.push(rec);
    }
    const order = asList(q.orderBy);
    if (order.length > 0) {
        const getters = order.map((o) => {
            const column = columns.find(
                (c) =>
                    !c.fn &&
                    o.field &&
                    c.path?.field.name.toLowerCase() === o.field.split('.').pop()?.toLowerCase()
            );
            if (!column)
                throw queryError('MALFORMED_QUERY', soql, 'ORDER BY', 'ORDER BY must use grouped fields');
            const desc = o.order?.toUpperCase() === 'DESC';
            return {
                get: (r: Record<string, unknown>) => r[column.key] ?? null,
                desc,
                nullsLast: o.nulls?.toUpperCase() === 'LAST'
            };
        });
        records = sortRows(records, getters);
    }
    if (q.offset) records = records.slice(q.offset);
    if (q.limit !== undefined) records = records.slice(0, q.limit);
    return {
        totalSize: records.length,
        page: () => [],
        project: () => ({}),
        columns: [],
        aggregate: records
    };
}
