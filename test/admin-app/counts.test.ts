/**
 * One count per outcome, on every screen (issue 21, findings 1 and 10), in Debian's Chromium: a run that
 * sends one reminder and nothing else says "1 reminded" in the live progress, the toast, History and the
 * run detail; its row says Reminded with the sets it matched; the run detail lists as many audit
 * recipients as it counts; each run has a link, and the browser's Back stays in the app.
 */
import type { OrgStore } from '../../service/src/domain/org-store';
import { authorizationKey } from '../../service/src/use-cases/evaluation';
import { orgStore } from '../service/support/stack';
import { screenshot, shown, startBrowserStack, WAIT, type BrowserStack } from './support/browser';

jest.setTimeout(180_000);

const DAY_MS = 86_400_000;
const PRODUCT = 'Round Robin';
const SET_NAME = 'Reminder check';
const LINE = '0 invited, 1 reminded, 0 skipped, 0 failed';

describe('the counts of a reminder-only run in a browser', () => {
    let stack: BrowserStack;
    let store: OrgStore;
    let user: { Id: string; Name: string; Email: string };

    beforeAll(async () => {
        stack = await startBrowserStack({ users: 200 });
        store = orgStore(stack.service.localOrg!);

        // Arrange: one set, matching one user whose invitation from it went out four days ago, unanswered;
        // reminders after 3 days, at most 2. Nobody else is eligible or due a reminder.
        const sets = await store.org.query<{ Id: string }>(
            'SELECT Id FROM Condition_Set__c WHERE Active__c = true'
        );
        await store.update(
            sets.map((set) => ({ attributes: { type: 'Condition_Set__c' }, Id: set.Id, Active__c: false }))
        );
        const open = await store.org.query<{ Id: string }>(
            "SELECT Id FROM Calendar_Authorization__c WHERE Status__c = 'Invited'"
        );
        await store.update(
            open.map((record) => ({
                attributes: { type: 'Calendar_Authorization__c' },
                Id: record.Id,
                Status__c: 'Authorized'
            }))
        );
        [user] = await store.org.query<{ Id: string; Name: string; Email: string }>(
            "SELECT Id, Name, Email FROM User WHERE IsActive = true AND UserType = 'Standard' AND Email != null ORDER BY Id LIMIT 1"
        );
        await store.org.create('Condition_Set__c', [
            {
                Name: SET_NAME,
                Active__c: true,
                Products__c: PRODUCT,
                Eligible_Statuses__c: 'Not Invited',
                Definition__c: JSON.stringify({
                    version: 1,
                    conditions: [{ field: 'Id', operator: 'in', value: [user.Id] }]
                })
            }
        ]);
        await store.org.upsert('Calendar_Authorization__c', 'Key__c', [
            {
                attributes: { type: 'Calendar_Authorization__c' },
                Key__c: authorizationKey(user.Id, PRODUCT),
                User__c: user.Id,
                Product__c: PRODUCT,
                Status__c: 'Invited',
                Source__c: 'Rule',
                Granted_By_Sets__c: SET_NAME,
                Invite_Count__c: 1,
                Reminder_Count__c: 0,
                Invited_At__c: new Date(Date.now() - 4 * DAY_MS).toISOString()
            }
        ]);
        const [settings] = await store.org.query<{ Id: string }>(
            'SELECT Id FROM Rollcall_Settings__c WHERE SetupOwnerId != null LIMIT 1'
        );
        await store.update([
            {
                attributes: { type: 'Rollcall_Settings__c' },
                Id: settings.Id,
                Reminder_Days__c: 3,
                Reminder_Max__c: 2
            }
        ]);
        await stack.page.goto(stack.adminApp.url);
        await stack.page.getByRole('heading', { name: 'Rollcall', exact: true }).waitFor(WAIT);
    });

    afterAll(async () => {
        await stack?.stop();
    });

    it('when the run sends one reminder and nothing else, then the progress, the toast, History and the run detail all say 1 reminded', async () => {
        const { page } = stack;

        // Act: preview, then provision
        await page.getByRole('tab', { name: 'Provision Users' }).click();
        await page.getByRole('button', { name: 'Preview', exact: true }).click();
        await page.getByRole('heading', { name: 'Eligible users' }).waitFor(WAIT);
        // The reminder settings act on this manual run: the preview says so.
        await page.getByText(/This run also sends 1 reminder of invitations still unanswered/).waitFor(WAIT);
        await page.getByRole('button', { name: 'Provision Users' }).click();
        const confirm = page.getByRole('dialog', { name: 'Provision users' });
        await confirm.getByRole('button', { name: 'Send Invitations' }).click();

        // Assert: the progress and the final counts
        const panel = page.getByRole('tabpanel', { name: 'Provision Users' });
        await panel.getByRole('heading', { name: /: Completed$/ }).waitFor(WAIT);
        const runName = ((await panel.getByRole('heading', { name: /: Completed$/ }).textContent()) ?? '')
            .split(':')[0]
            .trim();
        await panel
            .locator('.progress-label')
            .filter({ hasText: `1 of 1 users processed: ${LINE}` })
            .waitFor(WAIT);
        expect(await panel.locator('dd.reminded').textContent()).toBe('1');
        expect(await panel.locator('dd.invited').textContent()).toBe('0');

        // Assert: the toast
        const toast = page.locator('#toasts .slds-notify').filter({ hasText: 'Provisioning completed' });
        await toast.waitFor(WAIT);
        expect(await toast.textContent()).toContain(`${LINE}.`);

        // Assert: the user's row says Reminded, with the set that granted the invitation
        const row = panel
            .getByRole('grid')
            .last()
            .getByRole('row', { name: new RegExp(user.Name) });
        await row.getByText('Reminded', { exact: true }).waitFor(WAIT);
        await row.getByText(SET_NAME).waitFor(WAIT);
        await screenshot(page, 'counts-provision-users');

        // Assert: History's row counts the reminder
        await page.getByRole('tab', { name: 'History' }).click();
        const runLink = page.getByRole('link', { name: runName });
        await runLink.waitFor(WAIT);
        const historyGrid = page.getByRole('tabpanel', { name: 'History' }).getByRole('grid');
        const historyRow = historyGrid.getByRole('row').filter({ has: runLink });
        // The datatable labels each cell with its column.
        const cell = async (label: string) =>
            ((await historyRow.locator(`td[data-label="${label}"]`).textContent()) ?? '').trim();
        expect(await cell('Outcome')).toBe(LINE);
        await screenshot(page, 'counts-history');

        // Assert: the run detail, reached by the run's link
        expect(await runLink.getAttribute('href')).toMatch(/#history\/[a-zA-Z0-9]{15,18}$/);
        await runLink.click();
        const detail = page.getByRole('tabpanel', { name: 'History' });
        await detail.getByRole('heading', { name: `${runName}: Completed` }).waitFor(WAIT);
        expect(page.url()).toMatch(/#history\/[a-zA-Z0-9]{15,18}$/);
        expect(await detail.locator('dd.reminded').textContent()).toBe('1');
        expect(await detail.locator('dd.invited').textContent()).toBe('0');
        expect((await detail.locator('.outcome-summary').textContent())?.trim()).toBe(`Outcome: ${LINE}`);
        // Finding 10: the audit went to as many addresses as it says, and they are listed.
        const notification = (await detail.locator('.notification-outcome').textContent()) ?? '';
        const count = Number(/Audit email sent to (\d+) recipients?/.exec(notification)?.[1]);
        const listed = await detail.locator('.audit-recipients li').allTextContents();
        expect(count).toBeGreaterThan(0);
        expect(listed).toHaveLength(count);
        await screenshot(page, 'counts-run-detail');

        // Assert: the audit email says the same line first
        const audit = stack
            .outboxEmails()
            // Long header lines are folded (RFC 5322): unfolded to read the subject.
            .map((email) => email.replace(/\r?\n[ \t]+/g, ' '))
            .find((email) =>
                new RegExp(`^Subject: Rollcall manual run ${runName} Completed`, 'm').test(email)
            );
        expect(audit).toContain(`Subject: Rollcall manual run ${runName} Completed: ${LINE}`);

        // Act: Back, Back (finding 10): the run, then History, then the tab before, never out of the app
        await page.goBack();
        await runLink.waitFor(WAIT);
        expect(page.url()).toMatch(/#history$/);
        await page.goBack();
        await page.getByRole('tab', { name: 'Provision Users', selected: true }).waitFor(WAIT);
        expect(page.url().startsWith(stack.adminApp.url)).toBe(true);
    });

    it("when the org's time zone arrives after the run, then the run detail opens all the same and names the zone once it comes", async () => {
        // Arrange: the run of the test before; the org's time zone answered 1.5 s late, as a slow org may
        const { page } = stack;
        const [run] = (await stack.adminApp.apex.call('RunHistoryController', 'getRuns', { maxRuns: 1 })) as {
            id: string;
            name: string;
        }[];
        await page.route('**/apex/RunHistoryController/getOrgTimeZone', async (route) => {
            await new Promise((resolve) => setTimeout(resolve, 1_500));
            await route.continue();
        });

        try {
            // Act: the run's address opened directly (a shared link), so the detail loads beside the zone
            await page.goto(`${stack.adminApp.url}#history/${run.id}`);

            // Assert: the detail is there before the zone and stays after it
            const detail = page.getByRole('tabpanel', { name: 'History' });
            await shown(
                page,
                detail.getByRole('heading', { name: `${run.name}: Completed` }),
                `The detail of ${run.name} did not open`
            );
            await detail.locator('dd.reminded').waitFor(WAIT);
            expect(await detail.locator('dd.reminded').textContent()).toBe('1');
            const timeZone = String(
                await stack.adminApp.apex.call('RunHistoryController', 'getOrgTimeZone', {})
            );
            const zone = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'short' })
                .formatToParts(new Date())
                .find((part) => part.type === 'timeZoneName')!.value;
            await detail.locator('dl.run-facts dd').filter({ hasText: zone }).first().waitFor(WAIT);
        } finally {
            await page.unroute('**/apex/RunHistoryController/getOrgTimeZone');
        }
    });
});
