import { createElement } from 'lwc';
import ConnectionEditor from 'c/connectionEditor';
import getMappingOptions from '@salesforce/apex/ConnectionController.getMappingOptions';
import getConnection from '@salesforce/apex/ConnectionController.getConnection';
import saveConnection from '@salesforce/apex/ConnectionController.saveConnection';

const mockOptions = require('./data/mappingOptions.json');

jest.mock('@salesforce/apex/ConnectionController.getMappingOptions', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex/ConnectionController.getConnection', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex/ConnectionController.saveConnection', () => ({ default: jest.fn() }), {
    virtual: true
});

const CONNECTION_ID = 'a0C000000000001AAA';
const SHOW_TOAST_EVENT = 'lightning__showtoast';
const SAVED = {
    id: CONNECTION_ID,
    name: 'Calendly',
    key: 'calendly',
    active: true,
    matchOn: 'Email',
    attributeMap:
        '{"title":{"field":"Title"},"active":{"value":true},"locale":{"value":"en-US"},"nickName":{"role":true}}',
    deprovisioning: 'Off',
    graceDays: 7,
    breakerMaxCount: 25,
    breakerMaxPercent: 10,
    grantCount: 1,
    status: 'Reachable',
    problem: null
};

async function flushPromises() {
    for (let i = 0; i < 5; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

function createEditor(props) {
    const element = createElement('c-connection-editor', { is: ConnectionEditor });
    Object.assign(element, props);
    document.body.appendChild(element);
    return element;
}

function change(control, value) {
    control.value = value;
    control.dispatchEvent(new CustomEvent('change', { detail: { value } }));
}

describe('c-connection-editor', () => {
    beforeEach(() => {
        getMappingOptions.mockResolvedValue(mockOptions);
    });

    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
    });

    it('when a connection is edited, then its mapping is shown as rows of a path and a field, constant or role', async () => {
        getConnection.mockResolvedValue(SAVED);
        const element = createEditor({ recordId: CONNECTION_ID });
        await flushPromises();

        const root = element.shadowRoot;
        expect(root.querySelector('lightning-input.name').value).toBe('Calendly');
        expect(root.querySelector('lightning-input.key').value).toBe('calendly');
        expect(root.querySelector('lightning-combobox.match-on').value).toBe('Email');
        const paths = [...root.querySelectorAll('lightning-input.path')].map((input) => input.value);
        expect(paths).toEqual(['title', 'active', 'locale', 'nickName']);
        const picker = root.querySelector('c-field-picker');
        expect(picker.value).toBe('Title');
        expect(picker.fields).toEqual(mockOptions.fields);
        expect([...root.querySelectorAll('lightning-input.constant')].map((input) => input.value)).toEqual([
            'true',
            'en-US'
        ]);
        expect(root.querySelector('lightning-card').title).toBe('Edit Calendly');
    });

    it('when a connection is edited, then its deprovisioning settings are shown, editable, with the defaults in the help', async () => {
        getConnection.mockResolvedValue(SAVED);
        const element = createEditor({ recordId: CONNECTION_ID });
        await flushPromises();
        const section = element.shadowRoot.querySelector('section.deprovisioning');
        const controls = [...section.querySelectorAll('lightning-combobox, lightning-input')];
        expect(controls.map((control) => control.label)).toEqual([
            'Deprovisioning',
            'Grace days',
            'Breaker max count',
            'Breaker max percent'
        ]);
        expect(controls.some((control) => control.disabled)).toBe(false);
        expect(controls.map((control) => control.value)).toEqual(['Off', 7, 25, 10]);
        expect(controls[1].fieldLevelHelp).toContain('Blank: 7 days');
        expect(controls[2].fieldLevelHelp).toContain('Blank: 50');
        expect(controls[3].fieldLevelHelp).toContain('Blank: 20%');
        expect(controls[3].placeholder).toBe('20 (default)');
        expect(section.textContent).not.toContain('later release');
    });

    it('when the admin turns deprovisioning on with limits, then Apex gets them (blank as null)', async () => {
        getConnection.mockResolvedValue(SAVED);
        saveConnection.mockResolvedValue(CONNECTION_ID);
        const element = createEditor({ recordId: CONNECTION_ID });
        await flushPromises();
        const root = element.shadowRoot;
        change(root.querySelector('lightning-combobox.deprovisioning-mode'), 'Deactivate');
        change(root.querySelector('lightning-input.grace-days'), '0');
        change(root.querySelector('lightning-input.breaker-count'), '');
        change(root.querySelector('lightning-input.breaker-percent'), '40');
        root.querySelector('lightning-button.save').click();
        await flushPromises();

        const sent = saveConnection.mock.calls[0][0].connection;
        expect(sent).toMatchObject({
            id: CONNECTION_ID,
            deprovisioning: 'Deactivate',
            graceDays: 0,
            breakerMaxCount: null,
            breakerMaxPercent: 40
        });
    });

    it.each([
        ['lightning-input.grace-days', '-1', 'Enter a whole number of days from 0 to 9999, or leave blank.'],
        ['lightning-input.grace-days', '1.5', 'Enter a whole number of days from 0 to 9999, or leave blank.'],
        ['lightning-input.breaker-count', '-3', 'Enter a whole number, 0 or more, or leave blank.'],
        ['lightning-input.breaker-percent', '101', 'Enter a whole percent from 0 to 100, or leave blank.'],
        ['lightning-input.breaker-percent', 'abc', 'Enter a whole percent from 0 to 100, or leave blank.']
    ])(
        'when %s is %s, then nothing is saved and the field says what to write',
        async (selector, value, hint) => {
            getConnection.mockResolvedValue(SAVED);
            const element = createEditor({ recordId: CONNECTION_ID });
            await flushPromises();
            const input = element.shadowRoot.querySelector(selector);
            input.setCustomValidity = jest.fn();
            change(input, value);
            element.shadowRoot.querySelector('lightning-button.save').click();
            await flushPromises();

            expect(saveConnection).not.toHaveBeenCalled();
            expect(input.setCustomValidity).toHaveBeenLastCalledWith(hint);
        }
    );

    it('when the admin creates a connection with a mapping, then Apex gets the mapping as JSON', async () => {
        saveConnection.mockResolvedValue(CONNECTION_ID);
        const element = createEditor({});
        const saved = jest.fn();
        const toast = jest.fn();
        element.addEventListener('saved', saved);
        element.addEventListener(SHOW_TOAST_EVENT, toast);
        await flushPromises();
        const root = element.shadowRoot;
        change(root.querySelector('lightning-input.name'), ' Calendly ');
        change(root.querySelector('lightning-input.key'), 'calendly');
        change(root.querySelector('lightning-combobox.match-on'), 'Email');

        root.querySelector('lightning-button.add-row').click();
        await flushPromises();
        change(
            root.querySelector('lightning-input.path'),
            'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department'
        );
        root.querySelector('c-field-picker').dispatchEvent(
            new CustomEvent('change', { detail: { value: 'Department' } })
        );
        root.querySelector('lightning-button.add-row').click();
        await flushPromises();
        const secondPath = root.querySelectorAll('lightning-input.path')[1];
        change(secondPath, 'active');
        const source = root.querySelectorAll('lightning-combobox.source')[1];
        change(source, 'value');
        await flushPromises();
        change(root.querySelector('lightning-input.constant'), 'false');
        await flushPromises();

        root.querySelector('lightning-button.save').click();
        await flushPromises();

        expect(saveConnection).toHaveBeenCalledWith({
            connection: {
                id: undefined,
                name: 'Calendly',
                key: 'calendly',
                active: true,
                matchOn: 'Email',
                attributeMap: JSON.stringify({
                    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department': {
                        field: 'Department'
                    },
                    active: { value: false }
                }),
                deprovisioning: 'Off',
                graceDays: null,
                breakerMaxCount: null,
                breakerMaxPercent: null
            }
        });
        expect(saved.mock.calls[0][0].detail).toEqual({ id: CONNECTION_ID });
        expect(toast.mock.calls[0][0].detail.title).toBe('Connection saved');
    });

    it('when a row has no path or no field, then it is not saved and the rows say why', async () => {
        const element = createEditor({});
        await flushPromises();
        const root = element.shadowRoot;
        change(root.querySelector('lightning-input.name'), 'Calendly');
        change(root.querySelector('lightning-input.key'), 'calendly');
        root.querySelector('lightning-button.add-row').click();
        await flushPromises();

        root.querySelector('lightning-button.save').click();
        await flushPromises();

        expect(saveConnection).not.toHaveBeenCalled();
        expect(root.querySelector('.path-error').textContent.trim()).toBe(
            'Enter a SCIM attribute, e.g. title or name.givenName.'
        );
        expect(root.querySelector('c-field-picker').error).toBe('Choose a User field.');
    });

    it('when the key is not one the service can name, then it is not saved', async () => {
        const element = createEditor({});
        await flushPromises();
        const root = element.shadowRoot;
        change(root.querySelector('lightning-input.name'), 'Calendly');
        change(root.querySelector('lightning-input.key'), 'has space');
        const key = root.querySelector('lightning-input.key');
        key.setCustomValidity = jest.fn();

        root.querySelector('lightning-button.save').click();
        await flushPromises();

        expect(saveConnection).not.toHaveBeenCalled();
        expect(key.setCustomValidity).toHaveBeenCalledWith(
            'Use 1 to 40 letters, digits, ".", "_" or "-", starting with a letter or digit.'
        );
    });

    it('when Apex refuses the mapping, then its message is shown', async () => {
        saveConnection.mockRejectedValue({
            body: { message: 'The attribute mapping is not valid. "title" reads the User field "Nope".' }
        });
        const element = createEditor({});
        await flushPromises();
        const root = element.shadowRoot;
        change(root.querySelector('lightning-input.name'), 'Calendly');
        change(root.querySelector('lightning-input.key'), 'calendly');
        root.querySelector('lightning-button.save').click();
        await flushPromises();
        expect(root.querySelector('c-error-panel').errors.body.message).toContain(
            '"title" reads the User field'
        );
    });

    it('is accessible', async () => {
        getConnection.mockResolvedValue(SAVED);
        const element = createEditor({ recordId: CONNECTION_ID });
        await flushPromises();
        await expect(element).toBeAccessible();
    });
});
