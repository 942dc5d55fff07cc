/**
 * What every provisioning use case shares: the org's one run per process (the active run, its progress
 * listeners), the claim (one run per org across instances, ../run/claim), the run's start in the background
 * (evaluation under a renewed claim, then ../run/execution), and the admin and shutdown checks.
 *
 * Every run record this process writes goes through `updateRun` or `forgetRun`, so the run views
 * (./views) answer the written status next.
 */
import { AppError, describeError } from '../../errors';
import { RUN, assertSalesforceId, type RunRecord, type SettingsRecord } from '../../domain/org-store';
import { Evaluator, parseSnapshot, type Evaluation } from '../evaluation';
import { Previews } from '../preview';
import type { ClaimOutcome, Lease, LeasePurpose } from '../run/claim';
import {
    truncate,
    type ProgressListener,
    type RunContext,
    type RunDeps,
    type WorkItem
} from '../run/context';
import { RunExecution } from '../run/execution';
import { RunViewCache } from './views';

export interface PreparedRun {
    ctx: RunContext;
    items: WorkItem[];
    authorizations?: Evaluation['authorizations'];
    runFields?: Record<string, unknown>;
}

interface ActiveRun {
    runId: string;
    controller: AbortController;
    execution?: RunExecution;
    done: Promise<void>;
}

export function parseRecipients(text: string | null | undefined): string[] {
    return (text ?? '')
        .split(/[\s,;]+/)
        .map((value) => value.trim())
        .filter(Boolean);
}

export class RunHost {
    readonly evaluator: Evaluator;
    readonly previews: Previews;
    /** The run views' cache: a run this process writes is forgotten there (./views). */
    readonly runCache = new RunViewCache();
    active?: ActiveRun;
    closed = false;
    private readonly listeners = new Set<ProgressListener>();

    constructor(readonly deps: RunDeps) {
        this.evaluator = new Evaluator(deps.store, deps.clock, {
            bulkAbove: deps.config.runs.bulkQueryAbove
        });
        this.previews = new Previews(deps, this.evaluator);
    }

    onProgress(listener: ProgressListener): () => void {
        this.listeners.add(listener);
        return () => this.listeners.delete(listener);
    }

    /** Writes the run's fields; the next view of the run reads them (whether the write worked or not). */
    async updateRun(runId: string, fields: Record<string, unknown>): Promise<void> {
        try {
            await this.deps.store.updateRun(runId, fields);
        } finally {
            this.forgetRun(runId);
        }
    }

    /** This process changed the run: the next view reads it again. */
    forgetRun(id: string): void {
        this.runCache.forget(id);
    }

    /** Manual previews and runs name the admin; they must hold Rollcall_Admin in the org now. */
    async assertAdmin(initiatedBy: unknown): Promise<string> {
        if (initiatedBy === undefined || initiatedBy === null || initiatedBy === '') {
            throw new AppError(
                'VALIDATION_FAILED',
                'initiatedBy is required: the Salesforce User Id of the admin who starts this (it must hold Rollcall_Admin)'
            );
        }
        const id = assertSalesforceId(initiatedBy, 'initiatedBy');
        if (!(await this.deps.store.isRollcallAdmin(id))) {
            throw new AppError(
                'FORBIDDEN',
                'initiatedBy does not hold the Rollcall_Admin permission in the org'
            );
        }
        return id;
    }

    assertOpen(): void {
        if (this.closed) throw new AppError('SHUTTING_DOWN', 'The service is shutting down');
    }

    private inProgress(runId: string | null | undefined, message?: string): AppError {
        return new AppError(
            'RUN_IN_PROGRESS',
            message ?? `Run ${runId ?? '(starting)'} is in progress; one run per org at a time`,
            { details: { runId: runId ?? null } }
        );
    }

    /** Claims the org's provisioning, or says which run holds it. */
    private async claim(purpose: LeasePurpose, runId?: string): Promise<Lease> {
        const outcome: ClaimOutcome = await this.deps.leases.claim(purpose, runId);
        if ('heldBy' in outcome) {
            // A scheduled run's lease names its run from its first heartbeat on; until then the org does.
            const holding =
                outcome.heldBy.Run_Id__c ?? (await this.deps.store.activeRuns().catch(() => []))[0]?.Id;
            throw this.inProgress(holding);
        }
        return outcome.lease;
    }

    /**
     * Under the claim: a run another process left Running is resumed before any new run starts (the sweep
     * does it); the new request is refused meanwhile.
     */
    async assertNoInterruptedRun(except?: string, activeRuns?: Promise<RunRecord[]>): Promise<void> {
        const runs = await (activeRuns ?? this.deps.store.activeRuns());
        const [interrupted] = runs.filter((run) => run.Id !== except);
        if (interrupted) {
            throw this.inProgress(
                interrupted.Id,
                `Run ${interrupted.Id} was interrupted and is resumed first; try again in a minute`
            );
        }
    }

    /** Runs `body` under a fresh claim; the claim is released if it throws. */
    async underClaim<T>(
        purpose: LeasePurpose,
        runId: string | undefined,
        body: (lease: Lease) => Promise<T>
    ): Promise<T> {
        this.assertOpen();
        const lease = await this.claim(purpose, runId);
        try {
            this.assertOpen();
            return await body(lease);
        } catch (error) {
            await this.deps.leases.release(lease);
            throw error;
        }
    }

    /** The settings, or the defaults when they cannot be read (`pending`: their read already sent). */
    async settings(pending?: Promise<SettingsRecord>): Promise<SettingsRecord> {
        try {
            return await (pending ?? this.deps.store.settings());
        } catch (error) {
            this.deps.logger.warn(
                { err: describeError(error) },
                'Rollcall settings not readable; using defaults'
            );
            return {};
        }
    }

    context(
        run: RunRecord,
        lease: Lease,
        options: {
            runKey: string;
            trigger: 'Manual' | 'Scheduled';
            initiatedBy?: string;
            startedAt: Date;
            notifyAdmins: boolean;
            recipients: string[];
            settings: SettingsRecord;
            sets: ReturnType<typeof parseSnapshot>;
            timeZone?: string;
        }
    ): RunContext {
        return {
            runId: run.Id,
            runKey: options.runKey,
            runName: run.Name,
            timeZone: options.timeZone,
            trigger: options.trigger,
            initiatedBy: options.initiatedBy,
            startedAt: options.startedAt,
            notifyAdmins: options.notifyAdmins,
            recipients: options.recipients,
            slackChannel: options.settings.Slack_Channel__c ?? undefined,
            evaluated: run.Evaluated_Count__c ?? 0,
            eligible: run.Eligible_Count__c ?? 0,
            apiCallsBefore: run.Api_Calls__c ?? 0,
            sets: options.sets.valid.map((set) => ({
                name: set.name,
                products: set.products,
                eligibleStatuses: set.eligibleStatuses
            })),
            invalidSets: options.sets.invalid.map((set) => ({ name: set.name, reasons: set.reasons })),
            evaluation: run.Evaluation_Kind__c
                ? { kind: run.Evaluation_Kind__c, reason: run.Evaluation_Reason__c ?? '' }
                : undefined,
            notes: [],
            lease
        };
    }

    /**
     * A scheduled run evaluates for minutes in a large org before the execution's own heartbeat starts:
     * meanwhile the run's heartbeat and the lease are renewed here, or another instance would take the run
     * over as interrupted.
     */
    private async keepingClaim<T>(runId: string, lease: Lease, body: () => Promise<T>): Promise<T> {
        const { store, leases, clock, config, logger } = this.deps;
        const timer = setInterval(() => {
            const renewal = leases.renewal(lease);
            store
                .update([
                    { attributes: { type: RUN }, Id: runId, Heartbeat__c: clock.now().toISOString() },
                    renewal.record
                ])
                .then(
                    (results) => renewal.settle(results[1]),
                    (error: unknown) => {
                        renewal.settle(undefined);
                        logger.warn({ runId, err: describeError(error) }, 'Heartbeat not written');
                    }
                );
        }, config.runs.heartbeatSeconds * 1000);
        timer.unref();
        try {
            return await body();
        } finally {
            clearInterval(timer);
        }
    }

    startBackground(runId: string, lease: Lease, prepare: () => Promise<PreparedRun>): void {
        this.forgetRun(runId);
        const controller = new AbortController();
        const log = this.deps.logger.child({ runId });
        const active: ActiveRun = { runId, controller, done: Promise.resolve() };
        this.active = active;
        active.done = (async () => {
            try {
                const { ctx, items, authorizations, runFields } = await this.keepingClaim(
                    runId,
                    lease,
                    prepare
                );
                if (controller.signal.aborted) {
                    await this.deps.leases.release(lease);
                    return;
                }
                const execution = new RunExecution(this.deps, ctx, items, controller.signal, (progress) => {
                    for (const listener of this.listeners) listener(progress);
                });
                active.execution = execution;
                if (runFields) execution.setRunFields(runFields);
                await execution.execute(authorizations);
            } catch (error) {
                log.error({ err: describeError(error) }, 'Run could not be executed');
                if (!controller.signal.aborted) {
                    await this.deps.store
                        .updateRun(runId, {
                            Status__c: 'Failed',
                            Finished_At__c: this.deps.clock.now().toISOString(),
                            Error__c: truncate(describeError(error), 32_000)
                        })
                        .catch((writeError) =>
                            log.error({ err: describeError(writeError) }, 'Could not record the failed run')
                        );
                    this.deps.metrics.runs.inc({ trigger: 'unknown', status: 'Failed' });
                }
                await this.deps.leases.release(lease);
            } finally {
                if (this.active === active) this.active = undefined;
                this.forgetRun(runId);
            }
        })();
    }

    /** Stops accepting runs; a running run stops sending, writes what it has and is parked for resume. */
    async shutdown(timeoutMs: number): Promise<void> {
        this.closed = true;
        const active = this.active;
        let timer: NodeJS.Timeout | undefined;
        const bound = new Promise<void>((resolve) => {
            timer = setTimeout(resolve, timeoutMs);
        });
        active?.controller.abort();
        await Promise.race([Promise.all([active?.done, this.previews.settled()]), bound]);
        clearTimeout(timer);
    }
}
