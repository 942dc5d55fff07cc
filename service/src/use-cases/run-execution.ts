/**
 * Executing a run: re-check items, write them Pending, send one invitation per user, record each
 * outcome, keep the run's counts and heartbeat current, finish it and tell people.
 *
 * Durability (DESIGN §6): items are Pending in the org before any email leaves; each outcome is appended
 * to the run's journal on disk as soon as the mailer returns (durable before the worker sends its next
 * mail), and written back to the org in batches of up to 199 items plus the run's progress (one composite
 * call), at the latest every heartbeat. A resume applies the journal first, so a hard kill re-sends only
 * the mails whose acceptance was not yet journaled. When the org is unavailable or the API limit is spent,
 * sending pauses and the batch is retried until it is written. A shutdown stops sending, writes what it
 * has and parks the run (heartbeat cleared) for resume.
 */
import type { Config } from '../config';
import { RunJournal, type JournalEntry } from '../adapters/journal';
import { AppError, describeError } from '../errors';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { Clock, Mailer, Notifier, SObjectRecord, SendResult } from '../ports';
import type { MailTemplates } from '../adapters/templates';
import { signAuthorizationToken } from '../domain/tokens';
import { isValidAddress } from '../adapters/mailer';
import {
    ITEM,
    RUN,
    type AuthorizationRecord,
    type ItemRecord,
    type ItemStatus,
    type OrgStore,
    type RunStatus,
    type RunTrigger
} from '../domain/org-store';
import { authorizationKey } from './evaluation';
import { buildAuditMail, buildSlackMessage, type ReportRow, type RunReport } from './reports';

/** Records per composite call (Salesforce's maximum). */
const BATCH = 200;
const REASON_LIMIT = 255;

export interface WorkItem {
    itemId: string;
    userId: string;
    name: string;
    email: string;
    products: string[];
    /** Product → status at preview (Product_Statuses__c). */
    statusesAtPreview: Record<string, string>;
    status: ItemStatus | null;
    reason?: string;
}

export interface RunContext {
    runId: string;
    runName?: string;
    trigger: RunTrigger;
    initiatedBy?: string;
    startedAt: Date;
    notifyAdmins: boolean;
    recipients: string[];
    slackChannel?: string;
    evaluated: number;
    eligible: number;
    apiCallsBefore: number;
    sets: { name: string; products: string[] }[];
    invalidSets: { name: string; reasons: string[] }[];
    timeZone?: string;
    /** Notes written to Error__c beside the final status (e.g. a pause). */
    notes: string[];
}

export interface RunDeps {
    config: Config;
    store: OrgStore;
    mailer: Mailer;
    notifier: Notifier;
    templates: MailTemplates;
    clock: Clock;
    logger: Logger;
    metrics: Metrics;
}

export interface RunProgress {
    runId: string;
    total: number;
    done: number;
    invited: number;
    failed: number;
    skipped: number;
    paused?: string;
}

export type ProgressListener = (progress: RunProgress) => void;

export function truncate(text: string, limit = REASON_LIMIT): string {
    return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

function splitProducts(value: string): string[] {
    return value.split(';').filter(Boolean);
}

export function toWorkItem(record: ItemRecord): WorkItem {
    let statusesAtPreview: Record<string, string> = {};
    try {
        statusesAtPreview = JSON.parse(record.Product_Statuses__c ?? '{}') as Record<string, string>;
    } catch {
        statusesAtPreview = {};
    }
    return {
        itemId: record.Id,
        userId: record.User__c,
        name: record.User__r?.Name ?? record.User__c,
        email: record.Email__c ?? '',
        products: splitProducts(record.Products__c ?? ''),
        statusesAtPreview,
        status: record.Status__c ?? null,
        reason: record.Reason__c ?? undefined
    };
}

class Stopped extends Error {}

/** Nothing to write: no items and no run record. */
function nothingToWrite(buffer: SObjectRecord[], withRun: boolean): boolean {
    return buffer.length === 0 && !withRun;
}

export class RunExecution {
    private readonly log: Logger;
    private itemBuffer: SObjectRecord[] = [];
    /** Authorization upserts of items whose outcome is not written yet (they are written after it). */
    private readonly authWaiting = new Map<string, SObjectRecord[]>();
    private authBuffer: SObjectRecord[] = [];
    private lastRunWrite = 0;
    /** Fields for the run record that ride on the next progress write (e.g. the evaluation's snapshot). */
    private pendingRunFields: Record<string, unknown> = {};
    private flushing: Promise<void> = Promise.resolve();
    private heartbeatTimer?: NodeJS.Timeout;
    private paused?: string;
    private readonly inviteCounts = new Map<string, number>();
    private readonly apiCallsAtStart: number;
    private readonly journal: RunJournal;
    /** When the journal says an item was invited (a resume writes its authorizations with that time). */
    private readonly journaledAt = new Map<string, Date>();
    private journalFailed = false;

    constructor(
        private readonly deps: RunDeps,
        private readonly ctx: RunContext,
        private readonly items: WorkItem[],
        private readonly signal: AbortSignal,
        private readonly onProgress?: ProgressListener
    ) {
        this.log = deps.logger.child({ runId: ctx.runId });
        this.apiCallsAtStart = deps.store.org.apiCalls();
        this.journal = new RunJournal(deps.config.runs.journalDir, ctx.runId);
    }

    progress(): RunProgress {
        const count = (status: ItemStatus) => this.items.filter((item) => item.status === status).length;
        const invited = count('Invited');
        const failed = count('Failed');
        const skipped = count('Skipped');
        return {
            runId: this.ctx.runId,
            total: this.items.length,
            done: invited + failed + skipped,
            invited,
            failed,
            skipped,
            paused: this.paused
        };
    }

    /** The progress without the run id, for log lines (the child logger already carries it). */
    private counts(): Omit<RunProgress, 'runId'> {
        const { runId: _runId, ...counts } = this.progress();
        return counts;
    }

    /** Runs to the end (or to a park on shutdown). Returns the final status, or undefined when parked. */
    async execute(knownAuthorizations?: Map<string, AuthorizationRecord>): Promise<RunStatus | undefined> {
        const started = Date.now();
        // The run record was just written (created, claimed or resumed): the next heartbeat is one interval away.
        this.lastRunWrite = started;
        this.heartbeatTimer = setInterval(() => {
            void this.flush({ force: true }).catch((error) =>
                this.log.warn({ err: describeError(error) }, 'Heartbeat not written')
            );
        }, this.deps.config.runs.heartbeatSeconds * 1000);
        this.heartbeatTimer.unref();
        try {
            this.applyJournal();
            const unchecked = this.items.filter((item) => item.status === null);
            const open = this.items.filter((item) => item.status === null || item.status === 'Pending');
            const authorizations = knownAuthorizations ?? (await this.loadAuthorizations(open));
            this.rememberInviteCounts(authorizations);
            if (unchecked.length > 0) await this.recheck(unchecked, authorizations);
            await this.reconcileAuthorizations();
            await this.send(this.items.filter((item) => item.status === 'Pending'));
            // Leftover outcomes; the run record itself is written next by finish().
            await this.flush({ force: true, withoutRun: true });
            if (this.signal.aborted) throw new Stopped();
            const status: RunStatus = this.items.some((item) => item.status === 'Failed')
                ? 'Completed with Errors'
                : 'Completed';
            await this.finish(status);
            this.deps.metrics.runDuration.observe(
                { trigger: this.ctx.trigger },
                (Date.now() - started) / 1000
            );
            return status;
        } catch (error) {
            if (error instanceof Stopped || this.signal.aborted) {
                await this.park();
                return undefined;
            }
            this.log.error({ err: describeError(error) }, 'Run failed');
            await this.finish('Failed', describeError(error)).catch((finishError) =>
                this.log.error({ err: describeError(finishError) }, 'Could not record the failed run')
            );
            return 'Failed';
        } finally {
            clearInterval(this.heartbeatTimer);
            await this.journal.close();
        }
    }

    private rememberInviteCounts(authorizations: Map<string, AuthorizationRecord>): void {
        for (const [key, record] of authorizations) this.inviteCounts.set(key, record.Invite_Count__c ?? 0);
    }

    /** Status may have changed since the preview; the user may be gone or have no email. */
    private async loadAuthorizations(items: WorkItem[]): Promise<Map<string, AuthorizationRecord>> {
        const authorizations = new Map<string, AuthorizationRecord>();
        if (items.length === 0) return authorizations;
        const ids = [...new Set(items.map((item) => item.userId))];
        const products = [...new Set(items.flatMap((item) => item.products))];
        const wanted = new Set(ids);
        for (const row of await this.deps.store.authorizations(ids.length > 2000 ? 'all' : ids, products)) {
            if (wanted.has(row.User__c))
                authorizations.set(authorizationKey(row.User__c, row.Product__c), row);
        }
        return authorizations;
    }

    private async recheck(
        items: WorkItem[],
        authorizations: Map<string, AuthorizationRecord>
    ): Promise<void> {
        const ids = [...new Set(items.map((item) => item.userId))];
        const users = new Map((await this.deps.store.users(ids)).map((user) => [user.Id, user]));
        for (const item of items) {
            const user = users.get(item.userId);
            const changes: string[] = [];
            const stillEligible = item.products.filter((product) => {
                const now =
                    authorizations.get(authorizationKey(item.userId, product))?.Status__c ?? 'Not Invited';
                const then = item.statusesAtPreview[product] ?? 'Not Invited';
                if (now !== then) changes.push(`${product}: ${then} → ${now}`);
                return now === then;
            });
            if (!user) this.decide(item, 'Skipped', 'user no longer exists');
            else if (user.IsActive !== true)
                this.decide(item, 'Skipped', 'user deactivated since the preview');
            else if (!user.Email) this.decide(item, 'Skipped', 'user has no email address');
            else if (stillEligible.length === 0) {
                this.decide(item, 'Skipped', `status changed since the preview (${changes.join('; ')})`);
            } else {
                item.email = user.Email;
                item.name = user.Name ?? item.name;
                const reduced = stillEligible.length !== item.products.length;
                item.products = stillEligible;
                this.decide(
                    item,
                    'Pending',
                    reduced ? `status changed since the preview (${changes.join('; ')})` : undefined,
                    reduced ? { Products__c: stillEligible.join(';') } : {}
                );
                this.itemBuffer[this.itemBuffer.length - 1].Email__c = user.Email;
            }
            if (this.itemBuffer.length >= BATCH) await this.flush();
        }
        await this.flush({ force: true });
        this.log.info(this.counts(), 'Items re-checked and written Pending');
    }

    private decide(
        item: WorkItem,
        status: ItemStatus,
        reason?: string,
        extra: Record<string, unknown> = {}
    ): void {
        item.status = status;
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

    /** After a crash between writing items Invited and writing their authorizations. */
    private async reconcileAuthorizations(): Promise<void> {
        const invited = this.items.filter((item) => item.status === 'Invited');
        if (invited.length === 0) return;
        const written = new Set(
            (await this.deps.store.authorizationsOfRun(this.ctx.runId)).map((row) =>
                authorizationKey(row.User__c, row.Product__c)
            )
        );
        const missing = invited.filter((item) =>
            item.products.some((product) => !written.has(authorizationKey(item.userId, product)))
        );
        if (missing.length === 0) return;
        const counts = await this.deps.store.authorizations(
            missing.map((item) => item.userId),
            [...new Set(missing.flatMap((item) => item.products))]
        );
        this.rememberInviteCounts(
            new Map(counts.map((row) => [authorizationKey(row.User__c, row.Product__c), row]))
        );
        for (const item of missing) {
            this.queueAuthorizations(item, this.journaledAt.get(item.itemId) ?? this.deps.clock.now());
            this.authBuffer.push(...(this.authWaiting.get(item.itemId) ?? []));
            this.authWaiting.delete(item.itemId);
        }
        this.log.info({ users: missing.length }, 'Authorization records reconciled after resume');
    }

    private async send(pending: WorkItem[]): Promise<void> {
        let next = 0;
        const worker = async () => {
            while (next < pending.length && !this.signal.aborted) {
                // While the org refuses writes, send nothing more: outcomes must be recorded first.
                if (this.paused) {
                    await this.flushing.catch(() => undefined);
                    continue;
                }
                const item = pending[next++];
                const result = await this.invite(item);
                // Shutting down: a send that could not finish stays Pending for the resume.
                if (this.signal.aborted && result.status === 'failed' && !result.permanent) continue;
                await this.record(item, result);
            }
        };
        const workers = Array.from({ length: Math.max(1, this.deps.mailer.concurrency) }, () => worker());
        await Promise.all(workers);
    }

    private async invite(item: WorkItem): Promise<SendResult | { status: 'invalid'; reason: string }> {
        const { config, clock, templates, mailer } = this.deps;
        if (!isValidAddress(item.email)) {
            return { status: 'invalid', reason: `invalid email address ${JSON.stringify(item.email)}` };
        }
        const now = clock.now();
        const token = signAuthorizationToken(
            config.links.tokenSecret,
            { userId: item.userId, products: item.products, runId: this.ctx.runId },
            now,
            config.links.tokenTtlHours
        );
        const link = config.links.authorizationUrlTemplate.replace('{token}', encodeURIComponent(token));
        const expiresAt = new Date(now.getTime() + config.links.tokenTtlHours * 3600_000);
        try {
            const rendered = templates.render('invitation', {
                name: item.name,
                products: item.products,
                productList: item.products.join(', '),
                link,
                expiresAt: expiresAt.toUTCString(),
                supportContact: config.mail.supportContact
            });
            return await mailer.send({
                to: [item.email],
                ...rendered,
                outboxPath: `${this.ctx.runId}/${item.userId}`
            });
        } catch (error) {
            return { status: 'failed', permanent: true, reason: truncate(describeError(error)), attempts: 0 };
        }
    }

    private queueAuthorizations(item: WorkItem, at: Date): void {
        for (const product of item.products) {
            const key = authorizationKey(item.userId, product);
            const count = (this.inviteCounts.get(key) ?? 0) + 1;
            this.inviteCounts.set(key, count);
            const waiting = this.authWaiting.get(item.itemId) ?? [];
            this.authWaiting.set(item.itemId, waiting);
            waiting.push({
                Key__c: key,
                User__c: item.userId,
                Product__c: product,
                Status__c: 'Invited',
                Invited_At__c: at.toISOString(),
                Invite_Count__c: count,
                Last_Run__c: this.ctx.runId
            });
        }
    }

    private async record(
        item: WorkItem,
        result: SendResult | { status: 'invalid'; reason: string }
    ): Promise<void> {
        await this.journalOutcome(item, result);
        if (result.status === 'sent') {
            this.decide(item, 'Invited');
            this.queueAuthorizations(item, this.deps.clock.now());
            this.deps.metrics.invitations.inc({ outcome: 'sent' });
        } else {
            this.decide(item, 'Failed', this.outcomeReason(result));
            this.deps.metrics.invitations.inc({ outcome: 'failed' });
        }
        this.onProgress?.(this.progress());
        if (this.itemBuffer.length >= BATCH) await this.flush();
    }

    /** Run fields written with the next progress record instead of a call of their own. */
    setRunFields(fields: Record<string, unknown>): void {
        Object.assign(this.pendingRunFields, fields);
    }

    private runProgressRecord(): SObjectRecord {
        const p = this.progress();
        return {
            attributes: { type: RUN },
            Id: this.ctx.runId,
            Heartbeat__c: this.deps.clock.now().toISOString(),
            Invited_Count__c: p.invited,
            Failed_Count__c: p.failed,
            Skipped_Count__c: p.skipped,
            Api_Calls__c: this.apiCalls() + 1,
            ...this.pendingRunFields
        };
    }

    private apiCalls(): number {
        return this.ctx.apiCallsBefore + (this.deps.store.org.apiCalls() - this.apiCallsAtStart);
    }

    /**
     * Writes buffered outcomes in full batches of 200. The run's progress (heartbeat, counts) rides in a
     * batch when a heartbeat is due; `force` (heartbeat timer, end of a phase) also writes partial
     * batches. An item's authorization upserts are written only after its outcome. Serialised; pauses
     * while the org refuses writes.
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
            const group = this.itemBuffer.splice(0, withRun ? BATCH - 1 : BATCH);
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
        while (this.authBuffer.length >= BATCH || (force && this.authBuffer.length > 0)) {
            const group = this.authBuffer.splice(0, BATCH);
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
        const results = await this.deps.store.update(withRun ? [...group, this.runProgressRecord()] : group);
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

    private async writeAuthorizations(records: SObjectRecord[]): Promise<void> {
        const results = await this.deps.store.upsertAuthorizations(records);
        const failed = results.filter((result) => !result.success);
        if (failed.length > 0) {
            this.log.warn(
                { count: failed.length, first: failed[0].errors },
                'Some authorization records not written'
            );
        }
    }

    private outcomeReason(result: SendResult | { status: 'invalid'; reason: string }): string | undefined {
        if (result.status === 'sent') return undefined;
        if (result.status === 'invalid') return result.reason;
        return result.permanent ? `SMTP rejected: ${result.reason}` : `SMTP unavailable: ${result.reason}`;
    }

    /**
     * The outcome goes to disk before anything else happens (and before this worker sends its next mail):
     * after a hard kill the resume applies it instead of sending again. A journal that cannot be written is
     * reported once and the run goes on; its outcomes are then only as durable as the batched org writes.
     */
    private async journalOutcome(
        item: WorkItem,
        result: SendResult | { status: 'invalid'; reason: string }
    ): Promise<void> {
        const reason = this.outcomeReason(result);
        const entry: JournalEntry = {
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
     * reached the org: applied as if just decided, so they are written and never sent again. Their
     * authorization upserts follow from reconcileAuthorizations (invited, no record of this run yet).
     */
    private applyJournal(): void {
        let contents;
        try {
            contents = this.journal.read();
        } catch (error) {
            const note = `Run journal ${this.journal.file} not readable (${describeError(error)}); outcomes it held may be sent again.`;
            this.ctx.notes.push(note);
            this.log.error({ err: describeError(error) }, note);
            return;
        }
        if (contents.entries.length === 0 && !contents.torn) return;
        const items = new Map(this.items.map((item) => [item.itemId, item]));
        let applied = 0;
        for (const entry of contents.entries) {
            const item = items.get(entry.itemId);
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

    /** Shutdown: write what we have (once: the shutdown wait is bounded) and leave the run Running with no heartbeat. */
    private async park(): Promise<void> {
        try {
            await this.flush({ force: true, maxAttempts: 1 });
            await this.deps.store.updateRun(this.ctx.runId, {
                Heartbeat__c: null,
                Error__c: truncate(
                    `Parked by a service shutdown at ${this.deps.clock.now().toISOString()}; resumes on the next start.`,
                    32_000
                )
            });
            this.log.info(this.counts(), 'Run parked for resume');
        } catch (error) {
            // The outcomes the org refused are in the journal already: the resume writes them.
            this.log.error(
                { err: describeError(error), journal: this.journal.file },
                'Run not parked cleanly; it resumes once its heartbeat is stale'
            );
        }
    }

    private allWritten(): boolean {
        return this.itemBuffer.length === 0 && this.authBuffer.length === 0 && this.authWaiting.size === 0;
    }

    private async finish(status: RunStatus, error?: string): Promise<void> {
        const finishedAt = this.deps.clock.now();
        const p = this.progress();
        const report = await this.report(status, finishedAt, error);
        const outcome = await this.notify(report);
        const notes = [...this.ctx.notes, ...(error ? [error] : [])];
        await this.deps.store.updateRun(this.ctx.runId, {
            Status__c: status,
            Finished_At__c: finishedAt.toISOString(),
            Heartbeat__c: finishedAt.toISOString(),
            Invited_Count__c: p.invited,
            Failed_Count__c: p.failed,
            Skipped_Count__c: p.skipped,
            Eligible_Count__c: this.ctx.eligible,
            Evaluated_Count__c: this.ctx.evaluated,
            Api_Calls__c: this.apiCalls() + 1,
            Notification_Outcome__c: truncate(JSON.stringify(outcome), 32_000),
            ...this.pendingRunFields,
            Error__c: notes.length > 0 ? truncate(notes.join('\n'), 32_000) : null
        });
        if (this.allWritten()) await this.journal.remove();
        else
            this.log.warn(
                { journal: this.journal.file },
                'Run finished with outcomes not written to the org; its journal is kept'
            );
        this.deps.metrics.runs.inc({ trigger: this.ctx.trigger, status });
        this.log.info({ status, ...this.counts(), apiCalls: this.apiCalls() }, 'Run finished');
    }

    private runUrl(): string {
        const template = this.deps.config.links.runUrlTemplate;
        if (template) return template.replace('{runId}', this.ctx.runId);
        return `${this.deps.store.org.instanceUrl()}/lightning/r/${RUN}/${this.ctx.runId}/view`;
    }

    private async report(status: RunStatus, finishedAt: Date, error?: string): Promise<RunReport> {
        let initiatedBy: RunReport['initiatedBy'];
        if (this.ctx.initiatedBy) {
            const [user] = await this.deps.store.users([this.ctx.initiatedBy]).catch(() => []);
            initiatedBy = { name: user?.Name ?? this.ctx.initiatedBy, email: user?.Email ?? undefined };
        }
        const p = this.progress();
        const rows: ReportRow[] = this.items.map((item) => ({
            name: item.name,
            email: item.email,
            products: item.products,
            status: item.status ?? 'Pending',
            reason: item.reason
        }));
        return {
            runId: this.ctx.runId,
            runName: this.ctx.runName,
            runUrl: this.runUrl(),
            trigger: this.ctx.trigger,
            status,
            initiatedBy,
            startedAt: this.ctx.startedAt.toISOString(),
            finishedAt: finishedAt.toISOString(),
            timeZone: this.ctx.timeZone,
            sets: this.ctx.sets,
            invalidSets: this.ctx.invalidSets,
            totals: {
                evaluated: this.ctx.evaluated,
                eligible: this.ctx.eligible,
                invited: p.invited,
                skipped: p.skipped,
                failed: p.failed
            },
            rows,
            error: [...this.ctx.notes, ...(error ? [error] : [])].join('\n') || undefined
        };
    }

    private async notify(report: RunReport) {
        const { store, config, mailer, notifier, templates, metrics } = this.deps;
        const recipients = new Set<string>(this.ctx.recipients);
        if (report.initiatedBy?.email) recipients.add(report.initiatedBy.email);
        let adminsNote: string | undefined;
        if (this.ctx.notifyAdmins) {
            try {
                for (const email of await store.adminEmails(config.runs.adminRecipientCap))
                    recipients.add(email);
            } catch (error) {
                adminsNote = `admins not added: ${describeError(error)}`;
            }
        }
        const all = [...new Set([...recipients].map((r) => r.trim().toLowerCase()).filter(Boolean))];
        // One bad address in the settings must not cost everyone else the audit: it is dropped and named.
        const to = all.filter((address) => isValidAddress(address));
        const dropped = all.filter((address) => !isValidAddress(address));
        if (dropped.length > 0) {
            const note = `invalid recipients dropped: ${dropped.map((a) => JSON.stringify(a)).join(', ')}`;
            adminsNote = adminsNote ? `${adminsNote}; ${note}` : note;
        }
        let email: { status: string; detail?: string; recipients: number };
        if (to.length === 0) {
            email = { status: 'skipped', detail: adminsNote ?? 'no recipients', recipients: 0 };
        } else {
            const mail = buildAuditMail(report, templates, to, config.runs.auditTableCap);
            const result = await mailer.send(mail).catch((error): SendResult => ({
                status: 'failed',
                permanent: true,
                reason: describeError(error),
                attempts: 0
            }));
            email =
                result.status === 'sent'
                    ? { status: 'sent', recipients: mail.to.length, detail: adminsNote }
                    : { status: 'failed', detail: result.reason, recipients: mail.to.length };
        }
        metrics.notifications.inc({ channel: 'email', outcome: email.status });
        const slack = await notifier
            .post(buildSlackMessage(report, this.ctx.slackChannel))
            .catch((error) => ({ status: 'failed' as const, detail: describeError(error) }));
        metrics.notifications.inc({ channel: 'slack', outcome: slack.status });
        if (email.status === 'failed') this.log.warn({ detail: email.detail }, 'Audit email not sent');
        return { email, slack };
    }
}
