import { createElement } from 'lwc';
import ConditionSetList from 'c/conditionSetList';
import ConfirmDialog from 'c/confirmDialog';
import { refreshApex } from '@salesforce/apex';
import getConditionSets from '@salesforce/apex/ConditionSetController.getConditionSets';
import getEditorOptions from '@salesforce/apex/ConditionSetController.getEditorOptions';
import deleteConditionSet from '@salesforce/apex/ConditionSetController.deleteConditionSet';

const mockConditionSets = require('./data/conditionSets.json');

jest.mock(
    '@salesforce/apex/ConditionSetController.getConditionSets',
    () => {
        const { createApexTestWireAdapter } = require('@salesforce/sfdx-lwc-jest');
        return { default: createApexTestWireAdapter(jest.fn()) };
    },
    { virtual: true }
);
jest.mock(
    '@salesforce/apex/ConditionSetController.getConditionSetCopy',
    () => ({ default: jest.fn(() => new Promise(() => {})) }),
    {
        virtual: true
    }
);
jest.mock('@salesforce/apex/ConditionSetController.deleteConditionSet', () => ({ default: jest.fn() }), {
    virtual: true
});
// The editor is opened in place; its own Apex is not under test here.
jest.mock(
    '@salesforce/apex/ConditionSetController.getEditorOptions',
    () => {
        const { createApexTestWireAdapter } = require('@salesforce/sfdx-lwc-jest');
        return { default: createApexTestWireAdapter(jest.fn()) };
    },
    { virtual: true }
);
jest.mock(
    '@salesforce/apex/ConditionSetController.getConditionSet',
    () => ({ default: jest.fn(() => new Promise(() => {})) }),
    { virtual: true }
);
jest.mock('@salesforce/apex/ConditionSetController.validateDefinition', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex/ConditionSetController.saveConditionSet', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex', () => ({ refreshApex: jest.fn(() => Promise.resolve()) }), { virtual: true });
jest.mock('c/confirmDialog', () => ({ __esModule: true, default: { open: jest.fn() } }));

async function flushPromises() {
    for (let i = 0; i < 5; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

function createList() {
    const element = createElement('c-condition-set-list', { is: ConditionSetList });
    document.body.appendChild(element);
    return element;
}

function rowAction(element, actionName, row) {
    element.shadowRoot
        .querySelector('lightning-datatable')
        .dispatchEvent(new CustomEvent('rowaction', { detail: { action: { name: actionName }, row } }));
    return flushPromises();
}

describe('c-condition-set-list', () => {
    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
    });

    it('shows a spinner, then the condition sets with readable products and statuses', async () => {
        const element = createList();
        expect(element.shadowRoot.querySelector('lightning-spinner')).not.toBeNull();
        getConditionSets.emit(mockConditionSets);
        await flushPromises();

        const table = element.shadowRoot.querySelector('lightning-datatable');
        expect(table.data).toHaveLength(2);
        expect(table.data[0].productList).toBe('Round Robin, Meeting Links');
        expect(table.data[1].statusList).toBe('Not Invited');
        const labels = table.columns.map((column) => column.label);
        expect(labels).toEqual([
            'Name',
            'Description',
            'Products',
            'Eligible Statuses',
            'Active',
            'Conditions',
            'Last Modified',
            undefined
        ]);
        const actions = table.columns[7].typeAttributes.rowActions.map((action) => action.label);
        expect(actions).toEqual(['Edit', 'Duplicate', 'Delete']);
    });

    it('shows an empty state when there is no condition set', async () => {
        const element = createList();
        getConditionSets.emit([]);
        await flushPromises();
        expect(element.shadowRoot.querySelector('.empty-state')).not.toBeNull();
        expect(element.shadowRoot.querySelector('lightning-datatable')).toBeNull();
    });

    it('shows the error panel when the list cannot be loaded', async () => {
        const element = createList();
        getConditionSets.error({ message: 'You need the Rollcall Admin permission set to use Rollcall.' });
        await flushPromises();
        expect(element.shadowRoot.querySelector('c-error-panel')).not.toBeNull();
    });

    it('Create and Edit open the editor in place; cancel comes back to the list', async () => {
        const element = createList();
        getConditionSets.emit(mockConditionSets);
        await flushPromises();

        element.shadowRoot.querySelector('lightning-button.create').click();
        await flushPromises();
        let editor = element.shadowRoot.querySelector('c-condition-set-editor');
        expect(editor).not.toBeNull();
        expect(editor.recordId).toBeNull();
        editor.dispatchEvent(new CustomEvent('cancel'));
        await flushPromises();

        await rowAction(element, 'edit', mockConditionSets[1]);
        editor = element.shadowRoot.querySelector('c-condition-set-editor');
        expect(editor.recordId).toBe('a00000000000002AAA');
        editor.dispatchEvent(new CustomEvent('saved', { detail: { id: 'a00000000000002AAA' } }));
        await flushPromises();
        expect(element.shadowRoot.querySelector('c-condition-set-editor')).toBeNull();
        expect(refreshApex).toHaveBeenCalled();
    });

    it('returns the focus to Create Condition Set when the editor closes', async () => {
        const focus = jest.spyOn(HTMLElement.prototype, 'focus');
        const element = createList();
        getConditionSets.emit(mockConditionSets);
        await flushPromises();
        element.shadowRoot.querySelector('lightning-button.create').click();
        await flushPromises();
        focus.mockClear();
        element.shadowRoot.querySelector('c-condition-set-editor').dispatchEvent(new CustomEvent('cancel'));
        await flushPromises();
        const create = element.shadowRoot.querySelector('lightning-button.create');
        expect(focus.mock.contexts).toContain(create);
        focus.mockRestore();
    });

    it('clears an earlier error when the next action succeeds', async () => {
        ConfirmDialog.open.mockResolvedValue(true);
        deleteConditionSet
            .mockRejectedValueOnce({ body: { message: 'insufficient access rights on object id' } })
            .mockResolvedValueOnce();
        const element = createList();
        getConditionSets.emit(mockConditionSets);
        await flushPromises();
        await rowAction(element, 'delete', mockConditionSets[0]);
        expect(element.shadowRoot.querySelector('c-error-panel')).not.toBeNull();
        await rowAction(element, 'delete', mockConditionSets[1]);
        expect(deleteConditionSet).toHaveBeenCalledTimes(2);
        expect(element.shadowRoot.querySelector('c-error-panel')).toBeNull();
    });

    it('Duplicate opens the editor on a copy of the set and writes nothing', async () => {
        const element = createList();
        getConditionSets.emit(mockConditionSets);
        await flushPromises();

        await rowAction(element, 'duplicate', mockConditionSets[0]);
        const editor = element.shadowRoot.querySelector('c-condition-set-editor');
        expect(editor.copyOfId).toBe('a00000000000001AAA');
        expect(editor.recordId).toBeNull();
        expect(refreshApex).not.toHaveBeenCalled();

        editor.dispatchEvent(new CustomEvent('cancel'));
        await flushPromises();
        expect(element.shadowRoot.querySelector('c-condition-set-editor')).toBeNull();
        expect(refreshApex).not.toHaveBeenCalled();
    });

    it('opens a set from its name, sorts by a column and says the conditions in words', async () => {
        const element = createList();
        getConditionSets.emit(mockConditionSets);
        getEditorOptions.emit({
            fields: [{ path: 'IsActive', label: 'Active' }],
            products: [],
            statuses: []
        });
        await flushPromises();
        const table = element.shadowRoot.querySelector('lightning-datatable');
        expect(table.columns[0]).toMatchObject({ type: 'button', typeAttributes: { name: 'edit' } });
        expect(table.data[1].conditionSummary).toBe('Department equals Support AND Active equals true');

        table.dispatchEvent(
            new CustomEvent('sort', { detail: { fieldName: 'name', sortDirection: 'desc' } })
        );
        await flushPromises();
        expect(table.data.map((row) => row.name)).toEqual(['Support agents', 'EMEA sales managers']);
        expect(table.sortedBy).toBe('name');
        expect(table.sortedDirection).toBe('desc');
    });

    it('Delete asks for confirmation and deletes only when confirmed', async () => {
        const element = createList();
        getConditionSets.emit(mockConditionSets);
        await flushPromises();

        ConfirmDialog.open.mockResolvedValue(false);
        await rowAction(element, 'delete', mockConditionSets[0]);
        expect(ConfirmDialog.open.mock.calls[0][0]).toMatchObject({
            label: 'Delete condition set',
            confirmLabel: 'Delete',
            destructive: true
        });
        expect(ConfirmDialog.open.mock.calls[0][0].message).toContain('"EMEA sales managers"');
        expect(ConfirmDialog.open.mock.calls[0][0].message).toContain('Invitations already sent stay valid');
        expect(deleteConditionSet).not.toHaveBeenCalled();

        ConfirmDialog.open.mockResolvedValue(true);
        deleteConditionSet.mockResolvedValue();
        await rowAction(element, 'delete', mockConditionSets[0]);
        expect(deleteConditionSet).toHaveBeenCalledWith({ conditionSetId: 'a00000000000001AAA' });
        expect(refreshApex).toHaveBeenCalled();
    });

    it('shows the Apex error when a delete fails', async () => {
        ConfirmDialog.open.mockResolvedValue(true);
        deleteConditionSet.mockRejectedValue({
            body: { message: 'insufficient access rights on object id' }
        });
        const element = createList();
        getConditionSets.emit(mockConditionSets);
        await flushPromises();
        await rowAction(element, 'delete', mockConditionSets[0]);
        const panel = element.shadowRoot.querySelector('c-error-panel');
        expect(panel.errors.body.message).toContain('insufficient access');
    });

    it('is accessible with data and when empty', async () => {
        const element = createList();
        getConditionSets.emit(mockConditionSets);
        await flushPromises();
        await expect(element).toBeAccessible();
        getConditionSets.emit([]);
        await flushPromises();
        await expect(element).toBeAccessible();
    });
});
