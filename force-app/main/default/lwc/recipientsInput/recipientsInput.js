import { LightningElement, api } from 'lwc';

const SEPARATOR = /[\s,;]+/;
const EMAIL_PATTERN = /^[^\s@,;]+@[^\s@,;]+\.[^\s@,;]+$/;
export const MAX_RECIPIENTS = 25;

/** Splits typed addresses and tells which are not valid: { recipients, invalid }. */
export function parseRecipients(text) {
    const seen = new Set();
    const recipients = [];
    const invalid = [];
    String(text || '')
        .split(SEPARATOR)
        .map((address) => address.trim())
        .filter((address) => address)
        .forEach((address) => {
            if (seen.has(address.toLowerCase())) {
                return;
            }
            seen.add(address.toLowerCase());
            (EMAIL_PATTERN.test(address) ? recipients : invalid).push(address);
        });
    return { recipients, invalid };
}

/**
 * Who receives the audit email: "Notify Rollcall admins" and additional addresses, checked as typed.
 * Fires change with { notifyAdmins, recipients, valid }.
 */
export default class RecipientsInput extends LightningElement {
    text = '';
    _notifyAdmins = false;

    @api
    get notifyAdmins() {
        return this._notifyAdmins;
    }
    set notifyAdmins(value) {
        this._notifyAdmins = value === true;
    }

    @api
    get recipients() {
        return parseRecipients(this.text).recipients;
    }
    set recipients(value) {
        // The parent hands back the valid addresses it heard from this component's change event: writing
        // them into the field would drop the invalid entry the admin has to fix. Only a different list
        // (settings loaded, a reset) replaces what was typed.
        const incoming = (value || []).map((address) => String(address).toLowerCase());
        const typed = parseRecipients(this.text).recipients.map((address) => address.toLowerCase());
        if (
            incoming.length === typed.length &&
            incoming.every((address, index) => address === typed[index])
        ) {
            return;
        }
        this.text = (value || []).join(', ');
    }

    /** True when every address is valid; otherwise shows why. */
    @api
    validate() {
        return this.showError(this.computeError());
    }

    /**
     * The textarea shows the message itself, marks itself invalid and ties the message to it, so a
     * screen reader reads it with the field. Returns true when there is no error.
     */
    showError(message) {
        const textarea = this.template.querySelector('lightning-textarea');
        if (textarea) {
            textarea.setCustomValidity(message || '');
            textarea.reportValidity();
        }
        return !message;
    }

    computeError() {
        const { recipients, invalid } = parseRecipients(this.text);
        if (invalid.length) {
            return `Not valid email ${invalid.length === 1 ? 'address' : 'addresses'}: ${invalid.join(', ')}.`;
        }
        if (recipients.length > MAX_RECIPIENTS) {
            return `Enter at most ${MAX_RECIPIENTS} addresses.`;
        }
        return undefined;
    }

    // The base components' change events bubble and are composed: stopped here, so the parent hears only
    // this component's own change ({ notifyAdmins, recipients, valid }), not a textarea's { value } after it.
    handleNotifyChange(event) {
        event.stopPropagation();
        this._notifyAdmins = event.detail.checked === true;
        this.notify();
    }

    handleTextChange(event) {
        event.stopPropagation();
        this.text = event.detail.value;
        this.showError(this.computeError());
        this.notify();
    }

    notify() {
        this.dispatchEvent(
            new CustomEvent('change', {
                detail: {
                    notifyAdmins: this._notifyAdmins,
                    recipients: this.recipients,
                    valid: !this.computeError()
                }
            })
        );
    }
}
