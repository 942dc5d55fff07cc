import {
    buildDefinition,
    conditionError,
    initialValue,
    logicFor,
    parseDefinition,
    validateLogic,
    logicProblems,
    summarizeDefinition,
    LOGIC_ALL,
    LOGIC_ANY,
    LOGIC_CUSTOM
} from 'c/conditionDefinition';

const FIELDS = {
    department: { path: 'Department', label: 'Department', type: 'string' },
    isManager: { path: 'IsManager', label: 'Is Manager', type: 'boolean' },
    seniority: { path: 'Seniority__c', label: 'Seniority', type: 'int' },
    quota: { path: 'Quota__c', label: 'Quota', type: 'currency' },
    birthDate: { path: 'Birth_Date__c', label: 'Birth Date', type: 'date' },
    lastLogin: { path: 'LastLoginDate', label: 'Last Login', type: 'datetime' },
    regions: { path: 'Regions__c', label: 'Regions', type: 'multipicklist' },
    manager: { path: 'ManagerId', label: 'Manager ID', type: 'reference' }
};

describe('c-condition-definition validateLogic', () => {
    it.each([
        ['1 AND (2 OR 3)', 3],
        ['1 or 2 or 3', 3],
        ['NOT 1 AND 2', 2],
        ['((1))', 1]
    ])('accepts %s', (logic, count) => {
        expect(validateLogic(logic, count)).toBeNull();
    });

    it.each([
        ['', 1, 'Enter the filter logic'],
        ['1 AND 2 OR 3', 3, 'Use parentheses when mixing AND and OR'],
        ['1 AND 4', 3, 'refers to condition 4'],
        ['1 AND 2', 3, 'must use condition 3'],
        ['(1 AND 2', 2, 'not closed'],
        ['1 AND', 1, 'ends too early'],
        ['1 2', 2, 'Unexpected "2"'],
        ['1 XOR 2', 2, 'Unexpected "XOR"'],
        ['99999999999', 1, 'does not exist']
    ])('refuses "%s" with a message naming the problem', (logic, count, expected) => {
        expect(validateLogic(logic, count)).toContain(expected);
    });

    it('names every problem at once: a missing condition, an unused one and an unclosed parenthesis', () => {
        expect(logicProblems('(1 AND 5', 3)).toEqual([
            'The filter logic refers to condition 5, which does not exist.',
            'The filter logic must use conditions 2 and 3.',
            'A parenthesis is not closed in the filter logic.'
        ]);
        expect(logicProblems('1 AND 2)', 2)).toEqual([
            'A closing parenthesis in the filter logic has no opening one.'
        ]);
    });
});

describe('c-condition-definition build and parse', () => {
    const conditions = [
        { field: 'Department', operator: 'equals', value: 'Sales' },
        { field: 'Manager.Department', operator: 'isNull', value: 'ignored' }
    ];

    it('builds version 1 without logic for AND and drops the value of no-value operators', () => {
        expect(buildDefinition(conditions, LOGIC_ALL, '')).toEqual({
            version: 1,
            conditions: [
                { field: 'Department', operator: 'equals', value: 'Sales' },
                { field: 'Manager.Department', operator: 'isNull' }
            ]
        });
    });

    it('writes OR as "1 OR 2" and keeps custom logic as typed (trimmed)', () => {
        expect(buildDefinition(conditions, LOGIC_ANY, '').logic).toBe('1 OR 2');
        expect(buildDefinition(conditions, LOGIC_CUSTOM, ' NOT 1 AND 2 ').logic).toBe('NOT 1 AND 2');
        expect(logicFor(LOGIC_ALL, '', 2)).toBeUndefined();
    });

    it('reads back the logic type of a stored definition', () => {
        const or = JSON.stringify({ version: 1, conditions, logic: '1 OR 2' });
        const and = JSON.stringify({ version: 1, conditions, logic: '1 and 2' });
        const custom = JSON.stringify({ version: 1, conditions, logic: '1 AND NOT 2' });
        const none = JSON.stringify({ version: 1, conditions });
        expect(parseDefinition(or).logicType).toBe(LOGIC_ANY);
        expect(parseDefinition(and).logicType).toBe(LOGIC_ALL);
        expect(parseDefinition(none).logicType).toBe(LOGIC_ALL);
        expect(parseDefinition(custom)).toEqual({
            conditions,
            logicType: LOGIC_CUSTOM,
            customLogic: '1 AND NOT 2'
        });
    });

    it('starts empty from an unreadable definition', () => {
        expect(parseDefinition('not json')).toEqual({
            conditions: [],
            logicType: LOGIC_ALL,
            customLogic: ''
        });
        expect(parseDefinition(undefined).conditions).toEqual([]);
    });
});

describe('c-condition-definition conditionError', () => {
    it('asks for a field, a known field and an operator', () => {
        expect(conditionError({}, undefined)).toBe('Choose a field.');
        expect(conditionError({ field: 'Shoe__c' }, undefined)).toContain('Shoe__c is not a User field');
        expect(conditionError({ field: 'Department' }, FIELDS.department)).toBe('Choose an operator.');
    });

    it('refuses an operator the table does not allow for the type', () => {
        const error = conditionError(
            { field: 'IsManager', operator: 'contains', value: 'x' },
            FIELDS.isManager
        );
        expect(error).toBe('"contains" cannot be used on Is Manager.');
    });

    it.each([
        ['department', 'equals', 'Sales', null],
        ['department', 'equals', '  ', 'Enter a value.'],
        ['department', 'in', [], 'Enter at least one value.'],
        ['department', 'in', ['A', ''], 'Enter a value.'],
        ['department', 'isNull', undefined, null],
        ['isManager', 'equals', true, null],
        ['isManager', 'equals', 'true', 'Choose true or false.'],
        ['seniority', 'greaterThan', 3, null],
        ['seniority', 'greaterThan', 3.5, 'Enter a whole number.'],
        ['quota', 'lessThan', 1000.5, null],
        ['quota', 'lessThan', undefined, 'Enter a number.'],
        ['birthDate', 'equals', '2026-02-28', null],
        ['birthDate', 'equals', '2026-02-30', 'Enter a date as YYYY-MM-DD.'],
        ['lastLogin', 'withinLastDays', 30, null],
        ['lastLogin', 'olderThanDays', -1, 'Enter a whole number of days from 0 to 36500.'],
        ['lastLogin', 'olderThanDays', 36501, 'Enter a whole number of days from 0 to 36500.'],
        ['manager', 'equals', '005000000000001AAA', null],
        [
            'manager',
            'in',
            ['005000000000001', 'x'],
            'Enter a Salesforce record Id (15 or 18 letters and digits).'
        ],
        ['lastLogin', 'greaterThan', '2026-01-31T09:00:00.000Z', null],
        ['lastLogin', 'greaterThan', 'yesterday', 'Enter a date and time.'],
        ['regions', 'includes', ['EMEA'], null]
    ])('%s %s %p → %p', (fieldKey, operator, value, expected) => {
        const field = FIELDS[fieldKey];
        expect(conditionError({ field: field.path, operator, value }, field)).toBe(expected);
    });

    it('starts a new operator with the value it takes', () => {
        expect(initialValue(FIELDS.department, 'in')).toEqual([]);
        expect(initialValue(FIELDS.department, 'isNull')).toBeUndefined();
        expect(initialValue(FIELDS.isManager, 'equals')).toBe(true);
        expect(initialValue(FIELDS.lastLogin, 'withinLastDays')).toBeUndefined();
    });
});

describe('c-condition-definition summarizeDefinition', () => {
    const fields = [
        { path: 'Department', label: 'Department' },
        { path: 'UserRole.Name', label: 'Role Name' },
        { path: 'LastLoginDate', label: 'Last Login' }
    ];

    it("says the conditions in the admin's words, joined by their logic", () => {
        const definition = (logic) =>
            JSON.stringify({
                version: 1,
                conditions: [
                    { field: 'Department', operator: 'in', value: ['Sales', 'Support'] },
                    { field: 'UserRole.Name', operator: 'startsWith', value: 'EMEA' },
                    { field: 'LastLoginDate', operator: 'withinLastDays', value: 30 }
                ],
                logic
            });
        expect(summarizeDefinition(definition(undefined), fields)).toBe(
            'Department is one of Sales, Support AND Role Name starts with EMEA AND Last Login within the last 30 days'
        );
        expect(summarizeDefinition(definition('1 OR 2 OR 3'), fields)).toContain(' OR Role Name starts with');
        expect(summarizeDefinition(definition('1 AND (2 OR 3)'), fields)).toBe(
            '1 AND (2 OR 3): (1) Department is one of Sales, Support; (2) Role Name starts with EMEA; (3) Last Login within the last 30 days'
        );
        expect(summarizeDefinition('not json', fields)).toBe('');
    });
});
