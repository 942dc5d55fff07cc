import { createElement } from 'lwc';
import FieldPicker from 'c/fieldPicker';

const { fields } = require('./data/editorOptions.json');

async function flushPromises() {
    return Promise.resolve();
}

function createPicker(props = {}) {
    const element = createElement('c-field-picker', { is: FieldPicker });
    Object.assign(element, { fields, label: 'Field' }, props);
    document.body.appendChild(element);
    return element;
}

function type(element, text) {
    const input = element.shadowRoot.querySelector('input');
    input.value = text;
    input.dispatchEvent(new CustomEvent('input'));
    return flushPromises();
}

function optionLabels(element) {
    return [...element.shadowRoot.querySelectorAll('[role="option"]')].map(
        (option) => option.querySelector('.slds-listbox__option-text_entity').textContent
    );
}

describe('c-field-picker', () => {
    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.useRealTimers();
    });

    it('shows the chosen field by its label', () => {
        const element = createPicker({ value: 'UserRole.Name' });
        expect(element.shadowRoot.querySelector('input').value).toBe('Role Name');
        expect(element.value).toBe('UserRole.Name');
    });

    it('stays closed when it only takes the focus, so the list does not cover the conditions', async () => {
        const element = createPicker();
        element.focus();
        element.shadowRoot.querySelector('input').dispatchEvent(new CustomEvent('focus'));
        await flushPromises();
        expect(optionLabels(element)).toHaveLength(0);
        expect(element.shadowRoot.querySelector('input').getAttribute('aria-expanded')).toBe('false');
    });

    it('lists every field on a click and filters by label or API name as the admin types', async () => {
        const element = createPicker();
        element.shadowRoot.querySelector('input').click();
        await flushPromises();
        expect(optionLabels(element)).toHaveLength(fields.length);
        expect(element.shadowRoot.querySelector('input').getAttribute('aria-expanded')).toBe('true');

        await type(element, 'manager');
        expect(optionLabels(element)).toEqual(['Manager: Department', 'Is Manager']);

        await type(element, 'userrole');
        expect(optionLabels(element)).toEqual(['Role Name']);
    });

    it('chooses with the keyboard and fires change with the field path', async () => {
        const element = createPicker();
        const handler = jest.fn();
        element.addEventListener('change', handler);
        await type(element, 'profile');
        const input = element.shadowRoot.querySelector('input');
        input.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowDown' }));
        input.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowUp' }));
        await flushPromises();
        expect(input.getAttribute('aria-activedescendant')).toBeTruthy();
        input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }));
        await flushPromises();

        expect(handler).toHaveBeenCalledTimes(1);
        expect(handler.mock.calls[0][0].detail).toEqual({ value: 'Profile.Name' });
        expect(input.value).toBe('Profile Name');
        expect(element.shadowRoot.querySelector('[role="listbox"]')).toBeNull();
    });

    it('chooses with a click', async () => {
        const element = createPicker();
        const handler = jest.fn();
        element.addEventListener('change', handler);
        await type(element, 'is manager');
        const option = element.shadowRoot.querySelector('[data-path="IsManager"]');
        option.dispatchEvent(new CustomEvent('mousedown'));
        option.click();
        await flushPromises();
        expect(handler.mock.calls[0][0].detail.value).toBe('IsManager');
    });

    it('says when nothing matches and closes on Escape', async () => {
        const element = createPicker();
        await type(element, 'zzz');
        expect(element.shadowRoot.querySelector('.slds-form-element__help').textContent).toContain(
            'No User field matches'
        );
        const input = element.shadowRoot.querySelector('input');
        await type(element, 'title');
        input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }));
        await flushPromises();
        expect(input.getAttribute('aria-expanded')).toBe('false');
    });

    it('closes the list on blur and restores the chosen label', async () => {
        jest.useFakeTimers();
        const element = createPicker({ value: 'Title' });
        await type(element, 'dep');
        element.shadowRoot.querySelector('input').dispatchEvent(new CustomEvent('blur'));
        jest.runAllTimers();
        await flushPromises();
        expect(element.shadowRoot.querySelector('input').value).toBe('Title');
        expect(element.shadowRoot.querySelector('[role="listbox"]')).toBeNull();
    });

    it('shows an inline error and is accessible, open or closed', async () => {
        const element = createPicker({ error: 'Choose a field.' });
        await flushPromises();
        expect(element.shadowRoot.querySelector('input').getAttribute('aria-invalid')).toBe('true');
        expect(element.shadowRoot.querySelector('.slds-form-element__help').textContent).toBe(
            'Choose a field.'
        );
        await expect(element).toBeAccessible();
        await type(element, 'de');
        await expect(element).toBeAccessible();
    });
});
