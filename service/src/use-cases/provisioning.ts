/**
 * The provisioning use cases: preview, execute a preview, scheduled run, resume of stale runs, preview
 * expiry, run status, explain, and the authorization webhook. One run per org at a time.
 */
import { z } from 'zod';
import type { MailTemplates } from '../adapters/templates';
import { isValidAddress } from '../adapters/mailer';
import {
    RUN,
    assertSalesforceId,
    type ItemRecord,
    type RunRecord,
    type SettingsRecord
} from '../domain/org-store';
import { verifyAuthorizationToken } from '../domain/tokens';
import { AppError, describeError } from '../errors';
import type { SObjectRecord } from '../ports';
import { Evaluator, parseSnapshot, type Evaluation } from './evaluation';
import {
    RunExecution,
    toWorkItem,
    truncate,
    type ProgressListener,
    type RunContext,
    type RunDeps,
    type RunProgress,
    type WorkItem
} from './run-execution';

export interface PreviewItem {
    userId: string;
    name: string;
    email: string | null;
    products: string[];
    matchedSets: string[];
    statuses: Record<string, string>;
}

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
}

export interface RunView {
    runId: string;
    name?: string;
    status: string;
    trigger?: string;
    initiatedBy?: string | null;
    startedAt?: string | null;
    finishedAt?: string | null;
    heartbeat?: string | null;
    expiresAt?: string | null;
    counts: { evaluated: number; eligible: number; invited: number; skipped: number; failed: number };
    apiCalls: number;
    error?: string | null;
    notification?: unknown;
    progress?: RunProgress;
}

export interface ExecuteRequest {
    previewRunId: string;
    initiatedBy?: string;
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
    authorizedAt: z.iso.datetime({ offset: true }).optional()
});
export const authorizationBody = z.union([authorizationByToken, authorizationByUser]);

export class ProvisioningService {
    readonly evaluator: Evaluator;
    private active?: ActiveRun;
    private starting: Promise<unknown> = Promise.resolve();
    private closed = false;
    private readonly listeners = new Set<ProgressListener>();

    constructor(private readonly deps: RunDeps & { templates: MailTemplates }) {
        this.evaluator = new Evaluator(deps.store, deps.clock);
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

    private async assertAdmin(initiatedBy: string | undefined): Promise<void> {
        if (initiatedBy === undefined) return;
        assertSalesforceId(initiatedBy, 'initiatedBy');
        if (!(await this.deps.store.isRollcallAdmin(initiatedBy))) {
            throw new AppError(
                'FORBIDDEN',
                'initiatedBy does not hold the Rollcall_Admin permission in the org'
            );
        }
    }

    private assertOpen(): void {
        if (this.closed) throw new AppError('SHUTTING_DOWN', 'The service is shutting down');
    }

    async preview(request: { initiatedBy?: string }): Promise<PreviewResult> {
        this.assertOpen();
        const { store, clock, config, metrics, logger } = this.deps;
        const started = Date.now();
        const callsBefore = store.org.apiCalls();
        await this.assertAdmin(request.initiatedBy);
        const evaluation = await this.evaluator.evaluate();
        const now = clock.now();
        const expiresAt = new Date(now.getTime() + config.runs.previewTtlHours * 3600_000);
        const runId = await store.createRun({
            Status__c: 'Previewed',
            Trigger__c: 'Manual',
            Initiated_By__c: request.initiatedBy ?? null,
            Expires_At__c: expiresAt.toISOString(),
            Evaluated_Count__c: evaluation.evaluated,
            Eligible_Count__c: evaluation.entries.length,
            Invited_Count__c: 0,
            Skipped_Count__c: 0,
            Failed_Count__c: 0,
            Condition_Sets_Snapshot__c: evaluation.snapshot
        });
        const results = await store.createItems(this.itemRecords(runId, evaluation, null));
        const failed = results.filter((result) => !result.success);
        if (failed.length > 0) {
            await store.updateRun(runId, {
                Status__c: 'Failed',
                Error__c: `Items not written: ${failed[0].errors.join('; ')}`
            });
            throw new AppError(
                'ORG_REQUEST_FAILED',
                `Could not write ${failed.length} preview items (first: ${failed[0].errors.join('; ')}); the preview run ${runId} is marked Failed`
            );
        }
        await store.updateRun(runId, { Api_Calls__c: store.org.apiCalls() - callsBefore + 1 });
        metrics.previews.inc();
        metrics.previewDuration.observe((Date.now() - started) / 1000);
        logger.info(
            { runId, evaluated: evaluation.evaluated, eligible: evaluation.entries.length },
            'Preview written'
        );
        const page = evaluation.entries.slice(0, config.runs.previewPageSize);
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

    private itemRecords(runId: string, evaluation: Evaluation, status: 'Pending' | null): SObjectRecord[] {
        return evaluation.entries.map((entry) => ({
            Run__c: runId,
            User__c: entry.userId,
            Email__c: entry.user.Email ?? null,
            Products__c: entry.products.join(';'),
            Matched_Sets__c: truncate(entry.matchedSets.join('; ')),
            Product_Statuses__c: JSON.stringify(entry.statuses),
            Status__c: status
        }));
    }

    /** Serialises run starts in this process, and refuses when a run is active here or in the org. */
    private async exclusive<T>(start: () => Promise<T>): Promise<T> {
        const previous = this.starting;
        let release!: () => void;
        this.starting = new Promise<void>((resolve) => (release = resolve));
        await previous.catch(() => undefined);
        try {
            this.assertOpen();
            if (this.active) throw this.inProgress(this.active.runId);
            const [running] = await this.deps.store.activeRuns();
            if (running) throw this.inProgress(running.Id);
            return await start();
        } finally {
            release();
        }
    }

    private inProgress(runId: string): AppError {
        return new AppError('RUN_IN_PROGRESS', `Run ${runId} is in progress; one run per org at a time`, {
            details: { runId }
        });
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
        await this.assertAdmin(request.initiatedBy);
        return this.exclusive(async () => {
            const run = await store.findRun(runId);
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
            if (run.Status__c === 'Expired')
                throw new AppError('PREVIEW_EXPIRED', 'The preview has expired; preview again');
            if (run.Status__c !== 'Previewed') {
                throw new AppError(
                    'PREVIEW_NOT_EXECUTABLE',
                    `Run ${runId} is ${run.Status__c}, not Previewed`,
                    {
                        details: { runId, status: run.Status__c }
                    }
                );
            }
            const initiatedBy = request.initiatedBy ?? run.Initiated_By__c ?? undefined;
            const notifyAdmins = request.notify?.admins === true;
            await store.updateRun(runId, {
                Status__c: 'Running',
                Started_At__c: now.toISOString(),
                Heartbeat__c: now.toISOString(),
                Initiated_By__c: initiatedBy ?? null,
                Notify_Admins__c: notifyAdmins,
                Recipients__c: recipients.join('\n') || null,
                Error__c: null
            });
            this.startBackground(runId, async () => {
                const [items, snapshot, settings] = await Promise.all([
                    store.items(runId),
                    store.runSnapshot(runId),
                    this.settings()
                ]);
                const sets = parseSnapshot(snapshot);
                return {
                    ctx: this.context(run, {
                        trigger: 'Manual',
                        initiatedBy,
                        startedAt: now,
                        notifyAdmins,
                        recipients,
                        settings,
                        sets
                    }),
                    items: items.map(toWorkItem)
                };
            });
            return { runId, status: 'Running' as const };
        });
    }

    async scheduled(): Promise<{ runId: string; status: 'Running' }> {
        this.assertOpen();
        const { store, clock } = this.deps;
        return this.exclusive(async () => {
            const now = clock.now();
            const settings = await this.settings();
            const runId = await store.createRun({
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
            const callsBefore = store.org.apiCalls() - 1;
            this.startBackground(runId, () =>
                this.evaluateScheduled(
                    {
                        Id: runId,
                        Status__c: 'Running',
                        Trigger__c: 'Scheduled',
                        Api_Calls__c: 0
                    } as RunRecord,
                    now,
                    settings,
                    [],
                    callsBefore
                )
            );
            return { runId, status: 'Running' as const };
        });
    }

    /** Scheduled runs evaluate in the background, then write their items Pending before sending. */
    private async evaluateScheduled(
        run: RunRecord,
        startedAt: Date,
        settings: SettingsRecord,
        existing: ItemRecord[],
        callsBefore: number
    ): Promise<PreparedRun> {
        const { store } = this.deps;
        const evaluation = await this.evaluator.evaluate();
        const already = new Set(existing.map((item) => item.User__c));
        const fresh = {
            ...evaluation,
            entries: evaluation.entries.filter((entry) => !already.has(entry.userId))
        };
        const records = this.itemRecords(run.Id, fresh, 'Pending');
        const results = await store.createItems(records);
        const items: WorkItem[] = existing.map(toWorkItem);
        results.forEach((result, index) => {
            const entry = fresh.entries[index];
            if (!result.success || !result.id) {
                this.deps.logger.warn(
                    { runId: run.Id, errors: result.errors },
                    'Item not written; user not invited'
                );
                return;
            }
            items.push({
                itemId: result.id,
                userId: entry.userId,
                name: String(entry.user.Name ?? entry.userId),
                email: String(entry.user.Email ?? ''),
                products: entry.products,
                statusesAtPreview: entry.statuses,
                status: entry.user.Email ? 'Pending' : null
            });
        });
        // Users without an email are re-checked (and skipped with the reason) by the execution.
        const sets = parseSnapshot(evaluation.snapshot);
        // Written with the run's first progress record (one call fewer). Until then a resume evaluates again.
        const runFields = {
            Condition_Sets_Snapshot__c: evaluation.snapshot,
            Evaluated_Count__c: evaluation.evaluated,
            Eligible_Count__c: fresh.entries.length + existing.length
        };
        const ctx = this.context(run, {
            trigger: 'Scheduled',
            initiatedBy: undefined,
            startedAt,
            notifyAdmins: settings.Notify_Admins__c === true,
            recipients: parseRecipients(settings.Recipients__c),
            settings,
            sets
        });
        ctx.evaluated = evaluation.evaluated;
        // Users already written by the interrupted attempt are counted once.
        ctx.eligible = fresh.entries.length + existing.length;
        ctx.apiCallsBefore = (run.Api_Calls__c ?? 0) + (store.org.apiCalls() - callsBefore);
        ctx.timeZone = evaluation.timeZone;
        return { ctx, items, authorizations: evaluation.authorizations, runFields };
    }

    private async settings(): Promise<SettingsRecord> {
        try {
            return await this.deps.store.settings();
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
        options: {
            trigger: 'Manual' | 'Scheduled';
            initiatedBy?: string;
            startedAt: Date;
            notifyAdmins: boolean;
            recipients: string[];
            settings: SettingsRecord;
            sets: ReturnType<typeof parseSnapshot>;
        }
    ): RunContext {
        return {
            runId: run.Id,
            runName: run.Name,
            trigger: options.trigger,
            initiatedBy: options.initiatedBy,
            startedAt: options.startedAt,
            notifyAdmins: options.notifyAdmins,
            recipients: options.recipients,
            slackChannel: options.settings.Slack_Channel__c ?? undefined,
            evaluated: run.Evaluated_Count__c ?? 0,
            eligible: run.Eligible_Count__c ?? 0,
            apiCallsBefore: run.Api_Calls__c ?? 0,
            sets: options.sets.valid.map((set) => ({ name: set.name, products: set.products })),
            invalidSets: options.sets.invalid.map((set) => ({ name: set.name, reasons: set.reasons })),
            notes: []
        };
    }

    private startBackground(runId: string, prepare: () => Promise<PreparedRun>): void {
        const controller = new AbortController();
        const log = this.deps.logger.child({ runId });
        const active: ActiveRun = { runId, controller, done: Promise.resolve() };
        this.active = active;
        active.done = (async () => {
            try {
                const { ctx, items, authorizations, runFields } = await prepare();
                if (controller.signal.aborted) return;
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
            } finally {
                if (this.active === active) this.active = undefined;
            }
        })();
    }

    /** Resumes runs left Running by a dead process and expires old previews (one query when idle). */
    async sweep(): Promise<{ resumed?: string; expired: number }> {
        if (this.closed) return { expired: 0 };
        const { store, clock, config, logger } = this.deps;
        const now = clock.now();
        const candidates = await store.sweepCandidates(now);
        let expired = 0;
        const previews = candidates.filter((run) => run.Status__c === 'Previewed');
        if (previews.length > 0) {
            const results = await store.update(
                previews.map((run) => ({ attributes: { type: RUN }, Id: run.Id, Status__c: 'Expired' }))
            );
            expired = results.filter((result) => result.success).length;
            logger.info({ expired }, 'Previews expired');
        }
        const staleBefore = now.getTime() - config.runs.staleAfterSeconds * 1000;
        const stale = candidates.find(
            (run) =>
                run.Status__c !== 'Previewed' &&
                (!run.Heartbeat__c || Date.parse(run.Heartbeat__c) < staleBefore)
        );
        if (this.active || !stale) return { expired };
        let resumed: string | undefined;
        await this.exclusiveResume(async () => {
            // Re-read under the lock: another instance may have taken it up meanwhile.
            const current = await store.findRun(stale.Id);
            if (
                !current ||
                !['Queued', 'Running'].includes(current.Status__c) ||
                (current.Heartbeat__c && Date.parse(current.Heartbeat__c) >= staleBefore)
            ) {
                return;
            }
            resumed = current.Id;
            await this.resume(current);
        });
        return { resumed, expired };
    }

    private async exclusiveResume(body: () => Promise<void>): Promise<void> {
        const previous = this.starting;
        let release!: () => void;
        this.starting = new Promise<void>((resolve) => (release = resolve));
        await previous.catch(() => undefined);
        try {
            if (!this.active && !this.closed) await body();
        } finally {
            release();
        }
    }

    private async resume(run: RunRecord): Promise<void> {
        const { store, clock, logger } = this.deps;
        const now = clock.now();
        logger.info({ runId: run.Id, heartbeat: run.Heartbeat__c }, 'Resuming a stale run');
        await store.updateRun(run.Id, { Status__c: 'Running', Heartbeat__c: now.toISOString() });
        const startedAt = run.Started_At__c ? new Date(run.Started_At__c) : now;
        const trigger = run.Trigger__c === 'Scheduled' ? 'Scheduled' : 'Manual';
        this.startBackground(run.Id, async (): Promise<PreparedRun> => {
            const [items, snapshot, settings] = await Promise.all([
                store.items(run.Id),
                store.runSnapshot(run.Id),
                this.settings()
            ]);
            if (trigger === 'Scheduled' && !snapshot) {
                // The evaluation had not finished: evaluate again, keeping the items already written.
                return this.evaluateScheduled(run, startedAt, settings, items, store.org.apiCalls());
            }
            const ctx = this.context(run, {
                trigger,
                initiatedBy: run.Initiated_By__c ?? undefined,
                startedAt,
                notifyAdmins: run.Notify_Admins__c === true,
                recipients: parseRecipients(run.Recipients__c),
                settings,
                sets: parseSnapshot(snapshot)
            });
            ctx.notes.push(`Resumed at ${now.toISOString()} after the heartbeat went stale.`);
            return { ctx, items: items.map(toWorkItem) };
        });
    }

    async getRun(id: string): Promise<RunView> {
        assertSalesforceId(id, 'run id');
        const progress = this.active?.runId === id ? this.active.execution?.progress() : undefined;
        let run: RunRecord | undefined;
        try {
            run = await this.deps.store.findRun(id);
        } catch (error) {
            if (!progress) throw error;
        }
        if (!run && !progress) throw new AppError('NOT_FOUND', `No run ${id}`);
        return toRunView(run ?? ({ Id: id, Status__c: 'Running' } as RunRecord), progress);
    }

    async listRuns(limit = 20): Promise<RunView[]> {
        return (await this.deps.store.listRuns(limit)).map((run) =>
            toRunView(run, this.active?.runId === run.Id ? this.active.execution?.progress() : undefined)
        );
    }

    async runItems(id: string): Promise<ItemRecord[]> {
        return this.deps.store.items(assertSalesforceId(id, 'run id'));
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
        return this.evaluator.explainUser(users[0].Id);
    }

    /** The scheduling product reports an authorization: the next sync does not invite these again. */
    async authorize(
        body: z.infer<typeof authorizationBody>
    ): Promise<{ userId: string; products: string[] }> {
        const { config, clock, store } = this.deps;
        let userId: string;
        let products: string[];
        let at = clock.now();
        if ('token' in body) {
            const claims = verifyAuthorizationToken(config.links.tokenSecret, body.token, clock.now());
            userId = claims.userId;
            products = claims.products;
        } else {
            userId = assertSalesforceId(body.userId, 'userId');
            products = body.products;
            if (body.authorizedAt) at = new Date(body.authorizedAt);
        }
        const results = await store.upsertAuthorizations(
            products.map((product) => ({
                Key__c: `${userId}:${product}`,
                User__c: userId,
                Product__c: product,
                Status__c: 'Authorized',
                Authorized_At__c: at.toISOString()
            }))
        );
        const failed = results.find((result) => !result.success);
        if (failed)
            throw new AppError(
                'ORG_REQUEST_FAILED',
                `Authorization not recorded: ${failed.errors.join('; ')}`
            );
        this.deps.logger.info({ userId, products }, 'Authorization recorded');
        return { userId, products };
    }

    /** Stops accepting runs; a running run stops sending, writes what it has and is parked for resume. */
    async shutdown(timeoutMs: number): Promise<void> {
        this.closed = true;
        const active = this.active;
        if (!active) return;
        active.controller.abort();
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
            active.done,
            new Promise<void>((resolve) => {
                timer = setTimeout(resolve, timeoutMs);
            })
        ]);
        clearTimeout(timer);
    }
}

function toRunView(run: RunRecord, progress?: RunProgress): RunView {
    let notification: unknown;
    try {
        notification = run.Notification_Outcome__c ? JSON.parse(run.Notification_Outcome__c) : undefined;
    } catch {
        notification = run.Notification_Outcome__c;
    }
    return {
        runId: run.Id,
        name: run.Name,
        status: run.Status__c,
        trigger: run.Trigger__c,
        initiatedBy: run.Initiated_By__c,
        startedAt: run.Started_At__c,
        finishedAt: run.Finished_At__c,
        heartbeat: run.Heartbeat__c,
        expiresAt: run.Expires_At__c,
        counts: {
            evaluated: run.Evaluated_Count__c ?? 0,
            eligible: run.Eligible_Count__c ?? 0,
            invited: progress?.invited ?? run.Invited_Count__c ?? 0,
            skipped: progress?.skipped ?? run.Skipped_Count__c ?? 0,
            failed: progress?.failed ?? run.Failed_Count__c ?? 0
        },
        apiCalls: run.Api_Calls__c ?? 0,
        error: run.Error__c,
        notification,
        progress
    };
}
