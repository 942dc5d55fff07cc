/**
 * The condition set editor's warning, before save: for a draft set (not saved yet), how many active users it
 * matches now, how many of those the other active sets already grant every product of the draft, and which
 * sets overlap it by how many users. Computed with the engine's in-memory semantics over the active users
 * (the fields every set reads), exactly as a preview decides who matches, so the numbers equal what the
 * preview then shows.
 *
 * An admin checks a draft many times while editing it: the active users (only the fields in use) are read
 * once and kept for IMPACT_CACHE_MS, so every later check is evaluation only (docs/lifecycle.md has the
 * figures). A check that needs a field the cached read lacks reads again.
 */
import {
    fieldsInUse,
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

/** How long the active users read for one check serve the next ones. */
export const IMPACT_CACHE_MS = 60_000;

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
    /** Active users evaluated (every active user, with the fields the sets read). */
    evaluated: number;
    /** Other active sets skipped as invalid (they grant nothing now). */
    invalidSets: { id: string; name: string; reasons: string[] }[];
    /** True when saving should ask for confirmation: the draft matches nobody, or adds nothing. */
    needsConfirmation: boolean;
    elapsedMs: number;
    /** When the users these numbers come from were read (at most IMPACT_CACHE_MS ago). */
    usersReadAt: string;
}

interface UserCache {
    fields: Set<string>;
    at: number;
    users: UserRecord[];
    managerIds?: Set<string>;
}

/** The active users with the fields in use, read at most once per IMPACT_CACHE_MS. */
export class ActiveUsers {
    private cache?: UserCache;
    private reading?: Promise<UserCache>;

    constructor(private readonly store: OrgStore) {}

    async read(fields: string[], managers: boolean): Promise<UserCache> {
        const fresh = (cache: UserCache | undefined) =>
            cache &&
            Date.now() - cache.at < IMPACT_CACHE_MS &&
            fields.every((field) => cache.fields.has(field.toLowerCase())) &&
            (!managers || cache.managerIds);
        if (fresh(this.cache)) return this.cache!;
        if (this.reading) {
            const pending = await this.reading.catch(() => undefined);
            if (fresh(pending)) return pending!;
        }
        this.reading = (async () => {
            const at = Date.now();
            const [users, managerIds] = await Promise.all([
                this.store.org.query<UserRecord>(
                    `SELECT ${fields.join(', ')} FROM User WHERE IsActive = true`
                ),
                managers ? this.store.managerIds() : Promise.resolve(undefined)
            ]);
            const cache: UserCache = {
                fields: new Set(fields.map((field) => field.toLowerCase())),
                at,
                users,
                managerIds
            };
            this.cache = cache;
            return cache;
        })();
        try {
            return await this.reading;
        } finally {
            this.reading = undefined;
        }
    }
}

export async function draftImpact(
    deps: { store: OrgStore; clock: Clock; evaluator: Evaluator; activeUsers: ActiveUsers },
    draft: DraftSet
): Promise<DraftImpact> {
    const started = Date.now();
    const { store, clock, evaluator, activeUsers } = deps;
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
    const read = await activeUsers.read(
        fieldsInUse(valid.map((set) => set.definition)),
        requiredManagerIds(valid)
    );
    const ctx: EvalContext = { now, timeZone, managerIds: read.managerIds ?? new Set<string>() };
    const users = read.users;
    const draftIndex = valid.findIndex((set) => set.id === DRAFT_ID);
    const draftSet = valid[draftIndex];
    const byId = new Map(valid.map((set, index) => [set.id, index]));
    const overlapUsers = new Uint32Array(valid.length);
    let matched = 0;
    let alreadyGranted = 0;
    for (const user of users) {
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
        evaluated: users.length,
        invalidSets: prepared.invalid.map(({ set, errors }) => ({
            id: set.id,
            name: set.name,
            reasons: errors.map((error) => error.message)
        })),
        needsConfirmation: matched === 0 || alreadyGranted === matched,
        elapsedMs: Date.now() - started,
        usersReadAt: new Date(read.at).toISOString()
    };
}
