import { createElement } from 'lwc';
import RollcallApp from 'c/rollcallApp';

// Each screen has its own tests; here they only need to render without calling a real org.
jest.mock(
    '@salesforce/apex/ConditionSetController.getConditionSets',
    () => {
        const { createApexTestWireAdapter } = require('@salesforce/sfdx-lwc-jest');
        return { default: createApexTestWireAdapter(jest.fn()) };
    },
    { virtual: true }
);
jest.mock(
    '@salesforce/apex/ConditionSetController.getEditorOptions',
    () => {
        const { createApexTestWireAdapter } = require('@salesforce/sfdx-lwc-jest');
        return { default: createApexTestWireAdapter(jest.fn()) };
    },
    { virtual: true }
);
jest.mock(
    '@salesforce/apex/RunHistoryController.getOrgTimeZone',
    () => {
        const { createApexTestWireAdapter } = require('@salesforce/sfdx-lwc-jest');
        return { default: createApexTestWireAdapter(jest.fn()) };
    },
    { virtual: true }
);
jest.mock('@salesforce/customPermission/Rollcall_Admin', () => ({ default: true }), { virtual: true });
jest.mock('@salesforce/apex/ConditionSetController.deleteConditionSet', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock(
    '@salesforce/apex/ProvisioningController.getRunInProgress',
    () => ({ default: jest.fn(() => Promise.resolve(null)) }),
    { virtual: true }
);
jest.mock(
    '@salesforce/apex/ProvisioningController.getCurrentPreview',
    () => ({ default: jest.fn(() => Promise.resolve(null)) }),
    { virtual: true }
);
jest.mock('@salesforce/apex/ProvisioningController.startPreview', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex/ProvisioningController.provisionUsers', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex/ProvisioningController.getRunStatus', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock(
    '@salesforce/apex/ScheduledProvisioningController.getSettings',
    () => ({
        default: jest.fn(() => Promise.resolve({ frequency: 'Daily', enabled: false, recipients: [] }))
    }),
    { virtual: true }
);
jest.mock('@salesforce/apex/ScheduledProvisioningController.saveSettings', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock(
    '@salesforce/apex/RunHistoryController.getRuns',
    () => ({ default: jest.fn(() => Promise.resolve([])) }),
    {
        virtual: true
    }
);

jest.mock(
    '@salesforce/apex/ConnectionController.getConnections',
    () => ({
        default: jest.fn(() => Promise.resolve({ connections: [], notInOrg: [], serviceReachable: true }))
    }),
    { virtual: true }
);

async function flushPromises() {
    for (let i = 0; i < 4; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

describe('c-rollcall-app', () => {
    afterEach(() => {
        window.history.replaceState(null, '', '#');
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
    });

    it('has a tab per screen, Condition Sets first', () => {
        const element = createElement('c-rollcall-app', { is: RollcallApp });
        document.body.appendChild(element);
        const tabs = [...element.shadowRoot.querySelectorAll('lightning-tab')];
        expect(tabs.map((tab) => tab.label)).toEqual([
            'Condition Sets',
            'Provision Users',
            'Scheduled Provisioning',
            'History',
            'Connections'
        ]);
        expect(element.shadowRoot.querySelector('lightning-tabset').activeTabValue).toBe('conditionSets');
        expect(element.shadowRoot.querySelector('h1').textContent).toBe('Rollcall');
        expect(tabs[0].querySelector('c-condition-set-list')).not.toBeNull();
        expect(tabs[1].querySelector('c-provision-users')).not.toBeNull();
        expect(tabs[2].querySelector('c-scheduled-provisioning')).not.toBeNull();
        expect(tabs[3].querySelector('c-run-history')).not.toBeNull();
        expect(tabs[4].querySelector('c-connection-list')).not.toBeNull();
    });

    it('remembers the active tab', async () => {
        const element = createElement('c-rollcall-app', { is: RollcallApp });
        document.body.appendChild(element);
        const history = element.shadowRoot.querySelectorAll('lightning-tab')[3];
        history.dispatchEvent(new CustomEvent('active'));
        await flushPromises();
        expect(element.shadowRoot.querySelector('lightning-tabset').activeTabValue).toBe('history');
    });

    it('names the tab in the address, and the address (a reload, Back) chooses the tab', async () => {
        window.history.replaceState(null, '', '#history/a01000000000003AAA');
        const element = createElement('c-rollcall-app', { is: RollcallApp });
        document.body.appendChild(element);
        await flushPromises();
        const tabset = element.shadowRoot.querySelector('lightning-tabset');
        expect(tabset.activeTabValue).toBe('history');

        element.shadowRoot.querySelectorAll('lightning-tab')[1].dispatchEvent(new CustomEvent('active'));
        await flushPromises();
        expect(window.location.hash).toBe('#provisionUsers');

        window.history.replaceState(null, '', '#scheduledProvisioning');
        window.dispatchEvent(new HashChangeEvent('hashchange'));
        await flushPromises();
        expect(tabset.activeTabValue).toBe('scheduledProvisioning');
    });

    it('is accessible', async () => {
        const element = createElement('c-rollcall-app', { is: RollcallApp });
        document.body.appendChild(element);
        await flushPromises();
        await expect(element).toBeAccessible();
    });
});
