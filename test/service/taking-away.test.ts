/**
 * Taking access away (DESIGN §11) over HTTP: the service, the local org and the local SCIM app, with the
 * org's clock (which the service reads too) moved through the grace days.
 */
import { createScimDirectory } from '../../service/src/adapters/scim';
import type { AppDirectory, AppDirectoryFactory } from '../../service/src/connections/app-directory';
import type { OrgStore } from '../../service/src/domain/org-store';
import type { LocalOrg } from '../../service/src/local-org';
import { startLocalScimApp, type LocalScimApp } from '../../service/src/local-scim';
import { USER_SCHEMA } from '../../service/src/local-scim/schemas';
import type { RunningService } from '../../service/src/main';
import { startSmtpSink, type SmtpSink } from './support/peers';
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

const DAY_MS = 86_400_000;
const TOKEN = 'taking-away-test-token';

let org: LocalOrg;
let orgDir: string;
let store: OrgStore;
let smtp: SmtpSink;
let service: RunningService;
const apps = new Map<string, AppDirectory>();
const scimApps: LocalScimApp[] = [];
const factory: AppDirectoryFactory = {
    forConnection: (key) => apps.get(key),
    configuredKeys: () => [...apps.keys()].sort()
};
let admin: string;
let keyCounter = 0;
let userOffset = 0;

beforeAll(async () => {
    ({ org, dataDir: orgDir } = await startTestOrg({ users: 120, seed: 20 }));
    store = orgStore(org);
    smtp = await startSmtpSink();
    service = await startService(org, serviceEnv(smtp), {
        appDirectories: factory,
        clock: { now: () => new Date(org.clock.now()) }
    });
    admin = org.ids.adminUserIds[0];
});

afterAll(async () => {
    await service?.stop();
    for (const app of scimApps) await app.stop();
    await smtp?.close();
    await store?.org.close();
    await org?.stop();
    removeDir(orgDir);
});

beforeEach(async () => {
    await deactivateAllSets(store);
    const active = await store.org.query<{ Id: string }>(
        'SELECT Id FROM Connection__c WHERE Active__c = true'
    );
    if (active.length > 0) {
        await store.update(
            active.map((c) => ({ attributes: { type: 'Connection__c' }, Id: c.Id, Active__c: false }))
        );
    }
});

interface TestUser {
    Id: string;
    Username: string;
}

/** Users no other test of this file uses (a test may make one a leaver). */
async function freshUsers(count: number): Promise<TestUser[]> {
    const users = await store.org.query<TestUser>(
        `SELECT Id, Username FROM User WHERE IsActive = true AND UserType = 'Standard' AND Email != null ORDER BY Id LIMIT ${count} OFFSET ${userOffset}`
    );
    userOffset += count;
    return users;
}

async function setDepartment(users: TestUser[], department: string): Promise<void> {
    await store.update(
        users.map((u) => ({ attributes: { type: 'User' }, Id: u.Id, Department: department }))
    );
}

interface Policy {
    Deprovisioning__c?: string;
    Grace_Days__c?: number | null;
    Breaker_Max_Count__c?: number | null;
    Breaker_Max_Percent__c?: number | null;
}

/** A connection to a fresh local SCIM app (groups Sales, Support and a hand-made one), granted by a set on Department. */
async function connectionWithSet(department: string, policy: Policy, groups = ['Sales']) {
    const key = `away-${process.pid}-${++keyCounter}`;
    const scim = await startLocalScimApp({ token: TOKEN, seedGroups: ['Sales', 'Support', 'Hand-made'] });
    scimApps.push(scim);
    const directory = createScimDirectory({ baseUrl: scim.url, token: TOKEN });
    apps.set(key, directory);
    const [connection] = await store.org.create('Connection__c', [
        {
            Name: `Away ${keyCounter}`,
            Key__c: key,
            Active__c: true,
            Match_On__c: 'Username',
            Deprovisioning__c: 'Deactivate',
            ...policy
        }
    ]);
    if (!connection.success) throw new Error(connection.errors.join('; '));
    const [set] = await store.org.create('Condition_Set__c', [
        {
            Name: `Dept ${department}`,
            Active__c: true,
            Products__c: 'Meeting Links',
            Eligible_Statuses__c: 'Not Invited;Invited',
            Definition__c: JSON.stringify({
                version: 1,
                conditions: [{ field: 'Department', operator: 'equals', value: department }]
            })
        }
    ]);
    const [grant] = await store.org.create('Access_Grant__c', [
        {
            Condition_Set__c: set.id,
            Connection__c: connection.id,
            Groups__c: groups.join('\n'),
            Role__c: null
        }
    ]);
    if (!grant.success) throw new Error(grant.errors.join('; '));
    return { key, id: String(connection.id), setId: String(set.id), scim, directory };
}

async function previewAndRun(): Promise<{ runId: string; preview: Record<string, unknown> }> {
    const preview = await previewViaApi(service, admin);
    expect(preview.run.status).toBe('Previewed');
    const accepted = await api(service, 'POST', '/v1/runs', {
        previewRunId: preview.runId,
        initiatedBy: admin
    });
    expect(accepted.status).toBe(202);
    await service.provisioning.waitForRun(preview.runId);
    return { runId: preview.runId, preview: preview.run };
}

interface ActionView {
    connection: string;
    userId: string;
    kind: string;
    status: string;
    group: string | null;
    reason: string | null;
    why: string | null;
}

async function actionsOf(runId: string, key: string): Promise<ActionView[]> {
    const response = await api(service, 'GET', `/v1/runs/${runId}/actions`);
    expect(response.status).toBe(200);
    return (response.body.actions as ActionView[]).filter((action) => action.connection === key);
}

/** The app's accounts by userName: active and groups. */
async function appAccounts(directory: AppDirectory) {
    const users: Array<{ id: string; userName: string; active: boolean }> = [];
    await directory.listUsers((page) => {
        users.push(...page.map((u) => ({ id: u.id, userName: u.userName, active: u.active })));
    });
    const groups = await directory.listGroups();
    return new Map(
        users.map((u) => [
            u.userName.toLowerCase(),
            {
                active: u.active,
                groups: groups
                    .filter((g) => g.memberIds?.includes(u.id))
                    .map((g) => g.displayName)
                    .sort()
            }
        ])
    );
}

async function accountOf(connectionId: string, userId: string) {
    const [row] = await store.org.query<{
        Status__c: string;
        Source__c: string;
        Unmatched_Since__c: string | null;
    }>(
        `SELECT Status__c, Source__c, Unmatched_Since__c FROM App_Account__c WHERE Connection__c = '${connectionId}' AND User__c = '${userId}'`
    );
    return row;
}

const kinds = (actions: ActionView[]) =>
    actions.map((a) => `${a.kind}${a.group ? ` ${a.group}` : ''}: ${a.status}`).sort();

describe('taking access away', () => {
    it('when a user leaves the department, the account is pending, deactivated after the grace (managed groups only), then reactivated when they come back', async () => {
        const department = `Away-${process.pid}-1`;
        const users = await freshUsers(4);
        await setDepartment(users, department);
        const c = await connectionWithSet(department, { Grace_Days__c: 3, Breaker_Max_Percent__c: 100 });
        await previewAndRun();
        const [mover] = users;
        const userName = mover.Username.toLowerCase();
        // Someone adds the account to a group by hand: not Rollcall's to take away.
        const handMade = (await c.directory.listGroups()).find((g) => g.displayName === 'Hand-made');
        const before = await c.directory.findUser(mover.Username);
        await c.directory.addMembers(String(handMade?.id), [String(before?.id)]);

        await setDepartment([mover], 'Elsewhere');
        // The preview lists the pending deactivation with its due date and why.
        const previewed = await service.provisioning.preview({ initiatedBy: admin });
        const planned = previewed.connections?.find((connection) => connection.key === c.key);
        expect(planned?.takingAway).toMatchObject({
            deprovisioning: 'Deactivate',
            pending: 1,
            deactivate: 0
        });
        expect(planned?.takingAway?.examples).toEqual([
            {
                userId: mover.Id,
                userName: mover.Username,
                due: expect.any(String),
                why: `set "Dept ${department}" stopped matching: 1. Department equals "${department}" (is "Elsewhere")`,
                leaver: false
            }
        ]);
        const dueAt = Date.parse(String(planned?.takingAway?.examples[0].due));
        expect(Math.abs(dueAt - (org.clock.now() + 3 * DAY_MS))).toBeLessThan(60_000);
        const pending = await previewAndRun();
        expect(kinds(await actionsOf(pending.runId, c.key))).toEqual([]);
        expect(await accountOf(c.id, mover.Id)).toMatchObject({
            Status__c: 'Pending Deactivation',
            Source__c: 'Rule'
        });
        const since = (await accountOf(c.id, mover.Id)).Unmatched_Since__c;
        expect(Date.parse(String(since).replace(/\+0000$/, 'Z'))).toBeCloseTo(org.clock.now(), -5);
        expect((await appAccounts(c.directory)).get(userName)).toEqual({
            active: true,
            groups: ['Hand-made', 'Sales']
        });

        const listed = await api(service, 'GET', `/v1/connections/${c.key}/pending-deactivations`);
        expect(listed.status).toBe(200);
        expect(listed.body).toMatchObject({ connection: c.key, graceDays: 3 });
        expect(listed.body.pending).toEqual([
            {
                userId: mover.Id,
                name: expect.any(String),
                unmatchedSince: expect.any(String),
                due: new Date(Date.parse(String(since).replace(/\+0000$/, 'Z')) + 3 * DAY_MS).toISOString(),
                why: `set "Dept ${department}" stopped matching: 1. Department equals "${department}" (is "Elsewhere")`
            }
        ]);

        org.clock.advance(2 * DAY_MS);
        const stillPending = await previewAndRun();
        expect(kinds(await actionsOf(stillPending.runId, c.key))).toEqual([]);
        expect((await accountOf(c.id, mover.Id)).Unmatched_Since__c).toBe(since);

        org.clock.advance(1 * DAY_MS + 60_000);
        const due = await previewAndRun();
        expect(kinds(await actionsOf(due.runId, c.key))).toEqual([
            'Deactivate: Done',
            'Remove From Group Sales: Done'
        ]);
        expect(await accountOf(c.id, mover.Id)).toMatchObject({ Status__c: 'Inactive' });
        expect((await actionsOf(due.runId, c.key)).map((action) => action.why)).toEqual([
            `set "Dept ${department}" stopped matching: 1. Department equals "${department}" (is "Elsewhere")`,
            `set "Dept ${department}" stopped matching: 1. Department equals "${department}" (is "Elsewhere")`
        ]);
        const app = await appAccounts(c.directory);
        expect(app.get(userName)).toEqual({ active: false, groups: ['Hand-made'] });
        // The others were not touched.
        for (const other of users.slice(1))
            expect(app.get(other.Username.toLowerCase())).toEqual({ active: true, groups: ['Sales'] });

        await setDepartment([mover], department);
        const back = await previewAndRun();
        expect(kinds(await actionsOf(back.runId, c.key))).toEqual([
            'Add To Group Sales: Done',
            'Reactivate: Done'
        ]);
        expect(await accountOf(c.id, mover.Id)).toMatchObject({
            Status__c: 'Active',
            Unmatched_Since__c: null
        });
        expect((await appAccounts(c.directory)).get(userName)).toEqual({
            active: true,
            groups: ['Hand-made', 'Sales']
        });
    });

    it('when a user matches again before the grace ends, the pending deactivation is cancelled and nothing is sent', async () => {
        const department = `Away-${process.pid}-2`;
        const users = await freshUsers(3);
        await setDepartment(users, department);
        const c = await connectionWithSet(department, { Grace_Days__c: 5, Breaker_Max_Percent__c: 100 });
        await previewAndRun();
        await setDepartment([users[0]], 'Elsewhere');
        await previewAndRun();
        expect(await accountOf(c.id, users[0].Id)).toMatchObject({ Status__c: 'Pending Deactivation' });
        org.clock.advance(4 * DAY_MS);
        await setDepartment([users[0]], department);
        const back = await previewAndRun();
        expect(kinds(await actionsOf(back.runId, c.key))).toEqual([]);
        expect(await accountOf(c.id, users[0].Id)).toMatchObject({
            Status__c: 'Active',
            Unmatched_Since__c: null
        });
        org.clock.advance(4 * DAY_MS);
        const later = await previewAndRun();
        expect(kinds(await actionsOf(later.runId, c.key))).toEqual([]);
        expect((await appAccounts(c.directory)).get(users[0].Username.toLowerCase())?.active).toBe(true);
    });

    it('when a user becomes inactive in Salesforce, the account is deactivated at once, without grace', async () => {
        const department = `Away-${process.pid}-3`;
        const users = await freshUsers(3);
        await setDepartment(users, department);
        const c = await connectionWithSet(department, { Grace_Days__c: 30, Breaker_Max_Percent__c: 100 });
        await previewAndRun();
        await store.update([{ attributes: { type: 'User' }, Id: users[0].Id, IsActive: false }]);
        const run = await previewAndRun();
        expect(kinds(await actionsOf(run.runId, c.key))).toEqual([
            'Deactivate: Done',
            'Remove From Group Sales: Done'
        ]);
        expect((await appAccounts(c.directory)).get(users[0].Username.toLowerCase())).toEqual({
            active: false,
            groups: []
        });
        expect(await accountOf(c.id, users[0].Id)).toMatchObject({ Status__c: 'Inactive' });
    });

    it('when the app fails the deactivation, the action fails with the reason, the account is not marked Inactive, and the next run deactivates it', async () => {
        const department = `Away-${process.pid}-11`;
        const users = await freshUsers(3);
        await setDepartment(users, department);
        const c = await connectionWithSet(department, { Grace_Days__c: 0, Breaker_Max_Percent__c: 100 });
        await previewAndRun();
        await setDepartment([users[0]], 'Elsewhere');
        const preview = await previewViaApi(service, admin);
        // Every PATCH fails for the length of the adapter's retries.
        c.scim.faults.failNext(50, 503, 'PATCH');
        await api(service, 'POST', '/v1/runs', { previewRunId: preview.runId, initiatedBy: admin });
        await service.provisioning.waitForRun(preview.runId);
        c.scim.faults.clear();
        const failed = await actionsOf(preview.runId, c.key);
        expect(kinds(failed)).toEqual(['Deactivate: Failed', 'Remove From Group Sales: Failed']);
        expect(failed.find((a) => a.kind === 'Deactivate')?.reason).toMatch(/^Deactivate: /);
        expect(await accountOf(c.id, users[0].Id)).not.toMatchObject({ Status__c: 'Inactive' });
        expect((await appAccounts(c.directory)).get(users[0].Username.toLowerCase())?.active).toBe(true);
        const retried = await previewAndRun();
        expect(kinds(await actionsOf(retried.runId, c.key))).toEqual([
            'Deactivate: Done',
            'Remove From Group Sales: Done'
        ]);
        expect((await appAccounts(c.directory)).get(users[0].Username.toLowerCase())).toEqual({
            active: false,
            groups: []
        });
    });

    it('a Manual account survives every kind of run: provisioning, leaving the set, leaving the company', async () => {
        const department = `Away-${process.pid}-4`;
        const users = await freshUsers(3);
        await setDepartment(users, department);
        const c = await connectionWithSet(department, { Grace_Days__c: 0, Breaker_Max_Percent__c: 100 });
        // Made in the app by someone else before Rollcall met it.
        const made = c.scim.store.create(
            'User',
            { schemas: [USER_SCHEMA], userName: users[0].Username, active: true },
            new Date()
        );
        const sales = c.scim.store.groupByDisplayName('Sales');
        await c.directory.addMembers(String(sales?.id), [String(made.id)]);
        await previewAndRun();
        expect(await accountOf(c.id, users[0].Id)).toMatchObject({
            Source__c: 'Manual',
            Status__c: 'Active'
        });
        await setDepartment([users[0]], 'Elsewhere');
        const unmatched = await previewAndRun();
        expect(kinds(await actionsOf(unmatched.runId, c.key))).toEqual([]);
        await store.update([{ attributes: { type: 'User' }, Id: users[0].Id, IsActive: false }]);
        org.clock.advance(10 * DAY_MS);
        const left = await previewAndRun();
        expect(kinds(await actionsOf(left.runId, c.key))).toEqual([]);
        expect((await appAccounts(c.directory)).get(users[0].Username.toLowerCase())).toEqual({
            active: true,
            groups: ['Sales']
        });
        expect(await accountOf(c.id, users[0].Id)).toMatchObject({
            Source__c: 'Manual',
            Status__c: 'Active'
        });
    });

    it('with deprovisioning Off, nothing is taken away', async () => {
        const department = `Away-${process.pid}-5`;
        const users = await freshUsers(2);
        await setDepartment(users, department);
        const c = await connectionWithSet(department, { Deprovisioning__c: 'Off', Grace_Days__c: 0 });
        await previewAndRun();
        await setDepartment([users[0]], 'Elsewhere');
        const run = await previewAndRun();
        expect(kinds(await actionsOf(run.runId, c.key))).toEqual([]);
        expect(await accountOf(c.id, users[0].Id)).toMatchObject({ Status__c: 'Active' });
    });

    it('a rule edit that would deactivate 60% of the accounts is held: nothing is sent to the app', async () => {
        const department = `Away-${process.pid}-6`;
        const users = await freshUsers(5);
        await setDepartment(users, department);
        const c = await connectionWithSet(department, { Grace_Days__c: 0 });
        await previewAndRun();
        const requestsBefore = c.scim.stats().byMethod.PATCH ?? 0;
        const writesBefore = c.scim.stats().writes;
        await setDepartment(users.slice(0, 3), 'Elsewhere');
        const run = await previewAndRun();
        const actions = await actionsOf(run.runId, c.key);
        expect(kinds(actions)).toEqual([
            'Deactivate: Held',
            'Deactivate: Held',
            'Deactivate: Held',
            'Remove From Group Sales: Held',
            'Remove From Group Sales: Held',
            'Remove From Group Sales: Held'
        ]);
        expect(actions[0].reason).toMatch(
            /^held: 60% of 5 rule-managed active accounts is more than the limit of 20%/
        );
        expect(c.scim.stats().byMethod.PATCH ?? 0).toBe(requestsBefore);
        const app = await appAccounts(c.directory);
        for (const user of users)
            expect(app.get(user.Username.toLowerCase())).toEqual({ active: true, groups: ['Sales'] });
        // The admins are told, in the first line.
        const audit = smtp.messages.find((m) => String(m.text ?? '').includes(run.runId));
        expect(String(audit?.subject)).toMatch(/^HELD removals · Rollcall /);
        expect(String(audit?.text).split('\n')[0]).toMatch(
            new RegExp(`^HELD: 6 removals in Away \\d+ \\(${c.key}\\) \\(held: 60% of 5 rule-managed`)
        );
        const runRecord = await api(service, 'GET', `/v1/runs/${run.runId}`);
        expect(runRecord.body.status).toBe('Completed');
        expect((runRecord.body.counts as { summary: string }).summary).toMatch(/, 6 held for review$/);

        // A non-admin cannot approve; nothing is sent.
        const refused = await api(service, 'POST', `/v1/runs/${run.runId}/approve-held`, {
            initiatedBy: users[4].Id
        });
        expect(refused.status).toBe(403);
        expect(c.scim.stats().writes).toBe(writesBefore);

        // An admin approves: exactly the held actions are sent, once.
        const writes = c.scim.stats().writes;
        const approved = await api(service, 'POST', `/v1/runs/${run.runId}/approve-held`, {
            initiatedBy: admin
        });
        expect(approved.status).toBe(200);
        expect(approved.body).toMatchObject({
            approvedBy: admin,
            released: 6,
            alreadyApproved: false,
            stopped: false
        });
        // Three users PATCHed inactive, one PATCH of the group removing three members.
        expect(c.scim.stats().writes - writes).toBe(4);
        expect(kinds(await actionsOf(run.runId, c.key))).toEqual([
            'Deactivate: Done',
            'Deactivate: Done',
            'Deactivate: Done',
            'Remove From Group Sales: Done',
            'Remove From Group Sales: Done',
            'Remove From Group Sales: Done'
        ]);
        const after = await appAccounts(c.directory);
        for (const user of users.slice(0, 3))
            expect(after.get(user.Username.toLowerCase())).toEqual({ active: false, groups: [] });
        for (const user of users.slice(3))
            expect(after.get(user.Username.toLowerCase())).toEqual({ active: true, groups: ['Sales'] });
        const [recorded] = await store.org.query<{
            Held_Approved_By__c: string;
            Held_Approved_At__c: string;
        }>(
            `SELECT Held_Approved_By__c, Held_Approved_At__c FROM Provisioning_Run__c WHERE Id = '${run.runId}'`
        );
        expect(recorded.Held_Approved_By__c).toBe(admin);
        expect(recorded.Held_Approved_At__c).toBeTruthy();
        // The run's line says what was sent, no longer what was held (History and the run detail read it).
        const line = ((await api(service, 'GET', `/v1/runs/${run.runId}`)).body.counts as { summary: string })
            .summary;
        expect(line).toMatch(/, 3 group changes, 3 deactivated$/);
        expect(line).not.toContain('held');

        // The admins are told who approved, when, what was sent and to whom.
        expect(approved.body.notified).toEqual({ email: 'sent', slack: expect.any(String) });
        const notice = smtp.messages.find((m) =>
            String(m.subject).startsWith(`Rollcall: held removals of run ${run.runId} approved by `)
        );
        const names = await store.org.query<{ Name: string }>(
            `SELECT Name FROM User WHERE Id IN (${users
                .slice(0, 3)
                .map((u) => `'${u.Id}'`)
                .join(', ')})`
        );
        expect(String(notice?.text)).toContain('3 Deactivate, 3 Remove From Group → 6 done');
        for (const { Name } of names) expect(String(notice?.text)).toContain(Name);

        // The answer was lost and the approval is sent again: the same approval, nothing sent twice.
        const again = await api(service, 'POST', `/v1/runs/${run.runId}/approve-held`, {
            initiatedBy: admin
        });
        expect(again.status).toBe(200);
        expect(again.body).toMatchObject({ approvedBy: admin, released: 0, alreadyApproved: true });
        expect(again.body.approvedAt).toBe(approved.body.approvedAt);
        expect(c.scim.stats().writes - writes).toBe(4);
    });

    it('when the only set granting the connection is deactivated, every removal of the connection is held', async () => {
        const department = `Away-${process.pid}-9`;
        const users = await freshUsers(3);
        await setDepartment(users, department);
        const c = await connectionWithSet(department, { Grace_Days__c: 0 });
        await previewAndRun();
        await store.update([{ attributes: { type: 'Condition_Set__c' }, Id: c.setId, Active__c: false }]);
        const run = await previewAndRun();
        const actions = await actionsOf(run.runId, c.key);
        expect(actions).toHaveLength(6);
        expect(actions.every((a) => a.status === 'Held')).toBe(true);
        expect(actions[0].reason).toMatch(/^held: 100% of 3 rule-managed active accounts/);
        expect([...(await appAccounts(c.directory)).values()].every((a) => a.active)).toBe(true);
    });

    it('when a later run planned again, the older holds cannot be approved (never sent stale); the later ones can', async () => {
        const department = `Away-${process.pid}-10`;
        const users = await freshUsers(4);
        await setDepartment(users, department);
        const c = await connectionWithSet(department, { Grace_Days__c: 0, Breaker_Max_Count__c: 1 });
        await previewAndRun();
        await setDepartment(users.slice(0, 2), 'Elsewhere');
        const older = await previewAndRun();
        // One of them comes back: the later run holds only the other's removals.
        await setDepartment([users[0]], department);
        org.clock.advance(60_000);
        const later = await previewAndRun();
        const writes = c.scim.stats().writes;
        const stale = await api(service, 'POST', `/v1/runs/${older.runId}/approve-held`, {
            initiatedBy: admin
        });
        expect(stale.status).toBe(409);
        expect(
            String(
                (stale.body.error as { message?: string } | undefined)?.message ?? JSON.stringify(stale.body)
            )
        ).toContain(later.runId);
        expect(c.scim.stats().writes).toBe(writes);
        const fresh = await api(service, 'POST', `/v1/runs/${later.runId}/approve-held`, {
            initiatedBy: admin
        });
        expect(fresh.status).toBe(200);
        const app = await appAccounts(c.directory);
        expect(app.get(users[0].Username.toLowerCase())?.active).toBe(true);
        expect(app.get(users[1].Username.toLowerCase())?.active).toBe(false);
    });

    it('an approval sent to two instances at once sends the held actions exactly once', async () => {
        const department = `Away-${process.pid}-7`;
        const users = await freshUsers(5);
        await setDepartment(users, department);
        const c = await connectionWithSet(department, { Grace_Days__c: 0, Breaker_Max_Count__c: 2 });
        await previewAndRun();
        await setDepartment(users.slice(0, 3), 'Elsewhere');
        const run = await previewAndRun();
        expect((await actionsOf(run.runId, c.key)).every((a) => a.status === 'Held')).toBe(true);
        const second = await startService(org, serviceEnv(smtp), {
            appDirectories: factory,
            clock: { now: () => new Date(org.clock.now()) }
        });
        try {
            const writes = c.scim.stats().writes;
            const answers = await Promise.all(
                [service, second].map((instance) =>
                    api(instance, 'POST', `/v1/runs/${run.runId}/approve-held`, { initiatedBy: admin })
                )
            );
            const statuses = answers.map((a) => a.status).sort();
            // One sends; the other is refused while the first holds the lease, or finds the approval done.
            expect([
                [200, 409],
                [200, 200]
            ]).toContainEqual(statuses);
            expect(answers.filter((a) => a.status === 200 && a.body.alreadyApproved === false)).toHaveLength(
                1
            );
            expect(c.scim.stats().writes - writes).toBe(4);
            expect((await actionsOf(run.runId, c.key)).every((a) => a.status === 'Done')).toBe(true);
        } finally {
            await second.stop();
        }
    });
});

describe('reconciliation', () => {
    it('when an admin compares with the app, then the four lists are right and nothing is adopted until they adopt; adopted accounts are then Rule', async () => {
        const department = `Away-${process.pid}-8`;
        const users = await freshUsers(5);
        await setDepartment(users.slice(0, 4), department);
        await setDepartment([users[4]], `Not-${department}`);
        const c = await connectionWithSet(department, { Grace_Days__c: 0, Breaker_Max_Percent__c: 100 });
        const make = (userName: string) =>
            String(
                c.scim.store.create('User', { schemas: [USER_SCHEMA], userName, active: true }, new Date()).id
            );
        const first = make(users[0].Username);
        const second = make(users[1].Username.toUpperCase());
        const noRule = make(users[4].Username);
        const stranger = make(`stranger-${process.pid}@nowhere.example`);

        const refused = await api(service, 'POST', `/v1/connections/${c.key}/reconcile`, {
            initiatedBy: users[4].Id
        });
        expect(refused.status).toBe(403);
        const compared = await api(service, 'POST', `/v1/connections/${c.key}/reconcile`, {
            initiatedBy: admin
        });
        expect(compared.status).toBe(200);
        const ids = (list: { first: Array<{ appId?: string; userId?: string }> }) =>
            list.first.map((entry) => entry.appId ?? entry.userId).sort();
        const body = compared.body as unknown as Record<
            'adoptable' | 'manual' | 'toCreate' | 'noUser',
            { count: number; first: Array<{ appId?: string; userId?: string }> }
        >;
        expect(body.adoptable.count).toBe(2);
        expect(ids(body.adoptable)).toEqual([first, second].sort());
        expect(body.manual.count).toBe(1);
        expect(ids(body.manual)).toEqual([noRule]);
        expect(body.toCreate.count).toBe(2);
        expect(ids(body.toCreate)).toEqual([users[2].Id, users[3].Id].sort());
        expect(body.noUser.count).toBe(1);
        expect(ids(body.noUser)).toEqual([stranger]);
        const none = await store.org.query(`SELECT Id FROM App_Account__c WHERE Connection__c = '${c.id}'`);
        expect(none).toHaveLength(0);

        const adopted = await api(service, 'POST', `/v1/connections/${c.key}/adopt`, {
            initiatedBy: admin,
            appIds: [first, stranger]
        });
        expect(adopted.status).toBe(200);
        expect(adopted.body).toMatchObject({ adopted: 1, notAdoptable: [stranger], failed: [] });
        expect(await accountOf(c.id, users[0].Id)).toMatchObject({ Source__c: 'Rule', Status__c: 'Active' });
        expect((await c.directory.findUser(users[0].Username))?.externalId).toBe(`${users[0].Id}:${c.key}`);
        // Adopting again (a retry after a lost answer) changes nothing: the account is recorded now.
        const writes = c.scim.stats().writes;
        const again = await api(service, 'POST', `/v1/connections/${c.key}/adopt`, {
            initiatedBy: admin,
            appIds: [first]
        });
        expect(again.body).toMatchObject({ adopted: 0, notAdoptable: [first], failed: [] });
        expect(c.scim.stats().writes).toBe(writes);
        const nothingChosen = await api(service, 'POST', `/v1/connections/${c.key}/adopt`, {
            initiatedBy: admin
        });
        expect(nothingChosen.status).toBe(400);

        // The run: the adopted account is granted (not created again); the other existing one stays Manual.
        await previewAndRun();
        expect(c.scim.store.users.size).toBe(6);
        expect(await accountOf(c.id, users[1].Id)).toMatchObject({ Source__c: 'Manual' });
        expect((await appAccounts(c.directory)).get(users[0].Username.toLowerCase())).toEqual({
            active: true,
            groups: ['Sales']
        });
        // Adopted as Rule, it is taken away like any Rule account; the Manual one is not.
        await setDepartment(users.slice(0, 2), 'Elsewhere');
        await previewAndRun();
        const app = await appAccounts(c.directory);
        expect(app.get(users[0].Username.toLowerCase())).toEqual({ active: false, groups: [] });
        expect(app.get(users[1].Username.toLowerCase())?.active).toBe(true);
    });
});
