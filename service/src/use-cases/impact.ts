/**
 * The condition set editor's warning, before save: for a draft set (not saved yet), how many active users it
 * matches now, how many of those the other active sets already grant every product of the draft, and which
 * sets overlap it by how many users. Computed exactly as a preview evaluates (the same candidate queries,
 * the same in-memory semantics), so the numbers equal what the preview then shows.
 */
import {
    matchSets,
    planCandidateQueries,
    prepareSets,
    requiredManagerIds,
    type ConditionSetInput,
    type EvalContext,
    type UserRecord
} from '../engine';
import { AppError } from '../errors';
import type { Clock } from '../ports';
import type { OrgStore } from '../domain/org-store';
import { toConditionSetInput, type Evaluator } from './evaluation';

/** The draft's id inside the evaluation: no Salesforce id looks like it. */
const DRAFT_ID = '(draft)';

export interface DraftSet {
    definition: string;
    products: string[];
    eligibleStatuses?: string[];
    /** The saved set being edited: left out of "the other sets". */
    setId?: string;
    name?: string;
}

export interface SetOverlap {
    setId: string;
    name: string;
    /** Users both sets match. */
    users: number;
    /** Products of the draft that this set grants too. */
    products: string[];
}

export interface DraftImpact {
    /** Active users the draft matches now. */
    matched: number;
    /** Of those, users that other active sets matching them already grant every product of the draft. */
    alreadyGranted: number;
    /** Other active sets matching some of the same users, most overlapping first. */
    overlaps: SetOverlap[];
    /** Users the candidate queries read (the draft's and the other sets'). */
    evaluated: number;
    /** Other active sets skipped as invalid (they grant nothing now). */
    invalidSets: { id: string; name: string; reasons: string[] }[];
    /** True when saving should ask for confirmation: the draft matches nobody, or adds nothing. */
    needsConfirmation: boolean;
    elapsedMs: number;
}

export async function draftImpact(
    deps: { store: OrgStore; clock: Clock; evaluator: Evaluator },
    draft: DraftSet
): Promise<DraftImpact> {
    const started = Date.now();
    const { store, clock, evaluator } = deps;
    const [{ schema, timeZone }, records] = await Promise.all([
        evaluator.schemaAndTimeZone(),
        store.conditionSets()
    ]);
    const others = records.filter((record) => record.Id !== draft.setId).map(toConditionSetInput);
    const input: ConditionSetInput = {
        id: DRAFT_ID,
        name: draft.name?.trim() || 'This set',
        products: draft.products,
        // Eligible statuses do not change who a set matches; a draft without any is still checked.
        eligibleStatuses: (draft.eligibleStatuses?.length
            ? draft.eligibleStatuses
            : ['Not Invited']) as ConditionSetInput['eligibleStatuses'],
        definition: draft.definition,
        createdDate: new Date(8.64e15).toISOString()
    };
    const prepared = prepareSets([input, ...others], schema);
    const invalidDraft = prepared.invalid.find(({ set }) => set.id === DRAFT_ID);
    if (invalidDraft) {
        throw new AppError(
            'VALIDATION_FAILED',
            `The set is not valid: ${invalidDraft.errors.map((error) => error.message).join(' ')}`
        );
    }
    const now = clock.now();
    const plan = planCandidateQueries(prepared.valid, { ctx: { now, timeZone } });
    const draftUnrunnable = plan.unrunnable.find((set) => set.id === DRAFT_ID);
    if (draftUnrunnable) throw new AppError('VALIDATION_FAILED', draftUnrunnable.reason);
    const unrunnable = new Set(plan.unrunnable.map((set) => set.id));
    const valid = prepared.valid.filter((set) => !unrunnable.has(set.id));
    const ctx: EvalContext = {
        now,
        timeZone,
        managerIds: requiredManagerIds(valid) ? await store.managerIds() : new Set<string>()
    };
    const users = new Map<string, UserRecord>();
    for (const soql of plan.queries) {
        for (const user of await store.org.query<UserRecord>(soql)) users.set(user.Id, user);
    }
    const draftIndex = valid.findIndex((set) => set.id === DRAFT_ID);
    const draftSet = valid[draftIndex];
    const byId = new Map(valid.map((set, index) => [set.id, index]));
    const overlapUsers = new Uint32Array(valid.length);
    let matched = 0;
    let alreadyGranted = 0;
    for (const user of users.values()) {
        const ids = matchSets(valid, user, ctx);
        if (!ids.includes(DRAFT_ID)) continue;
        matched++;
        const granted = new Set<string>();
        for (const id of ids) {
            if (id === DRAFT_ID) continue;
            const index = byId.get(id)!;
            overlapUsers[index]++;
            for (const product of valid[index].products) granted.add(product);
        }
        if (draftSet.products.every((product) => granted.has(product))) alreadyGranted++;
    }
    const overlaps: SetOverlap[] = [];
    valid.forEach((set, index) => {
        if (index === draftIndex || overlapUsers[index] === 0) return;
        overlaps.push({
            setId: set.id,
            name: set.name,
            users: overlapUsers[index],
            products: draftSet.products.filter((product) => set.products.includes(product))
        });
    });
    overlaps.sort((a, b) => b.users - a.users || a.name.localeCompare(b.name));
    return {
        matched,
        alreadyGranted,
        overlaps,
        evaluated: users.size,
        invalidSets: prepared.invalid.map(({ set, errors }) => ({
            id: set.id,
            name: set.name,
            reasons: errors.map((error) => error.message)
        })),
        needsConfirmation: matched === 0 || alreadyGranted === matched,
        elapsedMs: Date.now() - started
    };
}
