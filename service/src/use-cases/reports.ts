/**
 * What a finished run tells people: the audit email (HTML + text, capped table, full CSV attachment)
 * and the Slack summary (Block Kit). Pure functions of a RunReport.
 */
import type { MailTemplates, OutgoingMail, SlackMessage } from '../ports';

export interface ReportRow {
    name: string;
    email: string;
    products: string[];
    status: string;
    reason?: string;
    /** `Reminder` rows are listed apart from first invitations; absent means an invitation. */
    kind?: string;
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
    totals: {
        evaluated: number;
        eligible: number;
        invited: number;
        skipped: number;
        failed: number;
        reminded?: number;
    };
    rows: ReportRow[];
    error?: string;
    /** What the run did in each connection's app (DESIGN §10), apart from the invitation totals. */
    connections?: ConnectionReport[];
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

export function buildAuditMail(
    report: RunReport,
    templates: MailTemplates,
    to: string[],
    tableCap: number
): OutgoingMail {
    const invited = report.rows.filter((row) => row.status === 'Invited' && row.kind !== 'Reminder');
    const reminded = report.rows.filter((row) => row.status === 'Invited' && row.kind === 'Reminder');
    const failed = report.rows.filter((row) => row.status === 'Failed');
    const skipped = report.rows.filter((row) => row.status === 'Skipped');
    const capped = report.rows.length > tableCap;
    const shownInvited = invited.slice(0, tableCap);
    const shownReminded = reminded.slice(0, tableCap);
    const shownFailed = failed.slice(0, tableCap);
    const shownSkipped = skipped.slice(0, tableCap);
    const view = (row: ReportRow) => ({ ...row, productList: row.products.join(', ') });
    const rendered = templates.render('audit', {
        ...report,
        initiator: report.initiatedBy
            ? `${report.initiatedBy.name}${report.initiatedBy.email ? ` <${report.initiatedBy.email}>` : ''}`
            : report.trigger === 'Scheduled'
              ? 'the schedule'
              : 'the integration user',
        sets: report.sets.map((set) => ({ ...set, productList: set.products.join(', ') })),
        invalidSets: report.invalidSets.map((set) => ({ ...set, reasonText: set.reasons.join(' ') })),
        totals: { ...report.totals, reminded: report.totals.reminded ?? reminded.length },
        invited: shownInvited.map(view),
        reminded: shownReminded.map(view),
        hiddenReminded: reminded.length - shownReminded.length,
        failed: shownFailed.map(view),
        skipped: shownSkipped.map(view),
        hiddenInvited: invited.length - shownInvited.length,
        hiddenFailed: failed.length - shownFailed.length,
        hiddenSkipped: skipped.length - shownSkipped.length,
        startedAt: report.startedAt && formatInZone(report.startedAt, report.timeZone),
        finishedAt: report.finishedAt && formatInZone(report.finishedAt, report.timeZone),
        runLabel: report.runName ? `${report.runName} (${report.runId})` : report.runId,
        capped,
        holdLine: holdLine(report.connections),
        csvName: `rollcall-run-${report.runId}.csv`,
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
                      filename: `rollcall-run-${report.runId}.csv`,
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
    const reminded =
        t.reminded ?? report.rows.filter((row) => row.status === 'Invited' && row.kind === 'Reminder').length;
    // Reminders are named in the headline only when the run sent some (they are off by default).
    const headline = `Rollcall ${report.trigger.toLowerCase()} run ${report.status}: ${t.invited} invited, ${reminded > 0 ? `${reminded} reminded, ` : ''}${t.failed} failed, ${t.skipped} skipped`;
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
                { type: 'mrkdwn', text: `*Reminders sent*\n${reminded}` },
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
