/**
 * Least privilege, as a security review reads it:
 * - every system-mode read or write in the Apex (`WITH SYSTEM_MODE`, `insert|update|upsert|delete as system`,
 *   `AccessLevel.SYSTEM_MODE`) sits in a method whose doc comment starts its justification with
 *   "Security review:" (docs/salesforce-package.md, "Security review", lists them);
 * - the Rollcall_Integration permission set grants only the user permissions and the View All / Modify All
 *   that are justified below, delete only where the service deletes, never Modify All, and View All only where the object's sharing model is Private
 *   (on a Read/Write object every internal user already reads every record, so View All would only widen
 *   what a later sharing change can hide).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadForceApp } from './metadata-rules';

const root = join(__dirname, '..', '..');
const forceApp = join(root, 'force-app');
const classes = join(forceApp, 'main', 'default', 'classes');

const SYSTEM_MODE =
    /\bWITH\s+SYSTEM_MODE\b|\b(?:insert|update|upsert|delete|undelete|merge)\s+as\s+system\b|AccessLevel\.SYSTEM_MODE/gi;

/** The system-mode operations of an Apex source not justified by a "Security review:" doc comment. */
export function unjustifiedSystemMode(source: string): number[] {
    const lines = source.split('\n');
    const unjustified: number[] = [];
    lines.forEach((line, index) => {
        const code = line.replace(/\/\/.*$/, '');
        if (!SYSTEM_MODE.test(code)) return;
        SYSTEM_MODE.lastIndex = 0;
        // The nearest doc comment above, with no member closed in between (prettier-apex closes a member at 4 spaces).
        let justified = false;
        for (let i = index - 1; i >= 0; i--) {
            if (/^ {4}\}/.test(lines[i])) break;
            if (/^\s*\/\*\*/.test(lines[i])) {
                let end = i;
                while (end < index && !lines[end].includes('*/')) end++;
                justified = lines
                    .slice(i, end + 1)
                    .join('\n')
                    .includes('Security review:');
                break;
            }
        }
        if (!justified) unjustified.push(index + 1);
    });
    return unjustified;
}

/** What the service's integration user may hold beyond object CRUD, and why (docs/salesforce-package.md). */
const JUSTIFIED_USER_PERMISSIONS: Record<string, string> = {
    ApiEnabled: 'the service reaches the org only through the REST, Composite and Bulk APIs',
    ViewSetup:
        'PermissionSetAssignment, SetupEntityAccess and CustomPermission (service/src/domain/org-store.ts: does ' +
        'initiatedBy hold Rollcall_Admin, who are the admins to notify) are readable only with View Setup and Configuration'
};

const JUSTIFIED_DELETE: Record<string, string> = {
    Rollcall_Lease__c:
        'the daily sweep deletes the leases that lapsed more than 30 days ago, never the latest ' +
        '(LeaseKeeper.prune in service/src/use-cases/run/claim.ts); under the Private model only its own'
};

const JUSTIFIED_VIEW_ALL: Record<string, string> = {
    Provisioning_Run__c:
        'Private: the service must see every run (one run per org, resuming, expiring previews), including the failed ' +
        'scheduled starts ScheduledRunJob records as the admin',
    Rollcall_Lease__c:
        'Private: the lease check must see every claim, including those a previous integration user inserted'
};

describe('least privilege', () => {
    it('when a system-mode operation has no "Security review:" justification, then it is reported (the check can fail)', () => {
        const source = [
            'public with sharing class Planted {',
            '    /**',
            '     * Security review: one record of fixed shape.',
            '     */',
            '    static void justified(Account a) {',
            '        insert as system a;',
            '    }',
            '',
            '    static void careless(Account a) {',
            '        update as system a;',
            '        List<Account> all = [SELECT Id FROM Account WITH SYSTEM_MODE];',
            '    }',
            '}'
        ].join('\n');
        expect(unjustifiedSystemMode(source)).toEqual([10, 11]);
    });

    it('when the Apex classes are read, then every system-mode read and write is justified for a security reviewer', () => {
        const files = readdirSync(classes).filter(
            (name) => name.endsWith('.cls') && !/Test\.cls$/.test(name)
        );
        const found: string[] = [];
        const unjustified = files.flatMap((name) => {
            const source = readFileSync(join(classes, name), 'utf8');
            if (SYSTEM_MODE.test(source)) found.push(name);
            SYSTEM_MODE.lastIndex = 0;
            return unjustifiedSystemMode(source).map((line) => `${name}:${line}`);
        });
        expect(found.length).toBeGreaterThan(0);
        expect(unjustified).toEqual([]);
    });

    it('when the Rollcall_Integration permission set is read, then it grants nothing beyond what is justified', () => {
        const app = loadForceApp(forceApp);
        const permissionSet = (app.byType.get('PermissionSet') ?? []).find(
            (p) => p.name === 'Rollcall_Integration'
        );
        expect(permissionSet).toBeDefined();
        const xml = (permissionSet as { xml: Record<string, unknown> }).xml;
        const asList = (value: unknown): Record<string, string>[] =>
            (Array.isArray(value) ? value : value ? [value] : []) as Record<string, string>[];
        const problems: string[] = [];
        for (const permission of asList(xml.userPermissions))
            if (permission.enabled === 'true' && !JUSTIFIED_USER_PERMISSIONS[permission.name])
                problems.push(`user permission ${permission.name} is not justified`);
        for (const grant of asList(xml.objectPermissions)) {
            const object = grant.object;
            const sharing = app.objects.get(object)?.xml?.sharingModel;
            if (grant.allowDelete === 'true' && !JUSTIFIED_DELETE[object])
                problems.push(`${object}: delete is not justified`);
            if (grant.modifyAllRecords === 'true') problems.push(`${object}: Modify All`);
            if (grant.viewAllRecords === 'true') {
                if (!JUSTIFIED_VIEW_ALL[object]) problems.push(`${object}: View All is not justified`);
                if (sharing !== 'Private')
                    problems.push(`${object}: View All on a ${String(sharing)} object is redundant`);
            }
        }
        expect(problems).toEqual([]);
    });
});
