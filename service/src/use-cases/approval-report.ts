/**
 * What an approval of held removals tells people (DESIGN §11): a short email and a Slack message, with
 * who approved and when (in the org's time zone), counts by kind and the people affected by name, "and N
 * more" past the cap. Pure.
 */
import type { OutgoingMail, SlackMessage } from '../ports';
import { formatInZone } from './reports';

export interface ApprovalReport {
    runId: string;
    runUrl: string;
    approvedBy: string;
    approvedAt: string;
    timeZone?: string;
    /** Per connection: what was sent and to whom. */
    connections: Array<{
        key: string;
        name: string;
        sent: Record<string, number>;
        done: number;
        failed: number;
        names: string[];
    }>;
}

export const APPROVAL_NAMES_SHOWN = 20;

function escapeHtml(value: string): string {
    return value
        .replace(/&/g, '&amp;')
        .replace(/</g, '&lt;')
        .replace(/>/g, '&gt;')
        .replace(/"/g, '&quot;')
        .replace(/'/g, '&#39;');
}

function names(list: string[]): string {
    const shown = list.slice(0, APPROVAL_NAMES_SHOWN);
    const more = list.length - shown.length;
    return `${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

export function approvalLines(report: ApprovalReport): string[] {
    return report.connections.map((connection) => {
        const kinds = Object.entries(connection.sent)
            .map(([kind, count]) => `${count} ${kind}`)
            .join(', ');
        return `${connection.name} (${connection.key}): ${kinds || 'nothing'} → ${connection.done} done${
            connection.failed > 0 ? `, ${connection.failed} failed` : ''
        }${connection.names.length > 0 ? `. People: ${names(connection.names)}` : ''}`;
    });
}

export function approvalHeadline(report: ApprovalReport): string {
    return `Rollcall: held removals of run ${report.runId} approved by ${report.approvedBy} at ${formatInZone(report.approvedAt, report.timeZone)}`;
}

export function buildApprovalMail(report: ApprovalReport, to: string[]): OutgoingMail {
    const headline = approvalHeadline(report);
    const lines = approvalLines(report);
    return {
        to,
        subject: headline,
        text: `${headline}\n\n${lines.join('\n')}\n\n${report.runUrl}\n`,
        html: `<!doctype html><html lang="en"><body><p><strong>${escapeHtml(headline)}</strong></p><ul>${lines
            .map((line) => `<li>${escapeHtml(line)}</li>`)
            .join('')}</ul><p><a href="${escapeHtml(report.runUrl)}">The run</a></p></body></html>`,
        outboxPath: `${report.runId}/held-approval`
    };
}

export function buildApprovalSlack(report: ApprovalReport, channel?: string): SlackMessage {
    const escape = (value: string) =>
        value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    const headline = approvalHeadline(report);
    return {
        channel,
        text: `${headline}. ${report.runUrl}`,
        blocks: [
            { type: 'section', text: { type: 'mrkdwn', text: `*${escape(headline)}*`.slice(0, 3000) } },
            {
                type: 'section',
                text: {
                    type: 'mrkdwn',
                    text:
                        approvalLines(report)
                            .map((line) => `• ${escape(line)}`)
                            .join('\n')
                            .slice(0, 3000) || '_nothing sent_'
                }
            }
        ]
    };
}
