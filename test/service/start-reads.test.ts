/**
 * The reads a run starts with travel together (use-cases/run/start-reads.ts): real runs through the service
 * against the local org, the gateway watched to see which reads share a Composite request, and one read
 * refused on purpose to show each keeps its own outcome, as its own query would have.
 */
import { AppError } from '../../service/src/errors';
import type { LocalOrg } from '../../service/src/local-org';
import type { RunningService } from '../../service/src/main';
import type { OrgStore } from '../../service/src/domain/org-store';
import type { OrgGateway, QueryRequest, SObjectRecord } from '../../service/src/ports';
import { overriding } from './support/gateway';
import { startSmtpSink, type SmtpSink } from './support/peers';
import {
    TEST_DATA_DIR,
    api,
    previewViaApi,
    removeDir,
    serviceEnv,
    startOrgWithOneSet,
    startService,
    type TargetUser
} from './support/stack';

jest.setTimeout(60_000);

let org: LocalOrg;
let dataDir: string;
let store: OrgStore;
let users: TargetUser[];
let smtp: SmtpSink;
let service: RunningService;

/** The objects each queryTogether asked for, in order (`FROM X` of each query). */
const batches: string[][] = [];
/** Reads whose SOQL matches are refused, as the org refuses a malformed query. */
let refuse: RegExp | undefined;

function watched(gateway: OrgGateway): OrgGateway {
    const queryTogether = async (requests: QueryRequest[]) => {
        batches.push(requests.map((request) => /\bFROM (\w+)/.exec(request.soql)?.[1] ?? '?'));
        const outcomes = await gateway.queryTogether(requests);
        return outcomes.map((outcome, index): PromiseSettledResult<SObjectRecord[]> =>
            refuse?.test(requests[index].soql)
                ? {
                      status: 'rejected',
                      reason: new AppError(
                          'ORG_REQUEST_FAILED',
                          'Salesforce query failed: INVALID_FIELD: refused by the test'
                      )
                  }
                : outcome
        );
    };
    return overriding(gateway, { queryTogether });
}

beforeAll(async () => {
    ({ org, dataDir, store, users } = await startOrgWithOneSet({
        users: 150,
        seed: 31,
        count: 3,
        name: 'Start reads'
    }));
    smtp = await startSmtpSink();
    service = await startService(org, serviceEnv(smtp), { wrapOrg: watched });
});

afterAll(async () => {
    await service?.stop();
    await smtp?.close();
    await store?.org.close();
    await org?.stop();
    removeDir(dataDir);
    removeDir(TEST_DATA_DIR);
});

beforeEach(() => {
    batches.length = 0;
    refuse = undefined;
});

async function scheduledRun(): Promise<{ runId: string; run: Record<string, unknown> }> {
    const response = await api(service, 'POST', '/v1/runs', { trigger: 'scheduled' });
    expect(response.status).toBe(202);
    const runId = String(response.body.runId);
    await service.provisioning.waitForRun(runId);
    const [run] = await store.org.query<Record<string, unknown>>(
        `SELECT Status__c, Error__c, Invited_Count__c, Evaluation_Kind__c FROM Provisioning_Run__c WHERE Id = '${runId}'`
    );
    return { runId, run };
}

describe('the reads a run starts with', () => {
    it('when a scheduled run starts, then the settings and the runs in progress are read together under the claim, and the lapsed invitations, the sets and the baseline together before it evaluates', async () => {
        const { run } = await scheduledRun();

        expect(run).toMatchObject({ Status__c: 'Completed', Invited_Count__c: 3 });
        // One invitation each (an admin among them also gets the audit, whose subject starts "Rollcall").
        for (const user of users)
            expect(smtp.to(user.Email).filter((mail) => !mail.subject?.startsWith('Rollcall '))).toHaveLength(
                1
            );
        expect(batches).toEqual([
            ['Rollcall_Settings__c', 'Provisioning_Run__c'],
            ['Calendar_Authorization__c', 'Condition_Set__c', 'Provisioning_Run__c'],
            // The connections' plan (DESIGN §10): the connections and their grants, read together.
            ['Connection__c', 'Access_Grant__c']
        ]);
    });

    it('when a preview is made and executed, then its settings, lapsed invitations and sets travel together, and so do the run and the runs in progress, and the items, snapshot and settings', async () => {
        const admin = org.ids.adminUserIds[0];
        const { runId, run } = await previewViaApi(service, admin);
        expect(run.status).toBe('Previewed');
        const response = await api(service, 'POST', '/v1/runs', { previewRunId: runId, initiatedBy: admin });
        expect(response.status).toBe(202);
        await service.provisioning.waitForRun(runId);

        expect((await service.provisioning.getRun(runId)).counts.invited).toBe(3);
        expect(batches).toEqual([
            ['Calendar_Authorization__c', 'Condition_Set__c', 'Rollcall_Settings__c'],
            // The connections' plan (DESIGN §10): the connections and their grants, read together.
            ['Connection__c', 'Access_Grant__c'],
            ['Provisioning_Run__c', 'Provisioning_Run__c'],
            ['Provisioning_Run_Item__c', 'Provisioning_Run__c', 'Rollcall_Settings__c']
        ]);
    });

    it('when the lapsed-invitations read is refused, then the run still evaluates and invites (the sweep expires them later), as when that query failed alone', async () => {
        refuse = /FROM Calendar_Authorization__c WHERE Status__c = 'Invited'/;

        const { run } = await scheduledRun();

        expect(run).toMatchObject({ Status__c: 'Completed', Invited_Count__c: 3 });
    });

    it('when the condition sets read is refused, then the run fails and says why', async () => {
        refuse = /FROM Condition_Set__c/;

        const { run } = await scheduledRun();

        expect(run.Status__c).toBe('Failed');
        expect(String(run.Error__c)).toContain('refused by the test');
    });

    it('when the settings read is refused under the claim, then the scheduled run is refused and nothing starts', async () => {
        refuse = /FROM Rollcall_Settings__c/;
        const before = await store.org.query('SELECT Id FROM Provisioning_Run__c');

        const response = await api(service, 'POST', '/v1/runs', { trigger: 'scheduled' });

        expect(response.status).toBeGreaterThanOrEqual(400);
        expect(JSON.stringify(response.body)).toContain('refused by the test');
        expect(await store.org.query('SELECT Id FROM Provisioning_Run__c')).toHaveLength(before.length);
    });
});
