/**
 * The admin app in a real browser: the force-app components built with LWC OSS and the base components,
 * served in local mode against the local org and the service, driven by Playwright in Debian's Chromium.
 * One flow per test, as the admin would say it; locators by role and accessible name; waits on text.
 * Screenshots of each screen go to tmp/screenshots (git-ignored).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { execFileSync, spawnSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { startAdminApp, type AdminApp } from '../../service/src/admin-app/server';
import { start, type RunningService } from '../../service/src/main';
import { removeDir } from '../service/support/stack';

jest.setTimeout(180_000);

/** Found by the script `npm test` runs first (it installs Debian's Chromium where it may); never downloaded. */
function findChromium(): string {
    const check = spawnSync('bash', [join(ROOT, 'scripts/ensure-chromium.sh'), '--check'], {
        encoding: 'utf8'
    });
    if (check.status !== 0)
        throw new Error(check.stderr.trim() || 'scripts/ensure-chromium.sh --check failed');
    return check.stdout.trim();
}
const CHROMIUM_ARGS = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run'
];
const ROOT = join(__dirname, '..', '..');
const SCREENSHOTS = join(ROOT, 'tmp', 'screenshots');
const AXE_SOURCE = require.resolve('axe-core/axe.min.js');
const WAIT = { timeout: 60_000 };
const LABEL_RULES = ['label', 'label-title-only'];

describe('the admin app in a browser', () => {
    let dir: string;
    let service: RunningService;
    let adminApp: AdminApp;
    let browser: Browser;
    let page: Page;
    const serviceLog: string[] = [];

    beforeAll(async () => {
        const chromiumPath = findChromium();
        mkdirSync(SCREENSHOTS, { recursive: true });
        dir = mkdtempSync(join(tmpdir(), 'rollcall-admin-app-'));
        // Built (or found in the cache) in a child process: jest's module system cannot load the ESM-only
        // LWC rollup plugin. startAdminApp then finds the bundle in the cache.
        execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'service/src/admin-app/build.ts')], {
            cwd: ROOT,
            stdio: 'ignore'
        });
        service = await start({
            env: {
                NODE_ENV: 'test',
                PORT: '0',
                DATA_DIR: join(dir, 'data'),
                OUTBOX_DIR: join(dir, 'outbox'),
                LOCAL_ORG_USERS: '300',
                // The service scheduler reads the settings the Scheduled Provisioning screen saves, at
                // every sweep; a short sweep lets the test see it pick a change up.
                SCHEDULER: 'service',
                SWEEP_SECONDS: '1',
                LOG_LEVEL: 'info',
                ADMIN_APP_PORT: String(await freePort())
            },
            logDestination: { write: (line: string) => void serviceLog.push(line) }
        });
        // As `npm start` does: on the port ADMIN_APP_PORT names.
        adminApp = await startAdminApp({
            localOrg: service.localOrg!,
            service: { url: service.url, secret: service.config.apiSecret },
            port: service.config.adminApp.port
        });
        expect(adminApp.url).toBe(`http://127.0.0.1:${service.config.adminApp.port}`);
        browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS });
        page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        await page.goto(adminApp.url);
        await page.getByRole('heading', { name: 'Rollcall', exact: true }).waitFor(WAIT);
    });

    afterAll(async () => {
        await browser?.close();
        await adminApp?.stop();
        await service?.stop();
        if (dir) removeDir(dir);
    });

    async function openTab(name: string): Promise<void> {
        await page.getByRole('tab', { name }).click();
    }

    /** A screenshot of the screen itself: toasts from the step before are closed first. */
    async function screenshot(name: string): Promise<void> {
        await dismissToasts();
        await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
    }

    async function dismissToasts(): Promise<void> {
        const toasts = page.locator('#toasts .slds-notify');
        while ((await toasts.count()) > 0) {
            await toasts.first().getByRole('button', { name: 'Close' }).click();
        }
    }

    /** The service's log entries with this message, parsed. */
    function logEntries(message: string): Record<string, unknown>[] {
        return serviceLog
            .map((line) => JSON.parse(line) as Record<string, unknown>)
            .filter((entry) => entry.msg === message);
    }

    /**
     * axe-core on the page as it is: the serious and critical violations. A "missing label" finding is
     * checked against Chromium's own accessibility tree first: under LWC's synthetic shadow axe cannot
     * follow some base components' label references (the Time combobox of lightning-input type="time"),
     * while the browser, which is what assistive technology reads, names the control.
     */
    async function seriousViolations(): Promise<string[]> {
        if (!(await page.evaluate(() => 'axe' in globalThis))) {
            await page.addScriptTag({ content: readFileSync(AXE_SOURCE, 'utf8') });
        }
        const violations = await page.evaluate(async () => {
            type Marked = {
                getAttribute(name: string): string | null;
                setAttribute(name: string, value: string): void;
            };
            type AxeNode = { html: string; element?: Marked };
            type AxeViolation = { id: string; impact: string; help: string; nodes: AxeNode[] };
            const axe = (
                globalThis as unknown as {
                    axe: {
                        run: (
                            context: unknown,
                            options: { elementRef: boolean }
                        ) => Promise<{ violations: AxeViolation[] }>;
                    };
                }
            ).axe;
            const result = await axe.run((globalThis as unknown as { document: unknown }).document, {
                elementRef: true
            });
            let marked = 0;
            return result.violations
                .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
                .map((violation) => ({
                    id: violation.id,
                    impact: violation.impact,
                    help: violation.help,
                    nodes: violation.nodes.map((node) => {
                        // A handle for the accessibility tree lookup below.
                        const mark = node.element?.getAttribute('data-axe-node') ?? String(++marked);
                        node.element?.setAttribute('data-axe-node', mark);
                        return { html: node.html.slice(0, 160), mark };
                    })
                }));
        });
        const found: string[] = [];
        for (const violation of violations) {
            for (const node of violation.nodes) {
                if (LABEL_RULES.includes(violation.id) && (await accessibleName(node.mark)) !== '') continue;
                found.push(`${violation.impact} ${violation.id}: ${violation.help} at ${node.html}`);
            }
        }
        return found;
    }

    /** The name Chromium's accessibility tree gives the element axe pointed at ('' when none). */
    async function accessibleName(mark: string): Promise<string> {
        const cdp = await page.context().newCDPSession(page);
        try {
            const { root } = await cdp.send('DOM.getDocument', { depth: 0 });
            const { nodeId } = await cdp.send('DOM.querySelector', {
                nodeId: root.nodeId,
                selector: `[data-axe-node="${mark}"]`
            });
            if (!nodeId) return '';
            const { nodes } = await cdp.send('Accessibility.getPartialAXTree', {
                nodeId,
                fetchRelatives: false
            });
            return String(nodes[0]?.name?.value ?? '').trim();
        } finally {
            await cdp.detach();
        }
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
            .getByRole('alertdialog', { name: 'Delete condition set' })
            .getByRole('button', { name: 'OK' })
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
        const confirm = page.getByRole('alertdialog', { name: 'Provision users' });
        await confirm.getByText(/Send calendar authorization invitations to \d+ users\?/).waitFor(WAIT);
        await confirm.getByRole('button', { name: 'OK' }).click();

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
        await panel.getByRole('option', { name: 'Round Robin' }).click();
        await panel.getByRole('button', { name: /Move selection to Granted by this set/ }).click();
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
        await second.getByRole('alert').filter({ hasText: 'Enter a value.' }).waitFor(WAIT);
        expect(await first.getByRole('alert').count()).toBe(0);
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

        // Assert: the copy opens in the editor, and is listed
        await expectValue(panel.getByRole('textbox', { name: 'Name' }), `Copy of ${name}`);
        await panel.getByRole('button', { name: 'Cancel' }).click();
        await panel.getByText(`Copy of ${name}`, { exact: true }).waitFor(WAIT);

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

        // Act: delete the set and its copy, confirmed
        await deleteSet(renamed);
        await deleteSet(`Copy of ${name}`);

        // Assert: gone
        const sets = (await adminApp.apex.call('ConditionSetController', 'getConditionSets', {})) as {
            name: string;
        }[];
        expect(sets.map((set) => set.name)).not.toContain(renamed);
        expect(sets.map((set) => set.name)).not.toContain(`Copy of ${name}`);
    });

    it('when the page acts as a user who is not a Rollcall admin, then each screen shows the refusal, and the switch leads back', async () => {
        // Act: the page's switch
        await page.getByRole('link', { name: 'Act as a user who is not a Rollcall admin' }).click();
        await page
            .getByText(/Acting as .+, who does not have the Rollcall Admin permission set/)
            .waitFor(WAIT);

        // Assert: every screen refuses with RollcallAccess's message, and nothing is listed
        for (const tab of ['Condition Sets', 'Provision Users', 'Scheduled Provisioning', 'History']) {
            await openTab(tab);
            await page
                .getByRole('tabpanel', { name: tab })
                .getByRole('alert')
                .filter({ hasText: 'You need the Rollcall Admin permission set to use Rollcall.' })
                .first()
                .waitFor(WAIT);
            if (tab === 'Condition Sets') {
                await screenshot('not-an-admin');
                expect(await seriousViolations()).toEqual([]);
            }
        }
        expect(await page.getByText('Sales managers', { exact: true }).count()).toBe(0);

        // Act + Assert: back to the demo admin
        await page.getByRole('link', { name: 'Act as the demo admin' }).click();
        await page.getByRole('heading', { name: 'Rollcall', exact: true }).waitFor(WAIT);
        await page.getByText('Acting as the demo admin.').waitFor(WAIT);
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
        await panel.getByRole('option', { name: 'Round Robin' }).click();
        await panel.getByRole('button', { name: /Move selection to Granted by this set/ }).click();
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
            await page.getByRole('alertdialog').getByRole('button', { name: 'OK' }).click();
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

/** A port nothing listens on now (the system picks it, then it is released). */
function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const { port } = server.address() as AddressInfo;
            server.close(() => resolve(port));
        });
    });
}

/** The editor's first condition, filled in as an admin does: Department equals Sales. */
async function departmentIsSales(
    panel: import('playwright-core').Locator
): Promise<import('playwright-core').Locator> {
    const first = panel.getByRole('group', { name: 'Condition 1' });
    await first.getByRole('combobox', { name: 'Field' }).fill('Department');
    await panel
        .getByRole('option', { name: /Department/ })
        .first()
        .click();
    await first.getByRole('combobox', { name: 'Operator' }).click();
    await panel.getByRole('option', { name: /^equals$/i }).click();
    await first.getByRole('textbox', { name: 'Value' }).fill('Sales');
    return first;
}

async function expectValue(locator: import('playwright-core').Locator, value: string): Promise<void> {
    const deadline = Date.now() + WAIT.timeout;
    while ((await locator.inputValue()) !== value) {
        if (Date.now() > deadline) throw new Error(`expected the value ${value}`);
        await locator.page().waitForFunction(() => true);
    }
}

async function expectDisabled(locator: import('playwright-core').Locator, disabled: boolean): Promise<void> {
    await locator.waitFor(WAIT);
    const deadline = Date.now() + WAIT.timeout;
    while ((await locator.isDisabled()) !== disabled) {
        if (Date.now() > deadline) throw new Error(`expected disabled=${disabled}`);
        await locator.page().waitForFunction(() => true);
    }
}
