/**
 * The one operator table: which operators each Salesforce field type allows, how each operator is
 * labelled in the builder and what kind of value it takes. The LWC builder (`c/operatorTable`) and
 * Apex (static resource `RollcallOperatorTable`) receive a generated copy of exactly this data
 * (`npm run generate`); a test fails when those copies are stale.
 */

export const FIELD_TYPES = [
    'string',
    'textarea',
    'email',
    'phone',
    'url',
    'picklist',
    'multipicklist',
    'boolean',
    'int',
    'double',
    'currency',
    'percent',
    'date',
    'datetime',
    'id',
    'reference'
] as const;

/** A Salesforce field type (describe `type`) that conditions can filter on. */
export type FieldType = (typeof FIELD_TYPES)[number];

export const OPERATORS = [
    'equals',
    'notEquals',
    'lessThan',
    'greaterThan',
    'lessOrEqual',
    'greaterOrEqual',
    'contains',
    'notContains',
    'startsWith',
    'in',
    'notIn',
    'isNull',
    'isNotNull',
    'includes',
    'excludes',
    'withinLastDays',
    'olderThanDays'
] as const;

export type Operator = (typeof OPERATORS)[number];

/**
 * What a condition's `value` holds for an operator:
 * - `single`: one value of the field's type (string, number, boolean, YYYY-MM-DD, ISO 8601 datetime);
 * - `list`: a non-empty array of such values;
 * - `none`: no value at all;
 * - `wholeNumber`: a whole number of days (0 or more).
 */
export type ValueKind = 'single' | 'list' | 'none' | 'wholeNumber';

export interface OperatorInfo {
    /** Label shown in the condition builder. */
    readonly label: string;
    readonly valueKind: ValueKind;
}

export const OPERATOR_INFO: Readonly<Record<Operator, OperatorInfo>> = {
    equals: { label: 'equals', valueKind: 'single' },
    notEquals: { label: 'not equal to', valueKind: 'single' },
    lessThan: { label: 'less than', valueKind: 'single' },
    greaterThan: { label: 'greater than', valueKind: 'single' },
    lessOrEqual: { label: 'less or equal', valueKind: 'single' },
    greaterOrEqual: { label: 'greater or equal', valueKind: 'single' },
    contains: { label: 'contains', valueKind: 'single' },
    notContains: { label: 'does not contain', valueKind: 'single' },
    startsWith: { label: 'starts with', valueKind: 'single' },
    in: { label: 'is one of', valueKind: 'list' },
    notIn: { label: 'is not one of', valueKind: 'list' },
    isNull: { label: 'is blank', valueKind: 'none' },
    isNotNull: { label: 'is not blank', valueKind: 'none' },
    includes: { label: 'includes', valueKind: 'list' },
    excludes: { label: 'excludes', valueKind: 'list' },
    withinLastDays: { label: 'within the last N days', valueKind: 'wholeNumber' },
    olderThanDays: { label: 'older than N days', valueKind: 'wholeNumber' }
};

const TEXT: readonly Operator[] = [
    'equals',
    'notEquals',
    'contains',
    'notContains',
    'startsWith',
    'in',
    'notIn',
    'isNull',
    'isNotNull'
];
const NUMBER: readonly Operator[] = [
    'equals',
    'notEquals',
    'lessThan',
    'greaterThan',
    'lessOrEqual',
    'greaterOrEqual',
    'in',
    'notIn',
    'isNull',
    'isNotNull'
];
const TEMPORAL: readonly Operator[] = [
    'equals',
    'notEquals',
    'lessThan',
    'greaterThan',
    'lessOrEqual',
    'greaterOrEqual',
    'withinLastDays',
    'olderThanDays',
    'isNull',
    'isNotNull'
];
const IDENTIFIER: readonly Operator[] = ['equals', 'notEquals', 'in', 'notIn', 'isNull', 'isNotNull'];

/**
 * Operators allowed per field type. Booleans have no null in SOQL (null matches false), so they only
 * take equals / not equal to. Picklists are compared whole (no partial matching); multi-select
 * picklists use includes / excludes as SOQL does.
 */
export const OPERATOR_TABLE: Readonly<Record<FieldType, readonly Operator[]>> = {
    string: TEXT,
    textarea: TEXT,
    email: TEXT,
    phone: TEXT,
    url: TEXT,
    picklist: IDENTIFIER,
    multipicklist: ['includes', 'excludes', 'isNull', 'isNotNull'],
    boolean: ['equals', 'notEquals'],
    int: NUMBER,
    double: NUMBER,
    currency: NUMBER,
    percent: NUMBER,
    date: TEMPORAL,
    datetime: TEMPORAL,
    id: IDENTIFIER,
    reference: IDENTIFIER
};

export function isFieldType(type: unknown): type is FieldType {
    return typeof type === 'string' && (FIELD_TYPES as readonly string[]).includes(type);
}

export function isOperator(operator: unknown): operator is Operator {
    return typeof operator === 'string' && Object.prototype.hasOwnProperty.call(OPERATOR_INFO, operator);
}

export function operatorsFor(type: FieldType): readonly Operator[] {
    return OPERATOR_TABLE[type];
}

/** Operators by value kind, for the builder and Apex. */
export function operatorsTaking(kind: ValueKind): Operator[] {
    return OPERATORS.filter((operator) => OPERATOR_INFO[operator].valueKind === kind);
}

/**
 * The table as plain JSON, the shape shipped to the LWC builder and to Apex. Version it so a consumer
 * can refuse a shape it does not know.
 */
export interface OperatorTableExport {
    version: 1;
    fieldTypes: Record<FieldType, Operator[]>;
    operators: Record<Operator, { label: string; valueKind: ValueKind }>;
    listOperators: Operator[];
    noValueOperators: Operator[];
    wholeNumberOperators: Operator[];
}

export function exportOperatorTable(): OperatorTableExport {
    const fieldTypes = {} as Record<FieldType, Operator[]>;
    for (const type of FIELD_TYPES) fieldTypes[type] = [...OPERATOR_TABLE[type]];
    const operators = {} as Record<Operator, { label: string; valueKind: ValueKind }>;
    for (const operator of OPERATORS) operators[operator] = { ...OPERATOR_INFO[operator] };
    return {
        version: 1,
        fieldTypes,
        operators,
        listOperators: operatorsTaking('list'),
        noValueOperators: operatorsTaking('none'),
        wholeNumberOperators: operatorsTaking('wholeNumber')
    };
}
