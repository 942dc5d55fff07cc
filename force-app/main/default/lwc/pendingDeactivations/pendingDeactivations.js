import { LightningElement, api } from 'lwc';
import getPendingDeactivations from '@salesforce/apex/ConnectionController.getPendingDeactivations';

/**
 * A connection's accounts waiting out their grace (DESIGN §11): who, since when their user stopped matching,
 * from when the first run deactivates them, and why — as the service computes them for a run. Fires
 * `close` when the admin closes it.
 */
export default class PendingDeactivations extends LightningElement {
    @api connectionName;
    /** Inside another screen (a preview's actions): no Close button. */
    @api hideClose = false;
    result;
    error;
    isLoading = false;
    _connectionId;

    @api
    get connectionId() {
        return this._connectionId;
    }
    set connectionId(value) {
        const changed = value !== this._connectionId;
        this._connectionId = value;
        if (value && changed) {
            this.load();
        }
    }

    @api
    focus() {
        const heading = this.template.querySelector('.pending-heading');
        if (heading) {
            heading.focus();
        }
    }

    async load() {
        this.isLoading = true;
        this.error = undefined;
        try {
            this.result = await getPendingDeactivations({ connectionId: this._connectionId });
        } catch (error) {
            this.error = error;
            this.result = undefined;
        } finally {
            this.isLoading = false;
        }
    }

    get showClose() {
        return !this.hideClose;
    }

    get heading() {
        return `Pending deactivations of ${this.connectionName || 'the connection'}`;
    }

    get rows() {
        return (this.result && this.result.pending) || [];
    }

    get hasPending() {
        return this.rows.length > 0;
    }

    get summary() {
        const count = this.rows.length;
        const grace = this.result && this.result.graceDays;
        const graceText =
            grace === null || grace === undefined ? '' : ` (grace: ${grace} ${grace === 1 ? 'day' : 'days'})`;
        if (count === 0) {
            return `No account is waiting out its grace${graceText}.`;
        }
        return `${count} ${count === 1 ? 'account waits' : 'accounts wait'} out the grace${graceText}; the first run after the date deactivates them unless their users match again.`;
    }

    handleClose() {
        this.dispatchEvent(new CustomEvent('close'));
    }
}
