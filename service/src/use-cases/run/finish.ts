/**
 * Finish: the run's final record, the audit email and the Slack summary. Whatever happened to the
 * notifications is recorded on the run (Notification_Outcome__c); a bad recipient never costs the others
 * their audit.
 */
import { isValidAddress } from '../../domain/email';
import { RUN, type RunStatus } from '../../domain/org-store';
import { AppError, describeError } from '../../errors';
import type { SendResult } from '../../ports';
import {
    buildAuditMail,
    buildSlackMessage,
    type ReportAudience,
    type ReportRow,
    type RunReport
} from '../reports';
import { connectionCounts, countFields } from './counts';
import { truncate, type RunContext, type RunDeps, type RunProgress, type WorkItem } from './context';

export interface FinishInput {
    status: RunStatus;
    error?: string;
    items: WorkItem[];
    progress: RunProgress;
    apiCalls: number;
    /** Run fields that were waiting for a progress write. */
    runFields: Record<string, unknown>;
}

export async function finishRun(deps: RunDeps, ctx: RunContext, input: FinishInput): Promise<void> {
    const finishedAt = deps.clock.now();
    const report = await buildReport(deps, ctx, input, finishedAt);
    const outcome = await notify(deps, ctx, report);
    const notes = [...ctx.notes, ...(input.error ? [input.error] : [])];
    const p = input.progress;
    // The claim is released in the same call: a run is never Completed while its claim still blocks the next.
    const [result] = await deps.store.update([
        {
            attributes: { type: RUN },
            Id: ctx.runId,
            Status__c: input.status,
            Finished_At__c: finishedAt.toISOString(),
            Heartbeat__c: finishedAt.toISOString(),
            // The invitations' tally and the connections' outcomes: the one line every surface shows.
            ...countFields({ ...p, ...connectionCounts(ctx.connections) }, p.total),
            Eligible_Count__c: ctx.eligible,
            Evaluated_Count__c: ctx.evaluated,
            Api_Calls__c: input.apiCalls + 1,
            Notification_Outcome__c: truncate(JSON.stringify(outcome), 32_000),
            ...input.runFields,
            Error__c: notes.length > 0 ? truncate(notes.join('\n'), 32_000) : null
        },
        deps.leases.releaseRecord(ctx.lease)
    ]);
    if (!result?.success) {
        throw new AppError(
            'ORG_REQUEST_FAILED',
            `Could not finish the run: ${result?.errors.join('; ') || 'no result'}`
        );
    }
}

function runUrl(deps: RunDeps, runId: string): string {
    const template = deps.config.links.runUrlTemplate;
    if (template) return template.replace('{runId}', runId);
    return `${deps.store.org.instanceUrl()}/lightning/r/${RUN}/${runId}/view`;
}

async function buildReport(
    deps: RunDeps,
    ctx: RunContext,
    input: FinishInput,
    finishedAt: Date
): Promise<RunReport> {
    let initiatedBy: RunReport['initiatedBy'];
    if (ctx.initiatedBy) {
        const [user] = await deps.store.users([ctx.initiatedBy]).catch(() => []);
        initiatedBy = { name: user?.Name ?? ctx.initiatedBy, email: user?.Email ?? undefined };
    }
    // A scheduled run is created by an upsert, which does not return the auto-number name; a resumed run may
    // not know the org's time zone. Both are read here only when missing.
    const runName = ctx.runName ?? (await deps.store.findRun(ctx.runId).catch(() => undefined))?.Name;
    const timeZone = ctx.timeZone ?? (await deps.store.orgTimeZone().catch(() => undefined));
    const p = input.progress;
    const rows: ReportRow[] = input.items.map((item) => ({
        name: item.name,
        email: item.email,
        products: item.products,
        status: item.status ?? 'Pending',
        reason: item.reason,
        kind: item.kind
    }));
    return {
        runId: ctx.runId,
        runName,
        runUrl: runUrl(deps, ctx.runId),
        trigger: ctx.trigger,
        evaluation: ctx.evaluation && `${ctx.evaluation.kind}: ${ctx.evaluation.reason}`,
        status: input.status,
        initiatedBy,
        startedAt: ctx.startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        timeZone,
        sets: ctx.sets,
        invalidSets: ctx.invalidSets,
        totals: {
            evaluated: ctx.evaluated,
            eligible: ctx.eligible,
            invited: p.invited,
            reminded: p.reminded,
            skipped: p.skipped,
            failed: p.failed,
            ...connectionCounts(ctx.connections)
        },
        rows,
        connections: ctx.connections,
        error: [...ctx.notes, ...(input.error ? [input.error] : [])].join('\n') || undefined
    };
}

async function notify(deps: RunDeps, ctx: RunContext, report: RunReport) {
    const { store, config, mailer, notifier, templates, metrics, logger } = deps;
    const recipients = new Set<string>(ctx.recipients.filter((address) => address.trim() !== ''));
    if (report.initiatedBy?.email) recipients.add(report.initiatedBy.email);
    let adminsNote: string | undefined;
    // Every run is audited: with nobody else to tell (a schedule with no recipients and admins off, an
    // initiator without an email), the audit goes to the Rollcall admins.
    const adminsAsFallback = !ctx.notifyAdmins && recipients.size === 0;
    if (ctx.notifyAdmins || adminsAsFallback) {
        try {
            for (const email of await store.adminEmails(config.runs.adminRecipientCap)) recipients.add(email);
            if (adminsAsFallback) adminsNote = 'no recipients configured: sent to the Rollcall admins';
        } catch (error) {
            adminsNote = `admins not added: ${describeError(error)}`;
        }
    }
    const all = [...new Set([...recipients].map((r) => r.trim().toLowerCase()).filter(Boolean))];
    // One bad address in the settings must not cost everyone else the audit: it is dropped and named.
    const to = all.filter((address) => isValidAddress(address));
    const dropped = all.filter((address) => !isValidAddress(address));
    if (dropped.length > 0) {
        const note = `invalid recipients dropped: ${dropped.map((a) => JSON.stringify(a)).join(', ')}`;
        adminsNote = adminsNote ? `${adminsNote}; ${note}` : note;
    }
    // `to` lists the addresses the audit went to: the run detail shows them under the count it states.
    let email: { status: string; detail?: string; recipients: number; to?: string[] };
    if (to.length === 0) {
        email = { status: 'skipped', detail: adminsNote ?? 'no recipients', recipients: 0 };
    } else {
        const audience: ReportAudience = {
            initiator: report.initiatedBy?.email ? report.initiatedBy.name : undefined,
            admins: adminsAsFallback ? 'fallback' : ctx.notifyAdmins ? 'notified' : undefined,
            recipients: ctx.recipients
                .map((address) => address.trim().toLowerCase())
                .filter((address) => to.includes(address))
        };
        const mail = buildAuditMail({ ...report, audience }, templates, to, config.runs.auditTableCap);
        const result = await mailer.send(mail).catch((error): SendResult => ({
            status: 'failed',
            permanent: true,
            reason: describeError(error),
            attempts: 0
        }));
        email =
            result.status === 'sent'
                ? { status: 'sent', recipients: mail.to.length, to: mail.to, detail: adminsNote }
                : { status: 'failed', detail: result.reason, recipients: mail.to.length, to: mail.to };
    }
    metrics.notifications.inc({ channel: 'email', outcome: email.status });
    const slack = await notifier
        .post(buildSlackMessage(report, ctx.slackChannel))
        .catch((error) => ({ status: 'failed' as const, detail: describeError(error) }));
    metrics.notifications.inc({ channel: 'slack', outcome: slack.status });
    if (email.status === 'failed')
        logger.child({ runId: ctx.runId }).warn({ detail: email.detail }, 'Audit email not sent');
    return { email, slack };
}
