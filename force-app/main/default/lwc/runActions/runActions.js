import { LightningElement, api } from 'lwc';
import getRunActions from '@salesforce/apex/ConnectionController.getRunActions';

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
 */
export default class RunActions extends LightningElement {
    result;
    error;
    isLoading = false;
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
        try {
            this.result = await getRunActions({ runId: this._runId });
        } catch (error) {
            this.error = error;
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

    get connections() {
        return ((this.result && this.result.connections) || []).map((connection, index) => {
            const actions = connection.actions || [];
            const key = connection.connectionKey || `connection-${index}`;
            const title = connection.connectionKey
                ? `${connection.connectionName} (${connection.connectionKey})`
                : connection.connectionName;
            const showAll = this.expanded.includes(key);
            return {
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
