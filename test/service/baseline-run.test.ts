/**
 * Which run an incremental scheduled run builds on. Watermarks come from the org's Date header (whole
 * seconds), so two runs a second apart or less share one: the later run must win the tie, or the next run
 * compares its sets with an older run's and evaluates in full for nothing ("the active condition sets
 * changed since run …").
 */
import type { LocalOrg } from '../../service/src/local-org';
import { ChangeStore, type OrgStore } from '../../service/src/domain/org-store';
import { orgStore, removeDir, startTestOrg } from './support/stack';

let org: LocalOrg;
let dataDir: string;
let store: OrgStore;
let changes: ChangeStore;

beforeAll(async () => {
    ({ org, dataDir } = await startTestOrg({ users: 20, seed: 5 }));
    store = orgStore(org);
    changes = new ChangeStore(store.org);
});

afterAll(async () => {
    await org?.stop();
    removeDir(dataDir);
});

async function completedRun(watermark: string, setsHash: string): Promise<string> {
    const [created] = await store.org.create('Provisioning_Run__c', [
        {
            Status__c: 'Completed',
            Trigger__c: 'Scheduled',
            Watermark__c: watermark,
            Evaluated_At__c: watermark,
            Sets_Hash__c: setsHash
        }
    ]);
    return String(created.id);
}

describe('the baseline of an incremental run', () => {
    it('when two completed runs share a watermark second, then the one recorded last is the baseline', async () => {
        // Arrange: three runs in one second of the org's clock, recorded one after another
        const second = '2026-12-07T06:00:00.000Z';
        await completedRun(second, 'first');
        await completedRun(second, 'second');
        const last = await completedRun(second, 'last');

        // Act
        const { baseline } = await changes.baselineRun();

        // Assert
        expect(baseline?.Id).toBe(last);
        expect(baseline?.Sets_Hash__c).toBe('last');
    });

    it('when the current run is named, then it is read beside the latest other run, whatever their order', async () => {
        // Arrange: the current run, not finished yet (no watermark), and two finished ones sharing a second
        const second = '2026-12-07T07:00:00.000Z';
        await completedRun(second, 'earlier');
        const latest = await completedRun(second, 'latest');
        const [current] = await store.org.create('Provisioning_Run__c', [
            { Status__c: 'Running', Trigger__c: 'Scheduled' }
        ]);

        // Act
        const runs = await changes.baselineRun(String(current.id));

        // Assert
        expect(runs.current?.Id).toBe(String(current.id));
        expect(runs.baseline?.Id).toBe(latest);
    });
});
