/**
 * The plan of a connection (DESIGN §10): what to change in one app so that each matching user has the
 * access their sets grant. Pure: the grants of the matching sets, the account as the org records it
 * (App_Account__c), the app's current state where known and the connection's mapping in; a list of
 * actions out. Nothing here sends anything: the run records the actions, sends them and records again.
 *
 * Rules (as the reference systems do them):
 * - groups: the union over the matching sets, display names exact and case-sensitive;
 * - role: single-valued; the oldest matching set (CreatedDate) with a role wins, but an account keeps
 *   the role of the set that provisioned it while that set still matches and still grants a role;
 * - an update only when a mapped value differs from the app's: an unchanged population plans nothing;
 * - a Manual account (not created or adopted by Rollcall) is never changed.
 * Deactivation, reactivation and removals are DESIGN §11's (not planned here).
 */
import {
    getAtPath,
    mappedValues,
    buildUserResource,
    userFieldValue,
    type AttributePath,
    type MappedValue,
    type ValidMapping
} from './attribute-map';
import type { UserRecord } from './types';

export const ACTION_KINDS = [
    'Create',
    'Update',
    'Add To Group',
    'Remove From Group',
    'Set Role',
    'Reactivate',
    'Deactivate'
] as const;
export type ActionKind = (typeof ACTION_KINDS)[number];

/** One Access_Grant__c with its condition set. */
export interface AccessGrant {
    setId: string;
    setName: string;
    /** The set's CreatedDate: precedence, oldest first. */
    setCreatedDate: string;
    connectionKey: string;
    /** One display name per line in Groups__c; exact, case-sensitive. */
    groups: string[];
    role?: string;
}

/** An App_Account__c as the org records it. */
export interface AccountRecord {
    key: string;
    userId: string;
    externalId?: string;
    status: 'Active' | 'Pending Deactivation' | 'Inactive';
    source: 'Rule' | 'Manual';
    role?: string;
    groups: string[];
    /** Granted_By_Sets__c: the first is the set whose role the account has. */
    grantedBySets: string[];
}

/** The app's view of one account, where the preview could read it. */
export interface AppAccountState {
    id: string;
    userName: string;
    externalId?: string;
    active: boolean;
    resource: Record<string, unknown>;
}

export interface DesiredAccess {
    groups: string[];
    role?: string;
    /** Names, the set giving the role first, then the others oldest first (Granted_By_Sets__c). */
    sets: string[];
}

export interface PlannedAction {
    kind: ActionKind;
    userId: string;
    accountKey: string;
    /** For group actions: the group's display name. */
    group?: string;
    /** What is sent (JSON-able; never a token). */
    detail: Record<string, unknown>;
}

export interface UserPlan {
    actions: PlannedAction[];
    desired: DesiredAccess;
    /** Why nothing is planned for a matched user (a Manual account, for instance). */
    kept?: string;
}

function byPrecedence(a: AccessGrant, b: AccessGrant): number {
    const time = (grant: AccessGrant) => {
        const parsed = Date.parse(grant.setCreatedDate.replace(/\+0000$/, 'Z'));
        return Number.isNaN(parsed) ? Number.POSITIVE_INFINITY : parsed;
    };
    return time(a) - time(b) || a.setName.localeCompare(b.setName) || a.setId.localeCompare(b.setId);
}

/** `Groups__c` to names: one per line, surrounding blanks dropped, case kept. */
export function parseGroups(text: string | null | undefined): string[] {
    return [
        ...new Set(
            (text ?? '')
                .split(/\r?\n/)
                .map((line) => line.trim())
                .filter((line) => line !== '')
        )
    ];
}

/** The account key: `<18-character User Id>:<Connection Key>` (also the app account's externalId). */
export function accountKey(userId: string, connectionKey: string): string {
    return `${userId}:${connectionKey}`;
}

/** The access the matching grants give a user in one connection (see the rules above). */
export function desiredAccess(matching: AccessGrant[], account?: AccountRecord): DesiredAccess {
    const grants = [...matching].sort(byPrecedence);
    const groups: string[] = [];
    for (const grant of grants)
        for (const group of grant.groups) if (!groups.includes(group)) groups.push(group);
    const withRole = grants.filter((grant) => grant.role !== undefined && grant.role !== '');
    const provisioning = account?.grantedBySets[0];
    const roleGrant = withRole.find((grant) => grant.setName === provisioning) ?? withRole[0];
    const names = [...new Set(grants.map((grant) => grant.setName))];
    const sets = roleGrant
        ? [roleGrant.setName, ...names.filter((name) => name !== roleGrant.setName)]
        : names;
    return { groups, role: roleGrant?.role, sets };
}

function sameValue(desired: MappedValue['value'], actual: unknown): boolean {
    const empty = (value: unknown) => value === undefined || value === null || value === '';
    if (desired === null) return empty(actual);
    if (Array.isArray(desired)) {
        const primary = Array.isArray(actual)
            ? ((actual as Array<Record<string, unknown>>).find((entry) => entry.primary === true) ??
              (actual as Array<Record<string, unknown>>)[0])
            : undefined;
        return desired.length === 0 ? empty(actual) : primary?.value === desired[0].value;
    }
    return desired === actual;
}

function isRolePath(mapping: ValidMapping, path: AttributePath): boolean {
    return mapping.rolePath ? path.text === mapping.rolePath.text : path.attribute === 'roles';
}

/** The role the app holds for an account (where the mapping puts it). */
function appRole(mapping: ValidMapping, app: AppAccountState): string | undefined {
    const value = getAtPath(app.resource, mapping.rolePath ?? { text: 'roles', attribute: 'roles' });
    if (Array.isArray(value)) {
        const entries = value as Array<Record<string, unknown>>;
        const primary = entries.find((entry) => entry.primary === true) ?? entries[0];
        return typeof primary?.value === 'string' ? primary.value : undefined;
    }
    return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The PATCH operations bringing the app's account to the mapped values (the role aside). */
export function attributeChanges(
    mapping: ValidMapping,
    user: UserRecord,
    app: AppAccountState
): Array<{ op: 'replace' | 'remove'; path: string; value?: unknown }> {
    const operations: Array<{ op: 'replace' | 'remove'; path: string; value?: unknown }> = [];
    const userName = userFieldValue(user, mapping.userNameField);
    if (userName !== null && userName !== app.userName)
        operations.push({ op: 'replace', path: 'userName', value: userName });
    for (const { path, value } of mappedValues(mapping, user, undefined)) {
        if (isRolePath(mapping, path)) continue;
        if (sameValue(value, getAtPath(app.resource, path))) continue;
        operations.push(
            value === null ? { op: 'remove', path: path.text } : { op: 'replace', path: path.text, value }
        );
    }
    return operations;
}

/** The PATCH operations setting a role (SCIM `roles` unless the mapping puts it elsewhere). */
export function roleOperations(mapping: ValidMapping, role: string | undefined) {
    if (mapping.rolePath) {
        return [
            role
                ? { op: 'replace' as const, path: mapping.rolePath.text, value: role }
                : { op: 'remove' as const, path: mapping.rolePath.text }
        ];
    }
    return [
        role
            ? { op: 'replace' as const, path: 'roles', value: [{ value: role, primary: true }] }
            : { op: 'remove' as const, path: 'roles' }
    ];
}

export interface PlanUserInput {
    connectionKey: string;
    mapping: ValidMapping;
    user: UserRecord;
    /** The grants of this connection whose set the user matches. */
    matching: AccessGrant[];
    account?: AccountRecord;
    /** The app's account for this user (by externalId, else userName), when the app was read. */
    app?: AppAccountState;
    /** Group display name → member ids, when the app was read. */
    groupMembers?: ReadonlyMap<string, ReadonlySet<string>>;
    /**
     * The preview read the app's accounts: a user with no `app` state has no account there, so the create
     * needs no search first (a `409 uniqueness` is still resolved by a search, by the same rule).
     */
    appRead?: boolean;
}

/** The actions for one matched user in one connection. */
export function planUser(input: PlanUserInput): UserPlan {
    const { connectionKey, mapping, user, matching, account, app, groupMembers, appRead } = input;
    const key = accountKey(user.Id, connectionKey);
    const desired = desiredAccess(matching, account);
    if (account?.source === 'Manual')
        return { actions: [], desired, kept: 'Manual account: never changed by a run' };
    if (account && account.status !== 'Active') {
        return {
            actions: [],
            desired,
            kept: `${account.status} account: reactivation comes with deprovisioning`
        };
    }
    const action = (kind: ActionKind, detail: Record<string, unknown>, group?: string): PlannedAction =>
        group === undefined
            ? { kind, userId: user.Id, accountKey: key, detail }
            : { kind, userId: user.Id, accountKey: key, group, detail };
    const userName = userFieldValue(user, mapping.userNameField);
    if (!account) {
        if (app && app.externalId !== key) {
            // Someone else made this account: it stays Manual (recorded at execution, never changed).
            return {
                actions: [action('Create', { userName, manual: true, groups: [], sets: desired.sets })],
                desired,
                kept: 'An account with this userName exists in the app and was not created by Rollcall (Manual)'
            };
        }
        const resource = buildUserResource(mapping, user, key, desired.role);
        const actions = [
            action('Create', {
                userName,
                resource,
                role: desired.role ?? null,
                groups: desired.groups,
                sets: desired.sets,
                ...(appRead && !app ? { absentAtPreview: true } : {})
            })
        ];
        // No record lists these memberships yet: each is added (adding a member already in is no error).
        for (const group of desired.groups) actions.push(action('Add To Group', { group }, group));
        return { actions, desired };
    }
    const actions: PlannedAction[] = [];
    if (app) {
        const operations = attributeChanges(mapping, user, app);
        if (operations.length > 0) actions.push(action('Update', { operations }));
    }
    // Both the app and the org's record must hold the role: a write whose answer was lost is sent again.
    const roleHeld = account.role === desired.role && (!app || appRole(mapping, app) === desired.role);
    if (desired.role !== undefined && !roleHeld) {
        actions.push(
            action('Set Role', { role: desired.role, operations: roleOperations(mapping, desired.role) })
        );
    }
    const memberId = app?.id ?? account.externalId;
    for (const group of desired.groups) {
        const members = groupMembers?.get(group);
        const isMember = account.groups.includes(group) && (!members || !memberId || members.has(memberId));
        if (!isMember) actions.push(action('Add To Group', { group }, group));
    }
    return { actions, desired };
}

/** FNV-1a, 32 bits, as 8 hex digits: short stable keys for group names of any length. */
function fnv1a(text: string, seed = 0x811c9dc5): string {
    let hash = seed;
    for (let i = 0; i < text.length; i++) {
        hash ^= text.charCodeAt(i);
        hash = Math.imul(hash, 0x01000193) >>> 0;
    }
    return hash.toString(16).padStart(8, '0');
}

const KIND_CODES: Record<ActionKind, string> = {
    Create: 'create',
    Update: 'update',
    'Add To Group': 'add',
    'Remove From Group': 'remove',
    'Set Role': 'role',
    Reactivate: 'reactivate',
    Deactivate: 'deactivate'
};

/**
 * Provisioning_Run_Action__c.Key__c: one action per (run, connection, user, kind[, group]), so a
 * recording retried after a lost answer upserts the same record.
 */
export function actionKey(
    runId: string,
    connectionKey: string,
    action: Pick<PlannedAction, 'userId' | 'kind' | 'group'>
): string {
    const base = `${runId}:${connectionKey}:${action.userId}:${KIND_CODES[action.kind]}`;
    return action.group === undefined
        ? base
        : `${base}:${fnv1a(action.group)}${fnv1a(action.group, 0x01000193)}`;
}
