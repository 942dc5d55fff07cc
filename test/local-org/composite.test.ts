/**
 * The Composite resource (`POST …/composite`) over HTTP: the local org's answers as the REST API Developer
 * Guide documents them (one API call for the series, per-subrequest status and body, allOrNone, references,
 * the 25 / 5 limits), and the service's gateway reading several queries in one request (queryTogether):
 * its call count, its error mapping, further pages, an expired session and a failing org.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SalesforceGateway } from '../../service/src/adapters/salesforce';
import { AppError } from '../../service/src/errors';
import { startLocalOrg, type LocalOrg } from '../../service/src/local-org';
import { createLogger } from '../../service/src/logger';
import { clientCredentialsToken, rest, v } from './helpers';

interface SubrequestResult {
    body: unknown;
    httpHeaders: Record<string, string>;
    httpStatusCode: number;
    referenceId: string;
}

const queryUrl = (soql: string, resource = 'query'): string =>
    v(`/${resource}?q=${encodeURIComponent(soql)}`);

/** A query URL whose SOQL ends in a quoted reference to an earlier subrequest. */
const withReference = (soql: string, reference: string): string =>
    `${v(`/query?q=${encodeURIComponent(`${soql}'`)}`)}${reference}${encodeURIComponent("'")}`;

/**
 * An HTTP proxy in front of the org that ends every session just after it forwarded the answer to a
 * composite request: the next call (a further page) meets an expired session.
 */
async function expiringProxy(
    org: LocalOrg
): Promise<{ url: string; expiredAfter: string[]; close(): Promise<void> }> {
    const expiredAfter: string[] = [];
    let url = '';
    const server = createServer((req, res) => {
        void (async () => {
            const chunks: Buffer[] = [];
            for await (const chunk of req) chunks.push(chunk as Buffer);
            const headers = { ...req.headers } as Record<string, string>;
            delete headers.host;
            delete headers['content-length'];
            const upstream = await fetch(`${org.url}${req.url ?? '/'}`, {
                method: req.method,
                headers,
                body: ['GET', 'HEAD'].includes(req.method ?? 'GET') ? undefined : Buffer.concat(chunks)
            });
            // The token answer names the instance URL: the gateway keeps talking to the proxy.
            const text = (await upstream.text()).split(org.url).join(url);
            if (req.method === 'POST' && /\/composite$/.test(req.url ?? '')) {
                org.faults.expireAllSessions();
                expiredAfter.push(`POST ${req.url}`);
            }
            res.writeHead(upstream.status, {
                'content-type': upstream.headers.get('content-type') ?? 'application/json'
            });
            res.end(text);
        })();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return {
        url,
        expiredAfter,
        close: () =>
            new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            })
    };
}

/** The service's gateway signed in to the org (through `loginUrl`, a proxy, when given). */
function gateway(org: LocalOrg, retryAttempts = 3, loginUrl = org.url): SalesforceGateway {
    return new SalesforceGateway({
        config: {
            loginUrl,
            audience: org.url,
            clientId: org.jwt.consumerKey,
            username: org.jwt.username,
            privateKeyPem: org.jwt.privateKeyPem,
            apiVersion: '62.0',
            retryAttempts,
            retryBaseMs: 5
        },
        logger: createLogger('silent')
    });
}

describe('the Composite resource', () => {
    let org: LocalOrg;
    let token: string;

    beforeAll(async () => {
        org = await startLocalOrg({ users: 2500, seed: 11 });
        token = await clientCredentialsToken(org);
    });

    afterAll(async () => {
        await org.stop();
    });

    const composite = (body: unknown) => rest(org, token, v('/composite'), { method: 'POST', body });

    describe('in the local org', () => {
        it('when two queries are sent together, then each answers its own page and the request counts as one API call', async () => {
            const before = org.apiUsage().used;

            const res = await composite({
                compositeRequest: [
                    {
                        method: 'GET',
                        url: queryUrl(
                            'SELECT Id, Username FROM User WHERE IsActive = true ORDER BY Id LIMIT 3'
                        ),
                        referenceId: 'users'
                    },
                    {
                        method: 'GET',
                        url: queryUrl('SELECT COUNT() FROM User', 'queryAll'),
                        referenceId: 'all_users'
                    }
                ]
            });

            expect(res.status).toBe(200);
            expect(org.apiUsage().used - before).toBe(1);
            const [users, count] = (res.body as { compositeResponse: SubrequestResult[] }).compositeResponse;
            expect(users).toMatchObject({ httpStatusCode: 200, referenceId: 'users', httpHeaders: {} });
            expect(users.body).toMatchObject({ totalSize: 3, done: true });
            expect((users.body as { records: unknown[] }).records).toHaveLength(3);
            expect(count).toMatchObject({ httpStatusCode: 200, referenceId: 'all_users' });
            const direct = await rest(org, token, queryUrl('SELECT COUNT() FROM User', 'queryAll'));
            expect((count.body as { totalSize: number }).totalSize).toBe(
                (direct.body as { totalSize: number }).totalSize
            );
        });

        it('when one query is malformed and allOrNone is false, then it alone answers 400 with its error and the others run', async () => {
            const res = await composite({
                allOrNone: false,
                compositeRequest: [
                    { method: 'GET', url: queryUrl('SELECT Nope__c FROM User'), referenceId: 'bad' },
                    { method: 'GET', url: queryUrl('SELECT Id FROM User LIMIT 1'), referenceId: 'good' }
                ]
            });

            expect(res.status).toBe(200);
            const [bad, good] = (res.body as { compositeResponse: SubrequestResult[] }).compositeResponse;
            expect(bad.httpStatusCode).toBe(400);
            expect(bad.referenceId).toBe('bad');
            expect(bad.body).toEqual([
                expect.objectContaining({
                    errorCode: 'INVALID_FIELD',
                    message: expect.stringContaining('Nope__c')
                })
            ]);
            expect(good).toMatchObject({ httpStatusCode: 200, body: { totalSize: 1 } });
        });

        it('when one query is malformed and allOrNone is true, then every other subrequest answers 400 PROCESSING_HALTED', async () => {
            const res = await composite({
                allOrNone: true,
                compositeRequest: [
                    { method: 'GET', url: queryUrl('SELECT Id FROM User LIMIT 1'), referenceId: 'before' },
                    { method: 'GET', url: queryUrl('SELECT FROM User'), referenceId: 'bad' },
                    { method: 'GET', url: queryUrl('SELECT Id FROM User LIMIT 1'), referenceId: 'after' }
                ]
            });

            const results = (res.body as { compositeResponse: SubrequestResult[] }).compositeResponse;
            expect(results.map((r) => r.httpStatusCode)).toEqual([400, 400, 400]);
            expect((results[1].body as [{ errorCode: string }])[0].errorCode).toBe('MALFORMED_QUERY');
            for (const halted of [results[0], results[2]])
                expect(halted.body).toEqual([expect.objectContaining({ errorCode: 'PROCESSING_HALTED' })]);
        });

        it('when a subrequest refers to an earlier one, then the value is put in; a reference to a failed one halts it', async () => {
            const res = await composite({
                compositeRequest: [
                    {
                        method: 'GET',
                        url: queryUrl('SELECT Id FROM User WHERE IsActive = true ORDER BY Id LIMIT 1'),
                        referenceId: 'first'
                    },
                    {
                        method: 'GET',
                        // A reference stands in the url as written: not URL-encoded.
                        url: withReference(
                            'SELECT Id, Username FROM User WHERE Id = ',
                            '@{first.records[0].Id}'
                        ),
                        referenceId: 'same'
                    },
                    { method: 'GET', url: queryUrl('SELECT Bad__c FROM User'), referenceId: 'broken' },
                    {
                        method: 'GET',
                        url: withReference('SELECT Id FROM User WHERE Id = ', '@{broken.records[0].Id}'),
                        referenceId: 'dependent'
                    }
                ]
            });

            const [first, same, , dependent] = (res.body as { compositeResponse: SubrequestResult[] })
                .compositeResponse;
            const id = (first.body as { records: [{ Id: string }] }).records[0].Id;
            expect(same.httpStatusCode).toBe(200);
            expect((same.body as { records: [{ Id: string }] }).records[0].Id).toBe(id);
            expect(dependent.httpStatusCode).toBe(400);
            expect(dependent.body).toEqual([expect.objectContaining({ errorCode: 'PROCESSING_HALTED' })]);
        });

        it('when a query has more rows than a page, then its subrequest answers nextRecordsUrl, which a later composite request reads', async () => {
            const first = await composite({
                compositeRequest: [
                    { method: 'GET', url: queryUrl('SELECT Id FROM User ORDER BY Id'), referenceId: 'page1' }
                ]
            });
            const page1 = (first.body as { compositeResponse: SubrequestResult[] }).compositeResponse[0]
                .body as { totalSize: number; done: boolean; nextRecordsUrl: string; records: unknown[] };
            expect(page1.done).toBe(false);
            expect(page1.records).toHaveLength(2000);
            expect(page1.nextRecordsUrl).toMatch(/^\/services\/data\/v62\.0\/query\/01g\w{15}-2000$/);

            const second = await composite({
                compositeRequest: [{ method: 'GET', url: page1.nextRecordsUrl, referenceId: 'page2' }]
            });

            const page2 = (second.body as { compositeResponse: SubrequestResult[] }).compositeResponse[0]
                .body as { done: boolean; records: unknown[] };
            expect(page2.done).toBe(true);
            expect(page2.records).toHaveLength(page1.totalSize - 2000);
        });

        it.each([
            [
                'six query subrequests',
                Array.from({ length: 6 }, (_, i) => ({
                    method: 'GET',
                    url: queryUrl('SELECT Id FROM User LIMIT 1'),
                    referenceId: `q${i}`
                })),
                'LIMIT_EXCEEDED',
                /at most 5 query/
            ],
            [
                '26 subrequests',
                Array.from({ length: 26 }, (_, i) => ({
                    method: 'GET',
                    url: v(`/sobjects/User/005${i}`),
                    referenceId: `r${i}`
                })),
                'LIMIT_EXCEEDED',
                /at most 25 subrequests/
            ],
            [
                'a referenceId with a hyphen',
                [{ method: 'GET', url: queryUrl('SELECT Id FROM User LIMIT 1'), referenceId: 'not-valid' }],
                'JSON_PARSER_ERROR',
                /^Provided referenceId \('not-valid'\) must start with a letter or a number, and it can contain only letters, numbers and underscores/
            ],
            [
                'a referenceId twice',
                [
                    { method: 'GET', url: queryUrl('SELECT Id FROM User LIMIT 1'), referenceId: 'twice' },
                    { method: 'GET', url: queryUrl('SELECT Id FROM User LIMIT 1'), referenceId: 'twice' }
                ],
                'INVALID_INPUT',
                /Duplicate referenceId/
            ]
        ])(
            'when the request holds %s, then it is refused whole with 400 %s',
            async (_label, subs, code, message) => {
                const res = await composite({ compositeRequest: subs });

                expect(res.status).toBe(400);
                expect(res.body).toEqual([{ errorCode: code, message: expect.stringMatching(message) }]);
            }
        );

        it('when the daily API limit is spent, then the composite request is refused with REQUEST_LIMIT_EXCEEDED', async () => {
            const limited = await startLocalOrg({ users: 10, dailyApiLimit: 1 });
            try {
                const t = await clientCredentialsToken(limited);
                await rest(limited, t, v('/limits'));

                const refused = await rest(limited, t, v('/composite'), {
                    method: 'POST',
                    body: {
                        compositeRequest: [
                            { method: 'GET', url: queryUrl('SELECT Id FROM User'), referenceId: 'a' }
                        ]
                    }
                });

                expect(refused.status).toBe(403);
                expect(refused.body).toEqual([
                    { message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }
                ]);
            } finally {
                await limited.stop();
            }
        });
    });

    describe('as the REST API Developer Guide documents it', () => {
        /** The raw answer, headers included (rest() parses the body but a header is the point here). */
        const rawComposite = async (body: unknown, version = '62.0') => {
            const res = await fetch(`${org.url}/services/data/v${version}/composite`, {
                method: 'POST',
                headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
                body: JSON.stringify(body)
            });
            const text = await res.text();
            return { status: res.status, headers: res.headers, body: JSON.parse(text) as unknown };
        };
        const results = (body: unknown) =>
            (body as { compositeResponse: SubrequestResult[] }).compositeResponse;
        const setNamed = async (name: string) =>
            (await rest(org, token, queryUrl(`SELECT Id, Name FROM Condition_Set__c WHERE Name = '${name}'`)))
                .body as { totalSize: number; records: Array<{ Id: string }> };

        it('"Composite Subrequest Result": neither the top-level answer nor a subrequest carries Content-Length', async () => {
            const ok = await rawComposite({
                compositeRequest: [
                    { method: 'GET', url: queryUrl('SELECT Id FROM User LIMIT 2'), referenceId: 'users' },
                    {
                        method: 'POST',
                        url: v('/sobjects/Condition_Set__c'),
                        referenceId: 'made',
                        body: { Name: 'CL-1' }
                    }
                ]
            });
            const refused = await rawComposite({ compositeRequest: [{ method: 'GET', url: v('/limits') }] });

            expect(ok.status).toBe(200);
            expect(ok.headers.get('content-length')).toBeNull();
            expect(ok.headers.get('content-type')).toMatch(/^application\/json/);
            for (const result of results(ok.body)) {
                expect(Object.keys(result.httpHeaders).map((h) => h.toLowerCase())).not.toContain(
                    'content-length'
                );
            }
            expect(refused.status).toBe(400);
            expect(refused.headers.get('content-length')).toBeNull();
        });

        it('"Send Multiple Requests Using Composite": sObject resources run as subrequests — create, read a row by id, update, upsert by external id, delete', async () => {
            const user = (
                await rest(org, token, queryUrl('SELECT Id, Username FROM User ORDER BY Id LIMIT 1'))
            ).body as { records: [{ Id: string; Username: string }] };
            const userId = user.records[0].Id;

            const res = await rawComposite({
                compositeRequest: [
                    {
                        method: 'GET',
                        url: v(`/sobjects/User/${userId}?fields=Id,Username`),
                        referenceId: 'user'
                    },
                    {
                        method: 'POST',
                        url: v('/sobjects/Condition_Set__c'),
                        referenceId: 'created',
                        body: { Name: 'Composite rows' }
                    },
                    {
                        method: 'PATCH',
                        url: v('/sobjects/Condition_Set__c/@{created.id}'),
                        referenceId: 'renamed',
                        body: { Name: 'Composite rows renamed' }
                    },
                    {
                        method: 'GET',
                        url: v('/sobjects/Condition_Set__c/@{created.id}?fields=Name'),
                        referenceId: 'reread'
                    },
                    {
                        method: 'DELETE',
                        url: v('/sobjects/Condition_Set__c/@{created.id}'),
                        referenceId: 'gone'
                    },
                    { method: 'GET', url: v('/sobjects/User/describe'), referenceId: 'describe' },
                    {
                        method: 'PATCH',
                        url: v('/sobjects/Rollcall_Lease__c/Key__c/composite-upsert'),
                        referenceId: 'upserted',
                        body: { Holder__c: 'composite', Epoch__c: 1 }
                    },
                    {
                        method: 'GET',
                        url: v('/sobjects/Rollcall_Lease__c/Key__c/composite-upsert'),
                        referenceId: 'byKey'
                    }
                ]
            });

            const [read, created, renamed, reread, gone, describe, upserted, byKey] = results(res.body);
            expect(read).toMatchObject({
                httpStatusCode: 200,
                body: { attributes: { type: 'User' }, Id: userId, Username: user.records[0].Username }
            });
            expect(created.httpStatusCode).toBe(201);
            const id = (created.body as { id: string }).id;
            expect(created.body).toEqual({
                id: expect.stringMatching(/^\w{18}$/),
                success: true,
                errors: []
            });
            expect(created.httpHeaders).toEqual({
                Location: `/services/data/v62.0/sobjects/Condition_Set__c/${id}`
            });
            expect(renamed).toMatchObject({ httpStatusCode: 204, body: null });
            expect(reread).toMatchObject({ httpStatusCode: 200, body: { Name: 'Composite rows renamed' } });
            expect(gone).toMatchObject({ httpStatusCode: 204, body: null });
            expect(describe).toMatchObject({ httpStatusCode: 200, body: { name: 'User' } });
            expect(upserted).toMatchObject({ httpStatusCode: 201, body: { success: true, created: true } });
            expect(byKey).toMatchObject({
                httpStatusCode: 200,
                body: { Key__c: 'composite-upsert', Holder__c: 'composite' }
            });
            expect((await setNamed('Composite rows renamed')).totalSize).toBe(0);
        });

        it('"Send Multiple Requests Using Composite": sObject Collections run as a subrequest; a resource the guide does not list is refused loudly', async () => {
            const res = await rawComposite({
                compositeRequest: [
                    {
                        method: 'POST',
                        url: v('/composite/sobjects'),
                        referenceId: 'collection',
                        body: {
                            allOrNone: false,
                            records: [
                                { attributes: { type: 'Condition_Set__c' }, Name: 'Collection one' },
                                { attributes: { type: 'Condition_Set__c' }, Name: 'Collection two' }
                            ]
                        }
                    },
                    { method: 'GET', url: v('/limits'), referenceId: 'limits' },
                    { method: 'POST', url: queryUrl('SELECT Id FROM User'), referenceId: 'posted' }
                ]
            });

            const [collection, limits, posted] = results(res.body);
            expect(collection).toMatchObject({
                httpStatusCode: 200,
                body: [{ success: true }, { success: true }]
            });
            expect((await setNamed('Collection two')).totalSize).toBe(1);
            expect(limits).toMatchObject({
                httpStatusCode: 400,
                body: [expect.objectContaining({ errorCode: 'NOT_SUPPORTED_BY_LOCAL_ORG' })]
            });
            expect(posted).toMatchObject({
                httpStatusCode: 405,
                body: [expect.objectContaining({ errorCode: 'METHOD_NOT_ALLOWED' })]
            });
        });

        it('"Composite Request Body": with allOrNone, a failing subrequest rolls back what the earlier ones wrote', async () => {
            const res = await rawComposite({
                allOrNone: true,
                compositeRequest: [
                    {
                        method: 'POST',
                        url: v('/sobjects/Condition_Set__c'),
                        referenceId: 'kept',
                        body: { Name: 'Rolled back' }
                    },
                    {
                        method: 'POST',
                        url: v('/sobjects/Condition_Set__c'),
                        referenceId: 'bad',
                        body: { Nope__c: 1 }
                    }
                ]
            });

            expect(results(res.body).map((r) => r.httpStatusCode)).toEqual([400, 400]);
            expect(results(res.body)[0].body).toEqual([
                expect.objectContaining({ errorCode: 'PROCESSING_HALTED' })
            ]);
            expect(results(res.body)[1].body).toEqual([
                expect.objectContaining({ errorCode: 'INVALID_FIELD' })
            ]);
            expect((await setNamed('Rolled back')).totalSize).toBe(0);
        });

        it('"Handle Errors with Composite Resources": a subrequest without referenceId refuses the request with 400 JSON_PARSER_ERROR', async () => {
            const res = await rawComposite({
                compositeRequest: [
                    {
                        method: 'POST',
                        url: v('/sobjects/Condition_Set__c'),
                        referenceId: 'a',
                        body: { Name: 'Never made' }
                    },
                    { method: 'GET', url: queryUrl('SELECT Id FROM User LIMIT 1') }
                ]
            });

            expect(res.status).toBe(400);
            expect(res.body).toEqual([
                { message: "'referenceId' is a required field.", errorCode: 'JSON_PARSER_ERROR' }
            ]);
            expect((await setNamed('Never made')).totalSize).toBe(0);
        });

        it('"Composite Subrequest Result": from v52.0 a referenceId that does not start with a letter or a number fails the whole request; before, it ran', async () => {
            const request = (name: string) => ({
                compositeRequest: [
                    {
                        method: 'POST',
                        url: v('/sobjects/Condition_Set__c'),
                        referenceId: 'first',
                        body: { Name: name }
                    },
                    {
                        method: 'GET',
                        url: queryUrl('SELECT Id FROM User LIMIT 1'),
                        referenceId: '_underscored'
                    },
                    {
                        method: 'GET',
                        url: withReference(
                            'SELECT Id FROM User WHERE Id = ',
                            '@{_underscored.records[0].Id}'
                        ),
                        referenceId: 'dependent'
                    }
                ]
            });

            const strict = await rawComposite(request('Strict reference'), '52.0');
            const legacy = await rawComposite(request('Legacy reference'), '51.0');

            expect(strict.status).toBe(400);
            expect(strict.body).toEqual([
                {
                    errorCode: 'JSON_PARSER_ERROR',
                    message:
                        "Provided referenceId ('_underscored') must start with a letter or a number, and it can contain only letters, numbers and underscores ('_')."
                }
            ]);
            expect((await setNamed('Strict reference')).totalSize).toBe(0);
            expect(legacy.status).toBe(200);
            expect(results(legacy.body).map((r) => r.httpStatusCode)).toEqual([201, 200, 400]);
            expect(results(legacy.body)[2].body).toEqual([
                expect.objectContaining({ errorCode: 'PROCESSING_HALTED' })
            ]);
            expect((await setNamed('Legacy reference')).totalSize).toBe(1);
        });

        it('"Get a List of Composite Resources": GET …/composite lists tree, batch, sobjects and graph', async () => {
            const res = await rest(org, token, v('/composite'));

            expect(res.status).toBe(200);
            expect(res.body).toEqual({
                tree: '/services/data/v62.0/composite/tree',
                batch: '/services/data/v62.0/composite/batch',
                sobjects: '/services/data/v62.0/composite/sobjects',
                graph: '/services/data/v62.0/composite/graph'
            });
        });
    });

    describe('read by the gateway (queryTogether)', () => {
        it('when three queries are read together and one is refused, then one API call answers all three, the refused one rejecting alone', async () => {
            const org$ = gateway(org);
            await org$.query('SELECT Id FROM User LIMIT 1'); // signs in
            const before = { gateway: org$.apiCalls(), org: org.apiUsage().used };

            const [users, bad, sets] = await org$.queryTogether([
                { soql: 'SELECT Id FROM User WHERE IsActive = true ORDER BY Id LIMIT 5' },
                { soql: 'SELECT Nope__c FROM User' },
                { soql: 'SELECT Id, Name FROM Condition_Set__c', scanAll: true }
            ]);

            expect(org$.apiCalls() - before.gateway).toBe(1);
            expect(org.apiUsage().used - before.org).toBe(1);
            expect(users.status === 'fulfilled' && users.value).toHaveLength(5);
            expect(sets.status).toBe('fulfilled');
            expect(bad.status).toBe('rejected');
            const reason = (bad as PromiseRejectedResult).reason as AppError;
            expect(reason).toBeInstanceOf(AppError);
            expect(reason.code).toBe('ORG_REQUEST_FAILED');
            expect(reason.message).toMatch(/INVALID_FIELD: .*Nope__c/);
        });

        it('when a query has more rows than a page, then its further pages are read by queryMore, a call each', async () => {
            const org$ = gateway(org);
            await org$.query('SELECT Id FROM User LIMIT 1');
            const expected = await org$.query<{ Id: string }>('SELECT Id FROM User ORDER BY Id');
            const before = org$.apiCalls();

            const [all, one] = await org$.queryTogether([
                { soql: 'SELECT Id FROM User ORDER BY Id' },
                { soql: 'SELECT Id FROM User ORDER BY Id LIMIT 1' }
            ]);

            expect(org$.apiCalls() - before).toBe(1 + Math.ceil(expected.length / 2000) - 1);
            expect(all.status === 'fulfilled' && all.value.map((r) => r.Id)).toEqual(
                expected.map((r) => r.Id)
            );
            expect(one.status === 'fulfilled' && one.value).toHaveLength(1);
        });

        it('when more than five queries are read together, then one composite request per five', async () => {
            const org$ = gateway(org);
            await org$.query('SELECT Id FROM User LIMIT 1');
            const before = org.apiUsage().used;

            const outcomes = await org$.queryTogether(
                Array.from({ length: 7 }, (_, i) => ({
                    soql: `SELECT Id FROM User ORDER BY Id LIMIT ${i + 1}`
                }))
            );

            expect(org.apiUsage().used - before).toBe(2);
            expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value.length : -1))).toEqual([
                1, 2, 3, 4, 5, 6, 7
            ]);
        });

        it('when the session expired before the composite request, then the gateway signs in again and the reads succeed', async () => {
            const org$ = gateway(org);
            await org$.query('SELECT Id FROM User LIMIT 1');
            org.faults.expireAllSessions();
            const before = org.apiUsage().used;

            const outcomes = await org$.queryTogether([
                { soql: 'SELECT Id FROM User ORDER BY Id LIMIT 2' },
                { soql: 'SELECT Id FROM Condition_Set__c' }
            ]);

            expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled']);
            expect(outcomes[0].status === 'fulfilled' && outcomes[0].value).toHaveLength(2);
            // The refused request never reached the API counter: one call for the series.
            expect(org.apiUsage().used - before).toBe(1);
        });

        it('when the session expires between the composite request and a further page, then queryMore signs in again and the page is read', async () => {
            const proxy = await expiringProxy(org);
            try {
                const org$ = gateway(org, 3, proxy.url);
                const expected = await org$.query<{ Id: string }>('SELECT Id FROM User ORDER BY Id');
                expect(expected.length).toBeGreaterThan(2000);
                const before = org$.apiCalls();

                const [all, one] = await org$.queryTogether([
                    { soql: 'SELECT Id FROM User ORDER BY Id' },
                    { soql: 'SELECT Id FROM User ORDER BY Id LIMIT 1' }
                ]);

                expect(proxy.expiredAfter).toEqual(['POST /services/data/v62.0/composite']);
                // The composite request, the further pages, and the first of them once more after the 401.
                expect(org$.apiCalls() - before).toBe(1 + (Math.ceil(expected.length / 2000) - 1) + 1);
                expect(all.status === 'fulfilled' && all.value.map((r) => r.Id)).toEqual(
                    expected.map((r) => r.Id)
                );
                expect(one.status).toBe('fulfilled');
            } finally {
                await proxy.close();
            }
        });

        it('when the org fails the composite request once (503), then it is sent again and answers', async () => {
            const org$ = gateway(org);
            await org$.query('SELECT Id FROM User LIMIT 1');
            org.faults.failNext(1, 503);

            const outcomes = await org$.queryTogether([
                { soql: 'SELECT Id FROM User ORDER BY Id LIMIT 2' },
                { soql: 'SELECT Id FROM User ORDER BY Id LIMIT 3' }
            ]);

            expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value.length : -1))).toEqual([2, 3]);
        });

        it('when the daily API limit is spent, then every read rejects with ORG_LIMIT_EXCEEDED', async () => {
            const limited = await startLocalOrg({ users: 10, dailyApiLimit: 1 });
            try {
                const org$ = gateway(limited, 1);
                await org$.query('SELECT Id FROM User LIMIT 1');

                const outcomes = await org$.queryTogether([
                    { soql: 'SELECT Id FROM User' },
                    { soql: 'SELECT Id FROM Condition_Set__c' }
                ]);

                for (const outcome of outcomes) {
                    expect(outcome.status).toBe('rejected');
                    expect(((outcome as PromiseRejectedResult).reason as AppError).code).toBe(
                        'ORG_LIMIT_EXCEEDED'
                    );
                }
            } finally {
                await limited.stop();
            }
        });
    });
});
