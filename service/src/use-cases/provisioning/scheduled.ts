/**
 * A scheduled run (`POST /v1/runs` with `trigger: "scheduled"`, the service's own scheduler): under the
 * org's claim, a run is written Running, then evaluated in the background (incrementally unless a full
 * evaluation is due, ../incremental), its items written Pending a slice at a time, then executed (./host).
 */
import { AppError } from '../../errors';
import { ChangeStore, type ItemRecord, type RunRecord, type SettingsRecord } from '../../domain/org-store';
import { authorizationKey, parseSnapshot } from '../evaluation';
import { IncrementalPlanner, evaluationFields } from '../incremental';
import { beforeEvaluation, remindersFor } from '../lifecycle';
import { itemRecords } from '../preview';
import type { Lease } from '../run/claim';
import { planConnections } from '../run/connections';
import { toWorkItem, type WorkItem } from '../run/context';
import { evaluationReads, scheduledClaimReads } from '../run/start-reads';
import { parseRecipients, type PreparedRun, type RunHost } from './host';

/** Items a scheduled run writes per upsert round (10 composite calls of 200). */
const ITEM_WRITE_SLICE = 2000;

/**
 * A scheduled run. `slot` names the schedule's firing (its time): every instance's scheduler, and a
 * trigger sent twice, fire the same slot, and a slot runs once. Without one, each trigger is a run.
 */
export async function scheduled(
    host: RunHost,
    request: { slot?: string; full?: boolean } = {}
): Promise<{ runId: string; status: 'Running' }> {
    const { store, clock } = host.deps;
    return host.underClaim('scheduled', undefined, async (lease) => {
        // Keyed by the slot (or the claim): a create whose answer was lost and is retried finds this run.
        const runKey = request.slot ? `scheduled:${request.slot}` : lease.token;
        // Read under the claim (together: one call), so a schedule switched off just before the trigger is
        // honoured; unreadable settings refuse the run rather than guess.
        const claimed = scheduledClaimReads(store, request.slot ? runKey : undefined);
        const settings = await claimed.settings;
        if (settings.Schedule_Enabled__c !== true) {
            throw new AppError(
                'SCHEDULE_DISABLED',
                'Scheduled provisioning is switched off in Rollcall settings (Schedule_Enabled__c); no run started'
            );
        }
        await host.assertNoInterruptedRun(undefined, claimed.activeRuns);
        if (claimed.slotRun) {
            // Under the claim nobody else creates runs: looking first is not a race.
            const earlier = await claimed.slotRun;
            if (earlier) {
                throw new AppError(
                    'ALREADY_TRIGGERED',
                    `The scheduled run of slot ${request.slot} was already started (run ${earlier.Id}, ${earlier.Status__c})`,
                    { details: { runId: earlier.Id } }
                );
            }
        }
        const now = clock.now();
        const callsBefore = store.org.apiCalls();
        const runId = await store.upsertRun(runKey, {
            Status__c: 'Running',
            Trigger__c: 'Scheduled',
            Started_At__c: now.toISOString(),
            Heartbeat__c: now.toISOString(),
            Notify_Admins__c: settings.Notify_Admins__c === true,
            Recipients__c: settings.Recipients__c ?? null,
            Invited_Count__c: 0,
            Skipped_Count__c: 0,
            Failed_Count__c: 0
        });
        lease.runId = runId;
        const run = {
            Id: runId,
            Run_Key__c: runKey,
            Status__c: 'Running',
            Trigger__c: 'Scheduled',
            Api_Calls__c: 0
        } as RunRecord;
        host.startBackground(runId, lease, () =>
            evaluateScheduled(host, run, lease, now, settings, [], callsBefore, request.full)
        );
        return { runId, status: 'Running' as const };
    });
}

/** Scheduled runs evaluate in the background, then write their items Pending before sending. */
export async function evaluateScheduled(
    host: RunHost,
    run: RunRecord,
    lease: Lease,
    startedAt: Date,
    settings: SettingsRecord,
    existing: ItemRecord[],
    callsBefore: number,
    full?: boolean
): Promise<PreparedRun> {
    const { store, clock, config } = host.deps;
    // The lapsed invitations, the sets and the baseline in one call (./run/start-reads).
    const reads = evaluationReads(store, {
        now: clock.now(),
        ttlHours: config.links.tokenTtlHours,
        settings,
        baselineOf: full ? undefined : run.Id
    });
    // Lapsed invitations become Expired first: their records' stamps then bring them into an incremental run.
    const lifecycle = await beforeEvaluation(host.deps, reads.lifecycle);
    // Only the users changed since the last completed run, unless a full evaluation is due (./incremental).
    const planner = new IncrementalPlanner(new ChangeStore(store.org), {
        full,
        runId: run.Id,
        baseline: reads.baseline
    });
    const evaluation = await host.evaluator.evaluate({
        select: planner.select,
        conditionSets: reads.conditionSets
    });
    const choice = planner.choice();
    const already = new Set(existing.map((item) => item.User__c));
    const fresh = {
        ...evaluation,
        entries: evaluation.entries.filter((entry) => !already.has(entry.userId)),
        kept: evaluation.kept.filter((entry) => !already.has(entry.userId))
    };
    const reminders = (await remindersFor(host.deps, lifecycle, evaluation)).filter(
        (due) => !already.has(due.userId)
    );
    // Reminders and kept users are written with the first slice, unless they are invited anyway.
    const invitedIds = new Set(fresh.entries.map((entry) => entry.userId));
    const extraReminders = reminders.filter((due) => !invitedIds.has(due.userId));
    const extraKept = fresh.kept.filter((entry) => !invitedIds.has(entry.userId));
    const names = new Map<string, string>([
        ...extraKept.map((entry) => [entry.userId, String(entry.user.Name ?? entry.userId)] as const),
        ...extraReminders.map((due) => [due.userId, due.name] as const)
    ]);
    const items: WorkItem[] = existing.map(toWorkItem);
    // Written a slice at a time: the item records of 100,000 users at once would double the memory
    // the entries already take (the sync bench's 1,000,000-user run).
    for (let start = 0; start === 0 || start < fresh.entries.length; start += ITEM_WRITE_SLICE) {
        const slice = fresh.entries.slice(start, start + ITEM_WRITE_SLICE);
        const first = start === 0;
        const records = itemRecords(
            run.Id,
            { entries: slice, kept: first ? extraKept : [] },
            'Pending',
            first ? extraReminders : []
        );
        const results = records.length > 0 ? await store.upsertItems(records) : [];
        results.forEach((result, index) => {
            const record = records[index] as ItemRecord;
            if (!result.success || !result.id) {
                host.deps.logger.warn(
                    { runId: run.Id, errors: result.errors },
                    'Item not written; user not invited'
                );
                return;
            }
            // itemRecords lists the slice's entries first: their items share the entry's objects (a
            // million-user run holds 100,000 of them), the few reminders and kept rows are parsed back.
            const entry = index < slice.length ? slice[index] : undefined;
            const item: WorkItem = entry
                ? {
                      itemId: result.id,
                      userId: entry.userId,
                      name: String(entry.user.Name ?? entry.userId),
                      email: String(entry.user.Email ?? ''),
                      products: entry.products,
                      statusesAtPreview: entry.statuses,
                      status: 'Pending',
                      kind: 'Invitation',
                      matchedSets: entry.matchedSets
                  }
                : toWorkItem({
                      ...record,
                      Id: result.id,
                      User__r: { Name: names.get(record.User__c) ?? record.User__c }
                  });
            // Users without an email are re-checked (and skipped with the reason) by the execution.
            if (item.status === 'Pending' && !record.Email__c) item.status = null;
            items.push(item);
        });
    }
    // Reminder counts of users the evaluation did not read (the run writes absolute counts).
    const authorizations = new Map(evaluation.authorizations);
    for (const due of reminders) {
        for (const product of due.products) {
            const key = authorizationKey(due.userId, product);
            if (!authorizations.has(key)) {
                authorizations.set(key, {
                    User__c: due.userId,
                    Product__c: product,
                    Status__c: 'Invited',
                    Reminder_Count__c: due.counts[key] ?? 0
                });
            }
        }
    }
    // The connections' plan, recorded Pending like the items (../run/connections).
    await planConnections(host.deps, run.Id, host.evaluator);
    const ctx = host.context(run, lease, {
        runKey: String(run.Run_Key__c),
        trigger: 'Scheduled',
        initiatedBy: undefined,
        startedAt,
        notifyAdmins: settings.Notify_Admins__c === true,
        recipients: parseRecipients(settings.Recipients__c),
        settings,
        sets: parseSnapshot(evaluation.snapshot)
    });
    ctx.evaluated = evaluation.evaluated;
    ctx.evaluation = { kind: choice.kind, reason: choice.reason };
    ctx.runName ??= planner.runName();
    // Users already written by the interrupted attempt are counted once.
    ctx.eligible = fresh.entries.length + existing.length;
    ctx.apiCallsBefore = (run.Api_Calls__c ?? 0) + (store.org.apiCalls() - callsBefore);
    ctx.timeZone = evaluation.timeZone;
    // Written with the run's first progress record (one call fewer). Until then a resume evaluates again.
    const runFields = {
        ...evaluationFields(evaluation, choice),
        Condition_Sets_Snapshot__c: evaluation.snapshot,
        Evaluated_Count__c: evaluation.evaluated,
        Eligible_Count__c: ctx.eligible
    };
    return { ctx, items, authorizations, runFields };
}
