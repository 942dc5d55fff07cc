/**
 * Taking access away in the admin app, in a real browser (DESIGN §11, issue 20), against the local org and a
 * real local SCIM app (reached through CONNECTIONS_FILE and the SCIM adapter, as `npm start` wires it): the
 * demo run creates the demo connection's accounts; the admin turns deprovisioning on with a low breaker,
 * edits a set so its users stop matching, previews (the due deactivations with why, held), provisions, sees
 * the breaker's hold on the run's detail, approves it, and the accounts are inactive in the app. Locators by
 * role and accessible name; axe-core on every new screen. Screenshots go to docs/screenshots when
 * ROLLCALL_SCREENSHOTS=docs (else tmp/screenshots, git-ignored).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Locator } from 'playwright-core';
import { startLocalScimApp, type LocalScimApp } from '../../service/src/local-scim';
import { OrgRest } from '../../service/src/admin-app/org-rest';
import { removeDir } from '../service/support/stack';
import {
    ROOT,
    WAIT,
    openRun,
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
/** The demo org's connection and the set granting it that the test edits (service/src/local-org/demo.ts). */
const CONNECTION = { name: 'Demo SCIM app', key: 'demo-scim' };
const TITLE = `${CONNECTION.name} (${CONNECTION.key})`;
const SET = 'Sales managers';
const BREAKER_MAX_COUNT = 2;

interface RunActions {
    heldCount: number;
    canApproveHeld: boolean;
    heldApprovedBy: string | null;
    heldApprovedAt: string | null;
    connections: {
        connectionKey: string;
        actions: {
            userId: string;
            kind: string;
            status: string;
            reason: string | null;
            why: string | null;
        }[];
    }[];
}

interface ScimUser {
    id: string;
    userName: string;
    externalId?: string;
    active?: boolean;
}

describe('taking access away in the admin app', () => {
    let app: BrowserStack;
    let scim: LocalScimApp;
    let scimDir: string;

    beforeAll(async () => {
        scimDir = mkdtempSync(join(tmpdir(), 'rollcall-taking-away-'));
        scim = await startLocalScimApp({
            token: 'taking-away-test-token',
            dataDir: join(scimDir, 'app'),
            seedGroups: ['Sales', 'Managers', 'EMEA']
        });
        app = await startBrowserStack({
            env: { SCHEDULER: 'off' },
            connections: { [CONNECTION.key]: { baseUrl: scim.url, token: scim.token } }
        });
    });

    afterAll(async () => {
        await app?.stop();
        await scim?.stop();
        if (scimDir) removeDir(scimDir);
    });

    async function openTab(name: string): Promise<Locator> {
        await app.page.getByRole('tab', { name }).click();
        return app.page.getByRole('tabpanel', { name });
    }

    async function expectNoSeriousViolations(): Promise<void> {
        expect(await seriousViolations(app.page)).toEqual([]);
    }

    async function scimUsers(filter: string): Promise<ScimUser[]> {
        const response = await fetch(`${scim.url}/Users?filter=${encodeURIComponent(filter)}`, {
            headers: { Authorization: `Bearer ${scim.token}` }
        });
        expect(response.status).toBe(200);
        return ((await response.json()) as { Resources?: ScimUser[] }).Resources ?? [];
    }

    async function runActions(runId: string): Promise<RunActions['connections'][number]> {
        const result = (await app.adminApp.apex.call('ConnectionController', 'getRunActions', {
            runId
        })) as RunActions;
        return result.connections.find((connection) => connection.connectionKey === CONNECTION.key)!;
    }

    async function latestRunId(status: string): Promise<string> {
        const runs = (await app.adminApp.apex.call('RunHistoryController', 'getRuns', {
            maxRuns: 10,
            includePreviews: true
        })) as {
            id: string;
            status: string;
        }[];
        const run = runs.find((candidate) => candidate.status === status);
        if (!run) throw new Error(`No run ${status} in ${JSON.stringify(runs.map((r) => r.status))}`);
        return run.id;
    }

    /** Preview, then Provision Users confirmed; the run's name once it finished. */
    async function previewAndProvision(): Promise<{ panel: Locator; runName: string }> {
        const panel = await openTab('Provision Users');
        await panel.getByRole('button', { name: 'Preview', exact: true }).click();
        await panel.getByRole('heading', { name: 'Eligible users' }).waitFor(WAIT);
        return { panel, runName: '' };
    }

    async function scimCreate(userName: string): Promise<ScimUser> {
        const response = await fetch(`${scim.url}/Users`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${scim.token}`, 'Content-Type': 'application/scim+json' },
            body: JSON.stringify({
                schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
                userName,
                active: true
            })
        });
        expect(response.status).toBe(201);
        return (await response.json()) as ScimUser;
    }

    async function connectionId(): Promise<string> {
        const { connections } = (await app.adminApp.apex.call(
            'ConnectionController',
            'getConnections',
            {}
        )) as {
            connections: { id: string; key: string }[];
        };
        return connections.find((connection) => connection.key === CONNECTION.key)!.id;
    }

    async function openRowAction(panel: Locator, action: string): Promise<void> {
        await panel
            .getByRole('row', { name: new RegExp(`^${CONNECTION.name}`) })
            .getByRole('button', { name: /Show actions/ })
            .click();
        await app.page.getByRole('menuitem', { name: action }).click();
    }

    /** The set's second condition (Department equals …) rewritten in the condition set editor. */
    async function editSetDepartment(department: string): Promise<void> {
        const sets = await openTab('Condition Sets');
        await sets
            .getByRole('row', { name: new RegExp(`^${SET}`) })
            .getByRole('button', { name: /Show actions/ })
            .click();
        await app.page.getByRole('menuitem', { name: 'Edit' }).click();
        await sets.getByRole('textbox', { name: 'Name' }).waitFor(WAIT);
        await sets.getByRole('button', { name: 'Next' }).click();
        const value = sets
            .getByRole('group', { name: 'Condition 2' })
            .getByRole('textbox', { name: 'Value' });
        await value.waitFor(WAIT);
        await value.fill(department);
        await sets.getByRole('button', { name: 'Save' }).click();
        const confirm = app.page.getByRole('dialog', { name: 'Save this condition set?' });
        const listed = sets.getByRole('row', { name: new RegExp(`^${SET}`) });
        await Promise.race([confirm.waitFor(WAIT), listed.waitFor(WAIT)]);
        if (await confirm.isVisible()) await confirm.getByRole('button', { name: 'Save Anyway' }).click();
        await listed.waitFor(WAIT);
    }

    async function waitForRun(runId: string, done: (status: string) => boolean): Promise<void> {
        const deadline = Date.now() + WAIT.timeout;
        for (;;) {
            const run = (await app.adminApp.apex.call('ProvisioningController', 'getRunStatus', {
                runId,
                includeServiceProgress: false
            })) as { status: string };
            if (done(run.status)) return;
            if (Date.now() > deadline) throw new Error(`run ${runId} still ${run.status}`);
            await new Promise((resolve) => setTimeout(resolve, 250));
        }
    }

    /** Provision Users, confirmed, once the plan in the app is read (the dialog names its actions). */
    async function provision(panel: Locator): Promise<string> {
        await panel
            .getByRole('region', { name: 'Access in apps' })
            .getByRole('heading', { name: TITLE })
            .waitFor(WAIT);
        await panel.getByRole('button', { name: 'Provision Users' }).click();
        await app.page
            .getByRole('dialog', { name: 'Provision users' })
            .getByRole('button', { name: 'Send Invitations and Actions', exact: true })
            .click();
        const finished = panel.getByRole('heading', { name: /: (Completed|Completed with Errors)$/ });
        await finished.waitFor(WAIT);
        return ((await finished.textContent()) ?? '').split(':')[0].trim();
    }

    it('when the admin compares the app before the first sync, then its accounts are sorted into four lists and only the confirmed account is adopted', async () => {
        // Arrange: accounts made in the app by hand: one of a user a rule grants, one of a user no rule
        // grants, one of nobody in Salesforce
        const before = (await app.adminApp.apex.call('ConnectionController', 'compareWithApp', {
            connectionId: await connectionId()
        })) as { toCreate: { count: number; entries: { userName: string; userId: string }[] } };
        expect(before.toCreate.count).toBeGreaterThan(BREAKER_MAX_COUNT + 1);
        const granted = before.toCreate.entries[0];
        const org = app.service.localOrg!;
        const rest = new OrgRest({ url: org.url, clientId: org.clientId, clientSecret: org.clientSecret });
        const notGranted = (
            await rest.query(
                `SELECT Id, Username FROM User WHERE IsActive = true AND Department = 'Engineering'`
            )
        ).find((user) => !before.toCreate.entries.some((entry) => entry.userId === user.Id))!;
        const adoptable = await scimCreate(granted.userName);
        const manual = await scimCreate(String(notGranted.Username));
        await scimCreate('nobody-in-salesforce@example.com');

        // Act: Compare with the app, from the connection's row actions
        const panel = await openTab('Connections');
        await openRowAction(panel, 'Compare with the app');
        const screen = panel.getByRole('region', { name: `Compare ${CONNECTION.name} with the app` });
        await screen.getByText(/3 app accounts read; 0 already recorded/).waitFor(WAIT);

        // Assert: the four lists with their counts, as the service sorts them
        for (const title of [
            'Adoptable as Rule (1)',
            'Matching a user, no rule: left Manual (1)',
            `Users the rules would create (${before.toCreate.count - 1})`,
            'App accounts with no Salesforce user (1)'
        ]) {
            await screen.getByRole('heading', { name: title }).waitFor(WAIT);
        }
        await screen.getByText(granted.userName, { exact: true }).waitFor(WAIT);
        // The row's checkbox as an admin clicks it (SLDS draws it over the visually hidden input).
        await screen.locator('lightning-datatable tbody .slds-checkbox_faux').first().click();
        await screen.getByRole('button', { name: 'Adopt selected (1)' }).waitFor(WAIT);
        await screen.evaluate((element) => element.scrollIntoView({ block: 'start' }));
        await screenshot(app.page, 'reconcile', { dir: SHOTS });
        await expectNoSeriousViolations();

        // Act: adopt the selected account; the dialog says what adopting does
        await screen.getByRole('button', { name: 'Adopt selected (1)' }).click();
        const dialog = app.page.getByRole('dialog', { name: 'Adopt accounts?' });
        await dialog.getByText(/Adopt 1 account of Demo SCIM app as Rule accounts\?/).waitFor(WAIT);
        await dialog.getByRole('button', { name: 'Adopt 1 Account' }).click();

        // Assert: adopted (recorded, Rollcall's key in the app), the others untouched
        await screen.getByText('1 account adopted.').waitFor(WAIT);
        await screen.getByRole('heading', { name: 'Adoptable as Rule (0)' }).waitFor(WAIT);
        await screen.getByText(/3 app accounts read; 1 already recorded/).waitFor(WAIT);
        const [adopted] = await scimUsers(`userName eq "${granted.userName}"`);
        expect(adopted).toMatchObject({
            id: adoptable.id,
            externalId: `${granted.userId}:${CONNECTION.key}`
        });
        const [untouched] = await scimUsers(`userName eq "${String(notGranted.Username)}"`);
        expect(untouched.id).toBe(manual.id);
        expect(untouched.externalId).toBeUndefined();
        await screen.getByRole('button', { name: 'Close' }).click();
    });

    it('when a rule edit would take access from more accounts than the breaker allows, then the run holds it, the admin approves, and the accounts are inactive in the app', async () => {
        // Arrange: the demo run creates the demo connection's accounts in the app
        const first = await previewAndProvision();
        await provision(first.panel);
        const created = await scimUsers(`externalId co ":${CONNECTION.key}"`);
        expect(created.length).toBeGreaterThan(BREAKER_MAX_COUNT);
        expect(created.every((user) => user.active !== false)).toBe(true);

        // Act: turn deprovisioning on, no grace, a breaker of 2 accounts
        const connections = await openTab('Connections');
        const row = connections.getByRole('row', { name: new RegExp(`^${CONNECTION.name}`) });
        await row.getByRole('button', { name: /Show actions/ }).click();
        await app.page.getByRole('menuitem', { name: 'Edit' }).click();
        const mode = connections.getByRole('combobox', { name: 'Deprovisioning' });
        await mode.waitFor(WAIT);
        await mode.click();
        await connections.getByRole('option', { name: 'Deactivate' }).click();
        // Unusable values are refused where they are typed, never saved.
        const percent = connections.getByRole('spinbutton', { name: 'Breaker max percent' });
        await percent.fill('150');
        await connections.getByRole('button', { name: 'Save' }).click();
        // The field's own range message or the editor's check: either way it names the range, nothing is saved.
        await connections
            .getByText(/Enter a (whole )?percent from 0 to 100/)
            .first()
            .waitFor(WAIT);
        await percent.fill('');
        await connections.getByRole('spinbutton', { name: 'Grace days' }).fill('0');
        await connections
            .getByRole('spinbutton', { name: 'Breaker max count' })
            .fill(String(BREAKER_MAX_COUNT));
        await connections.getByRole('heading', { name: 'Taking access away' }).scrollIntoViewIfNeeded();
        await screenshot(app.page, 'connection-deprovisioning', { dir: SHOTS });
        await expectNoSeriousViolations();
        await connections.getByRole('button', { name: 'Save' }).click();
        await row.waitFor(WAIT);
        const stored = (
            (await app.adminApp.apex.call('ConnectionController', 'getConnections', {})) as {
                connections: Record<string, unknown>[];
            }
        ).connections.find((connection) => connection.key === CONNECTION.key);
        expect(stored).toMatchObject({
            deprovisioning: 'Deactivate',
            graceDays: 0,
            breakerMaxCount: BREAKER_MAX_COUNT,
            breakerMaxPercent: null
        });

        // Act: edit the set so its users stop matching (Department equals Sales → Marketing)
        await editSetDepartment('Marketing');

        // Assert: the preview lists the due deactivations with why, held by the breaker
        const second = await previewAndProvision();
        const plan = second.panel.getByRole('region', { name: 'Access in apps' });
        await plan.getByRole('heading', { name: TITLE }).waitFor(WAIT);
        const previewed = await runActions(await latestRunId('Previewed'));
        const deactivations = previewed.actions.filter((action) => action.kind === 'Deactivate');
        expect(deactivations.length).toBeGreaterThan(BREAKER_MAX_COUNT);
        for (const action of deactivations) {
            expect(action.status).toBe('Held');
            expect(action.why).toMatch(
                new RegExp(`set "${SET}" stopped matching: 2\\. Department equals "Marketing"`)
            );
            expect(action.reason).toMatch(/more than the limit of 2/);
        }
        await plan.locator('.held-summary').waitFor(WAIT);
        await plan.getByText(/Provisioning this preview holds them/).waitFor(WAIT);
        await plan
            .getByText(new RegExp(`Why: set "${SET}" stopped matching`))
            .first()
            .waitFor(WAIT);
        await expectNoSeriousViolations();

        // Act: provision; the run's detail in History
        const runName = await provision(second.panel);
        const history = await openTab('History');
        await openRun(app.page, history, runName);
        const detail = history.getByRole('region', { name: 'Access in apps' });
        const approve = detail.getByRole('button', { name: 'Approve held removals' });
        await approve.waitFor(WAIT);

        // Assert: held, nothing of it sent to the app
        const runId = (
            (await app.adminApp.apex.call('RunHistoryController', 'getRuns', { maxRuns: 10 })) as {
                id: string;
                name: string;
            }[]
        ).find((run) => run.name === runName)!.id;
        const held = (await runActions(runId)).actions.filter((action) => action.status === 'Held');
        const heldUsers = [
            ...new Set(held.filter((action) => action.kind === 'Deactivate').map((action) => action.userId))
        ];
        expect(heldUsers.length).toBe(deactivations.length);
        for (const userId of heldUsers) {
            const [account] = await scimUsers(`externalId eq "${userId}:${CONNECTION.key}"`);
            expect(account.active).not.toBe(false);
        }
        await detail.getByText(/The circuit breaker held \d+ actions/).waitFor(WAIT);
        await detail
            .getByText(/^Held: \d+ accounts is more than the limit of 2/)
            .first()
            .waitFor(WAIT);
        await detail.locator('.held').scrollIntoViewIfNeeded();
        await screenshot(app.page, 'held-removals', { dir: SHOTS });
        await expectNoSeriousViolations();

        const outcome = history.locator('.outcome-summary');
        await history.getByText(/^Outcome: .*\d+ held for review/).waitFor(WAIT);

        // Act: approve, confirmed in a dialog naming what it sends
        await approve.click();
        const dialog = app.page.getByRole('dialog', { name: 'Approve held removals?' });
        await dialog
            .getByText(new RegExp(`Send the ${held.length} held actions of this run to ${CONNECTION.name}`))
            .waitFor(WAIT);
        await dialog.getByRole('button', { name: `Send ${held.length} Held Actions` }).click();

        // Assert: who approved and when; the actions done; the accounts inactive in the app
        await detail.getByText(/Approved by .+ on/).waitFor(WAIT);
        expect(await approve.count()).toBe(0);
        // The run detail reads the run again: its line says what was sent, not held.
        await history.getByText(/^Outcome: .*\d+ deactivated$/).waitFor(WAIT);
        expect(await outcome.textContent()).not.toContain('held for review');
        const after = (await app.adminApp.apex.call('ConnectionController', 'getRunActions', {
            runId
        })) as RunActions;
        expect(after.heldCount).toBe(0);
        expect(after.heldApprovedAt).not.toBeNull();
        expect(after.heldApprovedBy).toBeTruthy();
        const sent = after.connections
            .find((connection) => connection.connectionKey === CONNECTION.key)!
            .actions.filter((action) =>
                held.some((candidate) => candidate.userId === action.userId && candidate.kind === action.kind)
            );
        expect(sent.every((action) => action.status === 'Done')).toBe(true);
        for (const userId of heldUsers) {
            const [account] = await scimUsers(`externalId eq "${userId}:${CONNECTION.key}"`);
            expect(account.active).toBe(false);
        }
        await expectNoSeriousViolations();
    });

    it('when users stop matching with a grace, then the preview and Pending deactivations list each with since, due and why', async () => {
        // Arrange: 5 grace days; the set back to Sales, so the Marketing managers stop matching; a run
        const id = await connectionId();
        const current = (await app.adminApp.apex.call('ConnectionController', 'getConnection', {
            connectionId: id
        })) as Record<string, unknown>;
        await app.adminApp.apex.call('ConnectionController', 'saveConnection', {
            connection: { ...current, graceDays: 5, breakerMaxCount: 1000, breakerMaxPercent: 100 }
        });
        await editSetDepartment('Sales');

        // Act: preview; the plan records who starts waiting out the grace
        const previewPanel = await openTab('Provision Users');
        await previewPanel.getByRole('button', { name: 'Preview', exact: true }).click();
        const plan = previewPanel.getByRole('region', { name: 'Access in apps' });
        await plan.getByRole('heading', { name: TITLE }).waitFor(WAIT);

        // Assert: the preview lists them with why, under the connection
        const inPreview = plan.getByRole('region', { name: `Pending deactivations of ${CONNECTION.name}` });
        await inPreview.getByText(/accounts? waits? out the grace \(grace: 5 days\)/).waitFor(WAIT);
        await inPreview
            .getByText(new RegExp(`set "${SET}" stopped matching: 2\\. Department equals "Sales"`))
            .first()
            .waitFor(WAIT);
        await expectNoSeriousViolations();

        // Act: the run (nobody new is eligible, so Provision Users is off: the run is started as Apex would)
        const previewId = await latestRunId('Previewed');
        const run = (await app.adminApp.apex.call('ProvisioningController', 'provisionUsers', {
            previewRunId: previewId,
            notifyAdmins: false,
            recipients: []
        })) as { id: string };
        await waitForRun(run.id, (status) => status.startsWith('Completed'));
        const pending = (
            (await app.adminApp.apex.call('ConnectionController', 'getPendingDeactivations', {
                connectionId: id
            })) as { pending: { userName: string; unmatchedSince: string; due: string; why: string }[] }
        ).pending;
        expect(pending.length).toBeGreaterThan(0);
        for (const item of pending) {
            expect(Date.parse(item.due) - Date.parse(item.unmatchedSince)).toBe(5 * 86_400_000);
            expect(item.why).toMatch(
                new RegExp(`set "${SET}" stopped matching: 2\\. Department equals "Sales"`)
            );
        }

        // Act: Pending deactivations, from the connection's row actions
        const panel = await openTab('Connections');
        await openRowAction(panel, 'Pending deactivations');

        // Assert: each account with its why
        const screen = panel.getByRole('region', { name: `Pending deactivations of ${CONNECTION.name}` });
        await screen
            .getByText(new RegExp(`^${pending.length} accounts? waits? out the grace \\(grace: 5 days\\)`))
            .waitFor(WAIT);
        const table = screen.getByRole('table');
        expect(await table.getByRole('row').count()).toBe(1 + pending.length);
        await table
            .getByRole('row', { name: new RegExp(pending[0].userName) })
            .getByText(pending[0].why)
            .waitFor(WAIT);
        await screenshot(app.page, 'pending-deactivations');
        await expectNoSeriousViolations();
    });
});
