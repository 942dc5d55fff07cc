/** A breaker hold (DESIGN §11) leads the audit email (subject and first line) and the Slack summary; an approval is announced. */
import { MailTemplates } from '../../service/src/adapters/templates';
import { DEFAULT_TEMPLATES_DIR } from '../../service/src/config';
import {
    APPROVAL_NAMES_SHOWN,
    buildApprovalMail,
    buildApprovalSlack,
    type ApprovalReport
} from '../../service/src/use-cases/approval-report';
import {
    buildAuditMail,
    buildSlackMessage,
    holdLine,
    type RunReport
} from '../../service/src/use-cases/reports';

const REASON = 'held: 60% of 5 rule-managed active accounts is more than the limit of 20%';
const held: NonNullable<RunReport['connections']>[number] = {
    key: 'demo-scim',
    name: 'Demo SCIM app',
    planned: { Deactivate: 3, 'Remove From Group': 3 },
    done: 0,
    failed: 0,
    skipped: 0,
    kept: 0,
    held: 6,
    heldReason: REASON
};
const quiet: NonNullable<RunReport['connections']>[number] = {
    key: 'other',
    name: 'Other <app>',
    planned: { Create: 1 },
    done: 1,
    failed: 0,
    skipped: 0,
    kept: 0
};

function report(connections: RunReport['connections']): RunReport {
    return {
        runId: 'a0D5g000000ABCDEAQ',
        runUrl: 'https://acme.example/run',
        trigger: 'Manual',
        status: 'Completed',
        sets: [],
        invalidSets: [],
        totals: { evaluated: 1, eligible: 0, invited: 0, reminded: 0, skipped: 0, failed: 0 },
        rows: [],
        connections
    };
}

const LINE = `HELD: 6 removals in Demo SCIM app (demo-scim) (${REASON}) wait for an admin's approval on the run ("Approve held removals") or a rule change`;

describe('holds in the audit and Slack', () => {
    it('when nothing is held, then there is no hold line and the mail starts as before', () => {
        expect(holdLine([quiet])).toBeUndefined();
        expect(holdLine(undefined)).toBeUndefined();
        const mail = buildAuditMail(
            report([quiet]),
            new MailTemplates(DEFAULT_TEMPLATES_DIR),
            ['a@example.com'],
            10
        );
        expect(mail.subject).toMatch(/^Rollcall manual run Completed/);
        expect(mail.text.split('\n')[0]).toBe(mail.subject);
    });

    it('when removals are held, then the subject, the first line of the text and of the HTML body say so', () => {
        expect(holdLine([quiet, held])).toBe(LINE);
        const mail = buildAuditMail(
            report([quiet, held]),
            new MailTemplates(DEFAULT_TEMPLATES_DIR),
            ['a@example.com'],
            10
        );
        expect(mail.subject).toMatch(/^HELD removals · Rollcall manual run Completed/);
        expect(mail.text.split('\n')[0]).toBe(LINE);
        // The body's first element, after the <body …> tag.
        const body = mail.html.slice(mail.html.indexOf('>', mail.html.indexOf('<body')) + 1).trim();
        expect(body.split('\n')[0].trim()).toBe(
            `<p style="color: #ba0517; margin: 0 0 12px 0"><strong>${LINE.replace(/"/g, '&quot;').replace(/'/g, '&#39;')}</strong></p>`
        );
    });

    it('when removals are held, then Slack leads with the hold, in the notification text and the first block', () => {
        const message = buildSlackMessage(report([held]));
        expect(message.text.startsWith(`${LINE}. `)).toBe(true);
        expect((message.blocks as Array<{ text: { text: string } }>)[0].text.text).toBe(`*${LINE}*`);
    });
});

describe('the approval notice', () => {
    const people = Array.from({ length: 23 }, (_, i) => `Person ${i + 1}`);
    const report: ApprovalReport = {
        runId: 'a0D5g000000ABCDEAQ',
        runUrl: 'https://acme.example/run',
        approvedBy: 'Ada <Admin>',
        approvedAt: '2026-12-01T15:10:47.000Z',
        timeZone: 'Europe/Paris',
        connections: [
            {
                key: 'demo-scim',
                name: 'Demo SCIM app',
                sent: { Deactivate: 23, 'Remove From Group': 23 },
                done: 45,
                failed: 1,
                names: people
            }
        ]
    };

    it('says who approved and when in the org time zone, counts and names, and "and N more" past the cap', () => {
        const mail = buildApprovalMail(report, ['a@example.com']);
        expect(mail.subject).toBe(
            'Rollcall: held removals of run a0D5g000000ABCDEAQ approved by Ada <Admin> at 2026-12-01 16:10:47 Europe/Paris'
        );
        expect(mail.text).toContain(
            `Demo SCIM app (demo-scim): 23 Deactivate, 23 Remove From Group → 45 done, 1 failed. People: ${people
                .slice(0, APPROVAL_NAMES_SHOWN)
                .join(', ')} and 3 more`
        );
        expect(mail.html).toContain('Ada &lt;Admin&gt;');
        expect(mail.html).not.toContain('<Admin>');
        const slack = buildApprovalSlack(report);
        expect(
            slack.text.startsWith('Rollcall: held removals of run a0D5g000000ABCDEAQ approved by Ada <Admin>')
        ).toBe(true);
        expect(JSON.stringify(slack.blocks)).toContain('Ada &lt;Admin&gt;');
    });
});
