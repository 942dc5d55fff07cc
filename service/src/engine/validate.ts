/**
 * Validation of a `Definition__c` against the describe. Every problem is reported, together, each
 * naming the condition number, the field and what to do. Nothing here throws on bad input.
 */
import { isIsoDate, parseDatetime } from './dates';
import { normalizeRecordId } from './ids';
import { parseLogic, type LogicNode } from './logic';
import { isOperator, OPERATOR_INFO, OPERATOR_TABLE } from './operators';
import type { Schema, SchemaField } from './schema';
import type { Condition, ConditionScalar, ConditionValue, Definition, ValidationError } from './types';

/** SOQL's cap on one string value in a WHERE clause. */
export const MAX_VALUE_LENGTH = 4000;
export const MAX_CONDITIONS = 100;
export const MAX_LIST_VALUES = 1000;
export const MAX_DAYS = 36_500;
/** Numbers beyond this lose precision or print in exponent form, which SOQL rejects. */
const MAX_ABS_NUMBER = 1e15;

/** A condition whose field resolved in the schema. */
export interface ResolvedCondition extends Condition {
    schemaField: SchemaField;
}

export interface ValidDefinition extends Definition {
    conditions: ResolvedCondition[];
    tree: LogicNode;
}

export type ValidationResult =
    { ok: true; definition: ValidDefinition } | { ok: false; errors: ValidationError[] };

/** A short description of an untrusted value for a message; never throws. */
export function describeValue(value: unknown): string {
    if (value === undefined) return 'no value';
    if (value === null) return 'null';
    if (Array.isArray(value)) return 'a list';
    if (typeof value === 'string')
        return value.length > 40 ? `"${value.slice(0, 40)}…"` : JSON.stringify(value);
    if (typeof value === 'object' || typeof value === 'function') return `a ${typeof value}`;
    return `${typeof value} ${String(value)}`;
}

/** Control characters SOQL has no escape for; line feed, carriage return and tab are allowed. */

const CONTROL_CHARACTERS = /[\u0000-\u0008\u000B\u000E-\u001F\u007F]/;
/** Half of a UTF-16 surrogate pair on its own: no UTF-8 form, so no URL (encodeURIComponent throws). */
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * What to write instead of "is blank" / "is not blank" on a checkbox. A checkbox is never null: SOQL takes
 * `= null` on one as `= false` and `!= null` as `= true` (Use null in WHERE), so the message names the
 * condition that says so (docs/decisions-engine.md).
 */
const CHECKBOX_INSTEAD = {
    isNull: 'Use "equals false" to find users whose box is not ticked.',
    isNotNull: 'Use "equals true" to find users whose box is ticked.'
} as const;

/** Checks one scalar against the field's type; returns a message (what to do) or null. */
function checkScalar(value: unknown, field: SchemaField): string | null {
    switch (field.type) {
        case 'boolean':
            return typeof value === 'boolean' ? null : 'Use true or false.';
        case 'int':
            if (typeof value !== 'number' || !Number.isInteger(value))
                return 'Use a whole number such as 10.';
            return Math.abs(value) < MAX_ABS_NUMBER
                ? null
                : `Use a number between -${MAX_ABS_NUMBER} and ${MAX_ABS_NUMBER}.`;
        case 'double':
        case 'currency':
        case 'percent':
            if (typeof value !== 'number' || !Number.isFinite(value)) return 'Use a number such as 12.5.';
            if (Math.abs(value) >= MAX_ABS_NUMBER)
                return `Use a number between -${MAX_ABS_NUMBER} and ${MAX_ABS_NUMBER}.`;
            if (String(value).includes('e')) return 'Use a number with at most 15 decimal places.';
            return null;
        case 'date':
            return typeof value === 'string' && isIsoDate(value)
                ? null
                : 'Use a date written YYYY-MM-DD, e.g. 2024-01-31.';
        case 'datetime': {
            if (typeof value !== 'string' || Number.isNaN(parseDatetime(value))) {
                return 'Use an ISO 8601 datetime with a time zone, e.g. 2024-01-31T09:00:00Z.';
            }
            return parseDatetime(value) % 1000 === 0
                ? null
                : 'Use whole seconds (SOQL datetimes have no milliseconds).';
        }
        case 'id':
        case 'reference': {
            if (typeof value !== 'string') return 'Use a Salesforce record Id (15 or 18 letters and digits).';
            const id = normalizeRecordId(value);
            return id.ok ? null : id.message;
        }
        default:
            if (typeof value !== 'string') return 'Use text.';
            if (value.trim() === '')
                return 'Enter some text, or use the "is blank" operator to find empty values.';
            return null;
    }
}

/**
 * A valid value as the query and the evaluator use it: a record Id in its 18-character form with the case its
 * suffix records (engine/ids.ts); anything else as written.
 */
function normalizedScalar(value: ConditionScalar, field: SchemaField): ConditionScalar {
    if ((field.type !== 'id' && field.type !== 'reference') || typeof value !== 'string') return value;
    const id = normalizeRecordId(value);
    return id.ok ? id.id : value;
}

function lengthError(value: unknown): boolean {
    return typeof value === 'string' && value.length > MAX_VALUE_LENGTH;
}

function checkPicklist(value: string, field: SchemaField, multi: boolean): string[] {
    if (!field.restricted || !field.picklistValues) return [];
    const allowed = new Set(field.picklistValues.map((entry) => entry.toLowerCase()));
    const parts = multi ? value.split(';').map((part) => part.trim()) : [value];
    return parts.filter((part) => !allowed.has(part.toLowerCase()));
}

function validateCondition(
    raw: unknown,
    number: number,
    schema: Schema,
    errors: ValidationError[]
): ResolvedCondition | null {
    const fail = (code: ValidationError['code'], message: string, field?: string): null => {
        errors.push(
            field === undefined
                ? { code, message, condition: number }
                : { code, message, condition: number, field }
        );
        return null;
    };
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
        return fail(
            'INVALID_CONDITION',
            `Condition ${number} is not an object with field, operator and value. Rebuild it in the condition builder.`
        );
    }
    const { field: path, operator, value } = raw as Record<string, unknown>;
    if (typeof path !== 'string' || path.trim() === '') {
        return fail('UNKNOWN_FIELD', `Condition ${number} has no field. Choose a User field.`);
    }
    const shownPath = path.length > 80 ? `${path.slice(0, 80)}…` : path;
    const field = schema.resolve(path);
    if (!field) {
        return fail(
            'UNKNOWN_FIELD',
            `Condition ${number}: "${shownPath}" is not a User field, a Profile, UserRole or Manager field, or IsManager. Choose a field from the list.`,
            shownPath
        );
    }
    if (!field.filterable) {
        // The describe says so (`filterable: false`); long text areas, rich text areas and encrypted
        // fields are the usual cases ("fieldName … can be any field except a long text area field,
        // encrypted data field, or base64-encoded field": fieldExpression Syntax).
        const why =
            field.type === 'textarea'
                ? 'is a long text area, and Salesforce cannot filter long text areas in a query'
                : 'cannot be filtered in Salesforce queries (the describe marks it not filterable)';
        return fail(
            'FIELD_NOT_FILTERABLE',
            `Condition ${number}: ${field.path} ${why}. Choose another field.`,
            field.path
        );
    }
    if (!isOperator(operator)) {
        return fail(
            'UNKNOWN_OPERATOR',
            `Condition ${number} (${field.path}): ${describeValue(operator)} is not an operator. Use one of: ${OPERATOR_TABLE[field.type].join(', ')}.`,
            field.path
        );
    }
    if (field.type === 'boolean' && (operator === 'isNull' || operator === 'isNotNull')) {
        return fail(
            'OPERATOR_NOT_ALLOWED',
            `Condition ${number} (${field.path}): a checkbox is never blank, so "${OPERATOR_INFO[operator].label}" is not allowed. ${CHECKBOX_INSTEAD[operator]}`,
            field.path
        );
    }
    if (!OPERATOR_TABLE[field.type].includes(operator)) {
        return fail(
            'OPERATOR_NOT_ALLOWED',
            `Condition ${number} (${field.path}): "${OPERATOR_INFO[operator].label}" is not allowed on a ${field.type} field. Use one of: ${OPERATOR_TABLE[field.type].join(', ')}.`,
            field.path
        );
    }
    const before = errors.length;
    const valueError = (code: ValidationError['code'], message: string): void => {
        errors.push({
            code,
            message: `Condition ${number} (${field.path}): ${message}`,
            condition: number,
            field: field.path
        });
    };
    const kind = OPERATOR_INFO[operator].valueKind;
    const multi = field.type === 'multipicklist';
    const checkOne = (item: unknown, where: string): void => {
        if (typeof item === 'string' && CONTROL_CHARACTERS.test(item)) {
            valueError(
                'INVALID_VALUE',
                `${where} contains control characters (other than line breaks and tabs). Remove them.`
            );
            return;
        }
        if (typeof item === 'string' && UNPAIRED_SURROGATE.test(item)) {
            valueError(
                'INVALID_VALUE',
                `${where} contains a broken character (half of a UTF-16 surrogate pair) that cannot be sent to Salesforce. Retype the value.`
            );
            return;
        }
        if (lengthError(item)) {
            valueError(
                'VALUE_TOO_LONG',
                `${where} is ${(item as string).length} characters long; Salesforce accepts at most ${MAX_VALUE_LENGTH}. Shorten it.`
            );
            return;
        }
        const message = multi
            ? typeof item === 'string' && item.split(';').some((part) => part.trim() !== '')
                ? null
                : 'Use picklist values as text (join values that must all be selected with ";").'
            : checkScalar(item, field);
        if (message) {
            valueError(
                'INVALID_VALUE',
                `${where} ${describeValue(item)} does not fit a ${field.type} field. ${message}`
            );
            return;
        }
        if (typeof item === 'string' && (field.type === 'picklist' || multi)) {
            const unknown = checkPicklist(item, field, multi);
            if (unknown.length > 0) {
                const options = (field.picklistValues ?? []).slice(0, 20).join(', ');
                valueError(
                    'VALUE_NOT_IN_PICKLIST',
                    `${unknown.map((part) => `"${part.slice(0, 40)}"`).join(', ')} ${unknown.length === 1 ? 'is not a value' : 'are not values'} of this restricted picklist. Choose from: ${options}${(field.picklistValues ?? []).length > 20 ? ', …' : ''}.`
                );
            }
        }
    };
    let normalizedValue: ConditionValue | undefined = undefined;
    if (kind === 'none') {
        if (value !== undefined && value !== null) {
            valueError(
                'INVALID_VALUE',
                `"${OPERATOR_INFO[operator].label}" takes no value. Remove the value.`
            );
        }
    } else if (kind === 'list') {
        if (!Array.isArray(value) || value.length === 0) {
            valueError(
                'INVALID_VALUE',
                `"${OPERATOR_INFO[operator].label}" takes a list of one or more values. Enter at least one value.`
            );
        } else if (value.length > MAX_LIST_VALUES) {
            valueError(
                'INVALID_VALUE',
                `the list has ${value.length} values; use at most ${MAX_LIST_VALUES}.`
            );
        } else {
            value.forEach((item, index) => checkOne(item, `value ${index + 1}`));
            normalizedValue = (value as ConditionScalar[]).map((item) => normalizedScalar(item, field));
        }
    } else if (kind === 'wholeNumber') {
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_DAYS) {
            valueError(
                'INVALID_VALUE',
                `${describeValue(value)} is not a number of days. Use a whole number from 0 to ${MAX_DAYS}.`
            );
        } else normalizedValue = value;
    } else if (Array.isArray(value)) {
        valueError(
            'INVALID_VALUE',
            `"${OPERATOR_INFO[operator].label}" takes one value, not a list. Use "is one of" for several values.`
        );
    } else if (value === undefined || value === null) {
        valueError(
            'INVALID_VALUE',
            `"${OPERATOR_INFO[operator].label}" needs a value. Enter one, or use "is blank".`
        );
    } else {
        checkOne(value, 'the value');
        normalizedValue = normalizedScalar(value as ConditionScalar, field);
    }
    if (errors.length > before) return null;
    const condition: ResolvedCondition = { field: field.path, operator, schemaField: field };
    if (normalizedValue !== undefined) condition.value = normalizedValue;
    return condition;
}

export function validateDefinition(raw: string | unknown, schema: Schema): ValidationResult {
    let parsed: unknown = raw;
    if (typeof raw === 'string') {
        try {
            parsed = JSON.parse(raw);
        } catch (error) {
            return {
                ok: false,
                errors: [
                    {
                        code: 'INVALID_JSON',
                        message: `The definition is not valid JSON (${(error as Error).message.slice(0, 120)}). Rebuild the conditions in the condition builder.`
                    }
                ]
            };
        }
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        return {
            ok: false,
            errors: [
                {
                    code: 'INVALID_DEFINITION',
                    message:
                        'The definition must be an object with version, conditions and optional logic. Rebuild it in the condition builder.'
                }
            ]
        };
    }
    const { version, conditions, logic } = parsed as Record<string, unknown>;
    const errors: ValidationError[] = [];
    if (version !== 1) {
        errors.push({
            code: 'UNSUPPORTED_VERSION',
            message: `Definition version ${describeValue(version)} is not supported; this Rollcall reads version 1. Save the set again from the condition builder.`
        });
    }
    if (!Array.isArray(conditions) || conditions.length === 0) {
        errors.push({
            code: 'NO_CONDITIONS',
            message: 'The set has no conditions. Add at least one condition.'
        });
        return { ok: false, errors };
    }
    if (conditions.length > MAX_CONDITIONS) {
        errors.push({
            code: 'TOO_MANY_CONDITIONS',
            message: `The set has ${conditions.length} conditions; use at most ${MAX_CONDITIONS} (split it into several sets).`
        });
        return { ok: false, errors };
    }
    const resolved = conditions.map((condition, index) =>
        validateCondition(condition, index + 1, schema, errors)
    );
    let tree: LogicNode | null = null;
    if (logic !== undefined && logic !== null && typeof logic !== 'string') {
        errors.push({
            code: 'INVALID_LOGIC',
            message: 'Filter logic must be text such as "1 AND (2 OR 3)".'
        });
    } else {
        const result = parseLogic(logic as string | undefined | null, conditions.length);
        if (result.ok) tree = result.tree;
        else errors.push(...result.errors);
    }
    if (errors.length > 0 || !tree) return { ok: false, errors };
    const definition: ValidDefinition = {
        version: 1,
        conditions: resolved as ResolvedCondition[],
        tree
    };
    if (typeof logic === 'string' && logic.trim() !== '') definition.logic = logic.trim();
    return { ok: true, definition };
}

/** The definition as plain JSON (no resolved schema fields), e.g. for a run's snapshot. */
export function toPlainDefinition(definition: ValidDefinition): Definition {
    const plain: Definition = {
        version: 1,
        conditions: definition.conditions.map(({ field, operator, value }) =>
            value === undefined ? { field, operator } : { field, operator, value }
        )
    };
    if (definition.logic !== undefined) plain.logic = definition.logic;
    return plain;
}
