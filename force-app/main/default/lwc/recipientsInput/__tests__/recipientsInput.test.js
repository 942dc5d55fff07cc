import { createElement } from 'lwc';
import RecipientsInput, { parseRecipients, MAX_RECIPIENTS } from 'c/recipientsInput';

async function flushPromises() {
    return Promise.resolve();
}

function createInput(props = {}) {
    const element = createElement('c-recipients-input', { is: RecipientsInput });
    Object.assign(element, props);
    document.body.appendChild(element);
    return element;
}

/** Spies on the textarea's custom validity, which is how the error is shown. */
function spyOnValidity(element) {
    const textarea = element.shadowRoot.querySelector('lightning-textarea');
    textarea.setCustomValidity = jest.fn();
    textarea.reportValidity = jest.fn();
    return textarea;
}

function typeEmails(element, text) {
    element.shadowRoot
        .querySelector('lightning-textarea')
        .dispatchEvent(new CustomEvent('change', { detail: { value: text } }));
    return flushPromises();
}

describe('c-recipients-input', () => {
    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
    });

    it('splits on commas, semicolons and new lines, drops duplicates, and names invalid addresses', () => {
        expect(parseRecipients('ops@example.com;\nIT@example.org, ops@EXAMPLE.com nope a@b')).toEqual({
            recipients: ['ops@example.com', 'IT@example.org'],
            invalid: ['nope', 'a@b']
        });
        expect(parseRecipients(undefined)).toEqual({ recipients: [], invalid: [] });
    });

    it('shows the given values', () => {
        const element = createInput({
            notifyAdmins: true,
            recipients: ['ops@example.com', 'it@example.com']
        });
        expect(element.shadowRoot.querySelector('lightning-input').checked).toBe(true);
        expect(element.shadowRoot.querySelector('lightning-textarea').value).toBe(
            'ops@example.com, it@example.com'
        );
        expect(element.recipients).toEqual(['ops@example.com', 'it@example.com']);
    });

    it('keeps an invalid entry in the field when the parent hands back the valid addresses', async () => {
        const element = createInput();
        spyOnValidity(element);
        element.addEventListener('change', (event) => {
            element.recipients = event.detail.recipients;
        });
        await typeEmails(element, 'revops@example.com, it-team, ops@example.com');
        expect(element.shadowRoot.querySelector('lightning-textarea').value).toBe(
            'revops@example.com, it-team, ops@example.com'
        );
        element.recipients = ['other@example.com'];
        await flushPromises();
        expect(element.shadowRoot.querySelector('lightning-textarea').value).toBe('other@example.com');
    });

    it('validates as the admin types and reports the change', async () => {
        const element = createInput();
        const textarea = spyOnValidity(element);
        const handler = jest.fn();
        element.addEventListener('change', handler);

        await typeEmails(element, 'ops@example.com, not-an-email');
        expect(textarea.setCustomValidity).toHaveBeenLastCalledWith('Not valid email address: not-an-email.');
        expect(textarea.reportValidity).toHaveBeenCalled();
        expect(handler.mock.calls[0][0].detail).toEqual({
            notifyAdmins: false,
            recipients: ['ops@example.com'],
            valid: false
        });
        expect(element.validate()).toBe(false);

        await typeEmails(element, 'ops@example.com');
        expect(textarea.setCustomValidity).toHaveBeenLastCalledWith('');
        expect(element.validate()).toBe(true);
    });

    it('limits the number of addresses', async () => {
        const element = createInput();
        const textarea = spyOnValidity(element);
        const many = Array.from({ length: MAX_RECIPIENTS + 1 }, (_, i) => `user${i}@example.com`).join(',');
        await typeEmails(element, many);
        expect(textarea.setCustomValidity).toHaveBeenLastCalledWith(
            `Enter at most ${MAX_RECIPIENTS} addresses.`
        );
        expect(element.validate()).toBe(false);
    });

    it('reports only its own change, not the bubbling, composed change of the base components inside it', async () => {
        const element = createInput();
        const handler = jest.fn();
        element.addEventListener('change', handler);
        element.shadowRoot.querySelector('lightning-textarea').dispatchEvent(
            new CustomEvent('change', {
                bubbles: true,
                composed: true,
                detail: { value: 'ops@example.com' }
            })
        );
        element.shadowRoot
            .querySelector('lightning-input')
            .dispatchEvent(
                new CustomEvent('change', { bubbles: true, composed: true, detail: { checked: true } })
            );
        await flushPromises();
        expect(handler.mock.calls.map(([event]) => event.detail)).toEqual([
            { notifyAdmins: false, recipients: ['ops@example.com'], valid: true },
            { notifyAdmins: true, recipients: ['ops@example.com'], valid: true }
        ]);
    });

    it('reports the notify admins choice', async () => {
        const element = createInput();
        const handler = jest.fn();
        element.addEventListener('change', handler);
        element.shadowRoot
            .querySelector('lightning-input')
            .dispatchEvent(new CustomEvent('change', { detail: { checked: true } }));
        await flushPromises();
        expect(handler.mock.calls[0][0].detail).toEqual({ notifyAdmins: true, recipients: [], valid: true });
        expect(element.notifyAdmins).toBe(true);
    });

    it('is accessible, with and without an error', async () => {
        const element = createInput();
        await expect(element).toBeAccessible();
        await typeEmails(element, 'nope');
        await expect(element).toBeAccessible();
    });
});
