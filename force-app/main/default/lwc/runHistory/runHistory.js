import { LightningElement } from 'lwc';
import getRuns from '@salesforce/apex/RunHistoryController.getRuns';

export const MAX_RUNS = 50;
const DATE_TIME = { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit' };

// No header actions menu (its chevron takes room from the header text, and wrapping is not needed here);
// dates wide enough for "Dec 01, 2026, 03:45 PM", counts narrow.
const DATE_WIDTH = 185;
const COUNT_WIDTH = 88;
const COLUMNS = [
    {
        label: 'Run',
        type: 'button',
        typeAttributes: { label: { fieldName: 'name' }, name: 'open', variant: 'base', title: 'Open the run' }
    },
    { label: 'Status', fieldName: 'status' },
    { label: 'Trigger', fieldName: 'triggerType', initialWidth: 100 },
    // Full or Incremental: a scheduled run evaluates only what changed since the last one when it can.
    { label: 'Evaluation', fieldName: 'evaluationKind', initialWidth: 115 },
    { label: 'Initiated By', fieldName: 'initiatedByLabel' },
    {
        label: 'Started',
        fieldName: 'startedAt',
        type: 'date',
        typeAttributes: DATE_TIME,
        initialWidth: DATE_WIDTH
    },
    {
        label: 'Finished',
        fieldName: 'finishedAt',
        type: 'date',
        typeAttributes: DATE_TIME,
        initialWidth: DATE_WIDTH
    },
    { label: 'Eligible', fieldName: 'eligibleCount', type: 'number', initialWidth: COUNT_WIDTH },
    { label: 'Invited', fieldName: 'invitedCount', type: 'number', initialWidth: COUNT_WIDTH },
    { label: 'Skipped', fieldName: 'skippedCount', type: 'number', initialWidth: COUNT_WIDTH },
    { label: 'Failed', fieldName: 'failedCount', type: 'number', initialWidth: COUNT_WIDTH }
].map((column) => ({ ...column, hideDefaultActions: true }));

/**
 * History: the latest runs (previews, manual and scheduled runs) with status, trigger, initiator,
 * counts and times. Opening a run shows its items and errors.
 */
export default class RunHistory extends LightningElement {
    columns = COLUMNS;
    runs = [];
    isLoading = true;
    error;
    openRunId;

    connectedCallback() {
        this.load();
    }

    async load() {
        this.isLoading = true;
        this.error = undefined;
        try {
            const runs = await getRuns({ maxRuns: MAX_RUNS });
            this.runs = runs.map((run) => ({
                ...run,
                initiatedByLabel: run.initiatedBy || (run.triggerType === 'Scheduled' ? 'Schedule' : '')
            }));
        } catch (error) {
            this.error = error;
            this.runs = [];
        } finally {
            this.isLoading = false;
        }
    }

    get hasRuns() {
        return this.runs.length > 0;
    }

    get isEmpty() {
        return !this.isLoading && !this.error && this.runs.length === 0;
    }

    get isRunOpen() {
        return Boolean(this.openRunId);
    }

    handleRowAction(event) {
        this.openRunId = event.detail.row.id;
    }

    handleBack() {
        this.openRunId = undefined;
        this.load();
    }

    handleRefresh() {
        this.load();
    }
}
