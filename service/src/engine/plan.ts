/**
 * Candidate query planning: the SOQL queries that fetch every active user any valid set may match,
 * each small enough for Salesforce to accept.
 *
 * jsforce sends a query as `GET /services/data/vXX.X/query?q=<encodeURIComponent(soql)>`, and
 * Salesforce refuses a request whose URI and headers together exceed 16,384 bytes (431, or 414 when
 * the URI alone does). So the limit is on the *encoded* query: a space is 3 bytes (`%20`), `\'` is 4,
 * `é` 6, `東` 9. Every query planned here makes a request line of at most `maxRequestLineBytes`
 * (12,000 by default, leaving 4,384 bytes for the headers; see docs/engine.md) and has at most
 * `maxLength` characters (SOQL's 100,000).
 *
 * The guarantee: the union of the queries' results contains every active user that matches any set
 * the plan does not report as unrunnable. A query may return more (the service evaluates every
 * candidate in memory against every set, exactly, and deduplicates by Id). Per set:
 *
 * 1. The set's WHERE (its logic in negation normal form, see compile.ts) fits: it is one piece.
 * 2. Otherwise its longest reducible literal is reduced, and each result is planned again:
 *    - a selecting list (`IN`, `INCLUDES`, including `notIn` / `excludes` under NOT) is split into
 *      chunks: for every user, `X IN (A ∪ B)` has the value of `X IN A` or of `X IN B`, so whatever
 *      the rest of the formula, a user the set matches is matched by one of the chunk queries (and, for
 *      a literal under no NOT, by no more than the set itself matches: splitting is exact);
 *    - an excluding literal (`!=`, `NOT IN`, `EXCLUDES`, `NOT … LIKE`, `NOT x < y`) is replaced by TRUE:
 *      an NNF formula is monotone in its literals, so the query selects a superset. (Splitting an
 *      exclusion would return the same superset, once per chunk.)
 * 3. When nothing reducible is left and the piece still does not fit — one value longer than a
 *    request can carry, or selecting conditions that are too long together — the set is unrunnable,
 *    reported with a reason a person can act on. So is a set that would need more than
 *    `MAX_QUERIES_PER_SET` queries. An unrunnable set never stops the other sets.
 *
 * The pieces of all runnable sets are then packed first-fit into as few queries as fit; a set
 * reduced to TRUE makes the plan a single query for every active user.
 */
import {
    MAX_SOQL_LENGTH,
    NNF_TRUE,
    SOQL_TRUE,
    definitionNnf,
    effectiveOperator,
    fieldsInUse,
    literal,
    literalText,
    nnfWhere,
    simplifyNnf,
    type CompileContext,
    type Nnf,
    type NnfLiteral
} from './compile';
import { OPERATOR_INFO, type Operator } from './operators';
import type { ConditionScalar } from './types';
import { describeValue, type ValidDefinition } from './validate';

/** Salesforce's limit on one REST request's URI and headers together (Help article 000386264). */
export const SALESFORCE_REQUEST_LIMIT_BYTES = 16_384;
/** The longest request line a candidate query may make; the rest of the 16,384 bytes is for headers. */
export const MAX_QUERY_REQUEST_LINE_BYTES = 12_000;
/** A set that needs more queries than this is reported instead of run. */
export const MAX_QUERIES_PER_SET = 100;

/** The request line jsforce writes for a query (the API version's length varies by a byte at most). */
const REQUEST_LINE_START = 'GET /services/data/v62.0/query?q=';
const REQUEST_LINE_END = ' HTTP/1.1';

/** The ASCII characters encodeURIComponent leaves as they are. */
const UNRESERVED = new Uint8Array(128);
for (const character of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()") {
    UNRESERVED[character.charCodeAt(0)] = 1;
}

/**
 * `encodeURIComponent(text).length`, without building the string: ASCII 1 or 3 bytes (`%20`), other
 * characters 3 bytes per UTF-8 byte. (An unpaired surrogate, which encodeURIComponent refuses, counts
 * as 9; validation rejects such values.)
 */
export function encodedLength(text: string): number {
    let bytes = 0;
    for (let i = 0; i < text.length; i++) {
        const code = text.charCodeAt(i);
        if (code < 0x80) bytes += UNRESERVED[code] ? 1 : 3;
        else if (code < 0x800) bytes += 6;
        else if (code >= 0xd800 && code < 0xdc00 && i + 1 < text.length) {
            const next = text.charCodeAt(i + 1);
            if (next >= 0xdc00 && next < 0xe000) {
                bytes += 12;
                i++;
            } else bytes += 9;
        } else bytes += 9;
    }
    return bytes;
}

/** The bytes of the request line jsforce sends for this query: `GET /services/data/v62.0/query?q=… HTTP/1.1`. */
export function queryRequestLineBytes(soql: string): number {
    return REQUEST_LINE_START.length + encodedLength(soql) + REQUEST_LINE_END.length;
}

export interface CandidateQueryOptions {
    /** Extra filter AND-ed to every query (e.g. `UserType = 'Standard'`). Trusted text from the service. */
    baseWhere?: string;
    /** Longest query in SOQL characters; SOQL's 100,000 by default. */
    maxLength?: number;
    /** Longest request line in bytes, as jsforce sends the query; 12,000 by default. */
    maxRequestLineBytes?: number;
    /** The run's clock and org time zone, for exact relative-date bounds (recommended). */
    ctx?: CompileContext;
    /**
     * Fields every query selects besides those the planned sets read (SOQL paths from the describe, e.g.
     * `fieldsInUse` of other sets): the editor's warning reads one set's candidates and evaluates every set
     * on them. They lengthen each query, so they count against its limits like the rest of the prefix.
     */
    extraFields?: string[];
    /** Fields every query selects first; Id, Name, Email and IsActive by default (see `fieldsInUse`). */
    baseFields?: string[];
}

export interface UnrunnableSet {
    id: string;
    name: string;
    /** What is too long and what to do about it. */
    reason: string;
}

export interface CandidateQueryPlan {
    /** Complete SOQL; a user may be returned by several: deduplicate by Id. */
    queries: string[];
    /** Valid sets no query can carry: report them, and leave them out of the evaluation. */
    unrunnable: UnrunnableSet[];
}

interface Size {
    chars: number;
    bytes: number;
}

function sizeOf(text: string): Size {
    return { chars: text.length, bytes: encodedLength(text) };
}

function plus(a: Size, b: Size, times = 1): Size {
    return { chars: a.chars + b.chars * times, bytes: a.bytes + b.bytes * times };
}

/** `SELECT … WHERE IsActive = true AND ((piece) OR (piece) …)`, and what such a query may weigh. */
class QueryShape {
    /** The query around its pieces, request line included. */
    private readonly frame: Size;
    private readonly separator = sizeOf(' OR ');

    constructor(
        readonly prefix: string,
        private readonly limit: Size
    ) {
        const frame = sizeOf(`${prefix} AND ()`);
        this.frame = {
            chars: frame.chars,
            bytes: frame.bytes + REQUEST_LINE_START.length + REQUEST_LINE_END.length
        };
    }

    piece(where: string): Size {
        return sizeOf(`(${where})`);
    }

    /** The size of a query whose pieces weigh `pieces` together, `count` of them. */
    query(pieces: Size, count: number): Size {
        return plus(plus(this.frame, pieces), this.separator, Math.max(0, count - 1));
    }

    alone(where: string): Size {
        return where === SOQL_TRUE ? this.bare() : this.query(this.piece(where), 1);
    }

    /** The prefix alone: every active user. */
    bare(): Size {
        const prefix = sizeOf(this.prefix);
        return {
            chars: prefix.chars,
            bytes: prefix.bytes + REQUEST_LINE_START.length + REQUEST_LINE_END.length
        };
    }

    fits(size: Size): boolean {
        return size.chars <= this.limit.chars && size.bytes <= this.limit.bytes;
    }

    /** How much a list's values (with their separators) may weigh when the rest of the query weighs `rest`. */
    room(rest: Size): Size {
        return { chars: this.limit.chars - rest.chars, bytes: this.limit.bytes - rest.bytes };
    }

    render(pieces: string[]): string {
        return `${this.prefix} AND (${pieces.map((where) => `(${where})`).join(' OR ')})`;
    }
}

const EXCLUDING: ReadonlySet<Operator> = new Set<Operator>(['notEquals', 'notIn', 'notContains', 'excludes']);
const SELECTING_LISTS: ReadonlySet<Operator> = new Set<Operator>(['in', 'includes']);

/** `!=`, `NOT IN`, `EXCLUDES`, `NOT … LIKE`, and any `(NOT …)` SOQL writes around a condition. */
function isExcluding(literal: NnfLiteral): boolean {
    const operator = effectiveOperator(literal);
    return operator === undefined || EXCLUDING.has(operator);
}

function isSplittable(literal: NnfLiteral): boolean {
    const operator = effectiveOperator(literal);
    return (
        operator !== undefined &&
        SELECTING_LISTS.has(operator) &&
        Array.isArray(literal.condition.value) &&
        literal.condition.value.length > 1
    );
}

function literalsOf(nnf: Nnf, into: NnfLiteral[] = []): NnfLiteral[] {
    if (nnf.kind === 'literal') into.push(nnf);
    else if (nnf.kind === 'and' || nnf.kind === 'or')
        for (const child of nnf.children) literalsOf(child, into);
    return into;
}

function replace(nnf: Nnf, target: NnfLiteral, by: Nnf): Nnf {
    if (nnf === target) return by;
    if (nnf.kind !== 'and' && nnf.kind !== 'or') return nnf;
    return { kind: nnf.kind, children: nnf.children.map((child) => replace(child, target, by)) };
}

function withValues(literal: NnfLiteral, values: ConditionScalar[]): NnfLiteral {
    return { ...literal, condition: { ...literal.condition, value: values } };
}

/**
 * The list of `target` cut into chunks, each small enough for the rest of `nnf` around it; or in two
 * halves when one of its values cannot fit beside the rest (another literal is then reduced next).
 */
function splitList(nnf: Nnf, target: NnfLiteral, shape: QueryShape, ctx?: CompileContext): Nnf[] {
    const values = target.condition.value as ConditionScalar[];
    const sizes = values.map((value) => sizeOf(literal(value, target.condition.schemaField)));
    const first = shape.alone(nnfWhere(replace(nnf, target, withValues(target, [values[0]])), ctx));
    const room = shape.room({ chars: first.chars - sizes[0].chars, bytes: first.bytes - sizes[0].bytes });
    const separator = sizeOf(', ');
    const chunks: ConditionScalar[][] = [];
    const total = sizes.reduce((sum, size) => plus(sum, size), { chars: 0, bytes: 0 });
    const whole = plus(total, separator, values.length - 1);
    const fitsRoom = (size: Size): boolean => size.chars <= room.chars && size.bytes <= room.bytes;
    // (The whole list never fits here, or the piece would have; the check only guarantees progress.)
    if (sizes.every(fitsRoom) && !fitsRoom(whole)) {
        let chunk: ConditionScalar[] = [];
        let weight: Size = { chars: 0, bytes: 0 };
        values.forEach((value, index) => {
            const next = chunk.length === 0 ? sizes[index] : plus(plus(weight, separator), sizes[index]);
            if (chunk.length > 0 && !fitsRoom(next)) {
                chunks.push(chunk);
                chunk = [value];
                weight = sizes[index];
            } else {
                chunk.push(value);
                weight = next;
            }
        });
        chunks.push(chunk);
    } else {
        let cut = 1;
        for (
            let sum = sizes[0].bytes;
            cut < values.length - 1 && sum + sizes[cut].bytes <= total.bytes / 2;
            cut++
        ) {
            sum += sizes[cut].bytes;
        }
        chunks.push(values.slice(0, cut), values.slice(cut));
    }
    return chunks.map((chunk) => replace(nnf, target, withValues(target, chunk)));
}

function describeCondition(definition: ValidDefinition, number: number): string {
    const condition = definition.conditions[number - 1];
    const value = condition.value;
    const what = Array.isArray(value)
        ? `${value.length} value${value.length === 1 ? '' : 's'}`
        : typeof value === 'string'
          ? `a ${value.length.toLocaleString('en-US')}-character value`
          : describeValue(value);
    return `Condition ${number} (${condition.schemaField.path} ${OPERATOR_INFO[condition.operator].label} ${what})`;
}

const TOO_LONG = `longer than Salesforce accepts (${SALESFORCE_REQUEST_LIMIT_BYTES.toLocaleString('en-US')} bytes per request, headers included)`;

function tooLongReason(
    definition: ValidDefinition,
    nnf: Nnf,
    shape: QueryShape,
    ctx?: CompileContext
): string {
    const weighed = literalsOf(nnf).map((literal) => ({ literal, size: sizeOf(literalText(literal, ctx)) }));
    if (weighed.length === 0) {
        return `The fields the condition sets read make the query ${TOO_LONG}. Use fewer different fields across the active sets.`;
    }
    const culprit = weighed.reduce((a, b) => (b.size.bytes > a.size.bytes ? b : a)).literal;
    const described = describeCondition(definition, culprit.number);
    if (!shape.fits(shape.alone(literalText(culprit, ctx)))) {
        const original = definition.conditions[culprit.number - 1].value;
        const value = culprit.condition.value;
        if (Array.isArray(original) && original.length > 1 && Array.isArray(value) && value.length === 1) {
            return `${described}: the value ${describeValue(value[0])} alone makes the query ${TOO_LONG}. Shorten that value or remove it.`;
        }
        return `${described} makes the query ${TOO_LONG}. Use a shorter value.`;
    }
    return `The set's conditions together make the query ${TOO_LONG}, even split into several queries; the longest is ${described.charAt(0).toLowerCase()}${described.slice(1)}. Use fewer or shorter values, or split the set into smaller sets.`;
}

function tooManyReason(definition: ValidDefinition, ctx?: CompileContext): string {
    const literals = literalsOf(definitionNnf(definition));
    const longest = literals.reduce((a, b) =>
        encodedLength(literalText(b, ctx)) > encodedLength(literalText(a, ctx)) ? b : a
    );
    return `${describeCondition(definition, longest.number)} needs more than ${MAX_QUERIES_PER_SET} queries to stay within what Salesforce accepts (${SALESFORCE_REQUEST_LIMIT_BYTES.toLocaleString('en-US')} bytes per request). Use fewer or shorter values, or split the set into smaller sets.`;
}

type Reduction = { ok: true; pieces: string[] } | { ok: false; reason: string };

/** The set as WHERE pieces that each fit a query, and together select at least what the set matches. */
function reduceSet(definition: ValidDefinition, shape: QueryShape, ctx?: CompileContext): Reduction {
    const pieces: string[] = [];
    const work: Nnf[] = [definitionNnf(definition)];
    while (work.length > 0) {
        const nnf = work.shift() as Nnf;
        const where = nnfWhere(nnf, ctx);
        if (shape.fits(shape.alone(where))) {
            pieces.push(where);
            continue;
        }
        let target: NnfLiteral | undefined;
        let weight = -1;
        for (const candidate of literalsOf(nnf)) {
            if (!isExcluding(candidate) && !isSplittable(candidate)) continue;
            const bytes = encodedLength(literalText(candidate, ctx));
            if (bytes > weight) {
                target = candidate;
                weight = bytes;
            }
        }
        if (!target) return { ok: false, reason: tooLongReason(definition, nnf, shape, ctx) };
        if (isExcluding(target)) work.unshift(simplifyNnf(replace(nnf, target, NNF_TRUE)));
        else work.unshift(...splitList(nnf, target, shape, ctx));
        if (pieces.length + work.length > MAX_QUERIES_PER_SET) {
            return { ok: false, reason: tooManyReason(definition, ctx) };
        }
    }
    return { ok: true, pieces };
}

function selectPrefix(
    definitions: ValidDefinition[],
    baseWhere: string | undefined,
    extraFields: string[] = [],
    baseFields?: string[]
): string {
    const fields = fieldsInUse(definitions, baseFields);
    const seen = new Set(fields.map((field) => field.toLowerCase()));
    for (const field of extraFields) {
        if (seen.has(field.toLowerCase())) continue;
        seen.add(field.toLowerCase());
        fields.push(field);
    }
    return `SELECT ${fields.join(', ')} FROM User WHERE ${baseWhere ? `(${baseWhere}) AND ` : ''}IsActive = true`;
}

/**
 * The candidate queries of the valid sets (see the header for the guarantee). Every query selects the
 * same fields, those the runnable sets read (and `extraFields`), so any candidate can be evaluated against
 * every set.
 */
export function planCandidateQueries(
    valid: ReadonlyArray<{ id: string; name: string; definition: ValidDefinition }>,
    opts: CandidateQueryOptions = {}
): CandidateQueryPlan {
    const limit: Size = {
        chars: opts.maxLength ?? MAX_SOQL_LENGTH,
        bytes: opts.maxRequestLineBytes ?? MAX_QUERY_REQUEST_LINE_BYTES
    };
    const shape = new QueryShape(
        selectPrefix(
            valid.map((set) => set.definition),
            opts.baseWhere,
            opts.extraFields,
            opts.baseFields
        ),
        limit
    );
    const unrunnable: UnrunnableSet[] = [];
    const runnable: Array<{ definition: ValidDefinition; pieces: string[] }> = [];
    for (const set of valid) {
        const reduction = reduceSet(set.definition, shape, opts.ctx);
        if (reduction.ok) runnable.push({ definition: set.definition, pieces: reduction.pieces });
        else unrunnable.push({ id: set.id, name: set.name, reason: reduction.reason });
    }
    if (runnable.length === 0) return { queries: [], unrunnable };

    // Fields only unrunnable sets read are left out: a shorter prefix, so every piece still fits.
    const final =
        unrunnable.length === 0
            ? shape
            : new QueryShape(
                  selectPrefix(
                      runnable.map((set) => set.definition),
                      opts.baseWhere,
                      opts.extraFields,
                      opts.baseFields
                  ),
                  limit
              );
    const pieces = [...new Set(runnable.flatMap((set) => set.pieces))];
    if (pieces.includes(SOQL_TRUE)) return { queries: [final.prefix], unrunnable };

    const groups: Array<{ pieces: string[]; weight: Size }> = [];
    for (const where of pieces) {
        const size = final.piece(where);
        const group = groups.find((candidate) =>
            final.fits(final.query(plus(candidate.weight, size), candidate.pieces.length + 1))
        );
        if (group) {
            group.pieces.push(where);
            group.weight = plus(group.weight, size);
        } else groups.push({ pieces: [where], weight: size });
    }
    return { queries: groups.map((group) => final.render(group.pieces)), unrunnable };
}
