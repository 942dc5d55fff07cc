/**
 * The reads a run (or a preview) starts with, gathered in one place so that the independent ones travel
 * together: one Composite request, which Salesforce counts as one API call, instead of a call each
 * (OrgStore.readTogether; docs/decisions.md, "Run-start reads in one Composite request").
 *
 * Only reads are gathered, and only reads that do not depend on each other's answers; each keeps its own
 * outcome (a read the org refuses fails alone, as its own query would have), and what consumes them runs in
 * the same order as before, once they have answered:
 *
 * - under the claim of a scheduled run: the settings (a switched-off schedule refuses the run), the runs in
 *   progress (one run per org) and, for a schedule slot, the run of that slot;
 * - under the claim of an execute: the preview's run and the runs in progress;
 * - before an evaluation: the settings (unless the run holds them), the lapsed invitations (expired before
 *   the evaluation reads anything else), the active condition sets and, for a scheduled run, the baseline an
 *   incremental sync builds on;
 * - when an executed or resumed run starts sending: its items, its sets snapshot and the settings.
 */
import {
    reads,
    type AuthorizationRecord,
    type BaselineRuns,
    type ItemRecord,
    type OrgStore,
    type RunRecord,
    type SettingsRecord,
    type StoreRead
} from '../../domain/org-store';
import type { SObjectRecord } from '../../ports';
import { lapsedRead, type LifecycleReads } from '../lifecycle';

export interface ScheduledClaimReads {
    settings: Promise<SettingsRecord>;
    activeRuns: Promise<RunRecord[]>;
    /** The run already started for this slot, when the trigger named one. */
    slotRun?: Promise<RunRecord | undefined>;
}

/** Under the claim of a scheduled run. */
export function scheduledClaimReads(store: OrgStore, slotRunKey?: string): ScheduledClaimReads {
    if (!slotRunKey)
        return store.readTogether({ settings: reads.settings(), activeRuns: reads.activeRuns() });
    return store.readTogether({
        settings: reads.settings(),
        activeRuns: reads.activeRuns(),
        slotRun: reads.runByKey(slotRunKey)
    });
}

/** Under the claim of an execute: the preview's run as it is now, and the runs in progress. */
export function executeClaimReads(
    store: OrgStore,
    runId: string
): { run: Promise<RunRecord | undefined>; activeRuns: Promise<RunRecord[]> } {
    return store.readTogether({ run: reads.run(runId), activeRuns: reads.activeRuns() });
}

/** What an evaluation starts with: the lifecycle step's reads, the sets and (scheduled) the baseline. */
export interface EvaluationReads {
    lifecycle: LifecycleReads;
    conditionSets: Promise<SObjectRecord[]>;
    baseline?: Promise<BaselineRuns>;
}

export function evaluationReads(
    store: OrgStore,
    options: {
        now: Date;
        ttlHours: number;
        /** The settings the run already holds (a scheduled run read them under its claim). */
        settings?: SettingsRecord;
        /** A scheduled run that may be incremental: its id (the baseline query reads its Name too). */
        baselineOf?: string;
    }
): EvaluationReads {
    const asked: Record<string, StoreRead<unknown>> = {
        lapsed: lapsedRead(options.now, options.ttlHours),
        conditionSets: reads.conditionSets()
    };
    if (!options.settings) asked.settings = reads.settings();
    if (options.baselineOf) asked.baseline = reads.baselineRun(options.baselineOf);
    const read = store.readTogether(asked) as Record<string, Promise<unknown>>;
    return {
        lifecycle: {
            settings: options.settings ?? (read.settings as Promise<SettingsRecord>),
            lapsed: { records: read.lapsed as Promise<AuthorizationRecord[]>, now: options.now }
        },
        conditionSets: read.conditionSets as Promise<SObjectRecord[]>,
        baseline: read.baseline as Promise<BaselineRuns> | undefined
    };
}

/** An executed or resumed run's items, its sets snapshot and the settings. */
export function executionReads(
    store: OrgStore,
    runId: string
): {
    items: Promise<ItemRecord[]>;
    snapshot: Promise<string | undefined>;
    settings: Promise<SettingsRecord>;
} {
    return store.readTogether({
        items: reads.items(runId),
        snapshot: reads.runSnapshot(runId),
        settings: reads.settings()
    });
}
