/**
 * "Compare with the app" and "Adopt" for one connection (DESIGN §11): the org's users (with the userName
 * the connection's Match_On__c gives them, and whether they match an active set granting it) against the
 * app's accounts, read page by page (use-cases/reconcile.ts). Comparing writes nothing. Adopting records
 * the chosen adoptable accounts as `Rule` App_Account__c (by Key__c, page by page) and writes Rollcall's
 * account key into each one's SCIM `externalId`, so later runs read it as theirs; only accounts that are
 * adoptable at the time of the adoption are adopted, whatever the request lists.
 */
import {
    accountKey,
    fieldsInUse,
    matchSets,
    requiredManagerIds,
    userFieldValue,
    validateAttributeMap,
    type EvalContext
} from '../engine';
import type { ReconcileEntry, ReconcileResult, ReconcileUser } from '../engine/reconcile';
import { AppError } from '../errors';
import { APP_ACCOUNT, ConnectionStore, type ConnectionRecord } from '../domain/connection-store';
import type { AppDirectory } from '../connections/app-directory';
import { forEachCandidatePage, ownString, readManagerIds } from './candidates';
import type { Evaluator } from './evaluation';
import { reconcileWithApp } from './reconcile';
import type { SObjectRecord } from '../ports';
import type { RunDeps } from './run/context';
import { setsGrantingConnection } from './granting-sets';

export interface ReconcileAnswer extends ReconcileResult {
    connection: string;
}

export interface AdoptAnswer {
    connection: string;
    adopted: number;
    /** Requested app ids that were not adoptable (gone, no user, no rule, or recorded already). */
    notAdoptable: string[];
    failed: Array<{ appId: string; reason: string }>;
}

interface Prepared {
    connection: ConnectionRecord;
    directory: AppDirectory;
    users: ReconcileUser[];
}

async function prepare(deps: RunDeps, evaluator: Evaluator, key: string): Promise<Prepared> {
    const connectionStore = new ConnectionStore(deps.store.org);
    const connection = (await connectionStore.connections()).find((candidate) => candidate.Key__c === key);
    if (!connection) throw new AppError('NOT_FOUND', `No connection "${key}" in the org`);
    const directory = deps.appDirectories?.forConnection(key);
    if (!directory) {
        throw new AppError(
            'VALIDATION_FAILED',
            `Connection "${key}" is not configured in the service (CONNECTIONS_FILE has no entry "${key}")`
        );
    }
    const { schema, timeZone } = await evaluator.schemaAndTimeZone();
    const mapping = validateAttributeMap(connection.Attribute_Map__c, connection.Match_On__c, schema);
    if (!mapping.ok) {
        throw new AppError(
            'VALIDATION_FAILED',
            `Connection "${key}": the attribute map is invalid: ${mapping.errors.map((error) => error.message).join(' ')}`
        );
    }
    const sets = setsGrantingConnection(await connectionStore.activeGrants(), connection.Id, schema);
    const now = deps.clock.now();
    const managerIds = requiredManagerIds(sets)
        ? await readManagerIds(deps.store.org, schema, {})
        : new Set<string>();
    const ctx: EvalContext = { now, timeZone, managerIds };
    const recorded = new Set((await connectionStore.accounts(connection.Id)).map((row) => row.User__c));
    const fields = [
        ...new Set([
            'IsActive',
            mapping.userNameField,
            ...fieldsInUse(sets.map((set) => set.definition)).filter((field) => field !== 'Id')
        ])
    ];
    // Every user, active or not: an app account of a leaver is matched to them (and left Manual).
    const users: ReconcileUser[] = [];
    await forEachCandidatePage(
        deps.store.org,
        [
            `SELECT Id, ${fields.filter((field) => schema.resolve(field) && !schema.resolve(field)?.derived).join(', ')} FROM User`
        ],
        schema,
        ({ users: page }) => {
            for (const user of page) {
                const userName = userFieldValue(user, mapping.userNameField);
                const active = user.IsActive === true;
                users.push({
                    userId: ownString(user.Id),
                    userName: userName === null ? null : ownString(String(userName)),
                    active,
                    matchesRule: active && sets.length > 0 && matchSets(sets, user, ctx).length > 0,
                    recorded: recorded.has(user.Id)
                });
            }
        }
    );
    return { connection, directory, users };
}

export async function reconcileConnection(
    deps: RunDeps,
    evaluator: Evaluator,
    key: string,
    keep?: number
): Promise<ReconcileAnswer> {
    const { connection, directory, users } = await prepare(deps, evaluator, key);
    const result = await reconcileWithApp(directory, connection.Key__c, users, { keep });
    return { connection: connection.Key__c, ...result };
}

export async function adoptAccounts(
    deps: RunDeps,
    evaluator: Evaluator,
    key: string,
    request: { appIds?: string[]; all?: boolean }
): Promise<AdoptAnswer> {
    if (!request.all && (!request.appIds || request.appIds.length === 0)) {
        throw new AppError('VALIDATION_FAILED', 'Give "appIds" (the app accounts to adopt) or "all": true');
    }
    const { connection, directory, users } = await prepare(deps, evaluator, key);
    const wanted = request.all ? undefined : new Set(request.appIds);
    const seen = new Set<string>();
    const answer: AdoptAnswer = { connection: connection.Key__c, adopted: 0, notAdoptable: [], failed: [] };
    const connectionStore = new ConnectionStore(deps.store.org);
    await reconcileWithApp(directory, connection.Key__c, users, {
        keep: 0,
        onAdoptable: async (entries: ReconcileEntry[]) => {
            const chosen = entries.filter((entry) => !wanted || wanted.has(entry.appId ?? ''));
            const records: SObjectRecord[] = [];
            for (const entry of chosen) {
                seen.add(entry.appId as string);
                const ownKey = accountKey(entry.userId as string, connection.Key__c);
                try {
                    // The app learns the account is Rollcall's: later runs read it by externalId.
                    await directory.patchUser(entry.appId as string, [
                        { op: 'replace', path: 'externalId', value: ownKey }
                    ]);
                } catch (error) {
                    answer.failed.push({
                        appId: entry.appId as string,
                        reason: error instanceof Error ? error.message : String(error)
                    });
                    continue;
                }
                records.push({
                    attributes: { type: APP_ACCOUNT },
                    Key__c: ownKey,
                    User__c: entry.userId,
                    Connection__c: connection.Id,
                    External_Id__c: entry.appId,
                    Source__c: 'Rule',
                    Status__c: entry.active === false ? 'Inactive' : 'Active'
                });
            }
            for (let i = 0; i < records.length; i += 200) {
                const results = await connectionStore.upsertAccounts(records.slice(i, i + 200));
                results.forEach((result, index) => {
                    if (result.success) answer.adopted++;
                    else
                        answer.failed.push({
                            appId: String(records[i + index].External_Id__c),
                            reason: result.errors.join('; ')
                        });
                });
            }
        }
    });
    if (wanted) answer.notAdoptable = [...wanted].filter((id) => !seen.has(id));
    return answer;
}
