/**
 * Connections in the admin app, in a real browser (DESIGN §9, §10): the admin creates a connection with an
 * attribute mapping, grants it in a new condition set (groups and a role), previews the plan, provisions,
 * and sees the actions Done in the run's detail; the accounts are then read back from the real local SCIM
 * app the service reaches through CONNECTIONS_FILE and the SCIM adapter, as in production (issue 19).
 * Locators by role and accessible name; waits on text; axe-core
 * on every new screen. Screenshots of the four connection screens go to docs/screenshots when
 * ROLLCALL_SCREENSHOTS=docs (else to tmp/screenshots, git-ignored).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Locator } from 'playwright-core';
import { startLocalScimApp, type LocalScimApp } from '../../service/src/local-scim';
import { orgStore, removeDir } from '../service/support/stack';
import {
    ROOT,
    WAIT,
    departmentIsSales,
    openRun,
    chooseProduct,
    screenshot,
    seriousViolations,
    startBrowserStack,
    type BrowserStack
} from './support/browser';

jest.setTimeout(300_000);

const SHOTS = join(
    ROOT,
    process.env.ROLLCALL_SCREENSHOTS === 'docs' ? 'docs/screenshots' : 'tmp/screenshots'
);
const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const ENTERPRISE_DEPARTMENT = `${ENTERPRISE_USER}:department`;
/** The local SCIM app's bearer token in this test (a test value, not a secret). */
const SCIM_TOKEN = 'connections-browser-test-token';

interface ScimListResponse {
    totalResults: number;
    Resources: Record<string, unknown>[];
}

interface RunActions {
    totalActions: number;
    connections: {
        connectionKey: string;
        kindTotals: { label: string; count: number }[];
        statusTotals: { label: string; count: number }[];
        actions: { kind: string; status: string; reason: string | null; summary: string }[];
    }[];
}

describe('connections in the admin app', () => {
    let app: BrowserStack;
    let scim: LocalScimApp;
    let scimDir: string;
    // Each run of this file starts from a fresh local org (its own data folder), so these names are unique.
    const connectionName = 'Calendly';
    const connectionKey = 'calendly';
    const setName = 'Sales in Calendly';

    beforeAll(async () => {
        // The app the connection reaches: a real local SCIM app holding the groups the set grants.
        scimDir = mkdtempSync(join(tmpdir(), 'rollcall-admin-app-scim-'));
        scim = await startLocalScimApp({
            dataDir: scimDir,
            token: SCIM_TOKEN,
            seedGroups: ['Sales', 'EMEA']
        });
        app = await startBrowserStack({
            env: { SCHEDULER: 'off' },
            connections: { [connectionKey]: { baseUrl: scim.url, token: SCIM_TOKEN } }
        });
    });

    afterAll(async () => {
        await app?.stop();
        await scim?.stop();
        if (scimDir) removeDir(scimDir);
    });

    /** A SCIM list from the local SCIM app, over HTTP with the connection's token. */
    async function scimList(resource: 'Users' | 'Groups', filter?: string): Promise<ScimListResponse> {
        const url = new URL(`${scim.url}/${resource}`);
        if (filter) url.searchParams.set('filter', filter);
        const response = await fetch(url, { headers: { authorization: `Bearer ${SCIM_TOKEN}` } });
        expect(response.status).toBe(200);
        return (await response.json()) as ScimListResponse;
    }

    async function openTab(name: string): Promise<Locator> {
        await app.page.getByRole('tab', { name }).click();
        return app.page.getByRole('tabpanel', { name });
    }

    async function expectNoSeriousViolations(): Promise<void> {
        expect(await seriousViolations(app.page)).toEqual([]);
    }

    /** One mapping row: the SCIM attribute and the User field chosen in the field picker. */
    async function mapAttribute(panel: Locator, row: number, path: string, field: string): Promise<void> {
        await panel.getByRole('button', { name: 'Add attribute' }).click();
        await panel.getByRole('textbox', { name: 'SCIM attribute' }).nth(row).fill(path);
        const picker = panel.getByRole('combobox', { name: `User field for ${path}` });
        await picker.fill(field);
        await panel
            .getByRole('option', { name: new RegExp(`^${field}`) })
            .first()
            .click();
    }

    it('when the admin creates a connection with a mapping, then it is listed as reachable and Test connection shows what the app supports', async () => {
        // Arrange
        const panel = await openTab('Connections');
        await panel.getByRole('button', { name: 'New Connection' }).waitFor(WAIT);
        await expectNoSeriousViolations();

        // Act: name, key, Match On, two mapped attributes
        await panel.getByRole('button', { name: 'New Connection' }).click();
        const name = panel.getByRole('textbox', { name: 'Name' });
        await name.waitFor(WAIT);
        // The editor opens with the focus on its first field.
        expect(await name.evaluate((element) => element.matches(':focus'))).toBe(true);
        await name.fill(connectionName);
        await panel.getByRole('textbox', { name: 'Key' }).fill(connectionKey);
        await panel.getByRole('combobox', { name: 'Match On' }).click();
        await panel.getByRole('option', { name: 'Email' }).click();
        await mapAttribute(panel, 0, 'title', 'Title');
        await mapAttribute(panel, 1, ENTERPRISE_DEPARTMENT, 'Department');
        // Taking access away stays off unless the admin turns it on (DESIGN §11; test/admin-app/taking-away).
        expect(await panel.getByRole('combobox', { name: 'Deprovisioning' }).isDisabled()).toBe(false);
        await screenshot(app.page, 'connection-editor', { dir: SHOTS });
        await expectNoSeriousViolations();
        await panel.getByRole('button', { name: 'Save' }).click();

        // Assert: stored with the mapping; listed with what the service says of it
        const row = panel.getByRole('row', { name: new RegExp(`^${connectionName}`) });
        await row.waitFor(WAIT);
        await row.getByText('Reachable', { exact: true }).waitFor(WAIT);
        const { connections } = (await app.adminApp.apex.call(
            'ConnectionController',
            'getConnections',
            {}
        )) as {
            connections: { key: string; matchOn: string; attributeMap: string; active: boolean }[];
        };
        const stored = connections.find((connection) => connection.key === connectionKey);
        expect(stored).toMatchObject({ matchOn: 'Email', active: true });
        expect(JSON.parse(stored!.attributeMap)).toEqual({
            title: { field: 'Title' },
            [ENTERPRISE_DEPARTMENT]: { field: 'Department' }
        });

        // Act: Test connection
        await row.getByRole('button', { name: /Show actions/ }).click();
        await app.page.getByRole('menuitem', { name: 'Test connection' }).click();

        // Assert: what the local SCIM app's /ServiceProviderConfig and /ResourceTypes say, focused
        const heading = panel.getByRole('heading', { name: `Test of ${connectionName}: reachable` });
        await heading.waitFor(WAIT);
        expect(await heading.evaluate((element) => element.matches(':focus'))).toBe(true);
        const result = panel.locator('section.test-result');
        const labels = await result.locator('dt').allTextContents();
        const values = await result.locator('dd').allTextContents();
        expect(
            Object.fromEntries(labels.map((label, index) => [label.trim(), values[index].trim()]))
        ).toEqual({
            Filter: 'supported (max 200 results)',
            PATCH: 'supported',
            Bulk: 'supported (max 1000 operations)',
            ETags: expect.any(String),
            Sorting: expect.any(String),
            'Resource types': expect.stringMatching(/User.*Group|Group.*User/),
            'User extensions': expect.stringContaining(
                'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
            )
        });
        await screenshot(app.page, 'connections', { dir: SHOTS });
        await expectNoSeriousViolations();
    });

    it('when the admin grants the connection in a new set, previews and provisions, then the plan and the run detail show the actions by connection', async () => {
        // Arrange: a set for Sales, one product, and Access in the new connection
        const panel = await openTab('Condition Sets');
        await panel.getByRole('button', { name: 'Create Condition Set' }).click();
        await panel.getByRole('textbox', { name: 'Name' }).fill(setName);
        await chooseProduct(panel, 'Round Robin');
        await panel.getByRole('button', { name: 'Next' }).click();
        await departmentIsSales(panel);

        // Act: the Access section
        const access = panel.getByRole('region', { name: 'Access' });
        await access.getByRole('button', { name: 'Add access' }).click();
        await access.getByRole('combobox', { name: 'Connection' }).click();
        await app.page.getByRole('option', { name: `${connectionName} (${connectionKey})` }).click();
        await access.getByRole('textbox', { name: /Groups/ }).fill('Sales\nEMEA');
        await access.getByRole('textbox', { name: /Role/ }).fill('Light agent');
        await access.scrollIntoViewIfNeeded();
        await screenshot(app.page, 'access-grant', { dir: SHOTS });
        await expectNoSeriousViolations();
        await panel.getByRole('button', { name: 'Save' }).click();
        // A set that only adds products other sets grant asks first; the admin confirms.
        const confirm = app.page.getByRole('dialog', { name: 'Save this condition set?' });
        const listed = panel.getByText(setName, { exact: true });
        await Promise.race([confirm.waitFor(WAIT), listed.waitFor(WAIT)]);
        if (await confirm.isVisible()) await confirm.getByRole('button', { name: 'Save Anyway' }).click();
        await listed.waitFor(WAIT);

        // Assert: the grant is stored with the set, groups one per line
        const sets = (await app.adminApp.apex.call('ConditionSetController', 'getConditionSets', {})) as {
            id: string;
            name: string;
        }[];
        const set = sets.find((candidate) => candidate.name === setName)!;
        const grants = await app.adminApp.apex.call('ConnectionController', 'getAccessGrants', {
            conditionSetId: set.id
        });
        expect(grants).toMatchObject([
            { connectionName, connectionKey, groups: 'Sales\nEMEA', role: 'Light agent' }
        ]);

        // Act: preview
        const provisionPanel = await openTab('Provision Users');
        await provisionPanel.getByRole('button', { name: 'Preview' }).click();
        await provisionPanel.getByRole('heading', { name: 'Eligible users' }).waitFor(WAIT);

        // Assert: the plan, by connection: an account per Sales user, each in both groups
        const plan = provisionPanel.getByRole('region', { name: 'Access in apps' });
        await plan.getByRole('heading', { name: `${connectionName} (${connectionKey})` }).waitFor(WAIT);
        const previewRunId = await latestRunId('Previewed');
        const planned = (await app.adminApp.apex.call('ConnectionController', 'getRunActions', {
            runId: previewRunId
        })) as RunActions;
        const ours = planned.connections.find((connection) => connection.connectionKey === connectionKey)!;
        const creates = ours.kindTotals.find((total) => total.label === 'Create')?.count ?? 0;
        expect(creates).toBeGreaterThan(0);
        expect(ours.kindTotals).toEqual([
            { label: 'Add To Group', count: 2 * creates },
            { label: 'Create', count: creates }
        ]);
        expect(ours.statusTotals).toEqual([{ label: 'Pending', count: 3 * creates }]);
        await plan.getByText(`${2 * creates} group adds, ${creates} creates`).waitFor(WAIT);
        await plan.evaluate((element) => element.scrollIntoView({ block: 'start' }));
        await screenshot(app.page, 'provision-users-plan');
        await expectNoSeriousViolations();

        // The hint and the confirmation name the invitations and the actions in apps.
        await provisionPanel
            .getByText(/Sends invitations to \d+ users? and \d+ actions to apps\./)
            .waitFor(WAIT);

        // Act: provision, confirmed
        await provisionPanel.getByRole('button', { name: 'Provision Users' }).click();
        await app.page
            .getByRole('dialog', { name: 'Provision users' })
            .getByRole('button', { name: 'Send Invitations and Actions', exact: true })
            .click();
        const finished = provisionPanel.getByRole('heading', {
            name: /: (Completed|Completed with Errors)$/
        });
        await finished.waitFor(WAIT);
        const runName = ((await finished.textContent()) ?? '').split(':')[0].trim();

        // Act: the run's detail in History
        const history = await openTab('History');
        await openRun(app.page, history, runName);

        // Assert: the actions of the run, by connection, as the org recorded them
        const detail = history.getByRole('region', { name: 'Access in apps' });
        await detail.getByRole('heading', { name: `${connectionName} (${connectionKey})` }).waitFor(WAIT);
        const table = detail.getByRole('table', { name: `${connectionName} (${connectionKey})` });
        // The table lists the first 20 actions of a connection until the admin asks for all.
        expect(await table.getByRole('row').count()).toBe(1 + Math.min(20, 3 * creates));
        if (3 * creates > 20) {
            await detail
                .getByRole('button', { name: `Show all ${3 * creates} actions of ${connectionName}` })
                .click();
            await detail
                .getByRole('button', { name: `Show the first 20 actions of ${connectionName}` })
                .waitFor(WAIT);
            expect(await table.getByRole('row').count()).toBe(1 + 3 * creates);
            await detail
                .getByRole('button', { name: `Show the first 20 actions of ${connectionName}` })
                .click();
        }
        const runId = await runIdByName(runName);
        const sent = (await app.adminApp.apex.call('ConnectionController', 'getRunActions', {
            runId
        })) as RunActions;
        const sentOurs = sent.connections.find((connection) => connection.connectionKey === connectionKey)!;
        expect(sentOurs.actions).toHaveLength(3 * creates);
        expect(
            sentOurs.actions
                .filter((action) => action.kind === 'Add To Group')
                .map((action) => action.summary)
                .sort()
        ).toEqual([...Array(creates).fill('group EMEA'), ...Array(creates).fill('group Sales')]);
        // Every action was sent to the local SCIM app and is Done.
        expect(sentOurs.statusTotals).toEqual([{ label: 'Done', count: 3 * creates }]);
        await detail.getByText(`${3 * creates} Done`).waitFor(WAIT);

        // Assert: the accounts in the app itself, read back over HTTP (Match On Email: userName is the email)
        const salesUsers = await orgStore(app.service.localOrg!).org.query<{
            Email: string;
            Title: string | null;
            Department: string;
        }>(
            "SELECT Email, Title, Department FROM User WHERE IsActive = true AND Department = 'Sales' AND Email != null ORDER BY Email"
        );
        // An account per active Sales user of the org, named by its email.
        const everyone = await scimList('Users');
        expect(everyone.totalResults).toBe(creates);
        expect(everyone.Resources.map((account) => account.userName).sort()).toEqual(
            salesUsers.map((user) => user.Email).sort()
        );
        const user = salesUsers.find((candidate) => candidate.Title)!;
        const found = await scimList('Users', `userName eq "${user.Email}"`);
        expect(found.totalResults).toBe(1);
        const account = found.Resources[0];
        expect(account).toMatchObject({
            userName: user.Email,
            active: true,
            title: user.Title,
            roles: [{ value: 'Light agent', primary: true }],
            [ENTERPRISE_USER]: { department: 'Sales' }
        });
        for (const group of ['Sales', 'EMEA']) {
            const groups = await scimList('Groups', `displayName eq "${group}"`);
            expect(groups.totalResults).toBe(1);
            const members = (groups.Resources[0].members ?? []) as { value: string }[];
            expect(members.map((member) => member.value)).toContain(account.id);
            expect(members).toHaveLength(creates);
        }
        await detail.evaluate((element) => element.scrollIntoView({ block: 'start' }));
        await screenshot(app.page, 'run-actions', { dir: SHOTS });
        await expectNoSeriousViolations();

        // Cleanup: the set and the connection go, so the demo data is as it was
        await app.adminApp.apex.call('ConditionSetController', 'deleteConditionSet', {
            conditionSetId: set.id
        });
        const { connections } = (await app.adminApp.apex.call(
            'ConnectionController',
            'getConnections',
            {}
        )) as {
            connections: { id: string; key: string }[];
        };
        const connectionId = connections.find((connection) => connection.key === connectionKey)!.id;
        await app.adminApp.apex.call('ConnectionController', 'deleteConnection', { connectionId });
    });

    it('when the page acts as a user who is not a Rollcall admin, then the app shows its one "no access" page and no Connections screen', async () => {
        // Act: the page's switch
        await app.page.getByRole('link', { name: 'Act as a user who is not a Rollcall admin' }).click();
        await app.page
            .getByText(/Acting as .+, who does not have the Rollcall Admin permission set/)
            .waitFor(WAIT);

        // Assert: the app's no-access page (issue 21, finding 8), no tabs, and Apex refuses the list anyway
        await app.page.getByRole('heading', { name: "You don't have access to Rollcall" }).waitFor(WAIT);
        expect(await app.page.getByRole('tab', { name: 'Connections' }).count()).toBe(0);
        await expectNoSeriousViolations();

        // Back to the demo admin
        await app.page.getByRole('link', { name: 'Act as the demo admin' }).click();
        await app.page.getByText('Acting as the demo admin.').waitFor(WAIT);
    });

    async function latestRunId(status: string): Promise<string> {
        // A preview never provisioned is listed only with includePreviews (History's filter).
        const runs = (await app.adminApp.apex.call('RunHistoryController', 'getRuns', {
            maxRuns: 5,
            includePreviews: true
        })) as {
            id: string;
            status: string;
        }[];
        return runs.find((run) => run.status === status)!.id;
    }

    async function runIdByName(name: string): Promise<string> {
        const runs = (await app.adminApp.apex.call('RunHistoryController', 'getRuns', { maxRuns: 5 })) as {
            id: string;
            name: string;
        }[];
        return runs.find((run) => run.name === name)!.id;
    }
});
