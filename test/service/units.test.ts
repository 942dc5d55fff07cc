/** The pure pieces: templates and escaping, tokens and signatures, the schedule, reports, the run journal. */
import { appendFileSync, readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
    JournalFolder,
    RunJournal,
    parseJournal,
    type JournalEntry
} from '../../service/src/adapters/journal';
import { createMailer, classifySmtpError } from '../../service/src/adapters/mailer';
import { MailTemplates, escapeText, parseTemplate } from '../../service/src/adapters/templates';
import { DEFAULT_TEMPLATES_DIR, loadConfig } from '../../service/src/config';
import { assertSalesforceId, idChecksum } from '../../service/src/domain/org-store';
import {
    signAuthorizationToken,
    signWebhook,
    verifyAuthorizationToken,
    verifyWebhook
} from '../../service/src/domain/tokens';
import { createLogger } from '../../service/src/logger';
import { ServiceScheduler, cronPattern } from '../../service/src/scheduler';
import { runSummary, runsTable } from '../../service/src/cli/format';
import {
    buildAuditMail,
    buildSlackMessage,
    toCsv,
    type RunReport
} from '../../service/src/use-cases/reports';
import {
    connectionCounts,
    countFields,
    outcomeLine,
    runViewCounts
} from '../../service/src/use-cases/run/counts';
import { removeDir } from './support/stack';

const SECRET = 's'.repeat(40);

describe('templates', () => {
    const templates = new MailTemplates(DEFAULT_TEMPLATES_DIR);

    it('when values carry HTML, then the HTML part escapes them and the text part keeps them on one line', () => {
        const rendered = templates.render('invitation', {
            name: '<script>alert(1)</script>\r\nBcc: victim@example.com',
            products: ['Round Robin'],
            productList: 'Round Robin',
            link: 'https://x.example.com/?a=1&b="2"',
            expiresAt: 'soon',
            supportContact: 'Ops'
        });

        expect(rendered.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
        expect(rendered.html).not.toContain('<script>');
        expect(rendered.html).toContain('href="https://x.example.com/?a=1&amp;b=&quot;2&quot;"');
        expect(rendered.text).not.toMatch(/\r\nBcc:/);
        expect(rendered.subject).toBe('Action needed: connect your calendar for Round Robin');
    });

    it('when a subject value carries a line break, then no header can be injected', () => {
        expect(escapeText('Hello\r\nBcc: x@example.com')).toBe('Hello Bcc: x@example.com');
    });

    it('when a section is not closed, then parsing says which', () => {
        expect(() => parseTemplate('{{#items}} x', 'test')).toThrow(/items/);
    });
});

describe('authorization tokens and webhook signatures', () => {
    const now = new Date('2026-01-01T00:00:00Z');

    it('when a token is signed, then it verifies with its claims until it expires', () => {
        const token = signAuthorizationToken(
            SECRET,
            { userId: '005x', products: ['Round Robin'], runId: 'a0Dx' },
            now,
            1
        );

        expect(verifyAuthorizationToken(SECRET, token, now)).toMatchObject({
            userId: '005x',
            products: ['Round Robin'],
            runId: 'a0Dx'
        });
        expect(() => verifyAuthorizationToken(SECRET, token, new Date(now.getTime() + 3600_000))).toThrow(
            /expired/
        );
    });

    it('when a token is tampered with or signed with another secret, then it is refused', () => {
        const token = signAuthorizationToken(SECRET, { userId: '005x', products: ['A'], runId: 'r' }, now, 1);
        const [body, signature] = token.split('.');
        const forged = Buffer.from(
            JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), p: ['A', 'B'] })
        ).toString('base64url');

        expect(() => verifyAuthorizationToken(SECRET, `${forged}.${signature}`, now)).toThrow(/signature/);
        expect(() => verifyAuthorizationToken('t'.repeat(40), token, now)).toThrow(/signature/);
        expect(() => verifyAuthorizationToken(SECRET, 'garbage', now)).toThrow(/Malformed/);
    });

    it('when a webhook is signed, then it verifies only with the same body and within the window', () => {
        const body = Buffer.from('{"token":"abc"}');
        const header = signWebhook(SECRET, body, now);

        expect(() => verifyWebhook(SECRET, header, body, now, 300)).not.toThrow();
        expect(() => verifyWebhook(SECRET, header, Buffer.from('{"token":"abd"}'), now, 300)).toThrow(
            /mismatch/
        );
        expect(() => verifyWebhook(SECRET, header, body, new Date(now.getTime() + 600_000), 300)).toThrow(
            /window/
        );
        expect(() => verifyWebhook(SECRET, undefined, body, now, 300)).toThrow(/Missing/);
    });
});

describe('Salesforce ids', () => {
    it('when an 18-character id is checked, then its case-safe suffix must match', () => {
        expect(idChecksum('001000000000001')).toBe('AAA');
        expect(assertSalesforceId('a0D5g0000000999EAA')).toBe('a0D5g0000000999EAA');
        expect(() => assertSalesforceId('a0D5g0000000999AAA')).toThrow(/Salesforce id/);
        expect(() => assertSalesforceId("a0D' OR Id != null")).toThrow(/Salesforce id/);
    });
});

describe('schedule', () => {
    it.each([
        [
            { Schedule_Enabled__c: true, Schedule_Frequency__c: 'Hourly', Schedule_Time__c: '07:15' },
            '15 * * * *'
        ],
        [
            { Schedule_Enabled__c: true, Schedule_Frequency__c: 'Daily', Schedule_Time__c: '07:30' },
            '30 7 * * *'
        ],
        [
            {
                Schedule_Enabled__c: true,
                Schedule_Frequency__c: 'Weekly',
                Schedule_Time__c: '18:05',
                Schedule_Day__c: 'FRI'
            },
            '5 18 * * 5'
        ],
        [{ Schedule_Enabled__c: false, Schedule_Frequency__c: 'Daily' }, undefined],
        [{ Schedule_Enabled__c: true, Schedule_Frequency__c: 'Monthly' }, undefined]
    ])('when the settings are %j, then the pattern is %s', (settings, expected) => {
        expect(cronPattern(settings)).toBe(expected);
    });
});

describe('audit report', () => {
    const report: RunReport = {
        runId: 'a0D5g0000000001EAA',
        runUrl: 'https://org.example.com/run',
        trigger: 'Scheduled',
        status: 'Completed with Errors',
        sets: [{ name: 'Sales', products: ['Round Robin'] }],
        invalidSets: [{ name: 'Broken', reasons: ['Unknown field Foo__c.'] }],
        totals: { evaluated: 10, eligible: 3, invited: 2, reminded: 0, skipped: 0, failed: 1 },
        rows: [
            { name: 'Ann', email: 'ann@example.com', products: ['Round Robin'], status: 'Invited' },
            { name: '=HYPERLINK("x")', email: 'b@example.com', products: ['Round Robin'], status: 'Invited' },
            {
                name: 'Cy',
                email: 'cy@example.com',
                products: ['Round Robin'],
                status: 'Failed',
                reason: '550 nope'
            }
        ]
    };

    it('when a run is bigger than the cap, then the table is capped and the CSV attached has every row', () => {
        const mail = buildAuditMail(report, new MailTemplates(DEFAULT_TEMPLATES_DIR), ['a@example.com'], 1);

        expect(mail.text).toContain('the schedule');
        expect(mail.text).toContain('Broken: Unknown field Foo__c.');
        expect(mail.text).toContain('...and 1 more');
        expect(mail.attachments?.[0].filename).toBe('rollcall-run-a0D5g0000000001EAA.csv');
        const csv = String(mail.attachments?.[0].content);
        expect(csv.trim().split('\r\n')).toHaveLength(4);
        expect(csv).toContain(`"'=HYPERLINK(""x"")"`);
    });

    it('when a run is within the cap, then nothing is attached', () => {
        const mail = buildAuditMail(report, new MailTemplates(DEFAULT_TEMPLATES_DIR), ['a@example.com'], 10);

        expect(mail.attachments).toBeUndefined();
        expect(mail.html).toContain('550 nope');
        expect(toCsv([])).toBe('"Name","Email","Products","Status","Reason","Kind"\r\n');
    });
});

describe('outcome counts, one definition', () => {
    it('when a run only reminded, then the line, the record fields, the CLI, the email subject and Slack all say 1 reminded', () => {
        const counts = { invited: 0, reminded: 1, skipped: 0, failed: 0 };
        const fields = countFields(counts, 1);
        const view = {
            runId: 'a0D5g0000000001EAA',
            name: 'RUN-000007',
            status: 'Completed',
            trigger: 'Manual',
            counts: runViewCounts({ ...fields, Evaluated_Count__c: 4, Eligible_Count__c: 0 }),
            apiCalls: 9
        };
        const report: RunReport = {
            runId: view.runId,
            runName: view.name,
            runUrl: 'https://org.example.com/run',
            trigger: 'Manual',
            status: 'Completed',
            sets: [],
            invalidSets: [],
            totals: { evaluated: 4, eligible: 0, ...counts },
            rows: [
                {
                    name: 'Ann',
                    email: 'ann@example.com',
                    products: ['Round Robin'],
                    status: 'Invited',
                    kind: 'Reminder'
                }
            ]
        };

        const line = outcomeLine(counts);
        const mail = buildAuditMail(report, new MailTemplates(DEFAULT_TEMPLATES_DIR), ['a@example.com'], 10);
        const slack = buildSlackMessage(report);

        expect(line).toBe('0 invited, 1 reminded, 0 skipped, 0 failed');
        expect(fields).toEqual({
            Invited_Count__c: 0,
            Reminded_Count__c: 1,
            Skipped_Count__c: 0,
            Failed_Count__c: 0,
            Item_Count__c: 1,
            Outcome_Summary__c: line
        });
        expect(view.counts).toMatchObject({ reminded: 1, total: 1, summary: line });
        expect(runSummary(view)).toMatch(/Reminded[\s\S]*\n.*\b1\b/);
        expect(runSummary(view)).toContain(`Outcome: ${line}`);
        expect(runsTable([view]).split('\n')[0]).toContain('Reminded');
        expect(mail.subject).toBe(`Rollcall manual run RUN-000007 Completed: ${line}`);
        expect(slack.text.startsWith(`${mail.subject}.`)).toBe(true);
        // No empty Invited list for a run that invited nobody.
        expect(mail.text).not.toMatch(/^Invited \(/m);
    });

    it('when a connection action is counted, then the line names it, and the core four are always there', () => {
        expect(outcomeLine({ invited: 2, reminded: 0, skipped: 0, failed: 1, held: 3 })).toBe(
            '2 invited, 0 reminded, 0 skipped, 1 failed, 3 held for review'
        );
    });

    it('when connections report their outcomes, then each done kind counts once where it belongs and failures need action', () => {
        const counts = connectionCounts([
            { doneByKind: { Create: 3, 'Add To Group': 5, 'Set Role': 1, Update: 2 }, failed: 1 },
            { doneByKind: { Create: 1, 'Remove From Group': 1, Deactivate: 2 }, failed: 0, held: 4 }
        ]);
        expect(counts).toEqual({
            created: 4,
            updated: 3,
            groupChanges: 6,
            deactivated: 2,
            held: 4,
            accessFailed: 1
        });
        expect(outcomeLine({ invited: 0, reminded: 0, skipped: 0, failed: 0, ...counts })).toBe(
            '0 invited, 0 reminded, 0 skipped, 0 failed, 4 created, 3 updated, 6 group changes, 2 deactivated, 4 held for review, 1 access changes failed'
        );
        expect(connectionCounts(undefined)).toEqual({});
        expect(connectionCounts([{ doneByKind: {}, failed: 0 }])).toEqual({});
    });
});

describe('mailer', () => {
    it('when no SMTP is configured, then mails are written as .eml files to the outbox', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'rollcall-outbox-'));
        const config = loadConfig({ OUTBOX_DIR: dir });
        const mailer = createMailer(config.mail, createLogger('silent'));

        const result = await mailer.send({
            to: ['ann@example.com'],
            subject: 'Hi',
            html: '<p>Hi</p>',
            text: 'Hi',
            outboxPath: 'run1/user1'
        });

        expect(result.status).toBe('sent');
        const eml = readFileSync(join(dir, 'run1', 'user1.eml'), 'utf8');
        expect(eml).toContain('To: ann@example.com');
        expect(eml).toContain('Subject: Hi');
        await mailer.close();
        removeDir(dir);
    });

    it('when a recipient address could smuggle headers, then the send fails permanently without trying', async () => {
        const mailer = createMailer(loadConfig({ OUTBOX_DIR: tmpdir() }).mail, createLogger('silent'));

        const result = await mailer.send({
            to: ['ann@example.com\r\nBcc: x@example.com'],
            subject: 'Hi',
            html: '',
            text: '',
            outboxPath: 'x/y'
        });

        expect(result).toMatchObject({ status: 'failed', permanent: true, attempts: 0 });
    });

    it.each([
        [{ responseCode: 451, response: '451 later' }, true],
        [{ responseCode: 550, response: '550 no such user' }, false],
        [{ code: 'ECONNECTION', message: 'connect ECONNREFUSED 127.0.0.1:1' }, true],
        [{ code: 'EENVELOPE', message: 'No recipients defined' }, false]
    ])('when SMTP fails with %j, then transient is %s', (error, transient) => {
        expect(classifySmtpError(error).transient).toBe(transient);
    });
});

describe('service scheduler', () => {
    it('when the settings enable a daily schedule, then a job is planned in the org time zone and stops cleanly', async () => {
        // Arrange
        const scheduler = new ServiceScheduler({
            loadSettings: async () => ({
                Schedule_Enabled__c: true,
                Schedule_Frequency__c: 'Daily',
                Schedule_Time__c: '07:00'
            }),
            timeZone: async () => 'Europe/Paris',
            trigger: async () => ({ runId: 'a0D5g0000000001EAA' }),
            logger: createLogger('silent')
        });

        // Act
        const pattern = await scheduler.refresh();
        const next = scheduler.nextRun();
        scheduler.stop();

        // Assert
        expect(pattern).toBe('0 7 * * *');
        expect(next).toBeInstanceOf(Date);
        expect(
            new Intl.DateTimeFormat('en-GB', {
                timeZone: 'Europe/Paris',
                hour: '2-digit',
                minute: '2-digit'
            }).format(next)
        ).toBe('07:00');
        expect(scheduler.nextRun()).toBeUndefined();
    });
});

describe('run journal', () => {
    const RUN_ID = 'a0D5g0000000001EAA';
    const RUN_KEY = '6f1c2a3e-0b7d-4c55-9a41-2e7f3d9b8c10';
    const entry = (n: number, runKey = RUN_KEY): JournalEntry => ({
        runKey,
        runId: RUN_ID,
        itemId: `a0E5g00000000${String(n).padStart(2, '0')}`,
        userId: `0055g00000000${String(n).padStart(2, '0')}`,
        status: n % 2 === 0 ? 'Invited' : 'Failed',
        ...(n % 2 === 0 ? {} : { reason: 'SMTP rejected: 550 5.1.1 Mailbox unavailable' }),
        at: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
        products: ['Round Robin', 'Meeting Links']
    });

    it('when the last line was torn by a crash mid-append, then the complete entries are read and the torn one is dropped', () => {
        const text = `${JSON.stringify(entry(1))}\n${JSON.stringify(entry(2))}\n${JSON.stringify(entry(3)).slice(0, 40)}`;

        const contents = parseJournal(text);

        expect(contents.entries).toEqual([entry(1), entry(2)]);
        expect(contents.torn).toBe(true);
        expect(contents.unreadable).toBe(0);
        expect(contents.validBytes).toBe(Buffer.byteLength(text) - 40);
    });

    it('when a process appends after a torn last line, then the torn bytes are cut and every entry reads back', async () => {
        // Arrange: a journal left by a process killed in the middle of its third append
        const dir = mkdtempSync(join(tmpdir(), 'rollcall-journal-'));
        try {
            const first = new RunJournal(dir, RUN_ID, RUN_KEY);
            await first.append(entry(1));
            await first.append(entry(2));
            await first.close();
            appendFileSync(first.file, JSON.stringify(entry(3)).slice(0, 25));

            // Act: the resuming process reads it, then journals its own outcomes
            const resumed = new RunJournal(dir, RUN_ID, RUN_KEY);
            const before = resumed.read();
            await Promise.all([resumed.append(entry(4)), resumed.append(entry(5)), resumed.append(entry(6))]);
            await resumed.close();

            // Assert
            expect(before).toMatchObject({ entries: [entry(1), entry(2)], torn: true });
            const after = resumed.read();
            expect(after).toMatchObject({ torn: false, unreadable: 0 });
            expect(after.entries).toEqual([entry(1), entry(2), entry(4), entry(5), entry(6)]);
            await resumed.remove();
            expect(() => readFileSync(resumed.file)).toThrow(/ENOENT/);
        } finally {
            removeDir(dir);
        }
    });

    it('when the journal cannot be written, then the first append says why and later ones do not throw', async () => {
        // Arrange: the journal folder's path is taken by a file
        const dir = mkdtempSync(join(tmpdir(), 'rollcall-journal-'));
        try {
            const blocked = join(dir, 'journal');
            appendFileSync(blocked, 'not a folder');
            const journal = new RunJournal(blocked, RUN_ID, RUN_KEY);

            // Act + Assert
            await expect(journal.append(entry(1))).rejects.toThrow(/EEXIST|ENOTDIR/);
            await expect(journal.append(entry(2))).resolves.toBeUndefined();
            expect(journal.failure()?.message).toMatch(/EEXIST|ENOTDIR/);
        } finally {
            removeDir(dir);
        }
    });

    it('when there is no journal, then reading finds nothing and creates no file', () => {
        const dir = join(tmpdir(), `rollcall-journal-none-${process.pid}`);

        const contents = new RunJournal(dir, RUN_ID, RUN_KEY).read();

        expect(contents).toEqual({ entries: [], validBytes: 0, torn: false, unreadable: 0 });
        expect(() => readFileSync(join(dir, `${RUN_ID}.${RUN_KEY}.jsonl`))).toThrow(/ENOENT/);
    });

    it('when another run left a journal under the same run id (an org reset reuses ids), then it is set aside and never read as ours', async () => {
        // Arrange: the journal of an earlier run that got the same id, a legacy unkeyed one, and ours
        const dir = mkdtempSync(join(tmpdir(), 'rollcall-journal-'));
        try {
            const folder = new JournalFolder(dir);
            const earlierKey = 'aaaaaaaa-0000-4000-8000-000000000001';
            const earlier = folder.open(RUN_ID, earlierKey);
            await earlier.append(entry(2, earlierKey));
            await earlier.close();
            appendFileSync(join(dir, `${RUN_ID}.jsonl`), `${JSON.stringify(entry(4))}\n`);
            const ours = folder.open(RUN_ID, RUN_KEY);
            await ours.append(entry(6));
            await ours.close();

            // Act
            const setAside = folder.setAsideForeign(RUN_ID, RUN_KEY);
            const contents = folder.open(RUN_ID, RUN_KEY).read();

            // Assert
            expect(setAside).toHaveLength(2);
            expect(setAside.every((file) => /\.foreign-\d+$/.test(file))).toBe(true);
            expect(contents.entries).toEqual([entry(6)]);
            expect(folder.setAsideForeign(RUN_ID, RUN_KEY)).toEqual([]);
        } finally {
            removeDir(dir);
        }
    });

    it('when an entry of another run key sits in our file, then it is counted unreadable and not applied', () => {
        const dir = mkdtempSync(join(tmpdir(), 'rollcall-journal-'));
        try {
            const journal = new RunJournal(dir, RUN_ID, RUN_KEY);
            appendFileSync(
                journal.file,
                `${JSON.stringify(entry(2, 'someone-else'))}\n${JSON.stringify(entry(4))}\n`
            );

            const contents = journal.read();

            expect(contents.entries).toEqual([entry(4)]);
            expect(contents.unreadable).toBe(1);
        } finally {
            removeDir(dir);
        }
    });
});
