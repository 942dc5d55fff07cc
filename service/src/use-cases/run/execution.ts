/**
 * Executing a claimed run, phase by phase: apply the journal of an interrupted attempt, re-check the items,
 * send one invitation per user, record each outcome, finish and tell people, release the claim.
 *
 * Each guarantee lives in one phase: one run per org in ./claim (the caller claimed before this starts;
 * sending stops when the claim can no longer be proven), the current status in ./recheck, one mail per
 * user and crash safety in ./record, the audit in ./finish. A shutdown, or a claim that lapsed, stops
 * sending, writes what it has and parks the run (Running, heartbeat cleared, claim released) for resume.
 */
import { describeError } from '../../errors';
import type { Logger } from '../../logger';
import type { AuthorizationRecord, RunStatus } from '../../domain/org-store';
import { authorizationKey } from '../evaluation';
import {
    StatusTally,
    truncate,
    type ActionsProgress,
    type ProgressListener,
    type RunContext,
    type RunDeps,
    type RunProgress,
    type WorkItem
} from './context';
import { sendConnectionActions } from './connections';
import { finishRun } from './finish';
import { recheck } from './recheck';
import { OutcomeRecorder } from './record';
import { sendAll } from './send';

class Stopped extends Error {}

export class RunExecution {
    private readonly log: Logger;
    private readonly recorder: OutcomeRecorder;
    private readonly tally: StatusTally;
    private heartbeatTimer?: NodeJS.Timeout;
    /** Why this process stopped sending before the end (shutdown, lapsed claim). */
    private stopReason?: string;
    /** The connection actions' progress, once their sending has started (./connections). */
    private actions?: ActionsProgress;

    constructor(
        private readonly deps: RunDeps,
        private readonly ctx: RunContext,
        private readonly items: WorkItem[],
        private readonly signal: AbortSignal,
        onProgress?: ProgressListener
    ) {
        this.log = deps.logger.child({ runId: ctx.runId });
        this.tally = new StatusTally(items);
        this.recorder = new OutcomeRecorder(
            deps,
            ctx,
            this.log,
            this.tally,
            () => this.progress(),
            signal,
            onProgress
        );
    }

    progress(): RunProgress {
        const progress = this.tally.progress(this.ctx.runId, this.recorder.paused);
        return this.actions ? { ...progress, actions: this.actions } : progress;
    }

    /** The progress without the run id, for log lines (the child logger already carries it). */
    private counts(): Omit<RunProgress, 'runId'> {
        const { runId: _runId, ...counts } = this.progress();
        return counts;
    }

    /** Run fields written with the next progress record instead of a call of their own. */
    setRunFields(fields: Record<string, unknown>): void {
        this.recorder.setRunFields(fields);
    }

    /** Runs to the end (or to a park). Returns the final status, or undefined when parked. */
    async execute(knownAuthorizations?: Map<string, AuthorizationRecord>): Promise<RunStatus | undefined> {
        const started = Date.now();
        this.heartbeatTimer = setInterval(() => {
            void this.recorder
                .flush({ force: true })
                .catch((error) => this.log.warn({ err: describeError(error) }, 'Heartbeat not written'));
        }, this.deps.config.runs.heartbeatSeconds * 1000);
        this.heartbeatTimer.unref();
        try {
            this.recorder.applyJournal(this.items);
            const unchecked = this.items.filter((item) => item.status === null);
            const open = this.items.filter((item) => item.status === null || item.status === 'Pending');
            const authorizations = knownAuthorizations ?? (await this.loadAuthorizations(open));
            this.recorder.rememberInviteCounts(authorizations);
            if (unchecked.length > 0) await this.recheck(unchecked, authorizations);
            await this.reconcileAuthorizations();
            await sendAll(
                this.deps,
                this.ctx.runId,
                this.items.filter((item) => item.status === 'Pending'),
                {
                    mayContinue: () => this.mayContinue(),
                    stopping: () => this.stopReason !== undefined || this.signal.aborted,
                    record: (item, result) => this.recorder.record(item, result)
                }
            );
            // Leftover outcomes; the run record itself is written next by the finish.
            await this.recorder.flush({ force: true, withoutRun: true });
            if (this.signal.aborted || this.stopReason) throw new Stopped();
            // Then the connection actions, under the same claim (./connections); the run view shows them move.
            const connections = await sendConnectionActions(
                this.deps,
                this.ctx.runId,
                { mayContinue: () => this.mayContinue() },
                (actions) => {
                    this.actions = actions;
                }
            );
            this.ctx.connections = connections.outcomes;
            if (connections.stopped || this.signal.aborted || this.stopReason) throw new Stopped();
            const actionsFailed = connections.outcomes.some((outcome) => outcome.failed > 0);
            const status: RunStatus =
                actionsFailed || this.items.some((item) => item.status === 'Failed')
                    ? 'Completed with Errors'
                    : 'Completed';
            await this.finish(status);
            this.deps.metrics.runDuration.observe(
                { trigger: this.ctx.trigger },
                (Date.now() - started) / 1000
            );
            return status;
        } catch (error) {
            if (error instanceof Stopped || this.signal.aborted || this.stopReason) {
                await this.park();
                return undefined;
            }
            this.log.error({ err: describeError(error) }, 'Run failed');
            await this.finish('Failed', describeError(error)).catch((finishError) =>
                this.log.error({ err: describeError(finishError) }, 'Could not record the failed run')
            );
            return 'Failed';
        } finally {
            clearInterval(this.heartbeatTimer);
            await this.recorder.closeJournal();
            await this.deps.leases.release(this.ctx.lease);
        }
    }

    /**
     * Before each mail: not shutting down, the org taking writes, and the claim surely ours. A claim about
     * to lapse is renewed at once; one that cannot be renewed in time stops the sending (the run is parked
     * and whoever claims next resumes it).
     */
    private async mayContinue(): Promise<boolean> {
        for (;;) {
            if (this.signal.aborted || this.stopReason) return false;
            if (this.recorder.paused) {
                await this.recorder.settled();
                continue;
            }
            if (this.deps.leases.valid(this.ctx.lease)) return true;
            await this.recorder.flush({ force: true, maxAttempts: 1 }).catch(() => undefined);
            if (this.deps.leases.valid(this.ctx.lease)) return true;
            this.stopReason = `The claim on the org's provisioning could not be renewed in time at ${this.deps.clock.now().toISOString()}; sending stopped so that no other instance sends beside this one.`;
            this.log.error(this.stopReason);
            return false;
        }
    }

    /** Status may have changed since the preview; the user may be gone or have no email. */
    private async loadAuthorizations(items: WorkItem[]): Promise<Map<string, AuthorizationRecord>> {
        const authorizations = new Map<string, AuthorizationRecord>();
        if (items.length === 0) return authorizations;
        const ids = [...new Set(items.map((item) => item.userId))];
        const products = [...new Set(items.flatMap((item) => item.products))];
        const wanted = new Set(ids);
        for (const row of await this.deps.store.authorizations(ids.length > 2000 ? 'all' : ids, products)) {
            if (wanted.has(row.User__c))
                authorizations.set(authorizationKey(row.User__c, row.Product__c), row);
        }
        return authorizations;
    }

    private async recheck(
        items: WorkItem[],
        authorizations: Map<string, AuthorizationRecord>
    ): Promise<void> {
        const ids = [...new Set(items.map((item) => item.userId))];
        const users = new Map((await this.deps.store.users(ids)).map((user) => [user.Id, user]));
        for (const item of items) {
            const user = users.get(item.userId);
            const decision = recheck(item, user, authorizations);
            if (decision.status === 'Pending' && user) {
                item.email = String(user.Email);
                item.name = user.Name ?? item.name;
                if (typeof decision.fields.Products__c === 'string')
                    item.products = decision.fields.Products__c.split(';');
            }
            this.recorder.decide(item, decision.status, decision.reason, decision.fields);
            await this.recorder.flush();
        }
        await this.recorder.flush({ force: true });
        this.log.info(this.counts(), 'Items re-checked and written Pending');
    }

    /** After a crash between writing items Invited and writing their authorizations. */
    private async reconcileAuthorizations(): Promise<void> {
        const invited = this.items.filter((item) => item.status === 'Invited');
        if (invited.length === 0) return;
        const written = new Set(
            (await this.deps.store.authorizationsOfRun(this.ctx.runId)).map((row) =>
                authorizationKey(row.User__c, row.Product__c)
            )
        );
        const missing = invited.filter((item) =>
            item.products.some((product) => !written.has(authorizationKey(item.userId, product)))
        );
        if (missing.length === 0) return;
        const counts = await this.deps.store.authorizations(
            missing.map((item) => item.userId),
            [...new Set(missing.flatMap((item) => item.products))]
        );
        this.recorder.rememberInviteCounts(
            new Map(counts.map((row) => [authorizationKey(row.User__c, row.Product__c), row]))
        );
        for (const item of missing) {
            this.recorder.releaseAuthorizations(
                item,
                this.recorder.journaledAt.get(item.itemId) ?? this.deps.clock.now()
            );
        }
        this.log.info({ users: missing.length }, 'Authorization records reconciled after resume');
    }

    /** Stop: write what we have (once: the shutdown wait is bounded) and leave the run Running with no heartbeat. */
    private async park(): Promise<void> {
        const why =
            this.stopReason ?? `Parked by a service shutdown at ${this.deps.clock.now().toISOString()}`;
        try {
            await this.recorder.flush({ force: true, maxAttempts: 1 });
            await this.deps.store.updateRun(this.ctx.runId, {
                Heartbeat__c: null,
                Error__c: truncate(`${why}; resumes on the next claim.`, 32_000)
            });
            this.log.info(this.counts(), 'Run parked for resume');
        } catch (error) {
            // The outcomes the org refused are in the journal already: the resume writes them.
            this.log.error(
                { err: describeError(error), journal: this.recorder.journalFile },
                'Run not parked cleanly; it resumes once its claim expires'
            );
        }
    }

    private async finish(status: RunStatus, error?: string): Promise<void> {
        await finishRun(this.deps, this.ctx, {
            status,
            error,
            items: this.items,
            progress: this.progress(),
            apiCalls: this.recorder.apiCalls(),
            runFields: this.recorder.takeRunFields()
        });
        await this.recorder.retireJournal();
        this.deps.metrics.runs.inc({ trigger: this.ctx.trigger, status });
        this.log.info({ status, ...this.counts(), apiCalls: this.recorder.apiCalls() }, 'Run finished');
    }
}
