/**
 * The Metadata API's own rules over a force-app folder, checked offline: what a deploy (or
 * `sf project deploy validate`) would refuse before any Apex test runs. ApexLink checks the Apex
 * types and Code Analyzer the code; this module checks the metadata XML against the rules the
 * Metadata API Developer Guide (and the object reference pages it links) documents.
 *
 * It is generic over the folder: components are enumerated with @salesforce/source-deploy-retrieve
 * (the same registry `sf project deploy` uses), each file is read with fast-xml-parser, and every
 * rule looks at every component of its type, so metadata added later (new objects, fields, list
 * views, layouts…) is checked with no change here. A metadata type that no rule covers makes
 * `uncoveredTypes` non-empty, which the test reports, so a new kind of metadata cannot slip past.
 *
 * Each rule has an id, the documentation page it comes from, and returns violations
 * `{ rule, file, message }`.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { ComponentSet } from '@salesforce/source-deploy-retrieve';
import { XMLParser } from 'fast-xml-parser';

const META = 'https://developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/';
const OBJECT_REFERENCE =
    'https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/';

/** The documentation pages the rules cite. */
export const SOURCES = {
    customObject: `${META}customobject.htm`,
    customField: `${META}customfield.htm`,
    listView: `${META}meta_listview.htm`,
    layout: `${META}meta_layout.htm`,
    compactLayout: `${META}meta_compactlayout.htm`,
    validationRule: `${META}customobject.htm`,
    recordType: `${META}customobject.htm`,
    fieldSet: `${META}meta_fieldset.htm`,
    globalValueSet: `${META}meta_globalvalueset.htm`,
    permissionSet: `${META}meta_permissionset.htm`,
    objectPermissions: `${OBJECT_REFERENCE}sforce_api_objects_objectpermissions.htm`,
    fieldPermissions: `${OBJECT_REFERENCE}sforce_api_objects_fieldpermissions.htm`,
    customPermission: `${META}meta_custompermission.htm`,
    namedCredential: `${META}meta_namedcredential.htm`,
    externalCredential: `${META}meta_externalcredential.htm`,
    flexiPage: `${META}meta_flexipage.htm`,
    customTab: `${META}meta_tab.htm`,
    customApplication: `${META}meta_customapplication.htm`,
    staticResource: `${META}meta_staticresource.htm`,
    apexClass: `${META}meta_classes.htm`,
    apexTrigger: `${META}meta_triggers.htm`,
    lightningComponentBundle: `${META}meta_lightningcomponentbundle.htm`
} as const;

export interface Violation {
    rule: string;
    file: string;
    message: string;
}

export interface Rule {
    id: string;
    /** The metadata types the rule reads (source-deploy-retrieve names). */
    types: string[];
    source: string;
    description: string;
    check(app: ForceApp): Violation[];
}

type Xml = Record<string, unknown>;

export interface Component {
    type: string;
    name: string;
    file: string;
    xml: Xml;
}

export interface FieldModel extends Component {
    object: string;
}

export interface ObjectModel {
    name: string;
    /** Undefined for a standard object that force-app only adds fields to. */
    file?: string;
    xml?: Xml;
    fields: Map<string, FieldModel>;
}

export interface ForceApp {
    root: string;
    /** Every source component, by metadata type name. */
    byType: Map<string, Component[]>;
    objects: Map<string, ObjectModel>;
    sourceApiVersion?: number;
}

/** Tags that repeat: fast-xml-parser returns them as arrays even when there is one. */
const ARRAY_TAGS = new Set([
    'fieldPermissions',
    'objectPermissions',
    'userPermissions',
    'customPermissions',
    'classAccesses',
    'tabSettings',
    'applicationVisibilities',
    'customSettingAccesses',
    'customMetadataTypeAccesses',
    'externalCredentialPrincipalAccesses',
    'pageAccesses',
    'recordTypeVisibilities',
    'value',
    'customValue',
    'externalCredentialParameters',
    'namedCredentialParameters',
    'tabs',
    'formFactors',
    'flexiPageRegions',
    'itemInstances',
    'componentInstanceProperties',
    'layoutSections',
    'layoutColumns',
    'layoutItems',
    'relatedLists',
    'columns',
    'filters',
    'fields',
    'targets',
    'requiredPermission',
    'actionOverrides',
    'profileActionOverrides',
    'platformActionListItems',
    'quickActionListItems',
    'picklistValues',
    'displayedFields',
    'availableFields'
]);

const parser = new XMLParser({
    ignoreAttributes: true,
    parseTagValue: false,
    trimValues: true,
    isArray: (name) => ARRAY_TAGS.has(name)
});

function parseFile(file: string): Xml {
    const parsed = parser.parse(readFileSync(file, 'utf8')) as Xml;
    const rootName = Object.keys(parsed).find((key) => key !== '?xml');
    return (rootName ? (parsed[rootName] as Xml) : {}) ?? {};
}

function str(value: unknown): string | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    return undefined;
}

function bool(value: unknown): boolean {
    return str(value) === 'true';
}

function list(value: unknown): Xml[] {
    if (value === undefined || value === null || value === '') return [];
    return (Array.isArray(value) ? value : [value]) as Xml[];
}

function strings(value: unknown): string[] {
    return list(value)
        .map((item) => str(item))
        .filter((item): item is string => item !== undefined);
}

function num(value: unknown): number | undefined {
    const text = str(value);
    if (text === undefined || text.trim() === '') return undefined;
    const parsed = Number(text);
    return Number.isFinite(parsed) ? parsed : NaN;
}

/** The metadata types force-app may contain, with the rules that read them (LWC is checked by its own tests). */
const TYPES_CHECKED_ELSEWHERE = new Set(['LightningComponentBundle']);

export function loadForceApp(root: string): ForceApp {
    const byType = new Map<string, Component[]>();
    const add = (component: Component): void => {
        const existing = byType.get(component.type) ?? [];
        existing.push(component);
        byType.set(component.type, existing);
    };
    const set = ComponentSet.fromSource(root);
    for (const component of set.getSourceComponents().toArray()) {
        const visit = (c: typeof component): void => {
            if (c.xml && existsSync(c.xml)) {
                add({ type: c.type.name, name: c.fullName, file: c.xml, xml: parseFile(c.xml) });
            } else {
                add({ type: c.type.name, name: c.fullName, file: c.content ?? root, xml: {} });
            }
            for (const child of c.getChildren()) visit(child);
        };
        visit(component);
    }
    const objects = new Map<string, ObjectModel>();
    const objectOf = (name: string): ObjectModel => {
        let model = objects.get(name);
        if (!model) {
            model = { name, fields: new Map() };
            objects.set(name, model);
        }
        return model;
    };
    for (const object of byType.get('CustomObject') ?? []) {
        const model = objectOf(object.name);
        model.file = object.file;
        model.xml = object.xml;
    }
    for (const field of byType.get('CustomField') ?? []) {
        const [objectName, fieldName] = field.name.split('.');
        const model: FieldModel = { ...field, object: objectName };
        objectOf(objectName).fields.set(fieldName, model);
    }
    let sourceApiVersion: number | undefined;
    const project = join(root, '..', 'sfdx-project.json');
    if (existsSync(project)) {
        const parsed = JSON.parse(readFileSync(project, 'utf8')) as { sourceApiVersion?: string };
        sourceApiVersion = parsed.sourceApiVersion ? Number(parsed.sourceApiVersion) : undefined;
    }
    return { root, byType, objects, sourceApiVersion };
}

function components(app: ForceApp, type: string): Component[] {
    return app.byType.get(type) ?? [];
}

function fields(app: ForceApp): FieldModel[] {
    return [...app.objects.values()].flatMap((object) => [...object.fields.values()]);
}

function bundleTargets(bundle: Component | undefined): string[] {
    return list(bundle?.xml.targets).flatMap((targets) => strings(targets.target));
}

function isCustomSetting(object: ObjectModel | undefined): boolean {
    return !!object?.xml && str(object.xml.customSettingsType) !== undefined;
}

function isCustomObjectName(name: string): boolean {
    return name.endsWith('__c');
}

function fieldType(field: FieldModel): string {
    return str(field.xml.type) ?? '';
}

function isFormula(field: FieldModel): boolean {
    return str(field.xml.formula) !== undefined;
}

function universallyRequired(field: FieldModel): boolean {
    return fieldType(field) === 'MasterDetail' || bool(field.xml.required);
}

const violation = (rule: string, app: ForceApp, file: string, message: string): Violation => ({
    rule,
    file: relative(join(app.root, '..'), file),
    message
});

/** API names: a letter first, letters, digits and single underscores, no trailing underscore (CustomObject, CustomField). */
function validDeveloperName(name: string): boolean {
    return /^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*$/.test(name) && !name.endsWith('_');
}

const FIELD_TYPES = new Set([
    'AutoNumber',
    'Checkbox',
    'Currency',
    'Date',
    'DateTime',
    'Email',
    'EncryptedText',
    'ExternalLookup',
    'Hierarchy',
    'Html',
    'IndirectLookup',
    'Location',
    'LongTextArea',
    'Lookup',
    'MasterDetail',
    'MetadataRelationship',
    'MultiselectPicklist',
    'Number',
    'Percent',
    'Phone',
    'Picklist',
    'Summary',
    'Text',
    'TextArea',
    'Time',
    'Url'
]);

/** Attributes that belong to some field types only (CustomField: length, precision, scale, visibleLines). */
const LENGTH_TYPES = new Set(['Text', 'LongTextArea', 'Html', 'EncryptedText']);
const PRECISION_TYPES = new Set(['Number', 'Currency', 'Percent', 'Location']);
const VISIBLE_LINES_TYPES = new Set(['LongTextArea', 'Html', 'MultiselectPicklist', 'TextArea']);
/** externalId is allowed on text, number, email and auto-number fields only. */
const EXTERNAL_ID_TYPES = new Set(['Text', 'Number', 'Email', 'AutoNumber']);
/** unique on text, number and email fields (auto-numbers are unique by construction). */
const UNIQUE_TYPES = new Set(['Text', 'Number', 'Email']);
/** A formula field's return types. */
const FORMULA_TYPES = new Set([
    'Checkbox',
    'Currency',
    'Date',
    'DateTime',
    'Number',
    'Percent',
    'Text',
    'Time'
]);
/** The field types a custom setting may have (CustomObject: custom settings). */
const CUSTOM_SETTING_FIELD_TYPES = new Set([
    'Checkbox',
    'Currency',
    'Date',
    'DateTime',
    'Email',
    'Number',
    'Percent',
    'Phone',
    'Text',
    'TextArea',
    'Url'
]);
/** defaultValue is not allowed on these types (picklists take the default from their value set). */
const NO_DEFAULT_TYPES = new Set([
    'Picklist',
    'MultiselectPicklist',
    'MasterDetail',
    'Lookup',
    'AutoNumber',
    'Summary',
    'ExternalLookup',
    'IndirectLookup',
    'Hierarchy'
]);

export const RULES: Rule[] = [
    // ----- CustomObject -----
    {
        id: 'object-enterprise-flags',
        types: ['CustomObject'],
        source: SOURCES.customObject,
        description:
            'enableBulkApi, enableSharing and enableStreamingApi classify an object as an Enterprise Application ' +
            'object: they are set together (all true or all false); a mix is refused on deploy.',
        check: (app) =>
            [...app.objects.values()]
                .filter((o) => o.xml && !isCustomSetting(o) && isCustomObjectName(o.name))
                .flatMap((o) => {
                    const flags = ['enableBulkApi', 'enableSharing', 'enableStreamingApi'].map(
                        (flag) => [flag, bool(o.xml?.[flag])] as const
                    );
                    if (flags.every(([, v]) => v) || flags.every(([, v]) => !v)) return [];
                    const text = flags.map(([flag, v]) => `${flag}=${v}`).join(', ');
                    return [
                        violation(
                            'object-enterprise-flags',
                            app,
                            o.file as string,
                            `${o.name}: ${text}; the three must be all true or all false`
                        )
                    ];
                })
    },
    {
        id: 'object-required-attributes',
        types: ['CustomObject'],
        source: SOURCES.customObject,
        description:
            'A custom object has label, pluralLabel, deploymentStatus, sharingModel and a nameField (Text, or ' +
            'AutoNumber with a displayFormat holding {0…}); a custom setting has label and a customSettingsType ' +
            '(List or Hierarchy) and visibility Public or Protected.',
        check: (app) =>
            [...app.objects.values()]
                .filter((o) => o.xml && isCustomObjectName(o.name))
                .flatMap((o) => {
                    const xml = o.xml as Xml;
                    const problems: string[] = [];
                    if (!str(xml.label)) problems.push('no label');
                    if (isCustomSetting(o)) {
                        if (!['List', 'Hierarchy'].includes(str(xml.customSettingsType) ?? ''))
                            problems.push(
                                `customSettingsType ${str(xml.customSettingsType)} is not List or Hierarchy`
                            );
                        if (
                            xml.visibility !== undefined &&
                            !['Public', 'Protected'].includes(str(xml.visibility) ?? '')
                        )
                            problems.push(`visibility ${str(xml.visibility)} is not Public or Protected`);
                    } else {
                        if (!str(xml.pluralLabel)) problems.push('no pluralLabel');
                        if (!['Deployed', 'InDevelopment'].includes(str(xml.deploymentStatus) ?? ''))
                            problems.push('deploymentStatus is not Deployed or InDevelopment');
                        const sharing = str(xml.sharingModel);
                        if (!['Private', 'Read', 'ReadWrite', 'ControlledByParent'].includes(sharing ?? ''))
                            problems.push(
                                `sharingModel ${sharing} is not Private, Read, ReadWrite or ControlledByParent`
                            );
                        const nameField = xml.nameField as Xml | undefined;
                        if (!nameField) problems.push('no nameField');
                        else {
                            if (!str(nameField.label)) problems.push('nameField has no label');
                            const type = str(nameField.type);
                            if (type === 'AutoNumber') {
                                if (!/\{0+\}/.test(str(nameField.displayFormat) ?? ''))
                                    problems.push('AutoNumber nameField needs a displayFormat with {0…}');
                            } else if (type !== 'Text')
                                problems.push(`nameField type ${type} is not Text or AutoNumber`);
                        }
                    }
                    return problems.map((p) =>
                        violation('object-required-attributes', app, o.file as string, `${o.name}: ${p}`)
                    );
                })
    },
    {
        id: 'object-sharing-master-detail',
        types: ['CustomObject', 'CustomField'],
        source: SOURCES.customObject,
        description:
            'sharingModel ControlledByParent exactly when the object is the detail of a master-detail field; ' +
            'externalSharingModel is then ControlledByParent too, and otherwise no wider than sharingModel.',
        check: (app) =>
            [...app.objects.values()]
                .filter((o) => o.xml && !isCustomSetting(o) && isCustomObjectName(o.name))
                .flatMap((o) => {
                    const xml = o.xml as Xml;
                    const details = [...o.fields.values()].filter((f) => fieldType(f) === 'MasterDetail');
                    const sharing = str(xml.sharingModel);
                    const external = str(xml.externalSharingModel);
                    const problems: string[] = [];
                    if (details.length > 0 && sharing !== 'ControlledByParent')
                        problems.push(
                            `has master-detail ${details.map((d) => d.name).join(', ')} but sharingModel ${sharing}`
                        );
                    if (details.length === 0 && sharing === 'ControlledByParent')
                        problems.push('sharingModel ControlledByParent without a master-detail field');
                    if (external !== undefined) {
                        const order = ['Private', 'Read', 'ReadWrite'];
                        if (sharing === 'ControlledByParent' && external !== 'ControlledByParent')
                            problems.push(`externalSharingModel ${external} on a ControlledByParent object`);
                        else if (
                            order.includes(sharing ?? '') &&
                            (!order.includes(external) ||
                                order.indexOf(external) > order.indexOf(sharing as string))
                        )
                            problems.push(
                                `externalSharingModel ${external} is wider than sharingModel ${sharing}`
                            );
                    }
                    return problems.map((p) =>
                        violation('object-sharing-master-detail', app, o.file as string, `${o.name}: ${p}`)
                    );
                })
    },
    {
        id: 'object-master-detail-count',
        types: ['CustomObject', 'CustomField'],
        source: SOURCES.customField,
        description:
            'An object has at most two master-detail fields; with two, their relationshipOrder values are 0 and 1 ' +
            '(the first is the primary master); a custom setting has no relationship field.',
        check: (app) =>
            [...app.objects.values()].flatMap((o) => {
                const details = [...o.fields.values()].filter((f) => fieldType(f) === 'MasterDetail');
                const problems: Violation[] = [];
                const where = o.file ?? details[0]?.file ?? app.root;
                if (details.length > 2)
                    problems.push(
                        violation(
                            'object-master-detail-count',
                            app,
                            where,
                            `${o.name}: ${details.length} master-detail fields (at most 2)`
                        )
                    );
                if (details.length === 2) {
                    const orders = details.map((d) => num(d.xml.relationshipOrder)).sort();
                    if (orders[0] !== 0 || orders[1] !== 1)
                        problems.push(
                            violation(
                                'object-master-detail-count',
                                app,
                                where,
                                `${o.name}: two master-detail fields need relationshipOrder 0 and 1, found ${orders.join(', ')}`
                            )
                        );
                }
                return problems;
            })
    },
    {
        id: 'custom-setting-fields',
        types: ['CustomObject', 'CustomField'],
        source: SOURCES.customObject,
        description:
            'A custom setting holds only checkbox, currency, date, date/time, email, number, percent, phone, text, text area and URL fields.',
        check: (app) =>
            [...app.objects.values()]
                .filter((o) => isCustomSetting(o))
                .flatMap((o) =>
                    [...o.fields.values()]
                        .filter((f) => !CUSTOM_SETTING_FIELD_TYPES.has(fieldType(f)))
                        .map((f) =>
                            violation(
                                'custom-setting-fields',
                                app,
                                f.file,
                                `${f.name}: type ${fieldType(f)} is not allowed on a custom setting`
                            )
                        )
                )
    },
    // ----- CustomField -----
    {
        id: 'field-name-and-type',
        types: ['CustomField'],
        source: SOURCES.customField,
        description:
            'A custom field has a valid API name (a letter first, no double or trailing underscore, __c suffix), ' +
            'a label and one of the documented FieldType values.',
        check: (app) =>
            fields(app).flatMap((f) => {
                const problems: string[] = [];
                const [, fieldName] = f.name.split('.');
                if (fieldName.endsWith('__c') && !validDeveloperName(fieldName.slice(0, -3)))
                    problems.push(`API name ${fieldName} is not a valid developer name`);
                if (fieldName.endsWith('__c') && fieldName.length - 3 > 40)
                    problems.push(`API name ${fieldName} is longer than 40 characters`);
                if (!str(f.xml.label)) problems.push('no label');
                if (!FIELD_TYPES.has(fieldType(f)))
                    problems.push(`type ${fieldType(f) || '(none)'} is not a FieldType`);
                return problems.map((p) => violation('field-name-and-type', app, f.file, `${f.name}: ${p}`));
            })
    },
    {
        id: 'field-type-attributes',
        types: ['CustomField'],
        source: SOURCES.customField,
        description:
            'Type-specific attributes: Text needs length 1–255; LongTextArea and Html need length 256–131072 and ' +
            'visibleLines; Number, Currency and Percent need precision 1–18 and scale 0..precision (precision − scale ' +
            'digits left of the point); MultiselectPicklist needs visibleLines; length, precision, scale and visibleLines ' +
            'are refused on the other types.',
        check: (app) =>
            fields(app).flatMap((f) => {
                const type = fieldType(f);
                const problems: string[] = [];
                const length = num(f.xml.length);
                const precision = num(f.xml.precision);
                const scale = num(f.xml.scale);
                const lines = num(f.xml.visibleLines);
                if (length !== undefined && !LENGTH_TYPES.has(type))
                    problems.push(`length is not an attribute of ${type}`);
                if (
                    (precision !== undefined || scale !== undefined) &&
                    !PRECISION_TYPES.has(type) &&
                    !isFormula(f)
                )
                    problems.push(`precision/scale are not attributes of ${type}`);
                if (lines !== undefined && !VISIBLE_LINES_TYPES.has(type))
                    problems.push(`visibleLines is not an attribute of ${type}`);
                if (
                    type === 'Text' &&
                    !isFormula(f) &&
                    (length === undefined || !(length >= 1 && length <= 255))
                )
                    problems.push(`Text needs length 1–255 (found ${str(f.xml.length) ?? 'none'})`);
                if (
                    (type === 'LongTextArea' || type === 'Html') &&
                    (length === undefined || !(length >= 256 && length <= 131072))
                )
                    problems.push(`${type} needs length 256–131072 (found ${str(f.xml.length) ?? 'none'})`);
                if (
                    (type === 'LongTextArea' || type === 'Html' || type === 'MultiselectPicklist') &&
                    lines === undefined
                )
                    problems.push(`${type} needs visibleLines`);
                if (
                    (PRECISION_TYPES.has(type) && type !== 'Location') ||
                    (isFormula(f) && ['Number', 'Currency', 'Percent'].includes(type))
                ) {
                    if (precision === undefined || !(precision >= 1 && precision <= 18))
                        problems.push(
                            `${type} needs precision 1–18 (found ${str(f.xml.precision) ?? 'none'})`
                        );
                    if (scale === undefined || !(scale >= 0 && precision !== undefined && scale <= precision))
                        problems.push(
                            `${type} needs scale 0..precision (found ${str(f.xml.scale) ?? 'none'})`
                        );
                }
                return problems.map((p) =>
                    violation('field-type-attributes', app, f.file, `${f.name}: ${p}`)
                );
            })
    },
    {
        id: 'field-external-id-unique',
        types: ['CustomField'],
        source: SOURCES.customField,
        description:
            'externalId only on Text, Number, Email and AutoNumber fields; unique only on Text, Number and Email; ' +
            'caseSensitive only on a unique Text field; no formula field is an external id or unique.',
        check: (app) =>
            fields(app).flatMap((f) => {
                const type = fieldType(f);
                const problems: string[] = [];
                if (bool(f.xml.externalId) && (!EXTERNAL_ID_TYPES.has(type) || isFormula(f)))
                    problems.push(`externalId is not allowed on ${isFormula(f) ? 'a formula' : type}`);
                if (bool(f.xml.unique) && (!UNIQUE_TYPES.has(type) || isFormula(f)))
                    problems.push(`unique is not allowed on ${isFormula(f) ? 'a formula' : type}`);
                if (bool(f.xml.caseSensitive) && !(type === 'Text' && bool(f.xml.unique)))
                    problems.push('caseSensitive needs a unique Text field');
                return problems.map((p) =>
                    violation('field-external-id-unique', app, f.file, `${f.name}: ${p}`)
                );
            })
    },
    {
        id: 'field-required',
        types: ['CustomField'],
        source: SOURCES.customField,
        description:
            'required is refused on Checkbox (always has a value), MasterDetail (always required), formula, ' +
            'roll-up summary and auto-number fields; a required Lookup cannot use deleteConstraint SetNull.',
        check: (app) =>
            fields(app).flatMap((f) => {
                if (!bool(f.xml.required)) return [];
                const type = fieldType(f);
                const problems: string[] = [];
                if (['Checkbox', 'MasterDetail', 'Summary', 'AutoNumber'].includes(type))
                    problems.push(`required is not allowed on ${type}`);
                if (isFormula(f)) problems.push('required is not allowed on a formula field');
                if (type === 'Lookup' && str(f.xml.deleteConstraint) === 'SetNull')
                    problems.push('a required Lookup cannot have deleteConstraint SetNull');
                return problems.map((p) => violation('field-required', app, f.file, `${f.name}: ${p}`));
            })
    },
    {
        id: 'field-default-value',
        types: ['CustomField'],
        source: SOURCES.customField,
        description:
            'Checkbox needs defaultValue true or false; picklists take their default from the value set, and ' +
            'relationship, auto-number, roll-up summary and formula fields have no defaultValue; a Text or Email ' +
            'default is a formula (a literal is quoted).',
        check: (app) =>
            fields(app).flatMap((f) => {
                const type = fieldType(f);
                const value = str(f.xml.defaultValue);
                const problems: string[] = [];
                if (type === 'Checkbox' && !isFormula(f) && value !== 'true' && value !== 'false')
                    problems.push(`Checkbox needs defaultValue true or false (found ${value ?? 'none'})`);
                if (value !== undefined && NO_DEFAULT_TYPES.has(type))
                    problems.push(`defaultValue is not allowed on ${type}`);
                if (value !== undefined && isFormula(f))
                    problems.push('defaultValue is not allowed on a formula field');
                if (
                    value !== undefined &&
                    ['Number', 'Currency', 'Percent'].includes(type) &&
                    /^[A-Za-z]+$/.test(value) &&
                    value !== 'null'
                )
                    problems.push(`defaultValue ${value} of a ${type} is neither a number nor a formula`);
                if (
                    value !== undefined &&
                    ['Text', 'Email', 'TextArea', 'Url', 'Phone'].includes(type) &&
                    /^[^'"(){}$!]+$/.test(value) &&
                    !/^[A-Z_]+\(/.test(value)
                )
                    problems.push(
                        `defaultValue ${value} of a ${type} is a bare word: a text literal is quoted ('…')`
                    );
                return problems.map((p) => violation('field-default-value', app, f.file, `${f.name}: ${p}`));
            })
    },
    {
        id: 'field-formula',
        types: ['CustomField'],
        source: SOURCES.customField,
        description:
            'A formula field returns Checkbox, Currency, Date, DateTime, Number, Percent, Text or Time.',
        check: (app) =>
            fields(app)
                .filter((f) => isFormula(f) && !FORMULA_TYPES.has(fieldType(f)))
                .map((f) =>
                    violation(
                        'field-formula',
                        app,
                        f.file,
                        `${f.name}: a formula cannot return ${fieldType(f)}`
                    )
                )
    },
    {
        id: 'field-relationship',
        types: ['CustomField'],
        source: SOURCES.customField,
        description:
            'Lookup and MasterDetail fields need referenceTo (an object that exists, not a custom setting) and a valid ' +
            'relationshipName, unique among the child relationships of the parent; deleteConstraint belongs to Lookup ' +
            '(SetNull, Restrict or Cascade) and not to MasterDetail; reparentableMasterDetail, writeRequiresMasterRead ' +
            'and relationshipOrder belong to MasterDetail only.',
        check: (app) => {
            const out: Violation[] = [];
            const childRelationships = new Map<string, FieldModel>();
            for (const f of fields(app)) {
                const type = fieldType(f);
                const isRelationship = type === 'Lookup' || type === 'MasterDetail';
                if (!isRelationship) {
                    for (const attribute of [
                        'reparentableMasterDetail',
                        'writeRequiresMasterRead',
                        'relationshipOrder',
                        'deleteConstraint',
                        'referenceTo'
                    ])
                        if (f.xml[attribute] !== undefined)
                            out.push(
                                violation(
                                    'field-relationship',
                                    app,
                                    f.file,
                                    `${f.name}: ${attribute} on a ${type} field`
                                )
                            );
                    continue;
                }
                const target = str(f.xml.referenceTo);
                const relationshipName = str(f.xml.relationshipName);
                if (!target)
                    out.push(violation('field-relationship', app, f.file, `${f.name}: no referenceTo`));
                else if (isCustomObjectName(target) && !app.objects.get(target)?.xml)
                    out.push(
                        violation(
                            'field-relationship',
                            app,
                            f.file,
                            `${f.name}: referenceTo ${target} is not in force-app`
                        )
                    );
                else if (isCustomSetting(app.objects.get(target)))
                    out.push(
                        violation(
                            'field-relationship',
                            app,
                            f.file,
                            `${f.name}: referenceTo ${target} is a custom setting`
                        )
                    );
                if (!relationshipName || !validDeveloperName(relationshipName))
                    out.push(
                        violation(
                            'field-relationship',
                            app,
                            f.file,
                            `${f.name}: relationshipName ${relationshipName ?? '(none)'} is not a valid name`
                        )
                    );
                else if (target) {
                    const key = `${target.toLowerCase()}.${relationshipName.toLowerCase()}`;
                    const other = childRelationships.get(key);
                    if (other)
                        out.push(
                            violation(
                                'field-relationship',
                                app,
                                f.file,
                                `${f.name}: relationshipName ${relationshipName} on ${target} is also used by ${other.name}`
                            )
                        );
                    else childRelationships.set(key, f);
                }
                if (type === 'MasterDetail') {
                    if (f.xml.deleteConstraint !== undefined)
                        out.push(
                            violation(
                                'field-relationship',
                                app,
                                f.file,
                                `${f.name}: deleteConstraint is not an attribute of MasterDetail (deletes cascade)`
                            )
                        );
                    const order = num(f.xml.relationshipOrder);
                    if (order !== undefined && order !== 0 && order !== 1)
                        out.push(
                            violation(
                                'field-relationship',
                                app,
                                f.file,
                                `${f.name}: relationshipOrder ${order} is not 0 or 1`
                            )
                        );
                } else {
                    for (const attribute of [
                        'reparentableMasterDetail',
                        'writeRequiresMasterRead',
                        'relationshipOrder'
                    ])
                        if (f.xml[attribute] !== undefined)
                            out.push(
                                violation(
                                    'field-relationship',
                                    app,
                                    f.file,
                                    `${f.name}: ${attribute} on a Lookup field`
                                )
                            );
                    const constraint = str(f.xml.deleteConstraint);
                    if (constraint !== undefined && !['SetNull', 'Restrict', 'Cascade'].includes(constraint))
                        out.push(
                            violation(
                                'field-relationship',
                                app,
                                f.file,
                                `${f.name}: deleteConstraint ${constraint} is not SetNull, Restrict or Cascade`
                            )
                        );
                }
            }
            return out;
        }
    },
    // ----- Picklists and value sets -----
    {
        id: 'picklist-value-set',
        types: ['CustomField', 'GlobalValueSet'],
        source: SOURCES.customField,
        description:
            'A picklist field has a valueSet holding either a valueSetDefinition (its own values) or a valueSetName ' +
            '(a GlobalValueSet, which must exist), not both; own values have unique fullNames and labels, and a ' +
            'single-select picklist has at most one default; only picklists have a valueSet.',
        check: (app) => {
            const globals = new Set(components(app, 'GlobalValueSet').map((g) => g.name));
            return fields(app).flatMap((f) => {
                const type = fieldType(f);
                const valueSet = f.xml.valueSet as Xml | undefined;
                const problems: string[] = [];
                const isPicklist = type === 'Picklist' || type === 'MultiselectPicklist';
                if (!isPicklist) {
                    if (valueSet !== undefined) problems.push(`valueSet on a ${type} field`);
                } else if (!valueSet) problems.push('picklist without a valueSet');
                else {
                    const definition = valueSet.valueSetDefinition as Xml | undefined;
                    const name = str(valueSet.valueSetName);
                    if (definition && name)
                        problems.push('valueSet has both valueSetDefinition and valueSetName');
                    if (!definition && !name)
                        problems.push('valueSet has neither valueSetDefinition nor valueSetName');
                    if (name && !globals.has(name))
                        problems.push(`valueSetName ${name} is not a GlobalValueSet in force-app`);
                    if (definition) {
                        const values = list(definition.value);
                        if (values.length === 0) problems.push('valueSetDefinition has no value');
                        const seen = new Set<string>();
                        for (const v of values) {
                            const fullName = str(v.fullName);
                            if (!fullName) problems.push('a value has no fullName');
                            else if (seen.has(fullName.toLowerCase()))
                                problems.push(`value ${fullName} appears twice`);
                            else seen.add(fullName.toLowerCase());
                            if (!str(v.label)) problems.push(`value ${fullName} has no label`);
                        }
                        const defaults = values.filter((v) => bool(v.default)).length;
                        if (type === 'Picklist' && defaults > 1)
                            problems.push(`${defaults} default values (at most 1)`);
                    }
                }
                return problems.map((p) => violation('picklist-value-set', app, f.file, `${f.name}: ${p}`));
            });
        }
    },
    {
        id: 'global-value-set',
        types: ['GlobalValueSet'],
        source: SOURCES.globalValueSet,
        description:
            'A GlobalValueSet has a masterLabel, sorted, and 1–1000 customValue entries with unique fullNames, at most one default.',
        check: (app) =>
            components(app, 'GlobalValueSet').flatMap((g) => {
                const problems: string[] = [];
                if (!str(g.xml.masterLabel)) problems.push('no masterLabel');
                if (!['true', 'false'].includes(str(g.xml.sorted) ?? ''))
                    problems.push('sorted is required (true or false)');
                const values = list(g.xml.customValue);
                if (values.length === 0 || values.length > 1000)
                    problems.push(`${values.length} values (1–1000)`);
                const names = values.map((v) => (str(v.fullName) ?? '').toLowerCase());
                const dupes = names.filter((n, i) => names.indexOf(n) !== i);
                if (dupes.length) problems.push(`values appear twice: ${dupes.join(', ')}`);
                if (values.filter((v) => bool(v.default)).length > 1)
                    problems.push('more than one default value');
                return problems.map((p) => violation('global-value-set', app, g.file, `${g.name}: ${p}`));
            })
    },
    // ----- ListView and Layout (objects' children) -----
    {
        id: 'list-view',
        types: ['ListView'],
        source: SOURCES.listView,
        description:
            'A list view has a label and a filterScope (Everything, Mine, Queue, Delegated, MyTerritory, ' +
            'MyTeamTerritory, Team); Queue needs a queue; its custom columns and filter fields exist on the object; ' +
            'filter operations are documented FilterOperation values.',
        check: (app) =>
            components(app, 'ListView').flatMap((v) => {
                const [objectName] = v.name.split('.');
                const object = app.objects.get(objectName);
                const problems: string[] = [];
                if (!str(v.xml.label)) problems.push('no label');
                const scope = str(v.xml.filterScope);
                if (
                    ![
                        'Everything',
                        'Mine',
                        'Queue',
                        'Delegated',
                        'MyTerritory',
                        'MyTeamTerritory',
                        'Team',
                        'MineAndMyGroups',
                        'AssignedToMe'
                    ].includes(scope ?? '')
                )
                    problems.push(`filterScope ${scope ?? '(none)'} is not a FilterScope value`);
                if (scope === 'Queue' && !str(v.xml.queue))
                    problems.push('filterScope Queue without a queue');
                const known = (name: string): boolean =>
                    !name.endsWith('__c') || name.includes('.') || !!object?.fields.has(name);
                for (const column of strings(v.xml.columns))
                    if (!known(column)) problems.push(`column ${column} is not a field of ${objectName}`);
                const operations = [
                    'equals',
                    'notEqual',
                    'lessThan',
                    'greaterThan',
                    'lessOrEqual',
                    'greaterOrEqual',
                    'contains',
                    'notContain',
                    'startsWith',
                    'includes',
                    'excludes',
                    'within'
                ];
                for (const filter of list(v.xml.filters)) {
                    const field = str(filter.field) ?? '';
                    if (!known(field)) problems.push(`filter field ${field} is not a field of ${objectName}`);
                    if (!operations.includes(str(filter.operation) ?? ''))
                        problems.push(`filter operation ${str(filter.operation)} is not a FilterOperation`);
                }
                return problems.map((p) => violation('list-view', app, v.file, `${v.name}: ${p}`));
            })
    },
    {
        id: 'layout',
        types: ['Layout'],
        source: SOURCES.layout,
        description:
            'A layout belongs to an object of force-app (or a standard one); each custom field on it exists, appears ' +
            'once, has behavior Edit, Required or Readonly; a universally required field (required or master-detail) ' +
            'is Required, and a formula, roll-up summary or auto-number field is Readonly.',
        check: (app) =>
            components(app, 'Layout').flatMap((l) => {
                const objectName = l.name.split('-')[0];
                const object = app.objects.get(objectName);
                const problems: string[] = [];
                if (isCustomObjectName(objectName) && !object?.xml)
                    problems.push(`object ${objectName} is not in force-app`);
                const seen = new Set<string>();
                for (const section of list(l.xml.layoutSections))
                    for (const column of list(section.layoutColumns))
                        for (const item of list(column.layoutItems)) {
                            const fieldName = str(item.field);
                            if (!fieldName) continue;
                            if (seen.has(fieldName)) problems.push(`field ${fieldName} appears twice`);
                            seen.add(fieldName);
                            const behavior = str(item.behavior);
                            if (!['Edit', 'Required', 'Readonly'].includes(behavior ?? ''))
                                problems.push(
                                    `field ${fieldName}: behavior ${behavior} is not Edit, Required or Readonly`
                                );
                            if (!fieldName.endsWith('__c')) continue;
                            const field = object?.fields.get(fieldName);
                            if (!field) {
                                problems.push(`field ${fieldName} is not a field of ${objectName}`);
                                continue;
                            }
                            if (universallyRequired(field) && behavior !== 'Required')
                                problems.push(
                                    `field ${fieldName} is universally required: behavior must be Required, not ${behavior}`
                                );
                            if (
                                (isFormula(field) || ['Summary', 'AutoNumber'].includes(fieldType(field))) &&
                                behavior !== 'Readonly'
                            )
                                problems.push(
                                    `field ${fieldName} is computed: behavior must be Readonly, not ${behavior}`
                                );
                        }
                return problems.map((p) => violation('layout', app, l.file, `${l.name}: ${p}`));
            })
    },
    // ----- Other children of an object: compact layouts, validation rules, record types, field sets -----
    {
        id: 'compact-layout',
        types: ['CompactLayout', 'CustomObject'],
        source: SOURCES.compactLayout,
        description:
            "A compact layout has a label and at most 10 fields, each a field of its object; an object's " +
            'compactLayoutAssignment names one of its compact layouts (or SYSTEM).',
        check: (app) => {
            const out: Violation[] = [];
            const byObject = new Map<string, Set<string>>();
            for (const c of components(app, 'CompactLayout')) {
                const [objectName, layoutName] = c.name.split('.');
                byObject.set(objectName, (byObject.get(objectName) ?? new Set()).add(layoutName));
                const object = app.objects.get(objectName);
                const problems: string[] = [];
                if (!str(c.xml.label)) problems.push('no label');
                const names = strings(c.xml.fields);
                if (names.length > 10) problems.push(`${names.length} fields (at most 10)`);
                for (const name of names)
                    if (name.endsWith('__c') && !object?.fields.has(name))
                        problems.push(`field ${name} is not a field of ${objectName}`);
                out.push(...problems.map((m) => violation('compact-layout', app, c.file, `${c.name}: ${m}`)));
            }
            for (const object of app.objects.values()) {
                const assigned = str(object.xml?.compactLayoutAssignment);
                if (assigned && assigned !== 'SYSTEM' && !byObject.get(object.name)?.has(assigned))
                    out.push(
                        violation(
                            'compact-layout',
                            app,
                            object.file as string,
                            `${object.name}: compactLayoutAssignment ${assigned} is not a compact layout of the object`
                        )
                    );
            }
            return out;
        }
    },
    {
        id: 'validation-rule',
        types: ['ValidationRule'],
        source: SOURCES.validationRule,
        description:
            'A validation rule has active, an errorConditionFormula and an errorMessage; its errorDisplayField, if ' +
            'any, is a field of the object.',
        check: (app) =>
            components(app, 'ValidationRule').flatMap((v) => {
                const [objectName] = v.name.split('.');
                const problems: string[] = [];
                if (!['true', 'false'].includes(str(v.xml.active) ?? ''))
                    problems.push('active is required (true or false)');
                if (!str(v.xml.errorConditionFormula)) problems.push('no errorConditionFormula');
                if (!str(v.xml.errorMessage)) problems.push('no errorMessage');
                const display = str(v.xml.errorDisplayField);
                if (display?.endsWith('__c') && !app.objects.get(objectName)?.fields.has(display))
                    problems.push(`errorDisplayField ${display} is not a field of ${objectName}`);
                return problems.map((m) => violation('validation-rule', app, v.file, `${v.name}: ${m}`));
            })
    },
    {
        id: 'record-type',
        types: ['RecordType'],
        source: SOURCES.recordType,
        description:
            'A record type has a label and active; the picklists it restricts are picklist fields of its object.',
        check: (app) =>
            components(app, 'RecordType').flatMap((r) => {
                const [objectName] = r.name.split('.');
                const object = app.objects.get(objectName);
                const problems: string[] = [];
                if (!str(r.xml.label)) problems.push('no label');
                if (!['true', 'false'].includes(str(r.xml.active) ?? ''))
                    problems.push('active is required (true or false)');
                for (const picklist of list(r.xml.picklistValues)) {
                    const name = str(picklist.picklist) ?? '';
                    const field = object?.fields.get(name);
                    if (
                        name.endsWith('__c') &&
                        (!field || !['Picklist', 'MultiselectPicklist'].includes(fieldType(field)))
                    )
                        problems.push(`picklistValues ${name} is not a picklist field of ${objectName}`);
                }
                return problems.map((m) => violation('record-type', app, r.file, `${r.name}: ${m}`));
            })
    },
    {
        id: 'field-set',
        types: ['FieldSet'],
        source: SOURCES.fieldSet,
        description:
            'A field set has a label and a description; its displayed and available fields are fields of its object.',
        check: (app) =>
            components(app, 'FieldSet').flatMap((f) => {
                const [objectName] = f.name.split('.');
                const object = app.objects.get(objectName);
                const problems: string[] = [];
                if (!str(f.xml.label)) problems.push('no label');
                if (!str(f.xml.description)) problems.push('no description (required)');
                for (const item of [...list(f.xml.displayedFields), ...list(f.xml.availableFields)]) {
                    const name = str(item.field) ?? '';
                    if (name.endsWith('__c') && !name.includes('.') && !object?.fields.has(name))
                        problems.push(`field ${name} is not a field of ${objectName}`);
                }
                return problems.map((m) => violation('field-set', app, f.file, `${f.name}: ${m}`));
            })
    },
    // ----- PermissionSet -----
    {
        id: 'permission-set-field-permissions',
        types: ['PermissionSet', 'CustomField'],
        source: SOURCES.permissionSet,
        description:
            'fieldPermissions name an existing field as Object.Field; never a required or master-detail field ' +
            '(universally required fields are always readable and editable: the deploy refuses them); editable ' +
            'needs readable; a formula, roll-up summary or auto-number field is not editable.',
        check: (app) =>
            components(app, 'PermissionSet').flatMap((p) =>
                list(p.xml.fieldPermissions).flatMap((fp) => {
                    const name = str(fp.field) ?? '';
                    const [objectName, fieldName] = name.split('.');
                    const problems: string[] = [];
                    const object = app.objects.get(objectName);
                    const field = object?.fields.get(fieldName ?? '');
                    if (!fieldName) problems.push(`field ${name} is not Object.Field`);
                    else if (fieldName.endsWith('__c') && !field)
                        problems.push(`field ${name} is not in force-app`);
                    if (field && universallyRequired(field))
                        problems.push(
                            `field ${name} is ${fieldType(field) === 'MasterDetail' ? 'a master-detail' : 'a required'} field: it takes no fieldPermissions`
                        );
                    if (bool(fp.editable) && !bool(fp.readable))
                        problems.push(`field ${name} is editable but not readable`);
                    if (
                        field &&
                        bool(fp.editable) &&
                        (isFormula(field) || ['Summary', 'AutoNumber'].includes(fieldType(field)))
                    )
                        problems.push(`field ${name} is computed: it cannot be editable`);
                    return problems.map((m) =>
                        violation('permission-set-field-permissions', app, p.file, `${p.name}: ${m}`)
                    );
                })
            )
    },
    {
        id: 'permission-set-object-permissions',
        types: ['PermissionSet', 'CustomObject'],
        source: SOURCES.objectPermissions,
        description:
            'Object permissions depend on each other: create, edit and View All need read; delete needs read and ' +
            'edit; Modify All needs read, edit, delete and View All. The object exists in force-app (or is ' +
            'standard) and is not a custom setting (those take customSettingAccesses).',
        check: (app) =>
            components(app, 'PermissionSet').flatMap((p) =>
                list(p.xml.objectPermissions).flatMap((op) => {
                    const name = str(op.object) ?? '';
                    const read = bool(op.allowRead);
                    const create = bool(op.allowCreate);
                    const edit = bool(op.allowEdit);
                    const del = bool(op.allowDelete);
                    const viewAll = bool(op.viewAllRecords);
                    const modifyAll = bool(op.modifyAllRecords);
                    const problems: string[] = [];
                    if (isCustomObjectName(name) && !app.objects.get(name)?.xml)
                        problems.push(`object ${name} is not in force-app`);
                    if (isCustomSetting(app.objects.get(name)))
                        problems.push(`${name} is a custom setting: use customSettingAccesses`);
                    if ((create || edit || viewAll) && !read)
                        problems.push(`${name}: create, edit and View All need read`);
                    if (del && !(read && edit)) problems.push(`${name}: delete needs read and edit`);
                    if (modifyAll && !(read && edit && del && viewAll))
                        problems.push(`${name}: Modify All needs read, edit, delete and View All`);
                    return problems.map((m) =>
                        violation('permission-set-object-permissions', app, p.file, `${p.name}: ${m}`)
                    );
                })
            )
    },
    {
        id: 'permission-set-references',
        types: [
            'PermissionSet',
            'ApexClass',
            'CustomPermission',
            'CustomTab',
            'CustomApplication',
            'ExternalCredential'
        ],
        source: SOURCES.permissionSet,
        description:
            'A permission set has a label; classAccesses, customPermissions, tabSettings, applicationVisibilities, ' +
            'customSettingAccesses and externalCredentialPrincipalAccesses name components that exist; tab ' +
            'visibility is Visible, Available or None.',
        check: (app) => {
            const names = (type: string): Set<string> => new Set(components(app, type).map((c) => c.name));
            const classes = names('ApexClass');
            const customPermissions = names('CustomPermission');
            const tabs = names('CustomTab');
            const apps = names('CustomApplication');
            const principals = new Set(
                components(app, 'ExternalCredential').flatMap((c) =>
                    list(c.xml.externalCredentialParameters)
                        .filter((p) =>
                            ['NamedPrincipal', 'PerUserPrincipal', 'AwsStsPrincipal'].includes(
                                str(p.parameterType) ?? ''
                            )
                        )
                        .map((p) => `${c.name}-${str(p.parameterName)}`)
                )
            );
            return components(app, 'PermissionSet').flatMap((p) => {
                const problems: string[] = [];
                if (!str(p.xml.label)) problems.push('no label');
                for (const c of list(p.xml.classAccesses))
                    if (!classes.has(str(c.apexClass) ?? ''))
                        problems.push(`class ${str(c.apexClass)} is not in force-app`);
                for (const c of list(p.xml.customPermissions))
                    if (!customPermissions.has(str(c.name) ?? ''))
                        problems.push(`custom permission ${str(c.name)} is not in force-app`);
                for (const t of list(p.xml.tabSettings)) {
                    const tab = str(t.tab) ?? '';
                    if (!tab.startsWith('standard-') && !tabs.has(tab))
                        problems.push(`tab ${tab} is not in force-app`);
                    if (!['Visible', 'Available', 'None'].includes(str(t.visibility) ?? ''))
                        problems.push(
                            `tab ${tab}: visibility ${str(t.visibility)} is not Visible, Available or None`
                        );
                }
                for (const a of list(p.xml.applicationVisibilities))
                    if (
                        !apps.has(str(a.application) ?? '') &&
                        !(str(a.application) ?? '').startsWith('standard__')
                    )
                        problems.push(`application ${str(a.application)} is not in force-app`);
                for (const s of list(p.xml.customSettingAccesses))
                    if (!isCustomSetting(app.objects.get(str(s.name) ?? '')))
                        problems.push(
                            `customSettingAccesses ${str(s.name)} is not a custom setting of force-app`
                        );
                for (const e of list(p.xml.externalCredentialPrincipalAccesses))
                    if (!principals.has(str(e.externalCredentialPrincipal) ?? ''))
                        problems.push(
                            `external credential principal ${str(e.externalCredentialPrincipal)} is not a principal of an ExternalCredential in force-app`
                        );
                return problems.map((m) =>
                    violation('permission-set-references', app, p.file, `${p.name}: ${m}`)
                );
            });
        }
    },
    // ----- CustomPermission -----
    {
        id: 'custom-permission',
        types: ['CustomPermission'],
        source: SOURCES.customPermission,
        description:
            'A custom permission has a label and a valid name; each requiredPermission names a custom permission that exists.',
        check: (app) => {
            const all = new Set(components(app, 'CustomPermission').map((c) => c.name));
            return components(app, 'CustomPermission').flatMap((c) => {
                const problems: string[] = [];
                if (!str(c.xml.label)) problems.push('no label');
                if (!validDeveloperName(c.name)) problems.push(`${c.name} is not a valid name`);
                for (const r of list(c.xml.requiredPermission)) {
                    const name = str(r.customPermission) ?? '';
                    if (!all.has(name)) problems.push(`requiredPermission ${name} is not in force-app`);
                }
                return problems.map((m) => violation('custom-permission', app, c.file, `${c.name}: ${m}`));
            });
        }
    },
    // ----- NamedCredential and ExternalCredential -----
    {
        id: 'named-credential',
        types: ['NamedCredential', 'ExternalCredential'],
        source: SOURCES.namedCredential,
        description:
            'A SecuredEndpoint named credential has a label, exactly one Url parameter (an https URL) and exactly ' +
            'one Authentication parameter naming an ExternalCredential that exists.',
        check: (app) => {
            const externals = new Set(components(app, 'ExternalCredential').map((c) => c.name));
            return components(app, 'NamedCredential').flatMap((n) => {
                const problems: string[] = [];
                if (!str(n.xml.label)) problems.push('no label');
                const type = str(n.xml.namedCredentialType);
                if (type === 'SecuredEndpoint' || type === undefined) {
                    const parameters = list(n.xml.namedCredentialParameters);
                    const urls = parameters.filter((p) => str(p.parameterType) === 'Url');
                    const auths = parameters.filter((p) => str(p.parameterType) === 'Authentication');
                    if (urls.length !== 1) problems.push(`${urls.length} Url parameters (exactly 1)`);
                    else if (!/^https:\/\/[^\s/]+/.test(str(urls[0].parameterValue) ?? ''))
                        problems.push(`Url ${str(urls[0].parameterValue)} is not an https URL`);
                    if (auths.length !== 1)
                        problems.push(`${auths.length} Authentication parameters (exactly 1)`);
                    else if (!externals.has(str(auths[0].externalCredential) ?? ''))
                        problems.push(
                            `externalCredential ${str(auths[0].externalCredential)} is not in force-app`
                        );
                }
                return problems.map((m) => violation('named-credential', app, n.file, `${n.name}: ${m}`));
            });
        }
    },
    {
        id: 'external-credential',
        types: ['ExternalCredential'],
        source: SOURCES.externalCredential,
        description:
            'An external credential has a label and an authenticationProtocol (AwsSv4, Basic, Custom, Jwt, ' +
            'JwtExchange, NoAuthentication, Oauth); it has at least one principal parameter, principals have ' +
            'unique names and unique sequence numbers ≥ 1; a $Credential formula names this credential.',
        check: (app) =>
            components(app, 'ExternalCredential').flatMap((c) => {
                const problems: string[] = [];
                if (!str(c.xml.label)) problems.push('no label');
                const protocol = str(c.xml.authenticationProtocol);
                if (
                    ![
                        'AwsSv4',
                        'Basic',
                        'Custom',
                        'Jwt',
                        'JwtExchange',
                        'NoAuthentication',
                        'Oauth'
                    ].includes(protocol ?? '')
                )
                    problems.push(`authenticationProtocol ${protocol ?? '(none)'} is not documented`);
                const parameters = list(c.xml.externalCredentialParameters);
                const principals = parameters.filter((p) =>
                    ['NamedPrincipal', 'PerUserPrincipal', 'AwsStsPrincipal'].includes(
                        str(p.parameterType) ?? ''
                    )
                );
                if (principals.length === 0) problems.push('no principal parameter');
                const names = principals.map((p) => str(p.parameterName) ?? '');
                if (new Set(names).size !== names.length) problems.push('two principals share a name');
                const sequences = principals.map((p) => num(p.sequenceNumber));
                if (sequences.some((s) => s === undefined || !Number.isInteger(s) || s < 1))
                    problems.push('a principal has no sequenceNumber ≥ 1');
                if (new Set(sequences).size !== sequences.length)
                    problems.push('two principals share a sequenceNumber');
                for (const p of parameters) {
                    for (const match of (str(p.parameterValue) ?? '').matchAll(/\$Credential\.(\w+)\./g))
                        if (match[1] !== c.name)
                            problems.push(
                                `parameter ${str(p.parameterName)} reads $Credential.${match[1]}, not $Credential.${c.name}`
                            );
                }
                return problems.map((m) => violation('external-credential', app, c.file, `${c.name}: ${m}`));
            })
    },
    // ----- FlexiPage -----
    {
        id: 'flexipage',
        types: ['FlexiPage', 'LightningComponentBundle'],
        source: SOURCES.flexiPage,
        description:
            'A FlexiPage has a masterLabel, a type, a template name, uniquely named regions and unique component ' +
            'identifiers; a RecordPage names its sobjectType; each custom Lightning web component it places exists ' +
            'with isExposed true and a target for the page type (lightning__AppPage, lightning__RecordPage, ' +
            'lightning__HomePage).',
        check: (app) => {
            const bundles = new Map(components(app, 'LightningComponentBundle').map((b) => [b.name, b]));
            const targetFor: Record<string, string> = {
                AppPage: 'lightning__AppPage',
                RecordPage: 'lightning__RecordPage',
                HomePage: 'lightning__HomePage'
            };
            return components(app, 'FlexiPage').flatMap((page) => {
                const problems: string[] = [];
                const type = str(page.xml.type);
                if (!str(page.xml.masterLabel)) problems.push('no masterLabel');
                if (!type) problems.push('no type');
                if (!str((page.xml.template as Xml | undefined)?.name)) problems.push('no template name');
                if (type === 'RecordPage' && !str(page.xml.sobjectType))
                    problems.push('RecordPage without sobjectType');
                const regions = list(page.xml.flexiPageRegions);
                const regionNames = regions.map((r) => str(r.name));
                if (new Set(regionNames).size !== regionNames.length)
                    problems.push('two regions share a name');
                const identifiers: string[] = [];
                for (const region of regions)
                    for (const item of list(region.itemInstances)) {
                        const instance = item.componentInstance as Xml | undefined;
                        if (!instance) continue;
                        const componentName = str(instance.componentName) ?? '';
                        const identifier = str(instance.identifier);
                        if (identifier) identifiers.push(identifier);
                        const local = componentName.startsWith('c:')
                            ? componentName.slice(2)
                            : componentName.includes(':')
                              ? undefined
                              : componentName;
                        if (local === undefined) continue;
                        const bundle = bundles.get(local);
                        if (!bundle) {
                            problems.push(
                                `component ${componentName} is not a Lightning web component of force-app`
                            );
                            continue;
                        }
                        if (!bool(bundle.xml.isExposed))
                            problems.push(`component ${local} is not exposed (isExposed)`);
                        const target = type ? targetFor[type] : undefined;
                        const targets = bundleTargets(bundle);
                        if (target && !targets.includes(target))
                            problems.push(`component ${local} has no target ${target}`);
                    }
                if (new Set(identifiers).size !== identifiers.length)
                    problems.push('two component instances share an identifier');
                return problems.map((m) => violation('flexipage', app, page.file, `${page.name}: ${m}`));
            });
        }
    },
    // ----- CustomTab -----
    {
        id: 'custom-tab',
        types: ['CustomTab', 'CustomObject', 'FlexiPage', 'LightningComponentBundle'],
        source: SOURCES.customTab,
        description:
            'A tab shows exactly one of customObject, flexiPage, lwcComponent, page, url, auraComponent, scontrol; ' +
            'an object tab is named after an object of force-app; a flexiPage tab names an AppPage; an lwcComponent ' +
            'tab names a bundle with target lightning__Tab; tabs other than object tabs have a label; every tab has a motif.',
        check: (app) => {
            const pages = new Map(components(app, 'FlexiPage').map((p) => [p.name, p]));
            const bundles = new Map(components(app, 'LightningComponentBundle').map((b) => [b.name, b]));
            return components(app, 'CustomTab').flatMap((t) => {
                const problems: string[] = [];
                const kinds = [
                    'customObject',
                    'flexiPage',
                    'lwcComponent',
                    'page',
                    'url',
                    'auraComponent',
                    'scontrol'
                ].filter((k) => (k === 'customObject' ? bool(t.xml[k]) : str(t.xml[k]) !== undefined));
                if (kinds.length !== 1)
                    problems.push(`shows ${kinds.length ? kinds.join(' and ') : 'nothing'} (exactly one)`);
                if (bool(t.xml.customObject)) {
                    if (!app.objects.get(t.name)?.xml || isCustomSetting(app.objects.get(t.name)))
                        problems.push(`object tab ${t.name} does not name a custom object of force-app`);
                } else if (!str(t.xml.label)) problems.push('no label');
                const flexiPage = str(t.xml.flexiPage);
                if (flexiPage && str(pages.get(flexiPage)?.xml.type) !== 'AppPage')
                    problems.push(`flexiPage ${flexiPage} is not an AppPage of force-app`);
                const lwc = str(t.xml.lwcComponent);
                if (lwc && !bundleTargets(bundles.get(lwc)).includes('lightning__Tab'))
                    problems.push(`lwcComponent ${lwc} is not a bundle with target lightning__Tab`);
                if (!str(t.xml.motif)) problems.push('no motif');
                return problems.map((m) => violation('custom-tab', app, t.file, `${t.name}: ${m}`));
            });
        }
    },
    // ----- CustomApplication -----
    {
        id: 'custom-application',
        types: ['CustomApplication', 'CustomTab'],
        source: SOURCES.customApplication,
        description:
            'An app has a label; a Lightning app (uiType Lightning) has a navType (Standard or Console); formFactors ' +
            'are Small or Large; headerColor is #RRGGBB; its tabs (and defaultLandingTab) exist, each once.',
        check: (app) => {
            const tabs = new Set(components(app, 'CustomTab').map((t) => t.name));
            return components(app, 'CustomApplication').flatMap((a) => {
                const problems: string[] = [];
                if (!str(a.xml.label)) problems.push('no label');
                if (
                    str(a.xml.uiType) === 'Lightning' &&
                    !['Standard', 'Console'].includes(str(a.xml.navType) ?? '')
                )
                    problems.push(`navType ${str(a.xml.navType)} is not Standard or Console`);
                for (const factor of strings(a.xml.formFactors))
                    if (!['Small', 'Large'].includes(factor))
                        problems.push(`formFactor ${factor} is not Small or Large`);
                const color = str((a.xml.brand as Xml | undefined)?.headerColor);
                if (color !== undefined && !/^#[0-9A-Fa-f]{6}$/.test(color))
                    problems.push(`headerColor ${color} is not #RRGGBB`);
                const appTabs = strings(a.xml.tabs);
                const known = (tab: string): boolean => tab.startsWith('standard-') || tabs.has(tab);
                for (const tab of appTabs) if (!known(tab)) problems.push(`tab ${tab} is not in force-app`);
                if (new Set(appTabs).size !== appTabs.length) problems.push('a tab is listed twice');
                const landing = str(a.xml.defaultLandingTab);
                if (landing && !known(landing))
                    problems.push(`defaultLandingTab ${landing} is not in force-app`);
                return problems.map((m) => violation('custom-application', app, a.file, `${a.name}: ${m}`));
            });
        }
    },
    // ----- StaticResource -----
    {
        id: 'static-resource',
        types: ['StaticResource'],
        source: SOURCES.staticResource,
        description:
            'A static resource has cacheControl Public or Private, a contentType (a MIME type) and its content file ' +
            'beside the -meta.xml; a JSON resource parses, a zip resource is a zip archive.',
        check: (app) =>
            components(app, 'StaticResource').flatMap((r) => {
                const problems: string[] = [];
                if (!['Public', 'Private'].includes(str(r.xml.cacheControl) ?? ''))
                    problems.push(`cacheControl ${str(r.xml.cacheControl)} is not Public or Private`);
                const contentType = str(r.xml.contentType) ?? '';
                if (!/^[\w.+-]+\/[\w.+-]+$/.test(contentType))
                    problems.push(`contentType ${contentType || '(none)'} is not a MIME type`);
                const folder = dirname(r.file);
                const content = readdirSync(folder).find(
                    (name) =>
                        name !== basename(r.file) &&
                        (name === r.name || name.startsWith(`${r.name}.`)) &&
                        !name.endsWith('-meta.xml')
                );
                if (!content) problems.push('no content file beside the -meta.xml');
                else {
                    const path = join(folder, content);
                    if (statSync(path).isFile()) {
                        if (contentType === 'application/json') {
                            try {
                                JSON.parse(readFileSync(path, 'utf8'));
                            } catch (error) {
                                problems.push(`content is not JSON: ${(error as Error).message}`);
                            }
                        }
                        if (
                            contentType === 'application/zip' &&
                            readFileSync(path).subarray(0, 2).toString('latin1') !== 'PK'
                        )
                            problems.push('content is not a zip archive');
                    }
                }
                return problems.map((m) => violation('static-resource', app, r.file, `${r.name}: ${m}`));
            })
    },
    // ----- ApexClass and ApexTrigger -----
    {
        id: 'apex-meta',
        types: ['ApexClass', 'ApexTrigger'],
        source: SOURCES.apexClass,
        description:
            'An Apex class or trigger has an apiVersion and a status Active, Inactive or Deleted, and a name of at ' +
            "most 40 characters. Project rule on top: the apiVersion is not above sfdx-project.json's " +
            'sourceApiVersion (an org refuses a version it does not know; the project declares the one it targets).',
        check: (app) =>
            [...components(app, 'ApexClass'), ...components(app, 'ApexTrigger')].flatMap((c) => {
                const problems: string[] = [];
                const version = num(c.xml.apiVersion);
                if (version === undefined || Number.isNaN(version)) problems.push('no apiVersion');
                else if (app.sourceApiVersion !== undefined && version > app.sourceApiVersion)
                    problems.push(`apiVersion ${version} is above sourceApiVersion ${app.sourceApiVersion}`);
                if (!['Active', 'Inactive', 'Deleted'].includes(str(c.xml.status) ?? ''))
                    problems.push(`status ${str(c.xml.status)} is not Active, Inactive or Deleted`);
                if (c.name.length > 40) problems.push('name longer than 40 characters');
                return problems.map((m) => violation('apex-meta', app, c.file, `${c.name}: ${m}`));
            })
    },
    {
        id: 'apex-trigger-object',
        types: ['ApexTrigger', 'CustomObject'],
        source: SOURCES.apexTrigger,
        description:
            'A trigger is on an object that exists (a custom object of force-app, not a custom setting, or a standard object) and names documented events.',
        check: (app) =>
            components(app, 'ApexTrigger').flatMap((t) => {
                const body = readFileSync(t.file.replace(/-meta\.xml$/, ''), 'utf8')
                    .replace(/\/\*[\s\S]*?\*\//g, ' ')
                    .replace(/\/\/.*$/gm, ' ');
                const match = /\btrigger\s+(\w+)\s+on\s+(\w+)\s*\(([^)]*)\)/i.exec(body);
                const problems: string[] = [];
                if (!match) problems.push('no `trigger Name on Object (events)` header');
                else {
                    const [, name, objectName, events] = match;
                    if (name !== t.name) problems.push(`declares ${name}, file is ${t.name}`);
                    const object = app.objects.get(objectName);
                    if (isCustomObjectName(objectName) && !object?.xml)
                        problems.push(`object ${objectName} is not in force-app`);
                    if (isCustomSetting(object))
                        problems.push(`${objectName} is a custom setting: it takes no trigger`);
                    const allowed = /^(before|after)\s+(insert|update|delete|undelete)$/i;
                    for (const event of events.split(',').map((e) => e.trim().replace(/\s+/g, ' ')))
                        if (!allowed.test(event) || /^before undelete$/i.test(event))
                            problems.push(`event "${event}" is not a trigger event`);
                }
                return problems.map((m) => violation('apex-trigger-object', app, t.file, `${t.name}: ${m}`));
            })
    }
];

/** The metadata types force-app holds that no rule reads (and that are not checked by another test). */
export function uncoveredTypes(app: ForceApp): string[] {
    const covered = new Set(RULES.flatMap((rule) => rule.types));
    return [...app.byType.keys()]
        .filter((type) => !covered.has(type) && !TYPES_CHECKED_ELSEWHERE.has(type))
        .sort();
}

export function checkForceApp(root: string): { app: ForceApp; violations: Violation[] } {
    const app = loadForceApp(root);
    return { app, violations: RULES.flatMap((rule) => rule.check(app)) };
}
