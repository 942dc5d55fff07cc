/**
 * The invitation lifecycle and provenance (DESIGN §8) over the local org, a real SMTP server and signed
 * webhook calls, with the service's clock moved forward by days: expiry and re-invitation, reminders,
 * revocation and re-authorization, Manual records untouched by every kind of run, and a webhook's
 * Authorized that an in-flight run must not overwrite.
 */
import type { LocalOrg } from '../../service/src/local-org';
import type { AuthorizationRecord, OrgStore } from '../../service/src/domain/org-store';
import { signWebhook } from '../../service/src/domain/tokens';
import type { RunningService } from '../../service/src/main';
import { startSlackEndpoint, startSmtpSink, until, type SlackEndpoint, type SmtpSink } from './support/peers';
import {
    WEBHOOK_SECRET,
    api,
    deactivateAllSets,
    orgStore,
    previewViaApi,
    removeDir,
    serviceEnv,
    startService,
    startTestOrg,
    type TargetUser
} from './support/stack';

jest.setTimeout(120_000);

const DAY_MS = 86_400_000;
const PRODUCT = 'Meeting Links';

/** The service's clock, moved forward by the tests (the org's own stamps stay real). */
const clock = {
    offsetMs: 0,
    now(): Date {
        return new Date(Date.now() + this.offsetMs);
    },
    advanceDays(days: number): void {
        this.offsetMs += days * DAY_MS;
    }
};

let org: LocalOrg;
let dataDir: string;
let store: OrgStore;
let smtp: SmtpSink;
let service: RunningService;
let slack: SlackEndpoint;
let admin: string;

beforeAll(async () => {
    ({ org, dataDir } = await startTestOrg({ users: 200, seed: 11 }));
    store = orgStore(org);
    smtp = await startSmtpSink();
    slack = await startSlackEndpoint();
    service = await startService(org, serviceEnv(smtp, slack), { clock });
    admin = org.ids.adminUserIds[0];
});

afterAll(async () => {
    await service?.stop();
    await smtp?.close();
    await slack?.close();
    await store?.org.close();
    await org?.stop();
    removeDir(dataDir);
});

let setCounter = 0;
/** A fresh world per test: only this test's set is active, for `count` users not used before. */
async function freshSet(
    count: number,
    statuses: string
): Promise<{ users: TargetUser[]; setId: string; name: string }> {
    await deactivateAllSets(store);
    const all = await store.org.query<TargetUser>(
        `SELECT Id, Email, Name FROM User WHERE IsActive = true AND UserType = 'Standard' AND Email != null ORDER BY Id LIMIT ${(setCounter + 1) * 6}`
    );
    const users = all.slice(setCounter * 6, setCounter * 6 + count);
    setCounter++;
    const name = `Lifecycle set ${setCounter}`;
    const [created] = await store.org.create('Condition_Set__c', [
        {
            Name: name,
            Active__c: true,
            Products__c: PRODUCT,
            Eligible_Statuses__c: statuses,
            Definition__c: JSON.stringify({
                version: 1,
                conditions: [{ field: 'Id', operator: 'in', value: users.map((u) => u.Id) }]
            })
        }
    ]);
    return { users, setId: String(created.id), name };
}

async function allowStatuses(setId: string, statuses: string): Promise<void> {
    await store.update([
        { attributes: { type: 'Condition_Set__c' }, Id: setId, Eligible_Statuses__c: statuses }
    ]);
}

async function setReminders(days: number | null, max: number | null): Promise<void> {
    const [settings] = await store.org.query<{ Id: string }>(
        'SELECT Id FROM Rollcall_Settings__c WHERE SetupOwnerId != null LIMIT 1'
    );
    await store.org.update([
        {
            attributes: { type: 'Rollcall_Settings__c' },
            Id: settings.Id,
            Reminder_Days__c: days,
            Reminder_Max__c: max
        }
    ]);
}

async function scheduledRun(): Promise<string> {
    const { runId } = await service.provisioning.scheduled();
    await service.provisioning.waitForRun(runId);
    return runId;
}

async function manualRun(): Promise<string> {
    const { runId, run } = await previewViaApi(service, admin);
    expect(run.status).toBe('Previewed');
    const response = await api(service, 'POST', '/v1/runs', { previewRunId: runId, initiatedBy: admin });
    expect(response.status).toBe(202);
    await service.provisioning.waitForRun(runId);
    return runId;
}

async function record(user: TargetUser): Promise<AuthorizationRecord & Record<string, unknown>> {
    const [row] = await store.org.query<AuthorizationRecord & Record<string, unknown>>(
        `SELECT Id, Status__c, Source__c, Invite_Count__c, Invited_At__c, Expired_At__c, Authorized_At__c, Revoked_At__c, Reminder_Count__c, Last_Reminder_At__c, Granted_By_Sets__c, Last_Run__c, SystemModstamp FROM Calendar_Authorization__c WHERE Key__c = '${user.Id}:${PRODUCT}'`
    );
    return row;
}

function mailsTo(user: TargetUser): { subject: string }[] {
    // Some users are Rollcall admins too: their audit emails are not what these tests count.
    return smtp
        .to(user.Email)
        .map((mail) => ({ subject: mail.subject ?? '' }))
        .filter((mail) => !mail.subject.startsWith('Rollcall '));
}

async function webhook(
    body: Record<string, unknown>
): Promise<{ status: number; body: Record<string, unknown> }> {
    const text = JSON.stringify(body);
    return api(service, 'POST', '/v1/authorizations', text, {
        'x-rollcall-signature': signWebhook(WEBHOOK_SECRET, text, clock.now())
    });
}

async function items(runId: string) {
    return store.items(runId);
}

describe('expiry', () => {
    it('when an invitation lapses unused, then the sweep marks it Expired, and a set allowing Expired invites again once', async () => {
        const { users, setId, name } = await freshSet(3, 'Not Invited');
        await scheduledRun();
        const invited = await record(users[0]);
        expect(invited).toMatchObject({ Status__c: 'Invited', Source__c: 'Rule', Invite_Count__c: 1 });
        expect(invited.Granted_By_Sets__c).toBe(name);

        clock.advanceDays(7);
        clock.offsetMs += 60_000;
        await service.provisioning.sweep();

        const expired = await record(users[0]);
        expect(expired.Status__c).toBe('Expired');
        // The lapse itself: the invitation's time plus the link lifetime (168 h), not the sweep's time.
        expect(Date.parse(String(expired.Expired_At__c))).toBe(
            Date.parse(String(invited.Invited_At__c)) + 7 * DAY_MS
        );
        await scheduledRun();
        expect(mailsTo(users[0])).toHaveLength(1);

        await allowStatuses(setId, 'Not Invited;Expired');
        await scheduledRun();
        await scheduledRun();

        expect(mailsTo(users[0])).toHaveLength(2);
        expect(await record(users[0])).toMatchObject({
            Status__c: 'Invited',
            Invite_Count__c: 2,
            Expired_At__c: null,
            Reminder_Count__c: 0
        });
    });

    it('when an invitation lapsed and no sweep ran, then the next run expires it before it evaluates', async () => {
        const { users } = await freshSet(2, 'Not Invited;Expired');
        await manualRun();
        clock.advanceDays(8);

        const runId = await manualRun();

        expect(mailsTo(users[1])).toHaveLength(2);
        expect((await items(runId)).map((item) => item.Product_Statuses__c)).toEqual([
            JSON.stringify({ [PRODUCT]: 'Expired' }),
            JSON.stringify({ [PRODUCT]: 'Expired' })
        ]);
        expect((await record(users[1])).Status__c).toBe('Invited');
    });
});

describe('reminders', () => {
    afterEach(async () => setReminders(null, null));

    it('when reminders are on, then they go at the configured days, never after authorization, never more than the maximum, listed apart in the audit', async () => {
        const { users } = await freshSet(2, 'Not Invited');
        const [waiting, answering] = users;
        await setReminders(2, 2);
        await scheduledRun();
        expect(mailsTo(waiting)).toHaveLength(1);

        clock.advanceDays(1);
        await scheduledRun();
        expect(mailsTo(waiting)).toHaveLength(1);

        clock.advanceDays(1);
        const remindRun = await scheduledRun();
        expect(mailsTo(waiting).map((mail) => mail.subject)).toEqual([
            `Action needed: connect your calendar for ${PRODUCT}`,
            `Reminder: Action needed: connect your calendar for ${PRODUCT}`
        ]);
        expect(mailsTo(answering)).toHaveLength(2);
        expect(await record(waiting)).toMatchObject({
            Status__c: 'Invited',
            Reminder_Count__c: 1,
            Invite_Count__c: 1
        });
        const run = await store.findRun(remindRun);
        const audit = smtp.messages.find(
            (mail) => mail.subject?.includes('Rollcall') && mail.text?.includes(remindRun)
        );
        // Invitations still open from the earlier tests are reminded too: the count is at least these two.
        expect(audit?.text).toMatch(/0 invited, [2-9] reminded/);
        const reminders = /Reminded: invitations still unanswered \(\d+\):\n([\s\S]*?)\n\n/.exec(
            audit?.text ?? ''
        )?.[1];
        expect(reminders).toContain(`${waiting.Name} <${waiting.Email}>: ${PRODUCT}`);
        expect(reminders).toContain(`${answering.Name} <${answering.Email}>: ${PRODUCT}`);
        // One count, everywhere: the run record, its one line, the audit's subject and first line, Slack.
        const sentReminders = Number(/0 invited, (\d+) reminded/.exec(audit?.text ?? '')?.[1]);
        const line = `0 invited, ${sentReminders} reminded, 0 skipped, 0 failed`;
        expect(run).toMatchObject({
            Invited_Count__c: 0,
            Reminded_Count__c: sentReminders,
            Skipped_Count__c: 0,
            Failed_Count__c: 0,
            Item_Count__c: sentReminders,
            Outcome_Summary__c: line
        });
        expect(audit?.subject).toBe(`Rollcall scheduled run ${String(run?.Name)} Completed: ${line}`);
        expect(audit?.text?.split('\n')[0]).toBe(audit?.subject);
        const summary = slack.calls.find((call) => String(call.text).includes(remindRun));
        expect(String(summary?.text)).toContain(`${audit?.subject}. `);
        expect(JSON.stringify(summary?.blocks)).toContain(`*Reminded*\\n${sentReminders}`);

        expect((await webhook({ userId: answering.Id, products: [PRODUCT] })).status).toBe(200);
        clock.advanceDays(2);
        await scheduledRun();
        clock.advanceDays(2);
        await scheduledRun();
        clock.advanceDays(2);
        await scheduledRun();

        expect(mailsTo(waiting)).toHaveLength(3);
        expect(mailsTo(answering)).toHaveLength(2);
        expect(await record(waiting)).toMatchObject({ Status__c: 'Invited', Reminder_Count__c: 2 });
        expect((await record(answering)).Status__c).toBe('Authorized');
    });

    it('when reminders are off (the default), then nobody is reminded', async () => {
        const { users } = await freshSet(1, 'Not Invited');
        await scheduledRun();
        clock.advanceDays(3);
        await scheduledRun();
        expect(mailsTo(users[0])).toHaveLength(1);
    });
});

describe('the scheduling product reports (signed webhook)', () => {
    it('when a user disconnects and reconnects, then the record goes Authorized → Revoked → Authorized, and only a set allowing Revoked invites again', async () => {
        const { users, setId } = await freshSet(1, 'Not Invited');
        const [user] = users;
        await scheduledRun();
        const authorizedAt = clock.now();
        expect((await webhook({ userId: user.Id, products: [PRODUCT] })).status).toBe(200);
        clock.offsetMs += 60_000;

        const revoked = await webhook({ userId: user.Id, products: [PRODUCT], status: 'Revoked' });

        expect(revoked.status).toBe(200);
        expect(revoked.body).toMatchObject({ status: 'Revoked', products: [PRODUCT] });
        expect(await record(user)).toMatchObject({ Status__c: 'Revoked' });
        // A stale report (older than the revocation) arriving late changes nothing.
        const late = await webhook({
            userId: user.Id,
            products: [PRODUCT],
            authorizedAt: authorizedAt.toISOString()
        });
        expect(late.body.ignored).toEqual([
            { product: PRODUCT, reason: expect.stringMatching(/^revoked at/) }
        ]);
        expect((await record(user)).Status__c).toBe('Revoked');

        await scheduledRun();
        expect(mailsTo(user)).toHaveLength(1);
        await allowStatuses(setId, 'Not Invited;Revoked');
        await scheduledRun();
        expect(mailsTo(user)).toHaveLength(2);
        expect((await record(user)).Status__c).toBe('Invited');

        clock.offsetMs += 60_000;
        const reauthorized = await webhook({ userId: user.Id, products: [PRODUCT] });

        expect(reauthorized.body).toMatchObject({ status: 'Authorized' });
        const final = await record(user);
        expect(final.Status__c).toBe('Authorized');
        expect(final.Revoked_At__c).not.toBeNull();
    });

    it('when revocation is reported for a user who never authorized, then nothing changes and the answer says why', async () => {
        const { users } = await freshSet(1, 'Not Invited');
        const response = await webhook({ userId: users[0].Id, products: [PRODUCT], status: 'Revoked' });
        expect(response.status).toBe(200);
        expect(response.body.ignored).toEqual([
            { product: PRODUCT, reason: 'status is Not Invited, not Authorized: nothing to revoke' }
        ]);
        expect(await record(users[0])).toBeUndefined();
    });
});

describe('Authorized is never lowered', () => {
    it('when a set allows Authorized, then a re-invite counts the mail but the record stays Authorized', async () => {
        const { users } = await freshSet(1, 'Not Invited;Authorized');
        await scheduledRun();
        await webhook({ userId: users[0].Id, products: [PRODUCT] });

        await scheduledRun();

        expect(mailsTo(users[0])).toHaveLength(2);
        expect(await record(users[0])).toMatchObject({ Status__c: 'Authorized', Invite_Count__c: 2 });
    });

    it("when the webhook authorizes between a run's read and its write, then the run does not overwrite Authorized", async () => {
        const { users } = await freshSet(2, 'Not Invited');
        const [raced] = users;
        // The run has read Not Invited (preview and re-check); the webhook lands while its mail is at the
        // SMTP server, before the run writes the authorization record.
        let webhookAnswer: number | undefined;
        smtp.behaviour.beforeAccept = (recipients) =>
            recipients.includes(raced.Email.toLowerCase()) || recipients.includes(raced.Email)
                ? webhook({ userId: raced.Id, products: [PRODUCT] }).then((response) => {
                      webhookAnswer = response.status;
                  })
                : undefined;
        try {
            const runId = await manualRun();

            expect(webhookAnswer).toBe(200);
            const item = (await items(runId)).find((candidate) => candidate.User__c === raced.Id);
            expect(item?.Status__c).toBe('Invited');
            expect(await record(raced)).toMatchObject({ Status__c: 'Authorized', Invite_Count__c: 1 });
            expect((await record(users[1])).Status__c).toBe('Invited');
        } finally {
            smtp.behaviour.beforeAccept = undefined;
        }
    });
});

describe('Manual records', () => {
    async function makeManual(user: TargetUser, status: string): Promise<string> {
        // What an admin's edit leaves in a real org (CalendarAuthorizationTrigger stamps Manual); the local
        // org runs no Apex, so the admin's edit sets Source__c itself.
        const [result] = await store.upsertAuthorizations([
            {
                Key__c: `${user.Id}:${PRODUCT}`,
                User__c: user.Id,
                Product__c: PRODUCT,
                Status__c: status,
                Source__c: 'Manual'
            }
        ]);
        expect(result.success).toBe(true);
        return String((await record(user)).SystemModstamp);
    }

    it('when an admin set a record by hand, then manual, scheduled and resumed runs leave it untouched and the preview shows it kept (manual)', async () => {
        const { users } = await freshSet(3, 'Not Invited;Invited;Expired;Authorized;Revoked');
        const [manual, other] = users;
        const stamp = await makeManual(manual, 'Invited');

        const { runId: previewId } = await previewViaApi(service, admin);
        const preview = await items(previewId);
        const kept = preview.find((item) => item.User__c === manual.Id);
        expect(kept).toMatchObject({ Kind__c: 'Kept (Manual)', Status__c: 'Skipped' });
        expect(kept?.Reason__c).toMatch(/^kept \(manual\)/);
        expect((await store.findRun(previewId))?.Eligible_Count__c).toBe(2);
        await api(service, 'POST', '/v1/runs', { previewRunId: previewId, initiatedBy: admin });
        await service.provisioning.waitForRun(previewId);
        await scheduledRun();
        clock.advanceDays(8);
        await service.provisioning.sweep();
        await scheduledRun();

        expect(mailsTo(manual)).toHaveLength(0);
        expect(mailsTo(other)).toHaveLength(3);
        expect(String((await record(manual)).SystemModstamp)).toBe(stamp);
        expect((await record(manual)).Status__c).toBe('Invited');
        const why = await api(service, 'GET', `/v1/users/${manual.Id}/explain`);
        const product = (
            why.body.products as { product: string; eligible: boolean; reasons: string[] }[]
        ).find((candidate) => candidate.product === PRODUCT);
        expect(product?.eligible).toBe(false);
        expect(product?.reasons.at(-1)).toMatch(/^kept \(manual\)/);
    });

    it('when a run is interrupted and resumed, then the resumed run leaves the Manual record untouched too', async () => {
        const { users } = await freshSet(4, 'Not Invited');
        const manual = users[3];
        const stamp = await makeManual(manual, 'Not Invited');
        const before = smtp.messages.length;
        smtp.behaviour.hold = (accepted) => accepted >= before + 1;
        const { runId } = await service.provisioning.scheduled();
        await until(() => smtp.held > 0, 'an invitation held at the SMTP server');
        await service.stop();
        smtp.behaviour.hold = undefined;
        smtp.held = 0;

        service = await startService(org, serviceEnv(smtp, slack), { clock });
        clock.offsetMs += 120_000;
        const swept = await service.provisioning.sweep();
        expect(swept.resumed).toBe(runId);
        await service.provisioning.waitForRun(runId);

        expect((await store.findRun(runId))?.Status__c).toMatch(/^Completed/);
        for (const user of users.slice(0, 3)) expect((await record(user)).Status__c).toBe('Invited');
        expect(mailsTo(manual)).toHaveLength(0);
        expect(String((await record(manual)).SystemModstamp)).toBe(stamp);
    });
});
