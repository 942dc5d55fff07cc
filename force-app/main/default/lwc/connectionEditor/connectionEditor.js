import { LightningElement, api } from 'lwc';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import getMappingOptions from '@salesforce/apex/ConnectionController.getMappingOptions';
import getConnection from '@salesforce/apex/ConnectionController.getConnection';
import saveConnection from '@salesforce/apex/ConnectionController.saveConnection';

const SOURCE_FIELD = 'field';
const SOURCE_VALUE = 'value';
const SOURCE_ROLE = 'role';
const KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/;
const NAME_MAX_LENGTH = 80;
const KEY_MAX_LENGTH = 40;
/** The service's defaults for a blank field (service/src/engine/deprovision.ts, docs/connections.md). */
const DEFAULT_GRACE_DAYS = 7;
const DEFAULT_BREAKER_MAX_COUNT = 50;
const DEFAULT_BREAKER_MAX_PERCENT = 20;
/** The deprovisioning fields: [selector, property, largest value, what to write]. */
const SETTING_FIELDS = [
    [
        'lightning-input.grace-days',
        'graceDays',
        9999,
        'Enter a whole number of days from 0 to 9999, or leave blank.'
    ],
    [
        'lightning-input.breaker-count',
        'breakerMaxCount',
        999999999,
        'Enter a whole number, 0 or more, or leave blank.'
    ],
    [
        'lightning-input.breaker-percent',
        'breakerMaxPercent',
        100,
        'Enter a whole percent from 0 to 100, or leave blank.'
    ]
];

/** Blank is null (the service's default); anything else a number, or the text as typed when it is not one. */
function settingValue(value) {
    if (value === null || value === undefined || String(value).trim() === '') {
        return null;
    }
    const number = Number(value);
    return Number.isNaN(number) ? String(value) : number;
}

function isWholeNumber(value, maximum) {
    return value === null || (Number.isInteger(value) && value >= 0 && value <= maximum);
}

let nextRowKey = 0;

function newRow(path, source, text) {
    nextRowKey += 1;
    return {
        key: `mapping-${nextRowKey}`,
        path: path || '',
        source: source || SOURCE_FIELD,
        text: text || ''
    };
}

/** Attribute_Map__c as editable rows: a SCIM path and a User field, a constant or the role. */
function rowsFromMap(json) {
    if (!json || !json.trim()) {
        return [];
    }
    const parsed = JSON.parse(json);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw new Error('The saved mapping is not a JSON object.');
    }
    return Object.keys(parsed).map((path) => {
        const source = parsed[path] || {};
        if (typeof source.field === 'string') {
            return newRow(path, SOURCE_FIELD, source.field);
        }
        if (source.role === true) {
            return newRow(path, SOURCE_ROLE, '');
        }
        return newRow(path, SOURCE_VALUE, source.value === undefined ? '' : String(source.value));
    });
}

/** The rows as Attribute_Map__c; a constant "true" or "false" is a boolean (as `active` wants), others text. */
function mapFromRows(rows) {
    if (!rows.length) {
        return '';
    }
    const map = {};
    rows.forEach((row) => {
        const path = row.path.trim();
        if (row.source === SOURCE_FIELD) {
            map[path] = { field: row.text };
        } else if (row.source === SOURCE_ROLE) {
            map[path] = { role: true };
        } else {
            const text = row.text;
            map[path] = { value: text === 'true' ? true : text === 'false' ? false : text };
        }
    });
    return JSON.stringify(map);
}

/**
 * Create or edit a connection (DESIGN §10): name, key (the service's CONNECTIONS_FILE entry with the app's
 * URL and token), active, Match On (the account's userName), and the attribute mapping — rows of a SCIM
 * attribute path and a User field (c-field-picker), a constant, or the role; and taking access away
 * (DESIGN §11): Deprovisioning Off or Deactivate, grace days and the circuit breaker's limits (blank: the
 * service's defaults).
 */
export default class ConnectionEditor extends LightningElement {
    @api recordId;

    name = '';
    key = '';
    active = true;
    matchOn = 'Username';
    rows = [];
    deprovisioning = 'Off';
    graceDays;
    breakerMaxCount;
    breakerMaxPercent;

    fields = [];
    matchOnOptions = [];
    isLoading = true;
    isSaving = false;
    error;
    mappingWarning;
    rowErrors = {};
    focusTarget = 'lightning-input.name';

    nameMaxLength = NAME_MAX_LENGTH;
    keyMaxLength = KEY_MAX_LENGTH;
    defaultGraceDays = `${DEFAULT_GRACE_DAYS} (default)`;
    defaultBreakerMaxCount = `${DEFAULT_BREAKER_MAX_COUNT} (default)`;
    defaultBreakerMaxPercent = `${DEFAULT_BREAKER_MAX_PERCENT} (default)`;
    graceDaysHelp = `Days an account waits after its user stops matching before it is deactivated; matching again within them cancels it. Blank: ${DEFAULT_GRACE_DAYS} days. 0: at once.`;
    breakerMaxCountHelp = `A run that would deactivate or remove from groups more accounts than this holds all of them for an admin's approval. Blank: ${DEFAULT_BREAKER_MAX_COUNT}.`;
    breakerMaxPercentHelp = `A run that would take access from more than this percent of the connection's rule-managed active accounts holds all of it for an admin's approval. Blank: ${DEFAULT_BREAKER_MAX_PERCENT}%.`;
    sourceOptions = [
        { label: 'User field', value: SOURCE_FIELD },
        { label: 'Constant', value: SOURCE_VALUE },
        { label: 'Role', value: SOURCE_ROLE }
    ];
    deprovisioningOptions = [
        { label: 'Off', value: 'Off' },
        { label: 'Deactivate', value: 'Deactivate' }
    ];

    connectedCallback() {
        this.load();
    }

    async load() {
        try {
            const [options, record] = await Promise.all([
                getMappingOptions(),
                this.recordId ? getConnection({ connectionId: this.recordId }) : Promise.resolve(null)
            ]);
            this.fields = options.fields || [];
            this.matchOnOptions = options.matchOn || [];
            if (record) {
                this.name = record.name;
                this.key = record.key;
                this.active = record.active;
                this.matchOn = record.matchOn || 'Username';
                this.deprovisioning = record.deprovisioning || 'Off';
                this.graceDays = record.graceDays;
                this.breakerMaxCount = record.breakerMaxCount;
                this.breakerMaxPercent = record.breakerMaxPercent;
                try {
                    this.rows = rowsFromMap(record.attributeMap);
                } catch (unreadable) {
                    this.rows = [];
                    this.mappingWarning = `The saved mapping could not be read (${unreadable.message}); saving replaces it with these rows.`;
                }
            }
        } catch (error) {
            this.error = error;
        } finally {
            this.isLoading = false;
        }
    }

    renderedCallback() {
        if (this.focusTarget && !this.isLoading) {
            const target = this.template.querySelector(this.focusTarget);
            if (target) {
                this.focusTarget = undefined;
                target.focus();
            }
        }
    }

    get title() {
        return this.recordId ? `Edit ${this.name || 'Connection'}` : 'New Connection';
    }

    get mappingRows() {
        return this.rows.map((row, index) => ({
            ...row,
            number: index + 1,
            isField: row.source === SOURCE_FIELD,
            isValue: row.source === SOURCE_VALUE,
            isRole: row.source === SOURCE_ROLE,
            fieldLabel: `User field for ${row.path || `attribute ${index + 1}`}`,
            removeLabel: `Remove ${row.path || `attribute ${index + 1}`}`,
            pathError: (this.rowErrors[row.key] || {}).path,
            sourceError: (this.rowErrors[row.key] || {}).text
        }));
    }

    get hasRows() {
        return this.rows.length > 0;
    }

    handleNameChange(event) {
        this.name = event.detail.value;
    }

    handleKeyChange(event) {
        this.key = event.detail.value;
    }

    handleActiveChange(event) {
        this.active = event.detail.checked;
    }

    handleMatchOnChange(event) {
        this.matchOn = event.detail.value;
    }

    updateRow(key, changes) {
        this.rows = this.rows.map((row) => (row.key === key ? { ...row, ...changes } : row));
    }

    handlePathChange(event) {
        this.updateRow(event.target.dataset.key, { path: event.detail.value });
    }

    handleSourceChange(event) {
        this.updateRow(event.target.dataset.key, { source: event.detail.value, text: '' });
    }

    handleFieldChange(event) {
        this.updateRow(event.target.dataset.key, { text: event.detail.value || '' });
    }

    handleValueChange(event) {
        this.updateRow(event.target.dataset.key, { text: event.detail.value });
    }

    handleAddRow() {
        const row = newRow();
        this.rows = [...this.rows, row];
        this.focusTarget = `lightning-input.path[data-key="${row.key}"]`;
    }

    handleRemoveRow(event) {
        this.rows = this.rows.filter((row) => row.key !== event.currentTarget.dataset.key);
        this.focusTarget = 'lightning-button.add-row';
    }

    handleCancel() {
        this.dispatchEvent(new CustomEvent('cancel'));
    }

    /** The checks the admin can fix at once; the server checks the same and the User describe. */
    validate() {
        let valid = true;
        ['lightning-input.name', 'lightning-input.key'].forEach((selector) => {
            const input = this.template.querySelector(selector);
            if (!input) {
                return;
            }
            let message = '';
            if (selector.endsWith('name') && !this.name.trim()) {
                message = 'Enter a name.';
            } else if (selector.endsWith('key') && !KEY_PATTERN.test(this.key.trim())) {
                message = 'Use 1 to 40 letters, digits, ".", "_" or "-", starting with a letter or digit.';
            }
            input.setCustomValidity(message);
            input.reportValidity();
            if (message && valid) {
                valid = false;
                input.focus();
            }
        });
        const errors = {};
        const seen = new Set();
        this.rows.forEach((row) => {
            const path = row.path.trim();
            const rowErrors = {};
            if (!path) {
                rowErrors.path = 'Enter a SCIM attribute, e.g. title or name.givenName.';
            } else if (seen.has(path)) {
                rowErrors.path = `${path} is mapped twice.`;
            }
            seen.add(path);
            if (row.source === SOURCE_FIELD && !row.text) {
                rowErrors.text = 'Choose a User field.';
            }
            if (rowErrors.path || rowErrors.text) {
                errors[row.key] = rowErrors;
            }
        });
        this.rowErrors = errors;
        return valid && Object.keys(errors).length === 0;
    }

    handleDeprovisioningChange(event) {
        this.deprovisioning = event.detail.value;
    }

    handleGraceDaysChange(event) {
        this.graceDays = settingValue(event.detail.value);
    }

    handleBreakerMaxCountChange(event) {
        this.breakerMaxCount = settingValue(event.detail.value);
    }

    handleBreakerMaxPercentChange(event) {
        this.breakerMaxPercent = settingValue(event.detail.value);
    }

    /** The grace days and breaker limits: blank, or a whole number in range (Apex checks them again). */
    validateSettings() {
        let valid = true;
        SETTING_FIELDS.forEach(([selector, property, maximum, hint]) => {
            const input = this.template.querySelector(selector);
            const ok = isWholeNumber(settingValue(this[property]), maximum);
            if (input) {
                input.setCustomValidity(ok ? '' : hint);
                input.reportValidity();
                if (!ok && valid) {
                    input.focus();
                }
            }
            valid = valid && ok;
        });
        return valid;
    }

    async handleSave() {
        const settingsValid = this.validateSettings();
        if (!this.validate() || !settingsValid) {
            return;
        }
        this.isSaving = true;
        this.error = undefined;
        try {
            const id = await saveConnection({
                connection: {
                    id: this.recordId,
                    name: this.name.trim(),
                    key: this.key.trim(),
                    active: this.active,
                    matchOn: this.matchOn,
                    attributeMap: mapFromRows(this.rows),
                    deprovisioning: this.deprovisioning,
                    graceDays: settingValue(this.graceDays),
                    breakerMaxCount: settingValue(this.breakerMaxCount),
                    breakerMaxPercent: settingValue(this.breakerMaxPercent)
                }
            });
            this.dispatchEvent(
                new ShowToastEvent({
                    title: 'Connection saved',
                    message: `${this.name.trim()} was saved${this.active ? ' and is active' : ' (inactive)'}.`,
                    variant: 'success'
                })
            );
            this.dispatchEvent(new CustomEvent('saved', { detail: { id } }));
        } catch (error) {
            this.error = error;
        } finally {
            this.isSaving = false;
        }
    }
}
