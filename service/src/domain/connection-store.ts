/**
 * The org's connection records (DESIGN §10): connections, the grants of the active sets, app accounts and
 * run actions. Reads are queries; writes are upserts by the records' Key__c, so a write whose answer was
 * lost is simply sent again.
 */
import { soqlString } from '../engine';
import type { OrgGateway, SObjectRecord, WriteResult } from '../ports';
import { chunk, type OrgStore } from './org-store';

export const CONNECTION = 'Connection__c';
export const ACCESS_GRANT = 'Access_Grant__c';
export const APP_ACCOUNT = 'App_Account__c';
export const RUN_ACTION = 'Provisioning_Run_Action__c';

export interface ConnectionRecord extends SObjectRecord {
    Id: string;
    Name: string;
    Key__c: string;
    Active__c?: boolean;
    Attribute_Map__c?: string | null;
    Match_On__c?: string | null;
    Deprovisioning__c?: string | null;
}

export interface GrantRecord extends SObjectRecord {
    Id: string;
    Connection__c: string;
    Groups__c?: string | null;
    Role__c?: string | null;
    Condition_Set__c: string;
    Condition_Set__r?: { Name?: string; CreatedDate?: string; Definition__c?: string | null } | null;
}

export interface AppAccountRecord extends SObjectRecord {
    Id: string;
    Key__c: string;
    User__c: string;
    External_Id__c?: string | null;
    Status__c?: string | null;
    Source__c?: string | null;
    Role__c?: string | null;
    Groups__c?: string | null;
    Granted_By_Sets__c?: string | null;
}

export interface RunActionRecord extends SObjectRecord {
    Id: string;
    Key__c: string;
    Connection__c: string;
    Connection__r?: { Key__c?: string; Name?: string } | null;
    App_Account__c?: string | null;
    User__c: string;
    Kind__c: string;
    Status__c: string;
    Detail__c?: string | null;
    Reason__c?: string | null;
    External_Id__c?: string | null;
}

const CONNECTION_FIELDS = 'Id, Name, Key__c, Active__c, Attribute_Map__c, Match_On__c, Deprovisioning__c';
const ACCOUNT_FIELDS =
    'Id, Key__c, User__c, External_Id__c, Status__c, Source__c, Role__c, Groups__c, Granted_By_Sets__c';
const ACTION_FIELDS =
    'Id, Key__c, Connection__c, Connection__r.Key__c, Connection__r.Name, App_Account__c, User__c, Kind__c, Status__c, Detail__c, Reason__c, External_Id__c';

const CONNECTIONS_SOQL = `SELECT ${CONNECTION_FIELDS} FROM ${CONNECTION} ORDER BY Name`;
const GRANTS_SOQL = `SELECT Id, Connection__c, Groups__c, Role__c, Condition_Set__c, Condition_Set__r.Name, Condition_Set__r.CreatedDate, Condition_Set__r.Definition__c FROM ${ACCESS_GRANT} WHERE Condition_Set__r.Active__c = true AND Connection__r.Active__c = true`;

export class ConnectionStore {
    constructor(readonly org: OrgGateway) {}

    /** The plan's start reads (connections and active grants) in one Composite request: one API call. */
    planReads(store: OrgStore): { connections: Promise<ConnectionRecord[]>; grants: Promise<GrantRecord[]> } {
        return store.readTogether({
            connections: { soql: CONNECTIONS_SOQL, parse: (records) => records as ConnectionRecord[] },
            grants: { soql: GRANTS_SOQL, parse: (records) => records as GrantRecord[] }
        });
    }

    /** Every connection the org defines (active or not), by name. */
    async connections(): Promise<ConnectionRecord[]> {
        return this.org.query<ConnectionRecord>(
            `SELECT ${CONNECTION_FIELDS} FROM ${CONNECTION} ORDER BY Name`
        );
    }

    /** The grants of active sets in active connections, with their set (name, precedence, definition). */
    async activeGrants(): Promise<GrantRecord[]> {
        return this.org.query<GrantRecord>(GRANTS_SOQL);
    }

    /** Of these condition sets, those that grant access in some connection (at most 300 ids a query). */
    async setsWithGrants(setIds: string[]): Promise<Set<string>> {
        const found = new Set<string>();
        for (const group of chunk(setIds, 300)) {
            const rows = await this.org.query<{ Condition_Set__c: string }>(
                `SELECT Condition_Set__c FROM ${ACCESS_GRANT} WHERE Condition_Set__c IN (${group.map(soqlString).join(', ')})`
            );
            for (const row of rows) found.add(row.Condition_Set__c);
        }
        return found;
    }

    /** A connection's accounts (every page). */
    async accounts(connectionId: string): Promise<AppAccountRecord[]> {
        return this.org.query<AppAccountRecord>(
            `SELECT ${ACCOUNT_FIELDS} FROM ${APP_ACCOUNT} WHERE Connection__c = ${soqlString(connectionId)}`
        );
    }

    async accountsByKey(keys: string[]): Promise<AppAccountRecord[]> {
        const found: AppAccountRecord[] = [];
        for (const group of chunk(keys, 200)) {
            found.push(
                ...(await this.org.query<AppAccountRecord>(
                    `SELECT ${ACCOUNT_FIELDS} FROM ${APP_ACCOUNT} WHERE Key__c IN (${group.map(soqlString).join(', ')})`
                ))
            );
        }
        return found;
    }

    /** A run's actions, in the order they were planned. */
    async actions(runId: string): Promise<RunActionRecord[]> {
        return this.org.query<RunActionRecord>(
            `SELECT ${ACTION_FIELDS} FROM ${RUN_ACTION} WHERE Run__c = ${soqlString(runId)} ORDER BY Name`
        );
    }

    async upsertActions(records: SObjectRecord[]): Promise<WriteResult[]> {
        return this.org.upsert(RUN_ACTION, 'Key__c', records);
    }

    async upsertAccounts(records: SObjectRecord[]): Promise<WriteResult[]> {
        return this.org.upsert(APP_ACCOUNT, 'Key__c', records);
    }
}
