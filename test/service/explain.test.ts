/**
 * "Why" for one user (GET /v1/users/{id}/explain) on a set that reads IsManager (the demo's "Sales
 * managers"): the service asks the org about that one user's reports, and the answer agrees with the org.
 */
import type { OrgStore } from '../../service/src/domain/org-store';
import type { RunningService } from '../../service/src/main';
import { api, startServiceStack, type ServiceStack } from './support/stack';

jest.setTimeout(60_000);

let stack: ServiceStack;
let store: OrgStore;
let service: RunningService;

beforeAll(async () => {
    stack = await startServiceStack({ users: 400, seed: 11 });
    ({ store, service } = stack);
});

afterAll(async () => {
    await stack?.stop();
});

interface Explained {
    sets: {
        setName: string;
        matched: boolean;
        conditions: { field?: string; actual?: unknown; outcome?: boolean }[];
    }[];
}

async function isManagerCondition(userId: string) {
    const response = await api(service, 'GET', `/v1/users/${userId}/explain`);
    expect(response.status).toBe(200);
    const set = (response.body as unknown as Explained).sets.find((s) => s.setName === 'Sales managers')!;
    return { set, condition: set.conditions.find((c) => c.field === 'IsManager')! };
}

describe('explaining one user', () => {
    it('when a sales user has active reports, then IsManager is true; when none, false; as the org says', async () => {
        const sales = await store.org.query<{ Id: string }>(
            "SELECT Id FROM User WHERE IsActive = true AND Department = 'Sales' ORDER BY Id"
        );
        const managers = new Set(
            (
                await store.org.query<{ ManagerId: string }>(
                    'SELECT ManagerId FROM User WHERE IsActive = true AND ManagerId != null'
                )
            ).map((row) => row.ManagerId)
        );
        const manager = sales.find((user) => managers.has(user.Id))!;
        const report = sales.find((user) => !managers.has(user.Id))!;
        expect(manager).toBeDefined();
        expect(report).toBeDefined();

        const ofManager = await isManagerCondition(manager.Id);
        const ofReport = await isManagerCondition(report.Id);

        expect(ofManager.condition).toMatchObject({ actual: true, outcome: true });
        expect(ofManager.set.matched).toBe(true);
        expect(ofReport.condition).toMatchObject({ actual: false, outcome: false });
        expect(ofReport.set.matched).toBe(false);
    });
});
