/**
 * Claim: one run per org, across every service instance and process death (DESIGN §6).
 *
 * The right to execute provisioning is a lease in the org: `Rollcall_Lease__c` records numbered by epoch,
 * `Key__c = provisioning:<epoch>` unique. To claim, a caller reads the highest epoch N; if that lease is
 * released or expired it *inserts* epoch N+1. Salesforce's unique index lets exactly one of the callers
 * inserting the same key succeed; the others get DUPLICATE_VALUE and lose. Nothing is updated in place to
 * claim, so there is no check-then-write: the insert is the check.
 *
 * - Lost response: the insert is never retried blindly. After an ambiguous failure (or DUPLICATE_VALUE)
 *   the caller reads epoch N+1 back: the random token in Holder__c says whether the claim is its own.
 * - Holder death: the lease expires `ttl` after its last renewal (renewals ride on the run's heartbeat
 *   write, no extra call), and the next claim takes epoch N+1.
 * - Fencing: a holder sends only while its lease is surely valid: until half the ttl after the start of its
 *   last renewal that was confirmed within a quarter of the ttl. Nobody can claim N+1 before the ttl has
 *   passed, so the two never overlap while clocks agree within a quarter of the ttl (NTP does far better).
 *   A holder past that point stops sending; its run is resumed by whoever claims next (itself included).
 * - Release: the holder stamps Released_At__c when its run finished, failed or was parked, so the next
 *   claim need not wait for the expiry.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { LEASE, type LeaseRecord, type OrgStore } from '../../domain/org-store';
import { AppError, describeError } from '../../errors';
import type { Logger } from '../../logger';
import type { Clock, SObjectRecord, WriteResult } from '../../ports';

const KEY_PREFIX = 'provisioning:';

export type LeasePurpose = 'execute' | 'scheduled' | 'resume';

/** A lease this process holds. */
export interface Lease {
    readonly id: string;
    readonly epoch: number;
    /** The random part of Holder__c: unique to this claim (scheduled runs use it as their Run_Key__c). */
    readonly token: string;
    runId?: string;
    /** performance.now() until which this holder may act (send mail). */
    validUntil: number;
    released: boolean;
}

export type ClaimOutcome = { lease: Lease } | { heldBy: LeaseRecord };

export interface Renewal {
    record: SObjectRecord;
    /** Call with the write's result for `record`. */
    settle(result: WriteResult | undefined): void;
}

export function isLive(lease: LeaseRecord, now: Date): boolean {
    return !lease.Released_At__c && !!lease.Expires_At__c && Date.parse(lease.Expires_At__c) > now.getTime();
}

function ambiguous(error: unknown): boolean {
    return error instanceof AppError && error.details?.ambiguous === true;
}

export class LeaseKeeper {
    private readonly ttlMs: number;

    constructor(
        private readonly store: OrgStore,
        private readonly clock: Clock,
        ttlSeconds: number,
        private readonly instance: string,
        private readonly logger: Logger,
        private readonly monotonic: () => number = () => performance.now()
    ) {
        this.ttlMs = ttlSeconds * 1000;
    }

    /** The live lease, if some instance holds one. */
    async holder(): Promise<LeaseRecord | undefined> {
        const latest = await this.store.latestLease();
        return latest && isLive(latest, this.clock.now()) ? latest : undefined;
    }

    async claim(purpose: LeasePurpose, runId?: string): Promise<ClaimOutcome> {
        const latest = await this.store.latestLease();
        const now = this.clock.now();
        if (latest && isLive(latest, now)) return { heldBy: latest };
        const epoch = (latest?.Epoch__c ?? 0) + 1;
        const key = `${KEY_PREFIX}${epoch}`;
        const token = randomUUID();
        const holder = `${this.instance}/${token}`.slice(0, 120);
        const started = this.monotonic();
        let result: WriteResult | undefined;
        try {
            result = await this.store.insertLease({
                Key__c: key,
                Epoch__c: epoch,
                Holder__c: holder,
                Run_Id__c: runId ?? null,
                Purpose__c: purpose,
                Expires_At__c: new Date(now.getTime() + this.ttlMs).toISOString()
            });
        } catch (error) {
            if (!ambiguous(error)) throw error;
            this.logger.warn({ err: describeError(error), key }, 'Lease insert unanswered; reading it back');
        }
        const lease = (id: string): { lease: Lease } => ({
            lease: { id, epoch, token, runId, validUntil: this.validUntil(started), released: false }
        });
        if (result?.success && result.id) return lease(result.id);
        if (result && !result.errors.some((error) => error.startsWith('DUPLICATE_VALUE'))) {
            throw new AppError(
                'ORG_REQUEST_FAILED',
                `Could not claim the provisioning lease: ${result.errors.join('; ')}`
            );
        }
        const winner = await this.store.leaseByKey(key);
        if (winner?.Holder__c === holder) {
            // Our insert was applied and only its response lost. Its renewal clock started before the insert.
            return lease(winner.Id);
        }
        if (!winner) {
            throw new AppError(
                'ORG_UNAVAILABLE',
                'Could not claim the provisioning lease: the org did not answer the claim; try again'
            );
        }
        return { heldBy: winner };
    }

    /** Nobody else can have claimed while this is true; a holder acts (sends) only then. */
    valid(lease: Lease): boolean {
        return !lease.released && this.monotonic() < lease.validUntil;
    }

    /** The lease's renewal, to write beside the run's heartbeat (one composite call). */
    renewal(lease: Lease): Renewal {
        const started = this.monotonic();
        const stillValid = this.valid(lease);
        return {
            record: {
                attributes: { type: LEASE },
                Id: lease.id,
                Run_Id__c: lease.runId ?? null,
                Expires_At__c: new Date(this.clock.now().getTime() + this.ttlMs).toISOString()
            },
            settle: (result) => {
                const answeredIn = this.monotonic() - started;
                // A lapsed lease is never revived: another instance may have claimed the next epoch meanwhile.
                // A late answer proves nothing about when the org applied it.
                if (stillValid && result?.success && answeredIn < this.ttlMs / 4) {
                    lease.validUntil = Math.max(lease.validUntil, this.validUntil(started));
                }
            }
        };
    }

    /**
     * The release, to write beside the run's final record (one composite call): from then on this holder
     * acts no more, and the next claim need not wait for the expiry.
     */
    releaseRecord(lease: Lease): SObjectRecord {
        lease.released = true;
        return {
            attributes: { type: LEASE },
            Id: lease.id,
            Run_Id__c: lease.runId ?? null,
            Released_At__c: this.clock.now().toISOString()
        };
    }

    /**
     * Deletes the lease records that lapsed before `before`, except the latest (the next claim numbers from
     * it): one read and one delete of up to 200 per call, oldest first. Safe beside claims: a claim reads only
     * the highest epoch and inserts the next, and a lost insert is read back by its own key. Returns how many
     * are gone (a record someone deleted first counts).
     */
    async prune(before: Date): Promise<number> {
        const stale = await this.store.staleLeases(before);
        const results = await this.store.deleteRecords(stale.map((lease) => lease.Id));
        if (!results) return 0;
        return results.filter(
            (result) => result.success || result.errors.some((error) => error.startsWith('ENTITY_IS_DELETED'))
        ).length;
    }

    /** Best effort: a release that fails leaves the lease to expire. */
    async release(lease: Lease): Promise<void> {
        if (lease.released) return;
        try {
            await this.store.update([this.releaseRecord(lease)]);
        } catch (error) {
            this.logger.warn(
                { err: describeError(error), epoch: lease.epoch },
                'Lease not released; it expires by itself'
            );
        }
    }

    private validUntil(renewalStarted: number): number {
        return renewalStarted + this.ttlMs / 2;
    }
}
