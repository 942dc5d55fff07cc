/**
 * The condition sets that grant one connection, prepared for evaluation (DESIGN §10, §11): one per set,
 * whatever number of grants it has; a set whose definition does not validate grants nothing. A grant's set is
 * prepared by prepareGrantingSet, for a run's plan (run/connections.ts) as where a connection is looked at on
 * its own (setsGrantingConnection: pending deactivations, reconciliation).
 */
import { validateDefinition, type PreparedSet, type Schema } from '../engine';
import type { GrantRecord } from '../domain/connection-store';

/** A grant's condition set prepared for evaluation (it grants no product here), or why it does not validate. */
export function prepareGrantingSet(
    grant: GrantRecord,
    schema: Schema
): { set: PreparedSet; invalid?: undefined } | { set?: undefined; invalid: string } {
    const name = grant.Condition_Set__r?.Name ?? grant.Condition_Set__c;
    const result = validateDefinition(grant.Condition_Set__r?.Definition__c ?? '', schema);
    if (!result.ok) return { invalid: `${name}: ${result.errors.map((error) => error.message).join(' ')}` };
    const input = {
        id: grant.Condition_Set__c,
        name,
        products: [],
        eligibleStatuses: [],
        definition: '',
        createdDate: grant.Condition_Set__r?.CreatedDate ?? ''
    };
    return { set: { ...input, definition: result.definition, input } };
}

export function setsGrantingConnection(
    grants: GrantRecord[],
    connectionId: string,
    schema: Schema
): PreparedSet[] {
    const sets: PreparedSet[] = [];
    for (const grant of grants) {
        if (grant.Connection__c !== connectionId) continue;
        if (sets.some((set) => set.id === grant.Condition_Set__c)) continue;
        const { set } = prepareGrantingSet(grant, schema);
        if (set) sets.push(set);
    }
    return sets;
}
