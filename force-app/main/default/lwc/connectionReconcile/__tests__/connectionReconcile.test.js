import { createElement } from 'lwc';
import ConnectionReconcile from 'c/connectionReconcile';
import compareWithApp from '@salesforce/apex/ConnectionController.compareWithApp';
import adoptAccounts from '@salesforce/apex/ConnectionController.adoptAccounts';
import ConfirmDialog from 'c/confirmDialog';

jest.mock('@salesforce/apex/ConnectionController.compareWithApp', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex/ConnectionController.adoptAccounts', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('c/confirmDialog', () => ({ __esModule: true, default: { open: jest.fn() } }));

const CONNECTION_ID = 'a0C000000000001AAA';
const COMPARED = {
    connectionName: 'Demo SCIM app',
    connectionKey: 'demo-scim',
    appAccounts: 6,
    recorded: 1,
    adoptable: {
        count: 3,
        entries: [
            { appId: 'app-1', userName: 'ada@example.com', userId: '005A', active: true, note: null },
            { appId: 'app-2', userName: 'bob@example.com', userId: '005B', active: false, note: null }
        ]
    },
    manual: {
        count: 1,
        entries: [
            {
                appId: 'app-3',
                userName: 'eve@example.com',
                userId: '005E',
                active: true,
                note: 'user inactive'
            }
        ]
    },
    toCreate: {
        count: 4,
        entries: [{ appId: null, userName: 'new@example.com', userId: '005N', active: null, note: null }]
    },
    noUser: {
        count: 1,
        entries: [{ appId: 'app-9', userName: 'ghost@example.com', userId: null, active: true, note: null }]
    }
};

async function flushPromises() {
    for (let i = 0; i < 6; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

function create() {
    const element = createElement('c-connection-reconcile', { is: ConnectionReconcile });
    element.connectionName = 'Demo SCIM app';
    element.connectionId = CONNECTION_ID;
    document.body.appendChild(element);
    return element;
}

describe('c-connection-reconcile', () => {
    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
    });

    it('when the service compares, then the four lists show with their counts and the first entries', async () => {
        compareWithApp.mockResolvedValue(COMPARED);
        const element = create();
        await flushPromises();

        expect(compareWithApp).toHaveBeenCalledWith({ connectionId: CONNECTION_ID });
        const root = element.shadowRoot;
        expect([...root.querySelectorAll('.list-title')].map((title) => title.textContent)).toEqual([
            'Adoptable as Rule (3)',
            'Matching a user, no rule: left Manual (1)',
            'Users the rules would create (4)',
            'App accounts with no Salesforce user (1)'
        ]);
        expect(root.querySelector('.reconcile-summary').textContent).toBe(
            '6 app accounts read; 1 already recorded by Rollcall (not listed below). Nothing changes until you adopt.'
        );
        expect(root.querySelector('.list-adoptable .shown').textContent).toBe('The first 2 of 3 are listed.');
        const table = root.querySelector('lightning-datatable.adoptable-table');
        expect(table.data.map((row) => [row.userName, row.state])).toEqual([
            ['ada@example.com', 'active'],
            ['bob@example.com', 'inactive']
        ]);
        expect(root.querySelector('.list-toCreate td:nth-child(2)').textContent).toBe('no account');
        expect(root.querySelector('.list-manual td:nth-child(3)').textContent).toBe('user inactive');
        expect(root.querySelector('lightning-button.adopt-all').label).toBe('Adopt all 3');
        expect(root.querySelector('lightning-button.adopt-selected').disabled).toBe(true);
    });

    it('when the admin adopts the selected rows and confirms, then only those are sent and the lists read again', async () => {
        compareWithApp.mockResolvedValue(COMPARED);
        ConfirmDialog.open.mockResolvedValue(true);
        adoptAccounts.mockResolvedValue({ adopted: 1, notAdoptable: [], failures: [] });
        const element = create();
        await flushPromises();
        const root = element.shadowRoot;

        root.querySelector('lightning-datatable.adoptable-table').dispatchEvent(
            new CustomEvent('rowselection', { detail: { selectedRows: [COMPARED.adoptable.entries[1]] } })
        );
        await flushPromises();
        expect(root.querySelector('lightning-button.adopt-selected').label).toBe('Adopt selected (1)');
        root.querySelector('lightning-button.adopt-selected').click();
        await flushPromises();
        await flushPromises();

        const dialog = ConfirmDialog.open.mock.calls[0][0];
        expect(dialog.confirmLabel).toBe('Adopt 1 Account');
        expect(dialog.message).toContain('Adopt 1 account of Demo SCIM app as Rule accounts?');
        expect(adoptAccounts).toHaveBeenCalledWith({
            connectionId: CONNECTION_ID,
            appIds: ['app-2'],
            adoptAll: false
        });
        expect(compareWithApp).toHaveBeenCalledTimes(2);
        expect(root.querySelector('.adopt-outcome').textContent).toBe('1 account adopted.');
    });

    it('when the admin adopts all, then the service is asked for all adoptable now', async () => {
        compareWithApp.mockResolvedValue(COMPARED);
        ConfirmDialog.open.mockResolvedValue(true);
        adoptAccounts.mockResolvedValue({
            adopted: 2,
            notAdoptable: ['app-7'],
            failures: ['app-2: HTTP 500']
        });
        const element = create();
        await flushPromises();

        element.shadowRoot.querySelector('lightning-button.adopt-all').click();
        await flushPromises();
        await flushPromises();

        expect(ConfirmDialog.open.mock.calls[0][0].confirmLabel).toBe('Adopt 3 Accounts');
        expect(adoptAccounts).toHaveBeenCalledWith({
            connectionId: CONNECTION_ID,
            appIds: null,
            adoptAll: true
        });
        expect(element.shadowRoot.querySelector('.adopt-outcome').textContent).toBe(
            '2 accounts adopted. 1 account was no longer adoptable. Failed: app-2: HTTP 500.'
        );
    });

    it('when the admin cancels the confirmation, then nothing is adopted', async () => {
        compareWithApp.mockResolvedValue(COMPARED);
        ConfirmDialog.open.mockResolvedValue(undefined);
        const element = create();
        await flushPromises();

        element.shadowRoot.querySelector('lightning-button.adopt-all').click();
        await flushPromises();

        expect(ConfirmDialog.open).toHaveBeenCalled();
        expect(adoptAccounts).not.toHaveBeenCalled();
    });

    it('when the app cannot be read, then the reason is shown', async () => {
        compareWithApp.mockRejectedValue({
            body: { message: 'Connection "demo-scim" is not configured in the service' }
        });
        const element = create();
        await flushPromises();
        expect(element.shadowRoot.querySelector('c-error-panel').errors.body.message).toContain(
            'not configured'
        );
    });

    it('is accessible', async () => {
        compareWithApp.mockResolvedValue(COMPARED);
        const element = create();
        await flushPromises();
        await expect(element).toBeAccessible();
    });
});
