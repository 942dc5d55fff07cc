/**
 * Faults, each a test: a killed process, SMTP 4xx / 5xx / down, Salesforce 503s, session expiry,
 * the API limit spent, Slack 500 and 429.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalOrg } from '../../service/src/local-org';
import type { RunningService } from '../../service/src/main';
import type { OrgStore } from '../../service/src/domain/org-store';
import type { OrgGateway, QueryPageInfo } from '../../service/src/ports';
import {
    startOrgProxy,
    startSlackEndpoint,
    startSmtpSink,
    until,
    type SlackEndpoint,
    type SmtpSink
} from './support/peers';
import {
    API_SECRET,
    TEST_DATA_DIR,
    TOKEN_SECRET,
    api,
    previewViaApi,
    orgStore,
    removeDir,
    serviceEnv,
    startService,
    startServiceProcess,
    startTestOrg,
    createSetFor,
    deactivateAllSets
} from './support/stack';

jest.setTimeout(90_000);

let org: LocalOrg;
let dataDir: string;
let smtp: SmtpSink;
let slack: SlackEndpoint;
let store: OrgStore;
let service: RunningService | undefined;
let cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
    ({ org, dataDir } = await startTestOrg({ users: 300, seed: 11 }));
    smtp = await startSmtpSink();
    slack = await startSlackEndpoint();
    store = orgStore(org);
    await deactivateAllSets(store);
});

afterEach(async () => {
    await service?.stop();
    service = undefined;
    for (const cleanup of cleanups) await cleanup();
    cleanups = [];
    org.faults.clear();
    org.resetApiCounter();
    smtp.messages.length = 0;
    smtp.held = 0;
    smtp.behaviour = {};
    slack.calls.length = 0;
    slack.respond.length = 0;
});

afterAll(async () => {
    removeDir(TEST_DATA_DIR);
    await smtp?.close();
    await slack?.close();
    await org?.stop();
    removeDir(dataDir);
});

async function targetUsers(count: number, name = `Fault set ${Date.now()}`) {
    const { users, setId } = await createSetFor(store, count, {
        name,
        product: 'Meeting Links',
        statuses: 'Not Invited;Invited;Expired;Authorized'
    });
    cleanups.push(async () => {
        await store.update([{ attributes: { type: 'Condition_Set__c' }, Id: setId, Active__c: false }]);
    });
    return users;
}

const SMALL_DAILY_LIMIT = 60;

/** A dedicated org with a small daily API limit whose only active set targets `count` users. */
async function limitedOrgTargeting(count: number, seed: number, set: { name: string; product: string }) {
    const limited = await startTestOrg({ users: 200, seed, dailyApiLimit: SMALL_DAILY_LIMIT });
    cleanups.push(async () => {
        await limited.org.stop();
        removeDir(limited.dataDir);
    });
    const limitedStore = orgStore(limited.org);
    await deactivateAllSets(limitedStore);
    const { users } = await createSetFor(limitedStore, count, { ...set, statuses: 'Not Invited' });
    limited.org.resetApiCounter();
    return { limited, limitedStore, users };
}

/** Spends what is left of the limited org's daily API calls. */
async function spendApiLimit(limited: { org: LocalOrg }, limitedStore: OrgStore): Promise<void> {
    for (let used = limited.org.apiUsage().used; used < SMALL_DAILY_LIMIT; used++) {
        await limitedStore.org.query('SELECT Id FROM Organization').catch(() => undefined);
    }
}

async function scheduledRun(target: { url: string }): Promise<string> {
    const response = await api(target, 'POST', '/v1/runs', { trigger: 'scheduled' });
    expect(response.status).toBe(202);
    return String(response.body.runId);
}

function invitationsTo(email: string) {
    return smtp.to(email).filter((m) => !String(m.subject).startsWith('Rollcall'));
}

describe('process killed mid-run', () => {
    it('when the service is killed mid-run and another resumes it, then every eligible user is invited exactly once', async () => {
        // Arrange: 30 users; the SMTP server accepts 10 mails, then stops answering
        const users = await targetUsers(30);
        smtp.behaviour.hold = (accepted) => accepted >= 10;
        const { child, url } = await startServiceProcess({
            ...serviceEnv(smtp, slack, { SMTP_MAX_CONNECTIONS: '1' }),
            SF_LOGIN_URL: org.url,
            SF_CLIENT_ID: org.jwt.consumerKey,
            SF_USERNAME: org.jwt.username,
            SF_PRIVATE_KEY: org.jwt.privateKeyPem
        } as Record<string, string | undefined>);
        const runId = await scheduledRun({ url });
        await until(async () => smtp.held > 0, 'the 11th mail to be held');
        await until(
            async () =>
                (await store.items(runId)).filter((item) => item.Status__c === 'Invited').length === 10,
            'the first 10 outcomes to be written'
        );

        // Act: kill -9, then a new service whose clock says the heartbeat is stale
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
        smtp.behaviour.hold = undefined;
        service = await startService(org, serviceEnv(smtp, slack), {
            clock: { now: () => new Date(Date.now() + 3600_000) }
        });
        const swept = await service.provisioning.sweep();
        await service.provisioning.waitForRun(runId);

        // Assert
        expect(swept.resumed).toBe(runId);
        for (const user of users) expect(invitationsTo(user.Email)).toHaveLength(1);
        const run = await store.findRun(runId);
        expect(run).toMatchObject({ Status__c: 'Completed', Invited_Count__c: 30, Failed_Count__c: 0 });
        expect(run?.Error__c).toContain('Resumed');
        const items = await store.items(runId);
        expect(items.every((item) => item.Status__c === 'Invited')).toBe(true);
        expect((await store.authorizationsOfRun(runId)).length).toBe(30);
    });
});

/**
 * The crash window of batched org writes: the child is killed (SIGKILL) after the SMTP server accepted
 * `accepted` invitations whose outcomes the org refused to record (every update answers 503), so the org
 * still has all items Pending. A new service then resumes the run with `resumeDataDir` as its DATA_DIR.
 */
async function killWhileOrgRefusesWrites(count: number, accepted: number, resumeDataDir: string) {
    const users = await targetUsers(count);
    const before = new Map(
        (
            await store.authorizations(
                users.map((u) => u.Id),
                ['Meeting Links']
            )
        ).map((row) => [row.User__c, row.Invite_Count__c ?? 0])
    );
    const proxy = await startOrgProxy(org.url);
    cleanups.push(() => proxy.close());
    // The org refuses writes from the first invitation on: the run and its Pending items are written,
    // the outcomes are not.
    smtp.behaviour.hold = (sofar) => {
        proxy.refuseWrites = true;
        return sofar >= accepted;
    };
    const { child, url } = await startServiceProcess({
        ...serviceEnv(smtp, slack, { SMTP_MAX_CONNECTIONS: '1', SMTP_TIMEOUT_MS: '60000' }),
        SF_LOGIN_URL: proxy.url,
        SF_JWT_AUDIENCE: org.url,
        SF_CLIENT_ID: org.jwt.consumerKey,
        SF_USERNAME: org.jwt.username,
        SF_PRIVATE_KEY: org.jwt.privateKeyPem
    } as Record<string, string | undefined>);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    cleanups.push(async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
    });
    const runId = await scheduledRun({ url });
    await until(() => smtp.held > 0, `mail ${accepted + 1} to be held`);
    await until(() => proxy.refused > 0, 'the org to refuse an outcome write');
    const itemsAtKill = await store.items(runId);

    child.kill('SIGKILL');
    await exited;
    smtp.behaviour.hold = undefined;
    service = await startService(org, serviceEnv(smtp, slack, { DATA_DIR: resumeDataDir }), {
        clock: { now: () => new Date(Date.now() + 3600_000) }
    });
    const swept = await service.provisioning.sweep();
    await service.provisioning.waitForRun(runId);
    return { users, before, runId, itemsAtKill, swept };
}

describe('process killed while the org refuses outcome writes', () => {
    it('when the service is killed after mails were accepted but before their outcomes reached the org, then the resume applies its journal and invites everyone exactly once', async () => {
        // Arrange + Act: 12 users; 5 mails accepted, none recorded in the org; kill -9; resume on the same DATA_DIR
        const { users, before, runId, itemsAtKill, swept } = await killWhileOrgRefusesWrites(
            12,
            5,
            TEST_DATA_DIR
        );

        // Assert: the org knew nothing of the 5 invitations when the process died
        expect(smtp.messages.length).toBeGreaterThanOrEqual(5);
        expect(itemsAtKill.filter((item) => item.Status__c === 'Pending')).toHaveLength(12);
        // Assert: each user has exactly one invitation; run, items and authorizations are right
        expect(swept.resumed).toBe(runId);
        for (const user of users) expect(invitationsTo(user.Email)).toHaveLength(1);
        const run = await store.findRun(runId);
        expect(run).toMatchObject({ Status__c: 'Completed', Invited_Count__c: 12, Failed_Count__c: 0 });
        const items = await store.items(runId);
        expect(items.map((item) => item.Status__c)).toEqual(Array(12).fill('Invited'));
        const authorizations = await store.authorizationsOfRun(runId);
        expect(authorizations).toHaveLength(12);
        for (const row of authorizations) {
            expect(row).toMatchObject({
                Status__c: 'Invited',
                Invite_Count__c: (before.get(row.User__c) ?? 0) + 1
            });
        }
        expect(existsSync(join(TEST_DATA_DIR, 'journal', `${runId}.jsonl`))).toBe(false);
    });

    it('when the resuming service does not have the journal (another host, DATA_DIR lost), then the accepted mails are sent again: the journal is what prevents it', async () => {
        // Arrange + Act: the same crash, resumed with an empty DATA_DIR
        const elsewhere = mkdtempSync(join(tmpdir(), 'rollcall-other-host-'));
        cleanups.push(async () => removeDir(elsewhere));
        const { users, runId } = await killWhileOrgRefusesWrites(12, 5, elsewhere);

        // Assert: the run completes, but the 5 users invited before the kill got a second invitation
        expect((await store.findRun(runId))?.Status__c).toBe('Completed');
        const twice = users.filter((user) => invitationsTo(user.Email).length === 2);
        expect(twice).toHaveLength(5);
        expect(users.filter((user) => invitationsTo(user.Email).length === 1)).toHaveLength(7);
    });
});

describe('SMTP faults', () => {
    it('when the SMTP server answers 451 twice, then the invitation is retried and delivered once', async () => {
        const [user] = await targetUsers(1);
        let failures = 0;
        smtp.behaviour.failData = (recipients) =>
            recipients.includes(user.Email.toLowerCase()) && failures++ < 2
                ? { code: 451, message: '4.3.0 Try again later' }
                : undefined;
        service = await startService(org, serviceEnv(smtp, slack));

        const runId = await scheduledRun(service);
        await service.provisioning.waitForRun(runId);

        expect(failures).toBe(3);
        expect(invitationsTo(user.Email)).toHaveLength(1);
        expect((await store.items(runId))[0]).toMatchObject({ Status__c: 'Invited' });
    });

    it('when the SMTP server rejects one recipient with 550, then only that item fails, with the server reason', async () => {
        const users = await targetUsers(3);
        smtp.behaviour.rejectRecipient = (address) =>
            address.toLowerCase() === users[1].Email.toLowerCase()
                ? { code: 550, message: '5.1.1 Mailbox unavailable' }
                : undefined;
        service = await startService(org, serviceEnv(smtp, slack));

        const runId = await scheduledRun(service);
        await service.provisioning.waitForRun(runId);

        const items = await store.items(runId);
        const failed = items.find((item) => item.User__c === users[1].Id);
        expect(failed).toMatchObject({
            Status__c: 'Failed',
            Reason__c: expect.stringContaining('Mailbox unavailable')
        });
        expect(items.filter((item) => item.Status__c === 'Invited')).toHaveLength(2);
        const run = await store.findRun(runId);
        expect(run).toMatchObject({
            Status__c: 'Completed with Errors',
            Failed_Count__c: 1,
            Invited_Count__c: 2
        });
        const audit = smtp.messages.find((m) => String(m.subject).startsWith('Rollcall'));
        expect(audit?.text).toContain(`<${users[1].Email.toLowerCase()}>: SMTP rejected: 550`);
        expect(audit?.text).toContain('Mailbox unavailable');
        const failures = JSON.stringify(slack.calls[0].blocks);
        expect(failures).toContain('*Failures*');
        expect(failures).toContain('Mailbox unavailable');
    });

    it('when the SMTP server is down, then every item fails with the reason and the run still finishes', async () => {
        const users = await targetUsers(5);
        service = await startService(org, serviceEnv({ port: 1 }, slack));

        const runId = await scheduledRun(service);
        await service.provisioning.waitForRun(runId);

        const items = await store.items(runId);
        expect(items).toHaveLength(users.length);
        expect(
            items.every(
                (item) => item.Status__c === 'Failed' && /SMTP unavailable/.test(String(item.Reason__c))
            )
        ).toBe(true);
        const run = await store.findRun(runId);
        expect(run).toMatchObject({ Status__c: 'Completed with Errors', Failed_Count__c: 5 });
        expect(JSON.parse(String(run?.Notification_Outcome__c)).email.status).toBe('failed');
        expect(slack.calls).toHaveLength(1);
    });
});

describe('bad audit recipients', () => {
    it('when the settings list an address that is not one, then it is dropped and named and the others still get the audit', async () => {
        // Arrange
        await targetUsers(1);
        const [settings] = await store.org.query<{ Id: string; Recipients__c: string | null }>(
            'SELECT Id, Recipients__c FROM Rollcall_Settings__c'
        );
        const setRecipients = (value: string | null) =>
            store.update([
                { attributes: { type: 'Rollcall_Settings__c' }, Id: settings.Id, Recipients__c: value }
            ]);
        await setRecipients('ops@example.com; not-an-address');
        cleanups.push(async () => {
            await setRecipients(settings.Recipients__c);
        });
        service = await startService(org, serviceEnv(smtp, slack));

        // Act
        const runId = await scheduledRun(service);
        await service.provisioning.waitForRun(runId);

        // Assert
        const audit = smtp.messages.find((m) => String(m.subject).startsWith('Rollcall'));
        expect(audit).toBeDefined();
        expect(smtp.to('ops@example.com')).toContain(audit);
        const outcome = JSON.parse(String((await store.findRun(runId))?.Notification_Outcome__c));
        expect(outcome.email).toMatchObject({
            status: 'sent',
            detail: expect.stringContaining('"not-an-address"')
        });
    });
});

describe('Salesforce faults', () => {
    it('when Salesforce answers 503 three times, then the preview still succeeds', async () => {
        await targetUsers(2);
        service = await startService(org, serviceEnv(smtp, slack));
        await api(service, 'GET', '/readyz');
        org.faults.failNext(3, 503);

        const preview = await previewViaApi(service, org.ids.adminUserIds[0]);

        expect(preview.run.status).toBe('Previewed');
        expect(preview.run.counts).toMatchObject({ eligible: 2 });
        const metrics = await (await fetch(`${service.url}/metrics`)).text();
        expect(metrics).toMatch(/rollcall_salesforce_retries_total\{reason="SERVER_UNAVAILABLE"\} 3/);
    });

    it('when the session expires mid-run, then the service signs in again and finishes the run', async () => {
        const users = await targetUsers(8);
        smtp.behaviour.hold = (accepted) => accepted >= 3;
        service = await startService(org, serviceEnv(smtp, slack, { SMTP_MAX_CONNECTIONS: '1' }));
        const runId = await scheduledRun(service);
        await until(() => smtp.held > 0, 'a held mail');

        org.faults.expireAllSessions();
        smtp.behaviour.hold = undefined;
        await service.provisioning.waitForRun(runId);

        for (const user of users) expect(invitationsTo(user.Email)).toHaveLength(1);
        expect(await store.findRun(runId)).toMatchObject({ Status__c: 'Completed', Invited_Count__c: 8 });
    });

    it('when the API limit is spent mid-run, then sending stops and says why, and the run finishes once calls are available', async () => {
        // Arrange: a dedicated org with a small daily limit
        const { limited, limitedStore, users } = await limitedOrgTargeting(12, 3, {
            name: 'Limit test',
            product: 'Round Robin'
        });
        smtp.behaviour.hold = (accepted) => accepted >= 4;
        service = await startService(limited.org, serviceEnv(smtp, slack, { SMTP_MAX_CONNECTIONS: '1' }));
        const runId = await scheduledRun(service);
        await until(() => smtp.held > 0, 'a held mail');

        // Act: spend the rest of the day's calls, then let mail flow again
        await spendApiLimit(limited, limitedStore);
        const active = service.provisioning;
        const running = service;
        // The org refuses every call: GET /v1/runs/{id} answers from the process and says why.
        const paused = await until(
            async () =>
                (
                    (await api(running, 'GET', `/v1/runs/${runId}`)).body.progress as
                        { paused?: string } | undefined
                )?.paused,
            'the run to pause'
        );
        const sentWhilePaused = smtp.messages.length;

        // Assert: stopped cleanly, says why
        expect(paused).toContain('REQUEST_LIMIT_EXCEEDED');
        expect(smtp.messages.length).toBe(sentWhilePaused);

        // Act: calls are available again
        limited.org.resetApiCounter();
        smtp.behaviour.hold = undefined;
        await active.waitForRun(runId);

        // Assert: finished, everyone invited once, the pause recorded
        const run = await limitedStore.findRun(runId);
        expect(run?.Status__c).toBe('Completed');
        expect(run?.Error__c).toContain('REQUEST_LIMIT_EXCEEDED');
        for (const user of users) {
            expect(invitationsTo(user.Email)).toHaveLength(1);
        }
    });
});

describe('API limit spent, then the service stops', () => {
    it('when the service stops while the limit is spent, then a later start resumes the run and invites everyone once', async () => {
        // Arrange: a dedicated org with a small daily limit and one set of 10 users
        const { limited, limitedStore, users } = await limitedOrgTargeting(10, 4, {
            name: 'Limit then restart',
            product: 'Instant Booker'
        });
        // A slow SMTP server: the limit is spent while invitations are going out
        smtp.behaviour.delayMs = 100;
        const env = serviceEnv(smtp, slack, { SMTP_MAX_CONNECTIONS: '1' });
        service = await startService(limited.org, env);
        const runId = await scheduledRun(service);
        await until(() => smtp.messages.length >= 3, 'three invitations');
        await spendApiLimit(limited, limitedStore);
        const first = service;
        await until(async () => {
            const progress = (await first.provisioning.getRun(runId)).progress;
            return progress && 'paused' in progress ? progress.paused : undefined;
        }, 'the run to pause');

        // Act: stop while the org refuses every call, then start again once calls are available
        await service.stop();
        service = undefined;
        limited.org.resetApiCounter();
        service = await startService(limited.org, env, {
            clock: { now: () => new Date(Date.now() + 3600_000) }
        });
        const swept = await service.provisioning.sweep();
        await service.provisioning.waitForRun(runId);

        // Assert
        expect(swept.resumed).toBe(runId);
        for (const user of users) {
            expect(invitationsTo(user.Email)).toHaveLength(1);
        }
        expect(await limitedStore.findRun(runId)).toMatchObject({
            Status__c: 'Completed',
            Invited_Count__c: 10,
            Failed_Count__c: 0,
            Eligible_Count__c: 10
        });
        expect(existsSync(join(TEST_DATA_DIR, 'journal', `${runId}.jsonl`))).toBe(false);
    });
});

describe('Slack faults', () => {
    it.each([
        [500, undefined, 'Slack HTTP 500'],
        [429, { 'retry-after': '30' }, 'rate limited'],
        [200, undefined, 'Slack refused: channel_not_found']
    ])(
        'when Slack answers %s, then the run completes and the outcome is recorded',
        async (status, headers, expected) => {
            await targetUsers(1);
            slack.respond.push({
                status,
                headers,
                body: { ok: false, error: status === 200 ? 'channel_not_found' : 'ratelimited' }
            });
            service = await startService(org, serviceEnv(smtp, slack));

            const runId = await scheduledRun(service);
            await service.provisioning.waitForRun(runId);

            const run = await store.findRun(runId);
            expect(run?.Status__c).toBe('Completed');
            const outcome = JSON.parse(String(run?.Notification_Outcome__c));
            expect(outcome.slack).toMatchObject({
                status: 'failed',
                detail: expect.stringContaining(expected)
            });
            expect(JSON.stringify(outcome)).not.toContain('xoxb');
        }
    );
});

describe('secrets', () => {
    it('when runs are recorded, then no secret appears in them', async () => {
        const runs = await store.listRuns(50);
        const text = JSON.stringify(runs);
        expect(text).not.toContain(API_SECRET);
        expect(text).not.toContain(TOKEN_SECRET);
    });
});

describe('a long evaluation', () => {
    it('when a scheduled run evaluates for longer than its lease lives, then the lease is kept, no other instance takes the run over and everyone is invited once', async () => {
        // Arrange: the candidate query takes 3 s; the lease lives 2 s; a second instance sweeps meanwhile
        const users = await targetUsers(5);
        const slowCandidates = (gateway: OrgGateway): OrgGateway =>
            Object.assign(Object.create(gateway) as OrgGateway, {
                query: async <T extends object>(soql: string): Promise<T[]> => {
                    if (/FROM User WHERE IsActive = true AND/.test(soql))
                        await new Promise((r) => setTimeout(r, 3000));
                    return gateway.query<T>(soql);
                },
                // The evaluation reads its candidates page by page.
                queryPages: async <T extends object>(
                    soql: string,
                    onPage: (records: T[], page: QueryPageInfo) => unknown
                ): Promise<void> => {
                    if (/FROM User WHERE IsActive = true AND/.test(soql))
                        await new Promise((r) => setTimeout(r, 3000));
                    return gateway.queryPages<T>(soql, onPage);
                }
            });
        const timings = { HEARTBEAT_SECONDS: '0.25', STALE_RUN_SECONDS: '2' };
        service = await startService(org, serviceEnv(smtp, slack, timings), { wrapOrg: slowCandidates });
        const other = await startService(org, serviceEnv(smtp, slack, timings));
        cleanups.push(() => other.stop());

        // Act
        const runId = await scheduledRun(service);
        const resumedByOther: (string | undefined)[] = [];
        while (service.provisioning.activeRunId() === runId) {
            resumedByOther.push((await other.provisioning.sweep()).resumed);
            await new Promise((r) => setTimeout(r, 250));
        }
        await service.provisioning.waitForRun(runId);
        await other.provisioning.waitForRun();

        // Assert
        expect(resumedByOther.length).toBeGreaterThan(8);
        expect(resumedByOther.filter(Boolean)).toEqual([]);
        for (const user of users) expect(invitationsTo(user.Email)).toHaveLength(1);
        const run = await store.findRun(runId);
        expect(run).toMatchObject({ Status__c: 'Completed', Invited_Count__c: 5 });
        expect(run?.Error__c ?? '').not.toContain('Resumed');
    });
});

describe('graceful shutdown', () => {
    it('when the service stops mid-run, then the run is parked and the next start finishes it without inviting anyone twice', async () => {
        // Arrange: 6 users; mail is held after the second
        const users = await targetUsers(6);
        smtp.behaviour.hold = (accepted) => accepted >= 2;
        service = await startService(
            org,
            serviceEnv(smtp, slack, { SMTP_MAX_CONNECTIONS: '1', SMTP_RETRY_ATTEMPTS: '0' })
        );
        const runId = await scheduledRun(service);
        await until(() => smtp.held > 0, 'a held mail');

        // Act: stop (SIGTERM path), then start again
        await service.stop();
        service = undefined;
        const parked = await store.findRun(runId);
        const parkedItems = await store.items(runId);
        smtp.behaviour.hold = undefined;
        service = await startService(org, serviceEnv(smtp, slack));
        const swept = await service.provisioning.sweep();
        await service.provisioning.waitForRun(runId);

        // Assert
        expect(parked).toMatchObject({ Status__c: 'Running', Heartbeat__c: null });
        expect(parked?.Error__c).toContain('Parked');
        expect(parkedItems.filter((item) => item.Status__c === 'Invited')).toHaveLength(2);
        expect(parkedItems.filter((item) => item.Status__c === 'Pending')).toHaveLength(4);
        expect(swept.resumed).toBe(runId);
        for (const user of users) expect(invitationsTo(user.Email)).toHaveLength(1);
        expect(await store.findRun(runId)).toMatchObject({ Status__c: 'Completed', Invited_Count__c: 6 });
    });
});
