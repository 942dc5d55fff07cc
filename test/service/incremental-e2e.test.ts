/**
 * Incremental scheduled syncs end to end: real scheduled runs through the service (jsforce to the local
 * org, invitations to an SMTP server), with the org's clock and the service's clock moved together.
 */
import type { LocalOrg } from '../../service/src/local-org';
import type { RunningService } from '../../service/src/main';
import type { OrgStore } from '../../service/src/domain/org-store';
import { Evaluator } from '../../service/src/use-cases/evaluation';
import { startSmtpSink, type SmtpSink } from './support/peers';
import {
    TEST_DATA_DIR,
    api,
    deactivateAllSets,
    orgStore,
    removeDir,
    serviceEnv,
    startService,
    startTestOrg
} from './support/stack';

const DAY_MS = 86_400_000;

let org: LocalOrg;
let dataDir: string;
let smtp: SmtpSink;
let service: RunningService;
let store: OrgStore;

beforeAll(async () => {
    ({ org, dataDir } = await startTestOrg({ users: 300, seed: 21 }));
    smtp = await startSmtpSink();
    // The service's clock is the org's: the tests move both by days.
    service = await startService(org, serviceEnv(smtp), { clock: { now: () => new Date(org.clock.now()) } });
    store = orgStore(org);
    await deactivateAllSets(store);
    await store.org.create('Condition_Set__c', [
        {
            Name: 'Account Executives',
            Active__c: true,
            Products__c: 'Meeting Links;Round Robin',
            Eligible_Statuses__c: 'Not Invited;Expired',
            Definition__c: JSON.stringify({
                version: 1,
                conditions: [
                    { field: 'Title', operator: 'equals', value: 'Account Executive' },
                    { field: 'CreatedDate', operator: 'withinLastDays', value: 400 }
                ]
            })
        }
    ]);
});

afterAll(async () => {
    await service?.stop();
    await smtp?.close();
    await org?.stop();
    removeDir(dataDir);
    removeDir(TEST_DATA_DIR);
});

/** Who a full evaluation would invite now, as `<userId>:<products>`. */
async function fullEvaluation(): Promise<string[]> {
    const evaluation = await new Evaluator(store, { now: () => new Date(org.clock.now()) }).evaluate();
    return evaluation.entries
        .map((entry) => `${entry.userId}:${[...entry.products].sort().join(';')}`)
        .sort();
}

async function scheduledRun(body: Record<string, unknown> = {}) {
    org.clock.advance(15 * 60_000);
    const response = await api(service, 'POST', '/v1/runs', { trigger: 'scheduled', ...body });
    expect(response.status).toBe(202);
    const runId = String(response.body.runId);
    await service.provisioning.waitForRun(runId);
    const run = await store.org.query<Record<string, unknown>>(
        `SELECT Id, Status__c, Evaluation_Kind__c, Evaluation_Reason__c, Watermark__c, Evaluated_Count__c FROM Provisioning_Run__c WHERE Id = '${runId}'`
    );
    const items = (await store.items(runId)).map(
        (item) => `${item.User__c}:${(item.Products__c ?? '').split(';').sort().join(';')}`
    );
    return { runId, run: run[0], items: items.sort() };
}

async function accountExecutives(count: number): Promise<{ Id: string }[]> {
    return store.org.query<{ Id: string }>(
        `SELECT Id FROM User WHERE IsActive = true AND UserType = 'Standard' AND Title != 'Account Executive' AND Email != null ORDER BY Id LIMIT ${count}`
    );
}

describe('incremental scheduled syncs, end to end', () => {
    it('when the first scheduled run has nothing to build on, then it evaluates fully and says so in the audit', async () => {
        const expected = await fullEvaluation();

        const { runId, run, items } = await scheduledRun();

        expect(run).toMatchObject({ Status__c: 'Completed', Evaluation_Kind__c: 'Full' });
        expect(run.Evaluation_Reason__c).toBe('no completed run to build on');
        expect(run.Watermark__c).toEqual(expect.any(String));
        expect(items).toEqual(expected);
        const audit = smtp.messages.find((m) => m.subject?.includes(runId) || m.text?.includes(runId));
        expect(audit?.text).toContain('Evaluation: Full: no completed run to build on');
    });

    it('when users change between scheduled runs, then the next run is incremental and invites exactly whom a full evaluation would', async () => {
        const [promoted, other] = await accountExecutives(2);
        await store.update([
            { attributes: { type: 'User' }, Id: promoted.Id, Title: 'Account Executive' },
            { attributes: { type: 'User' }, Id: other.Id, Department: 'Changed' }
        ]);
        const [invitedBefore] = await store.org.query<{ User__c: string; Product__c: string }>(
            "SELECT User__c, Product__c FROM Calendar_Authorization__c WHERE Status__c = 'Invited' AND Product__c = 'Meeting Links' LIMIT 1"
        );
        await store.upsertAuthorizations([
            {
                Key__c: `${invitedBefore.User__c}:Meeting Links`,
                User__c: invitedBefore.User__c,
                Product__c: 'Meeting Links',
                Status__c: 'Expired'
            }
        ]);
        smtp.messages.length = 0;
        const expected = await fullEvaluation();

        const { runId, run, items } = await scheduledRun();

        expect(run).toMatchObject({ Status__c: 'Completed', Evaluation_Kind__c: 'Incremental' });
        expect(items).toEqual(expected);
        expect(items.map((item) => item.split(':')[0])).toEqual(
            expect.arrayContaining([promoted.Id, invitedBefore.User__c])
        );
        const audit = smtp.messages.find((m) => m.text?.includes(runId));
        expect(audit?.text).toMatch(/Evaluation: Incremental: changes since run/);
    });

    it('when a set changes, or a full run is asked for, or a day passes, then the scheduled run evaluates fully and says why', async () => {
        const [set] = await store.org.query<{ Id: string }>(
            'SELECT Id FROM Condition_Set__c WHERE Active__c = true LIMIT 1'
        );
        await store.update([
            {
                attributes: { type: 'Condition_Set__c' },
                Id: set.Id,
                Eligible_Statuses__c: 'Not Invited;Expired;Revoked'
            }
        ]);
        const changed = await scheduledRun();
        const requested = await scheduledRun({ full: true });
        org.clock.advance(DAY_MS + 60_000);
        const daily = await scheduledRun();

        expect(changed.run.Evaluation_Kind__c).toBe('Full');
        expect(changed.run.Evaluation_Reason__c).toMatch(/active condition sets changed/);
        expect(requested.run).toMatchObject({
            Evaluation_Kind__c: 'Full',
            Evaluation_Reason__c: 'full evaluation requested'
        });
        expect(daily.run.Evaluation_Kind__c).toBe('Full');
        expect(daily.run.Evaluation_Reason__c).toMatch(/^daily full evaluation/);
    });

    it('when random changes and days pass between scheduled runs, then every run invites what a full evaluation would', async () => {
        let random = 7;
        const next = () => (random = (random * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
        const users = await store.org.query<{ Id: string }>(
            "SELECT Id FROM User WHERE UserType = 'Standard' AND Email != null ORDER BY Id LIMIT 120"
        );
        let incremental = 0;
        for (let round = 0; round < 4; round++) {
            for (let change = 0; change < 3; change++) {
                const user = users[Math.floor(next() * users.length)];
                const choice = next();
                if (choice < 0.4)
                    await store.update([
                        {
                            attributes: { type: 'User' },
                            Id: user.Id,
                            Title: next() < 0.5 ? 'Account Executive' : 'Sales Manager'
                        }
                    ]);
                else if (choice < 0.6)
                    await store.update([
                        { attributes: { type: 'User' }, Id: user.Id, IsActive: next() < 0.5 }
                    ]);
                else if (choice < 0.8)
                    await store.upsertAuthorizations([
                        {
                            Key__c: `${user.Id}:Round Robin`,
                            User__c: user.Id,
                            Product__c: 'Round Robin',
                            Status__c: next() < 0.5 ? 'Expired' : 'Authorized'
                        }
                    ]);
                else org.clock.advance(Math.floor(next() * 10) * 3_600_000);
            }
            const expected = await fullEvaluation();
            const { run, items } = await scheduledRun();
            if (run.Evaluation_Kind__c === 'Incremental') incremental++;
            expect(items).toEqual(expected);
        }
        expect(incremental).toBeGreaterThan(0);
    });
});
