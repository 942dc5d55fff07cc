/**
 * Previews (DESIGN §5): the run record is written `Previewing` and its id answered at once; the evaluation
 * runs in the background (no Apex callout waits on it), writes one item per eligible user and ends the run
 * `Previewed` (or `Failed` with the reason). The heartbeat is kept fresh meanwhile; a preview whose process
 * died is failed by the sweep. Every write is an upsert by a key chosen here or an update by Id, so a lost
 * response retried by the gateway writes nothing twice.
 */
import { randomUUID } from 'node:crypto';
import { RUN, SCHEDULE_CHECK, itemKey, type RunRecord } from '../domain/org-store';
import { AppError, describeError } from '../errors';
import type { SObjectRecord } from '../ports';
import type { Evaluation, Evaluator } from './evaluation';
import { evaluationFields } from './incremental';
import {
    KIND_INVITATION,
    KIND_KEPT,
    KIND_REMINDER,
    beforeEvaluation,
    remindersFor,
    type DueReminder
} from './lifecycle';
import { planConnections, type ConnectionOutcome } from './run/connections';
import { truncate, type RunDeps } from './run/context';
import { evaluationReads } from './run/start-reads';

export interface PreviewItem {
    userId: string;
    name: string;
    email: string | null;
    products: string[];
    matchedSets: string[];
    statuses: Record<string, string>;
}

/** `schedule-check`: the schedule screen's look at who the next scheduled run would invite. */
export type PreviewPurpose = 'provisioning' | 'schedule-check';

export interface PreviewResult {
    runId: string;
    status: 'Previewed';
    expiresAt: string;
    evaluated: number;
    eligible: number;
    invalidSets: { id: string; name: string; reasons: string[] }[];
    overlaps: { setA: string; setB: string; users: number }[];
    items: PreviewItem[];
    hasMore: boolean;
    /** The plan in each active connection's app (actions by kind; recorded as Provisioning_Run_Action__c). */
    connections?: ConnectionOutcome[];
}

export interface PreviewProgress {
    runId: string;
    phase: 'evaluating' | 'writing';
    written: number;
    total: number;
}

/**
 * The items of an evaluation, keyed so that writing them twice is writing them once: the invitations, then
 * the reminders due (DESIGN §8), then the matched users whose records an admin set by hand ("kept
 * (manual)": Skipped from the start, never sent).
 */
export function itemRecords(
    runId: string,
    evaluation: Pick<Evaluation, 'entries'> & Partial<Pick<Evaluation, 'kept'>>,
    status: 'Pending' | null,
    reminders: DueReminder[] = []
): SObjectRecord[] {
    const invited = new Set(evaluation.entries.map((entry) => entry.userId));
    const records: SObjectRecord[] = evaluation.entries.map((entry) => ({
        Item_Key__c: itemKey(runId, entry.userId),
        Run__c: runId,
        User__c: entry.userId,
        Email__c: entry.user.Email ?? null,
        Products__c: entry.products.join(';'),
        Matched_Sets__c: truncate(entry.matchedSets.join('; ')),
        Product_Statuses__c: JSON.stringify(entry.statuses),
        Kind__c: KIND_INVITATION,
        Status__c: status
    }));
    for (const due of reminders) {
        if (invited.has(due.userId)) continue;
        invited.add(due.userId);
        records.push({
            Item_Key__c: itemKey(runId, due.userId),
            Run__c: runId,
            User__c: due.userId,
            Email__c: due.email,
            Products__c: due.products.join(';'),
            Matched_Sets__c: truncate(due.grantedBy.join('; ')),
            Product_Statuses__c: JSON.stringify(Object.fromEntries(due.products.map((p) => [p, 'Invited']))),
            Kind__c: KIND_REMINDER,
            Status__c: status
        });
    }
    for (const kept of evaluation.kept ?? []) {
        if (invited.has(kept.userId)) continue;
        records.push({
            Item_Key__c: itemKey(runId, kept.userId),
            Run__c: runId,
            User__c: kept.userId,
            Email__c: kept.user.Email ?? null,
            Products__c: kept.products.join(';'),
            Matched_Sets__c: truncate(kept.matchedSets.join('; ')),
            Product_Statuses__c: JSON.stringify(kept.statuses),
            Kind__c: KIND_KEPT,
            Status__c: 'Skipped',
            Reason__c: truncate(
                `kept (manual): set by an admin, never changed by a sync (${kept.products.join(', ')})`
            )
        });
    }
    return records;
}

export class Previews {
    private readonly running = new Map<string, { progress: PreviewProgress; done: Promise<PreviewResult> }>();

    constructor(
        private readonly deps: RunDeps,
        private readonly evaluator: Evaluator
    ) {}

    /** Writes the Previewing run and starts the evaluation; the caller polls the run. */
    async start(
        initiatedBy: string,
        purpose: PreviewPurpose = 'provisioning'
    ): Promise<{ runId: string; status: 'Previewing' }> {
        const { store, clock } = this.deps;
        const now = clock.now().toISOString();
        const runId = await store.upsertRun(randomUUID(), {
            Status__c: 'Previewing',
            Trigger__c: 'Manual',
            Purpose__c: purpose === 'schedule-check' ? SCHEDULE_CHECK : 'Provisioning',
            Initiated_By__c: initiatedBy,
            Started_At__c: now,
            Heartbeat__c: now,
            Invited_Count__c: 0,
            Skipped_Count__c: 0,
            Failed_Count__c: 0
        });
        const progress: PreviewProgress = { runId, phase: 'evaluating', written: 0, total: 0 };
        const done = this.evaluate(runId, progress, purpose);
        // The caller may never wait: a failure is recorded on the run, not thrown into the void.
        done.catch(() => undefined);
        this.running.set(runId, { progress, done });
        void done.finally(() => this.running.delete(runId)).catch(() => undefined);
        return { runId, status: 'Previewing' };
    }

    /** The result of a preview this process is evaluating (for the CLI and the demo). */
    async wait(runId: string): Promise<PreviewResult> {
        const running = this.running.get(runId);
        if (!running) throw new AppError('NOT_FOUND', `Preview ${runId} is not being evaluated here`);
        return running.done;
    }

    progress(runId: string): PreviewProgress | undefined {
        return this.running.get(runId)?.progress;
    }

    /** Resolves once every preview of this process has ended (shutdown). */
    async settled(): Promise<void> {
        await Promise.all([...this.running.values()].map(({ done }) => done.catch(() => undefined)));
    }

    private async evaluate(
        runId: string,
        progress: PreviewProgress,
        purpose: PreviewPurpose = 'provisioning'
    ): Promise<PreviewResult> {
        const { store, clock, config, metrics, logger } = this.deps;
        const log = logger.child({ runId });
        const started = Date.now();
        const callsBefore = store.org.apiCalls() - 1;
        const heartbeat = setInterval(() => {
            store
                .updateRun(runId, { Heartbeat__c: clock.now().toISOString() })
                .catch((error) => log.warn({ err: describeError(error) }, 'Preview heartbeat not written'));
        }, config.runs.heartbeatSeconds * 1000);
        heartbeat.unref();
        try {
            // The settings, the lapsed invitations and the sets in one call (./run/start-reads).
            const reads = evaluationReads(store, { now: clock.now(), ttlHours: config.links.tokenTtlHours });
            const lifecycle = await beforeEvaluation(this.deps, reads.lifecycle);
            const evaluation = await this.evaluator.evaluate({ conditionSets: reads.conditionSets });
            const reminders = await remindersFor(this.deps, lifecycle, evaluation);
            progress.phase = 'writing';
            const records = itemRecords(runId, evaluation, null, reminders);
            progress.total = records.length;
            for (let i = 0; i < records.length; i += 2000) {
                const results = await store.upsertItems(records.slice(i, i + 2000));
                const failed = results.filter((result) => !result.success);
                if (failed.length > 0) {
                    throw new AppError(
                        'ORG_REQUEST_FAILED',
                        `Could not write ${failed.length} preview items (first: ${failed[0].errors.join('; ')})`
                    );
                }
                progress.written += results.length;
            }
            // A schedule check is never executed: it plans no connection action.
            const connections =
                purpose === 'provisioning'
                    ? await planConnections(this.deps, runId, this.evaluator)
                    : undefined;
            const expiresAt = new Date(clock.now().getTime() + config.runs.previewTtlHours * 3600_000);
            clearInterval(heartbeat);
            await store.transitionRun(runId, 'Previewing', {
                Status__c: 'Previewed',
                Heartbeat__c: clock.now().toISOString(),
                Expires_At__c: expiresAt.toISOString(),
                Evaluated_Count__c: evaluation.evaluated,
                Eligible_Count__c: evaluation.entries.length,
                Condition_Sets_Snapshot__c: evaluation.snapshot,
                ...evaluationFields(evaluation, {
                    kind: 'Full',
                    reason: 'manual run: every candidate is previewed'
                }),
                Api_Calls__c: store.org.apiCalls() - callsBefore + 1
            });
            metrics.previews.inc();
            metrics.previewDuration.observe((Date.now() - started) / 1000);
            log.info(
                { evaluated: evaluation.evaluated, eligible: evaluation.entries.length },
                'Preview written'
            );
            return {
                ...this.result(runId, evaluation, expiresAt),
                ...(connections?.length ? { connections } : {})
            };
        } catch (error) {
            clearInterval(heartbeat);
            log.error({ err: describeError(error) }, 'Preview failed');
            await store
                .transitionRun(runId, 'Previewing', {
                    Status__c: 'Failed',
                    Finished_At__c: clock.now().toISOString(),
                    Error__c: truncate(`Preview failed: ${describeError(error)}`, 32_000)
                })
                .catch((writeError) =>
                    log.error({ err: describeError(writeError) }, 'Could not record the failed preview')
                );
            throw error;
        } finally {
            clearInterval(heartbeat);
        }
    }

    private result(runId: string, evaluation: Evaluation, expiresAt: Date): PreviewResult {
        const page = evaluation.entries.slice(0, this.deps.config.runs.previewPageSize);
        return {
            runId,
            status: 'Previewed',
            expiresAt: expiresAt.toISOString(),
            evaluated: evaluation.evaluated,
            eligible: evaluation.entries.length,
            invalidSets: evaluation.invalidSets,
            overlaps: evaluation.overlaps.map(({ setA, setB, users }) => ({ setA, setB, users })),
            items: page.map((entry) => ({
                userId: entry.userId,
                name: String(entry.user.Name ?? entry.userId),
                email: entry.user.Email ?? null,
                products: entry.products,
                matchedSets: entry.matchedSets,
                statuses: entry.statuses
            })),
            hasMore: evaluation.entries.length > page.length
        };
    }

    /**
     * Previews whose heartbeat went stale were being evaluated by a process that died: they are failed
     * with the reason, so the admin previews again instead of waiting.
     */
    async failStale(candidates: RunRecord[], now: Date): Promise<number> {
        const staleBefore = now.getTime() - this.deps.config.runs.staleAfterSeconds * 1000;
        const stale = candidates.filter(
            (run) =>
                run.Status__c === 'Previewing' &&
                !this.running.has(run.Id) &&
                (!run.Heartbeat__c || Date.parse(run.Heartbeat__c) < staleBefore)
        );
        if (stale.length === 0) return 0;
        const results = await this.deps.store.update(
            stale.map((run) => ({
                attributes: { type: RUN },
                Id: run.Id,
                Status__c: 'Failed',
                Finished_At__c: now.toISOString(),
                Error__c: `The service evaluating this preview stopped (last heartbeat ${run.Heartbeat__c ?? 'never'}); preview again.`
            }))
        );
        return results.filter((result) => result.success).length;
    }
}
