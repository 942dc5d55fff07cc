/**
 * The provisioning use cases behind one facade (the HTTP app, the CLI, the scheduler and the demo call
 * it): preview, execute a preview, scheduled run, the sweep (resume of interrupted runs, preview expiry),
 * run status, explain, and the authorization webhook. Each lives in ./provisioning/:
 *
 * - host.ts: what they share: the active run, the claim, the run's start in the background;
 * - manual.ts: executing a preview; scheduled.ts: a scheduled run and its evaluation;
 * - sweep.ts: expiry, stale previews, resume, lapsed invitations and leases;
 * - authorizations.ts: the webhook; views.ts: the read side (run views and their cache, explain, impact);
 * - taking-away.ts: approving held removals, pending deactivations, reconciliation and adoption (DESIGN §11).
 *
 * One run per org, across every service instance: a run starts, and an interrupted run is resumed, only
 * by the holder of the org's provisioning lease (./run/claim). Every state change of a run (Previewed →
 * Running, a new scheduled run, a resume) happens after the claim, so it needs no check-then-write.
 */
import type { z } from 'zod';
import type { ItemRecord } from '../domain/org-store';
import type { Evaluator } from './evaluation';
import type { DraftImpact, DraftSet } from './impact';
import type { PreviewPurpose, PreviewResult } from './preview';
import type { ProgressListener, RunDeps } from './run/context';
import { authorize, type authorizationBody } from './provisioning/authorizations';
import { RunHost } from './provisioning/host';
import { executePreview, type ExecuteRequest } from './provisioning/manual';
import { scheduled } from './provisioning/scheduled';
import { Sweeper } from './provisioning/sweep';
import { adopt, approveHeld, listPendingDeactivations, reconcile } from './provisioning/taking-away';
import { RunViews, type RunView } from './provisioning/views';

export type { PreviewItem, PreviewResult } from './preview';
export type { ExecuteRequest } from './provisioning/manual';
export type { RunView } from './provisioning/views';
export { parseRecipients } from './provisioning/host';
export { authorizationBody, authorizationByToken, authorizationByUser } from './provisioning/authorizations';

export class ProvisioningService {
    readonly evaluator: Evaluator;
    private readonly host: RunHost;
    private readonly sweeper: Sweeper;
    private readonly views: RunViews;

    constructor(private readonly deps: RunDeps) {
        this.host = new RunHost(deps);
        this.evaluator = this.host.evaluator;
        this.sweeper = new Sweeper(this.host);
        this.views = new RunViews(this.host);
    }

    onProgress(listener: ProgressListener): () => void {
        return this.host.onProgress(listener);
    }

    activeRunId(): string | undefined {
        return this.host.active?.runId;
    }

    /** Resolves when the run active in this process (if any, or the given one) has stopped. */
    async waitForRun(runId?: string): Promise<void> {
        const active = this.host.active;
        if (active && (!runId || active.runId === runId)) await active.done;
    }

    /** `POST /v1/previews`: the run is written Previewing; poll it until Previewed (or Failed). */
    async startPreview(request: {
        initiatedBy?: string;
        purpose?: PreviewPurpose;
    }): Promise<{ runId: string; status: 'Previewing' }> {
        this.host.assertOpen();
        const initiatedBy = await this.host.assertAdmin(request.initiatedBy);
        return this.host.previews.start(initiatedBy, request.purpose);
    }

    /** A preview from start to end, in this process (the CLI and the demo). */
    async preview(request: { initiatedBy?: string }): Promise<PreviewResult> {
        const { runId } = await this.startPreview(request);
        return this.host.previews.wait(runId);
    }

    /** `POST /v1/runs` with a preview: see ./provisioning/manual. */
    execute(request: ExecuteRequest): Promise<{ runId: string; status: 'Running' }> {
        return executePreview(this.host, request);
    }

    /** A scheduled run: see ./provisioning/scheduled. */
    scheduled(
        request: { slot?: string; full?: boolean } = {}
    ): Promise<{ runId: string; status: 'Running' }> {
        return scheduled(this.host, request);
    }

    /** See ./provisioning/sweep. */
    sweep(): Promise<{
        resumed?: string;
        expired: number;
        failedPreviews: number;
        expiredInvitations?: number;
    }> {
        return this.sweeper.sweep();
    }

    getRun(id: string): Promise<RunView> {
        return this.views.getRun(id);
    }

    listRuns(limit = 20): Promise<RunView[]> {
        return this.views.listRuns(limit);
    }

    runItems(id: string): Promise<ItemRecord[]> {
        return this.views.runItems(id);
    }

    /** The condition set editor's warning for a draft set (before save): see ./impact. */
    draftImpact(draft: DraftSet): Promise<DraftImpact> {
        return this.views.draftImpact(draft);
    }

    explain(key: string) {
        return this.views.explain(key);
    }

    /** `POST /v1/runs/{id}/approve-held`: see ./provisioning/taking-away. */
    approveHeld(request: { runId: string; initiatedBy?: string }) {
        return approveHeld(this.host, request);
    }

    pendingDeactivations(key: string) {
        return listPendingDeactivations(this.host, key);
    }

    reconcile(request: { key: string; initiatedBy?: string; keep?: number }) {
        return reconcile(this.host, request);
    }

    adopt(request: { key: string; initiatedBy?: string; appIds?: string[]; all?: boolean }) {
        return adopt(this.host, request);
    }

    /** The authorization webhook: see ./provisioning/authorizations. */
    authorize(body: z.infer<typeof authorizationBody>) {
        return authorize(this.deps, body);
    }

    /** Stops accepting runs; a running run stops sending, writes what it has and is parked for resume. */
    shutdown(timeoutMs: number): Promise<void> {
        return this.host.shutdown(timeoutMs);
    }
}
