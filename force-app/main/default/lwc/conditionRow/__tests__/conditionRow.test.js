import { createElement } from 'lwc';
import ConditionRow from 'c/conditionRow';

const { fields } = require('./data/editorOptions.json');

async function flushPromises() {
    return Promise.resolve();
}

function createRow(condition, props = {}) {
    const element = createElement('c-condition-row', { is: ConditionRow });
    Object.assign(element, { fields, index: 1, condition: { key: 'condition-1', ...condition } }, props);
    document.body.appendChild(element);
    return element;
}

function captureChanges(element) {
    const handler = jest.fn();
    element.addEventListener('conditionchange', handler);
    return handler;
}

function lastCondition(handler) {
    return handler.mock.calls[handler.mock.calls.length - 1][0].detail.condition;
}

function valueInput(element) {
    return element.shadowRoot.querySelector('.value');
}

describe('c-condition-row', () => {
    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
    });

    it('numbers the condition and offers only the operators of the field type', () => {
        const element = createRow({ field: 'IsManager', operator: 'equals', value: true });
        expect(element.shadowRoot.querySelector('legend').textContent).toBe('Condition 2');
        const operators = element.shadowRoot.querySelector('lightning-combobox.operator').options;
        expect(operators.map((option) => option.value)).toEqual(['equals', 'notEquals']);
        expect(operators[1].label).toBe('not equal to');
    });

    it('disables the operator until a field is chosen and shows no value input', () => {
        const element = createRow({});
        expect(element.shadowRoot.querySelector('lightning-combobox.operator').disabled).toBe(true);
        expect(valueInput(element)).toBeNull();
    });

    it('keeps an operator the new field allows and resets the value', async () => {
        const element = createRow({ field: 'Department', operator: 'equals', value: 'Sales' });
        const handler = captureChanges(element);
        element.shadowRoot
            .querySelector('c-field-picker')
            .dispatchEvent(new CustomEvent('change', { detail: { value: 'IsManager' } }));
        await flushPromises();
        expect(lastCondition(handler)).toEqual({
            key: 'condition-1',
            field: 'IsManager',
            operator: 'equals',
            value: true
        });
        expect(handler.mock.calls[0][0].detail.index).toBe(1);
    });

    it('picks the first allowed operator when the old one does not apply', async () => {
        const element = createRow({ field: 'Department', operator: 'contains', value: 'Sal' });
        const handler = captureChanges(element);
        element.shadowRoot
            .querySelector('c-field-picker')
            .dispatchEvent(new CustomEvent('change', { detail: { value: 'Regions__c' } }));
        await flushPromises();
        expect(lastCondition(handler)).toMatchObject({
            field: 'Regions__c',
            operator: 'includes',
            value: []
        });
    });

    it.each([
        ['Department', 'equals', 'LIGHTNING-INPUT', 'text'],
        ['Seniority__c', 'greaterThan', 'LIGHTNING-INPUT', 'number'],
        ['Birth_Date__c', 'equals', 'LIGHTNING-INPUT', 'date'],
        ['LastLoginDate', 'lessThan', 'LIGHTNING-INPUT', 'datetime'],
        ['IsManager', 'equals', 'LIGHTNING-INPUT', 'checkbox'],
        ['LanguageLocaleKey', 'equals', 'LIGHTNING-COMBOBOX', undefined],
        ['LanguageLocaleKey', 'in', 'LIGHTNING-DUAL-LISTBOX', undefined],
        ['Regions__c', 'includes', 'LIGHTNING-DUAL-LISTBOX', undefined],
        ['Title', 'in', 'LIGHTNING-INPUT', 'text'],
        ['LastLoginDate', 'withinLastDays', 'LIGHTNING-INPUT', 'number']
    ])('%s %s gets a %s (%s)', (field, operator, tagName, inputType) => {
        const element = createRow({ field, operator });
        const input = valueInput(element);
        expect(input.tagName).toBe(tagName);
        expect(input.type).toBe(inputType);
    });

    it('shows no value input for is blank', () => {
        const element = createRow({ field: 'Department', operator: 'isNull' });
        expect(valueInput(element)).toBeNull();
    });

    it('turns typed values into the types the definition needs', async () => {
        const numberRow = createRow({ field: 'Quota__c', operator: 'greaterThan' });
        const numberChanges = captureChanges(numberRow);
        valueInput(numberRow).dispatchEvent(new CustomEvent('change', { detail: { value: '1500.5' } }));
        expect(lastCondition(numberChanges).value).toBe(1500.5);
        valueInput(numberRow).dispatchEvent(new CustomEvent('change', { detail: { value: '' } }));
        expect(lastCondition(numberChanges).value).toBeUndefined();

        const listRow = createRow({ field: 'Title', operator: 'in', value: [] });
        const listChanges = captureChanges(listRow);
        valueInput(listRow).dispatchEvent(
            new CustomEvent('change', { detail: { value: 'VP, Director ,, ' } })
        );
        expect(lastCondition(listChanges).value).toEqual(['VP', 'Director']);

        const boolRow = createRow({ field: 'IsManager', operator: 'equals', value: true });
        const boolChanges = captureChanges(boolRow);
        valueInput(boolRow).dispatchEvent(new CustomEvent('change', { detail: { checked: false } }));
        expect(lastCondition(boolChanges).value).toBe(false);

        const pickRow = createRow({ field: 'LanguageLocaleKey', operator: 'in', value: [] });
        const pickChanges = captureChanges(pickRow);
        valueInput(pickRow).dispatchEvent(new CustomEvent('change', { detail: { value: ['de', 'fr'] } }));
        expect(lastCondition(pickChanges).value).toEqual(['de', 'fr']);

        const singlePick = createRow({ field: 'LanguageLocaleKey', operator: 'equals' });
        const singleChanges = captureChanges(singlePick);
        valueInput(singlePick).dispatchEvent(new CustomEvent('change', { detail: { value: 'de' } }));
        expect(lastCondition(singleChanges).value).toBe('de');

        const textRow = createRow({ field: 'Department', operator: 'equals' });
        const textChanges = captureChanges(textRow);
        valueInput(textRow).dispatchEvent(new CustomEvent('change', { detail: { value: 'Sales' } }));
        expect(lastCondition(textChanges).value).toBe('Sales');
        await flushPromises();
    });

    it('keeps the value when the operator takes the same kind and resets it otherwise', async () => {
        const element = createRow({ field: 'Department', operator: 'equals', value: 'Sales' });
        const handler = captureChanges(element);
        const operator = element.shadowRoot.querySelector('lightning-combobox.operator');
        operator.dispatchEvent(new CustomEvent('change', { detail: { value: 'startsWith' } }));
        expect(lastCondition(handler)).toMatchObject({ operator: 'startsWith', value: 'Sales' });
        operator.dispatchEvent(new CustomEvent('change', { detail: { value: 'notIn' } }));
        expect(lastCondition(handler)).toMatchObject({ operator: 'notIn', value: [] });
        await flushPromises();
    });

    it('fires remove with its index', () => {
        const element = createRow({ field: 'Department', operator: 'equals', value: 'Sales' });
        const handler = jest.fn();
        element.addEventListener('remove', handler);
        const remove = element.shadowRoot.querySelector('lightning-button-icon.remove');
        expect(remove.alternativeText).toBe('Remove condition 2');
        remove.click();
        expect(handler.mock.calls[0][0].detail).toEqual({ index: 1 });
    });

    /** Spies on a base component's custom validity, which is how it shows a message under itself. */
    function spyOnValidity(control) {
        control.setCustomValidity = jest.fn();
        control.reportValidity = jest.fn();
        return control;
    }

    it('shows a value error once, under the value, with the field and operator left as they are', async () => {
        const element = createRow({ field: 'Department', operator: 'equals', value: '' });
        const value = spyOnValidity(valueInput(element));
        const operator = spyOnValidity(element.shadowRoot.querySelector('lightning-combobox.operator'));
        element.error = 'Enter a value.';
        await flushPromises();
        expect(value.setCustomValidity).toHaveBeenLastCalledWith('Enter a value.');
        expect(value.reportValidity).toHaveBeenCalled();
        expect(operator.setCustomValidity).not.toHaveBeenCalledWith('Enter a value.');
        expect(element.shadowRoot.querySelector('c-field-picker').error).toBeUndefined();
        expect(element.shadowRoot.querySelector('.condition-error')).toBeNull();
        expect(element.shadowRoot.querySelector('fieldset').classList.contains('slds-has-error')).toBe(false);
        await expect(element).toBeAccessible();
    });

    it("shows a negative number of days under the days, with no limit of the input's own", async () => {
        const element = createRow({ field: 'LastLoginDate', operator: 'withinLastDays', value: -3 });
        const days = spyOnValidity(valueInput(element));
        expect(days.min).toBeUndefined();
        element.error = 'Enter a whole number of days from 0 to 36500.';
        await flushPromises();
        expect(days.setCustomValidity).toHaveBeenLastCalledWith(
            'Enter a whole number of days from 0 to 36500.'
        );
        expect(element.shadowRoot.querySelector('c-field-picker').error).toBeUndefined();
    });

    it('shows a missing field under the field picker and a missing operator under the operator', async () => {
        const blank = createRow({}, { error: 'Choose a field.' });
        await flushPromises();
        expect(blank.shadowRoot.querySelector('c-field-picker').error).toBe('Choose a field.');

        const noOperator = createRow({ field: 'Department' });
        const operator = spyOnValidity(noOperator.shadowRoot.querySelector('lightning-combobox.operator'));
        noOperator.error = 'Choose an operator.';
        await flushPromises();
        expect(operator.setCustomValidity).toHaveBeenLastCalledWith('Choose an operator.');
        expect(noOperator.shadowRoot.querySelector('c-field-picker').error).toBeUndefined();
    });

    it('offers the org\'s profile names for "equals" and "is one of", and free text for "starts with"', () => {
        const profiles = [
            { label: 'Standard User', value: 'Standard User' },
            { label: 'System Administrator', value: 'System Administrator' }
        ];
        const withSuggestions = fields.map((field) => {
            return field.path === 'Profile.Name' ? { ...field, picklistValues: profiles } : field;
        });
        const equals = createRow(
            { field: 'Profile.Name', operator: 'equals', value: '' },
            { fields: withSuggestions }
        );
        expect(valueInput(equals).tagName).toBe('LIGHTNING-COMBOBOX');
        expect(valueInput(equals).options.map((option) => option.value)).toEqual([
            'Standard User',
            'System Administrator'
        ]);
        const oneOf = createRow(
            { field: 'Profile.Name', operator: 'in', value: [] },
            { fields: withSuggestions }
        );
        expect(valueInput(oneOf).tagName).toBe('LIGHTNING-DUAL-LISTBOX');
        const startsWith = createRow(
            { field: 'Profile.Name', operator: 'startsWith', value: '' },
            { fields: withSuggestions }
        );
        expect(valueInput(startsWith).tagName).toBe('LIGHTNING-INPUT');
    });
});
