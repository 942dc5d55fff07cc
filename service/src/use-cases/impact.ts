/**
 * The condition set editor's warning, before save: for a draft set (not saved yet), how many active users it
 * matches now, how many of those the other active sets already grant every product of the draft, and which
 * sets overlap it by how many users. Computed with the engine's in-memory semantics, exactly as a preview
 * decides who matches, so the numbers equal what the preview then shows.
 *
 * Every number counts users the draft matches, so only the draft's candidates are read: its own pushed-down
 * query (the planner's, a superset of what it matches), page by page as a sync reads (./candidates: REST,
 * then a Bulk API 2.0 job above the threshold), selecting the fields every active set reads. Each page is
 * evaluated against every set and dropped; only counters outlive it, so memory stays bounded at any org
 * size. Between an admin's checks only the managers' ids are kept (ManagerIds, when a set reads IsManager);
 * docs/service.md has the figures.
 */
import {
    fieldsInUse,
    matchSets,
    planCandidateQueries,
    prepareSets,
    requiredManagerIds,
    type ConditionSetInput,
    type EvalContext,
    type PreparedSet,
    type Schema,
    type UserRecord
} from '../engine';
import { AppError } from '../errors';
import type { Clock } from '../ports';
import type { OrgStore } from '../domain/org-store';
import {
    CandidateQueryRefused,
    forEachCandidatePage,
    readManagerIds,
    type CandidateReadOptions
} from './candidates';
import { findRefusedSets } from './refused-sets';
import { toConditionSetInput, withoutAccessOnlySets, type Evaluator } from './evaluation';

/** How long the managers' ids read for one check (IsManager) serve the next ones. */
export const MANAGER_IDS_CACHE_MS = 60_000;

/** What the evaluation reads of every candidate besides the conditions' fields. */
const EVALUATION_BASE_FIELDS = ['Id', 'IsActive'];

/** The draft's id inside the evaluation: no Salesforce id looks like it. */
const DRAFT_ID = '(draft)';
/** What an access-only draft is prepared with (a set must grant something); it counts as no product. */
const ACCESS_ONLY = '(access only)';

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
    /**
     * Of those, users that other active sets matching them already grant every product of the draft (0 for a
     * draft that grants no product, only access).
     */
    alreadyGranted: number;
    /** Other active sets matching some of the same users, most overlapping first. */
    overlaps: SetOverlap[];
    /** Candidates evaluated: the active users the draft's pushed-down query returned. */
    evaluated: number;
    /** Other active sets skipped as invalid (they grant nothing now). */
    invalidSets: { id: string; name: string; reasons: string[] }[];
    /** True when saving should ask for confirmation: the draft matches nobody, or adds nothing. */
    needsConfirmation: boolean;
    elapsedMs: number;
    /** When the candidates these numbers come from started to be read (the check reads them every time). */
    usersReadAt: string;
}

export async function draftImpact(
    deps: {
        store: OrgStore;
        clock: Clock;
        evaluator: Evaluator;
        readOptions?: CandidateReadOptions;
        /** The managers' ids kept between checks; read for this check alone when absent. */
        managerIds?: ManagerIds;
    },
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
        // A draft that grants access only (issue 19) is matched like any set and counts as granting no product.
        products: draft.products.length > 0 ? draft.products : [ACCESS_ONLY],
        // Eligible statuses do not change who a set matches; a draft without any is still checked.
        eligibleStatuses: (draft.eligibleStatuses?.length
            ? draft.eligibleStatuses
            : ['Not Invited']) as ConditionSetInput['eligibleStatuses'],
        definition: draft.definition,
        createdDate: new Date(8.64e15).toISOString()
    };
    // Other sets granting access only are no invalid sets (as in a preview): left out of the products' numbers.
    const prepared = await withoutAccessOnlySets(prepareSets([input, ...others], schema), store);
    const preparedDraft = prepared.valid.find((set) => set.id === DRAFT_ID);
    if (preparedDraft && draft.products.length === 0) preparedDraft.products = [];
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
    const invalidSets = prepared.invalid.map(({ set, errors }) => ({
        id: set.id,
        name: set.name,
        reasons: errors.map((error) => error.message)
    }));
    // A set the last run found the org refuses matches nobody in a run: named here too, at no call.
    let valid = prepared.valid.filter((set) => {
        if (unrunnable.has(set.id)) return false;
        const refusal = set.id === DRAFT_ID ? undefined : evaluator.knownRefusal(set);
        if (refusal) invalidSets.push({ id: set.id, name: set.name, reasons: [refusal] });
        return !refusal;
    });
    // A set the org refuses never sinks the check (./refused-sets): the draft's query also selects the fields of
    // every other set, so one the org refuses is found, named with the org's reason, and the check runs again
    // without it. The draft itself refused is the check's answer. A clean check makes no call more.
    for (;;) {
        try {
            const counts = await countDraft(deps, valid, { now, timeZone, schema });
            return {
                ...counts,
                invalidSets,
                elapsedMs: Date.now() - started
            };
        } catch (error) {
            if (!(error instanceof CandidateQueryRefused)) throw error;
            const refused = await findRefusedSets(store.org, valid, { now, timeZone });
            const draftRefused = refused.find(({ set }) => set.id === DRAFT_ID);
            if (draftRefused) throw new AppError('VALIDATION_FAILED', draftRefused.reason, { cause: error });
            if (refused.length === 0) throw error;
            const ids = new Set(refused.map(({ set }) => set.id));
            valid = valid.filter((set) => !ids.has(set.id));
            invalidSets.push(
                ...refused.map(({ set, reason }) => ({ id: set.id, name: set.name, reasons: [reason] }))
            );
        }
    }
}

/** The draft's numbers among the valid sets: its candidates read page by page, each evaluated and dropped. */
async function countDraft(
    deps: Parameters<typeof draftImpact>[0],
    valid: PreparedSet[],
    { now, timeZone, schema }: { now: Date; timeZone: string; schema: Schema }
): Promise<Omit<DraftImpact, 'invalidSets' | 'elapsedMs'>> {
    const { store, readOptions } = deps;
    const draftIndex = valid.findIndex((set) => set.id === DRAFT_ID);
    const draftSet = valid[draftIndex];
    // Only the draft's candidates are read (its own pushed-down query, page by page), with the fields
    // every other set reads: a user the draft does not match cannot count, whatever the others decide.
    // (Only what the evaluation reads: not the names and emails a run writes on its items.)
    const draftPlan = planCandidateQueries([draftSet], {
        ctx: { now, timeZone },
        baseFields: EVALUATION_BASE_FIELDS,
        extraFields: fieldsInUse(
            valid.map((set) => set.definition),
            EVALUATION_BASE_FIELDS
        )
    });
    if (draftPlan.unrunnable.length > 0) {
        throw new AppError('VALIDATION_FAILED', draftPlan.unrunnable[0].reason);
    }
    const byId = new Map(valid.map((set, index) => [set.id, index]));
    const overlapUsers = new Uint32Array(valid.length);
    const grantsProducts = draftSet.products.length > 0;
    let matched = 0;
    let alreadyGranted = 0;
    let evaluated = 0;
    const count = (users: UserRecord[], evalCtx: EvalContext) => {
        for (const user of users) {
            const ids = matchSets(valid, user, evalCtx);
            if (!ids.includes(DRAFT_ID)) continue;
            matched++;
            const granted = new Set<string>();
            for (const id of ids) {
                if (id === DRAFT_ID) continue;
                const index = byId.get(id)!;
                overlapUsers[index]++;
                for (const product of valid[index].products) granted.add(product);
            }
            // An access-only draft grants no product: none of its users is "already granted" one.
            if (grantsProducts && draftSet.products.every((product) => granted.has(product)))
                alreadyGranted++;
        }
    };
    // IsManager needs the ids of the org's managers, read while the candidates are: the first page waits for
    // them (at most one page is held), so a Bulk API job for the rest starts meanwhile.
    const managerRead = requiredManagerIds(valid)
        ? (deps.managerIds ?? new ManagerIds(store, readOptions)).read(schema)
        : Promise.resolve(new Set<string>());
    managerRead.catch(() => undefined);
    let ctx: EvalContext | undefined;
    const context = async (): Promise<EvalContext> =>
        (ctx ??= { now, timeZone, managerIds: await managerRead });
    let waiting: UserRecord[] | undefined;
    const readAt = new Date();
    await forEachCandidatePage(
        store.org,
        draftPlan.queries,
        schema,
        async ({ users }) => {
            evaluated += users.length;
            if (!ctx && !waiting) {
                waiting = users;
                return;
            }
            const known = await context();
            if (waiting) count(waiting, known);
            waiting = undefined;
            count(users, known);
        },
        readOptions
    );
    const known = await context();
    if (waiting) count(waiting, known);
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
        evaluated,
        needsConfirmation: matched === 0 || (grantsProducts && alreadyGranted === matched),
        usersReadAt: readAt.toISOString()
    };
}

/**
 * The ids of the org's managers for the editor's checks. An admin checks a draft many times while editing
 * it; when a set reads IsManager each check needs them, and reading them means reading every active user
 * who has a manager. So they are kept MANAGER_IDS_CACHE_MS: only the distinct managers' ids (a fraction of
 * the users), never the users. Concurrent checks share one read; a failed read is not kept.
 */
export class ManagerIds {
    private cache?: { at: number; ids: Promise<Set<string>> };

    constructor(
        private readonly store: OrgStore,
        private readonly readOptions?: CandidateReadOptions
    ) {}

    read(schema: Schema): Promise<Set<string>> {
        if (this.cache && Date.now() - this.cache.at < MANAGER_IDS_CACHE_MS) return this.cache.ids;
        const entry = { at: Date.now(), ids: readManagerIds(this.store.org, schema, this.readOptions) };
        this.cache = entry;
        entry.ids.catch(() => {
            if (this.cache === entry) this.cache = undefined;
        });
        return entry.ids;
    }
}
