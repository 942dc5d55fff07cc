/**
 * Bulk API 2.0 query jobs on the local org, over HTTP with jsforce's bulk2 (and raw requests where the
 * CSV text and the headers themselves are the point).
 */
import type { Connection } from 'jsforce';
import { QueryJobV2 } from 'jsforce/lib/api/bulk2';
import { startLocalOrg, type LocalOrg } from '../../service/src/local-org';
import { JOB_LIST_SIZE } from '../../service/src/local-org/bulk';
import { clientCredentialsToken, jwtConnection, rest, v } from './helpers';

type Rec = Record<string, unknown> & { Id: string };

async function createJob(conn: Connection, query: string, extra: Record<string, string> = {}) {
    const job = new QueryJobV2(conn, {
        bodyParams: { operation: 'query', query, ...extra },
        pollingOptions: { pollInterval: 20, pollTimeout: 10_000 }
    });
    return { job, info: await job.open() };
}

async function results(org: LocalOrg, token: string, jobId: string, params: Record<string, string> = {}) {
    const query = new URLSearchParams(params).toString();
    const res = await fetch(`${org.url}${v(`/jobs/query/${jobId}/results`)}${query ? `?${query}` : ''}`, {
        headers: { authorization: `Bearer ${token}`, accept: 'text/csv' }
    });
    return { status: res.status, headers: res.headers, text: await res.text() };
}

describe('local org Bulk API 2.0 query jobs', () => {
    let org: LocalOrg;
    let conn: Connection;
    let token: string;

    beforeAll(async () => {
        org = await startLocalOrg({ users: 2500, seed: 11 });
        conn = await jwtConnection(org);
        token = await clientCredentialsToken(org);
    });

    afterAll(async () => {
        await org.stop();
    });

    afterEach(() => org.faults.clear());

    it('when a query job is created, then it answers UploadComplete with the job info and ends JobComplete with the records processed', async () => {
        const { job, info } = await createJob(conn, 'SELECT Id FROM User WHERE IsActive = true');
        await job.poll();
        const done = await job.check();
        const rest2 = await conn.query<Rec>('SELECT COUNT() FROM User WHERE IsActive = true');

        expect(info).toMatchObject({
            id: expect.stringMatching(/^750/),
            operation: 'query',
            object: 'User',
            createdById: org.ids.integrationUserId,
            state: 'UploadComplete',
            concurrencyMode: 'Parallel',
            contentType: 'CSV',
            apiVersion: 62,
            lineEnding: 'LF',
            columnDelimiter: 'COMMA'
        });
        expect(done).toMatchObject({
            state: 'JobComplete',
            jobType: 'V2Query',
            numberRecordsProcessed: rest2.totalSize
        });
    });

    it('when results are read with maxRecords, then each set has a header row, Sforce-NumberOfRecords and the next Sforce-Locator until "null"', async () => {
        const { job, info } = await createJob(conn, 'SELECT Id, Username FROM User');
        await job.poll();

        const ids: string[] = [];
        const locators: string[] = [];
        let locator = '';
        for (;;) {
            const page = await results(org, token, info.id, {
                maxRecords: '1000',
                ...(locator ? { locator } : {})
            });
            const lines = page.text.split('\n').filter((line) => line !== '');
            expect(page.status).toBe(200);
            expect(page.headers.get('content-type')).toMatch(/^text\/csv/);
            expect(lines[0]).toBe('"Id","Username"');
            expect(Number(page.headers.get('sforce-numberofrecords'))).toBe(lines.length - 1);
            for (const line of lines.slice(1)) ids.push(line.split(',')[0].replace(/"/g, ''));
            locator = page.headers.get('sforce-locator') ?? '';
            locators.push(locator);
            if (locator === 'null') break;
        }

        expect(locators).toEqual(['MTAwMA', 'MjAwMA', 'null']);
        expect(ids).toHaveLength(2500);
        expect(new Set(ids).size).toBe(2500);
        // A locator stays valid while the job exists: the second set can be read again.
        const again = await results(org, token, info.id, { maxRecords: '1000', locator: 'MTAwMA' });
        expect(again.text.split('\n')[1].replace(/"/g, '').split(',')[0]).toBe(ids[1000]);
    });

    it('when values need quoting, are null, boolean, dates or parent fields, then the CSV has the documented form', async () => {
        const userId = org.ids.adminUserIds[0];
        await conn
            .sobject('User')
            .update({ Id: userId, Title: 'Head of "Ops", EMEA', Department: null, ManagerId: null });
        const { job, info } = await createJob(
            conn,
            `SELECT Id, Title, Department, IsActive, CreatedDate, Profile.Name, Manager.Name FROM User WHERE Id = '${userId}'`
        );
        await job.poll();
        const page = await results(org, token, info.id);
        const queried = await conn.query<Rec>(
            `SELECT CreatedDate, Profile.Name, ManagerId FROM User WHERE Id = '${userId}'`
        );
        const record = queried.records[0];
        const created = new Date(String(record.CreatedDate).replace(/\+0000$/, 'Z')).toISOString();

        expect(page.text).toBe(
            '"Id","Title","Department","IsActive","CreatedDate","Profile.Name","Manager.Name"\n' +
                `"${userId}","Head of ""Ops"", EMEA","","true","${created}","${(record.Profile as { Name: string }).Name}",""\n`
        );
        expect(record.ManagerId).toBeNull();
    });

    it('when the job asks for another delimiter and line ending, then the results use them', async () => {
        const { job, info } = await createJob(conn, 'SELECT Id, IsActive FROM User LIMIT 2', {
            columnDelimiter: 'PIPE',
            lineEnding: 'CRLF'
        });
        await job.poll();
        const page = await results(org, token, info.id);

        expect(page.text).toMatch(/^"Id"\|"IsActive"\r\n"005[^"]+"\|"(true|false)"\r\n/);
    });

    it('when jsforce reads a set through conn.request, then it parses the CSV into records keyed by column', async () => {
        const { job, info } = await createJob(conn, 'SELECT Id, Profile.Name FROM User LIMIT 3');
        await job.poll();

        const rows = await conn.request<Array<Record<string, string>>>({
            method: 'GET',
            url: `/jobs/query/${info.id}/results?maxRecords=2`,
            headers: { Accept: 'text/csv' }
        });

        expect(rows).toHaveLength(2);
        expect(Object.keys(rows[0])).toEqual(['Id', 'Profile.Name']);
    });

    it.each([
        [
            'an unknown field',
            'SELECT Id, Departmant FROM User',
            /No such column 'Departmant' on entity 'User'/
        ],
        ['an unknown object', 'SELECT Id FROM Usr', /sObject type 'Usr' is not supported/],
        ['an aggregate function', 'SELECT COUNT() FROM User', /not supported by Bulk API 2\.0/],
        [
            'GROUP BY',
            'SELECT Department, COUNT(Id) FROM User GROUP BY Department',
            /not supported by Bulk API 2\.0/
        ],
        ['OFFSET', 'SELECT Id FROM User LIMIT 5 OFFSET 5', /not supported by Bulk API 2\.0/]
    ])(
        'when the SOQL has %s, then the job is refused with 400 INVALIDJOB and why',
        async (_case, query, message) => {
            const res = await rest(org, token, v('/jobs/query'), {
                method: 'POST',
                body: { operation: 'query', query }
            });
            const error = await createJob(conn, query).then(
                () => undefined,
                (e: unknown) => e as { errorCode?: string; message?: string }
            );

            expect(res.status).toBe(400);
            expect(res.body).toEqual([{ errorCode: 'INVALIDJOB', message: expect.stringMatching(message) }]);
            expect(error?.errorCode).toBe('INVALIDJOB');
        }
    );

    it('when results are asked for before the job is complete, then 412 JOB_NOT_COMPLETE; once polled to JobComplete they come', async () => {
        org.faults.bulkQueryDelay(300);
        const { job, info } = await createJob(conn, 'SELECT Id FROM User LIMIT 5');

        const early = await results(org, token, info.id);
        const states: string[] = [];
        job.on('inProgress', (progress: { state: string }) => states.push(progress.state));
        await job.poll();
        const late = await results(org, token, info.id);

        expect(early.status).toBe(412);
        expect(JSON.parse(early.text)).toEqual([
            {
                errorCode: 'JOB_NOT_COMPLETE',
                message: expect.stringMatching(/Current status: (UPLOAD_COMPLETE|IN_PROGRESS)$/)
            }
        ]);
        expect(states).toContain('InProgress');
        expect(late.status).toBe(200);
        expect(late.text.split('\n').filter(Boolean)).toHaveLength(6);
    });

    it('when a running job is aborted, then it is Aborted and its results are refused; a deleted job is gone', async () => {
        org.faults.bulkQueryDelay(5_000);
        const { job, info } = await createJob(conn, 'SELECT Id FROM User');
        await new Promise((resolve) => setTimeout(resolve, 20));

        const aborted = await job.abort();
        const refused = await results(org, token, info.id);
        await job.delete();
        const gone = await rest(org, token, v(`/jobs/query/${info.id}`));

        expect(aborted.state).toBe('Aborted');
        expect(refused.status).toBe(412);
        expect(gone.status).toBe(404);
        expect(gone.body).toEqual([
            { errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }
        ]);
    });

    it('when an API version before 47.0 is used, then the resource does not exist', async () => {
        const res = await rest(org, token, '/services/data/v46.0/jobs/query', {
            method: 'POST',
            body: { operation: 'query', query: 'SELECT Id FROM User' }
        });

        expect(res.status).toBe(404);
    });

    it('when a job is created, polled and read, then every call counts against the API limit like any REST call', async () => {
        org.resetApiCounter();
        const { job, info } = await createJob(conn, 'SELECT Id FROM User LIMIT 10');
        await job.poll();
        await results(org, token, info.id);
        await job.delete();

        expect(org.apiUsage().used).toBeGreaterThanOrEqual(4);
    });

    describe('as the Bulk API 2.0 Developer Guide documents it', () => {
        const create = async (query = 'SELECT Id FROM User LIMIT 3', version = '62.0') =>
            (
                await rest(org, token, `/services/data/v${version}/jobs/query`, {
                    method: 'POST',
                    body: { operation: 'query', query }
                })
            ).body as { id: string; state: string };
        const stateOf = async (id: string) =>
            ((await rest(org, token, v(`/jobs/query/${id}`))).body as { state: string }).state;
        const until = async (id: string, state: string) => {
            for (let i = 0; i < 200 && (await stateOf(id)) !== state; i++)
                await new Promise((resolve) => setTimeout(resolve, 10));
            return stateOf(id);
        };

        it('"Get Results for a Query Job": results read with another API version than the job\'s answer 409', async () => {
            const job = await create();
            await until(job.id, 'JobComplete');

            const other = await fetch(`${org.url}/services/data/v61.0/jobs/query/${job.id}/results`, {
                headers: { authorization: `Bearer ${token}`, accept: 'text/csv' }
            });
            const same = await results(org, token, job.id);

            expect(other.status).toBe(409);
            expect(await other.json()).toEqual([
                { errorCode: 'API_ERROR', message: expect.stringContaining('62.0') }
            ]);
            expect(same.status).toBe(200);
            expect(same.text.split('\n').filter(Boolean)).toHaveLength(4);
        });

        it('"Get Information About All Query Jobs": GET …/jobs/query answers done, records and nextRecordsUrl, filtered by jobType', async () => {
            const job = await create();
            await until(job.id, 'JobComplete');

            const all = await rest(org, token, v('/jobs/query'));
            const v2 = await rest(org, token, v('/jobs/query?jobType=V2Query'));
            const ingest = await rest(org, token, v('/jobs/query?jobType=V2Ingest'));

            expect(all.status).toBe(200);
            const list = all.body as {
                done: boolean;
                records: Array<Record<string, unknown>>;
                nextRecordsUrl: null;
            };
            expect(list.done).toBe(true);
            expect(list.nextRecordsUrl).toBeNull();
            expect(list.records.find((r) => r.id === job.id)).toEqual({
                id: job.id,
                operation: 'query',
                object: 'User',
                createdById: org.ids.integrationUserId,
                createdDate: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/),
                systemModstamp: expect.any(String),
                state: 'JobComplete',
                concurrencyMode: 'Parallel',
                contentType: 'CSV',
                apiVersion: 62,
                jobType: 'V2Query',
                lineEnding: 'LF',
                columnDelimiter: 'COMMA'
            });
            expect((v2.body as { records: unknown[] }).records).toEqual(list.records);
            expect(ingest.body).toEqual({ done: true, records: [], nextRecordsUrl: null });
        });

        it('"Get Information About All Query Jobs": more jobs than one set are read set by set through nextRecordsUrl', async () => {
            const small = await startLocalOrg({ users: 5, seed: 3 });
            try {
                const t = await clientCredentialsToken(small);
                const made = new Set<string>();
                for (let i = 0; i < JOB_LIST_SIZE + 1; i += 50) {
                    const batch = Array.from({ length: Math.min(50, JOB_LIST_SIZE + 1 - i) }, () =>
                        rest(small, t, v('/jobs/query'), {
                            method: 'POST',
                            body: { operation: 'query', query: 'SELECT Id FROM User LIMIT 1' }
                        })
                    );
                    for (const res of await Promise.all(batch)) made.add((res.body as { id: string }).id);
                }

                const first = (await rest(small, t, v('/jobs/query'))).body as {
                    done: boolean;
                    records: Array<{ id: string }>;
                    nextRecordsUrl: string;
                };
                const second = (await rest(small, t, first.nextRecordsUrl)).body as typeof first;

                expect(first.done).toBe(false);
                expect(first.records).toHaveLength(JOB_LIST_SIZE);
                expect(first.nextRecordsUrl).toMatch(
                    /^\/services\/data\/v62\.0\/jobs\/query\?queryLocator=\w+$/
                );
                expect(second).toEqual({ done: true, records: [expect.any(Object)], nextRecordsUrl: null });
                expect(new Set([...first.records, ...second.records].map((r) => r.id))).toEqual(made);
            } finally {
                await small.stop();
            }
        });

        it('"Delete a Query Job": a job that is not terminated (UploadComplete, InProgress) is refused with 400 API_ERROR; once aborted it is deleted', async () => {
            org.faults.bulkQueryDelay(4_000);
            const job = await create('SELECT Id FROM User');
            const refusal = [
                {
                    errorCode: 'API_ERROR',
                    message: 'Error encountered when deleting the job because the job is not terminated'
                }
            ];

            const queued = await rest(org, token, v(`/jobs/query/${job.id}`), { method: 'DELETE' });
            const stateWhenQueued = await stateOf(job.id);
            const running = await until(job.id, 'InProgress');
            const inProgress = await rest(org, token, v(`/jobs/query/${job.id}`), { method: 'DELETE' });
            const aborted = await rest(org, token, v(`/jobs/query/${job.id}`), {
                method: 'PATCH',
                body: { state: 'Aborted' }
            });
            const deleted = await rest(org, token, v(`/jobs/query/${job.id}`), { method: 'DELETE' });
            const gone = await rest(org, token, v(`/jobs/query/${job.id}`));

            expect(job.state).toBe('UploadComplete');
            expect(stateWhenQueued).toBe('UploadComplete');
            expect(queued.status).toBe(400);
            expect(queued.body).toEqual(refusal);
            expect(running).toBe('InProgress');
            expect(inProgress.status).toBe(400);
            expect(inProgress.body).toEqual(refusal);
            expect((aborted.body as { state: string }).state).toBe('Aborted');
            expect(deleted.status).toBe(204);
            expect(gone.status).toBe(404);
        });
    });
});
