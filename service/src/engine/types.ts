import type { FieldType, Operator } from './operators';

export const AUTHORIZATION_STATUSES = ['Not Invited', 'Invited', 'Authorized', 'Expired', 'Revoked'] as const;

/** Calendar_Authorization__c.Status__c; no record means `Not Invited`. */
export type AuthorizationStatus = (typeof AUTHORIZATION_STATUSES)[number];

export interface PicklistEntry {
    active: boolean;
    value: string;
    label?: string | null;
    defaultValue?: boolean;
    validFor?: string | null;
}

/** One field of a REST `sobjects/<X>/describe` answer (the members the engine reads). */
export interface FieldDescribe {
    name: string;
    label: string;
    type: string;
    filterable?: boolean;
    nillable?: boolean;
    custom?: boolean;
    picklistValues?: PicklistEntry[];
    /** Present in real describes; the fixture omits it (see `buildSchema` for the fallback). */
    restrictedPicklist?: boolean;
    referenceTo?: string[];
    relationshipName?: string | null;
    length?: number;
    [key: string]: unknown;
}

/** A REST describe (`/services/data/vXX.X/sobjects/User/describe`). */
export interface SObjectDescribe {
    name: string;
    label?: string;
    fields: FieldDescribe[];
    [key: string]: unknown;
}

export type ConditionScalar = string | number | boolean;
export type ConditionValue = ConditionScalar | ConditionScalar[];

/** One condition of a definition (DESIGN §4). */
export interface Condition {
    field: string;
    operator: Operator;
    value?: ConditionValue;
}

/** `Condition_Set__c.Definition__c`, version 1. */
export interface Definition {
    version: 1;
    conditions: Condition[];
    /** Salesforce report filter logic over condition numbers; absent means all AND-ed. */
    logic?: string;
}

export type ValidationErrorCode =
    | 'INVALID_JSON'
    | 'INVALID_DEFINITION'
    | 'UNSUPPORTED_VERSION'
    | 'NO_CONDITIONS'
    | 'TOO_MANY_CONDITIONS'
    | 'INVALID_CONDITION'
    | 'UNKNOWN_FIELD'
    | 'FIELD_NOT_FILTERABLE'
    | 'UNKNOWN_OPERATOR'
    | 'OPERATOR_NOT_ALLOWED'
    | 'INVALID_VALUE'
    | 'VALUE_TOO_LONG'
    | 'VALUE_NOT_IN_PICKLIST'
    | 'INVALID_LOGIC'
    | 'LOGIC_UNBALANCED_PARENTHESES'
    | 'LOGIC_UNKNOWN_CONDITION'
    | 'LOGIC_UNUSED_CONDITION'
    | 'LOGIC_MIXED_AND_OR'
    | 'DEFINITION_TOO_LONG'
    /** The org refused the set's candidate query (set by the service after asking the org, never by validation). */
    | 'QUERY_REFUSED'
    | 'NO_PRODUCTS'
    | 'INVALID_ELIGIBLE_STATUS';

export interface ValidationError {
    code: ValidationErrorCode;
    /** Says what is wrong and what to do. */
    message: string;
    /** 1-based condition number, as in the logic. */
    condition?: number;
    field?: string;
}

/**
 * A User record as jsforce returns it: scalar fields, parent relationships as nested objects (or
 * null when the parent is missing), datetimes as `2024-01-02T03:04:05.000+0000`.
 */
export interface UserRecord {
    Id: string;
    IsActive?: boolean;
    Name?: string;
    Email?: string;
    [field: string]: unknown;
}

/** A Condition_Set__c as the service reads it. */
export interface ConditionSetInput {
    id: string;
    name: string;
    products: string[];
    eligibleStatuses: AuthorizationStatus[];
    /** Raw `Definition__c`. */
    definition: string;
    /** Precedence: oldest first. */
    createdDate: string;
}

export interface EvalContext {
    /** The run's clock. */
    now: Date;
    /** The org's IANA `TimeZoneSidKey`: "today" and "N days ago" are days in this zone. */
    timeZone: string;
    /** Ids of users that at least one active user names as ManagerId (for `IsManager`). */
    managerIds: ReadonlySet<string>;
}

export type { FieldType, Operator };
