/** Shared fixtures for the engine tests: real User describe, a describe with every field type, users. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
    buildSchema,
    type ConditionSetInput,
    type Definition,
    type EvalContext,
    type FieldDescribe,
    type SObjectDescribe,
    type UserRecord
} from '../../service/src/engine';

// The real org User describe of ../shared/fixtures, copied into the repo (the local org serves it too).
export const userDescribe: SObjectDescribe = JSON.parse(
    readFileSync(
        join(__dirname, '..', '..', 'service', 'src', 'local-org', 'schema', 'User.describe.json'),
        'utf8'
    )
);

export const realSchema = buildSchema(userDescribe, {});

function customField(name: string, type: string, extra: Partial<FieldDescribe> = {}): FieldDescribe {
    return {
        name,
        label: name.replace(/__c$/, ''),
        type,
        filterable: true,
        nillable: true,
        custom: true,
        ...extra
    };
}

const picklist = (values: string[]) => values.map((value) => ({ active: true, value, label: value }));

/** A User describe with one custom field of every type the operator table knows. */
export const allTypesDescribe: SObjectDescribe = {
    name: 'User',
    fields: [
        { name: 'Id', label: 'User ID', type: 'id', filterable: true },
        { name: 'IsActive', label: 'Active', type: 'boolean', filterable: true },
        { name: 'Name', label: 'Full Name', type: 'string', filterable: true },
        { name: 'Email', label: 'Email', type: 'email', filterable: true },
        { name: 'Department', label: 'Department', type: 'string', filterable: true },
        {
            name: 'UserRoleId',
            label: 'Role ID',
            type: 'reference',
            filterable: true,
            relationshipName: 'UserRole'
        },
        {
            name: 'ProfileId',
            label: 'Profile ID',
            type: 'reference',
            filterable: true,
            relationshipName: 'Profile'
        },
        {
            name: 'ManagerId',
            label: 'Manager ID',
            type: 'reference',
            filterable: true,
            relationshipName: 'Manager'
        },
        customField('Str__c', 'string'),
        customField('Txt__c', 'textarea'),
        customField('Mail__c', 'email'),
        customField('Tel__c', 'phone'),
        customField('Web__c', 'url'),
        customField('Pick__c', 'picklist', {
            picklistValues: picklist(['Gold', 'Silver', 'Bronze']),
            restrictedPicklist: true
        }),
        customField('Open__c', 'picklist', { picklistValues: picklist(['One']), restrictedPicklist: false }),
        customField('Multi__c', 'multipicklist', {
            picklistValues: picklist(['A', 'B', 'C', 'D']),
            restrictedPicklist: true
        }),
        customField('Flag__c', 'boolean', { nillable: false }),
        customField('Count__c', 'int'),
        customField('Amount__c', 'double'),
        customField('Price__c', 'currency'),
        customField('Share__c', 'percent'),
        customField('Day__c', 'date'),
        customField('Moment__c', 'datetime'),
        customField('Ref__c', 'reference', { referenceTo: ['Account'] }),
        customField('Secret__c', 'string', { filterable: false }),
        customField('Notes__c', 'textarea', { filterable: false, length: 32768 }),
        customField('Where__c', 'address')
    ]
};

export const schema = buildSchema(allTypesDescribe, {});

/** 2026-03-10T12:00:00Z: a Tuesday; in Los Angeles it is 05:00 the same day. */
export const NOW = new Date('2026-03-10T12:00:00Z');

export function context(overrides: Partial<EvalContext> = {}): EvalContext {
    return { now: NOW, timeZone: 'UTC', managerIds: new Set<string>(), ...overrides };
}

let sequence = 0;
export function userId(n: number): string {
    return `005${String(n).padStart(12, '0')}AAA`;
}

export function user(fields: Record<string, unknown> = {}): UserRecord {
    sequence++;
    return {
        Id: userId(sequence),
        IsActive: true,
        Name: `User ${sequence}`,
        Email: `user${sequence}@example.com`,
        UserRole: null,
        Profile: null,
        Manager: null,
        ...fields
    } as UserRecord;
}

export function definition(conditions: Definition['conditions'], logic?: string): string {
    return JSON.stringify(
        logic === undefined ? { version: 1, conditions } : { version: 1, conditions, logic }
    );
}

export function set(
    id: string,
    conditions: Definition['conditions'],
    options: Partial<ConditionSetInput> & { logic?: string } = {}
): ConditionSetInput {
    const { logic, ...rest } = options;
    return {
        id,
        name: id,
        products: ['Scheduler'],
        eligibleStatuses: ['Not Invited'],
        definition: definition(conditions, logic),
        createdDate: '2025-01-01T00:00:00.000+0000',
        ...rest
    };
}
