/**
 * The condition set editor's warning (POST /v1/condition-sets/impact) against the local org's demo sets,
 * which overlap: the numbers the editor shows before save equal what a preview shows once the set is saved.
 */
import type { OrgStore } from '../../service/src/domain/org-store';
import type { RunningService } from '../../service/src/main';
import { api, serviceEnv, startService, startServiceStack, type ServiceStack } from './support/stack';

jest.setTimeout(120_000);

let stack: ServiceStack;
let store: OrgStore;
let service: RunningService;

beforeAll(async () => {
    stack = await startServiceStack({ users: 600, seed: 23 });
    ({ store, service } = stack);
});

afterAll(async () => {
    await stack?.stop();
});

const ALL_STATUSES = 'Not Invited;Invited;Authorized;Expired;Revoked';
const draft = {
    name: 'All of Sales',
    products: ['Round Robin'],
    eligibleStatuses: ALL_STATUSES.split(';'),
    definition: {
        version: 1,
        conditions: [{ field: 'Department', operator: 'equals', value: 'Sales' }]
    }
};

interface Impact {
    matched: number;
    alreadyGranted: number;
    overlaps: { setId: string; name: string; users: number; products: string[] }[];
    needsConfirmation: boolean;
}

describe('the editor warning for a draft set', () => {
    it('when a draft overlaps the demo sets, then its numbers equal those of the preview once it is saved', async () => {
        const response = await api(service, 'POST', '/v1/condition-sets/impact', draft);
        expect(response.status).toBe(200);
        const impact = response.body as unknown as Impact;
        expect(impact.matched).toBeGreaterThan(0);
        expect(impact.overlaps.map((overlap) => overlap.name)).toContain('Sales managers');
        expect(impact.alreadyGranted).toBeGreaterThan(0);
        expect(impact.alreadyGranted).toBeLessThan(impact.matched);
        expect(impact.needsConfirmation).toBe(false);

        await store.org.create('Condition_Set__c', [
            {
                Name: draft.name,
                Active__c: true,
                Products__c: draft.products.join(';'),
                Eligible_Statuses__c: ALL_STATUSES,
                Definition__c: JSON.stringify(draft.definition)
            }
        ]);
        const preview = await service.provisioning.preview({ initiatedBy: stack.org.ids.adminUserIds[0] });
        const items = await store.items(preview.runId);
        const sets = await store.conditionSets();
        const productsOf = new Map(
            sets.map((set) => [String(set.Name), String(set.Products__c ?? '').split(';')] as const)
        );

        const matchedItems = items.filter((item) =>
            (item.Matched_Sets__c ?? '').split('; ').includes(draft.name)
        );
        expect(matchedItems).toHaveLength(impact.matched);
        const covered = matchedItems.filter((item) =>
            (item.Matched_Sets__c ?? '')
                .split('; ')
                .filter((name) => name !== draft.name)
                .some((name) => productsOf.get(name)?.includes('Round Robin'))
        );
        expect(covered).toHaveLength(impact.alreadyGranted);
        for (const overlap of impact.overlaps) {
            const shown = preview.overlaps.find(
                (pair) =>
                    (pair.setA === draft.name && pair.setB === overlap.name) ||
                    (pair.setB === draft.name && pair.setA === overlap.name)
            );
            expect(shown?.users).toBe(overlap.users);
        }
        expect(preview.overlaps.filter((pair) => [pair.setA, pair.setB].includes(draft.name))).toHaveLength(
            impact.overlaps.length
        );

        // Editing the saved set: it is not its own overlap.
        const [saved] = sets.filter((set) => set.Name === draft.name);
        const again = await api(service, 'POST', '/v1/condition-sets/impact', { ...draft, setId: saved.Id });
        expect(again.body).toMatchObject({ matched: impact.matched, alreadyGranted: impact.alreadyGranted });
    });

    it('when a draft matches nobody or only users other sets already grant, then saving needs confirmation', async () => {
        const nobody = await api(service, 'POST', '/v1/condition-sets/impact', {
            ...draft,
            definition: JSON.stringify({
                version: 1,
                conditions: [{ field: 'Department', operator: 'equals', value: 'No such department' }]
            })
        });
        expect(nobody.body).toMatchObject({ matched: 0, needsConfirmation: true });

        const covered = await api(service, 'POST', '/v1/condition-sets/impact', {
            ...draft,
            definition: {
                version: 1,
                conditions: [
                    { field: 'IsManager', operator: 'equals', value: true },
                    { field: 'Department', operator: 'equals', value: 'Sales' }
                ]
            }
        });
        const body = covered.body as unknown as Impact;
        expect(body.matched).toBeGreaterThan(0);
        expect(body.alreadyGranted).toBe(body.matched);
        expect(body.needsConfirmation).toBe(true);
    });

    it('when a draft grants access only (no product), then it says who it matches and asks for nothing more', async () => {
        const accessOnly = await api(service, 'POST', '/v1/condition-sets/impact', {
            ...draft,
            products: [],
            definition: {
                version: 1,
                conditions: [
                    { field: 'IsManager', operator: 'equals', value: true },
                    { field: 'Department', operator: 'equals', value: 'Sales' }
                ]
            }
        });
        expect(accessOnly.body).not.toHaveProperty('error');
        expect(accessOnly.status).toBe(200);
        const body = accessOnly.body as unknown as Impact;
        expect(body.matched).toBeGreaterThan(0);
        // The same users other sets grant products to: none of them already has what an access-only set grants.
        expect(body.alreadyGranted).toBe(0);
        expect(body.needsConfirmation).toBe(false);
    });

    it('when the draft is checked, then only its own candidates are read, and over Bulk API jobs the numbers are the same', async () => {
        const active = await store.org.query<{ Id: string; Department?: string | null }>(
            'SELECT Id, Department FROM User WHERE IsActive = true'
        );
        const sales = active.filter((user) => user.Department?.toLowerCase() === 'sales').length;
        const managerDraft = {
            ...draft,
            definition: {
                version: 1,
                conditions: [
                    { field: 'IsManager', operator: 'equals', value: false },
                    { field: 'Department', operator: 'in', value: ['Sales', 'Support'] }
                ]
            }
        };

        const overRest = await api(service, 'POST', '/v1/condition-sets/impact', draft);
        const managersOverRest = await api(service, 'POST', '/v1/condition-sets/impact', managerDraft);
        // Candidates above 20 are read by a Bulk API 2.0 job: the draft's and the managers' queries here.
        const bulkService = await startService(
            stack.org,
            serviceEnv(stack.smtp, undefined, { BULK_QUERY_ABOVE: '20' })
        );
        try {
            const overBulk = await api(bulkService, 'POST', '/v1/condition-sets/impact', draft);
            const managersOverBulk = await api(
                bulkService,
                'POST',
                '/v1/condition-sets/impact',
                managerDraft
            );

            // The draft's pushed-down query returns the active Sales users, not every active user.
            expect(overRest.body.evaluated).toBe(sales);
            expect(sales).toBeLessThan(active.length);
            expect(overRest.body.matched).toBe(sales);
            const numbers = (body: Record<string, unknown>) => ({
                matched: body.matched,
                alreadyGranted: body.alreadyGranted,
                overlaps: body.overlaps,
                evaluated: body.evaluated
            });
            expect(numbers(overBulk.body)).toEqual(numbers(overRest.body));
            expect((managersOverRest.body as unknown as Impact).matched).toBeGreaterThan(0);
            expect(numbers(managersOverBulk.body)).toEqual(numbers(managersOverRest.body));
        } finally {
            await bulkService.stop();
        }
    });

    it('when the draft is invalid, then the answer is 400 with the reason', async () => {
        const response = await api(service, 'POST', '/v1/condition-sets/impact', {
            ...draft,
            definition: { version: 1, conditions: [{ field: 'Nope__c', operator: 'equals', value: 'x' }] }
        });
        expect(response.status).toBe(400);
        expect((response.body.error as { message: string }).message).toMatch(/Nope__c/);
    });
});
