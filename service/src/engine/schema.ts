/**
 * The fields a condition may name, resolved only from describes: User fields, one-level parent
 * fields (`Profile.Name`, `UserRole.Name`, `Manager.<User field>`) and the derived `IsManager`.
 * Nothing a user types ever reaches a query except through a field found here.
 */
import { isFieldType, OPERATOR_TABLE, type FieldType, type Operator } from './operators';
import type { FieldDescribe, SObjectDescribe } from './types';

/** The parent relationships of User that conditions may traverse, and the object each points to. */
export const PARENT_RELATIONSHIPS = { Profile: 'Profile', UserRole: 'UserRole', Manager: 'User' } as const;
export type ParentRelationship = keyof typeof PARENT_RELATIONSHIPS;

export const IS_MANAGER = 'IsManager';

export interface SchemaField {
    /** Canonical path as used in definitions and SOQL: `Department`, `UserRole.Name`, `IsManager`. */
    path: string;
    label: string;
    type: FieldType;
    filterable: boolean;
    /** Set for parent fields: the relationship traversed and the field's name on the parent. */
    relationship?: ParentRelationship;
    name: string;
    /** True for `IsManager`, which no SOQL field holds. */
    derived: boolean;
    picklistValues?: string[];
    restricted?: boolean;
    /** A formula field (describe `calculated`): its value can change while its record does not. */
    calculated?: boolean;
}

export interface Schema {
    readonly fields: ReadonlyMap<string, SchemaField>;
    /** Case-insensitive, as SOQL field names are. */
    resolve(path: string): SchemaField | undefined;
}

export interface BuilderField {
    path: string;
    label: string;
    type: FieldType;
    operators: Operator[];
    picklistValues?: string[];
    restricted?: boolean;
}

function field(name: string, label: string, type: string, extra: Partial<FieldDescribe> = {}): FieldDescribe {
    return { name, label, type, filterable: true, ...extra };
}

/** Used when the service does not pass the Profile describe: the documented standard fields. */
export const BUILT_IN_PROFILE_DESCRIBE: SObjectDescribe = {
    name: 'Profile',
    label: 'Profile',
    fields: [
        field('Id', 'Profile ID', 'id'),
        field('Name', 'Name', 'string'),
        field('UserType', 'User Type', 'picklist', {
            restrictedPicklist: true,
            picklistValues: [
                'Standard',
                'PowerPartner',
                'PowerCustomerSuccess',
                'CustomerSuccess',
                'Guest',
                'CspLitePortal',
                'CsnOnly',
                'SelfService'
            ].map((value) => ({ active: true, value, label: value }))
        }),
        field('UserLicenseId', 'User License ID', 'reference'),
        field('Description', 'Description', 'string'),
        field('CreatedDate', 'Created Date', 'datetime'),
        field('LastModifiedDate', 'Last Modified Date', 'datetime')
    ]
};

/** Used when the service does not pass the UserRole describe: the documented standard fields. */
export const BUILT_IN_USER_ROLE_DESCRIBE: SObjectDescribe = {
    name: 'UserRole',
    label: 'Role',
    fields: [
        field('Id', 'Role ID', 'id'),
        field('Name', 'Name', 'string'),
        field('DeveloperName', 'Developer Name', 'string'),
        field('ParentRoleId', 'Parent Role ID', 'reference'),
        field('RollupDescription', 'Description', 'string'),
        field('PortalType', 'Portal Type', 'picklist'),
        field('LastModifiedDate', 'Last Modified Date', 'datetime')
    ]
};

function toSchemaField(
    describe: FieldDescribe,
    relationship?: ParentRelationship,
    labelPrefix = ''
): SchemaField | null {
    if (!isFieldType(describe.type)) return null;
    const path = relationship ? `${relationship}.${describe.name}` : describe.name;
    const result: SchemaField = {
        path,
        label: labelPrefix ? `${labelPrefix}: ${describe.label}` : describe.label,
        type: describe.type,
        filterable: describe.filterable !== false,
        name: describe.name,
        derived: false
    };
    if (relationship) result.relationship = relationship;
    if (describe.calculated === true) result.calculated = true;
    if (describe.type === 'picklist' || describe.type === 'multipicklist') {
        result.picklistValues = (describe.picklistValues ?? [])
            .filter((entry) => entry.active !== false)
            .map((entry) => entry.value);
        // Real describes carry `restrictedPicklist`; when it is missing (as in exported fixtures),
        // standard picklists are treated as restricted (their value sets are fixed by Salesforce) and
        // custom ones as open.
        result.restricted = describe.restrictedPicklist ?? describe.custom !== true;
    }
    return result;
}

export function buildSchema(
    userDescribe: SObjectDescribe,
    parents: { Profile?: SObjectDescribe; UserRole?: SObjectDescribe } = {}
): Schema {
    const fields = new Map<string, SchemaField>();
    const add = (schemaField: SchemaField | null): void => {
        if (schemaField) fields.set(schemaField.path.toLowerCase(), schemaField);
    };
    const userFields = userDescribe.fields ?? [];
    for (const describe of userFields) add(toSchemaField(describe));

    const parentDescribes: Record<ParentRelationship, SObjectDescribe> = {
        Profile: parents.Profile ?? BUILT_IN_PROFILE_DESCRIBE,
        UserRole: parents.UserRole ?? BUILT_IN_USER_ROLE_DESCRIBE,
        Manager: userDescribe
    };
    const relationshipLabels: Record<ParentRelationship, string> = {
        Profile: 'Profile',
        UserRole: 'Role',
        Manager: 'Manager'
    };
    for (const relationship of Object.keys(parentDescribes) as ParentRelationship[]) {
        // A relationship is offered only if the User describe has the lookup (ProfileId, UserRoleId,
        // ManagerId) with that relationship name.
        const lookup = userFields.find((candidate) => candidate.relationshipName === relationship);
        if (!lookup) continue;
        for (const describe of parentDescribes[relationship].fields ?? []) {
            add(toSchemaField(describe, relationship, relationshipLabels[relationship]));
        }
    }

    if (userFields.some((candidate) => candidate.name === 'ManagerId')) {
        fields.set(IS_MANAGER.toLowerCase(), {
            path: IS_MANAGER,
            label: 'Is Manager (has at least one active direct report)',
            type: 'boolean',
            filterable: true,
            name: IS_MANAGER,
            derived: true
        });
    }

    return {
        fields,
        resolve: (path: string) => (typeof path === 'string' ? fields.get(path.toLowerCase()) : undefined)
    };
}

/** The fields the LWC builder offers, User fields first, then parents, each group by label. */
export function builderFields(schema: Schema): BuilderField[] {
    const rank = (schemaField: SchemaField): number =>
        schemaField.derived ? 1 : schemaField.relationship ? 2 : 0;
    return [...schema.fields.values()]
        .filter((schemaField) => schemaField.filterable && OPERATOR_TABLE[schemaField.type].length > 0)
        .sort((a, b) => rank(a) - rank(b) || a.label.localeCompare(b.label) || a.path.localeCompare(b.path))
        .map((schemaField) => {
            const result: BuilderField = {
                path: schemaField.path,
                label: schemaField.label,
                type: schemaField.type,
                operators: [...OPERATOR_TABLE[schemaField.type]]
            };
            if (schemaField.picklistValues) {
                result.picklistValues = [...schemaField.picklistValues];
                result.restricted = schemaField.restricted === true;
            }
            return result;
        });
}
