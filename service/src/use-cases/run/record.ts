/**
 * Record: every outcome reaches the org exactly once, and survives a crash before it does.
 *
 * Each invitation outcome is appended to the run's journal as soon as the mailer returns (durable before
 * the worker sends its next mail), then written to the org in batches of up to 200 records: the items, and
 * with them the run's progress (heartbeat, counts) and the lease's renewal when a heartbeat is due. An
 * item's authorization upserts are written only after its outcome, in groups of up to AUTH_GROUP after one
 * re-read of what must not be overwritten (writeAuthorizations). Every write is an update by Id or an
 * upsert by external id, so the gateway may retry it after a lost response without doubling anything.
 * When the org is unavailable or the API limit is spent, sending pauses and the batch is retried until it
 * is written. A resume applies the journal first, so a hard kill re-sends only the mails whose acceptance
 * was not yet journaled.
 */
import { AppError, describeError } from '../../errors';
import { ITEM, RUN, type AuthorizationRecord, type ItemStatus } from '../../domain/org-store';
import type { Logger } from '../../logger';
import type { JournalEntry, OutcomeJournal, SObjectRecord, WriteResult } from '../../ports';
import { authorizationKey } from '../evaluation';
import { KIND_INVITATION, KIND_REMINDER, RULE, runWrite, type PlannedWrite } from '../lifecycle';
import {
    BATCH,
    truncate,
    type InviteResult,
    type ProgressListener,
    type RunContext,
    type RunDeps,
    type RunProgress,
    type StatusTally,
    type WorkItem
} from './context';
import { countFields } from './counts';

/** Nothing to write: no items and no run record. */
function nothingToWrite(buffer: SObjectRecord[], withRun: boolean): boolean {
    return buffer.length === 0 && !withRun;
}

export function outcomeReason(result: InviteResult): string | undefined {
    if (result.status === 'sent') return undefined;
    if (result.status === 'invalid') return result.reason;
    return result.permanent ? `SMTP rejected: ${result.reason}` : `SMTP unavailable: ${result.reason}`;
}

/** Authorization records written per re-read of the guarded records (5 composite calls of 200). */
const AUTH_GROUP = 1000;
/** How far before the run's start (and each re-read) changes are looked for: clock skew, late commits. */
const GUARD_OVERLAP_MS = 10 * 60_000;

export class OutcomeRecorder {
    private itemBuffer: SObjectRecord[] = [];
    /** Authorization upserts of items whose outcome is not written yet (they are written after it). */
    private readonly authWaiting = new Map<string, SObjectRecord[]>();
    private authBuffer: SObjectRecord[] = [];
    private lastRunWrite = 0;
    /** Fields for the run record that ride on the next progress write (e.g. the evaluation's snapshot). */
    private pendingRunFields: Record<string, unknown> = {};
    private flushing: Promise<void> = Promise.resolve();
    /** Why sending is paused (the org refuses writes), or undefined. */
    paused?: string;
    private readonly inviteCounts = new Map<string, number>();
    private readonly reminderCounts = new Map<string, number>();
    /** Key → what the run read and sends; each write is decided again against the record as it is then. */
    private readonly plans = new Map<string, PlannedWrite>();
    private readonly apiCallsAtStart: number;
    private readonly journal: OutcomeJournal;
    /** When the journal says an item was invited (a resume writes its authorizations with that time). */
    readonly journaledAt = new Map<string, Date>();
    private journalFailed = false;
    /** Records found Manual, Authorized or Revoked since the run began, by key (see writeAuthorizations). */
    private readonly guarded = new Map<string, AuthorizationRecord>();
    private guardMark: Date;

    constructor(
        private readonly deps: RunDeps,
        private readonly ctx: RunContext,
        private readonly log: Logger,
        private readonly tally: StatusTally,
        private readonly progress: () => RunProgress,
        private readonly signal: AbortSignal,
        private readonly onProgress?: ProgressListener
    ) {
        this.apiCallsAtStart = deps.store.org.apiCalls();
        this.journal = deps.journals.open(ctx.runId, ctx.runKey);
        // The earlier of the run's start (service clock) and the org's time now: statuses were read after the
        // first, and the second keeps the mark on the org's clock when the two disagree.
        const orgNow = deps.store.org.serverTime?.() ?? ctx.startedAt;
        this.guardMark = new Date(Math.min(ctx.startedAt.getTime(), orgNow.getTime()) - GUARD_OVERLAP_MS);
        // The run record was just written (created, claimed or resumed): the next heartbeat is one interval away.
        this.lastRunWrite = Date.now();
    }

    get journalFile(): string {
        return this.journal.file;
    }

    rememberInviteCounts(authorizations: Map<string, AuthorizationRecord>): void {
        for (const [key, record] of authorizations) {
            this.inviteCounts.set(key, record.Invite_Count__c ?? 0);
            this.reminderCounts.set(key, record.Reminder_Count__c ?? 0);
        }
    }

    /** Decides an item's status; the decision is written with the next batch. */
    decide(item: WorkItem, status: ItemStatus, reason?: string, extra: Record<string, unknown> = {}): void {
        this.tally.set(item, status);
        item.reason = reason;
        this.itemBuffer.push({
            attributes: { type: ITEM },
            Id: item.itemId,
            Status__c: status,
            Reason__c: reason ? truncate(reason) : null,
            ...extra
        });
        if (status === 'Skipped') this.deps.metrics.invitations.inc({ outcome: 'skipped' });
    }

    /** A mail was accepted (or refused): journaled first, then decided, written with the next batch. */
    async record(item: WorkItem, result: InviteResult): Promise<void> {
        await this.journalOutcome(item, result);
        // A note from the re-check (a product dropped because its status changed) stays with the outcome.
        const note = item.reason;
        if (result.status === 'sent') {
            this.decide(item, 'Invited', note);
            this.queueAuthorizations(item, this.deps.clock.now());
            this.deps.metrics.invitations.inc({ outcome: 'sent' });
        } else {
            this.decide(item, 'Failed', [outcomeReason(result), note].filter(Boolean).join('; '));
            this.deps.metrics.invitations.inc({ outcome: 'failed' });
        }
        this.onProgress?.(this.progress());
        if (this.itemBuffer.length >= BATCH) await this.flush();
    }

    queueAuthorizations(item: WorkItem, at: Date): void {
        const reminder = item.kind === KIND_REMINDER;
        for (const product of item.products) {
            const key = authorizationKey(item.userId, product);
            const read = item.statusesAtPreview[product] ?? 'Not Invited';
            this.plans.set(key, { kind: reminder ? KIND_REMINDER : KIND_INVITATION, read });
            const waiting = this.authWaiting.get(item.itemId) ?? [];
            this.authWaiting.set(item.itemId, waiting);
            // Counts are absolute values computed from the read (never increments): a write sent twice
            // (a lost answer, a resume from the journal) writes the same record.
            if (reminder) {
                const count = (this.reminderCounts.get(key) ?? 0) + 1;
                this.reminderCounts.set(key, count);
                waiting.push({
                    Key__c: key,
                    Reminder_Count__c: count,
                    Last_Reminder_At__c: at.toISOString(),
                    Last_Run__c: this.ctx.runId
                });
                continue;
            }
            const count = (this.inviteCounts.get(key) ?? 0) + 1;
            this.inviteCounts.set(key, count);
            waiting.push({
                Key__c: key,
                User__c: item.userId,
                Product__c: product,
                Status__c: 'Invited',
                Source__c: RULE,
                Granted_By_Sets__c: truncate(this.grantedBy(item, product, read).join('; ')) || null,
                Invited_At__c: at.toISOString(),
                Invite_Count__c: count,
                Expired_At__c: null,
                Reminder_Count__c: 0,
                Last_Reminder_At__c: null,
                Last_Run__c: this.ctx.runId
            });
        }
    }

    /** The matched sets that grant this product to a user of this status (the record names them). */
    private grantedBy(item: WorkItem, product: string, read: string): string[] {
        const matched = new Set(item.matchedSets ?? []);
        return this.ctx.sets
            .filter(
                (set) =>
                    matched.has(set.name) &&
                    set.products.includes(product) &&
                    (!set.eligibleStatuses || set.eligibleStatuses.includes(read))
            )
            .map((set) => set.name);
    }

    /** Authorizations of an item decided Invited before this process (journal or org): written now. */
    releaseAuthorizations(item: WorkItem, at: Date): void {
        this.queueAuthorizations(item, at);
        this.authBuffer.push(...(this.authWaiting.get(item.itemId) ?? []));
        this.authWaiting.delete(item.itemId);
    }

    /** Run fields written with the next progress record instead of a call of their own. */
    setRunFields(fields: Record<string, unknown>): void {
        Object.assign(this.pendingRunFields, fields);
    }

    /** Fields of the final run write that were waiting for a progress write (then cleared). */
    takeRunFields(): Record<string, unknown> {
        const fields = this.pendingRunFields;
        this.pendingRunFields = {};
        return fields;
    }

    apiCalls(): number {
        return this.ctx.apiCallsBefore + (this.deps.store.org.apiCalls() - this.apiCallsAtStart);
    }

    allWritten(): boolean {
        return this.itemBuffer.length === 0 && this.authBuffer.length === 0 && this.authWaiting.size === 0;
    }

    /** Waits for a flush in progress (a paused worker waits here for the org to take writes again). */
    async settled(): Promise<void> {
        await this.flushing.catch(() => undefined);
    }

    private runProgressRecord(): SObjectRecord {
        const p = this.progress();
        return {
            attributes: { type: RUN },
            Id: this.ctx.runId,
            Heartbeat__c: this.deps.clock.now().toISOString(),
            ...countFields(p, p.total),
            Api_Calls__c: this.apiCalls() + 1,
            ...this.pendingRunFields
        };
    }

    /**
     * Writes buffered outcomes in full batches of 200 (authorizations in groups of AUTH_GROUP). The run's progress (heartbeat, counts) and the
     * lease's renewal ride in a batch when a heartbeat is due; `force` (heartbeat timer, end of a phase)
     * also writes partial batches. Serialised; pauses while the org refuses writes.
     */
    flush(options: { force?: boolean; withoutRun?: boolean; maxAttempts?: number } = {}): Promise<void> {
        this.flushing = this.flushing.then(() =>
            this.flushNow(
                options.force === true,
                options.maxAttempts ?? Number.POSITIVE_INFINITY,
                options.withoutRun === true
            )
        );
        return this.flushing;
    }

    private heartbeatDue(): boolean {
        return Date.now() - this.lastRunWrite >= this.deps.config.runs.heartbeatSeconds * 1000;
    }

    private async flushNow(force: boolean, maxAttempts: number, withoutRun = false): Promise<void> {
        let runWritten = withoutRun;
        while (this.itemBuffer.length >= BATCH || (force && (this.itemBuffer.length > 0 || !runWritten))) {
            const withRun = !runWritten && (force || this.heartbeatDue());
            if (nothingToWrite(this.itemBuffer, withRun)) break;
            const group = this.itemBuffer.splice(0, withRun ? BATCH - 2 : BATCH);
            await this.retrying(
                () => this.writeItems(group, withRun),
                maxAttempts,
                () => {
                    this.itemBuffer.unshift(...group);
                }
            );
            if (withRun) runWritten = true;
            for (const record of group) {
                const waiting = this.authWaiting.get(String(record.Id));
                if (waiting) {
                    this.authBuffer.push(...waiting);
                    this.authWaiting.delete(String(record.Id));
                }
            }
        }
        while (this.authBuffer.length >= AUTH_GROUP || (force && this.authBuffer.length > 0)) {
            const group = this.authBuffer.splice(0, AUTH_GROUP);
            await this.retrying(
                () => this.writeAuthorizations(group),
                maxAttempts,
                () => {
                    this.authBuffer.unshift(...group);
                }
            );
        }
    }

    private async retrying(
        write: () => Promise<void>,
        maxAttempts: number,
        giveBack: () => void
    ): Promise<void> {
        for (let attempt = 1; ; attempt++) {
            try {
                await write();
                if (this.paused) {
                    this.ctx.notes.push(
                        `${this.paused} (paused, then resumed at ${this.deps.clock.now().toISOString()})`
                    );
                    this.log.info('Org writes succeed again; run continues');
                    this.paused = undefined;
                }
                return;
            } catch (error) {
                const orgRefused =
                    error instanceof AppError &&
                    ['ORG_UNAVAILABLE', 'ORG_LIMIT_EXCEEDED'].includes(error.code);
                if (!orgRefused || attempt >= maxAttempts || (this.signal.aborted && attempt >= 2)) {
                    giveBack();
                    throw error;
                }
                this.paused = `${this.deps.clock.now().toISOString()}: ${describeError(error)}`;
                this.log.error({ err: describeError(error) }, "Org refused the run's writes; sending paused");
                this.onProgress?.(this.progress());
                await this.pause(this.deps.config.runs.sweepSeconds * 1000);
            }
        }
    }

    private pause(ms: number): Promise<void> {
        // An abort that already happened fires no event: waiting would outlast the shutdown's bound.
        if (this.signal.aborted) return Promise.resolve();
        return new Promise((resolve) => {
            const timer = setTimeout(done, ms);
            const onAbort = () => done();
            function done() {
                clearTimeout(timer);
                resolve();
            }
            this.signal.addEventListener('abort', onAbort, { once: true });
        });
    }

    private async writeItems(group: SObjectRecord[], withRun: boolean): Promise<void> {
        const renewal = withRun ? this.deps.leases.renewal(this.ctx.lease) : undefined;
        const records = renewal ? [...group, this.runProgressRecord(), renewal.record] : group;
        let results: WriteResult[];
        try {
            results = await this.deps.store.update(records);
        } catch (error) {
            renewal?.settle(undefined);
            throw error;
        }
        renewal?.settle(results[group.length + 1]);
        if (withRun) {
            this.lastRunWrite = Date.now();
            this.pendingRunFields = {};
        }
        results.slice(0, group.length).forEach((result, index) => {
            if (!result.success) {
                this.log.warn({ itemId: group[index].Id, errors: result.errors }, 'Item outcome not written');
            }
        });
        const runResult = results[group.length];
        if (runResult && !runResult.success)
            this.log.warn({ errors: runResult.errors }, 'Run progress not written');
    }

    /**
     * Conditional on what the run read: just before the write, the records that changed since the run began
     * into a state it must not overwrite are read (one query for the whole group of up to AUTH_GROUP records,
     * `authorizationsGuardedSince`), and each record is decided again (`runWrite`) against that, or against
     * the status the run read when it did not change so: an Authorized or Revoked the scheduling product
     * reported while the mail was going out stands, an admin's Manual record is not written at all.
     */
    private async writeAuthorizations(planned: SObjectRecord[]): Promise<void> {
        const readAt = this.deps.store.org.serverTime?.() ?? this.deps.clock.now();
        // Every status the run acts on was read after the run began; the overlap covers clock skew and late
        // commits. Records seen in an earlier re-read stay known (the map is only added to).
        const products = [
            ...new Set(
                planned.map((record) => String(record.Key__c).slice(String(record.Key__c).indexOf(':') + 1))
            )
        ];
        for (const row of await this.deps.store.authorizationsGuardedSince(this.guardMark, products)) {
            if (row.Key__c) this.guarded.set(row.Key__c, row);
        }
        this.guardMark = new Date(Math.max(this.guardMark.getTime(), readAt.getTime() - GUARD_OVERLAP_MS));
        const current = (key: string): AuthorizationRecord | undefined => {
            const known = this.guarded.get(key);
            if (known) return known;
            const read = this.plans.get(key)?.read;
            return read && read !== 'Not Invited'
                ? ({ Key__c: key, Status__c: read } as AuthorizationRecord)
                : undefined;
        };
        const records: SObjectRecord[] = [];
        let kept = 0;
        for (const record of planned) {
            const key = String(record.Key__c);
            const plan = this.plans.get(key) ?? { kind: KIND_INVITATION, read: 'Not Invited' };
            // A reminder counts on a record the run read (Invited): it exists unless deleted meanwhile.
            const decided = runWrite(record, plan, current(key));
            if (decided) records.push(decided);
            else kept++;
        }
        if (kept > 0) this.log.info({ kept }, 'Authorization records set by hand (Manual) left as they are');
        if (records.length === 0) return;
        const results = await this.deps.store.upsertAuthorizations(records);
        const failed = results.filter((result) => !result.success);
        if (failed.length > 0) {
            this.log.warn(
                { count: failed.length, first: failed[0].errors },
                'Some authorization records not written'
            );
        }
    }

    /**
     * The outcome goes to disk before anything else happens (and before this worker sends its next mail):
     * after a hard kill the resume applies it instead of sending again. A journal that cannot be written is
     * reported once and the run goes on; its outcomes are then only as durable as the batched org writes.
     */
    private async journalOutcome(item: WorkItem, result: InviteResult): Promise<void> {
        const reason = outcomeReason(result);
        const entry: JournalEntry = {
            runKey: this.ctx.runKey,
            runId: this.ctx.runId,
            itemId: item.itemId,
            userId: item.userId,
            status: result.status === 'sent' ? 'Invited' : 'Failed',
            ...(reason === undefined ? {} : { reason: truncate(reason) }),
            at: this.deps.clock.now().toISOString(),
            products: item.products
        };
        try {
            await this.journal.append(entry);
        } catch (error) {
            // Workers waiting on the same failed fdatasync all see it: reported once.
            if (this.journalFailed) return;
            this.journalFailed = true;
            const note = `Run journal ${this.journal.file} not writable (${describeError(error)}); a hard kill from then on re-sends the invitations not yet written to the org.`;
            this.ctx.notes.push(note);
            this.log.error({ err: describeError(error), file: this.journal.file }, note);
        }
    }

    /**
     * Outcomes journaled by a process that died (or stopped while the org refused writes) before they
     * reached the org: applied as if just decided, so they are written and never sent again. Journals that
     * another run left under the same id (an org reset hands ids out again) are set aside, never applied.
     */
    applyJournal(items: WorkItem[]): void {
        const foreign = this.deps.journals.setAsideForeign(this.ctx.runId, this.ctx.runKey);
        if (foreign.length > 0) {
            const note = `Journal of another run with the same id set aside, not applied: ${foreign.join(', ')}`;
            this.ctx.notes.push(note);
            this.log.warn({ files: foreign }, note);
        }
        let contents;
        try {
            contents = this.journal.read();
        } catch (error) {
            const note = `Run journal ${this.journal.file} not readable (${describeError(error)}); outcomes it held may be sent again.`;
            this.ctx.notes.push(note);
            this.log.error({ err: describeError(error) }, note);
            return;
        }
        if (contents.entries.length === 0 && !contents.torn && contents.unreadable === 0) return;
        const byId = new Map(items.map((item) => [item.itemId, item]));
        let applied = 0;
        for (const entry of contents.entries) {
            const item = byId.get(entry.itemId);
            if (entry.runId !== this.ctx.runId || !item || item.userId !== entry.userId) continue;
            // Already recorded in the org (written before the crash): nothing to apply.
            if (item.status !== null && item.status !== 'Pending') continue;
            const productsChanged = entry.products.join(';') !== item.products.join(';');
            item.products = entry.products;
            if (entry.status === 'Invited') this.journaledAt.set(item.itemId, new Date(entry.at));
            this.decide(
                item,
                entry.status,
                entry.reason,
                productsChanged ? { Products__c: entry.products.join(';') } : {}
            );
            applied++;
        }
        this.log.info(
            {
                applied,
                entries: contents.entries.length,
                tornLastLine: contents.torn,
                unreadableLines: contents.unreadable,
                file: this.journal.file
            },
            'Journaled outcomes applied; those invitations are not sent again'
        );
    }

    async closeJournal(): Promise<void> {
        await this.journal.close();
    }

    /** The run is over: the journal goes only when every outcome is in the org. */
    async retireJournal(): Promise<void> {
        if (this.allWritten()) await this.journal.remove();
        else
            this.log.warn(
                { journal: this.journal.file },
                'Run finished with outcomes not written to the org; its journal is kept'
            );
    }
}
