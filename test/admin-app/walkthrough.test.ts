/**
 * Issue 21's walkthrough, replayed: what an experienced admin found using every screen for an hour
 * (findings 2–9, 12, 13), each as the admin met it, at 1280 px and at 800 px, with axe on every screen and
 * state at both widths. Each test failed on the screens before their fix. Screenshots go to tmp/screenshots
 * (<name>-1280.png, <name>-800.png). The stack and axe are the browser tests' own (./support/browser).
 */
import type { Locator, Page } from 'playwright-core';
import { OrgRest } from '../../service/src/admin-app/org-rest';
import {
    NARROW,
    WAIT,
    WIDE,
    chooseProduct,
    departmentEquals,
    departmentIsSales,
    expectDisabled,
    expectValue,
    focused,
    screenshot,
    seriousViolations,
    startBrowserStack,
    stopBrowserStack,
    type BrowserStack
} from './support/browser';

jest.setTimeout(240_000);

describe('the admin app as an admin lives in it (issue 21)', () => {
    let stack: BrowserStack;
    let page: Page;

    beforeAll(async () => {
        stack = await startBrowserStack();
        page = stack.page;
    });

    afterAll(async () => {
        await stopBrowserStack(stack);
    });

    async function openTab(name: string): Promise<Locator> {
        if ((await page.getByRole('dialog').count()) > 0) await page.keyboard.press('Escape');
        await page.getByRole('tab', { name }).click();
        const panel = page.getByRole('tabpanel', { name });
        // An editor a failed test left open would fail the next ones too: each starts from the list.
        const cancel = panel.getByRole('button', { name: 'Cancel' });
        if (name === 'Condition Sets' && (await cancel.count()) > 0) await cancel.click();
        return panel;
    }

    /**
     * The screen as it is now, at 1280 px and at 800 px: a screenshot of each and no serious or critical
     * axe violation at either width. `stillThere` is what must show at both widths.
     */
    async function atBothWidths(name: string, stillThere?: Locator): Promise<void> {
        for (const [viewport, suffix] of [
            [WIDE, '1280'],
            [NARROW, '800']
        ] as const) {
            await page.setViewportSize(viewport);
            if (stillThere) await stillThere.first().waitFor(WAIT);
            await screenshot(page, `${name}-${suffix}`);
            expect(await seriousViolations(page)).toEqual([]);
        }
        await page.setViewportSize(WIDE);
    }

    async function conditionSetNames(): Promise<{ id: string; name: string; active: boolean }[]> {
        return (await stack.adminApp.apex.call('ConditionSetController', 'getConditionSets', {})) as {
            id: string;
            name: string;
            active: boolean;
        }[];
    }

    /** Create Condition Set, a name and Round Robin, Next: the conditions step. */
    async function newSetAtConditions(panel: Locator, name: string): Promise<void> {
        await panel.getByRole('button', { name: 'Create Condition Set' }).click();
        await panel.getByRole('textbox', { name: 'Name' }).fill(name);
        await chooseProduct(panel, 'Round Robin');
        await panel.getByRole('button', { name: 'Next' }).click();
        await panel.getByRole('group', { name: 'Condition 1' }).waitFor(WAIT);
    }

    /** A sortable column's header: the datatable draws it as a button "Sort by: <label>". */
    function sortButton(grid: Locator, label: string): Locator {
        return grid
            .getByRole('columnheader', { name: label, exact: true })
            .getByRole('button', { name: /Sort by/ });
    }

    /** Waits until the focus is on the control with this text (the page body otherwise fails it). */
    async function focusOn(text: string): Promise<void> {
        const deadline = Date.now() + WAIT.timeout;
        while ((await focused(page)).text !== text) {
            if (Date.now() > deadline)
                throw new Error(`the focus is on ${JSON.stringify(await focused(page))}`);
            await page.waitForTimeout(50);
        }
    }

    async function openRowMenu(panel: Locator, setName: string): Promise<void> {
        await panel
            .getByRole('row', { name: new RegExp(`^${setName}`) })
            .getByRole('button', { name: /Show actions/ })
            .click();
    }

    /** The first column's text of each row of the last table on the screen (the users' names). */
    async function shownNames(panel: Locator): Promise<string[]> {
        // innerText: under LWC's synthetic shadow a cell's textContent leaves out what its components draw.
        const cells = panel.getByRole('grid').last().locator('tbody tr th');
        return (await cells.allInnerTexts()).map((text) => text.trim());
    }

    async function previewOnProvisionUsers(): Promise<Locator> {
        const panel = await openTab('Provision Users');
        await panel.getByRole('button', { name: 'Preview', exact: true }).click();
        await panel.getByRole('heading', { name: 'Eligible users' }).waitFor(WAIT);
        await panel.getByRole('grid').last().locator('tbody tr').first().waitFor(WAIT);
        return panel;
    }

    it('finding 3: when the admin pastes three addresses with one bad, then the field still holds all three, the bad one named', async () => {
        // Arrange
        const panel = await openTab('Provision Users');
        const field = panel.getByRole('textbox', { name: 'Additional email addresses' });
        await field.waitFor(WAIT);

        // Act
        await field.fill('revops@example.com, it-team, ops@example.com');
        await field.blur();

        // Assert: nothing the admin typed is lost; the entry to fix is named under the field
        await panel.getByText('Not valid email address: it-team.').waitFor(WAIT);
        await expectValue(field, 'revops@example.com, it-team, ops@example.com');
        await expectDisabled(panel.getByRole('button', { name: 'Provision Users' }), true);
        await atBothWidths('walkthrough-recipients-error', field);

        // Act: the admin fixes the entry in place
        await field.fill('revops@example.com, it-team@example.com, ops@example.com');
        await expectValue(field, 'revops@example.com, it-team@example.com, ops@example.com');
        expect(await panel.getByText(/Not valid email/).count()).toBe(0);
        await field.fill('');
    });

    it('findings 2 and 4: when the admin looks for one user in a preview, then search and sort find them, and "Why" opens in view with the focus in it, in their words', async () => {
        // Arrange: a preview of the demo org (its users on one page)
        const panel = await previewOnProvisionUsers();
        const loaded = await shownNames(panel);
        expect(loaded.length).toBeGreaterThan(20);

        // Act (finding 2): "Why" on the last row, far below the fold
        const lastRow = panel.getByRole('grid').last().locator('tbody tr').last();
        const whoseRow = (await lastRow.locator('th').innerText()).trim();
        await lastRow.getByRole('button', { name: 'Why' }).click();

        // Assert: a dialog inside the viewport, named for the user, with the focus in it
        const dialog = page.getByRole('dialog', { name: `Why ${whoseRow}` });
        await dialog
            .getByText(/Condition sets/i)
            .first()
            .waitFor(WAIT);
        const box = await dialog.locator('.slds-modal__container').boundingBox();
        const viewport = page.viewportSize()!;
        expect(box).not.toBeNull();
        expect(box!.y).toBeGreaterThanOrEqual(0);
        expect(box!.y + box!.height).toBeLessThanOrEqual(viewport.height);
        expect((await focused(page)).text).toBe(`Why ${whoseRow}`);

        // Assert: the admin's words, not the engine's
        const text = (await dialog.textContent()) ?? '';
        expect(text).toContain('Created Date within the last 180 days');
        expect(text).toMatch(/Role:? Name starts with "EMEA"/);
        expect(text).not.toMatch(/withinLastDays|startsWith|UserRole\.Name|CreatedDate/);
        expect(text).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:/);
        // Dates from the record in the org's time zone, named (December: Pacific Standard Time).
        expect(text).toMatch(/the user's is "[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2} [AP]M P[SD]T"/);
        // One line per product
        const products = await dialog.locator('.explained-products li').allTextContents();
        expect(products.length).toBeGreaterThan(0);
        for (const line of products) expect(line).toMatch(/^(Round Robin|Meeting Links|Instant Booker): /);
        await atBothWidths('walkthrough-why', dialog);

        // Act + Assert: Escape closes it
        await page.keyboard.press('Escape');
        await dialog.waitFor({ state: 'detached', ...WAIT });

        // Act + Assert (finding 4): search by a name far down the table
        const wanted = loaded[loaded.length - 1];
        const search = panel.getByRole('searchbox', { name: 'Search users' });
        await search.fill(wanted.toUpperCase());
        await panel.getByText(/1 user matches/).waitFor(WAIT);
        expect(await shownNames(panel)).toEqual([wanted]);
        await atBothWidths('walkthrough-preview-search', search);
        await search.fill('');

        // Act + Assert (finding 4): sort by name, both ways
        const nameHeader = sortButton(panel.getByRole('grid').last(), 'Name');
        await nameHeader.click();
        const byName = (names: string[]) =>
            [...names].sort((a, b) => a.localeCompare(b, undefined, { sensitivity: 'base', numeric: true }));
        const deadline = Date.now() + WAIT.timeout;
        while (JSON.stringify(await shownNames(panel)) !== JSON.stringify(byName(loaded))) {
            if (Date.now() > deadline) throw new Error('the users were not sorted by name');
            await page.waitForTimeout(50);
        }
        await nameHeader.click();
        while ((await shownNames(panel))[0] !== byName(loaded)[loaded.length - 1]) {
            if (Date.now() > deadline) throw new Error('the users were not sorted by name, descending');
            await page.waitForTimeout(50);
        }
    });

    it('finding 4, past the first page: when the admin searches a run of more users than a page holds, then the org finds one the table has not loaded', async () => {
        // Arrange: a finished run of 501 users, the one searched for last (not among the first 500 loaded)
        const org = stack.service.localOrg!;
        const rest = new OrgRest({ url: org.url, clientId: org.clientId, clientSecret: org.clientSecret });
        const runId = await rest.create('Provisioning_Run__c', {
            Status__c: 'Completed',
            Trigger__c: 'Manual'
        });
        const items = Array.from({ length: 501 }, (_, index) => ({
            attributes: { type: 'Provisioning_Run_Item__c' },
            Run__c: runId,
            Email__c: index === 500 ? 'far.down@example.com' : `user${index}@example.com`,
            Matched_Sets__c: 'EMEA',
            Status__c: 'Invited'
        }));
        for (let start = 0; start < items.length; start += 200)
            await rest.request('POST', '/composite/sobjects', {
                allOrNone: true,
                records: items.slice(start, start + 200)
            });
        try {
            await page.goto(`${stack.adminApp.url}#history/${runId}`);
            const panel = page.getByRole('tabpanel', { name: 'History' });
            await panel.getByText('Showing the first 500 of 501 users.').waitFor(WAIT);

            // Act
            const search = panel.getByRole('searchbox', { name: 'Search users' });
            await search.fill('FAR.DOWN');

            // Assert: the org searched every user; the summary speaks of all of them
            await panel.getByText('1 user matches "FAR.DOWN".').waitFor(WAIT);
            const rows = panel.getByRole('grid').last().locator('tbody tr');
            expect(await rows.count()).toBe(1);
            expect(await rows.first().innerText()).toContain('far.down@example.com');
            expect(await panel.getByText(/loaded/).count()).toBe(0);
            await atBothWidths('walkthrough-run-search', search);

            // Act + Assert: clearing the box brings the first 500 back
            await search.fill('');
            await panel.getByText('Showing the first 500 of 501 users.').waitFor(WAIT);
            expect(await rows.count()).toBeGreaterThan(1);
        } finally {
            await rest.remove('Provisioning_Run__c', runId);
        }
    });

    it('finding 5: when the admin enters a negative number of days and unbalanced logic, then each problem shows once, where it is fixed, all at once', async () => {
        // Arrange
        const panel = await openTab('Condition Sets');
        await newSetAtConditions(panel, `Negative days ${Date.now()}`);
        const first = panel.getByRole('group', { name: 'Condition 1' });
        const fieldPicker = first.getByRole('combobox', { name: 'Field' });
        await fieldPicker.fill('Created Date');
        await panel
            .getByRole('option', { name: /^Created Date/ })
            .first()
            .click();
        await first.getByRole('combobox', { name: 'Operator' }).click();
        await panel.getByRole('option', { name: 'within the last N days' }).click();

        // Act
        await first.getByRole('spinbutton', { name: 'Number of days' }).fill('-3');
        await panel.getByRole('button', { name: 'Save' }).click();

        // Assert: one message, under the number of days; the field picker is not marked wrong
        await first.getByText('Enter a whole number of days from 0 to 36500.').waitFor(WAIT);
        const messages = await first
            .locator('.slds-form-element__help')
            .filter({ hasText: /\S/ })
            .allInnerTexts();
        expect(messages).toHaveLength(1);
        expect(messages[0]).toContain('Enter a whole number of days from 0 to 36500.');
        expect(await fieldPicker.getAttribute('aria-invalid')).toBe('false');
        expect(
            await first.getByRole('spinbutton', { name: 'Number of days' }).getAttribute('aria-invalid')
        ).toBe('true');
        await atBothWidths('walkthrough-editor-days-error', first);

        // Act + Assert (finding 7): with the error showing, one click on Add Condition adds one
        await panel.getByRole('button', { name: 'Add Condition' }).click();
        await panel.getByRole('group', { name: 'Condition 2' }).waitFor(WAIT);

        // Act: custom logic naming a condition that does not exist, leaving one out and a parenthesis open
        await panel.getByRole('radiogroup', { name: 'Users match when' }).getByText('Custom logic').click();
        await panel.getByRole('textbox', { name: 'Custom logic' }).fill('(1 AND 3');

        // Assert: every problem at once
        const problems = panel.locator('.logic-error li');
        await problems.first().waitFor(WAIT);
        expect((await problems.allTextContents()).map((line) => line.trim())).toEqual([
            'The filter logic refers to condition 3, which does not exist.',
            'The filter logic must use condition 2.',
            'A parenthesis is not closed in the filter logic.'
        ]);
        await atBothWidths('walkthrough-editor-logic-errors', problems);
        await panel.getByRole('button', { name: 'Cancel' }).click();
        await panel.getByRole('button', { name: 'Create Condition Set' }).waitFor(WAIT);
    });

    it('finding 6: when the admin duplicates a set and cancels, then nothing is written; and two active sets cannot share a name', async () => {
        // Arrange
        const panel = await openTab('Condition Sets');
        await panel.getByText('Sales managers', { exact: true }).waitFor(WAIT);
        const before = await conditionSetNames();

        // Act: Duplicate, then Cancel
        await openRowMenu(panel, 'Sales managers');
        await page.getByRole('menuitem', { name: 'Duplicate' }).click();
        await expectValue(panel.getByRole('textbox', { name: 'Name' }), 'Copy of Sales managers');
        await atBothWidths('walkthrough-duplicate', panel.getByRole('textbox', { name: 'Name' }));
        await panel.getByRole('button', { name: 'Cancel' }).click();

        // Assert: as Salesforce's Clone, no "Copy of …" left behind
        await panel.getByText('Sales managers', { exact: true }).waitFor(WAIT);
        expect(await panel.getByText('Copy of Sales managers').count()).toBe(0);
        expect(await conditionSetNames()).toEqual(before);

        // Act: a new active set named as an active one, but for case
        await newSetAtConditions(panel, 'sales MANAGERS');
        await departmentIsSales(panel);
        await panel.getByRole('button', { name: 'Save' }).click();
        const saveAnyway = page.getByRole('dialog', { name: 'Save this condition set?' });
        const refused = panel.getByText(/Another active condition set is named "sales MANAGERS"/);
        await Promise.race([saveAnyway.waitFor(WAIT), refused.waitFor(WAIT)]);
        if (await saveAnyway.isVisible())
            await saveAnyway.getByRole('button', { name: 'Save Anyway' }).click();

        // Assert: refused, with what to do
        await refused.waitFor(WAIT);
        expect(await conditionSetNames()).toEqual(before);
        await atBothWidths('walkthrough-duplicate-name', refused);
        await panel.getByRole('button', { name: 'Cancel' }).click();
    });

    it('finding 7: when the admin creates, checks and cancels a confirmation, then the focus stays where they work', async () => {
        // Act + Assert: Create Condition Set puts the focus in Name, so typing lands there
        const panel = await openTab('Condition Sets');
        await panel.getByRole('button', { name: 'Create Condition Set' }).click();
        const nameBox = panel.getByRole('textbox', { name: 'Name' });
        await nameBox.waitFor(WAIT);
        await page.waitForFunction(() => true);
        await page.keyboard.type('Typed at once');
        await expectValue(nameBox, 'Typed at once');
        await panel.getByRole('button', { name: 'Cancel' }).click();

        // Act + Assert: editing a set, the field list does not open by itself over the conditions
        await openRowMenu(panel, 'Sales managers');
        await page.getByRole('menuitem', { name: 'Edit' }).click();
        await panel.getByRole('button', { name: 'Next' }).click();
        await panel.getByRole('group', { name: 'Condition 1' }).waitFor(WAIT);
        await page.waitForFunction(() => true);
        expect(
            await panel
                .getByRole('group', { name: 'Condition 1' })
                .getByRole('combobox', { name: 'Field' })
                .getAttribute('aria-expanded')
        ).toBe('false');

        // Act + Assert: "Check who it matches" keeps the focus on the button
        const check = panel.getByRole('button', { name: 'Check who it matches' });
        await check.click();
        await panel.locator('.impact-summary').waitFor(WAIT);
        expect((await focused(page)).text).toBe('Check who it matches');
        await atBothWidths('walkthrough-editor-impact', panel.locator('.impact-summary'));
        await panel.getByRole('button', { name: 'Cancel' }).click();

        // Act: a set that matches nobody, saved: the confirmation, dismissed with Escape
        await newSetAtConditions(panel, `Nobody ${Date.now()}`);
        await departmentEquals(panel, 'No such department');
        await panel.getByRole('button', { name: 'Save' }).click();
        const saveAnyway = page.getByRole('dialog', { name: 'Save this condition set?' });
        await saveAnyway.getByText('This set matches nobody right now. Save it anyway?').waitFor(WAIT);
        expect(await saveAnyway.getByRole('button', { name: 'Save Anyway' }).count()).toBe(1);
        await atBothWidths('walkthrough-save-confirmation', saveAnyway);
        await page.keyboard.press('Escape');

        // Assert: not saved, and the focus back on Save, not on the page body
        await saveAnyway.waitFor({ state: 'detached', ...WAIT });
        await focusOn('Save');
        await panel.getByRole('button', { name: 'Cancel' }).click();

        // Act: Delete's confirmation, dismissed with Escape
        await openRowMenu(panel, 'Sales managers');
        await page.getByRole('menuitem', { name: 'Delete' }).click();
        const confirm = page.getByRole('dialog', { name: 'Delete condition set' });
        await confirm.getByText(/Invitations already sent stay valid/).waitFor(WAIT);
        expect(await confirm.getByRole('button', { name: 'Delete' }).count()).toBe(1);
        await atBothWidths('walkthrough-delete-confirmation', confirm);
        await page.keyboard.press('Escape');

        // Assert: the set is kept and the focus is back on its row's menu
        await confirm.waitFor({ state: 'detached', ...WAIT });
        await focusOn('Show actions');
        expect((await conditionSetNames()).map((set) => set.name)).toContain('Sales managers');
    });

    it('finding 12: when the admin reads the list of sets, then it sorts, the name opens the set, and each set says what it matches', async () => {
        // Arrange
        const panel = await openTab('Condition Sets');
        await panel.getByText('Sales managers', { exact: true }).waitFor(WAIT);

        // Assert: a description and the conditions in words
        await panel.getByText('Every active sales manager with a team.').waitFor(WAIT);
        await panel
            .getByText(
                'Is Manager (has at least one active direct report) equals true AND Department equals Sales'
            )
            .waitFor(WAIT);
        await atBothWidths('walkthrough-condition-sets', panel.getByText('Sales managers', { exact: true }));

        // Act + Assert: sort by name (the demo sets are listed oldest first, not by name)
        const names = async () =>
            (await panel.getByRole('grid').locator('tbody tr th').allInnerTexts()).map((name) => name.trim());
        const sorted = [...(await names())].sort((a, b) =>
            a.localeCompare(b, undefined, { sensitivity: 'base' })
        );
        expect(await names()).not.toEqual(sorted);
        await sortButton(panel.getByRole('grid'), 'Name').click();
        const deadline = Date.now() + WAIT.timeout;
        while (JSON.stringify(await names()) !== JSON.stringify(sorted)) {
            if (Date.now() > deadline) throw new Error(`not sorted by name: ${(await names()).join(', ')}`);
            await page.waitForTimeout(50);
        }

        // Act + Assert: the name opens the set
        await panel.getByRole('button', { name: 'Sales managers', exact: true }).click();
        await expectValue(panel.getByRole('textbox', { name: 'Name' }), 'Sales managers');
        await panel.getByRole('button', { name: 'Cancel' }).click();
    });

    it('finding 9: when the admin schedules a run, then the schedule, its next run and History speak one zone and one clock', async () => {
        // Arrange
        const panel = await openTab('Scheduled Provisioning');
        const save = panel.getByRole('button', { name: 'Save Changes' });
        await save.waitFor(WAIT);

        // Act: weekly, Tuesday, 8:30 AM, on
        await panel
            .getByRole('radiogroup', { name: 'Frequency' })
            .getByText('Weekly', { exact: true })
            .click();
        await panel.getByRole('combobox', { name: 'Day' }).click();
        await page.getByRole('option', { name: 'Tuesday' }).click();
        const time = panel.getByRole('combobox', { name: /^Time/ });
        await time.fill('8:30 AM');
        await time.press('Enter');
        if (!(await panel.getByRole('switch', { name: /Run provisioning on a schedule/ }).isChecked())) {
            await panel.getByText('Run provisioning on a schedule').click();
        }
        await save.click();
        await page.getByRole('status').filter({ hasText: 'Scheduled provisioning saved' }).waitFor(WAIT);

        // Assert: the summary as the 12-hour picker says it; the next run in the org's zone, named
        const settings = (await stack.adminApp.apex.call(
            'ScheduledProvisioningController',
            'getSettings',
            {}
        )) as {
            timeZone: string;
            nextRunAt: string;
        };
        const summary = panel.locator('.schedule-summary');
        await summary.getByText(`Runs every Tuesday at 8:30 AM (${settings.timeZone}).`).waitFor(WAIT);
        const expectedNextRun = new Intl.DateTimeFormat('en-US', {
            year: 'numeric',
            month: 'short',
            day: '2-digit',
            hour: 'numeric',
            minute: '2-digit',
            timeZone: settings.timeZone,
            timeZoneName: 'short'
        }).format(new Date(settings.nextRunAt));
        expect(expectedNextRun).toMatch(/8:30 AM/);
        await summary.getByText(expectedNextRun).waitFor(WAIT);
        expect(await summary.textContent()).not.toContain('UTC');
        await atBothWidths('walkthrough-schedule', summary);

        // Act + Assert: Hourly, not saved: the saved next run is not shown as this one's
        await panel
            .getByRole('radiogroup', { name: 'Frequency' })
            .getByText('Hourly', { exact: true })
            .click();
        await summary.getByText('Not saved yet').waitFor(WAIT);
        expect(await summary.getByText(expectedNextRun).count()).toBe(0);

        // Cleanup: off again
        await panel.getByText('Run provisioning on a schedule').click();
        await save.click();
        await page.getByRole('status').filter({ hasText: 'Scheduled provisioning is off' }).waitFor(WAIT);

        // Act: History (the preview of the earlier test is a run)
        const history = await openTab('History');
        // That preview was never provisioned: History lists such runs only when asked (issue 21, finding 10).
        await history.getByText('Show previews that were not provisioned').click();
        const runButton = history.getByRole('link', { name: /^RUN-/ }).first();
        await runButton.waitFor(WAIT);

        // Assert: its times in the org's zone, named
        const zone = new Intl.DateTimeFormat('en-US', { timeZone: settings.timeZone, timeZoneName: 'short' })
            .formatToParts(new Date())
            .find((part) => part.type === 'timeZoneName')!.value;
        await history.getByText(`Times in the org's time zone (${settings.timeZone}).`).waitFor(WAIT);
        const started = history.getByRole('grid').locator('tbody tr').first().getByRole('gridcell').nth(4);
        expect(await started.innerText()).toContain(zone);
        await atBothWidths('walkthrough-history', runButton);

        // Assert (finding 12): at 800 px the run's name is not cut
        await page.setViewportSize(NARROW);
        const cut = await runButton.evaluate(
            (element) =>
                (element as unknown as { scrollWidth: number; clientWidth: number }).scrollWidth >
                (element as unknown as { clientWidth: number }).clientWidth
        );
        expect(cut).toBe(false);
        await page.setViewportSize(WIDE);
    });

    it('issues 23 and 19: when the admin checks a set, then another set the org cannot run is named with why; a set granting neither a product nor access is refused, one granting access only is saved', async () => {
        // Arrange: another active set that cannot run (a field the org has not)
        const org = stack.service.localOrg!;
        const rest = new OrgRest({ url: org.url, clientId: org.clientId, clientSecret: org.clientSecret });
        const brokenId = await rest.create('Condition_Set__c', {
            Name: 'Broken fields',
            Active__c: true,
            Products__c: 'Round Robin',
            Eligible_Statuses__c: 'Not Invited',
            Definition__c: JSON.stringify({
                version: 1,
                conditions: [{ field: 'No_Such_Field__c', operator: 'equals', value: 'x' }]
            })
        });
        const name = `Access only ${Date.now()}`;
        try {
            const panel = await openTab('Condition Sets');
            await panel.getByRole('button', { name: 'Create Condition Set' }).click();
            await panel.getByRole('textbox', { name: 'Name' }).fill(name);
            // No product: step 1 lets the admin on (access is granted on step 2)
            await panel.getByRole('button', { name: 'Next' }).click();
            await panel.getByRole('group', { name: 'Condition 1' }).waitFor(WAIT);
            await departmentIsSales(panel);

            // Act: Check who it matches
            await panel.getByRole('button', { name: 'Check who it matches' }).click();

            // Assert: the numbers, and the other set named with its reason, in a warning
            await panel.locator('.impact-summary').waitFor(WAIT);
            const warning = panel.getByRole('status').filter({ hasText: /grants? nothing right now/ });
            await warning.waitFor(WAIT);
            expect(await warning.innerText()).toMatch(/Broken fields: .*No_Such_Field__c/);
            await atBothWidths('walkthrough-editor-invalid-sets', warning);

            // Act: Save with neither a product nor access
            await panel.getByRole('button', { name: 'Save' }).click();

            // Assert: refused with what to do, nothing written
            await panel
                .getByRole('alert')
                .filter({ hasText: 'Choose a product, or grant access in an app in the Access section.' })
                .waitFor(WAIT);
            expect((await conditionSetNames()).map((set) => set.name)).not.toContain(name);
            await atBothWidths('walkthrough-editor-nothing-granted', panel.locator('.nothing-granted'));

            // Act: grant access in the demo connection, Save
            const access = panel.getByRole('region', { name: 'Access' });
            await access.getByRole('button', { name: 'Add access' }).click();
            await access.getByRole('combobox', { name: 'Connection' }).click();
            await page.getByRole('option', { name: /Demo SCIM app/ }).click();
            await access.getByRole('textbox', { name: /Groups/ }).fill('Sales');
            await panel.getByRole('button', { name: 'Save' }).click();

            // Assert: saved without product, with its grant
            await panel.getByRole('button', { name: 'Create Condition Set' }).waitFor(WAIT);
            const saved = (
                (await stack.adminApp.apex.call('ConditionSetController', 'getConditionSets', {})) as {
                    id: string;
                    name: string;
                    products: string[];
                }[]
            ).find((set) => set.name === name);
            expect(saved?.products).toEqual([]);
            const grants = (await stack.adminApp.apex.call('ConnectionController', 'getAccessGrants', {
                conditionSetId: saved!.id
            })) as { groups: string }[];
            expect(grants.map((grant) => grant.groups)).toEqual(['Sales']);
        } finally {
            // Cleanup: neither set stays active for the tests after this one
            await rest.update('Condition_Set__c', brokenId, { Active__c: false });
            const created = (await conditionSetNames()).find((set) => set.name === name);
            if (created) await rest.update('Condition_Set__c', created.id, { Active__c: false });
        }
    });

    it('finding 8: when a user without the Rollcall Admin permission set opens the app, then one "no access" page shows, no form', async () => {
        // Act
        await page.getByRole('link', { name: 'Act as a user who is not a Rollcall admin' }).click();

        // Assert
        const heading = page.getByRole('heading', { name: "You don't have access to Rollcall" });
        await heading.waitFor(WAIT);
        expect(await page.getByRole('tab').count()).toBe(0);
        expect(await page.getByRole('button').count()).toBe(0);
        expect(await page.getByRole('textbox').count()).toBe(0);
        expect(await page.getByText(/Off|Daily|7:00 AM/).count()).toBe(0);
        expect(await page.getByRole('alert').count()).toBe(0);
        await atBothWidths('walkthrough-no-access', heading);

        // Cleanup
        await page.getByRole('link', { name: 'Act as the demo admin' }).click();
        await page.getByRole('tab', { name: 'Condition Sets' }).waitFor(WAIT);
    });
});
