import { createElement } from 'lwc';
import ConditionSetEditor from 'c/conditionSetEditor';
import getEditorOptions from '@salesforce/apex/ConditionSetController.getEditorOptions';
import getConditionSet from '@salesforce/apex/ConditionSetController.getConditionSet';
import getConditionSetCopy from '@salesforce/apex/ConditionSetController.getConditionSetCopy';
import validateDefinition from '@salesforce/apex/ConditionSetController.validateDefinition';
import saveConditionSet from '@salesforce/apex/ConditionSetController.saveConditionSet';
import checkImpact from '@salesforce/apex/ConditionSetController.checkImpact';
import ConfirmDialog from 'c/confirmDialog';

const mockEditorOptions = require('./data/editorOptions.json');
const mockConditionSet = require('./data/conditionSet.json');

jest.mock(
    '@salesforce/apex/ConditionSetController.getEditorOptions',
    () => {
        const { createApexTestWireAdapter } = require('@salesforce/sfdx-lwc-jest');
        return { default: createApexTestWireAdapter(jest.fn()) };
    },
    { virtual: true }
);
jest.mock('@salesforce/apex/ConditionSetController.getConditionSet', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex/ConditionSetController.getConditionSetCopy', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex/ConditionSetController.validateDefinition', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex/ConditionSetController.saveConditionSet', () => ({ default: jest.fn() }), {
    virtual: true
});

jest.mock('@salesforce/apex/ConditionSetController.checkImpact', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('c/confirmDialog', () => ({ __esModule: true, default: { open: jest.fn() } }));
// Access grants (issue 19): begin
jest.mock(
    '@salesforce/apex/ConnectionController.getConnectionOptions',
    () => ({
        default: jest.fn(() =>
            Promise.resolve([{ label: 'Calendly (calendly)', value: 'a0C000000000001AAA' }])
        )
    }),
    { virtual: true }
);
jest.mock('@salesforce/apex/ConnectionController.getAccessGrants', () => ({ default: jest.fn() }), {
    virtual: true
});
// Access grants (issue 19): end

const SHOW_TOAST_EVENT = 'lightning__showtoast';
const IMPACT = {
    matched: 42,
    alreadyGranted: 30,
    needsConfirmation: false,
    overlaps: [{ setId: 'a02000000000001AAA', name: 'Support leads', users: 30, products: 'Instant Booker' }]
};
const APEX_ERROR = { body: { message: 'The condition set could not be saved: duplicate name' }, status: 500 };

async function flushPromises() {
    for (let i = 0; i < 5; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

async function createEditor(recordId, props = {}) {
    const element = createElement('c-condition-set-editor', { is: ConditionSetEditor });
    element.recordId = recordId;
    Object.assign(element, props);
    document.body.appendChild(element);
    getEditorOptions.emit(mockEditorOptions);
    await flushPromises();
    return element;
}

function query(element, selector) {
    return element.shadowRoot.querySelector(selector);
}

/** Spies on a base component's custom validity, which is how field errors are shown. */
function spyOnValidity(element, selector) {
    const control = query(element, selector);
    control.setCustomValidity = jest.fn();
    control.reportValidity = jest.fn();
    control.focus = jest.fn();
    return control;
}

function change(element, selector, detail) {
    query(element, selector).dispatchEvent(new CustomEvent('change', { detail }));
    return flushPromises();
}

async function fillDetails(element) {
    await change(element, 'lightning-input.name', { value: '  Support agents ' });
    await change(element, 'lightning-textarea.description', { value: 'Everyone in Support' });
    await change(element, 'lightning-checkbox-group.products', { value: ['Instant Booker'] });
    await change(element, 'lightning-checkbox-group.statuses', { value: ['Not Invited', 'Expired'] });
}

async function fillOneCondition(element) {
    const row = query(query(element, 'c-condition-builder'), 'c-condition-row');
    row.dispatchEvent(
        new CustomEvent('conditionchange', {
            detail: {
                index: 0,
                condition: { ...row.condition, field: 'Department', operator: 'equals', value: 'Support' }
            }
        })
    );
    await flushPromises();
}

describe('c-condition-set-editor', () => {
    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
    });

    it('step 1 offers the products and statuses and refuses Next until a name and a status are filled (products are optional)', async () => {
        const element = await createEditor();
        expect(query(element, 'lightning-card').title).toBe('New Condition Set');
        expect(query(element, 'lightning-checkbox-group.products').options).toHaveLength(3);
        expect(query(element, 'lightning-checkbox-group.statuses').options).toHaveLength(5);

        await change(element, 'lightning-checkbox-group.statuses', { value: [] });
        const name = spyOnValidity(element, 'lightning-input.name');
        const products = spyOnValidity(element, 'lightning-checkbox-group.products');
        const statuses = spyOnValidity(element, 'lightning-checkbox-group.statuses');
        query(element, 'lightning-button.next').click();
        await flushPromises();
        expect(name.setCustomValidity).toHaveBeenLastCalledWith('Enter a name.');
        // A set may grant access only (issue 19): no product is checked at Save, with the Access section.
        expect(products.setCustomValidity).toHaveBeenLastCalledWith('');
        expect(statuses.setCustomValidity).toHaveBeenLastCalledWith('Choose at least one status.');
        [name, products, statuses].forEach((control) => expect(control.reportValidity).toHaveBeenCalled());
        expect(name.focus).toHaveBeenCalled();
        expect(query(element, 'c-condition-builder')).toBeNull();

        await fillDetails(element);
        [name, products, statuses].forEach((control) =>
            expect(control.setCustomValidity).toHaveBeenLastCalledWith('')
        );
        query(element, 'lightning-button.next').click();
        await flushPromises();
        expect(query(element, 'c-condition-builder')).not.toBeNull();
        expect(query(element, 'lightning-progress-indicator').currentStep).toBe('conditions');
        const picker = query(
            query(query(element, 'c-condition-builder'), 'c-condition-row'),
            'c-field-picker'
        );
        expect(picker.shadowRoot.activeElement).toBe(picker.shadowRoot.querySelector('input'));
    });

    it('shows who the draft matches and which sets already grant it, before save', async () => {
        checkImpact.mockResolvedValue(IMPACT);
        const element = await createEditor();
        await fillDetails(element);
        query(element, 'lightning-button.next').click();
        await flushPromises();
        await fillOneCondition(element);

        query(element, 'lightning-button.check-impact').click();
        await flushPromises();

        expect(checkImpact.mock.calls[0][0].conditionSet).toMatchObject({
            name: 'Support agents',
            products: ['Instant Booker']
        });
        expect(query(element, '.impact-summary').textContent).toBe(
            'Matches 42 users now; 30 of them already get Instant Booker from other active sets.'
        );
        expect(query(element, '.impact-overlaps').textContent).toContain(
            'Support leads: 30 users in common (also grants Instant Booker)'
        );
        expect(saveConditionSet).not.toHaveBeenCalled();
    });

    it('names each other set the org refused, with its reason, in the check', async () => {
        checkImpact.mockResolvedValue({
            ...IMPACT,
            invalidSets: [
                {
                    setId: 'a02000000000002AAA',
                    name: 'Pasted ids',
                    reasons: "The org refused the set's query: invalid ID field: 005xx"
                },
                { setId: 'a02000000000003AAA', name: 'Old fields', reasons: 'Condition 1: No field Nope__c.' }
            ]
        });
        const element = await createEditor();
        await fillDetails(element);
        query(element, 'lightning-button.next').click();
        await flushPromises();
        await fillOneCondition(element);
        expect(query(element, '.impact-invalid')).toBeNull();

        query(element, 'lightning-button.check-impact').click();
        await flushPromises();

        const warning = query(element, '.impact-invalid');
        expect(warning.getAttribute('role')).toBe('status');
        expect(query(element, '.impact-invalid-heading').textContent).toBe(
            '2 other active sets grant nothing right now: fix them or deactivate them.'
        );
        const items = [...warning.querySelectorAll('li')].map((item) => item.textContent);
        expect(items).toEqual([
            "Pasted ids: The org refused the set's query: invalid ID field: 005xx",
            'Old fields: Condition 1: No field Nope__c.'
        ]);
        await expect(element).toBeAccessible();
    });

    it("when the org refuses the draft itself, then the check shows the org's reason", async () => {
        checkImpact.mockRejectedValue({
            body: { message: "The org refused the set's query: invalid ID field: 005xx" },
            status: 500
        });
        const element = await createEditor();
        await fillDetails(element);
        query(element, 'lightning-button.next').click();
        await flushPromises();
        await fillOneCondition(element);

        query(element, 'lightning-button.check-impact').click();
        await flushPromises();

        const panel = query(element, '.impact c-error-panel');
        expect(panel.friendlyMessage).toBe('Could not check who the set matches');
        expect(panel.shadowRoot.querySelector('.messages').textContent).toBe(
            "The org refused the set's query: invalid ID field: 005xx"
        );
        expect(query(element, '.impact-summary')).toBeNull();
    });

    it('asks before saving a set that matches nobody, and does not save when the admin declines', async () => {
        validateDefinition.mockResolvedValue({ valid: true, errors: [] });
        checkImpact.mockResolvedValue({
            matched: 0,
            alreadyGranted: 0,
            needsConfirmation: true,
            overlaps: []
        });
        ConfirmDialog.open.mockResolvedValue(false);
        const element = await createEditor();
        await fillDetails(element);
        query(element, 'lightning-button.next').click();
        await flushPromises();
        await fillOneCondition(element);

        query(element, 'lightning-button.save').click();
        await flushPromises();

        expect(ConfirmDialog.open.mock.calls[0][0]).toMatchObject({
            message: 'This set matches nobody right now. Save it anyway?',
            confirmLabel: 'Save Anyway'
        });
        expect(saveConditionSet).not.toHaveBeenCalled();
        expect(query(element, '.impact-summary').textContent).toBe('Matches nobody right now.');
    });

    it('saves a set fully covered by other sets once the admin confirms', async () => {
        validateDefinition.mockResolvedValue({ valid: true, errors: [] });
        checkImpact.mockResolvedValue({ ...IMPACT, alreadyGranted: 42, needsConfirmation: true });
        ConfirmDialog.open.mockResolvedValue(true);
        saveConditionSet.mockResolvedValue('a00000000000009AAA');
        const element = await createEditor();
        await fillDetails(element);
        query(element, 'lightning-button.next').click();
        await flushPromises();
        await fillOneCondition(element);

        query(element, 'lightning-button.save').click();
        await flushPromises();
        await flushPromises();

        expect(ConfirmDialog.open.mock.calls[0][0].message).toMatch(/already gets Instant Booker/);
        expect(saveConditionSet).toHaveBeenCalled();
    });

    it('saves a new set after Apex validates the definition, then toasts and fires saved', async () => {
        checkImpact.mockResolvedValue(IMPACT);
        validateDefinition.mockResolvedValue({ valid: true, errors: [] });
        saveConditionSet.mockResolvedValue('a00000000000009AAA');
        const element = await createEditor();
        const saved = jest.fn();
        const toast = jest.fn();
        element.addEventListener('saved', saved);
        element.addEventListener(SHOW_TOAST_EVENT, toast);

        await fillDetails(element);
        query(element, 'lightning-button.next').click();
        await flushPromises();
        await fillOneCondition(element);
        query(element, 'lightning-button.save').click();
        await flushPromises();

        const definition = JSON.stringify({
            version: 1,
            conditions: [{ field: 'Department', operator: 'equals', value: 'Support' }]
        });
        expect(validateDefinition).toHaveBeenCalledWith({ definition });
        expect(saveConditionSet).toHaveBeenCalledWith({
            conditionSet: {
                id: undefined,
                name: 'Support agents',
                description: 'Everyone in Support',
                active: true,
                products: ['Instant Booker'],
                eligibleStatuses: ['Not Invited', 'Expired'],
                definition,
                grants: []
            }
        });
        expect(saved.mock.calls[0][0].detail).toEqual({ id: 'a00000000000009AAA' });
        expect(toast.mock.calls[0][0].detail.variant).toBe('success');
    });

    it('does not call Apex while a condition is incomplete', async () => {
        const element = await createEditor();
        await fillDetails(element);
        query(element, 'lightning-button.next').click();
        await flushPromises();
        query(element, 'lightning-button.save').click();
        await flushPromises();
        expect(validateDefinition).not.toHaveBeenCalled();
        expect(query(query(element, 'c-condition-builder'), 'c-condition-row').error).toBe('Choose a field.');
    });

    it('puts the errors Apex finds on the conditions and does not save', async () => {
        validateDefinition.mockResolvedValue({
            valid: false,
            errors: [{ conditionIndex: 1, message: 'Choose a User field ("Department" is not one).' }]
        });
        const element = await createEditor();
        await fillDetails(element);
        query(element, 'lightning-button.next').click();
        await flushPromises();
        await fillOneCondition(element);
        query(element, 'lightning-button.save').click();
        await flushPromises();
        expect(saveConditionSet).not.toHaveBeenCalled();
        expect(query(query(element, 'c-condition-builder'), 'c-condition-row').error).toContain('is not one');
    });

    it('loads a set to edit, keeps the conditions across Back and Next, and shows a save error', async () => {
        getConditionSet.mockResolvedValue(mockConditionSet);
        validateDefinition.mockResolvedValue({ valid: true, errors: [] });
        saveConditionSet.mockRejectedValue(APEX_ERROR);
        const element = await createEditor(mockConditionSet.id);
        expect(getConditionSet).toHaveBeenCalledWith({ conditionSetId: mockConditionSet.id });
        expect(query(element, 'lightning-card').title).toBe('Edit EMEA sales managers');
        expect(query(element, 'lightning-input.name').value).toBe('EMEA sales managers');
        expect(query(element, 'lightning-checkbox-group.products').value).toEqual([
            'Round Robin',
            'Meeting Links'
        ]);

        query(element, 'lightning-button.next').click();
        await flushPromises();
        expect(query(element, 'c-condition-builder').definition).toBe(mockConditionSet.definition);
        query(element, 'lightning-button.back').click();
        await flushPromises();
        query(element, 'lightning-button.next').click();
        await flushPromises();
        query(element, 'lightning-button.save').click();
        await flushPromises();

        expect(saveConditionSet.mock.calls[0][0].conditionSet.id).toBe(mockConditionSet.id);
        const panel = query(element, 'c-error-panel');
        expect(panel.errors).toEqual(APEX_ERROR);
    });

    it('shows an error when the set cannot be loaded, and Cancel fires cancel', async () => {
        getConditionSet.mockRejectedValue({ body: { message: 'The condition set no longer exists.' } });
        const element = await createEditor('a00000000000404AAA');
        expect(query(element, 'c-error-panel')).not.toBeNull();
        const cancel = jest.fn();
        element.addEventListener('cancel', cancel);
        query(element, 'lightning-button.cancel').click();
        expect(cancel).toHaveBeenCalled();
    });

    it('shows an error when the editor options cannot be loaded', async () => {
        const element = createElement('c-condition-set-editor', { is: ConditionSetEditor });
        document.body.appendChild(element);
        getEditorOptions.error({ body: { message: 'You need the Rollcall Admin permission set.' } });
        await flushPromises();
        expect(query(element, 'c-error-panel')).not.toBeNull();
        expect(query(element, 'lightning-spinner')).toBeNull();
    });

    it('is accessible on both steps', async () => {
        const element = await createEditor();
        await expect(element).toBeAccessible();
        await fillDetails(element);
        query(element, 'lightning-button.next').click();
        await flushPromises();
        await expect(element).toBeAccessible();
    });
    // Access grants (issue 19): begin
    it('keeps the Access draft across Back and Next and saves it with the new set, in the one call', async () => {
        checkImpact.mockResolvedValue(IMPACT);
        validateDefinition.mockResolvedValue({ valid: true, errors: [] });
        saveConditionSet.mockResolvedValue('a00000000000009AAA');
        const element = await createEditor();
        const saved = jest.fn();
        element.addEventListener('saved', saved);
        await fillDetails(element);
        query(element, 'lightning-button.next').click();
        await flushPromises();
        await fillOneCondition(element);
        const grants = [
            { id: null, connectionId: 'a0C000000000001AAA', groups: 'Sales\nEMEA', role: 'Admin' }
        ];
        query(element, 'c-access-grant-editor').dispatchEvent(
            new CustomEvent('change', { detail: { grants } })
        );
        query(element, 'lightning-button.back').click();
        await flushPromises();
        query(element, 'lightning-button.next').click();
        await flushPromises();
        expect(query(element, 'c-access-grant-editor').grants).toEqual(grants);

        query(element, 'lightning-button.save').click();
        await flushPromises();
        await flushPromises();

        expect(saveConditionSet).toHaveBeenCalledTimes(1);
        expect(saveConditionSet.mock.calls[0][0].conditionSet).toMatchObject({
            id: undefined,
            name: 'Support agents',
            grants
        });
        expect(saved).toHaveBeenCalled();
    });
    it('when Apex refuses a grant, then nothing is saved, the editor stays open and shows why', async () => {
        checkImpact.mockResolvedValue(IMPACT);
        validateDefinition.mockResolvedValue({ valid: true, errors: [] });
        const refusal = { body: { message: 'Access 1: the connection no longer exists. Choose another.' } };
        saveConditionSet.mockRejectedValue(refusal);
        const element = await createEditor();
        const saved = jest.fn();
        const toast = jest.fn();
        element.addEventListener('saved', saved);
        element.addEventListener(SHOW_TOAST_EVENT, toast);
        await fillDetails(element);
        query(element, 'lightning-button.next').click();
        await flushPromises();
        await fillOneCondition(element);
        const grants = [{ id: null, connectionId: 'a0C000000000001AAA', groups: 'Sales', role: '' }];
        query(element, 'c-access-grant-editor').dispatchEvent(
            new CustomEvent('change', { detail: { grants } })
        );
        await flushPromises();

        query(element, 'lightning-button.save').click();
        await flushPromises();
        await flushPromises();

        expect(saveConditionSet).toHaveBeenCalledTimes(1);
        expect(saveConditionSet.mock.calls[0][0].conditionSet.grants).toEqual(grants);
        expect(saved).not.toHaveBeenCalled();
        expect(toast).not.toHaveBeenCalled();
        expect(query(element, 'c-error-panel').errors).toEqual(refusal);
        expect(query(element, 'c-access-grant-editor').grants).toEqual(grants);
        expect(query(element, 'lightning-button.save')).not.toBeNull();
    });
    it('saves a set that grants access only, and refuses one that grants neither a product nor access', async () => {
        checkImpact.mockResolvedValue({ ...IMPACT, alreadyGranted: 0, overlaps: [] });
        validateDefinition.mockResolvedValue({ valid: true, errors: [] });
        saveConditionSet.mockResolvedValue('a00000000000009AAA');
        const element = await createEditor();
        await change(element, 'lightning-input.name', { value: 'Zendesk agents' });
        query(element, 'lightning-button.next').click();
        await flushPromises();
        expect(query(element, 'c-condition-builder')).not.toBeNull();
        await fillOneCondition(element);

        // Neither a product nor access: refused on the spot, nothing sent to Apex.
        query(element, 'lightning-button.save').click();
        await flushPromises();
        const refusal = query(element, '.nothing-granted');
        expect(refusal.textContent.trim()).toBe(
            'Choose a product, or grant access in an app in the Access section.'
        );
        expect(refusal.getAttribute('role')).toBe('alert');
        expect(validateDefinition).not.toHaveBeenCalled();
        expect(saveConditionSet).not.toHaveBeenCalled();

        // One access grant: the message goes, the check says who it matches, and the set is saved without product.
        const grants = [{ id: null, connectionId: 'a0C000000000001AAA', groups: 'Agents', role: '' }];
        query(element, 'c-access-grant-editor').dispatchEvent(
            new CustomEvent('change', { detail: { grants } })
        );
        // A base component's change event bubbling out of the section (composed, with its value) keeps the grants.
        query(element, 'c-access-grant-editor').dispatchEvent(
            new CustomEvent('change', { detail: { value: 'Agents' } })
        );
        await flushPromises();
        expect(query(element, '.nothing-granted')).toBeNull();
        expect(query(element, 'c-access-grant-editor').grants).toEqual(grants);
        query(element, 'lightning-button.check-impact').click();
        await flushPromises();
        expect(checkImpact.mock.calls[0][0].conditionSet.products).toEqual([]);
        expect(query(element, '.impact-summary').textContent).toBe('Matches 42 users now.');

        query(element, 'lightning-button.save').click();
        await flushPromises();
        await flushPromises();
        expect(saveConditionSet.mock.calls[0][0].conditionSet).toMatchObject({
            name: 'Zendesk agents',
            products: [],
            grants
        });
        expect(saveConditionSet).toHaveBeenCalledTimes(1);
    });
    // Access grants (issue 19): end

    it('starts a copy from the original without saving anything, inactive, under "Copy of"', async () => {
        getConditionSetCopy.mockResolvedValue({
            ...mockConditionSet,
            id: null,
            name: 'Copy of EMEA sales managers',
            active: false
        });
        validateDefinition.mockResolvedValue({ valid: true, errors: [] });
        checkImpact.mockResolvedValue(IMPACT);
        saveConditionSet.mockResolvedValue('a00000000000009AAA');
        const element = await createEditor(undefined, { copyOfId: 'a00000000000001AAA' });
        await flushPromises();

        expect(getConditionSetCopy).toHaveBeenCalledWith({ conditionSetId: 'a00000000000001AAA' });
        expect(query(element, 'lightning-input.name').value).toBe('Copy of EMEA sales managers');
        expect(saveConditionSet).not.toHaveBeenCalled();

        query(element, 'lightning-button.next').click();
        await flushPromises();
        query(element, 'lightning-button.save').click();
        await flushPromises();
        await flushPromises();
        expect(saveConditionSet.mock.calls[0][0].conditionSet).toMatchObject({
            id: undefined,
            name: 'Copy of EMEA sales managers',
            active: false
        });
    });

    it('puts the focus in the Name field when it opens', async () => {
        const focus = jest.spyOn(HTMLElement.prototype, 'focus');
        try {
            const element = await createEditor();
            await flushPromises();
            expect(focus.mock.contexts).toContain(query(element, 'lightning-input.name'));
        } finally {
            focus.mockRestore();
        }
    });

    it('keeps Save and "Check who it matches" enabled while they work, so the focus stays on them', async () => {
        let answer;
        checkImpact.mockReturnValue(
            new Promise((resolve) => {
                answer = resolve;
            })
        );
        const element = await createEditor();
        await fillDetails(element);
        query(element, 'lightning-button.next').click();
        await flushPromises();
        await fillOneCondition(element);
        query(element, 'lightning-button.check-impact').click();
        await flushPromises();
        expect(query(element, 'lightning-button.check-impact').disabled).toBeFalsy();
        expect(query(element, 'lightning-button.save').disabled).toBeFalsy();
        query(element, 'lightning-button.check-impact').click();
        await flushPromises();
        expect(checkImpact).toHaveBeenCalledTimes(1);
        answer(IMPACT);
        await flushPromises();
        expect(query(element, '.impact-summary').textContent).toContain('Matches 42 users');
    });

    it('checks who the set matches again after the conditions change', async () => {
        jest.useFakeTimers();
        try {
            checkImpact.mockResolvedValue(IMPACT);
            const element = await createEditor();
            await fillDetails(element);
            query(element, 'lightning-button.next').click();
            await flushPromises();
            await fillOneCondition(element);
            query(element, 'lightning-button.check-impact').click();
            await flushPromises();
            expect(checkImpact).toHaveBeenCalledTimes(1);

            checkImpact.mockResolvedValue({ ...IMPACT, matched: 7 });
            const row = query(query(element, 'c-condition-builder'), 'c-condition-row');
            row.dispatchEvent(
                new CustomEvent('conditionchange', {
                    detail: { index: 0, condition: { ...row.condition, value: 'Sales' } }
                })
            );
            await flushPromises();
            jest.runAllTimers();
            await flushPromises();

            expect(checkImpact).toHaveBeenCalledTimes(2);
            expect(JSON.parse(checkImpact.mock.calls[1][0].conditionSet.definition).conditions[0].value).toBe(
                'Sales'
            );
            expect(query(element, '.impact-summary').textContent).toContain('Matches 7 users');
        } finally {
            jest.useRealTimers();
        }
    });
});
