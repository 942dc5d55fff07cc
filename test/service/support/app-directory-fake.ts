/**
 * The smallest in-memory AppDirectory (the port of service/src/connections/app-directory.ts) the connection
 * tests need until the real local SCIM app (h19a's startLocalScimApp + createScimDirectory) is merged: the
 * tests get their directory from `appFor()` in one place, so swapping this fake for the real app is one line.
 *
 * It behaves as the contract says the adapter does: a create whose userName exists answers existed: true
 * (the 409 resolved by a search), adding a member already in a group is not an error. `faults.dropNext`
 * applies the next write of a kind and then throws a timeout, as a lost answer looks to the caller.
 */
import {
    AppDirectoryError,
    type AppCapabilities,
    type AppDirectory,
    type AppDirectoryStats,
    type AppErrorKind,
    type AppGroup,
    type AppUser,
    type PatchOperation
} from '../../../service/src/connections/app-directory';
import { parseAttributePath, setAtPath } from '../../../service/src/engine';

type WriteKind = 'createUser' | 'patchUser' | 'addMembers';

export interface FakeFaults {
    /** Apply the next write of this kind, then lose its answer (a timeout). */
    dropNext?: WriteKind;
    /** Every request fails with this kind (an app down, a revoked token). */
    failAll?: AppErrorKind;
    /** Creates wait for this before answering (a test interleaves a shutdown). */
    holdCreates?: Promise<void>;
}

export class FakeAppDirectory implements AppDirectory {
    readonly users = new Map<string, AppUser>();
    readonly groups = new Map<string, { displayName: string; members: Set<string> }>();
    readonly faults: FakeFaults = {};
    readonly writes: Record<WriteKind, number> = { createUser: 0, patchUser: 0, addMembers: 0 };
    private requests = 0;
    private readonly byMethod: Record<string, number> = {};
    private nextId = 1;

    constructor(groupNames: string[] = []) {
        for (const name of groupNames)
            this.groups.set(`g${this.nextId++}`, { displayName: name, members: new Set() });
    }

    private request(method: string): void {
        this.requests++;
        this.byMethod[method] = (this.byMethod[method] ?? 0) + 1;
        if (this.faults.failAll)
            throw new AppDirectoryError(this.faults.failAll, `the app answered ${this.faults.failAll}`, 503);
    }

    private written(kind: WriteKind): void {
        this.writes[kind]++;
        if (this.faults.dropNext === kind) {
            this.faults.dropNext = undefined;
            throw new AppDirectoryError('timeout', `no answer to ${kind} (dropped)`);
        }
    }

    /** An account someone else made in the app (no externalId of ours). */
    seedUser(userName: string, extra: Record<string, unknown> = {}): AppUser {
        const id = `u${this.nextId++}`;
        const user: AppUser = {
            id,
            userName,
            active: true,
            resource: { id, userName, active: true, ...extra }
        };
        this.users.set(id, user);
        return user;
    }

    async capabilities(): Promise<AppCapabilities> {
        this.request('GET');
        return {
            patch: true,
            bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
            filter: { supported: true, maxResults: 200 },
            etag: false,
            sort: false,
            resourceTypes: ['User', 'Group'],
            userSchemaExtensions: ['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User']
        };
    }

    async findUser(userName: string): Promise<AppUser | null> {
        this.request('GET');
        return [...this.users.values()].find((user) => user.userName === userName) ?? null;
    }

    /** Creates waiting on `faults.holdCreates`. */
    heldCreates = 0;

    async createUser(resource: Record<string, unknown>): Promise<{ user: AppUser; existed: boolean }> {
        this.request('POST');
        if (this.faults.holdCreates) {
            this.heldCreates++;
            await this.faults.holdCreates;
        }
        const userName = String(resource.userName);
        const existing = [...this.users.values()].find((user) => user.userName === userName);
        if (existing) return { user: existing, existed: true };
        const id = `u${this.nextId++}`;
        const stored = { ...structuredClone(resource), id };
        const user: AppUser = {
            id,
            userName,
            externalId: typeof resource.externalId === 'string' ? resource.externalId : undefined,
            active: resource.active !== false,
            resource: stored
        };
        this.users.set(id, user);
        this.written('createUser');
        return { user, existed: false };
    }

    async patchUser(id: string, operations: PatchOperation[]): Promise<AppUser> {
        this.request('PATCH');
        const user = this.users.get(id);
        if (!user) throw new AppDirectoryError('not_found', `no user ${id}`, 404);
        for (const operation of operations) {
            const path = parseAttributePath(operation.path ?? '');
            if (!path)
                throw new AppDirectoryError('invalid', `bad path ${operation.path}`, 400, 'invalidPath');
            if (operation.op === 'remove') {
                const container = (path.urn ? user.resource[path.urn] : user.resource) as Record<
                    string,
                    unknown
                >;
                if (path.sub && !path.filter)
                    delete (container[path.attribute] as Record<string, unknown>)[path.sub];
                else if (!path.filter) delete container[path.attribute];
                else setAtPath(user.resource, path, undefined);
            } else setAtPath(user.resource, path, operation.value);
        }
        if (typeof user.resource.userName === 'string') user.userName = user.resource.userName;
        this.written('patchUser');
        return user;
    }

    async listGroups(): Promise<AppGroup[]> {
        this.request('GET');
        return [...this.groups].map(([id, group]) => ({
            id,
            displayName: group.displayName,
            memberIds: [...group.members]
        }));
    }

    async addMembers(groupId: string, userIds: string[]): Promise<void> {
        this.request('PATCH');
        const group = this.groups.get(groupId);
        if (!group) throw new AppDirectoryError('not_found', `no group ${groupId}`, 404);
        for (const id of userIds) group.members.add(id);
        this.written('addMembers');
    }

    async removeMembers(groupId: string, userIds: string[]): Promise<void> {
        this.request('PATCH');
        for (const id of userIds) this.groups.get(groupId)?.members.delete(id);
    }

    async listUsers(onPage: (users: AppUser[]) => unknown, pageSize = 100): Promise<void> {
        const all = [...this.users.values()];
        for (let i = 0; i < all.length || i === 0; i += pageSize) {
            this.request('GET');
            await onPage(all.slice(i, i + pageSize));
            if (all.length === 0) break;
        }
    }

    stats(): AppDirectoryStats {
        return { requests: this.requests, byMethod: { ...this.byMethod }, retries: 0 };
    }

    /** What a test compares: each account (by userName) with its externalId, roles, and groups by name. */
    snapshot(): Array<{ userName: string; externalId?: string; roles: unknown; groups: string[] }> {
        return [...this.users.values()]
            .map((user) => ({
                userName: user.userName,
                externalId: user.externalId,
                roles: user.resource.roles ?? null,
                groups: [...this.groups.values()]
                    .filter((group) => group.members.has(user.id))
                    .map((group) => group.displayName)
                    .sort()
            }))
            .sort((a, b) => a.userName.localeCompare(b.userName));
    }
}
