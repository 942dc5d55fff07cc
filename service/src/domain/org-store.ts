/**
 * The org's records as the service reads and writes them (API names are the contract, DESIGN §3).
 * Every SOQL text the service builds outside the engine is here, every literal through `soqlString`.
 */
import { soqlString } from '../engine';
import { AppError } from '../errors';
import type { OrgGateway, SObjectRecord, WriteResult } from '../ports';

export const RUN = 'Provisioning_Run__c';
export const ITEM = 'Provisioning_Run_Item__c';
export const AUTHORIZATION = 'Calendar_Authorization__c';
export const CONDITION_SET = 'Condition_Set__c';
export const SETTINGS = 'Rollcall_Settings__c';
export const LEASE = 'Rollcall_Lease__c';
export const ADMIN_PERMISSION = 'Rollcall_Admin';

export type RunStatus =
    | 'Previewing'
    | 'Previewed'
    | 'Queued'
    | 'Running'
    | 'Completed'
    | 'Completed with Errors'
    | 'Failed'
    | 'Expired';
export type RunTrigger = 'Manual' | 'Scheduled';
export type ItemStatus = 'Pending' | 'Invited' | 'Skipped' | 'Failed';

export interface RunRecord extends SObjectRecord {
    Id: string;
    Name?: string;
    Status__c: RunStatus;
    Run_Key__c?: string | null;
    Trigger__c?: RunTrigger;
    /** 'Schedule Check': a preview from the schedule screen, never executed, not in the run listing. */
    Purpose__c?: string | null;
    Initiated_By__c?: string | null;
    Started_At__c?: string | null;
    Finished_At__c?: string | null;
    Heartbeat__c?: string | null;
    Expires_At__c?: string | null;
    Evaluated_Count__c?: number | null;
    Eligible_Count__c?: number | null;
    Invited_Count__c?: number | null;
    Skipped_Count__c?: number | null;
    Failed_Count__c?: number | null;
    /** Reminders sent; the users the run handles; the outcome in one line (use-cases/run/counts.ts). */
    Reminded_Count__c?: number | null;
    Item_Count__c?: number | null;
    Outcome_Summary__c?: string | null;
    Api_Calls__c?: number | null;
    Condition_Sets_Snapshot__c?: string | null;
    Recipients__c?: string | null;
    Notify_Admins__c?: boolean | null;
    Notification_Outcome__c?: string | null;
    Error__c?: string | null;
    /** `Full` or `Incremental` (see use-cases/incremental.ts), and why. */
    Evaluation_Kind__c?: string | null;
    Evaluation_Reason__c?: string | null;
    /** The org's time when the evaluation started reading; the next incremental run reads changes from here. */
    Watermark__c?: string | null;
    /** The service's clock of the evaluation (relative date conditions). */
    Evaluated_At__c?: string | null;
    /** The watermark of the full evaluation an incremental chain builds on. */
    Full_Evaluation_At__c?: string | null;
    Sets_Hash__c?: string | null;
    CreatedDate?: string;
}

export interface ItemRecord extends SObjectRecord {
    Id: string;
    Item_Key__c?: string | null;
    Run__c: string;
    User__c: string;
    Email__c?: string | null;
    Products__c?: string | null;
    Matched_Sets__c?: string | null;
    Product_Statuses__c?: string | null;
    Status__c?: ItemStatus | null;
    Reason__c?: string | null;
    /** `Invitation` (empty on older items), `Reminder`, or `Kept (Manual)` (a preview row, never sent). */
    Kind__c?: string | null;
    User__r?: { Name?: string | null } | null;
}

export interface AuthorizationRecord extends SObjectRecord {
    Key__c?: string | null;
    User__c: string;
    Product__c: string;
    Status__c?: string | null;
    /** `Rule` (a sync wrote it) or `Manual` (an admin did; no sync changes it). */
    Source__c?: string | null;
    Invite_Count__c?: number | null;
    Invited_At__c?: string | null;
    Authorized_At__c?: string | null;
    Revoked_At__c?: string | null;
    Reminder_Count__c?: number | null;
    Last_Reminder_At__c?: string | null;
    Granted_By_Sets__c?: string | null;
    Last_Run__c?: string | null;
    User__r?: { Name?: string | null; Email?: string | null; IsActive?: boolean | null } | null;
}

export interface LeaseRecord extends SObjectRecord {
    Id: string;
    Key__c: string;
    Epoch__c: number;
    Holder__c?: string | null;
    Run_Id__c?: string | null;
    Purpose__c?: string | null;
    Expires_At__c?: string | null;
    Released_At__c?: string | null;
}

export interface SettingsRecord {
    Schedule_Enabled__c?: boolean | null;
    Schedule_Frequency__c?: string | null;
    Schedule_Time__c?: string | null;
    Schedule_Day__c?: string | null;
    Recipients__c?: string | null;
    Notify_Admins__c?: boolean | null;
    Slack_Channel__c?: string | null;
    /** Reminders: N days after the invitation (and each reminder), at most Reminder_Max__c; empty/0 = off. */
    Reminder_Days__c?: number | null;
    Reminder_Max__c?: number | null;
}

export interface OrgUser {
    Id: string;
    Name?: string | null;
    Email?: string | null;
    Username?: string | null;
    IsActive?: boolean | null;
    [field: string]: unknown;
}

/** Purpose__c of the previews the schedule screen makes to show who the next scheduled run would invite. */
export const SCHEDULE_CHECK = 'Schedule Check';

const RUN_FIELDS = [
    'Id',
    'Name',
    'Status__c',
    'Run_Key__c',
    'Trigger__c',
    'Purpose__c',
    'Initiated_By__c',
    'Started_At__c',
    'Finished_At__c',
    'Heartbeat__c',
    'Expires_At__c',
    'Evaluated_Count__c',
    'Eligible_Count__c',
    'Invited_Count__c',
    'Skipped_Count__c',
    'Failed_Count__c',
    'Reminded_Count__c',
    'Item_Count__c',
    'Outcome_Summary__c',
    'Api_Calls__c',
    'Recipients__c',
    'Notify_Admins__c',
    'Notification_Outcome__c',
    'Error__c',
    'Evaluation_Kind__c',
    'Evaluation_Reason__c',
    'CreatedDate'
].join(', ');

const ITEM_FIELDS =
    'Id, Item_Key__c, Run__c, User__c, User__r.Name, Email__c, Products__c, Matched_Sets__c, Product_Statuses__c, Status__c, Reason__c, Kind__c';

/** What a run needs to know of an authorization record to write it without undoing anyone else's change. */
export const AUTHORIZATION_FIELDS =
    'Key__c, User__c, Product__c, Status__c, Source__c, Invite_Count__c, Invited_At__c, Authorized_At__c, Revoked_At__c, Reminder_Count__c, Last_Reminder_At__c, Last_Run__c';

const LEASE_FIELDS = 'Id, Key__c, Epoch__c, Holder__c, Run_Id__c, Purpose__c, Expires_At__c, Released_At__c';

/** One item per user per run: the key a retried write upserts on. */
export function itemKey(runId: string, userId: string): string {
    return `${runId}:${userId}`;
}

const CHECKSUM_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

/** The 3-character case-safe suffix Salesforce appends to a 15-character id. */
export function idChecksum(id15: string): string {
    let suffix = '';
    for (let block = 0; block < 3; block++) {
        let bits = 0;
        for (let i = 0; i < 5; i++) {
            const c = id15.charAt(block * 5 + i);
            if (c >= 'A' && c <= 'Z') bits |= 1 << i;
        }
        suffix += CHECKSUM_ALPHABET.charAt(bits);
    }
    return suffix;
}

/** Ids go into SOQL only if they are well-formed Salesforce ids (and still through soqlString). */
export function assertSalesforceId(id: unknown, what = 'id'): string {
    if (
        typeof id !== 'string' ||
        !/^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/.test(id) ||
        (id.length === 18 && idChecksum(id.slice(0, 15)) !== id.slice(15).toUpperCase())
    ) {
        throw new AppError('VALIDATION_FAILED', `${what} must be a Salesforce id`);
    }
    return id;
}

/** The 18-character (case-safe) form of a valid id: the form every record the service writes holds. */
export function id18(id: string): string {
    return id.length === 15 ? `${id}${idChecksum(id)}` : `${id.slice(0, 15)}${id.slice(15).toUpperCase()}`;
}

/** A Salesforce datetime literal for SOQL (no quotes). */
export function soqlDateTime(date: Date): string {
    return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function splitMulti(value: string | null | undefined): string[] {
    return (value ?? '')
        .split(';')
        .map((v) => v.trim())
        .filter(Boolean);
}

/** Chunks of ids small enough for a query URL (real orgs cap the request line near 16 KB). */
export function chunk<T>(values: T[], size: number): T[][] {
    const chunks: T[][] = [];
    for (let i = 0; i < values.length; i += size) chunks.push(values.slice(i, i + size));
    return chunks;
}

const ID_CHUNK = 300;
const TRANSITION_ATTEMPTS = 5;

/**
 * A query and what its records become: sent alone (OrgStore.read), or with other independent ones in one
 * Composite request (OrgStore.readTogether, one API call).
 */
export interface StoreRead<T> {
    soql: string;
    /** Deleted records too (queryAll). */
    scanAll?: boolean;
    parse(records: SObjectRecord[]): T;
}

type StoreReads = Record<string, StoreRead<unknown>>;
/** The promise of each read, by the name it was asked under. */
export type ReadPromises<R extends StoreReads> = {
    [K in keyof R]: R[K] extends StoreRead<infer T> ? Promise<T> : never;
};

/** The completed run an incremental sync builds on, and the run being evaluated (for its Name). */
export interface BaselineRuns {
    baseline?: RunRecord;
    current?: RunRecord;
}

/** The reads the service makes at the start of a run, as StoreReads (each OrgStore method sends its own). */
export const reads = {
    settings(): StoreRead<SettingsRecord> {
        return {
            soql: `SELECT SetupOwnerId, Schedule_Enabled__c, Schedule_Frequency__c, Schedule_Time__c, Schedule_Day__c, Recipients__c, Notify_Admins__c, Slack_Channel__c, Reminder_Days__c, Reminder_Max__c FROM ${SETTINGS}`,
            parse: (records) => {
                const rows = records as Array<SettingsRecord & { SetupOwnerId?: string }>;
                // The org default record's SetupOwnerId is the org id (00D…).
                return rows.find((row) => String(row.SetupOwnerId ?? '').startsWith('00D')) ?? rows[0] ?? {};
            }
        };
    },

    run(id: string): StoreRead<RunRecord | undefined> {
        assertSalesforceId(id, 'run id');
        return {
            soql: `SELECT ${RUN_FIELDS} FROM ${RUN} WHERE Id = ${soqlString(id)}`,
            parse: (records) => records[0] as RunRecord | undefined
        };
    },

    runSnapshot(id: string): StoreRead<string | undefined> {
        return {
            soql: `SELECT Id, Condition_Sets_Snapshot__c FROM ${RUN} WHERE Id = ${soqlString(assertSalesforceId(id))}`,
            parse: (records) => (records[0] as RunRecord | undefined)?.Condition_Sets_Snapshot__c ?? undefined
        };
    },

    runByKey(runKey: string): StoreRead<RunRecord | undefined> {
        return {
            soql: `SELECT ${RUN_FIELDS} FROM ${RUN} WHERE Run_Key__c = ${soqlString(runKey)} LIMIT 1`,
            parse: (records) => records[0] as RunRecord | undefined
        };
    },

    activeRuns(): StoreRead<RunRecord[]> {
        return {
            soql: `SELECT ${RUN_FIELDS} FROM ${RUN} WHERE Status__c IN ('Queued', 'Running') ORDER BY CreatedDate`,
            parse: (records) => records as RunRecord[]
        };
    },

    items(runId: string): StoreRead<ItemRecord[]> {
        return {
            soql: `SELECT ${ITEM_FIELDS} FROM ${ITEM} WHERE Run__c = ${soqlString(assertSalesforceId(runId))} ORDER BY Id`,
            parse: (records) => records as ItemRecord[]
        };
    },

    conditionSets(): StoreRead<SObjectRecord[]> {
        return {
            soql: `SELECT Id, Name, Products__c, Eligible_Statuses__c, Definition__c, CreatedDate FROM ${CONDITION_SET} WHERE Active__c = true ORDER BY CreatedDate, Id`,
            parse: (records) => records
        };
    },

    /** Any authorization query the lifecycle needs (expiry, reminders); `where` is built by the caller. */
    authorizationsWhere(where: string, limit = 50_000): StoreRead<AuthorizationRecord[]> {
        return {
            soql: `SELECT Id, ${AUTHORIZATION_FIELDS}, Granted_By_Sets__c, User__r.Name, User__r.Email, User__r.IsActive FROM ${AUTHORIZATION} WHERE ${where} ORDER BY Key__c LIMIT ${limit}`,
            parse: (records) => records as AuthorizationRecord[]
        };
    },

    /**
     * The completed run whose evaluation started last (what an incremental sync builds on), and in the same
     * query the run being evaluated, if named (its Name, for the audit, costs no call of its own).
     */
    baselineRun(currentRunId?: string): StoreRead<BaselineRuns> {
        const current = currentRunId ? `Id = ${soqlString(assertSalesforceId(currentRunId))} OR ` : '';
        return {
            soql: `SELECT Id, Name, Status__c, Evaluation_Kind__c, Watermark__c, Evaluated_At__c, Full_Evaluation_At__c, Sets_Hash__c, Eligible_Count__c, Invited_Count__c, Skipped_Count__c, Failed_Count__c FROM ${RUN} WHERE ${current}(Status__c IN ('Completed', 'Completed with Errors') AND Watermark__c != null) ORDER BY Watermark__c DESC NULLS FIRST, CreatedDate DESC, Name DESC LIMIT ${currentRunId ? 2 : 1}`,
            parse: (records) => {
                const rows = records as RunRecord[];
                return {
                    baseline: rows.find((row) => row.Id !== currentRunId && row.Watermark__c),
                    current: rows.find((row) => row.Id === currentRunId)
                };
            }
        };
    }
};

/** Lease records a prune reads (and deletes) at most at once. */
const LEASE_PRUNE_BATCH = 200;

export class OrgStore {
    constructor(readonly org: OrgGateway) {}

    /** One read, one query. */
    async read<T>(read: StoreRead<T>): Promise<T> {
        const records =
            read.scanAll && this.org.queryAll
                ? await this.org.queryAll<SObjectRecord>(read.soql)
                : await this.org.query<SObjectRecord>(read.soql);
        return read.parse(records);
    }

    /**
     * Independent reads in one Composite request (one API call; see OrgGateway.queryTogether). Each read's
     * promise settles on its own outcome, as its own query would have; one nobody awaits never surfaces as an
     * unhandled rejection.
     */
    readTogether<R extends StoreReads>(asked: R): ReadPromises<R> {
        const names = Object.keys(asked);
        const outcomes = this.org.queryTogether(
            names.map((name) => ({ soql: asked[name].soql, scanAll: asked[name].scanAll }))
        );
        const promises: Record<string, Promise<unknown>> = {};
        names.forEach((name, index) => {
            const promise = outcomes.then((all) => {
                const outcome = all[index];
                if (outcome.status === 'rejected') throw outcome.reason;
                return asked[name].parse(outcome.value);
            });
            promise.catch(() => undefined);
            promises[name] = promise;
        });
        return promises as ReadPromises<R>;
    }

    async findRun(id: string): Promise<RunRecord | undefined> {
        return this.read(reads.run(id));
    }

    async runSnapshot(id: string): Promise<string | undefined> {
        return this.read(reads.runSnapshot(id));
    }

    async listRuns(limit: number): Promise<RunRecord[]> {
        return this.org.query<RunRecord>(
            // SOQL's != keeps the rows where the field is empty (runs from before Purpose__c existed).
            `SELECT ${RUN_FIELDS} FROM ${RUN} WHERE Purpose__c != ${soqlString(SCHEDULE_CHECK)} ORDER BY CreatedDate DESC LIMIT ${Math.max(1, Math.min(200, limit))}`
        );
    }

    async activeRuns(): Promise<RunRecord[]> {
        return this.read(reads.activeRuns());
    }

    /** One query for the sweep: runs in progress and previews past their expiry. */
    async sweepCandidates(now: Date): Promise<RunRecord[]> {
        return this.org.query<RunRecord>(
            `SELECT ${RUN_FIELDS} FROM ${RUN} WHERE Status__c IN ('Queued', 'Running', 'Previewing') OR (Status__c = 'Previewed' AND Expires_At__c < ${soqlDateTime(now)}) ORDER BY CreatedDate`
        );
    }

    async items(runId: string): Promise<ItemRecord[]> {
        return this.read(reads.items(runId));
    }

    async authorizationsOfRun(runId: string): Promise<AuthorizationRecord[]> {
        return this.org.query<AuthorizationRecord>(
            `SELECT ${AUTHORIZATION_FIELDS} FROM ${AUTHORIZATION} WHERE Last_Run__c = ${soqlString(assertSalesforceId(runId))}`
        );
    }

    /** Authorization records of these users (or, with no ids, of every user) for these products. */
    async authorizations(userIds: string[] | 'all', products: string[]): Promise<AuthorizationRecord[]> {
        if (products.length === 0) return [];
        const productFilter = `Product__c IN (${products.map(soqlString).join(', ')})`;
        const select = `SELECT ${AUTHORIZATION_FIELDS} FROM ${AUTHORIZATION} WHERE ${productFilter}`;
        if (userIds === 'all') return this.org.query<AuthorizationRecord>(select);
        const results: AuthorizationRecord[] = [];
        for (const ids of chunk(userIds, ID_CHUNK)) {
            const rows = await this.org.query<AuthorizationRecord>(
                `${select} AND User__c IN (${ids.map(soqlString).join(', ')})`
            );
            results.push(...rows);
        }
        return results;
    }

    /** Authorization records by Key__c (`<UserId>:<Product>`), read just before a run writes them. */
    async authorizationsByKey(keys: string[]): Promise<Map<string, AuthorizationRecord>> {
        const found = new Map<string, AuthorizationRecord>();
        // Keys are ~40 characters: 200 of them keep the query URL well under Salesforce's 16 KB.
        for (const group of chunk([...new Set(keys)], 200)) {
            const rows = await this.org.query<AuthorizationRecord>(
                `SELECT ${AUTHORIZATION_FIELDS} FROM ${AUTHORIZATION} WHERE Key__c IN (${group.map(soqlString).join(', ')})`
            );
            for (const row of rows) if (row.Key__c) found.set(row.Key__c, row);
        }
        return found;
    }

    /**
     * The records of these products that changed since `since` into a state a run must not overwrite: set by
     * hand (Manual), or reported Authorized / Revoked by the scheduling product. One query for any number of
     * keys (a run re-reads these before its authorization writes instead of every record by key).
     */
    async authorizationsGuardedSince(since: Date, products: string[]): Promise<AuthorizationRecord[]> {
        if (products.length === 0) return [];
        return this.org.query<AuthorizationRecord>(
            `SELECT ${AUTHORIZATION_FIELDS} FROM ${AUTHORIZATION} WHERE SystemModstamp >= ${soqlDateTime(since)} AND Product__c IN (${products.map(soqlString).join(', ')}) AND (Source__c = 'Manual' OR Status__c IN ('Authorized', 'Revoked'))`
        );
    }

    /** Any authorization query the lifecycle needs (expiry, reminders); `where` is built by the caller. */
    async authorizationsWhere(where: string, limit = 50_000): Promise<AuthorizationRecord[]> {
        return this.read(reads.authorizationsWhere(where, limit));
    }

    async users(ids: string[], fields = 'Id, Name, Email, Username, IsActive'): Promise<OrgUser[]> {
        const results: OrgUser[] = [];
        for (const group of chunk(ids, ID_CHUNK)) {
            results.push(
                ...(await this.org.query<OrgUser>(
                    `SELECT ${fields} FROM User WHERE Id IN (${group.map(soqlString).join(', ')})`
                ))
            );
        }
        return results;
    }

    /** A user by id, email or username (active or not). */
    async findUser(key: string): Promise<OrgUser[]> {
        const trimmed = key.trim();
        const fields = 'Id, Name, Email, Username, IsActive';
        if (/^005[a-zA-Z0-9]{12}(?:[a-zA-Z0-9]{3})?$/.test(trimmed)) {
            return this.org.query<OrgUser>(`SELECT ${fields} FROM User WHERE Id = ${soqlString(trimmed)}`);
        }
        const byUsername = await this.org.query<OrgUser>(
            `SELECT ${fields} FROM User WHERE Username = ${soqlString(trimmed)}`
        );
        if (byUsername.length > 0) return byUsername;
        return this.org.query<OrgUser>(
            `SELECT ${fields} FROM User WHERE Email = ${soqlString(trimmed)} LIMIT 10`
        );
    }

    async conditionSets(): Promise<SObjectRecord[]> {
        return this.read(reads.conditionSets());
    }

    async orgTimeZone(): Promise<string> {
        const [organization] = await this.org.query<{ TimeZoneSidKey?: string }>(
            'SELECT Id, TimeZoneSidKey FROM Organization LIMIT 1'
        );
        return organization?.TimeZoneSidKey ?? 'UTC';
    }

    async settings(): Promise<SettingsRecord> {
        return this.read(reads.settings());
    }

    /** True when the user is active and holds the Rollcall_Admin permission set or custom permission. */
    async isRollcallAdmin(userId: string): Promise<boolean> {
        const id = soqlString(assertSalesforceId(userId, 'initiatedBy'));
        const assignments = await this.org.query(
            `SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = ${id} AND Assignee.IsActive = true AND PermissionSet.Name = ${soqlString(ADMIN_PERMISSION)} LIMIT 1`
        );
        if (assignments.length > 0) return true;
        try {
            // The custom permission may also come from another permission set (or a permission set group).
            const viaCustomPermission = await this.org.query(
                `SELECT Id FROM SetupEntityAccess WHERE SetupEntityId IN (SELECT Id FROM CustomPermission WHERE DeveloperName = ${soqlString(ADMIN_PERMISSION)}) AND ParentId IN (SELECT PermissionSetId FROM PermissionSetAssignment WHERE AssigneeId = ${id} AND Assignee.IsActive = true) LIMIT 1`
            );
            return viaCustomPermission.length > 0;
        } catch (error) {
            // An org that cannot be reached must not turn into "not an admin"; only an org (or API version)
            // that refuses this setup query falls back to the permission set check above.
            if (error instanceof AppError && error.code === 'ORG_REQUEST_FAILED') return false;
            throw error;
        }
    }

    async adminEmails(cap: number): Promise<string[]> {
        const rows = await this.org.query<{ Assignee?: { Email?: string | null } | null }>(
            `SELECT AssigneeId, Assignee.Email FROM PermissionSetAssignment WHERE PermissionSet.Name = ${soqlString(ADMIN_PERMISSION)} AND Assignee.IsActive = true LIMIT ${cap}`
        );
        return rows.map((row) => row.Assignee?.Email).filter((email): email is string => Boolean(email));
    }

    /** Creates the run, or finds the one a lost response already created: Run_Key__c is chosen by the caller. */
    async upsertRun(runKey: string, fields: Omit<SObjectRecord, 'Id'>): Promise<string> {
        const [result] = await this.org.upsert(RUN, 'Run_Key__c', [{ ...fields, Run_Key__c: runKey }]);
        if (!result?.success || !result.id) throw writeError('create the run', result);
        return result.id;
    }

    /**
     * Moves a run out of status `from`. A write whose answer was lost is sent again only while the run is
     * still `from`: a late re-send must never undo what another instance did after the first one landed
     * (a preview's Previewed arriving after its execution made it Running). True when the run took `to`.
     */
    async transitionRun(
        id: string,
        from: RunStatus,
        fields: Record<string, unknown> & { Status__c: RunStatus }
    ): Promise<boolean> {
        for (let attempt = 1; ; attempt++) {
            try {
                const [result] = await this.org.update([{ attributes: { type: RUN }, Id: id, ...fields }], {
                    retry: false
                });
                if (!result?.success) throw writeError('update the run', result);
                return true;
            } catch (error) {
                const ambiguous = error instanceof AppError && error.details?.ambiguous === true;
                if (!ambiguous) throw error;
                const run = await this.findRun(id);
                if (!run || run.Status__c !== from) return run?.Status__c === fields.Status__c;
                if (attempt >= TRANSITION_ATTEMPTS) throw error;
                await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
            }
        }
    }

    async findRunByKey(runKey: string): Promise<RunRecord | undefined> {
        return this.read(reads.runByKey(runKey));
    }

    async updateRun(id: string, fields: Record<string, unknown>): Promise<void> {
        const [result] = await this.org.update([{ attributes: { type: RUN }, Id: id, ...fields }]);
        if (!result?.success) throw writeError('update the run', result);
    }

    /** Items carry Item_Key__c (itemKey): written twice, they are one record. */
    async upsertItems(records: SObjectRecord[]): Promise<WriteResult[]> {
        return this.org.upsert(ITEM, 'Item_Key__c', records);
    }

    /** The lease of the highest epoch (the current or the last claim), if any was ever claimed. */
    async latestLease(): Promise<LeaseRecord | undefined> {
        const [lease] = await this.org.query<LeaseRecord>(
            `SELECT ${LEASE_FIELDS} FROM ${LEASE} ORDER BY Epoch__c DESC LIMIT 1`
        );
        return lease;
    }

    async leaseByKey(key: string): Promise<LeaseRecord | undefined> {
        const [lease] = await this.org.query<LeaseRecord>(
            `SELECT ${LEASE_FIELDS} FROM ${LEASE} WHERE Key__c = ${soqlString(key)} LIMIT 1`
        );
        return lease;
    }

    /**
     * Leases a prune may delete, oldest first: lapsed before `before` and below the highest epoch (read in
     * the same call: the latest lease is what the next claim numbers from, and it is never deleted).
     */
    async staleLeases(before: Date): Promise<LeaseRecord[]> {
        const { latest, lapsed } = this.readTogether({
            latest: {
                soql: `SELECT ${LEASE_FIELDS} FROM ${LEASE} ORDER BY Epoch__c DESC LIMIT 1`,
                parse: (records) => records[0] as LeaseRecord | undefined
            },
            lapsed: {
                soql: `SELECT ${LEASE_FIELDS} FROM ${LEASE} WHERE Expires_At__c < ${before.toISOString()} ORDER BY Epoch__c LIMIT ${LEASE_PRUNE_BATCH}`,
                parse: (records) => records as LeaseRecord[]
            }
        });
        const top = (await latest)?.Epoch__c;
        return top === undefined ? [] : (await lapsed).filter((lease) => lease.Epoch__c < top);
    }

    /** Deletes records by id; undefined when the gateway cannot delete. */
    async deleteRecords(ids: string[]): Promise<WriteResult[] | undefined> {
        if (ids.length === 0) return [];
        return this.org.deleteRecords?.(ids);
    }

    /** A plain insert, never an upsert: on a unique Key__c only one caller's insert succeeds. */
    async insertLease(fields: Omit<LeaseRecord, 'Id'>): Promise<WriteResult> {
        const [result] = await this.org.create(LEASE, [fields]);
        return result ?? { success: false, errors: ['no result'] };
    }

    async update(records: SObjectRecord[]): Promise<WriteResult[]> {
        return this.org.update(records);
    }

    async upsertAuthorizations(records: SObjectRecord[]): Promise<WriteResult[]> {
        return this.org.upsert(AUTHORIZATION, 'Key__c', records);
    }
}

/** What an incremental sync reads from the org (use-cases/incremental.ts). */
export class ChangeStore {
    constructor(readonly org: OrgGateway) {}

    /** See reads.baselineRun. */
    async baselineRun(currentRunId?: string): Promise<BaselineRuns> {
        return new OrgStore(this.org).read(reads.baselineRun(currentRunId));
    }

    /**
     * Users whose Calendar_Authorization__c records for these products were written at or after `since` and
     * now hold one of these statuses; with `Not Invited` among them, also records deleted since (no record
     * is Not Invited), read with queryAll where the gateway has it.
     */
    async usersWithAuthorizationChanges(
        since: Date,
        products: string[],
        statuses: string[]
    ): Promise<string[]> {
        if (products.length === 0 || statuses.length === 0) return [];
        const inStatus = `Status__c IN (${statuses.map(soqlString).join(', ')})`;
        const withDeleted = statuses.includes('Not Invited') && this.org.queryAll !== undefined;
        const soql = `SELECT User__c FROM ${AUTHORIZATION} WHERE SystemModstamp >= ${soqlDateTime(since)} AND Product__c IN (${products.map(soqlString).join(', ')}) AND ${withDeleted ? `(${inStatus} OR IsDeleted = true)` : inStatus}`;
        const rows = withDeleted
            ? await this.org.queryAll!<{ User__c: string }>(soql)
            : await this.org.query<{ User__c: string }>(soql);
        return rows.map((row) => row.User__c);
    }

    /** Users of a run's items that did not end Invited (failed, skipped): still eligible if nothing changed. */
    async usersNotInvited(runId: string): Promise<string[]> {
        const rows = await this.org.query<{ User__c: string }>(
            `SELECT User__c FROM ${ITEM} WHERE Run__c = ${soqlString(assertSalesforceId(runId))} AND Status__c != 'Invited'`
        );
        return rows.map((row) => row.User__c);
    }

    /** Users changed at or after `since` (any field, active or not), with their manager now. */
    async changedUsers(since: Date): Promise<{ Id: string; ManagerId?: string | null }[]> {
        return this.org.query<{ Id: string; ManagerId?: string | null }>(
            `SELECT Id, ManagerId FROM User WHERE SystemModstamp >= ${soqlDateTime(since)}`
        );
    }

    /** Which of these users at least one active user names as manager (IsManager), one group per manager. */
    async managersAmong(userIds: string[]): Promise<Set<string>> {
        const managers = new Set<string>();
        for (const ids of chunk(userIds, ID_CHUNK)) {
            const rows = await this.org.query<{ ManagerId?: string | null }>(
                `SELECT ManagerId FROM User WHERE IsActive = true AND ManagerId IN (${ids.map(soqlString).join(', ')}) GROUP BY ManagerId`
            );
            for (const row of rows) if (row.ManagerId) managers.add(row.ManagerId);
        }
        return managers;
    }
}

function writeError(what: string, result: WriteResult | undefined): AppError {
    return new AppError(
        'ORG_REQUEST_FAILED',
        `Could not ${what}: ${result?.errors.join('; ') || 'no result'}`
    );
}
