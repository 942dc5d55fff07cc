/**
 * End to end: the local org + the service + a real SMTP server + a local Slack endpoint.
 */
import { Writable } from 'node:stream';
import type { LocalOrg } from '../../service/src/local-org';
import type { RunningService } from '../../service/src/main';
import type { OrgStore } from '../../service/src/domain/org-store';
import { signWebhook, verifyAuthorizationToken } from '../../service/src/domain/tokens';
import { clientCredentialsToken, rest, v } from '../local-org/helpers';
import { startSlackEndpoint, startSmtpSink, until, type SlackEndpoint, type SmtpSink } from './support/peers';
import {
    API_SECRET,
    SLACK_TOKEN,
    TOKEN_SECRET,
    WEBHOOK_SECRET,
    api,
    orgStore,
    previewViaApi,
    TEST_DATA_DIR,
    removeDir,
    serviceEnv,
    startService,
    setScheduleEnabled,
    startTestOrg
} from './support/stack';

jest.setTimeout(60_000);

let org: LocalOrg;
let dataDir: string;
let smtp: SmtpSink;
let slack: SlackEndpoint;
let service: RunningService;
let store: OrgStore;

beforeAll(async () => {
    ({ org, dataDir } = await startTestOrg());
    smtp = await startSmtpSink();
    slack = await startSlackEndpoint();
    service = await startService(org, serviceEnv(smtp, slack, { AUDIT_TABLE_CAP: '5' }));
    store = orgStore(org);
});

afterAll(async () => {
    await service?.stop();
    await smtp?.close();
    await slack?.close();
    await org?.stop();
    removeDir(dataDir);
    // The run journals' folder (DATA_DIR of the services under test).
    removeDir(TEST_DATA_DIR);
});

beforeEach(() => {
    smtp.messages.length = 0;
    smtp.behaviour = {};
    slack.calls.length = 0;
});

/** A condition set granting `product` to exactly these users (whatever their status); deactivated after. */
async function targetedSet(name: string, product: string, userIds: string[]): Promise<() => Promise<void>> {
    const [created] = await store.org.create('Condition_Set__c', [
        {
            Name: name,
            Active__c: true,
            Products__c: product,
            Eligible_Statuses__c: 'Not Invited;Invited;Expired',
            Definition__c: JSON.stringify({
                version: 1,
                conditions: [{ field: 'Id', operator: 'in', value: userIds }]
            })
        }
    ]);
    return async () => {
        await store.update([{ attributes: { type: 'Condition_Set__c' }, Id: created.id, Active__c: false }]);
    };
}

async function someUsers(count: number, title = 'Customer Success Manager') {
    return store.org.query<{ Id: string; Email: string; Name: string }>(
        `SELECT Id, Email, Name FROM User WHERE IsActive = true AND UserType = 'Standard' AND Email != null AND Title = '${title}' ORDER BY Id LIMIT ${count}`
    );
}

async function previewAndRun(
    notify: Record<string, unknown> = { admins: true, recipients: ['ops@example.com'] }
) {
    const admin = org.ids.adminUserIds[0];
    const preview = await previewViaApi(service, admin);
    expect(preview.run.status).toBe('Previewed');
    const runId = preview.runId;
    const run = await api(service, 'POST', '/v1/runs', { previewRunId: runId, initiatedBy: admin, notify });
    expect(run.status).toBe(202);
    await service.provisioning.waitForRun(runId);
    const counts = preview.run.counts as { eligible: number };
    return { preview: { status: preview.run.status, eligible: counts.eligible }, runId };
}

/** The service's Prometheus samples, by name and labels. */
async function metricValues(): Promise<Map<string, number>> {
    const text = await (await fetch(`${service.url}/metrics`)).text();
    const values = new Map<string, number>();
    for (const line of text.split('\n')) {
        const match = /^(\S+) ([\d.e+-]+)$/.exec(line);
        if (match) values.set(match[1], Number(match[2]));
    }
    return values;
}

describe('preview then execute', () => {
    it('when an admin previews and executes, then each eligible user gets exactly one mail listing its products', async () => {
        // Arrange: the demo org's active sets
        // Act
        const { preview, runId } = await previewAndRun();

        // Assert: the preview
        expect(preview.eligible).toBeGreaterThan(5);
        expect(preview.status).toBe('Previewed');
        const items = await store.items(runId);
        expect(items).toHaveLength(Number(preview.eligible));

        // Assert: one mail per item, with its products and a verifiable link
        const invitations = smtp.messages.filter((m) => !String(m.subject).startsWith('Rollcall'));
        expect(invitations).toHaveLength(items.length);
        for (const item of items) {
            expect(item.Status__c).toBe('Invited');
            const mails = smtp.to(String(item.Email__c));
            const invitation = mails.filter((m) => !String(m.subject).startsWith('Rollcall'));
            expect(invitation).toHaveLength(1);
            const products = String(item.Products__c).split(';');
            for (const product of products) expect(invitation[0].text).toContain(product);
            expect(invitation[0].from?.text).toContain('rollcall@example.com');
            expect(invitation[0].replyTo?.text).toContain('help@example.com');
            expect(invitation[0].text).toContain('the Sales Ops team');
            const token = decodeURIComponent(/token=([^\s"<]+)/.exec(String(invitation[0].text))![1]);
            const claims = verifyAuthorizationToken(TOKEN_SECRET, token, new Date());
            expect(claims).toMatchObject({ userId: item.User__c, runId });
            expect(claims.products.sort()).toEqual([...products].sort());
        }

        // Assert: the run and the authorization records
        const run = await store.findRun(runId);
        expect(run).toMatchObject({
            Status__c: 'Completed',
            Trigger__c: 'Manual',
            Initiated_By__c: org.ids.adminUserIds[0],
            Invited_Count__c: items.length,
            Failed_Count__c: 0,
            Eligible_Count__c: items.length
        });
        expect(run?.Finished_At__c).toBeTruthy();
        expect(Number(run?.Api_Calls__c)).toBeGreaterThan(0);
        const authorizations = await store.authorizationsOfRun(runId);
        expect(authorizations.length).toBe(
            items.reduce((n, item) => n + String(item.Products__c).split(';').length, 0)
        );
        expect(authorizations.every((a) => a.Status__c === 'Invited' && Number(a.Invite_Count__c) >= 1)).toBe(
            true
        );

        // Assert: a big run caps the audit table and attaches every row as CSV
        const audit = smtp.messages.find((m) => String(m.subject).startsWith('Rollcall'));
        expect(audit?.text).toContain(`...and ${items.length - 5} more`);
        const csv = audit?.attachments.find((a) => a.filename?.endsWith('.csv'));
        expect(csv?.content.toString('utf8').trim().split('\r\n')).toHaveLength(items.length + 1);
    });

    it('when two sets overlap, then each matched user gets exactly one mail listing exactly the union of its products', async () => {
        // Arrange: only two sets of the test's own are active; users[4] matches neither
        const active = await store.org.query<{ Id: string }>(
            'SELECT Id FROM Condition_Set__c WHERE Active__c = true'
        );
        const setActive = (value: boolean) =>
            store.update(
                active.map((set) => ({
                    attributes: { type: 'Condition_Set__c' },
                    Id: set.Id,
                    Active__c: value
                }))
            );
        await setActive(false);
        const users = await someUsers(5, 'Account Executive');
        expect(users).toHaveLength(5);
        const everyStatus = 'Not Invited;Invited;Authorized;Expired;Revoked';
        const created = await store.org.create(
            'Condition_Set__c',
            [
                ['Overlap A', 'Round Robin', users.slice(0, 3)],
                ['Overlap B', 'Meeting Links;Instant Booker', users.slice(1, 4)]
            ].map(([name, products, members]) => ({
                Name: name,
                Active__c: true,
                Products__c: products,
                Eligible_Statuses__c: everyStatus,
                Definition__c: JSON.stringify({
                    version: 1,
                    conditions: [
                        { field: 'Id', operator: 'in', value: (members as { Id: string }[]).map((u) => u.Id) }
                    ]
                })
            }))
        );
        const expected = new Map<string, string[]>([
            [users[0].Id, ['Round Robin']],
            [users[1].Id, ['Instant Booker', 'Meeting Links', 'Round Robin']],
            [users[2].Id, ['Instant Booker', 'Meeting Links', 'Round Robin']],
            [users[3].Id, ['Instant Booker', 'Meeting Links']]
        ]);
        const metricsBefore = await metricValues();

        try {
            // Act
            const { preview, runId } = await previewAndRun({});

            // Assert: the preview and the items
            expect(preview.eligible).toBe(4);
            const items = await store.items(runId);
            expect(new Map(items.map((i) => [i.User__c, String(i.Products__c).split(';').sort()]))).toEqual(
                expected
            );
            expect(items.find((i) => i.User__c === users[1].Id)?.Matched_Sets__c).toMatch(
                /Overlap A.*Overlap B/
            );
            expect(items.every((i) => i.Status__c === 'Invited')).toBe(true);

            // Assert: one mail per eligible user, with its products and only those
            for (const user of users) {
                const mails = smtp.to(user.Email).filter((m) => !String(m.subject).startsWith('Rollcall'));
                const products = expected.get(user.Id) ?? [];
                expect(mails).toHaveLength(products.length === 0 ? 0 : 1);
                if (products.length === 0) continue;
                const [mail] = mails;
                expect(mail.text).toContain(`Hello ${user.Name},`);
                for (const product of ['Round Robin', 'Meeting Links', 'Instant Booker']) {
                    expect(String(mail.subject).includes(product)).toBe(products.includes(product));
                    expect(String(mail.text).includes(`- ${product}`)).toBe(products.includes(product));
                }
                const token = decodeURIComponent(/token=([^\s"<]+)/.exec(String(mail.text))![1]);
                expect(verifyAuthorizationToken(TOKEN_SECRET, token, new Date()).products.sort()).toEqual(
                    products
                );
            }

            // Assert: the authorization records and the metrics
            const authorizations = await store.authorizationsOfRun(runId);
            expect(authorizations.map((a) => `${a.User__c}:${a.Product__c}`).sort()).toEqual(
                [...expected].flatMap(([id, products]) => products.map((p) => `${id}:${p}`)).sort()
            );
            const metricsAfter = await metricValues();
            const delta = (name: string) => (metricsAfter.get(name) ?? 0) - (metricsBefore.get(name) ?? 0);
            expect(delta('rollcall_invitations_total{outcome="sent"}')).toBe(4);
            expect(delta('rollcall_invitations_total{outcome="failed"}')).toBe(0);
            expect(delta('rollcall_runs_total{trigger="Manual",status="Completed"}')).toBe(1);
            expect(delta('rollcall_run_duration_seconds_count{trigger="Manual"}')).toBe(1);
            expect(delta('rollcall_previews_total')).toBe(1);
            expect(delta('rollcall_salesforce_calls_total')).toBeGreaterThan(0);
        } finally {
            await store.update(
                created.map((set) => ({
                    attributes: { type: 'Condition_Set__c' },
                    Id: set.id,
                    Active__c: false
                }))
            );
            await setActive(true);
        }
    });

    it('when a run finishes, then the audit mail and the Slack summary carry its content', async () => {
        // Arrange
        const users = await someUsers(3);
        const cleanup = await targetedSet(
            'Audit check',
            'Instant Booker',
            users.map((u) => u.Id)
        );

        // Act
        const { runId } = await previewAndRun();
        await cleanup();

        // Assert: audit mail to the initiator, the admins and the extra recipient
        const audits = smtp.messages.filter((m) => String(m.subject).startsWith('Rollcall'));
        expect(audits).toHaveLength(1);
        const audit = audits[0];
        const to = [audit.to]
            .flat()
            .flatMap((t) => t?.value ?? [])
            .map((v) => v.address);
        expect(to).toContain('ops@example.com');
        const admins = await store.users(org.ids.adminUserIds);
        for (const admin of admins.filter((a) => a.IsActive))
            expect(to).toContain(String(admin.Email).toLowerCase());
        const items = await store.items(runId);
        expect(audit.subject).toContain(`${items.length} invited`);
        expect(audit.text).toContain('Trigger: Manual');
        expect(audit.text).toContain('Status: Completed');
        expect(audit.text).toMatch(
            /Started: \d{4}-\d\d-\d\d [\d:]+ America\/Los_Angeles\nFinished: \d{4}-\d\d-\d\d [\d:]+ America\/Los_Angeles/
        );
        expect(audit.text).toContain(
            `Users: ${String((await store.findRun(runId))?.Evaluated_Count__c)} evaluated (those the condition sets' queries selected, not every user in the org), ${items.length} eligible`
        );
        expect(audit.text).toContain(`Outcome: ${items.length} invited, 0 reminded, 0 skipped, 0 failed`);
        expect(audit.text).toContain(
            `You received this because you started this run (${String(admins[0].Name)}); you are a Rollcall admin and this run notifies admins; or you are an extra recipient of this run (ops@example.com).`
        );
        expect(audit.text).toContain(`Initiated by: ${admins[0].Name}`);
        expect(audit.text).toContain('Audit check (Instant Booker)');
        expect(audit.text).toContain('Sales managers');
        expect(audit.text).toContain(`https://org.example.com/lightning/r/Provisioning_Run__c/${runId}/view`);
        expect(audit.text).toContain(String(items[0].Email__c));
        expect(audit.html).toContain('<table');

        // Assert: Slack, which the service says it has (the schedule screen reads this)
        expect((await api(service, 'GET', '/v1/status')).body).toEqual({ slack: { configured: true } });
        expect(slack.calls).toHaveLength(1);
        expect(slack.calls[0].channel).toBe('#rollcall');
        expect(slack.calls[0].text).toContain(`${items.length} invited`);
        const blocks = JSON.stringify(slack.calls[0].blocks);
        expect(blocks).toContain('Audit check');
        expect(blocks).toContain(`*Invited*\\n${items.length}`);
        expect(blocks).toContain(`*Initiated by*\\n${String(admins[0].Name)}`);
        expect(blocks).toContain(
            `"url":"https://org.example.com/lightning/r/Provisioning_Run__c/${runId}/view"`
        );
        const run = await store.findRun(runId);
        expect(JSON.parse(String(run?.Notification_Outcome__c))).toMatchObject({
            email: { status: 'sent' },
            slack: { status: 'sent' }
        });
    });

    it('when a set is invalid, then the preview skips it and says why', async () => {
        const [created] = await store.org.create('Condition_Set__c', [
            {
                Name: 'Broken set',
                Active__c: true,
                Products__c: 'Round Robin',
                Eligible_Statuses__c: 'Not Invited',
                Definition__c: JSON.stringify({
                    version: 1,
                    conditions: [{ field: 'No_Such_Field__c', operator: 'equals', value: 'x' }]
                })
            }
        ]);

        const response = await previewViaApi(service, org.ids.adminUserIds[0]);
        await store.update([{ attributes: { type: 'Condition_Set__c' }, Id: created.id, Active__c: false }]);

        expect(response.run.status).toBe('Previewed');
        const snapshot = JSON.parse(String(await store.runSnapshot(response.runId)));
        expect(snapshot.invalid).toEqual([
            expect.objectContaining({
                id: created.id,
                name: 'Broken set',
                reasons: [expect.stringContaining('No_Such_Field__c')]
            })
        ]);
    });

    it('when the initiator is not a Rollcall admin, then the preview is refused with 403', async () => {
        const [someone] = await store.org.query<{ Id: string }>(
            "SELECT Id FROM User WHERE IsActive = true AND Department = 'Sales' LIMIT 1"
        );
        const response = await api(service, 'POST', '/v1/previews', { initiatedBy: someone.Id });
        expect(response.status).toBe(403);
        expect(response.body).toEqual({ error: { code: 'FORBIDDEN', message: expect.any(String) } });
    });

    it('when a preview or a run names no initiator, then the answer is 400 saying initiatedBy is required and nothing is written', async () => {
        const before = (await store.listRuns(200)).length;

        const preview = await api(service, 'POST', '/v1/previews', {});
        const { runId } = await previewViaApi(service, org.ids.adminUserIds[0]);
        const run = await api(service, 'POST', '/v1/runs', { previewRunId: runId });

        for (const response of [preview, run]) {
            expect(response.status).toBe(400);
            expect(response.body.error).toEqual({
                code: 'VALIDATION_FAILED',
                message: expect.stringContaining('initiatedBy: is required')
            });
        }
        expect((await store.listRuns(200)).length).toBe(before + 1);
        expect((await store.findRun(runId))?.Status__c).toBe('Previewed');
    });

    it('when the admin who previewed lost Rollcall_Admin before executing, then the run is refused with 403 and nothing is sent', async () => {
        // Arrange: a second admin previews, then loses the permission set
        const admin = org.ids.adminUserIds[1];
        const { runId } = await previewViaApi(service, admin);
        const assignments = await store.org.query<{ Id: string }>(
            `SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = '${admin}' AND PermissionSet.Name = 'Rollcall_Admin'`
        );
        expect(assignments.length).toBeGreaterThan(0);
        for (const assignment of assignments) {
            const response = await rest(
                org,
                await clientCredentialsToken(org),
                v(`/sobjects/PermissionSetAssignment/${assignment.Id}`),
                {
                    method: 'DELETE'
                }
            );
            expect(response.status).toBe(204);
        }
        const sent = smtp.messages.length;

        // Act
        const response = await api(service, 'POST', '/v1/runs', { previewRunId: runId, initiatedBy: admin });

        // Assert
        expect(response.status).toBe(403);
        expect(response.body.error).toMatchObject({ code: 'FORBIDDEN' });
        expect((await store.findRun(runId))?.Status__c).toBe('Previewed');
        expect(smtp.messages.length).toBe(sent);
    });

    it('when a preview has expired, then executing it answers 409 PREVIEW_EXPIRED and the run is Expired', async () => {
        const admin = org.ids.adminUserIds[0];
        const { runId } = await previewViaApi(service, admin);
        await store.updateRun(runId, { Expires_At__c: new Date(Date.now() - 1000).toISOString() });

        const response = await api(service, 'POST', '/v1/runs', { previewRunId: runId, initiatedBy: admin });

        expect(response.status).toBe(409);
        expect((response.body.error as { code: string }).code).toBe('PREVIEW_EXPIRED');
        expect((await store.findRun(runId))?.Status__c).toBe('Expired');
    });

    it('when executing an expired preview was refused, then the next GET /v1/runs/{id} answers Expired, not the Previewed it answered before', async () => {
        const admin = org.ids.adminUserIds[0];
        const { runId } = await previewViaApi(service, admin);
        expect((await api(service, 'GET', `/v1/runs/${runId}`)).body.status).toBe('Previewed');
        await store.updateRun(runId, { Expires_At__c: new Date(Date.now() - 1000).toISOString() });

        const refused = await api(service, 'POST', '/v1/runs', { previewRunId: runId, initiatedBy: admin });
        const next = await api(service, 'GET', `/v1/runs/${runId}`);

        expect(refused.status).toBe(409);
        expect(next.body.status).toBe('Expired');
    });

    it('when the sweep expired a preview, then the next GET /v1/runs/{id} answers Expired', async () => {
        const { runId } = await previewViaApi(service, org.ids.adminUserIds[0]);
        expect((await api(service, 'GET', `/v1/runs/${runId}`)).body.status).toBe('Previewed');
        await store.updateRun(runId, { Expires_At__c: new Date(Date.now() - 10 * 60_000).toISOString() });

        await service.provisioning.sweep();
        const next = await api(service, 'GET', `/v1/runs/${runId}`);

        expect(next.body.status).toBe('Expired');
    });

    it('when the sweep finds a preview past its expiry, then it marks it Expired', async () => {
        const { runId } = await previewViaApi(service, org.ids.adminUserIds[0]);
        await store.updateRun(runId, { Expires_At__c: new Date(Date.now() - 10 * 60_000).toISOString() });

        const result = await service.provisioning.sweep();

        expect(result.expired).toBeGreaterThanOrEqual(1);
        expect((await store.findRun(runId))?.Status__c).toBe('Expired');
    });
});

describe('scheduled runs and concurrency', () => {
    it('when the same schedule slot is triggered twice, then it runs once and the repeat answers 409 ALREADY_TRIGGERED', async () => {
        const slot = `2026-12-01T09:00Z-${Date.now()}`;

        const first = await api(service, 'POST', '/v1/runs', { trigger: 'scheduled', slot });
        await service.provisioning.waitForRun(String(first.body.runId));
        const repeat = await api(service, 'POST', '/v1/runs', { trigger: 'scheduled', slot });

        expect(first.status).toBe(202);
        expect(repeat.status).toBe(409);
        expect(repeat.body.error).toMatchObject({ code: 'ALREADY_TRIGGERED', runId: first.body.runId });
        expect((await store.findRun(String(first.body.runId)))?.Run_Key__c).toBe(`scheduled:${slot}`);
    });

    it('when a scheduled run is triggered, then it evaluates and sends in one go', async () => {
        // Arrange: an open set for one product nobody has yet
        const [user] = await store.org.query<{ Id: string; Email: string; Title: string }>(
            "SELECT Id, Email, Title FROM User WHERE IsActive = true AND UserType = 'Standard' AND Title = 'Customer Success Manager' LIMIT 1"
        );
        const [created] = await store.org.create('Condition_Set__c', [
            {
                Name: 'One CSM',
                Active__c: true,
                Products__c: 'Meeting Links',
                Eligible_Statuses__c: 'Not Invited',
                Definition__c: JSON.stringify({
                    version: 1,
                    conditions: [{ field: 'Id', operator: 'equals', value: user.Id }]
                })
            }
        ]);

        // Act
        const response = await api(service, 'POST', '/v1/runs', { trigger: 'scheduled' });
        expect(response.status).toBe(202);
        const runId = String(response.body.runId);
        await service.provisioning.waitForRun(runId);

        // Assert
        const run = await store.findRun(runId);
        expect(run).toMatchObject({ Trigger__c: 'Scheduled', Status__c: 'Completed' });
        const item = (await store.items(runId)).find((i) => i.User__c === user.Id);
        expect(item).toMatchObject({
            Status__c: 'Invited',
            Matched_Sets__c: expect.stringContaining('One CSM')
        });
        expect(smtp.to(user.Email).filter((m) => String(m.text).includes('Meeting Links'))).toHaveLength(1);
        const status = await api(service, 'GET', `/v1/runs/${runId}`);
        expect(status.body).toMatchObject({ runId, status: 'Completed', trigger: 'Scheduled' });
        await store.update([{ attributes: { type: 'Condition_Set__c' }, Id: created.id, Active__c: false }]);
    });

    it('when the schedule is switched off, then a scheduled trigger answers 409 SCHEDULE_DISABLED and no run starts', async () => {
        // Arrange
        await setScheduleEnabled(org, false);
        const before = (await api(service, 'GET', '/v1/runs?limit=200')).body.runs as unknown[];

        // Act
        const response = await api(service, 'POST', '/v1/runs', { trigger: 'scheduled' });

        // Assert
        await setScheduleEnabled(org, true);
        expect(response.status).toBe(409);
        expect(response.body.error).toEqual({
            code: 'SCHEDULE_DISABLED',
            message: expect.stringContaining('Schedule_Enabled__c')
        });
        expect((await api(service, 'GET', '/v1/runs?limit=200')).body.runs).toHaveLength(before.length);
        expect(service.provisioning.activeRunId()).toBeUndefined();
    });

    it('when pollers ask for runs often, then the org is not asked each time', async () => {
        // Arrange: a run held in progress here, and a preview (Previewed) that is not
        const cleanup = await targetedSet(
            'Polling check',
            'Meeting Links',
            (await someUsers(2, 'Sales Development Representative')).map((u) => u.Id)
        );
        const { runId: previewId } = await previewViaApi(service, org.ids.adminUserIds[0]);
        smtp.behaviour.hold = () => true;
        const started = await api(service, 'POST', '/v1/runs', { trigger: 'scheduled' });
        const runId = String(started.body.runId);
        await until(() => smtp.held > 0, 'the first invitation to be held');

        // Act
        const before = org.apiUsage().used;
        for (let i = 0; i < 20; i++) {
            const [running, previewed] = await Promise.all([
                api(service, 'GET', `/v1/runs/${runId}`),
                api(service, 'GET', `/v1/runs/${previewId}`)
            ]);
            expect(running.body).toMatchObject({ status: 'Running' });
            expect(previewed.body).toMatchObject({ status: 'Previewed' });
        }
        const calls = org.apiUsage().used - before;

        // Assert: 40 answers; at most a re-read of each record and a heartbeat or two reached the org
        smtp.behaviour.hold = undefined;
        await service.provisioning.waitForRun(runId);
        await cleanup();
        expect(calls).toBeLessThanOrEqual(5);
        expect((await api(service, 'GET', `/v1/runs/${runId}`)).body).toMatchObject({
            status: expect.stringMatching(/^Completed/)
        });
    });

    it('when a run is in progress, then a second one answers 409 with the running run id', async () => {
        // Arrange: hold the first invitation so the run stays in progress
        const cleanup = await targetedSet(
            'Concurrency check',
            'Meeting Links',
            (await someUsers(2)).map((u) => u.Id)
        );
        smtp.behaviour.hold = () => true;
        const first = await api(service, 'POST', '/v1/runs', { trigger: 'scheduled' });
        const runId = String(first.body.runId);

        // Act
        const second = await api(service, 'POST', '/v1/runs', { trigger: 'scheduled' });

        // Assert
        expect(second.status).toBe(409);
        expect(second.body.error).toMatchObject({ code: 'RUN_IN_PROGRESS', runId });
        await until(() => smtp.held > 0, 'the first invitation to be held');
        smtp.behaviour.hold = undefined;
        await cleanup();
        await service.stop();
        service = await startService(org, serviceEnv(smtp, slack), {
            clock: { now: () => new Date(Date.now() + 3600_000) }
        });
        await service.provisioning.sweep();
        await service.provisioning.waitForRun(runId);
        expect((await store.findRun(runId))?.Status__c).toMatch(/^Completed/);
        await service.stop();
        service = await startService(org, serviceEnv(smtp, slack));
    });
});

describe('authorization webhook', () => {
    it('when the scheduling product reports an authorization, then the next sync does not invite that user again', async () => {
        // Arrange: a fresh invitation
        const [user] = await store.org.query<{ Id: string; Email: string }>(
            "SELECT Id, Email FROM User WHERE IsActive = true AND UserType = 'Standard' AND Title = 'Customer Success Manager' ORDER BY Id DESC LIMIT 1"
        );
        const [created] = await store.org.create('Condition_Set__c', [
            {
                Name: 'Webhook test',
                Active__c: true,
                Products__c: 'Round Robin',
                Eligible_Statuses__c: 'Not Invited;Invited',
                Definition__c: JSON.stringify({
                    version: 1,
                    conditions: [{ field: 'Id', operator: 'equals', value: user.Id }]
                })
            }
        ]);
        const { runId } = await previewAndRun({});
        const mail = smtp.to(user.Email).find((m) => String(m.text).includes('Round Robin'));
        const token = decodeURIComponent(/token=([^\s"<]+)/.exec(String(mail?.text))![1]);

        // Act: the signed webhook
        const body = JSON.stringify({ token });
        const unsigned = await api(service, 'POST', '/v1/authorizations', body, { authorization: '' });
        const signed = await api(service, 'POST', '/v1/authorizations', body, {
            authorization: '',
            'x-rollcall-signature': signWebhook(WEBHOOK_SECRET, body, new Date())
        });

        // Assert
        expect(unsigned.status).toBe(401);
        expect(signed.status).toBe(200);
        expect(signed.body).toMatchObject({
            status: 'Authorized',
            userId: user.Id,
            products: ['Round Robin']
        });
        const [authorization] = await store.authorizations([user.Id], ['Round Robin']);
        expect(authorization.Status__c).toBe('Authorized');
        const next = await previewViaApi(service, org.ids.adminUserIds[0]);
        const items = await store.items(next.runId);
        expect(
            items.some((item) => item.User__c === user.Id && String(item.Products__c).includes('Round Robin'))
        ).toBe(false);
        expect(runId).toBeTruthy();
        await store.update([{ attributes: { type: 'Condition_Set__c' }, Id: created.id, Active__c: false }]);
    });
});

describe('logs', () => {
    it('when a run executes, then its log lines carry the run id and no secret', async () => {
        // Arrange
        const lines: string[] = [];
        const destination = new Writable({
            write(chunk: Buffer, _encoding, callback) {
                lines.push(chunk.toString());
                callback();
            }
        });
        const logged = await startService(org, serviceEnv(smtp, slack, { LOG_LEVEL: 'debug' }), {
            logDestination: destination
        });
        const cleanup = await targetedSet(
            'Log check',
            'Meeting Links',
            (await someUsers(2)).map((u) => u.Id)
        );

        // Act
        const { body } = await api(logged, 'POST', '/v1/runs', { trigger: 'scheduled' });
        await logged.provisioning.waitForRun(String(body.runId));
        await logged.stop();
        await cleanup();

        // Assert
        const text = lines.join('');
        const runLines = lines.filter((line) => line.includes(String(body.runId)));
        expect(runLines.some((line) => line.includes('Run finished'))).toBe(true);
        for (const line of runLines) expect(line.split('"runId"').length - 1).toBe(1);
        for (const secret of [
            API_SECRET,
            TOKEN_SECRET,
            WEBHOOK_SECRET,
            SLACK_TOKEN,
            'PRIVATE KEY',
            'access_token'
        ]) {
            expect(text).not.toContain(secret);
        }
    });
});
