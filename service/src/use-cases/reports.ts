/**
 * What a finished run tells people: the audit email (HTML + text, capped table, full CSV attachment)
 * and the Slack summary (Block Kit). Pure functions of a RunReport.
 */
import type { MailTemplates, OutgoingMail, SlackMessage } from '../ports';
import { outcomeLine, type OutcomeCounts } from './run/counts';

export interface ReportRow {
    name: string;
    email: string;
    products: string[];
    status: string;
    reason?: string;
    /** `Reminder` rows are listed apart from first invitations; absent means an invitation. */
    kind?: string;
}

/** Who the audit went to, and why: the run's settings as the finish applied them. */
export interface ReportAudience {
    /** The admin who started the run (a manual run), when they have an email address. */
    initiator?: string;
    /** The Rollcall admins: because the run (or schedule) notifies them, or because nobody else was set. */
    admins?: 'notified' | 'fallback';
    /** The run's extra recipients (a manual run) or the schedule's recipients (a scheduled run). */
    recipients: string[];
}

export interface RunReport {
    runId: string;
    runName?: string;
    runUrl: string;
    trigger: string;
    /** "Full (manual run…)" or "Incremental (changes since run …)". */
    evaluation?: string;
    status: string;
    initiatedBy?: { name: string; email?: string };
    startedAt?: string;
    finishedAt?: string;
    timeZone?: string;
    sets: { name: string; products: string[] }[];
    invalidSets: { name: string; reasons: string[] }[];
    /** The evaluation's counts and the run's outcome counts (run/counts.ts, as the run record holds them). */
    totals: { evaluated: number; eligible: number } & OutcomeCounts;
    rows: ReportRow[];
    error?: string;
    /** What the run did in each connection's app (DESIGN §10), apart from the invitation totals. */
    connections?: ConnectionReport[];
    audience?: ReportAudience;
}

/** One connection's actions in a run: planned by kind, and their outcome. */
export interface ConnectionReport {
    key: string;
    name: string;
    planned: Record<string, number>;
    done: number;
    failed: number;
    skipped: number;
    kept: number;
    problem?: string;
    failures?: string[];
    /** DESIGN §11: actions the circuit breaker holds for an admin, and why. */
    held?: number;
    heldReason?: string;
}

/**
 * The first line of the audit email and of Slack when a breaker held removals (DESIGN §11), undefined
 * otherwise: "HELD: 6 removals in Demo SCIM app (demo-scim) wait for an admin's approval (held: …)".
 */
export function holdLine(connections: ConnectionReport[] | undefined): string | undefined {
    const held = (connections ?? []).filter((connection) => (connection.held ?? 0) > 0);
    if (held.length === 0) return undefined;
    return `HELD: ${held
        .map(
            (connection) =>
                `${connection.held} removals in ${connection.name} (${connection.key})${
                    connection.heldReason ? ` (${connection.heldReason})` : ''
                }`
        )
        .join('; ')} wait for an admin's approval on the run ("Approve held removals") or a rule change`;
}

/** "3 Create, 5 Add To Group → 7 done, 1 failed" (one line per connection, email and Slack alike). */
export function connectionLine(connection: ConnectionReport): string {
    const planned = Object.entries(connection.planned)
        .map(([kind, count]) => `${count} ${kind}`)
        .join(', ');
    const outcome = [
        `${connection.done} done`,
        ...(connection.failed > 0 ? [`${connection.failed} failed`] : []),
        ...(connection.skipped > 0 ? [`${connection.skipped} skipped`] : []),
        ...((connection.held ?? 0) > 0 ? [`${connection.held} held`] : []),
        ...(connection.kept > 0 ? [`${connection.kept} kept (Manual)`] : [])
    ].join(', ');
    return `${connection.name} (${connection.key}): ${planned || 'nothing to change'} → ${outcome}${
        connection.problem ? `. ${connection.problem}` : ''
    }`;
}

/**
 * "Rollcall manual run RUN-000042 Completed: 0 invited, 1 reminded, 0 skipped, 0 failed": the audit's
 * subject and first line and Slack's headline, so the three say the same.
 */
export function runHeadline(report: RunReport): string {
    return `${runHeading(report)}: ${outcomeLine(report.totals)}`;
}

/** "Rollcall manual run RUN-000042 Completed" (the headline before its outcome). */
function runHeading(report: RunReport): string {
    const run = report.runName ? ` ${report.runName}` : '';
    return `Rollcall ${report.trigger.toLowerCase()} run${run} ${report.status}`;
}

/** Skip reasons someone can fix (the others are the run working as meant: a status changed, a user left). */
const SKIPS_NEEDING_ACTION = [/no email address/i];

function needsAction(row: ReportRow): boolean {
    if (row.status === 'Failed') return true;
    return row.status === 'Skipped' && SKIPS_NEEDING_ACTION.some((pattern) => pattern.test(row.reason ?? ''));
}

/** "You got this because …": the reasons this run's audit went to its recipients. */
export function audienceLine(report: RunReport): string {
    const audience = report.audience;
    if (!audience) return '';
    const reasons: string[] = [];
    if (audience.initiator) reasons.push(`you started this run (${audience.initiator})`);
    if (audience.admins === 'notified')
        reasons.push(
            report.trigger === 'Scheduled'
                ? 'you are a Rollcall admin and the schedule notifies admins'
                : 'you are a Rollcall admin and this run notifies admins'
        );
    if (audience.admins === 'fallback')
        reasons.push('you are a Rollcall admin and nobody else was set to receive it');
    if (audience.recipients.length > 0) {
        const list = audience.recipients.join(', ');
        reasons.push(
            report.trigger === 'Scheduled'
                ? `you are a recipient on the schedule (${list})`
                : `you are an extra recipient of this run (${list})`
        );
    }
    if (reasons.length === 0) return '';
    const last = reasons.pop()!;
    return `You received this because ${reasons.length > 0 ? `${reasons.join('; ')}; or ${last}` : last}.`;
}

/** Spreadsheet-safe CSV: quoted, and cells that a spreadsheet would run as formulas are defused. */
export function toCsv(rows: ReportRow[]): string {
    const cell = (value: string) => {
        const defused = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
        return `"${defused.replace(/"/g, '""')}"`;
    };
    const lines = [['Name', 'Email', 'Products', 'Status', 'Reason', 'Kind'].map(cell).join(',')];
    for (const row of rows) {
        lines.push(
            [
                row.name,
                row.email,
                row.products.join('; '),
                row.status,
                row.reason ?? '',
                row.kind ?? 'Invitation'
            ]
                .map(cell)
                .join(',')
        );
    }
    return `${lines.join('\r\n')}\r\n`;
}

/** "2026-12-01 16:10:47 Europe/Paris": an instant as the org's admins read their clocks (UTC when unknown). */
export function formatInZone(iso: string, timeZone = 'UTC'): string {
    const at = new Date(iso);
    if (Number.isNaN(at.getTime())) return iso;
    let parts: Intl.DateTimeFormatPart[];
    try {
        parts = new Intl.DateTimeFormat('en-GB', {
            timeZone,
            year: 'numeric',
            month: '2-digit',
            day: '2-digit',
            hour: '2-digit',
            minute: '2-digit',
            second: '2-digit',
            hourCycle: 'h23'
        }).formatToParts(at);
    } catch {
        return formatInZone(iso, 'UTC');
    }
    const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
    return `${part('year')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')}:${part('second')} ${timeZone}`;
}

/**
 * The audit email, laid out for the person who receives it: the run's link, why they got it, the outcome in
 * one line (the Slack headline's), what needs action first (failures, skips someone can fix, users a failed
 * run never reached), then the lists (only those with someone in them), each capped with "and N more" (the
 * CSV attached then has every row), then the run's details.
 */
export function buildAuditMail(
    report: RunReport,
    templates: MailTemplates,
    to: string[],
    tableCap: number
): OutgoingMail {
    const invitation = (row: ReportRow) => row.kind !== 'Reminder';
    const invited = report.rows.filter((row) => row.status === 'Invited' && invitation(row));
    const reminded = report.rows.filter((row) => row.status === 'Invited' && !invitation(row));
    const failed = report.rows.filter((row) => row.status === 'Failed');
    const skipped = report.rows.filter((row) => row.status === 'Skipped');
    const skippedToFix = skipped.filter(needsAction);
    const skippedOther = skipped.filter((row) => !needsAction(row));
    // A run that stopped leaves users it never reached: they were not sent anything.
    const notReached =
        report.status === 'Failed'
            ? report.rows
                  .filter((row) => row.status === 'Pending' || row.status === '')
                  .map((row) => ({ ...row, reason: row.reason ?? 'nothing sent: the run stopped first' }))
            : [];
    const capped = report.rows.length > tableCap;
    const csvName = `rollcall-run-${report.runId}.csv`;
    const view = (row: ReportRow) => ({ ...row, productList: row.products.join(', ') });
    const list = (rows: ReportRow[], title: string) => {
        const shown = rows.slice(0, tableCap);
        return {
            title,
            count: rows.length,
            // A Note column only when some row has one.
            hasNotes: shown.some((row) => Boolean(row.reason)),
            rows: shown.map(view),
            hidden: rows.length - shown.length
        };
    };
    // A connection whose actions failed: one row per connection (its actions are in the run detail).
    const accessFailed = (report.connections ?? []).filter((connection) => connection.failed > 0);
    const accessList = {
        title: 'Access changes failed: not made in the app',
        count: accessFailed.reduce((sum, connection) => sum + connection.failed, 0),
        hasNotes: true,
        rows: accessFailed.map((connection) => ({
            name: `${connection.name} (${connection.key})`,
            email: '',
            productList: '',
            status: 'Failed',
            products: [],
            reason: `${connection.failed} failed: ${
                connection.problem ?? (connection.failures ?? []).join('; ') ?? ''
            }`
        })),
        hidden: 0
    };
    const actionLists = [
        list(failed, 'Failed: not sent'),
        accessList,
        list(skippedToFix, 'Skipped: needs a fix'),
        list(notReached, 'Not reached: the run stopped first')
    ].filter((entry) => entry.count > 0);
    const lists = [
        list(invited, 'Invited'),
        list(reminded, 'Reminded: invitations still unanswered'),
        list(skippedOther, 'Skipped: no action needed')
    ].filter((entry) => entry.count > 0);
    const headline = runHeadline(report);
    const rendered = templates.render('audit', {
        ...report,
        headline,
        heading: runHeading(report),
        outcome: outcomeLine(report.totals),
        why: audienceLine(report),
        runLabel: report.runName ?? 'the run',
        initiator: report.initiatedBy
            ? `${report.initiatedBy.name}${report.initiatedBy.email ? ` <${report.initiatedBy.email}>` : ''}`
            : report.trigger === 'Scheduled'
              ? 'the schedule'
              : 'the integration user',
        sets: report.sets.map((set) => ({ ...set, productList: set.products.join(', ') })),
        invalidSets: report.invalidSets.map((set) => ({ ...set, reasonText: set.reasons.join(' ') })),
        actionCount: actionLists.reduce((sum, entry) => sum + entry.count, 0),
        actionLists,
        lists,
        startedAt: report.startedAt && formatInZone(report.startedAt, report.timeZone),
        finishedAt: report.finishedAt && formatInZone(report.finishedAt, report.timeZone),
        capped,
        holdLine: holdLine(report.connections),
        csvName,
        connections: report.connections?.length
            ? report.connections.map((connection) => ({
                  line: connectionLine(connection),
                  failures: (connection.failures ?? []).map((reason) => ({ reason }))
              }))
            : undefined
    });
    return {
        to,
        ...rendered,
        attachments: capped
            ? [
                  {
                      filename: csvName,
                      content: toCsv(report.rows),
                      // Declared, so a mail client decodes names such as "Seán" as written.
                      contentType: 'text/csv; charset=utf-8'
                  }
              ]
            : undefined,
        outboxPath: `${report.runId}/audit`
    };
}

function slackEscape(value: string): string {
    return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function buildSlackMessage(report: RunReport, channel?: string): SlackMessage {
    const t = report.totals;
    const failures = report.rows.filter((row) => row.status === 'Failed');
    // The audit email's subject and first line, word for word.
    const headline = runHeadline(report);
    const held = holdLine(report.connections);
    const blocks: unknown[] = [
        // A hold leads: the admins must act on it (DESIGN §11).
        ...(held
            ? [{ type: 'section', text: { type: 'mrkdwn', text: `*${slackEscape(held)}*`.slice(0, 3000) } }]
            : []),
        { type: 'header', text: { type: 'plain_text', text: headline.slice(0, 150) } },
        {
            type: 'section',
            fields: [
                { type: 'mrkdwn', text: `*Evaluated*\n${t.evaluated}` },
                { type: 'mrkdwn', text: `*Eligible*\n${t.eligible}` },
                { type: 'mrkdwn', text: `*Invited*\n${t.invited}` },
                { type: 'mrkdwn', text: `*Reminded*\n${t.reminded}` },
                { type: 'mrkdwn', text: `*Failed*\n${t.failed}` },
                { type: 'mrkdwn', text: `*Skipped*\n${t.skipped}` },
                {
                    type: 'mrkdwn',
                    text: `*Initiated by*\n${slackEscape(report.initiatedBy?.name ?? (report.trigger === 'Scheduled' ? 'Schedule' : 'Integration user'))}`
                }
            ]
        },
        {
            type: 'section',
            text: {
                type: 'mrkdwn',
                text: `*Condition sets*\n${
                    report.sets
                        .map((set) => `• ${slackEscape(set.name)} (${slackEscape(set.products.join(', '))})`)
                        .join('\n') || '_none active_'
                }${
                    report.invalidSets.length > 0
                        ? `\n*Skipped as invalid*\n${report.invalidSets
                              .map(
                                  (set) =>
                                      `• ${slackEscape(set.name)}: ${slackEscape(set.reasons.join(' ').slice(0, 200))}`
                              )
                              .join('\n')}`
                        : ''
                }`.slice(0, 3000)
            }
        }
    ];
    if (report.connections?.length) {
        blocks.push({
            type: 'section',
            text: {
                type: 'mrkdwn',
                text: `*Connections*\n${report.connections
                    .map((connection) => `• ${slackEscape(connectionLine(connection))}`)
                    .join('\n')}`.slice(0, 3000)
            }
        });
    }
    if (failures.length > 0) {
        const shown = failures.slice(0, 10);
        blocks.push({
            type: 'section',
            text: {
                type: 'mrkdwn',
                text: `*Failures*\n${shown
                    .map(
                        (row) =>
                            `• ${slackEscape(row.name)} (${slackEscape(row.email)}): ${slackEscape(row.reason ?? '')}`
                    )
                    .join(
                        '\n'
                    )}${failures.length > shown.length ? `\n…and ${failures.length - shown.length} more` : ''}`.slice(
                    0,
                    3000
                )
            }
        });
    }
    if (report.error) {
        blocks.push({
            type: 'section',
            text: { type: 'mrkdwn', text: `*Error*\n${slackEscape(report.error).slice(0, 2900)}` }
        });
    }
    blocks.push({
        type: 'actions',
        elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open the run' }, url: report.runUrl }]
    });
    return { channel, text: `${held ? `${held}. ` : ''}${headline}. ${report.runUrl}`, blocks };
}
