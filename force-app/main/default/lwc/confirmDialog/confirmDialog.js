import { api } from 'lwc';
import LightningModal from 'lightning/modal';

/**
 * A confirmation whose buttons say what they do ("Delete", "Provision 42 Users", "Save Anyway"), as
 * Salesforce's own confirmations do; lightning/confirm only offers OK. A LightningModal, so the platform
 * draws it, moves the focus into it, keeps it there and closes it on Escape (resolving undefined).
 * ConfirmDialog.open({ label, message, confirmLabel, destructive }) resolves true when confirmed.
 */
export default class ConfirmDialog extends LightningModal {
    @api message = '';
    /** What confirming does, as a verb: "Delete", "Send". */
    @api confirmLabel = 'Confirm';
    @api cancelLabel = 'Cancel';
    /** A red confirm button for what cannot be undone. */
    @api destructive = false;

    get confirmVariant() {
        return this.destructive ? 'destructive' : 'brand';
    }

    handleCancel() {
        this.close(false);
    }

    handleConfirm() {
        this.close(true);
    }
}
