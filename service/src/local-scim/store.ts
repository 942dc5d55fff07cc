/**
 * The local SCIM app's records: users and groups in memory (insertion order), an index of users by
 * userName (case-insensitive, as userName's caseExact is false) and of group memberships by member,
 * versions for ETags, and the data folder (one JSON file, written whole and atomically).
 */
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { invalidValue, notFound, ScimError } from './errors';
import { RESOURCE_SCHEMAS, type ResourceKind } from './schemas';

export type Resource = Record<string, unknown>;

export const STORE_FILE = 'scim.json';
const FORMAT = 'rollcall-local-scim/1';

interface Member {
    value: string;
    type?: string;
    display?: string;
}

interface StoredFile {
    format: string;
    version: number;
    users: Resource[];
    groups: Resource[];
}

export class ScimStore {
    readonly users = new Map<string, Resource>();
    readonly groups = new Map<string, Resource>();
    private readonly byUserName = new Map<string, string>();
    private readonly memberOf = new Map<string, Set<string>>();
    /** The last version given out: every write takes the next one (meta.version, the ETag). */
    private version = 0;
    /** Writes applied since the start (creates, replaces, patches, deletes). */
    writes = 0;

    constructor(
        private readonly dataDir: string,
        private readonly onChange: () => void = () => undefined
    ) {}

    get file(): string {
        return join(this.dataDir, STORE_FILE);
    }

    /** Loads the data folder; false when it holds no store yet. */
    load(): boolean {
        if (!existsSync(this.file)) return false;
        let data: StoredFile;
        try {
            data = JSON.parse(readFileSync(this.file, 'utf8')) as StoredFile;
        } catch (e) {
            throw new Error(
                `local SCIM app: ${this.file} cannot be read (${e instanceof Error ? e.message : String(e)}); move it away to start empty`
            );
        }
        if (data.format !== FORMAT) throw new Error(`local SCIM app: ${this.file} is not a ${FORMAT} file`);
        this.version = data.version;
        for (const u of data.users) this.indexUser(u);
        for (const g of data.groups) this.indexGroup(g);
        return true;
    }

    /** Writes the whole store to a temporary file, fsyncs it and renames it into place. */
    save(): void {
        const data: StoredFile = {
            format: FORMAT,
            version: this.version,
            users: [...this.users.values()],
            groups: [...this.groups.values()]
        };
        const temp = `${this.file}.${process.pid}.tmp`;
        const fd = openSync(temp, 'w');
        try {
            writeSync(fd, JSON.stringify(data));
            fsyncSync(fd);
        } finally {
            closeSync(fd);
        }
        renameSync(temp, this.file);
    }

    table(kind: ResourceKind): Map<string, Resource> {
        return kind === 'User' ? this.users : this.groups;
    }

    get(kind: ResourceKind, id: string): Resource {
        const r = this.table(kind).get(id);
        if (!r) throw notFound(`${kind} ${id} not found`);
        return r;
    }

    userIdByUserName(userName: string): string | undefined {
        return this.byUserName.get(userName.toLowerCase());
    }

    groupIdsOf(memberId: string): ReadonlySet<string> {
        return this.memberOf.get(memberId) ?? new Set();
    }

    groupByDisplayName(displayName: string): Resource | undefined {
        for (const g of this.groups.values()) if (g.displayName === displayName) return g;
        return undefined;
    }

    /** The ETag of a stored resource (RFC 7644 §3.14: a weak validator). */
    static etag(r: Resource): string {
        return (r.meta as { version: string }).version;
    }

    create(kind: ResourceKind, body: Resource, now: Date): Resource {
        const id = randomUUID();
        const stamp = now.toISOString();
        return this.write(kind, undefined, { ...body, id }, { created: stamp, lastModified: stamp });
    }

    replace(kind: ResourceKind, id: string, body: Resource): Resource {
        const old = this.get(kind, id);
        return this.write(kind, old, { ...body, id }, { created: (old.meta as { created: string }).created });
    }

    delete(kind: ResourceKind, id: string): void {
        const old = this.get(kind, id);
        if (kind === 'User') this.byUserName.delete(String(old.userName).toLowerCase());
        else this.unindexMembers(old);
        this.table(kind).delete(id);
        // The deleted resource leaves every group it was a member of.
        for (const groupId of [...this.groupIdsOf(id)]) {
            const g = this.groups.get(groupId);
            if (!g) continue;
            const members = (g.members as Member[]).filter((m) => m.value !== id);
            this.write('Group', g, { ...g, members }, { created: (g.meta as { created: string }).created });
        }
        this.memberOf.delete(id);
        this.writes++;
        this.onChange();
    }

    /** The one write path: uniqueness, member references, indexes, meta. `next` is already checked against the schema. */
    private write(
        kind: ResourceKind,
        old: Resource | undefined,
        next: Resource,
        meta: { created: string; lastModified?: string }
    ): Resource {
        const id = String(next.id);
        if (kind === 'User') {
            const owner = this.userIdByUserName(String(next.userName));
            if (owner !== undefined && owner !== id)
                throw new ScimError(
                    409,
                    `userName "${String(next.userName)}" is already taken`,
                    'uniqueness'
                );
        } else {
            next.members = this.checkedMembers(next.members, id, membersOf(old));
            if ((next.members as Member[]).length === 0) delete next.members;
        }
        this.version++;
        const schemas = schemasOf(next, kind);
        const stored: Resource = {
            ...next,
            schemas,
            meta: {
                resourceType: kind,
                created: meta.created,
                lastModified: meta.lastModified ?? new Date().toISOString(),
                version: `W/"${this.version}"`
            }
        };
        if (kind === 'User') {
            if (old) this.byUserName.delete(String(old.userName).toLowerCase());
            this.indexUser(stored);
        } else {
            // Only the members that came or went change the index: a PATCH adding 100 members to a group of
            // 10,000 costs 100 index updates, not 20,000.
            const before = membersOf(old);
            const after = membersOf(stored);
            for (const v of before.keys()) if (!after.has(v)) this.memberOf.get(v)?.delete(id);
            this.groups.set(id, stored);
            for (const v of after.keys()) {
                if (before.has(v)) continue;
                let set = this.memberOf.get(v);
                if (!set) this.memberOf.set(v, (set = new Set()));
                set.add(id);
            }
        }
        this.writes++;
        this.onChange();
        return stored;
    }

    /** `known`: the members the group has now (already checked); those passed on unchanged are kept as they are. */
    private checkedMembers(members: unknown, groupId: string, known: ReadonlyMap<string, Member>): Member[] {
        if (members === undefined || members === null) return [];
        if (!Array.isArray(members)) throw invalidValue('members must be an array');
        const seen = new Set<string>();
        const out: Member[] = [];
        for (const m of members) {
            const value = (m as Member | null)?.value;
            if (typeof value !== 'string' || value === '')
                throw invalidValue('every member needs a "value" (a User or Group id)');
            if (seen.has(value)) continue;
            seen.add(value);
            const stored = known.get(value);
            if (stored !== undefined && stored === m) {
                out.push(stored);
                continue;
            }
            const type = stored
                ? stored.type
                : this.users.has(value)
                  ? 'User'
                  : this.groups.has(value) && value !== groupId
                    ? 'Group'
                    : undefined;
            if (!type) throw invalidValue(`member "${value}" is not a User or Group of this app`);
            const display = (m as Member).display;
            out.push({ value, type, ...(typeof display === 'string' ? { display } : {}) });
        }
        return out;
    }

    private indexUser(u: Resource): void {
        this.users.set(String(u.id), u);
        this.byUserName.set(String(u.userName).toLowerCase(), String(u.id));
    }

    private indexGroup(g: Resource): void {
        this.groups.set(String(g.id), g);
        for (const m of (g.members as Member[] | undefined) ?? []) {
            let set = this.memberOf.get(m.value);
            if (!set) this.memberOf.set(m.value, (set = new Set()));
            set.add(String(g.id));
        }
    }

    private unindexMembers(g: Resource): void {
        for (const m of (g.members as Member[] | undefined) ?? [])
            this.memberOf.get(m.value)?.delete(String(g.id));
    }
}

/**
 * RFC 7643 §3: `schemas` names the core schema and the extensions the resource holds. An extension
 * object left empty (its last attribute removed) is dropped with its URN.
 */
function schemasOf(next: Resource, kind: ResourceKind): string[] {
    const rs = RESOURCE_SCHEMAS[kind];
    const out = [rs.schema];
    for (const uri of rs.extensions.keys()) {
        const ext = next[uri];
        if (ext !== null && typeof ext === 'object' && Object.keys(ext).length > 0) out.push(uri);
        else delete next[uri];
    }
    return out;
}

/** A group's members by value. */
function membersOf(group: Resource | undefined): Map<string, Member> {
    return new Map(((group?.members as Member[] | undefined) ?? []).map((m) => [m.value, m]));
}
