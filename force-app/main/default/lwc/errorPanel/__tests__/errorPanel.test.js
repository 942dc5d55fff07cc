import { createElement } from 'lwc';
import ErrorPanel from 'c/errorPanel';

describe('c-error-panel', () => {
    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
    });

    it('shows the friendly message and every error message', async () => {
        const element = createElement('c-error-panel', { is: ErrorPanel });
        element.friendlyMessage = 'Could not save';
        element.errors = [{ body: { message: 'Name is required.' } }, new Error('Network down')];
        document.body.appendChild(element);

        const heading = element.shadowRoot.querySelector('h2');
        expect(heading.textContent).toBe('Could not save');
        const items = [...element.shadowRoot.querySelectorAll('li')].map((li) => li.textContent);
        expect(items).toEqual(['Name is required.', 'Network down']);
        expect(element.shadowRoot.querySelector('[role="alert"]')).not.toBeNull();
        await expect(element).toBeAccessible();
    });

    it('shows only the friendly message when there is no detail', () => {
        const element = createElement('c-error-panel', { is: ErrorPanel });
        element.errors = undefined;
        document.body.appendChild(element);

        expect(element.shadowRoot.querySelector('h2').textContent).toBe('Something went wrong');
        expect(element.shadowRoot.querySelector('ul')).toBeNull();
    });
});
