import { LightningElement, wire } from 'lwc';
import { refreshApex } from '@salesforce/apex';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import ConfirmDialog from 'c/confirmDialog';
import getConditionSets from '@salesforce/apex/ConditionSetController.getConditionSets';
import getEditorOptions from '@salesforce/apex/ConditionSetController.getEditorOptions';
import { summarizeDefinition } from 'c/conditionDefinition';
import deleteConditionSet from '@salesforce/apex/ConditionSetController.deleteConditionSet';

const ACTIONS = [
    { label: 'Edit', name: 'edit' },
    { label: 'Duplicate', name: 'duplicate' },
    { label: 'Delete', name: 'delete' }
];

/** The name opens the set, as a record name does in a list view. */
const NAME_COLUMN = {
    label: 'Name',
    fieldName: 'name',
    type: 'button',
    sortable: true,
    typeAttributes: {
        label: { fieldName: 'name' },
        name: 'edit',
        variant: 'base',
        title: 'Edit this condition set'
    }
};

const COLUMNS = [
    NAME_COLUMN,
    { label: 'Description', fieldName: 'description', wrapText: true, sortable: true },
    { label: 'Products', fieldName: 'productList', wrapText: true, sortable: true },
    { label: 'Eligible Statuses', fieldName: 'statusList', wrapText: true, sortable: true },
    { label: 'Active', fieldName: 'active', type: 'boolean', initialWidth: 90, sortable: true },
    { label: 'Conditions', fieldName: 'conditionSummary', wrapText: true, sortable: true },
    {
        label: 'Last Modified',
        fieldName: 'lastModifiedDate',
        type: 'date',
        sortable: true,
        wrapText: true,
        typeAttributes: {
            year: 'numeric',
            month: 'short',
            day: '2-digit',
            hour: '2-digit',
            minute: '2-digit',
            timeZoneName: 'short'
        }
    },
    { type: 'action', typeAttributes: { rowActions: ACTIONS } }
];

function sortValue(row, fieldName) {
    // A button column sorts by its label, which is the name.
    const value = row[fieldName];
    if (value === undefined || value === null) {
        return '';
    }
    return typeof value === 'string' ? value.toLowerCase() : value;
}

/**
 * Condition sets: the list (sortable; the name opens the set) with Edit / Duplicate / Delete, and Create.
 * Editing, duplicating and creating open the two-step editor in place; saving or cancelling comes back to
 * the refreshed list.
 */
export default class ConditionSetList extends LightningElement {
    columns = COLUMNS;
    rows = [];
    error;
    isLoading = true;
    isWorking = false;
    /** undefined: the list; null: creating; an Id: editing that set. */
    editingId;
    /** Creating from a copy of this set (Duplicate): nothing is written until the editor saves. */
    copyOfId;
    sortedBy;
    sortedDirection = 'asc';
    wiredResult;
    /** Back from the editor, the focus returns to the list's main action instead of the page top. */
    focusCreate = false;

    renderedCallback() {
        if (this.focusCreate && !this.isEditing) {
            const create = this.template.querySelector('lightning-button.create');
            if (create) {
                this.focusCreate = false;
                create.focus();
            }
        }
    }

    /** The User fields by label, for the conditions' summary (the editor reads the same cached options). */
    fields = [];

    @wire(getEditorOptions)
    wiredOptions({ data }) {
        if (data) {
            this.fields = data.fields || [];
            this.sortRows();
        }
    }

    @wire(getConditionSets)
    wiredConditionSets(result) {
        this.wiredResult = result;
        const { data, error } = result;
        if (data) {
            this.loadedRows = data.map((row) => ({
                ...row,
                productList: (row.products || []).join(', '),
                statusList: (row.eligibleStatuses || []).join(', ')
            }));
            this.sortRows();
            this.error = undefined;
            this.isLoading = false;
        } else if (error) {
            this.error = error;
            this.loadedRows = [];
            this.rows = [];
            this.isLoading = false;
        }
    }

    handleSort(event) {
        this.sortedBy = event.detail.fieldName;
        this.sortedDirection = event.detail.sortDirection;
        this.sortRows();
    }

    sortRows() {
        const rows = (this.loadedRows || []).map((row) => ({
            ...row,
            conditionSummary: summarizeDefinition(row.definition, this.fields)
        }));
        if (this.sortedBy) {
            const sign = this.sortedDirection === 'desc' ? -1 : 1;
            rows.sort((a, b) => {
                const left = sortValue(a, this.sortedBy);
                const right = sortValue(b, this.sortedBy);
                return sign * (left < right ? -1 : left > right ? 1 : 0);
            });
        }
        this.rows = rows;
    }

    get isEditing() {
        return this.editingId !== undefined;
    }

    get hasRows() {
        return this.rows.length > 0;
    }

    get isEmpty() {
        return !this.isLoading && !this.error && this.rows.length === 0;
    }

    handleCreate() {
        this.copyOfId = undefined;
        this.editingId = null;
    }

    async handleRowAction(event) {
        const { action, row } = event.detail;
        if (action.name === 'edit') {
            this.copyOfId = undefined;
            this.editingId = row.id;
        } else if (action.name === 'duplicate') {
            // As Salesforce's Clone: the editor opens on a copy, written only when the admin saves it.
            this.copyOfId = row.id;
            this.editingId = null;
        } else if (action.name === 'delete') {
            await this.remove(row);
        }
    }

    async remove(row) {
        const confirmed = await ConfirmDialog.open({
            label: 'Delete condition set',
            size: 'small',
            message:
                `Delete the condition set "${row.name}"? From the next run on, nobody gets an invitation or ` +
                'a product through it. Invitations already sent stay valid until they are used or expire, and ' +
                'users who already connected their calendars stay connected.',
            confirmLabel: 'Delete',
            destructive: true
        });
        if (!confirmed) {
            // The dialog gives the focus back to the row's menu button, where the admin was.
            return;
        }
        // The row whose menu had the focus goes: the focus goes to the list's main action.
        this.focusCreate = true;
        this.isWorking = true;
        this.error = undefined;
        try {
            await deleteConditionSet({ conditionSetId: row.id });
            this.toast('Condition set deleted', `${row.name} was deleted.`, 'success');
            await refreshApex(this.wiredResult);
        } catch (error) {
            this.error = error;
        } finally {
            this.isWorking = false;
        }
    }

    async handleEditorDone() {
        this.editingId = undefined;
        this.copyOfId = undefined;
        this.focusCreate = true;
        await refreshApex(this.wiredResult);
    }

    handleEditorCancel() {
        this.editingId = undefined;
        this.copyOfId = undefined;
        this.focusCreate = true;
    }

    toast(title, message, variant) {
        this.dispatchEvent(new ShowToastEvent({ title, message, variant }));
    }
}
