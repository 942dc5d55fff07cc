/**
 * jsforce, the real client, against the local org: sign-in, queries across pages, describe, CRUD,
 * upsert, collections and session expiry — as the provisioning service will use them.
 */
import type { Connection } from 'jsforce';
import { startLocalOrg, type LocalOrg } from '../../service/src/local-org';
import {
    clientCredentialsConnection,
    clientCredentialsToken,
    JWT_GRANT,
    jwtAssertion,
    jwtConnection,
    rest,
    v
} from './helpers';
import { Connection as JsforceConnection } from 'jsforce';

type Rec = Record<string, unknown> & { Id: string };

describe('local org with jsforce', () => {
    let org: LocalOrg;
    let conn: Connection;

    beforeAll(async () => {
        org = await startLocalOrg({ users: 5000, seed: 7 });
        conn = await jwtConnection(org);
    });

    afterAll(async () => {
        await org.stop();
    });

    describe('sign-in', () => {
        it('when the JWT assertion is signed with the connected app key, then the integration user is signed in', async () => {
            const c = new JsforceConnection({ loginUrl: org.url, version: '62.0' });

            const info = await c.authorize({ grant_type: JWT_GRANT, assertion: jwtAssertion(org) });

            expect(info.id).toBe(org.ids.integrationUserId);
            expect(info.organizationId).toBe(org.ids.orgId);
            expect(c.instanceUrl).toBe(org.url);
        });

        it.each([
            ['another key', { iss: undefined }, 'invalid_grant', 'invalid assertion', true],
            [
                'an unknown consumer key',
                { iss: '3MVG9unknown' },
                'invalid_client_id',
                'client identifier invalid',
                false
            ],
            [
                'another audience',
                { aud: 'https://example.com' },
                'invalid_grant',
                'audience is invalid',
                false
            ],
            [
                'an expired assertion',
                { exp: Math.floor(Date.now() / 1000) - 60 },
                'invalid_grant',
                'expired assertion',
                false
            ],
            [
                'another user',
                { sub: 'someone@else.example' },
                'invalid_grant',
                "user hasn't approved this consumer",
                false
            ]
        ])(
            'when the assertion has %s, then the org answers %s',
            async (_label, overrides, error, description, otherKey) => {
                const { generateKeyPairSync } = await import('node:crypto');
                const key = otherKey
                    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
                          .privateKey.export({ type: 'pkcs8', format: 'pem' })
                          .toString()
                    : undefined;
                const claims = Object.fromEntries(
                    Object.entries(overrides).filter(([, x]) => x !== undefined)
                );

                const res = await fetch(`${org.url}/services/oauth2/token`, {
                    method: 'POST',
                    headers: { 'content-type': 'application/x-www-form-urlencoded' },
                    body: new URLSearchParams({
                        grant_type: JWT_GRANT,
                        assertion: jwtAssertion(org, claims, key)
                    })
                });

                expect(res.status).toBe(400);
                expect(await res.json()).toEqual({ error, error_description: description });
            }
        );

        it('when the client credentials are right, then jsforce gets a session; when wrong, invalid_client', async () => {
            const ok = await clientCredentialsConnection(org);
            const bad = new JsforceConnection({
                loginUrl: org.url,
                version: '62.0',
                oauth2: { clientId: org.clientId, clientSecret: 'wrong', loginUrl: org.url }
            });

            expect(ok.accessToken).toBeTruthy();
            await expect(bad.authorize({ grant_type: 'client_credentials' })).rejects.toMatchObject({
                name: 'invalid_client'
            });
        });

        it('when every session expires, then jsforce signs in again and the call succeeds', async () => {
            const c = await jwtConnection(org);
            const before = c.accessToken;
            org.faults.expireAllSessions();

            const result = await c.query<{ Name: string }>('SELECT Name FROM Organization');

            expect(result.records[0].Name).toBe('Rollcall Demo Org');
            expect(c.accessToken).not.toBe(before);
        });

        it('when the session outlives its timeout, then the org answers INVALID_SESSION_ID', async () => {
            const short = await startLocalOrg({ users: 50, sessionTtlSeconds: 0.2 });
            try {
                const token = await clientCredentialsToken(short);
                await new Promise((r) => setTimeout(r, 300));

                const res = await rest(short, token, v('/query?q=SELECT+Id+FROM+Organization'));

                expect(res.status).toBe(401);
                expect(res.body).toEqual([
                    { message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }
                ]);
            } finally {
                await short.stop();
            }
        });
    });

    describe('query', () => {
        it('when 5,000 users are queried, then they come in pages of 2,000, 2,000 and 1,000', async () => {
            const first = await conn.query<Rec>('SELECT Id FROM User');
            const second = await conn.queryMore<Rec>(first.nextRecordsUrl!);
            const third = await conn.queryMore<Rec>(second.nextRecordsUrl!);

            expect([first.records.length, second.records.length, third.records.length]).toEqual([
                2000, 2000, 1000
            ]);
            expect(first.totalSize).toBe(5000);
            expect(first.done).toBe(false);
            expect(first.nextRecordsUrl).toMatch(/\/services\/data\/v62\.0\/query\/01g[A-Za-z0-9]{15}-2000$/);
            expect(third.done).toBe(true);
            expect(third.nextRecordsUrl).toBeUndefined();
            expect(
                new Set([...first.records, ...second.records, ...third.records].map((r) => r.Id)).size
            ).toBe(5000);
        });

        it('when autoFetch is on, then jsforce follows nextRecordsUrl to the end', async () => {
            const { records } = await conn.query<Rec>(
                'SELECT Id, Email, Profile.Name, Manager.Email FROM User WHERE IsActive = true ORDER BY CreatedDate',
                { autoFetch: true, maxFetch: 10000 }
            );
            const count = await conn.query('SELECT COUNT() FROM User WHERE IsActive = true');

            expect(records.length).toBe(count.totalSize);
            expect(records.length).toBeGreaterThan(4000);
        });

        it('when a batch size is asked for, then pages have that size', async () => {
            const page = await conn.request<{ records: unknown[]; nextRecordsUrl: string }>({
                method: 'GET',
                url: `/services/data/v62.0/query?q=${encodeURIComponent('SELECT Id FROM User')}`,
                headers: { 'Sforce-Query-Options': 'batchSize=500' }
            });

            expect(page.records).toHaveLength(500);
            expect(page.nextRecordsUrl).toMatch(/-500$/);
        });

        it('when records come back, then they carry attributes, parent objects and Salesforce datetimes', async () => {
            const { records } = await conn.query<Rec>(
                "SELECT Id, Name, CreatedDate, Profile.Name, Manager.Manager.Name FROM User WHERE Title = 'Account Executive' AND ManagerId != null LIMIT 1"
            );
            const r = records[0];

            expect(r.attributes).toEqual({ type: 'User', url: `/services/data/v62.0/sobjects/User/${r.Id}` });
            expect(r.CreatedDate).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$/);
            expect(r.Profile).toEqual({
                attributes: { type: 'Profile', url: expect.stringMatching(/\/sobjects\/Profile\/00e/) },
                Name: 'Sales User'
            });
            expect(r.Manager).toMatchObject({
                attributes: { type: 'User' },
                Manager: { attributes: { type: 'User' } }
            });
        });

        it('when the admin check query runs, then only Rollcall admins match', async () => {
            const check = (id: string) =>
                conn.query(
                    `SELECT AssigneeId FROM PermissionSetAssignment WHERE AssigneeId = '${id}' AND PermissionSet.Name = 'Rollcall_Admin'`
                );

            expect((await check(org.ids.adminUserIds[0])).totalSize).toBe(1);
            expect((await check(org.ids.integrationUserId)).totalSize).toBe(0);
        });

        it('when the custom permission path is queried, then it reaches Rollcall_Admin through SetupEntityAccess', async () => {
            const result = await conn.query<Rec>(
                `SELECT Id FROM SetupEntityAccess WHERE SetupEntityId IN (SELECT Id FROM CustomPermission WHERE DeveloperName = 'Rollcall_Admin') AND ParentId IN (SELECT PermissionSetId FROM PermissionSetAssignment WHERE AssigneeId = '${org.ids.adminUserIds[1]}')`
            );

            expect(result.totalSize).toBe(1);
        });

        it('when the org and its settings are read, then they are the demo org defaults', async () => {
            const orgRow = await conn.query<Rec>('SELECT TimeZoneSidKey, Name FROM Organization');
            const settings = await conn.query<Rec>(
                `SELECT Schedule_Enabled__c, Schedule_Frequency__c, Schedule_Time__c FROM Rollcall_Settings__c WHERE SetupOwnerId = '${org.ids.orgId}'`
            );

            expect(orgRow.records[0]).toMatchObject({
                TimeZoneSidKey: 'America/Los_Angeles',
                Name: 'Rollcall Demo Org'
            });
            expect(settings.records).toEqual([
                expect.objectContaining({
                    Schedule_Enabled__c: false,
                    Schedule_Frequency__c: 'Daily',
                    Schedule_Time__c: '07:00'
                })
            ]);
        });

        it('when an unknown field is selected, then INVALID_FIELD in Salesforce format', async () => {
            await expect(conn.query('SELECT Id, Departmant FROM User')).rejects.toMatchObject({
                errorCode: 'INVALID_FIELD',
                message:
                    "\nSELECT Id, Departmant FROM User\n           ^\nERROR at Row:1:Column:12\nNo such column 'Departmant' on entity 'User'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."
            });
        });

        it('when the syntax is wrong, then MALFORMED_QUERY in Salesforce format', async () => {
            await expect(conn.query("SELECT Id FROM User WHERE Department = 'x' AND")).rejects.toMatchObject({
                errorCode: 'MALFORMED_QUERY',
                message: expect.stringMatching(
                    /^\nSELECT Id FROM User WHERE Department = 'x' AND\n\s+\^\nERROR at Row:1:Column:\d+\nunexpected token: /
                )
            });
        });

        it('when a locator is unknown, then INVALID_QUERY_LOCATOR', async () => {
            await expect(
                conn.queryMore('/services/data/v62.0/query/01g5g0000000zzzAAA-2000')
            ).rejects.toMatchObject({
                errorCode: 'INVALID_QUERY_LOCATOR'
            });
        });

        it('when a locator has been idle for more than 15 minutes, then it has expired: INVALID_QUERY_LOCATOR', async () => {
            const first = await conn.query<Rec>('SELECT Id FROM User');
            const realNow = Date.now();
            const clock = jest.spyOn(Date, 'now').mockReturnValue(realNow + 16 * 60_000);
            try {
                await expect(conn.queryMore(first.nextRecordsUrl!)).rejects.toMatchObject({
                    errorCode: 'INVALID_QUERY_LOCATOR',
                    message: 'invalid query locator'
                });
            } finally {
                clock.mockRestore();
            }
        });

        it("when a date literal is used, then its days are those of the querying user's time zone", async () => {
            // Kiritimati is UTC+14, Pago Pago UTC-11: find an instant that is "today" in exactly one.
            const dayIn = (ms: number, timeZone: string): string =>
                new Intl.DateTimeFormat('en-CA', { timeZone }).format(new Date(ms));
            const now = Date.now();
            const zones = ['Pacific/Kiritimati', 'Pacific/Pago_Pago'];
            let instant = now;
            for (let minutes = 30; minutes < 48 * 60; minutes += 10) {
                const candidate = now - minutes * 60_000;
                const today = zones.map((zone) => dayIn(candidate, zone) === dayIn(now, zone));
                if (today[0] !== today[1]) {
                    instant = candidate;
                    break;
                }
            }
            const created = (await conn.sobject('Provisioning_Run__c').create({
                Status__c: 'Completed',
                Trigger__c: 'Manual',
                Started_At__c: new Date(instant).toISOString()
            })) as { id: string };
            const users = conn.sobject('User');
            const me = org.ids.integrationUserId;
            try {
                for (const zone of zones) {
                    await users.update({ Id: me, TimeZoneSidKey: zone });

                    const found = await conn.query<Rec>(
                        `SELECT Id FROM Provisioning_Run__c WHERE Id = '${created.id}' AND Started_At__c = TODAY`
                    );

                    // (Should the zone's day change while the test runs, either answer is right.)
                    const expected = new Set<number>(
                        [now, Date.now()].map((at) => (dayIn(instant, zone) === dayIn(at, zone) ? 1 : 0))
                    );
                    expect([zone, expected.has(found.totalSize)]).toEqual([zone, true]);
                }
            } finally {
                await users.update({ Id: me, TimeZoneSidKey: 'America/Los_Angeles' });
                await conn.sobject('Provisioning_Run__c').destroy(created.id);
            }
        });
    });

    describe('describe', () => {
        it('when User is described, then every field has the full REST describe keys', async () => {
            const d = await conn.sobject('User').describe();

            expect(d.name).toBe('User');
            expect(d.keyPrefix).toBe('005');
            const manager = d.fields.find((f) => f.name === 'ManagerId');
            expect(manager).toMatchObject({
                type: 'reference',
                referenceTo: ['User'],
                relationshipName: 'Manager'
            });
        });

        it('when a custom object is described, then its fields come from the force-app metadata', async () => {
            const d = await conn.sobject('Calendar_Authorization__c').describe();
            const byName = new Map(d.fields.map((f) => [f.name, f]));

            expect(d.custom).toBe(true);
            expect(d.keyPrefix).toMatch(/^a0/);
            expect(byName.get('Key__c')).toMatchObject({
                externalId: true,
                unique: true,
                caseSensitive: true,
                length: 120
            });
            expect(byName.get('Status__c')?.picklistValues?.map((p) => p.value)).toEqual([
                'Not Invited',
                'Invited',
                'Authorized',
                'Expired',
                'Revoked'
            ]);
            expect(byName.get('Name')).toMatchObject({ autoNumber: true, createable: false });
            expect(byName.get('User__c')).toMatchObject({
                relationshipName: 'User__r',
                referenceTo: ['User']
            });
        });

        it('when the global describe is read, then it lists the custom objects', async () => {
            const g = await conn.describeGlobal();

            expect(g.sobjects.map((s) => s.name)).toEqual(
                expect.arrayContaining([
                    'User',
                    'Condition_Set__c',
                    'Provisioning_Run__c',
                    'PermissionSetAssignment'
                ])
            );
        });
    });

    describe('CRUD and upsert', () => {
        it('when a run is created, read, updated and deleted, then each step behaves as on a real org', async () => {
            const created = await conn
                .sobject('Provisioning_Run__c')
                .create({ Status__c: 'Previewed', Trigger__c: 'Manual' });
            expect(created).toEqual({ id: expect.stringMatching(/^a0/), success: true, errors: [] });
            const id = (created as { id: string }).id;

            const read = (await conn.sobject('Provisioning_Run__c').retrieve(id)) as Rec;
            expect(read).toMatchObject({
                Status__c: 'Previewed',
                Name: expect.stringMatching(/^RUN-\d{6}$/),
                IsDeleted: false
            });

            await conn
                .sobject('Provisioning_Run__c')
                .update({ Id: id, Status__c: 'Running', Heartbeat__c: '2024-01-02T03:04:05Z' });
            const after = (await conn.sobject('Provisioning_Run__c').retrieve(id)) as Rec;
            expect(after.Heartbeat__c).toBe('2024-01-02T03:04:05.000+0000');

            await conn.sobject('Provisioning_Run__c').destroy(id);
            await expect(conn.sobject('Provisioning_Run__c').retrieve(id)).rejects.toMatchObject({
                errorCode: 'ENTITY_IS_DELETED'
            });
            const runs = await conn
                .sobject('Provisioning_Run__c')
                .retrieve([id, 'a0D5g0000000zzzAAA'], { fields: ['Id'] });
            expect(runs).toEqual([null, null]);
        });

        it('when a record breaks the metadata, then the error names the rule and the field', async () => {
            await expect(
                conn.sobject('Provisioning_Run__c').create({ Status__c: 'Bogus' })
            ).rejects.toMatchObject({
                errorCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
                message: 'Status: bad value for restricted picklist field: Bogus'
            });
            await expect(
                conn.sobject('Provisioning_Run_Item__c').create({ Status__c: 'Pending' })
            ).rejects.toMatchObject({
                errorCode: 'REQUIRED_FIELD_MISSING',
                message: 'Required fields are missing: [Run__c]'
            });
            await expect(
                conn.sobject('Condition_Set__c').create({ Name: 'x'.repeat(81) })
            ).rejects.toMatchObject({
                errorCode: 'STRING_TOO_LONG'
            });
        });

        it('when a record is upserted by Key__c twice, then it is created and then updated', async () => {
            const user = org.ids.adminUserIds[2];
            const key = `${user}:Meeting Links`;
            const body = { Key__c: key, User__c: user, Product__c: 'Meeting Links', Status__c: 'Invited' };

            const first = await conn.sobject('Calendar_Authorization__c').upsert(body, 'Key__c');
            const second = await conn
                .sobject('Calendar_Authorization__c')
                .upsert({ ...body, Status__c: 'Authorized' }, 'Key__c');

            expect(first).toMatchObject({ success: true, created: true });
            expect(second).toMatchObject({ success: true, created: false, id: (first as { id: string }).id });
            const rows = await conn.query<Rec>(
                `SELECT Status__c FROM Calendar_Authorization__c WHERE Key__c = '${key}'`
            );
            expect(rows.records.map((r) => r.Status__c)).toEqual(['Authorized']);
        });

        it('when a new hire is created, then the platform fields are derived and the username must be unique', async () => {
            const profile = await conn.query<Rec>("SELECT Id FROM Profile WHERE Name = 'Sales User'");
            const user = {
                FirstName: 'Nia',
                LastName: 'Newhire',
                Username: 'nia.newhire@demo.rollcall.dev',
                Email: 'nia.newhire@example.com',
                Alias: 'nnewh',
                TimeZoneSidKey: 'Europe/London',
                LocaleSidKey: 'en_GB',
                EmailEncodingKey: 'UTF-8',
                LanguageLocaleKey: 'en_US',
                ProfileId: profile.records[0].Id,
                Department: 'Sales',
                Title: 'Account Executive'
            };

            const created = (await conn.sobject('User').create(user)) as { id: string };
            const read = await conn.query<Rec>(
                `SELECT Name, UserType, IsActive, CreatedDate FROM User WHERE Id = '${created.id}' AND CreatedDate = TODAY`
            );

            expect(read.records[0]).toMatchObject({
                Name: 'Nia Newhire',
                UserType: 'Standard',
                IsActive: true
            });
            await expect(conn.sobject('User').create(user)).rejects.toMatchObject({
                errorCode: 'DUPLICATE_USERNAME'
            });
            await expect(conn.sobject('User').destroy(created.id)).rejects.toMatchObject({
                errorCode: 'METHOD_NOT_ALLOWED'
            });
        });

        it('when a unique external id repeats, then DUPLICATE_VALUE', async () => {
            const user = org.ids.adminUserIds[1];
            const body = {
                Key__c: `${user}:Round Robin`,
                User__c: user,
                Product__c: 'Round Robin',
                Status__c: 'Invited'
            };
            await conn.sobject('Calendar_Authorization__c').create(body);

            await expect(conn.sobject('Calendar_Authorization__c').create(body)).rejects.toMatchObject({
                errorCode: 'DUPLICATE_VALUE',
                message: expect.stringMatching(
                    /^duplicate value found: Key__c duplicates value on record with id: a0/
                )
            });
        });
    });

    describe('collections', () => {
        it('when one record of a collection is invalid, then the others are saved and it gets its error', async () => {
            const run = (await conn.sobject('Provisioning_Run__c').create({ Status__c: 'Previewed' })) as {
                id: string;
            };
            const results = await conn.sobject('Provisioning_Run_Item__c').create([
                { Run__c: run.id, Status__c: 'Pending', Products__c: 'Round Robin;Meeting Links' },
                { Run__c: run.id, Status__c: 'Nope' },
                { Run__c: run.id, Status__c: 'Pending' }
            ]);

            expect(results.map((r) => r.success)).toEqual([true, false, true]);
            expect(results[1]).toEqual({
                success: false,
                errors: [
                    {
                        statusCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
                        message: 'Status: bad value for restricted picklist field: Nope',
                        fields: ['Status__c']
                    }
                ]
            });
        });

        it('when allOrNone is set and a record fails, then nothing is saved', async () => {
            const run = (await conn.sobject('Provisioning_Run__c').create({ Status__c: 'Previewed' })) as {
                id: string;
            };

            const results = await conn
                .sobject('Provisioning_Run_Item__c')
                .create(
                    [
                        { Run__c: run.id, Status__c: 'Pending' },
                        { Run__c: run.id, Status__c: 'Nope' }
                    ],
                    { allOrNone: true }
                )
                .catch((e: unknown) => e);

            const count = await conn.query(
                `SELECT COUNT() FROM Provisioning_Run_Item__c WHERE Run__c = '${run.id}'`
            );
            expect(count.totalSize).toBe(0);
            expect(JSON.stringify(results)).toContain('ALL_OR_NONE_OPERATION_ROLLED_BACK');
        });

        it('when more than 200 records are sent, then the org refuses the call', async () => {
            const records = Array.from({ length: 201 }, () => ({
                attributes: { type: 'Provisioning_Run__c' },
                Status__c: 'Queued'
            }));
            await expect(
                conn.request({
                    method: 'POST',
                    url: '/services/data/v62.0/composite/sobjects',
                    body: JSON.stringify({ records }),
                    headers: { 'content-type': 'application/json' }
                })
            ).rejects.toMatchObject({ errorCode: 'EXCEEDED_ID_LIMIT' });
        });

        it('when items are upserted as a collection, then created is true then false', async () => {
            const users = await conn.query<Rec>("SELECT Id FROM User WHERE Department = 'Marketing' LIMIT 3");
            const records = users.records.map((u) => ({
                Key__c: `${u.Id}:Instant Booker`,
                User__c: u.Id,
                Product__c: 'Instant Booker',
                Status__c: 'Invited'
            }));

            const first = await conn.sobject('Calendar_Authorization__c').upsert(records, 'Key__c');
            const second = await conn.sobject('Calendar_Authorization__c').upsert(records, 'Key__c');

            expect(first.map((r) => r.created)).toEqual([true, true, true]);
            expect(second.map((r) => r.created)).toEqual([false, false, false]);
        });

        it('when a run is deleted, then its items go with it and show in queryAll as deleted', async () => {
            const run = (await conn.sobject('Provisioning_Run__c').create({ Status__c: 'Previewed' })) as {
                id: string;
            };
            const items = await conn.sobject('Provisioning_Run_Item__c').create([
                { Run__c: run.id, Status__c: 'Pending' },
                { Run__c: run.id, Status__c: 'Pending' }
            ]);

            const deleted = await conn.sobject('Provisioning_Run__c').destroy([run.id]);

            expect(deleted).toEqual([{ id: run.id, success: true, errors: [] }]);
            expect(
                (await conn.query(`SELECT COUNT() FROM Provisioning_Run_Item__c WHERE Run__c = '${run.id}'`))
                    .totalSize
            ).toBe(0);
            const all = await conn.query<Rec>(
                `SELECT Id, IsDeleted FROM Provisioning_Run_Item__c WHERE Run__c = '${run.id}'`,
                {
                    scanAll: true
                }
            );
            expect(all.records.map((r) => r.IsDeleted)).toEqual([true, true]);
            expect(items).toHaveLength(2);
        });
    });
});
