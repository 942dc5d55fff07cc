/** A user account in an app, as the app returned it. */
export interface AppUser {
    id: string;
    userName: string;
    /** RFC 7643 §3.1: set by the provisioning client. Rollcall writes the App_Account__c Key__c
     *  (`<18-char UserId>:<Connection Key>`) here on create, so an account found later by userName
     *  can be told apart: ours (a create whose answer was lost) or Manual (made by someone else). */
    externalId?: string;
    active: boolean;
    /** The whole SCIM resource as returned (to compare mapped attributes). */
    resource: Record<string, unknown>;
}
export interface AppGroup {
    id: string;
    displayName: string;
    /** Member user ids, when the app returned them. */
    memberIds?: string[];
}
export interface AppCapabilities {
    patch: boolean;
    bulk: { supported: boolean; maxOperations: number; maxPayloadSize: number };
    filter: { supported: boolean; maxResults: number };
    etag: boolean;
    sort: boolean;
    /** Resource type names the app serves (`User`, `Group`, …) and the schema extensions of User. */
    resourceTypes: string[];
    userSchemaExtensions: string[];
}
/** RFC 7644 §3.5.2 PatchOp operation. */
export interface PatchOperation {
    op: 'add' | 'replace' | 'remove';
    path?: string;
    value?: unknown;
}
export type AppErrorKind =
    | 'unauthorized'
    | 'not_found'
    | 'uniqueness'
    | 'invalid'
    | 'rate_limited'
    | 'unavailable'
    | 'timeout'
    | 'protocol';
/** Every failure of the adapter; `message` never carries the token. */
export class AppDirectoryError extends Error {
    constructor(
        readonly kind: AppErrorKind,
        message: string,
        readonly status?: number,
        readonly scimType?: string
    ) {
        super(message);
        this.name = 'AppDirectoryError';
    }
}
export interface AppDirectoryStats {
    /** HTTP requests sent, retries included, by method. */
    requests: number;
    byMethod: Record<string, number>;
    retries: number;
}
/** One app reached over SCIM 2.0 (RFC 7644). Retries (429 + Retry-After, 5xx, timeouts) happen inside,
 *  within bounds; what comes out is the final answer or an AppDirectoryError. */
export interface AppDirectory {
    /** Reads /ServiceProviderConfig and /ResourceTypes. */
    capabilities(): Promise<AppCapabilities>;
    /** `filter=userName eq "…"` (value escaped); null when none. */
    findUser(userName: string): Promise<AppUser | null>;
    /** POST /Users. A 409 `uniqueness` answer is resolved by findUser and returned with existed: true. */
    createUser(resource: Record<string, unknown>): Promise<{ user: AppUser; existed: boolean }>;
    /** PATCH /Users/{id} with a PatchOp message. */
    patchUser(id: string, operations: PatchOperation[]): Promise<AppUser>;
    /** Every group (paged), display names exactly as the app has them. */
    listGroups(): Promise<AppGroup[]>;
    /** PATCH /Groups/{id} `add members`, as few requests as the app allows (chunks); adding a member
     *  already in the group is not an error. */
    addMembers(groupId: string, userIds: string[]): Promise<void>;
    /** PATCH /Groups/{id} `remove members[value eq "…"]`, chunked; removing a non-member is not an error. */
    removeMembers(groupId: string, userIds: string[]): Promise<void>;
    /** Reads every user page by page (startIndex/count), one page held at a time. */
    listUsers(onPage: (users: AppUser[]) => unknown, pageSize?: number): Promise<void>;
    stats(): AppDirectoryStats;
}
/** Where each connection's base URL and token come from (CONNECTIONS_FILE). */
export interface AppDirectoryFactory {
    /** undefined when the service has no entry for this key ("not configured in the service"). */
    forConnection(key: string): AppDirectory | undefined;
    configuredKeys(): string[];
}
