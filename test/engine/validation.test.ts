import {
    MAX_VALUE_LENGTH,
    compileWhere,
    parseLogic,
    validateDefinition,
    type ValidationError
} from '../../service/src/engine';
import { realSchema, schema } from './helpers';

function errorsOf(raw: unknown, against = schema): ValidationError[] {
    const result = validateDefinition(raw, against);
    if (result.ok) throw new Error('expected the definition to be invalid');
    return result.errors;
}

const define = (conditions: unknown[], logic?: string) => ({
    version: 1,
    conditions,
    ...(logic === undefined ? {} : { logic })
});

describe('validateDefinition', () => {
    it('when the DESIGN example is validated against the real User describe, then it is valid', () => {
        const result = validateDefinition(
            JSON.stringify(
                define(
                    [
                        { field: 'Department', operator: 'equals', value: 'Sales' },
                        { field: 'UserRole.Name', operator: 'startsWith', value: 'EMEA' },
                        { field: 'IsManager', operator: 'equals', value: true }
                    ],
                    '1 AND (2 OR 3)'
                )
            ),
            realSchema
        );
        expect(result.ok).toBe(true);
    });

    it.each([
        ['malformed JSON', '{"version":1,', 'INVALID_JSON'],
        ['JSON that is not an object', '[1,2]', 'INVALID_DEFINITION'],
        ['null', null, 'INVALID_DEFINITION'],
        ['no conditions', define([]), 'NO_CONDITIONS'],
        ['conditions not a list', { version: 1, conditions: 'x' }, 'NO_CONDITIONS']
    ])('when the definition is %s, then it fails with %s and does not throw', (_label, raw, code) => {
        expect(errorsOf(raw).map((error) => error.code)).toContain(code);
    });

    it.each([
        [{ field: 'Nope__c', operator: 'equals', value: 'x' }, 'UNKNOWN_FIELD'],
        [{ field: 'Secret__c', operator: 'equals', value: 'x' }, 'FIELD_NOT_FILTERABLE'],
        [{ field: 'Where__c', operator: 'equals', value: 'x' }, 'UNKNOWN_FIELD'],
        [{ field: 'Account.Name', operator: 'equals', value: 'x' }, 'UNKNOWN_FIELD'],
        [{ field: "Str__c = 'x' OR Id", operator: 'equals', value: 'x' }, 'UNKNOWN_FIELD'],
        [{ field: 'Str__c', operator: 'like', value: 'x' }, 'UNKNOWN_OPERATOR'],
        [{ field: 'Flag__c', operator: 'contains', value: 'x' }, 'OPERATOR_NOT_ALLOWED'],
        [{ field: 'Str__c', operator: 'lessThan', value: 'x' }, 'OPERATOR_NOT_ALLOWED'],
        [{ field: 'Multi__c', operator: 'equals', value: 'A' }, 'OPERATOR_NOT_ALLOWED'],
        [{ field: 'Count__c', operator: 'equals', value: '5' }, 'INVALID_VALUE'],
        [{ field: 'Count__c', operator: 'equals', value: 5.5 }, 'INVALID_VALUE'],
        [{ field: 'Amount__c', operator: 'equals', value: Number.NaN }, 'INVALID_VALUE'],
        [{ field: 'Amount__c', operator: 'equals', value: 1e20 }, 'INVALID_VALUE'],
        [{ field: 'Flag__c', operator: 'equals', value: 'true' }, 'INVALID_VALUE'],
        [{ field: 'Day__c', operator: 'equals', value: '2026-02-30' }, 'INVALID_VALUE'],
        [{ field: 'Day__c', operator: 'equals', value: '03/10/2026' }, 'INVALID_VALUE'],
        [{ field: 'Moment__c', operator: 'equals', value: '2026-03-10T10:00:00' }, 'INVALID_VALUE'],
        [{ field: 'Moment__c', operator: 'equals', value: '2026-03-10T10:00:00.500Z' }, 'INVALID_VALUE'],
        [{ field: 'Id', operator: 'equals', value: "005' OR Id != '" }, 'INVALID_VALUE'],
        [{ field: 'Str__c', operator: 'equals' }, 'INVALID_VALUE'],
        [{ field: 'Str__c', operator: 'equals', value: '' }, 'INVALID_VALUE'],
        [{ field: 'Str__c', operator: 'equals', value: ['a'] }, 'INVALID_VALUE'],
        [{ field: 'Str__c', operator: 'in', value: 'a' }, 'INVALID_VALUE'],
        [{ field: 'Str__c', operator: 'in', value: [] }, 'INVALID_VALUE'],
        [{ field: 'Str__c', operator: 'isNull', value: 'a' }, 'INVALID_VALUE'],
        [{ field: 'Moment__c', operator: 'withinLastDays', value: 1.5 }, 'INVALID_VALUE'],
        [{ field: 'Moment__c', operator: 'withinLastDays', value: -1 }, 'INVALID_VALUE'],
        [{ field: 'Pick__c', operator: 'equals', value: 'Platinum' }, 'VALUE_NOT_IN_PICKLIST'],
        [{ field: 'Multi__c', operator: 'includes', value: ['A;Z'] }, 'VALUE_NOT_IN_PICKLIST'],
        [{ field: 'Str__c', operator: 'equals', value: 'x'.repeat(MAX_VALUE_LENGTH + 1) }, 'VALUE_TOO_LONG'],
        [
            { field: 'Str__c', operator: 'in', value: ['ok', 'x'.repeat(MAX_VALUE_LENGTH + 1)] },
            'VALUE_TOO_LONG'
        ],
        // Half a surrogate pair has no UTF-8 form: no URL can carry it (encodeURIComponent throws).
        [{ field: 'Str__c', operator: 'equals', value: 'a\ud800b' }, 'INVALID_VALUE'],
        [{ field: 'Str__c', operator: 'in', value: ['ok', '\udc00'] }, 'INVALID_VALUE'],
        ['not an object', 'INVALID_CONDITION']
    ])('when condition 1 is %j, then the error is %s and names condition 1', (condition, code) => {
        const errors = errorsOf(define([condition]));
        expect(errors).toEqual([expect.objectContaining({ code, condition: 1 })]);
        expect(errors[0].message).toMatch(/^Condition 1\b/);
    });

    it('when the field is a long text area (not filterable), then the error says so and what to do', () => {
        const [error] = errorsOf(define([{ field: 'Notes__c', operator: 'contains', value: 'x' }]));

        expect(error).toMatchObject({ code: 'FIELD_NOT_FILTERABLE', condition: 1, field: 'Notes__c' });
        expect(error.message).toBe(
            'Condition 1: Notes__c is a long text area, and Salesforce cannot filter long text areas in a query. Choose another field.'
        );
    });

    it('when a text area is filterable in the describe (Text Area, 255), then it takes the text operators', () => {
        const result = validateDefinition(
            define([{ field: 'Txt__c', operator: 'contains', value: 'x' }]),
            schema
        );
        expect(result.ok).toBe(true);
    });

    it('when a value is exactly 4,000 characters, then it is accepted', () => {
        const result = validateDefinition(
            define([{ field: 'Str__c', operator: 'equals', value: 'x'.repeat(4000) }]),
            schema
        );
        expect(result.ok).toBe(true);
    });

    it('when the field is known, then its error names the field and says what to do', () => {
        const [error] = errorsOf(define([{ field: 'Flag__c', operator: 'contains', value: 'x' }]));
        expect(error.field).toBe('Flag__c');
        expect(error.message).toContain('Use one of: equals, notEquals');
    });

    it('when several things are wrong, then all errors come back together', () => {
        const errors = errorsOf({
            version: 2,
            conditions: [
                { field: 'Nope', operator: 'equals', value: 'x' },
                { field: 'Count__c', operator: 'equals', value: 'five' },
                { field: 'Str__c', operator: 'equals', value: 'ok' }
            ],
            logic: '1 AND 2 OR 4'
        });
        expect(errors.map((error) => error.code)).toEqual([
            'UNSUPPORTED_VERSION',
            'UNKNOWN_FIELD',
            'INVALID_VALUE',
            'LOGIC_UNKNOWN_CONDITION',
            'LOGIC_UNUSED_CONDITION',
            'LOGIC_MIXED_AND_OR'
        ]);
        expect(errors.find((error) => error.code === 'LOGIC_UNUSED_CONDITION')?.condition).toBe(3);
    });

    it('when a restricted picklist value differs only in case, then it is accepted', () => {
        expect(
            validateDefinition(
                define([{ field: 'Pick__c', operator: 'in', value: ['gold', 'SILVER'] }]),
                schema
            ).ok
        ).toBe(true);
    });

    it('when a standard picklist of the real describe (no restrictedPicklist key) is given an unknown value, then it is rejected', () => {
        const errors = errorsOf(
            define([{ field: 'UserType', operator: 'equals', value: 'Robot' }]),
            realSchema
        );
        expect(errors[0].code).toBe('VALUE_NOT_IN_PICKLIST');
    });
});

describe('parseLogic', () => {
    it('when logic is absent, then all conditions are AND-ed', () => {
        expect(parseLogic(undefined, 3)).toEqual({
            ok: true,
            tree: {
                type: 'and',
                children: [
                    { type: 'condition', index: 1 },
                    { type: 'condition', index: 2 },
                    { type: 'condition', index: 3 }
                ]
            }
        });
    });

    it('when the logic is "1 AND (2 OR NOT 3)", then the tree nests as written', () => {
        expect(parseLogic('1 and (2 OR not 3)', 3)).toEqual({
            ok: true,
            tree: {
                type: 'and',
                children: [
                    { type: 'condition', index: 1 },
                    {
                        type: 'or',
                        children: [
                            { type: 'condition', index: 2 },
                            { type: 'not', child: { type: 'condition', index: 3 } }
                        ]
                    }
                ]
            }
        });
    });

    it.each([
        ['1 AND 2 OR 3', 3, 'LOGIC_MIXED_AND_OR'],
        ['1 OR 2 AND 3', 3, 'LOGIC_MIXED_AND_OR'],
        ['(1 AND 2', 2, 'LOGIC_UNBALANCED_PARENTHESES'],
        ['1 AND 2)', 2, 'LOGIC_UNBALANCED_PARENTHESES'],
        [')1 AND 2(', 2, 'LOGIC_UNBALANCED_PARENTHESES'],
        ['1 AND 4', 2, 'LOGIC_UNKNOWN_CONDITION'],
        ['0 OR 1', 1, 'LOGIC_UNKNOWN_CONDITION'],
        ['1', 2, 'LOGIC_UNUSED_CONDITION'],
        ['1 AND', 1, 'INVALID_LOGIC'],
        ['1 2', 2, 'INVALID_LOGIC'],
        ['1 AND XOR 2', 2, 'INVALID_LOGIC'],
        ['1 && 2', 2, 'INVALID_LOGIC'],
        ['()', 1, 'INVALID_LOGIC']
    ])('when the logic is "%s" over %i conditions, then it fails with %s', (logic, count, code) => {
        const result = parseLogic(logic, count);
        expect(result.ok).toBe(false);
        if (!result.ok) expect(result.errors.map((error) => error.code)).toContain(code);
    });

    it('when AND and OR are separated by parentheses, then both groupings parse', () => {
        expect(parseLogic('(1 AND 2) OR 3', 3).ok).toBe(true);
        expect(parseLogic('1 AND (2 OR 3)', 3).ok).toBe(true);
        expect(parseLogic('NOT NOT 1', 1).ok).toBe(true);
    });
});

describe('record Id values (15 or 18 characters, the 18-character checksum, case restored)', () => {
    // 005D0000001AbCd: its suffix is IAK (bits of D, then none, then A and C).
    const ID15 = '005D0000001AbCd';
    const ID18 = '005D0000001AbCdIAK';

    const valueOf = (value: unknown, field = 'ManagerId', operator = 'equals'): unknown => {
        const result = validateDefinition(define([{ field, operator, value }]), schema);
        if (!result.ok) throw new Error(result.errors.map((error) => error.message).join(' '));
        return result.definition.conditions[0].value;
    };

    it.each([
        ['an 18-character Id as Salesforce writes it', ID18],
        ['the same Id lower-cased (pasted from a case-insensitive tool)', ID18.toLowerCase()],
        ['the same Id upper-cased', ID18.toUpperCase()],
        ['its 15-character form', ID15]
    ])(
        'when a reference condition holds %s, then its value is the 18-character Id with its case',
        (_label, value) => {
            expect(valueOf(value)).toBe(ID18);
        }
    );

    it('when an "is one of" list holds lower-cased and 15-character Ids, then each becomes the 18-character Id', () => {
        expect(valueOf([ID18.toLowerCase(), '005000000000001'], 'Id', 'in')).toEqual([
            ID18,
            '005000000000001AAA'
        ]);
    });

    it('when a lower-cased Id is compiled, then the query carries the Id with its case', () => {
        const where = compileWhere(
            JSON.stringify(define([{ field: 'ManagerId', operator: 'equals', value: ID18.toLowerCase() }])),
            schema
        );
        expect(where).toBe(`ManagerId = '${ID18}'`);
    });

    it.each([
        ['a mixed-case Id whose suffix does not match', '005D0000001AbCdIAA', /checksum/],
        ['a suffix marking a digit as upper case', '005000000000001AAB', /checksum/],
        ['a suffix character no suffix has', '005d0000001abcdia9', /checksum/],
        ['17 characters', '005D0000001AbCdIA', /15 or 18 characters; this one has 17/],
        ['16 characters', '005D0000001AbCdI', /this one has 16/],
        ['characters other than letters and digits', '005D0000001AbC-', /only letters and digits/]
    ])(
        'when a reference condition holds %s, then INVALID_VALUE says what to do',
        (_label, value, message) => {
            const errors = errorsOf(define([{ field: 'ManagerId', operator: 'equals', value }]));
            expect(errors).toHaveLength(1);
            expect(errors[0]).toMatchObject({ code: 'INVALID_VALUE', condition: 1 });
            expect(errors[0].message).toMatch(message);
            expect(errors[0].message).toMatch(/Copy the (whole )?Id/);
        }
    );
});

describe('"is blank" on a checkbox', () => {
    it.each([
        ['isNull', /never blank.*Use "equals false"/],
        ['isNotNull', /never blank.*Use "equals true"/]
    ])(
        'when a checkbox condition uses %s, then OPERATOR_NOT_ALLOWED names what to write instead',
        (operator, message) => {
            const errors = errorsOf(define([{ field: 'Flag__c', operator }]));
            expect(errors).toEqual([expect.objectContaining({ code: 'OPERATOR_NOT_ALLOWED', condition: 1 })]);
            expect(errors[0].message).toMatch(message);
        }
    );
});
