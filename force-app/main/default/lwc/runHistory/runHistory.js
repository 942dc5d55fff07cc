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
const OUTCOME_WIDTH = 220;
/** The address of History (#history) and of one run in it (#history/<run id>): Back and links work. */
export const HISTORY_HASH = 'history';

/** The run id in a History address, or undefined. */
export function runIdFromHash(hash) {
    const [screen, runId] = String(hash || '')
        .replace(/^#/, '')
        .split('/');
    return screen === HISTORY_HASH && runId ? decodeURIComponent(runId) : undefined;
}

/** The link to one run on this page (a full address: it can be copied, bookmarked, opened in a new tab). */
export function runLink(runId) {
    const { origin, pathname, search } = window.location;
    return `${origin}${pathname}${search}#${HISTORY_HASH}/${encodeURIComponent(runId)}`;
}

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
            fieldName: 'link',
            type: 'url',
            initialWidth: RUN_WIDTH,
            typeAttributes: { label: { fieldName: 'name' }, target: '_self', tooltip: 'Open the run' }
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
        // The service's line (invited, reminded, skipped, failed), word for word as the run detail, the toast,
        // the audit email and Slack say it: one column instead of one per count.
        { label: 'Outcome', fieldName: 'outcome', wrapText: true, initialWidth: OUTCOME_WIDTH }
    ].map((column) => ({ ...column, hideDefaultActions: true }));
}

/**
 * History: the latest runs (manual and scheduled; previews never provisioned only when asked) with status,
 * trigger, initiator, counts and times. Each run has its own address (#history/<id>): opening one is a
 * navigation, so the browser's Back returns to the list, and the link can be shared.
 */
export default class RunHistory extends LightningElement {
    columns = historyColumns();
    timeZone;
    runs = [];
    isLoading = true;
    error;
    openRunId;
    /** Show previews that were never provisioned (off: they would crowd the runs that sent something). */
    showPreviews = false;

    onHashChange = () => this.followAddress();

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
        window.addEventListener('hashchange', this.onHashChange);
        this.openRunId = runIdFromHash(window.location.hash);
        this.load();
    }

    disconnectedCallback() {
        window.removeEventListener('hashchange', this.onHashChange);
    }

    /** Back, Forward or a link changed the address: show the run it names, or the list. */
    followAddress() {
        const runId = runIdFromHash(window.location.hash);
        if (runId === this.openRunId) {
            return;
        }
        const wasOpen = Boolean(this.openRunId);
        this.openRunId = runId;
        if (!runId && wasOpen) {
            this.load();
        }
    }

    async load() {
        this.isLoading = true;
        this.error = undefined;
        try {
            const runs = await getRuns({ maxRuns: MAX_RUNS, includePreviews: this.showPreviews });
            this.runs = runs.map((run) => ({
                ...run,
                link: runLink(run.id),
                outcome: run.outcomeSummary || '',
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

    get emptyHint() {
        return this.showPreviews
            ? 'Previews, manual and scheduled runs appear here.'
            : 'Manual and scheduled runs appear here. Previews that were not provisioned are hidden.';
    }

    /** Opens a run by its address, so Back comes back here. */
    open(runId) {
        this.openRunId = runId;
        window.location.hash = `${HISTORY_HASH}/${encodeURIComponent(runId)}`;
    }

    handleRowAction(event) {
        this.open(event.detail.row.id);
    }

    handleBack() {
        this.openRunId = undefined;
        window.location.hash = HISTORY_HASH;
        this.load();
    }

    handleShowPreviewsChange(event) {
        this.showPreviews = event.detail.checked;
        this.load();
    }

    handleRefresh() {
        this.load();
    }
}
