/**
 * A manual run: an admin executes a preview (`POST /v1/runs` with `previewRunId`). The preview's items are
 * the run's items; the run starts under the org's claim and executes in the background (./host).
 */
import { randomUUID } from 'node:crypto';
import { isValidAddress } from '../../domain/email';
import { SCHEDULE_CHECK, assertSalesforceId, type RunRecord } from '../../domain/org-store';
import { AppError } from '../../errors';
import { parseSnapshot } from '../evaluation';
import { toWorkItem } from '../run/context';
import { executeClaimReads, executionReads } from '../run/start-reads';
import type { RunHost } from './host';

export interface ExecuteRequest {
    previewRunId: string;
    initiatedBy: string;
    notify?: { admins?: boolean; recipients?: string[] };
}

export async function executePreview(
    host: RunHost,
    request: ExecuteRequest
): Promise<{ runId: string; status: 'Running' }> {
    host.assertOpen();
    const { store, clock } = host.deps;
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
    const initiatedBy = await host.assertAdmin(request.initiatedBy);
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
    if (known.Status__c !== 'Previewed') throw notExecutable(known);
    if (known.Purpose__c === SCHEDULE_CHECK) {
        throw new AppError(
            'PREVIEW_NOT_EXECUTABLE',
            `Run ${runId} is a schedule check (who the next scheduled run would invite); it is never executed`,
            { details: { runId, status: known.Status__c } }
        );
    }
    return host.underClaim('execute', runId, async (lease) => {
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
            await host.updateRun(runId, { Status__c: 'Expired' });
            throw new AppError('PREVIEW_EXPIRED', 'The preview has expired; preview again');
        }
        if (run.Status__c !== 'Previewed') throw notExecutable(run);
        await host.assertNoInterruptedRun(runId, claimed.activeRuns);
        const runKey = run.Run_Key__c ?? randomUUID();
        const notifyAdmins = request.notify?.admins === true;
        await host.updateRun(runId, {
            Status__c: 'Running',
            Run_Key__c: runKey,
            Started_At__c: now.toISOString(),
            Heartbeat__c: now.toISOString(),
            Initiated_By__c: initiatedBy,
            Notify_Admins__c: notifyAdmins,
            Recipients__c: recipients.join('\n') || null,
            Error__c: null
        });
        host.startBackground(runId, lease, async () => {
            const reads = executionReads(store, runId);
            const [items, snapshot, settings, timeZone] = await Promise.all([
                reads.items,
                reads.snapshot,
                host.settings(reads.settings),
                host.evaluator.timeZone().catch(() => undefined)
            ]);
            return {
                ctx: host.context(run, lease, {
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

function notExecutable(run: RunRecord): AppError {
    if (run.Status__c === 'Expired')
        return new AppError('PREVIEW_EXPIRED', 'The preview has expired; preview again');
    return new AppError('PREVIEW_NOT_EXECUTABLE', `Run ${run.Id} is ${run.Status__c}, not Previewed`, {
        details: { runId: run.Id, status: run.Status__c }
    });
}
