/**
 * Taking access away (DESIGN §11), the admin's side: approving a run's held removals, the accounts waiting
 * out their grace, and reconciliation with an app (compare, then adopt what the admin confirms).
 */
import { assertSalesforceId } from '../../domain/org-store';
import { pendingDeactivations } from '../pending-deactivations';
import {
    adoptAccounts,
    reconcileConnection,
    type AdoptAnswer,
    type ReconcileAnswer
} from '../reconcile-connection';
import { approveHeldActions, type HeldApproval } from '../run/approve-held';
import type { RunHost } from './host';

/**
 * `POST /v1/runs/{id}/approve-held`: the admin is checked for Rollcall_Admin now, and the held removals
 * are sent under the org's provisioning lease (run/approve-held.ts).
 */
export async function approveHeld(
    host: RunHost,
    request: { runId: string; initiatedBy?: string }
): Promise<HeldApproval> {
    host.assertOpen();
    const admin = await host.assertAdmin(request.initiatedBy);
    const runId = assertSalesforceId(request.runId, 'id');
    return host.underClaim('execute', runId, async (lease) => {
        try {
            const approval = await approveHeldActions(host.deps, runId, admin, async () =>
                host.deps.leases.valid(lease)
            );
            await host.deps.leases.release(lease);
            return approval;
        } finally {
            // The approval, the outcome line and maybe the status changed on the run record: views read it again.
            host.forgetRun(runId);
        }
    });
}

/** `GET /v1/connections/{key}/pending-deactivations`: who waits out a grace, until when, why. */
export function listPendingDeactivations(host: RunHost, key: string) {
    return pendingDeactivations(host.deps, host.evaluator, key);
}

/** `POST /v1/connections/{key}/reconcile`: the four lists; writes nothing. */
export async function reconcile(
    host: RunHost,
    request: { key: string; initiatedBy?: string; keep?: number }
): Promise<ReconcileAnswer> {
    host.assertOpen();
    await host.assertAdmin(request.initiatedBy);
    return reconcileConnection(host.deps, host.evaluator, request.key, request.keep);
}

/** `POST /v1/connections/{key}/adopt`: the admin's confirmation; only accounts adoptable now are adopted. */
export async function adopt(
    host: RunHost,
    request: { key: string; initiatedBy?: string; appIds?: string[]; all?: boolean }
): Promise<AdoptAnswer> {
    host.assertOpen();
    await host.assertAdmin(request.initiatedBy);
    return adoptAccounts(host.deps, host.evaluator, request.key, request);
}
