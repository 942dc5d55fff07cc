import { LightningElement } from 'lwc';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import LightningConfirm from 'lightning/confirm';
import getConnections from '@salesforce/apex/ConnectionController.getConnections';
import testConnection from '@salesforce/apex/ConnectionController.testConnection';
import deleteConnection from '@salesforce/apex/ConnectionController.deleteConnection';

const ACTIONS = [
    { label: 'Edit', name: 'edit' },
    { label: 'Test connection', name: 'test' },
    { label: 'Pending deactivations', name: 'pending' },
    { label: 'Compare with the app', name: 'reconcile' },
    { label: 'Delete', name: 'delete' }
];

const COLUMNS = [
    { label: 'Name', fieldName: 'name', wrapText: true },
    { label: 'Key', fieldName: 'key', initialWidth: 180 },
    { label: 'Active', fieldName: 'active', type: 'boolean', initialWidth: 90 },
    { label: 'Match On', fieldName: 'matchOn', initialWidth: 170 },
    { label: 'Granted by sets', fieldName: 'grantCount', type: 'number', initialWidth: 150 },
    { label: 'Status', fieldName: 'statusText', wrapText: true },
    { type: 'action', typeAttributes: { rowActions: ACTIONS } }
];

/** "supported (max 200 results)" / "not supported", for the test's capability list. */
function supported(flag, detail) {
    if (!flag) {
        return 'not supported';
    }
    return detail ? `supported (${detail})` : 'supported';
}

/**
 * Connections (DESIGN §10): the apps Rollcall provisions accounts into over SCIM 2.0, with what the service
 * says of each (reachable, unreachable, not configured in the service); the list is the org's and still
 * shows when the service cannot be reached. New / Edit open the editor in place; Test connection asks the
 * service what the app supports. Taking access away (DESIGN §11): Pending deactivations (c-pending-deactivations)
 * and Compare with the app (c-connection-reconcile) open below the list.
 */
export default class ConnectionList extends LightningElement {
    columns = COLUMNS;
    rows = [];
    notInOrg = [];
    serviceReachable = true;
    serviceMessage;
    error;
    isLoading = true;
    isWorking = false;
    /** undefined: the list; null: creating; an Id: editing that connection. */
    editingId;
    /** The last Test connection: { name, lines: [{ key, label, value }], problem }. */
    testResult;
    /** The panel below the list: { kind: 'pending' | 'reconcile', id, name }. */
    review;
    focusTarget;

    connectedCallback() {
        this.load();
    }

    async load() {
        this.isLoading = true;
        try {
            const result = await getConnections();
            this.rows = (result.connections || []).map((row) => ({
                ...row,
                // The service's reason often starts with the status itself ("Not configured in the service: …").
                statusText: !row.problem
                    ? row.status
                    : row.problem.startsWith(row.status)
                      ? row.problem
                      : `${row.status}: ${row.problem}`
            }));
            this.notInOrg = result.notInOrg || [];
            this.serviceReachable = result.serviceReachable !== false;
            this.serviceMessage = result.serviceMessage;
            this.error = undefined;
        } catch (error) {
            this.error = error;
            this.rows = [];
        } finally {
            this.isLoading = false;
        }
    }

    renderedCallback() {
        if (this.focusTarget && !this.isEditing) {
            const target = this.template.querySelector(this.focusTarget);
            if (target) {
                this.focusTarget = undefined;
                target.focus();
            }
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

    get hasNotInOrg() {
        return this.notInOrg.length > 0;
    }

    get notInOrgText() {
        return `The service also has ${this.notInOrg.length === 1 ? 'an entry' : 'entries'} for ${this.notInOrg.join(', ')}, which no connection here uses.`;
    }

    get serviceUnreachable() {
        return !this.isLoading && !this.serviceReachable;
    }

    handleCreate() {
        this.editingId = null;
    }

    async handleRowAction(event) {
        const { action, row } = event.detail;
        if (action.name === 'edit') {
            this.editingId = row.id;
        } else if (action.name === 'test') {
            await this.test(row);
        } else if (action.name === 'delete') {
            await this.remove(row);
        } else if (action.name === 'pending' || action.name === 'reconcile') {
            this.testResult = undefined;
            this.review = { kind: action.name, id: row.id, name: row.name };
            this.focusTarget =
                action.name === 'pending' ? 'c-pending-deactivations' : 'c-connection-reconcile';
        }
    }

    get showPending() {
        return Boolean(this.review && this.review.kind === 'pending');
    }

    get showReconcile() {
        return Boolean(this.review && this.review.kind === 'reconcile');
    }

    handleReviewClose() {
        this.review = undefined;
        this.focusTarget = 'lightning-button.create';
    }

    async test(row) {
        this.isWorking = true;
        this.error = undefined;
        this.testResult = undefined;
        this.review = undefined;
        try {
            const result = await testConnection({ connectionId: row.id });
            this.testResult = {
                name: row.name,
                heading: `Test of ${row.name}: ${result.reachable ? 'reachable' : 'not reachable'}`,
                problem: result.problem,
                lines: result.reachable
                    ? [
                          {
                              key: 'filter',
                              label: 'Filter',
                              value: supported(
                                  result.filterSupported,
                                  result.maxResults ? `max ${result.maxResults} results` : ''
                              )
                          },
                          { key: 'patch', label: 'PATCH', value: supported(result.patchSupported) },
                          {
                              key: 'bulk',
                              label: 'Bulk',
                              value: supported(
                                  result.bulkSupported,
                                  result.bulkMaxOperations ? `max ${result.bulkMaxOperations} operations` : ''
                              )
                          },
                          { key: 'etag', label: 'ETags', value: supported(result.etagSupported) },
                          { key: 'sort', label: 'Sorting', value: supported(result.sortSupported) },
                          {
                              key: 'types',
                              label: 'Resource types',
                              value: (result.resourceTypes || []).join(', ') || 'none listed'
                          },
                          {
                              key: 'extensions',
                              label: 'User extensions',
                              value: (result.userSchemaExtensions || []).join(', ') || 'none'
                          }
                      ]
                    : []
            };
            this.testResult.lines = this.testResult.lines.map((line) => ({
                ...line,
                labelKey: `${line.key}-label`,
                valueKey: `${line.key}-value`
            }));
            this.focusTarget = '.test-heading';
        } catch (error) {
            this.error = error;
        } finally {
            this.isWorking = false;
        }
    }

    get hasTestLines() {
        return Boolean(this.testResult && this.testResult.lines.length);
    }

    async remove(row) {
        const confirmed = await LightningConfirm.open({
            message: `Delete the connection "${row.name}"? Accounts already in the app are not changed.`,
            variant: 'header',
            theme: 'warning',
            label: 'Delete connection'
        });
        if (!confirmed) {
            return;
        }
        this.isWorking = true;
        this.error = undefined;
        try {
            await deleteConnection({ connectionId: row.id });
            this.toast('Connection deleted', `${row.name} was deleted.`, 'success');
            this.focusTarget = 'lightning-button.create';
            this.testResult = undefined;
            await this.load();
        } catch (error) {
            this.error = error;
        } finally {
            this.isWorking = false;
        }
    }

    async handleEditorDone() {
        this.editingId = undefined;
        this.focusTarget = 'lightning-button.create';
        await this.load();
    }

    handleEditorCancel() {
        this.editingId = undefined;
        this.focusTarget = 'lightning-button.create';
    }

    async handleRefresh() {
        await this.load();
    }

    toast(title, message, variant) {
        this.dispatchEvent(new ShowToastEvent({ title, message, variant }));
    }
}
