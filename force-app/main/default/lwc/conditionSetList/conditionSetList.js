import { LightningElement, wire } from 'lwc';
import { refreshApex } from '@salesforce/apex';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import LightningConfirm from 'lightning/confirm';
import getConditionSets from '@salesforce/apex/ConditionSetController.getConditionSets';
import duplicateConditionSet from '@salesforce/apex/ConditionSetController.duplicateConditionSet';
import deleteConditionSet from '@salesforce/apex/ConditionSetController.deleteConditionSet';

const ACTIONS = [
    { label: 'Edit', name: 'edit' },
    { label: 'Duplicate', name: 'duplicate' },
    { label: 'Delete', name: 'delete' }
];

const COLUMNS = [
    { label: 'Name', fieldName: 'name', wrapText: true },
    { label: 'Products', fieldName: 'productList', wrapText: true },
    { label: 'Eligible Statuses', fieldName: 'statusList', wrapText: true },
    { label: 'Active', fieldName: 'active', type: 'boolean', initialWidth: 90 },
    { label: 'Conditions', fieldName: 'conditionCount', type: 'number', initialWidth: 110 },
    {
        label: 'Last Modified',
        fieldName: 'lastModifiedDate',
        type: 'date',
        typeAttributes: {
            year: 'numeric',
            month: 'short',
            day: '2-digit',
            hour: '2-digit',
            minute: '2-digit'
        }
    },
    { type: 'action', typeAttributes: { rowActions: ACTIONS } }
];

/**
 * Condition sets: the list with Edit / Duplicate / Delete, and Create. Editing and creating open the
 * two-step editor in place; saving or cancelling comes back to the refreshed list.
 */
export default class ConditionSetList extends LightningElement {
    columns = COLUMNS;
    rows = [];
    error;
    isLoading = true;
    isWorking = false;
    /** undefined: the list; null: creating; an Id: editing that set. */
    editingId;
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

    @wire(getConditionSets)
    wiredConditionSets(result) {
        this.wiredResult = result;
        const { data, error } = result;
        if (data) {
            this.rows = data.map((row) => ({
                ...row,
                productList: (row.products || []).join(', '),
                statusList: (row.eligibleStatuses || []).join(', ')
            }));
            this.error = undefined;
            this.isLoading = false;
        } else if (error) {
            this.error = error;
            this.rows = [];
            this.isLoading = false;
        }
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
        this.editingId = null;
    }

    async handleRowAction(event) {
        const { action, row } = event.detail;
        if (action.name === 'edit') {
            this.editingId = row.id;
        } else if (action.name === 'duplicate') {
            await this.duplicate(row);
        } else if (action.name === 'delete') {
            await this.remove(row);
        }
    }

    async duplicate(row) {
        this.isWorking = true;
        this.error = undefined;
        try {
            const copyId = await duplicateConditionSet({ conditionSetId: row.id });
            this.toast(
                'Condition set duplicated',
                `Copy of ${row.name} is inactive until you save it.`,
                'success'
            );
            await refreshApex(this.wiredResult);
            this.editingId = copyId;
        } catch (error) {
            this.error = error;
        } finally {
            this.isWorking = false;
        }
    }

    async remove(row) {
        const confirmed = await LightningConfirm.open({
            message: `Delete the condition set "${row.name}"? Users it matched are no longer provisioned by it.`,
            variant: 'header',
            theme: 'warning',
            label: 'Delete condition set'
        });
        if (!confirmed) {
            return;
        }
        this.isWorking = true;
        this.error = undefined;
        try {
            await deleteConditionSet({ conditionSetId: row.id });
            this.toast('Condition set deleted', `${row.name} was deleted.`, 'success');
            // The row whose menu had the focus is gone.
            this.focusCreate = true;
            await refreshApex(this.wiredResult);
        } catch (error) {
            this.error = error;
        } finally {
            this.isWorking = false;
        }
    }

    async handleEditorDone() {
        this.editingId = undefined;
        this.focusCreate = true;
        await refreshApex(this.wiredResult);
    }

    handleEditorCancel() {
        this.editingId = undefined;
        this.focusCreate = true;
    }

    toast(title, message, variant) {
        this.dispatchEvent(new ShowToastEvent({ title, message, variant }));
    }
}
