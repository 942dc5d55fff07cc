/**
 * sfdx-lwc-jest stubs lightning-modal-header/body/footer but not lightning/modal itself: a LightningModal
 * that renders its template in place, so a modal component's own test can draw it and read its result.
 * open() resolves with nothing, as a modal dismissed with Escape does; tests of the components that
 * open a modal mock that modal's open().
 */
import { LightningElement, api } from 'lwc';

export default class LightningModal extends LightningElement {
    @api label;
    @api size;
    @api description;
    @api disableClose = false;

    static open() {
        return Promise.resolve(undefined);
    }

    close(result) {
        this.dispatchEvent(new CustomEvent('close', { detail: result }));
    }
}
