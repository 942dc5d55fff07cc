/** What every phase of a run shares: the work items, the run's context, the dependencies (ports only). */
import type { Config } from '../../config';
import type { ItemRecord, ItemStatus, OrgStore, RunTrigger } from '../../domain/org-store';
import type { Logger } from '../../logger';
import type { Metrics } from '../../metrics';
import type { Clock, Mailer, MailTemplates, Notifier, OutcomeJournals, SendResult } from '../../ports';
import type { AppDirectoryFactory } from '../../connections/app-directory';
import type { Lease, LeaseKeeper } from './claim';
import type { ConnectionOutcome } from './connections';
import { processedCount, type OutcomeCounts } from './counts';

/** Records per composite call (Salesforce's maximum). */
export const BATCH = 200;
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
    /** An invitation (the default), a reminder of an unanswered one, or a kept (manual) row never sent. */
    kind?: 'Invitation' | 'Reminder' | 'Kept (Manual)';
    /** Names of the sets the user matched (Matched_Sets__c): the grant each authorization record names. */
    matchedSets?: string[];
}

export interface RunContext {
    runId: string;
    /** Run_Key__c: binds the journal to this run. */
    runKey: string;
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
    sets: { name: string; products: string[]; eligibleStatuses?: string[] }[];
    invalidSets: { name: string; reasons: string[] }[];
    timeZone?: string;
    /** A full or an incremental evaluation, and why (the audit says it). */
    evaluation?: { kind: string; reason: string };
    /** Notes written to Error__c beside the final status (e.g. a pause). */
    notes: string[];
    /** The claim this process holds on the org's provisioning (one run per org). */
    lease: Lease;
    /** What the run did in each connection's app (./connections), once sent: reported by connection. */
    connections?: ConnectionOutcome[];
}

export interface RunDeps {
    config: Config;
    store: OrgStore;
    mailer: Mailer;
    notifier: Notifier;
    templates: MailTemplates;
    journals: OutcomeJournals;
    leases: LeaseKeeper;
    clock: Clock;
    logger: Logger;
    metrics: Metrics;
    /** The apps the connections reach (CONNECTIONS_FILE); absent: no connection is configured in the service. */
    appDirectories?: AppDirectoryFactory;
}

/**
 * The connection actions' sending (./connections), once it has started: `done` of `total` have an outcome
 * (Done, Failed or Skipped, as `done` counts users), `failed` of them failed. Held actions are not sent, so
 * they are not counted; actions an interrupted attempt already settled count as done.
 */
export interface ActionsProgress {
    total: number;
    done: number;
    failed: number;
}

/** A run's progress: its outcome counts (./counts, the one definition every surface reads) of `total` users. */
export interface RunProgress extends OutcomeCounts {
    runId: string;
    total: number;
    done: number;
    paused?: string;
    /** The actions in apps, sent after the invitations: absent until then, and for a run with none. */
    actions?: ActionsProgress;
}

export type ProgressListener = (progress: RunProgress) => void;

/** What the mailer said about one invitation, or why it was never handed to the mailer. */
export type InviteResult = SendResult | { status: 'invalid'; reason: string };

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
        reason: record.Reason__c ?? undefined,
        kind:
            record.Kind__c === 'Reminder' || record.Kind__c === 'Kept (Manual)'
                ? record.Kind__c
                : 'Invitation',
        matchedSets: (record.Matched_Sets__c ?? '')
            .split(';')
            .map((name) => name.trim())
            .filter(Boolean)
    };
}

/**
 * Items by status, kept as decisions are made: a run reports its progress after every invitation, and
 * recounting every item each time made a run quadratic in its size (measured by the sync bench).
 * Reminders sent are counted apart from first invitations.
 */
export class StatusTally {
    private readonly counts = new Map<ItemStatus | null, number>();
    private reminded = 0;

    constructor(private readonly items: ReadonlyArray<WorkItem>) {
        for (const item of items) this.add(item, item.status, 1);
    }

    private add(item: WorkItem, status: ItemStatus | null, delta: number): void {
        this.counts.set(status, (this.counts.get(status) ?? 0) + delta);
        if (status === 'Invited' && item.kind === 'Reminder') this.reminded += delta;
    }

    /** Sets an item's status and moves it between the counts. */
    set(item: WorkItem, status: ItemStatus): void {
        this.add(item, item.status, -1);
        item.status = status;
        this.add(item, status, 1);
    }

    progress(runId: string, paused?: string): RunProgress {
        const reminded = this.reminded;
        const invited = (this.counts.get('Invited') ?? 0) - reminded;
        const failed = this.counts.get('Failed') ?? 0;
        const skipped = this.counts.get('Skipped') ?? 0;
        const counts: OutcomeCounts = { invited, reminded, skipped, failed };
        return { runId, total: this.items.length, done: processedCount(counts), ...counts, paused };
    }
}
