import { LightningElement, api } from 'lwc';

const PREVIEW_COLUMNS = [
    { label: 'Name', fieldName: 'userName', wrapText: true },
    { label: 'Email', fieldName: 'email', type: 'email' },
    { label: 'Products', fieldName: 'products', wrapText: true },
    { label: 'Matched Sets', fieldName: 'matchedSets', wrapText: true },
    { label: 'Current Status', fieldName: 'currentStatus', wrapText: true }
];

const OUTCOME_COLUMNS = [
    ...PREVIEW_COLUMNS,
    { label: 'Outcome', fieldName: 'outcome', initialWidth: 120 },
    { label: 'Reason', fieldName: 'reason', wrapText: true }
];

/** A preview's items have no status until the run executes them (Apex names them; this is the fallback). */
export const TO_INVITE = 'To invite';

/**
 * The users of a run (a preview's eligible users, or a finished run's items) with totals: users,
 * per product, per matched set, and users matched by more than one set.
 */
export default class PreviewResults extends LightningElement {
    /** RunDetail from Apex: { run, items, totalItems, overlapCount, productTotals, setTotals, statusTotals } */
    @api detail;
    /** Show each item's outcome (Invited / Skipped / Failed) and reason. */
    @api showOutcome = false;

    get columns() {
        return this.showOutcome ? OUTCOME_COLUMNS : PREVIEW_COLUMNS;
    }

    get items() {
        return ((this.detail && this.detail.items) || []).map((item) => ({
            ...item,
            outcome: item.outcome || item.status || TO_INVITE
        }));
    }

    get hasItems() {
        return this.items.length > 0;
    }

    get totalItems() {
        return (this.detail && this.detail.totalItems) || 0;
    }

    get overlapCount() {
        return (this.detail && this.detail.overlapCount) || 0;
    }

    get isTruncated() {
        return this.totalItems > this.items.length;
    }

    get truncatedMessage() {
        return `Showing the first ${this.items.length} of ${this.totalItems} users.`;
    }

    get productTotals() {
        return (this.detail && this.detail.productTotals) || [];
    }

    get setTotals() {
        return (this.detail && this.detail.setTotals) || [];
    }

    get statusTotals() {
        return (this.detail && this.detail.statusTotals) || [];
    }

    get skippedSets() {
        return ((this.detail && this.detail.skippedSets) || []).map((set, index) => ({
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
}
