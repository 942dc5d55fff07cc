import { LightningElement, api } from 'lwc';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import compareWithApp from '@salesforce/apex/ConnectionController.compareWithApp';
import adoptAccounts from '@salesforce/apex/ConnectionController.adoptAccounts';
import ConfirmDialog from 'c/confirmDialog';

const COLUMNS = [
    { label: 'userName', fieldName: 'userName', wrapText: true },
    { label: 'In the app', fieldName: 'state', initialWidth: 130 },
    { label: 'Note', fieldName: 'note', wrapText: true }
];

/** The four lists, in the order the screen shows them. */
const LISTS = [
    {
        name: 'adoptable',
        title: 'Adoptable as Rule',
        help: 'App accounts of users who match a rule granting this connection: adopt them and the rules manage them.'
    },
    {
        name: 'manual',
        title: 'Matching a user, no rule: left Manual',
        help: 'App accounts of users no rule grants this connection (or inactive users, or a second account): never changed.'
    },
    {
        name: 'toCreate',
        title: 'Users the rules would create',
        help: 'Users a rule grants this connection who have no account in the app: the next run creates them.'
    },
    {
        name: 'noUser',
        title: 'App accounts with no Salesforce user',
        help: 'Accounts in the app that match no Salesforce user: Rollcall leaves them alone.'
    }
];

function plural(count, one, many) {
    return `${count} ${count === 1 ? one : many}`;
}

/**
 * "Compare with the app" (DESIGN §11): the service reads the app's accounts page by page and sorts them
 * against Salesforce into four lists, with counts and the first entries of each. Nothing is adopted until
 * the admin adopts all or the selected adoptable accounts and confirms. Fires `close`.
 */
export default class ConnectionReconcile extends LightningElement {
    @api connectionName;
    columns = COLUMNS;
    result;
    error;
    isBusy = false;
    busyText = 'Comparing with the app';
    selectedIds = [];
    adoptOutcome;
    _connectionId;

    @api
    get connectionId() {
        return this._connectionId;
    }
    set connectionId(value) {
        const changed = value !== this._connectionId;
        this._connectionId = value;
        if (value && changed) {
            this.compare();
        }
    }

    @api
    focus() {
        const heading = this.template.querySelector('.reconcile-heading');
        if (heading) {
            heading.focus();
        }
    }

    async compare() {
        this.isBusy = true;
        this.busyText = 'Comparing with the app';
        this.error = undefined;
        try {
            this.result = await compareWithApp({ connectionId: this._connectionId });
            const adoptable = new Set(this.entries('adoptable').map((entry) => entry.appId));
            this.selectedIds = this.selectedIds.filter((appId) => adoptable.has(appId));
        } catch (error) {
            this.error = error;
        } finally {
            this.isBusy = false;
        }
    }

    entries(name) {
        const list = this.result && this.result[name];
        return (list && list.entries) || [];
    }

    count(name) {
        const list = this.result && this.result[name];
        return (list && list.count) || 0;
    }

    get heading() {
        return `Compare ${this.connectionName || 'the connection'} with the app`;
    }

    get summary() {
        const read = this.result.appAccounts || 0;
        const recorded = this.result.recorded || 0;
        return (
            `${plural(read, 'app account', 'app accounts')} read; ` +
            `${recorded} already recorded by Rollcall (not listed below). Nothing changes until you adopt.`
        );
    }

    get lists() {
        return LISTS.map((list) => {
            const count = this.count(list.name);
            const entries = this.entries(list.name).map((entry, index) => ({
                ...entry,
                key: entry.appId || entry.userId || `${list.name}-${index}`,
                state: entry.appId ? (entry.active === false ? 'inactive' : 'active') : 'no account',
                note: entry.note || ''
            }));
            return {
                ...list,
                count,
                entries,
                adoptable: list.name === 'adoptable',
                className: `slds-m-bottom_small list-${list.name}`,
                title: `${list.title} (${count})`,
                shownText: count > entries.length ? `The first ${entries.length} of ${count} are listed.` : ''
            };
        });
    }

    get adoptSelectedLabel() {
        return `Adopt selected (${this.selectedIds.length})`;
    }

    get adoptSelectedDisabled() {
        return this.isBusy || this.selectedIds.length === 0;
    }

    get adoptAllLabel() {
        return `Adopt all ${this.count('adoptable')}`;
    }

    handleRowSelection(event) {
        this.selectedIds = (event.detail.selectedRows || []).map((row) => row.appId);
    }

    async handleAdoptSelected() {
        await this.adopt(this.selectedIds.length, false);
    }

    async handleAdoptAll() {
        await this.adopt(this.count('adoptable'), true);
    }

    async adopt(count, adoptAll) {
        const accounts = plural(count, 'account', 'accounts');
        const confirmed = await ConfirmDialog.open({
            label: 'Adopt accounts?',
            size: 'small',
            message:
                `Adopt ${adoptAll ? 'all ' : ''}${accounts} of ${this.connectionName} as Rule accounts? Rollcall ` +
                "records each and writes its key into the account's externalId in the app; from then on the rules " +
                'manage them (attributes, groups, role and, with deprovisioning on, deactivation). Accounts no longer ' +
                'adoptable when the service compares again are left alone.',
            confirmLabel: `Adopt ${count === 1 ? '1 Account' : `${count} Accounts`}`
        });
        if (!confirmed) {
            return;
        }
        this.isBusy = true;
        this.busyText = 'Adopting';
        this.error = undefined;
        try {
            const answer = await adoptAccounts({
                connectionId: this._connectionId,
                appIds: adoptAll ? null : this.selectedIds,
                adoptAll
            });
            const parts = [`${plural(answer.adopted, 'account', 'accounts')} adopted.`];
            if (answer.notAdoptable && answer.notAdoptable.length) {
                parts.push(
                    `${plural(answer.notAdoptable.length, 'account was', 'accounts were')} no longer adoptable.`
                );
            }
            if (answer.failures && answer.failures.length) {
                parts.push(`Failed: ${answer.failures.join('; ')}.`);
            }
            this.adoptOutcome = parts.join(' ');
            this.dispatchEvent(
                new ShowToastEvent({
                    title: 'Accounts adopted',
                    message: this.adoptOutcome,
                    variant: answer.failures && answer.failures.length ? 'warning' : 'success'
                })
            );
            this.selectedIds = [];
        } catch (error) {
            this.error = error;
        } finally {
            this.isBusy = false;
        }
        await this.compare();
    }

    handleCompare() {
        this.adoptOutcome = undefined;
        this.compare();
    }

    handleClose() {
        this.dispatchEvent(new CustomEvent('close'));
    }
}
