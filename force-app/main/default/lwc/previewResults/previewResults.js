import { LightningElement, api } from 'lwc';
import getRunItems from '@salesforce/apex/RunHistoryController.getRunItems';
import explainUser from '@salesforce/apex/RunHistoryController.explainUser';

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
    { label: 'Name', fieldName: 'userName', wrapText: true },
    // Addresses are long and an email cell does not wrap: wide enough for a typical one.
    { label: 'Email', fieldName: 'email', type: 'email', initialWidth: 260 },
    { label: 'Products', fieldName: 'products', wrapText: true },
    { label: 'Matched Sets', fieldName: 'matchedSets', wrapText: true },
    { label: 'Current Status', fieldName: 'currentStatus', wrapText: true },
    WHY_COLUMN
];

const OUTCOME_COLUMNS = [
    ...PREVIEW_COLUMNS.slice(0, -1),
    { label: 'Outcome', fieldName: 'outcome', initialWidth: 120 },
    { label: 'Reason', fieldName: 'reason', wrapText: true },
    WHY_COLUMN
];

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

    /** The explanation shown under the table for the row whose "Why" was clicked. */
    explanation;
    explanationError;
    isExplaining = false;

    async handleRowAction(event) {
        if (event.detail.action.name !== 'why') {
            return;
        }
        const row = event.detail.row;
        this.isExplaining = true;
        this.explanation = undefined;
        this.explanationError = undefined;
        try {
            const why = await explainUser({ userId: row.userId });
            this.explanation = {
                ...why,
                title: `Why ${why.userName || row.userName}`,
                sets: (why.sets || []).map((set, index) => ({
                    ...set,
                    key: `${index}`,
                    heading: `${set.name}: ${set.valid ? (set.matched ? 'matched' : 'not matched') : 'invalid, skipped'}${set.logic ? ` (${set.logic})` : ''}`,
                    conditions: (set.conditions || []).map((condition, position) => ({
                        ...condition,
                        key: `${index}-${position}`,
                        text: `${condition.label}: the user has ${condition.actual}, ${condition.outcome ? 'true' : 'false'}`
                    }))
                })),
                products: (why.products || []).map((product) => ({
                    ...product,
                    text: `${product.product}: ${product.status}, ${product.eligible ? 'eligible' : 'not eligible'}. ${product.reasons}`
                }))
            };
        } catch (error) {
            this.explanationError = error;
        } finally {
            this.isExplaining = false;
        }
    }

    handleCloseExplanation() {
        this.explanation = undefined;
        this.explanationError = undefined;
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
        return this.rows.map((item) => ({
            ...item,
            outcome: item.outcome || item.status || TO_INVITE
        }));
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
        return `Showing the first ${this.rows.length} of ${this.shownTotal} users.`;
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
