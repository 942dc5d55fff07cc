/**
 * The connections data model (DESIGN §10) as the local org reads it from force-app: the objects, the
 * fields the service writes, the picklists' values and defaults, the keys, and the master-detail parents.
 */
import { join } from 'node:path';
import { loadSchema } from '../../service/src/local-org/schema';

const ROOT = join(__dirname, '..', '..');
const schema = loadSchema(join(ROOT, 'force-app/main/default'), join(ROOT, 'service/src/local-org/schema'));

function field(object: string, name: string) {
    const def = schema.objects.get(object);
    if (!def) throw new Error(`${object} is not in the local org's schema`);
    const found = def.fields.find((f) => f.name === name);
    if (!found) throw new Error(`${object}.${name} is not in the local org's schema`);
    return found;
}

describe('connections data model in the local org', () => {
    it.each([
        [
            'Connection__c',
            [
                'Key__c',
                'Active__c',
                'Attribute_Map__c',
                'Match_On__c',
                'Deprovisioning__c',
                'Grace_Days__c',
                'Breaker_Max_Count__c',
                'Breaker_Max_Percent__c'
            ]
        ],
        ['Access_Grant__c', ['Condition_Set__c', 'Connection__c', 'Groups__c', 'Role__c']],
        [
            'App_Account__c',
            [
                'Key__c',
                'User__c',
                'Connection__c',
                'External_Id__c',
                'Status__c',
                'Source__c',
                'Role__c',
                'Groups__c',
                'Granted_By_Sets__c',
                'Unmatched_Since__c',
                'Last_Run__c'
            ]
        ],
        [
            'Provisioning_Run_Action__c',
            [
                'Run__c',
                'Key__c',
                'Connection__c',
                'App_Account__c',
                'User__c',
                'Kind__c',
                'Status__c',
                'Detail__c',
                'Reason__c',
                'External_Id__c'
            ]
        ]
    ])('when force-app is read, then %s has the DESIGN §10 fields', (object, names) => {
        for (const name of names) expect(field(object, name).name).toBe(name);
    });

    it('when the keys are read, then they are unique external ids', () => {
        for (const object of ['Connection__c', 'App_Account__c', 'Provisioning_Run_Action__c']) {
            const key = field(object, 'Key__c');
            expect([object, key.externalId, key.unique]).toEqual([object, true, true]);
        }
    });

    it('when the picklists are read, then their values and defaults are the contract', () => {
        const values = (object: string, name: string) => field(object, name).picklist;
        expect(values('Connection__c', 'Match_On__c')).toEqual(['Username', 'Email', 'FederationIdentifier']);
        expect(values('Connection__c', 'Deprovisioning__c')).toEqual(['Off', 'Deactivate']);
        expect(
            (
                field('Connection__c', 'Deprovisioning__c').describe.picklistValues as Array<{
                    value: string;
                    defaultValue: boolean;
                }>
            ).find((v) => v.defaultValue)?.value
        ).toBe('Off');
        expect(values('App_Account__c', 'Status__c')).toEqual(['Active', 'Pending Deactivation', 'Inactive']);
        expect(values('App_Account__c', 'Source__c')).toEqual(['Rule', 'Manual']);
        expect(values('Provisioning_Run_Action__c', 'Kind__c')).toEqual([
            'Create',
            'Update',
            'Add To Group',
            'Remove From Group',
            'Set Role',
            'Reactivate',
            'Deactivate'
        ]);
        expect(values('Provisioning_Run_Action__c', 'Status__c')).toEqual([
            'Pending',
            'Done',
            'Failed',
            'Held',
            'Skipped'
        ]);
    });

    it('when the children are read, then grants belong to a set and actions to a run (master-detail)', () => {
        expect(field('Access_Grant__c', 'Condition_Set__c')).toMatchObject({
            referenceTo: ['Condition_Set__c'],
            cascadeDelete: true
        });
        expect(field('Provisioning_Run_Action__c', 'Run__c')).toMatchObject({
            referenceTo: ['Provisioning_Run__c'],
            cascadeDelete: true
        });
        expect(schema.objects.get('Condition_Set__c')?.children.map((c) => c.childSObject)).toContain(
            'Access_Grant__c'
        );
    });

    it('when objects are added, then the existing objects keep their key prefixes (ids in data folders stay valid)', () => {
        const prefixes = Object.fromEntries(
            [
                'Calendar_Authorization__c',
                'Condition_Set__c',
                'Provisioning_Run_Item__c',
                'Provisioning_Run__c',
                'Rollcall_Lease__c',
                'Rollcall_Settings__c'
            ].map((name) => [name, schema.objects.get(name)?.keyPrefix])
        );
        expect(prefixes).toEqual({
            Calendar_Authorization__c: 'a0A',
            Condition_Set__c: 'a0B',
            Provisioning_Run_Item__c: 'a0C',
            Provisioning_Run__c: 'a0D',
            Rollcall_Lease__c: 'a0E',
            Rollcall_Settings__c: 'a0F'
        });
        const all = [...schema.objects.values()].filter((o) => o.custom).map((o) => o.keyPrefix);
        expect(new Set(all).size).toBe(all.length);
    });
});
