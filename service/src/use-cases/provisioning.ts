/**
 * The provisioning use cases: preview, execute a preview, scheduled run, resume of interrupted runs,
 * preview expiry, run status, explain, and the authorization webhook.
 *
 * One run per org, across every service instance: a run starts, and an interrupted run is resumed, only
 * by the holder of the org's provisioning lease (./run/claim). Every state change of a run (Previewed →
 * Running, a new scheduled run, a resume) happens after the claim, so it needs no check-then-write.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { isValidAddress } from '../domain/email';
import {
    ChangeStore,
    RUN,
    SCHEDULE_CHECK,
    assertSalesforceId,
    id18,
    type ItemRecord,
    type RunRecord,
    type SettingsRecord
} from '../domain/org-store';
import { verifyAuthorizationToken } from '../domain/tokens';
import { AppError, describeError } from '../errors';
import { Evaluator, authorizationKey, parseSnapshot, type Evaluation } from './evaluation';
import { IncrementalPlanner, evaluationFields } from './incremental';
import { ManagerIds, draftImpact, type DraftImpact, type DraftSet } from './impact';
import { beforeEvaluation, expireLapsed, remindersFor, webhookWrite, type ProductEvent } from './lifecycle';
import {
    Previews,
    itemRecords,
    type PreviewProgress,
    type PreviewPurpose,
    type PreviewResult
} from './preview';
import type { ClaimOutcome, Lease, LeasePurpose } from './run/claim';
import {
    toWorkItem,
    truncate,
    type ProgressListener,
    type RunContext,
    type RunDeps,
    type RunProgress,
    type WorkItem
} from './run/context';
import { planConnections } from './run/connections';
import { approveHeldActions, type HeldApproval } from './run/approve-held';
import {
    adoptAccounts,
    reconcileConnection,
    type AdoptAnswer,
    type ReconcileAnswer
} from './reconcile-connection';
import { pendingDeactivations as listPendingDeactivations } from './pending-deactivations';
import { RunExecution } from './run/execution';
import { evaluationReads, executeClaimReads, executionReads, scheduledClaimReads } from './run/start-reads';

export type { PreviewItem, PreviewResult } from './preview';

const PREVIEW_EXPIRY_GRACE_MS = 5 * 60_000;
/** Items a scheduled run writes per upsert round (10 composite calls of 200). */
const ITEM_WRITE_SLICE = 2000;
/** How often the sweep looks for lapsed invitations (each run also does, before it evaluates). */
const LIFECYCLE_SWEEP_MS = 10 * 60_000;
/** How often a process deletes lapsed lease records, and how long after lapsing they are kept. */
const LEASE_PRUNE_EVERY_MS = 24 * 3600_000;
const LEASE_RETENTION_MS = 30 * 24 * 3600_000;

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
    counts: { evaluated: number; eligible: number; invited: number; skipped: number; failed: number };
    apiCalls: number;
    error?: string | null;
    notification?: unknown;
    progress?: RunProgress | PreviewProgress;
}

export interface ExecuteRequest {
    previewRunId: string;
    initiatedBy: string;
    notify?: { admins?: boolean; recipients?: string[] };
}

interface PreparedRun {
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

/** The webhook's two bodies: the token of the invitation link, or the user and products directly. */
export const authorizationByToken = z.object({ token: z.string().min(10).max(4000) });
export const authorizationByUser = z.object({
    userId: z.string(),
    products: z.array(z.string().min(1).max(255)).min(1).max(50),
    /** What the scheduling product reports: an authorization (the default) or a disconnection. */
    status: z.enum(['Authorized', 'Revoked'], { error: 'must be "Authorized" or "Revoked"' }).optional(),
    authorizedAt: z.iso.datetime({ offset: true }).optional(),
    revokedAt: z.iso.datetime({ offset: true }).optional()
});
export const authorizationBody = z.union([authorizationByToken, authorizationByUser]);

const USER_ID_PREFIX = '005';
/** How long GET /v1/runs/{id} reuses a run record read from the org (see getRun). */
const RUN_CACHE_MS = 1000;
const FINAL_RUN_CACHE_MS = 60_000;
const RUN_CACHE_SIZE = 500;
const FINAL_STATUSES = new Set(['Completed', 'Completed with Errors', 'Failed', 'Expired']);
/** Write errors that mean the webhook's data is wrong (unknown product or user), answered 400. */
const SENDER_ERRORS =
    /^(INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST|INVALID_CROSS_REFERENCE_KEY|FIELD_INTEGRITY_EXCEPTION|ENTITY_IS_DELETED):/;

export class ProvisioningService {
    readonly evaluator: Evaluator;
    private readonly previews: Previews;
    private readonly impactManagerIds: ManagerIds;
    private active?: ActiveRun;
    private closed = false;
    private readonly listeners = new Set<ProgressListener>();
    private readonly runCache = new Map<string, { record: RunRecord; at: number; live: boolean }>();
    /** The service clock's time of the sweep's last expiry pass. */
    private lastLifecycleSweep = Number.NEGATIVE_INFINITY;
    private lastLeasePrune = Number.NEGATIVE_INFINITY;

    constructor(private readonly deps: RunDeps) {
        this.evaluator = new Evaluator(deps.store, deps.clock, {
            bulkAbove: deps.config.runs.bulkQueryAbove
        });
        this.previews = new Previews(deps, this.evaluator);
        this.impactManagerIds = new ManagerIds(deps.store, { bulkAbove: deps.config.runs.bulkQueryAbove });
    }

    onProgress(listener: ProgressListener): () => void {
        this.listeners.add(listener);
        return () => this.listeners.delete(listener);
    }

    activeRunId(): string | undefined {
        return this.active?.runId;
    }

    /** Resolves when the run active in this process (if any, or the given one) has stopped. */
    async waitForRun(runId?: string): Promise<void> {
        const active = this.active;
        if (active && (!runId || active.runId === runId)) await active.done;
    }

    /** Manual previews and runs name the admin; they must hold Rollcall_Admin in the org now. */
    private async assertAdmin(initiatedBy: unknown): Promise<string> {
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

    private assertOpen(): void {
        if (this.closed) throw new AppError('SHUTTING_DOWN', 'The service is shutting down');
    }

    /** `POST /v1/previews`: the run is written Previewing; poll it until Previewed (or Failed). */
    async startPreview(request: {
        initiatedBy?: string;
        purpose?: PreviewPurpose;
    }): Promise<{ runId: string; status: 'Previewing' }> {
        this.assertOpen();
        const initiatedBy = await this.assertAdmin(request.initiatedBy);
        return this.previews.start(initiatedBy, request.purpose);
    }

    /** A preview from start to end, in this process (the CLI and the demo). */
    async preview(request: { initiatedBy?: string }): Promise<PreviewResult> {
        const { runId } = await this.startPreview(request);
        return this.previews.wait(runId);
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
    private async assertNoInterruptedRun(except?: string, activeRuns?: Promise<RunRecord[]>): Promise<void> {
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
    private async underClaim<T>(
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

    async execute(request: ExecuteRequest): Promise<{ runId: string; status: 'Running' }> {
        this.assertOpen();
        const { store, clock } = this.deps;
        const runId = assertSalesforceId(request.previewRunId, 'previewRunId');
        const recipients = (request.notify?.recipients ?? []).map((r) => r.trim());
        const bad = recipients.findIndex((address) => !isValidAddress(address));
        if (bad >= 0) {
            // JSON.stringify shows a smuggled line break as \r\n instead of printing it.
            throw new AppError(
                'VALIDATION_FAILED',
                `notify.recipients.${bad}: ${JSON.stringify(recipients[bad])} is not a single email address such as ops@example.com`
            );
        }
        // Checked again now, not taken from the preview: the admin may have lost Rollcall_Admin since.
        const initiatedBy = await this.assertAdmin(request.initiatedBy);
        const known = await store.findRun(runId);
        if (!known) throw new AppError('NOT_FOUND', `No run ${runId}`);
        if (known.Status__c === 'Previewing') {
            throw new AppError(
                'PREVIEW_NOT_EXECUTABLE',
                `Run ${runId} is still previewing; wait until it is Previewed`,
                {
                    details: { runId, status: known.Status__c }
                }
            );
        }
        if (known.Status__c !== 'Previewed') throw this.notExecutable(known);
        if (known.Purpose__c === SCHEDULE_CHECK) {
            throw new AppError(
                'PREVIEW_NOT_EXECUTABLE',
                `Run ${runId} is a schedule check (who the next scheduled run would invite); it is never executed`,
                { details: { runId, status: known.Status__c } }
            );
        }
        return this.underClaim('execute', runId, async (lease) => {
            // Re-read under the claim: until now another instance could have executed it.
            const claimed = executeClaimReads(store, runId);
            const run = await claimed.run;
            if (!run) throw new AppError('NOT_FOUND', `No run ${runId}`);
            const now = clock.now();
            if (
                run.Status__c === 'Previewed' &&
                run.Expires_At__c &&
                Date.parse(run.Expires_At__c) <= now.getTime()
            ) {
                await store.updateRun(runId, { Status__c: 'Expired' });
                throw new AppError('PREVIEW_EXPIRED', 'The preview has expired; preview again');
            }
            if (run.Status__c !== 'Previewed') throw this.notExecutable(run);
            await this.assertNoInterruptedRun(runId, claimed.activeRuns);
            const runKey = run.Run_Key__c ?? randomUUID();
            const notifyAdmins = request.notify?.admins === true;
            await store.updateRun(runId, {
                Status__c: 'Running',
                Run_Key__c: runKey,
                Started_At__c: now.toISOString(),
                Heartbeat__c: now.toISOString(),
                Initiated_By__c: initiatedBy,
                Notify_Admins__c: notifyAdmins,
                Recipients__c: recipients.join('\n') || null,
                Error__c: null
            });
            this.startBackground(runId, lease, async () => {
                const reads = executionReads(store, runId);
                const [items, snapshot, settings, timeZone] = await Promise.all([
                    reads.items,
                    reads.snapshot,
                    this.settings(reads.settings),
                    this.evaluator.timeZone().catch(() => undefined)
                ]);
                return {
                    ctx: this.context(run, lease, {
                        timeZone,
                        runKey,
                        trigger: 'Manual',
                        initiatedBy,
                        startedAt: now,
                        notifyAdmins,
                        recipients,
                        settings,
                        sets: parseSnapshot(snapshot)
                    }),
                    items: items.map(toWorkItem)
                };
            });
            return { runId, status: 'Running' as const };
        });
    }

    private notExecutable(run: RunRecord): AppError {
        if (run.Status__c === 'Expired')
            return new AppError('PREVIEW_EXPIRED', 'The preview has expired; preview again');
        return new AppError('PREVIEW_NOT_EXECUTABLE', `Run ${run.Id} is ${run.Status__c}, not Previewed`, {
            details: { runId: run.Id, status: run.Status__c }
        });
    }

    /**
     * A scheduled run. `slot` names the schedule's firing (its time): every instance's scheduler, and a
     * trigger sent twice, fire the same slot, and a slot runs once. Without one, each trigger is a run.
     */
    async scheduled(
        request: { slot?: string; full?: boolean } = {}
    ): Promise<{ runId: string; status: 'Running' }> {
        const { store, clock } = this.deps;
        return this.underClaim('scheduled', undefined, async (lease) => {
            // Keyed by the slot (or the claim): a create whose answer was lost and is retried finds this run.
            const runKey = request.slot ? `scheduled:${request.slot}` : lease.token;
            // Read under the claim (together: one call), so a schedule switched off just before the trigger is
            // honoured; unreadable settings refuse the run rather than guess.
            const claimed = scheduledClaimReads(store, request.slot ? runKey : undefined);
            const settings = await claimed.settings;
            if (settings.Schedule_Enabled__c !== true) {
                throw new AppError(
                    'SCHEDULE_DISABLED',
                    'Scheduled provisioning is switched off in Rollcall settings (Schedule_Enabled__c); no run started'
                );
            }
            await this.assertNoInterruptedRun(undefined, claimed.activeRuns);
            if (claimed.slotRun) {
                // Under the claim nobody else creates runs: looking first is not a race.
                const earlier = await claimed.slotRun;
                if (earlier) {
                    throw new AppError(
                        'ALREADY_TRIGGERED',
                        `The scheduled run of slot ${request.slot} was already started (run ${earlier.Id}, ${earlier.Status__c})`,
                        { details: { runId: earlier.Id } }
                    );
                }
            }
            const now = clock.now();
            const callsBefore = store.org.apiCalls();
            const runId = await store.upsertRun(runKey, {
                Status__c: 'Running',
                Trigger__c: 'Scheduled',
                Started_At__c: now.toISOString(),
                Heartbeat__c: now.toISOString(),
                Notify_Admins__c: settings.Notify_Admins__c === true,
                Recipients__c: settings.Recipients__c ?? null,
                Invited_Count__c: 0,
                Skipped_Count__c: 0,
                Failed_Count__c: 0
            });
            lease.runId = runId;
            const run = {
                Id: runId,
                Run_Key__c: runKey,
                Status__c: 'Running',
                Trigger__c: 'Scheduled',
                Api_Calls__c: 0
            } as RunRecord;
            this.startBackground(runId, lease, () =>
                this.evaluateScheduled(run, lease, now, settings, [], callsBefore, request.full)
            );
            return { runId, status: 'Running' as const };
        });
    }

    /** Scheduled runs evaluate in the background, then write their items Pending before sending. */
    private async evaluateScheduled(
        run: RunRecord,
        lease: Lease,
        startedAt: Date,
        settings: SettingsRecord,
        existing: ItemRecord[],
        callsBefore: number,
        full?: boolean
    ): Promise<PreparedRun> {
        const { store, clock, config } = this.deps;
        // The lapsed invitations, the sets and the baseline in one call (./run/start-reads).
        const reads = evaluationReads(store, {
            now: clock.now(),
            ttlHours: config.links.tokenTtlHours,
            settings,
            baselineOf: full ? undefined : run.Id
        });
        // Lapsed invitations become Expired first: their records' stamps then bring them into an incremental run.
        const lifecycle = await beforeEvaluation(this.deps, reads.lifecycle);
        // Only the users changed since the last completed run, unless a full evaluation is due (./incremental).
        const planner = new IncrementalPlanner(new ChangeStore(store.org), {
            full,
            runId: run.Id,
            baseline: reads.baseline
        });
        const evaluation = await this.evaluator.evaluate({
            select: planner.select,
            conditionSets: reads.conditionSets
        });
        const choice = planner.choice();
        const already = new Set(existing.map((item) => item.User__c));
        const fresh = {
            ...evaluation,
            entries: evaluation.entries.filter((entry) => !already.has(entry.userId)),
            kept: evaluation.kept.filter((entry) => !already.has(entry.userId))
        };
        const reminders = (await remindersFor(this.deps, lifecycle, evaluation)).filter(
            (due) => !already.has(due.userId)
        );
        // Reminders and kept users are written with the first slice, unless they are invited anyway.
        const invitedIds = new Set(fresh.entries.map((entry) => entry.userId));
        const extraReminders = reminders.filter((due) => !invitedIds.has(due.userId));
        const extraKept = fresh.kept.filter((entry) => !invitedIds.has(entry.userId));
        const names = new Map<string, string>([
            ...extraKept.map((entry) => [entry.userId, String(entry.user.Name ?? entry.userId)] as const),
            ...extraReminders.map((due) => [due.userId, due.name] as const)
        ]);
        const items: WorkItem[] = existing.map(toWorkItem);
        // Written a slice at a time: the item records of 100,000 users at once would double the memory
        // the entries already take (the sync bench's 1,000,000-user run).
        for (let start = 0; start === 0 || start < fresh.entries.length; start += ITEM_WRITE_SLICE) {
            const slice = fresh.entries.slice(start, start + ITEM_WRITE_SLICE);
            const first = start === 0;
            const records = itemRecords(
                run.Id,
                { entries: slice, kept: first ? extraKept : [] },
                'Pending',
                first ? extraReminders : []
            );
            const results = records.length > 0 ? await store.upsertItems(records) : [];
            results.forEach((result, index) => {
                const record = records[index] as ItemRecord;
                if (!result.success || !result.id) {
                    this.deps.logger.warn(
                        { runId: run.Id, errors: result.errors },
                        'Item not written; user not invited'
                    );
                    return;
                }
                // itemRecords lists the slice's entries first: their items share the entry's objects (a
                // million-user run holds 100,000 of them), the few reminders and kept rows are parsed back.
                const entry = index < slice.length ? slice[index] : undefined;
                const item: WorkItem = entry
                    ? {
                          itemId: result.id,
                          userId: entry.userId,
                          name: String(entry.user.Name ?? entry.userId),
                          email: String(entry.user.Email ?? ''),
                          products: entry.products,
                          statusesAtPreview: entry.statuses,
                          status: 'Pending',
                          kind: 'Invitation',
                          matchedSets: entry.matchedSets
                      }
                    : toWorkItem({
                          ...record,
                          Id: result.id,
                          User__r: { Name: names.get(record.User__c) ?? record.User__c }
                      });
                // Users without an email are re-checked (and skipped with the reason) by the execution.
                if (item.status === 'Pending' && !record.Email__c) item.status = null;
                items.push(item);
            });
        }
        // Reminder counts of users the evaluation did not read (the run writes absolute counts).
        const authorizations = new Map(evaluation.authorizations);
        for (const due of reminders) {
            for (const product of due.products) {
                const key = authorizationKey(due.userId, product);
                if (!authorizations.has(key)) {
                    authorizations.set(key, {
                        User__c: due.userId,
                        Product__c: product,
                        Status__c: 'Invited',
                        Reminder_Count__c: due.counts[key] ?? 0
                    });
                }
            }
        }
        // The connections' plan, recorded Pending like the items (./run/connections).
        await planConnections(this.deps, run.Id, this.evaluator);
        const ctx = this.context(run, lease, {
            runKey: String(run.Run_Key__c),
            trigger: 'Scheduled',
            initiatedBy: undefined,
            startedAt,
            notifyAdmins: settings.Notify_Admins__c === true,
            recipients: parseRecipients(settings.Recipients__c),
            settings,
            sets: parseSnapshot(evaluation.snapshot)
        });
        ctx.evaluated = evaluation.evaluated;
        ctx.evaluation = { kind: choice.kind, reason: choice.reason };
        ctx.runName ??= planner.runName();
        // Users already written by the interrupted attempt are counted once.
        ctx.eligible = fresh.entries.length + existing.length;
        ctx.apiCallsBefore = (run.Api_Calls__c ?? 0) + (store.org.apiCalls() - callsBefore);
        ctx.timeZone = evaluation.timeZone;
        // Written with the run's first progress record (one call fewer). Until then a resume evaluates again.
        const runFields = {
            ...evaluationFields(evaluation, choice),
            Condition_Sets_Snapshot__c: evaluation.snapshot,
            Evaluated_Count__c: evaluation.evaluated,
            Eligible_Count__c: ctx.eligible
        };
        return { ctx, items, authorizations, runFields };
    }

    /** The settings, or the defaults when they cannot be read (`pending`: their read already sent). */
    private async settings(pending?: Promise<SettingsRecord>): Promise<SettingsRecord> {
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

    private context(
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

    private startBackground(runId: string, lease: Lease, prepare: () => Promise<PreparedRun>): void {
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
        if (this.closed) return { expired: 0, failedPreviews: 0 };
        const { store, clock, logger } = this.deps;
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
        const failedPreviews = await this.previews.failStale(candidates, now);
        if (failedPreviews > 0) logger.warn({ failedPreviews }, 'Previews of a stopped process failed');
        const interrupted = candidates.some(
            (run) => run.Status__c === 'Running' || run.Status__c === 'Queued'
        );
        if (this.active || this.closed || !interrupted)
            return { expired, failedPreviews, expiredInvitations };
        // Cheap look first: a live claim means its holder is working (or will be resumed once it lapses).
        if (await this.deps.leases.holder()) return { expired, failedPreviews, expiredInvitations };
        let resumed: string | undefined;
        try {
            await this.underClaim('resume', undefined, async (lease) => {
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
            const pruned = await this.deps.leases.prune(new Date(now.getTime() - LEASE_RETENTION_MS));
            if (pruned > 0) this.deps.logger.info({ pruned }, 'Lapsed lease records deleted');
        } catch (error) {
            this.deps.logger.warn({ err: describeError(error) }, 'Lapsed lease records not deleted');
        }
    }

    /**
     * Invited → Expired for lapsed invitations, every LIFECYCLE_SWEEP_MS, while no run holds the org (a run
     * expires them itself before it evaluates; staying out of its way keeps an expiry from landing on an
     * invitation that run is just renewing). Never fatal to the sweep.
     */
    private async expireInvitations(now: Date): Promise<number | undefined> {
        if (this.active || now.getTime() - this.lastLifecycleSweep < LIFECYCLE_SWEEP_MS) return undefined;
        try {
            if (await this.deps.leases.holder()) return undefined;
            this.lastLifecycleSweep = now.getTime();
            const expired = await expireLapsed(this.deps.store, now, this.deps.config.links.tokenTtlHours);
            if (expired > 0) this.deps.logger.info({ expired }, 'Lapsed invitations marked Expired');
            return expired;
        } catch (error) {
            this.deps.logger.warn({ err: describeError(error) }, 'Lapsed invitations not expired');
            return undefined;
        }
    }

    private async resume(run: RunRecord, lease: Lease): Promise<void> {
        const { store, clock, logger } = this.deps;
        const now = clock.now();
        logger.info({ runId: run.Id, heartbeat: run.Heartbeat__c }, 'Resuming an interrupted run');
        const runKey = run.Run_Key__c ?? randomUUID();
        await store.updateRun(run.Id, {
            Status__c: 'Running',
            Run_Key__c: runKey,
            Heartbeat__c: now.toISOString()
        });
        const startedAt = run.Started_At__c ? new Date(run.Started_At__c) : now;
        const trigger = run.Trigger__c === 'Scheduled' ? 'Scheduled' : 'Manual';
        const keyed = { ...run, Run_Key__c: runKey };
        this.startBackground(run.Id, lease, async (): Promise<PreparedRun> => {
            const reads = executionReads(store, run.Id);
            const [items, snapshot, settings] = await Promise.all([
                reads.items,
                reads.snapshot,
                this.settings(reads.settings)
            ]);
            const note = `Resumed at ${now.toISOString()} after the process running it stopped.`;
            if (trigger === 'Scheduled' && !snapshot) {
                // The evaluation had not finished: evaluate again, keeping the items already written.
                const prepared = await this.evaluateScheduled(
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
            const ctx = this.context(keyed, lease, {
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

    /**
     * A run's view. Pollers (Apex, the LWC, the CLI) ask often; each read is a Salesforce API call. A run this
     * process is executing or previewing is answered from memory (its record re-read at most once a heartbeat
     * interval, the live status and counts on top); other runs are cached briefly, finished ones longer (they
     * no longer change).
     */
    async getRun(id: string): Promise<RunView> {
        assertSalesforceId(id, 'run id');
        const executing = this.active?.runId === id ? this.active.execution?.progress() : undefined;
        const previewing = this.previews.progress(id);
        const progress = executing ?? previewing;
        const liveStatus = executing ? 'Running' : previewing ? 'Previewing' : undefined;
        const cached = this.runCache.get(id);
        const age = cached ? Date.now() - cached.at : Infinity;
        const maxAge = liveStatus
            ? this.deps.config.runs.heartbeatSeconds * 1000
            : cached && FINAL_STATUSES.has(cached.record.Status__c)
              ? FINAL_RUN_CACHE_MS
              : RUN_CACHE_MS;
        // A record read while the run was live here says nothing once it is not (it has been finished since).
        const usable = age < maxAge && cached?.live === (liveStatus !== undefined);
        let run = usable ? cached?.record : undefined;
        if (!run) {
            try {
                run = await this.deps.store.findRun(id);
            } catch (error) {
                if (!progress) throw error;
            }
            if (run) this.cacheRun(run, liveStatus !== undefined);
        }
        if (!run && !progress) throw new AppError('NOT_FOUND', `No run ${id}`);
        const base = run ?? ({ Id: id, Status__c: 'Running' } as RunRecord);
        return toRunView(liveStatus ? { ...base, Status__c: liveStatus } : base, progress);
    }

    private cacheRun(run: RunRecord, live: boolean): void {
        this.runCache.delete(run.Id);
        this.runCache.set(run.Id, { record: run, at: Date.now(), live });
        if (this.runCache.size > RUN_CACHE_SIZE) this.runCache.delete(this.runCache.keys().next().value!);
    }

    /** This process changed the run: the next view reads it again. */
    private forgetRun(id: string): void {
        this.runCache.delete(id);
    }

    async listRuns(limit = 20): Promise<RunView[]> {
        return (await this.deps.store.listRuns(limit)).map((run) =>
            toRunView(run, this.active?.runId === run.Id ? this.active.execution?.progress() : undefined)
        );
    }

    async runItems(id: string): Promise<ItemRecord[]> {
        return this.deps.store.items(assertSalesforceId(id, 'run id'));
    }

    /** The condition set editor's warning for a draft set (before save): see ./impact. */
    async draftImpact(draft: DraftSet): Promise<DraftImpact> {
        return draftImpact(
            {
                store: this.deps.store,
                clock: this.deps.clock,
                evaluator: this.evaluator,
                readOptions: { bulkAbove: this.deps.config.runs.bulkQueryAbove },
                managerIds: this.impactManagerIds
            },
            draft
        );
    }

    /**
     * `POST /v1/runs/{id}/approve-held` (DESIGN §11): the admin is checked for Rollcall_Admin now, and the
     * held removals are sent under the org's provisioning lease (run/approve-held.ts).
     */
    async approveHeld(request: { runId: string; initiatedBy?: string }): Promise<HeldApproval> {
        this.assertOpen();
        const admin = await this.assertAdmin(request.initiatedBy);
        const runId = assertSalesforceId(request.runId, 'id');
        return this.underClaim('execute', runId, async (lease) => {
            const approval = await approveHeldActions(this.deps, runId, admin, async () =>
                this.deps.leases.valid(lease)
            );
            await this.deps.leases.release(lease);
            return approval;
        });
    }

    /** `GET /v1/connections/{key}/pending-deactivations` (DESIGN §11): who waits out a grace, until when, why. */
    async pendingDeactivations(key: string) {
        return listPendingDeactivations(this.deps, this.evaluator, key);
    }

    /** `POST /v1/connections/{key}/reconcile` (DESIGN §11): the four lists; writes nothing. */
    async reconcile(request: { key: string; initiatedBy?: string; keep?: number }): Promise<ReconcileAnswer> {
        this.assertOpen();
        await this.assertAdmin(request.initiatedBy);
        return reconcileConnection(this.deps, this.evaluator, request.key, request.keep);
    }

    /** `POST /v1/connections/{key}/adopt`: the admin's confirmation; only accounts adoptable now are adopted. */
    async adopt(request: {
        key: string;
        initiatedBy?: string;
        appIds?: string[];
        all?: boolean;
    }): Promise<AdoptAnswer> {
        this.assertOpen();
        await this.assertAdmin(request.initiatedBy);
        return adoptAccounts(this.deps, this.evaluator, request.key, request);
    }

    async explain(key: string) {
        const users = await this.deps.store.findUser(key);
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
        const explanation = await this.evaluator.explainUser(users[0].Id);
        // A record an admin set by hand is never changed by a sync, whatever the sets say (DESIGN §8).
        const records = await this.deps.store.authorizationsByKey(
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

    /**
     * The scheduling product reports an authorization (the next sync does not invite these again) or a
     * disconnection (Authorized → Revoked). The records are read first: an event older than the opposite
     * one a record already holds is ignored (webhooks may arrive out of order), and each ignored product is
     * named in the answer.
     */
    async authorize(body: z.infer<typeof authorizationBody>): Promise<{
        status: ProductEvent;
        userId: string;
        products: string[];
        ignored?: { product: string; reason: string }[];
    }> {
        const { config, clock, store } = this.deps;
        let userId: string;
        let products: string[];
        let event: ProductEvent = 'Authorized';
        let at = clock.now();
        if ('token' in body) {
            const claims = verifyAuthorizationToken(config.links.tokenSecret, body.token, clock.now());
            userId = claims.userId;
            products = claims.products;
        } else {
            // One record per (user, product) whatever form the sender used: keys hold the 18-character id.
            userId = id18(assertSalesforceId(body.userId, 'userId'));
            if (!userId.startsWith(USER_ID_PREFIX)) {
                throw new AppError('VALIDATION_FAILED', 'userId: must be a User id (005…)');
            }
            products = body.products;
            event = body.status ?? 'Authorized';
            const field = event === 'Revoked' ? 'revokedAt' : 'authorizedAt';
            const stated = event === 'Revoked' ? body.revokedAt : body.authorizedAt;
            const other = event === 'Revoked' ? body.authorizedAt : body.revokedAt;
            if (other !== undefined) {
                throw new AppError(
                    'VALIDATION_FAILED',
                    `${event === 'Revoked' ? 'authorizedAt' : 'revokedAt'}: not allowed with status ${event}; use ${field}`
                );
            }
            if (stated) {
                at = new Date(stated);
                // The sender's clock may run a little ahead, never by more than the signature window.
                const latest = clock.now().getTime() + config.webhook.toleranceSeconds * 1000;
                if (at.getTime() > latest) {
                    throw new AppError('VALIDATION_FAILED', `${field}: must not be in the future`);
                }
            }
        }
        const keys = products.map((product) => authorizationKey(userId, product));
        const current = await store.authorizationsByKey(keys);
        const records: Record<string, unknown>[] = [];
        const ignored: { product: string; reason: string }[] = [];
        products.forEach((product, index) => {
            const decision = webhookWrite(event, at, current.get(keys[index]));
            if ('ignored' in decision) ignored.push({ product, reason: decision.ignored });
            else
                records.push({
                    Key__c: keys[index],
                    User__c: userId,
                    Product__c: product,
                    ...decision.fields
                });
        });
        const results = records.length > 0 ? await store.upsertAuthorizations(records) : [];
        const failed = results.find((result) => !result.success);
        if (failed) {
            // The org refusing the sender's data (no such user, a product it does not know) is the sender's
            // mistake, not an upstream failure.
            const refused = failed.errors.some((error) => SENDER_ERRORS.test(error));
            throw new AppError(
                refused ? 'VALIDATION_FAILED' : 'ORG_REQUEST_FAILED',
                `${event === 'Revoked' ? 'Revocation' : 'Authorization'} not recorded: ${failed.errors.join('; ')}`
            );
        }
        this.deps.logger.info({ userId, products, event, ignored: ignored.length }, `${event} recorded`);
        return { status: event, userId, products, ...(ignored.length > 0 ? { ignored } : {}) };
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
        counts: {
            evaluated: run.Evaluated_Count__c ?? 0,
            eligible: run.Eligible_Count__c ?? 0,
            invited: live?.invited ?? run.Invited_Count__c ?? 0,
            skipped: live?.skipped ?? run.Skipped_Count__c ?? 0,
            failed: live?.failed ?? run.Failed_Count__c ?? 0
        },
        apiCalls: run.Api_Calls__c ?? 0,
        error: run.Error__c,
        notification,
        progress
    };
}
