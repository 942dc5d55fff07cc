/**
 * Provenance and the lifecycle's guard on Calendar_Authorization__c (DESIGN §8); the logic is in
 * CalendarAuthorizationGuard.
 */
trigger CalendarAuthorizationTrigger on Calendar_Authorization__c(before insert, before update) {
    CalendarAuthorizationGuard.beforeSave(Trigger.new, Trigger.oldMap);
}
