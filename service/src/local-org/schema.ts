/**
 * The org's schema: custom objects read from the force-app source metadata (the single source of truth),
 * User from a real org's describe, and the setup objects from field lists taken from the Salesforce docs.
 * Every field is completed to the full REST describe shape.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';

export interface PicklistValue {
    active: boolean;
    defaultValue: boolean;
    label: string;
    validFor: null;
    value: string;
}

export interface FieldDef {
    name: string;
    type: string;
    label: string;
    nillable: boolean;
    length: number;
    precision: number;
    scale: number;
    /**
     * The decimal places a stored value keeps: the describe's scale, or undefined for a double whose
     * describe gives no scale (the value is kept as written, as a real org keeps a double).
     */
    decimals?: number;
    referenceTo: string[];
    relationshipName: string | null;
    picklist: string[];
    restrictedPicklist: boolean;
    unique: boolean;
    externalId: boolean;
    caseSensitive: boolean;
    createable: boolean;
    updateable: boolean;
    filterable: boolean;
    sortable: boolean;
    groupable: boolean;
    defaultValue: unknown;
    autoNumber: boolean;
    cascadeDelete: boolean;
    /** For custom lookups: the parent's name for its children (metadata relationshipName + __r). */
    childRelationshipName?: string;
    /** Required on create: not nillable, createable and not defaulted. */
    required: boolean;
    describe: Record<string, unknown>;
}

export interface ChildRelationship {
    childSObject: string;
    field: string;
    relationshipName: string | null;
    cascadeDelete: boolean;
}

export interface ObjectDef {
    name: string;
    label: string;
    labelPlural: string;
    keyPrefix: string;
    custom: boolean;
    customSetting: boolean;
    createable: boolean;
    updateable: boolean;
    deletable: boolean;
    fields: FieldDef[];
    byLower: Map<string, FieldDef>;
    /** Lower-cased relationship name → the reference field. */
    relationships: Map<string, FieldDef>;
    children: ChildRelationship[];
    nameFormat?: { prefix: string; digits: number; suffix: string; start: number };
}

export interface Schema {
    objects: Map<string, ObjectDef>;
    byLower: Map<string, ObjectDef>;
    byPrefix: Map<string, ObjectDef>;
    globalValueSets: Map<string, string[]>;
}

const SOAP_TYPES: Record<string, string> = {
    id: 'tns:ID',
    reference: 'tns:ID',
    boolean: 'xsd:boolean',
    datetime: 'xsd:dateTime',
    date: 'xsd:date',
    time: 'xsd:time',
    double: 'xsd:double',
    currency: 'xsd:double',
    percent: 'xsd:double',
    int: 'xsd:int',
    address: 'urn:address',
    location: 'urn:location'
};

const STRING_TYPES = new Set([
    'string',
    'picklist',
    'multipicklist',
    'textarea',
    'email',
    'phone',
    'url',
    'combobox',
    'encryptedstring'
]);

export function isStringType(type: string): boolean {
    return STRING_TYPES.has(type);
}

/**
 * Numbers of the User describe that the fixture gives no precision or scale for, as a real org's describe
 * has them: Latitude and Longitude take "up to 15 decimal places" (Object Reference, Address compound fields).
 */
const USER_NUMBERS: Record<string, { precision: number; scale: number }> = {
    Latitude: { precision: 18, scale: 15 },
    Longitude: { precision: 18, scale: 15 }
};

const USER_LENGTHS: Record<string, number> = {
    Username: 80,
    LastName: 80,
    FirstName: 40,
    Name: 121,
    CompanyName: 80,
    Division: 80,
    Department: 80,
    Title: 80,
    Street: 255,
    City: 40,
    State: 80,
    PostalCode: 20,
    Country: 80,
    Email: 128,
    Phone: 40,
    Fax: 40,
    MobilePhone: 40,
    Alias: 8,
    CommunityNickname: 40,
    EmployeeNumber: 20,
    FederationIdentifier: 512,
    AboutMe: 1000,
    Extension: 40
};

/** Fields the platform maintains: never createable or updateable through the API. */
const SYSTEM_FIELDS = new Set([
    'Id',
    'IsDeleted',
    'CreatedDate',
    'CreatedById',
    'LastModifiedDate',
    'LastModifiedById',
    'SystemModstamp',
    'LastViewedDate',
    'LastReferencedDate',
    'LastActivityDate',
    'LastLoginDate',
    'LastPasswordChangeDate',
    'NumberOfFailedLogins',
    'UserType',
    'FullPhotoUrl',
    'SmallPhotoUrl',
    'MediumPhotoUrl',
    'BannerPhotoUrl',
    'SmallBannerPhotoUrl',
    'MediumBannerPhotoUrl',
    'IsProfilePhotoActive',
    'IsExtIndicatorVisible',
    'OfflineTrialExpirationDate',
    'OfflinePdaTrialExpirationDate',
    'Address'
]);

type PartialField = Partial<Omit<FieldDef, 'picklist' | 'describe'>> & {
    name: string;
    type: string;
    label: string;
    picklistValues?:
        Array<{ value: string; label?: string; active?: boolean; defaultValue?: boolean }> | string[];
    custom?: boolean;
    nameField?: boolean;
    extraTypeInfo?: string | null;
    defaultValueFormula?: string | null;
    defaultedOnCreate?: boolean;
    relationshipOrder?: number | null;
    writeRequiresMasterRead?: boolean;
    digits?: number;
    inlineHelpText?: string | null;
    displayFormat?: string;
};

function defaultLength(type: string): number {
    switch (type) {
        case 'id':
        case 'reference':
            return 18;
        case 'email':
            return 80;
        case 'phone':
            return 40;
        case 'picklist':
            return 255;
        case 'multipicklist':
            return 4099;
        case 'string':
        case 'url':
        case 'textarea':
        case 'combobox':
            return 255;
        default:
            return 0;
    }
}

/** A field with every key of a REST field describe, from a partial description. */
export function completeField(p: PartialField, objectName: string): FieldDef {
    const type = p.type;
    const system = SYSTEM_FIELDS.has(p.name) || type === 'id';
    const autoNumber = p.autoNumber ?? false;
    const length =
        p.length ??
        (objectName === 'User' ? (USER_LENGTHS[p.name] ?? defaultLength(type)) : defaultLength(type));
    const picklistValues: PicklistValue[] = (p.picklistValues ?? []).map((v) =>
        typeof v === 'string'
            ? { active: true, defaultValue: false, label: v, validFor: null, value: v }
            : {
                  active: v.active ?? true,
                  defaultValue: v.defaultValue ?? false,
                  label: v.label ?? v.value,
                  validFor: null,
                  value: v.value
              }
    );
    const nillable = p.nillable ?? (type === 'boolean' ? false : true);
    const createable = p.createable ?? (!system && !autoNumber && p.name !== 'Name');
    const updateable = p.updateable ?? createable;
    const longText = type === 'textarea' && length > 255;
    const filterable = p.filterable ?? !longText;
    const sortable = p.sortable ?? !(longText || type === 'multipicklist');
    const groupable =
        p.groupable ?? !(longText || type === 'multipicklist' || type === 'double' || type === 'datetime');
    const defaultedOnCreate =
        p.defaultedOnCreate ??
        (system ||
            autoNumber ||
            type === 'boolean' ||
            p.defaultValueFormula != null ||
            (p.defaultValue !== undefined && p.defaultValue !== null) ||
            p.name === 'OwnerId' ||
            (objectName === 'User' && (p.name === 'CommunityNickname' || p.name === 'IsActive')));
    const known = objectName === 'User' ? USER_NUMBERS[p.name] : undefined;
    const scale = p.scale ?? known?.scale ?? 0;
    const precision = p.precision ?? known?.precision ?? 0;
    // An int has no decimals; a double, currency or percent keeps the scale its describe gives, and a value
    // as written when the describe gives none (rounding it to 0 places would make it an integer).
    const givenScale = p.scale ?? known?.scale;
    const decimals = type === 'int' ? 0 : givenScale;
    const describe: Record<string, unknown> = {
        aggregatable: type !== 'boolean' && !longText && type !== 'multipicklist',
        aiPredictionField: false,
        autoNumber,
        byteLength:
            STRING_TYPES.has(type) || type === 'id' || type === 'reference'
                ? length * (type === 'id' || type === 'reference' ? 1 : 3)
                : 0,
        calculated: false,
        calculatedFormula: null,
        cascadeDelete: false,
        caseSensitive: p.caseSensitive ?? false,
        compoundFieldName: null,
        controllerName: null,
        createable,
        custom: p.custom ?? p.name.endsWith('__c'),
        defaultValue: p.defaultValue ?? (type === 'boolean' ? false : null),
        defaultValueFormula: p.defaultValueFormula ?? null,
        defaultedOnCreate,
        dependentPicklist: false,
        deprecatedAndHidden: false,
        digits: p.digits ?? (type === 'int' ? 9 : 0),
        displayLocationInDecimal: false,
        encrypted: false,
        externalId: p.externalId ?? false,
        extraTypeInfo: p.extraTypeInfo ?? null,
        filterable,
        filteredLookupInfo: null,
        formulaTreatNullNumberAsZero: false,
        groupable,
        highScaleNumber: false,
        htmlFormatted: false,
        idLookup: type === 'id' || (p.externalId ?? false) || p.name === 'Username' || p.name === 'Email',
        inlineHelpText: p.inlineHelpText ?? null,
        label: p.label,
        length: STRING_TYPES.has(type) || type === 'id' || type === 'reference' ? length : 0,
        mask: null,
        maskType: null,
        name: p.name,
        nameField: p.nameField ?? p.name === 'Name',
        namePointing: (p.referenceTo ?? []).length > 1,
        nillable,
        permissionable: nillable && !system && p.name !== 'Name' && (p.custom ?? p.name.endsWith('__c')),
        picklistValues,
        polymorphicForeignKey: (p.referenceTo ?? []).length > 1,
        precision,
        queryByDistance: false,
        referenceTargetField: null,
        referenceTo: p.referenceTo ?? [],
        relationshipName: p.relationshipName ?? null,
        relationshipOrder: p.relationshipOrder ?? null,
        restrictedDelete: false,
        restrictedPicklist: p.restrictedPicklist ?? false,
        scale,
        searchPrefilterable: false,
        soapType: SOAP_TYPES[type] ?? 'xsd:string',
        sortable,
        type,
        unique: p.unique ?? false,
        updateable,
        writeRequiresMasterRead: p.writeRequiresMasterRead ?? false
    };
    return {
        name: p.name,
        type,
        label: p.label,
        nillable,
        length,
        precision,
        scale,
        decimals,
        referenceTo: p.referenceTo ?? [],
        relationshipName: p.relationshipName ?? null,
        picklist: picklistValues.map((v) => v.value),
        restrictedPicklist: p.restrictedPicklist ?? false,
        unique: p.unique ?? false,
        externalId: p.externalId ?? false,
        caseSensitive: p.caseSensitive ?? false,
        createable,
        updateable,
        filterable,
        sortable,
        groupable,
        defaultValue: describe.defaultValue,
        autoNumber,
        cascadeDelete: false,
        required: !nillable && createable && !defaultedOnCreate,
        describe
    };
}

function asArray<T>(value: T | T[] | undefined): T[] {
    if (value === undefined) return [];
    return Array.isArray(value) ? value : [value];
}

const xml = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true });

type XmlNode = Record<string, unknown>;

function str(node: XmlNode, key: string): string | undefined {
    const v = node[key];
    return v === undefined || v === '' ? undefined : String(v);
}

function bool(node: XmlNode, key: string): boolean | undefined {
    const v = str(node, key);
    return v === undefined ? undefined : v === 'true';
}

function readGlobalValueSets(dir: string): Map<string, string[]> {
    const sets = new Map<string, string[]>();
    if (!existsSync(dir)) return sets;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.globalValueSet-meta.xml'))) {
        const doc = xml.parse(readFileSync(join(dir, file), 'utf8')) as { GlobalValueSet: XmlNode };
        const values = asArray(doc.GlobalValueSet.customValue as XmlNode[]).map((v) => String(v.fullName));
        sets.set(file.replace('.globalValueSet-meta.xml', ''), values);
    }
    return sets;
}

function customFieldFromXml(node: XmlNode, objectName: string, valueSets: Map<string, string[]>): FieldDef {
    const name = String(node.fullName);
    const label = str(node, 'label') ?? name;
    const xmlType = String(node.type);
    const required = bool(node, 'required') ?? false;
    const base: PartialField = {
        name,
        label,
        type: 'string',
        custom: true,
        nillable: !required,
        inlineHelpText: str(node, 'inlineHelpText') ?? null,
        externalId: bool(node, 'externalId') ?? false,
        unique: bool(node, 'unique') ?? false,
        caseSensitive: bool(node, 'caseSensitive') ?? false
    };
    const valueSet = node.valueSet as XmlNode | undefined;
    const picklistValues = (): PartialField['picklistValues'] => {
        if (!valueSet) return [];
        const setName = str(valueSet, 'valueSetName');
        if (setName) return valueSets.get(setName) ?? [];
        const definition = valueSet.valueSetDefinition as XmlNode | undefined;
        return asArray(definition?.value as XmlNode[] | undefined).map((v) => ({
            value: String(v.fullName),
            label: str(v, 'label') ?? String(v.fullName),
            defaultValue: bool(v, 'default') ?? false
        }));
    };
    const defaultValue = str(node, 'defaultValue');
    switch (xmlType) {
        case 'Text':
            return completeField({ ...base, type: 'string', length: Number(node.length ?? 255) }, objectName);
        case 'TextArea':
            return completeField({ ...base, type: 'textarea', length: 255 }, objectName);
        case 'LongTextArea':
            return completeField(
                {
                    ...base,
                    type: 'textarea',
                    length: Number(node.length ?? 32768),
                    extraTypeInfo: 'plaintextarea'
                },
                objectName
            );
        case 'Email':
            return completeField({ ...base, type: 'email', length: 80 }, objectName);
        case 'Phone':
            return completeField({ ...base, type: 'phone', length: 40 }, objectName);
        case 'Url':
            return completeField({ ...base, type: 'url', length: 255 }, objectName);
        case 'Checkbox':
            return completeField(
                { ...base, type: 'boolean', nillable: false, defaultValue: defaultValue === 'true' },
                objectName
            );
        case 'Number':
        case 'Currency':
        case 'Percent': {
            const precision = Number(node.precision ?? 18);
            const scale = Number(node.scale ?? 0);
            return completeField(
                {
                    ...base,
                    type: xmlType === 'Number' ? 'double' : xmlType.toLowerCase(),
                    precision,
                    scale,
                    defaultValueFormula: defaultValue ?? null
                },
                objectName
            );
        }
        case 'Date':
            return completeField({ ...base, type: 'date' }, objectName);
        case 'DateTime':
            return completeField({ ...base, type: 'datetime' }, objectName);
        case 'Picklist':
            return completeField(
                {
                    ...base,
                    type: 'picklist',
                    picklistValues: picklistValues(),
                    restrictedPicklist: bool(valueSet ?? {}, 'restricted') ?? false
                },
                objectName
            );
        case 'MultiselectPicklist':
            return completeField(
                {
                    ...base,
                    type: 'multipicklist',
                    picklistValues: picklistValues(),
                    restrictedPicklist: bool(valueSet ?? {}, 'restricted') ?? false
                },
                objectName
            );
        case 'Lookup':
        case 'MasterDetail': {
            const master = xmlType === 'MasterDetail';
            const field = completeField(
                {
                    ...base,
                    type: 'reference',
                    nillable: master ? false : !required,
                    referenceTo: [String(node.referenceTo)],
                    relationshipName: name.replace(/__c$/, '__r'),
                    relationshipOrder: master ? Number(node.relationshipOrder ?? 0) : null,
                    updateable: master ? (bool(node, 'reparentableMasterDetail') ?? false) : true,
                    writeRequiresMasterRead: master ? (bool(node, 'writeRequiresMasterRead') ?? false) : false
                },
                objectName
            );
            field.cascadeDelete = master;
            field.childRelationshipName = `${String(node.relationshipName)}__r`;
            return field;
        }
        default:
            throw new Error(`${objectName}.${name}: field type ${xmlType} is not supported by the local org`);
    }
}

function systemFields(
    objectName: string,
    kind: 'object' | 'detail' | 'setting',
    nameField: PartialField
): FieldDef[] {
    const fields: PartialField[] = [
        { name: 'Id', label: 'Record ID', type: 'id', nillable: false, custom: false }
    ];
    if (kind === 'object') {
        fields.push({
            name: 'OwnerId',
            label: 'Owner ID',
            type: 'reference',
            nillable: false,
            referenceTo: ['Group', 'User'],
            relationshipName: 'Owner',
            createable: true,
            updateable: true,
            custom: false
        });
    }
    if (kind === 'setting') {
        fields.push({
            name: 'SetupOwnerId',
            label: 'Location',
            type: 'reference',
            nillable: false,
            referenceTo: ['Organization', 'Profile', 'User'],
            relationshipName: 'SetupOwner',
            createable: true,
            updateable: true,
            custom: false
        });
    }
    fields.push({ name: 'IsDeleted', label: 'Deleted', type: 'boolean', nillable: false, custom: false });
    fields.push(nameField);
    fields.push(
        { name: 'CreatedDate', label: 'Created Date', type: 'datetime', nillable: false, custom: false },
        {
            name: 'CreatedById',
            label: 'Created By ID',
            type: 'reference',
            nillable: false,
            referenceTo: ['User'],
            relationshipName: 'CreatedBy',
            custom: false
        },
        {
            name: 'LastModifiedDate',
            label: 'Last Modified Date',
            type: 'datetime',
            nillable: false,
            custom: false
        },
        {
            name: 'LastModifiedById',
            label: 'Last Modified By ID',
            type: 'reference',
            nillable: false,
            referenceTo: ['User'],
            relationshipName: 'LastModifiedBy',
            custom: false
        },
        { name: 'SystemModstamp', label: 'System Modstamp', type: 'datetime', nillable: false, custom: false }
    );
    if (kind === 'object') {
        fields.push(
            { name: 'LastViewedDate', label: 'Last Viewed Date', type: 'datetime', custom: false },
            { name: 'LastReferencedDate', label: 'Last Referenced Date', type: 'datetime', custom: false }
        );
    }
    return fields.map((f) => completeField(f, objectName));
}

function makeObject(
    partial: Omit<ObjectDef, 'byLower' | 'relationships' | 'children'> & { fields: FieldDef[] }
): ObjectDef {
    const byLower = new Map(partial.fields.map((f) => [f.name.toLowerCase(), f]));
    const relationships = new Map<string, FieldDef>();
    for (const f of partial.fields) {
        if (f.relationshipName) relationships.set(f.relationshipName.toLowerCase(), f);
    }
    return { ...partial, byLower, relationships, children: [] };
}

/**
 * Key prefixes are numbered in this order, then the other objects alphabetically, so that adding an
 * object never changes the ids of the existing ones (persisted data folders and golden files hold them).
 */
const PREFIX_ORDER = [
    'Calendar_Authorization__c',
    'Condition_Set__c',
    'Provisioning_Run_Item__c',
    'Provisioning_Run__c',
    'Rollcall_Lease__c',
    'Rollcall_Settings__c'
];

function prefixRank(name: string, sorted: string[]): number {
    const fixed = PREFIX_ORDER.indexOf(name);
    return fixed >= 0
        ? fixed
        : PREFIX_ORDER.length + sorted.filter((n) => !PREFIX_ORDER.includes(n)).indexOf(name);
}

function readCustomObjects(objectsDir: string, valueSets: Map<string, string[]>): ObjectDef[] {
    const names = readdirSync(objectsDir)
        .filter((d) => existsSync(join(objectsDir, d, `${d}.object-meta.xml`)))
        .sort();
    return names.map((name) => {
        const index = prefixRank(name, names);
        const doc = xml.parse(readFileSync(join(objectsDir, name, `${name}.object-meta.xml`), 'utf8')) as {
            CustomObject: XmlNode;
        };
        const obj = doc.CustomObject;
        const fieldsDir = join(objectsDir, name, 'fields');
        const custom = existsSync(fieldsDir)
            ? readdirSync(fieldsDir)
                  .filter((f) => f.endsWith('.field-meta.xml'))
                  .sort()
                  .map((f) => {
                      const fieldDoc = xml.parse(readFileSync(join(fieldsDir, f), 'utf8')) as {
                          CustomField: XmlNode;
                      };
                      return customFieldFromXml(fieldDoc.CustomField, name, valueSets);
                  })
            : [];
        const customSetting = obj.customSettingsType !== undefined;
        const detail = custom.some((f) => f.cascadeDelete);
        const nameNode = (obj.nameField ?? {}) as XmlNode;
        const autoNumber = str(nameNode, 'type') === 'AutoNumber';
        const nameLabel = str(nameNode, 'label') ?? (customSetting ? 'Name' : `${String(obj.label)} Name`);
        const nameField: PartialField = autoNumber
            ? {
                  name: 'Name',
                  label: nameLabel,
                  type: 'string',
                  length: 30,
                  nillable: false,
                  autoNumber: true,
                  nameField: true,
                  custom: false
              }
            : {
                  name: 'Name',
                  label: nameLabel,
                  type: 'string',
                  length: customSetting ? 38 : 80,
                  nillable: customSetting,
                  createable: true,
                  updateable: true,
                  defaultedOnCreate: true,
                  nameField: true,
                  custom: false
              };
        let nameFormat: ObjectDef['nameFormat'];
        const displayFormat = str(nameNode, 'displayFormat');
        if (autoNumber && displayFormat) {
            const m = /^(.*)\{(0+)\}(.*)$/.exec(displayFormat);
            if (m) {
                nameFormat = {
                    prefix: m[1],
                    digits: m[2].length,
                    suffix: m[3],
                    start: Number(str(nameNode, 'startingNumber') ?? 1)
                };
            }
        }
        const fields = [
            ...systemFields(name, customSetting ? 'setting' : detail ? 'detail' : 'object', nameField),
            ...custom
        ];
        return makeObject({
            name,
            label: String(obj.label),
            labelPlural: String(obj.pluralLabel ?? obj.label),
            keyPrefix: `a0${String.fromCharCode(65 + index)}`,
            custom: true,
            customSetting,
            createable: true,
            updateable: true,
            deletable: true,
            fields,
            nameFormat
        });
    });
}

interface DescribeFile {
    name: string;
    label: string;
    labelPlural?: string;
    keyPrefix?: string;
    fields: Array<PartialField & { picklistValues?: unknown }>;
}

const STANDARD_PREFIXES: Record<string, string> = {
    User: '005',
    Profile: '00e',
    UserRole: '00E',
    Organization: '00D',
    PermissionSet: '0PS',
    PermissionSetAssignment: '0Pa',
    CustomPermission: '0CP',
    SetupEntityAccess: '0J0'
};

function readStandardObjects(schemaDir: string): ObjectDef[] {
    const files = readdirSync(schemaDir).filter((f) => f.endsWith('.describe.json'));
    const docs = files.map((f) => JSON.parse(readFileSync(join(schemaDir, f), 'utf8')) as DescribeFile);
    const user = docs.find((d) => d.name === 'User');
    const timeZones = user?.fields.find((f) => f.name === 'TimeZoneSidKey')?.picklistValues;
    return docs.map((doc) => {
        const fields = doc.fields.map((f) => {
            const raw: unknown = f.picklistValues;
            const picklistValues = raw === '@User.TimeZoneSidKey' ? timeZones : raw;
            return completeField(
                { ...f, picklistValues: picklistValues as PartialField['picklistValues'] },
                doc.name
            );
        });
        const writable =
            doc.name === 'User' || doc.name === 'PermissionSetAssignment' || doc.name === 'SetupEntityAccess';
        return makeObject({
            name: doc.name,
            label: doc.label,
            labelPlural: doc.labelPlural ?? `${doc.label}s`,
            keyPrefix: doc.keyPrefix ?? STANDARD_PREFIXES[doc.name] ?? '000',
            custom: false,
            customSetting: false,
            createable: writable,
            // Users, and the names of profiles and roles, are edited through the API as in an org.
            updateable: doc.name === 'User' || doc.name === 'Profile' || doc.name === 'UserRole',
            deletable: doc.name === 'PermissionSetAssignment' || doc.name === 'SetupEntityAccess',
            fields
        });
    });
}

export function loadSchema(forceAppDir: string, schemaDir: string): Schema {
    const globalValueSets = readGlobalValueSets(join(forceAppDir, 'globalValueSets'));
    const all = [
        ...readStandardObjects(schemaDir),
        ...readCustomObjects(join(forceAppDir, 'objects'), globalValueSets)
    ];
    const objects = new Map(all.map((o) => [o.name, o]));
    for (const obj of all) {
        for (const f of obj.fields) {
            if (f.type !== 'reference') continue;
            for (const target of f.referenceTo) {
                objects.get(target)?.children.push({
                    childSObject: obj.name,
                    field: f.name,
                    relationshipName: f.childRelationshipName ?? null,
                    cascadeDelete: f.cascadeDelete
                });
            }
        }
    }
    return {
        objects,
        byLower: new Map(all.map((o) => [o.name.toLowerCase(), o])),
        byPrefix: new Map(all.map((o) => [o.keyPrefix, o])),
        globalValueSets
    };
}
