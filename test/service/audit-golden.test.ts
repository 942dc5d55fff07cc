/**
 * Golden files of the audit email (text and HTML) for a small run, a capped run and a failed run, from the
 * shipped templates. A change to the templates or to buildAuditMail shows up here as a diff to review;
 * regenerate with UPDATE_GOLDEN=1 after checking it.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_TEMPLATES_DIR } from '../../service/src/config';
import { MailTemplates } from '../../service/src/adapters/templates';
import { buildAuditMail, type ReportRow, type RunReport } from '../../service/src/use-cases/reports';

const GOLDEN = join(__dirname, 'golden');
const CAP = 3;

function row(n: number, status: string, reason?: string): ReportRow {
    return {
        name: n === 1 ? 'Seán Ó Briain' : `User ${n}`,
        email: `user${n}@example.com`,
        products: n % 2 === 0 ? ['Round Robin', 'Instant Booker'] : ['Meeting Links'],
        status,
        reason
    };
}

function report(overrides: Partial<RunReport>): RunReport {
    return {
        runId: 'a0D5g000000ABCDEAQ',
        runName: 'RUN-000042',
        runUrl: 'https://acme.lightning.force.com/lightning/r/Provisioning_Run__c/a0D5g000000ABCDEAQ/view',
        trigger: 'Manual',
        status: 'Completed',
        initiatedBy: { name: 'Ada Admin', email: 'ada@example.com' },
        startedAt: '2026-03-02T15:04:05.000Z',
        finishedAt: '2026-03-02T15:06:30.000Z',
        timeZone: 'Europe/Dublin',
        sets: [
            { name: 'New AEs in EMEA', products: ['Round Robin', 'Instant Booker'] },
            { name: 'Support leads', products: ['Meeting Links'] }
        ],
        invalidSets: [],
        totals: { evaluated: 12, eligible: 2, invited: 2, skipped: 0, failed: 0 },
        rows: [row(1, 'Invited'), row(2, 'Invited')],
        ...overrides
    };
}

const capped = [
    ...[1, 2, 3, 4, 5].map((n) => row(n, 'Invited')),
    // Reminders of invitations still unanswered are listed apart from the first invitations.
    ...[12, 13].map((n) => ({ ...row(n, 'Invited'), kind: 'Reminder' })),
    ...[6, 7].map((n) => row(n, 'Failed', '550 5.1.1 mailbox unavailable')),
    ...[8, 9, 10, 11].map((n) =>
        row(n, 'Skipped', 'status changed since the preview (Meeting Links: Not Invited → Invited)')
    )
];

const cases: [string, RunReport][] = [
    ['small', report({})],
    [
        'capped',
        report({
            trigger: 'Scheduled',
            evaluation: 'Incremental: changes since run RUN-000041 (watermark 2026-12-01T06:00:00.000Z)',
            initiatedBy: undefined,
            status: 'Completed with Errors',
            invalidSets: [{ name: 'Broken set', reasons: ['Condition 2: field Foo__c does not exist.'] }],
            totals: { evaluated: 1954, eligible: 11, invited: 5, skipped: 4, failed: 2, reminded: 2 },
            rows: capped
        })
    ],
    [
        'failed',
        report({
            status: 'Failed',
            error: 'ORG_UNAVAILABLE: the org did not answer after 4 attempts',
            totals: { evaluated: 12, eligible: 2, invited: 1, skipped: 0, failed: 0 },
            rows: [row(1, 'Invited'), row(2, 'Pending')]
        })
    ]
];

describe('audit email golden files', () => {
    const templates = new MailTemplates(DEFAULT_TEMPLATES_DIR);

    it.each(cases)('when the run is %s, then the mail matches its golden text and HTML', (name, input) => {
        const mail = buildAuditMail(input, templates, ['ada@example.com'], CAP);
        const rendered = {
            [`${name}.subject.txt`]: `${mail.subject}\n`,
            [`${name}.txt`]: mail.text,
            [`${name}.html`]: mail.html
        };

        for (const [file, content] of Object.entries(rendered)) {
            const path = join(GOLDEN, `audit-${file}`);
            if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, content);
            expect(existsSync(path)).toBe(true);
            expect(content).toBe(readFileSync(path, 'utf8'));
        }
        expect(mail.attachments?.length ?? 0).toBe(name === 'capped' ? 1 : 0);
    });
});
