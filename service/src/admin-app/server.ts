/**
 * Serves the admin app outside an org (local mode): the page, the bundle of the force-app components,
 * SLDS, and the local Apex surface at POST /apex/:class/:method.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { LocalOrg } from '../local-org';
import type { Logger } from '../logger';
import { adminAppBundle, REPO_ROOT } from './build';
import { LocalApex, type ServiceApi } from './local-apex';
import { ApexError, OrgRest } from './org-rest';

const ACT_AS_HEADER = 'X-Rollcall-Act-As';
const SLDS_ASSETS = join(REPO_ROOT, 'node_modules/@salesforce-ux/design-system/assets');

/** The query parameter of the page's switch: `?as=non-admin` acts as a user without Rollcall_Admin. */
const ACT_AS_PARAMETER = 'as';
const NON_ADMIN = 'non-admin';

function escapeHtml(text: string): string {
    return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

/**
 * The page. Above the app, a switch (a link) between the demo admin and a user without the Rollcall
 * Admin permission set, to see the app's refusal as such a user sees it.
 */
function page(nonAdmin: { name: string } | undefined, customPermissions: string[]): string {
    const actingAs = nonAdmin
        ? `Acting as ${escapeHtml(nonAdmin.name)}, who does not have the Rollcall Admin permission set. <a href="/">Act as the demo admin</a>`
        : `Acting as the demo admin. <a href="/?${ACT_AS_PARAMETER}=${NON_ADMIN}">Act as a user who is not a Rollcall admin</a>`;
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Rollcall</title>
<link rel="stylesheet" href="/assets/styles/salesforce-lightning-design-system.min.css">
<style>html, body { background: #f3f3f3; min-height: 100%; } main { padding: 0 0.75rem 0.75rem; } #toasts { position: fixed; top: 0.5rem; left: 0; right: 0; z-index: 9000; } .acting-as { padding: 0.25rem 0.75rem 0; text-align: right; } .acting-as a { text-decoration: underline; }</style>
</head>
<body>
<div id="toasts" class="slds-notify_container" aria-live="polite"></div>
<p class="acting-as slds-text-body_small">${actingAs}</p>
<main id="main"></main>
<script>globalThis.rollcallCustomPermissions = ${JSON.stringify(customPermissions).replace(/</g, '\\u003c')};</script>
<script src="/app.js"></script>
</body>
</html>`;
}

export interface AdminApp {
    url: string;
    apex: LocalApex;
    stop(): Promise<void>;
}

export interface AdminAppOptions {
    localOrg: LocalOrg;
    service: ServiceApi;
    host?: string;
    port?: number;
    logger?: Logger;
}

export async function startAdminApp(options: AdminAppOptions): Promise<AdminApp> {
    const build = await adminAppBundle({ onBuild: (message) => options.logger?.info(message) });
    options.logger?.info({ cached: build.cached, millis: build.millis }, 'admin app bundle ready');
    const org = new OrgRest({
        url: options.localOrg.url,
        clientId: options.localOrg.clientId,
        clientSecret: options.localOrg.clientSecret
    });
    const { adminUserIds, orgId } = options.localOrg.ids;
    const apex = new LocalApex(org, options.service, adminUserIds[0], orgId);
    const nonAdmin = await apex.findNonAdmin();

    const app = express();
    app.disable('x-powered-by');
    app.get('/', async (req, res, next) => {
        try {
            const actAsNonAdmin = req.query[ACT_AS_PARAMETER] === NON_ADMIN;
            // What `@salesforce/customPermission/…` answers in the components: the acting user's, from the org.
            const customPermissions = await apex.customPermissions(
                actAsNonAdmin ? nonAdmin.id : adminUserIds[0]
            );
            res.type('html').send(page(actAsNonAdmin ? nonAdmin : undefined, customPermissions));
        } catch (error) {
            next(error);
        }
    });
    app.get('/app.js', (_req, res) => {
        // The cache lives under node_modules/.cache: a dot folder, which send refuses by default.
        res.sendFile(build.bundlePath, { dotfiles: 'allow' });
    });
    app.get('/favicon.ico', (_req, res) => {
        res.status(204).end();
    });
    app.use('/assets', express.static(SLDS_ASSETS, { maxAge: '1h' }));
    app.post(
        '/apex/:apexClass/:method',
        express.json({ limit: '1mb' }),
        async (req: Request, res: Response) => {
            try {
                // The page's switch: its calls carry the acting user's kind (client/apex.js).
                const runningUserId = req.get(ACT_AS_HEADER) === NON_ADMIN ? nonAdmin.id : adminUserIds[0];
                const result = await apex.call(
                    String(req.params.apexClass),
                    String(req.params.method),
                    req.body ?? {},
                    runningUserId
                );
                res.json(result);
            } catch (error) {
                const message =
                    error instanceof ApexError ? error.message : 'An internal server error has occurred.';
                if (!(error instanceof ApexError)) options.logger?.error({ err: error }, 'local Apex failed');
                // The platform's shape for an AuraHandledException.
                res.status(500).json({
                    body: {
                        message,
                        exceptionType: 'System.AuraHandledException',
                        isUserDefinedException: false
                    }
                });
            }
        }
    );
    app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
        const status = (error as { status?: number }).status ?? 500;
        res.status(status).json({
            body: { message: error instanceof Error ? error.message : String(error) }
        });
    });

    const server: Server = createServer(app);
    await new Promise<void>((resolveListen, reject) => {
        server.once('error', reject);
        server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolveListen());
    });
    const address = server.address() as AddressInfo;
    return {
        url: `http://${options.host ?? '127.0.0.1'}:${address.port}`,
        apex,
        stop: () =>
            new Promise<void>((resolveClose) => {
                server.closeAllConnections();
                server.close(() => resolveClose());
            })
    };
}
