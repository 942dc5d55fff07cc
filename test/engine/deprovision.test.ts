/** Taking access away (DESIGN §11): the account state machine, group removals, the why, the breaker. Pure. */
import { explain, prepareSets } from '../../service/src/engine';
import type { AccessGrant } from '../../service/src/engine/access-plan';
import {
    breaker,
    breakerLimits,
    deactivationWhy,
    decideAccount,
    DEFAULT_BREAKER_MAX_COUNT,
    DEFAULT_BREAKER_MAX_PERCENT,
    DEFAULT_GRACE_DAYS,
    graceDays,
    groupRemovals,
    managedGroups,
    whyText,
    type AccountDecision,
    type DeprovisionAccount,
    type DeprovisioningPolicy
} from '../../service/src/engine/deprovision';
import { context, realSchema, set, user } from './helpers';

const NOW = new Date('2026-03-10T12:00:00.000Z');
const DAY = 24 * 60 * 60 * 1000;
const ago = (days: number) => new Date(NOW.getTime() - days * DAY).toISOString();

const ON: DeprovisioningPolicy = {
    deprovisioning: 'Deactivate',
    graceDays: 3,
    breakerMaxCount: null,
    breakerMaxPercent: null
};
const OFF: DeprovisioningPolicy = { ...ON, deprovisioning: 'Off' };

function account(extra: Partial<DeprovisionAccount> = {}): DeprovisionAccount {
    return {
        key: '005000000000001AAA:demo',
        userId: '005000000000001AAA',
        externalId: 'app-1',
        status: 'Active',
        source: 'Rule',
        groups: [],
        grantedBySets: ['Sales'],
        ...extra
    };
}
const ACTIVE_USER = { Id: '005000000000001AAA', IsActive: true };
const LEAVER = { Id: '005000000000001AAA', IsActive: false };

type Row = [
    name: string,
    account: Partial<DeprovisionAccount>,
    user: typeof ACTIVE_USER | undefined,
    matches: boolean,
    policy: DeprovisioningPolicy,
    expected: Partial<AccountDecision>
];

describe('decideAccount: the account state machine', () => {
    const rows: Row[] = [
        // Rule × Active
        ['Active, matches', {}, ACTIVE_USER, true, ON, { transition: 'none', action: undefined }],
        [
            'Active, stops matching: pending from now',
            {},
            ACTIVE_USER,
            false,
            ON,
            {
                transition: 'pending',
                status: 'Pending Deactivation',
                unmatchedSince: NOW.toISOString(),
                dueAt: new Date(NOW.getTime() + 3 * DAY).toISOString(),
                action: undefined
            }
        ],
        [
            'Active, stops matching, 0 grace days: deactivated now',
            {},
            ACTIVE_USER,
            false,
            { ...ON, graceDays: 0 },
            { transition: 'deactivate', action: 'Deactivate', unmatchedSince: NOW.toISOString() }
        ],
        [
            'Active, leaver: deactivated without grace',
            {},
            LEAVER,
            false,
            ON,
            { transition: 'deactivate', action: 'Deactivate', leaver: true }
        ],
        [
            'Active, leaver who still "matches" (inactive users never match): deactivated',
            {},
            LEAVER,
            true,
            ON,
            { transition: 'deactivate', action: 'Deactivate', leaver: true }
        ],
        [
            'Active, user gone from the org: deactivated without grace',
            {},
            undefined,
            false,
            ON,
            { transition: 'deactivate', action: 'Deactivate', leaver: true }
        ],
        [
            'Active, stops matching, Off: nothing',
            {},
            ACTIVE_USER,
            false,
            OFF,
            { transition: 'none', action: undefined }
        ],
        ['Active, leaver, Off: nothing', {}, LEAVER, false, OFF, { transition: 'none', action: undefined }],
        // Rule × Pending Deactivation
        [
            'Pending, grace not over: still pending, nothing written',
            { status: 'Pending Deactivation', unmatchedSince: ago(2) },
            ACTIVE_USER,
            false,
            ON,
            { transition: 'pending', status: undefined, unmatchedSince: ago(2), action: undefined }
        ],
        [
            'Pending, grace over to the millisecond: deactivated',
            { status: 'Pending Deactivation', unmatchedSince: ago(3) },
            ACTIVE_USER,
            false,
            ON,
            { transition: 'deactivate', action: 'Deactivate', unmatchedSince: ago(3) }
        ],
        [
            'Pending, Salesforce date format (+0000), grace over: deactivated',
            { status: 'Pending Deactivation', unmatchedSince: ago(4).replace('Z', '+0000') },
            ACTIVE_USER,
            false,
            ON,
            { transition: 'deactivate', action: 'Deactivate' }
        ],
        [
            'Pending without Unmatched_Since__c: the grace starts now',
            { status: 'Pending Deactivation', unmatchedSince: null },
            ACTIVE_USER,
            false,
            ON,
            { transition: 'pending', status: 'Pending Deactivation', unmatchedSince: NOW.toISOString() }
        ],
        [
            'Pending, matches again before the grace ends: cancelled, nothing sent',
            { status: 'Pending Deactivation', unmatchedSince: ago(1) },
            ACTIVE_USER,
            true,
            ON,
            { transition: 'cancel', status: 'Active', unmatchedSince: null, action: undefined }
        ],
        [
            'Pending, becomes a leaver: deactivated at once',
            { status: 'Pending Deactivation', unmatchedSince: ago(1) },
            LEAVER,
            false,
            ON,
            { transition: 'deactivate', action: 'Deactivate', leaver: true, unmatchedSince: ago(1) }
        ],
        [
            'Pending, deprovisioning turned Off: cancelled',
            { status: 'Pending Deactivation', unmatchedSince: ago(10) },
            ACTIVE_USER,
            false,
            OFF,
            { transition: 'cancel', status: 'Active', unmatchedSince: null, action: undefined }
        ],
        // Rule × Inactive
        [
            'Inactive, matches again: reactivated',
            { status: 'Inactive', unmatchedSince: ago(10) },
            ACTIVE_USER,
            true,
            ON,
            { transition: 'reactivate', action: 'Reactivate', unmatchedSince: null }
        ],
        [
            'Inactive, matches again, Off: still reactivated (granting needs no opt-in)',
            { status: 'Inactive' },
            ACTIVE_USER,
            true,
            OFF,
            { transition: 'reactivate', action: 'Reactivate' }
        ],
        [
            'Inactive, unmatched: nothing',
            { status: 'Inactive' },
            ACTIVE_USER,
            false,
            ON,
            { transition: 'none' }
        ],
        ['Inactive, leaver: nothing', { status: 'Inactive' }, LEAVER, true, ON, { transition: 'none' }],
        // Manual × every status
        ...(['Active', 'Pending Deactivation', 'Inactive'] as const).flatMap((status): Row[] =>
            [ACTIVE_USER, LEAVER, undefined].flatMap((who): Row[] =>
                [true, false].map((matches): Row => [
                    `Manual ${status}, ${who ? (who.IsActive ? 'active' : 'leaver') : 'gone'}, ${matches ? 'matches' : 'unmatched'}: never touched`,
                    { source: 'Manual', status, unmatchedSince: ago(30) },
                    who,
                    matches,
                    { ...ON, graceDays: 0 },
                    { transition: 'none', action: undefined, status: undefined, unmatchedSince: undefined }
                ])
            )
        )
    ];
    test.each(rows)('%s', (_name, extra, who, matches, policy, expected) => {
        const decision = decideAccount({ account: account(extra), user: who, matches, policy, now: NOW });
        for (const [field, value] of Object.entries(expected)) {
            expect([field, decision[field as keyof AccountDecision]]).toEqual([field, value]);
        }
        expect(decision.reason).not.toBe('');
    });

    test('a pending account the app shows inactive is reactivated when it matches again', () => {
        const decision = decideAccount({
            account: account({ status: 'Pending Deactivation', unmatchedSince: ago(1) }),
            user: ACTIVE_USER,
            matches: true,
            policy: ON,
            now: NOW,
            appActive: false
        });
        expect(decision).toMatchObject({ transition: 'cancel', status: 'Active', action: 'Reactivate' });
    });

    test('a clock moving through the grace: pending, pending, deactivated, then reactivated', () => {
        let acc = account();
        const at = (days: number) => new Date(NOW.getTime() + days * DAY);
        const step = (days: number, matches: boolean) => {
            const decision = decideAccount({
                account: acc,
                user: ACTIVE_USER,
                matches,
                policy: ON,
                now: at(days)
            });
            const status =
                decision.transition === 'deactivate'
                    ? 'Inactive'
                    : decision.transition === 'reactivate'
                      ? 'Active'
                      : (decision.status ?? acc.status);
            acc = {
                ...acc,
                status,
                unmatchedSince:
                    decision.unmatchedSince === undefined ? acc.unmatchedSince : decision.unmatchedSince
            };
            return decision.transition;
        };
        expect([
            step(0, false),
            step(1, false),
            step(2.99, false),
            step(3, false),
            step(4, false),
            step(5, true)
        ]).toEqual(['pending', 'pending', 'pending', 'deactivate', 'none', 'reactivate']);
        expect(acc).toMatchObject({ status: 'Active', unmatchedSince: null });
    });
});

describe('grace days and breaker limits from the connection', () => {
    test.each([
        [null, DEFAULT_GRACE_DAYS, false],
        [0, 0, false],
        [14, 14, false],
        [-1, DEFAULT_GRACE_DAYS, true],
        [1.5, DEFAULT_GRACE_DAYS, true]
    ])('Grace_Days__c %p → %p days (problem: %p)', (raw, days, problem) => {
        const result = graceDays({ ...ON, graceDays: raw });
        expect(result.days).toBe(days);
        expect(result.problem !== undefined).toBe(problem);
    });

    test.each([
        [null, null, { maxCount: DEFAULT_BREAKER_MAX_COUNT, maxPercent: DEFAULT_BREAKER_MAX_PERCENT }],
        [0, 0, { maxCount: 0, maxPercent: 0 }],
        [10, 50, { maxCount: 10, maxPercent: 50 }],
        [10, null, { maxCount: 10, maxPercent: DEFAULT_BREAKER_MAX_PERCENT }]
    ])('count %p, percent %p → %o', (count, percent, expected) => {
        expect(breakerLimits({ ...ON, breakerMaxCount: count, breakerMaxPercent: percent })).toEqual(
            expected
        );
    });

    test.each([
        [-5, 10, /Breaker_Max_Count__c is -5/],
        [2.5, 10, /Breaker_Max_Count__c is 2.5/],
        [10, 120, /Breaker_Max_Percent__c is 120: write a percent between 0 and 100/],
        [10, -1, /Breaker_Max_Percent__c is -1/]
    ])(
        'an unusable limit (count %p, percent %p) holds everything, never turns the breaker off',
        (count, percent, message) => {
            const limits = breakerLimits({ ...ON, breakerMaxCount: count, breakerMaxPercent: percent });
            expect(limits).toMatchObject({ maxCount: 0, maxPercent: 0 });
            expect(limits.problem).toMatch(message);
            const verdict = breaker({ limits, ruleManagedActive: 1000, deactivations: ['a'], removals: [] });
            expect(verdict.tripped).toBe(true);
            expect(verdict.reason).toMatch(message);
        }
    );
});

function grant(setName: string, groups: string[], connectionKey = 'demo'): AccessGrant {
    return {
        setId: `id-${setName}`,
        setName,
        setCreatedDate: '2025-01-01T00:00:00.000Z',
        connectionKey,
        groups
    };
}

describe('group removals: only managed groups, only memberships no rule grants', () => {
    const grants = [
        grant('Sales', ['Sales', 'All']),
        grant('Support', ['Support', 'All']),
        grant('Other', ['Elsewhere'], 'other')
    ];
    const managed = managedGroups(grants, 'demo');
    const matches: AccountDecision = { transition: 'none', reason: 'matches' };
    const pending: AccountDecision = { transition: 'pending', reason: 'x' };
    const deactivate: AccountDecision = { transition: 'deactivate', action: 'Deactivate', reason: 'x' };

    test('managed groups: every group a grant of this connection names, exact case', () => {
        expect([...managed].sort()).toEqual(['All', 'Sales', 'Support']);
    });

    test.each([
        [
            'moved from Sales to Support: leaves Sales only',
            ['Sales', 'All', 'Hand-made'],
            ['Support', 'All'],
            ON,
            matches,
            undefined,
            ['Sales']
        ],
        [
            'an unmanaged group (made by hand in the app) is never touched',
            ['Hand-made'],
            [],
            ON,
            deactivate,
            undefined,
            []
        ],
        [
            'a group of another connection is not managed here',
            ['Elsewhere'],
            [],
            ON,
            deactivate,
            undefined,
            []
        ],
        ['case matters: "sales" is not the managed "Sales"', ['sales'], [], ON, deactivate, undefined, []],
        [
            'deactivated: every managed membership goes',
            ['Sales', 'All', 'Hand-made'],
            [],
            ON,
            deactivate,
            undefined,
            ['All', 'Sales']
        ],
        ['pending: memberships stay through the grace', ['Sales', 'All'], [], ON, pending, undefined, []],
        ['Off: nothing removed', ['Sales'], [], OFF, matches, undefined, []],
        [
            'the app read: a membership the app added outside the record is removed',
            [],
            ['All'],
            ON,
            matches,
            new Set(['Sales', 'All']),
            ['Sales']
        ],
        [
            'the app read: a membership the app no longer has is not removed again',
            ['Sales'],
            [],
            ON,
            matches,
            new Set<string>(),
            []
        ]
    ])('%s', (_name, recorded, desired, policy, decision, appGroups, expected) => {
        expect(
            groupRemovals({
                account: account({ groups: recorded }),
                desiredGroups: desired,
                managed,
                policy,
                decision,
                appGroups
            })
        ).toEqual(expected);
    });

    test('a Manual account keeps every membership', () => {
        expect(
            groupRemovals({
                account: account({ source: 'Manual', groups: ['Sales', 'All'] }),
                desiredGroups: [],
                managed,
                policy: ON,
                decision: deactivate
            })
        ).toEqual([]);
    });

    test('an Inactive account is left alone; reactivated, its stale managed groups go', () => {
        const inactive = account({ status: 'Inactive', groups: ['Sales'] });
        expect(
            groupRemovals({ account: inactive, desiredGroups: [], managed, policy: ON, decision: matches })
        ).toEqual([]);
        expect(
            groupRemovals({
                account: inactive,
                desiredGroups: ['Support'],
                managed,
                policy: ON,
                decision: { transition: 'reactivate', action: 'Reactivate', reason: 'x' }
            })
        ).toEqual(['Sales']);
    });
});

describe('why an account is pending or due: the engine explain', () => {
    const sales = set('Sales', [
        { field: 'Department', operator: 'equals', value: 'Sales' },
        { field: 'Title', operator: 'contains', value: 'Account' }
    ]);
    const support = set('Support', [{ field: 'Department', operator: 'equals', value: 'Support' }]);
    const prepared = prepareSets([sales, support], realSchema);
    const statusOf = () => 'Not Invited' as const;

    test('names the set that stopped matching and the failing condition with the user value', () => {
        const moved = user({ Department: 'Marketing', Title: 'Account Executive' });
        const lines = deactivationWhy({
            user: { Id: moved.Id, IsActive: true },
            grantedBySets: ['Sales'],
            grantingSets: ['Sales', 'Support'],
            explanations: explain(prepared, moved, statusOf, context()).sets
        });
        expect(lines).toEqual([
            {
                setName: 'Sales',
                what: 'stopped matching',
                conditions: ['1. Department equals "Sales" (is "Marketing")']
            }
        ]);
        expect(whyText(lines)).toBe(
            'set "Sales" stopped matching: 1. Department equals "Sales" (is "Marketing")'
        );
    });

    test('a set that no longer grants the connection (grant deleted or set deactivated)', () => {
        const still = user({ Department: 'Sales', Title: 'Account Executive' });
        const lines = deactivationWhy({
            user: { Id: still.Id, IsActive: true },
            grantedBySets: ['Sales', 'Gone'],
            grantingSets: ['Support'],
            explanations: explain(prepared, still, statusOf, context()).sets
        });
        expect(lines.map((line) => [line.setName, line.what])).toEqual([
            ['Sales', 'the set no longer grants this connection (or is inactive)'],
            ['Gone', 'the set no longer exists or is inactive']
        ]);
    });

    test('a leaver: the user is inactive, no set detail', () => {
        expect(
            whyText(
                deactivationWhy({
                    user: LEAVER,
                    grantedBySets: ['Sales'],
                    grantingSets: ['Sales'],
                    explanations: []
                })
            )
        ).toBe('user inactive in Salesforce');
        expect(
            whyText(
                deactivationWhy({ user: undefined, grantedBySets: [], grantingSets: [], explanations: [] })
            )
        ).toBe('the user no longer exists in Salesforce');
    });

    test('no Granted_By_Sets__c: every granting set is explained', () => {
        const nobody = user({ Department: 'Finance', Title: 'Clerk' });
        const lines = deactivationWhy({
            user: { Id: nobody.Id, IsActive: true },
            grantedBySets: [],
            grantingSets: ['Sales', 'Support'],
            explanations: explain(prepared, nobody, statusOf, context()).sets
        });
        expect(lines.map((line) => [line.setName, line.conditions])).toEqual([
            [
                'Sales',
                ['1. Department equals "Sales" (is "Finance")', '2. Title contains "Account" (is "Clerk")']
            ],
            ['Support', ['1. Department equals "Support" (is "Finance")']]
        ]);
    });
});

describe('the circuit breaker', () => {
    const keys = (n: number, prefix = 'k') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
    test.each([
        [
            'nothing to take away never trips, even with limits 0',
            { maxCount: 0, maxPercent: 0 },
            10,
            0,
            0,
            false
        ],
        ['at the count limit: goes', { maxCount: 5, maxPercent: 100 }, 100, 5, 0, false],
        ['one over the count: held', { maxCount: 5, maxPercent: 100 }, 100, 6, 0, true],
        ['at the percent limit: goes', { maxCount: 1000, maxPercent: 20 }, 100, 20, 0, false],
        ['over the percent: held', { maxCount: 1000, maxPercent: 20 }, 100, 21, 0, true],
        ['a rule edit deactivating 60%: held by the defaults', breakerLimits(ON), 10, 6, 0, true],
        ['a leaver among 100 accounts: goes with the defaults', breakerLimits(ON), 100, 1, 0, false],
        ['group removals count as accounts losing access', { maxCount: 3, maxPercent: 100 }, 100, 2, 2, true],
        [
            'an account both deactivated and removed counts once',
            { maxCount: 3, maxPercent: 100 },
            100,
            3,
            -3,
            false
        ],
        [
            'no rule-managed accounts recorded: the base is what would be taken',
            { maxCount: 10, maxPercent: 50 },
            0,
            1,
            0,
            true
        ]
    ])('%s', (_name, limits, base, deactivated, removed, tripped) => {
        const deactivations = keys(deactivated);
        // A negative `removed` means: the same accounts as the deactivations.
        const removals = removed < 0 ? deactivations.slice(0, -removed) : keys(removed, 'r');
        const verdict = breaker({ limits, ruleManagedActive: base, deactivations, removals });
        expect(verdict.tripped).toBe(tripped);
        if (tripped) expect(verdict.reason).toMatch(/^held: /);
        else expect(verdict.reason).toBeUndefined();
    });

    test('the reason names both limits when both are exceeded', () => {
        const verdict = breaker({
            limits: { maxCount: 2, maxPercent: 10 },
            ruleManagedActive: 10,
            deactivations: keys(6),
            removals: []
        });
        expect(verdict).toMatchObject({ tripped: true, affected: 6, percent: 60 });
        expect(verdict.reason).toBe(
            'held: 6 accounts is more than the limit of 2 and 60% of 10 rule-managed active accounts is more than the limit of 10%'
        );
    });
});
