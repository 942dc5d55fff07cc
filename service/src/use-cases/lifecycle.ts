/**
 * The invitation lifecycle and provenance (DESIGN §8), one place for every rule about how a
 * Calendar_Authorization__c may change and who may change it. The transition table in docs/lifecycle.md
 * is this file in words.
 *
 * - A run invites (Not Invited / Expired / Invited / Revoked → Invited, when a set allows that status) and
 *   reminds (Invited stays Invited, Reminder_Count__c + 1). It never lowers Authorized, never turns a
 *   Revoked it did not read into Invited, and never touches a Manual record.
 * - Invited → Expired when the newest link of the invitation (the invitation's, or the last reminder's)
 *   lapsed unused: at the start of each run and by the sweep.
 * - The scheduling product (signed webhook) moves anything to Authorized, and Authorized → Revoked; an older
 *   event than the one the record already holds is ignored (webhooks may arrive out of order).
 *
 * Every status write of a run is conditional on the status the run read: the records are re-read just
 * before each write batch and `runWrite` decides again against what is there now (see docs/lifecycle.md
 * for the window that leaves and the trigger that closes it in a real org).
 */
import {
    AUTHORIZATION,
    reads,
    soqlDateTime,
    type AuthorizationRecord,
    type OrgStore,
    type SettingsRecord,
    type StoreRead
} from '../domain/org-store';
import { matchSets, soqlString, type EvalContext, type PreparedSet, type UserRecord } from '../engine';
import { describeError } from '../errors';
import type { SObjectRecord } from '../ports';
import type { RunDeps } from './run/context';

export const RULE = 'Rule';
export const MANUAL = 'Manual';
export const KIND_INVITATION = 'Invitation';
export const KIND_REMINDER = 'Reminder';
export const KIND_KEPT = 'Kept (Manual)';
export type ItemKind = typeof KIND_INVITATION | typeof KIND_REMINDER | typeof KIND_KEPT;

const DAY_MS = 86_400_000;

/** Calendar_Authorization__c.Key__c (the same as evaluation's authorizationKey; kept here to avoid a cycle). */
function authorizationKey(userId: string, product: string): string {
    return `${userId}:${product}`;
}
/** How many lapsed invitations one expiry pass writes (the next pass takes the rest). */
const EXPIRY_BATCH = 10_000;
/**
 * A reminder is due this much before N whole days have passed: a daily schedule fires at the same time each
 * day, and the invitation went out seconds to minutes into its run, so without it the reminder of "day N"
 * would wait for day N + 1.
 */
export const REMINDER_GRACE_MS = 3_600_000;
/** How many reminders one run sends at most (the next run takes the rest). */
const REMINDER_BATCH = 10_000;

/** The statuses as the lifecycle moves them (the picklist Rollcall_Authorization_Statuses). */
export type LifecycleStatus = 'Not Invited' | 'Invited' | 'Authorized' | 'Expired' | 'Revoked';

/** Who moves a record from which status to which (docs/lifecycle.md prints this table). */
export const TRANSITIONS: ReadonlyArray<{
    from: LifecycleStatus | 'any';
    to: LifecycleStatus;
    by: string;
    when: string;
}> = [
    { from: 'Not Invited', to: 'Invited', by: 'run', when: 'a matching set allows Not Invited' },
    { from: 'Expired', to: 'Invited', by: 'run', when: 'a matching set allows Expired' },
    { from: 'Invited', to: 'Invited', by: 'run', when: 'a matching set allows Invited (re-invite)' },
    {
        from: 'Revoked',
        to: 'Invited',
        by: 'run',
        when: 'a matching set allows Revoked and the run read Revoked'
    },
    {
        from: 'Invited',
        to: 'Invited',
        by: 'run (reminder)',
        when: 'reminders on, N days since the newest link, fewer than R sent'
    },
    {
        from: 'Invited',
        to: 'Expired',
        by: 'run start or sweep',
        when: "the newest link's lifetime passed unused"
    },
    { from: 'any', to: 'Authorized', by: 'webhook', when: 'the scheduling product reports an authorization' },
    {
        from: 'Authorized',
        to: 'Revoked',
        by: 'webhook',
        when: 'the scheduling product reports a disconnection'
    }
];

export function isManual(record: AuthorizationRecord | undefined): boolean {
    return record?.Source__c === MANUAL;
}

// ---------------------------------------------------------------------------------------------
// What a run writes

export interface PlannedWrite {
    kind: typeof KIND_INVITATION | typeof KIND_REMINDER;
    /** The status the run read for this (user, product) when it decided to send. */
    read: string;
}

/**
 * The record a run writes for a sent invitation or reminder, decided against the record as it is now
 * (re-read just before the write). Undefined: write nothing (an admin's Manual record).
 */
export function runWrite(
    planned: SObjectRecord,
    plan: PlannedWrite,
    current: AuthorizationRecord | undefined
): SObjectRecord | undefined {
    if (isManual(current)) return undefined;
    const now = (current?.Status__c ?? 'Not Invited') as LifecycleStatus;
    if (plan.kind === KIND_REMINDER) {
        // A reminder never writes a status: it counts itself on whatever the record says now (and on no
        // record at all: one deleted meanwhile is not recreated half empty).
        if (!current) return undefined;
        const { Status__c: _status, ...rest } = planned;
        return rest;
    }
    let status: LifecycleStatus = 'Invited';
    // The scheduling product's word stands: Authorized is never lowered; a Revoked the run did not read (it
    // arrived while the mail was going out) is not turned into Invited either.
    if (now === 'Authorized') status = 'Authorized';
    else if (now === 'Revoked' && plan.read !== 'Revoked') status = 'Revoked';
    const fields: SObjectRecord = { ...planned, Status__c: status };
    if (status !== 'Invited') {
        // The mail went out and is counted, but the invitation's clock is not restarted on a record the
        // product owns now.
        delete fields.Expired_At__c;
        delete fields.Reminder_Count__c;
        delete fields.Last_Reminder_At__c;
    }
    return fields;
}

// ---------------------------------------------------------------------------------------------
// Expiry

/** The moment the newest link of an invitation lapses (the invitation's, or the last reminder's). */
export function lapsesAt(record: AuthorizationRecord, ttlHours: number): number | undefined {
    const from = record.Last_Reminder_At__c ?? record.Invited_At__c;
    if (!from) return undefined;
    const at = Date.parse(from.replace(/\+0000$/, 'Z'));
    return Number.isNaN(at) ? undefined : at + ttlHours * 3_600_000;
}

/** The Invited Rule records whose newest link lapsed before `now` (at most EXPIRY_BATCH). */
export function lapsedRead(now: Date, ttlHours: number): StoreRead<AuthorizationRecord[]> {
    const cutoff = soqlDateTime(new Date(now.getTime() - ttlHours * 3_600_000));
    return reads.authorizationsWhere(
        `Status__c = 'Invited' AND (Source__c = null OR Source__c != ${soqlString(MANUAL)}) AND ((Last_Reminder_At__c = null AND Invited_At__c < ${cutoff}) OR Last_Reminder_At__c < ${cutoff})`,
        EXPIRY_BATCH
    );
}

/**
 * Invited → Expired for every Rule record whose newest link lapsed before `now`. `Expired_At__c` is the
 * lapse itself (not the time of this pass), so two instances expiring the same record write the same
 * values and a retried write changes nothing. `lapsed`: the records of lapsedRead, when they were read
 * with other reads (run/start-reads). Returns how many records expired.
 */
export async function expireLapsed(
    store: OrgStore,
    now: Date,
    ttlHours: number,
    lapsed?: Promise<AuthorizationRecord[]>
): Promise<number> {
    const records = await (lapsed ?? store.read(lapsedRead(now, ttlHours)));
    if (records.length === 0) return 0;
    const results = await store.update(
        records.map((record) => ({
            attributes: { type: AUTHORIZATION },
            Id: record.Id,
            Status__c: 'Expired',
            Expired_At__c: new Date(lapsesAt(record, ttlHours) ?? now.getTime()).toISOString()
        }))
    );
    return results.filter((result) => result.success).length;
}

// ---------------------------------------------------------------------------------------------
// Reminders

export interface ReminderSettings {
    days: number;
    max: number;
}

/** Reminders are off unless both settings are positive whole numbers (the default is off). */
export function reminderSettings(settings: SettingsRecord): ReminderSettings | undefined {
    const days = Math.floor(Number(settings.Reminder_Days__c ?? 0));
    const max = Math.floor(Number(settings.Reminder_Max__c ?? 0));
    return days > 0 && max > 0 ? { days, max } : undefined;
}

export interface DueReminder {
    userId: string;
    name: string;
    email: string | null;
    products: string[];
    /** Key → the reminders sent so far for that product. */
    counts: Record<string, number>;
    grantedBy: string[];
}

/**
 * Invited Rule records whose newest link is `days` old or more, still unlapsed, with fewer than `max`
 * reminders, grouped by user (one reminder mail lists the user's due products). Users in `skip` (invited
 * afresh by this run) get no reminder: their invitation is the nudge.
 */
export async function dueReminders(
    store: OrgStore,
    now: Date,
    ttlHours: number,
    reminders: ReminderSettings,
    skip: Set<string>
): Promise<DueReminder[]> {
    const dueBefore = soqlDateTime(new Date(now.getTime() - reminders.days * DAY_MS + REMINDER_GRACE_MS));
    const liveAfter = soqlDateTime(new Date(now.getTime() - ttlHours * 3_600_000));
    const rows = await store.authorizationsWhere(
        [
            `Status__c = 'Invited'`,
            `(Source__c = null OR Source__c != ${soqlString(MANUAL)})`,
            `(Reminder_Count__c = null OR Reminder_Count__c < ${reminders.max})`,
            `((Last_Reminder_At__c = null AND Invited_At__c <= ${dueBefore} AND Invited_At__c > ${liveAfter}) OR (Last_Reminder_At__c <= ${dueBefore} AND Last_Reminder_At__c > ${liveAfter}))`
        ].join(' AND '),
        REMINDER_BATCH
    );
    const byUser = new Map<string, DueReminder>();
    for (const row of rows) {
        if (skip.has(row.User__c) || row.User__r?.IsActive === false) continue;
        let due = byUser.get(row.User__c);
        if (!due) {
            due = {
                userId: row.User__c,
                name: row.User__r?.Name ?? row.User__c,
                email: row.User__r?.Email ?? null,
                products: [],
                counts: {},
                grantedBy: []
            };
            byUser.set(row.User__c, due);
        }
        due.products.push(row.Product__c);
        due.counts[authorizationKey(row.User__c, row.Product__c)] = row.Reminder_Count__c ?? 0;
        for (const name of (row.Granted_By_Sets__c ?? '').split(';').map((n) => n.trim())) {
            if (name && !due.grantedBy.includes(name)) due.grantedBy.push(name);
        }
    }
    return [...byUser.values()];
}

// ---------------------------------------------------------------------------------------------
// Provenance: users a rule matches whose record an admin set by hand

export interface KeptEntry {
    userId: string;
    user: UserRecord;
    /** Products a matched set grants whose record is Manual (kept as the admin set them). */
    products: string[];
    matchedSets: string[];
    statuses: Record<string, string>;
}

/**
 * Takes Manual products out of the eligible entries and lists the matched users whose records an admin set
 * by hand: a sync never changes those, the preview shows them as "kept (manual)". Entries keep their other
 * products; an entry left with none becomes a kept entry only.
 */
export function separateManual<
    E extends {
        userId: string;
        user: UserRecord;
        products: string[];
        grantedBy: Record<string, string[]>;
        matchedSets: string[];
        statuses: Record<string, string>;
    }
>(
    valid: ReadonlyArray<PreparedSet>,
    entries: E[],
    users: Map<string, UserRecord>,
    authorizations: Map<string, AuthorizationRecord>,
    ctx: EvalContext
): { entries: E[]; kept: KeptEntry[] } {
    const manual = [...authorizations.values()].filter((record) => isManual(record));
    if (manual.length === 0) return { entries, kept: [] };
    const kept = new Map<string, KeptEntry>();
    const keep = (userId: string, user: UserRecord, product: string, matched: string[], status: string) => {
        let entry = kept.get(userId);
        if (!entry) {
            entry = { userId, user, products: [], matchedSets: matched, statuses: {} };
            kept.set(userId, entry);
        }
        if (!entry.products.includes(product)) entry.products.push(product);
        entry.statuses[product] = status;
    };
    const manualKeys = new Set(manual.map((record) => authorizationKey(record.User__c, record.Product__c)));
    const remaining: E[] = [];
    for (const entry of entries) {
        const products = entry.products.filter((product) => {
            if (!manualKeys.has(authorizationKey(entry.userId, product))) return true;
            keep(entry.userId, entry.user, product, entry.matchedSets, entry.statuses[product]);
            delete entry.grantedBy[product];
            return false;
        });
        entry.products = products;
        if (products.length > 0) remaining.push(entry);
    }
    const byId = new Map(valid.map((set) => [set.id, set]));
    for (const record of manual) {
        const user = users.get(record.User__c);
        if (!user) continue;
        const matched = matchSets(valid, user, ctx).map((id) => byId.get(id)!);
        if (!matched.some((set) => set.products.includes(record.Product__c))) continue;
        keep(
            record.User__c,
            user,
            record.Product__c,
            matched.map((set) => set.name),
            record.Status__c ?? 'Not Invited'
        );
    }
    return { entries: remaining, kept: [...kept.values()] };
}

// ---------------------------------------------------------------------------------------------
// The scheduling product's reports (webhook)

export type ProductEvent = 'Authorized' | 'Revoked';

/**
 * What the webhook writes for one product, or why it writes nothing: an event older than the opposite one
 * the record holds is stale (webhooks may arrive out of order); Revoked needs an Authorized record.
 */
export function webhookWrite(
    event: ProductEvent,
    at: Date,
    current: AuthorizationRecord | undefined
): { fields: Record<string, unknown> } | { ignored: string } {
    const parse = (value: string | null | undefined) =>
        value ? Date.parse(value.replace(/\+0000$/, 'Z')) : Number.NEGATIVE_INFINITY;
    const status = current?.Status__c ?? 'Not Invited';
    if (event === 'Authorized') {
        if (status === 'Revoked' && parse(current?.Revoked_At__c) > at.getTime()) {
            return { ignored: `revoked at ${current?.Revoked_At__c}, after this authorization` };
        }
        return { fields: { Status__c: 'Authorized', Authorized_At__c: at.toISOString() } };
    }
    if (status === 'Revoked') return { ignored: 'already Revoked' };
    if (status !== 'Authorized') return { ignored: `status is ${status}, not Authorized: nothing to revoke` };
    if (parse(current?.Authorized_At__c) > at.getTime()) {
        return { ignored: `authorized at ${current?.Authorized_At__c}, after this revocation` };
    }
    return { fields: { Status__c: 'Revoked', Revoked_At__c: at.toISOString() } };
}

// ---------------------------------------------------------------------------------------------
// The lifecycle's part of a run

export interface LifecycleStep {
    settings: SettingsRecord;
    /** Invitations expired by this step. */
    expired: number;
}

/** What the lifecycle step reads, when it was read together with the run's other start reads. */
export interface LifecycleReads {
    /** The settings as the run already holds them, or their pending read. */
    settings?: SettingsRecord | Promise<SettingsRecord>;
    /** The pending lapsedRead, made at `now`. */
    lapsed?: { records: Promise<AuthorizationRecord[]>; now: Date };
}

/**
 * Before a run (or a preview) evaluates: lapsed invitations become Expired, so a set allowing Expired sees
 * them. Not fatal: a write the org refuses leaves them Invited until the next run or sweep; unreadable
 * settings mean no reminders this run.
 */
export async function beforeEvaluation(
    deps: Pick<RunDeps, 'store' | 'clock' | 'config' | 'logger'>,
    given: LifecycleReads = {}
): Promise<LifecycleStep> {
    const { store, clock, config, logger } = deps;
    let known: SettingsRecord;
    try {
        known = await (given.settings ?? store.settings());
    } catch (error) {
        logger.warn({ err: describeError(error) }, 'Rollcall settings not readable; no reminders this run');
        known = {};
    }
    let expired = 0;
    try {
        const now = given.lapsed?.now ?? clock.now();
        expired = await expireLapsed(store, now, config.links.tokenTtlHours, given.lapsed?.records);
        if (expired > 0) logger.info({ expired }, 'Lapsed invitations marked Expired');
    } catch (error) {
        logger.warn({ err: describeError(error) }, 'Lapsed invitations not expired; the sweep retries');
    }
    return { settings: known, expired };
}

/** The reminders due now, for users this run does not invite afresh (none when reminders are off). */
export async function remindersFor(
    deps: Pick<RunDeps, 'store' | 'clock' | 'config'>,
    step: LifecycleStep,
    evaluation: { entries: { userId: string }[] }
): Promise<DueReminder[]> {
    const settings = reminderSettings(step.settings);
    if (!settings) return [];
    const skip = new Set(evaluation.entries.map((entry) => entry.userId));
    return dueReminders(deps.store, deps.clock.now(), deps.config.links.tokenTtlHours, settings, skip);
}
