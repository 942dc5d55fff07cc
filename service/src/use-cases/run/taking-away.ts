/**
 * Taking access away in a run (DESIGN §11), beside connections.ts's granting side:
 * - plan (at preview): each Rule account of a connection goes through the engine's state machine
 *   (engine/deprovision.ts); the account's Pending Deactivation / Unmatched_Since__c (or its cancellation)
 *   is recorded, and Deactivate / Reactivate / Remove From Group actions are upserted `Pending`, with
 *   their why; when the circuit breaker trips, every Deactivate and Remove From Group of the connection
 *   is recorded `Held` instead, with the breaker's reason;
 * - send (at execute, after the grants): Reactivate, then Deactivate (SCIM `active`), then removals by
 *   group (members PATCHed out, chunked by the adapter). Held actions are not Pending, so they are never
 *   sent until an admin approves them (approve-held.ts).
 */
import {
    accountKey,
    actionKey,
    explain,
    fieldsInUse,
    parseGroups,
    soqlString,
    type AccessGrant,
    type AppAccountState,
    type EvalContext,
    type PreparedSet,
    type Schema,
    type UserRecord
} from '../../engine';
import {
    breaker,
    breakerLimits,
    deactivationWhy,
    decideAccount,
    deprovisioningOn,
    groupRemovals,
    managedGroups,
    whyText,
    type DeprovisionAccount,
    type DeprovisioningPolicy
} from '../../engine/deprovision';
import {
    APP_ACCOUNT,
    ACCESS_GRANT,
    CONNECTION,
    RUN_ACTION,
    type ConnectionRecord
} from '../../domain/connection-store';
import { chunk } from '../../domain/org-store';
import type { OrgGateway, SObjectRecord } from '../../ports';
import { truncate } from './context';
import { readAppGroups, sendGroupChanges } from './group-changes';

/** What the preview, the run detail, the email and Slack say about taking away in one connection. */
export interface TakingAwayOutcome {
    deprovisioning: 'Off' | 'Deactivate';
    /** Accounts waiting out their grace (not sent this run). */
    pending: number;
    deactivate: number;
    reactivate: number;
    removeFromGroup: number;
    /** Set when the breaker held this run's deactivations and removals. */
    held?: string;
    /** The first few pending and due deactivations, with why (the rest counted above). */
    examples: Array<{ userId: string; userName: string; due: string | null; why: string; leaver: boolean }>;
    /** Why limits or grace could not be read as written (the breaker then holds everything). */
    problem?: string;
}

const EXAMPLES = 50;

interface PolicyRecord {
    Id: string;
    Grace_Days__c?: number | null;
    Breaker_Max_Count__c?: number | null;
    Breaker_Max_Percent__c?: number | null;
    Deprovisioning__c?: string | null;
}

interface AccountRow {
    Id: string;
    Key__c: string;
    User__c: string;
    External_Id__c?: string | null;
    Status__c?: string | null;
    Source__c?: string | null;
    Groups__c?: string | null;
    Granted_By_Sets__c?: string | null;
    Unmatched_Since__c?: string | null;
    User__r?: Record<string, unknown> | null;
}

export interface TakingAwayInput {
    org: OrgGateway;
    runId: string;
    connection: ConnectionRecord;
    mappingUserNameField: string;
    /** Users matching an active set granting this connection → the groups their sets grant. */
    matched: ReadonlyMap<string, { groups: string[]; user: UserRecord }>;
    /** The grants of this connection's active sets (for the why: which sets still grant). */
    activeGrants: ReadonlyArray<AccessGrant>;
    /** The prepared (valid) sets, for the engine's explain. */
    sets: ReadonlyArray<PreparedSet>;
    schema: Schema;
    ctx: EvalContext;
    /** The app's accounts (ours, by externalId) and group members, when the app was read. */
    app?: {
        byExternalId: ReadonlyMap<string, AppAccountState>;
        members?: ReadonlyMap<string, ReadonlySet<string>>;
    };
}

export interface TakingAwayPlan {
    actions: SObjectRecord[];
    accounts: SObjectRecord[];
    outcome: TakingAwayOutcome;
}

function toPolicy(record: PolicyRecord | undefined): DeprovisioningPolicy {
    return {
        deprovisioning: record?.Deprovisioning__c ?? 'Off',
        graceDays: record?.Grace_Days__c ?? null,
        breakerMaxCount: record?.Breaker_Max_Count__c ?? null,
        breakerMaxPercent: record?.Breaker_Max_Percent__c ?? null
    };
}

function toDeprovisionAccount(row: AccountRow): DeprovisionAccount {
    return {
        key: row.Key__c,
        userId: row.User__c,
        externalId: row.External_Id__c ?? undefined,
        status: (row.Status__c as DeprovisionAccount['status']) ?? 'Active',
        source: row.Source__c === 'Manual' ? 'Manual' : 'Rule',
        groups: parseGroups(row.Groups__c),
        grantedBySets: (row.Granted_By_Sets__c ?? '')
            .split(';')
            .map((name) => name.trim())
            .filter(Boolean),
        unmatchedSince: row.Unmatched_Since__c ?? null
    };
}

/** The plan of taking away in one connection. Reads the org; writes nothing (the caller upserts). */
export async function planTakingAway(input: TakingAwayInput): Promise<TakingAwayPlan> {
    const { org, runId, connection, matched, schema, ctx } = input;
    const key = connection.Key__c;
    const [policyRecord] = await org.query<PolicyRecord>(
        `SELECT Id, Deprovisioning__c, Grace_Days__c, Breaker_Max_Count__c, Breaker_Max_Percent__c FROM ${CONNECTION} WHERE Id = ${soqlString(connection.Id)}`
    );
    const policy = toPolicy(policyRecord);
    const on = deprovisioningOn(policy);
    const outcome: TakingAwayOutcome = {
        deprovisioning: on ? 'Deactivate' : 'Off',
        pending: 0,
        deactivate: 0,
        reactivate: 0,
        removeFromGroup: 0,
        examples: []
    };
    const limits = breakerLimits(policy);
    if (on && limits.problem) outcome.problem = limits.problem;

    // Managed groups: named by any grant of this connection, whether its set is active or not.
    const allGrants = await org.query<{ Groups__c?: string | null }>(
        `SELECT Groups__c FROM ${ACCESS_GRANT} WHERE Connection__c = ${soqlString(connection.Id)}`
    );
    const managed = managedGroups(
        allGrants.map((grant) => ({
            setId: '',
            setName: '',
            setCreatedDate: '',
            connectionKey: key,
            groups: parseGroups(grant.Groups__c)
        })),
        key
    );

    const userFields = [
        ...new Set([
            'IsActive',
            input.mappingUserNameField,
            ...fieldsInUse(input.sets.map((set) => set.definition))
        ])
    ].filter((field) => field !== 'Id' && schema.resolve(field) && !schema.resolve(field)?.derived);
    const rows = await org.query<AccountRow>(
        `SELECT Id, Key__c, User__c, External_Id__c, Status__c, Source__c, Groups__c, Granted_By_Sets__c, Unmatched_Since__c FROM ${APP_ACCOUNT} WHERE Connection__c = ${soqlString(connection.Id)}`
    );
    const rule = rows.filter((row) => row.Source__c !== 'Manual');
    // The users of accounts no set matches now: are they leavers, and why did they stop matching?
    const unmatchedIds = rule.map((row) => row.User__c).filter((id) => !matched.has(id));
    const users = new Map<string, UserRecord>();
    for (const ids of chunk(unmatchedIds, 200)) {
        const found = await org.query<UserRecord>(
            `SELECT Id, ${userFields.join(', ')} FROM User WHERE Id IN (${ids.map(soqlString).join(', ')})`
        );
        for (const user of found) users.set(user.Id, user);
    }
    for (const [id, { user }] of matched) users.set(id, user);

    const grantingSets = [...new Set(input.activeGrants.map((grant) => grant.setName))];
    const prepared = { valid: [...input.sets], invalid: [] };
    const memberGroups = (appId: string | undefined): Set<string> | undefined => {
        if (!appId || !input.app?.members) return undefined;
        const groups = new Set<string>();
        for (const [group, members] of input.app.members) if (members.has(appId)) groups.add(group);
        return groups;
    };

    const actions: SObjectRecord[] = [];
    const accounts: SObjectRecord[] = [];
    const deactivations: string[] = [];
    const removals: string[] = [];
    let ruleManagedActive = 0;
    for (const row of rule) {
        const account = toDeprovisionAccount(row);
        if (account.status !== 'Inactive') ruleManagedActive++;
        const user = users.get(account.userId);
        const match = matched.get(account.userId);
        const app = input.app?.byExternalId.get(accountKey(account.userId, key));
        const decision = decideAccount({
            account,
            user: user ? { Id: user.Id, IsActive: user.IsActive === true } : undefined,
            matches: match !== undefined,
            policy,
            now: ctx.now,
            appActive: app?.active
        });
        // Waiting out the grace starts (or restarts) on the record; a cancellation ends it. Both are the
        // org's bookkeeping, nothing is sent to the app for them.
        const changed =
            (decision.status !== undefined && decision.status !== account.status) ||
            (decision.unmatchedSince !== undefined && decision.unmatchedSince !== account.unmatchedSince);
        if ((decision.transition === 'pending' || decision.transition === 'cancel') && changed) {
            accounts.push({
                attributes: { type: APP_ACCOUNT },
                Key__c: account.key,
                Status__c: decision.status ?? account.status,
                Unmatched_Since__c: decision.unmatchedSince ?? null
            });
        }
        const userName = String(user?.[input.mappingUserNameField] ?? '');
        const appId = app?.id ?? account.externalId;
        const groups = groupRemovals({
            account,
            desiredGroups: match?.groups ?? [],
            managed,
            policy,
            decision,
            appGroups: memberGroups(appId)
        });
        let why = '';
        if (decision.transition === 'pending' || decision.transition === 'deactivate') {
            why =
                whyText(
                    deactivationWhy({
                        user: user ? { Id: user.Id, IsActive: user.IsActive === true } : undefined,
                        grantedBySets: account.grantedBySets,
                        grantingSets,
                        explanations: user ? explain(prepared, user, () => 'Not Invited', ctx).sets : []
                    })
                ) || decision.reason;
            if (decision.transition === 'pending') outcome.pending++;
            if (outcome.examples.length < EXAMPLES) {
                outcome.examples.push({
                    userId: account.userId,
                    userName,
                    due: decision.dueAt ?? null,
                    why,
                    leaver: decision.leaver === true
                });
            }
        }
        const record = (
            kind: 'Deactivate' | 'Reactivate' | 'Remove From Group',
            detail: Record<string, unknown>,
            group?: string
        ) =>
            ({
                attributes: { type: RUN_ACTION },
                Key__c: actionKey(
                    runId,
                    key,
                    group === undefined
                        ? { userId: account.userId, kind }
                        : { userId: account.userId, kind, group }
                ),
                Run__c: runId,
                Connection__c: connection.Id,
                User__c: account.userId,
                App_Account__c: row.Id,
                Kind__c: kind,
                Status__c: 'Pending',
                Reason__c: null,
                External_Id__c: appId ?? null,
                Detail__c: truncate(JSON.stringify({ accountKey: account.key, userName, ...detail }), 131_072)
            }) satisfies SObjectRecord;
        if (decision.action === 'Reactivate') {
            outcome.reactivate++;
            actions.push(
                record('Reactivate', {
                    operations: [{ op: 'replace', path: 'active', value: true }],
                    why: decision.reason
                })
            );
        } else if (decision.action === 'Deactivate') {
            outcome.deactivate++;
            deactivations.push(account.key);
            actions.push(
                record('Deactivate', {
                    operations: [{ op: 'replace', path: 'active', value: false }],
                    why,
                    leaver: decision.leaver === true
                })
            );
        }
        for (const group of groups) {
            outcome.removeFromGroup++;
            removals.push(account.key);
            actions.push(
                record(
                    'Remove From Group',
                    { group, why: why || 'no matching set grants this group any more' },
                    group
                )
            );
        }
    }
    const verdict = breaker({ limits, ruleManagedActive, deactivations, removals });
    if (on && verdict.tripped) {
        outcome.held = verdict.reason;
        for (const action of actions) {
            if (action.Kind__c === 'Deactivate' || action.Kind__c === 'Remove From Group') {
                action.Status__c = 'Held';
                action.Reason__c = truncate(verdict.reason ?? 'held');
            }
        }
    }
    return { actions, accounts, outcome };
}

/** What the send phase needs of connections.ts's sender (its failure streak, its batched writes). */
export interface TakingAwaySender {
    readonly directory: {
        patchUser(
            id: string,
            operations: Array<{ op: 'add' | 'replace' | 'remove'; path?: string; value?: unknown }>
        ): Promise<unknown>;
        listGroups(): Promise<Array<{ id: string; displayName: string }>>;
        removeMembers(groupId: string, userIds: string[]): Promise<void>;
    };
    readonly failingReason: string | undefined;
    readonly manual: ReadonlySet<string>;
    readonly externalIds: ReadonlyMap<string, string>;
    readonly accounts: Map<string, { Key__c: string; Groups__c?: string | null }>;
    settle(
        action: SentAction,
        status: 'Done' | 'Failed' | 'Skipped',
        reason?: string,
        externalId?: string
    ): void;
    failure(error: unknown): string;
    success(): void;
    account(key: string, fields: Record<string, unknown>): void;
}

export interface SentAction {
    Key__c: string;
    Kind__c: string;
    Status__c: string;
    Detail__c?: string | null;
    External_Id__c?: string | null;
}

interface TakingAwayDetail {
    accountKey: string;
    group?: string;
    operations?: Array<{ op: 'add' | 'replace' | 'remove'; path?: string; value?: unknown }>;
}

function detailOf(action: SentAction): TakingAwayDetail {
    try {
        return JSON.parse(action.Detail__c ?? '{}') as TakingAwayDetail;
    } catch {
        return { accountKey: '' };
    }
}

export const TAKING_AWAY_KINDS = ['Reactivate', 'Deactivate', 'Remove From Group'] as const;

/**
 * Sends a connection's Pending Reactivate, Deactivate and Remove From Group actions (never a Held one:
 * the caller passes only Pending actions). `check` is the lease check between sends.
 */
export async function sendTakingAway(
    sender: TakingAwaySender,
    pending: ReadonlyArray<SentAction>,
    check: () => Promise<void>
): Promise<void> {
    const ofKind = (kind: string) => pending.filter((action) => action.Kind__c === kind);
    for (const action of [...ofKind('Reactivate'), ...ofKind('Deactivate')]) {
        await check();
        if (sender.failingReason) {
            sender.settle(action, 'Failed', sender.failingReason);
            continue;
        }
        const detail = detailOf(action);
        const id = sender.externalIds.get(detail.accountKey) ?? action.External_Id__c ?? undefined;
        if (sender.manual.has(detail.accountKey)) {
            sender.settle(action, 'Skipped', 'The account is Manual: never changed by a run');
            continue;
        }
        if (!id) {
            sender.settle(action, 'Failed', 'The account has no id in the app');
            continue;
        }
        try {
            // Replacing `active` is idempotent: a resend after a lost answer changes nothing twice.
            await sender.directory.patchUser(id, detail.operations ?? []);
            sender.success();
            sender.settle(action, 'Done', undefined, id);
            sender.account(
                detail.accountKey,
                action.Kind__c === 'Deactivate'
                    ? { Status__c: 'Inactive' }
                    : { Status__c: 'Active', Unmatched_Since__c: null }
            );
        } catch (error) {
            sender.settle(action, 'Failed', `${action.Kind__c}: ${sender.failure(error)}`);
        }
    }
    const removals = ofKind('Remove From Group');
    if (removals.length === 0) return;
    const groups = await readAppGroups(sender, removals, () => sender.directory.listGroups(), check);
    if (!groups) return;
    const byGroup = new Map<string, Array<{ action: SentAction; memberId: string; accountKey: string }>>();
    for (const action of removals) {
        const detail = detailOf(action);
        const group = detail.group ?? '';
        const memberId = sender.externalIds.get(detail.accountKey) ?? action.External_Id__c ?? undefined;
        if (sender.manual.has(detail.accountKey))
            sender.settle(action, 'Skipped', 'The account is Manual: never changed by a run');
        else if (!memberId) sender.settle(action, 'Failed', 'The account has no id in the app');
        else if (!groups.has(group)) {
            // The group is gone from the app: the membership is gone with it.
            sender.settle(action, 'Skipped', `No group named "${group}" in the app any more`);
        } else {
            const list = byGroup.get(group) ?? [];
            list.push({ action, memberId, accountKey: detail.accountKey });
            byGroup.set(group, list);
        }
    }
    await sendGroupChanges(
        sender,
        'remove',
        (groupId, memberIds) => sender.directory.removeMembers(groupId, memberIds),
        groups,
        byGroup,
        check
    );
}
