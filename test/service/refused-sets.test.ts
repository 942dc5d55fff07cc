/**
 * One set the org refuses never sinks the others (DESIGN §2, issue 23): over HTTP, against the local org, a
 * set whose candidate query the org refuses is skipped and named with the org's reason in the preview, the
 * scheduled run, the audit email and the editor's check, while every other set's users are there. The local
 * org refuses the set through its fault switch (refuseQueriesContaining), as a real org refuses a query it
 * will not run; and an Id pasted in lower case, which a real org refuses ("invalid ID field"), is now
 * restored by the engine instead.
 */
import { OrgStore } from '../../service/src/domain/org-store';
import type { LocalOrg } from '../../service/src/local-org';
import type { RunningService } from '../../service/src/main';
import { Evaluator, parseSnapshot, type Evaluation } from '../../service/src/use-cases/evaluation';
import { localGateway } from './support/gateway';
import type { SmtpSink } from './support/peers';
import { api, deactivateAllSets, previewViaApi, startServiceStack, type ServiceStack } from './support/stack';

jest.setTimeout(120_000);

let stack: ServiceStack;
let org: LocalOrg;
let store: OrgStore;
let service: RunningService;
let smtp: SmtpSink;

const REFUSED_TITLE = 'Refused Title';
/** What the local org answers the refused set's query with (a real org's wording for a refused filter). */
const ORG_REASON = "invalid ID field: refused by the test's org";
const ALL_STATUSES = 'Not Invited;Invited;Authorized;Expired;Revoked';

type UserRow = { Id: string; Email: string; Name: string };
let alphaUsers: UserRow[];
let gammaUsers: UserRow[];
let setIds: string[] = [];

async function createSet(name: string, product: string, conditions: unknown[]): Promise<string> {
    const [created] = await store.org.create('Condition_Set__c', [
        {
            Name: name,
            Active__c: true,
            Products__c: product,
            Eligible_Statuses__c: ALL_STATUSES,
            Definition__c: JSON.stringify({ version: 1, conditions })
        }
    ]);
    setIds.push(String(created.id));
    return String(created.id);
}

async function deactivateTestSets(): Promise<void> {
    await store.update(
        setIds.map((id) => ({ attributes: { type: 'Condition_Set__c' }, Id: id, Active__c: false }))
    );
    setIds = [];
}

/** Three sets: two the org accepts around one it refuses (its query holds REFUSED_TITLE). */
async function threeSets(): Promise<void> {
    await createSet('Alpha accounts', 'Meeting Links', [
        { field: 'Id', operator: 'in', value: alphaUsers.map((user) => user.Id) }
    ]);
    await createSet('Refused by the org', 'Round Robin', [
        { field: 'Title', operator: 'equals', value: REFUSED_TITLE }
    ]);
    await createSet('Gamma accounts', 'Instant Booker', [
        { field: 'Id', operator: 'in', value: gammaUsers.map((user) => user.Id) }
    ]);
}

beforeAll(async () => {
    stack = await startServiceStack({ users: 300, seed: 2323 });
    ({ org, store, service, smtp } = stack);
    await deactivateAllSets(store);
    const users = await store.org.query<UserRow>(
        "SELECT Id, Email, Name FROM User WHERE IsActive = true AND UserType = 'Standard' AND Email != null ORDER BY Id LIMIT 10"
    );
    alphaUsers = users.slice(0, 5);
    gammaUsers = users.slice(5, 10);
});

afterAll(async () => {
    await stack?.stop();
});

beforeEach(() => {
    smtp.messages.length = 0;
});

afterEach(async () => {
    org.faults.clear();
    await deactivateTestSets();
});

function refuseTheSet(): void {
    org.faults.refuseQueriesContaining(`Title = '${REFUSED_TITLE}'`, {
        errorCode: 'INVALID_QUERY_FILTER_OPERATOR',
        message: ORG_REASON
    });
}

async function itemUsers(runId: string): Promise<string[]> {
    const response = await api(service, 'GET', `/v1/runs/${runId}/items`);
    expect(response.status).toBe(200);
    return (response.body.items as { userId: string }[]).map((item) => item.userId).sort();
}

const expectedUsers = (): string[] => [...alphaUsers, ...gammaUsers].map((user) => user.Id).sort();

describe('a set the org refuses among several', () => {
    it("when one set is refused, then the preview is Previewed, the others' users are all there, and the refused set is named with the org's reason", async () => {
        // Arrange
        await threeSets();
        refuseTheSet();

        // Act
        const { runId, run } = await previewViaApi(service, org.ids.adminUserIds[0]);

        // Assert
        expect(run.status).toBe('Previewed');
        expect(await itemUsers(runId)).toEqual(expectedUsers());
        const snapshot = await store.runSnapshot(runId);
        const { valid, invalid } = parseSnapshot(snapshot);
        expect(valid.map((set) => set.name).sort()).toEqual(['Alpha accounts', 'Gamma accounts']);
        expect(invalid).toEqual([
            expect.objectContaining({
                name: 'Refused by the org',
                reasons: [expect.stringContaining(`INVALID_QUERY_FILTER_OPERATOR`)]
            })
        ]);
        expect(invalid[0].reasons[0]).toContain(ORG_REASON);
        expect(invalid[0].reasons[0]).toContain('the other sets were evaluated');
    });

    it('when a user is explained after a preview in which the org refused a set, then that set is explained as skipped with the reason, not matched in memory', async () => {
        // Arrange: a user the refused set would match in memory (its Title), and a preview that found it refused
        await threeSets();
        const [user] = alphaUsers;
        await store.update([{ attributes: { type: 'User' }, Id: user.Id, Title: REFUSED_TITLE }]);
        refuseTheSet();
        await previewViaApi(service, org.ids.adminUserIds[0]);

        try {
            // Act
            const response = await api(service, 'GET', `/v1/users/${user.Id}/explain`);

            // Assert
            expect(response.status).toBe(200);
            const sets = response.body.sets as {
                setName: string;
                valid: boolean;
                matched: boolean;
                errors?: { message: string }[];
            }[];
            const refused = sets.find((set) => set.setName === 'Refused by the org');
            expect(refused).toMatchObject({ valid: false, matched: false });
            expect(refused?.errors?.[0].message).toContain(ORG_REASON);
            expect(sets.find((set) => set.setName === 'Alpha accounts')).toMatchObject({
                valid: true,
                matched: true
            });
        } finally {
            await store.update([{ attributes: { type: 'User' }, Id: user.Id, Title: null }]);
        }
    });

    it("when one set is refused, then a scheduled run completes, invites the others' users and the audit email names the refused set with the org's reason", async () => {
        // Arrange
        await threeSets();
        refuseTheSet();

        // Act
        const response = await api(service, 'POST', '/v1/runs', { trigger: 'scheduled' });
        expect(response.status).toBe(202);
        const runId = String(response.body.runId);
        await service.provisioning.waitForRun(runId);

        // Assert
        const run = await api(service, 'GET', `/v1/runs/${runId}`);
        expect(run.body.status).toBe('Completed');
        expect(await itemUsers(runId)).toEqual(expectedUsers());
        const snapshot = await store.runSnapshot(runId);
        expect(parseSnapshot(snapshot).invalid.map((set) => set.name)).toEqual(['Refused by the org']);
        const audits = smtp.messages.filter((message) => String(message.subject).startsWith('Rollcall'));
        expect(audits).toHaveLength(1);
        expect(audits[0].text).toMatch(
            /Skipped as invalid: Refused by the org: Salesforce refused this set's query: INVALID_QUERY_FILTER_OPERATOR: invalid ID field: refused by the test's org/
        );
    });

    it('when the same set is still refused at the next scheduled run, then that run completes and names it again', async () => {
        // Arrange: a first scheduled run with the set refused
        await threeSets();
        refuseTheSet();
        const first = await api(service, 'POST', '/v1/runs', { trigger: 'scheduled' });
        await service.provisioning.waitForRun(String(first.body.runId));
        // The next run builds on the first once the org holds it as finished.
        expect((await store.findRun(String(first.body.runId)))?.Status__c).toBe('Completed');

        // Act
        const second = await api(service, 'POST', '/v1/runs', { trigger: 'scheduled' });
        const runId = String(second.body.runId);
        await service.provisioning.waitForRun(runId);

        // Assert: the sets as evaluated are those of the first run, so it reads only what changed since
        const record = await store.findRun(runId);
        expect(record?.Status__c).toBe('Completed');
        // Incremental: it builds on the first run, not on an earlier test's run of the same second
        // (baseline-run.test.ts), and the refused set is not a change of the sets.
        expect(record?.Evaluation_Kind__c).toBe('Incremental');
        expect(record?.Evaluation_Reason__c).toContain(
            String((await store.findRun(String(first.body.runId)))?.Name)
        );
        expect(parseSnapshot(await store.runSnapshot(runId)).invalid.map((set) => set.name)).toEqual([
            'Refused by the org'
        ]);
    });

    it('when a set refused at the last scheduled run is accepted again, then the next run is a full evaluation that includes it', async () => {
        // Arrange: a first scheduled run with the set refused, then the org accepts it again
        await threeSets();
        refuseTheSet();
        const first = await api(service, 'POST', '/v1/runs', { trigger: 'scheduled' });
        await service.provisioning.waitForRun(String(first.body.runId));
        org.faults.clear();

        // Act
        const second = await api(service, 'POST', '/v1/runs', { trigger: 'scheduled' });
        const runId = String(second.body.runId);
        await service.provisioning.waitForRun(runId);

        // Assert
        const record = await store.findRun(runId);
        expect(record?.Evaluation_Kind__c).toBe('Full');
        expect(record?.Evaluation_Reason__c).toMatch(/condition sets changed/);
        expect(parseSnapshot(await store.runSnapshot(runId)).invalid).toEqual([]);
    });

    it('when a set is refused, then the evaluation costs the refused query and one-row probes more than a clean one', async () => {
        // Arrange: an evaluator with a gateway of its own, so its calls are counted exactly (no heartbeat)
        await threeSets();
        const gateway = localGateway(org);
        const evaluator = new Evaluator(new OrgStore(gateway), { now: () => new Date(org.clock.now()) });
        await evaluator.warm();
        const callsOf = async (): Promise<{ calls: number; evaluation: Evaluation }> => {
            const before = gateway.apiCalls();
            const evaluation = await evaluator.evaluate();
            return { calls: gateway.apiCalls() - before, evaluation };
        };
        const clean = await callsOf();
        refuseTheSet();

        // Act
        const refused = await callsOf();
        await gateway.close();

        // Assert
        // A clean evaluation of three sets: the sets, one candidate query, the candidates' authorizations.
        expect(clean.calls).toBe(3);
        expect(clean.evaluation.invalidSets).toEqual([]);
        expect(refused.evaluation.invalidSets.map((set) => set.name)).toEqual(['Refused by the org']);
        expect(refused.evaluation.entries.map((entry) => entry.userId).sort()).toEqual(expectedUsers());
        // Beside what a clean evaluation reads: the refused candidate query, and the probes (3 sets: halves
        // of 2 and 1, then the 2 alone: 4 one-row queries). The candidate query the org accepts then is the
        // one a clean evaluation makes.
        expect(refused.calls - clean.calls).toBe(1 + 4);
    });

    it("when the org refuses a query no set owns (the managers' ids), then the evaluation fails with the org's error and blames no set", async () => {
        // Arrange
        await createSet('Managers', 'Round Robin', [{ field: 'IsManager', operator: 'equals', value: true }]);
        org.faults.refuseQueriesContaining('ManagerId != null', { message: 'refused managers query' });
        const gateway = localGateway(org);
        const evaluator = new Evaluator(new OrgStore(gateway), { now: () => new Date(org.clock.now()) });
        await evaluator.warm();
        const before = gateway.apiCalls();

        // Act
        const outcome = evaluator.evaluate();

        // Assert: the sets, then the refused managers' query; no probe
        await expect(outcome).rejects.toMatchObject({
            code: 'ORG_REQUEST_FAILED',
            message: expect.stringContaining('refused managers query')
        });
        expect(gateway.apiCalls() - before).toBe(2);
        await gateway.close();
    });

    it("when a set the last preview found refused is left as it is, then the editor's check names it with the org's reason and leaves it out of the overlaps", async () => {
        // Arrange
        await threeSets();
        refuseTheSet();
        await previewViaApi(service, org.ids.adminUserIds[0]);

        // Act
        const response = await api(service, 'POST', '/v1/condition-sets/impact', {
            name: 'Draft',
            products: ['Round Robin'],
            eligibleStatuses: ALL_STATUSES.split(';'),
            definition: {
                version: 1,
                conditions: [{ field: 'Id', operator: 'in', value: [alphaUsers[0].Id] }]
            }
        });

        // Assert
        expect(response.status).toBe(200);
        expect(response.body.matched).toBe(1);
        expect(response.body.invalidSets).toEqual([
            expect.objectContaining({
                name: 'Refused by the org',
                reasons: [expect.stringContaining(ORG_REASON)]
            })
        ]);
        expect((response.body.overlaps as { name: string }[]).map((overlap) => overlap.name)).toEqual([
            'Alpha accounts'
        ]);
    });

    it("when the draft itself is refused by the org, then the editor's check answers 400 with the org's reason", async () => {
        // Arrange
        await threeSets();
        refuseTheSet();

        // Act
        const response = await api(service, 'POST', '/v1/condition-sets/impact', {
            name: 'Draft',
            products: ['Round Robin'],
            definition: {
                version: 1,
                conditions: [{ field: 'Title', operator: 'equals', value: REFUSED_TITLE }]
            }
        });

        // Assert
        expect(response.status).toBe(400);
        expect(response.body.error).toMatchObject({ code: 'VALIDATION_FAILED' });
        expect(String((response.body.error as { message: string }).message)).toContain(ORG_REASON);
    });

    it("when a field every set reads is refused, then the editor's check finds the set that reads it and names it", async () => {
        // Arrange: the org refuses any query selecting Title (a field the integration user cannot read)
        await createSet('Reads titles', 'Round Robin', [{ field: 'Title', operator: 'isNotNull' }]);
        await createSet('Alpha accounts', 'Meeting Links', [
            { field: 'Id', operator: 'in', value: alphaUsers.map((user) => user.Id) }
        ]);
        org.faults.refuseQueriesContaining('Title', { message: "No such column 'Title' on entity 'User'" });

        // Act
        const response = await api(service, 'POST', '/v1/condition-sets/impact', {
            products: ['Round Robin'],
            definition: {
                version: 1,
                conditions: [{ field: 'Id', operator: 'in', value: [alphaUsers[0].Id] }]
            }
        });

        // Assert
        expect(response.status).toBe(200);
        expect(response.body.matched).toBe(1);
        expect(response.body.invalidSets).toEqual([
            expect.objectContaining({
                name: 'Reads titles',
                reasons: [expect.stringContaining("No such column 'Title'")]
            })
        ]);
    });
});

describe('an Id pasted in lower case', () => {
    it("when a set reads ManagerId equals a manager's 18-character Id in lower case, then the preview is Previewed with that manager's reports", async () => {
        // Arrange: a manager whose Id has upper-case letters, so lower-casing it loses them
        const managed = await store.org.query<{ ManagerId: string }>(
            'SELECT ManagerId FROM User WHERE IsActive = true AND ManagerId != null'
        );
        const managerId =
            managed.map((row) => row.ManagerId).find((id) => /[A-Z]/.test(id.slice(0, 15))) ??
            managed[0].ManagerId;
        const reports = await store.org.query<{ Id: string }>(
            `SELECT Id FROM User WHERE IsActive = true AND ManagerId = '${managerId}'`
        );
        expect(reports.length).toBeGreaterThan(0);
        await createSet('Reports of one manager', 'Meeting Links', [
            { field: 'ManagerId', operator: 'equals', value: managerId.toLowerCase() }
        ]);

        // Act
        const { runId, run } = await previewViaApi(service, org.ids.adminUserIds[0]);

        // Assert
        expect(run.status).toBe('Previewed');
        expect(await itemUsers(runId)).toEqual(reports.map((user) => user.Id).sort());
        const snapshot = await store.runSnapshot(runId);
        expect(parseSnapshot(snapshot).invalid).toEqual([]);
    });
});
