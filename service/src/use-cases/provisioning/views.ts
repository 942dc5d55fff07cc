/**
 * The read side: a run's view (`GET /v1/runs/{id}`, cached briefly, live progress on top), the run list, a
 * run's items, explaining one user, and the condition set editor's impact of a draft set.
 */
import { SCHEDULE_CHECK, assertSalesforceId, type ItemRecord, type RunRecord } from '../../domain/org-store';
import { AppError } from '../../errors';
import { authorizationKey } from '../evaluation';
import { ManagerIds, draftImpact, type DraftImpact, type DraftSet } from '../impact';
import type { PreviewProgress, PreviewPurpose } from '../preview';
import type { RunProgress } from '../run/context';
import { runViewCounts, type OutcomeCounts } from '../run/counts';
import type { RunHost } from './host';

export interface RunView {
    runId: string;
    name?: string;
    status: string;
    trigger?: string;
    /** `schedule-check` for the schedule screen's previews (kept out of GET /v1/runs). */
    purpose?: PreviewPurpose;
    initiatedBy?: string | null;
    startedAt?: string | null;
    finishedAt?: string | null;
    heartbeat?: string | null;
    expiresAt?: string | null;
    /** The outcome counts of run/counts.ts (and its one line), with the evaluation's. */
    counts: { evaluated: number; eligible: number; total: number; summary: string } & OutcomeCounts;
    apiCalls: number;
    error?: string | null;
    notification?: unknown;
    progress?: RunProgress | PreviewProgress;
}

/** How long GET /v1/runs/{id} reuses a run record read from the org (see RunViews.getRun). */
const RUN_CACHE_MS = 1000;
const FINAL_RUN_CACHE_MS = 60_000;
const RUN_CACHE_SIZE = 500;
const FINAL_STATUSES = new Set(['Completed', 'Completed with Errors', 'Failed', 'Expired']);

/** Run records read for views, by run id, the oldest dropped first. */
export class RunViewCache {
    private readonly entries = new Map<string, { record: RunRecord; at: number; live: boolean }>();
    /** Counts forget(): a record read while a write was landing may be older than the write. */
    private writes = 0;

    get(id: string): { record: RunRecord; at: number; live: boolean } | undefined {
        return this.entries.get(id);
    }

    /** Call before reading a record to cache: set() then keeps it only if no write was noted meanwhile. */
    mark(): number {
        return this.writes;
    }

    set(run: RunRecord, live: boolean, mark: number): void {
        if (mark !== this.writes) return;
        this.entries.delete(run.Id);
        this.entries.set(run.Id, { record: run, at: Date.now(), live });
        if (this.entries.size > RUN_CACHE_SIZE) this.entries.delete(this.entries.keys().next().value!);
    }

    forget(id: string): void {
        this.writes += 1;
        this.entries.delete(id);
    }
}

export class RunViews {
    private readonly impactManagerIds: ManagerIds;

    constructor(private readonly host: RunHost) {
        this.impactManagerIds = new ManagerIds(host.deps.store, {
            bulkAbove: host.deps.config.runs.bulkQueryAbove
        });
    }

    /**
     * A run's view. Pollers (Apex, the LWC, the CLI) ask often; each read is a Salesforce API call. A run this
     * process is executing or previewing is answered from memory (its record re-read at most once a heartbeat
     * interval, the live status and counts on top); other runs are cached briefly, finished ones longer (they
     * no longer change).
     */
    async getRun(id: string): Promise<RunView> {
        assertSalesforceId(id, 'run id');
        const executing = this.host.active?.runId === id ? this.host.active.execution?.progress() : undefined;
        const previewing = this.host.previews.progress(id);
        const progress = executing ?? previewing;
        const liveStatus = executing ? 'Running' : previewing ? 'Previewing' : undefined;
        const cached = this.host.runCache.get(id);
        const age = cached ? Date.now() - cached.at : Infinity;
        const maxAge = liveStatus
            ? this.host.deps.config.runs.heartbeatSeconds * 1000
            : cached && FINAL_STATUSES.has(cached.record.Status__c)
              ? FINAL_RUN_CACHE_MS
              : RUN_CACHE_MS;
        // A record read while the run was live here says nothing once it is not (it has been finished since).
        const usable = age < maxAge && cached?.live === (liveStatus !== undefined);
        let run = usable ? cached?.record : undefined;
        if (!run) {
            const mark = this.host.runCache.mark();
            try {
                run = await this.host.deps.store.findRun(id);
            } catch (error) {
                if (!progress) throw error;
            }
            if (run) this.host.runCache.set(run, liveStatus !== undefined, mark);
        }
        if (!run && !progress) throw new AppError('NOT_FOUND', `No run ${id}`);
        const base = run ?? ({ Id: id, Status__c: 'Running' } as RunRecord);
        return toRunView(liveStatus ? { ...base, Status__c: liveStatus } : base, progress);
    }

    async listRuns(limit = 20): Promise<RunView[]> {
        return (await this.host.deps.store.listRuns(limit)).map((run) =>
            toRunView(
                run,
                this.host.active?.runId === run.Id ? this.host.active.execution?.progress() : undefined
            )
        );
    }

    async runItems(id: string): Promise<ItemRecord[]> {
        return this.host.deps.store.items(assertSalesforceId(id, 'run id'));
    }

    /** The condition set editor's warning for a draft set (before save): see ./impact. */
    async draftImpact(draft: DraftSet): Promise<DraftImpact> {
        return draftImpact(
            {
                store: this.host.deps.store,
                clock: this.host.deps.clock,
                evaluator: this.host.evaluator,
                readOptions: { bulkAbove: this.host.deps.config.runs.bulkQueryAbove },
                managerIds: this.impactManagerIds
            },
            draft
        );
    }

    async explain(key: string) {
        const users = await this.host.deps.store.findUser(key);
        if (users.length === 0) throw new AppError('NOT_FOUND', `No user matches ${JSON.stringify(key)}`);
        if (users.length > 1) {
            throw new AppError(
                'VALIDATION_FAILED',
                `${users.length} users match; use the user id or username`,
                {
                    details: { userIds: users.map((user) => user.Id) }
                }
            );
        }
        const explanation = await this.host.evaluator.explainUser(users[0].Id);
        // A record an admin set by hand is never changed by a sync, whatever the sets say (DESIGN §8).
        const records = await this.host.deps.store.authorizationsByKey(
            explanation.products.map((product) => authorizationKey(explanation.userId, product.product))
        );
        for (const product of explanation.products) {
            if (records.get(authorizationKey(explanation.userId, product.product))?.Source__c !== 'Manual')
                continue;
            product.eligible = false;
            product.grantedBy = [];
            product.reasons.push('kept (manual): an admin set this record by hand; no sync changes it');
        }
        return explanation;
    }
}

function toRunView(run: RunRecord, progress?: RunProgress | PreviewProgress): RunView {
    let notification: unknown;
    try {
        notification = run.Notification_Outcome__c ? JSON.parse(run.Notification_Outcome__c) : undefined;
    } catch {
        notification = run.Notification_Outcome__c;
    }
    const live = progress && 'invited' in progress ? progress : undefined;
    return {
        runId: run.Id,
        name: run.Name,
        status: run.Status__c,
        trigger: run.Trigger__c,
        purpose: run.Purpose__c === SCHEDULE_CHECK ? 'schedule-check' : 'provisioning',
        initiatedBy: run.Initiated_By__c,
        startedAt: run.Started_At__c,
        finishedAt: run.Finished_At__c,
        heartbeat: run.Heartbeat__c,
        expiresAt: run.Expires_At__c,
        counts: runViewCounts(run, live),
        apiCalls: run.Api_Calls__c ?? 0,
        error: run.Error__c,
        notification,
        progress
    };
}
