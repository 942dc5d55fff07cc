import { LightningElement } from 'lwc';
import hasAdminPermission from '@salesforce/customPermission/Rollcall_Admin';

/**
 * The Rollcall admin app on one Lightning page: Condition Sets, Provision Users, Scheduled
 * Provisioning and History as tabs. A tab's screen loads when it is opened. A user without the
 * Rollcall_Admin custom permission (the Rollcall Admin permission set) sees one "no access" page instead
 * of forms they cannot use; Apex refuses them anyway (RollcallAccess).
 */
export default class RollcallApp extends LightningElement {
    activeTab = 'conditionSets';
    hasAccess = hasAdminPermission === true;

    handleTabActive(event) {
        this.activeTab = event.target.value;
    }
}
