/**
 * A Bulk API 2.0 query job the service leaves before it ended — its polling timed out, a call failed, the
 * service is stopping — is aborted (`PATCH {"state": "Aborted"}`) and then deleted: Salesforce deletes only
 * a terminated job ("Delete a Query Job": 400 API_ERROR otherwise), and an abandoned job runs on in the
 * customer's org, counting against its limits. Over HTTP with the local org's bulk delay (fault switch);
 * a recording proxy between the gateway and the org reads each job's state just before its DELETE.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { SalesforceGateway, type BulkPolling } from '../../service/src/adapters/salesforce';
import { AppError } from '../../service/src/errors';
import { startLocalOrg, type LocalOrg } from '../../service/src/local-org';
import { createLogger } from '../../service/src/logger';
import { until } from './support/peers';

interface JobCall {
    method: string;
    jobId: string;
    status: number;
    /** The state the org answered (status checks, the abort). */
    state?: string;
    /** For a DELETE: the job's state read from the org just before the DELETE went on. */
    stateBeforeDelete?: string;
}

interface JobProxy {
    url: string;
    calls: JobCall[];
    /** Answer the job status checks 500 (a failing org) while true. */
    failStatusChecks: boolean;
    close(): Promise<void>;
}

const JOB_PATH = /^\/services\/data\/v\d+\.\d\/jobs\/query\/(750\w+)$/;

async function startJobProxy(org: LocalOrg): Promise<JobProxy> {
    const proxy: JobProxy = { url: '', calls: [], failStatusChecks: false, close: async () => undefined };
    const server = createServer((req, res) => {
        void (async () => {
            const chunks: Buffer[] = [];
            for await (const chunk of req) chunks.push(chunk as Buffer);
            const path = req.url ?? '/';
            const headers = { ...req.headers } as Record<string, string>;
            delete headers.host;
            delete headers['content-length'];
            const job = JOB_PATH.exec(path)?.[1];
            if (job && req.method === 'GET' && proxy.failStatusChecks) {
                proxy.calls.push({ method: 'GET', jobId: job, status: 500 });
                res.writeHead(500, { 'content-type': 'application/json' });
                res.end(JSON.stringify([{ errorCode: 'UNKNOWN_EXCEPTION', message: 'An unexpected error' }]));
                return;
            }
            let stateBeforeDelete: string | undefined;
            if (job && req.method === 'DELETE') {
                const before = await fetch(`${org.url}${path}`, {
                    headers: { authorization: headers.authorization }
                });
                stateBeforeDelete = ((await before.json()) as { state?: string }).state;
            }
            const upstream = await fetch(`${org.url}${path}`, {
                method: req.method,
                headers,
                body: ['GET', 'HEAD'].includes(req.method ?? 'GET') ? undefined : Buffer.concat(chunks)
            });
            // The token answer names the instance URL: the gateway keeps talking to the proxy.
            const text = (await upstream.text()).split(org.url).join(proxy.url);
            if (job) {
                const state = text.startsWith('{')
                    ? (JSON.parse(text) as { state?: string }).state
                    : undefined;
                proxy.calls.push({
                    method: String(req.method),
                    jobId: job,
                    status: upstream.status,
                    state,
                    stateBeforeDelete
                });
            }
            res.writeHead(upstream.status, {
                'content-type': upstream.headers.get('content-type') ?? 'application/json'
            });
            res.end(text);
        })();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    proxy.close = () =>
        new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
        });
    return proxy;
}

/** The service's gateway through the proxy, its warnings kept. */
function gateway(org: LocalOrg, proxy: JobProxy, bulkPolling: Partial<BulkPolling>) {
    const warnings: string[] = [];
    const sink = new Writable({
        write(chunk: Buffer, _encoding, callback) {
            const line = JSON.parse(chunk.toString()) as { level: number; msg: string };
            if (line.level >= 40) warnings.push(line.msg);
            callback();
        }
    });
    const sf = new SalesforceGateway({
        config: {
            loginUrl: proxy.url,
            audience: org.url,
            clientId: org.jwt.consumerKey,
            username: org.jwt.username,
            privateKeyPem: org.jwt.privateKeyPem,
            apiVersion: '62.0',
            retryAttempts: 1,
            retryBaseMs: 5
        },
        logger: createLogger('warn', sink),
        bulkPolling
    });
    return { sf, warnings };
}

/** The calls about one job, in order, as `METHOD status state`. */
const story = (proxy: JobProxy, jobId: string): string[] =>
    proxy.calls
        .filter((c) => c.jobId === jobId && c.method !== 'GET')
        .map((c) => `${c.method} ${c.status}${c.state ? ` ${c.state}` : ''}`);

describe('a bulk query job the service leaves before it ended', () => {
    let org: LocalOrg;
    let proxy: JobProxy;

    beforeAll(async () => {
        org = await startLocalOrg({ users: 50, seed: 5 });
    });

    beforeEach(async () => {
        proxy = await startJobProxy(org);
    });

    afterEach(async () => {
        org.faults.clear();
        await proxy.close();
    });

    afterAll(async () => {
        await org.stop();
    });

    /** The job as the org tells it now, read directly (not through the proxy). */
    const jobNow = async (jobId: string) => {
        const token = await fetch(`${org.url}/services/oauth2/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({
                grant_type: 'client_credentials',
                client_id: org.clientId,
                client_secret: org.clientSecret
            })
        });
        const { access_token } = (await token.json()) as { access_token: string };
        return fetch(`${org.url}/services/data/v62.0/jobs/query/${jobId}`, {
            headers: { authorization: `Bearer ${access_token}` }
        });
    };

    it('when polling times out while the job is InProgress, then the job is aborted, found Aborted, then deleted and gone', async () => {
        // Queued for 1 s, InProgress for the next 1 s; the gateway gives up after 1.2 s.
        org.faults.bulkQueryDelay(2_000);
        const { sf, warnings } = gateway(org, proxy, { firstMs: 50, maxMs: 50, timeoutMs: 1_200 });

        const outcome = await sf.bulkQuery('SELECT Id FROM User', () => undefined).catch((e: unknown) => e);

        expect(outcome).toBeInstanceOf(AppError);
        expect((outcome as AppError).code).toBe('ORG_UNAVAILABLE');
        expect((outcome as AppError).message).toMatch(
            /^Salesforce bulk query job 750\w+ not complete after 1.2 seconds$/
        );
        const jobId = (outcome as AppError).message.split(' ')[4];
        const checks = proxy.calls.filter((c) => c.jobId === jobId && c.method === 'GET');
        expect(checks.at(-1)?.state).toBe('InProgress');
        expect(story(proxy, jobId)).toEqual(['PATCH 200 Aborted', 'DELETE 204']);
        expect(proxy.calls.find((c) => c.method === 'DELETE')?.stateBeforeDelete).toBe('Aborted');
        expect((await jobNow(jobId)).status).toBe(404);
        expect(warnings).toEqual([]);
        await sf.close();
    });

    it('when a status check fails for good, then the job is aborted, found Aborted, then deleted and gone', async () => {
        org.faults.bulkQueryDelay(60_000);
        const { sf } = gateway(org, proxy, { firstMs: 50, maxMs: 50, timeoutMs: 60_000 });

        const reading = sf.bulkQuery('SELECT Id FROM User', () => undefined).catch((e: unknown) => e);
        await until(() => proxy.calls.some((c) => c.method === 'GET' && c.status === 200), 'a status check');
        proxy.failStatusChecks = true;
        const outcome = await reading;
        proxy.failStatusChecks = false;

        expect(outcome).toBeInstanceOf(AppError);
        expect((outcome as AppError).message).toMatch(/bulk2 job status failed/);
        const jobId = proxy.calls[0].jobId;
        expect(story(proxy, jobId)).toEqual(['PATCH 200 Aborted', 'DELETE 204']);
        expect(proxy.calls.find((c) => c.method === 'DELETE')?.stateBeforeDelete).toBe('Aborted');
        expect((await jobNow(jobId)).status).toBe(404);
        await sf.close();
    });

    it('when the service stops while the job is InProgress, then close() aborts it and deletes it before it returns', async () => {
        // Queued for 2 s, then InProgress for 2 s: the service stops at the first check that says InProgress.
        org.faults.bulkQueryDelay(4_000);
        const { sf } = gateway(org, proxy, { firstMs: 50, maxMs: 50, timeoutMs: 60_000 });

        const reading = sf.bulkQuery('SELECT Id FROM User', () => undefined).catch((e: unknown) => e);
        await until(() => proxy.calls.some((c) => c.state === 'InProgress'), 'a check saying InProgress');
        const jobId = proxy.calls[0].jobId;
        await sf.close();
        const outcome = await reading;

        expect(outcome).toBeInstanceOf(AppError);
        expect((outcome as AppError).code).toBe('SHUTTING_DOWN');
        expect(story(proxy, jobId)).toEqual(['PATCH 200 Aborted', 'DELETE 204']);
        expect(proxy.calls.find((c) => c.method === 'DELETE')?.stateBeforeDelete).toBe('Aborted');
        expect((await jobNow(jobId)).status).toBe(404);
        await expect(sf.bulkQuery('SELECT Id FROM User', () => undefined)).rejects.toMatchObject({
            code: 'SHUTTING_DOWN'
        });
    });

    it('when the job completed and reading its results fails, then it is deleted without an abort', async () => {
        const { sf, warnings } = gateway(org, proxy, { firstMs: 20, maxMs: 20, timeoutMs: 60_000 });

        const outcome = await sf
            .bulkQuery('SELECT Id FROM User', () => {
                throw new Error('consumer failed');
            })
            .catch((e: unknown) => e);

        expect((outcome as Error).message).toBe('consumer failed');
        const jobId = proxy.calls[0].jobId;
        expect(story(proxy, jobId)).toEqual(['DELETE 204']);
        expect(proxy.calls.find((c) => c.method === 'DELETE')?.stateBeforeDelete).toBe('JobComplete');
        expect(warnings).toEqual([]);
        await sf.close();
    });
});
