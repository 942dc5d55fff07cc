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

/**
 * The columns the search box looks in: those the org searches too (ProvisioningRuns.itemPage: the text
 * fields behind them), so a search finds the same users whether the run is loaded whole or searched by the
 * org. Products (a multi-select picklist) and the statuses cannot be searched there.
 */
const SEARCHED_FIELDS = ['userName', 'email', 'matchedSets', 'reason'];
const LOAD_FAILED = 'More users could not be loaded';
const SEARCH_FAILED = 'The users could not be searched';
/** Typing pauses this long before the org is asked. */
export const SEARCH_DELAY_MS = 300;
/** ProvisioningRuns.MAX_SEARCH_LENGTH: the box takes no more. */
export const SEARCH_MAX_LENGTH = 100;

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
 * and with problemsOnly only the skipped and failed ones, read from the org as well. The search box
 * filters the users shown when every one is loaded; otherwise the org searches all of them, and its
 * matches, a page at a time too, stand in for the list until the box is cleared.
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
    errorMessage;

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
        this.forgetSearch();
        const detail = this._detail;
        if (this._onlyProblems && detail && detail.run) {
            this.rows = [];
            this.lastItemId = undefined;
            this.hasMore = false;
            if (this.isSearching) {
                // The skipped and failed users are not loaded yet: the org searches them.
                this.searchOrg(false);
            } else {
                this.loadMore();
            }
            return;
        }
        this.rows = (detail && detail.items) || [];
        this.lastItemId = detail && detail.lastItemId;
        this.hasMore = Boolean(detail && detail.hasMoreItems);
        if (this.isSearching && this.hasMore) {
            this.searchOrg(true);
        }
    }

    /** The next page: of the run's users, or of the org's matches while a search stands in for them. */
    loadMore() {
        return this.fetchPage(this.lastItemId || null, this.searchedTerm, false);
    }

    /**
     * A page of the run's users from Apex (with search, only the matches), after afterId; replace starts
     * the rows afresh with it (a new search), otherwise it is added to them.
     */
    async fetchPage(afterId, search, replace) {
        const runId = this._detail && this._detail.run && this._detail.run.id;
        if (!runId) {
            return;
        }
        const request = { afterId, search, replace };
        this.pendingRequest = request;
        this.isLoadingMore = true;
        try {
            const params = { runId, afterId, onlyProblems: this._onlyProblems };
            if (search !== undefined) {
                params.search = search;
            }
            const page = await getRunItems(params);
            if (this.pendingRequest === request) {
                this.rows = replace ? page.items || [] : [...this.rows, ...(page.items || [])];
                this.lastItemId = page.lastId;
                this.hasMore = Boolean(page.hasMore);
                if (replace) {
                    this.searchedTerm = search;
                    this.error = undefined;
                }
            }
        } catch (error) {
            if (this.pendingRequest === request) {
                // The rows shown stay: the list, or the matches of the previous search.
                this.error = error;
                this.errorMessage = search === undefined ? LOAD_FAILED : SEARCH_FAILED;
                if (replace && this.searchedTerm === undefined) {
                    this.savedList = undefined;
                }
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

    // Search over every user of the run, and sort what is shown.
    searchTerm = '';
    searchMaxLength = SEARCH_MAX_LENGTH;
    /** The term the org searched for the rows shown; undefined while they are the run's own list. */
    searchedTerm;
    /** The run's own list while the org's matches stand in for it, shown again when the box is cleared. */
    savedList;
    searchTimer;
    sortedBy;
    sortedDirection = 'asc';

    disconnectedCallback() {
        this.stopSearchTimer();
    }

    handleSearch(event) {
        this.searchTerm = event.target.value || '';
        this.stopSearchTimer();
        if (!this.isSearching) {
            this.showList();
            return;
        }
        if (this.searchedTerm === undefined && !this.hasMore && !this.isLoadingMore) {
            return; // every user is here: the table filters them itself
        }
        // The org is asked once the admin pauses, not at every key.
        // eslint-disable-next-line @lwc/lwc/no-async-operation
        this.searchTimer = setTimeout(() => {
            this.searchTimer = undefined;
            this.searchOrg(true);
        }, SEARCH_DELAY_MS);
    }

    /** The org's first page of matches; saveList keeps the run's list to show again afterwards. */
    searchOrg(saveList) {
        const term = this.searchTerm.trim();
        if (term === this.searchedTerm && !this.isSearchPending) {
            this.error = undefined; // back to the term the rows were found for
            return;
        }
        if (this.searchedTerm === undefined && !this.savedList && saveList && !this.isLoadingMore) {
            this.savedList = { rows: this.rows, lastItemId: this.lastItemId, hasMore: this.hasMore };
        }
        this.fetchPage(null, term, true);
    }

    /** The box is cleared: the run's list again, as it was before the search. */
    showList() {
        const searchedOrg =
            this.searchedTerm !== undefined ||
            Boolean(this.pendingRequest && this.pendingRequest.search !== undefined);
        const saved = this.savedList;
        this.forgetSearch();
        if (this.errorMessage === SEARCH_FAILED) {
            this.error = undefined;
        }
        if (!searchedOrg) {
            return;
        }
        if (!saved) {
            this.resetRows();
            return;
        }
        this.error = undefined;
        this.pendingRequest = undefined;
        this.isLoadingMore = false;
        this.rows = saved.rows;
        this.lastItemId = saved.lastItemId;
        this.hasMore = saved.hasMore;
    }

    forgetSearch() {
        this.stopSearchTimer();
        this.searchedTerm = undefined;
        this.savedList = undefined;
    }

    stopSearchTimer() {
        if (this.searchTimer) {
            clearTimeout(this.searchTimer);
            this.searchTimer = undefined;
        }
    }

    handleSort(event) {
        this.sortedBy = event.detail.fieldName;
        this.sortedDirection = event.detail.sortDirection;
    }

    get isSearching() {
        return this.searchTerm.trim() !== '';
    }

    /** The org has been asked, or is about to be, and has not answered yet. */
    get isSearchPending() {
        return Boolean(this.searchTimer) || Boolean(this.pendingRequest && this.pendingRequest.replace);
    }

    /** The table filters the rows itself: every user of the list is loaded. */
    get filtersLocally() {
        return this.isSearching && this.searchedTerm === undefined && !this.hasMore && !this.isSearchPending;
    }

    get showSearchSummary() {
        return (
            this.isSearching &&
            (this.isSearchPending || this.searchedTerm !== undefined || this.filtersLocally)
        );
    }

    get searchSummary() {
        if (!this.showSearchSummary) {
            return '';
        }
        if (this.isSearchPending) {
            return `Searching the users for "${this.searchTerm.trim()}"…`;
        }
        const shown = this.items.length;
        const noun = shown === 1 ? 'user matches' : 'users match';
        const term = this.searchedTerm === undefined ? this.searchTerm.trim() : this.searchedTerm;
        if (this.searchedTerm !== undefined && this.hasMore) {
            return `The first ${shown} users matching "${term}"; show more users for the others.`;
        }
        return `${shown} ${noun} "${term}".`;
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
        const term = this.filtersLocally ? this.searchTerm.trim().toLowerCase() : '';
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

    /** The table and its search box: some users, or a search (whose matches may be none). */
    get hasItems() {
        return this.rows.length > 0 || this.searchedTerm !== undefined || this.isSearchPending;
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

    /** The list shows fewer users than the run has (a search says what it found instead). */
    get isTruncated() {
        return this.searchedTerm === undefined && this.shownTotal > this.rows.length;
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
