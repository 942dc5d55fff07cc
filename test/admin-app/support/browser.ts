/**
 * What the admin app's browser tests share: the stack (the service in local mode with its local org, the
 * admin app's page server, Debian's Chromium driven by playwright-core), axe-core on the page as it is,
 * screenshots, and the small waits and steps several tests take. No tool ever downloads a browser.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { startAdminApp, type AdminApp } from '../../../service/src/admin-app/server';
import { start, type RunningService } from '../../../service/src/main';
import { createScimDirectory } from '../../../service/src/adapters/scim';
import { removeDir } from '../../service/support/stack';

const CHROMIUM_ARGS = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run'
];
export const ROOT = join(__dirname, '..', '..', '..');
export const SCREENSHOTS = join(ROOT, 'tmp', 'screenshots');
const AXE_SOURCE = require.resolve('axe-core/axe.min.js');
export const WAIT = { timeout: 60_000 };
const LABEL_RULES = ['label', 'label-title-only'];
export const WIDE = { width: 1280, height: 900 };
export const NARROW = { width: 800, height: 900 };

export interface BrowserStack {
    dir: string;
    service: RunningService;
    adminApp: AdminApp;
    browser: Browser;
    page: Page;
    /** The service's log lines (JSON), as written. */
    serviceLog: string[];
    /** The .eml files the service wrote to its outbox. */
    outboxEmails(): string[];
    stop(): Promise<void>;
}

/** Found by the script `npm test` runs first (it installs Debian's Chromium where it may); never downloaded. */
export function findChromium(): string {
    const check = spawnSync('bash', [join(ROOT, 'scripts/ensure-chromium.sh'), '--check'], {
        encoding: 'utf8'
    });
    if (check.status !== 0)
        throw new Error(check.stderr.trim() || 'scripts/ensure-chromium.sh --check failed');
    return check.stdout.trim();
}

/**
 * The service in local mode (its local org with `users` demo users, its scheduler sweeping every second
 * unless `env` says otherwise), the admin app's page server beside it, and a page on the app in Chromium,
 * with the app's heading shown. The service reaches apps as `npm start` does, through the SCIM adapter:
 * `connections` (key → the app's SCIM base URL and token) is written to a CONNECTIONS_FILE in the stack's
 * folder, each token in a file of its own beside it; without it the service has no connection configured. The bundle is built (or found in the cache) in a child process: jest's
 * module system cannot load the ESM-only LWC rollup plugin; startAdminApp then finds it in the cache.
 */
export async function startBrowserStack(
    options: {
        users?: number;
        env?: Record<string, string>;
        viewport?: { width: number; height: number };
        connections?: Record<string, { baseUrl: string; token: string }>;
    } = {}
): Promise<BrowserStack> {
    const chromiumPath = findChromium();
    mkdirSync(SCREENSHOTS, { recursive: true });
    const dir = mkdtempSync(join(tmpdir(), 'rollcall-admin-app-'));
    execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'service/src/admin-app/build.ts')], {
        cwd: ROOT,
        stdio: 'ignore'
    });
    const serviceLog: string[] = [];
    const connectionsEnv: Record<string, string> = {};
    if (options.connections) {
        const file = join(dir, 'connections.json');
        const entries: Record<string, { baseUrl: string; tokenFile: string }> = {};
        for (const [key, { baseUrl, token }] of Object.entries(options.connections)) {
            const tokenFile = `${key}.token`;
            writeFileSync(join(dir, tokenFile), `${token}\n`, { mode: 0o600 });
            entries[key] = { baseUrl, tokenFile };
        }
        writeFileSync(file, `${JSON.stringify(entries, null, 2)}\n`);
        connectionsEnv.CONNECTIONS_FILE = file;
    }
    const service = await start({
        createDirectory: createScimDirectory,
        env: {
            NODE_ENV: 'test',
            PORT: '0',
            DATA_DIR: join(dir, 'data'),
            OUTBOX_DIR: join(dir, 'outbox'),
            LOCAL_ORG_USERS: String(options.users ?? 300),
            // The service scheduler reads the settings the Scheduled Provisioning screen saves, at
            // every sweep; a short sweep lets a test see it pick a change up.
            SCHEDULER: 'service',
            SWEEP_SECONDS: '1',
            LOG_LEVEL: 'info',
            ADMIN_APP_PORT: String(await freePort()),
            ...connectionsEnv,
            ...options.env
        },
        logDestination: { write: (line: string) => void serviceLog.push(line) }
    });
    // As `npm start` does: on the port ADMIN_APP_PORT names.
    const adminApp = await startAdminApp({
        localOrg: service.localOrg!,
        service: { url: service.url, secret: service.config.apiSecret },
        port: service.config.adminApp.port
    });
    const browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS });
    const page = await browser.newPage({ viewport: options.viewport ?? WIDE });
    recordConsole(page);
    await page.goto(adminApp.url);
    await page.getByRole('heading', { name: 'Rollcall', exact: true }).waitFor(WAIT);
    const stack: BrowserStack = {
        dir,
        service,
        adminApp,
        browser,
        page,
        serviceLog,
        outboxEmails() {
            const outbox = join(dir, 'outbox');
            if (!existsSync(outbox)) return [];
            return readdirSync(outbox, { recursive: true, encoding: 'utf8' })
                .filter((file) => file.endsWith('.eml'))
                .map((file) => readFileSync(join(outbox, file), 'utf8'));
        },
        stop: () => stopBrowserStack(stack)
    };
    return stack;
}

export async function stopBrowserStack(stack: Partial<BrowserStack> | undefined): Promise<void> {
    await stack?.browser?.close();
    await stack?.adminApp?.stop();
    await stack?.service?.stop();
    if (stack?.dir) removeDir(stack.dir);
}

/**
 * A screenshot of the screen itself (`<dir>/<name>.png`, tmp/screenshots by default): toasts from the step
 * before are closed first.
 */
export async function screenshot(
    page: Page,
    name: string,
    options: { fullPage?: boolean; dir?: string } = {}
): Promise<string> {
    await dismissToasts(page);
    mkdirSync(options.dir ?? SCREENSHOTS, { recursive: true });
    const path = join(options.dir ?? SCREENSHOTS, `${name}.png`);
    await page.screenshot({ path, fullPage: options.fullPage });
    return path;
}

export async function dismissToasts(page: Page): Promise<void> {
    const toasts = page.locator('#toasts .slds-notify');
    while ((await toasts.count()) > 0) {
        await toasts.first().getByRole('button', { name: 'Close' }).click();
    }
}

/**
 * axe-core on the page as it is: the serious and critical violations. A "missing label" finding is
 * checked against Chromium's own accessibility tree first: under LWC's synthetic shadow axe cannot
 * follow some base components' label references (the Time combobox of lightning-input type="time"),
 * while the browser, which is what assistive technology reads, names the control.
 */
export async function seriousViolations(page: Page): Promise<string[]> {
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
                    const mark = node.element?.getAttribute('data-axe-node') ?? `m${Date.now()}-${++marked}`;
                    node.element?.setAttribute('data-axe-node', mark);
                    return { html: node.html.slice(0, 160), mark };
                })
            }));
    });
    const found: string[] = [];
    for (const violation of violations) {
        for (const node of violation.nodes) {
            if (LABEL_RULES.includes(violation.id) && (await accessibleName(page, node.mark)) !== '')
                continue;
            found.push(`${violation.impact} ${violation.id}: ${violation.help} at ${node.html}`);
        }
    }
    return found;
}

/** The name Chromium's accessibility tree gives the element axe pointed at ('' when none). */
async function accessibleName(page: Page, mark: string): Promise<string> {
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

/** Ticks a product in the condition set editor's first step. */
export async function chooseProduct(panel: Locator, product: string): Promise<void> {
    await panel
        .getByRole('group', { name: /Products granted by this set/ })
        .getByText(product, { exact: true })
        .click();
}

/** A port nothing listens on now (the system picks it, then it is released). */
export function freePort(): Promise<number> {
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
export async function departmentIsSales(panel: Locator): Promise<Locator> {
    return departmentEquals(panel, 'Sales');
}

/** The editor's first condition, filled in as an admin does: Department equals `value`. */
export async function departmentEquals(panel: Locator, value: string): Promise<Locator> {
    const first = panel.getByRole('group', { name: 'Condition 1' });
    await first.getByRole('combobox', { name: 'Field' }).click();
    await first.getByRole('combobox', { name: 'Field' }).fill('Department');
    await panel
        .getByRole('option', { name: /Department/ })
        .first()
        .click();
    await first.getByRole('combobox', { name: 'Operator' }).click();
    await panel.getByRole('option', { name: /^equals$/i }).click();
    await first.getByRole('textbox', { name: 'Value' }).fill(value);
    return first;
}

export async function expectValue(locator: Locator, value: string): Promise<void> {
    const deadline = Date.now() + WAIT.timeout;
    while ((await locator.inputValue()) !== value) {
        if (Date.now() > deadline)
            throw new Error(`expected the value ${value}, not ${await locator.inputValue()}`);
        await locator.page().waitForFunction(() => true);
    }
}

export async function expectDisabled(locator: Locator, disabled: boolean): Promise<void> {
    await locator.waitFor(WAIT);
    const deadline = Date.now() + WAIT.timeout;
    while ((await locator.isDisabled()) !== disabled) {
        if (Date.now() > deadline) throw new Error(`expected disabled=${disabled}`);
        await locator.page().waitForFunction(() => true);
    }
}

/**
 * The element that has the focus, followed through the shadow roots (synthetic shadow answers
 * document.activeElement with the outermost host): its tag, text and whether it sits inside `selector`.
 */
export async function focused(page: Page): Promise<{ tag: string; text: string; label: string }> {
    return page.evaluate(() => {
        type Focusable = {
            tagName: string;
            textContent: string | null;
            shadowRoot?: { activeElement: Focusable | null } | null;
            getAttribute(name: string): string | null;
        };
        let active = (globalThis as unknown as { document: { activeElement: Focusable | null } }).document
            .activeElement;
        while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
        return {
            tag: active?.tagName.toLowerCase() ?? '',
            text: (active?.textContent ?? '').trim(),
            label: active?.getAttribute('aria-label') ?? active?.getAttribute('title') ?? ''
        };
    });
}

/** The page's console errors and warnings and its uncaught errors, newest last (see pageState). */
const consoleLines = new WeakMap<Page, string[]>();

function recordConsole(page: Page): void {
    const lines: string[] = [];
    consoleLines.set(page, lines);
    const keep = (line: string) => {
        lines.push(line.slice(0, 500));
        if (lines.length > 20) lines.shift();
    };
    page.on('console', (message) => {
        if (message.type() === 'error' || message.type() === 'warning')
            keep(`${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => keep(`uncaught: ${error.message}`));
}

/**
 * What the page shows, for a failure message: the address, the open tab's headings and text (cut), error
 * panels and toasts. A browser test that fails in CI is read from its output alone.
 */
export async function pageState(page: Page): Promise<string> {
    return page
        .evaluate(() => {
            // The page's own types, declared for this function only (the project compiles without the DOM lib).
            type Shown = { innerText?: string };
            type PageDocument = {
                querySelectorAll(selector: string): Iterable<Shown>;
                querySelector(selector: string): Shown | null;
            };
            const page = globalThis as unknown as { document: PageDocument; location: { hash: string } };
            const text = (element: Shown | null) => (element?.innerText ?? '').replace(/\s+/g, ' ').trim();
            const all = (selector: string) =>
                [...page.document.querySelectorAll(selector)].map(text).filter(Boolean);
            const panel = page.document.querySelector('[role="tabpanel"].slds-show');
            return [
                `address: ${page.location.hash || '(no hash)'}`,
                `headings: ${JSON.stringify(all('h1, h2, h3'))}`,
                `errors: ${JSON.stringify(all('c-error-panel'))}`,
                `toasts: ${JSON.stringify(all('#toasts .slds-notify'))}`,
                `open tab: ${text(panel).slice(0, 1500)}`
            ].join('\n');
        })
        .then((state) => `${state}\nconsole: ${JSON.stringify(consoleLines.get(page) ?? [])}`);
}

/**
 * Opens a run from History by its link, as an admin does, and waits for its detail's heading
 * ("RUN-…: Completed…"). History's columns are set again once the org's time zone arrives: the link is
 * clicked after that. When the detail does not come, the error says what the page showed instead.
 */
export async function openRun(page: Page, history: Locator, runName: string): Promise<void> {
    await history.getByText(/^Times in the org's time zone/).waitFor(WAIT);
    await history.getByRole('link', { name: runName, exact: true }).click();
    await shown(
        page,
        history.getByRole('heading', { name: new RegExp(`^${runName}: Completed`) }),
        `The detail of ${runName} did not open`
    );
}

/** Waits for `locator` to be visible; when it is not, fails with `what` and what the page showed instead. */
export async function shown(page: Page, locator: Locator, what: string): Promise<void> {
    try {
        await locator.waitFor(WAIT);
    } catch (error) {
        throw new Error(`${what}: ${(error as Error).message}\n${await pageState(page)}`);
    }
}
