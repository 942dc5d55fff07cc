/**
 * The demo org: a deterministic, realistic org generated from a seed — profiles, a role hierarchy,
 * users with departments, titles, regions, managers and hire dates, the Rollcall permission sets,
 * example condition sets, authorizations and the org-default settings.
 */
import type { Row, Store, WriteContext } from './store';
import { makeId } from './ids';
import { formatDateTime } from './time';

const DAY_MS = 86_400_000;

export const ORG_TIME_ZONE = 'America/Los_Angeles';
export const PRODUCTS = ['Round Robin', 'Instant Booker', 'Meeting Links'];

export interface DemoIds {
    orgId: string;
    integrationUserId: string;
    adminUserIds: string[];
    integrationUsername: string;
}

/** mulberry32: small, fast and good enough for demo data. */
function rng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

const FIRST = [
    'Ava',
    'Liam',
    'Noah',
    'Emma',
    'Olivia',
    'Mia',
    'Lucas',
    'Sofia',
    'Hugo',
    'Chloé',
    'Mateo',
    'Yuki',
    'Aarav',
    'Priya',
    'Chen',
    'Wei',
    'Fatima',
    'Omar',
    'Zoe',
    'Ethan',
    'Isla',
    'Jonas',
    'Lena',
    'Marco',
    'Giulia',
    'Sven',
    'Ingrid',
    'Kenji',
    'Hana',
    'Diego',
    'Camila',
    'Tom',
    'Seán',
    'Aoife',
    'Ravi',
    'Ananya',
    'Jack',
    'Grace',
    'Leo',
    'Nora'
];
const LAST = [
    'Smith',
    'Johnson',
    'Müller',
    'Schmidt',
    'Dubois',
    'Martin',
    'Rossi',
    'Garcia',
    'López',
    'Silva',
    'Tanaka',
    'Suzuki',
    'Kim',
    'Lee',
    'Wang',
    'Zhang',
    'Patel',
    'Sharma',
    'Nguyen',
    'Brown',
    'Wilson',
    'Taylor',
    "O'Brien",
    'Murphy',
    'Andersson',
    'Nielsen',
    'Kowalski',
    'Novak',
    'Cohen',
    'Haddad',
    'Okafor',
    'Mensah',
    'Costa',
    'Fernández',
    'Jansen',
    'de Vries',
    'Walsh',
    'Kelly',
    'Singh',
    'Ito'
];

const REGIONS = {
    EMEA: [
        ['United Kingdom', 'London', 'Europe/London'],
        ['Germany', 'Berlin', 'Europe/Berlin'],
        ['France', 'Paris', 'Europe/Paris'],
        ['Netherlands', 'Amsterdam', 'Europe/Amsterdam'],
        ['Spain', 'Madrid', 'Europe/Madrid'],
        ['Ireland', 'Dublin', 'Europe/Dublin']
    ],
    AMER: [
        ['United States', 'New York', 'America/New_York'],
        ['United States', 'Chicago', 'America/Chicago'],
        ['United States', 'San Francisco', 'America/Los_Angeles'],
        ['United States', 'Denver', 'America/Denver'],
        ['Canada', 'Toronto', 'America/Toronto'],
        ['Brazil', 'São Paulo', 'America/Sao_Paulo']
    ],
    APAC: [
        ['Australia', 'Sydney', 'Australia/Sydney'],
        ['Japan', 'Tokyo', 'Asia/Tokyo'],
        ['Singapore', 'Singapore', 'Asia/Singapore'],
        ['India', 'Bengaluru', 'Asia/Kolkata']
    ]
} as const;
type Region = keyof typeof REGIONS;
const REGION_NAMES: Region[] = ['EMEA', 'AMER', 'APAC'];

const PROFILES = [
    ['System Administrator', 'Standard'],
    ['Standard User', 'Standard'],
    ['Sales User', 'Standard'],
    ['Sales Manager', 'Standard'],
    ['Minimum Access - Salesforce', 'Standard'],
    ['Chatter Free User', 'CsnOnly'],
    ['Customer Community User', 'CspLitePortal'],
    ['Partner Community User', 'PowerPartner']
] as const;

interface Archetype {
    department: string;
    titles: Array<[string, number, boolean]>; // title, weight, is a manager title
    weight: number;
    sales: boolean;
}

const ARCHETYPES: Archetype[] = [
    {
        department: 'Sales',
        weight: 45,
        sales: true,
        titles: [
            ['Account Executive', 36, false],
            ['Senior Account Executive', 12, false],
            ['Sales Development Representative', 30, false],
            ['Sales Manager', 9, true],
            ['Solutions Engineer', 8, false],
            ['Regional Sales Director', 2, true]
        ]
    },
    {
        department: 'Customer Success',
        weight: 12,
        sales: false,
        titles: [
            ['Customer Success Manager', 80, false],
            ['Head of Customer Success', 8, true]
        ]
    },
    {
        department: 'Engineering',
        weight: 18,
        sales: false,
        titles: [
            ['Software Engineer', 60, false],
            ['Senior Software Engineer', 25, false],
            ['Engineering Manager', 10, true]
        ]
    },
    {
        department: 'Marketing',
        weight: 8,
        sales: false,
        titles: [
            ['Marketing Manager', 70, false],
            ['Director of Marketing', 8, true]
        ]
    },
    {
        department: 'Support',
        weight: 10,
        sales: false,
        titles: [
            ['Support Engineer', 80, false],
            ['Support Manager', 8, true]
        ]
    },
    {
        department: 'Finance',
        weight: 7,
        sales: false,
        titles: [
            ['Financial Analyst', 70, false],
            ['Controller', 8, true]
        ]
    }
];

const handles = new Map<string, string>();
function handleOf(first: string, last: string): string {
    const key = `${first}.${last}`;
    let handle = handles.get(key);
    if (handle === undefined) {
        handle = key
            .normalize('NFD')
            .replace(/[\u0300-\u036f]/g, '')
            .replace(/[^A-Za-z.]/g, '')
            .toLowerCase();
        handles.set(key, handle);
    }
    return handle;
}

function pick<T>(random: () => number, list: readonly T[]): T {
    return list[Math.floor(random() * list.length)];
}

function weighted<T>(random: () => number, list: Array<[T, number]>): T {
    const total = list.reduce((s, [, w]) => s + w, 0);
    let r = random() * total;
    for (const [v, w] of list) {
        r -= w;
        if (r < 0) return v;
    }
    return list[list.length - 1][0];
}

function simpleRow(store: Store, objectName: string, n: number, fields: Row, stamp: string): Row {
    const def = store.schema.objects.get(objectName)!;
    const row: Row = { Id: makeId(def.keyPrefix, n), ...fields };
    if (def.byLower.has('createddate')) row.CreatedDate = stamp;
    if (def.byLower.has('lastmodifieddate')) row.LastModifiedDate = stamp;
    row.SystemModstamp = stamp;
    store.table(objectName).replace(String(row.Id), undefined, row);
    store.counters[def.keyPrefix] = Math.max(store.counters[def.keyPrefix] ?? 0, n);
    return row;
}

/** The setup data and users: everything derived from (seed, users, seededAt) only. */
export function generateUsers(
    store: Store,
    opts: { seed: number; users: number; seededAt: number }
): DemoIds {
    const random = rng(opts.seed);
    const anchor = opts.seededAt;
    const orgCreated = formatDateTime(anchor - 8 * 365 * DAY_MS);
    const orgId = makeId('00D', 1);
    const integrationUserId = makeId('005', 1);
    const setupStamp = orgCreated;
    const sys = { CreatedById: integrationUserId, LastModifiedById: integrationUserId };

    simpleRow(
        store,
        'Organization',
        1,
        {
            Name: 'Rollcall Demo Org',
            Division: null,
            City: 'San Francisco',
            State: 'CA',
            Country: 'United States',
            PrimaryContact: 'Rollcall Admin',
            DefaultLocaleSidKey: 'en_US',
            TimeZoneSidKey: ORG_TIME_ZONE,
            LanguageLocaleKey: 'en_US',
            FiscalYearStartMonth: 1,
            UsesStartDateAsFiscalYearName: false,
            DefaultCurrencyIsoCode: 'USD',
            OrganizationType: 'Developer Edition',
            InstanceName: 'LOCAL',
            IsSandbox: false,
            IsReadOnly: false,
            ...sys
        },
        setupStamp
    );

    const profileIds = new Map<string, string>();
    PROFILES.forEach(([name, userType], i) => {
        const row = simpleRow(
            store,
            'Profile',
            i + 1,
            {
                Name: name,
                UserType: userType,
                PermissionsApiEnabled:
                    name === 'System Administrator' || name === 'Minimum Access - Salesforce',
                PermissionsModifyAllData: name === 'System Administrator',
                PermissionsViewAllData: name === 'System Administrator',
                UserLicenseId: null,
                Description: null,
                ...sys
            },
            setupStamp
        );
        profileIds.set(name, String(row.Id));
    });

    const roleIds = new Map<string, string>();
    let roleN = 0;
    const role = (name: string, parent: string | null): string => {
        const row = simpleRow(
            store,
            'UserRole',
            ++roleN,
            {
                Name: name,
                DeveloperName: name.replace(/[^A-Za-z0-9]+/g, '_'),
                ParentRoleId: parent ? roleIds.get(parent) : null,
                RollupDescription: name,
                OpportunityAccessForAccountOwner: 'Edit',
                CaseAccessForAccountOwner: 'Edit',
                ContactAccessForAccountOwner: 'Edit',
                MayForecastManagerShare: false,
                PortalType: 'None',
                LastModifiedById: integrationUserId
            },
            setupStamp
        );
        roleIds.set(name, String(row.Id));
        return String(row.Id);
    };
    role('CEO', null);
    role('VP Sales', 'CEO');
    for (const r of REGION_NAMES) {
        role(`${r} Sales Manager`, 'VP Sales');
        role(`${r} Sales Rep`, `${r} Sales Manager`);
        role(`${r} SDR`, `${r} Sales Manager`);
    }
    role('Solutions Engineering', 'VP Sales');
    role('VP Customer Success', 'CEO');
    role('Customer Success', 'VP Customer Success');
    role('Support', 'VP Customer Success');
    role('VP Engineering', 'CEO');
    role('Engineering', 'VP Engineering');
    role('Marketing', 'CEO');
    role('Finance', 'CEO');
    role('IT', 'CEO');

    const table = store.table('User');
    const users: Row[] = [];
    const addUser = (fields: Row, created: number): Row => {
        const n = users.length + 1;
        const id = makeId('005', n);
        const first = String(fields.FirstName);
        const last = String(fields.LastName);
        const handle = handleOf(first, last);
        const stamp = formatDateTime(created);
        const row: Row = {
            Id: id,
            Username: `${handle}.${n}@demo.rollcall.dev`,
            Name: `${first} ${last}`,
            CompanyName: 'Rollcall Demo',
            Email: `${handle}.${n}@example.com`,
            Alias: `${first[0]}${last.replace(/[^A-Za-z]/g, '')}`.slice(0, 8).toLowerCase(),
            CommunityNickname: `${handle}${n}`.slice(0, 40),
            EmployeeNumber: `E${String(n).padStart(6, '0')}`,
            LocaleSidKey: 'en_US',
            LanguageLocaleKey: 'en_US',
            EmailEncodingKey: 'UTF-8',
            ReceivesInfoEmails: false,
            ReceivesAdminInfoEmails: false,
            CreatedDate: stamp,
            CreatedById: integrationUserId,
            LastModifiedDate: stamp,
            LastModifiedById: integrationUserId,
            SystemModstamp: stamp,
            ...fields
        };
        if (row.IsActive) {
            row.LastLoginDate = formatDateTime(anchor - Math.floor(random() * 30 * DAY_MS));
        }
        table.replace(id, undefined, row);
        store.generatedUsers.add(id);
        users.push(row);
        return row;
    };

    const hq = REGIONS.AMER[2];
    const staff = (
        first: string,
        last: string,
        title: string,
        department: string,
        roleName: string,
        profile: string,
        ageDays: number
    ): Row =>
        addUser(
            {
                FirstName: first,
                LastName: last,
                Title: title,
                Department: department,
                Division: 'Corporate',
                Country: hq[0],
                City: hq[1],
                TimeZoneSidKey: hq[2],
                UserRoleId: roleIds.get(roleName),
                ProfileId: profileIds.get(profile),
                UserType: 'Standard',
                IsActive: true,
                ManagerId: null
            },
            anchor - ageDays * DAY_MS
        );

    const integration = staff(
        'Rollcall',
        'Integration',
        'Integration User',
        'IT',
        'IT',
        'Minimum Access - Salesforce',
        400
    );
    integration.Username = 'rollcall.integration@demo.rollcall.dev';
    integration.Email = 'rollcall.integration@example.com';
    const admins = [
        staff('Alex', 'Admin', 'Salesforce Administrator', 'IT', 'IT', 'System Administrator', 2900),
        staff(
            'Sam',
            'Ops',
            'Revenue Operations Manager',
            'Sales Operations',
            'VP Sales',
            'System Administrator',
            1500
        ),
        staff('Jordan', 'Rivera', 'Salesforce Administrator', 'IT', 'IT', 'System Administrator', 700)
    ];
    const ceo = staff('Morgan', 'Lee', 'Chief Executive Officer', 'Executive', 'CEO', 'Standard User', 2920);
    const vp = new Map<string, Row>([
        ['Sales', staff('Riley', 'Chen', 'VP Sales', 'Sales', 'VP Sales', 'Sales Manager', 2500)],
        [
            'Customer Success',
            staff(
                'Casey',
                'Novak',
                'VP Customer Success',
                'Customer Success',
                'VP Customer Success',
                'Standard User',
                2200
            )
        ],
        [
            'Engineering',
            staff('Taylor', 'Ito', 'VP Engineering', 'Engineering', 'VP Engineering', 'Standard User', 2600)
        ],
        [
            'Marketing',
            staff('Jamie', 'Walsh', 'VP Marketing', 'Marketing', 'Marketing', 'Standard User', 1900)
        ],
        ['Support', staff('Drew', 'Okafor', 'VP Support', 'Support', 'Support', 'Standard User', 2100)],
        ['Finance', staff('Robin', 'Jansen', 'CFO', 'Finance', 'Finance', 'Standard User', 2400)]
    ]);
    for (const v of vp.values()) v.ManagerId = ceo.Id;
    for (const a of admins) a.ManagerId = ceo.Id;
    integration.ManagerId = admins[0].Id;

    // The rest of the org, grouped (department, region) so managers manage their own team.
    const teams = new Map<string, { managers: Row[]; members: Row[] }>();
    const remaining = Math.max(0, opts.users - users.length);
    const archetypeWeights = ARCHETYPES.map((a) => [a, a.weight] as [Archetype, number]);
    const regionWeights: Array<[Region, number]> = [
        ['AMER', 50],
        ['EMEA', 32],
        ['APAC', 18]
    ];
    const titleWeights = new Map(
        ARCHETYPES.map((a) => [a, a.titles.map((t) => [t, t[1]] as [[string, number, boolean], number])])
    );
    for (let i = 0; i < remaining; i++) {
        const arch = weighted(random, archetypeWeights);
        const region = weighted(random, regionWeights);
        const [country, city, tz] = pick<readonly [string, string, string]>(random, REGIONS[region]);
        const [title, , isManagerTitle] = weighted(random, titleWeights.get(arch)!);
        const kind = random();
        let userType = 'Standard';
        let profile = arch.sales ? (isManagerTitle ? 'Sales Manager' : 'Sales User') : 'Standard User';
        let roleName: string | null;
        if (arch.sales) {
            roleName =
                title === 'Sales Development Representative'
                    ? `${region} SDR`
                    : title === 'Solutions Engineer'
                      ? 'Solutions Engineering'
                      : isManagerTitle
                        ? `${region} Sales Manager`
                        : `${region} Sales Rep`;
        } else {
            roleName = arch.department === 'Customer Success' ? 'Customer Success' : arch.department;
        }
        if (!isManagerTitle && kind < 0.03) {
            userType = 'CsnOnly';
            profile = 'Chatter Free User';
            roleName = null;
        } else if (!isManagerTitle && kind < 0.055) {
            userType = 'CspLitePortal';
            profile = 'Customer Community User';
            roleName = null;
        } else if (!isManagerTitle && kind < 0.065) {
            userType = 'PowerPartner';
            profile = 'Partner Community User';
            roleName = null;
        }
        // Hire dates: spread over six years, with a wave of recent hires (more of them SDRs).
        const recent = random() < (title === 'Sales Development Representative' ? 0.2 : 0.05);
        const ageDays = recent ? Math.floor(random() * 90) : 90 + Math.floor(random() * (6 * 365 - 90));
        const created = anchor - ageDays * DAY_MS - Math.floor(random() * DAY_MS);
        const active = random() >= 0.08;
        const row = addUser(
            {
                FirstName: pick(random, FIRST),
                LastName: pick(random, LAST),
                Title: title,
                Department: userType === 'Standard' ? arch.department : null,
                Division: arch.sales ? pick(random, ['Enterprise', 'Mid-Market', 'Commercial']) : 'Corporate',
                Country: country,
                City: city,
                TimeZoneSidKey: tz,
                Phone: `+1 555 ${String(1000 + Math.floor(random() * 9000))}`,
                UserRoleId: roleName ? roleIds.get(roleName) : null,
                ProfileId: profileIds.get(profile),
                UserType: userType,
                IsActive: active,
                ManagerId: null
            },
            created
        );
        if (userType !== 'Standard') continue;
        const key = `${arch.department}|${region}`;
        let team = teams.get(key);
        if (!team) teams.set(key, (team = { managers: [], members: [] }));
        (isManagerTitle ? team.managers : team.members).push(row);
    }
    for (const [key, team] of teams) {
        const department = key.split('|')[0];
        const head = vp.get(department) ?? ceo;
        const activeManagers = team.managers.filter((m) => m.IsActive);
        for (const m of team.managers) m.ManagerId = head.Id;
        for (const member of team.members) {
            member.ManagerId = activeManagers.length > 0 ? pick(random, activeManagers).Id : head.Id;
        }
    }
    store.counters['005'] = users.length;
    return {
        orgId,
        integrationUserId: String(integration.Id),
        adminUserIds: admins.map((a) => String(a.Id)),
        integrationUsername: String(integration.Username)
    };
}

/** Everything else of the demo org, written through the store like API writes. */
export function seedRecords(store: Store, ids: DemoIds, opts: { seed: number; seededAt: number }): void {
    const random = rng(opts.seed ^ 0x5eed);
    const anchor = opts.seededAt;
    const setupStamp = formatDateTime(anchor - 400 * DAY_MS);
    const sys = { CreatedById: ids.adminUserIds[0], LastModifiedById: ids.adminUserIds[0] };
    const admin = simpleRow(
        store,
        'PermissionSet',
        1,
        {
            Name: 'Rollcall_Admin',
            Label: 'Rollcall Admin',
            Description: 'Manage condition sets, preview and run provisioning syncs, change the schedule.',
            IsOwnedByProfile: false,
            IsCustom: true,
            Type: 'Regular',
            PermissionsApiEnabled: false,
            PermissionsModifyAllData: false,
            PermissionsViewAllData: false,
            ...sys
        },
        setupStamp
    );
    const integration = simpleRow(
        store,
        'PermissionSet',
        2,
        {
            Name: 'Rollcall_Integration',
            Label: 'Rollcall Integration',
            Description: 'Least privilege for the provisioning service integration user.',
            IsOwnedByProfile: false,
            IsCustom: true,
            Type: 'Regular',
            PermissionsApiEnabled: true,
            PermissionsModifyAllData: false,
            PermissionsViewAllData: false,
            ...sys
        },
        setupStamp
    );
    const permission = simpleRow(
        store,
        'CustomPermission',
        1,
        {
            DeveloperName: 'Rollcall_Admin',
            MasterLabel: 'Rollcall Admin',
            Language: 'en_US',
            IsProtected: false,
            IsLicensed: false,
            Description:
                'May manage condition sets, preview and run provisioning syncs and change the schedule.',
            ...sys
        },
        setupStamp
    );
    simpleRow(
        store,
        'SetupEntityAccess',
        1,
        { ParentId: admin.Id, SetupEntityId: permission.Id, SetupEntityType: 'CustomPermission' },
        setupStamp
    );
    let psa = 0;
    const assign = (userId: string, setId: unknown): void => {
        simpleRow(
            store,
            'PermissionSetAssignment',
            ++psa,
            { AssigneeId: userId, PermissionSetId: setId, IsActive: true },
            setupStamp
        );
    };
    for (const id of ids.adminUserIds) assign(id, admin.Id);
    assign(ids.integrationUserId, integration.Id);

    const ctx = (days: number): WriteContext => ({
        userId: ids.adminUserIds[0],
        now: anchor - days * DAY_MS
    });
    const insert = (objectName: string, fields: Row, days: number): Row =>
        store.insert(store.schema.objects.get(objectName)!, fields, ctx(days), ids.orgId);

    insert(
        'Rollcall_Settings__c',
        {
            Name: 'Rollcall Settings',
            SetupOwnerId: ids.orgId,
            Schedule_Enabled__c: false,
            Schedule_Frequency__c: 'Daily',
            Schedule_Time__c: '07:00',
            Notify_Admins__c: true,
            Recipients__c: null,
            Slack_Channel__c: '#rollcall'
        },
        120
    );

    const sets: Array<[string, string, string, string, boolean, object]> = [
        [
            'New AEs in EMEA',
            'Account Executives in EMEA hired in the last 180 days.',
            'Round Robin;Instant Booker',
            'Not Invited;Expired',
            true,
            {
                version: 1,
                conditions: [
                    { field: 'Title', operator: 'equals', value: 'Account Executive' },
                    { field: 'UserRole.Name', operator: 'startsWith', value: 'EMEA' },
                    { field: 'CreatedDate', operator: 'withinLastDays', value: 180 },
                    { field: 'IsActive', operator: 'equals', value: true }
                ],
                logic: '1 AND 2 AND 3 AND 4'
            }
        ],
        [
            'Sales managers',
            'Every active sales manager with a team.',
            'Round Robin;Meeting Links',
            'Not Invited;Expired;Revoked',
            true,
            {
                version: 1,
                conditions: [
                    { field: 'IsManager', operator: 'equals', value: true },
                    { field: 'Department', operator: 'equals', value: 'Sales' }
                ],
                logic: '1 AND 2'
            }
        ],
        [
            'SDRs created in the last 90 days',
            'New SDRs in every region.',
            'Instant Booker',
            'Not Invited',
            true,
            {
                version: 1,
                conditions: [
                    { field: 'Title', operator: 'equals', value: 'Sales Development Representative' },
                    { field: 'CreatedDate', operator: 'withinLastDays', value: 90 },
                    { field: 'IsActive', operator: 'equals', value: true }
                ]
            }
        ],
        [
            'Customer Success (draft)',
            'Not active yet: CSMs outside APAC.',
            'Meeting Links',
            'Not Invited;Expired',
            false,
            {
                version: 1,
                conditions: [
                    { field: 'Department', operator: 'equals', value: 'Customer Success' },
                    { field: 'UserRole.Name', operator: 'notEquals', value: 'APAC Sales Rep' },
                    {
                        field: 'Country',
                        operator: 'notIn',
                        value: ['Japan', 'Australia', 'Singapore', 'India']
                    }
                ],
                logic: '1 AND (2 OR 3)'
            }
        ]
    ];
    const setIds = new Map<string, string>();
    sets.forEach(([name, description, products, statuses, active, definition], i) => {
        const row = insert(
            'Condition_Set__c',
            {
                Name: name,
                Description__c: description,
                Products__c: products,
                Eligible_Statuses__c: statuses,
                Active__c: active,
                Definition__c: JSON.stringify(definition)
            },
            90 - i * 10
        );
        setIds.set(name, String(row.Id));
    });

    // Some sales users were invited already; some of them authorized.
    const salesUsers = [...store.table('User').rows.values()].filter(
        (u) => u.Department === 'Sales' && u.IsActive
    );
    for (const user of salesUsers) {
        if (random() >= 0.12) continue;
        const product = pick(random, PRODUCTS);
        const status = weighted(random, [
            ['Invited', 50],
            ['Authorized', 40],
            ['Expired', 6],
            ['Revoked', 4]
        ] as Array<[string, number]>);
        const invitedDays = 5 + Math.floor(random() * 60);
        insert(
            'Calendar_Authorization__c',
            {
                User__c: user.Id,
                Product__c: product,
                Status__c: status,
                Key__c: `${String(user.Id)}:${product}`,
                Invited_At__c: formatDateTime(anchor - invitedDays * DAY_MS),
                Invite_Count__c: 1 + Math.floor(random() * 2),
                Authorized_At__c:
                    status === 'Authorized' ? formatDateTime(anchor - (invitedDays - 2) * DAY_MS) : null
            },
            invitedDays
        );
    }

    seedDemoConnection(insert, setIds);
}

/** The demo connection's key: `npm start` points it at the local SCIM app (CONNECTIONS_FILE, docs/connections.md). */
export const DEMO_CONNECTION_KEY = 'demo-scim';
/** Groups the demo grants name; the local SCIM app is seeded with them (display names, exact). */
export const DEMO_SCIM_GROUPS = ['Sales', 'Managers', 'EMEA'];

/**
 * A connection to the local SCIM app and access grants on two demo sets: the sales managers get the
 * groups Sales and Managers with the role Manager; the new EMEA AEs get Sales and EMEA as Account
 * Executive. Seeded after everything else, so the demo's other records (and their ids) are as before.
 */
function seedDemoConnection(
    insert: (objectName: string, fields: Row, days: number) => Row,
    setIds: Map<string, string>
): void {
    const connection = insert(
        'Connection__c',
        {
            Name: 'Demo SCIM app',
            Key__c: DEMO_CONNECTION_KEY,
            Active__c: true,
            Match_On__c: 'Username',
            Deprovisioning__c: 'Off',
            Attribute_Map__c: JSON.stringify(
                {
                    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department': {
                        field: 'Department'
                    },
                    title: { field: 'Title' }
                },
                null,
                2
            )
        },
        30
    );
    const grants: Array<[string, string[], string]> = [
        ['Sales managers', ['Sales', 'Managers'], 'Manager'],
        ['New AEs in EMEA', ['Sales', 'EMEA'], 'Account Executive']
    ];
    for (const [setName, groups, role] of grants) {
        const setId = setIds.get(setName);
        if (!setId) continue;
        insert(
            'Access_Grant__c',
            {
                Condition_Set__c: setId,
                Connection__c: connection.Id,
                Groups__c: groups.join('\n'),
                Role__c: role
            },
            30
        );
    }
}
