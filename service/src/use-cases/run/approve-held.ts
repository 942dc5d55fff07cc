/**
 * "Approve held removals" (DESIGN §11): the Deactivate and Remove From Group actions the circuit breaker
 * held in a finished run are sent once an admin approves them. The caller has checked the admin for
 * Rollcall_Admin (again, now) and holds the org's provisioning lease, so no other instance sends beside it.
 *
 * Idempotent under retries, lost answers and two instances:
 * 1. the approval is written on the run first (Held_Approved_By__c / Held_Approved_At__c), once: a later
 *    approval keeps the first one's who and when;
 * 2. the held actions become Pending (upsert by Key__c);
 * 3. the run's Pending actions are sent by connections.ts's sender, which marks each Done or Failed;
 * 4. the run's outcome line is written again from all its actions (the held ones now done or failed), so
 *    History, the run detail and the CLI no longer say "held for review" of what was sent.
 * A retry after a lost answer finds no Held action and nothing Pending, and sends nothing; a retry after a
 * crash between 2 and 3 sends what is still Pending (PATCHing `active` and removing members twice changes
 * nothing twice).
 */
import { AppError } from '../../errors';
import { ConnectionStore, RUN_ACTION } from '../../domain/connection-store';
import { soqlString } from '../../engine';
import { describeError } from '../../errors';
import { isValidAddress } from '../../domain/email';
import { buildApprovalMail, buildApprovalSlack, type ApprovalReport } from '../approval-report';
import { sendConnectionActions, type ConnectionOutcome } from './connections';
import type { RunDeps } from './context';
import { connectionCounts, countsOfRecord, outcomeLine } from './counts';

export interface HeldApproval {
    runId: string;
    approvedBy: string;
    approvedAt: string;
    /** Held actions this call released (0 when an earlier approval did). */
    released: number;
    /** True when the run was already approved (a retry, or a second admin). */
    alreadyApproved: boolean;
    connections: ConnectionOutcome[];
    /** The lease could not be kept: what is still Pending is sent by the next approval or resume. */
    stopped: boolean;
    /** The approval's email and Slack message (only when this call released held actions). */
    notified?: { email: string; slack: string };
}

const FINISHED = ['Completed', 'Completed with Errors'];

function created(text: string): number {
    return Date.parse(text.replace(/\+0000$/, 'Z'));
}

export async function approveHeldActions(
    deps: RunDeps,
    runId: string,
    admin: string,
    mayContinue: () => Promise<boolean>
): Promise<HeldApproval> {
    const { store, clock } = deps;
    const [run] = await store.org.query<{
        Id: string;
        Status__c: string;
        CreatedDate: string;
        Held_Approved_By__c?: string | null;
        Held_Approved_At__c?: string | null;
    }>(
        `SELECT Id, Status__c, CreatedDate, Held_Approved_By__c, Held_Approved_At__c FROM Provisioning_Run__c WHERE Id = ${soqlString(runId)}`
    );
    if (!run) throw new AppError('NOT_FOUND', `No run ${runId}`);
    if (!FINISHED.includes(run.Status__c)) {
        throw new AppError(
            'PREVIEW_NOT_EXECUTABLE',
            `Run ${runId} is ${run.Status__c}: held removals are approved once the run has finished`,
            { details: { runId, status: run.Status__c } }
        );
    }
    const connectionStore = new ConnectionStore(store.org);
    const held = (await connectionStore.actions(runId)).filter((action) => action.Status__c === 'Held');
    const alreadyApproved = Boolean(run.Held_Approved_By__c);
    if (held.length === 0 && !alreadyApproved) {
        throw new AppError('VALIDATION_FAILED', `Run ${runId} holds no actions to approve`);
    }
    if (!alreadyApproved) {
        // Each run plans afresh from the rules: a later finished run's plan supersedes these holds (the
        // rules or the people may have changed since), so they are not sent stale.
        const later = (
            await store.org.query<{ Id: string; CreatedDate: string }>(
                `SELECT Id, CreatedDate FROM Provisioning_Run__c WHERE Status__c IN ('Completed', 'Completed with Errors') ORDER BY CreatedDate DESC LIMIT 20`
            )
        ).find((other) => other.Id !== runId && created(other.CreatedDate) > created(run.CreatedDate));
        if (later) {
            throw new AppError(
                'PREVIEW_NOT_EXECUTABLE',
                `Run ${later.Id} ran after run ${runId} and planned from the rules again: approve its held removals instead`,
                { details: { runId, supersededBy: later.Id } }
            );
        }
    }
    const approvedBy = run.Held_Approved_By__c ?? admin;
    // The org answers date-times as `…+0000`; the answer says ISO 8601 with Z either way.
    const approvedAt = run.Held_Approved_At__c
        ? new Date(Date.parse(run.Held_Approved_At__c.replace(/\+0000$/, 'Z'))).toISOString()
        : clock.now().toISOString();
    if (!alreadyApproved) {
        await store.updateRun(runId, { Held_Approved_By__c: approvedBy, Held_Approved_At__c: approvedAt });
    }
    for (let i = 0; i < held.length; i += 200) {
        const results = await connectionStore.upsertActions(
            held.slice(i, i + 200).map((action) => ({
                attributes: { type: RUN_ACTION },
                Key__c: action.Key__c,
                Run__c: runId,
                Status__c: 'Pending',
                Reason__c: `Held, approved by ${approvedBy} at ${approvedAt}`
            }))
        );
        const failed = results.filter((result) => !result.success);
        if (failed.length > 0) {
            throw new AppError(
                'ORG_REQUEST_FAILED',
                `Could not release ${failed.length} held actions (first: ${failed[0].errors.join('; ')})`
            );
        }
    }
    const sent = await sendConnectionActions(deps, runId, { mayContinue });
    if (!sent.stopped) await rewriteOutcome(deps, runId, sent.outcomes);
    const notified = held.length > 0 ? await notifyApproval(deps, runId, admin, approvedAt, held) : undefined;
    deps.logger.info(
        { runId, approvedBy, released: held.length, alreadyApproved },
        'Held connection actions approved'
    );
    return {
        runId,
        approvedBy,
        approvedAt,
        released: held.length,
        alreadyApproved,
        connections: sent.outcomes,
        stopped: sent.stopped,
        ...(notified ? { notified } : {})
    };
}

/**
 * The run's line as the finish writes it (run/finish.ts): the invitations' counts of the record and the
 * connections' outcomes, read again from every action of the run. A released action that failed makes the
 * run Completed with Errors, as it would have at the finish. Written again on a retry: same line.
 */
async function rewriteOutcome(deps: RunDeps, runId: string, outcomes: ConnectionOutcome[]): Promise<void> {
    const record = await deps.store.findRun(runId);
    if (!record) return;
    const fields: Record<string, unknown> = {
        Outcome_Summary__c: outcomeLine({ ...countsOfRecord(record), ...connectionCounts(outcomes) })
    };
    if (record.Status__c === 'Completed' && outcomes.some((outcome) => outcome.failed > 0)) {
        fields.Status__c = 'Completed with Errors';
    }
    await deps.store.updateRun(runId, fields);
}

/** Best effort: the approval stands whether or not the admins could be told. */
async function notifyApproval(
    deps: RunDeps,
    runId: string,
    admin: string,
    approvedAt: string,
    released: Array<{
        Key__c: string;
        User__c: string;
        Kind__c: string;
        Connection__r?: { Key__c?: string; Name?: string } | null;
        Connection__c: string;
    }>
): Promise<{ email: string; slack: string }> {
    const { store, config, mailer, notifier, logger } = deps;
    try {
        const keys = new Set(released.map((action) => action.Key__c));
        const after = (await new ConnectionStore(store.org).actions(runId)).filter((action) =>
            keys.has(action.Key__c)
        );
        const people = await store.users([...new Set([admin, ...released.map((action) => action.User__c)])]);
        const nameOf = (id: string) => people.find((user) => user.Id === id)?.Name ?? id;
        const connections = new Map<string, ApprovalReport['connections'][number]>();
        for (const action of after) {
            const key = action.Connection__r?.Key__c ?? action.Connection__c;
            const entry = connections.get(key) ?? {
                key,
                name: action.Connection__r?.Name ?? key,
                sent: {},
                done: 0,
                failed: 0,
                names: []
            };
            entry.sent[action.Kind__c] = (entry.sent[action.Kind__c] ?? 0) + 1;
            if (action.Status__c === 'Done') entry.done++;
            else if (action.Status__c === 'Failed') entry.failed++;
            const name = nameOf(action.User__c);
            if (!entry.names.includes(name)) entry.names.push(name);
            connections.set(key, entry);
        }
        const report: ApprovalReport = {
            runId,
            runUrl: `${store.org.instanceUrl()}/lightning/r/Provisioning_Run__c/${runId}/view`,
            approvedBy: nameOf(admin),
            approvedAt,
            timeZone: await store.orgTimeZone().catch(() => undefined),
            connections: [...connections.values()]
        };
        const approver = people.find((user) => user.Id === admin)?.Email ?? undefined;
        const to = [
            ...new Set(
                [...(await store.adminEmails(config.runs.adminRecipientCap)), ...(approver ? [approver] : [])]
                    .map((address) => address.trim().toLowerCase())
                    .filter((address) => isValidAddress(address))
            )
        ];
        const email =
            to.length === 0
                ? 'skipped'
                : (await mailer.send(buildApprovalMail(report, to)).catch(() => ({ status: 'failed' })))
                      .status;
        const slack = (
            await notifier.post(buildApprovalSlack(report)).catch(() => ({ status: 'failed' as const }))
        ).status;
        return { email, slack };
    } catch (error) {
        logger.warn({ runId, err: describeError(error) }, 'Approval of held actions not notified');
        return { email: 'failed', slack: 'failed' };
    }
}
