import { createElement } from 'lwc';
import getOrgTimeZone from '@salesforce/apex/RunHistoryController.getOrgTimeZone';
import RunDetail from 'c/runDetail';
import getRunDetail from '@salesforce/apex/RunHistoryController.getRunDetail';
import getRunItems from '@salesforce/apex/RunHistoryController.getRunItems';

const mockRunDetail = require('./data/runDetail.json');

jest.mock(
    '@salesforce/apex/RunHistoryController.getOrgTimeZone',
    () => {
        const { createApexTestWireAdapter } = require('@salesforce/sfdx-lwc-jest');
        return { default: createApexTestWireAdapter(jest.fn()) };
    },
    { virtual: true }
);
jest.mock('@salesforce/apex/RunHistoryController.getRunDetail', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex/RunHistoryController.getRunItems', () => ({ default: jest.fn() }), {
    virtual: true
});

async function flushPromises() {
    for (let i = 0; i < 4; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

async function createDetail(runId = 'a01000000000001AAA') {
    const element = createElement('c-run-detail', { is: RunDetail });
    element.runId = runId;
    document.body.appendChild(element);
    await flushPromises();
    return element;
}

describe('c-run-detail', () => {
    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
    });

    it('loads the run and shows its facts, errors, notifications and items with their outcome', async () => {
        getRunDetail.mockResolvedValue(mockRunDetail);
        const element = await createDetail();
        expect(getRunDetail).toHaveBeenCalledWith({ runId: 'a01000000000001AAA' });
        expect(element.shadowRoot.querySelector('lightning-card').title).toBe(
            'RUN-000042: Completed with Errors'
        );
        expect(element.shadowRoot.querySelector('.initiated-by').textContent).toBe('Ada Admin');
        expect(element.shadowRoot.querySelector('.run-error').textContent).toBe('1 invitation failed.');
        expect(element.shadowRoot.querySelector('.problem-count').textContent).toBe(
            '1 user was skipped or failed; see the reason below.'
        );
        expect(element.shadowRoot.querySelector('.notification-outcome').textContent).toContain('Slack');
        expect(element.shadowRoot.querySelector('.invited').textContent).toBe('1');
        expect(element.shadowRoot.querySelector('.reminded').textContent).toBe('2');
        expect(element.shadowRoot.querySelector('.evaluation').textContent).toBe(
            'Incremental: changes since RUN-000041 (watermark 2026-11-23T05:00:00.000+0000)'
        );
    });

    it("shows the run's times in the org's time zone, named, as History does", async () => {
        getRunDetail.mockResolvedValue(mockRunDetail);
        const element = await createDetail();
        getOrgTimeZone.emit('America/Los_Angeles');
        await flushPromises();
        const times = element.shadowRoot.querySelectorAll('lightning-formatted-date-time');
        expect(times.length).toBe(2);
        for (const time of times) {
            expect(time.timeZone).toBe('America/Los_Angeles');
            expect(time.timeZoneName).toBe('short');
        }
    });

    it('leaves the evaluation out for a run recorded without its kind', async () => {
        const older = { ...mockRunDetail.run };
        delete older.evaluationKind;
        delete older.evaluationReason;
        getRunDetail.mockResolvedValue({ ...mockRunDetail, run: older });
        const element = await createDetail();
        expect(element.shadowRoot.querySelector('.evaluation')).toBeNull();
    });

    it('shows the counts and the outcome line the service wrote on the run', async () => {
        getRunDetail.mockResolvedValue(mockRunDetail);
        const element = await createDetail();
        expect(element.shadowRoot.querySelector('.reminded').textContent).toBe('2');
        expect(element.shadowRoot.querySelector('.failed').textContent).toBe('1');
        expect(element.shadowRoot.querySelector('.outcome-summary').textContent).toBe(
            'Outcome: 1 invited, 2 reminded, 0 skipped, 1 failed'
        );
        expect(element.shadowRoot.querySelector('.extra-recipients').textContent).toBe('ops@example.com');
    });

    it('lists the addresses the audit went to, as many as it says', async () => {
        const to = ['ada@example.com', 'ops@example.com', 'admin@example.com'];
        getRunDetail.mockResolvedValue({
            ...mockRunDetail,
            run: {
                ...mockRunDetail.run,
                notificationOutcome: JSON.stringify({ email: { status: 'sent', recipients: 3, to } })
            }
        });
        const element = await createDetail();
        expect(element.shadowRoot.querySelector('.notification-outcome').textContent).toBe(
            'Notifications: Audit email sent to 3 recipients.'
        );
        const listed = [...element.shadowRoot.querySelectorAll('.audit-recipients li')].map(
            (item) => item.textContent
        );
        expect(listed).toEqual(to);
    });

    it('shows the outcome the service records as JSON as a sentence', async () => {
        getRunDetail.mockResolvedValue({
            ...mockRunDetail,
            run: {
                ...mockRunDetail.run,
                notificationOutcome: JSON.stringify({
                    email: { status: 'sent', recipients: 2 },
                    slack: { status: 'skipped', detail: 'no Slack token configured' }
                })
            }
        });
        const element = await createDetail();
        expect(element.shadowRoot.querySelector('.notification-outcome').textContent).toBe(
            'Notifications: Audit email sent to 2 recipients; Slack summary skipped (no Slack token configured).'
        );
        const results = element.shadowRoot.querySelector('c-preview-results');
        expect(results.showOutcome).toBe(true);
        expect(results.detail.items).toHaveLength(2);
    });

    it('asks for only the skipped and failed users of the whole run', async () => {
        getRunDetail.mockResolvedValue(mockRunDetail);
        getRunItems.mockResolvedValue({ items: [mockRunDetail.items[1]], hasMore: false, lastId: 'a02' });
        const element = await createDetail();
        const results = element.shadowRoot.querySelector('c-preview-results');
        expect(results.problemsOnly).toBe(false);
        element.shadowRoot
            .querySelector('lightning-input.only-problems')
            .dispatchEvent(new CustomEvent('change', { detail: { checked: true } }));
        await flushPromises();
        expect(results.problemsOnly).toBe(true);
        expect(results.detail).toEqual(mockRunDetail);
        expect(getRunItems).toHaveBeenCalledWith({
            runId: 'a01000000000001AAA',
            afterId: null,
            onlyProblems: true
        });
    });

    it('names the schedule as initiator of a scheduled run and hides the errors box when all went well', async () => {
        getRunDetail.mockResolvedValue({
            ...mockRunDetail,
            run: { ...mockRunDetail.run, initiatedBy: null, triggerType: 'Scheduled', error: null },
            items: [mockRunDetail.items[0]],
            statusTotals: [{ label: 'Invited', count: 1 }]
        });
        const element = await createDetail();
        expect(element.shadowRoot.querySelector('.initiated-by').textContent).toBe('Schedule');
        expect(element.shadowRoot.querySelector('.problems')).toBeNull();
    });

    it('shows the errors box when a condition set was skipped', async () => {
        getRunDetail.mockResolvedValue({
            ...mockRunDetail,
            run: { ...mockRunDetail.run, error: null },
            items: [mockRunDetail.items[0]],
            statusTotals: [{ label: 'Invited', count: 1 }],
            skippedSets: [{ name: 'Legacy contractors', reasons: 'Condition 1: not a User field.' }]
        });
        const element = await createDetail();
        expect(element.shadowRoot.querySelector('.problems')).not.toBeNull();
        expect(element.shadowRoot.querySelector('c-preview-results').detail.skippedSets).toHaveLength(1);
    });

    it('counts the skipped and failed users over the whole run, not only the rows shown', async () => {
        getRunDetail.mockResolvedValue({
            ...mockRunDetail,
            statusTotals: [
                { label: 'Failed', count: 40 },
                { label: 'Invited', count: 2500 },
                { label: 'Skipped', count: 2 }
            ]
        });
        const element = await createDetail();
        expect(element.shadowRoot.querySelector('.problem-count').textContent).toBe(
            '42 users were skipped or failed; see their reasons below.'
        );
    });

    it('shows the Apex error and goes back', async () => {
        getRunDetail.mockRejectedValue({ body: { message: 'The provisioning run was not found.' } });
        const element = await createDetail();
        expect(element.shadowRoot.querySelector('c-error-panel')).not.toBeNull();
        const back = jest.fn();
        element.addEventListener('back', back);
        element.shadowRoot.querySelector('lightning-button.back').click();
        expect(back).toHaveBeenCalled();
    });

    it('is accessible', async () => {
        getRunDetail.mockResolvedValue(mockRunDetail);
        const element = await createDetail();
        await expect(element).toBeAccessible();
    });
    // Connections (issue 19): begin
    it('shows the run actions in other apps for this run', async () => {
        getRunDetail.mockResolvedValue(mockRunDetail);
        const element = await createDetail();
        const actions = element.shadowRoot.querySelector('c-run-actions');
        expect(actions.runId).toBe(mockRunDetail.run.id);
        expect(actions.runStatus).toBe(mockRunDetail.run.status);
    });

    it('when the admin approves held removals in the actions, then the run is read again and its outcome line and counts are current', async () => {
        // Arrange: the run as it was before the approval, then as the service wrote it after
        const before = {
            ...mockRunDetail,
            run: {
                ...mockRunDetail.run,
                outcomeSummary: '0 invited, 0 reminded, 0 skipped, 0 failed, 2 held for review'
            }
        };
        const after = {
            ...mockRunDetail,
            run: {
                ...mockRunDetail.run,
                failedCount: 0,
                outcomeSummary: '0 invited, 0 reminded, 0 skipped, 0 failed, 2 deactivated'
            }
        };
        getRunDetail.mockResolvedValueOnce(before).mockResolvedValueOnce(after);
        const element = await createDetail();
        const actions = element.shadowRoot.querySelector('c-run-actions');

        // Act
        actions.dispatchEvent(
            new CustomEvent('heldapproved', { detail: { released: 2, alreadyApproved: false } })
        );
        await flushPromises();

        // Assert: read again; the actions region is the same one (not rebuilt behind a spinner)
        expect(getRunDetail).toHaveBeenCalledTimes(2);
        expect(getRunDetail).toHaveBeenLastCalledWith({ runId: 'a01000000000001AAA' });
        expect(element.shadowRoot.querySelector('.outcome-summary').textContent).toBe(
            'Outcome: 0 invited, 0 reminded, 0 skipped, 0 failed, 2 deactivated'
        );
        expect(element.shadowRoot.querySelector('.failed').textContent).toBe('0');
        expect(element.shadowRoot.querySelector('c-run-actions')).toBe(actions);
        expect(element.shadowRoot.querySelector('lightning-spinner')).toBeNull();
    });

    it('when the run cannot be read again after an approval, then the error is shown beside the run', async () => {
        // Arrange
        getRunDetail
            .mockResolvedValueOnce(mockRunDetail)
            .mockRejectedValueOnce({ body: { message: 'Unable to reach the org.' } });
        const element = await createDetail();

        // Act
        element.shadowRoot
            .querySelector('c-run-actions')
            .dispatchEvent(new CustomEvent('heldapproved', { detail: { released: 2 } }));
        await flushPromises();

        // Assert
        expect(element.shadowRoot.querySelector('c-error-panel').errors).toEqual({
            body: { message: 'Unable to reach the org.' }
        });
        expect(element.shadowRoot.querySelector('.outcome-summary')).not.toBeNull();
    });
    // Connections (issue 19): end
});
