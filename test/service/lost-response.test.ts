/**
 * Lost responses: a proxy between the service and the local org lets the org apply one write, then cuts
 * the connection before the answer arrives. The service cannot know whether the write happened; it must
 * end with exactly the records and mails of a clean run. Every write of a preview, of its execution and
 * of a resume is dropped in turn (one scenario each), and each scenario is compared with the clean one.
 */
import type { LocalOrg } from '../../service/src/local-org';
import type { OrgStore } from '../../service/src/domain/org-store';
import { start, type RunningService } from '../../service/src/main';
import { startOrgProxy, startSmtpSink, until, type OrgProxy, type SmtpSink } from './support/peers';
import {
    api,
    orgEnv,
    previewViaApi,
    removeDir,
    serviceEnv,
    startOrgWithOneSet,
    type TargetUser
} from './support/stack';

const USERS = 5;
const PRODUCT = 'Meeting Links';

jest.setTimeout(10 * 60_000);

let org: LocalOrg;
let orgDir: string;
let smtp: SmtpSink;
let store: OrgStore;
let users: TargetUser[];
let proxy: OrgProxy;
const running: RunningService[] = [];

beforeAll(async () => {
    ({
        org,
        dataDir: orgDir,
        store,
        users
    } = await startOrgWithOneSet({
        users: 80,
        seed: 31,
        count: USERS,
        name: 'Lost response set'
    }));
    smtp = await startSmtpSink();
    proxy = await startOrgProxy(org.url);
});

afterEach(async () => {
    while (running.length > 0) await running.pop()?.stop();
    proxy.dropResponseOfWrite = undefined;
    smtp.behaviour = {};
});

afterAll(async () => {
    await proxy?.close();
    await smtp?.close();
    await org?.stop();
    removeDir(orgDir);
});

/** A service that reaches the org only through the proxy; no timers (writes come from the run alone). */
async function serviceViaProxy(extra: Record<string, string> = {}): Promise<RunningService> {
    const service = await start({
        env: {
            ...serviceEnv(smtp, undefined, { HEARTBEAT_SECONDS: '10', STALE_RUN_SECONDS: '60', ...extra }),
            ...orgEnv(org, proxy.url)
        },
        timers: false,
        initialSweep: false
    });
    running.push(service);
    return service;
}

interface OrgCounts {
    runs: number;
    leases: number;
    inviteCounts: number[];
}

async function orgCounts(): Promise<OrgCounts> {
    const [runs, leases, authorizations] = await Promise.all([
        store.org.query('SELECT Id FROM Provisioning_Run__c'),
        store.org.query('SELECT Id FROM Rollcall_Lease__c'),
        store.authorizations(
            users.map((user) => user.Id),
            [PRODUCT]
        )
    ]);
    const byUser = new Map(authorizations.map((row) => [row.User__c, row.Invite_Count__c ?? 0]));
    return {
        runs: runs.length,
        leases: leases.length,
        inviteCounts: users.map((user) => byUser.get(user.Id) ?? 0)
    };
}

function invitationsPerUser(): number[] {
    const invitations = smtp.messages.filter((message) => !String(message.subject).startsWith('Rollcall'));
    return users.map(
        (user) =>
            invitations.filter((message) =>
                [message.to]
                    .flat()
                    .flatMap((to) => to?.value ?? [])
                    .some((to) => to.address?.toLowerCase() === user.Email.toLowerCase())
            ).length
    );
}

/** What a clean run leaves: one run, one claim, one item and one mail per user, each count up by one. */
async function expectCleanOutcome(runId: string, before: OrgCounts, leases = 1): Promise<void> {
    const after = await orgCounts();
    expect(after.runs).toBe(before.runs + 1);
    expect(after.leases).toBe(before.leases + leases);
    expect(after.inviteCounts).toEqual(before.inviteCounts.map((count) => count + 1));
    expect(invitationsPerUser()).toEqual(users.map(() => 1));
    const items = await store.items(runId);
    expect(items.map((item) => item.User__c).sort()).toEqual(users.map((user) => user.Id).sort());
    expect(items.every((item) => item.Status__c === 'Invited')).toBe(true);
    expect(await store.findRun(runId)).toMatchObject({
        Status__c: 'Completed',
        Eligible_Count__c: USERS,
        Invited_Count__c: USERS,
        Failed_Count__c: 0
    });
    expect(await proxy.writes.length).toBeGreaterThan(0);
}

/** Preview, then execute it; the proxy loses the answer to write number `drop` (counted from here). */
async function previewAndExecute(drop?: number): Promise<{ runId: string; writes: number }> {
    smtp.messages.length = 0;
    proxy.writes.length = 0;
    proxy.dropResponseOfWrite = drop;
    const service = await serviceViaProxy();
    const admin = org.ids.adminUserIds[0];
    const { runId, run } = await previewViaApi(service, admin);
    expect({ drop, status: run.status, error: run.error }).toEqual({
        drop,
        status: 'Previewed',
        error: null
    });
    const accepted = await api(service, 'POST', '/v1/runs', { previewRunId: runId, initiatedBy: admin });
    expect(accepted.status).toBe(202);
    await service.provisioning.waitForRun(runId);
    return { runId, writes: proxy.writes.length };
}

/**
 * A run parked by a shutdown after two invitations, resumed by a new service; the proxy loses the answer
 * to write number `drop` of the resume.
 */
async function parkThenResume(drop?: number): Promise<{ runId: string; writes: number }> {
    smtp.messages.length = 0;
    proxy.dropResponseOfWrite = undefined;
    const first = await serviceViaProxy({ SMTP_MAX_CONNECTIONS: '1', SMTP_RETRY_ATTEMPTS: '0' });
    smtp.behaviour.hold = (accepted) => accepted >= 2;
    const admin = org.ids.adminUserIds[0];
    const { runId } = await previewViaApi(first, admin);
    expect((await api(first, 'POST', '/v1/runs', { previewRunId: runId, initiatedBy: admin })).status).toBe(
        202
    );
    await until(() => smtp.held > 0, 'the third invitation to be held');
    await first.stop();
    smtp.behaviour.hold = undefined;
    smtp.held = 0;

    proxy.writes.length = 0;
    proxy.dropResponseOfWrite = drop;
    const second = await serviceViaProxy();
    const swept = await second.provisioning.sweep();
    expect(swept.resumed).toBe(runId);
    await second.provisioning.waitForRun(runId);
    return { runId, writes: proxy.writes.length };
}

describe('a lost response at each write', () => {
    it('when any write of a preview or of its execution loses its response, then the records and mails are those of a clean run', async () => {
        // Arrange: the clean run says how many writes there are
        const cleanBefore = await orgCounts();
        const clean = await previewAndExecute();
        await expectCleanOutcome(clean.runId, cleanBefore);
        await running.pop()?.stop();
        expect(clean.writes).toBeGreaterThanOrEqual(6);

        for (let drop = 1; drop <= clean.writes; drop++) {
            // Act
            const before = await orgCounts();
            const { runId, writes } = await previewAndExecute(drop);
            await running.pop()?.stop();

            // Assert: the dropped write was retried or read back, never doubled
            expect(writes).toBeGreaterThan(drop);
            await expectCleanOutcome(runId, before);
        }
    });

    it('when any write of a resume loses its response, then the records and mails are those of a clean run', async () => {
        // Arrange: the clean resume says how many writes there are (two claims: the run's, the resume's)
        const cleanBefore = await orgCounts();
        const clean = await parkThenResume();
        await expectCleanOutcome(clean.runId, cleanBefore, 2);
        while (running.length > 0) await running.pop()?.stop();
        expect(clean.writes).toBeGreaterThanOrEqual(4);

        for (let drop = 1; drop <= clean.writes; drop++) {
            // Act
            const before = await orgCounts();
            const { runId, writes } = await parkThenResume(drop);
            while (running.length > 0) await running.pop()?.stop();

            // Assert
            expect(writes).toBeGreaterThan(drop);
            await expectCleanOutcome(runId, before, 2);
        }
    });
});
