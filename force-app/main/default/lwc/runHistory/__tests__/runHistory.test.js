import { createElement } from 'lwc';
import RunHistory, { MAX_RUNS, runIdFromHash } from 'c/runHistory';
import getRuns from '@salesforce/apex/RunHistoryController.getRuns';
import getOrgTimeZone from '@salesforce/apex/RunHistoryController.getOrgTimeZone';

const mockRuns = require('./data/runs.json');

jest.mock('@salesforce/apex/RunHistoryController.getRuns', () => ({ default: jest.fn() }), { virtual: true });
jest.mock(
    '@salesforce/apex/RunHistoryController.getOrgTimeZone',
    () => {
        const { createApexTestWireAdapter } = require('@salesforce/sfdx-lwc-jest');
        return { default: createApexTestWireAdapter(jest.fn()) };
    },
    { virtual: true }
);
jest.mock(
    '@salesforce/apex/RunHistoryController.getRunDetail',
    () => ({ default: jest.fn(() => new Promise(() => {})) }),
    { virtual: true }
);

async function flushPromises() {
    for (let i = 0; i < 4; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

async function createHistory() {
    const element = createElement('c-run-history', { is: RunHistory });
    document.body.appendChild(element);
    await flushPromises();
    return element;
}

describe('c-run-history', () => {
    afterEach(() => {
        window.history.replaceState(null, '', '#');
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
    });

    it('lists the latest runs with status, trigger, initiator, counts and times', async () => {
        getRuns.mockResolvedValue(mockRuns);
        const element = await createHistory();
        expect(getRuns).toHaveBeenCalledWith({ maxRuns: MAX_RUNS, includePreviews: false });
        const table = element.shadowRoot.querySelector('lightning-datatable');
        expect(table.data).toHaveLength(2);
        expect(table.data.map((run) => run.initiatedByLabel)).toEqual(['Ada Admin', 'Schedule']);
        expect(table.data.map((run) => run.evaluationKind)).toEqual(['Full', 'Incremental']);
        expect(table.columns.map((column) => column.label)).toEqual([
            'Run',
            'Status',
            'Trigger',
            'Evaluation',
            'Initiated By',
            'Started',
            'Finished',
            'Eligible',
            'Outcome'
        ]);
        expect(table.data.map((run) => run.outcome)).toEqual([
            '2 invited, 1 reminded, 0 skipped, 1 failed',
            ''
        ]);
        // Each run is a link to its own address on this page.
        expect(table.data[1].link).toBe(
            `${window.location.origin}${window.location.pathname}#history/a01000000000003AAA`
        );
    });

    it('shows previews that were never provisioned only when asked', async () => {
        getRuns.mockResolvedValue(mockRuns);
        const element = await createHistory();
        const toggle = element.shadowRoot.querySelector('lightning-input.show-previews');
        expect(toggle.checked).toBe(false);
        toggle.dispatchEvent(new CustomEvent('change', { detail: { checked: true } }));
        await flushPromises();
        expect(getRuns).toHaveBeenLastCalledWith({ maxRuns: MAX_RUNS, includePreviews: true });
    });

    it('opens the run its address names, and Back (the address without it) returns to the list', async () => {
        getRuns.mockResolvedValue(mockRuns);
        window.history.replaceState(null, '', '#history/a01000000000003AAA');
        const element = await createHistory();
        expect(element.shadowRoot.querySelector('c-run-detail').runId).toBe('a01000000000003AAA');

        window.history.replaceState(null, '', '#history');
        window.dispatchEvent(new HashChangeEvent('hashchange'));
        await flushPromises();
        expect(element.shadowRoot.querySelector('c-run-detail')).toBeNull();
        expect(runIdFromHash('#history/a01')).toBe('a01');
        expect(runIdFromHash('#provisionUsers/a01')).toBeUndefined();
    });

    it("shows the times in the org's time zone with the zone named, and never cuts the run name", async () => {
        getRuns.mockResolvedValue(mockRuns);
        const element = await createHistory();
        getOrgTimeZone.emit('America/Los_Angeles');
        await flushPromises();
        const table = element.shadowRoot.querySelector('lightning-datatable');
        const started = table.columns.find((column) => column.fieldName === 'startedAt');
        expect(started.typeAttributes).toMatchObject({
            timeZone: 'America/Los_Angeles',
            timeZoneName: 'short'
        });
        expect(table.columns[0].initialWidth).toBeGreaterThanOrEqual(120);
        expect(element.shadowRoot.querySelector('.time-zone-note').textContent).toContain(
            'America/Los_Angeles'
        );
    });

    it('opens a run and comes back to a refreshed list', async () => {
        getRuns.mockResolvedValue(mockRuns);
        const element = await createHistory();
        element.shadowRoot
            .querySelector('lightning-datatable')
            .dispatchEvent(
                new CustomEvent('rowaction', { detail: { action: { name: 'open' }, row: mockRuns[1] } })
            );
        await flushPromises();
        const detail = element.shadowRoot.querySelector('c-run-detail');
        expect(detail.runId).toBe('a01000000000003AAA');
        expect(window.location.hash).toBe('#history/a01000000000003AAA');

        detail.dispatchEvent(new CustomEvent('back'));
        await flushPromises();
        expect(element.shadowRoot.querySelector('c-run-detail')).toBeNull();
        expect(getRuns).toHaveBeenCalledTimes(2);
    });

    it('refreshes on demand', async () => {
        getRuns.mockResolvedValue(mockRuns);
        const element = await createHistory();
        element.shadowRoot.querySelector('lightning-button-icon.refresh').click();
        await flushPromises();
        expect(getRuns).toHaveBeenCalledTimes(2);
    });

    it('shows an empty state when there is no run', async () => {
        getRuns.mockResolvedValue([]);
        const element = await createHistory();
        expect(element.shadowRoot.querySelector('.empty-state')).not.toBeNull();
    });

    it('shows the Apex error', async () => {
        getRuns.mockRejectedValue({ body: { message: 'You need the Rollcall Admin permission set.' } });
        const element = await createHistory();
        expect(element.shadowRoot.querySelector('c-error-panel').errors.body.message).toContain(
            'Rollcall Admin'
        );
        expect(element.shadowRoot.querySelector('.empty-state')).toBeNull();
    });

    it('is accessible', async () => {
        getRuns.mockResolvedValue(mockRuns);
        const element = await createHistory();
        await expect(element).toBeAccessible();
    });
});
