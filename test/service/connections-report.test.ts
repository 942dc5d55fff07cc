/** The audit email and the Slack summary show the connections' plan and outcome, one line per connection. */
import { MailTemplates } from '../../service/src/adapters/templates';
import { DEFAULT_TEMPLATES_DIR } from '../../service/src/config';
import {
    buildAuditMail,
    buildSlackMessage,
    connectionLine,
    type RunReport
} from '../../service/src/use-cases/reports';

const connections: RunReport['connections'] = [
    {
        key: 'calendly',
        name: 'Calendly',
        planned: { Create: 3, 'Add To Group': 5, 'Set Role': 1 },
        done: 8,
        failed: 1,
        skipped: 0,
        kept: 2,
        failures: ['No group named "sales" in the app (names are exact and case-sensitive)']
    },
    {
        key: 'zendesk',
        name: 'Zendesk <prod>',
        planned: {},
        done: 0,
        failed: 0,
        skipped: 0,
        kept: 0,
        problem: 'Not configured in the service'
    }
];

function report(extra: Partial<RunReport> = {}): RunReport {
    return {
        runId: 'a0D5g000000ABCDEAQ',
        runUrl: 'https://acme.example/run',
        trigger: 'Manual',
        status: 'Completed with Errors',
        sets: [],
        invalidSets: [],
        totals: { evaluated: 1, eligible: 0, invited: 0, reminded: 0, skipped: 0, failed: 0 },
        rows: [],
        ...extra
    };
}

describe('connections in the audit', () => {
    it.each([
        [
            connections![0],
            'Calendly (calendly): 3 Create, 5 Add To Group, 1 Set Role → 8 done, 1 failed, 2 kept (Manual)'
        ],
        [
            connections![1],
            'Zendesk <prod> (zendesk): nothing to change → 0 done. Not configured in the service'
        ]
    ])(
        'when a connection is summed up, then one line says what was planned and what happened',
        (connection, line) => {
            expect(connectionLine(connection)).toBe(line);
        }
    );

    it('when a run has connections, then the email (text and HTML, escaped) and Slack list them with the failures', () => {
        const mail = buildAuditMail(
            report({ connections }),
            new MailTemplates(DEFAULT_TEMPLATES_DIR),
            ['ops@example.com'],
            10
        );
        const slack = JSON.stringify(buildSlackMessage(report({ connections })));

        expect(mail.text).toContain('Connections (accounts, groups and roles in apps):');
        expect(mail.text).toContain(
            '- Calendly (calendly): 3 Create, 5 Add To Group, 1 Set Role → 8 done, 1 failed, 2 kept (Manual)'
        );
        expect(mail.text).toContain('  failed: No group named "sales" in the app');
        expect(mail.html).toContain('>Connections</h2>');
        expect(mail.html).toContain('Zendesk &lt;prod&gt; (zendesk)');
        expect(slack).toContain('*Connections*');
        expect(slack).toContain('Zendesk &lt;prod&gt; (zendesk): nothing to change');
    });

    it('when a run has no connection, then neither the email nor Slack has the section', () => {
        const mail = buildAuditMail(
            report(),
            new MailTemplates(DEFAULT_TEMPLATES_DIR),
            ['ops@example.com'],
            10
        );

        expect(mail.text).not.toContain('Connections');
        expect(mail.html).not.toContain('Connections');
        expect(JSON.stringify(buildSlackMessage(report()))).not.toContain('Connections');
    });
});
