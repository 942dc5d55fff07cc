import { LightningElement, api } from 'lwc';
import getRunItems from '@salesforce/apex/RunHistoryController.getRunItems';
import explainUser from '@salesforce/apex/RunHistoryController.explainUser';
import { OPERATOR_LABELS, WHOLE_NUMBER_OPERATORS } from 'c/operatorTable';

/** "Why" on a row: per set each condition with the user's actual value and its outcome. */
const WHY_COLUMN = {
    type: 'button',
    initialWidth: 80,
    typeAttributes: {
        label: 'Why',
        name: 'why',
        title: 'Why this user is (or is not) provisioned',
        variant: 'base'
    }
};

const PREVIEW_COLUMNS = [
    { label: 'Name', fieldName: 'userName', wrapText: true, sortable: true },
    // Addresses are long and an email cell does not wrap: wide enough for a typical one.
    { label: 'Email', fieldName: 'email', type: 'email', initialWidth: 260, sortable: true },
    { label: 'Products', fieldName: 'products', wrapText: true, sortable: true },
    { label: 'Matched Sets', fieldName: 'matchedSets', wrapText: true, sortable: true },
    { label: 'Current Status', fieldName: 'currentStatus', wrapText: true, sortable: true },
    WHY_COLUMN
];

const OUTCOME_COLUMNS = [
    ...PREVIEW_COLUMNS.slice(0, -1),
    { label: 'Outcome', fieldName: 'outcome', initialWidth: 120, sortable: true },
    { label: 'Reason', fieldName: 'reason', wrapText: true, sortable: true },
    WHY_COLUMN
];

/** The columns the search box looks in. */
const SEARCHED_FIELDS = [
    'userName',
    'email',
    'products',
    'matchedSets',
    'currentStatus',
    'outcome',
    'reason'
];

const DATE_TIME_PATTERN = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}(:\d{2}(\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?$/;
const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

/**
 * A value as the admin reads it: a date and time from the record (ISO 8601, "+0000" as Apex and the
 * REST API write it) in the org's time zone with the zone named, a date as a date, anything else as is.
 */
export function formatValue(value, timeZone) {
    const text = value === null || value === undefined ? '' : String(value);
    const dateTime = DATE_TIME_PATTERN.exec(text);
    if (dateTime) {
        const zone = (dateTime[5] || 'Z').replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
        const instant = new Date(`${dateTime[1]}T${dateTime[2]}${zone}`);
        if (!Number.isNaN(instant.getTime())) {
            return new Intl.DateTimeFormat('en-US', {
                year: 'numeric',
                month: 'short',
                day: 'numeric',
                hour: 'numeric',
                minute: '2-digit',
                timeZone: timeZone || 'UTC',
                timeZoneName: 'short'
            }).format(instant);
        }
    }
    if (DATE_PATTERN.test(text)) {
        const day = new Date(`${text}T00:00:00Z`);
        if (!Number.isNaN(day.getTime())) {
            return new Intl.DateTimeFormat('en-US', {
                year: 'numeric',
                month: 'short',
                day: 'numeric',
                timeZone: 'UTC'
            }).format(day);
        }
    }
    return text;
}

/**
 * One condition of "Why" in the admin's words: the field by its label, the operator by the label the
 * editor shows, the value and the user's own value formatted, and whether it held:
 * "Created Date within the last 180 days: the user's is Nov 30, 2026, 11:38 AM PST. Not met."
 */
export function describeCondition(condition, timeZone) {
    const field = condition.fieldLabel || condition.field;
    if (!field || !condition.operator) {
        // An answer without the structured members: the service's own line.
        return `${condition.label}: the user's is ${condition.actual}. ${condition.outcome ? 'Met' : 'Not met'}.`;
    }
    let rule;
    if (WHOLE_NUMBER_OPERATORS.includes(condition.operator)) {
        rule = (OPERATOR_LABELS[condition.operator] || condition.operator).replace(
            ' N ',
            ` ${condition.value} `
        );
    } else {
        const operator = OPERATOR_LABELS[condition.operator] || condition.operator;
        const values =
            condition.value === null || condition.value === undefined
                ? ''
                : ` ${String(condition.value)
                      .split(', ')
                      .map((part) => `"${formatValue(part, timeZone)}"`)
                      .join(', ')}`;
        rule = `${operator}${values}`;
    }
    const actual = condition.actual === '(empty)' ? 'blank' : `"${formatValue(condition.actual, timeZone)}"`;
    return `${field} ${rule}: the user's is ${actual}. ${condition.outcome ? 'Met' : 'Not met'}.`;
}

function compareBy(fieldName, direction) {
    const sign = direction === 'desc' ? -1 : 1;
    return (a, b) =>
        sign *
        String(a[fieldName] === undefined || a[fieldName] === null ? '' : a[fieldName]).localeCompare(
            String(b[fieldName] === undefined || b[fieldName] === null ? '' : b[fieldName]),
            undefined,
            { sensitivity: 'base', numeric: true }
        );
}

/** A preview's items have no status until the run executes them (Apex names them; this is the fallback). */
export const TO_INVITE = 'To invite';
const PROBLEM_OUTCOMES = ['Skipped', 'Failed'];

/**
 * The users of a run (a preview's eligible users, or a finished run's items) with totals: users,
 * per product, per matched set, and users matched by more than one set. Totals cover the whole run; the
 * users come a page at a time (the first with the detail, the next ones from Apex on "Show more users"),
 * and with problemsOnly only the skipped and failed ones, read from the org as well.
 */
export default class PreviewResults extends LightningElement {
    /** Show each item's outcome (Invited / Skipped / Failed) and reason. */
    @api showOutcome = false;

    _detail;
    _onlyProblems = false;
    rows = [];
    lastItemId;
    hasMore = false;
    isLoadingMore = false;
    pendingRequest;
    error;

    /** RunDetail from Apex: { run, items, hasMoreItems, lastItemId, totalItems, …Totals, skippedSets } */
    @api
    get detail() {
        return this._detail;
    }
    set detail(value) {
        this._detail = value;
        this.resetRows();
    }

    /** Only the skipped and failed users, over the whole run. */
    @api
    get problemsOnly() {
        return this._onlyProblems;
    }
    set problemsOnly(value) {
        const onlyProblems = Boolean(value);
        if (onlyProblems !== this._onlyProblems) {
            this._onlyProblems = onlyProblems;
            this.resetRows();
        }
    }

    resetRows() {
        this.error = undefined;
        // An answer still on its way belongs to the rows being replaced.
        this.pendingRequest = undefined;
        this.isLoadingMore = false;
        const detail = this._detail;
        if (this._onlyProblems && detail && detail.run) {
            this.rows = [];
            this.lastItemId = undefined;
            this.hasMore = false;
            this.loadMore();
            return;
        }
        this.rows = (detail && detail.items) || [];
        this.lastItemId = detail && detail.lastItemId;
        this.hasMore = Boolean(detail && detail.hasMoreItems);
    }

    async loadMore() {
        const runId = this._detail && this._detail.run && this._detail.run.id;
        if (!runId) {
            return;
        }
        const request = { afterId: this.lastItemId || null };
        this.pendingRequest = request;
        this.isLoadingMore = true;
        try {
            const page = await getRunItems({
                runId,
                afterId: request.afterId,
                onlyProblems: this._onlyProblems
            });
            if (this.pendingRequest === request) {
                this.rows = [...this.rows, ...(page.items || [])];
                this.lastItemId = page.lastId;
                this.hasMore = Boolean(page.hasMore);
            }
        } catch (error) {
            if (this.pendingRequest === request) {
                this.error = error;
            }
        } finally {
            if (this.pendingRequest === request) {
                this.pendingRequest = undefined;
                this.isLoadingMore = false;
            }
        }
    }

    /** "Why": the explanation of one user, in a dialog over the screen, where the admin is looking. */
    explanation;
    explanationError;
    isExplaining = false;
    explainedUserName;
    /** Focus goes into the dialog once it is drawn. */
    focusDialog = false;

    async handleRowAction(event) {
        if (event.detail.action.name !== 'why') {
            return;
        }
        const row = event.detail.row;
        this.explainedUserName = row.userName;
        this.isExplaining = true;
        this.focusDialog = true;
        this.explanation = undefined;
        this.explanationError = undefined;
        try {
            const why = await explainUser({ userId: row.userId });
            if (!this.isExplaining) {
                return; // closed while the service answered
            }
            this.explanation = {
                ...why,
                sets: (why.sets || []).map((set, index) => ({
                    ...set,
                    key: `${index}`,
                    heading: `${set.name}: ${set.valid ? (set.matched ? 'matched' : 'not matched') : 'not valid, skipped'}${set.logic ? ` (conditions ${set.logic})` : ''}`,
                    conditions: (set.conditions || []).map((condition, position) => ({
                        ...condition,
                        key: `${index}-${position}`,
                        text: describeCondition(condition, why.timeZone)
                    }))
                })),
                products: (why.products || []).map((product) => ({
                    ...product,
                    // One line per product; the reasons, one per set, separated by semicolons.
                    text: `${product.product}: ${product.eligible ? 'eligible' : 'not eligible'} (status ${product.status})${product.reasons ? `: ${product.reasons}` : ''}.`
                }))
            };
        } catch (error) {
            this.explanationError = error;
        } finally {
            this.isExplaining = false;
        }
    }

    get showExplanation() {
        return this.focusDialog || this.isExplaining || Boolean(this.explanation || this.explanationError);
    }

    get explanationTitle() {
        const name = (this.explanation && this.explanation.userName) || this.explainedUserName;
        return name ? `Why ${name}` : 'Why';
    }

    renderedCallback() {
        if (this.focusDialog) {
            const heading = this.template.querySelector('.explanation-title');
            if (heading) {
                this.focusDialog = false;
                heading.focus();
            }
        }
    }

    handleCloseExplanation() {
        this.isExplaining = false;
        this.focusDialog = false;
        this.explanation = undefined;
        this.explanationError = undefined;
        // Back where the admin was: the table of users.
        const table = this.template.querySelector('lightning-datatable');
        if (table && typeof table.focus === 'function') {
            table.focus();
        }
    }

    /** Escape closes; Tab stays inside the dialog (SLDS modal focus management). */
    handleDialogKeydown(event) {
        if (event.key === 'Escape') {
            event.preventDefault();
            event.stopPropagation();
            this.handleCloseExplanation();
            return;
        }
        if (event.key !== 'Tab') {
            return;
        }
        // The buttons and the scrollable content (focusable, so a keyboard can scroll a long explanation).
        const focusable = [
            ...this.template.querySelectorAll(
                '.explanation-dialog lightning-button-icon, .explanation-dialog button, .explanation-dialog [tabindex="0"]'
            )
        ];
        if (focusable.length === 0) {
            return;
        }
        const first = focusable[0];
        const last = focusable[focusable.length - 1];
        const active = this.template.activeElement;
        if (event.shiftKey && (active === first || !focusable.includes(active))) {
            event.preventDefault();
            last.focus();
        } else if (!event.shiftKey && active === last) {
            event.preventDefault();
            first.focus();
        }
    }

    // Search and sort over the users loaded so far.
    searchTerm = '';
    sortedBy;
    sortedDirection = 'asc';

    handleSearch(event) {
        this.searchTerm = event.target.value || '';
    }

    handleSort(event) {
        this.sortedBy = event.detail.fieldName;
        this.sortedDirection = event.detail.sortDirection;
    }

    get isSearching() {
        return this.searchTerm.trim() !== '';
    }

    get searchSummary() {
        const shown = this.items.length;
        const noun = shown === 1 ? 'user matches' : 'users match';
        const scope = this.hasMore
            ? ` among the ${this.rows.length} loaded; show more users to search the other ${this.shownTotal - this.rows.length}`
            : '';
        return `${shown} ${noun} "${this.searchTerm.trim()}"${scope}.`;
    }

    handleShowMore() {
        if (!this.isLoadingMore) {
            this.loadMore();
        }
    }

    get columns() {
        return this.showOutcome ? OUTCOME_COLUMNS : PREVIEW_COLUMNS;
    }

    get items() {
        let items = this.rows.map((item) => ({
            ...item,
            outcome: item.outcome || item.status || TO_INVITE
        }));
        const term = this.searchTerm.trim().toLowerCase();
        if (term) {
            items = items.filter((item) =>
                SEARCHED_FIELDS.some((fieldName) =>
                    String(item[fieldName] === undefined || item[fieldName] === null ? '' : item[fieldName])
                        .toLowerCase()
                        .includes(term)
                )
            );
        }
        if (this.sortedBy) {
            items = [...items].sort(compareBy(this.sortedBy, this.sortedDirection));
        }
        return items;
    }

    get hasItems() {
        return this.rows.length > 0;
    }

    get totalItems() {
        return (this._detail && this._detail.totalItems) || 0;
    }

    /** The users the table can show in all: every user, or the skipped and failed ones. */
    get shownTotal() {
        if (!this._onlyProblems) {
            return this.totalItems;
        }
        return this.statusTotals
            .filter((total) => PROBLEM_OUTCOMES.includes(total.label))
            .reduce((sum, total) => sum + total.count, 0);
    }

    get overlapCount() {
        return (this._detail && this._detail.overlapCount) || 0;
    }

    get isTruncated() {
        return this.shownTotal > this.rows.length;
    }

    get truncatedMessage() {
        return `Showing the first ${this.rows.length} of ${this.shownTotal} ${this.shownTotal === 1 ? 'user' : 'users'}.`;
    }

    get showMoreDisabled() {
        return this.isLoadingMore;
    }

    get productTotals() {
        return (this._detail && this._detail.productTotals) || [];
    }

    get setTotals() {
        return (this._detail && this._detail.setTotals) || [];
    }

    get setTotalsPartial() {
        return Boolean(this._detail && this._detail.setTotalsPartial);
    }

    get statusTotals() {
        return (this._detail && this._detail.statusTotals) || [];
    }

    get skippedSets() {
        return ((this._detail && this._detail.skippedSets) || []).map((set, index) => ({
            ...set,
            key: `${index}`
        }));
    }

    get hasSkippedSets() {
        return this.skippedSets.length > 0;
    }

    get hasStatusTotals() {
        return this.showOutcome && this.statusTotals.length > 0;
    }

    get emptyTitle() {
        return this._onlyProblems ? 'No skipped or failed users' : 'No eligible users';
    }

    get emptyText() {
        return this._onlyProblems
            ? 'Every user of this run was handled without a problem.'
            : 'No active user matches an active condition set with an eligible authorization status.';
    }
}
