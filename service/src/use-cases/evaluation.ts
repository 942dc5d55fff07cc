/**
 * One evaluation pass (DESIGN §2): load the active condition sets, validate them against the User
 * describe, query only the candidate users, evaluate them in memory, look up authorization statuses
 * and return the eligible users with their products. Invalid sets are reported, never fatal.
 */
import {
    buildSchema,
    EligibilityAccumulator,
    explain,
    fieldsInUse,
    planCandidateQueries,
    prepareSets,
    requiredManagerIds,
    soqlString,
    type AuthorizationStatus,
    type CompileContext,
    type ConditionSetInput,
    type EligibilityEntry,
    type EvalContext,
    type Explanation,
    type Overlap,
    type PreparedSets,
    type Schema,
    type SObjectDescribe,
    type UserRecord
} from '../engine';
import { AppError } from '../errors';
import type { Clock, SObjectRecord } from '../ports';
import {
    assertSalesforceId,
    ChangeStore,
    splitMulti,
    type AuthorizationRecord,
    type OrgStore
} from '../domain/org-store';
import {
    CandidateQueryRefused,
    forEachCandidatePage,
    ownStrings,
    readManagerIds,
    type CandidatePage,
    type CandidateReadOptions,
    type CandidateReadStats
} from './candidates';
import { ConnectionStore } from '../domain/connection-store';
import { isManual, separateManual, type KeptEntry } from './lifecycle';
import { findRefusedSets, type RefusedSet } from './refused-sets';

const CACHE_TTL_MS = 10 * 60 * 1000;
/** Above this many candidates it is cheaper to read all authorization records than to page by ids. */
const READ_ALL_AUTHORIZATIONS_ABOVE = 2000;

export interface InvalidSetSummary {
    id: string;
    name: string;
    reasons: string[];
}

export interface Evaluation {
    evaluatedAt: Date;
    timeZone: string;
    prepared: PreparedSets;
    invalidSets: InvalidSetSummary[];
    entries: EligibilityEntry[];
    /** Matched users whose records for a granted product an admin set by hand (never changed by a sync). */
    kept: KeptEntry[];
    overlaps: Overlap[];
    evaluated: number;
    /** Calendar_Authorization__c of the candidates, by `<UserId>:<Product>`. */
    authorizations: Map<string, AuthorizationRecord>;
    /** JSON of the sets as evaluated, for Condition_Sets_Snapshot__c. */
    snapshot: string;
    /** How the candidates were read (pages, REST or Bulk API). */
    reads: CandidateReadStats;
    /**
     * The org's time before the first candidate query (its Date header, whole seconds): every change the org
     * stamped before it is in this evaluation. Undefined when the gateway cannot tell.
     */
    watermark?: Date;
}

/** Which users an evaluation reads instead of every candidate (an incremental sync, ./incremental). */
export interface CandidateSelection {
    /** Candidate queries (each selecting the fields in use); a user may come from several. */
    queries: string[];
    /** The managers among these users (IsManager), instead of reading every manager in the org. */
    managerIds(userIds: string[]): Promise<Set<string>>;
}

/**
 * Chooses the candidates once the sets are prepared: undefined means every candidate (a full evaluation).
 * `fullQueries` are the queries of a full evaluation.
 */
export type SelectCandidates = (
    prepared: PreparedSets,
    ctx: CompileContext,
    fullQueries: string[]
) => Promise<CandidateSelection | undefined>;

export function authorizationKey(userId: string, product: string): string {
    return `${userId}:${product}`;
}

export function toConditionSetInput(record: SObjectRecord): ConditionSetInput {
    return {
        id: String(record.Id),
        name: String(record.Name ?? record.Id),
        products: splitMulti(record.Products__c as string | undefined),
        eligibleStatuses: splitMulti(
            record.Eligible_Statuses__c as string | undefined
        ) as AuthorizationStatus[],
        definition: String(record.Definition__c ?? ''),
        createdDate: String(record.CreatedDate ?? '')
    };
}

export function statusLookup(authorizations: Map<string, AuthorizationRecord>) {
    return (userId: string, product: string): AuthorizationStatus =>
        (authorizations.get(authorizationKey(userId, product))?.Status__c as
            AuthorizationStatus | undefined) ?? 'Not Invited';
}

/**
 * A set may grant access in a connection and no product (DESIGN §10): it is not an invalid set for the
 * invitations, just not one of theirs. Asked only when some set grants no product (one query).
 */
export async function withoutAccessOnlySets(sets: PreparedSets, store: OrgStore): Promise<PreparedSets> {
    // Grants no product (and so, maybe, names no status either) and has nothing else wrong.
    const noProduct = sets.invalid.filter(
        ({ set, errors }) =>
            errors.some((error) => error.code === 'NO_PRODUCTS') &&
            errors.every(
                (error) =>
                    error.code === 'NO_PRODUCTS' ||
                    (error.code === 'INVALID_ELIGIBLE_STATUS' && (set.eligibleStatuses ?? []).length === 0)
            )
    );
    if (noProduct.length === 0) return sets;
    const granting = await new ConnectionStore(store.org).setsWithGrants(noProduct.map(({ set }) => set.id));
    return { valid: sets.valid, invalid: sets.invalid.filter(({ set }) => !granting.has(set.id)) };
}

export class Evaluator {
    private schemaCache?: { schema: Schema; at: number };
    private timeZoneCache?: { timeZone: string; at: number };
    /** The sets the org refused in this process's last evaluation, by id: their definition and the reason. */
    private refusals = new Map<string, { definition: string; reason: string }>();

    constructor(
        private readonly store: OrgStore,
        private readonly clock: Clock,
        /** How candidates are read (the Bulk API threshold); evaluate() may override it. */
        private readonly readOptions: CandidateReadOptions = {}
    ) {}

    private async schema(): Promise<Schema> {
        const now = Date.now();
        if (!this.schemaCache || now - this.schemaCache.at > CACHE_TTL_MS) {
            // Profile and UserRole fields come from the engine's built-in describes: two calls saved per run.
            const userDescribe = (await this.store.org.describe('User')) as SObjectDescribe;
            this.schemaCache = { schema: buildSchema(userDescribe), at: now };
        }
        return this.schemaCache.schema;
    }

    /** The org's time zone (cached like the describe). */
    async timeZone(): Promise<string> {
        const now = Date.now();
        if (!this.timeZoneCache || now - this.timeZoneCache.at > CACHE_TTL_MS) {
            this.timeZoneCache = { timeZone: await this.store.orgTimeZone(), at: now };
        }
        return this.timeZoneCache.timeZone;
    }

    /** The User schema and the org time zone, cached as for a run (the editor's impact check uses them). */
    async schemaAndTimeZone(): Promise<{ schema: Schema; timeZone: string }> {
        const [schema, timeZone] = await Promise.all([this.schema(), this.timeZone()]);
        return { schema, timeZone };
    }

    /** Loads (or refreshes, once expired) the User describe and the org time zone: readiness warms them. */
    async warm(): Promise<void> {
        await Promise.all([this.schema(), this.timeZone()]);
    }

    /**
     * The sets to evaluate and their candidate queries. A valid set no query Salesforce accepts can
     * carry is moved to the invalid sets with the planner's reason: it is reported by name, it matches
     * nobody, and the other sets still run.
     */
    private async prepare(
        conditionSets?: Promise<SObjectRecord[]>
    ): Promise<{ prepared: PreparedSets; queries: string[]; ctx: CompileContext }> {
        const [schema, timeZone, setRecords] = await Promise.all([
            this.schema(),
            this.timeZone(),
            conditionSets ?? this.store.conditionSets()
        ]);
        const now = this.clock.now();
        const sets = await withoutAccessOnlySets(
            prepareSets(setRecords.map(toConditionSetInput), schema),
            this.store
        );
        const plan = planCandidateQueries(sets.valid, { ctx: { now, timeZone } });
        const unrunnable = new Map(plan.unrunnable.map((set) => [set.id, set.reason]));
        const prepared: PreparedSets = {
            valid: sets.valid.filter((set) => !unrunnable.has(set.id)),
            invalid: [
                ...sets.invalid,
                ...sets.valid
                    .filter((set) => unrunnable.has(set.id))
                    .map((set) => ({
                        set: set.input,
                        errors: [
                            { code: 'DEFINITION_TOO_LONG' as const, message: unrunnable.get(set.id) ?? '' }
                        ]
                    }))
            ]
        };
        return { prepared, queries: plan.queries, ctx: { now, timeZone } };
    }

    /** Every manager's id, when a set reads IsManager (streamed: only the distinct ids are kept). */
    private async managerIds(prepared: PreparedSets): Promise<Set<string>> {
        if (!requiredManagerIds(prepared.valid)) return new Set<string>();
        return readManagerIds(this.store.org, await this.schema(), this.readOptions);
    }

    /**
     * Evaluates every candidate, or only those `select` chooses (see SelectCandidates). `conditionSets`: the
     * active sets' records when they were read with the run's other start reads (run/start-reads).
     */
    async evaluate(
        options: CandidateReadOptions & {
            select?: SelectCandidates;
            conditionSets?: Promise<SObjectRecord[]>;
        } = {}
    ): Promise<Evaluation> {
        const { select, conditionSets, ...reading } = options;
        const first = await this.prepare(conditionSets);
        const { ctx } = first;
        let { prepared, queries } = first;
        const refusals = new Map<string, { definition: string; reason: string }>();
        // Each pass that ends in a refusal moves at least one set out of the valid ones, so this ends.
        for (;;) {
            try {
                const evaluation = await this.evaluatePrepared(prepared, queries, ctx, select, reading);
                this.refusals = refusals;
                return evaluation;
            } catch (error) {
                if (!(error instanceof CandidateQueryRefused)) throw error;
                const refused = await findRefusedSets(this.store.org, prepared.valid, ctx);
                if (refused.length === 0) throw error;
                for (const { set, reason } of refused)
                    refusals.set(set.id, { definition: set.input.definition, reason });
                ({ prepared, queries } = withoutRefused(prepared, refused, ctx));
            }
        }
    }

    /**
     * Why the org refused this set's query in this process's last evaluation, when the set is still as it was
     * then (the editor's check names it without asking the org again); undefined otherwise.
     */
    knownRefusal(set: { id: string; input: { definition: string } }): string | undefined {
        const known = this.refusals.get(set.id);
        return known && known.definition === set.input.definition ? known.reason : undefined;
    }

    /** One evaluation of sets whose candidate queries are planned (see evaluate). */
    private async evaluatePrepared(
        prepared: PreparedSets,
        queries: string[],
        compileCtx: CompileContext,
        select: SelectCandidates | undefined,
        reading: CandidateReadOptions
    ): Promise<Evaluation> {
        const schema = await this.schema();
        // The sets' query has been answered; nothing else (changes, candidates, authorizations) is read yet.
        const watermark = this.store.org.serverTime?.();
        const selection = select ? await select(prepared, compileCtx, queries) : undefined;
        const needsManagers = requiredManagerIds(prepared.valid);
        // A full evaluation reads every manager once; a selection names the managers among each page's users
        // (the set only grows, and only its members' own pages ask it).
        const managerIds = selection ? new Set<string>() : await this.managerIds(prepared);
        const ctx: EvalContext = { ...compileCtx, managerIds };
        const products = [...new Set(prepared.valid.flatMap((set) => set.products))];
        // An eligible user outlives its page: its strings are copied, or they would keep the page's text alive.
        const accumulator = new EligibilityAccumulator(prepared.valid, ctx, ownStrings);
        const statuses = new CandidateStatuses(this.store, products);
        // Records an admin set by hand (few): a sync leaves them alone, the preview lists them as kept.
        const manual = new Map<string, AuthorizationRecord>();
        const kept: KeptEntry[] = [];
        // Candidates are evaluated page by page: only the eligible entries outlive their page.
        const reads = await forEachCandidatePage(
            this.store.org,
            selection?.queries ?? queries,
            schema,
            async (page) => {
                if (selection && needsManagers && page.users.length > 0) {
                    for (const id of await selection.managerIds(page.users.map((user) => user.Id)))
                        managerIds.add(id);
                }
                accumulator.add(page.users, await statuses.forPage(page));
                const pageManual = statuses.manualOf(page.users);
                if (pageManual.size === 0) return;
                for (const [key, record] of pageManual) manual.set(key, record);
                const users = new Map(page.users.map((user) => [user.Id, user] as const));
                kept.push(...separateManual(prepared.valid, [], users, pageManual, ctx).kept);
            },
            { ...this.readOptions, ...reading }
        );
        const result = accumulator.result();
        // Every matched user with a Manual record is kept above; here their Manual products leave the entries.
        const { entries } = separateManual(prepared.valid, result.entries, new Map(), manual, ctx);
        const invalidSets = prepared.invalid.map(({ set, errors }) => ({
            id: set.id,
            name: set.name,
            reasons: errors.map((error) => error.message)
        }));
        return {
            evaluatedAt: ctx.now,
            timeZone: ctx.timeZone,
            prepared,
            invalidSets,
            entries,
            kept,
            overlaps: result.overlaps,
            evaluated: result.evaluated,
            authorizations: statuses.of([...entries, ...kept].map((entry) => entry.userId)),
            snapshot: snapshotOf(prepared, invalidSets, ctx),
            reads,
            watermark
        };
    }

    /** Why a user is (or is not) eligible, set by set and product by product. */
    async explainUser(userId: string): Promise<Explanation & { user: UserRecord }> {
        assertSalesforceId(userId, 'user id');
        const prepared0 = await this.prepare();
        // A set the org refused in the last evaluation (and unchanged since) is explained as the run treats
        // it: skipped, with the org's reason, not matched in memory against a query the org will not run.
        const refused = prepared0.prepared.valid.flatMap((set) => {
            const reason = this.knownRefusal(set);
            return reason === undefined ? [] : [{ set, reason }];
        });
        const { prepared } =
            refused.length > 0 ? withoutRefused(prepared0.prepared, refused, prepared0.ctx) : prepared0;
        // IsManager of this one user: one grouped query, not every manager of the org.
        const managerIds = requiredManagerIds(prepared.valid)
            ? await new ChangeStore(this.store.org).managersAmong([userId])
            : new Set<string>();
        const ctx: EvalContext = { ...prepared0.ctx, managerIds };
        const fields = fieldsInUse(prepared.valid.map((set) => set.definition));
        const [user] = await this.store.org.query<UserRecord>(
            `SELECT ${fields.join(', ')} FROM User WHERE Id = ${soqlString(userId)}`
        );
        if (!user) throw new AppError('NOT_FOUND', 'No such user');
        const products = [
            ...new Set([
                ...prepared.valid.flatMap((s) => s.products),
                ...prepared.invalid.flatMap((s) => s.set.products)
            ])
        ];
        const authorizations = new Map<string, AuthorizationRecord>();
        for (const row of await this.store.authorizations([userId], products)) {
            authorizations.set(authorizationKey(row.User__c, row.Product__c), row);
        }
        return { ...explain(prepared, user, statusLookup(authorizations), ctx), user };
    }
}

/**
 * The sets without those the org refused, which join the invalid sets with the org's reason (reported by name,
 * matching nobody), and the candidate queries of the others.
 */
function withoutRefused(
    prepared: PreparedSets,
    refused: RefusedSet[],
    ctx: CompileContext
): { prepared: PreparedSets; queries: string[] } {
    const ids = new Set(refused.map(({ set }) => set.id));
    const valid = prepared.valid.filter((set) => !ids.has(set.id));
    const invalid = [
        ...prepared.invalid,
        ...refused.map(({ set, reason }) => ({
            set: set.input,
            errors: [{ code: 'QUERY_REFUSED' as const, message: reason }]
        }))
    ];
    // Fewer sets read fewer fields: a shorter prefix, so a set that fitted a query still fits (checked anyway).
    const plan = planCandidateQueries(valid, { ctx });
    const unrunnable = new Map(plan.unrunnable.map((set) => [set.id, set.reason]));
    return {
        prepared: {
            valid: valid.filter((set) => !unrunnable.has(set.id)),
            invalid: [
                ...invalid,
                ...valid
                    .filter((set) => unrunnable.has(set.id))
                    .map((set) => ({
                        set: set.input,
                        errors: [
                            { code: 'DEFINITION_TOO_LONG' as const, message: unrunnable.get(set.id) ?? '' }
                        ]
                    }))
            ]
        },
        queries: plan.queries
    };
}

/**
 * The candidates' authorization records. A query of few candidates (all in its first page) reads
 * those of its page by id; once there are more, reading every record of the products is fewer calls
 * than reading them id by id, and it is done once, before the first page is evaluated.
 */
class CandidateStatuses {
    private all?: Map<string, AuthorizationRecord>;
    private readonly byPage = new Map<string, AuthorizationRecord>();

    constructor(
        private readonly store: OrgStore,
        private readonly products: string[]
    ) {}

    async forPage(page: CandidatePage): Promise<(userId: string, product: string) => AuthorizationStatus> {
        if (page.users.length === 0 || this.products.length === 0) return statusLookup(this.byPage);
        const many = page.querySize > READ_ALL_AUTHORIZATIONS_ABOVE || page.queries > 1;
        if (many && !this.all) {
            this.all = new Map();
            for (const row of await this.store.authorizations('all', this.products))
                this.all.set(authorizationKey(row.User__c, row.Product__c), row);
        }
        if (this.all) return statusLookup(this.all);
        const ids = page.users.map((user) => user.Id);
        for (const row of await this.store.authorizations(ids, this.products))
            this.byPage.set(authorizationKey(row.User__c, row.Product__c), row);
        return statusLookup(this.byPage);
    }

    /** The Manual records (an admin's) of these users, by key. */
    manualOf(users: ReadonlyArray<UserRecord>): Map<string, AuthorizationRecord> {
        const source = this.all ?? this.byPage;
        const found = new Map<string, AuthorizationRecord>();
        for (const user of users) {
            for (const product of this.products) {
                const key = authorizationKey(user.Id, product);
                const row = source.get(key);
                if (row && isManual(row)) found.set(key, row);
            }
        }
        return found;
    }

    /** The records of these users (the eligible ones): what the run needs after the evaluation. */
    of(userIds: string[]): Map<string, AuthorizationRecord> {
        const source = this.all ?? this.byPage;
        const kept = new Map<string, AuthorizationRecord>();
        for (const userId of userIds) {
            for (const product of this.products) {
                const key = authorizationKey(userId, product);
                const row = source.get(key);
                if (row) kept.set(key, row);
            }
        }
        return kept;
    }
}

const SNAPSHOT_LIMIT = 131_072;

function snapshotOf(prepared: PreparedSets, invalidSets: InvalidSetSummary[], ctx: EvalContext): string {
    const snapshot = {
        evaluatedAt: ctx.now.toISOString(),
        timeZone: ctx.timeZone,
        valid: prepared.valid.map((set) => ({
            id: set.id,
            name: set.name,
            products: set.products,
            eligibleStatuses: set.eligibleStatuses,
            createdDate: set.createdDate,
            definition: set.input.definition
        })),
        invalid: prepared.invalid.map(({ set }, index) => ({
            id: set.id,
            name: set.name,
            products: set.products,
            reasons: invalidSets[index].reasons,
            definition: set.definition
        }))
    };
    let text = JSON.stringify(snapshot);
    if (text.length > SNAPSHOT_LIMIT) {
        // Keep names, products and reasons; drop the definitions (they are in the org's history).
        for (const set of [...snapshot.valid, ...snapshot.invalid]) set.definition = '(omitted: too long)';
        text = JSON.stringify(snapshot).slice(0, SNAPSHOT_LIMIT);
    }
    return text;
}

export interface SnapshotSummary {
    valid: { id: string; name: string; products: string[]; eligibleStatuses: string[] }[];
    invalid: { id: string; name: string; reasons: string[] }[];
}

export function parseSnapshot(text: string | null | undefined): SnapshotSummary {
    try {
        const parsed = JSON.parse(text ?? '{}') as Partial<SnapshotSummary>;
        return { valid: parsed.valid ?? [], invalid: parsed.invalid ?? [] };
    } catch {
        return { valid: [], invalid: [] };
    }
}
