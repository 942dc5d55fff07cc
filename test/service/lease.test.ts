/**
 * The lease's own rules, on a scripted org and a hand-driven monotonic clock: what a claim does after a
 * lost answer, and when a holder may act. (Real processes racing for it: race.test.ts.)
 */
import type { LeaseRecord, OrgStore } from '../../service/src/domain/org-store';
import { AppError } from '../../service/src/errors';
import { createLogger } from '../../service/src/logger';
import type { SObjectRecord, WriteResult } from '../../service/src/ports';
import { LeaseKeeper } from '../../service/src/use-cases/run/claim';

const TTL_SECONDS = 120;
const NOW = new Date('2026-12-01T12:00:00Z');

/** An org holding lease records; `insert` says what the next insert does. */
function scriptedOrg(existing: LeaseRecord[] = []) {
    const leases = [...existing];
    const org = {
        insert: 'apply' as 'apply' | 'apply-then-lose-answer' | 'lose-before-applying',
        updates: [] as SObjectRecord[][],
        updateAnswer: { success: true, errors: [] } as WriteResult,
        leases,
        store: {
            latestLease: async () => [...leases].sort((a, b) => b.Epoch__c - a.Epoch__c)[0],
            leaseByKey: async (key: string) => leases.find((lease) => lease.Key__c === key),
            insertLease: async (fields: Omit<LeaseRecord, 'Id'>): Promise<WriteResult> => {
                if (org.insert === 'lose-before-applying') {
                    throw new AppError('ORG_UNAVAILABLE', 'socket hang up', { details: { ambiguous: true } });
                }
                if (leases.some((lease) => lease.Key__c === fields.Key__c)) {
                    return { success: false, errors: ['DUPLICATE_VALUE: duplicate value found: Key__c'] };
                }
                const id = `a0E5g00000000${String(leases.length + 1).padStart(2, '0')}AAA`;
                leases.push({ ...fields, Id: id } as LeaseRecord);
                if (org.insert === 'apply-then-lose-answer') {
                    throw new AppError('ORG_UNAVAILABLE', 'socket hang up', { details: { ambiguous: true } });
                }
                return { id, success: true, errors: [] };
            },
            update: async (records: SObjectRecord[]) => {
                org.updates.push(records);
                return records.map(() => org.updateAnswer);
            }
        } as unknown as OrgStore
    };
    return org;
}

function keeper(store: OrgStore, monotonic: { now: number }) {
    return new LeaseKeeper(
        store,
        { now: () => NOW },
        TTL_SECONDS,
        'test-host:1',
        createLogger('silent'),
        () => monotonic.now
    );
}

const lease = (epoch: number, fields: Partial<LeaseRecord> = {}): LeaseRecord => ({
    Id: `a0E5g0000000${String(epoch).padStart(3, '0')}AAA`,
    Key__c: `provisioning:${epoch}`,
    Epoch__c: epoch,
    Holder__c: 'other-host:9/token',
    Expires_At__c: new Date(NOW.getTime() + 60_000).toISOString(),
    Released_At__c: null,
    ...fields
});

describe('claiming the lease', () => {
    it('when the current epoch is live, then the claim fails naming its holder and inserts nothing', async () => {
        const org = scriptedOrg([lease(4, { Run_Id__c: 'a0D5g0000000001EAA' })]);

        const outcome = await keeper(org.store, { now: 0 }).claim('execute');

        expect(outcome).toEqual({
            heldBy: expect.objectContaining({ Epoch__c: 4, Run_Id__c: 'a0D5g0000000001EAA' })
        });
        expect(org.leases).toHaveLength(1);
    });

    it.each([
        ['released', { Released_At__c: NOW.toISOString() }],
        ['expired', { Expires_At__c: new Date(NOW.getTime() - 1).toISOString() }]
    ])('when the current epoch is %s, then the claim inserts the next one', async (_why, fields) => {
        const org = scriptedOrg([lease(4, fields)]);

        const outcome = await keeper(org.store, { now: 0 }).claim('resume', 'a0D5g0000000001EAA');

        expect(outcome).toEqual({
            lease: expect.objectContaining({ epoch: 5, runId: 'a0D5g0000000001EAA' })
        });
        expect(org.leases[1]).toMatchObject({
            Key__c: 'provisioning:5',
            Purpose__c: 'resume',
            Expires_At__c: new Date(NOW.getTime() + TTL_SECONDS * 1000).toISOString()
        });
    });

    it('when another caller inserted the same epoch first, then the claim fails naming it', async () => {
        const org = scriptedOrg([lease(4, { Released_At__c: NOW.toISOString() })]);
        const first = await keeper(org.store, { now: 0 }).claim('scheduled');
        // The second caller read epoch 4 before the first insert landed.
        const stale = scriptedOrg([lease(4, { Released_At__c: NOW.toISOString() })]);
        stale.store.latestLease = async () => lease(4, { Released_At__c: NOW.toISOString() });
        stale.store.insertLease = org.store.insertLease;
        stale.store.leaseByKey = org.store.leaseByKey;

        const second = await keeper(stale.store, { now: 0 }).claim('scheduled');

        expect(first).toHaveProperty('lease');
        expect(second).toEqual({ heldBy: expect.objectContaining({ Epoch__c: 5 }) });
        expect(org.leases).toHaveLength(2);
    });

    it('when the insert was applied but its answer lost, then the claim reads it back and recognises its own token', async () => {
        const org = scriptedOrg();
        org.insert = 'apply-then-lose-answer';

        const outcome = await keeper(org.store, { now: 0 }).claim('execute');

        expect(outcome).toEqual({ lease: expect.objectContaining({ epoch: 1, id: org.leases[0].Id }) });
        expect(org.leases).toHaveLength(1);
    });

    it('when the insert may not have been applied and nothing is there, then the claim says to try again', async () => {
        const org = scriptedOrg();
        org.insert = 'lose-before-applying';

        await expect(keeper(org.store, { now: 0 }).claim('execute')).rejects.toMatchObject({
            code: 'ORG_UNAVAILABLE',
            message: expect.stringContaining('try again')
        });
    });
});

describe('acting under the lease', () => {
    const HALF_TTL_MS = (TTL_SECONDS * 1000) / 2;

    async function held() {
        const org = scriptedOrg();
        const clock = { now: 1_000 };
        const leases = keeper(org.store, clock);
        const outcome = await leases.claim('execute');
        if (!('lease' in outcome)) throw new Error('not claimed');
        return { org, clock, leases, lease: outcome.lease };
    }

    it('when half the lifetime has passed without a renewal, then the holder may no longer act', async () => {
        const { clock, leases, lease: claimed } = await held();

        clock.now += HALF_TTL_MS - 1;
        expect(leases.valid(claimed)).toBe(true);
        clock.now += 1;
        expect(leases.valid(claimed)).toBe(false);
    });

    it('when a renewal is confirmed quickly, then the holder may act half a lifetime from its start', async () => {
        const { clock, leases, lease: claimed } = await held();
        clock.now += 30_000;

        const renewal = leases.renewal(claimed);
        clock.now += 1_000;
        renewal.settle({ success: true, errors: [] });

        expect(renewal.record).toMatchObject({ Id: claimed.id, Expires_At__c: expect.any(String) });
        clock.now += HALF_TTL_MS - 1_001;
        expect(leases.valid(claimed)).toBe(true);
        clock.now += 1;
        expect(leases.valid(claimed)).toBe(false);
    });

    it('when a renewal is answered later than a quarter of the lifetime, then it does not extend the lease', async () => {
        const { clock, leases, lease: claimed } = await held();
        clock.now += 20_000;
        const renewal = leases.renewal(claimed);
        clock.now += (TTL_SECONDS * 1000) / 4;
        renewal.settle({ success: true, errors: [] });

        clock.now = 1_000 + HALF_TTL_MS;
        expect(leases.valid(claimed)).toBe(false);
    });

    it('when the lease already lapsed, then a renewal never revives it (another instance may hold the next epoch)', async () => {
        const { clock, leases, lease: claimed } = await held();
        clock.now += HALF_TTL_MS + 1;

        const renewal = leases.renewal(claimed);
        renewal.settle({ success: true, errors: [] });

        expect(leases.valid(claimed)).toBe(false);
    });

    it('when a renewal fails, then the lease is not extended', async () => {
        const { clock, leases, lease: claimed } = await held();
        clock.now += 10_000;
        leases.renewal(claimed).settle(undefined);

        clock.now = 1_000 + HALF_TTL_MS;
        expect(leases.valid(claimed)).toBe(false);
    });

    it('when the lease is released, then the holder may no longer act and a second release writes nothing', async () => {
        const { org, leases, lease: claimed } = await held();

        await leases.release(claimed);
        await leases.release(claimed);

        expect(leases.valid(claimed)).toBe(false);
        expect(org.updates).toHaveLength(1);
        expect(org.updates[0][0]).toMatchObject({ Id: claimed.id, Released_At__c: NOW.toISOString() });
    });
});
