/**
 * The audit email and what a run records per item, against the local org and an SMTP sink: every run is
 * audited, capped lists say what they hide (and only then), times read in the org's time zone, the CSV
 * declares its charset, a re-check note survives the send, and a re-invite never lowers Authorized.
 */
import type { ParsedMail } from 'mailparser';
import type { OrgStore } from '../../service/src/domain/org-store';
import type { LocalOrg } from '../../service/src/local-org';
import type { RunningService } from '../../service/src/main';
import { authorizationKey } from '../../service/src/use-cases/evaluation';
import { startSmtpSink, type SmtpSink } from './support/peers';
import {
    api,
    orgStore,
    previewViaApi,
    removeDir,
    serviceEnv,
    startService,
    startTestOrg,
    TEST_DATA_DIR
} from './support/stack';

jest.setTimeout(60_000);

const TABLE_CAP = 5;

let org: LocalOrg;
let dataDir: string;
let smtp: SmtpSink;
let service: RunningService;
let store: OrgStore;
let settingsId: string;
let nextUser = 0;
let standardUsers: { Id: string; Email: string; Name: string }[];

beforeAll(async () => {
    ({ org, dataDir } = await startTestOrg({ users: 200, seed: 19 }));
    smtp = await startSmtpSink();
    service = await startService(org, serviceEnv(smtp, undefined, { AUDIT_TABLE_CAP: String(TABLE_CAP) }));
    store = orgStore(org);
    // Only the sets a test creates are active.
    const active = await store.org.query<{ Id: string }>(
        'SELECT Id FROM Condition_Set__c WHERE Active__c = true'
    );
    await store.update(
        active.map((set) => ({ attributes: { type: 'Condition_Set__c' }, Id: set.Id, Active__c: false }))
    );
    [{ Id: settingsId }] = await store.org.query<{ Id: string }>(
        'SELECT Id FROM Rollcall_Settings__c WHERE SetupOwnerId != null LIMIT 1'
    );
    standardUsers = await store.org.query(
        "SELECT Id, Email, Name FROM User WHERE IsActive = true AND UserType = 'Standard' AND Email != null ORDER BY Id LIMIT 150"
    );
});

afterAll(async () => {
    await service?.stop();
    await smtp?.close();
    await org?.stop();
    removeDir(dataDir);
    removeDir(TEST_DATA_DIR);
});

beforeEach(() => {
    smtp.messages.length = 0;
    smtp.behaviour = {};
});

/** Users no other test of this file used. */
function freshUsers(count: number) {
    const users = standardUsers.slice(nextUser, nextUser + count);
    nextUser += count;
    return users;
}

/** An active set granting `products` to exactly these users; deactivated by the returned function. */
async function setFor(userIds: string[], products: string, statuses = 'Not Invited') {
    const [created] = await store.org.create('Condition_Set__c', [
        {
            Name: `Audit ${nextUser}`,
            Active__c: true,
            Products__c: products,
            Eligible_Statuses__c: statuses,
            Definition__c: JSON.stringify({
                version: 1,
                conditions: [{ field: 'Id', operator: 'in', value: userIds }]
            })
        }
    ]);
    return () =>
        store.update([{ attributes: { type: 'Condition_Set__c' }, Id: created.id, Active__c: false }]);
}

async function setAuthorization(userId: string, product: string, status: string, inviteCount = 0) {
    await store.org.upsert('Calendar_Authorization__c', 'Key__c', [
        {
            attributes: { type: 'Calendar_Authorization__c' },
            Key__c: authorizationKey(userId, product),
            User__c: userId,
            Product__c: product,
            Status__c: status,
            Invite_Count__c: inviteCount
        }
    ]);
}

async function execute(previewRunId: string, notify: Record<string, unknown> = {}) {
    const admin = org.ids.adminUserIds[0];
    const response = await api(service, 'POST', '/v1/runs', { previewRunId, initiatedBy: admin, notify });
    expect(response.status).toBe(202);
    await service.provisioning.waitForRun(previewRunId);
}

function auditMail(): ParsedMail {
    const audits = smtp.messages.filter((m) => String(m.subject).startsWith('Rollcall'));
    expect(audits).toHaveLength(1);
    return audits[0];
}

describe('audit email', () => {
    it('when a scheduled run has no recipients and admins are off, then the audit still goes to the Rollcall admins, with the run name and org-time-zone times', async () => {
        // Arrange
        await store.update([
            {
                attributes: { type: 'Rollcall_Settings__c' },
                Id: settingsId,
                Notify_Admins__c: false,
                Recipients__c: null
            }
        ]);
        const users = freshUsers(2);
        const cleanup = await setFor(
            users.map((u) => u.Id),
            'Instant Booker'
        );

        // Act
        const response = await api(service, 'POST', '/v1/runs', { trigger: 'scheduled' });
        const runId = String(response.body.runId);
        await service.provisioning.waitForRun(runId);
        await cleanup();

        // Assert
        const run = await store.findRun(runId);
        expect(JSON.parse(String(run?.Notification_Outcome__c)).email).toMatchObject({ status: 'sent' });
        const audit = auditMail();
        const admins = (await store.users(org.ids.adminUserIds)).filter((a) => a.IsActive && a.Email);
        const to = [audit.to]
            .flat()
            .flatMap((t) => t?.value ?? [])
            .map((v) => v.address);
        expect(to).toEqual(expect.arrayContaining(admins.map((a) => String(a.Email).toLowerCase())));
        // The outcome in one line, first; why the reader got it; the run's link at the top, not its record id.
        expect(audit.subject).toBe(
            `Rollcall scheduled run ${String(run?.Name)} Completed: 2 invited, 0 reminded, 0 skipped, 0 failed`
        );
        const [first, link, why] = String(audit.text).split('\n');
        expect(first).toBe(audit.subject);
        expect(link).toMatch(new RegExp(`^Open ${String(run?.Name)}: https?://.*${runId}`));
        expect(why).toBe(
            'You received this because you are a Rollcall admin and nobody else was set to receive it.'
        );
        expect(String(run?.Name)).toMatch(/^RUN-\d+$/);
        // The run records the addresses it counts: the run detail lists them under "sent to N recipients".
        const email = JSON.parse(String(run?.Notification_Outcome__c)).email as {
            recipients: number;
            to: string[];
        };
        expect(email.to.sort()).toEqual([...to].sort());
        expect(email.recipients).toBe(to.length);
        expect(audit.text).toMatch(
            /Started: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d America\/Los_Angeles\nFinished: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d America\/Los_Angeles/
        );
        expect(audit.text).toContain('evaluated (those the condition sets');
    });

    it('when nothing is hidden, then no "and 0 more" line and no empty Failures table appear', async () => {
        // Arrange
        const users = freshUsers(2);
        const cleanup = await setFor(
            users.map((u) => u.Id),
            'Instant Booker'
        );
        const { runId } = await previewViaApi(service, org.ids.adminUserIds[0]);

        // Act
        await execute(runId);
        await cleanup();

        // Assert
        const audit = auditMail();
        expect(audit.text).not.toContain('more (see');
        expect(audit.html).not.toContain('more: see the attached');
        expect(audit.html).not.toContain('>Reason</th>');
        expect(audit.text).toContain('\nNothing needs action.\n');
        // Only the lists with someone in them: no empty Reminded or Skipped table.
        expect(audit.text).toContain('\nInvited (2):\n');
        expect(audit.text).not.toMatch(/Reminded:|Skipped:/);
        expect(audit.attachments).toHaveLength(0);
    });

    it('when more users are skipped than the table shows, then the Skipped list says how many more and the CSV declares UTF-8', async () => {
        // Arrange: seven eligible at the preview, six of them changed status before the run
        const users = freshUsers(TABLE_CAP + 2);
        await store.update([{ attributes: { type: 'User' }, Id: users[0].Id, FirstName: 'Seán' }]);
        const cleanup = await setFor(
            users.map((u) => u.Id),
            'Meeting Links'
        );
        const { runId } = await previewViaApi(service, org.ids.adminUserIds[0]);
        for (const user of users.slice(1)) await setAuthorization(user.Id, 'Meeting Links', 'Invited', 1);

        // Act
        await execute(runId);
        await cleanup();

        // Assert
        const audit = auditMail();
        expect(audit.text).toContain(`...and 1 more (see rollcall-run-${runId}.csv)`);
        expect(audit.html).toContain(`…and 1 more: see the attached rollcall-run-${runId}.csv.`);
        const [csv] = audit.attachments;
        expect(csv.filename).toBe(`rollcall-run-${runId}.csv`);
        const contentType = csv.headers.get('content-type') as { params?: Record<string, string> };
        expect(contentType.params?.charset?.toLowerCase()).toBe('utf-8');
        expect(csv.content.toString('utf8')).toContain('Seán');
    });
});

describe('what a run records', () => {
    it('when a product is dropped at the re-check and the others are sent, then the item keeps the reason it was dropped', async () => {
        // Arrange
        const [user] = freshUsers(1);
        const cleanup = await setFor([user.Id], 'Instant Booker;Round Robin');
        const { runId } = await previewViaApi(service, org.ids.adminUserIds[0]);
        await setAuthorization(user.Id, 'Round Robin', 'Invited', 1);

        // Act
        await execute(runId);
        await cleanup();

        // Assert
        const item = (await store.items(runId)).find((i) => i.User__c === user.Id);
        expect(item).toMatchObject({ Status__c: 'Invited', Products__c: 'Instant Booker' });
        expect(item?.Reason__c).toContain(
            'status changed since the preview (Round Robin: Not Invited → Invited)'
        );
    });

    it('when a set re-invites an Authorized user, then the record stays Authorized and the invite is counted', async () => {
        // Arrange
        const [user] = freshUsers(1);
        await setAuthorization(user.Id, 'Round Robin', 'Authorized', 1);
        const cleanup = await setFor([user.Id], 'Round Robin', 'Authorized');
        const { runId } = await previewViaApi(service, org.ids.adminUserIds[0]);

        // Act
        await execute(runId);
        await cleanup();

        // Assert
        const item = (await store.items(runId)).find((i) => i.User__c === user.Id);
        expect(item).toMatchObject({ Status__c: 'Invited' });
        const [authorization] = await store.authorizations([user.Id], ['Round Robin']);
        expect(authorization).toMatchObject({
            Status__c: 'Authorized',
            Invite_Count__c: 2,
            Last_Run__c: runId
        });
    });
});
