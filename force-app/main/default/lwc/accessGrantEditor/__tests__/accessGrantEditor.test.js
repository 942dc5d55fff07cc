import { createElement } from 'lwc';
import AccessGrantEditor from 'c/accessGrantEditor';
import getConnectionOptions from '@salesforce/apex/ConnectionController.getConnectionOptions';
import getAccessGrants from '@salesforce/apex/ConnectionController.getAccessGrants';

const mockOptions = require('./data/connectionOptions.json');

jest.mock('@salesforce/apex/ConnectionController.getConnectionOptions', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex/ConnectionController.getAccessGrants', () => ({ default: jest.fn() }), {
    virtual: true
});

const SET_ID = 'a00000000000001AAA';
const CALENDLY = 'a0C000000000001AAA';
const SAVED_GRANT = {
    id: 'a0B000000000001AAA',
    connectionId: CALENDLY,
    connectionName: 'Calendly',
    connectionKey: 'calendly',
    groups: 'Sales\nEMEA',
    role: 'Admin'
};

async function flushPromises() {
    for (let i = 0; i < 5; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

function createEditor(props) {
    const element = createElement('c-access-grant-editor', { is: AccessGrantEditor });
    Object.assign(element, props);
    document.body.appendChild(element);
    return element;
}

function change(control, value) {
    control.value = value;
    control.dispatchEvent(new CustomEvent('change', { detail: { value } }));
}

describe('c-access-grant-editor', () => {
    beforeEach(() => {
        getConnectionOptions.mockResolvedValue(mockOptions);
    });

    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
    });

    it('when a saved set is edited, then its grants are read and handed to the editor', async () => {
        getAccessGrants.mockResolvedValue([SAVED_GRANT]);
        const element = createEditor({ conditionSetId: SET_ID });
        const changes = jest.fn();
        element.addEventListener('change', changes);
        await flushPromises();

        expect(getAccessGrants).toHaveBeenCalledWith({ conditionSetId: SET_ID });
        const root = element.shadowRoot;
        expect(root.querySelector('lightning-combobox.connection').value).toBe(CALENDLY);
        expect(root.querySelector('lightning-combobox.connection').options).toEqual(mockOptions);
        expect(root.querySelector('lightning-textarea.groups').value).toBe('Sales\nEMEA');
        expect(root.querySelector('lightning-input.role').value).toBe('Admin');
        expect(changes.mock.calls[0][0].detail.grants).toEqual([
            { id: SAVED_GRANT.id, connectionId: CALENDLY, groups: 'Sales\nEMEA', role: 'Admin' }
        ]);
    });

    it('when the editor already holds a draft, then it is shown and nothing is read', async () => {
        const draft = [{ id: null, connectionId: CALENDLY, groups: 'Support', role: '' }];
        const element = createEditor({ conditionSetId: SET_ID, grants: draft });
        await flushPromises();
        expect(getAccessGrants).not.toHaveBeenCalled();
        expect(element.shadowRoot.querySelector('lightning-textarea.groups').value).toBe('Support');
    });

    it("when the admin adds access, then the editor's draft follows each change", async () => {
        const element = createEditor({});
        const changes = jest.fn();
        element.addEventListener('change', changes);
        await flushPromises();

        element.shadowRoot.querySelector('lightning-button.add-access').click();
        await flushPromises();
        const root = element.shadowRoot;
        change(root.querySelector('lightning-combobox.connection'), CALENDLY);
        change(root.querySelector('lightning-textarea.groups'), 'Sales\nEMEA');
        change(root.querySelector('lightning-input.role'), 'Light agent');
        await flushPromises();

        expect(changes.mock.calls.at(-1)[0].detail.grants).toEqual([
            { id: null, connectionId: CALENDLY, groups: 'Sales\nEMEA', role: 'Light agent' }
        ]);
    });

    it('when a grant has no connection or repeats one, then validate() says so under the field', async () => {
        const element = createEditor({
            grants: [
                { id: null, connectionId: null, groups: '', role: '' },
                { id: null, connectionId: CALENDLY, groups: 'A', role: '' },
                { id: null, connectionId: CALENDLY, groups: 'B', role: '' }
            ]
        });
        await flushPromises();
        const comboboxes = [...element.shadowRoot.querySelectorAll('lightning-combobox.connection')];
        const messages = comboboxes.map((combobox) => {
            combobox.setCustomValidity = jest.fn();
            return combobox;
        });
        expect(element.validate()).toBe(false);
        expect(messages.map((combobox) => combobox.setCustomValidity.mock.calls[0][0])).toEqual([
            'Choose a connection.',
            '',
            'The set already grants this connection: put its groups in one grant.'
        ]);
    });

    it('when asked for the grants to save, then the valid draft is returned and nothing is sent to Apex', async () => {
        const draft = [{ id: null, connectionId: CALENDLY, groups: 'Sales\nEMEA', role: 'Admin' }];
        const element = createEditor({ grants: draft });
        await flushPromises();

        const toSave = element.grantsToSave();

        expect(toSave).toEqual({ valid: true, grants: draft });
    });

    it('when a grant is not valid, then grantsToSave() says so and returns no grants', async () => {
        const element = createEditor({ grants: [{ id: null, connectionId: null, groups: 'A', role: '' }] });
        await flushPromises();
        const combobox = element.shadowRoot.querySelector('lightning-combobox.connection');
        combobox.setCustomValidity = jest.fn();

        const toSave = element.grantsToSave();

        expect(toSave).toEqual({ valid: false });
        expect(combobox.setCustomValidity).toHaveBeenCalledWith('Choose a connection.');
    });

    it('when the saved grants of a set are not read yet or cannot be, then grantsToSave() returns null grants (kept as saved)', async () => {
        let answer;
        getAccessGrants.mockReturnValue(
            new Promise((resolve) => {
                answer = resolve;
            })
        );
        const element = createEditor({ conditionSetId: SET_ID });
        await flushPromises();

        expect(element.grantsToSave()).toEqual({ valid: true, grants: null });
        answer([SAVED_GRANT]);
        await flushPromises();
        expect(element.grantsToSave()).toEqual({
            valid: true,
            grants: [{ id: SAVED_GRANT.id, connectionId: CALENDLY, groups: 'Sales\nEMEA', role: 'Admin' }]
        });

        getAccessGrants.mockRejectedValue({ body: { message: 'Unreadable' } });
        const unreadable = createEditor({ conditionSetId: SET_ID });
        await flushPromises();
        expect(unreadable.grantsToSave()).toEqual({ valid: true, grants: null });
    });

    it('when there is no connection, then it says where to create one', async () => {
        getConnectionOptions.mockResolvedValue([]);
        const element = createEditor({});
        await flushPromises();
        expect(element.shadowRoot.querySelector('.no-connections').textContent).toContain('Connections tab');
    });

    it('is accessible', async () => {
        getAccessGrants.mockResolvedValue([SAVED_GRANT]);
        const element = createEditor({ conditionSetId: SET_ID });
        await flushPromises();
        await expect(element).toBeAccessible();
    });
});
