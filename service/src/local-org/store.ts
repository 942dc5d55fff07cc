/**
 * The org's records, their validation on write (from the schema), transactions for allOrNone, and
 * what persistence needs: the records changed since the last flush and the records to store
 * (persistence.ts writes them: a snapshot plus an append-only log).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Change } from './persistence';
import type { FieldDef, ObjectDef, Schema } from './schema';
import { isStringType } from './schema';
import { makeId, to18 } from './ids';
import { formatDateTime, isDate, normalizeDateTime } from './time';
import { RecordFailure, SalesforceError, recordError, type RecordError } from './errors';

export type Row = Record<string, unknown>;

export class Table {
    readonly rows = new Map<string, Row>();
    /** Unique / external id fields: key → id of the live record holding it. */
    readonly uniques = new Map<string, Map<string, string>>();
    /** Bumped on every change: cached sort orders of this table are only valid for one version. */
    version = 0;
    readonly sortCache = new Map<
        string,
        { version: number; rows: Row[]; sorted: Row[]; ranks: Int32Array }
    >();

    constructor(readonly def: ObjectDef) {
        for (const f of def.fields) {
            const unique =
                f.unique ||
                (def.customSetting && f.name === 'SetupOwnerId') ||
                (def.name === 'User' && f.name === 'Username');
            if (unique) this.uniques.set(f.name, new Map());
        }
    }

    uniqueKey(field: FieldDef | string, value: unknown): string {
        const f = typeof field === 'string' ? this.def.byLower.get(field.toLowerCase()) : field;
        const s = String(value);
        return f?.caseSensitive || f?.type === 'reference' ? s : s.toLowerCase();
    }

    /** Replace one record (undefined = absent), keeping the unique indexes right. */
    replace(id: string, before: Row | undefined, after: Row | undefined): void {
        this.version++;
        for (const [field, index] of this.uniques) {
            if (before && !before.IsDeleted && before[field] != null)
                index.delete(this.uniqueKey(field, before[field]));
            if (after && !after.IsDeleted && after[field] != null)
                index.set(this.uniqueKey(field, after[field]), id);
        }
        if (after) this.rows.set(id, after);
        else this.rows.delete(id);
    }
}

export interface WriteContext {
    userId: string;
    now: number;
}

interface Undo {
    table: Table;
    id: string;
    before: Row | undefined;
    after: Row | undefined;
}

export interface PersistedState {
    format: 1;
    seed: number;
    users: number;
    seededAt: number;
    counters: Record<string, number>;
    tables: Record<string, Row[]>;
}

/** A fault switch (LocalOrgFaults.refuseQueriesContaining): a query holding `text` is refused with this error. */
export interface QueryRefusal {
    text: string;
    errorCode: string;
    message: string;
}

export class Store {
    readonly tables = new Map<string, Table>();
    /** Queries refused as a real org refuses a query it will not run (fault switch; see QueryRefusal). */
    queryRefusals: QueryRefusal[] = [];
    counters: Record<string, number> = {};
    /** Ids of the users the demo generator makes (not persisted unless changed). */
    readonly generatedUsers = new Set<string>();
    readonly changedUsers = new Set<string>();
    /** Records written since the last flush (their value is read at the flush: a roll-back is seen). */
    private readonly dirty = new Map<Table, Set<string>>();
    private undoLog: Undo[] | undefined;
    private lastStamp = 0;

    constructor(readonly schema: Schema) {
        for (const def of schema.objects.values()) this.tables.set(def.name, new Table(def));
    }

    table(name: string): Table {
        const t = this.tables.get(name);
        if (!t) throw new Error(`no table ${name}`);
        return t;
    }

    nextId(def: ObjectDef): string {
        const n = (this.counters[def.keyPrefix] ?? 0) + 1;
        this.counters[def.keyPrefix] = n;
        return makeId(def.keyPrefix, n);
    }

    /** A timestamp that never repeats, so CreatedDate orders records like the platform does. */
    stamp(now: number): string {
        this.lastStamp = Math.max(now, this.lastStamp + 1);
        return formatDateTime(this.lastStamp);
    }

    /** Find any live or deleted record by id, across objects (by key prefix). */
    find(id: string): { table: Table; row: Row } | undefined {
        const full = to18(id);
        if (!full) return undefined;
        const def = this.schema.byPrefix.get(full.slice(0, 3));
        if (!def) return undefined;
        const table = this.table(def.name);
        const row = table.rows.get(full);
        return row ? { table, row } : undefined;
    }

    private put(table: Table, id: string, after: Row | undefined): void {
        const before = table.rows.get(id);
        this.undoLog?.push({ table, id, before, after });
        table.replace(id, before, after);
        if (table.def.name === 'User' && this.generatedUsers.has(id)) this.changedUsers.add(id);
        let ids = this.dirty.get(table);
        if (!ids) this.dirty.set(table, (ids = new Set()));
        ids.add(id);
    }

    /** Run fn; if it throws, undo every write it made and rethrow. */
    atomic<T>(fn: () => T): T {
        const outer = this.undoLog;
        const log: Undo[] = [];
        this.undoLog = log;
        try {
            const result = fn();
            this.undoLog = outer;
            outer?.push(...log);
            return result;
        } catch (e) {
            this.undoLog = outer;
            for (const u of log.reverse()) u.table.replace(u.id, u.after, u.before);
            throw e;
        }
    }

    // ---- validation -------------------------------------------------------------------------

    private coerce(def: ObjectDef, field: FieldDef, value: unknown, errors: RecordError[]): unknown {
        if (value === null || value === undefined || value === '') {
            if (field.type === 'boolean') {
                if (value === '' || value === null) return false;
            }
            return null;
        }
        const label = field.label;
        const parserError = (): never => {
            throw new SalesforceError(
                400,
                'JSON_PARSER_ERROR',
                `Cannot deserialize instance of ${field.type} from ${typeof value === 'string' ? 'VALUE_STRING' : 'VALUE_' + typeof value} value ${String(value)} or request may be missing a required field`
            );
        };
        if (isStringType(field.type)) {
            if (typeof value === 'object') parserError();
            let s = String(value);
            if (field.type === 'multipicklist') {
                const parts = [
                    ...new Set(
                        s
                            .split(';')
                            .map((p) => p.trim())
                            .filter((p) => p !== '')
                    )
                ];
                const bad = parts.filter((p) => !field.picklist.includes(p));
                if (field.restrictedPicklist && bad.length > 0) {
                    errors.push({
                        statusCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
                        message: `${label}: bad value for restricted picklist field: ${bad[0]}`,
                        fields: [field.name]
                    });
                    return null;
                }
                const order = (p: string): number => {
                    const i = field.picklist.indexOf(p);
                    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
                };
                s = parts.sort((a, b) => order(a) - order(b)).join(';');
                return s === '' ? null : s;
            }
            if (field.type === 'picklist' && field.restrictedPicklist && !field.picklist.includes(s)) {
                errors.push({
                    statusCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
                    message: `${label}: bad value for restricted picklist field: ${s}`,
                    fields: [field.name]
                });
                return null;
            }
            if (field.type === 'email' && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(s)) {
                errors.push({
                    statusCode: 'INVALID_EMAIL_ADDRESS',
                    message: `${label}: invalid email address: ${s}`,
                    fields: [field.name]
                });
                return null;
            }
            if (field.length > 0 && s.length > field.length) {
                errors.push({
                    statusCode: 'STRING_TOO_LONG',
                    message: `${label}: data value too large: ${s.length > 100 ? s.slice(0, 100) + '...' : s} (max length=${field.length})`,
                    fields: [field.name]
                });
                return null;
            }
            return s;
        }
        switch (field.type) {
            case 'boolean':
                if (typeof value === 'boolean') return value;
                if (value === 'true' || value === 'false') return value === 'true';
                return parserError();
            case 'double':
            case 'currency':
            case 'percent':
            case 'int': {
                const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
                if (!Number.isFinite(n)) return parserError();
                const scale = field.type === 'int' ? 0 : field.decimals;
                const rounded = scale === undefined ? n : Number(n.toFixed(scale));
                const maxIntDigits = field.precision > 0 ? field.precision - (scale ?? 0) : 18;
                if (Math.abs(Math.trunc(rounded)).toString().length > maxIntDigits) {
                    errors.push({
                        statusCode: 'NUMBER_OUTSIDE_VALID_RANGE',
                        message: `${label}: value outside of valid range on numeric field: ${n}`,
                        fields: [field.name]
                    });
                    return null;
                }
                return rounded;
            }
            case 'date': {
                if (typeof value !== 'string') return parserError();
                const d = value.slice(0, 10);
                return isDate(d) ? d : parserError();
            }
            case 'datetime': {
                if (typeof value !== 'string') return parserError();
                return normalizeDateTime(value) ?? parserError();
            }
            case 'reference':
            case 'id': {
                if (typeof value !== 'string') return parserError();
                const id = to18(value);
                if (!id) {
                    errors.push({
                        statusCode: 'MALFORMED_ID',
                        message: `${label}: id value of incorrect type: ${value}`,
                        fields: [field.name]
                    });
                    return null;
                }
                const target = this.schema.byPrefix.get(id.slice(0, 3));
                if (!target || !field.referenceTo.includes(target.name)) {
                    errors.push({
                        statusCode: 'FIELD_INTEGRITY_EXCEPTION',
                        message: `${label}: id value of incorrect type: ${value}`,
                        fields: [field.name]
                    });
                    return null;
                }
                const found = this.table(target.name).rows.get(id);
                if (!found) {
                    errors.push({
                        statusCode: 'INVALID_CROSS_REFERENCE_KEY',
                        message: 'invalid cross reference id',
                        fields: []
                    });
                    return null;
                }
                if (found.IsDeleted) {
                    errors.push({
                        statusCode: 'ENTITY_IS_DELETED',
                        message: 'entity is deleted',
                        fields: []
                    });
                    return null;
                }
                return id;
            }
            default:
                return value;
        }
    }

    /** Unknown fields fail the whole request, as the platform's JSON deserializer does. */
    checkFieldNames(def: ObjectDef, input: Row): void {
        for (const key of Object.keys(input)) {
            if (key === 'attributes') continue;
            if (!def.byLower.has(key.toLowerCase())) {
                throw new SalesforceError(
                    400,
                    'INVALID_FIELD',
                    `No such column '${key}' on sobject of type ${def.name}`
                );
            }
        }
    }

    private applyInput(def: ObjectDef, input: Row, mode: 'insert' | 'update', base: Row): RecordError[] {
        const errors: RecordError[] = [];
        const notWritable: string[] = [];
        for (const [key, value] of Object.entries(input)) {
            if (key === 'attributes') continue;
            const field = def.byLower.get(key.toLowerCase());
            if (!field)
                throw new SalesforceError(
                    400,
                    'INVALID_FIELD',
                    `No such column '${key}' on sobject of type ${def.name}`
                );
            if (field.name === 'Id') continue;
            if (mode === 'insert' ? !field.createable : !field.updateable) {
                notWritable.push(field.name);
                continue;
            }
            const coerced = this.coerce(def, field, value, errors);
            if (coerced === null && !field.nillable && mode === 'update' && field.type !== 'boolean') {
                errors.push({
                    statusCode: 'REQUIRED_FIELD_MISSING',
                    message: `Required fields are missing: [${field.name}]`,
                    fields: [field.name]
                });
                continue;
            }
            base[field.name] = coerced;
        }
        if (notWritable.length > 0) {
            errors.unshift({
                statusCode: 'INVALID_FIELD_FOR_INSERT_UPDATE',
                message: `Unable to create/update fields: ${notWritable.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
                fields: notWritable
            });
        }
        return errors;
    }

    /** User fields the platform computes: Name from the names, UserType from the profile, a nickname. */
    private deriveUserFields(row: Row): void {
        row.Name =
            [row.FirstName, row.LastName].filter((v) => typeof v === 'string' && v !== '').join(' ') || null;
        const profile =
            typeof row.ProfileId === 'string' ? this.table('Profile').rows.get(row.ProfileId) : undefined;
        row.UserType = profile?.UserType ?? 'Standard';
        if (
            (row.CommunityNickname === undefined || row.CommunityNickname === null) &&
            typeof row.Username === 'string'
        ) {
            row.CommunityNickname = row.Username.split('@')[0].slice(0, 40);
        }
    }

    private checkUnique(table: Table, id: string, row: Row): RecordError[] {
        const errors: RecordError[] = [];
        for (const [field, index] of table.uniques) {
            const v = row[field];
            if (v == null) continue;
            const holder = index.get(table.uniqueKey(field, v));
            if (holder && holder !== id && table.def.name === 'User') {
                errors.push({
                    statusCode: 'DUPLICATE_USERNAME',
                    message:
                        'Duplicate Username.<br>Another user has already selected this username.<br>Please select another.',
                    fields: ['Username']
                });
            } else if (holder && holder !== id) {
                errors.push({
                    statusCode: 'DUPLICATE_VALUE',
                    message: `duplicate value found: ${field} duplicates value on record with id: ${holder}`,
                    fields: []
                });
            }
        }
        return errors;
    }

    insert(def: ObjectDef, input: Row, ctx: WriteContext, orgId: string): Row {
        if (!def.createable) {
            throw new SalesforceError(400, 'INVALID_TYPE', `entity type cannot be inserted: ${def.name}`);
        }
        if (input.Id !== undefined && input.Id !== null) {
            throw recordError('INVALID_FIELD_FOR_INSERT_UPDATE', 'cannot specify Id in an insert call', [
                'Id'
            ]);
        }
        const table = this.table(def.name);
        const row: Row = {};
        for (const f of def.fields) {
            if (f.type === 'boolean') row[f.name] = f.defaultValue === true;
            const formula = f.describe.defaultValueFormula;
            if (typeof formula === 'string' && /^-?\d+(\.\d+)?$/.test(formula)) row[f.name] = Number(formula);
            if (typeof f.defaultValue === 'string') row[f.name] = f.defaultValue;
        }
        if (def.name === 'User') row.IsActive = true;
        const errors = this.applyInput(def, input, 'insert', row);
        const id = this.nextId(def);
        const stamp = this.stamp(ctx.now);
        row.Id = id;
        if (def.byLower.has('isdeleted')) row.IsDeleted = false;
        if (def.byLower.has('ownerid') && row.OwnerId == null) row.OwnerId = ctx.userId;
        if (def.customSetting && row.SetupOwnerId == null) row.SetupOwnerId = orgId;
        if (def.byLower.has('createddate')) {
            row.CreatedDate = stamp;
            row.CreatedById = ctx.userId;
        }
        if (def.byLower.has('lastmodifieddate')) {
            row.LastModifiedDate = stamp;
            row.LastModifiedById = ctx.userId;
        }
        row.SystemModstamp = stamp;
        if (def.custom && def.nameFormat) {
            const key = `name:${def.name}`;
            const n = this.counters[key] ?? def.nameFormat.start;
            this.counters[key] = n + 1;
            row.Name = `${def.nameFormat.prefix}${String(n).padStart(def.nameFormat.digits, '0')}${def.nameFormat.suffix}`;
        } else if (def.custom && (row.Name === undefined || row.Name === null)) {
            row.Name = id;
        }
        if (def.name === 'User') this.deriveUserFields(row);
        const missing = def.fields.filter(
            (f) => f.required && (row[f.name] === undefined || row[f.name] === null)
        );
        if (missing.length > 0 && errors.every((e) => e.statusCode !== 'REQUIRED_FIELD_MISSING')) {
            errors.push({
                statusCode: 'REQUIRED_FIELD_MISSING',
                message: `Required fields are missing: [${missing.map((f) => f.name).join(', ')}]`,
                fields: missing.map((f) => f.name)
            });
        }
        errors.push(...this.checkUnique(table, id, row));
        if (errors.length > 0) throw new RecordFailure(errors);
        this.put(table, id, row);
        return row;
    }

    update(def: ObjectDef, rawId: string, input: Row, ctx: WriteContext): Row {
        if (!def.updateable) {
            throw new SalesforceError(400, 'INVALID_TYPE', `entity type cannot be updated: ${def.name}`);
        }
        const table = this.table(def.name);
        const id = to18(rawId);
        const before = id ? table.rows.get(id) : undefined;
        if (!id || !before) {
            throw recordError('INVALID_CROSS_REFERENCE_KEY', `invalid cross reference id`);
        }
        if (before.IsDeleted) throw recordError('ENTITY_IS_DELETED', 'entity is deleted');
        const row: Row = { ...before };
        const errors = this.applyInput(def, input, 'update', row);
        if (def.name === 'User') this.deriveUserFields(row);
        errors.push(...this.checkUnique(table, id, row));
        if (errors.length > 0) throw new RecordFailure(errors);
        const stamp = this.stamp(ctx.now);
        if (def.byLower.has('lastmodifieddate')) {
            row.LastModifiedDate = stamp;
            row.LastModifiedById = ctx.userId;
        }
        row.SystemModstamp = stamp;
        this.put(table, id, row);
        return row;
    }

    findByExternalId(def: ObjectDef, fieldName: string, value: string): Row[] {
        const table = this.table(def.name);
        const field = def.byLower.get(fieldName.toLowerCase());
        if (!field) return [];
        if (field.name === 'Id') {
            const row = table.rows.get(to18(value) ?? '');
            return row && !row.IsDeleted ? [row] : [];
        }
        const index = table.uniques.get(field.name);
        if (index) {
            const id = index.get(table.uniqueKey(field, value));
            const row = id ? table.rows.get(id) : undefined;
            return row ? [row] : [];
        }
        const out: Row[] = [];
        const lower = value.toLowerCase();
        for (const row of table.rows.values()) {
            if (!row.IsDeleted && row[field.name] != null && String(row[field.name]).toLowerCase() === lower)
                out.push(row);
        }
        return out;
    }

    /** Delete a record: to the recycle bin (IsDeleted), cascading to master-detail children, clearing lookups. */
    delete(def: ObjectDef, rawId: string, ctx: WriteContext): void {
        if (!def.deletable) {
            throw new SalesforceError(
                405,
                'METHOD_NOT_ALLOWED',
                `HTTP Method 'DELETE' not allowed. Allowed are GET,HEAD,PATCH`
            );
        }
        const table = this.table(def.name);
        const id = to18(rawId);
        const before = id ? table.rows.get(id) : undefined;
        if (!id || !before) throw recordError('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id');
        if (before.IsDeleted) throw recordError('ENTITY_IS_DELETED', 'entity is deleted');
        const stamp = this.stamp(ctx.now);
        if (table.def.byLower.has('isdeleted')) {
            this.put(table, id, { ...before, IsDeleted: true, SystemModstamp: stamp });
        } else {
            this.put(table, id, undefined);
        }
        for (const child of def.children) {
            const childTable = this.tables.get(child.childSObject);
            if (!childTable) continue;
            for (const row of [...childTable.rows.values()]) {
                if (row.IsDeleted || row[child.field] !== id) continue;
                if (child.cascadeDelete) this.delete(childTable.def, String(row.Id), ctx);
                else if (childTable.def.byLower.get(child.field.toLowerCase())?.nillable) {
                    this.put(childTable, String(row.Id), {
                        ...row,
                        [child.field]: null,
                        SystemModstamp: stamp
                    });
                }
            }
        }
    }

    // ---- persistence ------------------------------------------------------------------------

    /** True when records were written since the last flush. */
    hasChanges(): boolean {
        return this.dirty.size > 0;
    }

    /** The current value of every record written since the last call (null: gone), and forgets them. */
    takeChanges(): Change[] {
        const changes: Change[] = [];
        for (const [table, ids] of this.dirty) {
            for (const id of ids) changes.push([table.def.name, id, table.rows.get(id) ?? null]);
        }
        this.dirty.clear();
        return changes;
    }

    /**
     * Every record storage keeps: all of them except the generated demo users nobody changed (they are
     * generated again from the seed at every start).
     */
    *storedRows(): Generator<[string, Row]> {
        for (const [name, table] of this.tables) {
            for (const [id, row] of table.rows) {
                if (name === 'User' && this.generatedUsers.has(id) && !this.changedUsers.has(id)) continue;
                yield [name, row];
            }
        }
    }

    /** Before loading stored records: everything but the generated users comes from storage. */
    clearForLoad(): void {
        for (const [name, table] of this.tables) {
            if (name !== 'User')
                for (const id of [...table.rows.keys()]) table.replace(id, table.rows.get(id), undefined);
        }
    }

    /** One stored record (null: gone), over a generated user or in place of nothing. */
    loadStored(object: string, id: string, row: Row | null): void {
        const table = this.tables.get(object);
        if (!table) return;
        table.replace(id, table.rows.get(id), row ?? undefined);
        if (object === 'User' && this.generatedUsers.has(id)) this.changedUsers.add(id);
    }

    /** Put persisted rows (format 1, `org.json`) over the generated ones (users) or instead of them. */
    restore(state: PersistedState): void {
        this.counters = { ...state.counters };
        this.clearForLoad();
        for (const [name, rows] of Object.entries(state.tables)) {
            for (const row of rows) this.loadStored(name, String(row.Id), row);
        }
    }
}

/** The data file of format 1 (the whole state in one JSON file); read once to move to the log format. */
export const LEGACY_STATE_FILE = 'org.json';

export function readLegacyState(dataDir: string): PersistedState | undefined {
    const file = join(dataDir, LEGACY_STATE_FILE);
    if (!existsSync(file)) return undefined;
    const state = JSON.parse(readFileSync(file, 'utf8')) as PersistedState;
    if (state.format !== 1) throw new Error(`${file}: unknown state format`);
    return state;
}
