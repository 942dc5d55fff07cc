/**
 * Reconciliation (DESIGN §11, "Compare with the app"): the app's accounts, read page by page, sorted
 * against Salesforce's users and the rules into four lists:
 *
 * - `adoptable`: the account matches a user who matches a set granting the connection (adoptable as Rule);
 * - `manual`: the account matches a user who matches no such set (left Manual);
 * - `toCreate`: users the rules would create (they match a set and the app has no account for them);
 * - `noUser`: app accounts with no Salesforce user.
 *
 * Pure and streaming: the users (one small entry each) are indexed once; each page of app accounts is
 * sorted and dropped, keeping per list a count and the first `keep` entries. Memory is the user index plus
 * 4 × `keep` entries, whatever the number of app accounts. Accounts the org already records
 * (App_Account__c for that user) are counted apart (`recorded`): they are not the admin's to adopt.
 *
 * Matching: an account carrying an externalId `<UserId>:<Connection Key>` of this connection is that
 * user's; otherwise its userName is looked up among the users' userNames (Match_On__c), ignoring case as
 * SCIM's userName does (RFC 7643 §4.1.1: caseExact false).
 */
export interface ReconcileUser {
    userId: string;
    /** The userName the connection's Match_On__c gives this user (null when the field is blank). */
    userName: string | null;
    active: boolean;
    /** Active and matching an active set granting this connection. */
    matchesRule: boolean;
    /** The org already has an App_Account__c for (user, connection). */
    recorded: boolean;
}

export interface ReconcileAppAccount {
    id: string;
    userName: string;
    externalId?: string;
    active: boolean;
}

export interface ReconcileEntry {
    /** The app's id (absent for toCreate). */
    appId?: string;
    userName: string;
    userId?: string;
    active?: boolean;
    /** Why it is in this list when not obvious (a second account for one user, an inactive user). */
    note?: string;
}

export interface ReconcileList {
    count: number;
    /** The first `keep` entries in the app's order (toCreate: the users' order). */
    first: ReconcileEntry[];
}

export interface ReconcileResult {
    adoptable: ReconcileList;
    manual: ReconcileList;
    toCreate: ReconcileList;
    noUser: ReconcileList;
    /** App accounts of users the org already records. */
    recorded: number;
    /** App accounts read. */
    appAccounts: number;
}

export const DEFAULT_RECONCILE_KEEP = 200;

interface Indexed {
    user: ReconcileUser;
    /** The app account already met for this user (a second one is not adoptable). */
    seen: boolean;
}

export class Reconciler {
    private readonly byUserName = new Map<string, Indexed>();
    private readonly byId = new Map<string, Indexed>();
    private readonly lists = {
        adoptable: { count: 0, first: [] as ReconcileEntry[] },
        manual: { count: 0, first: [] as ReconcileEntry[] },
        noUser: { count: 0, first: [] as ReconcileEntry[] }
    };
    private recorded = 0;
    private appAccounts = 0;

    constructor(
        users: Iterable<ReconcileUser>,
        private readonly connectionKey: string,
        private readonly keep = DEFAULT_RECONCILE_KEEP
    ) {
        for (const user of users) {
            const indexed: Indexed = { user, seen: false };
            this.byId.set(user.userId, indexed);
            // Two users with one userName (case aside): the first keeps it; the app can hold only one.
            if (user.userName !== null) {
                const key = user.userName.toLowerCase();
                if (!this.byUserName.has(key)) this.byUserName.set(key, indexed);
            }
        }
    }

    private push(list: ReconcileList, entry: ReconcileEntry): void {
        list.count++;
        if (list.first.length < this.keep) list.first.push(entry);
    }

    private owner(account: ReconcileAppAccount): Indexed | undefined {
        const suffix = `:${this.connectionKey}`;
        if (account.externalId?.endsWith(suffix)) {
            const byKey = this.byId.get(account.externalId.slice(0, -suffix.length));
            if (byKey) return byKey;
        }
        return this.byUserName.get(account.userName.toLowerCase());
    }

    /** One page of the app's accounts. */
    addPage(
        accounts: ReadonlyArray<ReconcileAppAccount>,
        onAdoptable?: (entry: ReconcileEntry) => void
    ): void {
        for (const account of accounts) {
            this.appAccounts++;
            const owner = this.owner(account);
            const entry: ReconcileEntry = {
                appId: account.id,
                userName: account.userName,
                active: account.active
            };
            if (!owner) {
                this.push(this.lists.noUser, entry);
                continue;
            }
            entry.userId = owner.user.userId;
            if (owner.user.recorded) {
                this.recorded++;
                owner.seen = true;
                continue;
            }
            if (owner.seen) {
                entry.note = 'a second account for this user in the app: left Manual';
                this.push(this.lists.manual, entry);
                continue;
            }
            owner.seen = true;
            if (owner.user.matchesRule) {
                this.push(this.lists.adoptable, entry);
                onAdoptable?.(entry);
            } else {
                if (!owner.user.active) entry.note = 'the user is inactive in Salesforce';
                this.push(this.lists.manual, entry);
            }
        }
    }

    /** The four lists; toCreate is known once every page was read. */
    result(): ReconcileResult {
        const toCreate: ReconcileList = { count: 0, first: [] };
        for (const { user, seen } of this.byId.values()) {
            if (seen || !user.matchesRule || user.recorded || user.userName === null) continue;
            this.push(toCreate, { userName: user.userName, userId: user.userId });
        }
        return {
            adoptable: this.lists.adoptable,
            manual: this.lists.manual,
            toCreate,
            noUser: this.lists.noUser,
            recorded: this.recorded,
            appAccounts: this.appAccounts
        };
    }
}
