/**
 * What a run counts: the one definition of its outcomes, read by every surface.
 *
 * The run's tally (./context StatusTally) gives the counts; `countFields` writes them on the run record with
 * the one-line summary (`outcomeLine`) and the number of users the run handles, and every surface reads
 * those: the Provision Users progress and toast, History and the run detail (through the Apex DTOs), the
 * audit email's subject and first line, Slack's headline and the CLI. Nothing else adds counts up.
 *
 * The connection actions (created, updated, group changes, deactivated, held, failed) come from the run's
 * ConnectionOutcomes through `connectionCounts`, added to the tally where the run is finished: the run
 * record's line, the audit email's subject and first line and Slack's headline then say them. They have no
 * run field of their own (the line carries them; the actions are the run's Provisioning_Run_Action__c).
 */
import type { RunRecord } from '../../domain/org-store';

export interface OutcomeCounts {
    /** First invitations sent. */
    invited: number;
    /** Reminders sent (invitations still unanswered). */
    reminded: number;
    skipped: number;
    failed: number;
    /** The connection actions (not written by any run yet). */
    created?: number;
    updated?: number;
    groupChanges?: number;
    deactivated?: number;
    /** Removals held for an admin's decision. */
    held?: number;
    /** Connection actions that failed (an app's write not made): listed under the audit's "Needs action". */
    accessFailed?: number;
}

export interface OutcomeKind {
    key: keyof OutcomeCounts;
    /** The word after the number in the line: "1 reminded". */
    label: string;
    /** The run record's field, for the kinds a run writes. */
    field?: keyof RunRecord;
    /** Shown even at 0 (the core four); the others only when a run has any. */
    always: boolean;
    /** An outcome someone must act on (listed first in the audit email). */
    needsAction: boolean;
}

export const OUTCOME_KINDS: readonly OutcomeKind[] = [
    { key: 'invited', label: 'invited', field: 'Invited_Count__c', always: true, needsAction: false },
    { key: 'reminded', label: 'reminded', field: 'Reminded_Count__c', always: true, needsAction: false },
    { key: 'skipped', label: 'skipped', field: 'Skipped_Count__c', always: true, needsAction: false },
    { key: 'failed', label: 'failed', field: 'Failed_Count__c', always: true, needsAction: true },
    { key: 'created', label: 'created', always: false, needsAction: false },
    { key: 'updated', label: 'updated', always: false, needsAction: false },
    { key: 'groupChanges', label: 'group changes', always: false, needsAction: false },
    { key: 'deactivated', label: 'deactivated', always: false, needsAction: false },
    { key: 'held', label: 'held for review', always: false, needsAction: true },
    { key: 'accessFailed', label: 'access changes failed', always: false, needsAction: true }
];

/** What connectionCounts reads of a run's ConnectionOutcome (./connections). */
export interface ConnectionTally {
    /** Actions Done, by Kind__c (Create, Update, Set Role, Add To Group, …). */
    doneByKind?: Record<string, number>;
    failed: number;
    held?: number;
}

/** Which outcome each action kind counts as, once Done. */
const KIND_COUNTS: Record<string, 'created' | 'updated' | 'groupChanges' | 'deactivated'> = {
    Create: 'created',
    Update: 'updated',
    'Set Role': 'updated',
    Reactivate: 'updated',
    'Add To Group': 'groupChanges',
    'Remove From Group': 'groupChanges',
    Deactivate: 'deactivated'
};

/**
 * A run's connection outcomes as outcome counts: "3 created" is three accounts created, "6 group changes"
 * six memberships added or removed, "1 access changes failed" one action the app did not take. Only the
 * kinds a run has are set (so a run without connections has the same line as before).
 */
export function connectionCounts(
    outcomes: ReadonlyArray<ConnectionTally> | undefined
): Partial<OutcomeCounts> {
    const counts: Partial<OutcomeCounts> = {};
    const add = (key: keyof OutcomeCounts, n: number) => {
        if (n > 0) counts[key] = (counts[key] ?? 0) + n;
    };
    for (const outcome of outcomes ?? []) {
        for (const [kind, n] of Object.entries(outcome.doneByKind ?? {})) {
            const key = KIND_COUNTS[kind];
            if (key) add(key, n);
        }
        add('accessFailed', outcome.failed);
        add('held', outcome.held ?? 0);
    }
    return counts;
}

/** Users with an outcome (the progress's numerator). */
export function processedCount(counts: OutcomeCounts): number {
    return OUTCOME_KINDS.reduce((sum, kind) => sum + (counts[kind.key] ?? 0), 0);
}

/** "0 invited, 1 reminded, 0 skipped, 0 failed": the run's outcome in one line, the same everywhere. */
export function outcomeLine(counts: OutcomeCounts): string {
    return OUTCOME_KINDS.filter((kind) => kind.always || (counts[kind.key] ?? 0) > 0)
        .map((kind) => `${counts[kind.key] ?? 0} ${kind.label}`)
        .join(', ');
}

/** The run record's count fields, with the line and the users the run handles (written together). */
export function countFields(counts: OutcomeCounts, itemCount: number): Record<string, unknown> {
    const fields: Record<string, unknown> = {};
    for (const kind of OUTCOME_KINDS) if (kind.field) fields[kind.field] = counts[kind.key] ?? 0;
    fields.Item_Count__c = itemCount;
    fields.Outcome_Summary__c = outcomeLine(counts);
    return fields;
}

/** The counts a run record holds (runs recorded before Reminded_Count__c read 0 reminded). */
export function countsOfRecord(run: Partial<RunRecord>): OutcomeCounts {
    const counts: OutcomeCounts = { invited: 0, reminded: 0, skipped: 0, failed: 0 };
    for (const kind of OUTCOME_KINDS) {
        if (!kind.field) continue;
        const value = run[kind.field];
        counts[kind.key] = typeof value === 'number' ? value : 0;
    }
    return counts;
}

/**
 * The counts a run view (GET /v1/runs, the CLI) shows: the live tally while this process executes the run,
 * else the record's. The summary is the record's line, or the line of the counts when it has none yet.
 */
export function runViewCounts(
    run: Partial<RunRecord>,
    live?: OutcomeCounts & { total: number }
): { evaluated: number; eligible: number; total: number; summary: string } & OutcomeCounts {
    const counts = live
        ? {
              invited: live.invited,
              reminded: live.reminded,
              skipped: live.skipped,
              failed: live.failed
          }
        : countsOfRecord(run);
    return {
        evaluated: run.Evaluated_Count__c ?? 0,
        eligible: run.Eligible_Count__c ?? 0,
        total: live?.total ?? run.Item_Count__c ?? 0,
        ...counts,
        summary: live ? outcomeLine(counts) : (run.Outcome_Summary__c ?? outcomeLine(counts))
    };
}
