/**
 * A connection's attribute mapping (`Connection__c.Attribute_Map__c`, DESIGN §10): which SCIM attribute
 * of the app account gets which User field or constant. Pure: the User schema in, a validated mapping or
 * clear errors out, and a user's SCIM resource from a valid mapping. No I/O.
 *
 * Keys are SCIM attribute paths as RFC 7644 §3.10 writes them: `title`, `name.givenName`,
 * `emails[type eq "work"].value`, and paths of a schema extension prefixed with its URN
 * (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`). Values are
 * `{"field": "<User field path>"}`, `{"value": <constant>}`, or `{"role": true}` (the account's role goes
 * there instead of `roles`).
 */
import type { Schema } from './schema';
import type { UserRecord } from './types';

export const MATCH_ON_FIELDS = ['Username', 'Email', 'FederationIdentifier'] as const;
export type MatchOn = (typeof MATCH_ON_FIELDS)[number];

export const CORE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/** A parsed attribute path: `[<urn>:]attribute[\[<filterAttr> eq "<value>"\]][.sub]`. */
export interface AttributePath {
    /** As the admin wrote it (also the PATCH path: RFC 7644 §3.5.2 takes the same grammar). */
    text: string;
    /** The schema extension URN, when the path has one (core attributes have none). */
    urn?: string;
    attribute: string;
    /** A value filter selecting one element of a multi-valued attribute (`type eq "work"`). */
    filter?: { attribute: string; value: string };
    sub?: string;
}

export type AttributeSource = { field: string } | { value: string | number | boolean } | { role: true };

export interface AttributeMapping {
    path: AttributePath;
    source: AttributeSource;
}

export interface ValidMapping {
    mappings: AttributeMapping[];
    /** The User field paths the mapping reads (to select them). */
    fields: string[];
    /** Where the role goes: undefined means SCIM `roles` (`[{value, primary: true}]`). */
    rolePath?: AttributePath;
    /** The User field written as userName (Match_On__c). */
    userNameField: MatchOn;
}

export interface MappingError {
    code:
        | 'INVALID_JSON'
        | 'INVALID_PATH'
        | 'RESERVED_PATH'
        | 'INVALID_SOURCE'
        | 'UNKNOWN_FIELD'
        | 'INVALID_MATCH_ON';
    /** Says what is wrong and what to do. */
    message: string;
    path?: string;
}

export type MappingResult = ({ ok: true } & ValidMapping) | { ok: false; errors: MappingError[] };

/** RFC 7643 §2.1 ATTRNAME: ALPHA *(nameChar), nameChar = "-" / "_" / DIGIT / ALPHA. */
const ATTR = '[A-Za-z][A-Za-z0-9_-]*';
const PATH_PATTERN = new RegExp(
    `^(?:(urn:[A-Za-z0-9:._-]+):)?(${ATTR})(?:\\[(${ATTR})\\s+eq\\s+"((?:[^"\\\\]|\\\\.)*)"\\])?(?:\\.(${ATTR}))?$`
);

/** Attributes Rollcall owns: `userName` comes from Match_On__c, `externalId` is the account key, `id` the app's. */
const RESERVED = new Set(['id', 'externalid', 'username', 'schemas', 'meta']);

export function parseAttributePath(text: string): AttributePath | undefined {
    const match = PATH_PATTERN.exec(text.trim());
    if (!match) return undefined;
    const [, urn, attribute, filterAttribute, filterValue, sub] = match;
    // A URN prefix ends with the resource type (…:User); the attribute follows it.
    if (urn !== undefined && !/:User$/.test(urn)) return undefined;
    const path: AttributePath = { text: text.trim(), attribute };
    if (urn !== undefined && urn !== CORE_USER_SCHEMA) path.urn = urn;
    if (filterAttribute !== undefined) {
        path.filter = { attribute: filterAttribute, value: filterValue.replace(/\\(.)/g, '$1') };
    }
    if (sub !== undefined) path.sub = sub;
    return path;
}

/** The default mapping (an empty Attribute_Map__c): name, work email, active. userName and externalId always. */
export const DEFAULT_ATTRIBUTE_MAP: Record<string, AttributeSource> = {
    'name.givenName': { field: 'FirstName' },
    'name.familyName': { field: 'LastName' },
    'emails[type eq "work"].value': { field: 'Email' },
    active: { value: true }
};

function sourceOf(value: unknown): AttributeSource | string {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        return 'must be an object: {"field": "<User field>"}, {"value": <constant>} or {"role": true}';
    }
    const keys = Object.keys(value);
    const record = value as Record<string, unknown>;
    if (keys.length !== 1) return 'must have exactly one of "field", "value" or "role"';
    if (keys[0] === 'field') {
        return typeof record.field === 'string' && record.field.trim() !== ''
            ? { field: record.field.trim() }
            : '"field" must name a User field, e.g. "Department"';
    }
    if (keys[0] === 'value') {
        const constant = record.value;
        return typeof constant === 'string' || typeof constant === 'number' || typeof constant === 'boolean'
            ? { value: constant }
            : '"value" must be a string, a number or a boolean';
    }
    if (keys[0] === 'role') return record.role === true ? { role: true } : '"role" must be true';
    return `has an unknown key "${keys[0]}": use "field", "value" or "role"`;
}

/**
 * Validates `Attribute_Map__c` (raw text; empty means the default) against the User schema, like a
 * condition's field. Every error names the path and says what to write instead.
 */
export function validateAttributeMap(
    raw: string | null | undefined,
    matchOn: string | null | undefined,
    schema: Schema
): MappingResult {
    const errors: MappingError[] = [];
    const userNameField = (matchOn ?? 'Username') as MatchOn;
    if (!(MATCH_ON_FIELDS as readonly string[]).includes(userNameField)) {
        errors.push({
            code: 'INVALID_MATCH_ON',
            message: `Match On "${String(matchOn)}" is not one of ${MATCH_ON_FIELDS.join(', ')}.`
        });
    }
    let entries: Record<string, unknown> = {};
    const text = (raw ?? '').trim();
    if (text !== '') {
        try {
            const parsed = JSON.parse(text) as unknown;
            if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
                errors.push({
                    code: 'INVALID_JSON',
                    message:
                        'The attribute map must be a JSON object: {"<SCIM path>": {"field": "<User field>"}}.'
                });
            } else {
                entries = parsed as Record<string, unknown>;
            }
        } catch (error) {
            errors.push({
                code: 'INVALID_JSON',
                message: `The attribute map is not valid JSON (${(error as Error).message}).`
            });
        }
    }
    const merged: Record<string, unknown> = { ...DEFAULT_ATTRIBUTE_MAP, ...entries };
    const mappings: AttributeMapping[] = [];
    const fields = new Set<string>();
    const userNameSchemaField = schema.resolve(userNameField);
    if (userNameSchemaField) fields.add(userNameSchemaField.path);
    let rolePath: AttributePath | undefined;
    for (const [key, value] of Object.entries(merged)) {
        const path = parseAttributePath(key);
        if (!path) {
            errors.push({
                code: 'INVALID_PATH',
                path: key,
                message: `"${key}" is not a SCIM attribute path. Write e.g. "title", "name.givenName", 'emails[type eq "work"].value' or "${ENTERPRISE_USER_SCHEMA}:department".`
            });
            continue;
        }
        if (!path.urn && RESERVED.has(path.attribute.toLowerCase())) {
            errors.push({
                code: 'RESERVED_PATH',
                path: key,
                message: `"${key}" is set by Rollcall (userName from Match On, externalId is the account key, id is the app's): remove it from the map.`
            });
            continue;
        }
        const source = sourceOf(value);
        if (typeof source === 'string') {
            errors.push({ code: 'INVALID_SOURCE', path: key, message: `The value of "${key}" ${source}.` });
            continue;
        }
        if ('field' in source) {
            const field = schema.resolve(source.field);
            if (!field || field.derived) {
                errors.push({
                    code: 'UNKNOWN_FIELD',
                    path: key,
                    message: `"${key}" reads the User field "${source.field}", which the org's User describe does not have. Choose a User field (e.g. Department) or a parent field (e.g. Manager.Email).`
                });
                continue;
            }
            fields.add(field.path);
            mappings.push({ path, source: { field: field.path } });
            continue;
        }
        if ('role' in source) rolePath = path;
        mappings.push({ path, source });
    }
    if (errors.length > 0) return { ok: false, errors };
    return { ok: true, mappings, fields: [...fields], rolePath, userNameField };
}

/** A User field's value by canonical path (`Department`, `Manager.Email`); null when empty. */
export function userFieldValue(user: UserRecord, fieldPath: string): string | number | boolean | null {
    const [head, tail] = fieldPath.split('.');
    const raw =
        tail === undefined ? user[head] : (user[head] as Record<string, unknown> | null | undefined)?.[tail];
    if (raw === undefined || raw === null || raw === '') return null;
    if (typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean') return raw;
    return String(raw as string);
}

type Json = Record<string, unknown>;

function containerOf(resource: Json, path: AttributePath, create: boolean): Json | undefined {
    if (!path.urn) return resource;
    const existing = resource[path.urn];
    if (typeof existing === 'object' && existing !== null) return existing as Json;
    if (!create) return undefined;
    const made: Json = {};
    resource[path.urn] = made;
    const schemas = (resource.schemas as string[] | undefined) ?? [CORE_USER_SCHEMA];
    if (!schemas.includes(path.urn)) resource.schemas = [...schemas, path.urn];
    return made;
}

function sameText(a: unknown, b: string): boolean {
    return typeof a === 'string' && a.toLowerCase() === b.toLowerCase();
}

/** Writes one value at a path into a SCIM resource (creating the containers on the way). */
export function setAtPath(resource: Json, path: AttributePath, value: unknown): void {
    const container = containerOf(resource, path, true) as Json;
    if (path.filter) {
        const list = Array.isArray(container[path.attribute]) ? (container[path.attribute] as Json[]) : [];
        container[path.attribute] = list;
        let element = list.find((candidate) =>
            sameText(candidate[path.filter!.attribute], path.filter!.value)
        );
        if (!element) {
            element = { [path.filter.attribute]: path.filter.value };
            // The first element of a multi-valued attribute Rollcall writes is the primary one.
            if (list.length === 0) element.primary = true;
            list.push(element);
        }
        element[path.sub ?? 'value'] = value;
        return;
    }
    if (path.sub) {
        const parent = (container[path.attribute] as Json | undefined) ?? {};
        container[path.attribute] = parent;
        parent[path.sub] = value;
        return;
    }
    container[path.attribute] = value;
}

/** The value at a path in a SCIM resource as the app returned it; undefined when absent. */
export function getAtPath(resource: Json, path: AttributePath): unknown {
    const container = containerOf(resource, path, false);
    if (!container) return undefined;
    const attribute = Object.keys(container).find(
        (key) => key.toLowerCase() === path.attribute.toLowerCase()
    );
    if (attribute === undefined) return undefined;
    const value = container[attribute];
    if (path.filter) {
        if (!Array.isArray(value)) return undefined;
        const element = (value as Json[]).find((candidate) =>
            sameText(candidate[path.filter!.attribute], path.filter!.value)
        );
        return element?.[path.sub ?? 'value'];
    }
    if (path.sub) return (value as Json | undefined)?.[path.sub];
    return value;
}

/** One mapped value of a user: what the app account should hold at that path (null: nothing). */
export interface MappedValue {
    path: AttributePath;
    value: string | number | boolean | null | Array<{ value: string; primary: boolean }>;
}

/** The values the mapping gives a user, role included (SCIM `roles` unless mapped elsewhere). */
export function mappedValues(
    mapping: ValidMapping,
    user: UserRecord,
    role: string | undefined
): MappedValue[] {
    const values: MappedValue[] = [];
    for (const { path, source } of mapping.mappings) {
        if ('field' in source) values.push({ path, value: userFieldValue(user, source.field) });
        else if ('value' in source) values.push({ path, value: source.value });
        else values.push({ path, value: role ?? null });
    }
    if (!mapping.rolePath) {
        values.push({
            path: { text: 'roles', attribute: 'roles' },
            value: role ? [{ value: role, primary: true }] : null
        });
    }
    return values;
}

/** The SCIM resource to create for a user: mapped values, userName (Match On) and externalId (the account key). */
export function buildUserResource(
    mapping: ValidMapping,
    user: UserRecord,
    accountKey: string,
    role: string | undefined
): Json {
    const resource: Json = {
        schemas: [CORE_USER_SCHEMA],
        userName: userFieldValue(user, mapping.userNameField),
        externalId: accountKey
    };
    for (const { path, value } of mappedValues(mapping, user, role)) {
        if (value !== null) setAtPath(resource, path, value);
    }
    return resource;
}
