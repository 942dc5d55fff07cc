import {
    planCandidateQueries,
    computeEligibility,
    explain,
    prepareSets,
    requiredManagerIds,
    type AuthorizationStatus
} from '../../service/src/engine';
import { context, schema, set, user } from './helpers';

const sales = set('Sales', [{ field: 'Department', operator: 'equals', value: 'Sales' }], {
    products: ['Scheduler', 'Router'],
    eligibleStatuses: ['Not Invited', 'Expired'],
    createdDate: '2025-02-01T00:00:00.000+0000'
});
const emea = set('EMEA', [{ field: 'UserRole.Name', operator: 'startsWith', value: 'EMEA' }], {
    products: ['Scheduler', 'Chat'],
    eligibleStatuses: ['Not Invited'],
    createdDate: '2025-01-01T00:00:00.000+0000'
});
const managers = set('Managers', [{ field: 'IsManager', operator: 'equals', value: true }], {
    products: ['Router'],
    eligibleStatuses: ['Not Invited', 'Invited'],
    createdDate: '2025-03-01T00:00:00.000+0000'
});
const broken = set('Broken', [{ field: 'Nope__c', operator: 'equals', value: 'x' }], {
    products: ['Chat'],
    createdDate: '2024-01-01T00:00:00.000+0000'
});

const alice = user({ Department: 'Sales', UserRole: { Name: 'EMEA Sales' } });
const bob = user({ Department: 'Sales', UserRole: { Name: 'US Sales' } });
const carol = user({ Department: 'Support', UserRole: { Name: 'EMEA Support' } });
const dave = user({ Department: 'Sales', IsActive: false, UserRole: { Name: 'EMEA Sales' } });
const erin = user({ Department: 'Finance' });

const statuses: Record<string, AuthorizationStatus> = {
    [`${bob.Id}:Scheduler`]: 'Authorized',
    [`${carol.Id}:Chat`]: 'Revoked'
};
const statusOf = (userId: string, product: string): AuthorizationStatus =>
    statuses[`${userId}:${product}`] ?? 'Not Invited';

describe('prepareSets', () => {
    it('when sets are prepared, then valid and invalid are split and ordered oldest first', () => {
        const prepared = prepareSets([sales, managers, broken, emea], schema);
        expect(prepared.valid.map((s) => s.name)).toEqual(['EMEA', 'Sales', 'Managers']);
        expect(prepared.invalid.map((s) => s.set.name)).toEqual(['Broken']);
        expect(prepared.invalid[0].errors[0]).toEqual(
            expect.objectContaining({ code: 'UNKNOWN_FIELD', condition: 1 })
        );
    });

    it('when a set grants no product or has an unknown status, then it is invalid with a reason', () => {
        const prepared = prepareSets(
            [
                set('NoProducts', [{ field: 'Department', operator: 'isNotNull' }], { products: [] }),
                set('BadStatus', [{ field: 'Department', operator: 'isNotNull' }], {
                    eligibleStatuses: ['Pending' as AuthorizationStatus]
                })
            ],
            schema
        );
        expect(prepared.valid).toEqual([]);
        expect(prepared.invalid.flatMap((s) => s.errors.map((e) => e.code)).sort()).toEqual([
            'INVALID_ELIGIBLE_STATUS',
            'NO_PRODUCTS'
        ]);
    });
});

describe('computeEligibility', () => {
    const prepared = prepareSets([sales, emea, managers, broken], schema);
    const ctx = context({ managerIds: new Set([carol.Id]) });
    const result = computeEligibility(prepared.valid, [alice, bob, carol, dave, erin], statusOf, ctx);
    const entryOf = (id: string) => result.entries.find((entry) => entry.userId === id);

    it('when a user matches two sets, then the products are the union and each names the sets that granted it', () => {
        const entry = entryOf(alice.Id);
        expect(entry?.products).toEqual(['Scheduler', 'Chat', 'Router']);
        expect(entry?.grantedBy).toEqual({ Scheduler: ['EMEA', 'Sales'], Chat: ['EMEA'], Router: ['Sales'] });
        expect(entry?.matchedSets).toEqual(['EMEA', 'Sales']);
        expect(entry?.statuses).toEqual({
            Scheduler: 'Not Invited',
            Chat: 'Not Invited',
            Router: 'Not Invited'
        });
    });

    it("when the status of a product is not among the set's eligible statuses, then that product is left out", () => {
        const entry = entryOf(bob.Id);
        expect(entry?.products).toEqual(['Router']);
        expect(entry?.statuses.Scheduler).toBe('Authorized');
    });

    it('when a matched product is revoked but another set grants a different product, then only that one is eligible', () => {
        const entry = entryOf(carol.Id);
        expect(entry?.products).toEqual(['Scheduler', 'Router']);
        expect(entry?.grantedBy).toEqual({ Scheduler: ['EMEA'], Router: ['Managers'] });
    });

    it('when a user is inactive or matches nothing, then there is no entry; every user counts as evaluated', () => {
        expect(entryOf(dave.Id)).toBeUndefined();
        expect(entryOf(erin.Id)).toBeUndefined();
        expect(result.evaluated).toBe(5);
    });

    it('when two sets share users, then the overlap report counts them per pair', () => {
        expect(result.overlaps).toEqual([
            { setA: 'EMEA', setB: 'Managers', setAId: 'EMEA', setBId: 'Managers', users: 1 },
            { setA: 'EMEA', setB: 'Sales', setAId: 'EMEA', setBId: 'Sales', users: 1 }
        ]);
    });

    it('when a set uses IsManager, then the service is told to load manager ids', () => {
        expect(requiredManagerIds(prepared.valid)).toBe(true);
        expect(requiredManagerIds(prepared.valid.filter((s) => s.name !== 'Managers'))).toBe(false);
    });
});

describe('explain', () => {
    const prepared = prepareSets([sales, emea, broken], schema);

    it("when a user's status is not eligible, then the product says so with the status", () => {
        const explanation = explain(prepared, bob, statusOf, context());
        const scheduler = explanation.products.find((p) => p.product === 'Scheduler');
        expect(scheduler?.eligible).toBe(false);
        expect(scheduler?.reasons).toContain(
            'status Authorized is not among the set\'s eligible statuses (set "Sales": Not Invited, Expired)'
        );
        expect(scheduler?.reasons).toContain('did not match set "EMEA"');
        const router = explanation.products.find((p) => p.product === 'Router');
        expect(router).toEqual(expect.objectContaining({ eligible: true, grantedBy: ['Sales'] }));
    });

    it('when explained, then each condition shows the actual value and its outcome, and each set its logic outcome', () => {
        const explanation = explain(prepared, bob, statusOf, context());
        const emeaSet = explanation.sets.find((s) => s.setName === 'EMEA');
        expect(emeaSet).toEqual(
            expect.objectContaining({
                valid: true,
                matched: false,
                logic: '1',
                conditions: [
                    {
                        number: 1,
                        field: 'UserRole.Name',
                        operator: 'startsWith',
                        value: 'EMEA',
                        actual: 'US Sales',
                        outcome: false
                    }
                ]
            })
        );
    });

    it('when the user is inactive, then every product says "user inactive"', () => {
        const explanation = explain(prepared, dave, statusOf, context());
        expect(explanation.active).toBe(false);
        for (const product of explanation.products) {
            expect(product.eligible).toBe(false);
            expect(product.reasons.some((reason) => reason.startsWith('user inactive'))).toBe(true);
        }
    });

    it('when a set is invalid, then explain lists it with its errors and the product names it as skipped', () => {
        const explanation = explain(prepared, alice, statusOf, context());
        expect(explanation.sets.find((s) => s.setName === 'Broken')).toEqual(
            expect.objectContaining({ valid: false, matched: false })
        );
        const chat = explanation.products.find((p) => p.product === 'Chat');
        expect(chat?.reasons.some((reason) => reason.startsWith('set "Broken" is invalid and skipped'))).toBe(
            true
        );
        expect(chat?.eligible).toBe(true);
    });

    it('when the user has no role, then the actual value is null', () => {
        const explanation = explain(prepared, erin, statusOf, context());
        expect(explanation.sets.find((s) => s.setName === 'EMEA')?.conditions[0].actual).toBeNull();
    });
});

describe('planCandidateQueries', () => {
    const prepared = prepareSets([sales, emea, managers], schema);

    it('when sets are compiled together, then one query selects only the fields in use and ORs the sets', () => {
        expect(planCandidateQueries(prepared.valid.filter((s) => s.name !== 'Managers')).queries).toEqual([
            "SELECT Id, Name, Email, IsActive, UserRole.Name, Department FROM User WHERE IsActive = true AND ((UserRole.Name LIKE 'EMEA%') OR (Department = 'Sales'))"
        ]);
    });

    it('when a set is decided by IsManager alone, then the query selects every active user', () => {
        expect(planCandidateQueries(prepared.valid, { baseWhere: "UserType = 'Standard'" }).queries).toEqual([
            "SELECT Id, Name, Email, IsActive, UserRole.Name, Department FROM User WHERE (UserType = 'Standard') AND IsActive = true"
        ]);
    });

    it('when the query would be longer than maxLength, then it is split and no query exceeds it', () => {
        const many = prepareSets(
            Array.from({ length: 40 }, (_, index) =>
                set(`S${index}`, [
                    { field: 'Department', operator: 'equals', value: `Department number ${index}` }
                ])
            ),
            schema
        ).valid;
        const { queries, unrunnable } = planCandidateQueries(many, { maxLength: 400 });
        expect(unrunnable).toEqual([]);
        expect(queries.length).toBeGreaterThan(1);
        for (const query of queries) expect(query.length).toBeLessThanOrEqual(400);
        const all = queries.join(' ');
        for (let index = 0; index < 40; index++) expect(all).toContain(`'Department number ${index}'`);
    });

    it('when no set is valid, then there is no query', () => {
        expect(planCandidateQueries([])).toEqual({ queries: [], unrunnable: [] });
    });
});
