/** Starts the local org and the service (in process or as a child process) for the tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Env } from '../../../service/src/config';
import { OrgStore } from '../../../service/src/domain/org-store';
import { start, type RunningService, type StartOptions } from '../../../service/src/main';
import { startLocalOrg, type LocalOrg, type LocalOrgOptions } from '../../../service/src/local-org';
import { localGateway } from './gateway';
import { startSmtpSink, type SlackEndpoint, type SmtpSink } from './peers';

export const API_SECRET = 'test-api-secret-0123456789-abcdefghijklmnop';
export const TOKEN_SECRET = 'test-token-secret-0123456789-abcdefghijklmnop';
export const WEBHOOK_SECRET = 'test-webhook-secret-0123456789-abcdefghijklm';
export const SLACK_TOKEN = 'xoxb-test-slack-token-not-secret';
/** Per test process; the org's own data folders are separate temporary folders. */
export const TEST_DATA_DIR = join(tmpdir(), `rollcall-test-data-${process.pid}`);

export async function startTestOrg(
    options: LocalOrgOptions = {}
): Promise<{ org: LocalOrg; dataDir: string }> {
    const dataDir = mkdtempSync(join(tmpdir(), 'rollcall-test-org-'));
    const org = await startLocalOrg({ users: 400, seed: 7, dataDir, ...options });
    await setScheduleEnabled(org, true);
    return { org, dataDir };
}

/** The demo org ships with the schedule off; scheduled runs are refused (409 SCHEDULE_DISABLED) until it is on. */
export async function setScheduleEnabled(org: LocalOrg, enabled: boolean): Promise<void> {
    const store = orgStore(org);
    const [settings] = await store.org.query<{ Id: string }>(
        'SELECT Id FROM Rollcall_Settings__c WHERE SetupOwnerId != null LIMIT 1'
    );
    await store.org.update([
        { attributes: { type: 'Rollcall_Settings__c' }, Id: settings.Id, Schedule_Enabled__c: enabled }
    ]);
    org.resetApiCounter();
}

export function removeDir(dir: string): void {
    rmSync(dir, { recursive: true, force: true });
}

export function serviceEnv(smtp: SmtpSink | { port: number }, slack?: SlackEndpoint, extra: Env = {}): Env {
    return {
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        PORT: '0',
        ROLLCALL_API_SECRET: API_SECRET,
        AUTH_TOKEN_SECRET: TOKEN_SECRET,
        WEBHOOK_SECRET,
        SMTP_HOST: '127.0.0.1',
        SMTP_PORT: String(smtp.port),
        SMTP_RETRY_BASE_MS: '10',
        SMTP_TIMEOUT_MS: '2000',
        MAIL_FROM: 'Rollcall <rollcall@example.com>',
        MAIL_REPLY_TO: 'help@example.com',
        MAIL_SUPPORT_CONTACT: 'the Sales Ops team',
        SLACK_BOT_TOKEN: slack ? SLACK_TOKEN : undefined,
        SLACK_API_URL: slack?.url,
        SLACK_CHANNEL: '#fallback',
        HEARTBEAT_SECONDS: '1',
        SWEEP_SECONDS: '1',
        STALE_RUN_SECONDS: '30',
        AUTH_LINK_URL_TEMPLATE: 'https://book.example.com/authorize?token={token}',
        RUN_LINK_URL_TEMPLATE: 'https://org.example.com/lightning/r/Provisioning_Run__c/{runId}/view',
        // The run journal (outcomes a shutdown could not write); shared by the services of one test file.
        DATA_DIR: TEST_DATA_DIR,
        ...extra
    };
}

export async function startService(
    org: LocalOrg,
    env: Env,
    options: Partial<StartOptions> = {}
): Promise<RunningService> {
    return start({ env, useLocalOrg: org, timers: false, initialSweep: false, ...options });
}

/** The test's own view of the org (assertions read the records the service wrote). */
export function orgStore(org: LocalOrg): OrgStore {
    return new OrgStore(localGateway(org));
}

export async function api(
    service: { url: string },
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {}
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
    const response = await fetch(`${service.url}${path}`, {
        method,
        headers: {
            authorization: `Bearer ${API_SECRET}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...headers
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
    });
    const text = await response.text();
    let parsed: Record<string, unknown> = {};
    try {
        parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
        parsed = { text };
    }
    return { status: response.status, body: parsed, headers: response.headers };
}

/**
 * A preview as Apex makes it: `POST /v1/previews` (202 with the run id), then `GET /v1/runs/{id}` until the
 * run leaves Previewing. Returns the final run view (status Previewed or Failed).
 */
export async function previewViaApi(
    service: { url: string },
    initiatedBy: string
): Promise<{ runId: string; run: Record<string, unknown> }> {
    const accepted = await api(service, 'POST', '/v1/previews', { initiatedBy });
    if (accepted.status !== 202) {
        throw new Error(`POST /v1/previews answered ${accepted.status}: ${JSON.stringify(accepted.body)}`);
    }
    const runId = String(accepted.body.runId);
    const started = Date.now();
    for (;;) {
        const run = await api(service, 'GET', `/v1/runs/${runId}`);
        if (run.status === 200 && run.body.status !== 'Previewing') return { runId, run: run.body };
        if (Date.now() - started > 60_000) throw new Error(`Preview ${runId} still Previewing after 60 s`);
        await new Promise((resolve) => setTimeout(resolve, 25));
    }
}

/** The service as a child process (support/service-process.ts): resolves once it serves. */
export function startServiceProcess(
    env: Record<string, string | undefined>
): Promise<{ child: ChildProcess; url: string }> {
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'service-process.ts')], {
        env: { PATH: process.env.PATH, ...env },
        stdio: ['ignore', 'pipe', 'pipe']
    });
    return new Promise((resolve, reject) => {
        let out = '';
        let err = '';
        child.stdout?.on('data', (chunk: Buffer) => {
            out += chunk.toString();
            const match = /READY (\S+)/.exec(out);
            if (match) resolve({ child, url: match[1] });
        });
        child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
        child.once('exit', (code) => reject(new Error(`service process exited (${code}): ${err}`)));
    });
}

/** The environment that points a service process at the local org (JWT bearer, like a real org). */
export function orgEnv(org: LocalOrg, loginUrl = org.url): Record<string, string> {
    return {
        SF_LOGIN_URL: loginUrl,
        SF_JWT_AUDIENCE: org.url,
        SF_CLIENT_ID: org.jwt.consumerKey,
        SF_USERNAME: org.jwt.username,
        SF_PRIVATE_KEY: org.jwt.privateKeyPem
    };
}

export type TargetUser = { Id: string; Email: string; Name: string };

/** Creates an active condition set granting `product` to exactly the first `count` standard users. */
export async function createSetFor(
    target: OrgStore,
    count: number,
    set: { name: string; product: string; statuses: string }
): Promise<{ users: TargetUser[]; setId: string }> {
    const users = await target.org.query<TargetUser>(
        `SELECT Id, Email, Name FROM User WHERE IsActive = true AND UserType = 'Standard' AND Email != null ORDER BY Id LIMIT ${count}`
    );
    const [created] = await target.org.create('Condition_Set__c', [
        {
            Name: set.name,
            Active__c: true,
            Products__c: set.product,
            Eligible_Statuses__c: set.statuses,
            Definition__c: JSON.stringify({
                version: 1,
                conditions: [{ field: 'Id', operator: 'in', value: users.map((u) => u.Id) }]
            })
        }
    ]);
    return { users, setId: String(created.id) };
}

/** Deactivates every condition set: only the test's own sets are active from here on. */
export async function deactivateAllSets(target: OrgStore): Promise<void> {
    const sets = await target.org.query<{ Id: string }>(
        'SELECT Id FROM Condition_Set__c WHERE Active__c = true'
    );
    await target.update(
        sets.map((set) => ({ attributes: { type: 'Condition_Set__c' }, Id: set.Id, Active__c: false }))
    );
}

/**
 * A fresh local org whose one active set grants Meeting Links to the first `count` users whatever their
 * status is among `statuses` (Invited included: every run invites them all again).
 */
export async function startOrgWithOneSet(options: {
    users: number;
    seed: number;
    count: number;
    name: string;
}): Promise<{ org: LocalOrg; dataDir: string; store: OrgStore; users: TargetUser[] }> {
    const { org, dataDir } = await startTestOrg({ users: options.users, seed: options.seed });
    const store = orgStore(org);
    await deactivateAllSets(store);
    const { users } = await createSetFor(store, options.count, {
        name: options.name,
        product: 'Meeting Links',
        statuses: 'Not Invited;Invited'
    });
    return { org, dataDir, store, users };
}

/** A local org with a service in front of it and an SMTP sink: what a test over the service's API needs. */
export interface ServiceStack {
    org: LocalOrg;
    store: OrgStore;
    smtp: SmtpSink;
    service: RunningService;
    stop(): Promise<void>;
}

export async function startServiceStack(orgOptions: LocalOrgOptions = {}): Promise<ServiceStack> {
    const { org, dataDir } = await startTestOrg(orgOptions);
    const store = orgStore(org);
    const smtp = await startSmtpSink();
    const service = await startService(org, serviceEnv(smtp));
    return {
        org,
        store,
        smtp,
        service,
        stop: async () => {
            await service.stop();
            await smtp.close();
            await store.org.close();
            await org.stop();
            removeDir(dataDir);
        }
    };
}
