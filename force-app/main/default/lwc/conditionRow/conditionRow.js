import { LightningElement, api } from 'lwc';
import { operatorOptions, valueKind } from 'c/operatorTable';
import { initialValue, NUMBER_TYPES } from 'c/conditionDefinition';

const TEXT_LIST_SEPARATOR = /\s*,\s*/;
/** Operators whose value is one whole value: a text field with known values (Profile, Role) offers them. */
const EXACT_OPERATORS = ['equals', 'notEquals'];

/**
 * One condition of the builder: a field, an operator the operator table allows for that field's type,
 * and a value input that fits the type and operator. Sends every change up as a whole condition.
 */
export default class ConditionRow extends LightningElement {
    /** 0-based position; shown 1-based, as the filter logic numbers conditions. */
    @api index = 0;
    /** { key, field, operator, value } */
    @api condition = {};
    /** The User fields offered: [{ path, label, type, picklistValues }] */
    @api fields = [];
    /** The problem with this condition, shown inline. */
    @api error;

    /** Focuses the field picker, the first control of the condition. */
    @api
    focus() {
        const picker = this.template.querySelector('c-field-picker');
        if (picker) {
            picker.focus();
        }
    }

    get number() {
        return this.index + 1;
    }

    get legend() {
        return `Condition ${this.number}`;
    }

    get removeLabel() {
        return `Remove condition ${this.number}`;
    }

    get field() {
        return (this.fields || []).find((candidate) => candidate.path === this.condition.field);
    }

    get operatorOptions() {
        return this.field ? operatorOptions(this.field.type) : [];
    }

    get operatorDisabled() {
        return !this.field;
    }

    get kind() {
        return this.condition.operator ? valueKind(this.condition.operator) : 'none';
    }

    get type() {
        return this.field ? this.field.type : 'string';
    }

    get picklistOptions() {
        return ((this.field && this.field.picklistValues) || []).map(({ label, value }) => ({
            label,
            value
        }));
    }

    get hasPicklistValues() {
        return this.picklistOptions.length > 0;
    }

    get showValue() {
        return Boolean(this.field && this.condition.operator) && this.kind !== 'none';
    }

    get isWholeNumber() {
        return this.kind === 'wholeNumber';
    }

    get isPicklistList() {
        return this.kind === 'list' && this.hasPicklistValues;
    }

    get isTextList() {
        return this.kind === 'list' && !this.hasPicklistValues;
    }

    get isSingle() {
        return this.kind === 'single';
    }

    get isBoolean() {
        return this.isSingle && this.type === 'boolean';
    }

    get isPicklist() {
        return (
            this.isSingle &&
            this.hasPicklistValues &&
            (this.type === 'picklist' || EXACT_OPERATORS.includes(this.condition.operator))
        );
    }

    get isOtherSingle() {
        return this.isSingle && !this.isBoolean && !this.isPicklist;
    }

    get inputType() {
        if (NUMBER_TYPES.includes(this.type)) {
            return 'number';
        }
        if (this.type === 'date' || this.type === 'datetime') {
            return this.type;
        }
        return 'text';
    }

    get numberStep() {
        return this.type === 'int' ? '1' : 'any';
    }

    get textListValue() {
        return Array.isArray(this.condition.value) ? this.condition.value.join(', ') : '';
    }

    get listValue() {
        return Array.isArray(this.condition.value) ? this.condition.value : [];
    }

    get singleValue() {
        const { value } = this.condition;
        return value === undefined || value === null ? '' : value;
    }

    get booleanValue() {
        return this.condition.value === true;
    }

    /**
     * Which control the error concerns: the field (none chosen, or not one the admin can use), the operator
     * (none, or not allowed on the field), otherwise the value. The message is shown under that control
     * only, as the base components show a field's error, so the admin sees one message where to act.
     */
    get errorPart() {
        if (!this.error) {
            return undefined;
        }
        if (!this.field) {
            return 'field';
        }
        if (
            !this.condition.operator ||
            !this.operatorOptions.some((option) => option.value === this.condition.operator)
        ) {
            return 'operator';
        }
        return this.kind === 'none' ? 'operator' : 'value';
    }

    get fieldError() {
        return this.errorPart === 'field' ? this.error : undefined;
    }

    /** A value control with no room for a message of its own (the dual listbox) shows it under the row. */
    get rowLevelError() {
        return this.errorPart === 'value' && this.isPicklistList ? this.error : undefined;
    }

    renderedCallback() {
        // The operator and value base components show a custom validity message under themselves, marked
        // invalid and tied to the control for screen readers; the others are cleared.
        const operator = this.template.querySelector('lightning-combobox.operator');
        if (operator) {
            this.showValidity(operator, this.errorPart === 'operator' ? this.error : '');
        }
        const value = this.template.querySelector('.value');
        if (value && !this.isPicklistList) {
            this.showValidity(value, this.errorPart === 'value' ? this.error : '');
        }
    }

    showValidity(control, message) {
        if (typeof control.setCustomValidity !== 'function') {
            return;
        }
        if (control.dataset.shownError === (message || '')) {
            return;
        }
        control.dataset.shownError = message || '';
        control.setCustomValidity(message || '');
        control.reportValidity();
    }

    get rowClass() {
        return 'slds-box slds-box_x-small slds-m-bottom_small';
    }

    emit(changes) {
        this.dispatchEvent(
            new CustomEvent('conditionchange', {
                detail: { index: this.index, condition: { ...this.condition, ...changes } }
            })
        );
    }

    handleFieldChange(event) {
        const path = event.detail.value;
        const field = (this.fields || []).find((candidate) => candidate.path === path);
        const operators = field ? operatorOptions(field.type).map((option) => option.value) : [];
        const operator = operators.includes(this.condition.operator) ? this.condition.operator : operators[0];
        this.emit({ field: path, operator, value: initialValue(field, operator) });
    }

    handleOperatorChange(event) {
        const operator = event.detail.value;
        const sameKind = valueKind(operator) === valueKind(this.condition.operator);
        this.emit({ operator, value: sameKind ? this.condition.value : initialValue(this.field, operator) });
    }

    handleNumberOrTextChange(event) {
        const raw = event.detail.value;
        if (this.inputType === 'number' || this.isWholeNumber) {
            this.emit({ value: raw === '' || raw === null || raw === undefined ? undefined : Number(raw) });
        } else {
            this.emit({ value: raw });
        }
    }

    handleBooleanChange(event) {
        this.emit({ value: event.detail.checked === true });
    }

    handlePicklistChange(event) {
        this.emit({ value: event.detail.value });
    }

    handleListChange(event) {
        this.emit({ value: [...(event.detail.value || [])] });
    }

    handleTextListChange(event) {
        const values = String(event.detail.value || '')
            .split(TEXT_LIST_SEPARATOR)
            .map((value) => value.trim())
            .filter((value) => value);
        this.emit({ value: values });
    }

    handleRemove() {
        this.dispatchEvent(new CustomEvent('remove', { detail: { index: this.index } }));
    }
}
