/**
 * The composition root: configuration → adapters → use cases → HTTP server and timers.
 * `start()` / `stop()` are exported so tests own the lifecycle. Run directly (`npm start`), it starts
 * the service; in local mode it also starts the local org with its demo data, runs one preview and
 * sync, prints the summary and where the emails went, then keeps serving.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createMailer } from './adapters/mailer';
import { SalesforceGateway } from './adapters/salesforce';
import { SlackNotifier } from './adapters/slack';
import { MailTemplates } from './adapters/templates';
import { JournalFolder } from './adapters/journal';
import { LeaseKeeper } from './use-cases/run/claim';
import { configuredSecrets, loadConfig, type Config, type Env, type SalesforceConfig } from './config';
import { OrgStore } from './domain/org-store';
import { AppError, describeError, registerSecret } from './errors';
import { heapBudgetNotApplied, heapLimitMb, localOrgHeapProblem, oldSpaceBudgetMb } from './heap';
import { answerClientErrors, createApp } from './http/app';
import { createLogger, type Logger } from './logger';
import { Metrics } from './metrics';
import type { Clock, Mailer, Notifier, OrgGateway } from './ports';
import { systemClock } from './ports';
import { ServiceScheduler } from './scheduler';
import { ProvisioningService } from './use-cases/provisioning';
import { DEMO_USERS, startLocalOrg, type LocalOrg, type LocalOrgOptions } from './local-org';
import { runDemo } from './cli/demo';
import { removeServiceFile, writeServiceFile } from './service-file';
import { startAdminApp, type AdminApp } from './admin-app/server';
import type { AppDirectoryFactory } from './connections/app-directory';
import { directoryFactory, type DirectoryConstructor } from './connections/config';
import { startLocalConnections, type LocalConnections, type LocalScimStarter } from './connections/local';
import { ConnectionsService } from './connections/status';
import { ConnectionStore } from './domain/connection-store';
import { createScimDirectory } from './adapters/scim';
import { startLocalScimApp } from './local-scim';

export interface StartOptions {
    /** Environment to configure from (default process.env). */
    env?: Env;
    /** Adjust the parsed configuration (tests). */
    configure?: (config: Config) => void;
    /** Extra options for the embedded local org (local mode). */
    localOrg?: LocalOrgOptions;
    /** Use this local org instead of starting one (tests share one between service restarts). */
    useLocalOrg?: LocalOrg;
    logDestination?: pino.DestinationStream;
    /** Log to stderr even with an org configured (the CLI: its stdout is the output). */
    logToStderr?: boolean;
    clock?: Clock;
    /** Replace adapters (tests). */
    mailer?: Mailer;
    notifier?: Notifier;
    /** Decorate the org gateway (the benchmark counts rows read and records written). */
    wrapOrg?: (org: OrgGateway) => OrgGateway;
    /** Start the periodic sweep (resume + expiry) and the scheduler (default true). */
    timers?: boolean;
    /** Run the initial sweep before answering (default true). */
    initialSweep?: boolean;
    /** The apps the connections reach, instead of those of CONNECTIONS_FILE (tests). */
    appDirectories?: AppDirectoryFactory;
    /**
     * How a CONNECTIONS_FILE entry becomes an AppDirectory: the SCIM adapter (`createScimDirectory`,
     * service/src/adapters/scim.ts); `npm start` passes it.
     */
    createDirectory?: DirectoryConstructor;
    /**
     * Local mode without CONNECTIONS_FILE: starts the local SCIM app for the demo connection
     * (`startLocalScimApp`, service/src/local-scim/); `npm start` passes it.
     */
    localScim?: LocalScimStarter;
}

export interface RunningService {
    url: string;
    port: number;
    config: Config;
    logger: Logger;
    localOrg?: LocalOrg;
    /** Local mode: the local SCIM app the demo connection reaches (its SCIM base URL). */
    localScimUrl?: string;
    org: OrgGateway;
    mailer: Mailer;
    provisioning: ProvisioningService;
    scheduler?: ServiceScheduler;
    metrics: Metrics;
    stop(): Promise<void>;
}

let current: RunningService | undefined;

/**
 * Production (an org configured): JSON lines on stdout. Local mode: stdout is the demo's human summary,
 * so the logs go to stderr, as terse lines when stderr is a terminal (LOG_FORMAT overrides the form).
 */
function createServiceLogger(
    config: Config,
    destination: pino.DestinationStream | undefined,
    logToStderr: boolean
): Logger {
    const toStderr = logToStderr || config.mode === 'local';
    // A caller's own destination (tests) always gets JSON unless LOG_FORMAT says otherwise.
    const terminal = destination === undefined && toStderr && process.stderr.isTTY === true;
    const format = config.logFormat === 'auto' ? (terminal ? 'pretty' : 'json') : config.logFormat;
    return createLogger(config.logLevel, destination ?? pino.destination(toStderr ? 2 : 1), format);
}

export async function start(options: StartOptions = {}): Promise<RunningService> {
    const config = loadConfig(options.env ?? process.env);
    options.configure?.(config);
    for (const secret of configuredSecrets(config)) registerSecret(secret);
    const logger = createServiceLogger(config, options.logDestination, options.logToStderr === true);
    const clock = options.clock ?? systemClock;
    const metrics = new Metrics();

    let localOrg: LocalOrg | undefined = options.useLocalOrg;
    let ownsLocalOrg = false;
    let salesforce: SalesforceConfig | undefined = config.salesforce;
    if (config.mode === 'local') {
        if (!localOrg) {
            const problem = localOrgHeapProblem(config.localOrg.users ?? DEMO_USERS, oldSpaceBudgetMb());
            if (problem) throw new AppError('CONFIG_INVALID', `Invalid configuration:\n  - ${problem}`);
            localOrg = await startLocalOrg({
                port: config.localOrg.port,
                dataDir: config.localOrg.dataDir,
                users: config.localOrg.users,
                log: (line) => logger.info({ component: 'local-org' }, line),
                ...options.localOrg
            });
            ownsLocalOrg = true;
        }
        const local: LocalOrg = localOrg;
        salesforce = {
            loginUrl: local.url,
            clientId: local.jwt.consumerKey,
            username: local.jwt.username,
            privateKeyPem: local.jwt.privateKeyPem,
            apiVersion: config.localOrg.apiVersion,
            retryAttempts: 4,
            retryBaseMs: 100
        };
    }
    if (!salesforce) throw new Error('No org configured');
    let localConnections: LocalConnections | undefined;
    if (config.mode === 'local' && !config.connections.file && options.localScim) {
        localConnections = await startLocalConnections(config.dataDir, options.localScim);
        config.connections = { file: localConnections.file, endpoints: localConnections.endpoints };
        for (const entry of localConnections.endpoints) registerSecret(entry.token());
    }

    const gateway: OrgGateway = new SalesforceGateway({ config: salesforce, logger, metrics });
    const org = options.wrapOrg ? options.wrapOrg(gateway) : gateway;
    const store = new OrgStore(org);
    const mailer = options.mailer ?? createMailer(config.mail, logger);
    const notifier = options.notifier ?? new SlackNotifier(config.slack, logger);
    const templates = new MailTemplates(config.mail.templatesDir);
    const appDirectories =
        options.appDirectories ??
        (options.createDirectory && config.connections.endpoints.length > 0
            ? directoryFactory(config.connections.endpoints, options.createDirectory)
            : undefined);
    if (!appDirectories && config.connections.endpoints.length > 0) {
        logger.warn(
            { connections: config.connections.endpoints.map((entry) => entry.key) },
            'CONNECTIONS_FILE has entries but this build has no SCIM adapter wired: connections are not configured'
        );
    }
    const instance = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    const provisioning = new ProvisioningService({
        config,
        store,
        mailer,
        notifier,
        templates,
        journals: new JournalFolder(config.runs.journalDir),
        leases: new LeaseKeeper(store, clock, config.runs.staleAfterSeconds, instance, logger),
        clock,
        logger,
        metrics,
        appDirectories
    });

    let lastReady = 0;
    const app = createApp({
        config,
        provisioning,
        metrics,
        logger,
        clock,
        connections: new ConnectionsService(new ConnectionStore(org), appDirectories),
        ready: async () => {
            // Ready = signed in, User describe and org time zone loaded (cached; runs then do not pay for
            // them). Probes come often; at most one check a minute reaches the org.
            if (Date.now() - lastReady < 60_000) return;
            await provisioning.evaluator.warm();
            lastReady = Date.now();
        }
    });
    const server: Server = await new Promise((resolve, reject) => {
        const s = app.listen(config.port, config.host, () => resolve(s));
        s.once('error', reject);
    });
    server.requestTimeout = 120_000;
    answerClientErrors(server);
    const port = (server.address() as AddressInfo).port;
    const url = `http://127.0.0.1:${port}`;

    const timers: NodeJS.Timeout[] = [];
    let scheduler: ServiceScheduler | undefined;
    const sweep = async () => {
        try {
            await provisioning.sweep();
            await scheduler?.refresh();
        } catch (error) {
            logger.warn({ err: describeError(error) }, 'Sweep failed; retried at the next one');
        }
    };
    if (config.scheduler === 'service' && options.timers !== false) {
        scheduler = new ServiceScheduler({
            loadSettings: () => store.settings(),
            timeZone: () => store.orgTimeZone(),
            trigger: (slot) => provisioning.scheduled({ slot }),
            logger
        });
    }
    if (options.initialSweep !== false) await sweep();
    if (options.timers !== false) {
        const timer = setInterval(() => void sweep(), config.runs.sweepSeconds * 1000);
        timer.unref();
        timers.push(timer);
    }
    const budgetNotApplied = heapBudgetNotApplied(config.maxHeapMb, oldSpaceBudgetMb());
    if (budgetNotApplied) logger.warn(budgetNotApplied);
    logger.info(
        {
            url,
            mode: config.mode,
            mail: mailer.describe(),
            scheduler: config.scheduler,
            heapLimitMb: heapLimitMb(),
            oldSpaceMb: oldSpaceBudgetMb()
        },
        'Rollcall service started'
    );

    let stopping: Promise<void> | undefined;
    const service: RunningService = {
        url,
        port,
        config,
        logger,
        localOrg,
        localScimUrl: localConnections?.url,
        org,
        mailer,
        provisioning,
        scheduler,
        metrics,
        stop: () => {
            stopping ??= (async () => {
                for (const timer of timers) clearInterval(timer);
                scheduler?.stop();
                await new Promise<void>((resolve) => {
                    server.close(() => resolve());
                    server.closeIdleConnections();
                    setTimeout(() => {
                        server.closeAllConnections();
                        resolve();
                    }, 2000).unref();
                });
                await provisioning.shutdown(config.shutdownTimeoutSeconds * 1000);
                await mailer.close();
                await org.close();
                if (ownsLocalOrg) await localOrg?.stop();
                await localConnections?.stop();
                if (current === service) current = undefined;
                logger.info('Rollcall service stopped');
            })();
            return stopping;
        }
    };
    current = service;
    return service;
}

export async function stop(): Promise<void> {
    await current?.stop();
}

/** `npm start`: serve; in local mode, also run the demo preview and sync once. */
async function main(): Promise<void> {
    let service: RunningService;
    try {
        // The SCIM adapter for CONNECTIONS_FILE's entries; in local mode without one, the local SCIM app.
        service = await start({ createDirectory: createScimDirectory, localScim: startLocalScimApp });
    } catch (error) {
        console.error(describeError(error));
        process.exit(1);
    }
    const { config } = service;
    console.log(`Service: ${service.url}`);
    if (service.localOrg) console.log(`Local org: ${service.localOrg.url}`);
    if (service.localScimUrl) console.log(`Local SCIM app: ${service.localScimUrl}`);
    if (config.mode === 'local' && config.apiSecretGenerated)
        console.log(`API secret (local mode): ${config.apiSecret}`);
    console.log(`Emails: ${service.mailer.describe()}`);
    // Started beside the demo: a first build (in a child process, ./admin-app/build) takes a while; its
    // address is printed once it is up, before "Serving".
    let adminApp: AdminApp | undefined;
    const adminAppStarted = service.localOrg
        ? startAdminApp({
              localOrg: service.localOrg,
              service: { url: service.url, secret: config.apiSecret },
              port: config.adminApp.port,
              logger: service.logger
          }).then(
              (started) => {
                  adminApp = started;
              },
              (error: unknown) => console.error(`Admin app not started: ${describeError(error)}`)
          )
        : undefined;

    // The CLI finds this service (URL and secret) here instead of opening the org itself.
    const serviceFile = writeServiceFile(config.dataDir, {
        url: service.url,
        secret: config.apiSecret,
        pid: process.pid,
        initiatedBy: service.localOrg?.ids.adminUserIds[0]
    });
    console.log(`CLI: npx rollcall runs (finds this service through ${serviceFile})`);

    let shuttingDown = false;
    const shutdown = (signal: string) => {
        if (shuttingDown) return;
        shuttingDown = true;
        removeServiceFile(config.dataDir, process.pid);
        console.log(`${signal}: shutting down`);
        const force = setTimeout(() => process.exit(1), (config.shutdownTimeoutSeconds + 5) * 1000);
        force.unref();
        void Promise.all([adminApp?.stop(), service.stop()]).then(() => process.exit(0));
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));

    if (config.demoOnStart) {
        try {
            await runDemo(service);
        } catch (error) {
            console.error(`Demo sync failed: ${describeError(error)}`);
        }
    }
    await adminAppStarted;
    if (adminApp) console.log(`\nAdmin app: ${adminApp.url}`);
    if (config.demoOnStart) {
        console.log(`\nServing. Try: curl -H "Authorization: Bearer <secret>" ${service.url}/v1/runs`);
    }
}

if (require.main === module) void main();
