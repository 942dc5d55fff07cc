import { createElement } from 'lwc';
import RunActions from 'c/runActions';
import getRunActions from '@salesforce/apex/ConnectionController.getRunActions';
import approveHeldRemovals from '@salesforce/apex/ConnectionController.approveHeldRemovals';
import ConfirmDialog from 'c/confirmDialog';

const mockActions = require('./data/runActions.json');
const mockHeld = require('./data/heldActions.json');

jest.mock('@salesforce/apex/ConnectionController.approveHeldRemovals', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('c/confirmDialog', () => ({ __esModule: true, default: { open: jest.fn() } }));
jest.mock(
    '@salesforce/apex/ConnectionController.getPendingDeactivations',
    () => ({ default: jest.fn(() => new Promise(() => {})) }),
    { virtual: true }
);

jest.mock('@salesforce/apex/ConnectionController.getRunActions', () => ({ default: jest.fn() }), {
    virtual: true
});

const RUN_ID = 'a01000000000001AAA';

async function flushPromises() {
    for (let i = 0; i < 5; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

function createRunActions(props) {
    const element = createElement('c-run-actions', { is: RunActions });
    Object.assign(element, props);
    document.body.appendChild(element);
    return element;
}

describe('c-run-actions', () => {
    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
    });

    it('when a run has actions, then it shows them by connection with counts by kind and status', async () => {
        getRunActions.mockResolvedValue(mockActions);
        const element = createRunActions({ runId: RUN_ID, runStatus: 'Completed' });
        await flushPromises();

        expect(getRunActions).toHaveBeenCalledWith({ runId: RUN_ID });
        const root = element.shadowRoot;
        expect(root.querySelector('.actions-summary').textContent).toBe('4 actions in 2 apps.');
        const titles = [...root.querySelectorAll('.connection-title')].map((title) => title.textContent);
        expect(titles).toEqual(['Calendly (calendly)', 'Zendesk (zendesk)']);
        expect(root.querySelector('.kind-totals').textContent).toBe('2 group adds, 1 create');
        expect(root.querySelector('.status-totals').textContent).toBe('2 Done, 1 Failed');
        const firstTable = root.querySelector('table');
        expect(firstTable.getAttribute('aria-label')).toBe('Calendly (calendly)');
        const cells = [...firstTable.querySelectorAll('tbody tr')[2].querySelectorAll('td')].map(
            (cell) => cell.textContent
        );
        expect(cells).toEqual([
            'Ada Lovelace',
            'Add To Group',
            'group EMEA',
            'Failed',
            'No group named EMEA in the app'
        ]);
    });

    it('when a run has no actions, then it shows nothing', async () => {
        getRunActions.mockResolvedValue({ totalActions: 0, truncated: false, connections: [] });
        const element = createRunActions({ runId: RUN_ID });
        await flushPromises();
        expect(element.shadowRoot.querySelector('section')).toBeNull();
    });

    it('when the run status changes, then the actions are read again', async () => {
        getRunActions.mockResolvedValue(mockActions);
        const element = createRunActions({ runId: RUN_ID, runStatus: 'Previewed' });
        await flushPromises();
        element.runStatus = 'Previewed';
        element.runStatus = 'Completed';
        await flushPromises();
        expect(getRunActions).toHaveBeenCalledTimes(2);
    });

    it('when the actions cannot be read, then the error is shown', async () => {
        getRunActions.mockRejectedValue({ body: { message: 'You need the Rollcall Admin permission set' } });
        const element = createRunActions({ runId: RUN_ID });
        await flushPromises();
        const panel = element.shadowRoot.querySelector('c-error-panel');
        expect(panel).not.toBeNull();
        expect(panel.friendlyMessage).toBe('The actions in other apps could not be loaded');
    });

    it('when the actions are read, then it tells the parent their totals, held ones included (loaded)', async () => {
        // Arrange
        getRunActions.mockResolvedValue({ ...mockHeld, runStatus: 'Previewed', canApproveHeld: false });
        const loaded = jest.fn();
        const element = createElement('c-run-actions', { is: RunActions });
        element.addEventListener('loaded', loaded);

        // Act
        element.runId = RUN_ID;
        element.runStatus = 'Previewed';
        document.body.appendChild(element);
        await flushPromises();

        // Assert
        expect(loaded).toHaveBeenCalledTimes(1);
        expect(loaded.mock.calls[0][0].detail).toEqual({ runId: RUN_ID, totalActions: 3, heldCount: 2 });
    });

    it('when a run has no actions or they cannot be read, then loaded says 0 or loadfailed says which run', async () => {
        // Arrange
        getRunActions
            .mockResolvedValueOnce({ totalActions: 0, truncated: false, connections: [] })
            .mockRejectedValueOnce({ body: { message: 'Service unavailable' } });
        const loaded = jest.fn();
        const loadFailed = jest.fn();
        const element = createElement('c-run-actions', { is: RunActions });
        element.addEventListener('loaded', loaded);
        element.addEventListener('loadfailed', loadFailed);

        // Act
        element.runId = RUN_ID;
        document.body.appendChild(element);
        await flushPromises();
        element.runId = 'a01000000000002AAA';
        await flushPromises();

        // Assert
        expect(getRunActions).toHaveBeenCalledTimes(2);
        expect(loaded).toHaveBeenCalledTimes(1);
        expect(loaded.mock.calls[0][0].detail).toEqual({ runId: RUN_ID, totalActions: 0, heldCount: 0 });
        expect(loadFailed).toHaveBeenCalledTimes(1);
        expect(loadFailed.mock.calls[0][0].detail).toEqual({ runId: 'a01000000000002AAA' });
    });

    it('when a connection has more than 20 actions, then the first 20 are listed until the admin asks for all', async () => {
        const many = Array.from({ length: 45 }, (_, index) => ({
            id: `a0A0000000000${String(index).padStart(2, '0')}AAA`,
            userId: '005000000000001AAA',
            userName: `User ${index}`,
            kind: 'Create',
            status: 'Pending',
            reason: null,
            summary: `userName user${index}@example.com`
        }));
        getRunActions.mockResolvedValue({
            totalActions: 45,
            truncated: false,
            connections: [
                {
                    connectionName: 'Calendly',
                    connectionKey: 'calendly',
                    kindTotals: [{ label: 'Create', count: 45 }],
                    statusTotals: [{ label: 'Pending', count: 45 }],
                    actions: many
                }
            ]
        });
        const element = createRunActions({ runId: RUN_ID });
        await flushPromises();
        const rows = () => element.shadowRoot.querySelectorAll('tbody tr').length;
        expect(rows()).toBe(20);
        const toggle = element.shadowRoot.querySelector('lightning-button.toggle');
        expect(toggle.label).toBe('Show all 45 actions of Calendly (calendly)');

        toggle.click();
        await flushPromises();

        expect(rows()).toBe(45);
        expect(element.shadowRoot.querySelector('lightning-button.toggle').label).toBe(
            'Show the first 20 actions of Calendly (calendly)'
        );
    });

    it('is accessible', async () => {
        getRunActions.mockResolvedValue(mockActions);
        const element = createRunActions({ runId: RUN_ID });
        await flushPromises();
        await expect(element).toBeAccessible();
    });

    it('is accessible with held removals', async () => {
        getRunActions.mockResolvedValue(mockHeld);
        const element = createRunActions({ runId: RUN_ID, runStatus: 'Completed' });
        await flushPromises();
        await expect(element).toBeAccessible();
    });

    it('when the breaker held removals, then each shows its why and the reason, and the run offers the approval', async () => {
        getRunActions.mockResolvedValue(mockHeld);
        const element = createRunActions({ runId: RUN_ID, runStatus: 'Completed' });
        await flushPromises();
        const root = element.shadowRoot;

        expect(root.querySelector('.held-summary').textContent).toBe(
            "The circuit breaker held 2 actions (deactivations and group removals): they wait for an admin's approval."
        );
        expect(root.querySelector('.held-reason').textContent).toBe(
            'Held: 60% of 5 rule-managed active accounts is more than the limit of 20%'
        );
        expect(root.querySelector('.kind-totals').textContent).toBe(
            '1 deactivation, 1 reactivation, 1 group removal'
        );
        const whys = [...root.querySelectorAll('.why')].map((why) => why.textContent);
        expect(whys).toEqual([
            'Why: set "Sales EMEA" stopped matching: 1. Department equals "Sales" (is "Marketing")',
            'Why: no matching set grants this group any more',
            'Why: matches again'
        ]);
        expect(root.querySelector('lightning-button.approve-held').label).toBe('Approve held removals');
    });

    it('when the admin confirms the approval, then Apex sends it and the actions are read again', async () => {
        getRunActions.mockResolvedValueOnce(mockHeld).mockResolvedValueOnce({
            ...mockHeld,
            heldCount: 0,
            canApproveHeld: false,
            heldApprovedBy: 'Admin User',
            heldApprovedAt: '2026-12-07T05:00:00.000Z'
        });
        ConfirmDialog.open.mockResolvedValue(true);
        approveHeldRemovals.mockResolvedValue({ released: 2, alreadyApproved: false });
        const element = createRunActions({ runId: RUN_ID, runStatus: 'Completed' });
        const toast = jest.fn();
        element.addEventListener('lightning__showtoast', toast);
        await flushPromises();

        element.shadowRoot.querySelector('lightning-button.approve-held').click();
        await flushPromises();
        await flushPromises();

        const dialog = ConfirmDialog.open.mock.calls[0][0];
        expect(dialog.confirmLabel).toBe('Send 2 Held Actions');
        expect(dialog.message).toContain('Send the 2 held actions of this run to Demo SCIM app (demo-scim)');
        expect(approveHeldRemovals).toHaveBeenCalledWith({ runId: RUN_ID });
        expect(getRunActions).toHaveBeenCalledTimes(2);
        expect(toast.mock.calls[0][0].detail.message).toBe('2 held actions were sent.');
        const root = element.shadowRoot;
        expect(root.querySelector('.held-approval').textContent).toContain('Approved by Admin User on');
        expect(root.querySelector('lightning-button.approve-held')).toBeNull();
    });

    it('when the approval succeeds, then it tells the parent (heldapproved) after reading the actions again', async () => {
        // Arrange
        getRunActions.mockResolvedValue(mockHeld);
        ConfirmDialog.open.mockResolvedValue(true);
        approveHeldRemovals.mockResolvedValue({ released: 2, alreadyApproved: false });
        const element = createRunActions({ runId: RUN_ID, runStatus: 'Completed' });
        const approved = jest.fn();
        element.addEventListener('heldapproved', approved);
        await flushPromises();

        // Act
        element.shadowRoot.querySelector('lightning-button.approve-held').click();
        await flushPromises();
        await flushPromises();

        // Assert
        expect(approved).toHaveBeenCalledTimes(1);
        expect(approved.mock.calls[0][0].detail).toEqual({ released: 2, alreadyApproved: false });
        expect(getRunActions).toHaveBeenCalledTimes(2);
    });

    it('when the admin cancels the confirmation, then nothing is sent', async () => {
        getRunActions.mockResolvedValue(mockHeld);
        ConfirmDialog.open.mockResolvedValue(false);
        const element = createRunActions({ runId: RUN_ID, runStatus: 'Completed' });
        await flushPromises();

        element.shadowRoot.querySelector('lightning-button.approve-held').click();
        await flushPromises();

        expect(ConfirmDialog.open).toHaveBeenCalled();
        expect(approveHeldRemovals).not.toHaveBeenCalled();
    });

    it('when the service refuses the approval, then its reason is shown', async () => {
        getRunActions.mockResolvedValue(mockHeld);
        ConfirmDialog.open.mockResolvedValue(true);
        approveHeldRemovals.mockRejectedValue({
            body: { message: 'A later run finished: approve its holds instead.' }
        });
        const element = createRunActions({ runId: RUN_ID, runStatus: 'Completed' });
        const approved = jest.fn();
        element.addEventListener('heldapproved', approved);
        await flushPromises();

        element.shadowRoot.querySelector('lightning-button.approve-held').click();
        await flushPromises();
        await flushPromises();

        expect(element.shadowRoot.querySelector('c-error-panel').errors).toEqual({
            body: { message: 'A later run finished: approve its holds instead.' }
        });
        expect(approved).not.toHaveBeenCalled();
    });

    it('when a preview holds removals, then no approval is offered yet', async () => {
        getRunActions.mockResolvedValue({ ...mockHeld, canApproveHeld: false, runStatus: 'Previewed' });
        const element = createRunActions({ runId: RUN_ID, runStatus: 'Previewed' });
        await flushPromises();
        const root = element.shadowRoot;

        expect(root.querySelector('lightning-button.approve-held')).toBeNull();
        expect(root.querySelector('.held-next').textContent).toContain(
            'nothing of them is sent until an admin approves'
        );
    });
    it('when a preview plans for a connection with deprovisioning on, then its pending deactivations are listed with it', async () => {
        const connection = {
            ...mockHeld.connections[0],
            connectionId: 'a0C000000000001AAA',
            deprovisioning: 'Deactivate'
        };
        const other = {
            ...mockActions.connections[0],
            connectionId: 'a0C000000000002AAA',
            deprovisioning: 'Off'
        };
        getRunActions.mockResolvedValue({
            ...mockHeld,
            runStatus: 'Previewed',
            canApproveHeld: false,
            connections: [connection, other]
        });
        const element = createRunActions({ runId: RUN_ID, runStatus: 'Previewed' });
        await flushPromises();

        const pending = [...element.shadowRoot.querySelectorAll('c-pending-deactivations')];
        expect(pending).toHaveLength(1);
        expect(pending[0].connectionId).toBe('a0C000000000001AAA');
        expect(pending[0].connectionName).toBe('Demo SCIM app');
        expect(pending[0].hideClose).toBe(true);
    });

    it('when the run is not a preview, then no pending deactivations are read', async () => {
        const connection = {
            ...mockHeld.connections[0],
            connectionId: 'a0C000000000001AAA',
            deprovisioning: 'Deactivate'
        };
        getRunActions.mockResolvedValue({ ...mockHeld, connections: [connection] });
        const element = createRunActions({ runId: RUN_ID, runStatus: 'Completed' });
        await flushPromises();
        expect(element.shadowRoot.querySelector('c-pending-deactivations')).toBeNull();
    });
});
