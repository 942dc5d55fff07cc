/**
 * Condition sets: preparation (validate, order by precedence), matching users in memory,
 * eligibility with attribution and overlaps, and the per-user explanation.
 */
import { compileWhere as compileValidWhere, type CompileContext } from './compile';
import {
    buildPredicate,
    buildReader,
    normalize,
    readRaw,
    type Normalized,
    type Predicate,
    type Reader
} from './semantics';
import type { LogicNode } from './logic';
import type { Schema, SchemaField } from './schema';
import { AUTHORIZATION_STATUSES } from './types';
import type {
    AuthorizationStatus,
    ConditionSetInput,
    ConditionValue,
    Definition,
    EvalContext,
    UserRecord,
    ValidationError
} from './types';
import { describeValue, validateDefinition, type ValidDefinition } from './validate';

export interface PreparedSet {
    id: string;
    name: string;
    products: string[];
    eligibleStatuses: AuthorizationStatus[];
    createdDate: string;
    definition: ValidDefinition;
    /** The input this set was prepared from. */
    input: ConditionSetInput;
}

export interface InvalidSet {
    set: ConditionSetInput;
    errors: ValidationError[];
}

export interface PreparedSets {
    valid: PreparedSet[];
    invalid: InvalidSet[];
}

function byPrecedence(a: ConditionSetInput, b: ConditionSetInput): number {
    const timeA = Date.parse(a.createdDate?.replace(/\+0000$/, 'Z') ?? '');
    const timeB = Date.parse(b.createdDate?.replace(/\+0000$/, 'Z') ?? '');
    const safeA = Number.isNaN(timeA) ? Number.POSITIVE_INFINITY : timeA;
    const safeB = Number.isNaN(timeB) ? Number.POSITIVE_INFINITY : timeB;
    if (safeA !== safeB) return safeA < safeB ? -1 : 1;
    return String(a.name).localeCompare(String(b.name)) || String(a.id).localeCompare(String(b.id));
}

function setErrors(set: ConditionSetInput): ValidationError[] {
    const errors: ValidationError[] = [];
    if (!Array.isArray(set.products) || set.products.length === 0) {
        errors.push({
            code: 'NO_PRODUCTS',
            message: `Set "${set.name}" grants no product. Choose at least one product.`
        });
    }
    const statuses = Array.isArray(set.eligibleStatuses) ? set.eligibleStatuses : [];
    if (statuses.length === 0) {
        errors.push({
            code: 'INVALID_ELIGIBLE_STATUS',
            message: `Set "${set.name}" has no eligible status, so it can invite nobody. Choose at least one (e.g. Not Invited).`
        });
    }
    for (const status of statuses) {
        if (!(AUTHORIZATION_STATUSES as readonly string[]).includes(status)) {
            errors.push({
                code: 'INVALID_ELIGIBLE_STATUS',
                message: `Set "${set.name}": ${describeValue(status)} is not an authorization status. Use ${AUTHORIZATION_STATUSES.join(', ')}.`
            });
        }
    }
    return errors;
}

/**
 * Validates every set against the schema; invalid ones are returned with their errors (a run skips
 * and reports them, it never aborts). Both lists are in precedence order: CreatedDate, oldest first.
 */
export function prepareSets(sets: ConditionSetInput[], schema: Schema): PreparedSets {
    const valid: PreparedSet[] = [];
    const invalid: InvalidSet[] = [];
    for (const set of [...sets].sort(byPrecedence)) {
        const result = validateDefinition(set.definition, schema);
        const errors = [...setErrors(set), ...(result.ok ? [] : result.errors)];
        if (!result.ok || errors.length > 0) {
            invalid.push({ set, errors });
            continue;
        }
        valid.push({
            id: set.id,
            name: set.name,
            products: [...new Set(set.products)],
            eligibleStatuses: [...new Set(set.eligibleStatuses)],
            createdDate: set.createdDate,
            definition: result.definition,
            input: set
        });
    }
    return { valid, invalid };
}

/**
 * The SOQL WHERE clause of one definition (validated here when given raw). Throws on an invalid
 * definition: validate first (`validateDefinition`) to get the reasons.
 */
export function compileWhere(
    definition: ValidDefinition | Definition | string,
    schema: Schema,
    ctx?: CompileContext
): string {
    let valid: ValidDefinition;
    if (typeof definition === 'object' && definition !== null && 'tree' in definition) valid = definition;
    else {
        const result = validateDefinition(definition, schema);
        if (!result.ok)
            throw new Error(`Invalid definition: ${result.errors.map((e) => e.message).join(' ')}`);
        valid = result.definition;
    }
    return compileValidWhere(valid, schema, ctx);
}

// ---------------------------------------------------------------------------------------------
// Matching plan: the fields all sets read are read and normalised once per user ("slots"), then
// each set's logic runs over those values.

type SetMatcher = (values: Normalized[], ctx: EvalContext) => boolean;

interface Plan {
    slots: SchemaField[];
    readers: Reader[];
    matchers: SetMatcher[];
}

function compileLogic(node: LogicNode, atoms: Array<{ slot: number; predicate: Predicate }>): SetMatcher {
    if (node.type === 'condition') {
        const { slot, predicate } = atoms[node.index - 1];
        return (values, ctx) => predicate(values[slot], ctx);
    }
    if (node.type === 'not') {
        const inner = compileLogic(node.child, atoms);
        return (values, ctx) => !inner(values, ctx);
    }
    const children = node.children.map((child) => compileLogic(child, atoms));
    if (node.type === 'and') {
        if (children.length === 2) {
            const [a, b] = children;
            return (values, ctx) => a(values, ctx) && b(values, ctx);
        }
        return (values, ctx) => {
            for (let i = 0; i < children.length; i++) if (!children[i](values, ctx)) return false;
            return true;
        };
    }
    if (children.length === 2) {
        const [a, b] = children;
        return (values, ctx) => a(values, ctx) || b(values, ctx);
    }
    return (values, ctx) => {
        for (let i = 0; i < children.length; i++) if (children[i](values, ctx)) return true;
        return false;
    };
}

const plans = new WeakMap<ReadonlyArray<PreparedSet>, Plan>();

function planFor(valid: ReadonlyArray<PreparedSet>): Plan {
    let plan = plans.get(valid);
    if (plan && plan.matchers.length === valid.length) return plan;
    const slots: SchemaField[] = [];
    const slotOf = new Map<string, number>();
    const matchers = valid.map((set) => {
        const atoms = set.definition.conditions.map((condition) => {
            const key = condition.schemaField.path.toLowerCase();
            let slot = slotOf.get(key);
            if (slot === undefined) {
                slot = slots.length;
                slots.push(condition.schemaField);
                slotOf.set(key, slot);
            }
            return {
                slot,
                predicate: buildPredicate(condition.operator, condition.value, condition.schemaField)
            };
        });
        return compileLogic(set.definition.tree, atoms);
    });
    plan = { slots, readers: slots.map(buildReader), matchers };
    plans.set(valid, plan);
    return plan;
}

/**
 * Inactive users never match: the candidate query filters `IsActive = true` and the evaluator
 * requires `IsActive === true` as well (a record without IsActive is not known to be active).
 */
export function isActiveUser(user: UserRecord): boolean {
    return user.IsActive === true;
}

/**
 * Writes the indexes of the sets the user matches into `matched` and returns how many there are.
 * Buffers are reused across users: this is the hot loop of a run.
 */
function matchInto(
    plan: Plan,
    user: UserRecord,
    ctx: EvalContext,
    values: Normalized[],
    matched: Int32Array
): number {
    if (!isActiveUser(user)) return 0;
    const readers = plan.readers;
    for (let i = 0; i < readers.length; i++) values[i] = readers[i](user, ctx);
    const matchers = plan.matchers;
    let count = 0;
    for (let i = 0; i < matchers.length; i++) if (matchers[i](values, ctx)) matched[count++] = i;
    return count;
}

function namesOf(valid: ReadonlyArray<PreparedSet>, indexes: Int32Array, count: number): string[] {
    const names: string[] = new Array(count);
    for (let i = 0; i < count; i++) names[i] = valid[indexes[i]].name;
    return names;
}

/** Ids of the sets (in precedence order) the user matches. */
export function matchSets(valid: ReadonlyArray<PreparedSet>, user: UserRecord, ctx: EvalContext): string[] {
    const plan = planFor(valid);
    const matched = new Int32Array(valid.length);
    const count = matchInto(plan, user, ctx, new Array(plan.slots.length), matched);
    return Array.from(matched.subarray(0, count), (index) => valid[index].id);
}

// ---------------------------------------------------------------------------------------------
// Eligibility

export interface EligibilityEntry {
    userId: string;
    user: UserRecord;
    /** Eligible products, in first-granted order. */
    products: string[];
    /** Product → names of the matched sets that granted it (precedence order). */
    grantedBy: Record<string, string[]>;
    /** Names of all sets the user matched, eligible or not. */
    matchedSets: string[];
    /** Product → the user's authorization status, for every product a matched set grants. */
    statuses: Record<string, AuthorizationStatus>;
}

export interface Overlap {
    setA: string;
    setB: string;
    setAId: string;
    setBId: string;
    /** Users matching both sets. */
    users: number;
}

export interface EligibilityResult {
    entries: EligibilityEntry[];
    overlaps: Overlap[];
    evaluated: number;
}

export type StatusOf = (userId: string, product: string) => AuthorizationStatus;

/**
 * For each user: the sets it matches; for each (product) a matched set grants, the user's status;
 * the product is eligible when the status is among that set's eligible statuses. Several sets give
 * the union of their products. Only users with at least one eligible product become entries.
 */
export function computeEligibility(
    valid: ReadonlyArray<PreparedSet>,
    users: Iterable<UserRecord>,
    statusOf: StatusOf,
    ctx: EvalContext
): EligibilityResult {
    const accumulator = new EligibilityAccumulator(valid, ctx);
    accumulator.add(users, statusOf);
    return accumulator.result();
}

/**
 * computeEligibility fed in parts (pages of candidates, each with its own status lookup): only the
 * entries (eligible users) and the set-pair counts are kept between parts, never the candidates.
 */
export class EligibilityAccumulator {
    private readonly plan: Plan;
    private readonly values: Normalized[];
    private readonly matchedBuffer: Int32Array;
    private readonly eligibleStatuses: Set<string>[];
    private readonly pairCounts: Uint32Array;
    private readonly entries: EligibilityEntry[] = [];
    private evaluated = 0;

    constructor(
        private readonly valid: ReadonlyArray<PreparedSet>,
        private readonly ctx: EvalContext,
        /** What an entry keeps of its user (the whole record by default). */
        private readonly keepUser: (user: UserRecord) => UserRecord = (user) => user
    ) {
        this.plan = planFor(valid);
        this.values = new Array(this.plan.slots.length);
        this.matchedBuffer = new Int32Array(valid.length);
        this.eligibleStatuses = valid.map((set) => new Set<string>(set.eligibleStatuses));
        this.pairCounts = new Uint32Array(valid.length * valid.length);
    }

    /** Evaluates these users; statusOf answers for them. */
    add(users: Iterable<UserRecord>, statusOf: StatusOf): void {
        const { plan, ctx, values, matchedBuffer, eligibleStatuses, pairCounts, valid, entries } = this;
        const setCount = valid.length;
        for (const user of users) {
            this.evaluated++;
            const count = matchInto(plan, user, ctx, values, matchedBuffer);
            if (count === 0) continue;
            for (let a = 0; a < count; a++) {
                for (let b = a + 1; b < count; b++)
                    pairCounts[matchedBuffer[a] * setCount + matchedBuffer[b]]++;
            }
            const statuses: Record<string, AuthorizationStatus> = {};
            const grantedBy: Record<string, string[]> = {};
            const products: string[] = [];
            for (let m = 0; m < count; m++) {
                const index = matchedBuffer[m];
                const set = valid[index];
                for (const product of set.products) {
                    let status = statuses[product];
                    if (status === undefined) {
                        status = statusOf(user.Id, product);
                        statuses[product] = status;
                    }
                    if (!eligibleStatuses[index].has(status)) continue;
                    const granted = grantedBy[product];
                    if (granted) granted.push(set.name);
                    else {
                        grantedBy[product] = [set.name];
                        products.push(product);
                    }
                }
            }
            if (products.length === 0) continue;
            const kept = this.keepUser(user);
            entries.push({
                userId: kept.Id,
                user: kept,
                products,
                grantedBy,
                matchedSets: namesOf(valid, matchedBuffer, count),
                statuses
            });
        }
    }

    result(): EligibilityResult {
        const { valid, pairCounts } = this;
        const setCount = valid.length;
        const overlaps: Overlap[] = [];
        pairCounts.forEach((users, key) => {
            if (users === 0) return;
            const a = valid[Math.floor(key / setCount)];
            const b = valid[key % setCount];
            overlaps.push({ setA: a.name, setB: b.name, setAId: a.id, setBId: b.id, users });
        });
        overlaps.sort(
            (x, y) => y.users - x.users || x.setA.localeCompare(y.setA) || x.setB.localeCompare(y.setB)
        );
        return { entries: this.entries, overlaps, evaluated: this.evaluated };
    }
}

// ---------------------------------------------------------------------------------------------
// Explain: "why was this person (not) invited?"

export interface ConditionExplanation {
    number: number;
    field: string;
    operator: string;
    value?: ConditionValue;
    /** The user's value as read from the record (null when blank or when the parent is missing). */
    actual: unknown;
    outcome: boolean;
}

export interface SetExplanation {
    setId: string;
    setName: string;
    valid: boolean;
    /** Validation errors of an invalid set (it is skipped by runs). */
    errors?: ValidationError[];
    conditions: ConditionExplanation[];
    logic: string;
    /** The logic's outcome; false for an invalid set or an inactive user. */
    matched: boolean;
}

export interface ProductExplanation {
    product: string;
    eligible: boolean;
    status: AuthorizationStatus;
    grantedBy: string[];
    /** One line per set offering the product: why it did or did not grant it. */
    reasons: string[];
}

export interface Explanation {
    userId: string;
    active: boolean;
    sets: SetExplanation[];
    products: ProductExplanation[];
}

function logicText(definition: ValidDefinition): string {
    return definition.logic ?? definition.conditions.map((_, index) => String(index + 1)).join(' AND ');
}

export function explain(
    prepared: PreparedSets,
    user: UserRecord,
    statusOf: StatusOf,
    ctx: EvalContext
): Explanation {
    const active = isActiveUser(user);
    const sets: SetExplanation[] = [];
    const matchedById = new Map<string, boolean>();
    for (const set of prepared.valid) {
        const atoms = set.definition.conditions.map((condition) => ({
            slot: 0,
            predicate: buildPredicate(condition.operator, condition.value, condition.schemaField)
        }));
        const conditions = set.definition.conditions.map((condition, index): ConditionExplanation => {
            const actual = readRaw(user, condition.schemaField, ctx);
            const outcome = atoms[index].predicate(normalize(actual, condition.schemaField), ctx);
            const explained: ConditionExplanation = {
                number: index + 1,
                field: condition.field,
                operator: condition.operator,
                actual,
                outcome
            };
            if (condition.value !== undefined) explained.value = condition.value;
            return explained;
        });
        const outcomes = conditions.map((condition) => condition.outcome);
        const logicMatcher = compileLogic(
            set.definition.tree,
            outcomes.map((outcome) => ({ slot: 0, predicate: () => outcome }))
        );
        const matched = active && logicMatcher([], ctx);
        matchedById.set(set.id, matched);
        sets.push({
            setId: set.id,
            setName: set.name,
            valid: true,
            conditions,
            logic: logicText(set.definition),
            matched
        });
    }
    for (const { set, errors } of prepared.invalid) {
        sets.push({
            setId: set.id,
            setName: set.name,
            valid: false,
            errors,
            conditions: [],
            logic: '',
            matched: false
        });
    }

    const products: string[] = [];
    for (const set of [...prepared.valid.map((s) => s.input), ...prepared.invalid.map((s) => s.set)]) {
        for (const product of Array.isArray(set.products) ? set.products : []) {
            if (!products.includes(product)) products.push(product);
        }
    }
    const explanations = products.map((product): ProductExplanation => {
        const status = statusOf(user.Id, product);
        const reasons: string[] = [];
        const grantedBy: string[] = [];
        for (const set of prepared.valid) {
            if (!set.products.includes(product)) continue;
            if (!active) reasons.push(`user inactive: set "${set.name}" does not apply to inactive users`);
            else if (!matchedById.get(set.id)) reasons.push(`did not match set "${set.name}"`);
            else if (!set.eligibleStatuses.includes(status)) {
                reasons.push(
                    `status ${status} is not among the set's eligible statuses (set "${set.name}": ${set.eligibleStatuses.join(', ')})`
                );
            } else {
                grantedBy.push(set.name);
                reasons.push(`eligible through set "${set.name}" (matched, status ${status} is eligible)`);
            }
        }
        for (const { set, errors } of prepared.invalid) {
            if (!Array.isArray(set.products) || !set.products.includes(product)) continue;
            reasons.push(
                `set "${set.name}" is invalid and skipped: ${errors.map((error) => error.message).join(' ')}`
            );
        }
        return { product, eligible: grantedBy.length > 0, status, grantedBy, reasons };
    });
    return { userId: user.Id, active, sets, products: explanations };
}
