/**
 * The sweep, every few seconds in each instance: expires old previews, fails previews whose process died,
 * resumes a run whose process died or stopped (under the claim, like any run), and now and then marks
 * lapsed invitations Expired and deletes lapsed lease records.
 */
import { randomUUID } from 'node:crypto';
import { RUN, type RunRecord } from '../../domain/org-store';
import { AppError, describeError } from '../../errors';
import { parseSnapshot } from '../evaluation';
import { expireLapsed } from '../lifecycle';
import type { Lease } from '../run/claim';
import { toWorkItem } from '../run/context';
import { executionReads } from '../run/start-reads';
import { parseRecipients, type PreparedRun, type RunHost } from './host';
import { evaluateScheduled } from './scheduled';

const PREVIEW_EXPIRY_GRACE_MS = 5 * 60_000;
/** How often the sweep looks for lapsed invitations (each run also does, before it evaluates). */
const LIFECYCLE_SWEEP_MS = 10 * 60_000;
/** How often a process deletes lapsed lease records, and how long after lapsing they are kept. */
const LEASE_PRUNE_EVERY_MS = 24 * 3600_000;
const LEASE_RETENTION_MS = 30 * 24 * 3600_000;

export class Sweeper {
    /** The service clock's time of the sweep's last expiry pass. */
    private lastLifecycleSweep = Number.NEGATIVE_INFINITY;
    private lastLeasePrune = Number.NEGATIVE_INFINITY;

    constructor(private readonly host: RunHost) {}

    /**
     * Expires old previews, fails previews whose process died, and resumes a run whose process died or
     * stopped (one query when idle). A resume needs the claim like any run: of the instances sweeping at
     * once, one resumes.
     */
    async sweep(): Promise<{
        resumed?: string;
        expired: number;
        failedPreviews: number;
        expiredInvitations?: number;
    }> {
        if (this.host.closed) return { expired: 0, failedPreviews: 0 };
        const { store, clock, logger } = this.host.deps;
        const now = clock.now();
        const expiredInvitations = await this.expireInvitations(now);
        await this.pruneLeases(now);
        const candidates = await store.sweepCandidates(now);
        let expired = 0;
        // Execute refuses a preview from its expiry on; the sweep marks it a grace later, so that its write
        // can never land on a preview an instance was executing at the very last moment.
        const expiredBefore = now.getTime() - PREVIEW_EXPIRY_GRACE_MS;
        const previews = candidates.filter(
            (run) =>
                run.Status__c === 'Previewed' &&
                run.Expires_At__c &&
                Date.parse(run.Expires_At__c) < expiredBefore
        );
        if (previews.length > 0) {
            const results = await store.update(
                previews.map((run) => ({ attributes: { type: RUN }, Id: run.Id, Status__c: 'Expired' }))
            );
            expired = results.filter((result) => result.success).length;
            logger.info({ expired }, 'Previews expired');
        }
        const failedPreviews = await this.host.previews.failStale(candidates, now).finally(() => {
            // The runs written here (expired, or Previewing ones it may have failed) are read again by their
            // next view (./views).
            for (const run of candidates) {
                if (previews.includes(run) || run.Status__c === 'Previewing') this.host.forgetRun(run.Id);
            }
        });
        if (failedPreviews > 0) logger.warn({ failedPreviews }, 'Previews of a stopped process failed');
        const interrupted = candidates.some(
            (run) => run.Status__c === 'Running' || run.Status__c === 'Queued'
        );
        if (this.host.active || this.host.closed || !interrupted)
            return { expired, failedPreviews, expiredInvitations };
        // Cheap look first: a live claim means its holder is working (or will be resumed once it lapses).
        if (await this.host.deps.leases.holder()) return { expired, failedPreviews, expiredInvitations };
        let resumed: string | undefined;
        try {
            await this.host.underClaim('resume', undefined, async (lease) => {
                // Under the claim nobody else works on any run: the oldest Running one is ours to resume.
                const [run] = await store.activeRuns();
                if (!run) throw new AppError('NOT_FOUND', 'Nothing to resume');
                lease.runId = run.Id;
                resumed = run.Id;
                await this.resume(run, lease);
            });
        } catch (error) {
            if (!(
                error instanceof AppError &&
                ['RUN_IN_PROGRESS', 'NOT_FOUND', 'SHUTTING_DOWN'].includes(error.code)
            ))
                throw error;
        }
        return { resumed, expired, failedPreviews, expiredInvitations };
    }

    /**
     * Every claim leaves a lease record: once a day per process, those that lapsed more than
     * LEASE_RETENTION_MS ago (kept that long for the record of who ran what) are deleted, the latest always
     * kept. Never fatal to the sweep.
     */
    private async pruneLeases(now: Date): Promise<void> {
        if (now.getTime() - this.lastLeasePrune < LEASE_PRUNE_EVERY_MS) return;
        this.lastLeasePrune = now.getTime();
        try {
            const pruned = await this.host.deps.leases.prune(new Date(now.getTime() - LEASE_RETENTION_MS));
            if (pruned > 0) this.host.deps.logger.info({ pruned }, 'Lapsed lease records deleted');
        } catch (error) {
            this.host.deps.logger.warn({ err: describeError(error) }, 'Lapsed lease records not deleted');
        }
    }

    /**
     * Invited → Expired for lapsed invitations, every LIFECYCLE_SWEEP_MS, while no run holds the org (a run
     * expires them itself before it evaluates; staying out of its way keeps an expiry from landing on an
     * invitation that run is just renewing). Never fatal to the sweep.
     */
    private async expireInvitations(now: Date): Promise<number | undefined> {
        if (this.host.active || now.getTime() - this.lastLifecycleSweep < LIFECYCLE_SWEEP_MS)
            return undefined;
        try {
            if (await this.host.deps.leases.holder()) return undefined;
            this.lastLifecycleSweep = now.getTime();
            const expired = await expireLapsed(
                this.host.deps.store,
                now,
                this.host.deps.config.links.tokenTtlHours
            );
            if (expired > 0) this.host.deps.logger.info({ expired }, 'Lapsed invitations marked Expired');
            return expired;
        } catch (error) {
            this.host.deps.logger.warn({ err: describeError(error) }, 'Lapsed invitations not expired');
            return undefined;
        }
    }

    private async resume(run: RunRecord, lease: Lease): Promise<void> {
        const { store, clock, logger } = this.host.deps;
        const now = clock.now();
        logger.info({ runId: run.Id, heartbeat: run.Heartbeat__c }, 'Resuming an interrupted run');
        const runKey = run.Run_Key__c ?? randomUUID();
        await this.host.updateRun(run.Id, {
            Status__c: 'Running',
            Run_Key__c: runKey,
            Heartbeat__c: now.toISOString()
        });
        const startedAt = run.Started_At__c ? new Date(run.Started_At__c) : now;
        const trigger = run.Trigger__c === 'Scheduled' ? 'Scheduled' : 'Manual';
        const keyed = { ...run, Run_Key__c: runKey };
        this.host.startBackground(run.Id, lease, async (): Promise<PreparedRun> => {
            const reads = executionReads(store, run.Id);
            const [items, snapshot, settings] = await Promise.all([
                reads.items,
                reads.snapshot,
                this.host.settings(reads.settings)
            ]);
            const note = `Resumed at ${now.toISOString()} after the process running it stopped.`;
            if (trigger === 'Scheduled' && !snapshot) {
                // The evaluation had not finished: evaluate again, keeping the items already written.
                const prepared = await evaluateScheduled(
                    this.host,
                    keyed,
                    lease,
                    startedAt,
                    settings,
                    items,
                    store.org.apiCalls()
                );
                prepared.ctx.notes.push(note);
                return prepared;
            }
            const ctx = this.host.context(keyed, lease, {
                runKey,
                trigger,
                initiatedBy: run.Initiated_By__c ?? undefined,
                startedAt,
                notifyAdmins: run.Notify_Admins__c === true,
                recipients: parseRecipients(run.Recipients__c),
                settings,
                sets: parseSnapshot(snapshot)
            });
            ctx.notes.push(note);
            return { ctx, items: items.map(toWorkItem) };
        });
    }
}
