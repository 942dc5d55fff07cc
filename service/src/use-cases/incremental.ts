/**
 * Incremental scheduled syncs: a scheduled run evaluates only the users whose relevant data changed since
 * the last completed run, and gets exactly the invitations a full evaluation would (docs/decisions.md,
 * "Incremental scheduled syncs").
 *
 * Why it is exact. Call W the watermark of the baseline (the completed run whose evaluation started
 * last): the org's time before that evaluation read anything. A user none of whose inputs changed since W
 * — User fields, the parent records the sets read (Profile, UserRole, Manager), IsManager, the
 * Calendar_Authorization__c records, and no relative date boundary crossed — is eligible now for exactly
 * what they were eligible for at W. If that was nothing, a full evaluation would not invite them either.
 * If it was something, the baseline had an item for them: either it ended Invited, and then the run wrote
 * their authorization records after W (so they changed), or it did not (failed, skipped) and the item is
 * read here. So the candidates are:
 *
 * - users with `SystemModstamp >= W` (any own field, activation, ManagerId, ProfileId, UserRoleId);
 * - users whose Profile / UserRole / Manager record changed (`Profile.SystemModstamp >= W` …), for the
 *   relationships the sets read: a change to a parent is stamped on the parent only (Salesforce, System
 *   Fields: "SystemModstamp doesn't capture all field changes" for values taken from another record);
 * - users whose LastLoginDate-like fields moved (the platform sets them without stamping the user);
 * - users whose authorization records changed and now hold a status some set accepts (a record in a status
 *   no set accepts makes nobody eligible: the baseline's own "Invited" writes are left out that way), and
 *   users of the baseline's items that did not end Invited;
 * - for IsManager: the current managers of every user changed since W (who may have gained a report);
 * - for `withinLastDays` / `olderThanDays`: the values between the window's bounds at W and now.
 *
 * The candidates are AND-ed to the sets' own candidate queries and evaluated exactly as in a full run.
 * What cannot be found this way makes the run a full evaluation, with the reason: no baseline, changed
 * sets (a hash of the sets as evaluated), a formula field in a set, a full evaluation more than a day old,
 * or a set that reads "IsManager = false" while users changed (the manager a report left is not
 * recorded anywhere the service can read).
 */
import { createHash } from 'node:crypto';
import {
    IS_MANAGER,
    planCandidateQueries,
    relativeWindow,
    soqlString,
    type LogicNode,
    type PreparedSets
} from '../engine';
import { soqlDatetime } from '../engine/dates';
import type { ResolvedCondition } from '../engine/validate';
import { truncate } from './run/context';
import type { BaselineRuns, ChangeStore, RunRecord } from '../domain/org-store';
import type { CandidateSelection, Evaluation, SelectCandidates } from './evaluation';

/** A full evaluation runs at least this often. */
export const FULL_EVALUATION_MAX_AGE_MS = 24 * 3_600_000;
/**
 * Changes are read from this long before the watermark: a transaction's records carry the time it wrote
 * them, and one still open at the watermark commits later with an earlier stamp (see docs/decisions.md).
 */
export const WATERMARK_OVERLAP_MS = 10 * 60_000;
/** Ids per candidate query: 150 quoted ids weigh about 4,500 bytes of the 12,000 a query may use. */
const ID_CHUNK = 150;
/** User fields the platform moves without stamping the record: each records when it moved. */
const UNSTAMPED_TIMESTAMPS = new Set([
    'lastlogindate',
    'lastpasswordchangedate',
    'lastvieweddate',
    'lastreferenceddate'
]);

export type EvaluationKind = 'Full' | 'Incremental';

export interface EvaluationChoice {
    kind: EvaluationKind;
    /** For people: why a full evaluation, or what the incremental one built on. */
    reason: string;
    /** Incremental: the completed run it builds on. */
    baseline?: RunRecord;
    /** Incremental: how many users were candidates by change (before the sets' own filter). */
    changedIds?: number;
}

/**
 * A hash of the sets as evaluated: what they are, what they grant, which are valid, and the org's zone. In
 * id order, not the order they were read in: sets created in the same instant come back in either order, and
 * a set the org refused joins the invalid ones after the others (evaluation.ts), so the order says nothing.
 */
export function setsHash(prepared: PreparedSets, timeZone: string): string {
    const byId = (a: { id?: string }, b: { id?: string }) => String(a.id).localeCompare(String(b.id));
    const canonical = JSON.stringify({
        timeZone,
        valid: [...prepared.valid]
            .sort(byId)
            .map((set) => [
                set.id,
                set.name,
                set.createdDate,
                [...set.products].sort(),
                [...set.eligibleStatuses].sort(),
                set.input.definition
            ]),
        invalid: prepared.invalid
            .map(({ set }) => set)
            .sort(byId)
            .map((set) => [set.id, set.definition])
    });
    return createHash('sha256').update(canonical).digest('hex');
}

/** The run fields that record an evaluation, and what the next incremental run builds on. */
export function evaluationFields(evaluation: Evaluation, choice: EvaluationChoice): Record<string, unknown> {
    const watermark = evaluation.watermark?.toISOString() ?? null;
    return {
        Evaluation_Kind__c: choice.kind,
        Evaluation_Reason__c: truncate(choice.reason),
        Watermark__c: watermark,
        Evaluated_At__c: evaluation.evaluatedAt.toISOString(),
        Full_Evaluation_At__c:
            choice.kind === 'Full' ? watermark : (choice.baseline?.Full_Evaluation_At__c ?? null),
        Sets_Hash__c: setsHash(evaluation.prepared, evaluation.timeZone)
    };
}

function conditionsOf(prepared: PreparedSets): Array<{ set: string; condition: ResolvedCondition }> {
    return prepared.valid.flatMap((set) =>
        set.definition.conditions.map((condition) => ({ set: set.name, condition }))
    );
}

/** True when some set can match a user *because* IsManager is false (an odd number of NOTs counted). */
export function readsNotManager(prepared: PreparedSets): boolean {
    const walk = (node: LogicNode, conditions: ResolvedCondition[], negated: boolean): boolean => {
        if (node.type === 'not') return walk(node.child, conditions, !negated);
        if (node.type !== 'condition') return node.children.some((child) => walk(child, conditions, negated));
        const condition = conditions[node.index - 1];
        if (!condition.schemaField.derived || condition.schemaField.path !== IS_MANAGER) return false;
        const wantsTrue = (condition.operator === 'equals') === (condition.value === true);
        return wantsTrue === negated;
    };
    return prepared.valid.some((set) => walk(set.definition.tree, set.definition.conditions, false));
}

function datetimeLiteral(ms: number, roundUp: boolean): string {
    return soqlDatetime(roundUp ? Math.ceil(ms / 1000) * 1000 : Math.floor(ms / 1000) * 1000);
}

/**
 * The users a relative date condition may have changed its mind about between `then` and `now`: the
 * values between where each bound of its window was and where it is.
 */
export function boundaryCrossings(
    condition: ResolvedCondition,
    then: Date,
    now: Date,
    timeZone: string
): string[] {
    const days = Number(condition.value);
    const before = relativeWindow(days, then, timeZone);
    const after = relativeWindow(days, now, timeZone);
    const path = condition.schemaField.path;
    const clauses: string[] = [];
    if (condition.schemaField.type === 'date') {
        const [fromLow, fromHigh] = [before.fromDay, after.fromDay].sort();
        if (fromLow !== fromHigh) clauses.push(`(${path} >= ${fromLow} AND ${path} < ${fromHigh})`);
        const [todayLow, todayHigh] = [before.today, after.today].sort();
        if (todayLow !== todayHigh) clauses.push(`(${path} > ${todayLow} AND ${path} <= ${todayHigh})`);
        return clauses;
    }
    for (const [a, b] of [
        [before.fromInstant, after.fromInstant],
        [before.tomorrowInstant, after.tomorrowInstant]
    ]) {
        const [low, high] = a <= b ? [a, b] : [b, a];
        if (low < high)
            clauses.push(
                `(${path} >= ${datetimeLiteral(low, false)} AND ${path} < ${datetimeLiteral(high, true)})`
            );
    }
    return clauses;
}

export interface IncrementalOptions {
    maxFullAgeMs?: number;
    overlapMs?: number;
}

/**
 * Chooses, for one scheduled run, between a full and an incremental evaluation, and selects the
 * candidates of an incremental one. `select` is the evaluator's hook; `choice()` says afterwards what was
 * done and why.
 */
export class IncrementalPlanner {
    private chosen: EvaluationChoice = { kind: 'Full', reason: 'not evaluated yet' };
    private currentName?: string;
    private readonly maxFullAgeMs: number;
    private readonly overlapMs: number;

    constructor(
        private readonly changes: ChangeStore,
        /** `baseline`: the baselineRun read of runId, when it was read with the run's other start reads. */
        private readonly request: { full?: boolean; runId?: string; baseline?: Promise<BaselineRuns> } = {},
        options: IncrementalOptions = {}
    ) {
        this.maxFullAgeMs = options.maxFullAgeMs ?? FULL_EVALUATION_MAX_AGE_MS;
        this.overlapMs = options.overlapMs ?? WATERMARK_OVERLAP_MS;
    }

    choice(): EvaluationChoice {
        return this.chosen;
    }

    /** The Name of the run being evaluated (request.runId), when the planner read it. */
    runName(): string | undefined {
        return this.currentName;
    }

    readonly select: SelectCandidates = async (prepared, ctx) => {
        const full = (reason: string): undefined => {
            this.chosen = { kind: 'Full', reason };
            return undefined;
        };
        if (this.request.full) return full('full evaluation requested');
        const { baseline, current } = await (this.request.baseline ??
            this.changes.baselineRun(this.request.runId));
        this.currentName = current?.Name;
        if (!baseline?.Watermark__c) return full('no completed run to build on');
        const label = baseline.Name ?? baseline.Id;
        if (baseline.Sets_Hash__c !== setsHash(prepared, ctx.timeZone)) {
            return full(`the active condition sets changed since run ${label}`);
        }
        const watermark = Date.parse(baseline.Watermark__c);
        const fullAt = Date.parse(baseline.Full_Evaluation_At__c ?? baseline.Watermark__c);
        if (!(ctx.now.getTime() - fullAt < this.maxFullAgeMs)) {
            return full(`daily full evaluation (the last one started ${new Date(fullAt).toISOString()})`);
        }
        const evaluatedAt = new Date(baseline.Evaluated_At__c ?? baseline.Watermark__c);
        const conditions = conditionsOf(prepared);
        const formula = conditions.find(({ condition }) => condition.schemaField.calculated);
        if (formula) {
            return full(
                `set ${formula.set} reads the formula field ${formula.condition.schemaField.path}, whose value changes without its record`
            );
        }
        const since = new Date(watermark - this.overlapMs);
        const sinceLiteral = soqlDatetime(Math.floor(since.getTime() / 1000) * 1000);

        const ids = new Set<string>();
        // A record whose status no set accepts makes nobody eligible: so a run's own writes (Invited) are
        // left out unless a set invites the Invited again.
        const products = [...new Set(prepared.valid.flatMap((set) => set.products))];
        const statuses = [...new Set(prepared.valid.flatMap((set) => set.eligibleStatuses))];
        // A completed run whose counts say every item ended Invited has nothing else to offer (one call saved).
        const allInvited =
            baseline.Status__c === 'Completed' &&
            typeof baseline.Eligible_Count__c === 'number' &&
            !baseline.Failed_Count__c &&
            !baseline.Skipped_Count__c &&
            baseline.Invited_Count__c === baseline.Eligible_Count__c;
        const [authorizations, notInvited] = await Promise.all([
            this.changes.usersWithAuthorizationChanges(since, products, statuses),
            allInvited ? [] : this.changes.usersNotInvited(baseline.Id)
        ]);
        for (const id of [...authorizations, ...notInvited]) ids.add(id);
        const readsManager = conditions.some(({ condition }) => condition.schemaField.path === IS_MANAGER);
        if (readsManager) {
            const changed = await this.changes.changedUsers(since);
            if (changed.length > 0 && readsNotManager(prepared)) {
                return full(
                    'a set matches users who are not managers, and users changed: whom a report left is only found by a full evaluation'
                );
            }
            for (const user of changed) if (user.ManagerId) ids.add(user.ManagerId);
        }

        const filter = [`SystemModstamp >= ${sinceLiteral}`];
        const relationships = new Set<string>();
        for (const { condition } of conditions) {
            const field = condition.schemaField;
            if (field.relationship) relationships.add(field.relationship);
            if (UNSTAMPED_TIMESTAMPS.has(field.name.toLowerCase()))
                filter.push(`${field.path} >= ${sinceLiteral}`);
            if (condition.operator === 'withinLastDays' || condition.operator === 'olderThanDays')
                filter.push(...boundaryCrossings(condition, evaluatedAt, ctx.now, ctx.timeZone));
        }
        for (const relationship of relationships)
            filter.push(`${relationship}.SystemModstamp >= ${sinceLiteral}`);

        const idList = [...ids];
        const wheres: string[] = [];
        for (let i = 0; i === 0 || i < idList.length; i += ID_CHUNK) {
            const chunk = idList.slice(i, i + ID_CHUNK);
            const byId = chunk.length > 0 ? [`Id IN (${chunk.map(soqlString).join(', ')})`] : [];
            wheres.push([...(i === 0 ? filter : []), ...byId].join(' OR '));
        }
        const queries: string[] = [];
        for (const where of new Set(wheres)) {
            const plan = planCandidateQueries(prepared.valid, { baseWhere: where, ctx });
            if (plan.unrunnable.length > 0) {
                return full(
                    `the changes since run ${label} do not fit beside set ${plan.unrunnable[0].name} in a query`
                );
            }
            queries.push(...plan.queries);
        }
        this.chosen = {
            kind: 'Incremental',
            reason: `changes since run ${label} (watermark ${baseline.Watermark__c})`,
            baseline,
            changedIds: ids.size
        };
        const selection: CandidateSelection = {
            queries,
            managerIds: (userIds) => this.changes.managersAmong(userIds)
        };
        return selection;
    };
}
