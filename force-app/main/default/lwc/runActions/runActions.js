import { LightningElement, api } from 'lwc';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import getRunActions from '@salesforce/apex/ConnectionController.getRunActions';
import approveHeldRemovals from '@salesforce/apex/ConnectionController.approveHeldRemovals';
import ConfirmDialog from 'c/confirmDialog';

/** Rows shown per connection until the admin asks for all; the counts above them cover every action. */
const ROWS_PER_CONNECTION = 20;
/** Plural nouns of the action kinds, for "2 creates, 3 group adds". */
const KIND_WORDS = {
    Create: ['create', 'creates'],
    Update: ['update', 'updates'],
    'Add To Group': ['group add', 'group adds'],
    'Remove From Group': ['group removal', 'group removals'],
    'Set Role': ['role', 'roles'],
    Reactivate: ['reactivation', 'reactivations'],
    Deactivate: ['deactivation', 'deactivations']
};

function countWords(totals, words) {
    return (totals || [])
        .map(({ label, count }) => {
            const [one, many] = (words && words[label]) || [label, label];
            return `${count} ${count === 1 ? one : many}`;
        })
        .join(', ');
}

/**
 * The access a run gives in other apps (DESIGN §10), by connection: for a preview the plan (accounts to
 * create, to update, group memberships to add, roles to set), for a run what was sent and how it ended.
 * Shows nothing when the run has no connection actions. Used by provisionUsers and runDetail.
 * Taking access away (DESIGN §11): each deactivation, reactivation and group removal with its why; the
 * removals the circuit breaker held, with its reason, and "Approve held removals" once the run finished
 * (the service checks the admin again and sends them once), then who approved and when.
 *
 * Events: `loaded` after each read ({runId, totalActions, heldCount}); `loadfailed` when a read fails
 * ({runId}); `heldapproved` after an approval (the approval's answer), so the parent reads the run's
 * counts and outcome line again.
 */
export default class RunActions extends LightningElement {
    result;
    error;
    isLoading = false;
    isApproving = false;
    /** Connections whose every action is listed (the others show the first ROWS_PER_CONNECTION). */
    expanded = [];
    _runId;
    _runStatus;

    @api
    get runId() {
        return this._runId;
    }
    set runId(value) {
        const changed = value !== this._runId;
        this._runId = value;
        if (value && changed) {
            this.load();
        }
    }

    /** The run's status: when it changes (Previewed → Running → Completed), the actions are read again. */
    @api
    get runStatus() {
        return this._runStatus;
    }
    set runStatus(value) {
        const changed = this._runStatus !== undefined && value !== this._runStatus;
        this._runStatus = value;
        if (changed && this._runId) {
            this.load();
        }
    }

    @api
    async refresh() {
        await this.load();
    }

    async load() {
        this.isLoading = true;
        this.error = undefined;
        const runId = this._runId;
        try {
            this.result = await getRunActions({ runId });
            // The parent learns the totals without reading the actions again (provisionUsers enables
            // Provision Users for a preview that plans actions and no invitation).
            this.dispatchEvent(
                new CustomEvent('loaded', {
                    detail: {
                        runId,
                        totalActions: (this.result && this.result.totalActions) || 0,
                        heldCount: (this.result && this.result.heldCount) || 0
                    }
                })
            );
        } catch (error) {
            this.error = error;
            // The parent stops waiting for the totals (provisionUsers: provisioning sends the plan anyway).
            this.dispatchEvent(new CustomEvent('loadfailed', { detail: { runId } }));
        } finally {
            this.isLoading = false;
        }
    }

    get hasActions() {
        return Boolean(this.result && this.result.totalActions > 0);
    }

    get summary() {
        const total = this.result ? this.result.totalActions : 0;
        const connections = this.connections.length;
        return `${total} ${total === 1 ? 'action' : 'actions'} in ${connections} ${
            connections === 1 ? 'app' : 'apps'
        }${this.result && this.result.truncated ? ' (the first ones are listed)' : ''}.`;
    }

    get heldCount() {
        return (this.result && this.result.heldCount) || 0;
    }

    get hasHeld() {
        return this.heldCount > 0 || Boolean(this.result && this.result.heldApprovedAt);
    }

    get heldSummary() {
        const count = this.heldCount;
        if (this.result && this.result.heldApprovedAt && count === 0) {
            return 'The removals the circuit breaker held in this run were approved and sent.';
        }
        return `The circuit breaker held ${count} ${count === 1 ? 'action' : 'actions'} (deactivations and group removals): ${count === 1 ? 'it waits' : 'they wait'} for an admin's approval.`;
    }

    get heldApprovedBy() {
        return (this.result && this.result.heldApprovedBy) || 'an admin';
    }

    get heldNotYet() {
        return this.result && this.result.runStatus === 'Previewed'
            ? 'Provisioning this preview holds them: nothing of them is sent until an admin approves them on the run.'
            : 'They can be approved once the run has finished.';
    }

    async handleApproveHeld() {
        const count = this.heldCount;
        const apps = this.connections
            .filter((connection) => connection.heldReason)
            .map((connection) => connection.title)
            .join(', ');
        const confirmed = await ConfirmDialog.open({
            label: 'Approve held removals?',
            size: 'small',
            message:
                `Send the ${count} held ${count === 1 ? 'action' : 'actions'} of this run to ${apps}: ` +
                'the accounts are deactivated and removed from the groups listed, as the run planned them. ' +
                'The service checks that you are a Rollcall admin, sends them once and records your approval.',
            confirmLabel: `Send ${count} Held ${count === 1 ? 'Action' : 'Actions'}`,
            destructive: true
        });
        if (!confirmed) {
            return;
        }
        this.isApproving = true;
        this.error = undefined;
        try {
            const approval = await approveHeldRemovals({ runId: this._runId });
            this.dispatchEvent(
                new ShowToastEvent({
                    title: approval.alreadyApproved ? 'Already approved' : 'Held removals approved',
                    message: approval.alreadyApproved
                        ? 'Another approval was recorded first; nothing more was sent.'
                        : `${approval.released} held ${approval.released === 1 ? 'action was' : 'actions were'} sent.`,
                    variant: approval.alreadyApproved ? 'info' : 'success'
                })
            );
            await this.load();
            this.dispatchEvent(new CustomEvent('heldapproved', { detail: approval }));
        } catch (error) {
            this.error = error;
        } finally {
            this.isApproving = false;
        }
    }

    get connections() {
        return ((this.result && this.result.connections) || []).map((connection, index) => {
            const actions = connection.actions || [];
            const key = connection.connectionKey || `connection-${index}`;
            const title = connection.connectionKey
                ? `${connection.connectionName} (${connection.connectionKey})`
                : connection.connectionName;
            const showAll = this.expanded.includes(key);
            const held = actions.find((action) => action.status === 'Held');
            return {
                connectionId: connection.connectionId,
                connectionName: connection.connectionName,
                // A preview records who starts waiting out a grace: listed with why (DESIGN §11).
                showPending: Boolean(
                    this.result.runStatus === 'Previewed' &&
                    connection.connectionId &&
                    connection.deprovisioning === 'Deactivate'
                ),
                // The service's reason starts with "held: "; the line says "Held:" once.
                heldReason: held ? (held.reason || 'held').replace(/^held:\s*/i, '') : null,
                key,
                title,
                kinds: countWords(connection.kindTotals, KIND_WORDS),
                statuses: countWords(connection.statusTotals),
                rows: (showAll ? actions : actions.slice(0, ROWS_PER_CONNECTION)).map((action) => ({
                    ...action,
                    statusClass:
                        action.status === 'Failed'
                            ? 'slds-text-color_error'
                            : action.status === 'Done'
                              ? 'slds-text-color_success'
                              : ''
                })),
                hasMore: actions.length > ROWS_PER_CONNECTION,
                toggleLabel: showAll
                    ? `Show the first ${ROWS_PER_CONNECTION} actions of ${title}`
                    : `Show all ${actions.length} actions of ${title}`
            };
        });
    }

    handleToggle(event) {
        const key = event.currentTarget.dataset.key;
        this.expanded = this.expanded.includes(key)
            ? this.expanded.filter((candidate) => candidate !== key)
            : [...this.expanded, key];
    }
}
