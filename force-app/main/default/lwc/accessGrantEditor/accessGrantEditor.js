import { LightningElement, api } from 'lwc';
import getConnectionOptions from '@salesforce/apex/ConnectionController.getConnectionOptions';
import getAccessGrants from '@salesforce/apex/ConnectionController.getAccessGrants';

let nextRowKey = 0;

function toRow(grant) {
    nextRowKey += 1;
    return {
        key: `grant-${nextRowKey}`,
        id: grant.id || null,
        connectionId: grant.connectionId || null,
        groups: grant.groups || '',
        role: grant.role || ''
    };
}

/**
 * The condition set editor's Access section (DESIGN §10): what the set grants in other apps, one grant per
 * connection — the connection, its groups (one display name per line, exact and case-sensitive) and a role.
 * The editor keeps the draft (`grants`, updated on `change`) and, at Save, sends grantsToSave() with the set in
 * one call (ConditionSetController.saveConditionSet saves both or neither).
 */
export default class AccessGrantEditor extends LightningElement {
    /** The saved set whose grants are edited; empty for a new set. */
    @api conditionSetId;

    connectionOptions = [];
    rows = [];
    isLoading = true;
    error;
    _grants;
    /** The saved set's grants were read (or there were none to read): the rows start from them. */
    grantsRead = false;

    /** The draft grants ({id, connectionId, groups, role}); when the editor holds none yet, they are read. */
    @api
    get grants() {
        return this._grants;
    }
    set grants(value) {
        this._grants = value;
        if (value) {
            this.rows = value.map((grant, index) => ({
                ...toRow(grant),
                key: (this.rows[index] && this.rows[index].key) || toRow(grant).key
            }));
        }
    }

    connectedCallback() {
        this.load();
    }

    async load() {
        this.isLoading = true;
        this.error = undefined;
        try {
            const [options, saved] = await Promise.all([
                getConnectionOptions(),
                !this._grants && this.conditionSetId
                    ? getAccessGrants({ conditionSetId: this.conditionSetId })
                    : Promise.resolve(null)
            ]);
            this.connectionOptions = options || [];
            if (saved) {
                this.rows = saved.map(toRow);
                this.notify();
            }
            this.grantsRead = true;
        } catch (error) {
            this.error = error;
        } finally {
            this.isLoading = false;
        }
    }

    get hasConnections() {
        return this.connectionOptions.length > 0;
    }

    get noConnections() {
        return !this.isLoading && !this.error && this.connectionOptions.length === 0;
    }

    get grantRows() {
        return this.rows.map((row, index) => ({
            ...row,
            number: index + 1,
            removeLabel: `Remove access ${index + 1}`
        }));
    }

    get hasRows() {
        return this.rows.length > 0;
    }

    draft() {
        return this.rows.map(({ id, connectionId, groups, role }) => ({ id, connectionId, groups, role }));
    }

    notify() {
        this._grants = this.draft();
        this.dispatchEvent(new CustomEvent('change', { detail: { grants: this._grants } }));
    }

    update(key, changes) {
        this.rows = this.rows.map((row) => (row.key === key ? { ...row, ...changes } : row));
        this.notify();
    }

    handleConnectionChange(event) {
        this.update(event.target.dataset.key, { connectionId: event.detail.value });
    }

    handleGroupsChange(event) {
        this.update(event.target.dataset.key, { groups: event.detail.value });
    }

    handleRoleChange(event) {
        this.update(event.target.dataset.key, { role: event.detail.value });
    }

    handleAdd() {
        const row = toRow({});
        this.rows = [...this.rows, row];
        this.notify();
        this.focusKey = row.key;
    }

    handleRemove(event) {
        this.rows = this.rows.filter((row) => row.key !== event.currentTarget.dataset.key);
        this.notify();
        this.focusKey = 'add';
    }

    renderedCallback() {
        if (!this.focusKey) {
            return;
        }
        const selector =
            this.focusKey === 'add'
                ? 'lightning-button.add-access'
                : `lightning-combobox[data-key="${this.focusKey}"]`;
        const target = this.template.querySelector(selector);
        if (target) {
            this.focusKey = undefined;
            target.focus();
        }
    }

    /** Each grant names a connection, at most one grant per connection. Shows the messages; true when valid. */
    @api
    validate() {
        const seen = new Set();
        let valid = true;
        this.template.querySelectorAll('lightning-combobox.connection').forEach((combobox) => {
            const row = this.rows.find((candidate) => candidate.key === combobox.dataset.key);
            let message = '';
            if (!row || !row.connectionId) {
                message = 'Choose a connection.';
            } else if (seen.has(row.connectionId)) {
                message = 'The set already grants this connection: put its groups in one grant.';
            }
            if (row && row.connectionId) {
                seen.add(row.connectionId);
            }
            combobox.setCustomValidity(message);
            combobox.reportValidity();
            if (message && valid) {
                valid = false;
                combobox.focus();
            }
        });
        return valid;
    }

    /**
     * What Save sends with the set, once validate() passes: `{ valid: true, grants }`, the draft; grants is null
     * while a saved set's grants are still being read or could not be read (the rows are not theirs), so the set
     * keeps its saved grants rather than losing them. `{ valid: false }` when a grant is not valid (the messages
     * are shown under the fields).
     */
    @api
    grantsToSave() {
        if (!this.validate()) {
            return { valid: false };
        }
        const known = !this.conditionSetId || Boolean(this._grants) || this.grantsRead;
        return { valid: true, grants: known ? this.draft() : null };
    }
}
