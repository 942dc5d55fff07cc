import { LightningElement, api } from 'lwc';

const MAX_OPTIONS = 50;
const BLUR_CLOSE_DELAY_MS = 150;

/**
 * A searchable combobox over the User fields (SLDS combobox, ARIA 1.2 pattern): type to filter by label
 * or API name, arrow keys to move, Enter to choose, Escape to close.
 */
export default class FieldPicker extends LightningElement {
    @api label = 'Field';
    /** [{ path, label, type }] */
    @api fields = [];
    /** Message shown under the input when the condition's field is wrong. */
    @api error;

    query = '';
    isOpen = false;
    activeIndex = -1;
    _value;

    @api
    get value() {
        return this._value;
    }
    set value(path) {
        this._value = path;
        const field = this.findField(path);
        this.query = field ? field.label : path || '';
    }

    @api
    focus() {
        const input = this.template.querySelector('input');
        if (input) {
            input.focus();
        }
    }

    findField(path) {
        return (this.fields || []).find((field) => field.path === path);
    }

    get matchingFields() {
        const selected = this.findField(this._value);
        const text = selected && selected.label === this.query ? '' : this.query.trim().toLowerCase();
        return (this.fields || [])
            .filter(
                (field) =>
                    !text ||
                    field.label.toLowerCase().includes(text) ||
                    field.path.toLowerCase().includes(text)
            )
            .slice(0, MAX_OPTIONS);
    }

    get options() {
        return this.matchingFields.map((field, index) => ({
            ...field,
            id: `field-option-${index}`,
            isActive: index === this.activeIndex,
            ariaSelected: field.path === this._value ? 'true' : 'false',
            optionClass:
                'slds-media slds-listbox__option slds-listbox__option_plain slds-media_small' +
                (index === this.activeIndex ? ' slds-has-focus' : '')
        }));
    }

    get showListbox() {
        return this.isOpen && this.matchingFields.length > 0;
    }

    get showNoMatch() {
        return this.isOpen && this.matchingFields.length === 0;
    }

    get ariaInvalid() {
        return this.error ? 'true' : 'false';
    }

    get activeDescendant() {
        const active = this.options[this.activeIndex];
        return active ? active.id : undefined;
    }

    get ariaExpanded() {
        return this.isOpen ? 'true' : 'false';
    }

    get comboboxClass() {
        return `slds-combobox slds-dropdown-trigger slds-dropdown-trigger_click${this.isOpen ? ' slds-is-open' : ''}`;
    }

    get formElementClass() {
        return `slds-form-element${this.error ? ' slds-has-error' : ''}`;
    }

    handleInput(event) {
        this.query = event.target.value;
        this.isOpen = true;
        this.activeIndex = this.matchingFields.length ? 0 : -1;
    }

    /**
     * The list opens on a click, on typing or on Arrow Down, as SLDS's combobox does, not on focus: the
     * editor moves the focus into the first condition, and a list opening by itself covers the conditions.
     */
    handleClick() {
        this.isOpen = true;
    }

    handleBlur() {
        // Leave time for a click on an option to land before the list closes.
        // eslint-disable-next-line @lwc/lwc/no-async-operation
        setTimeout(() => {
            this.isOpen = false;
            const field = this.findField(this._value);
            this.query = field ? field.label : this.query;
        }, BLUR_CLOSE_DELAY_MS);
    }

    handleKeyDown(event) {
        const count = this.matchingFields.length;
        if (event.key === 'ArrowDown') {
            event.preventDefault();
            this.isOpen = true;
            this.activeIndex = count ? (this.activeIndex + 1) % count : -1;
        } else if (event.key === 'ArrowUp') {
            event.preventDefault();
            this.isOpen = true;
            this.activeIndex = count ? (this.activeIndex - 1 + count) % count : -1;
        } else if (event.key === 'Enter') {
            event.preventDefault();
            const active = this.matchingFields[this.activeIndex];
            if (this.isOpen && active) {
                this.select(active.path);
            }
        } else if (event.key === 'Escape') {
            this.isOpen = false;
        }
    }

    handleOptionMouseDown(event) {
        // Keep the focus in the input so blur does not close the list first.
        event.preventDefault();
    }

    handleOptionClick(event) {
        this.select(event.currentTarget.dataset.path);
    }

    select(path) {
        this._value = path;
        const field = this.findField(path);
        this.query = field ? field.label : path;
        this.isOpen = false;
        this.activeIndex = -1;
        this.dispatchEvent(new CustomEvent('change', { detail: { value: path } }));
    }
}
