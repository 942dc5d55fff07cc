/**
 * The live progress of a run's actions in apps over HTTP (DESIGN §10): `GET /v1/runs/{id}` while the run
 * sends its connection actions, with the local org and the local SCIM app reached through the SCIM
 * adapter, as in test/service/connections.test.ts.
 *
 * Deterministic, never timed: the adapter's fetch lets through only as many creates (POST /Users) as the
 * test allows, so the run stands still at a count the test chose; the audit email is held at the finish,
 * so the view is read once every action has its outcome and before the run is recorded finished.
 */
import type { AppDirectoryFactory } from '../../service/src/connections/app-directory';
import type { LocalOrg } from '../../service/src/local-org';
import type { OrgStore } from '../../service/src/domain/org-store';
import type { RunningService } from '../../service/src/main';
import { createScimDirectory } from '../../service/src/adapters/scim';
import { startLocalScimApp, type LocalScimApp } from '../../service/src/local-scim';
import { startSlackEndpoint, startSmtpSink, until, type SlackEndpoint, type SmtpSink } from './support/peers';
import {
    api,
    deactivateAllSets,
    orgStore,
    previewViaApi,
    removeDir,
    serviceEnv,
    startService,
    startTestOrg
} from './support/stack';

jest.setTimeout(180_000);

const TOKEN = 'connections-progress-token-0123456789abcdef';
const CLIENT = { timeoutMs: 5000, retryAttempts: 3, retryBaseMs: 20, maxRetryAfterMs: 2000 };
const USERS = 300;
const AUDIT = 'audit@example.com';
/** The run's steps take seconds on a busy machine; the waits are on state, these only bound them. */
const WAIT_MS = 90_000;

let org: LocalOrg;
let orgDir: string;
let store: OrgStore;
let smtp: SmtpSink;
let slack: SlackEndpoint;
let scim: LocalScimApp;
let service: RunningService;
let admin: string;

/** Creates the app may still receive; a create beyond them waits in the adapter's fetch until allowed. */
let allowedCreates = 0;
let allowed: () => void = () => undefined;
let allowance = new Promise<void>((resolve) => (allowed = resolve));
function allowCreates(count: number): void {
    allowedCreates += count;
    const wake = allowed;
    allowance = new Promise<void>((resolve) => (allowed = resolve));
    wake();
}

/** The audit email (sent at the finish, while the run is still this process's): held until released. */
let releaseAudit: () => void = () => undefined;
const auditHeld = new Promise<void>((resolve) => (releaseAudit = resolve));

const KEY = `progress-${process.pid}`;

beforeAll(async () => {
    ({ org, dataDir: orgDir } = await startTestOrg({ users: 400, seed: 23 }));
    store = orgStore(org);
    smtp = await startSmtpSink({
        beforeAccept: (recipients) =>
            recipients.some((address) => address.toLowerCase() === AUDIT) ? auditHeld : undefined
    });
    slack = await startSlackEndpoint();
    scim = await startLocalScimApp({ token: TOKEN, seedGroups: ['Sales'] });
    const gated: typeof fetch = async (input, init) => {
        const url = new URL(String(input));
        if ((init?.method ?? 'GET') === 'POST' && url.pathname.endsWith('/Users')) {
            while (allowedCreates <= 0) await allowance;
            allowedCreates--;
        }
        return fetch(input, init);
    };
    const directory = createScimDirectory({ baseUrl: scim.url, token: TOKEN, fetch: gated, ...CLIENT });
    const factory: AppDirectoryFactory = {
        forConnection: (key) => (key === KEY ? directory : undefined),
        configuredKeys: () => [KEY]
    };
    service = await startService(org, serviceEnv(smtp, slack), { appDirectories: factory });
    admin = org.ids.adminUserIds[0];
});

afterAll(async () => {
    allowCreates(Number.MAX_SAFE_INTEGER);
    releaseAudit();
    await service?.stop();
    await scim?.stop();
    await smtp?.close();
    await slack?.close();
    await store?.org.close();
    await org?.stop();
    removeDir(orgDir);
});

interface ActionsProgress {
    total: number;
    done: number;
    failed: number;
}

interface RunViewBody {
    status: string;
    counts: Record<string, unknown>;
    progress?: { total?: number; done?: number; actions?: ActionsProgress };
}

async function runView(runId: string): Promise<RunViewBody> {
    const response = await api(service, 'GET', `/v1/runs/${runId}`);
    expect(response.status).toBe(200);
    return response.body as unknown as RunViewBody;
}

/** Reads the run view until its actions progress says `done`; returns that view. */
function actionsDone(runId: string, done: number): Promise<RunViewBody> {
    return until(
        async () => {
            const view = await runView(runId);
            return view.progress?.actions?.done === done ? view : undefined;
        },
        `the run view to say ${done} actions sent`,
        WAIT_MS
    );
}

describe('the live progress of the actions in apps', () => {
    it('when a run sends a few hundred creates, then the run view shows the actions sent grow to the total, and the final counts are unchanged', async () => {
        // Arrange: one connection, one set granting access to 300 users (each one create), nothing sent yet
        await deactivateAllSets(store);
        const users = await store.org.query<{ Id: string }>(
            `SELECT Id FROM User WHERE IsActive = true AND UserType = 'Standard' AND Email != null ORDER BY Id LIMIT ${USERS}`
        );
        expect(users).toHaveLength(USERS);
        const [connection] = await store.org.create('Connection__c', [
            {
                Name: 'Progress app',
                Key__c: KEY,
                Active__c: true,
                Match_On__c: 'Username',
                Deprovisioning__c: 'Off',
                Attribute_Map__c: null
            }
        ]);
        const [set] = await store.org.create('Condition_Set__c', [
            {
                Name: 'Access for progress',
                Active__c: true,
                Products__c: 'Meeting Links',
                Eligible_Statuses__c: 'Not Invited;Invited',
                Definition__c: JSON.stringify({
                    version: 1,
                    conditions: [{ field: 'Id', operator: 'in', value: users.map((user) => user.Id) }]
                })
            }
        ]);
        await store.org.create('Access_Grant__c', [
            { Condition_Set__c: set.id, Connection__c: connection.id, Groups__c: '', Role__c: null }
        ]);
        const preview = await previewViaApi(service, admin);
        expect(preview.run.status).toBe('Previewed');

        // Act: provision; the creates wait in the adapter until the test lets them through
        const accepted = await api(service, 'POST', '/v1/runs', {
            previewRunId: preview.runId,
            initiatedBy: admin,
            notify: { admins: false, recipients: [AUDIT] }
        });
        expect(accepted.status).toBe(202);
        const runId = preview.runId;
        const started = await actionsDone(runId, 0);
        allowCreates(100);
        const partway = await actionsDone(runId, 100);
        allowCreates(Number.MAX_SAFE_INTEGER);
        const sent = await actionsDone(runId, USERS);
        releaseAudit();
        await service.provisioning.waitForRun(runId);
        const final = await runView(runId);

        // Assert: the invitations were all processed, then the actions moved 0 → 100 → 300 of 300
        expect(started.status).toBe('Running');
        expect(started.progress?.done).toBe(started.progress?.total);
        expect(started.progress?.actions).toEqual({ total: USERS, done: 0, failed: 0 });
        expect(partway.progress?.actions).toEqual({ total: USERS, done: 100, failed: 0 });
        expect(sent.status).toBe('Running');
        expect(sent.progress?.actions).toEqual({ total: USERS, done: USERS, failed: 0 });
        // …while the view's counts stay the invitations' until the finish writes the run's one line
        const invited = Number(sent.counts.invited);
        expect(invited).toBeGreaterThan(0);
        expect(sent.counts).toMatchObject({
            failed: 0,
            summary: `${invited} invited, 0 reminded, 0 skipped, 0 failed`
        });
        expect(final.status).toBe('Completed');
        expect(final.progress).toBeUndefined();
        expect(final.counts).toMatchObject({
            total: invited,
            invited,
            reminded: 0,
            skipped: 0,
            failed: 0,
            summary: `${invited} invited, 0 reminded, 0 skipped, 0 failed, ${USERS} created`
        });
        expect(scim.stats().byMethod.POST).toBe(USERS);
        // The finish waited on the held audit email: the view above was read before the run was recorded.
        expect(smtp.to(AUDIT)).toHaveLength(1);
    });
});
