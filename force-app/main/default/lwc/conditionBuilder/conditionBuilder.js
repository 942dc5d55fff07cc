import { LightningElement, api } from 'lwc';
import {
    buildDefinition,
    conditionError,
    parseDefinition,
    logicProblems,
    LOGIC_ALL,
    LOGIC_ANY,
    LOGIC_CUSTOM,
    MAX_CONDITIONS
} from 'c/conditionDefinition';

const FOCUS_LAST_ROW = 'lastRow';
const FOCUS_ADD = 'add';

const LOGIC_OPTIONS = [
    { label: 'All conditions are met (AND)', value: LOGIC_ALL },
    { label: 'Any condition is met (OR)', value: LOGIC_ANY },
    { label: 'Custom logic', value: LOGIC_CUSTOM }
];

/**
 * The condition builder: rows of conditions, Add Condition / remove, and AND / OR / custom logic
 * validated as the admin types. The editor asks validate() before saving, reads definition(), and hands
 * back the server's errors with setErrors() so they appear on the condition they concern.
 */
export default class ConditionBuilder extends LightningElement {
    /** The User fields offered: [{ path, label, type, picklistValues }] */
    @api fields = [];

    rows = [];
    rowErrors = {};
    generalErrors = [];
    logicType = LOGIC_ALL;
    customLogic = '';
    logicError;
    validated = false;
    nextKey = 0;
    focusRequest;

    logicOptions = LOGIC_OPTIONS;

    /** The stored definition (JSON) to start from; empty starts with one blank condition. */
    @api
    get definition() {
        return JSON.stringify(buildDefinition(this.rows, this.logicType, this.customLogic));
    }
    set definition(definitionJson) {
        const parsed = parseDefinition(definitionJson);
        const conditions = parsed.conditions.length ? parsed.conditions : [{}];
        this.rows = conditions.map((condition) => this.newRow(condition));
        this.logicType = parsed.logicType;
        this.customLogic = parsed.customLogic;
        this.rowErrors = {};
        this.logicError = undefined;
        this.validated = false;
    }

    renderedCallback() {
        // A new condition takes the focus, so keyboard users land in it; after a removal the focus, which
        // was on the removed condition's button, goes to Add Condition instead of the page top.
        if (this.focusRequest === FOCUS_LAST_ROW) {
            const rows = this.template.querySelectorAll('c-condition-row');
            if (rows.length) {
                rows[rows.length - 1].focus();
            }
        } else if (this.focusRequest === FOCUS_ADD) {
            this.template.querySelector('lightning-button.add-condition').focus();
        }
        this.focusRequest = undefined;
    }

    connectedCallback() {
        if (this.rows.length === 0) {
            this.rows = [this.newRow({})];
        }
    }

    /** Checks every condition and the logic; shows the problems inline. True when all is valid. */
    @api
    validate() {
        this.validated = true;
        const errors = {};
        this.rows.forEach((row) => {
            const error = conditionError(row, this.findField(row.field));
            if (error) {
                errors[row.key] = error;
            }
        });
        this.rowErrors = errors;
        this.generalErrors = [];
        if (!this.rows.length) {
            this.generalErrors = ['Add at least one condition.'];
        } else if (this.rows.length > MAX_CONDITIONS) {
            this.generalErrors = [
                `Use at most ${MAX_CONDITIONS} conditions; split the set into several sets.`
            ];
        }
        this.logicError = this.computeLogicError();
        return Object.keys(errors).length === 0 && !this.logicError && this.generalErrors.length === 0;
    }

    /** True when every condition and the logic are valid; shows nothing (validate() shows the problems). */
    @api
    isComplete() {
        return (
            this.rows.length > 0 &&
            this.rows.length <= MAX_CONDITIONS &&
            this.rows.every((row) => !conditionError(row, this.findField(row.field))) &&
            !this.computeLogicError()
        );
    }

    /** Focuses the first condition's field, where the admin starts. */
    @api
    focus() {
        const row = this.template.querySelector('c-condition-row');
        if (row) {
            row.focus();
        }
    }

    /**
     * Errors from Apex: [{ conditionIndex (1-based or null), code, message }]. Filter logic errors (codes
     * LOGIC_…) name a condition number but concern the logic, so they are shown with the general errors.
     */
    @api
    setErrors(errors) {
        const rowErrors = {};
        const general = [];
        (errors || []).forEach(({ conditionIndex, code, message }) => {
            const aboutLogic = typeof code === 'string' && code.startsWith('LOGIC_');
            const row = conditionIndex && !aboutLogic ? this.rows[conditionIndex - 1] : undefined;
            if (row) {
                rowErrors[row.key] = message;
            } else {
                general.push(message);
            }
        });
        this.rowErrors = rowErrors;
        this.generalErrors = general;
    }

    newRow({ field, operator, value }) {
        this.nextKey += 1;
        return { key: `condition-${this.nextKey}`, field, operator, value };
    }

    findField(path) {
        return (this.fields || []).find((field) => field.path === path);
    }

    computeLogicError() {
        if (this.logicType !== LOGIC_CUSTOM) {
            return undefined;
        }
        const problems = logicProblems(this.customLogic, this.rows.length);
        return problems.length ? problems : undefined;
    }

    /** Every problem of the custom logic, one line each. */
    get logicErrorItems() {
        return (this.logicError || []).map((message, index) => ({ key: `${index}`, message }));
    }

    get rowViews() {
        return this.rows.map((row, index) => ({
            key: row.key,
            index,
            condition: row,
            error: this.rowErrors[row.key]
        }));
    }

    get isCustomLogic() {
        return this.logicType === LOGIC_CUSTOM;
    }

    get hasGeneralErrors() {
        return this.generalErrors.length > 0;
    }

    get generalErrorItems() {
        return this.generalErrors.map((message, index) => ({ key: `${index}`, message }));
    }

    get logicPlaceholder() {
        return this.rows.length > 1 ? `1 AND (2 OR ${this.rows.length})` : '1';
    }

    /** Tells the editor the draft changed (it refreshes "Check who it matches"). */
    notifyChange() {
        this.dispatchEvent(new CustomEvent('definitionchange'));
    }

    handleConditionChange(event) {
        const { index, condition } = event.detail;
        this.rows = this.rows.map((row, position) => {
            return position === index ? { ...condition, key: row.key } : row;
        });
        if (this.validated || this.rowErrors[condition.key]) {
            const error = conditionError(condition, this.findField(condition.field));
            this.rowErrors = { ...this.rowErrors, [condition.key]: error || undefined };
        }
        this.notifyChange();
    }

    handleRemove(event) {
        const { index } = event.detail;
        this.rows = this.rows.filter((row, position) => position !== index);
        this.focusRequest = FOCUS_ADD;
        if (this.isCustomLogic && (this.customLogic || this.validated)) {
            this.logicError = this.computeLogicError();
        }
        this.notifyChange();
    }

    handleAddCondition() {
        this.rows = [...this.rows, this.newRow({})];
        this.focusRequest = FOCUS_LAST_ROW;
        if (this.isCustomLogic && (this.customLogic || this.validated)) {
            this.logicError = this.computeLogicError();
        }
        this.notifyChange();
    }

    handleLogicTypeChange(event) {
        this.logicType = event.detail.value;
        if (this.logicType === LOGIC_CUSTOM && !this.customLogic) {
            this.customLogic = this.rows.map((row, index) => index + 1).join(' AND ');
        }
        this.logicError = this.computeLogicError();
        this.notifyChange();
    }

    handleCustomLogicChange(event) {
        this.customLogic = event.detail.value;
        this.logicError = this.computeLogicError();
        this.notifyChange();
    }
}
