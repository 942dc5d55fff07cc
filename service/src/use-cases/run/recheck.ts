/**
 * Re-check: between the preview and the run, a user's authorization status may have changed, or the user
 * may have gone, been deactivated or lost their email. Each item is decided here, before any mail leaves:
 * Skipped with the reason, or Pending with the products that are still eligible (neither changed status nor
 * set by hand since).
 */
import type { AuthorizationRecord, ItemStatus, OrgUser } from '../../domain/org-store';
import { authorizationKey } from '../evaluation';
import type { WorkItem } from './context';

export interface RecheckDecision {
    item: WorkItem;
    status: Extract<ItemStatus, 'Pending' | 'Skipped'>;
    reason?: string;
    /** Item fields that change with the decision (fewer products, the current email). */
    fields: Record<string, unknown>;
}

export function recheck(
    item: WorkItem,
    user: OrgUser | undefined,
    authorizations: Map<string, AuthorizationRecord>
): RecheckDecision {
    const changes: string[] = [];
    const stillEligible = item.products.filter((product) => {
        const record = authorizations.get(authorizationKey(item.userId, product));
        // An admin set the record by hand since the preview: no sync changes it (DESIGN §8).
        if (record?.Source__c === 'Manual') {
            changes.push(`${product}: set by an admin since the preview (kept, manual)`);
            return false;
        }
        const now = record?.Status__c ?? 'Not Invited';
        const then = item.statusesAtPreview[product] ?? 'Not Invited';
        if (now !== then) changes.push(`${product}: ${then} → ${now}`);
        return now === then;
    });
    const skip = (reason: string): RecheckDecision => ({ item, status: 'Skipped', reason, fields: {} });
    if (!user) return skip('user no longer exists');
    if (user.IsActive !== true) return skip('user deactivated since the preview');
    if (!user.Email) return skip('user has no email address');
    const changed = `status changed since the preview (${changes.join('; ')})`;
    if (stillEligible.length === 0) return skip(changed);
    const reduced = stillEligible.length !== item.products.length;
    return {
        item,
        status: 'Pending',
        reason: reduced ? changed : undefined,
        fields: { Email__c: user.Email, ...(reduced ? { Products__c: stillEligible.join(';') } : {}) }
    };
}
