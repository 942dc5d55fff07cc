import { createElement } from 'lwc';
import ProvisionUsers, { POLL_INTERVAL_MS } from 'c/provisionUsers';
import { SERVICE_PROGRESS_EVERY } from 'c/runPoller';
import ConfirmDialog from 'c/confirmDialog';
import getRunInProgress from '@salesforce/apex/ProvisioningController.getRunInProgress';
import getCurrentPreview from '@salesforce/apex/ProvisioningController.getCurrentPreview';
import startPreview from '@salesforce/apex/ProvisioningController.startPreview';
import provisionUsers from '@salesforce/apex/ProvisioningController.provisionUsers';
import getRunStatus from '@salesforce/apex/ProvisioningController.getRunStatus';
import getPreview from '@salesforce/apex/ProvisioningController.getPreview';
import getRunActions from '@salesforce/apex/ConnectionController.getRunActions';

const mockPreview = require('./data/previewDetail.json');
const mockRunning = require('./data/runningRun.json');
const mockFinished = require('./data/finishedRun.json');
const mockPreviewing = require('./data/previewingRun.json');
/** The preview run once the service has evaluated it. */
const mockPreviewed = mockPreview.run;

jest.mock('@salesforce/apex/ProvisioningController.getRunInProgress', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex/ProvisioningController.getCurrentPreview', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex/ProvisioningController.startPreview', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex/ProvisioningController.provisionUsers', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex/ProvisioningController.getRunStatus', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex/ProvisioningController.getPreview', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex/ConnectionController.getRunActions', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('c/confirmDialog', () => ({ __esModule: true, default: { open: jest.fn() } }));

const SHOW_TOAST_EVENT = 'lightning__showtoast';
const RUN_IN_PROGRESS_ERROR = {
    body: { message: 'A provisioning run is already in progress. Wait for it to finish, then try again.' }
};

async function flushPromises() {
    for (let i = 0; i < 6; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

async function createScreen() {
    const element = createElement('c-provision-users', { is: ProvisionUsers });
    document.body.appendChild(element);
    await flushPromises();
    return element;
}

function button(element, name) {
    return element.shadowRoot.querySelector(`lightning-button.${name}`);
}

function setRecipients(element, detail) {
    element.shadowRoot.querySelector('c-recipients-input').dispatchEvent(
        new CustomEvent('change', {
            detail: { notifyAdmins: false, recipients: [], valid: true, ...detail }
        })
    );
    return flushPromises();
}

/** Clicks Preview; the mocks decide whether the preview is ready at once or has to be followed. */
async function preview(element) {
    button(element, 'preview').click();
    await flushPromises();
}

/** What c-run-actions reads for the preview: its actions in apps (none unless a test says). */
function actionsPlanned(totalActions, heldCount = 0) {
    getRunActions.mockResolvedValue({ totalActions, heldCount, truncated: false, connections: [] });
}

/** A preview with no invitation: nobody eligible for a product. */
const NO_INVITATIONS = { ...mockPreview, items: [], totalItems: 0, statusTotals: [] };

/** A preview the service has already evaluated when Apex first reads it back. */
function previewReadyAtOnce(detail = mockPreview) {
    startPreview.mockResolvedValue(detail.run);
    getPreview.mockResolvedValue(detail);
}

async function advance(ms) {
    jest.advanceTimersByTime(ms);
    await flushPromises();
}

describe('c-provision-users', () => {
    beforeEach(() => {
        getRunInProgress.mockResolvedValue(null);
        getCurrentPreview.mockResolvedValue(null);
        actionsPlanned(0);
    });

    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
        jest.useRealTimers();
    });

    it('keeps Provision Users disabled until there is a fresh preview', async () => {
        const element = await createScreen();
        expect(getRunInProgress).toHaveBeenCalled();
        expect(button(element, 'provision').disabled).toBe(true);
        expect(element.shadowRoot.querySelector('.provision-hint').textContent).toContain(
            'Preview the users first'
        );
    });

    it('previews and shows the eligible users, then enables Provision Users', async () => {
        previewReadyAtOnce();
        const element = await createScreen();
        await setRecipients(element, { notifyAdmins: true, recipients: ['ops@example.com'] });
        await preview(element);

        expect(startPreview).toHaveBeenCalledWith();
        expect(getPreview).toHaveBeenCalledWith({ runId: 'a01000000000001AAA' });
        const results = element.shadowRoot.querySelector('c-preview-results');
        expect(results.detail).toEqual(mockPreview);
        expect(results.showOutcome).toBe(false);
        expect(element.shadowRoot.querySelector('.results-heading').textContent.trim()).toBe(
            'Eligible users'
        );
        expect(button(element, 'provision').disabled).toBe(false);
        expect(element.shadowRoot.querySelector('.provision-hint').textContent).toBe(
            'Sends invitations to 3 users.'
        );
    });

    it('does not provision while an email is invalid', async () => {
        previewReadyAtOnce();
        const element = await createScreen();
        await preview(element);
        await setRecipients(element, { valid: false, recipients: [] });
        expect(button(element, 'provision').disabled).toBe(true);
        element.shadowRoot.querySelector('c-recipients-input').validate = jest.fn(() => false);
        button(element, 'provision').click();
        await flushPromises();
        expect(ConfirmDialog.open).not.toHaveBeenCalled();
        expect(provisionUsers).not.toHaveBeenCalled();
    });

    it('treats an expired preview as stale', async () => {
        previewReadyAtOnce({
            ...mockPreview,
            run: { ...mockPreview.run, expiresAt: '2000-01-01T00:00:00Z' }
        });
        const element = await createScreen();
        await preview(element);
        expect(button(element, 'provision').disabled).toBe(true);
        expect(element.shadowRoot.querySelector('.provision-hint').textContent).toContain('expired');
    });

    it('when nobody is eligible and no app has an action planned, then Provision Users stays disabled', async () => {
        previewReadyAtOnce(NO_INVITATIONS);
        const element = await createScreen();
        await preview(element);
        await flushPromises();
        expect(getRunActions).toHaveBeenCalledWith({ runId: mockPreview.run.id });
        expect(button(element, 'provision').disabled).toBe(true);
        expect(element.shadowRoot.querySelector('.provision-hint').textContent).toBe(
            'No user is eligible and no app has an action planned, so there is nothing to send.'
        );
    });

    it('when a preview has no invitation but plans actions in apps, then Provision Users sends them', async () => {
        // Arrange: a set granting access only (or a rule edit taking it away): 12 actions, no invitation
        previewReadyAtOnce(NO_INVITATIONS);
        actionsPlanned(12);
        provisionUsers.mockResolvedValue(mockRunning);
        getRunStatus.mockResolvedValue(mockRunning);
        ConfirmDialog.open.mockResolvedValue(true);
        const element = await createScreen();
        await preview(element);
        await flushPromises();
        expect(button(element, 'provision').disabled).toBe(false);
        expect(element.shadowRoot.querySelector('.provision-hint').textContent).toBe(
            'Sends 12 actions to apps; no user needs an invitation.'
        );

        // Act
        button(element, 'provision').click();
        await flushPromises();

        // Assert: the dialog names what is sent; the preview is provisioned
        const dialog = ConfirmDialog.open.mock.calls[0][0];
        expect(dialog.message).toBe('Send 12 actions to apps? No user needs an invitation.');
        expect(dialog.confirmLabel).toBe('Send Actions');
        expect(provisionUsers).toHaveBeenCalledWith({
            previewRunId: mockPreview.run.id,
            notifyAdmins: false,
            recipients: []
        });
    });

    it('when a preview has invitations and actions in apps, then the hint and the dialog name both, held ones said', async () => {
        // Arrange: 3 invitations, 12 actions of which the circuit breaker holds 2
        previewReadyAtOnce();
        actionsPlanned(12, 2);
        ConfirmDialog.open.mockResolvedValue(false);
        const element = await createScreen();
        await preview(element);
        await flushPromises();
        expect(element.shadowRoot.querySelector('.provision-hint').textContent).toBe(
            'Sends invitations to 3 users and 12 actions to apps.'
        );

        // Act
        button(element, 'provision').click();
        await flushPromises();

        // Assert
        const dialog = ConfirmDialog.open.mock.calls[0][0];
        expect(dialog.message).toBe(
            'Send calendar authorization invitations to 3 users? The run also sends 12 actions to apps. ' +
                'The circuit breaker holds 2 actions: they are recorded Held and sent only once an admin approves them on the run.'
        );
        expect(dialog.confirmLabel).toBe('Send Invitations and Actions');
        expect(provisionUsers).not.toHaveBeenCalled();
    });

    it("when the actions read are another run's, then they do not count for this preview", async () => {
        previewReadyAtOnce(NO_INVITATIONS);
        const element = await createScreen();
        await preview(element);
        await flushPromises();

        element.shadowRoot.querySelector('c-run-actions').dispatchEvent(
            new CustomEvent('loaded', {
                detail: { runId: 'a01000000000099AAA', totalActions: 5, heldCount: 0 }
            })
        );
        await flushPromises();

        expect(button(element, 'provision').disabled).toBe(true);
        expect(element.shadowRoot.querySelector('.provision-hint').textContent).toContain('nothing to send');
    });

    it('provisions after confirmation, follows the run until it finishes and shows the final counts', async () => {
        jest.useFakeTimers();
        previewReadyAtOnce();
        provisionUsers.mockResolvedValue(mockRunning);
        getRunStatus.mockResolvedValueOnce(mockRunning).mockResolvedValueOnce(mockFinished);
        const finishedDetail = {
            ...mockPreview,
            run: mockFinished,
            items: [
                { ...mockPreview.items[0], status: 'Invited', outcome: 'Invited' },
                {
                    ...mockPreview.items[1],
                    status: 'Failed',
                    outcome: 'Failed',
                    reason: 'Mailbox unavailable'
                }
            ]
        };
        getPreview.mockResolvedValueOnce(mockPreview).mockResolvedValueOnce(finishedDetail);
        ConfirmDialog.open.mockResolvedValue(true);
        const element = await createScreen();
        const toast = jest.fn();
        element.addEventListener(SHOW_TOAST_EVENT, toast);
        await setRecipients(element, { notifyAdmins: true, recipients: ['ops@example.com'] });
        await preview(element);

        button(element, 'provision').click();
        await flushPromises();
        expect(ConfirmDialog.open.mock.calls[0][0].message).toContain('3 users');
        expect(ConfirmDialog.open.mock.calls[0][0].confirmLabel).toBe('Send Invitations');
        expect(provisionUsers).toHaveBeenCalledWith({
            previewRunId: 'a01000000000001AAA',
            notifyAdmins: true,
            recipients: ['ops@example.com']
        });
        expect(element.shadowRoot.querySelector('.progress-label').textContent).toBe(
            '1 of 3 users processed: 1 invited, 0 reminded, 0 skipped, 0 failed'
        );
        expect(element.shadowRoot.querySelector('lightning-progress-bar').value).toBe(33);
        expect(button(element, 'provision').disabled).toBe(true);
        expect(element.shadowRoot.querySelector('c-preview-results').showOutcome).toBe(true);

        jest.advanceTimersByTime(POLL_INTERVAL_MS);
        await flushPromises();
        // 1 of 3 users processed: the record moves, the service is not asked on every read
        expect(getRunStatus).toHaveBeenCalledWith({
            runId: 'a01000000000001AAA',
            includeServiceProgress: false
        });
        jest.advanceTimersByTime(POLL_INTERVAL_MS);
        await flushPromises();

        expect(element.shadowRoot.querySelector('.invited').textContent).toBe('2');
        expect(element.shadowRoot.querySelector('.failed').textContent).toBe('1');
        expect(element.shadowRoot.querySelector('.run-error').textContent).toContain('mailbox unavailable');
        expect(toast.mock.calls[0][0].detail).toMatchObject({
            title: 'Provisioning completed with errors',
            message: '2 invited, 0 reminded, 0 skipped, 1 failed.',
            variant: 'warning'
        });
        expect(getPreview).toHaveBeenCalledWith({ runId: 'a01000000000001AAA' });
        expect(element.shadowRoot.querySelector('c-preview-results').detail).toEqual(finishedDetail);
        expect(element.shadowRoot.querySelector('.results-heading').textContent.trim()).toBe(
            'Users of this run'
        );
        expect(button(element, 'provision').disabled).toBe(true);
        expect(element.shadowRoot.querySelector('.provision-hint').textContent.trim()).toBe(
            "RUN-000042 sent this preview's invitations. Preview the users again to provision anyone new."
        );
        jest.advanceTimersByTime(POLL_INTERVAL_MS * 3);
        await flushPromises();
        expect(getRunStatus).toHaveBeenCalledTimes(2);
    });

    it('moves the focus to the results after a preview and to the progress once the run starts', async () => {
        previewReadyAtOnce();
        provisionUsers.mockResolvedValue(mockRunning);
        getRunStatus.mockResolvedValue(mockRunning);
        ConfirmDialog.open.mockResolvedValue(true);
        const element = await createScreen();
        await preview(element);
        expect(element.shadowRoot.activeElement).toBe(element.shadowRoot.querySelector('.results-heading'));
        button(element, 'provision').click();
        await flushPromises();
        expect(element.shadowRoot.activeElement).toBe(element.shadowRoot.querySelector('.progress-heading'));
    });

    it('disables Provision Users when the preview expires while the screen is open', async () => {
        jest.useFakeTimers();
        const expiresInMs = 60000;
        previewReadyAtOnce({
            ...mockPreview,
            run: { ...mockPreview.run, expiresAt: new Date(Date.now() + expiresInMs).toISOString() }
        });
        const element = await createScreen();
        await preview(element);
        expect(button(element, 'provision').disabled).toBe(false);
        jest.advanceTimersByTime(expiresInMs);
        await flushPromises();
        expect(button(element, 'provision').disabled).toBe(true);
        expect(element.shadowRoot.querySelector('.provision-hint').textContent).toContain('expired');
    });

    it('does nothing when the admin does not confirm', async () => {
        previewReadyAtOnce();
        ConfirmDialog.open.mockResolvedValue(false);
        const element = await createScreen();
        await preview(element);
        button(element, 'provision').click();
        await flushPromises();
        expect(provisionUsers).not.toHaveBeenCalled();
    });

    it('counts a run before its users are written as being checked, not as 0 of 0', async () => {
        const starting = {
            ...mockRunning,
            invitedCount: 0,
            itemCount: 0,
            processedCount: 0,
            outcomeSummary: null
        };
        getRunInProgress.mockResolvedValue(starting);
        const element = await createScreen();
        expect(element.shadowRoot.querySelector('.progress-label').textContent).toBe(
            'Checking the users again before sending…'
        );
    });

    it('shows a run already in progress on load and blocks provisioning', async () => {
        jest.useFakeTimers();
        getRunInProgress.mockResolvedValue(mockRunning);
        getRunStatus.mockResolvedValue(mockRunning);
        const element = await createScreen();
        expect(element.shadowRoot.querySelector('.progress')).not.toBeNull();
        expect(button(element, 'preview').disabled).toBe(true);
        expect(element.shadowRoot.querySelector('.provision-hint').textContent).toContain('in progress');
        jest.advanceTimersByTime(POLL_INTERVAL_MS);
        await flushPromises();
        expect(getRunStatus).toHaveBeenCalledTimes(1);
    });

    it('shows the 409 message and the run in progress when the service refuses', async () => {
        jest.useFakeTimers();
        previewReadyAtOnce();
        provisionUsers.mockRejectedValue(RUN_IN_PROGRESS_ERROR);
        ConfirmDialog.open.mockResolvedValue(true);
        const element = await createScreen();
        await preview(element);
        getRunInProgress.mockResolvedValue(mockRunning);
        button(element, 'provision').click();
        await flushPromises();
        expect(element.shadowRoot.querySelector('c-error-panel').errors).toEqual(RUN_IN_PROGRESS_ERROR);
        expect(element.shadowRoot.querySelector('.progress')).not.toBeNull();
    });

    it('shows a preview error and stops polling on a status error', async () => {
        jest.useFakeTimers();
        startPreview.mockRejectedValue({ body: { message: 'Could not reach the Rollcall service.' } });
        const element = await createScreen();
        await preview(element);
        expect(element.shadowRoot.querySelector('c-error-panel')).not.toBeNull();
        expect(element.shadowRoot.querySelector('c-preview-results')).toBeNull();

        getRunInProgress.mockResolvedValue(mockRunning);
        getRunStatus.mockRejectedValue({ body: { message: 'The provisioning run was not found.' } });
        const second = await createScreen();
        jest.advanceTimersByTime(POLL_INTERVAL_MS);
        await flushPromises();
        expect(second.shadowRoot.querySelector('c-error-panel').errors.body.message).toContain('not found');
        jest.advanceTimersByTime(POLL_INTERVAL_MS * 2);
        await flushPromises();
        expect(getRunStatus).toHaveBeenCalledTimes(1);
    });

    it('shows an error when the run in progress cannot be read', async () => {
        getRunInProgress.mockRejectedValue({
            body: { message: 'You need the Rollcall Admin permission set.' }
        });
        const element = await createScreen();
        expect(element.shadowRoot.querySelector('c-error-panel')).not.toBeNull();
    });

    describe('asynchronous preview', () => {
        beforeEach(() => {
            jest.useFakeTimers();
        });

        it('follows the preview from its record, with the elapsed time and the service progress, until it is ready', async () => {
            startPreview.mockResolvedValue(mockPreviewing);
            getRunStatus.mockImplementation(({ includeServiceProgress }) =>
                Promise.resolve(
                    includeServiceProgress
                        ? { ...mockPreviewing, elapsedSeconds: 34, progressDone: 300, progressTotal: 1200 }
                        : mockPreviewing
                )
            );
            getPreview.mockResolvedValue(mockPreview);
            const element = await createScreen();
            await preview(element);

            expect(startPreview).toHaveBeenCalledWith();
            expect(getPreview).not.toHaveBeenCalled();
            expect(element.shadowRoot.querySelector('.preview-progress-label').textContent).toBe(
                'RUN-000042: evaluating the condition sets (24 s)'
            );
            expect(button(element, 'preview').disabled).toBe(true);
            expect(button(element, 'provision').disabled).toBe(true);
            expect(element.shadowRoot.querySelector('.provision-hint').textContent).toContain(
                'being evaluated'
            );

            for (let poll = 1; poll < SERVICE_PROGRESS_EVERY; poll++) {
                // eslint-disable-next-line no-await-in-loop
                await advance(POLL_INTERVAL_MS);
            }
            expect(getRunStatus).toHaveBeenCalledTimes(SERVICE_PROGRESS_EVERY - 1);
            expect(getRunStatus).toHaveBeenLastCalledWith({
                runId: 'a01000000000001AAA',
                includeServiceProgress: false
            });
            await advance(POLL_INTERVAL_MS);
            expect(getRunStatus).toHaveBeenLastCalledWith({
                runId: 'a01000000000001AAA',
                includeServiceProgress: true
            });
            expect(element.shadowRoot.querySelector('.preview-progress-label').textContent).toBe(
                'RUN-000042: evaluated 300 of 1200 users (34 s)'
            );
            expect(element.shadowRoot.querySelector('.preview-progress-bar').value).toBe(25);

            getRunStatus.mockReset();
            getRunStatus.mockResolvedValue(mockPreviewed);
            await advance(POLL_INTERVAL_MS);
            expect(getPreview).toHaveBeenCalledWith({ runId: 'a01000000000001AAA' });
            expect(element.shadowRoot.querySelector('.preview-progress')).toBeNull();
            expect(element.shadowRoot.querySelector('c-preview-results').detail).toEqual(mockPreview);
            expect(button(element, 'provision').disabled).toBe(false);
            await advance(POLL_INTERVAL_MS * 5);
            expect(getRunStatus).toHaveBeenCalledTimes(1);
        });

        it('shows the service error when the preview fails, and lets the admin preview again', async () => {
            startPreview.mockResolvedValue(mockPreviewing);
            getRunStatus.mockResolvedValue({
                ...mockPreviewing,
                status: 'Failed',
                previewing: false,
                finished: true,
                error: 'Could not read the User describe.'
            });
            const element = await createScreen();
            await preview(element);
            await advance(POLL_INTERVAL_MS);

            const panel = element.shadowRoot.querySelector('c-error-panel');
            expect(panel.errors.body.message).toBe(
                'The preview failed: Could not read the User describe. Preview again.'
            );
            expect(element.shadowRoot.querySelector('.preview-progress')).toBeNull();
            expect(button(element, 'preview').disabled).toBe(false);
            expect(getPreview).not.toHaveBeenCalled();
            await advance(POLL_INTERVAL_MS * 3);
            expect(getRunStatus).toHaveBeenCalledTimes(1);
        });

        it('says so when the service stops giving signs of life during the preview', async () => {
            startPreview.mockResolvedValue(mockPreviewing);
            getRunStatus.mockResolvedValue({ ...mockPreviewing, stalled: true });
            const element = await createScreen();
            await preview(element);
            await advance(POLL_INTERVAL_MS);

            expect(element.shadowRoot.querySelector('c-error-panel').errors.body.message).toContain(
                'stopped answering'
            );
            expect(button(element, 'preview').disabled).toBe(false);
            await advance(POLL_INTERVAL_MS * 3);
            expect(getRunStatus).toHaveBeenCalledTimes(1);
        });

        it('resumes the preview being evaluated after a page reload', async () => {
            getCurrentPreview.mockResolvedValue(mockPreviewing);
            getRunStatus.mockResolvedValueOnce(mockPreviewing).mockResolvedValueOnce(mockPreviewed);
            getPreview.mockResolvedValue(mockPreview);
            const element = await createScreen();

            expect(startPreview).not.toHaveBeenCalled();
            expect(element.shadowRoot.querySelector('.preview-progress')).not.toBeNull();
            expect(button(element, 'preview').disabled).toBe(true);
            await advance(POLL_INTERVAL_MS);
            expect(getPreview).not.toHaveBeenCalled();
            await advance(POLL_INTERVAL_MS);
            expect(getPreview).toHaveBeenCalledWith({ runId: 'a01000000000001AAA' });
            expect(element.shadowRoot.querySelector('c-preview-results').detail).toEqual(mockPreview);
            expect(button(element, 'provision').disabled).toBe(false);
        });

        it('shows a fresh preview again after a page reload', async () => {
            getCurrentPreview.mockResolvedValue(mockPreviewed);
            getPreview.mockResolvedValue(mockPreview);
            const element = await createScreen();
            expect(getPreview).toHaveBeenCalledWith({ runId: 'a01000000000001AAA' });
            expect(getRunStatus).not.toHaveBeenCalled();
            expect(element.shadowRoot.querySelector('c-preview-results').detail).toEqual(mockPreview);
            expect(button(element, 'provision').disabled).toBe(false);
        });

        it('stops polling when the screen is closed', async () => {
            startPreview.mockResolvedValue(mockPreviewing);
            getRunStatus.mockResolvedValue(mockPreviewing);
            const element = await createScreen();
            await preview(element);
            await advance(POLL_INTERVAL_MS);
            expect(getRunStatus).toHaveBeenCalledTimes(1);
            document.body.removeChild(element);
            await advance(POLL_INTERVAL_MS * 10);
            expect(getRunStatus).toHaveBeenCalledTimes(1);
        });

        it('stops polling and shows the error when the run record cannot be read', async () => {
            startPreview.mockResolvedValue(mockPreviewing);
            getRunStatus.mockRejectedValue({ body: { message: 'The provisioning run was not found.' } });
            const element = await createScreen();
            await preview(element);
            await advance(POLL_INTERVAL_MS);
            expect(element.shadowRoot.querySelector('c-error-panel').errors.body.message).toContain(
                'not found'
            );
            expect(button(element, 'preview').disabled).toBe(false);
            await advance(POLL_INTERVAL_MS * 3);
            expect(getRunStatus).toHaveBeenCalledTimes(1);
        });
    });

    it('is accessible before and after a preview', async () => {
        previewReadyAtOnce();
        const element = await createScreen();
        await expect(element).toBeAccessible();
        await preview(element);
        await expect(element).toBeAccessible();
    });
    // Connections (issue 19): begin
    it('shows the plan in other apps for the preview', async () => {
        previewReadyAtOnce();
        const element = await createScreen();
        await preview(element);
        const actions = element.shadowRoot.querySelector('c-run-actions');
        expect(actions.runId).toBe(mockPreview.run.id);
        expect(actions.runStatus).toBe(mockPreview.run.status);
    });
    it("when a fresh preview's actions are still being read, then Provision Users waits for their count", async () => {
        // Arrange: c-run-actions has not answered yet
        let answer;
        getRunActions.mockReturnValue(
            new Promise((resolve) => {
                answer = resolve;
            })
        );
        previewReadyAtOnce();
        const element = await createScreen();

        // Act
        await preview(element);
        await flushPromises();

        // Assert: no confirmation that would leave the actions out
        expect(button(element, 'provision').disabled).toBe(true);
        expect(element.shadowRoot.querySelector('.provision-hint').textContent).toBe(
            'Reading the actions planned in apps…'
        );
        answer({ totalActions: 12, heldCount: 0, truncated: false, connections: [] });
        await flushPromises();
        expect(button(element, 'provision').disabled).toBe(false);
        expect(element.shadowRoot.querySelector('.provision-hint').textContent).toBe(
            'Sends invitations to 3 users and 12 actions to apps.'
        );
    });

    it('when the actions planned in apps cannot be read, then provisioning is allowed and the dialog says they were not counted', async () => {
        // Arrange: no invitation, and the actions cannot be read (the run sends what the preview planned)
        previewReadyAtOnce(NO_INVITATIONS);
        getRunActions.mockRejectedValue({ body: { message: 'Service unavailable' } });
        provisionUsers.mockResolvedValue(mockRunning);
        getRunStatus.mockResolvedValue(mockRunning);
        ConfirmDialog.open.mockResolvedValue(true);
        const element = await createScreen();
        await preview(element);
        await flushPromises();
        expect(button(element, 'provision').disabled).toBe(false);
        expect(element.shadowRoot.querySelector('.provision-hint').textContent).toBe(
            'No user needs an invitation; the actions planned in apps could not be counted, and the run sends them too.'
        );

        // Act
        button(element, 'provision').click();
        await flushPromises();

        // Assert
        const dialog = ConfirmDialog.open.mock.calls[0][0];
        expect(dialog.message).toBe(
            'Send the actions planned in apps? They could not be counted here; the run sends what the preview planned. No user needs an invitation.'
        );
        expect(dialog.confirmLabel).toBe('Send Actions');
        expect(provisionUsers).toHaveBeenCalledWith({
            previewRunId: mockPreview.run.id,
            notifyAdmins: false,
            recipients: []
        });
    });

    it('when the actions cannot be read and users are eligible, then the dialog names the invitations and the uncounted actions', async () => {
        previewReadyAtOnce();
        getRunActions.mockRejectedValue({ body: { message: 'Service unavailable' } });
        ConfirmDialog.open.mockResolvedValue(false);
        const element = await createScreen();
        await preview(element);
        await flushPromises();

        button(element, 'provision').click();
        await flushPromises();

        const dialog = ConfirmDialog.open.mock.calls[0][0];
        expect(dialog.message).toBe(
            'Send calendar authorization invitations to 3 users? The run also sends the actions planned in apps, which could not be counted here.'
        );
        expect(dialog.confirmLabel).toBe('Send Invitations and Actions');
    });

    describe('live progress of the actions in apps', () => {
        /** Every user processed: the invitations are done and the run sends its actions. */
        const invitationsDone = {
            ...mockRunning,
            invitedCount: 3,
            processedCount: 3,
            outcomeSummary: '3 invited, 0 reminded, 0 skipped, 0 failed'
        };

        beforeEach(() => {
            jest.useFakeTimers();
        });

        it('when the run sends actions, then a second line shows how many of the total were sent, the failed ones said', async () => {
            // Arrange: the service answers with the actions only when asked
            getRunInProgress.mockResolvedValue(invitationsDone);
            getRunStatus.mockImplementation(({ includeServiceProgress }) =>
                Promise.resolve(
                    includeServiceProgress
                        ? { ...invitationsDone, actionsDone: 1234, actionsFailed: 3, actionsTotal: 10000 }
                        : invitationsDone
                )
            );
            const element = await createScreen();

            // Act
            await advance(POLL_INTERVAL_MS);

            // Assert: once every user is processed, each read asks the service
            expect(getRunStatus).toHaveBeenLastCalledWith({
                runId: invitationsDone.id,
                includeServiceProgress: true
            });
            expect(element.shadowRoot.querySelector('.progress-label').textContent).toBe(
                '3 of 3 users processed: 3 invited, 0 reminded, 0 skipped, 0 failed'
            );
            expect(element.shadowRoot.querySelector('.actions-progress-label').textContent).toBe(
                'Sending 1,234 of 10,000 actions to apps (3 failed)'
            );
            expect(element.shadowRoot.querySelector('.actions-progress-bar').value).toBe(12);

            // A read without the service's word keeps the last progress; the finish ends the line
            getRunStatus.mockResolvedValueOnce(invitationsDone);
            await advance(POLL_INTERVAL_MS);
            expect(element.shadowRoot.querySelector('.actions-progress-label').textContent).toBe(
                'Sending 1,234 of 10,000 actions to apps (3 failed)'
            );
            getRunStatus.mockResolvedValueOnce(mockFinished);
            await advance(POLL_INTERVAL_MS);
            expect(element.shadowRoot.querySelector('.actions-progress-label')).toBeNull();
        });

        it('when a run with no user to invite sends actions, then it says so instead of checking the users', async () => {
            const actionsOnly = {
                ...mockRunning,
                invitedCount: 0,
                itemCount: 0,
                processedCount: 0,
                outcomeSummary: null,
                actionsDone: 0,
                actionsFailed: 0,
                actionsTotal: 1
            };
            getRunInProgress.mockResolvedValue(actionsOnly);
            getRunStatus.mockResolvedValue(actionsOnly);
            const element = await createScreen();

            expect(element.shadowRoot.querySelector('.progress-label').textContent).toBe(
                'No user needs an invitation.'
            );
            expect(element.shadowRoot.querySelector('.actions-progress-label').textContent).toBe(
                'Sending 0 of 1 action to apps'
            );
        });

        it('when the run has no actions in apps, then nothing new is shown', async () => {
            // Arrange: users still being processed (on load), then all processed; the service names no actions
            getRunInProgress.mockResolvedValue(mockRunning);
            getRunStatus.mockResolvedValue(invitationsDone);
            const element = await createScreen();

            // Act
            await advance(POLL_INTERVAL_MS);
            await advance(POLL_INTERVAL_MS);

            // Assert: the record alone while it moves, then the service asked, and no second line
            expect(getRunStatus.mock.calls.map(([params]) => params.includeServiceProgress)).toEqual([
                false,
                true
            ]);
            expect(element.shadowRoot.querySelector('.actions-progress-label')).toBeNull();
            expect(element.shadowRoot.querySelectorAll('lightning-progress-bar')).toHaveLength(1);
        });
    });
    // Connections (issue 19): end
});
