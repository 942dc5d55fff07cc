import { createElement } from 'lwc';
import ConnectionList from 'c/connectionList';
import LightningConfirm from 'lightning/confirm';
import getConnections from '@salesforce/apex/ConnectionController.getConnections';
import testConnection from '@salesforce/apex/ConnectionController.testConnection';
import deleteConnection from '@salesforce/apex/ConnectionController.deleteConnection';

const mockConnections = require('./data/connections.json');

jest.mock('@salesforce/apex/ConnectionController.getConnections', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex/ConnectionController.testConnection', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex/ConnectionController.deleteConnection', () => ({ default: jest.fn() }), {
    virtual: true
});
// The editor opens in place; its own Apex is not under test here.
jest.mock(
    '@salesforce/apex/ConnectionController.getMappingOptions',
    () => ({ default: jest.fn(() => new Promise(() => {})) }),
    { virtual: true }
);
jest.mock('@salesforce/apex/ConnectionController.getConnection', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex/ConnectionController.saveConnection', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('lightning/confirm', () => ({ __esModule: true, default: { open: jest.fn() } }));
// The review panels load their own data; not under test here.
jest.mock(
    '@salesforce/apex/ConnectionController.getPendingDeactivations',
    () => ({ default: jest.fn(() => new Promise(() => {})) }),
    { virtual: true }
);
jest.mock(
    '@salesforce/apex/ConnectionController.compareWithApp',
    () => ({ default: jest.fn(() => new Promise(() => {})) }),
    { virtual: true }
);

const CALENDLY = mockConnections.connections[0];

async function flushPromises() {
    for (let i = 0; i < 6; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

function createList() {
    const element = createElement('c-connection-list', { is: ConnectionList });
    document.body.appendChild(element);
    return element;
}

function rowAction(element, name, row) {
    element.shadowRoot
        .querySelector('lightning-datatable')
        .dispatchEvent(new CustomEvent('rowaction', { detail: { action: { name }, row } }));
}

describe('c-connection-list', () => {
    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
    });

    it('when the service answers, then each connection shows its status and the reason, said once', async () => {
        getConnections.mockResolvedValue(mockConnections);
        const element = createList();
        await flushPromises();

        const table = element.shadowRoot.querySelector('lightning-datatable');
        expect(table.data.map((row) => [row.name, row.statusText])).toEqual([
            ['Calendly', 'Unreachable: HTTP 503 from /ServiceProviderConfig'],
            ['Zoom', 'Not configured in the service: CONNECTIONS_FILE has no entry "zoom"']
        ]);
        expect(table.columns.map((column) => column.label).filter(Boolean)).toEqual([
            'Name',
            'Key',
            'Active',
            'Match On',
            'Granted by sets',
            'Status'
        ]);
        expect(element.shadowRoot.querySelector('.service-unreachable')).toBeNull();
        expect(element.shadowRoot.querySelector('.not-in-org').textContent.trim()).toBe(
            'The service also has an entry for zendesk, which no connection here uses.'
        );
    });

    it('when the service is unreachable, then the list still shows and says so', async () => {
        getConnections.mockResolvedValue({
            serviceReachable: false,
            serviceMessage: 'Could not reach the Rollcall service (Read timed out).',
            notInOrg: [],
            connections: [{ ...CALENDLY, status: 'Service unreachable', problem: null }]
        });
        const element = createList();
        await flushPromises();

        expect(element.shadowRoot.querySelector('lightning-datatable').data[0].statusText).toBe(
            'Service unreachable'
        );
        expect(element.shadowRoot.querySelector('.service-unreachable').textContent).toContain(
            'Service unreachable: the connections below are the org'
        );
    });

    it('when the admin tests a connection, then what the app supports is listed and focused', async () => {
        getConnections.mockResolvedValue(mockConnections);
        testConnection.mockResolvedValue({
            key: 'calendly',
            configured: true,
            reachable: true,
            problem: null,
            filterSupported: true,
            maxResults: 200,
            patchSupported: true,
            bulkSupported: false,
            bulkMaxOperations: null,
            etagSupported: true,
            sortSupported: false,
            resourceTypes: ['User', 'Group'],
            userSchemaExtensions: []
        });
        const element = createList();
        await flushPromises();

        rowAction(element, 'test', CALENDLY);
        await flushPromises();

        expect(testConnection).toHaveBeenCalledWith({ connectionId: CALENDLY.id });
        const result = element.shadowRoot.querySelector('.test-result');
        expect(result.querySelector('.test-heading').textContent.trim()).toBe('Test of Calendly: reachable');
        const values = [...result.querySelectorAll('dd')].map((dd) => dd.textContent);
        expect(values).toEqual([
            'supported (max 200 results)',
            'supported',
            'not supported',
            'supported',
            'not supported',
            'User, Group',
            'none'
        ]);
        expect(element.shadowRoot.activeElement).toBe(result.querySelector('.test-heading'));
    });

    it('when the app cannot be reached, then the test says why', async () => {
        getConnections.mockResolvedValue(mockConnections);
        testConnection.mockResolvedValue({
            key: 'calendly',
            configured: true,
            reachable: false,
            problem: 'connect ECONNREFUSED 127.0.0.1:9'
        });
        const element = createList();
        await flushPromises();
        rowAction(element, 'test', CALENDLY);
        await flushPromises();
        const result = element.shadowRoot.querySelector('.test-result');
        expect(result.querySelector('.test-heading').textContent.trim()).toBe(
            'Test of Calendly: not reachable'
        );
        expect(result.querySelector('.test-problem').textContent).toBe('connect ECONNREFUSED 127.0.0.1:9');
        expect(result.querySelector('dl')).toBeNull();
    });

    it('when the admin confirms a delete, then it is deleted and the list read again', async () => {
        getConnections.mockResolvedValue(mockConnections);
        LightningConfirm.open.mockResolvedValue(true);
        deleteConnection.mockResolvedValue(null);
        const element = createList();
        await flushPromises();

        rowAction(element, 'delete', CALENDLY);
        await flushPromises();

        expect(deleteConnection).toHaveBeenCalledWith({ connectionId: CALENDLY.id });
        expect(getConnections).toHaveBeenCalledTimes(2);
    });

    it('when a delete is refused, then the reason is shown', async () => {
        getConnections.mockResolvedValue(mockConnections);
        LightningConfirm.open.mockResolvedValue(true);
        deleteConnection.mockRejectedValue({
            body: { message: 'Condition sets still grant Calendly (2 grants).' }
        });
        const element = createList();
        await flushPromises();
        rowAction(element, 'delete', CALENDLY);
        await flushPromises();
        expect(element.shadowRoot.querySelector('c-error-panel').errors.body.message).toBe(
            'Condition sets still grant Calendly (2 grants).'
        );
    });

    it('when the admin clicks New Connection or Edit, then the editor opens in place', async () => {
        getConnections.mockResolvedValue(mockConnections);
        const element = createList();
        await flushPromises();
        element.shadowRoot.querySelector('lightning-button.create').click();
        await flushPromises();
        const editor = element.shadowRoot.querySelector('c-connection-editor');
        expect(editor).not.toBeNull();
        expect(editor.recordId).toBeNull();
        editor.dispatchEvent(new CustomEvent('cancel'));
        await flushPromises();
        rowAction(element, 'edit', CALENDLY);
        await flushPromises();
        expect(element.shadowRoot.querySelector('c-connection-editor').recordId).toBe(CALENDLY.id);
    });

    it('when the admin chooses Pending deactivations or Compare with the app, then that panel opens below the list for the row', async () => {
        getConnections.mockResolvedValue(mockConnections);
        const element = createList();
        await flushPromises();
        const root = element.shadowRoot;
        const actions = root
            .querySelector('lightning-datatable')
            .columns.find((column) => column.type === 'action').typeAttributes.rowActions;
        expect(actions.map((action) => action.label)).toEqual([
            'Edit',
            'Test connection',
            'Pending deactivations',
            'Compare with the app',
            'Delete'
        ]);

        rowAction(element, 'pending', CALENDLY);
        await flushPromises();
        const pending = root.querySelector('c-pending-deactivations');
        expect(pending.connectionId).toBe(CALENDLY.id);
        expect(pending.connectionName).toBe(CALENDLY.name);
        expect(root.querySelector('c-connection-reconcile')).toBeNull();

        rowAction(element, 'reconcile', CALENDLY);
        await flushPromises();
        expect(root.querySelector('c-pending-deactivations')).toBeNull();
        expect(root.querySelector('c-connection-reconcile').connectionId).toBe(CALENDLY.id);

        root.querySelector('c-connection-reconcile').dispatchEvent(new CustomEvent('close'));
        await flushPromises();
        expect(root.querySelector('c-connection-reconcile')).toBeNull();
    });

    it('is accessible', async () => {
        getConnections.mockResolvedValue(mockConnections);
        const element = createList();
        await flushPromises();
        await expect(element).toBeAccessible();
    });
});
