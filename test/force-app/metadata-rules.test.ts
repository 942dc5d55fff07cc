/**
 * The Metadata API rules of test/force-app/metadata-rules.ts over force-app: no violation today, every
 * metadata type force-app holds is read by a rule, and each rule fails on a planted violation (a copy of
 * force-app in a temp folder with one mutation).
 */
import { cpSync, existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { RULES, checkForceApp, uncoveredTypes } from './metadata-rules';

const root = join(__dirname, '..', '..');
const forceApp = join(root, 'force-app');
const D = 'force-app/main/default';

/** What the current plant changed, to put back before the next one (one copy of force-app serves all plants). */
const undo: (() => void)[] = [];

function remember(path: string): void {
    if (existsSync(path)) {
        const before = readFileSync(path);
        undo.push(() => writeFileSync(path, before));
    } else undo.push(() => rmSync(path, { force: true }));
}

/** Replaces the first occurrence of `from` (which must be there: a stale plant fails loudly). */
function edit(dir: string, file: string, from: string | RegExp, to: string): void {
    const path = join(dir, file);
    const text = readFileSync(path, 'utf8');
    const found = typeof from === 'string' ? text.includes(from) : from.test(text);
    if (!found) throw new Error(`plant: ${String(from)} is not in ${file}`);
    remember(path);
    writeFileSync(path, text.replace(from, to));
}

function write(dir: string, file: string, content: string): void {
    const path = join(dir, file);
    mkdirSync(dirname(path), { recursive: true });
    remember(path);
    writeFileSync(path, content);
}

const xml = (root: string, body: string): string =>
    `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="http://soap.sforce.com/2006/04/metadata">\n${body}\n</${root}>\n`;

const field = (body: string): string => xml('CustomField', body);

interface Plant {
    rule: string;
    what: string;
    mutate(dir: string): void;
}

const PLANTS: Plant[] = [
    {
        rule: 'object-enterprise-flags',
        what: 'Rollcall_Lease__c as it was: Bulk API and sharing on, Streaming API off',
        mutate: (d) =>
            edit(
                d,
                `${D}/objects/Rollcall_Lease__c/Rollcall_Lease__c.object-meta.xml`,
                '<enableStreamingApi>true</enableStreamingApi>',
                '<enableStreamingApi>false</enableStreamingApi>'
            )
    },
    {
        rule: 'object-required-attributes',
        what: 'an object without its pluralLabel',
        mutate: (d) =>
            edit(
                d,
                `${D}/objects/Condition_Set__c/Condition_Set__c.object-meta.xml`,
                /<pluralLabel>[^<]*<\/pluralLabel>/,
                ''
            )
    },
    {
        rule: 'object-sharing-master-detail',
        what: 'a master-detail child whose sharingModel is ReadWrite',
        mutate: (d) =>
            edit(
                d,
                `${D}/objects/Provisioning_Run_Item__c/Provisioning_Run_Item__c.object-meta.xml`,
                '<sharingModel>ControlledByParent</sharingModel>',
                '<sharingModel>ReadWrite</sharingModel>'
            )
    },
    {
        rule: 'object-sharing-master-detail',
        what: 'ControlledByParent on an object without a master-detail field',
        mutate: (d) =>
            edit(
                d,
                `${D}/objects/Condition_Set__c/Condition_Set__c.object-meta.xml`,
                '<sharingModel>ReadWrite</sharingModel>',
                '<sharingModel>ControlledByParent</sharingModel>'
            )
    },
    {
        rule: 'object-master-detail-count',
        what: 'a third master-detail field on Provisioning_Run_Item__c',
        mutate: (d) => {
            for (const [name, target, order] of [
                ['Set__c', 'Condition_Set__c', 1],
                ['Authorization__c', 'Calendar_Authorization__c', 1]
            ] as const)
                write(
                    d,
                    `${D}/objects/Provisioning_Run_Item__c/fields/${name}.field-meta.xml`,
                    field(
                        `<fullName>${name}</fullName><label>X</label><referenceTo>${target}</referenceTo>` +
                            `<relationshipName>Planted_${name.replace('__c', '')}</relationshipName>` +
                            `<relationshipOrder>${order}</relationshipOrder><type>MasterDetail</type>`
                    )
                );
        }
    },
    {
        rule: 'custom-setting-fields',
        what: 'a lookup field on the custom setting',
        mutate: (d) =>
            write(
                d,
                `${D}/objects/Rollcall_Settings__c/fields/Owner_User__c.field-meta.xml`,
                field(
                    '<fullName>Owner_User__c</fullName><label>Owner</label><referenceTo>User</referenceTo>' +
                        '<relationshipName>Rollcall_Settings</relationshipName><deleteConstraint>SetNull</deleteConstraint><type>Lookup</type>'
                )
            )
    },
    {
        rule: 'field-name-and-type',
        what: 'a field of an undocumented type',
        mutate: (d) =>
            edit(
                d,
                `${D}/objects/Rollcall_Lease__c/fields/Holder__c.field-meta.xml`,
                '<type>Text</type>',
                '<type>String</type>'
            )
    },
    {
        rule: 'field-type-attributes',
        what: 'a Text field without its length',
        mutate: (d) =>
            edit(
                d,
                `${D}/objects/Rollcall_Lease__c/fields/Holder__c.field-meta.xml`,
                '<length>120</length>',
                ''
            )
    },
    {
        rule: 'field-type-attributes',
        what: 'a length on a DateTime field',
        mutate: (d) =>
            edit(
                d,
                `${D}/objects/Calendar_Authorization__c/fields/Invited_At__c.field-meta.xml`,
                '<type>DateTime</type>',
                '<length>20</length><type>DateTime</type>'
            )
    },
    {
        rule: 'field-external-id-unique',
        what: 'an external id on a DateTime field',
        mutate: (d) =>
            edit(
                d,
                `${D}/objects/Calendar_Authorization__c/fields/Authorized_At__c.field-meta.xml`,
                '<type>DateTime</type>',
                '<externalId>true</externalId><type>DateTime</type>'
            )
    },
    {
        rule: 'field-required',
        what: 'a required checkbox',
        mutate: (d) =>
            edit(
                d,
                `${D}/objects/Condition_Set__c/fields/Active__c.field-meta.xml`,
                '<type>Checkbox</type>',
                '<required>true</required><type>Checkbox</type>'
            )
    },
    {
        rule: 'field-default-value',
        what: 'a checkbox without a defaultValue',
        mutate: (d) =>
            edit(
                d,
                `${D}/objects/Condition_Set__c/fields/Active__c.field-meta.xml`,
                /<defaultValue>[^<]*<\/defaultValue>/,
                ''
            )
    },
    {
        rule: 'field-default-value',
        what: 'a defaultValue on a picklist',
        mutate: (d) =>
            edit(
                d,
                `${D}/objects/Calendar_Authorization__c/fields/Source__c.field-meta.xml`,
                '<type>Picklist</type>',
                '<defaultValue>Rule</defaultValue><type>Picklist</type>'
            )
    },
    {
        rule: 'field-formula',
        what: 'a formula returning a long text area',
        mutate: (d) =>
            write(
                d,
                `${D}/objects/Condition_Set__c/fields/Summary_Text__c.field-meta.xml`,
                field(
                    '<fullName>Summary_Text__c</fullName><label>Summary</label><formula>Name</formula>' +
                        '<length>1000</length><visibleLines>3</visibleLines><type>LongTextArea</type>'
                )
            )
    },
    {
        rule: 'field-relationship',
        what: 'a master-detail to an object that is not there',
        mutate: (d) =>
            edit(
                d,
                `${D}/objects/Provisioning_Run_Item__c/fields/Run__c.field-meta.xml`,
                '<referenceTo>Provisioning_Run__c</referenceTo>',
                '<referenceTo>Missing_Run__c</referenceTo>'
            )
    },
    {
        rule: 'field-relationship',
        what: 'a deleteConstraint on a master-detail field',
        mutate: (d) =>
            edit(
                d,
                `${D}/objects/Provisioning_Run_Item__c/fields/Run__c.field-meta.xml`,
                '<type>MasterDetail</type>',
                '<deleteConstraint>SetNull</deleteConstraint><type>MasterDetail</type>'
            )
    },
    {
        rule: 'picklist-value-set',
        what: 'a picklist naming a global value set that is not there',
        mutate: (d) =>
            edit(
                d,
                `${D}/objects/Calendar_Authorization__c/fields/Product__c.field-meta.xml`,
                '<valueSetName>Rollcall_Products</valueSetName>',
                '<valueSetName>Rollcall_Product</valueSetName>'
            )
    },
    {
        rule: 'picklist-value-set',
        what: 'a picklist with both its own values and a global value set',
        mutate: (d) =>
            edit(
                d,
                `${D}/objects/Calendar_Authorization__c/fields/Source__c.field-meta.xml`,
                '<valueSetDefinition>',
                '<valueSetName>Rollcall_Products</valueSetName><valueSetDefinition>'
            )
    },
    {
        rule: 'global-value-set',
        what: 'a global value set with a value twice',
        mutate: (d) =>
            edit(
                d,
                `${D}/globalValueSets/Rollcall_Products.globalValueSet-meta.xml`,
                '<customValue>',
                '<customValue><fullName>Round Robin</fullName><default>false</default><label>Round Robin</label></customValue><customValue>'
            )
    },
    {
        rule: 'list-view',
        what: 'a list view with a column that is not a field',
        mutate: (d) =>
            write(
                d,
                `${D}/objects/Condition_Set__c/listViews/All.listView-meta.xml`,
                xml(
                    'ListView',
                    '<fullName>All</fullName><columns>NAME</columns><columns>Missing__c</columns>' +
                        '<filterScope>Everything</filterScope><label>All</label>'
                )
            )
    },
    {
        rule: 'layout',
        what: 'a layout with the master-detail field editable instead of required',
        mutate: (d) =>
            write(
                d,
                `${D}/layouts/Provisioning_Run_Item__c-Item Layout.layout-meta.xml`,
                xml(
                    'Layout',
                    '<layoutSections><editHeading>true</editHeading><label>Information</label><layoutColumns>' +
                        '<layoutItems><behavior>Edit</behavior><field>Run__c</field></layoutItems>' +
                        '</layoutColumns><style>OneColumn</style></layoutSections>'
                )
            )
    },
    {
        rule: 'compact-layout',
        what: 'a compact layout showing a field that is not there',
        mutate: (d) =>
            write(
                d,
                `${D}/objects/Condition_Set__c/compactLayouts/Summary.compactLayout-meta.xml`,
                xml(
                    'CompactLayout',
                    '<fullName>Summary</fullName><fields>Name</fields><fields>Gone__c</fields><label>Summary</label>'
                )
            )
    },
    {
        rule: 'validation-rule',
        what: 'a validation rule without its error message',
        mutate: (d) =>
            write(
                d,
                `${D}/objects/Condition_Set__c/validationRules/Needs_Definition.validationRule-meta.xml`,
                xml(
                    'ValidationRule',
                    '<fullName>Needs_Definition</fullName><active>true</active><errorConditionFormula>ISBLANK(Definition__c)</errorConditionFormula>'
                )
            )
    },
    {
        rule: 'record-type',
        what: 'a record type restricting a field that is not a picklist',
        mutate: (d) =>
            write(
                d,
                `${D}/objects/Condition_Set__c/recordTypes/Standard.recordType-meta.xml`,
                xml(
                    'RecordType',
                    '<fullName>Standard</fullName><active>true</active><label>Standard</label>' +
                        '<picklistValues><picklist>Definition__c</picklist><values><fullName>X</fullName><default>false</default></values></picklistValues>'
                )
            )
    },
    {
        rule: 'field-set',
        what: 'a field set without its required description',
        mutate: (d) =>
            write(
                d,
                `${D}/objects/Condition_Set__c/fieldSets/Editor.fieldSet-meta.xml`,
                xml(
                    'FieldSet',
                    '<fullName>Editor</fullName><displayedFields><field>Active__c</field><isFieldManaged>false</isFieldManaged>' +
                        '<isRequired>false</isRequired></displayedFields><label>Editor</label>'
                )
            )
    },
    {
        rule: 'permission-set-field-permissions',
        what: 'field permissions on a required field',
        mutate: (d) =>
            edit(
                d,
                `${D}/permissionsets/Rollcall_Integration.permissionset-meta.xml`,
                '<fieldPermissions>',
                '<fieldPermissions><editable>true</editable><field>Rollcall_Lease__c.Key__c</field><readable>true</readable></fieldPermissions><fieldPermissions>'
            )
    },
    {
        rule: 'permission-set-field-permissions',
        what: 'field permissions on a master-detail field',
        mutate: (d) =>
            edit(
                d,
                `${D}/permissionsets/Rollcall_Admin.permissionset-meta.xml`,
                '<fieldPermissions>',
                '<fieldPermissions><editable>false</editable><field>Provisioning_Run_Item__c.Run__c</field><readable>true</readable></fieldPermissions><fieldPermissions>'
            )
    },
    {
        rule: 'permission-set-object-permissions',
        what: 'Modify All without delete',
        mutate: (d) =>
            edit(
                d,
                `${D}/permissionsets/Rollcall_Admin.permissionset-meta.xml`,
                /<modifyAllRecords>false<\/modifyAllRecords>(\s*<object>Calendar_Authorization__c<\/object>)/,
                '<modifyAllRecords>true</modifyAllRecords>$1'
            )
    },
    {
        rule: 'permission-set-object-permissions',
        what: 'View All without read',
        mutate: (d) =>
            edit(
                d,
                `${D}/permissionsets/Rollcall_Admin.permissionset-meta.xml`,
                /<allowRead>true<\/allowRead>(\s*<modifyAllRecords>false<\/modifyAllRecords>\s*<object>Provisioning_Run__c<\/object>)/,
                '<allowRead>false</allowRead>$1'
            )
    },
    {
        rule: 'permission-set-references',
        what: 'class access to a class that is not there',
        mutate: (d) =>
            edit(
                d,
                `${D}/permissionsets/Rollcall_Admin.permissionset-meta.xml`,
                '<apexClass>RunHistoryController</apexClass>',
                '<apexClass>RunHistoryControllerGone</apexClass>'
            )
    },
    {
        rule: 'custom-permission',
        what: 'a custom permission without a label',
        mutate: (d) =>
            edit(
                d,
                `${D}/customPermissions/Rollcall_Admin.customPermission-meta.xml`,
                /<label>[^<]*<\/label>/,
                ''
            )
    },
    {
        rule: 'named-credential',
        what: 'a named credential to a plain-http URL',
        mutate: (d) =>
            edit(
                d,
                `${D}/namedCredentials/Rollcall_Service.namedCredential-meta.xml`,
                '<parameterValue>https://',
                '<parameterValue>http://'
            )
    },
    {
        rule: 'external-credential',
        what: "a header formula reading another credential's parameter",
        mutate: (d) =>
            edit(
                d,
                `${D}/externalCredentials/Rollcall_Service.externalCredential-meta.xml`,
                '$Credential.Rollcall_Service.',
                '$Credential.Other_Service.'
            )
    },
    {
        rule: 'flexipage',
        what: 'a page placing a component that is not there',
        mutate: (d) =>
            edit(
                d,
                `${D}/flexipages/Rollcall_Home.flexipage-meta.xml`,
                '<componentName>rollcallApp</componentName>',
                '<componentName>rollcallGone</componentName>'
            )
    },
    {
        rule: 'flexipage',
        what: 'a page placing a component not exposed to app pages',
        mutate: (d) =>
            edit(d, `${D}/lwc/rollcallApp/rollcallApp.js-meta.xml`, '<target>lightning__AppPage</target>', '')
    },
    {
        rule: 'custom-tab',
        what: 'a tab showing a page that is not there',
        mutate: (d) =>
            edit(
                d,
                `${D}/tabs/Rollcall.tab-meta.xml`,
                '<flexiPage>Rollcall_Home</flexiPage>',
                '<flexiPage>Gone_Home</flexiPage>'
            )
    },
    {
        rule: 'custom-application',
        what: 'an app listing a tab that is not there',
        mutate: (d) =>
            edit(
                d,
                `${D}/applications/Rollcall.app-meta.xml`,
                '<tabs>Provisioning_Run__c</tabs>',
                '<tabs>Gone__c</tabs>'
            )
    },
    {
        rule: 'static-resource',
        what: 'a JSON resource that does not parse',
        mutate: (d) => write(d, `${D}/staticresources/RollcallOperatorTable.json`, '{ "operators": [')
    },
    {
        rule: 'apex-meta',
        what: 'a class above the project API version',
        mutate: (d) =>
            edit(
                d,
                `${D}/classes/ProvisioningController.cls-meta.xml`,
                /<apiVersion>[^<]*<\/apiVersion>/,
                '<apiVersion>99.0</apiVersion>'
            )
    },
    {
        rule: 'apex-trigger-object',
        what: 'a trigger on an object that is not there',
        mutate: (d) =>
            edit(
                d,
                `${D}/triggers/CalendarAuthorizationTrigger.trigger`,
                'on Calendar_Authorization__c(',
                'on Calendar_Grant__c('
            )
    }
];

describe('Metadata API rules over force-app', () => {
    let work: string;
    /** A fresh copy of force-app (and sfdx-project.json) in the temp folder. */
    function copy(name: string): string {
        const dir = join(work, name);
        cpSync(forceApp, join(dir, 'force-app'), {
            recursive: true,
            filter: (src) => !/[/\\](__tests__|node_modules)([/\\]|$)/.test(src)
        });
        cpSync(join(root, 'sfdx-project.json'), join(dir, 'sfdx-project.json'));
        return dir;
    }

    /** One copy of force-app; each plant mutates it and is undone before the next. */
    let planted: string;
    beforeAll(() => {
        work = mkdtempSync(join(tmpdir(), 'rollcall-mdrules-'));
        planted = copy('planted');
    });
    afterAll(() => rmSync(work, { recursive: true, force: true }));

    it('when force-app is checked, then no documented Metadata API rule is broken', () => {
        const { violations } = checkForceApp(forceApp);
        expect(violations.map((v) => `${v.rule} ${v.file}: ${v.message}`)).toEqual([]);
    });

    it('when force-app is read, then every metadata type it holds is read by a rule', () => {
        const { app } = checkForceApp(forceApp);
        expect(app.byType.get('CustomObject')?.length).toBeGreaterThan(0);
        expect(app.byType.get('CustomField')?.length).toBeGreaterThan(0);
        expect(uncoveredTypes(app)).toEqual([]);
    });

    it('when the rules are listed, then each names the Salesforce documentation page it comes from', () => {
        for (const rule of RULES) {
            expect(rule.source).toMatch(/^https:\/\/developer\.salesforce\.com\/docs\//);
            expect(rule.description.length).toBeGreaterThan(20);
        }
        expect(new Set(RULES.map((r) => r.id)).size).toBe(RULES.length);
    });

    it('when the planted violations are listed, then every rule has at least one', () => {
        expect([...new Set(PLANTS.map((p) => p.rule))].sort()).toEqual(RULES.map((r) => r.id).sort());
    });

    it.each(PLANTS.map((plant, index) => [plant.rule, plant.what, index]))(
        'when force-app is planted with a %s violation (%s), then the check fails on it',
        (rule, _what, index) => {
            try {
                PLANTS[index as number].mutate(planted);
                const { violations } = checkForceApp(join(planted, 'force-app'));
                expect(violations.map((v) => v.rule)).toContain(rule);
            } finally {
                while (undo.length) (undo.pop() as () => void)();
            }
        }
    );

    it('when every plant is undone, then the planted copy is clean again (each plant was alone)', () => {
        expect(checkForceApp(join(planted, 'force-app')).violations).toEqual([]);
    });

    it('when a well-formed list view, layout, compact layout and validation rule are added, then the check stays clean (it is not over-strict)', () => {
        const dir = copy('well-formed');
        write(
            dir,
            `${D}/objects/Condition_Set__c/listViews/All.listView-meta.xml`,
            xml(
                'ListView',
                '<fullName>All</fullName><columns>NAME</columns><columns>Active__c</columns>' +
                    '<filterScope>Everything</filterScope><filters><field>Active__c</field><operation>equals</operation>' +
                    '<value>1</value></filters><label>All</label>'
            )
        );
        write(
            dir,
            `${D}/layouts/Provisioning_Run_Item__c-Item Layout.layout-meta.xml`,
            xml(
                'Layout',
                '<layoutSections><editHeading>true</editHeading><label>Information</label><layoutColumns>' +
                    '<layoutItems><behavior>Required</behavior><field>Run__c</field></layoutItems>' +
                    '<layoutItems><behavior>Edit</behavior><field>Email__c</field></layoutItems>' +
                    '</layoutColumns><style>OneColumn</style></layoutSections>'
            )
        );
        write(
            dir,
            `${D}/objects/Condition_Set__c/compactLayouts/Summary.compactLayout-meta.xml`,
            xml(
                'CompactLayout',
                '<fullName>Summary</fullName><fields>Name</fields><fields>Active__c</fields><label>Summary</label>'
            )
        );
        write(
            dir,
            `${D}/objects/Condition_Set__c/validationRules/Needs_Definition.validationRule-meta.xml`,
            xml(
                'ValidationRule',
                '<fullName>Needs_Definition</fullName><active>true</active><errorConditionFormula>ISBLANK(Definition__c)' +
                    '</errorConditionFormula><errorMessage>A condition set needs a definition.</errorMessage>'
            )
        );
        const { app, violations } = checkForceApp(join(dir, 'force-app'));
        // One more of each than force-app itself has (which may have some already).
        const before = checkForceApp(forceApp).app.byType;
        for (const type of ['ListView', 'Layout', 'CompactLayout', 'ValidationRule']) {
            expect(app.byType.get(type)?.length).toBe((before.get(type)?.length ?? 0) + 1);
        }
        expect(violations).toEqual([]);
        expect(existsSync(join(dir, 'sfdx-project.json'))).toBe(true);
    });
});
