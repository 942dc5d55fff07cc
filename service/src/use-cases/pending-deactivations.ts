/**
 * `GET /v1/connections/{key}/pending-deactivations` (DESIGN §11): the connection's Rule accounts waiting out
 * their grace, each with when it became unmatched, when it is due and why (the engine's explain over the
 * active sets granting the connection, as the run computes it). Reads only.
 */
import { explain, fieldsInUse, requiredManagerIds, soqlString } from '../engine';
import { deactivationWhy, graceDays, whyText } from '../engine/deprovision';
import { AppError } from '../errors';
import { APP_ACCOUNT, CONNECTION, ConnectionStore } from '../domain/connection-store';
import { chunk } from '../domain/org-store';
import type { UserRecord } from '../engine';
import { readManagerIds } from './candidates';
import type { Evaluator } from './evaluation';
import type { RunDeps } from './run/context';
import { setsGrantingConnection } from './granting-sets';

export interface PendingDeactivation {
    userId: string;
    name: string | null;
    unmatchedSince: string | null;
    due: string | null;
    why: string;
}

const DAY_MS = 86_400_000;

export async function pendingDeactivations(
    deps: RunDeps,
    evaluator: Evaluator,
    key: string
): Promise<{ connection: string; graceDays: number; pending: PendingDeactivation[] }> {
    const org = deps.store.org;
    const [connection] = await org.query<{ Id: string; Key__c: string; Grace_Days__c?: number | null }>(
        `SELECT Id, Key__c, Grace_Days__c FROM ${CONNECTION} WHERE Key__c = ${soqlString(key)}`
    );
    if (!connection) throw new AppError('NOT_FOUND', `No connection "${key}" in the org`);
    const grace = graceDays({
        deprovisioning: 'Deactivate',
        graceDays: connection.Grace_Days__c ?? null,
        breakerMaxCount: null,
        breakerMaxPercent: null
    }).days;
    const { schema, timeZone } = await evaluator.schemaAndTimeZone();
    const sets = setsGrantingConnection(await new ConnectionStore(org).activeGrants(), connection.Id, schema);
    const rows = await org.query<{
        User__c: string;
        Unmatched_Since__c?: string | null;
        Granted_By_Sets__c?: string | null;
        Groups__c?: string | null;
    }>(
        `SELECT User__c, Unmatched_Since__c, Granted_By_Sets__c, Groups__c FROM ${APP_ACCOUNT} WHERE Connection__c = ${soqlString(connection.Id)} AND Status__c = 'Pending Deactivation' AND Source__c = 'Rule' ORDER BY Unmatched_Since__c`
    );
    const fields = [
        ...new Set(['IsActive', 'Name', ...fieldsInUse(sets.map((set) => set.definition))])
    ].filter((field) => field !== 'Id' && schema.resolve(field) && !schema.resolve(field)?.derived);
    const users = new Map<string, UserRecord>();
    for (const ids of chunk(
        rows.map((row) => row.User__c),
        200
    )) {
        for (const user of await org.query<UserRecord>(
            `SELECT Id, ${fields.join(', ')} FROM User WHERE Id IN (${ids.map(soqlString).join(', ')})`
        ))
            users.set(user.Id, user);
    }
    const managerIds = requiredManagerIds(sets) ? await readManagerIds(org, schema, {}) : new Set<string>();
    const ctx = { now: deps.clock.now(), timeZone, managerIds };
    const grantingSets = [...new Set(sets.map((set) => set.name))];
    return {
        connection: connection.Key__c,
        graceDays: grace,
        pending: rows.map((row) => {
            const user = users.get(row.User__c);
            const since = row.Unmatched_Since__c
                ? Date.parse(row.Unmatched_Since__c.replace(/\+0000$/, 'Z'))
                : NaN;
            return {
                userId: row.User__c,
                name: typeof user?.Name === 'string' ? user.Name : null,
                unmatchedSince: Number.isNaN(since) ? null : new Date(since).toISOString(),
                due: Number.isNaN(since) ? null : new Date(since + grace * DAY_MS).toISOString(),
                why: whyText(
                    deactivationWhy({
                        user: user ? { Id: user.Id, IsActive: user.IsActive === true } : undefined,
                        grantedBySets: (row.Granted_By_Sets__c ?? '')
                            .split(';')
                            .map((name) => name.trim())
                            .filter(Boolean),
                        grantingSets,
                        explanations: user
                            ? explain({ valid: sets, invalid: [] }, user, () => 'Not Invited', ctx).sets
                            : []
                    })
                )
            };
        })
    };
}
