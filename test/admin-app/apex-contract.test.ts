/**
 * The local Apex surface keeps the Apex classes' contract: every `@salesforce/apex/Class.method` the
 * components import is answered, with the parameter names the @AuraEnabled method declares, and every
 * response carries exactly the @AuraEnabled members of the Apex DTO it stands for (parsed from the .cls
 * files), so renaming an Apex field or parameter fails here until the local implementation follows.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalApex, APEX_PARAMETERS } from '../../service/src/admin-app/local-apex';
import { OrgRest } from '../../service/src/admin-app/org-rest';
import { start, type RunningService } from '../../service/src/main';
import { removeDir } from '../service/support/stack';

jest.setTimeout(120_000);

const ROOT = join(__dirname, '..', '..');
const CLASSES = join(ROOT, 'force-app/main/default/classes');
const LWC = join(ROOT, 'force-app/main/default/lwc');

/** Strips comments, so a commented-out member or method is not part of the contract. */
function apexSource(className: string): string {
    return readFileSync(join(CLASSES, `${className}.cls`), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/\/\/.*$/gm, '');
}

/** The @AuraEnabled members of an inner class `Outer.Inner`. */
function auraMembers(qualified: string): string[] {
    const [outer, inner] = qualified.split('.');
    const source = apexSource(outer);
    const startAt = source.search(new RegExp(`\\bclass\\s+${inner}\\b`));
    if (startAt < 0) throw new Error(`No class ${qualified}`);
    let depth = 0;
    let end = source.indexOf('{', startAt);
    for (let i = end; i < source.length; i++) {
        if (source[i] === '{') depth++;
        if (source[i] === '}' && --depth === 0) {
            end = i;
            break;
        }
    }
    const body = source.slice(startAt, end);
    const members = [...body.matchAll(/@AuraEnabled\s+public\s+[\w<>, .]+?\s+(\w+)\s*(?:[;={])/g)].map(
        (m) => m[1]
    );
    return members.sort();
}

/** `Class.method` → parameter names of every @AuraEnabled static method of the controllers. */
function auraMethods(className: string): Record<string, string[]> {
    const methods: Record<string, string[]> = {};
    const pattern = /@AuraEnabled(?:\([^)]*\))?\s+public\s+static\s+[\w<>, .]+?\s+(\w+)\s*\(([^)]*)\)/g;
    for (const match of apexSource(className).matchAll(pattern)) {
        const params = match[2]
            .split(',')
            .map((param) => param.trim())
            .filter(Boolean)
            .map((param) => param.split(/\s+/).pop()!);
        methods[`${className}.${match[1]}`] = params;
    }
    return methods;
}

interface SetRow {
    id: string;
    name: string;
    description: string | null;
    active: boolean;
    products: string[];
    eligibleStatuses: string[];
    definition: string;
}

/** A saved set as the editor sends it back to saveConditionSet (ConditionSetInput, without grants). */
function setInput(set: SetRow) {
    const { id, name, description, active, products, eligibleStatuses, definition } = set;
    return { id, name, description, active, products, eligibleStatuses, definition };
}

function keysOf(value: unknown): string[] {
    expect(value).toEqual(expect.any(Object));
    return Object.keys(value as object).sort();
}

describe('the local Apex surface', () => {
    let dir: string;
    let service: RunningService;
    let apex: LocalApex;

    beforeAll(async () => {
        dir = mkdtempSync(join(tmpdir(), 'rollcall-apex-contract-'));
        service = await start({
            env: {
                NODE_ENV: 'test',
                LOG_LEVEL: 'silent',
                PORT: '0',
                DATA_DIR: join(dir, 'data'),
                OUTBOX_DIR: join(dir, 'outbox'),
                LOCAL_ORG_USERS: '200',
                SCHEDULER: 'off'
            },
            timers: false
        });
        const org = service.localOrg!;
        apex = new LocalApex(
            new OrgRest({ url: org.url, clientId: org.clientId, clientSecret: org.clientSecret }),
            { url: service.url, secret: service.config.apiSecret },
            org.ids.adminUserIds[0],
            org.ids.orgId
        );
    });

    afterAll(async () => {
        await service?.stop();
        if (dir) removeDir(dir);
    });

    it('when the components import Apex methods, then each is answered with the parameters the Apex method declares', () => {
        // Arrange
        const imported = new Set<string>();
        for (const component of readdirSync(LWC)) {
            for (const file of readdirSync(join(LWC, component)).filter((name) => name.endsWith('.js'))) {
                const source = readFileSync(join(LWC, component, file), 'utf8');
                for (const match of source.matchAll(/from '@salesforce\/apex\/(\w+\.\w+)'/g))
                    imported.add(match[1]);
            }
        }
        const declared = {
            ...auraMethods('ConditionSetController'),
            ...auraMethods('ProvisioningController'),
            ...auraMethods('RunHistoryController'),
            ...auraMethods('ScheduledProvisioningController'),
            ...auraMethods('ConnectionController')
        };

        // Assert
        expect(imported.size).toBeGreaterThan(10);
        for (const method of imported) expect(Object.keys(APEX_PARAMETERS)).toContain(method);
        expect(APEX_PARAMETERS).toEqual(declared);
    });

    it('when each method answers, then the response has exactly the members of its Apex DTO', async () => {
        // Condition sets and the editor
        const sets = (await apex.call('ConditionSetController', 'getConditionSets', {})) as unknown[];
        expect(keysOf(sets[0])).toEqual(auraMembers('ConditionSetController.ConditionSetRow'));
        const first = sets[0] as { id: string; definition: string };
        const one = await apex.call('ConditionSetController', 'getConditionSet', {
            conditionSetId: first.id
        });
        expect(keysOf(one)).toEqual(auraMembers('ConditionSetController.ConditionSetRow'));
        const before = sets.length;
        const copy = (await apex.call('ConditionSetController', 'getConditionSetCopy', {
            conditionSetId: first.id
        })) as { id: string | null; name: string; active: boolean };
        expect(keysOf(copy)).toEqual(auraMembers('ConditionSetController.ConditionSetRow'));
        expect(copy).toMatchObject({ id: null, active: false });
        expect(copy.name).toMatch(/^Copy of /);
        expect(
            ((await apex.call('ConditionSetController', 'getConditionSets', {})) as unknown[]).length
        ).toBe(before);
        expect(await apex.call('RunHistoryController', 'getOrgTimeZone', {})).toEqual(expect.any(String));
        const options = (await apex.call('ConditionSetController', 'getEditorOptions', {})) as {
            fields: unknown[];
            products: unknown[];
        };
        expect(keysOf(options)).toEqual(auraMembers('ConditionSetController.EditorOptions'));
        expect(keysOf(options.fields[0])).toEqual(auraMembers('UserFieldCatalog.UserField'));
        expect(keysOf(options.products[0])).toEqual(auraMembers('UserFieldCatalog.PicklistOption'));
        const invalid = (await apex.call('ConditionSetController', 'validateDefinition', {
            definition: JSON.stringify({
                version: 1,
                conditions: [{ field: 'NoSuchField', operator: 'equals', value: 'x' }]
            })
        })) as { valid: boolean; errors: unknown[] };
        expect(keysOf(invalid)).toEqual(auraMembers('ConditionDefinitionValidator.Result'));
        expect(invalid.valid).toBe(false);
        expect(keysOf(invalid.errors[0])).toEqual(
            auraMembers('ConditionDefinitionValidator.ValidationError')
        );

        // A preview, followed to its end, and its detail
        const started = (await apex.call('ProvisioningController', 'startPreview', {})) as { id: string };
        expect(keysOf(started)).toEqual(auraMembers('ProvisioningRuns.RunSummary'));
        let status = started as { id: string; status: string };
        for (let attempt = 0; attempt < 600 && status.status !== 'Previewed'; attempt++) {
            await new Promise((resolve) => setTimeout(resolve, 100));
            status = (await apex.call('ProvisioningController', 'getRunStatus', {
                runId: started.id,
                includeServiceProgress: true
            })) as typeof status;
        }
        expect(status.status).toBe('Previewed');
        const detail = (await apex.call('RunHistoryController', 'getRunDetail', { runId: started.id })) as {
            items: unknown[];
            productTotals: unknown[];
        };
        expect(keysOf(detail)).toEqual(auraMembers('ProvisioningRuns.RunDetail'));
        expect(keysOf(detail.items[0])).toEqual(auraMembers('ProvisioningRuns.ItemRow'));
        expect(keysOf(detail.productTotals[0])).toEqual(auraMembers('ProvisioningRuns.Total'));
        const page = await apex.call('RunHistoryController', 'getRunItems', {
            runId: started.id,
            afterId: null,
            onlyProblems: false
        });
        expect(keysOf(page)).toEqual(auraMembers('ProvisioningRuns.ItemPage'));
        // History leaves a preview never provisioned out unless asked.
        const runs = (await apex.call('RunHistoryController', 'getRuns', {
            maxRuns: 5,
            includePreviews: true
        })) as { id: string }[];
        expect(keysOf(runs[0])).toEqual(auraMembers('ProvisioningRuns.RunSummary'));
        expect(runs.map((run) => run.id)).toContain(started.id);
        const provisioned = (await apex.call('RunHistoryController', 'getRuns', {
            maxRuns: 5,
            includePreviews: false
        })) as { id: string }[];
        expect(provisioned.map((run) => run.id)).not.toContain(started.id);

        // Schedule settings
        const settings = await apex.call('ScheduledProvisioningController', 'getSettings', {});
        expect(keysOf(settings)).toEqual(auraMembers('ScheduledProvisioningController.ScheduleSettings'));
    });

    it("when the admin searches a run's users, then the org finds them among all the items, as Apex binds the term", async () => {
        // Arrange: a run of a page of others and, after them, the users searched for
        const org = service.localOrg!;
        const rest = new OrgRest({ url: org.url, clientId: org.clientId, clientSecret: org.clientSecret });
        const adminId = org.ids.adminUserIds[0];
        const [admin] = await rest.query<{ Name: string }>(`SELECT Name FROM User WHERE Id = '${adminId}'`);
        const runId = await rest.create('Provisioning_Run__c', {
            Status__c: 'Completed',
            Trigger__c: 'Manual'
        });
        const items: Record<string, string>[] = Array.from({ length: 500 }, (_, index) => ({
            Email__c: `user${index}@example.com`,
            Matched_Sets__c: 'EMEA',
            Status__c: 'Invited'
        }));
        items.push(
            {
                User__c: adminId,
                Email__c: 'jane.doe@example.com',
                Matched_Sets__c: 'EMEA',
                Status__c: 'Failed',
                Reason__c: "Seat limit at 100% reached, O'Brien"
            },
            {
                Email__c: 'jane_roe@example.com',
                Matched_Sets__c: 'Sales managers',
                Status__c: 'Invited',
                Reason__c: 'Seat limit at 100 reached'
            }
        );
        for (let start = 0; start < items.length; start += 200) {
            await rest.request('POST', '/composite/sobjects', {
                allOrNone: true,
                records: items.slice(start, start + 200).map((item) => ({
                    attributes: { type: 'Provisioning_Run_Item__c' },
                    Run__c: runId,
                    ...item
                }))
            });
        }
        type Page = { items: { email: string; status: string }[]; hasMore: boolean; lastId: string };
        const search = (term: string | null, onlyProblems = false, afterId: string | null = null) =>
            apex.call('RunHistoryController', 'getRunItems', {
                runId,
                afterId,
                onlyProblems,
                search: term
            }) as Promise<Page>;
        const emails = (page: Page) => page.items.map((item) => item.email);

        // Act + Assert: part of the name or of the email, in any case, trimmed
        const byName = await search(admin.Name.slice(1, -1).toUpperCase());
        expect(keysOf(byName)).toEqual(auraMembers('ProvisioningRuns.ItemPage'));
        expect(emails(byName)).toEqual(['jane.doe@example.com']);
        expect(emails(await search('  Jane.Doe@Example  '))).toEqual(['jane.doe@example.com']);
        expect(emails(await search('JANE'))).toEqual(['jane.doe@example.com', 'jane_roe@example.com']);
        // % and _ match themselves, not anything; a quote is only a quote
        expect(emails(await search('100%'))).toEqual(['jane.doe@example.com']);
        expect(emails(await search('e_r'))).toEqual(['jane_roe@example.com']);
        expect(emails(await search("o'brien"))).toEqual(['jane.doe@example.com']);
        // With only the problems, and a page at a time
        const problems = await search('jane', true);
        expect(problems.items.map((item) => item.status)).toEqual(['Failed']);
        const firstPage = await search('emea');
        expect(firstPage.items).toHaveLength(500);
        expect(firstPage.hasMore).toBe(true);
        const nextPage = await search('emea', false, firstPage.lastId);
        expect(emails(nextPage)).toEqual(['jane.doe@example.com']);
        expect(nextPage.hasMore).toBe(false);
        // Blank is no search; too long is refused as Apex refuses it
        expect((await search('   ')).items).toHaveLength(500);
        expect((await search(null)).hasMore).toBe(true);
        await expect(search('x'.repeat(101))).rejects.toThrow('Search with at most 100 characters.');
        expect((await search(` ${'x'.repeat(100)} `)).items).toEqual([]);
    });

    it('when the editor checks a draft set, then the answer has exactly the members of ConditionSetImpact', async () => {
        // Arrange: another active set that is not valid (a field the org has not), so the check names it
        const org = service.localOrg!;
        const rest = new OrgRest({ url: org.url, clientId: org.clientId, clientSecret: org.clientSecret });
        const brokenId = await rest.create('Condition_Set__c', {
            Name: 'Broken set',
            Active__c: true,
            Products__c: 'Round Robin',
            Eligible_Statuses__c: 'Not Invited',
            Definition__c: JSON.stringify({
                version: 1,
                conditions: [{ field: 'No_Such_Field__c', operator: 'equals', value: 'x' }]
            })
        });
        const impact = (await apex.call('ConditionSetController', 'checkImpact', {
            conditionSet: {
                name: 'Draft',
                products: ['Round Robin'],
                eligibleStatuses: ['Not Invited'],
                definition: JSON.stringify({
                    version: 1,
                    conditions: [{ field: 'Department', operator: 'equals', value: 'Sales' }]
                })
            }
        })) as { overlaps: unknown[]; invalidSets: { setId: string; name: string; reasons: string }[] };
        await rest.update('Condition_Set__c', brokenId, { Active__c: false });
        expect(keysOf(impact)).toEqual(auraMembers('ConditionSetController.ConditionSetImpact'));
        expect(impact.overlaps.length).toBeGreaterThan(0);
        expect(keysOf(impact.overlaps[0])).toEqual(auraMembers('ConditionSetController.SetOverlapRow'));
        const broken = impact.invalidSets.find((invalid) => invalid.setId === brokenId);
        expect(keysOf(broken)).toEqual(auraMembers('ConditionSetController.InvalidSetRow'));
        expect(broken).toMatchObject({
            name: 'Broken set',
            reasons: expect.stringContaining('No_Such_Field__c')
        });
    });

    it('when the admin asks why about a user, then the answer has exactly the members of UserExplanation', async () => {
        const why = (await apex.call('RunHistoryController', 'explainUser', {
            userId: service.localOrg!.ids.adminUserIds[0]
        })) as { sets: { conditions: unknown[] }[]; products: unknown[] };
        expect(keysOf(why)).toEqual(auraMembers('RunHistoryController.UserExplanation'));
        expect(keysOf(why.sets[0])).toEqual(auraMembers('RunHistoryController.SetExplanationRow'));
        expect(keysOf(why.sets[0].conditions[0])).toEqual(
            auraMembers('RunHistoryController.ConditionExplanationRow')
        );
        expect(keysOf(why.products[0])).toEqual(auraMembers('RunHistoryController.ProductExplanationRow'));
    });

    it('when a request is refused, then the failure carries the message an AuraHandledException would', async () => {
        await expect(
            apex.call('ConditionSetController', 'saveConditionSet', { conditionSet: { name: ' ' } })
        ).rejects.toThrow('Enter a name for the condition set.');
        await expect(
            apex.call('ScheduledProvisioningController', 'saveSettings', {
                settings: { frequency: 'Daily', scheduleTime: '25:00' }
            })
        ).rejects.toThrow('Enter the time of day as HH:MM (24-hour), for example 07:30.');
        const [active] = (
            (await apex.call('ConditionSetController', 'getConditionSets', {})) as {
                name: string;
                active: boolean;
                products: string[];
                eligibleStatuses: string[];
                definition: string;
            }[]
        ).filter((set) => set.active);
        await expect(
            apex.call('ConditionSetController', 'saveConditionSet', {
                conditionSet: { ...active, name: active.name.toUpperCase(), id: null }
            })
        ).rejects.toThrow(`Another active condition set is named "${active.name.toUpperCase()}".`);
        // A set grants products, access, or both (issue 19), never nothing.
        await expect(
            apex.call('ConditionSetController', 'saveConditionSet', {
                conditionSet: { ...active, name: 'Grants nothing', id: null, active: false, products: [] }
            })
        ).rejects.toThrow('Choose a product, or grant access in an app in the Access section.');
        await expect(
            apex.call('ConditionSetController', 'saveConditionSet', {
                conditionSet: {
                    ...active,
                    name: 'Empty access',
                    id: null,
                    active: false,
                    products: [],
                    grants: []
                }
            })
        ).rejects.toThrow('Choose a product, or grant access in an app in the Access section.');
        await expect(apex.call('RunHistoryController', 'getRunDetail', { runID: 'a' })).rejects.toThrow(
            'Unknown parameter for RunHistoryController.getRunDetail: runID'
        );
    });
    // Connections (issue 19): begin
    it('when the connections screens call ConnectionController, then each answer has exactly the members of its Apex DTO', async () => {
        // Arrange: a connection saved through the surface, granted by a set, and an action of a run
        const org = service.localOrg!;
        const rest = new OrgRest({ url: org.url, clientId: org.clientId, clientSecret: org.clientSecret });
        const connectionId = (await apex.call('ConnectionController', 'saveConnection', {
            connection: {
                name: 'Contract app',
                key: 'contract-app',
                active: true,
                matchOn: 'Email',
                attributeMap: JSON.stringify({ title: { field: 'Title' }, active: { value: true } })
            }
        })) as string;
        const [set] = (await apex.call('ConditionSetController', 'getConditionSets', {})) as SetRow[];
        const runId = await rest.create('Provisioning_Run__c', {
            Status__c: 'Previewed',
            Trigger__c: 'Manual'
        });
        await rest.create('Provisioning_Run_Action__c', {
            Run__c: runId,
            Key__c: `${runId}:contract-app:${org.ids.adminUserIds[0]}:create`,
            Connection__c: connectionId,
            User__c: org.ids.adminUserIds[0],
            Kind__c: 'Create',
            Status__c: 'Pending',
            Detail__c: JSON.stringify({ userName: 'admin@example.com', role: 'Admin', groups: ['Sales'] })
        });

        // Act and Assert
        const list = (await apex.call('ConnectionController', 'getConnections', {})) as {
            connections: { key: string; status: string; grantCount: number }[];
        };
        expect(keysOf(list)).toEqual(auraMembers('ConnectionController.ConnectionList'));
        const row = list.connections.find((connection) => connection.key === 'contract-app')!;
        expect(keysOf(row)).toEqual(auraMembers('ConnectionController.ConnectionRow'));
        expect(row.status).toBe('Not configured in the service');
        const one = await apex.call('ConnectionController', 'getConnection', { connectionId });
        expect(keysOf(one)).toEqual(auraMembers('ConnectionController.ConnectionRow'));
        const options = (await apex.call('ConnectionController', 'getMappingOptions', {})) as {
            fields: unknown[];
            matchOn: unknown[];
        };
        expect(keysOf(options)).toEqual(auraMembers('ConnectionController.MappingOptions'));
        expect(keysOf(options.fields[0])).toEqual(auraMembers('UserFieldCatalog.UserField'));
        expect(keysOf(options.matchOn[0])).toEqual(auraMembers('UserFieldCatalog.PicklistOption'));
        const test = (await apex.call('ConnectionController', 'testConnection', { connectionId })) as {
            configured: boolean;
        };
        expect(keysOf(test)).toEqual(auraMembers('ConnectionController.ConnectionTestResult'));
        expect(test.configured).toBe(false);
        const connectionOptions = (await apex.call(
            'ConnectionController',
            'getConnectionOptions',
            {}
        )) as unknown[];
        expect(keysOf(connectionOptions[0])).toEqual(auraMembers('UserFieldCatalog.PicklistOption'));
        const demoGrants = (await apex.call('ConnectionController', 'getAccessGrants', {
            conditionSetId: set.id
        })) as Record<string, unknown>[];
        await apex.call('ConditionSetController', 'saveConditionSet', {
            conditionSet: {
                ...setInput(set),
                grants: [{ connectionId, groups: ' Sales \n\nEMEA\nSales', role: 'Admin' }]
            }
        });
        const grants = (await apex.call('ConnectionController', 'getAccessGrants', {
            conditionSetId: set.id
        })) as { groups: string; connectionName: string }[];
        expect(keysOf(grants[0])).toEqual(auraMembers('ConnectionController.AccessGrantRow'));
        expect(grants).toEqual([
            expect.objectContaining({ groups: 'Sales\nEMEA', connectionName: 'Contract app', role: 'Admin' })
        ]);
        const actions = (await apex.call('ConnectionController', 'getRunActions', { runId })) as {
            connections: { kindTotals: unknown[]; actions: { summary: string }[] }[];
        };
        expect(keysOf(actions)).toEqual(auraMembers('ConnectionController.RunActions'));
        expect(keysOf(actions.connections[0])).toEqual(auraMembers('ConnectionController.ConnectionActions'));
        expect(keysOf(actions.connections[0].kindTotals[0])).toEqual(
            auraMembers('ConnectionController.ActionTotal')
        );
        expect(keysOf(actions.connections[0].actions[0])).toEqual(
            auraMembers('ConnectionController.ActionRow')
        );
        expect(actions.connections[0].actions[0].summary).toBe('userName admin@example.com; role Admin');

        // Refusals carry ConnectionController's messages
        await expect(apex.call('ConnectionController', 'deleteConnection', { connectionId })).rejects.toThrow(
            'Condition sets still grant Contract app (1 grant). Remove it from their Access section first.'
        );
        await expect(
            apex.call('ConnectionController', 'saveConnection', {
                connection: { name: 'Other', key: 'contract-app', matchOn: 'Email' }
            })
        ).rejects.toThrow('Another connection already has the key "contract-app". Choose another key.');
        await expect(
            apex.call('ConnectionController', 'saveConnection', {
                connection: { name: 'Bad', key: 'bad', attributeMap: '{"title":{"field":"NoSuchField__c"}}' }
            })
        ).rejects.toThrow(
            'The attribute mapping is not valid. "title" reads the User field "NoSuchField__c"'
        );
        // The demo set granted again what it granted before (as new grants).
        await apex.call('ConditionSetController', 'saveConditionSet', {
            conditionSet: { ...setInput(set), grants: demoGrants.map((grant) => ({ ...grant, id: null })) }
        });
        await apex.call('ConnectionController', 'deleteConnection', { connectionId });
    });
    it('when a set is saved with its access grants, then the set and its grants are saved together, all or nothing', async () => {
        // Arrange: two connections, a gone one, a valid definition, and groups the org refuses only at the write
        const org = service.localOrg!;
        const rest = new OrgRest({ url: org.url, clientId: org.clientId, clientSecret: org.clientSecret });
        const saveConnection = async (name: string, key: string) =>
            (await apex.call('ConnectionController', 'saveConnection', {
                connection: { name, key, active: true, matchOn: 'Email' }
            })) as string;
        const first = await saveConnection('Atomic one', 'atomic-one');
        const second = await saveConnection('Atomic two', 'atomic-two');
        const gone = await saveConnection('Atomic gone', 'atomic-gone');
        await apex.call('ConnectionController', 'deleteConnection', { connectionId: gone });
        // Each group short enough, together longer than Groups__c (32,768): refused by the org, not the checks.
        const tooLong = Array.from({ length: 200 }, (_, i) => `Group ${i} ${'x'.repeat(190)}`).join('\n');
        const draft = {
            id: null as string | null,
            name: 'Atomic set',
            description: null,
            active: false,
            products: [] as string[],
            eligibleStatuses: ['Not Invited'],
            definition: JSON.stringify({
                version: 1,
                conditions: [{ field: 'Department', operator: 'equals', value: 'Support' }]
            })
        };
        const setsNamed = async (name: string) =>
            ((await apex.call('ConditionSetController', 'getConditionSets', {})) as SetRow[]).filter(
                (set) => set.name === name
            );
        const grantCount = async () => (await rest.query('SELECT Id FROM Access_Grant__c')).length;
        const grantsBefore = await grantCount();

        // Act and Assert: a refused grant, checked or only written, leaves no set and no grant
        await expect(
            apex.call('ConditionSetController', 'saveConditionSet', {
                conditionSet: {
                    ...draft,
                    grants: [
                        { connectionId: first, groups: 'Sales', role: null },
                        { connectionId: gone, groups: 'Sales', role: null }
                    ]
                }
            })
        ).rejects.toThrow('Access 2: the connection no longer exists. Choose another.');
        await expect(
            apex.call('ConditionSetController', 'saveConditionSet', {
                conditionSet: {
                    ...draft,
                    grants: [
                        { connectionId: first, groups: 'Sales', role: null },
                        { connectionId: second, groups: tooLong, role: null }
                    ]
                }
            })
        ).rejects.toThrow('The access could not be saved, so the condition set was not saved either:');
        expect(await setsNamed('Atomic set')).toEqual([]);
        expect(await grantCount()).toBe(grantsBefore);

        // A set granting access only, saved with its valid grants in the one call
        const setId = (await apex.call('ConditionSetController', 'saveConditionSet', {
            conditionSet: {
                ...draft,
                grants: [
                    { connectionId: first, groups: ' Sales \nEMEA', role: 'Admin' },
                    { connectionId: second, groups: '', role: null }
                ]
            }
        })) as string;
        const saved = (await apex.call('ConnectionController', 'getAccessGrants', {
            conditionSetId: setId
        })) as { id: string; connectionId: string; groups: string; role: string | null }[];
        expect(saved).toMatchObject([
            { connectionId: first, groups: 'Sales\nEMEA', role: 'Admin' },
            { connectionId: second, groups: '', role: null }
        ]);

        // An edit refused at the grant's write leaves the set and its grants as they were
        await expect(
            apex.call('ConditionSetController', 'saveConditionSet', {
                conditionSet: {
                    ...draft,
                    id: setId,
                    name: 'Atomic set renamed',
                    grants: [{ id: saved[0].id, connectionId: first, groups: tooLong, role: null }]
                }
            })
        ).rejects.toThrow('The access could not be saved, so the condition set was not saved either:');
        expect(await setsNamed('Atomic set')).toHaveLength(1);
        expect(await apex.call('ConnectionController', 'getAccessGrants', { conditionSetId: setId })).toEqual(
            saved.map((grant) =>
                expect.objectContaining({ connectionId: grant.connectionId, groups: grant.groups })
            )
        );

        // An edit replaces the grants: the kept one updated in place, the removed one deleted
        await apex.call('ConditionSetController', 'saveConditionSet', {
            conditionSet: {
                ...draft,
                id: setId,
                grants: [{ id: saved[0].id, connectionId: first, groups: 'Sales', role: '' }]
            }
        });
        expect(await apex.call('ConnectionController', 'getAccessGrants', { conditionSetId: setId })).toEqual(
            [expect.objectContaining({ id: saved[0].id, connectionId: first, groups: 'Sales', role: null })]
        );

        // Removing the last grant of a set without product is refused, and removes nothing
        await expect(
            apex.call('ConditionSetController', 'saveConditionSet', {
                conditionSet: { ...draft, id: setId, grants: [] }
            })
        ).rejects.toThrow('Choose a product, or grant access in an app in the Access section.');
        expect(
            await apex.call('ConnectionController', 'getAccessGrants', { conditionSetId: setId })
        ).toHaveLength(1);
        await apex.call('ConditionSetController', 'deleteConditionSet', { conditionSetId: setId });
        await apex.call('ConnectionController', 'deleteConnection', { connectionId: first });
        await apex.call('ConnectionController', 'deleteConnection', { connectionId: second });
    });
    it('when the service cannot be reached, then the connections are still listed, each "Service unreachable"', async () => {
        // Arrange: the same org, a service URL nothing listens on (port 1 refuses connections)
        const org = service.localOrg!;
        const rest = new OrgRest({ url: org.url, clientId: org.clientId, clientSecret: org.clientSecret });
        const offline = new LocalApex(
            rest,
            { url: 'http://127.0.0.1:1', secret: 'unused' },
            org.ids.adminUserIds[0],
            org.ids.orgId
        );
        const connectionId = (await apex.call('ConnectionController', 'saveConnection', {
            connection: { name: 'Offline app', key: 'offline-app', active: true, matchOn: 'Username' }
        })) as string;

        // Act
        const list = (await offline.call('ConnectionController', 'getConnections', {})) as {
            serviceReachable: boolean;
            serviceMessage: string;
            connections: { key: string; status: string }[];
        };

        // Assert
        expect(list.serviceReachable).toBe(false);
        expect(list.serviceMessage).toMatch(/could not be reached/);
        expect(list.connections.find((connection) => connection.key === 'offline-app')?.status).toBe(
            'Service unreachable'
        );
        await apex.call('ConnectionController', 'deleteConnection', { connectionId });
    });
    // Connections (issue 19): end
    // Taking access away (issue 20): begin
    it('when the deprovisioning screens call ConnectionController, then the answers and refusals are those of Apex', async () => {
        // Arrange: a connection with deprovisioning on, saved through the surface
        const connectionId = (await apex.call('ConnectionController', 'saveConnection', {
            connection: {
                name: 'Taking away',
                key: 'taking-away',
                active: true,
                matchOn: 'Email',
                deprovisioning: 'Deactivate',
                graceDays: 3,
                breakerMaxCount: null,
                breakerMaxPercent: 40
            }
        })) as string;

        // Act and Assert: the settings as stored
        expect(await apex.call('ConnectionController', 'getConnection', { connectionId })).toMatchObject({
            deprovisioning: 'Deactivate',
            graceDays: 3,
            breakerMaxCount: null,
            breakerMaxPercent: 40
        });
        await expect(
            apex.call('ConnectionController', 'saveConnection', {
                connection: {
                    id: connectionId,
                    name: 'Taking away',
                    key: 'taking-away',
                    deprovisioning: 'Delete',
                    graceDays: -1,
                    breakerMaxCount: 1.5,
                    breakerMaxPercent: 101
                }
            })
        ).rejects.toThrow(
            'Choose Off or Deactivate for Deprovisioning (not "Delete"). Grace days must be a whole number from 0 to 9999 (blank means 7). Breaker max count must be a whole number, 0 or more (blank means 50). Breaker max percent must be a whole number from 0 to 100 (blank means 20).'
        );
        const pending = await apex.call('ConnectionController', 'getPendingDeactivations', { connectionId });
        expect(keysOf(pending)).toEqual(auraMembers('ConnectionController.PendingDeactivations'));
        expect(pending).toMatchObject({ connectionKey: 'taking-away', graceDays: 3, pending: [] });
        await expect(apex.call('ConnectionController', 'compareWithApp', { connectionId })).rejects.toThrow(
            'not configured in the service'
        );
        await expect(
            apex.call('ConnectionController', 'adoptAccounts', { connectionId, appIds: [], adoptAll: false })
        ).rejects.toThrow('Choose the accounts to adopt, or adopt all adoptable accounts.');
        await expect(
            apex.call('ConnectionController', 'approveHeldRemovals', { runId: null })
        ).rejects.toThrow('Choose the run whose held removals to approve.');
        await apex.call('ConnectionController', 'deleteConnection', { connectionId });
    });
    // Taking access away (issue 20): end
});
