/**
 * SOQL compiler. Field names come only from the schema (i.e. the describe); every value goes through
 * `soqlString` / `soqlLike` or is a number, boolean, date or datetime the validator has checked, so
 * nothing a user types can change a query's structure.
 *
 * `IsManager` has no SOQL form: a User → User semi-join (`Id IN (SELECT ManagerId FROM User)`) is
 * rejected by Salesforce (the inner and outer selects may not be on the same object). So the compiler
 * is sound rather than exact for it: each IsManager atom becomes TRUE when it sits under an even number
 * of NOTs and FALSE under an odd number (in the negation normal form compiled here: every IsManager
 * literal becomes TRUE), which can only widen the query; the in-memory evaluation, which knows
 * `ctx.managerIds`, then decides exactly.
 *
 * Relative dates: given the run's context, `withinLastDays` / `olderThanDays` compile to explicit UTC
 * bounds computed in the org's time zone, exactly as the evaluator computes them. Without a context
 * they compile to `= LAST_N_DAYS:n` / `< N_DAYS_AGO:n`, which Salesforce evaluates in the querying
 * user's time zone.
 */
import { relativeWindow, soqlDatetime, parseDatetime } from './dates';
import type { LogicNode } from './logic';
import { IS_MANAGER, type SchemaField } from './schema';
import { soqlLike, soqlString } from './soql';
import type { Operator } from './operators';
import type { ConditionScalar, EvalContext } from './types';
import type { ResolvedCondition, ValidDefinition } from './validate';

export const MAX_SOQL_LENGTH = 100_000;
/** Always true / always false for any User row (Id is never null). */
export const SOQL_TRUE = 'Id != null';
const SOQL_FALSE = 'Id = null';
const BASE_FIELDS = ['Id', 'Name', 'Email', 'IsActive'];

export type CompileContext = Pick<EvalContext, 'now' | 'timeZone'>;

type Compiled = { kind: 'true' } | { kind: 'false' } | { kind: 'expr'; text: string; composite: boolean };

const TRUE: Compiled = { kind: 'true' };
const FALSE: Compiled = { kind: 'false' };

/** One value as a SOQL literal for the field's type (escaped by `soqlString` where it is text). */
export function literal(value: ConditionScalar, field: SchemaField): string {
    switch (field.type) {
        case 'boolean':
            return value === true ? 'true' : 'false';
        case 'int':
        case 'double':
        case 'currency':
        case 'percent':
            return String(Number(value));
        case 'date':
            return String(value);
        case 'datetime':
            return soqlDatetime(parseDatetime(String(value)));
        default:
            return soqlString(String(value));
    }
}

function list(values: ConditionScalar[], field: SchemaField): string {
    return `(${values.map((value) => literal(value, field)).join(', ')})`;
}

function atom(text: string): Compiled {
    return { kind: 'expr', text, composite: false };
}

function compileCondition(
    condition: ResolvedCondition,
    ctx: CompileContext | undefined,
    negated: boolean
): Compiled {
    const field = condition.schemaField;
    const name = field.path;
    const value = condition.value;
    const scalar = (Array.isArray(value) ? value[0] : value) as ConditionScalar;
    const values = (Array.isArray(value) ? value : [value]) as ConditionScalar[];
    switch (condition.operator) {
        case 'equals':
            return atom(`${name} = ${literal(scalar, field)}`);
        case 'notEquals':
            return atom(`${name} != ${literal(scalar, field)}`);
        case 'lessThan':
            return atom(`${name} < ${literal(scalar, field)}`);
        case 'greaterThan':
            return atom(`${name} > ${literal(scalar, field)}`);
        case 'lessOrEqual':
            return atom(`${name} <= ${literal(scalar, field)}`);
        case 'greaterOrEqual':
            return atom(`${name} >= ${literal(scalar, field)}`);
        case 'contains':
            return atom(`${name} LIKE '%${soqlLike(String(scalar))}%'`);
        case 'notContains':
            return {
                kind: 'expr',
                text: `(NOT ${name} LIKE '%${soqlLike(String(scalar))}%')`,
                composite: false
            };
        case 'startsWith':
            return atom(`${name} LIKE '${soqlLike(String(scalar))}%'`);
        case 'in':
            return atom(`${name} IN ${list(values, field)}`);
        case 'notIn':
            return atom(`${name} NOT IN ${list(values, field)}`);
        case 'isNull':
            return atom(`${name} = null`);
        case 'isNotNull':
            return atom(`${name} != null`);
        case 'includes':
            return atom(`${name} INCLUDES ${list(values, field)}`);
        case 'excludes':
            return atom(`${name} EXCLUDES ${list(values, field)}`);
        case 'withinLastDays':
        case 'olderThanDays': {
            const days = Number(scalar);
            const within = condition.operator === 'withinLastDays';
            if (!ctx) {
                if (days === 0) return atom(within ? `${name} = TODAY` : `${name} < TODAY`);
                return atom(within ? `${name} = LAST_N_DAYS:${days}` : `${name} < N_DAYS_AGO:${days}`);
            }
            const window = relativeWindow(days, ctx.now, ctx.timeZone);
            const from = field.type === 'date' ? window.fromDay : soqlDatetime(window.fromInstant);
            if (!within) return atom(`${name} < ${from}`);
            const bounds =
                field.type === 'date'
                    ? [`${name} >= ${from}`, `${name} <= ${window.today}`]
                    : [`${name} >= ${from}`, `${name} < ${soqlDatetime(window.tomorrowInstant)}`];
            return negated
                ? {
                      kind: 'expr',
                      text: bounds.map((bound) => `(NOT ${bound})`).join(' OR '),
                      composite: true
                  }
                : { kind: 'expr', text: bounds.join(' AND '), composite: true };
        }
    }
}

/** Operators whose SOQL negation is another operator, exactly (SOQL's WHERE is two-valued). */
const NEGATION: Partial<Record<Operator, Operator>> = {
    equals: 'notEquals',
    notEquals: 'equals',
    in: 'notIn',
    notIn: 'in',
    contains: 'notContains',
    notContains: 'contains',
    includes: 'excludes',
    excludes: 'includes',
    isNull: 'isNotNull',
    isNotNull: 'isNull'
};

/**
 * A condition, or its negation. Negations are written on the atom itself (`!=`, `NOT IN`,
 * `EXCLUDES`, `(NOT F < 5)`), never around a group: NOT over nested groups is valid SOQL, but
 * soql-parser-js (used by the local org) misreads some nestings, and atoms are plainer to read.
 * `(NOT F < 5)` is kept rather than `F >= 5`, which would differ on null.
 */
function compileLiteral(
    condition: ResolvedCondition,
    negated: boolean,
    ctx: CompileContext | undefined
): Compiled {
    if (!negated) return compileCondition(condition, ctx, false);
    const flipped = NEGATION[condition.operator];
    if (flipped) return compileCondition({ ...condition, operator: flipped }, ctx, false);
    if (condition.operator === 'withinLastDays' && ctx) return compileCondition(condition, ctx, true);
    const positive = compileCondition(condition, ctx, false) as Compiled & { kind: 'expr' };
    return { kind: 'expr', text: `(NOT ${positive.text})`, composite: false };
}

function wrap(compiled: Compiled & { kind: 'expr' }): string {
    return compiled.composite ? `(${compiled.text})` : compiled.text;
}

/**
 * A definition's logic in negation normal form: NOT is pushed down to the conditions (De Morgan), so
 * NOT sits only on single conditions (literals), and every IsManager literal is already TRUE (see the
 * header). An NNF formula is monotone in its literals: replacing any literal by TRUE can only let more
 * rows through, which is what the query planner (plan.ts) relies on.
 */
export type NnfLiteral = {
    kind: 'literal';
    condition: ResolvedCondition;
    /** The condition's number in the definition (1-based), for messages. */
    number: number;
    /** Under an odd number of NOTs. */
    negated: boolean;
};
export type Nnf = { kind: 'true' } | { kind: 'false' } | NnfLiteral | { kind: 'and' | 'or'; children: Nnf[] };

export const NNF_TRUE: Nnf = { kind: 'true' };
const NNF_FALSE: Nnf = { kind: 'false' };

/**
 * TRUE and FALSE folded away (`X AND TRUE` → `X`, `X OR TRUE` → TRUE, a group of one → its member),
 * without flattening nested groups: the rendered text is the same as rendering the unsimplified tree.
 */
export function simplifyNnf(nnf: Nnf): Nnf {
    if (nnf.kind !== 'and' && nnf.kind !== 'or') return nnf;
    const isAnd = nnf.kind === 'and';
    const children: Nnf[] = [];
    for (const child of nnf.children) {
        const simple = simplifyNnf(child);
        if (simple.kind === 'true') {
            if (!isAnd) return NNF_TRUE;
            continue;
        }
        if (simple.kind === 'false') {
            if (isAnd) return NNF_FALSE;
            continue;
        }
        children.push(simple);
    }
    if (children.length === 0) return isAnd ? NNF_TRUE : NNF_FALSE;
    if (children.length === 1) return children[0];
    return { kind: nnf.kind, children };
}

function toNnf(node: LogicNode, conditions: ResolvedCondition[], negated: boolean): Nnf {
    if (node.type === 'condition') {
        const condition = conditions[node.index - 1];
        // Sound widening for IsManager (see the header): the literal, negated or not, becomes TRUE,
        // which can only let more rows through.
        if (condition.schemaField.derived && condition.schemaField.path === IS_MANAGER) return NNF_TRUE;
        return { kind: 'literal', condition, number: node.index, negated };
    }
    if (node.type === 'not') return toNnf(node.child, conditions, !negated);
    // De Morgan: under an odd number of NOTs, AND becomes OR and OR becomes AND.
    const isAnd = (node.type === 'and') !== negated;
    return {
        kind: isAnd ? 'and' : 'or',
        children: node.children.map((child) => toNnf(child, conditions, negated))
    };
}

/** The definition in negation normal form, simplified. */
export function definitionNnf(definition: ValidDefinition): Nnf {
    return simplifyNnf(toNnf(definition.tree, definition.conditions, false));
}

function renderNnf(nnf: Nnf, ctx: CompileContext | undefined): Compiled {
    if (nnf.kind === 'true') return TRUE;
    if (nnf.kind === 'false') return FALSE;
    if (nnf.kind === 'literal') return compileLiteral(nnf.condition, nnf.negated, ctx);
    const isAnd = nnf.kind === 'and';
    const parts: Array<Compiled & { kind: 'expr' }> = [];
    for (const child of nnf.children) {
        const compiled = renderNnf(child, ctx);
        if (compiled.kind === 'true') {
            if (!isAnd) return TRUE;
            continue;
        }
        if (compiled.kind === 'false') {
            if (isAnd) return FALSE;
            continue;
        }
        parts.push(compiled);
    }
    if (parts.length === 0) return isAnd ? TRUE : FALSE;
    if (parts.length === 1) return parts[0];
    return { kind: 'expr', text: parts.map(wrap).join(isAnd ? ' AND ' : ' OR '), composite: true };
}

/** An NNF formula as a SOQL WHERE clause (without `WHERE`): TRUE is `Id != null`, FALSE `Id = null`. */
export function nnfWhere(nnf: Nnf, ctx?: CompileContext): string {
    const compiled = renderNnf(nnf, ctx);
    if (compiled.kind === 'true') return SOQL_TRUE;
    if (compiled.kind === 'false') return SOQL_FALSE;
    return compiled.text;
}

/** One literal's SOQL text, as it appears in the WHERE clause. */
export function literalText(literal: NnfLiteral, ctx?: CompileContext): string {
    return nnfWhere(literal, ctx);
}

/** The literal's operator once its NOT is applied, when SOQL has one (`in` under NOT is `notIn`). */
export function effectiveOperator(literal: NnfLiteral): Operator | undefined {
    return literal.negated ? NEGATION[literal.condition.operator] : literal.condition.operator;
}

/**
 * The definition as a SOQL WHERE clause (without `WHERE`). A set that only IsManager decides compiles
 * to `Id != null` (every row is a candidate).
 */
export function compileWhere(definition: ValidDefinition, _schema?: unknown, ctx?: CompileContext): string {
    return nnfWhere(definitionNnf(definition), ctx);
}

/**
 * SOQL paths the definitions read, in first-use order (IsManager reads none: it needs only Id), after
 * `base`: Id, Name, Email and IsActive by default (a run writes names and emails on its items; the
 * evaluation itself needs only Id and IsActive besides the conditions' fields).
 */
export function fieldsInUse(definitions: ValidDefinition[], base: readonly string[] = BASE_FIELDS): string[] {
    const seen = new Map<string, string>();
    for (const field of base) seen.set(field.toLowerCase(), field);
    for (const definition of definitions) {
        for (const condition of definition.conditions) {
            if (condition.schemaField.derived) continue;
            const key = condition.schemaField.path.toLowerCase();
            if (!seen.has(key)) seen.set(key, condition.schemaField.path);
        }
    }
    return [...seen.values()];
}

export function usesIsManager(definition: ValidDefinition): boolean {
    return definition.conditions.some((condition) => condition.schemaField.path === IS_MANAGER);
}

/** True when some set reads IsManager: the service must then load the ids of users who are managers. */
export function requiredManagerIds(valid: ReadonlyArray<{ definition: ValidDefinition }>): boolean {
    return valid.some((set) => usesIsManager(set.definition));
}
