/**
 * Taking access away, safely (DESIGN §11). Pure: an account as the org records it, whether its user
 * still matches a set granting the connection, the connection's policy and the time in; the account's
 * next state, the actions to send and why out. The run records, sends and records again.
 *
 * The account state machine (Status__c × Source__c), with Deprovisioning__c = Deactivate:
 *
 * | status               | source | user matches      | user unmatched (active in SF)          | user inactive in SF (leaver) |
 * |----------------------|--------|-------------------|----------------------------------------|------------------------------|
 * | Active               | Rule   | (access plan)     | → Pending Deactivation (Unmatched_Since)| Deactivate now               |
 * | Pending Deactivation | Rule   | → Active (cancel) | grace over: Deactivate; else wait      | Deactivate now               |
 * | Inactive             | Rule   | Reactivate        | nothing                                | nothing                      |
 * | any                  | Manual | nothing           | nothing                                | nothing                      |
 *
 * With Deprovisioning__c = Off nothing is taken away: a pending account goes back to Active (the hold
 * on it is cancelled, nothing is sent) and an Inactive account whose user matches again is still
 * reactivated (giving access back is granting, which needs no opt-in).
 */
import type { AccessGrant, AccountRecord, ActionKind } from './access-plan';
import type { SetExplanation } from './sets';

export type Deprovisioning = 'Off' | 'Deactivate';

/** The connection's policy fields as the org holds them (blank = null). */
export interface DeprovisioningPolicy {
    deprovisioning: Deprovisioning | string | null;
    graceDays: number | null;
    breakerMaxCount: number | null;
    /** Percent as the org stores a Percent field: 10 means 10 %. */
    breakerMaxPercent: number | null;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** A blank Grace_Days__c: a week, the usual "leave a notice period" default of HR systems. */
export const DEFAULT_GRACE_DAYS = 7;
/** A blank Breaker_Max_Count__c (Entra's default is 500 deletions; Rollcall's connections are smaller). */
export const DEFAULT_BREAKER_MAX_COUNT = 50;
/** A blank Breaker_Max_Percent__c. */
export const DEFAULT_BREAKER_MAX_PERCENT = 20;

export interface BreakerLimits {
    maxCount: number;
    maxPercent: number;
    /** Set when a limit was unusable: the breaker then holds every removal (never silently off). */
    problem?: string;
}

/** Whether taking away is on: anything but exactly `Deactivate` is Off. */
export function deprovisioningOn(policy: DeprovisioningPolicy): boolean {
    return policy.deprovisioning === 'Deactivate';
}

/** Grace_Days__c: blank → the default; negative or fractional → an error message. */
export function graceDays(policy: DeprovisioningPolicy): { days: number; problem?: string } {
    const raw = policy.graceDays;
    if (raw === null || raw === undefined) return { days: DEFAULT_GRACE_DAYS };
    if (!Number.isInteger(raw) || raw < 0) {
        return {
            days: DEFAULT_GRACE_DAYS,
            problem: `Grace_Days__c is ${raw}: write a whole number of days, 0 or more (blank means ${DEFAULT_GRACE_DAYS})`
        };
    }
    return { days: raw };
}

/**
 * The breaker's limits. Blank → the defaults; 0 → every removal is held. A negative count, a negative
 * percent or one above 100 is not guessed at: the limits become 0 (hold everything) with a problem
 * that says what to write instead.
 */
export function breakerLimits(policy: DeprovisioningPolicy): BreakerLimits {
    const problems: string[] = [];
    let maxCount = policy.breakerMaxCount ?? DEFAULT_BREAKER_MAX_COUNT;
    let maxPercent = policy.breakerMaxPercent ?? DEFAULT_BREAKER_MAX_PERCENT;
    if (!Number.isFinite(maxCount) || maxCount < 0 || !Number.isInteger(maxCount)) {
        problems.push(
            `Breaker_Max_Count__c is ${policy.breakerMaxCount}: write a whole number, 0 or more (blank means ${DEFAULT_BREAKER_MAX_COUNT})`
        );
        maxCount = 0;
    }
    if (!Number.isFinite(maxPercent) || maxPercent < 0 || maxPercent > 100) {
        problems.push(
            `Breaker_Max_Percent__c is ${policy.breakerMaxPercent}: write a percent between 0 and 100 (blank means ${DEFAULT_BREAKER_MAX_PERCENT})`
        );
        maxPercent = 0;
    }
    if (problems.length > 0) return { maxCount: 0, maxPercent: 0, problem: problems.join('; ') };
    return { maxCount, maxPercent };
}

/** An App_Account__c with what deprovisioning reads besides the access plan's fields. */
export interface DeprovisionAccount extends AccountRecord {
    /** Unmatched_Since__c (ISO date-time), when Pending Deactivation. */
    unmatchedSince?: string | null;
}

/** The user as Salesforce has it now; `undefined` when the org has no such user any more. */
export interface DeprovisionUser {
    Id: string;
    IsActive: boolean;
}

export type AccountTransition =
    | 'none'
    /** Rule account, user unmatched: starts (or keeps) waiting out the grace. */
    | 'pending'
    /** Pending Deactivation, matches again before the grace ends: back to Active, nothing sent. */
    | 'cancel'
    /** Deactivate is sent; the account becomes Inactive once done. */
    | 'deactivate'
    /** Reactivate is sent; the account becomes Active once done. */
    | 'reactivate';

export interface AccountDecision {
    transition: AccountTransition;
    /** Status__c to record now (before anything is sent), when it changes. */
    status?: AccountRecord['status'];
    /** Unmatched_Since__c to record now: a date-time, null to clear, undefined to leave. */
    unmatchedSince?: string | null;
    /** When a pending account becomes due (ISO), for the preview. */
    dueAt?: string;
    /** Deactivate / Reactivate to send. */
    action?: Extract<ActionKind, 'Deactivate' | 'Reactivate'>;
    /** Why, in the admin's words. */
    reason: string;
    /** Whether the user is a leaver (inactive in Salesforce or gone): deactivated without grace. */
    leaver?: boolean;
}

export interface DecideAccountInput {
    account: DeprovisionAccount;
    /** undefined: the org has no such user. */
    user: DeprovisionUser | undefined;
    /** Whether the (active) user matches an active set granting this connection. */
    matches: boolean;
    policy: DeprovisioningPolicy;
    /** The run's clock. */
    now: Date;
    /** The app's `active`, when the app was read (a Pending account the app shows inactive is reactivated on cancel). */
    appActive?: boolean;
}

function parseTime(text: string | null | undefined): number {
    if (!text) return Number.NaN;
    return Date.parse(text.replace(/\+0000$/, 'Z'));
}

/** The state machine above, for one account. */
export function decideAccount(input: DecideAccountInput): AccountDecision {
    const { account, user, matches, policy, now } = input;
    if (account.source === 'Manual')
        return { transition: 'none', reason: 'Manual account: never changed by a run' };
    const leaver = !user || user.IsActive !== true;
    const matched = !leaver && matches;
    const on = deprovisioningOn(policy);

    if (account.status === 'Inactive') {
        if (matched) {
            return {
                transition: 'reactivate',
                action: 'Reactivate',
                unmatchedSince: null,
                reason: 'matches a set granting this connection again'
            };
        }
        return { transition: 'none', reason: 'Inactive: stays inactive until the user matches again' };
    }

    if (matched) {
        if (account.status === 'Pending Deactivation') {
            const decision: AccountDecision = {
                transition: 'cancel',
                status: 'Active',
                unmatchedSince: null,
                reason: 'matches a set granting this connection again before the grace ended: deactivation cancelled'
            };
            // Someone deactivated it in the app meanwhile: giving it back is part of cancelling.
            if (input.appActive === false) decision.action = 'Reactivate';
            return decision;
        }
        return { transition: 'none', reason: 'matches' };
    }

    // Unmatched (or a leaver), status Active or Pending Deactivation.
    if (!on) {
        if (account.status === 'Pending Deactivation') {
            return {
                transition: 'cancel',
                status: 'Active',
                unmatchedSince: null,
                reason: 'deprovisioning is Off for this connection: the pending deactivation is cancelled'
            };
        }
        return {
            transition: 'none',
            reason: 'deprovisioning is Off for this connection: nothing is taken away'
        };
    }
    if (leaver) {
        return {
            transition: 'deactivate',
            action: 'Deactivate',
            leaver: true,
            unmatchedSince:
                account.status === 'Pending Deactivation' && account.unmatchedSince
                    ? account.unmatchedSince
                    : now.toISOString(),
            reason: user
                ? 'the user is inactive in Salesforce: deactivated without grace'
                : 'the user no longer exists in Salesforce: deactivated without grace'
        };
    }
    const grace = graceDays(policy).days;
    const sinceMs =
        account.status === 'Pending Deactivation' ? parseTime(account.unmatchedSince) : Number.NaN;
    // A pending account without a readable Unmatched_Since__c starts its grace now (never deactivated early).
    const since = Number.isNaN(sinceMs) ? now.getTime() : sinceMs;
    const due = since + grace * DAY_MS;
    const sinceIso = new Date(since).toISOString();
    const dueAt = new Date(due).toISOString();
    if (now.getTime() >= due) {
        return {
            transition: 'deactivate',
            action: 'Deactivate',
            unmatchedSince: sinceIso,
            dueAt,
            reason:
                grace === 0
                    ? 'no longer matches any set granting this connection (no grace days)'
                    : `no longer matches any set granting this connection since ${sinceIso}; the ${grace}-day grace is over`
        };
    }
    const decision: AccountDecision = {
        transition: 'pending',
        unmatchedSince: sinceIso,
        dueAt,
        reason: `no longer matches any set granting this connection: deactivated from ${dueAt} unless it matches again`
    };
    if (account.status !== 'Pending Deactivation' || Number.isNaN(sinceMs))
        decision.status = 'Pending Deactivation';
    return decision;
}

/**
 * The groups Rollcall manages in a connection: every group some grant of it names (any set, active or
 * not: a group stays managed while a grant names it). Exact, case-sensitive.
 */
export function managedGroups(grants: ReadonlyArray<AccessGrant>, connectionKey: string): Set<string> {
    const groups = new Set<string>();
    for (const grant of grants)
        if (grant.connectionKey === connectionKey) for (const g of grant.groups) groups.add(g);
    return groups;
}

export interface GroupRemovalInput {
    account: DeprovisionAccount;
    /** What the matching sets grant now (empty for an unmatched user). */
    desiredGroups: ReadonlyArray<string>;
    managed: ReadonlySet<string>;
    policy: DeprovisioningPolicy;
    /** This account's decision: an unmatched account's memberships go with its deactivation. */
    decision: AccountDecision;
    /**
     * The groups the app says the account is in (display names), when the app was read; otherwise the
     * record's Groups__c is the truth.
     */
    appGroups?: ReadonlySet<string>;
}

/**
 * The `Remove From Group` memberships of one account: only groups Rollcall manages, only memberships no
 * matching set grants, only Rule accounts, only with deprovisioning on. A pending account keeps its
 * memberships through the grace (they go with its deactivation); an Inactive one is left alone.
 */
export function groupRemovals(input: GroupRemovalInput): string[] {
    const { account, desiredGroups, managed, policy, decision, appGroups } = input;
    if (account.source === 'Manual' || !deprovisioningOn(policy)) return [];
    if (account.status === 'Inactive' && decision.transition !== 'reactivate') return [];
    if (decision.transition === 'pending') return [];
    const held = new Set<string>(account.groups);
    if (appGroups) for (const group of appGroups) held.add(group);
    const removals: string[] = [];
    for (const group of held) {
        if (!managed.has(group) || desiredGroups.includes(group)) continue;
        // With the app read, a membership the app no longer has needs no removal.
        if (appGroups && !appGroups.has(group)) continue;
        removals.push(group);
    }
    return removals.sort();
}

export interface WhyLine {
    setName: string;
    /** `stopped matching`, `inactive set`, or `user inactive`. */
    what: string;
    /** The conditions that fail now: `Department equals "Sales" (is "Marketing")`. */
    conditions: string[];
}

function showValue(value: unknown): string {
    if (value === null || value === undefined || value === '') return 'blank';
    if (typeof value === 'string') return JSON.stringify(value);
    if (Array.isArray(value)) return `[${value.map(showValue).join(', ')}]`;
    return String(value);
}

/**
 * Why an account is pending or due for deactivation, from the engine's explain: for each set that gave
 * the account its access (Granted_By_Sets__c, else every set granting the connection), whether it still
 * exists and is active, and which of its conditions fail for the user now.
 */
export function deactivationWhy(input: {
    user: DeprovisionUser | undefined;
    /** Granted_By_Sets__c (set names). */
    grantedBySets: ReadonlyArray<string>;
    /** Names of the active sets granting this connection now. */
    grantingSets: ReadonlyArray<string>;
    /** explain(...).sets for the user (valid and invalid sets). */
    explanations: ReadonlyArray<SetExplanation>;
}): WhyLine[] {
    const { user, grantedBySets, grantingSets, explanations } = input;
    if (!user) return [{ setName: '', what: 'the user no longer exists in Salesforce', conditions: [] }];
    if (user.IsActive !== true) return [{ setName: '', what: 'user inactive in Salesforce', conditions: [] }];
    const names = grantedBySets.length > 0 ? [...grantedBySets] : [...grantingSets];
    const lines: WhyLine[] = [];
    for (const name of names) {
        const explained = explanations.find((set) => set.setName === name);
        if (!grantingSets.includes(name)) {
            lines.push({
                setName: name,
                what: explained
                    ? 'the set no longer grants this connection (or is inactive)'
                    : 'the set no longer exists or is inactive',
                conditions: []
            });
            continue;
        }
        if (!explained) continue;
        if (!explained.valid) {
            lines.push({
                setName: name,
                what: 'the set is invalid and skipped by runs',
                conditions: (explained.errors ?? []).map((error) => error.message)
            });
            continue;
        }
        if (explained.matched) continue;
        lines.push({
            setName: name,
            what: 'stopped matching',
            conditions: explained.conditions
                .filter((condition) => !condition.outcome)
                .map(
                    (condition) =>
                        `${condition.number}. ${condition.field} ${condition.operator}${
                            condition.value === undefined ? '' : ` ${showValue(condition.value)}`
                        } (is ${showValue(condition.actual)})`
                )
        });
    }
    return lines;
}

/** One line of text per WhyLine, for the preview, the email and the action's Reason__c. */
export function whyText(lines: ReadonlyArray<WhyLine>): string {
    return lines
        .map((line) => {
            const head = line.setName ? `set "${line.setName}" ${line.what}` : line.what;
            return line.conditions.length > 0 ? `${head}: ${line.conditions.join('; ')}` : head;
        })
        .join(' · ');
}

export interface BreakerInput {
    limits: BreakerLimits;
    /** Rule accounts of the connection not Inactive (Active or Pending Deactivation) before the run. */
    ruleManagedActive: number;
    /** Account keys this run would deactivate. */
    deactivations: ReadonlyArray<string>;
    /** Account keys this run would remove from at least one group. */
    removals: ReadonlyArray<string>;
}

export interface BreakerVerdict {
    tripped: boolean;
    /** Distinct accounts losing something (deactivated or removed from a group). */
    affected: number;
    /** Of ruleManagedActive, 0–100, two decimals. */
    percent: number;
    /** The first line of the audit email and Slack when tripped. */
    reason?: string;
}

/**
 * The circuit breaker: counts the distinct accounts that would lose access (a deactivation or a group
 * removal) and trips when they exceed the count or the percent of the rule-managed active accounts.
 * When tripped every deactivation and group removal of the connection is Held (never some of them).
 */
export function breaker(input: BreakerInput): BreakerVerdict {
    const affectedKeys = new Set<string>([...input.deactivations, ...input.removals]);
    const affected = affectedKeys.size;
    const base = Math.max(input.ruleManagedActive, affected, 1);
    const percent = Math.round((affected / base) * 10000) / 100;
    if (affected === 0) return { tripped: false, affected, percent: 0 };
    const { maxCount, maxPercent, problem } = input.limits;
    if (problem) return { tripped: true, affected, percent, reason: `held: ${problem}` };
    const overCount = affected > maxCount;
    const overPercent = percent > maxPercent;
    if (!overCount && !overPercent) return { tripped: false, affected, percent };
    const parts: string[] = [];
    if (overCount) parts.push(`${affected} accounts is more than the limit of ${maxCount}`);
    if (overPercent) {
        parts.push(
            `${percent}% of ${input.ruleManagedActive} rule-managed active accounts is more than the limit of ${maxPercent}%`
        );
    }
    return { tripped: true, affected, percent, reason: `held: ${parts.join(' and ')}` };
}
