/**
 * ConnectionController outside an org (DESIGN §9, §10): the connections screens' Apex methods answered over
 * the local org's REST API and the service API, with the shapes and messages of ConnectionController.cls
 * (test/admin-app/apex-contract.test.ts compares them). The mapping is checked by the engine's
 * validateAttributeMap, the check the service itself runs at preview; Apex carries a copy of its rules.
 */
import { builderFields, IS_MANAGER, validateAttributeMap } from '../engine';
import {
    DEFAULT_BREAKER_MAX_COUNT,
    DEFAULT_BREAKER_MAX_PERCENT,
    DEFAULT_GRACE_DAYS
} from '../engine/deprovision';
import type { Schema } from '../engine';
import { ApexError, type OrgRecord, type OrgRest, soqlQuote } from './org-rest';

const KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/;
const ID_PATTERN = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;
const NAME_MAX_LENGTH = 80;
const GROUP_MAX_LENGTH = 255;
const ROLE_MAX_LENGTH = 255;
const MAX_ACTIONS = 2000;
export const SERVICE_UNREACHABLE = 'Service unreachable';
export const NOT_CONFIGURED = 'Not configured in the service';
const CONNECTION_FIELDS =
    'Id, Name, Key__c, Active__c, Match_On__c, Attribute_Map__c, Deprovisioning__c, Grace_Days__c, ' +
    'Breaker_Max_Count__c, Breaker_Max_Percent__c';
const GRANT_FIELDS =
    'Id, Name, Connection__c, Connection__r.Name, Connection__r.Key__c, Groups__c, Role__c, CreatedDate';
const ACTION_FIELDS =
    'Id, Name, Connection__c, Connection__r.Name, Connection__r.Key__c, Connection__r.Deprovisioning__c, User__c, User__r.Name, Kind__c, Status__c, Reason__c, Detail__c';

type Params = Record<string, unknown>;
/** One grant to write: an update of the set's grant `id` (`previous` as it is now), or a new grant (id null). */
interface GrantWrite {
    id: string | null;
    fields: OrgRecord;
    previous?: OrgRecord;
}
/** A set's grant changes, checked in full (accessGrantChanges), not written yet. */
export interface AccessGrantChanges {
    writes: GrantWrite[];
    removals: OrgRecord[];
}
type CallService = <T>(method: string, path: string, body?: unknown) => Promise<T>;

/** The parameters of ConnectionController's @AuraEnabled methods, by name as Apex declares them. */
export const CONNECTION_APEX_PARAMETERS: Record<string, string[]> = {
    'ConnectionController.getConnections': [],
    'ConnectionController.getConnection': ['connectionId'],
    'ConnectionController.getMappingOptions': [],
    'ConnectionController.saveConnection': ['connection'],
    'ConnectionController.deleteConnection': ['connectionId'],
    'ConnectionController.testConnection': ['connectionId'],
    'ConnectionController.getConnectionOptions': [],
    'ConnectionController.getAccessGrants': ['conditionSetId'],
    'ConnectionController.getRunActions': ['runId'],
    'ConnectionController.approveHeldRemovals': ['runId'],
    'ConnectionController.getPendingDeactivations': ['connectionId'],
    'ConnectionController.compareWithApp': ['connectionId'],
    'ConnectionController.adoptAccounts': ['connectionId', 'appIds', 'adoptAll']
};

/** ConnectionController.RECONCILE_KEEP: entries of each reconciliation list the screen shows. */
export const RECONCILE_KEEP = 200;

interface ServiceReconcileList {
    count?: number;
    first?: { appId?: string; userName?: string; userId?: string; active?: boolean; note?: string }[];
}

function reconcileList(list: ServiceReconcileList | undefined) {
    return {
        count: list?.count ?? 0,
        entries: (list?.first ?? []).map((entry) => ({
            appId: entry.appId ?? null,
            userName: entry.userName ?? null,
            userId: entry.userId ?? null,
            active: entry.active ?? null,
            note: entry.note ?? null
        }))
    };
}

const FINISHED_RUN_STATUSES = ['Completed', 'Completed with Errors'];

function isWholeNumber(value: unknown, maximum: number): boolean {
    if (value == null || value === '') return true;
    const number = Number(value);
    return Number.isInteger(number) && number >= 0 && number <= maximum;
}

/** ConnectionController.validateDeprovisioning: Off or Deactivate; blank limits are the service's defaults. */
export function validateDeprovisioning(input: Params, deprovisioning: string): string[] {
    const errors: string[] = [];
    if (deprovisioning !== 'Off' && deprovisioning !== 'Deactivate') {
        errors.push(`Choose Off or Deactivate for Deprovisioning (not "${deprovisioning}").`);
    }
    if (!isWholeNumber(input.graceDays, 9999)) {
        errors.push(`Grace days must be a whole number from 0 to 9999 (blank means ${DEFAULT_GRACE_DAYS}).`);
    }
    if (!isWholeNumber(input.breakerMaxCount, 999_999_999)) {
        errors.push(
            `Breaker max count must be a whole number, 0 or more (blank means ${DEFAULT_BREAKER_MAX_COUNT}).`
        );
    }
    if (!isWholeNumber(input.breakerMaxPercent, 100)) {
        errors.push(
            `Breaker max percent must be a whole number from 0 to 100 (blank means ${DEFAULT_BREAKER_MAX_PERCENT}).`
        );
    }
    return errors;
}

/** ConnectionController.whyOf: the `why` of a Deactivate, Reactivate or Remove From Group action. */
export function whyOf(detailJson: unknown): string | null {
    if (typeof detailJson !== 'string' || !detailJson.trim()) return null;
    try {
        const detail = JSON.parse(detailJson) as unknown;
        if (!detail || typeof detail !== 'object' || Array.isArray(detail)) return null;
        const why = (detail as { why?: unknown }).why;
        return why == null ? null : String(why);
    } catch {
        return null;
    }
}

function id(value: unknown, what: string): string {
    if (typeof value !== 'string' || !ID_PATTERN.test(value)) throw new ApexError(`Invalid id for ${what}.`);
    return value;
}

function text(value: unknown): string | null {
    return value == null ? null : String(value);
}

function num(value: unknown): number | null {
    return value == null || value === '' ? null : Number(value);
}

function parent(record: OrgRecord, relationship: string): Record<string, unknown> | undefined {
    const value = record[relationship];
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
}

function connectionRow(record: OrgRecord, grantCount = 0) {
    return {
        id: text(record.Id),
        name: text(record.Name),
        key: text(record.Key__c),
        active: record.Active__c === true,
        matchOn: text(record.Match_On__c) || 'Username',
        attributeMap: text(record.Attribute_Map__c),
        deprovisioning: text(record.Deprovisioning__c) || 'Off',
        graceDays: num(record.Grace_Days__c),
        breakerMaxCount: num(record.Breaker_Max_Count__c),
        breakerMaxPercent: num(record.Breaker_Max_Percent__c),
        grantCount,
        status: null as string | null,
        problem: null as string | null
    };
}

function grantRow(record: OrgRecord) {
    const connection = parent(record, 'Connection__r');
    return {
        id: text(record.Id),
        connectionId: text(record.Connection__c),
        connectionName: text(connection?.Name),
        connectionKey: text(connection?.Key__c),
        groups: text(record.Groups__c) ?? '',
        role: text(record.Role__c)
    };
}

/** ConnectionController.normalizeGroups: lines trimmed, blank lines and repeats dropped, case kept. */
export function normalizeGroups(groups: unknown, position: number): string | null {
    if (typeof groups !== 'string' || !groups.trim()) return null;
    const lines: string[] = [];
    for (const line of groups.split(/\r?\n/)) {
        const name = line.trim();
        if (!name || lines.includes(name)) continue;
        if (name.length > GROUP_MAX_LENGTH) {
            throw new ApexError(
                `Access ${position}: the group "${name.slice(0, 40)}…" is longer than ${GROUP_MAX_LENGTH} characters.`
            );
        }
        lines.push(name);
    }
    return lines.length ? lines.join('\n') : null;
}

/** ConnectionController.summarize: an action's Detail__c in a few words. */
export function summarize(kind: string | null, detailJson: unknown): string {
    if (typeof detailJson !== 'string' || !detailJson.trim()) return '';
    let detail: Record<string, unknown>;
    try {
        detail = JSON.parse(detailJson) as Record<string, unknown>;
    } catch {
        return detailJson.slice(0, 255);
    }
    const parts: string[] = [];
    // The service writes the userName into every action's detail; the user column names the user already.
    if (detail.userName != null && kind === 'Create') parts.push(`userName ${String(detail.userName)}`);
    if (detail.manual === true) parts.push('exists, not created by Rollcall (Manual): left unchanged');
    if (detail.group != null) parts.push(`group ${String(detail.group)}`);
    if (detail.role != null && kind !== 'Add To Group') parts.push(`role ${String(detail.role)}`);
    if (Array.isArray(detail.operations) && kind === 'Update') {
        const paths = detail.operations
            .map((operation) => (operation as { path?: unknown } | null)?.path)
            .filter((path) => path != null)
            .map(String);
        if (paths.length) parts.push(`changes ${paths.join(', ')}`);
    }
    return parts.join('; ');
}

function totals(counts: Map<string, number>) {
    return [...counts.keys()].sort().map((label) => ({ label, count: counts.get(label)! }));
}

interface PicklistDescribe {
    fields: { name: string; picklistValues?: { label: string; value: string; active: boolean }[] }[];
}

interface ServiceConnections {
    connections?: { key: string; configured?: boolean; reachable?: boolean | null; problem?: string }[];
    notInOrg?: string[];
}

interface ServiceTest {
    key?: string;
    configured?: boolean;
    reachable?: boolean;
    problem?: string;
    capabilities?: {
        patch?: boolean;
        bulk?: { supported?: boolean; maxOperations?: number };
        filter?: { supported?: boolean; maxResults?: number };
        etag?: boolean;
        sort?: boolean;
        resourceTypes?: string[];
        userSchemaExtensions?: string[];
    };
}

export class LocalConnections {
    constructor(
        private readonly org: OrgRest,
        private readonly callService: CallService,
        private readonly schema: () => Promise<Schema>,
        /** The running user (UserInfo.getUserId() in Apex): the admin an approval is sent as. */
        private readonly userId: string = ''
    ) {}

    readonly methods: Record<string, (params: Params) => Promise<unknown>> = {
        'ConnectionController.getConnections': () => this.getConnections(),
        'ConnectionController.getConnection': async (p) =>
            connectionRow(await this.findConnection(id(p.connectionId, 'the connection'))),
        'ConnectionController.getMappingOptions': () => this.getMappingOptions(),
        'ConnectionController.saveConnection': (p) => this.saveConnection(p.connection as Params | null),
        'ConnectionController.deleteConnection': (p) =>
            this.deleteConnection(id(p.connectionId, 'the connection')),
        'ConnectionController.testConnection': (p) =>
            this.testConnection(id(p.connectionId, 'the connection')),
        'ConnectionController.getConnectionOptions': () => this.getConnectionOptions(),
        'ConnectionController.getAccessGrants': (p) =>
            this.getAccessGrants(id(p.conditionSetId, 'the condition set')),
        'ConnectionController.getRunActions': (p) => this.getRunActions(id(p.runId, 'the run')),
        'ConnectionController.approveHeldRemovals': (p) => this.approveHeldRemovals(p.runId),
        'ConnectionController.getPendingDeactivations': (p) =>
            this.getPendingDeactivations(id(p.connectionId, 'the connection')),
        'ConnectionController.compareWithApp': (p) =>
            this.compareWithApp(id(p.connectionId, 'the connection')),
        'ConnectionController.adoptAccounts': (p) => this.adoptAccounts(p.connectionId, p.appIds, p.adoptAll)
    };

    private keyPath(record: OrgRecord, tail: string): string {
        return `/v1/connections/${encodeURIComponent(String(record.Key__c))}/${tail}`;
    }

    private async getPendingDeactivations(connectionId: string) {
        const record = await this.findConnection(connectionId);
        const answer = await this.callService<{
            graceDays?: number;
            pending?: {
                userId?: string;
                name?: string | null;
                unmatchedSince?: string | null;
                due?: string | null;
                why?: string;
            }[];
        }>('GET', this.keyPath(record, 'pending-deactivations'));
        return {
            connectionName: text(record.Name),
            connectionKey: text(record.Key__c),
            graceDays: answer.graceDays ?? null,
            pending: (answer.pending ?? []).map((item) => ({
                userId: item.userId ?? null,
                userName: item.name ?? null,
                unmatchedSince: item.unmatchedSince ?? null,
                due: item.due ?? null,
                why: item.why ?? null
            }))
        };
    }

    private async compareWithApp(connectionId: string) {
        const record = await this.findConnection(connectionId);
        const answer = await this.callService<{
            appAccounts?: number;
            recorded?: number;
            adoptable?: ServiceReconcileList;
            manual?: ServiceReconcileList;
            toCreate?: ServiceReconcileList;
            noUser?: ServiceReconcileList;
        }>('POST', this.keyPath(record, 'reconcile'), { initiatedBy: this.userId, keep: RECONCILE_KEEP });
        return {
            connectionName: text(record.Name),
            connectionKey: text(record.Key__c),
            appAccounts: answer.appAccounts ?? null,
            recorded: answer.recorded ?? null,
            adoptable: reconcileList(answer.adoptable),
            manual: reconcileList(answer.manual),
            toCreate: reconcileList(answer.toCreate),
            noUser: reconcileList(answer.noUser)
        };
    }

    private async adoptAccounts(connectionIdParam: unknown, appIdsParam: unknown, adoptAll: unknown) {
        const appIds = Array.isArray(appIdsParam) ? appIdsParam.map(String) : [];
        if (adoptAll !== true && appIds.length === 0) {
            throw new ApexError('Choose the accounts to adopt, or adopt all adoptable accounts.');
        }
        const record = await this.findConnection(id(connectionIdParam, 'the connection'));
        const answer = await this.callService<{
            adopted?: number;
            notAdoptable?: string[];
            failed?: { appId?: string; reason?: string }[];
        }>(
            'POST',
            this.keyPath(record, 'adopt'),
            adoptAll === true ? { initiatedBy: this.userId, all: true } : { initiatedBy: this.userId, appIds }
        );
        return {
            adopted: answer.adopted ?? 0,
            notAdoptable: answer.notAdoptable ?? [],
            failures: (answer.failed ?? []).map(
                (failure) => `${String(failure.appId)}: ${String(failure.reason)}`
            )
        };
    }

    private async findConnection(connectionId: string): Promise<OrgRecord> {
        const [record] = await this.org.query(
            `SELECT ${CONNECTION_FIELDS} FROM Connection__c WHERE Id = ${soqlQuote(connectionId)}`
        );
        if (!record) throw new ApexError('The connection no longer exists. Refresh the list.');
        return record;
    }

    private async connections(): Promise<OrgRecord[]> {
        const records = await this.org.query(`SELECT ${CONNECTION_FIELDS} FROM Connection__c`);
        return records.sort((a, b) => String(a.Name).localeCompare(String(b.Name)));
    }

    private async getConnections() {
        const grants = await this.org.query('SELECT Connection__c FROM Access_Grant__c');
        const grantCounts = new Map<string, number>();
        for (const grant of grants) {
            const key = text(grant.Connection__c);
            if (key) grantCounts.set(key, (grantCounts.get(key) ?? 0) + 1);
        }
        const rows = (await this.connections()).map((record) =>
            connectionRow(record, grantCounts.get(String(record.Id)) ?? 0)
        );
        let serviceReachable = true;
        let serviceMessage: string | null = null;
        let notInOrg: string[] = [];
        const byKey = new Map<string, NonNullable<ServiceConnections['connections']>[number]>();
        try {
            const statuses = await this.callService<ServiceConnections>('GET', '/v1/connections');
            for (const status of statuses.connections ?? []) byKey.set(status.key, status);
            notInOrg = statuses.notInOrg ?? [];
        } catch (error) {
            // As in Apex: a service that cannot answer is a status of the list, never its failure.
            serviceReachable = false;
            serviceMessage = (error as Error).message;
        }
        for (const row of rows) {
            const status = byKey.get(row.key ?? '');
            row.status = !serviceReachable
                ? SERVICE_UNREACHABLE
                : !status || status.configured !== true
                  ? NOT_CONFIGURED
                  : status.reachable === true
                    ? 'Reachable'
                    : 'Unreachable';
            row.problem = status?.problem ?? null;
        }
        return { connections: rows, serviceReachable, serviceMessage, notInOrg };
    }

    private async getMappingOptions() {
        const fields = builderFields(await this.schema())
            .filter((field) => field.path !== IS_MANAGER)
            .map((field) => ({
                path: field.path,
                label: field.label,
                type: field.type,
                derived: false,
                picklistValues: (field.picklistValues ?? []).map((value) => ({ label: value, value }))
            }));
        const describe = await this.org.describe<PicklistDescribe>('Connection__c');
        const matchOn = (describe.fields.find((field) => field.name === 'Match_On__c')?.picklistValues ?? [])
            .filter((entry) => entry.active)
            .map((entry) => ({ label: entry.label, value: entry.value }));
        return { fields, matchOn };
    }

    private async saveConnection(input: Params | null) {
        const name = typeof input?.name === 'string' ? input.name.trim() : '';
        if (!input || !name) throw new ApexError('Enter a name for the connection.');
        const key = typeof input.key === 'string' ? input.key.trim() : '';
        if (!KEY_PATTERN.test(key)) {
            throw new ApexError(
                'Enter a key of 1 to 40 letters, digits, ".", "_" or "-", starting with a letter or digit (e.g. calendly): the service finds the app\'s URL and token under it.'
            );
        }
        const matchOn =
            typeof input.matchOn === 'string' && input.matchOn.trim() ? input.matchOn : 'Username';
        const attributeMap = typeof input.attributeMap === 'string' ? input.attributeMap.trim() : '';
        const validation = validateAttributeMap(attributeMap, matchOn, await this.schema());
        if (!validation.ok) {
            throw new ApexError(
                `The attribute mapping is not valid. ${validation.errors.map((error) => error.message).join(' ')}`
            );
        }
        const deprovisioning =
            typeof input.deprovisioning === 'string' && input.deprovisioning.trim()
                ? input.deprovisioning
                : 'Off';
        const settingErrors = validateDeprovisioning(input, deprovisioning);
        if (settingErrors.length) throw new ApexError(settingErrors.join(' '));
        const existing = input.id == null || input.id === '' ? null : id(input.id, 'the connection');
        const sameKey = await this.org.query(`SELECT Id FROM Connection__c WHERE Key__c = ${soqlQuote(key)}`);
        if (sameKey.some((record) => record.Id !== existing)) {
            throw new ApexError(`Another connection already has the key "${key}". Choose another key.`);
        }
        const fields: OrgRecord = {
            Name: name.slice(0, NAME_MAX_LENGTH),
            Key__c: key,
            Active__c: input.active === true,
            Match_On__c: matchOn,
            Attribute_Map__c: attributeMap || null,
            Deprovisioning__c: deprovisioning,
            Grace_Days__c: num(input.graceDays),
            Breaker_Max_Count__c: num(input.breakerMaxCount),
            Breaker_Max_Percent__c: num(input.breakerMaxPercent)
        };
        try {
            if (existing) {
                await this.org.update('Connection__c', existing, fields);
                return existing;
            }
            return await this.org.create('Connection__c', fields);
        } catch (error) {
            throw new ApexError(`The connection could not be saved: ${(error as Error).message}`);
        }
    }

    private async deleteConnection(connectionId: string) {
        const record = await this.findConnection(connectionId);
        const grants = await this.org.query(
            `SELECT Id FROM Access_Grant__c WHERE Connection__c = ${soqlQuote(connectionId)}`
        );
        if (grants.length > 0) {
            throw new ApexError(
                `Condition sets still grant ${String(record.Name)} (${grants.length} ${
                    grants.length === 1 ? 'grant' : 'grants'
                }). Remove it from their Access section first.`
            );
        }
        try {
            await this.org.remove('Connection__c', connectionId);
        } catch (error) {
            throw new ApexError(`The connection could not be deleted: ${(error as Error).message}`);
        }
        return null;
    }

    private async testConnection(connectionId: string) {
        const record = await this.findConnection(connectionId);
        const test = await this.callService<ServiceTest>(
            'POST',
            `/v1/connections/${encodeURIComponent(String(record.Key__c))}/test`,
            {}
        );
        const capabilities = test.capabilities ?? {};
        return {
            key: test.key ?? null,
            configured: test.configured === true,
            reachable: test.reachable === true,
            problem: test.problem ?? null,
            filterSupported: capabilities.filter?.supported === true,
            maxResults: capabilities.filter?.maxResults ?? null,
            patchSupported: capabilities.patch === true,
            bulkSupported: capabilities.bulk?.supported === true,
            bulkMaxOperations: capabilities.bulk?.maxOperations ?? null,
            etagSupported: capabilities.etag === true,
            sortSupported: capabilities.sort === true,
            resourceTypes: capabilities.resourceTypes ?? [],
            userSchemaExtensions: capabilities.userSchemaExtensions ?? []
        };
    }

    private async getConnectionOptions() {
        return (await this.connections()).map((record) => ({
            label: `${String(record.Name)} (${String(record.Key__c)})${record.Active__c === true ? '' : ' – inactive'}`,
            value: String(record.Id)
        }));
    }

    private async grants(conditionSetId: string): Promise<OrgRecord[]> {
        const records = await this.org.query(
            `SELECT ${GRANT_FIELDS} FROM Access_Grant__c WHERE Condition_Set__c = ${soqlQuote(conditionSetId)}`
        );
        return records.sort(
            (a, b) =>
                String(a.CreatedDate).localeCompare(String(b.CreatedDate)) ||
                String(a.Name).localeCompare(String(b.Name))
        );
    }

    private async getAccessGrants(conditionSetId: string) {
        return (await this.grants(conditionSetId)).map(grantRow);
    }

    /**
     * ConnectionController.AccessGrantChanges: a set's grants made exactly these (given ones created or
     * updated, the set's others deleted), everything checked before anything is written. LocalApex's
     * saveConditionSet writes the set, then applies them (applyAccessGrants), undoing both on a failure.
     */
    async accessGrantChanges(
        conditionSetId: string | null,
        grantsParam: unknown
    ): Promise<AccessGrantChanges> {
        const existing = conditionSetId ? await this.grants(conditionSetId) : [];
        const existingIds = new Set(existing.map((grant) => String(grant.Id)));
        const connectionIds = new Set(
            (await this.org.query('SELECT Id FROM Connection__c')).map((record) => String(record.Id))
        );
        const seen = new Set<string>();
        const writes: GrantWrite[] = [];
        const grants = Array.isArray(grantsParam) ? (grantsParam as (Params | null)[]) : [];
        grants.forEach((grant, index) => {
            const position = index + 1;
            const connectionId =
                grant?.connectionId == null || grant.connectionId === '' ? null : grant.connectionId;
            if (!grant || !connectionId) throw new ApexError(`Access ${position}: choose a connection.`);
            const connection = id(connectionId, 'the connection');
            if (!connectionIds.has(connection)) {
                throw new ApexError(`Access ${position}: the connection no longer exists. Choose another.`);
            }
            if (seen.has(connection)) {
                throw new ApexError(
                    `Access ${position}: the set already grants this connection; put its groups in one grant.`
                );
            }
            seen.add(connection);
            const role = typeof grant.role === 'string' ? grant.role.trim() : '';
            if (role.length > ROLE_MAX_LENGTH) {
                throw new ApexError(
                    `Access ${position}: the role is longer than ${ROLE_MAX_LENGTH} characters.`
                );
            }
            // An id from another set (a copy's draft) is not this set's grant: a new one is made.
            const grantId = typeof grant.id === 'string' && existingIds.has(grant.id) ? grant.id : null;
            writes.push({
                id: grantId,
                fields: {
                    Connection__c: connection,
                    Groups__c: normalizeGroups(grant.groups, position),
                    Role__c: role || null
                },
                previous: existing.find((record) => String(record.Id) === grantId)
            });
        });
        const kept = new Set(writes.map((write) => write.id).filter(Boolean));
        return { writes, removals: existing.filter((grant) => !kept.has(String(grant.Id))) };
    }

    /**
     * Writes checked changes for the set. The local org has no transaction: each write pushes onto `undo`
     * what takes it back (a removed grant comes back with a new id), for the caller to run in reverse.
     */
    async applyAccessGrants(
        changes: AccessGrantChanges,
        conditionSetId: string,
        undo: (() => Promise<unknown>)[]
    ): Promise<void> {
        for (const grant of changes.removals) {
            await this.org.remove('Access_Grant__c', String(grant.Id));
            undo.push(() =>
                this.org.create('Access_Grant__c', {
                    Condition_Set__c: conditionSetId,
                    Connection__c: grant.Connection__c ?? null,
                    Groups__c: grant.Groups__c ?? null,
                    Role__c: grant.Role__c ?? null
                })
            );
        }
        for (const write of changes.writes) {
            const { id: grantId, previous } = write;
            if (grantId) {
                await this.org.update('Access_Grant__c', grantId, write.fields);
                undo.push(() =>
                    this.org.update('Access_Grant__c', grantId, {
                        Connection__c: previous?.Connection__c ?? null,
                        Groups__c: previous?.Groups__c ?? null,
                        Role__c: previous?.Role__c ?? null
                    })
                );
            } else {
                const created = await this.org.create('Access_Grant__c', {
                    ...write.fields,
                    Condition_Set__c: conditionSetId
                });
                undo.push(() => this.org.remove('Access_Grant__c', created));
            }
        }
    }

    private async getRunActions(runId: string) {
        const records = await this.org.query(
            `SELECT ${ACTION_FIELDS} FROM Provisioning_Run_Action__c WHERE Run__c = ${soqlQuote(runId)}`
        );
        const connectionName = (record: OrgRecord) =>
            text(parent(record, 'Connection__r')?.Name) ?? '(deleted connection)';
        records.sort(
            (a, b) =>
                connectionName(a).localeCompare(connectionName(b)) ||
                String(a.Name).localeCompare(String(b.Name))
        );
        const listed = records.slice(0, MAX_ACTIONS);
        const groups = new Map<
            string,
            {
                connectionName: string;
                connectionKey: string | null;
                connectionId: string | null;
                deprovisioning: string | null;
                actions: ReturnType<typeof actionRow>[];
                byKind: Map<string, number>;
                byStatus: Map<string, number>;
            }
        >();
        const count = (counts: Map<string, number>, label: string | null) => {
            const key = label && label.trim() ? label : '(none)';
            counts.set(key, (counts.get(key) ?? 0) + 1);
        };
        for (const record of listed) {
            const groupKey = text(record.Connection__c) ?? '';
            let group = groups.get(groupKey);
            if (!group) {
                group = {
                    connectionName: connectionName(record),
                    connectionKey: text(parent(record, 'Connection__r')?.Key__c),
                    connectionId: text(record.Connection__c),
                    deprovisioning: text(parent(record, 'Connection__r')?.Deprovisioning__c),
                    actions: [],
                    byKind: new Map(),
                    byStatus: new Map()
                };
                groups.set(groupKey, group);
            }
            group.actions.push(actionRow(record));
            count(group.byKind, text(record.Kind__c));
            count(group.byStatus, text(record.Status__c));
        }
        return {
            connections: [...groups.values()].map((group) => ({
                connectionName: group.connectionName,
                connectionKey: group.connectionKey,
                connectionId: group.connectionId,
                deprovisioning: group.deprovisioning,
                kindTotals: totals(group.byKind),
                statusTotals: totals(group.byStatus),
                actions: group.actions
            })),
            totalActions: records.length,
            truncated: records.length > MAX_ACTIONS,
            ...(await this.held(runId, records))
        };
    }

    /** ConnectionController.applyHeld: the run's held removals, whether they may be approved, who did and when. */
    private async held(runId: string, records: OrgRecord[]) {
        const heldCount = records.filter((record) => record.Status__c === 'Held').length;
        const [run] = await this.org.query(
            `SELECT Id, Status__c, Held_Approved_By__c, Held_Approved_By__r.Name, Held_Approved_At__c FROM Provisioning_Run__c WHERE Id = ${soqlQuote(runId)}`
        );
        const approvedAtText = run ? text(run.Held_Approved_At__c) : null;
        // Apex serialises a Datetime as ISO 8601 in UTC; the org's REST API writes +0000.
        const approvedAt = approvedAtText
            ? new Date(approvedAtText.replace(/\+0000$/, 'Z')).toISOString()
            : null;
        const runStatus = run ? text(run.Status__c) : null;
        return {
            heldCount,
            canApproveHeld:
                heldCount > 0 && !!run && !approvedAt && FINISHED_RUN_STATUSES.includes(runStatus ?? ''),
            heldApprovedBy: run ? (text(parent(run, 'Held_Approved_By__r')?.Name) ?? null) : null,
            heldApprovedAt: approvedAt,
            runStatus
        };
    }

    private async approveHeldRemovals(runIdParam: unknown) {
        if (runIdParam == null || runIdParam === '') {
            throw new ApexError('Choose the run whose held removals to approve.');
        }
        const runId = id(runIdParam, 'the run');
        const answer = await this.callService<{
            approvedBy?: string;
            approvedAt?: string;
            released?: number;
            alreadyApproved?: boolean;
        }>('POST', `/v1/runs/${encodeURIComponent(runId)}/approve-held`, { initiatedBy: this.userId });
        return {
            approvedBy: answer.approvedBy ?? null,
            approvedAt: answer.approvedAt ?? null,
            released: typeof answer.released === 'number' ? answer.released : null,
            alreadyApproved: answer.alreadyApproved === true
        };
    }
}

function actionRow(record: OrgRecord) {
    const kind = text(record.Kind__c);
    return {
        id: text(record.Id),
        userId: text(record.User__c),
        userName: text(parent(record, 'User__r')?.Name),
        kind,
        status: text(record.Status__c),
        reason: text(record.Reason__c),
        summary: summarize(kind, record.Detail__c),
        why: whyOf(record.Detail__c)
    };
}
