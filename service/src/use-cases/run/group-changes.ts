/**
 * Sending a connection's group membership changes (DESIGN §10, §11), one group at a time: the members of
 * a group go in as few requests as the adapter allows, and the account records follow what the app now
 * holds. Adding a member twice or removing a non-member changes nothing, so a resend after a lost answer
 * is safe. Used for Add To Group (run/connections.ts) and Remove From Group (run/taking-away.ts).
 */
import { parseGroups } from '../../engine';

export interface GroupChange<A> {
    action: A;
    memberId: string;
    accountKey: string;
}

export interface GroupChangeSender<A> {
    readonly failingReason: string | undefined;
    readonly accounts: Map<string, { Key__c: string; Groups__c?: string | null }>;
    settle(action: A, status: 'Done' | 'Failed', reason?: string, externalId?: string): void;
    failure(error: unknown): string;
    success(): void;
    account(key: string, fields: Record<string, unknown>): void;
}

/**
 * The app's groups, id by display name (exact: "Sales" is not "sales"), read once before a batch of
 * membership changes. Undefined when the connection is failing or the groups cannot be read: every action of
 * the batch is then settled Failed with the reason.
 */
export async function readAppGroups<A>(
    sender: GroupChangeSender<A>,
    actions: readonly A[],
    listGroups: () => Promise<Array<{ id: string; displayName: string }>>,
    check: () => Promise<void>
): Promise<Map<string, string> | undefined> {
    await check();
    if (sender.failingReason) {
        for (const action of actions) sender.settle(action, 'Failed', sender.failingReason);
        return undefined;
    }
    try {
        const groups = new Map((await listGroups()).map((group) => [group.displayName, group.id]));
        sender.success();
        return groups;
    } catch (error) {
        const reason = `Groups not read: ${sender.failure(error)}`;
        for (const action of actions) sender.settle(action, 'Failed', reason);
        return undefined;
    }
}

export async function sendGroupChanges<A>(
    sender: GroupChangeSender<A>,
    change: 'add' | 'remove',
    send: (groupId: string, memberIds: string[]) => Promise<void>,
    groupIds: ReadonlyMap<string, string>,
    byGroup: ReadonlyMap<string, Array<GroupChange<A>>>,
    check: () => Promise<void>
): Promise<void> {
    for (const [group, members] of byGroup) {
        await check();
        if (sender.failingReason) {
            for (const { action } of members) sender.settle(action, 'Failed', sender.failingReason);
            continue;
        }
        try {
            await send(groupIds.get(group) as string, [...new Set(members.map((m) => m.memberId))]);
            sender.success();
            for (const { action, memberId, accountKey } of members) {
                sender.settle(action, 'Done', undefined, memberId);
                const had = parseGroups(sender.accounts.get(accountKey)?.Groups__c);
                const known =
                    change === 'remove'
                        ? had.filter((name) => name !== group)
                        : had.includes(group)
                          ? had
                          : [...had, group];
                const groups = known.join('\n');
                const record = sender.accounts.get(accountKey);
                if (record) record.Groups__c = groups;
                else sender.accounts.set(accountKey, { Key__c: accountKey, Groups__c: groups });
                sender.account(accountKey, { Groups__c: groups });
            }
        } catch (error) {
            const reason = `${change === 'add' ? 'Add to' : 'Remove from'} group "${group}": ${sender.failure(error)}`;
            for (const { action } of members) sender.settle(action, 'Failed', reason);
        }
    }
}
