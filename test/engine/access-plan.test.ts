/** The plan of a connection: desired access (groups, role) and the actions for each matched user. */
import {
    actionKey,
    buildUserResource,
    desiredAccess,
    parseGroups,
    planUser,
    validateAttributeMap,
    type AccessGrant,
    type AccountRecord,
    type AppAccountState,
    type ValidMapping
} from '../../service/src/engine';
import { realSchema } from './helpers';

const USER = {
    Id: '0055g00000AAAAAAAA',
    Username: 'ada@example.com.org',
    Email: 'ada@example.com',
    FirstName: 'Ada',
    LastName: 'Lovelace',
    Department: 'Engineering'
};
const KEY = `${USER.Id}:demo`;

function mapping(raw = ''): ValidMapping {
    const result = validateAttributeMap(raw, 'Username', realSchema);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    return result;
}

function grant(setName: string, createdDate: string, groups: string[], role?: string): AccessGrant {
    return {
        setId: `id-${setName}`,
        setName,
        setCreatedDate: createdDate,
        connectionKey: 'demo',
        groups,
        role
    };
}

const OLD = grant('Old', '2024-01-01T00:00:00.000+0000', ['Sales', 'All'], 'Light agent');
const NEW = grant('New', '2025-01-01T00:00:00.000+0000', ['all', 'Support'], 'Admin');
const NO_ROLE = grant('NoRole', '2023-01-01T00:00:00.000+0000', ['Readers']);

function account(extra: Partial<AccountRecord> = {}): AccountRecord {
    return {
        key: KEY,
        userId: USER.Id,
        externalId: 'app-1',
        status: 'Active',
        source: 'Rule',
        groups: [],
        grantedBySets: [],
        ...extra
    };
}

function appState(extra: Partial<AppAccountState> = {}): AppAccountState {
    const resource = { ...buildUserResource(mapping(), USER, KEY, 'Light agent'), id: 'app-1' };
    return { id: 'app-1', userName: USER.Username, externalId: KEY, active: true, resource, ...extra };
}

describe('desired access', () => {
    it.each([
        ['one set', [OLD], undefined, { groups: ['Sales', 'All'], role: 'Light agent', sets: ['Old'] }],
        [
            'union, exact and case-sensitive names',
            [NEW, OLD],
            undefined,
            { groups: ['Sales', 'All', 'all', 'Support'], role: 'Light agent', sets: ['Old', 'New'] }
        ],
        [
            'the oldest set with a role wins',
            [NEW, OLD, NO_ROLE],
            undefined,
            {
                groups: ['Readers', 'Sales', 'All', 'all', 'Support'],
                role: 'Light agent',
                sets: ['Old', 'NoRole', 'New']
            }
        ],
        [
            'an account keeps its provisioning set role while it matches',
            [OLD, NEW],
            account({ grantedBySets: ['New'] }),
            { groups: ['Sales', 'All', 'all', 'Support'], role: 'Admin', sets: ['New', 'Old'] }
        ],
        [
            'a provisioning set that no longer matches gives way to the oldest',
            [OLD],
            account({ grantedBySets: ['New'] }),
            { groups: ['Sales', 'All'], role: 'Light agent', sets: ['Old'] }
        ],
        [
            'no set with a role: no role',
            [NO_ROLE],
            undefined,
            { groups: ['Readers'], role: undefined, sets: ['NoRole'] }
        ]
    ])('when %s, then groups, role and sets follow the rules', (_name, grants, acct, expected) => {
        expect(desiredAccess(grants, acct)).toEqual(expected);
    });

    it('when Groups__c has blank lines and spaces around names, then they are dropped but case is kept', () => {
        expect(parseGroups(' Sales \r\n\nsales\nSales\n')).toEqual(['Sales', 'sales']);
    });
});

describe('the actions for a matched user', () => {
    const base = { connectionKey: 'demo', mapping: mapping(), user: USER };

    it('when there is no account, then create with the mapped resource and the role, and add to every group', () => {
        const plan = planUser({ ...base, matching: [OLD, NEW] });
        expect(plan.actions.map((a) => [a.kind, a.group])).toEqual([
            ['Create', undefined],
            ['Add To Group', 'Sales'],
            ['Add To Group', 'All'],
            ['Add To Group', 'all'],
            ['Add To Group', 'Support']
        ]);
        expect(plan.actions[0].detail.resource).toEqual(
            buildUserResource(mapping(), USER, KEY, 'Light agent')
        );
    });

    it('when the preview read the app and it has no account for the user, then the create needs no search first', () => {
        const read = planUser({ ...base, matching: [OLD], appRead: true });
        const unread = planUser({ ...base, matching: [OLD] });
        expect(read.actions[0].detail.absentAtPreview).toBe(true);
        expect(unread.actions[0].detail.absentAtPreview).toBeUndefined();
    });

    it('when the account is Manual, then nothing, with why', () => {
        const plan = planUser({
            ...base,
            matching: [OLD],
            account: account({ source: 'Manual' }),
            app: appState({ userName: 'x' })
        });
        expect(plan.actions).toEqual([]);
        expect(plan.kept).toMatch(/Manual/);
    });

    it('when the app already has an account with this userName that Rollcall did not create, then a create marked manual (recorded, never sent)', () => {
        const plan = planUser({ ...base, matching: [OLD], app: appState({ externalId: undefined }) });
        expect(plan.actions).toEqual([
            expect.objectContaining({ kind: 'Create', detail: expect.objectContaining({ manual: true }) })
        ]);
    });

    it('when nothing changed (app state known), then no action', () => {
        const members = new Map([
            ['Sales', new Set(['app-1'])],
            ['All', new Set(['app-1'])]
        ]);
        const plan = planUser({
            ...base,
            matching: [OLD],
            account: account({ role: 'Light agent', groups: ['Sales', 'All'], grantedBySets: ['Old'] }),
            app: appState(),
            groupMembers: members
        });
        expect(plan.actions).toEqual([]);
    });

    it('when nothing changed (app not read), then no action from the org record', () => {
        const plan = planUser({
            ...base,
            matching: [OLD],
            account: account({ role: 'Light agent', groups: ['Sales', 'All'], grantedBySets: ['Old'] })
        });
        expect(plan.actions).toEqual([]);
    });

    it('when a mapped value changed, then one update with only the changed paths', () => {
        const moved = { ...USER, LastName: 'King', Email: 'ada.king@example.com' };
        const plan = planUser({
            ...base,
            user: moved,
            matching: [OLD],
            account: account({ role: 'Light agent', groups: ['Sales', 'All'] }),
            app: appState()
        });
        expect(plan.actions.map((a) => [a.kind, a.detail])).toEqual([
            [
                'Update',
                {
                    operations: [
                        { op: 'replace', path: 'name.familyName', value: 'King' },
                        { op: 'replace', path: 'emails[type eq "work"].value', value: 'ada.king@example.com' }
                    ]
                }
            ]
        ]);
    });

    it('when a mapped field became empty, then the attribute is removed', () => {
        const plan = planUser({
            ...base,
            user: { ...USER, FirstName: null },
            matching: [OLD],
            account: account({ role: 'Light agent', groups: ['Sales', 'All'] }),
            app: appState()
        });
        expect(plan.actions[0].detail).toEqual({ operations: [{ op: 'remove', path: 'name.givenName' }] });
    });

    it('when the role the sets give differs, then set role; a missing group is added, a present one not', () => {
        const plan = planUser({
            ...base,
            matching: [OLD],
            account: account({ role: 'Admin', groups: ['Sales'] }),
            app: appState({
                resource: { ...appState().resource, roles: [{ value: 'Admin', primary: true }] }
            }),
            groupMembers: new Map([
                ['Sales', new Set(['app-1'])],
                ['All', new Set<string>()]
            ])
        });
        expect(plan.actions.map((a) => [a.kind, a.group ?? a.detail.role])).toEqual([
            ['Set Role', 'Light agent'],
            ['Add To Group', 'All']
        ]);
        expect(plan.actions[0].detail.operations).toEqual([
            { op: 'replace', path: 'roles', value: [{ value: 'Light agent', primary: true }] }
        ]);
    });

    it('when the app holds a membership or role the org record lacks (a write whose answer was lost), then it is sent again', () => {
        const plan = planUser({
            ...base,
            matching: [OLD],
            account: account({ role: 'Admin', groups: ['Sales'] }),
            app: appState(),
            groupMembers: new Map([
                ['Sales', new Set(['app-1'])],
                ['All', new Set(['app-1'])]
            ])
        });
        expect(plan.actions.map((a) => [a.kind, a.group ?? a.detail.role])).toEqual([
            ['Set Role', 'Light agent'],
            ['Add To Group', 'All']
        ]);
    });

    it('when the account is Inactive or Pending Deactivation, then nothing here (deprovisioning owns them)', () => {
        for (const status of ['Inactive', 'Pending Deactivation'] as const) {
            expect(planUser({ ...base, matching: [OLD], account: account({ status }) }).actions).toEqual([]);
        }
    });
});

describe('action keys', () => {
    it('when the same action is keyed twice, then the key is the same; another group, kind or run gives another', () => {
        const add = { userId: USER.Id, kind: 'Add To Group' as const, group: 'Sales' };
        expect(actionKey('run1', 'demo', add)).toBe(actionKey('run1', 'demo', { ...add }));
        const keys = new Set([
            actionKey('run1', 'demo', add),
            actionKey('run1', 'demo', { ...add, group: 'sales' }),
            actionKey('run2', 'demo', add),
            actionKey('run1', 'demo', { userId: USER.Id, kind: 'Create' }),
            actionKey('run1', 'other', add)
        ]);
        expect(keys.size).toBe(5);
        expect(
            actionKey('a0D5g0000000000001AAA', 'x'.repeat(40), { ...add, group: 'g'.repeat(1000) }).length
        ).toBeLessThanOrEqual(255);
    });
});
