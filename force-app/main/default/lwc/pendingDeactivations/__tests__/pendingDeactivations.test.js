import { createElement } from 'lwc';
import PendingDeactivations from 'c/pendingDeactivations';
import getPendingDeactivations from '@salesforce/apex/ConnectionController.getPendingDeactivations';

jest.mock('@salesforce/apex/ConnectionController.getPendingDeactivations', () => ({ default: jest.fn() }), {
    virtual: true
});

const CONNECTION_ID = 'a0C000000000001AAA';
const ANSWER = {
    connectionName: 'Demo SCIM app',
    connectionKey: 'demo-scim',
    graceDays: 7,
    pending: [
        {
            userId: '005000000000001AAA',
            userName: 'Ada Lovelace',
            unmatchedSince: '2026-12-01T09:00:00.000Z',
            due: '2026-12-08T09:00:00.000Z',
            why: 'set "Sales managers" stopped matching: 2. Department equals "Sales" (is "Marketing")'
        },
        {
            userId: '005000000000002AAA',
            userName: 'Grace Hopper',
            unmatchedSince: '2026-12-02T09:00:00.000Z',
            due: '2026-12-09T09:00:00.000Z',
            why: 'the set no longer grants this connection (or is inactive)'
        }
    ]
};

async function flushPromises() {
    for (let i = 0; i < 5; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

function create() {
    const element = createElement('c-pending-deactivations', { is: PendingDeactivations });
    element.connectionName = 'Demo SCIM app';
    element.connectionId = CONNECTION_ID;
    document.body.appendChild(element);
    return element;
}

describe('c-pending-deactivations', () => {
    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
    });

    it('when accounts wait out their grace, then each is listed with since, due and why', async () => {
        getPendingDeactivations.mockResolvedValue(ANSWER);
        const element = create();
        await flushPromises();

        expect(getPendingDeactivations).toHaveBeenCalledWith({ connectionId: CONNECTION_ID });
        const root = element.shadowRoot;
        expect(root.querySelector('.pending-heading').textContent).toBe(
            'Pending deactivations of Demo SCIM app'
        );
        expect(root.querySelector('.pending-summary').textContent).toBe(
            '2 accounts wait out the grace (grace: 7 days); the first run after the date deactivates them unless their users match again.'
        );
        const rows = [...root.querySelectorAll('tbody tr')];
        expect(rows).toHaveLength(2);
        const cells = rows[0].querySelectorAll('td');
        expect(cells[0].textContent).toBe('Ada Lovelace');
        expect(cells[1].querySelector('lightning-formatted-date-time').value).toBe(
            '2026-12-01T09:00:00.000Z'
        );
        expect(cells[2].querySelector('lightning-formatted-date-time').value).toBe(
            '2026-12-08T09:00:00.000Z'
        );
        expect(cells[3].textContent).toBe(ANSWER.pending[0].why);
    });

    it('when no account waits, then it says so', async () => {
        getPendingDeactivations.mockResolvedValue({ ...ANSWER, graceDays: 1, pending: [] });
        const element = create();
        await flushPromises();
        expect(element.shadowRoot.querySelector('.pending-summary').textContent).toBe(
            'No account is waiting out its grace (grace: 1 day).'
        );
        expect(element.shadowRoot.querySelector('table')).toBeNull();
    });

    it('when the service cannot answer, then the reason is shown', async () => {
        getPendingDeactivations.mockRejectedValue({
            body: { message: 'Could not reach the Rollcall service' }
        });
        const element = create();
        await flushPromises();
        expect(element.shadowRoot.querySelector('c-error-panel').errors).toEqual({
            body: { message: 'Could not reach the Rollcall service' }
        });
    });

    it('when the admin closes it, then it says so', async () => {
        getPendingDeactivations.mockResolvedValue(ANSWER);
        const element = create();
        const closed = jest.fn();
        element.addEventListener('close', closed);
        await flushPromises();
        element.shadowRoot.querySelector('lightning-button.close').click();
        expect(closed).toHaveBeenCalled();
    });

    it('when it sits inside another screen, then it has no Close button', async () => {
        getPendingDeactivations.mockResolvedValue(ANSWER);
        const element = createElement('c-pending-deactivations', { is: PendingDeactivations });
        element.hideClose = true;
        element.connectionId = CONNECTION_ID;
        document.body.appendChild(element);
        await flushPromises();
        expect(element.shadowRoot.querySelector('lightning-button.close')).toBeNull();
        expect(element.shadowRoot.querySelectorAll('tbody tr')).toHaveLength(2);
    });

    it('is accessible', async () => {
        getPendingDeactivations.mockResolvedValue(ANSWER);
        const element = create();
        await flushPromises();
        await expect(element).toBeAccessible();
    });
});
