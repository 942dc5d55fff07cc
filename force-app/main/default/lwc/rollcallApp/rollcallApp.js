import { LightningElement } from 'lwc';
import hasAdminPermission from '@salesforce/customPermission/Rollcall_Admin';

const TABS = ['conditionSets', 'provisionUsers', 'scheduledProvisioning', 'history', 'connections'];
const FIRST_TAB = TABS[0];

/** The tab an address names (#history, #history/<run id>, …), or undefined. */
export function tabFromHash(hash) {
    const tab = String(hash || '')
        .replace(/^#/, '')
        .split('/')[0];
    return TABS.includes(tab) ? tab : undefined;
}

/**
 * The Rollcall admin app on one Lightning page: Condition Sets, Provision Users, Scheduled
 * Provisioning, History and Connections as tabs. A tab's screen loads when it is opened. Each tab has its address
 * (#conditionSets, #history, …): switching tabs is a navigation, so the browser's Back returns to the tab
 * before instead of leaving the app, and a reload keeps the tab. A user without the Rollcall_Admin custom
 * permission (the Rollcall Admin permission set) sees one "no access" page instead of forms they cannot use;
 * Apex refuses them anyway (RollcallAccess).
 */
export default class RollcallApp extends LightningElement {
    activeTab = FIRST_TAB;
    hasAccess = hasAdminPermission === true;

    onHashChange = () => {
        const tab = tabFromHash(window.location.hash);
        if (tab) {
            this.activeTab = tab;
        }
    };

    connectedCallback() {
        this.activeTab = tabFromHash(window.location.hash) || FIRST_TAB;
        window.addEventListener('hashchange', this.onHashChange);
    }

    disconnectedCallback() {
        window.removeEventListener('hashchange', this.onHashChange);
    }

    handleTabActive(event) {
        const tab = event.target.value;
        this.activeTab = tab;
        if (tabFromHash(window.location.hash) === tab) {
            return;
        }
        if (window.location.hash) {
            window.location.hash = tab;
        } else {
            // The first tab shown on arrival: named in the address without adding a step to Back.
            window.history.replaceState(window.history.state, '', `#${tab}`);
        }
    }
}
