import { createElement } from 'lwc';
import RollcallApp from 'c/rollcallApp';

// A user without the Rollcall_Admin custom permission (the Rollcall Admin permission set).
jest.mock('@salesforce/customPermission/Rollcall_Admin', () => ({ default: false }), { virtual: true });

describe('c-rollcall-app without the Rollcall Admin permission set', () => {
    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
    });

    it('shows one "no access" page, with no tab, form or button to use', async () => {
        const element = createElement('c-rollcall-app', { is: RollcallApp });
        document.body.appendChild(element);
        await Promise.resolve();

        expect(element.shadowRoot.querySelector('lightning-tabset')).toBeNull();
        expect(element.shadowRoot.querySelector('c-condition-set-list')).toBeNull();
        const noAccess = element.shadowRoot.querySelector('.no-access');
        expect(noAccess.querySelector('h2').textContent).toBe("You don't have access to Rollcall");
        expect(noAccess.textContent).toContain('You need the Rollcall Admin permission set to use Rollcall.');
        expect(noAccess.querySelector('svg').getAttribute('aria-hidden')).toBe('true');
        await expect(element).toBeAccessible();
    });
});
