import { createElement } from 'lwc';
import ConditionBuilder from 'c/conditionBuilder';

const { fields } = require('./data/editorOptions.json');

const STORED = JSON.stringify({
    version: 1,
    conditions: [
        { field: 'Department', operator: 'equals', value: 'Sales' },
        { field: 'UserRole.Name', operator: 'startsWith', value: 'EMEA' },
        { field: 'IsManager', operator: 'equals', value: true }
    ],
    logic: '1 AND (2 OR 3)'
});

async function flushPromises() {
    return Promise.resolve();
}

function createBuilder(definition) {
    const element = createElement('c-condition-builder', { is: ConditionBuilder });
    element.fields = fields;
    if (definition) {
        element.definition = definition;
    }
    document.body.appendChild(element);
    return element;
}

function rows(element) {
    return [...element.shadowRoot.querySelectorAll('c-condition-row')];
}

function changeRow(element, index, condition) {
    const row = rows(element)[index];
    row.dispatchEvent(
        new CustomEvent('conditionchange', {
            detail: { index, condition: { ...row.condition, ...condition } }
        })
    );
    return flushPromises();
}

function typeLogic(element, logic) {
    element.shadowRoot
        .querySelector('lightning-input.custom-logic')
        .dispatchEvent(new CustomEvent('change', { detail: { value: logic } }));
    return flushPromises();
}

describe('c-condition-builder', () => {
    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
    });

    it('starts with one empty condition and all conditions AND-ed', () => {
        const element = createBuilder();
        expect(rows(element)).toHaveLength(1);
        expect(element.shadowRoot.querySelector('lightning-radio-group').value).toBe('AND');
        expect(JSON.parse(element.definition)).toEqual({
            version: 1,
            conditions: [{ field: undefined, operator: undefined, value: undefined }]
        });
    });

    it('loads a stored definition with its custom logic and gives it back unchanged', async () => {
        const element = createBuilder(STORED);
        await flushPromises();
        expect(rows(element)).toHaveLength(3);
        expect(rows(element)[1].condition.field).toBe('UserRole.Name');
        expect(element.shadowRoot.querySelector('lightning-input.custom-logic').value).toBe('1 AND (2 OR 3)');
        expect(JSON.parse(element.definition)).toEqual(JSON.parse(STORED));
    });

    it('adds and removes conditions and renumbers them', async () => {
        const element = createBuilder(STORED);
        element.shadowRoot.querySelector('lightning-button.add-condition').click();
        await flushPromises();
        expect(rows(element)).toHaveLength(4);
        expect(rows(element)[3].index).toBe(3);
        expect(element.shadowRoot.querySelector('.logic-error').textContent).toBe(
            'The filter logic must use condition 4.'
        );

        rows(element)[0].dispatchEvent(new CustomEvent('remove', { detail: { index: 0 } }));
        await flushPromises();
        expect(rows(element)).toHaveLength(3);
        expect(rows(element)[0].condition.field).toBe('UserRole.Name');
        expect(rows(element)[0].index).toBe(0);
    });

    it('moves the focus into a new condition, and to Add Condition after a removal', async () => {
        const element = createBuilder(STORED);
        element.shadowRoot.querySelector('lightning-button.add-condition').click();
        await flushPromises();
        const added = rows(element)[3];
        const picker = added.shadowRoot.querySelector('c-field-picker');
        expect(picker.shadowRoot.activeElement).toBe(picker.shadowRoot.querySelector('input'));

        const focus = jest.spyOn(HTMLElement.prototype, 'focus');
        added.dispatchEvent(new CustomEvent('remove', { detail: { index: 3 } }));
        await flushPromises();
        expect(rows(element)).toHaveLength(3);
        expect(focus.mock.contexts).toContain(
            element.shadowRoot.querySelector('lightning-button.add-condition')
        );
        focus.mockRestore();
    });

    it('focus() puts the focus on the first condition', async () => {
        const element = createBuilder(STORED);
        await flushPromises();
        element.focus();
        const picker = rows(element)[0].shadowRoot.querySelector('c-field-picker');
        expect(picker.shadowRoot.activeElement).toBe(picker.shadowRoot.querySelector('input'));
    });

    it('names every problem of the custom logic at once, one line each', async () => {
        const element = createBuilder(STORED);
        await typeLogic(element, '(1 AND 4');
        expect(
            [...element.shadowRoot.querySelectorAll('.logic-error li')].map((item) => item.textContent)
        ).toEqual([
            'The filter logic refers to condition 4, which does not exist.',
            'The filter logic must use conditions 2 and 3.',
            'A parenthesis is not closed in the filter logic.'
        ]);
    });

    it('validates custom logic as the admin types', async () => {
        const element = createBuilder(STORED);
        await typeLogic(element, '1 AND 2 OR 3');
        expect(element.shadowRoot.querySelector('.logic-error').textContent).toContain('Use parentheses');
        await typeLogic(element, '(1 AND 2) OR 3');
        expect(element.shadowRoot.querySelector('.logic-error')).toBeNull();
        expect(JSON.parse(element.definition).logic).toBe('(1 AND 2) OR 3');
    });

    it('switching to OR writes "1 OR 2"; switching to custom proposes AND of all', async () => {
        const element = createBuilder(
            JSON.stringify({
                version: 1,
                conditions: [
                    { field: 'Department', operator: 'equals', value: 'Sales' },
                    { field: 'Title', operator: 'isNotNull' }
                ]
            })
        );
        const radio = element.shadowRoot.querySelector('lightning-radio-group');
        radio.dispatchEvent(new CustomEvent('change', { detail: { value: 'OR' } }));
        await flushPromises();
        expect(JSON.parse(element.definition).logic).toBe('1 OR 2');
        radio.dispatchEvent(new CustomEvent('change', { detail: { value: 'CUSTOM' } }));
        await flushPromises();
        expect(element.shadowRoot.querySelector('lightning-input.custom-logic').value).toBe('1 AND 2');
    });

    it('validate() puts each problem on its condition, then clears it as the admin fixes it', async () => {
        const element = createBuilder(STORED);
        await changeRow(element, 1, { value: '' });
        await changeRow(element, 2, { field: undefined, operator: undefined, value: undefined });

        expect(element.validate()).toBe(false);
        await flushPromises();
        expect(rows(element).map((row) => row.error)).toEqual([
            undefined,
            'Enter a value.',
            'Choose a field.'
        ]);

        await changeRow(element, 1, { value: 'EMEA' });
        expect(rows(element)[1].error).toBeUndefined();
        await changeRow(element, 2, { field: 'IsManager', operator: 'equals', value: false });
        expect(element.validate()).toBe(true);
    });

    it('refuses an empty builder', async () => {
        const element = createBuilder();
        rows(element)[0].dispatchEvent(new CustomEvent('remove', { detail: { index: 0 } }));
        await flushPromises();
        expect(element.validate()).toBe(false);
        await flushPromises();
        expect(element.shadowRoot.querySelector('.general-errors').textContent).toContain(
            'Add at least one condition.'
        );
    });

    it('refuses more conditions than the engine accepts', async () => {
        const conditions = Array.from({ length: 101 }, () => ({ field: 'Department', operator: 'isNull' }));
        const element = createBuilder(JSON.stringify({ version: 1, conditions }));
        expect(element.validate()).toBe(false);
        await flushPromises();
        expect(element.shadowRoot.querySelector('.general-errors').textContent).toContain('at most 100');
    });

    it('shows the errors Apex found on the conditions they concern', async () => {
        const element = createBuilder(STORED);
        element.setErrors([
            { conditionIndex: 2, message: 'The operator "startsWith" cannot be used on Role Name.' },
            { conditionIndex: null, message: 'The definition must have "version": 1.' },
            {
                conditionIndex: 1,
                code: 'LOGIC_UNUSED_CONDITION',
                message: 'The filter logic must use condition 1.'
            }
        ]);
        await flushPromises();
        expect(rows(element)[1].error).toContain('startsWith');
        expect(rows(element)[0].error).toBeFalsy();
        const general = element.shadowRoot.querySelector('.general-errors').textContent;
        expect(general).toContain('"version": 1');
        expect(general).toContain('must use condition 1');
    });

    it('is accessible', async () => {
        const element = createBuilder(STORED);
        await flushPromises();
        await expect(element).toBeAccessible();
    });
});
