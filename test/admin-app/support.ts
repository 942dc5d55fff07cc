/**
 * What the admin-app browser tests share: the admin app built once, served in local mode against the
 * local org and the service, and Debian's Chromium driven by Playwright (as browser.test.ts does).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startAdminApp, type AdminApp } from '../../service/src/admin-app/server';
import { start, type RunningService } from '../../service/src/main';
import { removeDir } from '../service/support/stack';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run'
];
export const ROOT = join(__dirname, '..', '..');
export const SCREENSHOTS = join(ROOT, 'tmp', 'screenshots');
export const WAIT = { timeout: 60_000 };

export interface AdminStack {
    dir: string;
    service: RunningService;
    adminApp: AdminApp;
    browser: Browser;
    page: Page;
    serviceLog: string[];
    /** The .eml files the service wrote to its outbox. */
    outboxEmails(): string[];
    stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    return port;
}

/**
 * The service in local mode (its local org with `users` demo users), the admin app beside it, and a page
 * on the app in Chromium. The bundle is built (or found in the cache) in a child process: jest's module
 * system cannot load the ESM-only LWC rollup plugin.
 */
export async function startAdminStack(
    options: {
        users?: number;
        env?: Record<string, string>;
        viewport?: { width: number; height: number };
    } = {}
): Promise<AdminStack> {
    if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: apt-get install -y chromium`);
    mkdirSync(SCREENSHOTS, { recursive: true });
    const dir = mkdtempSync(join(tmpdir(), 'rollcall-admin-app-'));
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
            LOCAL_ORG_USERS: String(options.users ?? 300),
            SWEEP_SECONDS: '1',
            LOG_LEVEL: 'info',
            ADMIN_APP_PORT: String(await freePort()),
            ...options.env
        },
        logDestination: { write: (line: string) => void serviceLog.push(line) }
    });
    const adminApp = await startAdminApp({
        localOrg: service.localOrg!,
        service: { url: service.url, secret: service.config.apiSecret },
        port: service.config.adminApp.port
    });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const page = await browser.newPage({ viewport: options.viewport ?? { width: 1280, height: 900 } });
    return {
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
        async stop() {
            await browser.close();
            await adminApp.stop();
            await service.stop();
            removeDir(dir);
        }
    };
}

/** Toasts left from a step before are closed (a screenshot shows the screen itself). */
export async function dismissToasts(page: Page): Promise<void> {
    const toasts = page.locator('#toasts .slds-notify');
    while ((await toasts.count()) > 0) {
        await toasts.first().getByRole('button', { name: 'Close' }).click();
    }
}

export async function screenshot(page: Page, name: string): Promise<void> {
    await dismissToasts(page);
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}
