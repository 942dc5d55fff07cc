/**
 * Golden files of the audit email (text and HTML) for a small run, a capped run, a reminder-only run and a
 * failed run, from the shipped templates. A change to the templates or to buildAuditMail shows up here as a
 * diff to review; regenerate with UPDATE_GOLDEN=1 after checking it. With RENDER_GOLDEN=1 each golden HTML
 * is also rendered in Chromium to tmp/golden/audit-<case>.png, to look at.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { DEFAULT_TEMPLATES_DIR } from '../../service/src/config';
import { MailTemplates } from '../../service/src/adapters/templates';
import { buildAuditMail, type ReportRow, type RunReport } from '../../service/src/use-cases/reports';

const GOLDEN = join(__dirname, 'golden');
const CAP = 3;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const RENDERED = join(__dirname, '..', '..', 'tmp', 'golden');

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
        totals: { evaluated: 12, eligible: 2, invited: 2, reminded: 0, skipped: 0, failed: 0 },
        rows: [row(1, 'Invited'), row(2, 'Invited')],
        audience: { initiator: 'Ada Admin', admins: 'notified', recipients: ['revops@example.com'] },
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
    ),
    // A skip someone can fix comes first, with the failures.
    row(14, 'Skipped', 'user has no email address')
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
            totals: { evaluated: 1954, eligible: 11, invited: 5, reminded: 2, skipped: 5, failed: 2 },
            rows: capped,
            audience: { recipients: ['revops@example.com', 'it-team@example.com'] }
        })
    ],
    [
        'reminder-only',
        report({
            totals: { evaluated: 12, eligible: 0, invited: 0, reminded: 1, skipped: 0, failed: 0 },
            rows: [{ ...row(3, 'Invited'), kind: 'Reminder' }],
            audience: { initiator: 'Ada Admin', recipients: [] }
        })
    ],
    [
        'failed',
        report({
            status: 'Failed',
            error: 'ORG_UNAVAILABLE: the org did not answer after 4 attempts',
            totals: { evaluated: 12, eligible: 2, invited: 1, reminded: 0, skipped: 0, failed: 0 },
            rows: [row(1, 'Invited'), row(2, 'Pending')],
            audience: { admins: 'fallback', recipients: [] }
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

describe('audit email golden files in a browser', () => {
    let browser: Browser;

    beforeAll(async () => {
        if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: apt-get install -y chromium`);
        mkdirSync(RENDERED, { recursive: true });
        browser = await chromium.launch({
            executablePath: CHROMIUM,
            args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run']
        });
    }, 60_000);

    afterAll(async () => {
        await browser?.close();
    });

    it.each(cases.map(([name]) => name))(
        'when the %s golden HTML is opened at a phone-like width, then the run link and the outcome are on the first screen, and it fits',
        async (name) => {
            const page = await browser.newPage({ viewport: { width: 480, height: 640 } });
            try {
                await page.setContent(readFileSync(join(GOLDEN, `audit-${name}.html`), 'utf8'));
                await page.screenshot({ path: join(RENDERED, `audit-${name}.png`), fullPage: true });

                const link = await page
                    .getByRole('link', { name: /^Open RUN-000042 in Salesforce$/ })
                    .boundingBox();
                const outcome = await page.locator('h1 + p').boundingBox();
                expect(link?.y).toBeLessThan(60);
                expect((outcome?.y ?? Infinity) + (outcome?.height ?? 0)).toBeLessThan(640);
                expect(await page.locator('body').innerText()).not.toMatch(/^a0D5g/);
                const width = await page.evaluate(
                    () =>
                        (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } })
                            .document.documentElement.scrollWidth
                );
                expect(width).toBeLessThanOrEqual(480);
            } finally {
                await page.close();
            }
        },
        30_000
    );
});
