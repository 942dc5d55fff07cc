import { createElement } from 'lwc';
import ConfirmDialog from 'c/confirmDialog';

function createDialog(props) {
    const element = createElement('c-confirm-dialog', { is: ConfirmDialog });
    Object.assign(element, props);
    document.body.appendChild(element);
    return element;
}

describe('c-confirm-dialog', () => {
    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
    });

    it('says what confirming does and resolves true on it, false on Cancel', () => {
        const element = createDialog({
            label: 'Delete condition set',
            message: 'Delete "Sales"?',
            confirmLabel: 'Delete',
            destructive: true
        });
        const closed = jest.fn();
        element.addEventListener('close', closed);
        expect(element.shadowRoot.querySelector('lightning-modal-header').label).toBe('Delete condition set');
        expect(element.shadowRoot.querySelector('.message').textContent).toBe('Delete "Sales"?');
        const confirm = element.shadowRoot.querySelector('lightning-button.confirm');
        expect(confirm.label).toBe('Delete');
        expect(confirm.variant).toBe('destructive');

        confirm.click();
        element.shadowRoot.querySelector('lightning-button.cancel').click();
        expect(closed.mock.calls.map((call) => call[0].detail)).toEqual([true, false]);
    });

    it('is accessible', async () => {
        const element = createDialog({
            label: 'Send',
            message: 'Send the invitations?',
            confirmLabel: 'Send'
        });
        await expect(element).toBeAccessible();
    });
});
