import { LightningElement } from 'lwc';

/**
 * The Rollcall admin app on one Lightning page: Condition Sets, Provision Users, Scheduled
 * Provisioning, History and Connections as tabs. A tab's screen loads when it is opened.
 */
export default class RollcallApp extends LightningElement {
    activeTab = 'conditionSets';

    handleTabActive(event) {
        this.activeTab = event.target.value;
    }
}
