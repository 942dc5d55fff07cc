/**
 * Connections over HTTP (DESIGN §10): the service's API, the local org, and the local SCIM app
 * (startLocalScimApp) reached through the SCIM adapter (createScimDirectory), exactly as in production.
 * Each test makes its own connection (a fresh key, so its own App_Account__c records) and its own app.
 *
 * The app: `appFor()` is the one place the tests get it. The faults are the local SCIM app's own switches
 * (dropped answers, 429 with Retry-After, 5xx, latency); the adapter's fetch is wrapped only to hold a
 * create in flight (the stop-mid-create test) and to arm a dropped answer on the request a test names
 * (a /Bulk request is a POST, like a create).
 */
import type { AppDirectory, AppDirectoryFactory } from '../../service/src/connections/app-directory';
import type { LocalOrg } from '../../service/src/local-org';
import type { OrgStore } from '../../service/src/domain/org-store';
import type { RunningService } from '../../service/src/main';
import { parseSnapshot } from '../../service/src/use-cases/evaluation';
import { createScimDirectory } from '../../service/src/adapters/scim';
import { startLocalScimApp, type LocalScimApp } from '../../service/src/local-scim';
import { startSlackEndpoint, startSmtpSink, until, type SlackEndpoint, type SmtpSink } from './support/peers';
import {
    api,
    deactivateAllSets,
    orgEnv,
    orgStore,
    previewViaApi,
    removeDir,
    serviceEnv,
    startService,
    startServiceProcess,
    startTestOrg
} from './support/stack';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

jest.setTimeout(120_000);

const GROUPS = ['Sales', 'All', 'all', 'Support', 'SALES'];
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

let org: LocalOrg;
let orgDir: string;
let store: OrgStore;
let smtp: SmtpSink;
let slack: SlackEndpoint;
let service: RunningService;
const apps = new Map<string, AppDirectory>();
const factory: AppDirectoryFactory = {
    forConnection: (key) => apps.get(key),
    configuredKeys: () => [...apps.keys()].sort()
};
let admin: string;
let keyCounter = 0;

const TOKEN = 'connections-test-token-0123456789abcdef';
/** The adapter's bounds in these tests: short, so a fault costs little time; the same code paths. */
const CLIENT = { timeoutMs: 1500, retryAttempts: 3, retryBaseMs: 20, maxRetryAfterMs: 2000 };
const started: LocalScimApp[] = [];

interface TestApp {
    scim: LocalScimApp;
    directory: AppDirectory;
    /** While set, creates (POST /Users) wait for it before they are sent: a create in flight. */
    holdCreates?: Promise<void>;
    heldCreates: number;
    /** Arm a dropped answer (the app applies the write, then closes the connection) on the next request
     *  for which this returns true, checked just before it is sent. */
    dropWhen?: (method: string, path: string) => boolean;
}

/** The app of a connection: a local SCIM app of its own, seeded with these groups, and the SCIM adapter. */
async function appFor(
    key: string,
    groups = GROUPS,
    client: { membersPerPatch?: number } = {}
): Promise<TestApp> {
    const scim = await startLocalScimApp({ token: TOKEN, seedGroups: groups });
    started.push(scim);
    const app: TestApp = { scim, heldCreates: 0 } as TestApp;
    const wrapped: typeof fetch = async (input, init) => {
        const url = new URL(String(input));
        const method = init?.method ?? 'GET';
        if (method === 'POST' && url.pathname.endsWith('/Users') && app.holdCreates) {
            app.heldCreates++;
            await app.holdCreates;
        }
        if (app.dropWhen?.(method, url.pathname)) {
            app.dropWhen = undefined;
            scim.faults.dropNextAnswers(1, method);
        }
        return fetch(input, init);
    };
    app.directory = createScimDirectory({
        baseUrl: scim.url,
        token: TOKEN,
        fetch: wrapped,
        ...CLIENT,
        ...client
    });
    apps.set(key, app.directory);
    return app;
}

/** A user as the app stores it, read over HTTP (the whole resource). */
async function scimUser(app: TestApp, userName: string): Promise<Record<string, unknown> | undefined> {
    const filter = encodeURIComponent(`userName eq ${JSON.stringify(userName)}`);
    const response = await fetch(`${app.scim.url}/Users?filter=${filter}`, {
        headers: { Authorization: `Bearer ${TOKEN}` }
    });
    const body = (await response.json()) as { Resources: Array<Record<string, unknown>> };
    return body.Resources[0];
}

/** An account someone else made in the app (no externalId of ours), over HTTP. */
async function seedUser(
    app: TestApp,
    userName: string,
    extra: Record<string, unknown> = {}
): Promise<string> {
    const response = await fetch(`${app.scim.url}/Users`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/scim+json' },
        body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName, ...extra })
    });
    expect(response.status).toBe(201);
    return String(((await response.json()) as { id: string }).id);
}

/** Writes the app applied (creates, patches; a no-change patch included) and requests by method. */
function appWrites(app: TestApp): { writes: number; POST: number; PATCH: number } {
    const stats = app.scim.stats();
    return { writes: stats.writes, POST: stats.byMethod.POST ?? 0, PATCH: stats.byMethod.PATCH ?? 0 };
}

interface TestUser {
    Id: string;
    Username: string;
    Email: string;
    FirstName: string | null;
    LastName: string;
    Department: string | null;
}

beforeAll(async () => {
    ({ org, dataDir: orgDir } = await startTestOrg({ users: 80, seed: 19 }));
    store = orgStore(org);
    smtp = await startSmtpSink();
    slack = await startSlackEndpoint();
    service = await startService(org, serviceEnv(smtp, slack), { appDirectories: factory });
    admin = org.ids.adminUserIds[0];
});

afterAll(async () => {
    await service?.stop();
    for (const app of started) await app.stop();
    await smtp?.close();
    await slack?.close();
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

async function someUsers(count: number, offset = 0): Promise<TestUser[]> {
    return store.org.query<TestUser>(
        `SELECT Id, Username, Email, FirstName, LastName, Department FROM User WHERE IsActive = true AND UserType = 'Standard' AND Email != null ORDER BY Id LIMIT ${count} OFFSET ${offset}`
    );
}

async function createConnection(map?: Record<string, unknown>): Promise<{ id: string; key: string }> {
    const key = `test-${process.pid}-${++keyCounter}`;
    const [created] = await store.org.create('Connection__c', [
        {
            Name: `Test app ${keyCounter}`,
            Key__c: key,
            Active__c: true,
            Match_On__c: 'Username',
            Deprovisioning__c: 'Off',
            Attribute_Map__c: map ? JSON.stringify(map) : null
        }
    ]);
    if (!created.success) throw new Error(created.errors.join('; '));
    return { id: String(created.id), key };
}

/** An active set matching exactly these users, granting a product and access in the connection. */
async function grantingSet(
    name: string,
    userIds: string[],
    connectionId: string,
    access: { groups?: string[]; role?: string }
): Promise<string> {
    const [set] = await store.org.create('Condition_Set__c', [
        {
            Name: name,
            Active__c: true,
            Products__c: 'Meeting Links',
            Eligible_Statuses__c: 'Not Invited;Invited',
            Definition__c: JSON.stringify({
                version: 1,
                conditions: [{ field: 'Id', operator: 'in', value: userIds }]
            })
        }
    ]);
    const [grant] = await store.org.create('Access_Grant__c', [
        {
            Condition_Set__c: set.id,
            Connection__c: connectionId,
            Groups__c: (access.groups ?? []).join('\n'),
            Role__c: access.role ?? null
        }
    ]);
    if (!grant.success) throw new Error(grant.errors.join('; '));
    return String(set.id);
}

async function setUsers(setId: string, userIds: string[]): Promise<void> {
    await store.update([
        {
            attributes: { type: 'Condition_Set__c' },
            Id: setId,
            Definition__c: JSON.stringify({
                version: 1,
                conditions: [{ field: 'Id', operator: 'in', value: userIds }]
            })
        }
    ]);
}

interface ActionView {
    connection: string;
    userId: string;
    kind: string;
    status: string;
    group: string | null;
    role: string | null;
    reason: string | null;
}

async function actionsOf(runId: string, key: string): Promise<ActionView[]> {
    const response = await api(service, 'GET', `/v1/runs/${runId}/actions`);
    expect(response.status).toBe(200);
    return (response.body.actions as ActionView[]).filter((action) => action.connection === key);
}

/** Preview, then execute it, as Apex does; returns the run id once it has finished. */
async function previewAndRun(
    on: RunningService = service
): Promise<{ runId: string; preview: Record<string, unknown> }> {
    const preview = await previewViaApi(on, admin);
    expect(preview.run.status).toBe('Previewed');
    const accepted = await api(on, 'POST', '/v1/runs', { previewRunId: preview.runId, initiatedBy: admin });
    expect(accepted.status).toBe(202);
    await on.provisioning.waitForRun(preview.runId);
    return { runId: preview.runId, preview: preview.run };
}

/** The app's accounts and memberships, read through the port. */
async function appState(app: TestApp) {
    const users: Array<{
        id: string;
        userName: string;
        externalId?: string;
        resource: Record<string, unknown>;
    }> = [];
    await app.directory.listUsers((page) => {
        users.push(...page);
    });
    const groups = await app.directory.listGroups();
    return users
        .map((user) => ({
            userName: user.userName,
            externalId: user.externalId ?? null,
            roles: user.resource.roles ?? null,
            groups: groups
                .filter((group) => group.memberIds?.includes(user.id))
                .map((group) => group.displayName)
                .sort()
        }))
        .sort((a, b) => a.userName.localeCompare(b.userName));
}

async function accountsOf(connectionId: string) {
    const rows = await store.org.query<{
        Key__c: string;
        User__c: string;
        External_Id__c: string | null;
        Status__c: string;
        Source__c: string;
        Role__c: string | null;
        Groups__c: string | null;
        Granted_By_Sets__c: string | null;
        attributes?: unknown;
    }>(
        `SELECT Key__c, User__c, External_Id__c, Status__c, Source__c, Role__c, Groups__c, Granted_By_Sets__c FROM App_Account__c WHERE Connection__c = '${connectionId}' ORDER BY Key__c`
    );
    return rows.map(({ External_Id__c: _id, attributes: _attributes, ...rest }) => ({
        ...rest,
        Groups__c: (rest.Groups__c ?? '').split('\n').filter(Boolean).sort().join('\n')
    }));
}

describe('provisioning accounts into an app', () => {
    it('when a set grants access, then each user is created with the mapping, the role and the union of groups (exact names)', async () => {
        const users = await someUsers(3);
        const connection = await createConnection({
            [`${ENTERPRISE}:department`]: { field: 'Department' },
            userType: { value: 'Employee' }
        });
        const app = await appFor(connection.key);
        await grantingSet(
            'Access A',
            users.map((u) => u.Id),
            connection.id,
            { groups: ['Sales', 'All'], role: 'Light agent' }
        );
        await grantingSet('Access B', [users[0].Id], connection.id, { groups: ['all', 'Support'] });

        const { runId, preview } = await previewAndRun();

        const actions = await actionsOf(runId, connection.key);
        expect(actions.filter((a) => a.kind === 'Create')).toHaveLength(3);
        expect(actions.every((a) => a.status === 'Done')).toBe(true);
        const state = await appState(app);
        expect(state).toHaveLength(3);
        const first = state.find((account) => account.userName === users[0].Username);
        expect(first).toEqual({
            userName: users[0].Username,
            externalId: `${users[0].Id}:${connection.key}`,
            roles: [{ value: 'Light agent', primary: true }],
            groups: ['All', 'Sales', 'Support', 'all']
        });
        for (const other of state.filter((account) => account !== first))
            expect(other.groups).toEqual(['All', 'Sales']);
        // Mapped attributes as the mapping says; a name differing only by case ("SALES") is another group.
        const created = (await scimUser(app, users[0].Username))!;
        expect(created).toMatchObject({
            userType: 'Employee',
            name: { familyName: users[0].LastName },
            emails: [{ type: 'work', value: users[0].Email, primary: true }],
            active: true
        });
        if (users[0].Department) expect(created[ENTERPRISE]).toEqual({ department: users[0].Department });
        const accounts = await accountsOf(connection.id);
        expect(accounts.map((a) => [a.Status__c, a.Source__c, a.Role__c])).toEqual(
            users.map(() => ['Active', 'Rule', 'Light agent'])
        );
        expect(accounts.find((a) => a.User__c === users[0].Id)?.Granted_By_Sets__c).toBe(
            'Access A; Access B'
        );
        expect(preview.status).toBe('Previewed');
    });

    it('when a set grants access and no product, then it provisions the access and is not an invalid set for the invitations', async () => {
        const users = await someUsers(2, 55);
        const connection = await createConnection();
        const app = await appFor(connection.key);
        const [set] = await store.org.create('Condition_Set__c', [
            {
                Name: 'Access only',
                Active__c: true,
                Definition__c: JSON.stringify({
                    version: 1,
                    conditions: [{ field: 'Id', operator: 'in', value: users.map((u) => u.Id) }]
                })
            }
        ]);
        await store.org.create('Access_Grant__c', [
            { Condition_Set__c: set.id, Connection__c: connection.id, Groups__c: 'Support', Role__c: 'Agent' }
        ]);

        const { runId } = await previewAndRun();

        expect((await appState(app)).map((account) => account.groups)).toEqual([['Support'], ['Support']]);
        const [run] = await store.org.query<{ Condition_Sets_Snapshot__c: string }>(
            `SELECT Condition_Sets_Snapshot__c FROM Provisioning_Run__c WHERE Id = '${runId}'`
        );
        expect(
            parseSnapshot(run.Condition_Sets_Snapshot__c).invalid.map((invalid) => invalid.name)
        ).not.toContain('Access only');
    });

    it('when a preview plans no invitation and only accounts in an app, then executing it by hand sends them and completes', async () => {
        // Arrange: the only active set grants access and no product
        const users = await someUsers(3, 60);
        const connection = await createConnection();
        const app = await appFor(connection.key);
        const [set] = await store.org.create('Condition_Set__c', [
            {
                Name: 'Access only, by hand',
                Active__c: true,
                Definition__c: JSON.stringify({
                    version: 1,
                    conditions: [{ field: 'Id', operator: 'in', value: users.map((u) => u.Id) }]
                })
            }
        ]);
        await store.org.create('Access_Grant__c', [
            { Condition_Set__c: set.id, Connection__c: connection.id, Groups__c: 'Support' }
        ]);
        const preview = await previewViaApi(service, admin);
        expect(preview.run.status).toBe('Previewed');
        const items = await store.org.query<{ Id: string }>(
            `SELECT Id FROM Provisioning_Run_Item__c WHERE Run__c = '${preview.runId}'`
        );
        expect(items).toEqual([]);
        const planned = await actionsOf(preview.runId, connection.key);
        expect(planned.filter((a) => a.kind === 'Create' && a.status === 'Pending')).toHaveLength(3);

        // Act: the admin provisions the preview (Apex's POST /v1/runs)
        const accepted = await api(service, 'POST', '/v1/runs', {
            previewRunId: preview.runId,
            initiatedBy: admin
        });
        expect(accepted.status).toBe(202);
        await service.provisioning.waitForRun(preview.runId);

        // Assert: the run completed, every action done, and the accounts are in the app
        const run = await api(service, 'GET', `/v1/runs/${preview.runId}`);
        expect(run.body.status).toBe('Completed');
        const sent = await actionsOf(preview.runId, connection.key);
        expect(sent).toHaveLength(planned.length);
        expect(sent.every((a) => a.status === 'Done')).toBe(true);
        const state = await appState(app);
        expect(state.map((account) => [account.userName, account.groups])).toEqual(
            users
                .map((u) => u.Username)
                .sort((a, b) => a.localeCompare(b))
                .map((userName) => [userName, ['Support']])
        );
    });
    it('when nothing changed, then the next run plans no action and writes nothing to the app; a changed field is one update', async () => {
        const users = await someUsers(2, 5);
        const connection = await createConnection({ title: { field: 'Department' } });
        const app = await appFor(connection.key);
        await grantingSet(
            'Unchanged',
            users.map((u) => u.Id),
            connection.id,
            { groups: ['Sales'], role: 'Member' }
        );
        await previewAndRun();
        const writes = appWrites(app);

        const again = await previewAndRun();

        expect(await actionsOf(again.runId, connection.key)).toEqual([]);
        expect(appWrites(app)).toEqual(writes);

        await store.update([
            { attributes: { type: 'User' }, Id: users[0].Id, Department: 'Moved Department' }
        ]);
        const changed = await previewAndRun();
        const actions = await actionsOf(changed.runId, connection.key);
        expect(actions.map((a) => [a.kind, a.userId, a.status])).toEqual([['Update', users[0].Id, 'Done']]);
        expect((await scimUser(app, users[0].Username))?.title).toBe('Moved Department');
        expect(appWrites(app)).toEqual({
            writes: writes.writes + 1,
            POST: writes.POST,
            PATCH: writes.PATCH + 1
        });
        await store.update([
            { attributes: { type: 'User' }, Id: users[0].Id, Department: users[0].Department }
        ]);
    });

    it('when sets give different roles, then the oldest wins, and an account keeps the role of the set that provisioned it while it matches', async () => {
        const users = await someUsers(2, 10);
        const [both, later] = users;
        const connection = await createConnection();
        const app = await appFor(connection.key);
        const oldSet = await grantingSet('Roles old', [both.Id], connection.id, { role: 'Light agent' });
        // CreatedDate is the precedence: the newer set is created at least a second later.
        await new Promise((resolve) => setTimeout(resolve, 1100));
        await grantingSet('Roles new', [both.Id, later.Id], connection.id, { role: 'Admin' });

        await previewAndRun();
        const roleOf = async (user: TestUser) =>
            (await appState(app)).find((account) => account.userName === user.Username)?.roles;
        expect(await roleOf(both)).toEqual([{ value: 'Light agent', primary: true }]);
        expect(await roleOf(later)).toEqual([{ value: 'Admin', primary: true }]);

        // The older set now matches `later` too: it keeps Admin, the role of the set that provisioned it.
        await setUsers(oldSet, [both.Id, later.Id]);
        const kept = await previewAndRun();
        expect((await actionsOf(kept.runId, connection.key)).filter((a) => a.kind === 'Set Role')).toEqual(
            []
        );
        expect(await roleOf(later)).toEqual([{ value: 'Admin', primary: true }]);
    });

    it('when the app already has an account with the userName that Rollcall did not create, then it is recorded Manual and never touched', async () => {
        const [user] = await someUsers(1, 15);
        const connection = await createConnection();
        const app = await appFor(connection.key);
        await seedUser(app, user.Username, { title: 'Made by hand' });
        const seeded = appWrites(app);
        const before = await scimUser(app, user.Username);
        await grantingSet('Manual', [user.Id], connection.id, { groups: ['Sales'], role: 'Admin' });

        const first = await previewAndRun();
        const second = await previewAndRun();

        const actions = await actionsOf(first.runId, connection.key);
        expect(actions.map((a) => [a.kind, a.status])).toEqual([['Create', 'Skipped']]);
        expect(actions[0].reason).toMatch(/Manual/);
        expect(await actionsOf(second.runId, connection.key)).toEqual([]);
        // Unchanged to the byte: same attributes, same meta.version.
        expect(await scimUser(app, user.Username)).toEqual(before);
        expect(before).not.toHaveProperty('externalId');
        expect((await appState(app))[0].groups).toEqual([]);
        expect(appWrites(app)).toEqual(seeded);
        expect((await accountsOf(connection.id)).map((a) => [a.Source__c, a.Status__c])).toEqual([
            ['Manual', 'Active']
        ]);
    });

    it('when previewed, then the plan per connection counts the actions by kind, the Manual accounts kept, and a connection not configured in the service plans nothing', async () => {
        const users = await someUsers(3, 60);
        const connection = await createConnection();
        const app = await appFor(connection.key);
        await seedUser(app, users[2].Username);
        const seeded = appWrites(app);
        await grantingSet(
            'Plan summary',
            users.map((u) => u.Id),
            connection.id,
            { groups: ['Sales', 'Support'] }
        );
        const unconfigured = await createConnection();
        await grantingSet('Plan summary, no app', [users[0].Id], unconfigured.id, { groups: ['Sales'] });

        const preview = await service.provisioning.preview({ initiatedBy: admin });

        const byKey = new Map((preview.connections ?? []).map((outcome) => [outcome.key, outcome]));
        expect(byKey.get(connection.key)).toMatchObject({
            configured: true,
            planned: { Create: 2, 'Add To Group': 4 },
            kept: 1
        });
        expect(byKey.get(unconfigured.key)).toMatchObject({ configured: false, planned: {} });
        expect(byKey.get(unconfigured.key)?.problem).toMatch(/Not configured in the service/);
        expect((await actionsOf(preview.runId, unconfigured.key)).length).toBe(0);
        expect(appWrites(app)).toEqual(seeded);
    });

    it('when a group named in a grant does not exist in the app (names are case-sensitive), then that membership fails with the reason and the rest is done', async () => {
        const [user] = await someUsers(1, 20);
        const connection = await createConnection();
        await appFor(connection.key, ['Sales']);
        await grantingSet('Missing group', [user.Id], connection.id, { groups: ['Sales', 'sales'] });

        const { runId } = await previewAndRun();

        const actions = await actionsOf(runId, connection.key);
        expect(actions.map((a) => [a.kind, a.group, a.status])).toEqual([
            ['Create', null, 'Done'],
            ['Add To Group', 'Sales', 'Done'],
            ['Add To Group', 'sales', 'Failed']
        ]);
        expect(actions[2].reason).toMatch(/No group named "sales"/);
        const run = await api(service, 'GET', `/v1/runs/${runId}`);
        expect(run.body.status).toBe('Completed with Errors');
    });
});

describe("the run's outcome", () => {
    it('when a run creates accounts and adds memberships, then its one line says so on the record, in the API, the audit email and Slack', async () => {
        const users = await someUsers(3, 0);
        const connection = await createConnection();
        await appFor(connection.key);
        await grantingSet(
            'Outcome line',
            users.map((u) => u.Id),
            connection.id,
            { groups: ['Sales', 'Support'], role: 'Agent' }
        );
        smtp.messages.length = 0;
        slack.calls.length = 0;

        const { runId } = await previewAndRun();

        const [record] = await store.org.query<{ Outcome_Summary__c: string }>(
            `SELECT Outcome_Summary__c FROM Provisioning_Run__c WHERE Id = '${runId}'`
        );
        const line = record.Outcome_Summary__c;
        expect(line).toMatch(
            /^\d+ invited, \d+ reminded, \d+ skipped, \d+ failed, 3 created, 6 group changes$/
        );
        const view = await api(service, 'GET', `/v1/runs/${runId}`);
        expect(JSON.stringify(view.body)).toContain(JSON.stringify(line));
        const audit = smtp.messages.find((message) => String(message.subject).startsWith('Rollcall'));
        expect(String(audit?.subject)).toMatch(new RegExp(`: ${line}$`));
        expect(audit?.text).toContain(line);
        expect(audit?.text).toMatch(/^Nothing needs action\.$/m);
        await until(() => slack.calls.length > 0, 'the Slack summary');
        expect(slack.calls[0].text).toContain(`: ${line}.`);
    });
});

describe('scheduled runs', () => {
    it('when a scheduled run starts, then it plans and sends the connection actions like a previewed run', async () => {
        const users = await someUsers(2, 45);
        const connection = await createConnection();
        const app = await appFor(connection.key);
        await grantingSet(
            'Scheduled access',
            users.map((u) => u.Id),
            connection.id,
            { groups: ['Support'], role: 'Agent' }
        );

        const accepted = await api(service, 'POST', '/v1/runs', { trigger: 'scheduled', full: true });
        expect(accepted.status).toBe(202);
        const runId = String(accepted.body.runId);
        await service.provisioning.waitForRun(runId);

        const actions = await actionsOf(runId, connection.key);
        expect(actions.map((a) => `${a.kind}: ${a.status}`).sort()).toEqual([
            'Add To Group: Done',
            'Add To Group: Done',
            'Create: Done',
            'Create: Done'
        ]);
        expect((await appState(app)).map((account) => [account.groups, account.roles])).toEqual(
            users.map(() => [['Support'], [{ value: 'Agent', primary: true }]])
        );
    });
});

describe('integrity', () => {
    const DROPS = {
        createUser: (method: string, path: string) => method === 'POST' && path.endsWith('/Users'),
        patchUser: (method: string, path: string) => method === 'PATCH' && path.includes('/Users/'),
        addMembers: (method: string, path: string) => method === 'PATCH' && path.includes('/Groups/'),
        bulkMembers: (method: string, path: string) => method === 'POST' && path.endsWith('/Bulk')
    };
    it.each(Object.keys(DROPS) as Array<keyof typeof DROPS>)(
        'when the answer to a %s is lost, then the run ends with exactly the clean run\u2019s accounts and memberships',
        async (kind) => {
            const users = await someUsers(3, 25);
            // The clean run, in its own connection and app.
            const clean = await createConnection({ title: { field: 'Department' } });
            const cleanApp = await appFor(clean.key);
            await grantingSet(
                `Clean ${kind}`,
                users.map((u) => u.Id),
                clean.id,
                { groups: ['Sales', 'Support'], role: 'Member' }
            );
            await previewAndRun();
            await deactivateAllSets(store);

            const dropped = await createConnection({ title: { field: 'Department' } });
            // Two members per PATCH: three members take two, so the adapter sends them as one /Bulk request.
            const droppedApp = await appFor(
                dropped.key,
                GROUPS,
                kind === 'bulkMembers' ? { membersPerPatch: 2 } : {}
            );
            const setId = await grantingSet(
                `Dropped ${kind}`,
                users.map((u) => u.Id),
                dropped.id,
                {
                    groups: ['Sales', 'Support'],
                    role: 'Member'
                }
            );
            if (kind === 'patchUser') {
                // A patch needs an account first: created cleanly, then the role changes.
                await store.update([
                    { attributes: { type: 'Access_Grant__c' }, Id: await grantOf(setId), Role__c: 'Before' }
                ]);
                await previewAndRun();
                await store.update([
                    { attributes: { type: 'Access_Grant__c' }, Id: await grantOf(setId), Role__c: 'Member' }
                ]);
            }
            const requests = droppedApp.scim.stats().byMethod;
            droppedApp.dropWhen = DROPS[kind];
            const droppedRun = await previewAndRun();
            // The answer was dropped (the write applied, the connection closed), and the adapter's retry
            // found it done: the run's actions end Done, and the next run has nothing to do.
            expect(droppedApp.dropWhen).toBeUndefined();
            expect(droppedApp.scim.faults.state().oneShot).toEqual([]);
            if (kind === 'bulkMembers')
                expect(droppedApp.scim.stats().byMethod.POST).toBeGreaterThan((requests.POST ?? 0) + 3);
            const sent = await actionsOf(droppedRun.runId, dropped.key);
            expect(sent.length).toBeGreaterThan(0);
            expect(sent.filter((a) => a.status !== 'Done')).toEqual([]);
            const retry = await previewAndRun();
            expect(await actionsOf(retry.runId, dropped.key)).toEqual([]);

            const strip = (state: Awaited<ReturnType<typeof appState>>, key: string) =>
                state.map((account) => ({
                    ...account,
                    externalId: account.externalId?.replace(`:${key}`, ':KEY')
                }));
            expect(strip(await appState(droppedApp), dropped.key)).toEqual(
                strip(await appState(cleanApp), clean.key)
            );
            const withoutKey = (rows: Awaited<ReturnType<typeof accountsOf>>, key: string) =>
                rows.map((row) => ({
                    ...row,
                    Key__c: row.Key__c.replace(`:${key}`, ''),
                    Granted_By_Sets__c: null
                }));
            expect(withoutKey(await accountsOf(dropped.id), dropped.key)).toEqual(
                withoutKey(await accountsOf(clean.id), clean.key)
            );
            expect(droppedApp.scim.store.users.size).toBe(3);
        }
    );

    it('when the app rate-limits (429 with Retry-After), fails (5xx) and times out, then the adapter retries within bounds and every account and membership is made once', async () => {
        const users = await someUsers(4, 65);
        const connection = await createConnection();
        const app = await appFor(connection.key);
        await grantingSet(
            'Flaky app',
            users.map((u) => u.Id),
            connection.id,
            { groups: ['Sales', 'Support'], role: 'Agent' }
        );
        const preview = await previewViaApi(service, admin);
        const before = app.scim.stats();
        // A create answered 429 twice (Retry-After: 1 s), one 503 and one 502, then a create that the app
        // applies after the client's timeout (1.5 s): the retry meets 409 uniqueness and adopts it.
        app.scim.faults.rateLimitNext(2, 1, 'POST');
        app.scim.faults.failNext(1, 503, 'POST');
        app.scim.faults.failNext(1, 502, 'PATCH');
        app.scim.faults.delayNext(1, 2500, 'POST');
        const startedAt = Date.now();

        await api(service, 'POST', '/v1/runs', { previewRunId: preview.runId, initiatedBy: admin });
        await service.provisioning.waitForRun(preview.runId);

        expect(app.scim.faults.state().oneShot).toEqual([]);
        expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1000);
        const actions = await actionsOf(preview.runId, connection.key);
        expect(actions.map((a) => a.status)).toEqual(actions.map(() => 'Done'));
        expect(actions).toHaveLength(12);
        expect(app.scim.store.users.size).toBe(4);
        expect((await appState(app)).map((account) => [account.groups, account.roles])).toEqual(
            users.map(() => [['Sales', 'Support'], [{ value: 'Agent', primary: true }]])
        );
        // More requests than writes: the faulted ones were retried.
        expect(app.scim.stats().requests - before.requests).toBeGreaterThan(4 + 2);
        expect((await accountsOf(connection.id)).map((a) => a.Source__c)).toEqual(users.map(() => 'Rule'));
        const run = await api(service, 'GET', `/v1/runs/${preview.runId}`);
        expect(run.body.status).toBe('Completed');
    });

    it('when two instances execute the same preview, then one sends and the accounts are made once', async () => {
        const users = await someUsers(4, 35);
        const connection = await createConnection();
        const app = await appFor(connection.key);
        await grantingSet(
            'Two instances',
            users.map((u) => u.Id),
            connection.id,
            { groups: ['Sales'] }
        );
        const second = await startService(org, serviceEnv(smtp), { appDirectories: factory });
        try {
            const preview = await previewViaApi(service, admin);
            const answers = await Promise.all(
                [service, second].map((instance) =>
                    api(instance, 'POST', '/v1/runs', { previewRunId: preview.runId, initiatedBy: admin })
                )
            );
            expect(answers.map((a) => a.status).sort()).toEqual([202, 409]);
            await Promise.all([
                service.provisioning.waitForRun(preview.runId),
                second.provisioning.waitForRun(preview.runId)
            ]);

            expect(app.scim.stats().byMethod.POST).toBe(4);
            expect(app.scim.store.users.size).toBe(4);
            expect((await appState(app)).map((account) => account.groups)).toEqual(
                users.map(() => ['Sales'])
            );
            expect(await accountsOf(connection.id)).toHaveLength(4);
        } finally {
            await second.stop();
        }
    });

    it('when two service processes execute the same preview at once, and the one sending is killed (SIGKILL) mid-create, then the other resumes it and every account and membership is made once', async () => {
        const users = await someUsers(8, 0);
        const connection = await createConnection();
        const app = await appFor(connection.key);
        await grantingSet(
            'Two processes',
            users.map((u) => u.Id),
            connection.id,
            { groups: ['Sales', 'Support'], role: 'Agent' }
        );
        const dir = mkdtempSync(join(tmpdir(), 'rollcall-connections-processes-'));
        const file = join(dir, 'connections.json');
        writeFileSync(file, JSON.stringify({ [connection.key]: { baseUrl: app.scim.url, token: TOKEN } }));
        const env = {
            ...serviceEnv(smtp, undefined, {
                HEARTBEAT_SECONDS: '0.5',
                STALE_RUN_SECONDS: '2',
                SWEEP_SECONDS: '0.5',
                DATA_DIR: dir,
                CONNECTIONS_FILE: file
            }),
            ...orgEnv(org),
            ROLLCALL_TEST_TIMERS: '1'
        };
        const processes = await Promise.all([startServiceProcess(env), startServiceProcess(env)]);
        try {
            const preview = await previewViaApi(processes[0], admin);
            // Every request to the app takes 150 ms: the creates are in flight when the sender is killed.
            app.scim.faults.latency(150);
            const body = { previewRunId: preview.runId, initiatedBy: admin };
            const answers = await Promise.all(processes.map((p) => api(p, 'POST', '/v1/runs', body)));
            expect(answers.map((answer) => answer.status).sort()).toEqual([202, 409]);
            const sender = processes[answers.findIndex((answer) => answer.status === 202)];
            await until(() => app.scim.store.users.size >= 1, 'a first account created', 30_000);
            sender.child.kill('SIGKILL');
            expect(app.scim.store.users.size).toBeLessThan(users.length);

            const run = await until(
                async () => {
                    const found = await store.findRun(preview.runId);
                    return found && found.Status__c.startsWith('Completed') ? found : undefined;
                },
                'the other process to resume and finish the run',
                60_000
            );
            app.scim.faults.clear();

            expect(run.Status__c).toBe('Completed');
            const actions = await actionsOf(preview.runId, connection.key);
            expect(actions.filter((a) => a.status !== 'Done')).toEqual([]);
            expect(app.scim.store.users.size).toBe(users.length);
            const state = await appState(app);
            expect(state.map((account) => account.externalId).sort()).toEqual(
                users.map((u) => `${u.Id}:${connection.key}`).sort()
            );
            expect(state.map((account) => account.groups)).toEqual(users.map(() => ['Sales', 'Support']));
            expect((await accountsOf(connection.id)).map((a) => [a.Source__c, a.Status__c])).toEqual(
                users.map(() => ['Rule', 'Active'])
            );
        } finally {
            for (const p of processes)
                if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
            await Promise.all(
                processes.map((p) =>
                    p.child.exitCode !== null || p.child.signalCode !== null
                        ? undefined
                        : new Promise((resolve) => p.child.once('exit', resolve))
                )
            );
            removeDir(dir);
        }
    });

    it('when the service stops while creating accounts, then the run parks and the resume creates each account once', async () => {
        const users = await someUsers(8, 50);
        const connection = await createConnection();
        const app = await appFor(connection.key);
        await grantingSet(
            'Park and resume',
            users.map((u) => u.Id),
            connection.id,
            { groups: ['Sales'] }
        );
        const first = await startService(org, serviceEnv(smtp), { appDirectories: factory });
        let release: () => void = () => undefined;
        app.holdCreates = new Promise<void>((resolve) => (release = resolve));
        const preview = await previewViaApi(first, admin);
        await api(first, 'POST', '/v1/runs', { previewRunId: preview.runId, initiatedBy: admin });
        await until(() => app.heldCreates >= 1, 'a create in flight');

        const stopping = first.stop();
        await new Promise((resolve) => setTimeout(resolve, 50));
        app.holdCreates = undefined;
        release();
        await stopping;
        const parked = await actionsOf(preview.runId, connection.key);
        expect(parked.some((a) => a.status === 'Pending')).toBe(true);

        const resumed = await service.provisioning.sweep();
        expect(resumed.resumed).toBe(preview.runId);
        await service.provisioning.waitForRun(preview.runId);

        const actions = await actionsOf(preview.runId, connection.key);
        expect(actions.every((a) => a.status === 'Done')).toBe(true);
        expect(app.scim.store.users.size).toBe(users.length);
        expect((await appState(app)).map((account) => account.groups)).toEqual(users.map(() => ['Sales']));
        expect(await accountsOf(connection.id)).toHaveLength(users.length);
    });

    it('when the app keeps failing, then its actions fail with the reason and the rest of the run goes on', async () => {
        const users = await someUsers(5, 40);
        const connection = await createConnection();
        const app = await appFor(connection.key);
        await grantingSet(
            'App down',
            users.map((u) => u.Id),
            connection.id,
            { groups: ['Sales'] }
        );
        const preview = await previewViaApi(service, admin);
        const requestsBefore = app.scim.stats().requests;
        const patchesBefore = app.scim.stats().byMethod.PATCH ?? 0;
        app.scim.faults.failFraction(1, 503);
        smtp.messages.length = 0;

        await api(service, 'POST', '/v1/runs', { previewRunId: preview.runId, initiatedBy: admin });
        await service.provisioning.waitForRun(preview.runId);

        const actions = await actionsOf(preview.runId, connection.key);
        expect(actions.every((a) => a.status === 'Failed')).toBe(true);
        expect(actions.at(-1)?.reason).toMatch(
            /failed \d times in a row \(last: .*HTTP 503\) after 4 attempts/
        );
        // Stopped after the streak: at most the creates begun before it (each with the adapter's retries),
        // and no membership was tried.
        expect(app.scim.stats().requests - requestsBefore).toBeLessThanOrEqual(
            users.length * (1 + CLIENT.retryAttempts)
        );
        expect(app.scim.stats().byMethod.PATCH ?? 0).toBe(patchesBefore);
        const run = await api(service, 'GET', `/v1/runs/${preview.runId}`);
        expect(run.body.status).toBe('Completed with Errors');
        // Invitations were still sent, and the audit email tells the connection's outcome.
        const audit = smtp.messages.find((message) => String(message.subject).startsWith('Rollcall'));
        expect(audit?.text).toMatch(
            new RegExp(`${connection.key}\\): 5 Create, 5 Add To Group → 0 done, 10 failed`)
        );
        // The run's one line says it, and the failures are under "Needs action".
        expect(String(audit?.subject)).toMatch(/, 10 access changes failed$/);
        expect(audit?.text).toMatch(/^NEEDS ACTION \(\d+\)$/m);
        expect(audit?.text).toMatch(
            new RegExp(
                `^Access changes failed: not made in the app \\(10\\):\\n- Test app \\d+ \\(${connection.key}\\): 10 failed: Not sent: ${connection.key} failed \\d times in a row`,
                'm'
            )
        );
        expect(audit?.html).toContain('Access changes failed: not made in the app (10)');
        app.scim.faults.clear();
    });
});

describe('the connections API', () => {
    it('when listed, then each connection says whether the service has it configured and can reach it; the test reads the capabilities', async () => {
        const configured = await createConnection();
        await appFor(configured.key);
        const missing = await createConnection();

        const list = await api(service, 'GET', '/v1/connections');
        const test = await api(service, 'POST', `/v1/connections/${configured.key}/test`);
        const notConfigured = await api(service, 'POST', `/v1/connections/${missing.key}/test`);
        const unknown = await api(service, 'POST', '/v1/connections/no-such-key/test');

        expect(list.status).toBe(200);
        const byKey = new Map(
            (list.body.connections as Array<Record<string, unknown>>).map((c) => [c.key, c])
        );
        expect(byKey.get(configured.key)).toMatchObject({
            configured: true,
            reachable: true,
            active: true,
            matchOn: 'Username'
        });
        expect(byKey.get(missing.key)).toMatchObject({ configured: false, reachable: null });
        expect(String(byKey.get(missing.key)?.problem)).toMatch(/Not configured in the service/);
        expect(test.body).toMatchObject({
            key: configured.key,
            configured: true,
            reachable: true,
            capabilities: {
                patch: true,
                filter: { supported: true, maxResults: 200 },
                bulk: { supported: true, maxOperations: 1000 }
            }
        });
        expect(notConfigured.body).toMatchObject({ configured: false, reachable: false });
        expect(unknown.status).toBe(404);
    });
});

async function grantOf(setId: string): Promise<string> {
    const [grant] = await store.org.query<{ Id: string }>(
        `SELECT Id FROM Access_Grant__c WHERE Condition_Set__c = '${setId}'`
    );
    return grant.Id;
}
