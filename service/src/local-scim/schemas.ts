/**
 * The schemas the local SCIM app serves (RFC 7643 §4 User and Group, §4.3 the enterprise User
 * extension, §8.7.1 their representation) and the attribute lookups the filters and PATCH use: the
 * attribute's type, whether it is multi-valued and whether string comparisons are case-exact.
 */

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
export const BULK_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';
export const SEARCH_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
export const SERVICE_PROVIDER_CONFIG_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
export const RESOURCE_TYPE_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
export const SCHEMA_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';

export type AttributeType =
    'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'reference' | 'complex';

export interface AttributeDef {
    name: string;
    type: AttributeType;
    multiValued: boolean;
    description: string;
    required: boolean;
    caseExact: boolean;
    mutability: 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
    returned: 'always' | 'never' | 'default' | 'request';
    uniqueness: 'none' | 'server' | 'global';
    referenceTypes?: string[];
    canonicalValues?: string[];
    subAttributes?: AttributeDef[];
}

type AttrOptions = Partial<Omit<AttributeDef, 'name' | 'type'>>;

function attr(name: string, type: AttributeType, o: AttrOptions = {}): AttributeDef {
    return {
        name,
        type,
        multiValued: o.multiValued ?? false,
        description: o.description ?? name,
        required: o.required ?? false,
        caseExact: o.caseExact ?? false,
        mutability: o.mutability ?? 'readWrite',
        returned: o.returned ?? 'default',
        uniqueness: o.uniqueness ?? 'none',
        ...(o.referenceTypes ? { referenceTypes: o.referenceTypes } : {}),
        ...(o.canonicalValues ? { canonicalValues: o.canonicalValues } : {}),
        ...(o.subAttributes ? { subAttributes: o.subAttributes } : {})
    };
}

/** value / display / type / primary: the sub-attributes of most multi-valued attributes (§2.4). */
function multi(name: string, valueType: AttributeType = 'string', types: string[] = []): AttributeDef {
    return attr(name, 'complex', {
        multiValued: true,
        subAttributes: [
            attr('value', valueType),
            attr('display', 'string'),
            attr('type', 'string', types.length ? { canonicalValues: types } : {}),
            attr('primary', 'boolean')
        ]
    });
}

/** id, externalId and meta: on every resource (§3.1). */
export const COMMON_ATTRIBUTES: AttributeDef[] = [
    attr('id', 'string', {
        caseExact: true,
        mutability: 'readOnly',
        returned: 'always',
        uniqueness: 'server'
    }),
    attr('externalId', 'string', { caseExact: true }),
    attr('meta', 'complex', {
        mutability: 'readOnly',
        subAttributes: [
            attr('resourceType', 'string', { caseExact: true, mutability: 'readOnly' }),
            attr('created', 'dateTime', { mutability: 'readOnly' }),
            attr('lastModified', 'dateTime', { mutability: 'readOnly' }),
            attr('location', 'reference', {
                caseExact: true,
                mutability: 'readOnly',
                referenceTypes: ['uri']
            }),
            attr('version', 'string', { caseExact: true, mutability: 'readOnly' })
        ]
    })
];

export const USER_ATTRIBUTES: AttributeDef[] = [
    attr('userName', 'string', { required: true, uniqueness: 'server' }),
    attr('name', 'complex', {
        subAttributes: [
            'formatted',
            'familyName',
            'givenName',
            'middleName',
            'honorificPrefix',
            'honorificSuffix'
        ].map((n) => attr(n, 'string'))
    }),
    attr('displayName', 'string'),
    attr('nickName', 'string'),
    attr('profileUrl', 'reference', { referenceTypes: ['external'] }),
    attr('title', 'string'),
    attr('userType', 'string'),
    attr('preferredLanguage', 'string'),
    attr('locale', 'string'),
    attr('timezone', 'string'),
    attr('active', 'boolean'),
    attr('password', 'string', { mutability: 'writeOnly', returned: 'never' }),
    multi('emails', 'string', ['work', 'home', 'other']),
    multi('phoneNumbers', 'string', ['work', 'home', 'mobile', 'fax', 'pager', 'other']),
    multi('ims', 'string'),
    multi('photos', 'reference'),
    attr('addresses', 'complex', {
        multiValued: true,
        subAttributes: [
            ...['formatted', 'streetAddress', 'locality', 'region', 'postalCode', 'country'].map((n) =>
                attr(n, 'string')
            ),
            attr('type', 'string', { canonicalValues: ['work', 'home', 'other'] }),
            attr('primary', 'boolean')
        ]
    }),
    attr('groups', 'complex', {
        multiValued: true,
        mutability: 'readOnly',
        subAttributes: [
            attr('value', 'string', { mutability: 'readOnly' }),
            attr('$ref', 'reference', { mutability: 'readOnly', referenceTypes: ['User', 'Group'] }),
            attr('display', 'string', { mutability: 'readOnly' }),
            attr('type', 'string', { mutability: 'readOnly', canonicalValues: ['direct', 'indirect'] })
        ]
    }),
    multi('entitlements'),
    multi('roles'),
    multi('x509Certificates')
];

export const ENTERPRISE_USER_ATTRIBUTES: AttributeDef[] = [
    attr('employeeNumber', 'string'),
    attr('costCenter', 'string'),
    attr('organization', 'string'),
    attr('division', 'string'),
    attr('department', 'string'),
    attr('manager', 'complex', {
        subAttributes: [
            attr('value', 'string'),
            attr('$ref', 'reference', { referenceTypes: ['User'] }),
            attr('displayName', 'string', { mutability: 'readOnly' })
        ]
    })
];

export const GROUP_ATTRIBUTES: AttributeDef[] = [
    // RFC 7643 §8.7.1: displayName is REQUIRED in §4.2's prose, caseExact false, uniqueness none.
    attr('displayName', 'string', { required: true }),
    attr('members', 'complex', {
        multiValued: true,
        subAttributes: [
            attr('value', 'string', { mutability: 'immutable' }),
            attr('$ref', 'reference', { mutability: 'immutable', referenceTypes: ['User', 'Group'] }),
            attr('display', 'string', { mutability: 'immutable' }),
            attr('type', 'string', { mutability: 'immutable', canonicalValues: ['User', 'Group'] })
        ]
    })
];

export type ResourceKind = 'User' | 'Group';

export interface ResourceSchema {
    kind: ResourceKind;
    schema: string;
    endpoint: string;
    attributes: AttributeDef[];
    /** Extension schema URI → its attributes. */
    extensions: Map<string, AttributeDef[]>;
}

export const RESOURCE_SCHEMAS: Record<ResourceKind, ResourceSchema> = {
    User: {
        kind: 'User',
        schema: USER_SCHEMA,
        endpoint: '/Users',
        attributes: [...COMMON_ATTRIBUTES, ...USER_ATTRIBUTES],
        extensions: new Map([[ENTERPRISE_USER_SCHEMA, ENTERPRISE_USER_ATTRIBUTES]])
    },
    Group: {
        kind: 'Group',
        schema: GROUP_SCHEMA,
        endpoint: '/Groups',
        attributes: [...COMMON_ATTRIBUTES, ...GROUP_ATTRIBUTES],
        extensions: new Map()
    }
};

/** Attribute names are case-insensitive (RFC 7643 §2.1). */
export function findDef(defs: readonly AttributeDef[] | undefined, name: string): AttributeDef | undefined {
    const lower = name.toLowerCase();
    return defs?.find((d) => d.name.toLowerCase() === lower);
}

/** The key an object holds `name` under, whatever its case (attribute names are case-insensitive). */
export function keyOf(obj: Record<string, unknown>, name: string): string | undefined {
    if (name in obj) return name;
    const lower = name.toLowerCase();
    return Object.keys(obj).find((k) => k.toLowerCase() === lower);
}

export function getAttr(obj: unknown, name: string): unknown {
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
    const key = keyOf(obj as Record<string, unknown>, name);
    return key === undefined ? undefined : (obj as Record<string, unknown>)[key];
}

/**
 * A parsed attribute path (RFC 7644 §3.10): an optional schema URI, an attribute and an optional
 * sub-attribute. `urn:…:enterprise:2.0:User:department` → {schema: enterprise, attribute: department}.
 */
export interface AttrPath {
    /** The extension URI the attribute lives under (undefined: a core attribute). */
    extension?: string;
    attribute: string;
    subAttribute?: string;
}

export class PathError extends Error {}

export function parseAttrPath(text: string, rs: ResourceSchema): AttrPath {
    let rest = text;
    let extension: string | undefined;
    if (/^urn:/i.test(text)) {
        const lower = text.toLowerCase();
        const uris = [rs.schema, ...rs.extensions.keys()];
        const uri = uris.find((u) => lower.startsWith(`${u.toLowerCase()}:`));
        if (!uri) throw new PathError(`unknown schema in "${text}"`);
        rest = text.slice(uri.length + 1);
        if (uri !== rs.schema) extension = uri;
    }
    const parts = rest.split('.');
    if (parts.length > 2 || parts.some((p) => !/^[A-Za-z$][\w$-]*$/.test(p)))
        throw new PathError(`"${text}" is not an attribute path`);
    return { extension, attribute: parts[0], subAttribute: parts[1] };
}

/** The definitions of the path's attribute and sub-attribute (undefined when the schema has none). */
export function defsOf(path: AttrPath, rs: ResourceSchema): { def?: AttributeDef; sub?: AttributeDef } {
    const defs = path.extension ? rs.extensions.get(path.extension) : rs.attributes;
    const def = findDef(defs, path.attribute);
    const sub = path.subAttribute ? findDef(def?.subAttributes, path.subAttribute) : undefined;
    return { def, sub };
}

/** The object a path's attribute lives in: the resource, or its extension object. */
export function containerOf(
    resource: Record<string, unknown>,
    path: AttrPath,
    create: boolean
): Record<string, unknown> | undefined {
    if (!path.extension) return resource;
    const key = keyOf(resource, path.extension) ?? path.extension;
    let ext = resource[key];
    if (ext === undefined && create) {
        ext = {};
        resource[key] = ext;
    }
    return ext !== null && typeof ext === 'object' && !Array.isArray(ext)
        ? (ext as Record<string, unknown>)
        : undefined;
}

function schemaRepresentation(
    id: string,
    name: string,
    description: string,
    attributes: AttributeDef[],
    base: string
) {
    return {
        schemas: [SCHEMA_SCHEMA],
        id,
        name,
        description,
        attributes,
        meta: { resourceType: 'Schema', location: `${base}/Schemas/${id}` }
    };
}

/** /Schemas (RFC 7643 §7): the core attributes without the common ones, as §8.7.1 shows them. */
export function schemaResources(base: string): Array<Record<string, unknown>> {
    return [
        schemaRepresentation(USER_SCHEMA, 'User', 'User Account', USER_ATTRIBUTES, base),
        schemaRepresentation(GROUP_SCHEMA, 'Group', 'Group', GROUP_ATTRIBUTES, base),
        schemaRepresentation(
            ENTERPRISE_USER_SCHEMA,
            'EnterpriseUser',
            'Enterprise User',
            ENTERPRISE_USER_ATTRIBUTES,
            base
        )
    ];
}

export function resourceTypeResources(base: string): Array<Record<string, unknown>> {
    return [
        {
            schemas: [RESOURCE_TYPE_SCHEMA],
            id: 'User',
            name: 'User',
            endpoint: '/Users',
            description: 'User Account',
            schema: USER_SCHEMA,
            schemaExtensions: [{ schema: ENTERPRISE_USER_SCHEMA, required: false }],
            meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/User` }
        },
        {
            schemas: [RESOURCE_TYPE_SCHEMA],
            id: 'Group',
            name: 'Group',
            endpoint: '/Groups',
            description: 'Group',
            schema: GROUP_SCHEMA,
            meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/Group` }
        }
    ];
}
