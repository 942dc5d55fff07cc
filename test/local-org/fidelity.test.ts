/**
 * The shapes of what the local org answers, compared with real payloads (describe keys as in the
 * SFDO-Tooling/CumulusCI shared cassettes; error bodies as documented), the limits header and
 * counter, and the fault switches.
 */
import { connect } from 'node:net';
import { startLocalOrg, type LocalOrg } from '../../service/src/local-org';
import { clientCredentialsToken, rest, v } from './helpers';

/** Every key of a field describe in a real REST describe (CumulusCI's recorded Case describe). */
const REAL_FIELD_KEYS = [
    'aggregatable',
    'aiPredictionField',
    'autoNumber',
    'byteLength',
    'calculated',
    'calculatedFormula',
    'cascadeDelete',
    'caseSensitive',
    'compoundFieldName',
    'controllerName',
    'createable',
    'custom',
    'defaultValue',
    'defaultValueFormula',
    'defaultedOnCreate',
    'dependentPicklist',
    'deprecatedAndHidden',
    'digits',
    'displayLocationInDecimal',
    'encrypted',
    'externalId',
    'extraTypeInfo',
    'filterable',
    'filteredLookupInfo',
    'formulaTreatNullNumberAsZero',
    'groupable',
    'highScaleNumber',
    'htmlFormatted',
    'idLookup',
    'inlineHelpText',
    'label',
    'length',
    'mask',
    'maskType',
    'name',
    'nameField',
    'namePointing',
    'nillable',
    'permissionable',
    'picklistValues',
    'polymorphicForeignKey',
    'precision',
    'queryByDistance',
    'referenceTargetField',
    'referenceTo',
    'relationshipName',
    'relationshipOrder',
    'restrictedDelete',
    'restrictedPicklist',
    'scale',
    'searchPrefilterable',
    'soapType',
    'sortable',
    'type',
    'unique',
    'updateable',
    'writeRequiresMasterRead'
].sort();

/** Top-level keys of a real sObject describe (the same cassettes). */
const REAL_OBJECT_KEYS = [
    'actionOverrides',
    'activateable',
    'childRelationships',
    'compactLayoutable',
    'createable',
    'custom',
    'customSetting',
    'deepCloneable',
    'defaultImplementation',
    'deletable',
    'deprecatedAndHidden',
    'extendedBy',
    'extendsInterfaces',
    'feedEnabled',
    'fields',
    'hasSubtypes',
    'implementedBy',
    'implementsInterfaces',
    'isInterface',
    'isSubtype',
    'keyPrefix',
    'label',
    'labelPlural',
    'layoutable',
    'listviewable',
    'lookupLayoutable',
    'mergeable',
    'mruEnabled',
    'name',
    'namedLayoutInfos',
    'networkScopeFieldName',
    'queryable',
    'recordTypeInfos',
    'replicateable',
    'retrieveable',
    'searchLayoutable',
    'searchable',
    'supportedScopes',
    'triggerable',
    'undeletable',
    'updateable',
    'urls'
];

/** The status of a raw request whose head is exactly this request line and these header lines. */
async function rawStatus(org: LocalOrg, target: string, headers: string[]): Promise<number> {
    const { hostname, port } = new URL(org.url);
    const head = `GET ${target} HTTP/1.1\r\n${headers.map((line) => `${line}\r\n`).join('')}\r\n`;
    return new Promise((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => socket.write(head));
        let answer = '';
        socket.on('data', (data) => {
            answer += data.toString('latin1');
            if (answer.includes('\r\n')) {
                socket.destroy();
                resolve(Number(answer.split(' ')[1]));
            }
        });
        socket.on('error', reject);
    });
}

describe('local org fidelity', () => {
    let org: LocalOrg;
    let token: string;

    beforeAll(async () => {
        org = await startLocalOrg({ users: 200, dailyApiLimit: 1000 });
        token = await clientCredentialsToken(org);
    });

    afterEach(() => {
        org.faults.clear();
    });

    afterAll(async () => {
        await org.stop();
    });

    it.each([
        'User',
        'Profile',
        'PermissionSetAssignment',
        'Organization',
        'Condition_Set__c',
        'Provisioning_Run_Item__c',
        'Rollcall_Settings__c'
    ])('when %s is described, then the describe has the keys of a real one', async (name) => {
        const { status, body } = await rest(org, token, v(`/sobjects/${name}/describe`));
        const d = body as Record<string, unknown> & { fields: Array<Record<string, unknown>> };

        expect(status).toBe(200);
        expect(Object.keys(d)).toEqual(expect.arrayContaining(REAL_OBJECT_KEYS));
        for (const field of d.fields) expect(Object.keys(field).sort()).toEqual(REAL_FIELD_KEYS);
        for (const p of d.fields.flatMap((f) => f.picklistValues as object[])) {
            expect(Object.keys(p).sort()).toEqual(['active', 'defaultValue', 'label', 'validFor', 'value']);
        }
    });

    it('when Provisioning_Run__c is described, then Items__r is a cascade-delete child relationship', async () => {
        const { body } = await rest(org, token, v('/sobjects/Provisioning_Run__c/describe'));
        const children = (body as { childRelationships: object[] }).childRelationships;

        expect(children).toContainEqual({
            cascadeDelete: true,
            childSObject: 'Provisioning_Run_Item__c',
            deprecatedAndHidden: false,
            field: 'Run__c',
            junctionIdListNames: [],
            junctionReferenceTo: [],
            relationshipName: 'Items__r',
            restrictedDelete: false
        });
    });

    it('when the versions and limits are read, then they have the real shapes', async () => {
        const versions = await fetch(`${org.url}/services/data/`).then(
            (r) => r.json() as Promise<Array<{ version: string; url: string }>>
        );
        const limits = await rest(org, token, v('/limits'));

        expect(versions).toContainEqual({
            label: "Winter '25",
            url: '/services/data/v62.0',
            version: '62.0'
        });
        expect(
            (limits.body as { DailyApiRequests: { Max: number; Remaining: number } }).DailyApiRequests
        ).toEqual({
            Max: 1000,
            Remaining: 1000 - org.apiUsage().used
        });
    });

    it('when an API call is made, then Sforce-Limit-Info counts it; when the limit is spent, REQUEST_LIMIT_EXCEEDED', async () => {
        org.resetApiCounter();
        const first = await rest(org, token, v('/sobjects'));
        expect(first.headers.get('sforce-limit-info')).toBe('api-usage=1/1000');
        expect(org.apiUsage()).toEqual({ used: 1, limit: 1000 });

        const limited = await startLocalOrg({ users: 20, dailyApiLimit: 2 });
        try {
            const t = await clientCredentialsToken(limited);
            await rest(limited, t, v('/limits'));
            await rest(limited, t, v('/limits'));
            const refused = await rest(limited, t, v('/query?q=SELECT+Id+FROM+User'));

            expect(refused.status).toBe(403);
            expect(refused.body).toEqual([
                { message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }
            ]);
            expect(refused.headers.get('sforce-limit-info')).toBe('api-usage=2/2');
            limited.resetApiCounter();
            expect((await rest(limited, t, v('/limits'))).status).toBe(200);
        } finally {
            await limited.stop();
        }
    });

    it.each([
        [
            'no token',
            undefined,
            401,
            [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]
        ],
        [
            'an unknown record',
            v('/sobjects/Condition_Set__c/a0B5g0000000zzzAAA'),
            404,
            [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]
        ]
    ])('when the call has %s, then the real error body', async (_label, path, status, body) => {
        const res = path ? await rest(org, token, path) : await rest(org, 'bogus', v('/sobjects'));
        expect(res.status).toBe(status);
        expect(res.body).toEqual(body);
    });

    it('when a record POST has an unknown field, then INVALID_FIELD for the whole call', async () => {
        const res = await rest(org, token, v('/sobjects/Condition_Set__c'), {
            method: 'POST',
            body: { Name: 'x', Nope__c: 1 }
        });
        expect(res.status).toBe(400);
        expect(res.body).toEqual([
            {
                message: "No such column 'Nope__c' on sobject of type Condition_Set__c",
                errorCode: 'INVALID_FIELD'
            }
        ]);
    });

    it.each([
        [10.25, 10.25],
        [-3.5, -3.5],
        [48.858370123456789, 48.858370123456789]
    ])(
        'when a User Latitude is written as %d, then it is stored and read back as %d (a double, not an integer)',
        async (written, read) => {
            const users = await rest(
                org,
                token,
                v(`/query?q=${encodeURIComponent('SELECT Id FROM User LIMIT 1')}`)
            );
            const id = (users.body as { records: Array<{ Id: string }> }).records[0].Id;

            const update = await rest(org, token, v(`/sobjects/User/${id}`), {
                method: 'PATCH',
                body: { Latitude: written, Longitude: -written }
            });
            const back = await rest(
                org,
                token,
                v(`/query?q=${encodeURIComponent(`SELECT Latitude, Longitude FROM User WHERE Id = '${id}'`)}`)
            );

            expect(update.status).toBe(204);
            expect((back.body as { records: Array<Record<string, unknown>> }).records[0]).toMatchObject({
                Latitude: read,
                Longitude: -read
            });
        }
    );

    it('when User is described, then Latitude is a double of precision 18 and scale 15, as in a real org', async () => {
        const { body } = await rest(org, token, v('/sobjects/User/describe'));
        const latitude = (body as { fields: Array<Record<string, unknown>> }).fields.find(
            (field) => field.name === 'Latitude'
        );
        expect(latitude).toMatchObject({ type: 'double', precision: 18, scale: 15 });
    });

    it('when a read-only field is written, then INVALID_FIELD_FOR_INSERT_UPDATE names it', async () => {
        const res = await rest(org, token, v('/sobjects/Provisioning_Run__c'), {
            method: 'POST',
            body: { Name: 'RUN-1' }
        });
        expect(res.status).toBe(400);
        expect(res.body).toEqual([
            {
                message:
                    'Unable to create/update fields: Name. Please check the security settings of this field and verify that it is read/write for your profile or permission set.',
                errorCode: 'INVALID_FIELD_FOR_INSERT_UPDATE',
                fields: ['Name']
            }
        ]);
    });

    describe('request size (URI and headers at most 16,384 bytes)', () => {
        /** A /limits request whose URI plus header lines (`Name: value` CRLF) weigh exactly `total` bytes. */
        function sized(total: number, uri?: number): { target: string; headers: string[] } {
            const headers = [`Host: ${new URL(org.url).host}`, `Authorization: Bearer ${token}`];
            const headerBytes = headers.reduce((sum, line) => sum + line.length + 2, 0);
            const base = `${v('/limits')}?pad=`;
            const uriBytes = uri ?? total - headerBytes;
            const target = base + 'a'.repeat(uriBytes - base.length);
            const padding = total - uriBytes - headerBytes;
            if (padding > 0) headers.push(`X-Pad: ${'p'.repeat(padding - 'X-Pad: '.length - 2)}`);
            return { target, headers };
        }

        it.each([
            ['exactly 16,384 bytes of URI and headers', 200, 16_384, undefined],
            ['16,385 bytes of URI and headers', 431, 16_385, undefined],
            ['a 12,000-byte URI and 4,385 bytes of headers', 431, 16_385, 12_000],
            ['a URI of 16,385 bytes', 414, 16_385, 16_385]
        ])('when a request has %s, then it answers %d', async (_label, status, total, uri) => {
            const { target, headers } = sized(total, uri);
            expect(await rawStatus(org, target, headers)).toBe(status);
        });
    });

    describe('faults', () => {
        it("when refuseQueriesContaining is set, then a query holding the text answers 400 with the given code in Salesforce's format, others pass, and clear() lifts it", async () => {
            org.faults.refuseQueriesContaining("Title = 'Nope'", {
                errorCode: 'INVALID_QUERY_FILTER_OPERATOR',
                message: 'invalid ID field: nope'
            });
            const query = (soql: string) => rest(org, token, v(`/query?q=${encodeURIComponent(soql)}`));

            const refused = await query("SELECT Id FROM User WHERE Title = 'Nope'");
            const other = await query("SELECT Id FROM User WHERE Title = 'Yes'");
            org.faults.clear();
            const lifted = await query("SELECT Id FROM User WHERE Title = 'Nope'");

            expect(refused.status).toBe(400);
            expect(refused.body).toEqual([
                {
                    errorCode: 'INVALID_QUERY_FILTER_OPERATOR',
                    message: expect.stringMatching(/\nERROR at Row:1:Column:27\ninvalid ID field: nope$/)
                }
            ]);
            expect(other.status).toBe(200);
            expect(lifted.status).toBe(200);
        });

        it('when failNext(2, 500) is set, then two calls fail with UNKNOWN_EXCEPTION and the third passes', async () => {
            org.faults.failNext(2, 500);
            const a = await rest(org, token, v('/limits'));
            const b = await rest(org, token, v('/limits'));
            const c = await rest(org, token, v('/limits'));

            expect([a.status, b.status, c.status]).toEqual([500, 500, 200]);
            expect(a.body).toEqual([
                {
                    errorCode: 'UNKNOWN_EXCEPTION',
                    message: expect.stringMatching(
                        /^An unexpected error occurred\. Please include this ErrorId/
                    )
                }
            ]);
        });

        it('when failNext(1) is set, then the call answers 503 SERVER_UNAVAILABLE', async () => {
            org.faults.failNext(1);
            const res = await rest(org, token, v('/limits'));
            expect(res.status).toBe(503);
            expect(res.body).toEqual([
                { errorCode: 'SERVER_UNAVAILABLE', message: 'Server temporarily unavailable' }
            ]);
        });

        it('when failFraction(1) is set, then every call fails until cleared', async () => {
            org.faults.failFraction(1, 500);
            expect((await rest(org, token, v('/limits'))).status).toBe(500);
            org.faults.clear();
            expect((await rest(org, token, v('/limits'))).status).toBe(200);
        });

        it('when latency is set, then answers are slower by that much', async () => {
            org.faults.latency(120);
            const t0 = Date.now();
            await rest(org, token, v('/limits'));
            expect(Date.now() - t0).toBeGreaterThanOrEqual(110);
        });

        it('when the next connection is dropped, then the client sees a broken response and the next call works', async () => {
            org.faults.dropNextConnections(1);
            await expect(rest(org, token, v('/query?q=SELECT+Id+FROM+User'))).rejects.toThrow();
            expect((await rest(org, token, v('/limits'))).status).toBe(200);
        });
    });
});
