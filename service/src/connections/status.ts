/**
 * The connections as the admin app sees them (DESIGN §10): each connection the org defines, whether the
 * service has it configured (CONNECTIONS_FILE) and can reach it, and "Test connection": what the app says it
 * supports. A connection the service has no entry for is "not configured in the service", never guessed.
 * Errors carry the adapter's message, which never holds the token (and is redacted again on its way out).
 */
import { ConnectionStore, type RunActionRecord } from '../domain/connection-store';
import { assertSalesforceId } from '../domain/org-store';
import { AppError, describeError } from '../errors';
import type { AppCapabilities, AppDirectoryFactory } from './app-directory';

export interface ConnectionStatus {
    key: string;
    name: string;
    active: boolean;
    matchOn: string;
    deprovisioning: string;
    /** The service has a CONNECTIONS_FILE entry for this key. */
    configured: boolean;
    /** The app answered /ServiceProviderConfig (null: not configured, not tried). */
    reachable: boolean | null;
    /** Why it is not configured or not reachable. */
    problem?: string;
}

export interface ConnectionTest {
    key: string;
    configured: boolean;
    reachable: boolean;
    problem?: string;
    capabilities?: AppCapabilities;
}

export class ConnectionsService {
    constructor(
        private readonly store: ConnectionStore,
        private readonly directories: AppDirectoryFactory | undefined
    ) {}

    /** `GET /v1/connections`. The configured apps are asked at once (each answer bounded by the adapter). */
    async list(): Promise<{ connections: ConnectionStatus[]; notInOrg: string[] }> {
        const records = await this.store.connections();
        const connections = await Promise.all(
            records.map(async (record): Promise<ConnectionStatus> => {
                const base = {
                    key: record.Key__c,
                    name: record.Name,
                    active: record.Active__c === true,
                    matchOn: record.Match_On__c ?? 'Username',
                    deprovisioning: record.Deprovisioning__c ?? 'Off'
                };
                const directory = this.directories?.forConnection(record.Key__c);
                if (!directory) {
                    return {
                        ...base,
                        configured: false,
                        reachable: null,
                        problem: `Not configured in the service: CONNECTIONS_FILE has no entry "${record.Key__c}"`
                    };
                }
                try {
                    await directory.capabilities();
                    return { ...base, configured: true, reachable: true };
                } catch (error) {
                    return { ...base, configured: true, reachable: false, problem: describeError(error) };
                }
            })
        );
        const known = new Set(records.map((record) => record.Key__c));
        const notInOrg = (this.directories?.configuredKeys() ?? []).filter((key) => !known.has(key));
        return { connections, notInOrg };
    }

    /** `POST /v1/connections/{key}/test`: reads /ServiceProviderConfig and /ResourceTypes. */
    async test(key: string): Promise<ConnectionTest> {
        const records = await this.store.connections();
        if (!records.some((record) => record.Key__c === key)) {
            throw new AppError('NOT_FOUND', `No connection with key "${key}" in the org`);
        }
        const directory = this.directories?.forConnection(key);
        if (!directory) {
            return {
                key,
                configured: false,
                reachable: false,
                problem: `Not configured in the service: CONNECTIONS_FILE has no entry "${key}"`
            };
        }
        try {
            return { key, configured: true, reachable: true, capabilities: await directory.capabilities() };
        } catch (error) {
            return { key, configured: true, reachable: false, problem: describeError(error) };
        }
    }

    /** `GET /v1/runs/{id}/actions`: a run's connection actions (the plan, then what was sent). */
    async runActions(runId: string): Promise<{ actions: Array<Record<string, unknown>> }> {
        const id = assertSalesforceId(runId, 'id');
        const actions = await this.store.actions(id);
        return { actions: actions.map(viewOf) };
    }
}

function viewOf(action: RunActionRecord): Record<string, unknown> {
    let detail: Record<string, unknown> = {};
    try {
        detail = JSON.parse(action.Detail__c ?? '{}') as Record<string, unknown>;
    } catch {
        detail = {};
    }
    return {
        connection: action.Connection__r?.Key__c ?? action.Connection__c,
        userId: action.User__c,
        kind: action.Kind__c,
        status: action.Status__c,
        group: typeof detail.group === 'string' ? detail.group : null,
        role: typeof detail.role === 'string' ? detail.role : null,
        userName: typeof detail.userName === 'string' ? detail.userName : null,
        externalId: action.External_Id__c ?? null,
        reason: action.Reason__c ?? null,
        // DESIGN §11: why an account is deactivated or removed from a group.
        why: typeof detail.why === 'string' ? detail.why : null
    };
}
