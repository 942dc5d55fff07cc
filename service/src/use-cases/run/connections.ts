/**
 * Connections in a run (DESIGN §10), in two phases like the invitations:
 * - plan (at preview): the users matching the active sets that grant access, their accounts as the org
 *   records them and the app's current state (read page by page when the service can reach the app) go to
 *   the engine's plan; each action is upserted `Pending` as a Provisioning_Run_Action__c (by Key__c);
 * - send (at execute, under the run's lease): each Pending action is sent through the connection's
 *   AppDirectory port and marked Done, Failed or Skipped after; App_Account__c is upserted by Key__c.
 *
 * Integrity: a create is preceded by a `userName` search (an account carrying our externalId is ours: a
 * create whose answer was lost, adopted as Rule; one without it is Manual, recorded and never changed), and
 * a 409 answer is resolved the same way by the adapter; PATCHes replace values and group adds tolerate
 * members already in, so a resend after a crash or a lost answer changes nothing twice. A connection that
 * keeps failing fails its remaining actions with the reason; the rest of the run goes on.
 */
import {
    accountKey,
    actionKey,
    desiredAccess,
    fieldsInUse,
    matchSets,
    parseGroups,
    planCandidateQueries,
    planUser,
    requiredManagerIds,
    validateAttributeMap,
    type AccessGrant,
    type AccountRecord,
    type AppAccountState,
    type EvalContext,
    type PreparedSet,
    type UserRecord,
    type ValidMapping
} from '../../engine';
import { AppDirectoryError, type AppDirectory, type AppUser } from '../../connections/app-directory';
import {
    ConnectionStore,
    RUN_ACTION,
    APP_ACCOUNT,
    type AppAccountRecord,
    type ConnectionRecord,
    type GrantRecord,
    type RunActionRecord
} from '../../domain/connection-store';
import { describeError } from '../../errors';
import type { SObjectRecord } from '../../ports';
import { forEachCandidatePage, ownStrings, readManagerIds } from '../candidates';
import type { Evaluator } from '../evaluation';
import { prepareGrantingSet } from '../granting-sets';
import { readAppGroups, sendGroupChanges } from './group-changes';
import { truncate, type ActionsProgress, type RunDeps } from './context';
import { planTakingAway, sendTakingAway, TAKING_AWAY_KINDS, type TakingAwayOutcome } from './taking-away';

/** Consecutive failures of one connection (unreachable, refused, timing out) after which its rest fails. */
export const CONNECTION_FAILURE_LIMIT = 3;
const WRITE_BATCH = 200;
/** Creates in flight per connection (the adapter bounds its own requests too). */
export const CREATE_CONCURRENCY = 4;
const USER_FIELDS = ['Username', 'Email', 'FirstName', 'LastName', 'FederationIdentifier'];

/** What a run plans and does in one connection's app: the run's counts for connections, apart from items. */
export interface ConnectionOutcome {
    key: string;
    name: string;
    /** The service has an entry for it in CONNECTIONS_FILE. */
    configured: boolean;
    /** Actions by kind (Create, Update, Add To Group, Set Role, …). */
    planned: Record<string, number>;
    done: number;
    /** Done actions by kind: the run's outcome counts (./counts connectionCounts: created, updated, …). */
    doneByKind?: Record<string, number>;
    failed: number;
    skipped: number;
    /** Matched users with an account Rollcall leaves alone (Manual, or inactive pending §11). */
    kept: number;
    /** Why the connection was not planned or not sent (a bad mapping, an unreachable app, …). */
    problem?: string;
    /** A few failure reasons, for the audit. */
    failures?: string[];
    /** DESIGN §11 (taking-away.ts): pending, due and held removals, at plan time. */
    takingAway?: TakingAwayOutcome;
    /** Actions the circuit breaker holds for an admin's approval (DESIGN §11), and why. */
    held?: number;
    heldReason?: string;
}

function toAccessGrant(grant: GrantRecord, key: string): AccessGrant {
    return {
        setId: grant.Condition_Set__c,
        setName: grant.Condition_Set__r?.Name ?? grant.Condition_Set__c,
        setCreatedDate: grant.Condition_Set__r?.CreatedDate ?? '',
        connectionKey: key,
        groups: parseGroups(grant.Groups__c),
        role: grant.Role__c?.trim() || undefined
    };
}

function toAccount(record: AppAccountRecord): AccountRecord {
    return {
        key: record.Key__c,
        userId: record.User__c,
        externalId: record.External_Id__c ?? undefined,
        status: (record.Status__c as AccountRecord['status']) ?? 'Active',
        source: record.Source__c === 'Manual' ? 'Manual' : 'Rule',
        role: record.Role__c ?? undefined,
        groups: parseGroups(record.Groups__c),
        grantedBySets: (record.Granted_By_Sets__c ?? '')
            .split(';')
            .map((name) => name.trim())
            .filter(Boolean)
    };
}

function countDone(outcome: ConnectionOutcome, kind: string): void {
    outcome.done++;
    outcome.doneByKind ??= {};
    outcome.doneByKind[kind] = (outcome.doneByKind[kind] ?? 0) + 1;
}

function emptyOutcome(connection: ConnectionRecord, configured: boolean): ConnectionOutcome {
    return {
        key: connection.Key__c,
        name: connection.Name,
        configured,
        planned: {},
        done: 0,
        failed: 0,
        skipped: 0,
        kept: 0
    };
}

/** The app's accounts (ours by externalId, others by userName) and group members, read page by page. */
async function readApp(directory: AppDirectory, key: string, wantedUserNames: Set<string>) {
    const byExternalId = new Map<string, AppAccountState>();
    const byUserName = new Map<string, AppAccountState>();
    const suffix = `:${key}`;
    await directory.listUsers((users) => {
        for (const user of users) {
            const state: AppAccountState = {
                id: user.id,
                userName: user.userName,
                externalId: user.externalId,
                active: user.active,
                resource: user.resource
            };
            if (user.externalId?.endsWith(suffix)) byExternalId.set(user.externalId, state);
            else if (wantedUserNames.has(user.userName)) byUserName.set(user.userName, state);
        }
    });
    const groups = await directory.listGroups();
    const members = new Map(
        groups.map((group) => [group.displayName, new Set(group.memberIds ?? [])] as const)
    );
    return {
        byExternalId,
        byUserName,
        members,
        membersKnown: groups.every((group) => group.memberIds !== undefined)
    };
}

/**
 * The plan phase: records every connection action of the run `Pending`. Returns what was planned per
 * connection (the preview shows it). A connection that cannot be planned is reported, never fatal.
 */
export async function planConnections(
    deps: RunDeps,
    runId: string,
    evaluator: Evaluator
): Promise<ConnectionOutcome[]> {
    const { store, clock, logger } = deps;
    const connectionStore = new ConnectionStore(store.org);
    // One Composite request for both (one API call).
    const reads = connectionStore.planReads(store);
    const [connections, grants] = await Promise.all([reads.connections, reads.grants]);
    const active = connections.filter((connection) => connection.Active__c === true);
    if (active.length === 0) return [];
    const { schema, timeZone } = await evaluator.schemaAndTimeZone();
    const now = clock.now();
    const outcomes: ConnectionOutcome[] = [];

    // The sets that grant access, validated like any set (a set may grant access and no product).
    const sets = new Map<string, PreparedSet>();
    const invalidSets = new Map<string, string>();
    for (const grant of grants) {
        if (sets.has(grant.Condition_Set__c) || invalidSets.has(grant.Condition_Set__c)) continue;
        const prepared = prepareGrantingSet(grant, schema);
        if (prepared.set) sets.set(grant.Condition_Set__c, prepared.set);
        else invalidSets.set(grant.Condition_Set__c, prepared.invalid);
    }

    const mappings = new Map<string, ValidMapping>();
    const planned: ConnectionRecord[] = [];
    for (const connection of active) {
        const outcome = emptyOutcome(
            connection,
            deps.appDirectories?.forConnection(connection.Key__c) !== undefined
        );
        outcomes.push(outcome);
        if (!outcome.configured) {
            // Never guessed: the preview says so, and nothing is planned that could not be sent.
            outcome.problem = `Not configured in the service (CONNECTIONS_FILE has no entry "${connection.Key__c}"): nothing planned`;
            continue;
        }
        const mapping = validateAttributeMap(connection.Attribute_Map__c, connection.Match_On__c, schema);
        if (!mapping.ok) {
            outcome.problem = `Attribute map invalid, nothing planned: ${mapping.errors.map((error) => error.message).join(' ')}`;
            continue;
        }
        mappings.set(connection.Id, mapping);
        planned.push(connection);
    }
    const valid = [...sets.values()];
    // No valid set granting access still plans taking it away (DESIGN §11): a rule edit can remove them all.
    if (planned.length === 0) return outcomes;

    const extraFields = [
        ...new Set([
            ...USER_FIELDS.filter((field) => schema.resolve(field)),
            ...[...mappings.values()].flatMap((mapping) => mapping.fields)
        ])
    ].filter((field) => !fieldsInUse(valid.map((set) => set.definition)).includes(field));
    const queries = planCandidateQueries(valid, { ctx: { now, timeZone }, extraFields });
    const managerIds = requiredManagerIds(valid)
        ? await readManagerIds(store.org, schema, {})
        : new Set<string>();
    const ctx: EvalContext = { now, timeZone, managerIds };
    const matched: Array<{ user: UserRecord; setIds: Set<string> }> = [];
    if (valid.length > 0) {
        await forEachCandidatePage(store.org, queries.queries, schema, ({ users }) => {
            for (const user of users) {
                const ids = matchSets(valid, user, ctx);
                if (ids.length > 0) matched.push({ user: ownStrings(user), setIds: new Set(ids) });
            }
        });
    }

    for (const connection of planned) {
        const outcome = outcomes.find(
            (candidate) => candidate.key === connection.Key__c
        ) as ConnectionOutcome;
        const mapping = mappings.get(connection.Id) as ValidMapping;
        const key = connection.Key__c;
        const connectionGrants = grants
            .filter((grant) => grant.Connection__c === connection.Id && sets.has(grant.Condition_Set__c))
            .map((grant) => toAccessGrant(grant, key));
        const users = matched
            .map(({ user, setIds }) => ({
                user,
                matching: connectionGrants.filter((grant) => setIds.has(grant.setId))
            }))
            .filter(({ matching }) => matching.length > 0);
        const accounts = new Map(
            (await connectionStore.accounts(connection.Id)).map((record) => [record.User__c, record])
        );
        let app: Awaited<ReturnType<typeof readApp>> | undefined;
        const directory = deps.appDirectories?.forConnection(key);
        if (directory && (users.length > 0 || accounts.size > 0)) {
            const userNames = new Set(
                users
                    .map(({ user }) => String(user[mapping.userNameField] ?? ''))
                    .filter((name) => name !== '')
            );
            try {
                app = await readApp(directory, key, userNames);
            } catch (error) {
                outcome.problem = `The app was not read (${describeError(error)}); planned from the org's records`;
                logger.warn(
                    { runId, connection: key, err: describeError(error) },
                    'Connection app not read for the plan'
                );
            }
        }
        const records: SObjectRecord[] = [];
        for (const { user, matching } of users) {
            const record = accounts.get(user.Id);
            const account = record ? toAccount(record) : undefined;
            const ownKey = accountKey(user.Id, key);
            const userName = String(user[mapping.userNameField] ?? '');
            const appState =
                app?.byExternalId.get(ownKey) ??
                (account?.externalId ? undefined : app?.byUserName.get(userName)) ??
                (account?.externalId && app ? findById(app.byExternalId, account.externalId) : undefined);
            const plan = planUser({
                connectionKey: key,
                mapping,
                user,
                matching,
                // DESIGN §11: a Rule account matching again is reactivated (or its pending cancelled) by
                // taking-away.ts, and granted here like an active one.
                account:
                    account && account.source === 'Rule' && account.status !== 'Active'
                        ? { ...account, status: 'Active' }
                        : account,
                // …and its `active` is the Reactivate's to send, not an Update's.
                app:
                    appState && account?.source === 'Rule' && account.status !== 'Active'
                        ? { ...appState, resource: { ...appState.resource, active: true } }
                        : appState,
                groupMembers: app?.membersKnown ? app.members : undefined,
                appRead: app !== undefined
            });
            if (plan.kept) outcome.kept++;
            for (const action of plan.actions) {
                // A create of an account someone else made is recorded Manual, not counted as planned.
                if (action.detail.manual !== true) {
                    outcome.planned[action.kind] = (outcome.planned[action.kind] ?? 0) + 1;
                }
                records.push({
                    attributes: { type: RUN_ACTION },
                    Key__c: actionKey(runId, key, action),
                    Run__c: runId,
                    Connection__c: connection.Id,
                    User__c: user.Id,
                    App_Account__c: record?.Id ?? null,
                    Kind__c: action.kind,
                    Status__c: 'Pending',
                    Reason__c: null,
                    External_Id__c: appState?.id ?? account?.externalId ?? null,
                    Detail__c: truncate(
                        JSON.stringify({
                            ...action.detail,
                            accountKey: ownKey,
                            userName,
                            sets: plan.desired.sets,
                            role: plan.desired.role ?? null
                        }),
                        131_072
                    )
                });
            }
        }
        const takingAway = await planTakingAway({
            org: store.org,
            runId,
            connection,
            mappingUserNameField: mapping.userNameField,
            matched: new Map(
                users.map(({ user, matching }) => [user.Id, { user, groups: desiredAccess(matching).groups }])
            ),
            activeGrants: connectionGrants,
            sets: valid,
            schema,
            ctx,
            app: app
                ? { byExternalId: app.byExternalId, members: app.membersKnown ? app.members : undefined }
                : undefined
        });
        outcome.takingAway = takingAway.outcome;
        for (const action of takingAway.actions) {
            const kind = String(action.Kind__c);
            outcome.planned[kind] = (outcome.planned[kind] ?? 0) + 1;
            if (action.Status__c === 'Held') outcome.held = (outcome.held ?? 0) + 1;
        }
        records.push(...takingAway.actions);
        await writeAll(takingAway.accounts, (slice) => connectionStore.upsertAccounts(slice), 'app accounts');
        await writeAll(records, (slice) => connectionStore.upsertActions(slice), 'connection actions');
    }
    for (const reason of invalidSets.values())
        logger.warn({ runId, reason }, 'Set with access grants not valid');
    return outcomes;
}

function findById(states: Map<string, AppAccountState>, id: string): AppAccountState | undefined {
    for (const state of states.values()) if (state.id === id) return state;
    return undefined;
}

async function writeAll(
    records: SObjectRecord[],
    write: (records: SObjectRecord[]) => Promise<Array<{ success: boolean; errors: string[] }>>,
    what: string
): Promise<void> {
    for (let i = 0; i < records.length; i += WRITE_BATCH) {
        const results = await write(records.slice(i, i + WRITE_BATCH));
        const failed = results.filter((result) => !result.success);
        if (failed.length > 0) {
            throw new Error(
                `Could not write ${failed.length} ${what} (first: ${failed[0].errors.join('; ')})`
            );
        }
    }
}

interface ActionDetail {
    accountKey: string;
    userName: string;
    sets?: string[];
    role?: string | null;
    resource?: Record<string, unknown>;
    manual?: boolean;
    /** The preview read the app and it had no account with this userName. */
    absentAtPreview?: boolean;
    group?: string;
    groups?: string[];
    operations?: Array<{ op: 'add' | 'replace' | 'remove'; path?: string; value?: unknown }>;
}

function detailOf(action: RunActionRecord): ActionDetail {
    try {
        return JSON.parse(action.Detail__c ?? '{}') as ActionDetail;
    } catch {
        return { accountKey: '', userName: '' };
    }
}

/** Whether sending may go on: the caller's lease check (the run's claim) and stop signal. */
export interface SendGuard {
    mayContinue(): Promise<boolean>;
}

/**
 * The run's actions with an outcome, across its connections: reported after each one, so the run view shows
 * the sending move (the invitations' counts stand still meanwhile).
 */
class ActionTally {
    private readonly progress: ActionsProgress;

    constructor(
        actions: RunActionRecord[],
        private readonly report?: (progress: ActionsProgress) => void
    ) {
        // Held actions wait for an admin (approve-held.ts): not sent by this run, so not to send.
        const toSend = actions.filter((action) => action.Status__c !== 'Held');
        this.progress = {
            total: toSend.length,
            done: toSend.filter((action) => action.Status__c !== 'Pending').length,
            failed: toSend.filter((action) => action.Status__c === 'Failed').length
        };
        if (this.progress.total > 0) this.report?.({ ...this.progress });
    }

    settled(status: 'Done' | 'Failed' | 'Skipped'): void {
        this.progress.done++;
        if (status === 'Failed') this.progress.failed++;
        this.report?.({ ...this.progress });
    }
}

/** A connection's sending, with its failure streak and its writes to the org. */
class ConnectionSender {
    private streak = 0;
    private broken?: string;
    private readonly actionWrites: SObjectRecord[] = [];
    private readonly accountWrites = new Map<string, SObjectRecord>();
    /** Account key → the app's id, as the org records it or as this run learnt it. */
    readonly externalIds = new Map<string, string>();
    readonly manual = new Set<string>();
    readonly accounts = new Map<string, AppAccountRecord>();

    constructor(
        private readonly deps: RunDeps,
        private readonly runId: string,
        private readonly connectionId: string,
        readonly directory: AppDirectory,
        readonly outcome: ConnectionOutcome,
        private readonly store: ConnectionStore,
        private readonly tally: ActionTally
    ) {}

    get failingReason(): string | undefined {
        return this.broken;
    }

    /** Records an action's outcome (written in batches; the action stays Pending in the org until then). */
    settle(
        action: RunActionRecord,
        status: 'Done' | 'Failed' | 'Skipped',
        reason?: string,
        externalId?: string
    ): void {
        action.Status__c = status;
        if (status === 'Done') countDone(this.outcome, action.Kind__c);
        else if (status === 'Failed') {
            this.outcome.failed++;
            if (reason && (this.outcome.failures ??= []).length < 5) this.outcome.failures.push(reason);
        } else this.outcome.skipped++;
        this.tally.settled(status);
        this.actionWrites.push({
            attributes: { type: RUN_ACTION },
            Key__c: action.Key__c,
            Run__c: this.runId,
            Status__c: status,
            Reason__c: reason ? truncate(reason) : null,
            ...(externalId ? { External_Id__c: externalId } : {})
        });
    }

    /** Counts a failure of the app itself; after a streak the rest of this connection's actions fail. */
    failure(error: unknown): string {
        const message = describeError(error);
        const connectionLevel =
            error instanceof AppDirectoryError &&
            ['unauthorized', 'unavailable', 'timeout', 'rate_limited', 'protocol'].includes(error.kind);
        if (connectionLevel) {
            this.streak++;
            if (this.streak >= CONNECTION_FAILURE_LIMIT) {
                this.broken = `Not sent: ${this.outcome.key} failed ${this.streak} times in a row (last: ${message})`;
            }
        }
        return message;
    }

    success(): void {
        this.streak = 0;
    }

    account(key: string, fields: Record<string, unknown>): void {
        const known = this.accountWrites.get(key) ?? { attributes: { type: APP_ACCOUNT }, Key__c: key };
        this.accountWrites.set(key, {
            ...known,
            ...fields,
            Connection__c: this.connectionId,
            Last_Run__c: this.runId
        });
    }

    async flush(): Promise<void> {
        // Accounts first: an action Done whose account write was lost would leave the org without the app's id.
        const accounts = [...this.accountWrites.values()];
        this.accountWrites.clear();
        await writeAll(accounts, (slice) => this.store.upsertAccounts(slice), 'app accounts');
        const actions = this.actionWrites.splice(0);
        await writeAll(actions, (slice) => this.store.upsertActions(slice), 'connection actions');
    }

    get pendingWrites(): number {
        return this.actionWrites.length;
    }
}

class Stop extends Error {}

/** Runs `work` over `items`, at most `limit` at a time. */
async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
        while (next < items.length) await work(items[next++]);
    });
    await Promise.all(workers);
}

const ADOPT_REASON =
    'Kept as Manual: the app already has an account with this userName that Rollcall did not create';

/**
 * The send phase, under the run's lease: every Pending action of the run. Returns the outcome per
 * connection, or `stopped` when the guard said stop (what was sent is written; the rest stays Pending
 * for the resume). `onProgress` hears the run's actions progress once they are read (when there is any
 * to send) and after each outcome.
 */
export async function sendConnectionActions(
    deps: RunDeps,
    runId: string,
    guard: SendGuard,
    onProgress?: (progress: ActionsProgress) => void
): Promise<{ outcomes: ConnectionOutcome[]; stopped: boolean }> {
    const store = new ConnectionStore(deps.store.org);
    const actions = await store.actions(runId);
    const outcomes: ConnectionOutcome[] = [];
    if (actions.length === 0) return { outcomes, stopped: false };
    const tally = new ActionTally(actions, onProgress);
    const byConnection = new Map<string, RunActionRecord[]>();
    for (const action of actions) {
        const list = byConnection.get(action.Connection__c) ?? [];
        list.push(action);
        byConnection.set(action.Connection__c, list);
    }
    for (const [connectionId, list] of byConnection) {
        const key = list[0].Connection__r?.Key__c ?? connectionId;
        const outcome: ConnectionOutcome = {
            key,
            name: list[0].Connection__r?.Name ?? key,
            configured: false,
            planned: {},
            done: 0,
            failed: 0,
            skipped: 0,
            kept: 0
        };
        outcomes.push(outcome);
        for (const action of list) {
            outcome.planned[action.Kind__c] = (outcome.planned[action.Kind__c] ?? 0) + 1;
            if (action.Status__c === 'Done') countDone(outcome, action.Kind__c);
            else if (action.Status__c === 'Failed') outcome.failed++;
            else if (action.Status__c === 'Skipped') outcome.skipped++;
            else if (action.Status__c === 'Held') {
                outcome.held = (outcome.held ?? 0) + 1;
                outcome.heldReason ??= action.Reason__c ?? undefined;
            }
        }
        const pending = list.filter((action) => action.Status__c === 'Pending');
        const directory = deps.appDirectories?.forConnection(key);
        outcome.configured = directory !== undefined;
        if (pending.length === 0) continue;
        if (!directory) {
            const sender = new ConnectionSender(
                deps,
                runId,
                connectionId,
                undefined as unknown as AppDirectory,
                outcome,
                store,
                tally
            );
            outcome.problem = `Not configured in the service (no CONNECTIONS_FILE entry "${key}")`;
            for (const action of pending) sender.settle(action, 'Failed', outcome.problem);
            await sender.flush();
            continue;
        }
        const sender = new ConnectionSender(deps, runId, connectionId, directory, outcome, store, tally);
        try {
            await sendConnection(deps, sender, list, pending, guard);
        } catch (error) {
            await sender.flush();
            if (error instanceof Stop) return { outcomes, stopped: true };
            throw error;
        }
        await sender.flush();
        if (sender.failingReason) outcome.problem = sender.failingReason;
    }
    return { outcomes, stopped: false };
}

async function sendConnection(
    deps: RunDeps,
    sender: ConnectionSender,
    all: RunActionRecord[],
    pending: RunActionRecord[],
    guard: SendGuard
): Promise<void> {
    const store = new ConnectionStore(deps.store.org);
    const keys = [...new Set(all.map((action) => detailOf(action).accountKey).filter(Boolean))];
    for (const record of await store.accountsByKey(keys)) {
        sender.accounts.set(record.Key__c, record);
        if (record.External_Id__c) sender.externalIds.set(record.Key__c, record.External_Id__c);
        if (record.Source__c === 'Manual') sender.manual.add(record.Key__c);
    }
    // Accounts created by an earlier attempt of this run (Done before a crash) are known by their action.
    for (const action of all) {
        const detail = detailOf(action);
        if (action.Kind__c === 'Create' && action.Status__c !== 'Pending' && action.External_Id__c) {
            sender.externalIds.set(detail.accountKey, action.External_Id__c);
        }
    }
    const check = async (): Promise<void> => {
        if (!(await guard.mayContinue())) throw new Stop();
        if (sender.pendingWrites >= WRITE_BATCH) await sender.flush();
    };
    const ofKind = (kind: string) => pending.filter((action) => action.Kind__c === kind);

    await pool(ofKind('Create'), CREATE_CONCURRENCY, async (action) => {
        await check();
        if (sender.failingReason) return sender.settle(action, 'Failed', sender.failingReason);
        await sendCreate(sender, action, detailOf(action));
    });
    for (const action of [...ofKind('Update'), ...ofKind('Set Role')]) {
        await check();
        if (sender.failingReason) {
            sender.settle(action, 'Failed', sender.failingReason);
            continue;
        }
        const detail = detailOf(action);
        const id = sender.externalIds.get(detail.accountKey);
        if (sender.manual.has(detail.accountKey)) {
            sender.settle(action, 'Skipped', 'The account is Manual: never changed by a run');
            continue;
        }
        if (!id) {
            sender.settle(action, 'Failed', 'The account has no id in the app (its create failed)');
            continue;
        }
        try {
            await sender.directory.patchUser(id, detail.operations ?? []);
            sender.success();
            sender.settle(action, 'Done', undefined, id);
            if (action.Kind__c === 'Set Role') {
                sender.account(detail.accountKey, {
                    Role__c: detail.role ?? null,
                    Granted_By_Sets__c: truncate((detail.sets ?? []).join('; '))
                });
            }
        } catch (error) {
            sender.settle(action, 'Failed', `${action.Kind__c}: ${sender.failure(error)}`);
        }
    }
    await sendMemberships(sender, ofKind('Add To Group'), check);
    await sendTakingAway(
        sender,
        pending.filter((action) => (TAKING_AWAY_KINDS as readonly string[]).includes(action.Kind__c)),
        check
    );
}

async function sendCreate(
    sender: ConnectionSender,
    action: RunActionRecord,
    detail: ActionDetail
): Promise<void> {
    const key = detail.accountKey;
    const userId = action.User__c;
    const record = (user: AppUser, source: 'Rule' | 'Manual') => {
        sender.externalIds.set(key, user.id);
        if (source === 'Manual') sender.manual.add(key);
        sender.account(key, {
            User__c: userId,
            External_Id__c: user.id,
            Status__c: 'Active',
            Source__c: source,
            ...(source === 'Rule'
                ? {
                      Role__c: detail.role ?? null,
                      Granted_By_Sets__c: truncate((detail.sets ?? []).join('; '))
                  }
                : {})
        });
    };
    try {
        // Never doubled: an account made since the preview, or by a create whose answer was lost, is found by
        // userName, here first when the preview could not tell it was absent, else through the 409 answer
        // (the adapter resolves it with the same search); either way judged by its externalId below.
        const found = detail.absentAtPreview ? null : await sender.directory.findUser(detail.userName);
        let user = found;
        let existed = found !== null;
        if (!found) {
            if (detail.manual) {
                // The plan saw a foreign account that is gone now: create it as planned would need a new plan.
                sender.success();
                sender.settle(
                    action,
                    'Skipped',
                    'The app account seen by the preview is gone; preview again'
                );
                return;
            }
            const created = await sender.directory.createUser(detail.resource ?? {});
            user = created.user;
            existed = created.existed;
        }
        sender.success();
        const account = user as AppUser;
        if (existed && account.externalId !== key) {
            record(account, 'Manual');
            sender.settle(action, 'Skipped', ADOPT_REASON, account.id);
            return;
        }
        record(account, 'Rule');
        sender.settle(action, 'Done', undefined, account.id);
    } catch (error) {
        sender.settle(action, 'Failed', `Create: ${sender.failure(error)}`);
    }
}

async function sendMemberships(
    sender: ConnectionSender,
    adds: RunActionRecord[],
    check: () => Promise<void>
): Promise<void> {
    if (adds.length === 0) return;
    const groups = await readAppGroups(sender, adds, () => sender.directory.listGroups(), check);
    if (!groups) return;
    const byGroup = new Map<
        string,
        Array<{ action: RunActionRecord; memberId: string; accountKey: string }>
    >();
    for (const action of adds) {
        const detail = detailOf(action);
        const group = detail.group ?? '';
        const memberId = sender.externalIds.get(detail.accountKey);
        if (sender.manual.has(detail.accountKey)) {
            sender.settle(action, 'Skipped', 'The account is Manual: never changed by a run');
        } else if (!memberId) {
            sender.settle(action, 'Failed', 'The account has no id in the app (its create failed)');
        } else if (!groups.has(group)) {
            sender.settle(
                action,
                'Failed',
                `No group named "${group}" in the app (names are exact and case-sensitive)`
            );
        } else {
            const list = byGroup.get(group) ?? [];
            list.push({ action, memberId, accountKey: detail.accountKey });
            byGroup.set(group, list);
        }
    }
    // The adapter sends as few PATCHes as the app allows (chunks of members).
    await sendGroupChanges(
        sender,
        'add',
        (groupId, memberIds) => sender.directory.addMembers(groupId, memberIds),
        groups,
        byGroup,
        check
    );
}
