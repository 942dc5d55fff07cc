import { LightningElement, api } from 'lwc';
import { reduceErrors } from 'c/ldsUtils';

/**
 * The one place errors are shown: a friendly headline and the messages from Apex, which Rollcall
 * words so an admin can act on them.
 */
export default class ErrorPanel extends LightningElement {
    /** Generic / user-friendly message */
    @api friendlyMessage = 'Something went wrong';

    /** Single or array of LDS, Apex or JavaScript errors */
    @api errors;

    get errorMessages() {
        return reduceErrors(this.errors).map((message, index) => ({ key: `${index}`, message }));
    }

    get hasMessages() {
        return this.errorMessages.length > 0;
    }
}
