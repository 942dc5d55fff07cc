/**
 * The setup of the admin app's browser tests, as test/admin-app/browser.test.ts does it: the service in
 * local mode (local org, outbox), the admin app on the port ADMIN_APP_PORT names, Debian's Chromium driven
 * by playwright-core, and axe-core with the accessibility-tree re-check of "missing label" findings.
 * (browser.test.ts keeps its own copy for now; it can move onto this module when the branches meet.)
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startAdminApp, type AdminApp } from '../../../service/src/admin-app/server';
import { start, type RunningService } from '../../../service/src/main';
import { removeDir } from '../../service/support/stack';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
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
export const WAIT = { timeout: 60_000 };
const AXE_SOURCE = require.resolve('axe-core/axe.min.js');
const LABEL_RULES = ['label', 'label-title-only'];

export interface AdminBrowser {
    dir: string;
    service: RunningService;
    adminApp: AdminApp;
    browser: Browser;
    page: Page;
    serviceLog: string[];
    stop(): Promise<void>;
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

/** The service, the admin app and a 1280 px wide page on it, with the app's heading shown. */
export async function startAdminBrowser(env: Record<string, string> = {}): Promise<AdminBrowser> {
    if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: apt-get install -y chromium`);
    const dir = mkdtempSync(join(tmpdir(), 'rollcall-admin-browser-'));
    // Built (or found in the cache) in a child process: jest's module system cannot load the ESM-only
    // LWC rollup plugin. startAdminApp then finds the bundle in the cache.
    execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'service/src/admin-app/build.ts')], {
        cwd: ROOT,
        stdio: 'ignore'
    });
    const serviceLog: string[] = [];
    const service = await start({
        env: {
            NODE_ENV: 'test',
            PORT: '0',
            DATA_DIR: join(dir, 'data'),
            OUTBOX_DIR: join(dir, 'outbox'),
            LOCAL_ORG_USERS: '300',
            SCHEDULER: 'off',
            LOG_LEVEL: 'info',
            ADMIN_APP_PORT: String(await freePort()),
            ...env
        },
        logDestination: { write: (line: string) => void serviceLog.push(line) }
    });
    const adminApp = await startAdminApp({
        localOrg: service.localOrg!,
        service: { url: service.url, secret: service.config.apiSecret },
        port: service.config.adminApp.port
    });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(adminApp.url);
    await page.getByRole('heading', { name: 'Rollcall', exact: true }).waitFor(WAIT);
    return {
        dir,
        service,
        adminApp,
        browser,
        page,
        serviceLog,
        async stop() {
            await browser.close();
            await adminApp.stop();
            await service.stop();
            removeDir(dir);
        }
    };
}

/** A screenshot of the viewport (1280 px wide): toasts from the step before are closed first. */
export async function screenshot(page: Page, path: string): Promise<void> {
    const toasts = page.locator('#toasts .slds-notify');
    while ((await toasts.count()) > 0) {
        await toasts.first().getByRole('button', { name: 'Close' }).click();
    }
    mkdirSync(join(path, '..'), { recursive: true });
    await page.screenshot({ path });
}

/**
 * axe-core on the page as it is: the serious and critical violations. A "missing label" finding is
 * checked against Chromium's own accessibility tree first (under LWC's synthetic shadow axe cannot follow
 * some base components' label references, while the browser names the control).
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
                    const mark = node.element?.getAttribute('data-axe-node') ?? `c${++marked}`;
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
        const { nodes } = await cdp.send('Accessibility.getPartialAXTree', { nodeId, fetchRelatives: false });
        return String(nodes[0]?.name?.value ?? '').trim();
    } finally {
        await cdp.detach();
    }
}
