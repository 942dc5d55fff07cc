/**
 * One evaluation pass (DESIGN §2): load the active condition sets, validate them against the User
 * describe, query only the candidate users, evaluate them in memory, look up authorization statuses
 * and return the eligible users with their products. Invalid sets are reported, never fatal.
 */
import {
    buildSchema,
    computeEligibility,
    explain,
    fieldsInUse,
    planCandidateQueries,
    prepareSets,
    requiredManagerIds,
    soqlString,
    type AuthorizationStatus,
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
import { assertSalesforceId, splitMulti, type AuthorizationRecord, type OrgStore } from '../domain/org-store';
import { separateManual, type KeptEntry } from './lifecycle';

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
}

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

export class Evaluator {
    private schemaCache?: { schema: Schema; at: number };
    private timeZoneCache?: { timeZone: string; at: number };

    constructor(
        private readonly store: OrgStore,
        private readonly clock: Clock
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
    private async prepare(): Promise<{ prepared: PreparedSets; queries: string[]; ctx: EvalContext }> {
        const [schema, timeZone, setRecords] = await Promise.all([
            this.schema(),
            this.timeZone(),
            this.store.conditionSets()
        ]);
        const now = this.clock.now();
        const sets = prepareSets(setRecords.map(toConditionSetInput), schema);
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
        const managerIds = requiredManagerIds(prepared.valid)
            ? await this.store.managerIds()
            : new Set<string>();
        return { prepared, queries: plan.queries, ctx: { now, timeZone, managerIds } };
    }

    async evaluate(): Promise<Evaluation> {
        const { prepared, queries, ctx } = await this.prepare();
        const users = new Map<string, UserRecord>();
        for (const soql of queries) {
            for (const user of await this.store.org.query<UserRecord>(soql)) users.set(user.Id, user);
        }
        const products = [...new Set(prepared.valid.flatMap((set) => set.products))];
        const ids = [...users.keys()];
        const rows =
            ids.length === 0
                ? []
                : await this.store.authorizations(
                      ids.length > READ_ALL_AUTHORIZATIONS_ABOVE ? 'all' : ids,
                      products
                  );
        const authorizations = new Map<string, AuthorizationRecord>();
        for (const row of rows) {
            if (users.has(row.User__c))
                authorizations.set(authorizationKey(row.User__c, row.Product__c), row);
        }
        const result = computeEligibility(prepared.valid, users.values(), statusLookup(authorizations), ctx);
        const { entries, kept } = separateManual(prepared.valid, result.entries, users, authorizations, ctx);
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
            authorizations,
            snapshot: snapshotOf(prepared, invalidSets, ctx)
        };
    }

    /** Why a user is (or is not) eligible, set by set and product by product. */
    async explainUser(userId: string): Promise<Explanation & { user: UserRecord }> {
        assertSalesforceId(userId, 'user id');
        const { prepared, ctx } = await this.prepare();
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
