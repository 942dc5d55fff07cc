import { LightningElement, wire } from 'lwc';
import getRuns from '@salesforce/apex/RunHistoryController.getRuns';
import getOrgTimeZone from '@salesforce/apex/RunHistoryController.getOrgTimeZone';

export const MAX_RUNS = 50;

// No header actions menu (its chevron takes room from the header text); text columns wrap rather than cut
// ("Completed with Errors", "Incremental" at 800 px); the run's name ("RUN-0000123") never cut; dates
// wide enough for "Dec 01, 2026, 03:45 PM PST", counts narrow. The table scrolls sideways when narrower.
const RUN_WIDTH = 130;
const DATE_WIDTH = 150;
const COUNT_WIDTH = 88;

/** The runs' columns, times in the org's time zone with the zone named (as the audit email gives them). */
export function historyColumns(timeZone) {
    const dateTime = {
        year: 'numeric',
        month: 'short',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        timeZoneName: 'short',
        ...(timeZone ? { timeZone } : {})
    };
    return [
        {
            label: 'Run',
            type: 'button',
            initialWidth: RUN_WIDTH,
            typeAttributes: {
                label: { fieldName: 'name' },
                name: 'open',
                variant: 'base',
                title: 'Open the run'
            }
        },
        { label: 'Status', fieldName: 'status', wrapText: true, initialWidth: 120 },
        { label: 'Trigger', fieldName: 'triggerType', wrapText: true, initialWidth: 95 },
        // Full or Incremental: a scheduled run evaluates only what changed since the last one when it can.
        { label: 'Evaluation', fieldName: 'evaluationKind', wrapText: true, initialWidth: 110 },
        { label: 'Initiated By', fieldName: 'initiatedByLabel', wrapText: true, initialWidth: 130 },
        {
            label: 'Started',
            fieldName: 'startedAt',
            type: 'date',
            typeAttributes: dateTime,
            wrapText: true,
            initialWidth: DATE_WIDTH
        },
        {
            label: 'Finished',
            fieldName: 'finishedAt',
            type: 'date',
            typeAttributes: dateTime,
            wrapText: true,
            initialWidth: DATE_WIDTH
        },
        { label: 'Eligible', fieldName: 'eligibleCount', type: 'number', initialWidth: COUNT_WIDTH },
        { label: 'Invited', fieldName: 'invitedCount', type: 'number', initialWidth: COUNT_WIDTH },
        { label: 'Skipped', fieldName: 'skippedCount', type: 'number', initialWidth: COUNT_WIDTH },
        { label: 'Failed', fieldName: 'failedCount', type: 'number', initialWidth: COUNT_WIDTH }
    ].map((column) => ({ ...column, hideDefaultActions: true }));
}

/**
 * History: the latest runs (previews, manual and scheduled runs) with status, trigger, initiator,
 * counts and times. Opening a run shows its items and errors.
 */
export default class RunHistory extends LightningElement {
    columns = historyColumns();
    timeZone;
    runs = [];
    isLoading = true;
    error;
    openRunId;

    @wire(getOrgTimeZone)
    wiredTimeZone({ data }) {
        if (data) {
            this.timeZone = data;
            this.columns = historyColumns(data);
        }
    }

    get timeZoneNote() {
        return this.timeZone ? `Times in the org's time zone (${this.timeZone}).` : '';
    }

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
