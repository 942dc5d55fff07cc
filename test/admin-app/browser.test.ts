/**
 * The admin app in a real browser: the force-app components built with LWC OSS and the base components,
 * served in local mode against the local org and the service, driven by Playwright in Debian's Chromium.
 * One flow per test, as the admin would say it; locators by role and accessible name; waits on text.
 * Screenshots of each screen go to tmp/screenshots (git-ignored). The stack and axe: ./support/browser.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { AdminApp } from '../../service/src/admin-app/server';
import type { RunningService } from '../../service/src/main';
import {
    WAIT,
    chooseProduct,
    departmentIsSales,
    expectDisabled,
    expectValue,
    screenshot as screenshotOf,
    seriousViolations as seriousViolationsOf,
    startBrowserStack,
    stopBrowserStack,
    type BrowserStack
} from './support/browser';

jest.setTimeout(180_000);

describe('the admin app in a browser', () => {
    let stack: BrowserStack;
    let dir: string;
    let service: RunningService;
    let adminApp: AdminApp;
    let browser: Browser;
    let page: Page;
    let serviceLog: string[];

    beforeAll(async () => {
        stack = await startBrowserStack();
        ({ dir, service, adminApp, browser, page, serviceLog } = stack);
        expect(adminApp.url).toBe(`http://127.0.0.1:${service.config.adminApp.port}`);
        expect(browser.isConnected()).toBe(true);
    });

    afterAll(async () => {
        await stopBrowserStack(stack);
    });

    async function openTab(name: string): Promise<void> {
        await page.getByRole('tab', { name }).click();
    }

    /** A screenshot of the screen itself: toasts from the step before are closed first. */
    async function screenshot(name: string): Promise<void> {
        await screenshotOf(page, name);
    }

    function seriousViolations(): Promise<string[]> {
        return seriousViolationsOf(page);
    }

    /** The service's log entries with this message, parsed. */
    function logEntries(message: string): Record<string, unknown>[] {
        return serviceLog
            .map((line) => JSON.parse(line) as Record<string, unknown>)
            .filter((entry) => entry.msg === message);
    }

    /** The service's HTTP API, as Apex calls it (the API secret as bearer token). */
    async function serviceApi<T>(path: string): Promise<T> {
        const response = await fetch(`${service.url}${path}`, {
            headers: { authorization: `Bearer ${service.config.apiSecret}` }
        });
        expect(response.status).toBe(200);
        return (await response.json()) as T;
    }

    function outboxEmails(): string[] {
        const outbox = join(dir, 'outbox');
        if (!existsSync(outbox)) return [];
        return readdirSync(outbox, { recursive: true, encoding: 'utf8' })
            .filter((file) => file.endsWith('.eml'))
            .map((file) => readFileSync(join(outbox, file), 'utf8'));
    }

    async function deleteSet(setName: string): Promise<void> {
        const panel = page.getByRole('tabpanel', { name: 'Condition Sets' });
        await panel
            .getByRole('row', { name: new RegExp(`^${setName}`) })
            .getByRole('button', { name: /Show actions/ })
            .click();
        await page.getByRole('menuitem', { name: 'Delete' }).click();
        await page
            .getByRole('dialog', { name: 'Delete condition set' })
            .getByRole('button', { name: 'Delete' })
            .click();
        await panel.getByText(setName, { exact: true }).waitFor({ state: 'detached', ...WAIT });
    }

    let runName = '';
    let scheduleCheckUsers = 0;

    it('when the admin saves a weekly schedule, then the service scheduler picks it up, and Preview Users shows who the next run would invite', async () => {
        // Arrange
        await openTab('Scheduled Provisioning');
        const save = page.getByRole('button', { name: 'Save Changes' });
        await save.waitFor(WAIT);
        await screenshot('scheduled-provisioning-before');
        expect(await seriousViolations()).toEqual([]);

        // Act: frequency, day, time, recipients, on, save
        // SLDS draws the switch, radios and checkbox over visually hidden inputs: the admin clicks their labels.
        await page
            .getByRole('radiogroup', { name: 'Frequency' })
            .getByText('Weekly', { exact: true })
            .click();
        await page.getByRole('combobox', { name: 'Day' }).click();
        await page.getByRole('option', { name: 'Wednesday' }).click();
        const time = page.getByRole('combobox', { name: /^Time/ });
        await time.fill('6:45 AM');
        await time.press('Enter');
        if (!(await page.getByRole('checkbox', { name: 'Notify Rollcall admins' }).isChecked())) {
            await page.getByText('Notify Rollcall admins').click();
        }
        await page
            .getByRole('textbox', { name: 'Additional email addresses' })
            .fill('ops@example.com, it@example.com');
        await page.getByText('Run provisioning on a schedule').click();
        expect(await page.getByRole('switch', { name: /Run provisioning on a schedule/ }).isChecked()).toBe(
            true
        );
        expect(await page.getByRole('radio', { name: 'Weekly' }).isChecked()).toBe(true);
        await save.click();

        // Assert: saved in the settings record, shown with its next run
        await page.getByRole('status').filter({ hasText: 'Scheduled provisioning saved' }).waitFor(WAIT);
        const settings = (await adminApp.apex.call('ScheduledProvisioningController', 'getSettings', {})) as {
            enabled: boolean;
            frequency: string;
            day: string;
            scheduleTime: string;
            notifyAdmins: boolean;
            recipients: string[];
            timeZone: string;
            nextRunAt: string;
        };
        expect(settings).toMatchObject({
            enabled: true,
            frequency: 'Weekly',
            day: 'WED',
            scheduleTime: '06:45',
            notifyAdmins: true,
            recipients: ['ops@example.com', 'it@example.com']
        });
        await page.getByText(/Next run:/).waitFor(WAIT);

        // Assert: the service's scheduler read the saved record at its next sweep and scheduled the run
        // for the time the screen shows (Wednesday 06:45 in the org's time zone).
        const deadline = Date.now() + WAIT.timeout;
        const scheduled = () => logEntries('Sync scheduled').find((entry) => entry.pattern === '45 6 * * 3');
        while (!scheduled()) {
            if (Date.now() > deadline)
                throw new Error(
                    `the scheduler did not pick the schedule up: ${logEntries('Sync scheduled')
                        .map((entry) => String(entry.pattern))
                        .join(', ')}`
                );
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
        expect(scheduled()).toMatchObject({ timeZone: settings.timeZone, next: settings.nextRunAt });
        expect(service.scheduler?.nextRun()?.toISOString()).toBe(settings.nextRunAt);
        await screenshot('scheduled-provisioning');
        expect(await seriousViolations()).toEqual([]);

        // Act: Preview Users
        await page.getByRole('button', { name: 'Preview Users' }).click();

        // Assert: who the next run would invite, as the service evaluated it
        await page.getByRole('heading', { name: 'Who the next run would invite' }).waitFor(WAIT);
        const panel = page.getByRole('tabpanel', { name: 'Scheduled Provisioning' });
        scheduleCheckUsers = Number(await panel.locator('.total-users').textContent());
        expect(scheduleCheckUsers).toBeGreaterThan(0);
        expect(await panel.getByRole('grid').last().getByRole('row').count()).toBeGreaterThan(1);
        await screenshot('scheduled-provisioning-preview');
        expect(await seriousViolations()).toEqual([]);
    });

    it('when the admin previews and provisions users, then the eligible users are shown, the run goes to the end and the invitations are in the outbox', async () => {
        // Arrange
        await openTab('Provision Users');
        const provision = page.getByRole('button', { name: 'Provision Users' });
        await expectDisabled(provision, true);
        expect(await seriousViolations()).toEqual([]);

        // Act: who gets the audit email (the admins and one more address), then preview
        const provisionPanel = page.getByRole('tabpanel', { name: 'Provision Users' });
        if (!(await provisionPanel.getByRole('checkbox', { name: 'Notify Rollcall admins' }).isChecked())) {
            await provisionPanel.getByText('Notify Rollcall admins').click();
        }
        await provisionPanel
            .getByRole('textbox', { name: 'Additional email addresses' })
            .fill('audit@example.com');
        await page.getByRole('button', { name: 'Preview' }).click();
        await page.getByRole('heading', { name: 'Eligible users' }).waitFor(WAIT);

        // Assert: eligible users listed, Provision Users enabled
        const userRows = page.getByRole('grid').last().getByRole('row');
        expect(await userRows.count()).toBeGreaterThan(1);
        await expectDisabled(provision, false);
        // Nothing changed since the schedule screen's preview: both screens count the same users.
        const panel = page.getByRole('tabpanel', { name: 'Provision Users' });
        const shownUsers = Number(await panel.locator('.total-users').textContent());
        expect(shownUsers).toBe(scheduleCheckUsers);
        // The totals shown are the service's: its preview run (API) and its items, counted per product.
        const { runs } = await serviceApi<{
            runs: { runId: string; status: string; purpose: string; counts: { eligible: number } }[];
        }>('/v1/runs?limit=5');
        const previewRun = runs.find((run) => run.status === 'Previewed' && run.purpose === 'provisioning');
        expect(previewRun?.counts.eligible).toBe(shownUsers);
        const { items } = await serviceApi<{ items: { products: string[] }[] }>(
            `/v1/runs/${previewRun?.runId}/items`
        );
        expect(items).toHaveLength(shownUsers);
        const perProduct = new Map<string, number>();
        for (const product of items.flatMap((item) => item.products)) {
            perProduct.set(product, (perProduct.get(product) ?? 0) + 1);
        }
        const shownPerProduct = (await panel.locator('.product-totals li').allTextContents()).map((text) =>
            text.trim()
        );
        expect(shownPerProduct.sort()).toEqual(
            [...perProduct].map(([product, count]) => `${product}: ${count}`).sort()
        );
        await screenshot('provision-users-preview');
        expect(await seriousViolations()).toEqual([]);

        // Act: provision, confirmed
        await provision.click();
        const confirm = page.getByRole('dialog', { name: 'Provision users' });
        await confirm.getByText(/Send calendar authorization invitations to \d+ users?\?/).waitFor(WAIT);
        await confirm.getByRole('button', { name: 'Send Invitations' }).click();

        // Assert: the run reaches its end; its invitations are in the outbox
        const finished = page.getByRole('heading', { name: /: (Completed|Completed with Errors)$/ });
        await finished.waitFor(WAIT);
        runName = ((await finished.textContent()) ?? '').split(':')[0].trim();
        await page.getByText(/(\d+) of \1 users processed/).waitFor(WAIT);
        const invited = Number(await page.locator('dd.invited').textContent());
        expect(invited).toBeGreaterThan(0);
        const invitations = outboxEmails().filter((email) => /authoriz/i.test(email));
        expect(invitations.length).toBeGreaterThanOrEqual(invited);
        // The audit email of the run goes to the admins and to the extra address.
        const auditDeadline = Date.now() + WAIT.timeout;
        const auditEmail = () =>
            outboxEmails().find(
                (email) =>
                    /^Subject: Rollcall manual run/im.test(email) && email.includes('audit@example.com')
            );
        while (!auditEmail()) {
            if (Date.now() > auditDeadline)
                throw new Error('no audit email to audit@example.com in the outbox');
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
        expect(auditEmail()).toMatch(new RegExp(`${invited} invited`));
        await screenshot('provision-users-done');
        expect(await seriousViolations()).toEqual([]);
    });

    it('when the admin opens History, then the run is listed and its detail shows its users', async () => {
        // Act
        await openTab('History');
        // History's columns are set again once the org's time zone arrives: click after that, not before.
        await page.getByText(/^Times in the org's time zone/).waitFor(WAIT);
        const runButton = page.getByRole('link', { name: runName });
        await runButton.waitFor(WAIT);
        await screenshot('history');
        expect(await seriousViolations()).toEqual([]);
        await runButton.click();

        // Assert
        await page.getByRole('heading', { name: new RegExp(`^${runName}: Completed`) }).waitFor(WAIT);
        await page.getByRole('button', { name: 'Back to History' }).waitFor(WAIT);
        expect(await page.getByRole('grid').last().getByRole('row').count()).toBeGreaterThan(1);
        await screenshot('run-detail');
        expect(await seriousViolations()).toEqual([]);
        await page.getByRole('button', { name: 'Back to History' }).click();
        await runButton.waitFor(WAIT);
    });

    it('when the admin creates a set in two steps (a field error first, then custom logic), edits, duplicates and deletes it, then the list follows each change', async () => {
        // Arrange
        const name = `Sales department ${Date.now()}`;
        const renamed = `${name} renamed`;
        await openTab('Condition Sets');
        const panel = page.getByRole('tabpanel', { name: 'Condition Sets' });

        // Act: create
        await panel.getByRole('button', { name: 'Create Condition Set' }).click();
        await panel.getByRole('textbox', { name: 'Name' }).fill(name);
        await chooseProduct(panel, 'Round Robin');
        // A new set is eligible for users not invited yet, as the editor proposes.
        expect(await panel.getByRole('checkbox', { name: 'Not Invited' }).isChecked()).toBe(true);
        await screenshot('condition-set-editor-details');
        expect(await seriousViolations()).toEqual([]);
        await panel.getByRole('button', { name: 'Next' }).click();
        const first = await departmentIsSales(panel);
        // A second condition, its value left empty: saving shows the error on that condition.
        await panel.getByRole('button', { name: 'Add Condition' }).click();
        const second = panel.getByRole('group', { name: 'Condition 2' });
        await second.getByRole('combobox', { name: 'Field' }).fill('Title');
        await panel
            .getByRole('option', { name: /^Title/ })
            .first()
            .click();
        await second.getByRole('combobox', { name: 'Operator' }).click();
        await panel.getByRole('option', { name: /^starts with$/i }).click();
        await panel.getByRole('button', { name: 'Save' }).click();
        // The message under the value it concerns, as the base components show a field's error.
        await second.getByText('Enter a value.').waitFor(WAIT);
        expect(await second.getByRole('textbox', { name: 'Value' }).getAttribute('aria-invalid')).toBe(
            'true'
        );
        expect(await first.locator('.slds-form-element__help').filter({ hasText: /\S/ }).count()).toBe(0);
        await screenshot('condition-set-editor-error');
        expect(await seriousViolations()).toEqual([]);
        await second.getByRole('textbox', { name: 'Value' }).fill('VP');
        // Custom logic: either condition.
        await panel.getByRole('radiogroup', { name: 'Users match when' }).getByText('Custom logic').click();
        await panel.getByRole('textbox', { name: 'Custom logic' }).fill('1 OR 2');
        await screenshot('condition-set-editor-conditions');
        expect(await seriousViolations()).toEqual([]);
        await panel.getByRole('button', { name: 'Save' }).click();

        // Assert: listed, stored with both conditions and the logic
        await panel.getByText(name, { exact: true }).waitFor(WAIT);
        const stored = (
            (await adminApp.apex.call('ConditionSetController', 'getConditionSets', {})) as {
                id: string;
                name: string;
            }[]
        ).find((set) => set.name === name);
        const detail = (await adminApp.apex.call('ConditionSetController', 'getConditionSet', {
            conditionSetId: stored?.id
        })) as { definition: string };
        expect(JSON.parse(detail.definition)).toEqual({
            version: 1,
            conditions: [
                { field: 'Department', operator: 'equals', value: 'Sales' },
                { field: 'Title', operator: 'startsWith', value: 'VP' }
            ],
            logic: '1 OR 2'
        });

        // Act: duplicate
        await panel
            .getByRole('row', { name: new RegExp(`^${name}`) })
            .getByRole('button', { name: /Show actions/ })
            .click();
        await page.getByRole('menuitem', { name: 'Duplicate' }).click();

        // Assert: the copy opens in the editor; as Salesforce's Clone, nothing is written until it is saved
        await expectValue(panel.getByRole('textbox', { name: 'Name' }), `Copy of ${name}`);
        await panel.getByRole('button', { name: 'Cancel' }).click();
        await panel.getByText(name, { exact: true }).waitFor(WAIT);
        expect(await panel.getByText(`Copy of ${name}`, { exact: true }).count()).toBe(0);

        // Act: edit
        await panel
            .getByRole('row', { name: new RegExp(`^${name}`) })
            .getByRole('button', { name: /Show actions/ })
            .click();
        await page.getByRole('menuitem', { name: 'Edit' }).click();
        const nameBox = panel.getByRole('textbox', { name: 'Name' });
        await nameBox.waitFor(WAIT);
        await expectValue(nameBox, name);
        await nameBox.fill(renamed);
        await panel.getByRole('button', { name: 'Next' }).click();
        await panel.getByRole('button', { name: 'Save' }).click();

        // Assert: renamed
        await panel.getByText(renamed, { exact: true }).waitFor(WAIT);

        // Act: delete the set, confirmed
        await deleteSet(renamed);

        // Assert: gone
        const sets = (await adminApp.apex.call('ConditionSetController', 'getConditionSets', {})) as {
            name: string;
        }[];
        expect(sets.map((set) => set.name)).not.toContain(renamed);
        expect(sets.map((set) => set.name)).not.toContain(`Copy of ${name}`);
    });

    it('when the page acts as a user who is not a Rollcall admin, then one "no access" page shows, and the switch leads back', async () => {
        // Act: the page's switch
        await page.getByRole('link', { name: 'Act as a user who is not a Rollcall admin' }).click();
        await page
            .getByText(/Acting as .+, who does not have the Rollcall Admin permission set/)
            .waitFor(WAIT);

        // Assert: no screen, no form: one page saying why, with RollcallAccess's message
        await page.getByRole('heading', { name: "You don't have access to Rollcall" }).waitFor(WAIT);
        await page.getByText('You need the Rollcall Admin permission set to use Rollcall.').waitFor(WAIT);
        expect(await page.getByRole('tab').count()).toBe(0);
        expect(await page.getByRole('button').count()).toBe(0);
        expect(await page.getByText('Sales managers', { exact: true }).count()).toBe(0);
        await screenshot('not-an-admin');
        expect(await seriousViolations()).toEqual([]);

        // Act + Assert: back to the demo admin
        await page.getByRole('link', { name: 'Act as the demo admin' }).click();
        await page.getByRole('heading', { name: 'Rollcall', exact: true }).waitFor(WAIT);
        await page.getByText('Acting as the demo admin.').waitFor(WAIT);
        await page.getByRole('tab', { name: 'Condition Sets' }).waitFor(WAIT);
    });

    it('when the admin opens Condition Sets, then the demo sets are listed with no serious accessibility problem', async () => {
        await openTab('Condition Sets');
        await page.getByRole('button', { name: 'Create Condition Set' }).waitFor(WAIT);
        await page
            .getByRole('tabpanel', { name: 'Condition Sets' })
            .getByText('Sales managers', { exact: true })
            .waitFor(WAIT);
        await screenshot('condition-sets');
        expect(await seriousViolations()).toEqual([]);
    });

    it('when the admin checks who a new set matches, then the editor shows the service numbers, and a preview then shows the same users and overlaps', async () => {
        // Arrange: a set for every user in Sales, eligible whatever their status, so the preview lists them all
        const name = `Everyone in Sales ${Date.now()}`;
        await openTab('Condition Sets');
        const panel = page.getByRole('tabpanel', { name: 'Condition Sets' });
        await panel.getByRole('button', { name: 'Create Condition Set' }).click();
        await panel.getByRole('textbox', { name: 'Name' }).fill(name);
        await chooseProduct(panel, 'Round Robin');
        const statusGroup = panel.getByRole('group', { name: 'Eligible authorization statuses' });
        const statuses: string[] = [];
        for (const checkbox of await statusGroup.getByRole('checkbox').all()) {
            const label = (await checkbox.getAttribute('value')) ?? '';
            statuses.push(label);
            if (!(await checkbox.isChecked())) await statusGroup.getByText(label, { exact: true }).click();
        }
        expect(statuses).toEqual(expect.arrayContaining(['Not Invited', 'Invited', 'Expired']));
        await panel.getByRole('button', { name: 'Next' }).click();
        await departmentIsSales(panel);

        // Act: check who it matches
        await panel.getByRole('button', { name: 'Check who it matches' }).click();
        const summary = panel.locator('.impact-summary');
        await summary.waitFor(WAIT);

        // Assert: the numbers shown are the service's answer for the same draft
        const response = await fetch(`${service.url}/v1/condition-sets/impact`, {
            method: 'POST',
            headers: {
                authorization: `Bearer ${service.config.apiSecret}`,
                'content-type': 'application/json'
            },
            body: JSON.stringify({
                name,
                products: ['Round Robin'],
                eligibleStatuses: statuses,
                definition: {
                    version: 1,
                    conditions: [{ field: 'Department', operator: 'equals', value: 'Sales' }]
                }
            })
        });
        expect(response.status).toBe(200);
        const impact = (await response.json()) as {
            matched: number;
            alreadyGranted: number;
            overlaps: { name: string; users: number; products: string[] }[];
        };
        expect(impact.matched).toBeGreaterThan(0);
        expect(impact.overlaps.map((overlap) => overlap.name)).toContain('Sales managers');
        expect((await summary.textContent())?.trim()).toBe(
            `Matches ${impact.matched} users now; ${impact.alreadyGranted} of them already get Round Robin from other active sets.`
        );
        const shownOverlaps = (await panel.locator('.impact-overlaps li').allTextContents()).map((text) =>
            text.trim()
        );
        expect(shownOverlaps).toEqual(
            impact.overlaps.map(
                (overlap) =>
                    `${overlap.name}: ${overlap.users} ${overlap.users === 1 ? 'user' : 'users'} in common${overlap.products.length > 0 ? ` (also grants ${overlap.products.join(', ')})` : ''}`
            )
        );
        await screenshot('condition-set-editor-impact');
        expect(await seriousViolations()).toEqual([]);

        // Act: save the set (active), then preview on Provision Users
        await panel.getByRole('button', { name: 'Save' }).click();
        if (impact.matched === impact.alreadyGranted) {
            await page.getByRole('dialog').getByRole('button', { name: 'Save Anyway' }).click();
        }
        await panel.getByText(name, { exact: true }).waitFor(WAIT);
        await openTab('Provision Users');
        await page.getByRole('button', { name: 'Preview', exact: true }).click();
        const provisionPanel = page.getByRole('tabpanel', { name: 'Provision Users' });
        const setTotal = provisionPanel.locator('.set-totals li').filter({ hasText: `${name}:` });
        await setTotal.waitFor(WAIT);

        // Assert: the preview lists the users the editor counted, and the overlaps it named
        expect((await setTotal.textContent())?.trim()).toBe(`${name}: ${impact.matched}`);
        const { runs } = await serviceApi<{ runs: { runId: string; status: string }[] }>('/v1/runs?limit=5');
        let previewItems: { matchedSets: string[] }[] | undefined;
        for (const run of runs.filter((candidate) => candidate.status === 'Previewed')) {
            const { items } = await serviceApi<{ items: { matchedSets: string[] }[] }>(
                `/v1/runs/${run.runId}/items`
            );
            if (items.some((item) => item.matchedSets.includes(name))) {
                previewItems = items;
                break;
            }
        }
        const withDraft = (previewItems ?? []).filter((item) => item.matchedSets.includes(name));
        expect(withDraft).toHaveLength(impact.matched);
        for (const overlap of impact.overlaps) {
            expect(withDraft.filter((item) => item.matchedSets.includes(overlap.name))).toHaveLength(
                overlap.users
            );
        }
        await screenshot('provision-users-preview-with-new-set');

        // Cleanup: the set goes, so the demo sets are as they were
        await openTab('Condition Sets');
        await deleteSet(name);
    });
});

/** Step 1 of the editor: a product granted by the set (a checkbox, drawn by SLDS over a hidden input). */
