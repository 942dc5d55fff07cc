/**
 * Lease records do not pile up (use-cases/run/claim.ts `prune`, run by the sweep once a day): against the
 * local org over HTTP, the records that lapsed before the cut-off are deleted, the latest never, and claims
 * made while a prune runs still number on from the latest epoch.
 */
import { LEASE, type LeaseRecord, type OrgStore } from '../../service/src/domain/org-store';
import type { LocalOrg } from '../../service/src/local-org';
import { createLogger } from '../../service/src/logger';
import { LeaseKeeper } from '../../service/src/use-cases/run/claim';
import { startSmtpSink } from './support/peers';
import { orgStore, removeDir, serviceEnv, startService, startTestOrg } from './support/stack';

jest.setTimeout(60_000);

const DAY_MS = 24 * 3600_000;
const NOW = new Date('2026-12-01T12:00:00Z');

let org: LocalOrg;
let dataDir: string;
let store: OrgStore;

beforeAll(async () => {
    ({ org, dataDir } = await startTestOrg({ users: 50 }));
    store = orgStore(org);
});

afterAll(async () => {
    await store.org.close();
    await org.stop();
    removeDir(dataDir);
});

function keeper(): LeaseKeeper {
    return new LeaseKeeper(store, { now: () => new Date() }, 120, 'prune-test:1', createLogger('silent'));
}

async function leases(): Promise<LeaseRecord[]> {
    return store.org.query<LeaseRecord>(`SELECT Id, Epoch__c, Expires_At__c FROM ${LEASE} ORDER BY Epoch__c`);
}

/** Lease records of these epochs, each lapsed `daysAgo[i]` days before NOW (all released but the last). */
async function seedLeases(firstEpoch: number, daysAgo: number[]): Promise<void> {
    const results = await store.org.create(
        LEASE,
        daysAgo.map((days, index) => ({
            Key__c: `provisioning:${firstEpoch + index}`,
            Epoch__c: firstEpoch + index,
            Holder__c: 'earlier-host/token',
            Purpose__c: 'scheduled',
            Expires_At__c: new Date(NOW.getTime() - days * DAY_MS).toISOString(),
            Released_At__c:
                index < daysAgo.length - 1
                    ? new Date(NOW.getTime() - days * DAY_MS - 60_000).toISOString()
                    : null
        }))
    );
    expect(results.every((result) => result.success)).toBe(true);
}

describe('lease pruning', () => {
    it('when leases lapsed before the cut-off, then they are deleted, newer ones and the latest kept', async () => {
        // Epochs 1-5 lapsed 90-40 days ago, 6-7 ten and two days ago.
        await seedLeases(1, [90, 80, 60, 50, 40, 10, 2]);
        const cutoff = new Date(NOW.getTime() - 30 * DAY_MS);

        const pruned = await keeper().prune(cutoff);

        expect(pruned).toBe(5);
        expect((await leases()).map((lease) => lease.Epoch__c)).toEqual([6, 7]);
        // A second prune finds nothing more (and a retried delete would have changed nothing).
        expect(await keeper().prune(cutoff)).toBe(0);
        expect(await store.deleteRecords([(await leases())[0].Id, (await leases())[0].Id])).toEqual([
            expect.objectContaining({ success: true }),
            expect.objectContaining({ success: false, errors: [expect.stringMatching(/^ENTITY_IS_DELETED/)] })
        ]);
        expect((await leases()).map((lease) => lease.Epoch__c)).toEqual([7]);
    });

    it('when every lease lapsed long ago, then the latest is kept and the next claim numbers on from it', async () => {
        // Epoch 7 (left by the test above) lapsed two days ago: with a cut-off in the future it qualifies.
        const pruned = await keeper().prune(new Date(Date.now() + DAY_MS));

        expect(pruned).toBe(0);
        expect((await leases()).map((lease) => lease.Epoch__c)).toEqual([7]);
        const claimed = await keeper().claim('scheduled');
        expect('lease' in claimed && claimed.lease.epoch).toBe(8);
    });

    it('when claims race a prune, then every claim gets its own next epoch and only lapsed ones go', async () => {
        await store.org.update([
            ...(await leases()).map((lease) => ({
                attributes: { type: LEASE },
                Id: lease.Id,
                Released_At__c: new Date().toISOString(),
                Expires_At__c: new Date(NOW.getTime() - 100 * DAY_MS).toISOString()
            }))
        ]);
        const racing = keeper();
        const claims: number[] = [];
        const prunes: Promise<number>[] = [];
        for (let round = 0; round < 5; round++) {
            prunes.push(racing.prune(new Date(NOW.getTime() - 30 * DAY_MS)));
            const outcome = await racing.claim('scheduled');
            if (!('lease' in outcome)) throw new Error('the lease was held');
            claims.push(outcome.lease.epoch);
            await racing.release(outcome.lease);
        }
        await Promise.all(prunes);

        expect(claims).toEqual([9, 10, 11, 12, 13]);
        // The claimed leases have not lapsed (their expiry is ahead): none was deleted.
        const left = (await leases()).map((lease) => lease.Epoch__c);
        expect(left).toEqual(expect.arrayContaining([9, 10, 11, 12, 13]));
        expect(left).not.toContain(7);
    });

    it("when a service's sweep runs, then it prunes the leases that lapsed more than 30 days ago", async () => {
        const before = (await leases()).map((lease) => lease.Epoch__c);
        // Epochs 20-22: lapsed 45 and 31 days ago, and 29 days ago (kept: within the 30 days).
        await seedLeases(20, [45, 31, 29]);
        await store.org.update([
            {
                attributes: { type: LEASE },
                Id: (await leases()).at(-1)!.Id,
                Released_At__c: NOW.toISOString()
            }
        ]);
        const smtp = await startSmtpSink();
        const service = await startService(org, serviceEnv(smtp), {
            clock: { now: () => NOW }
        });
        try {
            await service.provisioning.sweep();
        } finally {
            await service.stop();
            await smtp.close();
        }

        const left = (await leases()).map((lease) => lease.Epoch__c);
        expect(left).toEqual([...before.filter((epoch) => epoch >= 9), 22]);
    });
});
