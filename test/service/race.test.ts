/**
 * One run per org and one invitation per user, raced by real processes: three service instances (child
 * processes with their periodic sweep on, sharing one DATA_DIR as on one host) against the local org and
 * a real SMTP server. Each round is counted at the SMTP server and in the org.
 *
 * - the same preview executed by two instances at the same instant;
 * - a scheduled run triggered on two instances at the same instant;
 * - the instance running a run killed with SIGKILL mid-send while the others are alive: they race to
 *   resume it once its lease expires.
 *
 * RACE_ROUNDS sets the rounds of each (50 by default, as the run-integrity issue asks).
 */
import type { ChildProcess } from 'node:child_process';
import type { LocalOrg } from '../../service/src/local-org';
import type { LeaseRecord, OrgStore, RunRecord } from '../../service/src/domain/org-store';
import { isLive } from '../../service/src/use-cases/run/claim';
import { startSmtpSink, until, type SmtpSink } from './support/peers';
import {
    api,
    orgEnv,
    previewViaApi,
    removeDir,
    serviceEnv,
    startOrgWithOneSet,
    startServiceProcess,
    type TargetUser
} from './support/stack';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROUNDS = Number(process.env.RACE_ROUNDS ?? 50);
const USERS = 4;

jest.setTimeout(30 * 60_000);

interface Instance {
    child: ChildProcess;
    url: string;
    exited: Promise<unknown>;
}

let org: LocalOrg;
let orgDir: string;
let dataDir: string;
let smtp: SmtpSink;
let store: OrgStore;
let users: TargetUser[];
let instances: (Instance | Promise<Instance>)[] = [];
let env: Record<string, string | undefined>;

async function launch(): Promise<Instance> {
    const { child, url } = await startServiceProcess(env);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    return { child, url, exited };
}

beforeAll(async () => {
    // Every round invites the same users again: Invited is an eligible status.
    ({
        org,
        dataDir: orgDir,
        store,
        users
    } = await startOrgWithOneSet({
        users: 120,
        seed: 23,
        count: USERS,
        name: 'Race set'
    }));
    smtp = await startSmtpSink();
    dataDir = mkdtempSync(join(tmpdir(), 'rollcall-race-'));
    env = {
        ...serviceEnv(smtp, undefined, {
            SMTP_MAX_CONNECTIONS: '1',
            SMTP_TIMEOUT_MS: '60000',
            HEARTBEAT_SECONDS: '0.5',
            STALE_RUN_SECONDS: '2',
            SWEEP_SECONDS: '0.5',
            DATA_DIR: dataDir
        }),
        ...orgEnv(org),
        ROLLCALL_TEST_TIMERS: '1'
    };
    instances = await Promise.all([launch(), launch(), launch()]);
});

afterAll(async () => {
    for (const pending of instances) {
        const instance = await Promise.resolve(pending).catch(() => undefined);
        if (instance && instance.child.exitCode === null && instance.child.signalCode === null) {
            instance.child.kill('SIGKILL');
            await instance.exited;
        }
    }
    await smtp?.close();
    await org?.stop();
    removeDir(orgDir);
    removeDir(dataDir);
});

function invitations(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const message of smtp.messages) {
        if (String(message.subject).startsWith('Rollcall')) continue; // the audit email
        for (const to of [message.to].flat().flatMap((t) => t?.value ?? [])) {
            const address = String(to.address).toLowerCase();
            counts.set(address, (counts.get(address) ?? 0) + 1);
        }
    }
    return counts;
}

async function finished(runId: string): Promise<RunRecord> {
    return until(
        async () => {
            const run = await store.findRun(runId);
            return run && ['Completed', 'Completed with Errors', 'Failed'].includes(run.Status__c)
                ? run
                : undefined;
        },
        `run ${runId} to finish`,
        60_000
    );
}

/** The round's guarantees: every user mailed exactly once, the run's count equal to the mails. */
function expectOneInvitationEach(run: RunRecord): void {
    const counts = invitations();
    expect(users.map((user) => counts.get(user.Email.toLowerCase()) ?? 0)).toEqual(users.map(() => 1));
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(USERS);
    expect(run).toMatchObject({ Status__c: 'Completed', Invited_Count__c: USERS, Failed_Count__c: 0 });
}

async function scheduledRuns(): Promise<number> {
    return (
        await store.org.query<RunRecord>("SELECT Id FROM Provisioning_Run__c WHERE Trigger__c = 'Scheduled'")
    ).length;
}

/**
 * Each round starts with the org idle: no lease held (the last round's run released it, and no sweep or
 * preview of the others still holds one). Under heavy machine load a previous round's claim can outlive
 * its run by a heartbeat; racing against it would test the previous round, not this one.
 */
async function idle(): Promise<void> {
    await until(
        async () => {
            const [latest] = await store.org.query<LeaseRecord>(
                'SELECT Released_At__c, Expires_At__c FROM Rollcall_Lease__c ORDER BY Epoch__c DESC LIMIT 1'
            );
            return !latest || !isLive(latest, new Date());
        },
        'the org to be idle (no lease held)',
        30_000
    );
}

async function live(index: number): Promise<Instance> {
    return Promise.resolve(instances[index]);
}

describe('two instances, the same instant', () => {
    it(`when two instances execute the same preview at once (${ROUNDS} rounds), then one run sends each invitation once`, async () => {
        const admin = org.ids.adminUserIds[0];
        for (let round = 0; round < ROUNDS; round++) {
            // Arrange
            const [a, b] = [await live(0), await live(1)];
            const { runId } = await previewViaApi(a, admin);
            await idle();
            smtp.messages.length = 0;

            // Act
            const body = { previewRunId: runId, initiatedBy: admin };
            const answers = await Promise.all(
                [a, b].map((instance) => api(instance, 'POST', '/v1/runs', body))
            );

            // Assert
            expect(answers.map((answer) => answer.status).sort()).toEqual([202, 409]);
            expectOneInvitationEach(await finished(runId));
        }
    });

    it(`when a scheduled run is triggered on two instances at once (${ROUNDS} rounds), then exactly one run starts and invites each user once`, async () => {
        for (let round = 0; round < ROUNDS; round++) {
            // Arrange
            const [a, b] = [await live(0), await live(1)];
            await idle();
            smtp.messages.length = 0;
            const before = await scheduledRuns();

            // Act
            const answers = await Promise.all(
                [a, b].map((instance) =>
                    api(instance, 'POST', '/v1/runs', { trigger: 'scheduled', slot: `race-${round}` })
                )
            );

            // Assert
            // The loser is refused while the winner runs, or (when it is late) finds the slot already run.
            expect(answers.map((answer) => answer.status).sort()).toEqual([202, 409]);
            const accepted = answers.find((answer) => answer.status === 202);
            const refused = answers.find((answer) => answer.status === 409);
            expect(['RUN_IN_PROGRESS', 'ALREADY_TRIGGERED']).toContain(
                (refused?.body.error as { code: string }).code
            );
            const run = await finished(String(accepted?.body.runId));
            expectOneInvitationEach(run);
            expect(await scheduledRuns()).toBe(before + 1);
        }
    });
});

describe('an instance killed mid-run', () => {
    it(`when the instance sending a run is killed (${ROUNDS} rounds) and two others are alive, then one of them resumes it and every user is invited once`, async () => {
        for (let round = 0; round < ROUNDS; round++) {
            // Arrange: the victim sends one invitation, the SMTP server holds the second
            const victimIndex = round % instances.length;
            const victim = await live(victimIndex);
            smtp.messages.length = 0;
            smtp.held = 0;
            smtp.behaviour.hold = (accepted) => accepted >= 1;
            // A survivor's sweep may hold the claim for a moment (it read the previous run as Running just
            // before it completed): the trigger is refused with 409 RUN_IN_PROGRESS meanwhile, as designed.
            const accepted = await until(
                async () => {
                    const answer = await api(victim, 'POST', '/v1/runs', { trigger: 'scheduled' });
                    const code = (answer.body.error as { code?: string } | undefined)?.code;
                    return answer.status === 409 && code === 'RUN_IN_PROGRESS' ? undefined : answer;
                },
                'the trigger to be accepted',
                30_000
            );
            expect(accepted.status).toBe(202);
            const runId = String(accepted.body.runId);
            await until(() => smtp.held > 0, 'the second invitation to be held', 30_000);

            // Act: kill -9 the sender; the other instances sweep on their own timers
            victim.child.kill('SIGKILL');
            await victim.exited;
            smtp.behaviour.hold = undefined;
            instances[victimIndex] = launch();

            // Assert
            const run = await finished(runId);
            expectOneInvitationEach(run);
            expect(run.Error__c?.match(/Resumed at/g) ?? []).toHaveLength(1);
        }
    });
});
