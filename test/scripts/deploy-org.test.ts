/**
 * scripts/deploy-org.sh against a fake `sf` on the PATH that answers like the Salesforce CLI and logs
 * every call, so the order of what the script does to an org is checked with no org: the scheduled job
 * is handled before anything is validated, nothing is deployed before a check-only validation passed, a
 * paused schedule is restored even when the deploy fails, and an integration user on the Salesforce
 * Integration licence gets its permission set licence before Rollcall_Integration.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const root = join(__dirname, '..', '..');
const SCRIPT = join(root, 'scripts', 'deploy-org.sh');

/** The fake CLI: its answers depend on FAKE_* variables; each call is appended to $FAKE_LOG. */
const FAKE_SF = String.raw`#!/usr/bin/env bash
args="$*"
if [[ "$1 $2" == "apex run" ]]; then
    file=""
    while [[ $# -gt 0 ]]; do [[ "$1" == "--file" ]] && file="$2"; shift; done
    if grep -q "abortJob" "$file"; then echo "apex run: abort the schedule" >> "$FAKE_LOG"; else echo "apex run: restore the schedule" >> "$FAKE_LOG"; fi
    echo '{"status":0,"result":{"success":true,"compiled":true}}'
    exit 0
fi
echo "$args" | sed -E 's/ --target-org [^ ]+//; s/ --wait [^ ]+//; s/ --json//' >> "$FAKE_LOG"
case "$args" in
    "org display"*) echo '{"result":{"username":"admin@acme.com","instanceUrl":"https://acme.my.salesforce.com"}}' ;;
    *"FROM CronTrigger"*)
        if [[ "$FAKE_ACTIVE_JOBS" == 1 ]]; then
            echo '{"result":{"totalSize":1,"records":[{"Id":"08e000000000001","NextFireTime":"2026-12-01T07:30:00.000+0000"}]}}'
        else
            echo '{"result":{"totalSize":0,"records":[]}}'
        fi ;;
    *"FROM AsyncApexJob"*) echo '{"result":{"totalSize":0,"records":[]}}' ;;
    *"FROM User "*) echo "{\"result\":{\"totalSize\":1,\"records\":[{\"Id\":\"005000000000009\",\"Profile\":{\"UserLicense\":{\"Name\":\"$FAKE_LICENCE\"}}}]}}" ;;
    *"FROM PermissionSetLicense"*) echo '{"result":{"totalSize":1,"records":[{"DeveloperName":"SalesforceAPIIntegrationPsl"}]}}' ;;
    "project deploy validate"*)
        if [[ "$FAKE_VALIDATION_FAILS" == 1 ]]; then
            echo '{"status":1,"message":"Deploy failed.","result":{"id":"0Af000000000002","details":{"runTestResult":{"failures":[{"name":"ProvisioningControllerTest","methodName":"startPreview","message":"System.AssertException"}]}}}}'
            exit 1
        fi
        echo '{"status":0,"result":{"id":"0Af000000000001"}}' ;;
    *) ;;
esac
exit 0
`;

interface Run {
    status: number | null;
    stdout: string;
    stderr: string;
    calls: string[];
}

let work: string;

beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'deploy-org-'));
    const fake = join(work, 'bin', 'sf');
    spawnSync('mkdir', ['-p', join(work, 'bin')]);
    writeFileSync(fake, FAKE_SF);
    chmodSync(fake, 0o755);
});

afterEach(() => {
    rmSync(work, { recursive: true, force: true });
});

function deploy(args: string[], fake: Record<string, string> = {}): Run {
    const log = join(work, 'calls.log');
    const result = spawnSync(
        'bash',
        [SCRIPT, '--target-org', 'acme', '--cert-dir', join(work, 'certs'), ...args],
        {
            cwd: root,
            encoding: 'utf8',
            env: {
                PATH: [join(work, 'bin'), dirname(process.execPath), '/usr/bin', '/bin'].join(':'),
                HOME: work,
                TMPDIR: work,
                FAKE_LOG: log,
                FAKE_ACTIVE_JOBS: '0',
                FAKE_LICENCE: 'Salesforce',
                FAKE_VALIDATION_FAILS: '0',
                ...fake
            },
            timeout: 60_000
        }
    );
    const calls = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls };
}

function indexOf(calls: string[], prefix: string): number {
    return calls.findIndex((call) => call.startsWith(prefix));
}

describe('npm run deploy:org', () => {
    it('when nothing is scheduled, then it validates check-only with the tests before it deploys exactly that validation', () => {
        const run = deploy([]);

        expect(run.status).toBe(0);
        const validate = indexOf(run.calls, 'project deploy validate --source-dir force-app');
        const quick = indexOf(run.calls, 'project deploy quick --job-id 0Af000000000001');
        expect(run.calls[validate]).toContain('--test-level RunLocalTests');
        expect(validate).toBeGreaterThan(
            indexOf(run.calls, 'data query --query SELECT Id, NextFireTime FROM CronTrigger')
        );
        expect(quick).toBeGreaterThan(validate);
        expect(indexOf(run.calls, 'project deploy start')).toBe(-1);
        expect(indexOf(run.calls, 'org assign permset --name Rollcall_Admin')).toBeGreaterThan(quick);
        expect(run.calls.some((call) => call.startsWith('apex run'))).toBe(false);
    });

    it('when the schedule is active, then it changes nothing and says how to deploy', () => {
        const run = deploy([], { FAKE_ACTIVE_JOBS: '1' });

        expect(run.status).toBe(1);
        expect(run.stderr).toContain("Rollcall's schedule is active");
        expect(run.stderr).toContain('--pause-schedule');
        expect(run.stderr).toContain('Allow deployments of components when corresponding Apex jobs are');
        expect(run.calls.filter((call) => /deploy|apex run|assign/.test(call))).toEqual([]);
    });

    it('when asked to pause the active schedule, then it aborts the job, validates, deploys and schedules it again', () => {
        const run = deploy(['--pause-schedule'], { FAKE_ACTIVE_JOBS: '1' });

        expect(run.status).toBe(0);
        const abort = run.calls.indexOf('apex run: abort the schedule');
        const validate = indexOf(run.calls, 'project deploy validate');
        const quick = indexOf(run.calls, 'project deploy quick');
        const restore = run.calls.indexOf('apex run: restore the schedule');
        expect(abort).toBeGreaterThan(-1);
        expect(validate).toBeGreaterThan(abort);
        expect(quick).toBeGreaterThan(validate);
        expect(restore).toBeGreaterThan(quick);
        expect(run.calls.filter((call) => call === 'apex run: restore the schedule')).toHaveLength(1);
        expect(run.stdout).toContain('the job now runs as admin@acme.com');
    });

    it('when the validation fails after the schedule was paused, then nothing is deployed and the schedule is restored', () => {
        const run = deploy(['--pause-schedule'], { FAKE_ACTIVE_JOBS: '1', FAKE_VALIDATION_FAILS: '1' });

        expect(run.status).toBe(1);
        expect(run.stderr).toContain('test ProvisioningControllerTest.startPreview: System.AssertException');
        expect(run.stderr).toContain('nothing was deployed');
        expect(indexOf(run.calls, 'project deploy quick')).toBe(-1);
        expect(indexOf(run.calls, 'project deploy start')).toBe(-1);
        expect(run.calls[run.calls.length - 1]).toBe('apex run: restore the schedule');
    });

    it('when only validating, then nothing is deployed and the quick deploy command is printed', () => {
        const run = deploy(['--validate-only', '--test-level', 'RunAllTestsInOrg']);

        expect(run.status).toBe(0);
        expect(run.calls[indexOf(run.calls, 'project deploy validate')]).toContain(
            '--test-level RunAllTestsInOrg'
        );
        expect(indexOf(run.calls, 'project deploy quick')).toBe(-1);
        expect(run.stdout).toContain('project deploy quick --job-id 0Af000000000001');
    });

    it('when the integration user has the Salesforce Integration licence, then it gets the API Integration permission set licence before Rollcall_Integration', () => {
        const run = deploy(['--integration-user', 'rollcall-integration@acme.com'], {
            FAKE_LICENCE: 'Salesforce Integration'
        });

        expect(run.status).toBe(0);
        const licence = indexOf(
            run.calls,
            'org assign permsetlicense --name SalesforceAPIIntegrationPsl --on-behalf-of rollcall-integration@acme.com'
        );
        const permset = indexOf(run.calls, 'org assign permset --name Rollcall_Integration');
        expect(licence).toBeGreaterThan(-1);
        expect(permset).toBeGreaterThan(licence);
    });

    it('when the integration user has a full licence, then no permission set licence is assigned', () => {
        const run = deploy(['--integration-user', 'rollcall-integration@acme.com']);

        expect(run.status).toBe(0);
        expect(indexOf(run.calls, 'org assign permsetlicense')).toBe(-1);
        expect(indexOf(run.calls, 'org assign permset --name Rollcall_Integration')).toBeGreaterThan(-1);
    });

    it('when it is done, then the manual steps name the permission set licence the integration user needs first', () => {
        const run = deploy([]);

        expect(run.stdout).toContain(
            '"Salesforce API Integration" permission set licence BEFORE Rollcall_Integration'
        );
    });

    it('when a username could break the query, then it refuses before calling the CLI', () => {
        const run = deploy(['--integration-user', "x' OR Name != '"]);

        expect(run.status).toBe(1);
        expect(run.calls).toEqual([]);
    });
});
