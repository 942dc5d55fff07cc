/**
 * The service's ports: small interfaces the use cases depend on. Adapters in ./adapters implement them
 * (jsforce, nodemailer, @slack/web-api); tests and the composition root choose which.
 */

/** A Salesforce record as the REST API returns and accepts it. */
export interface SObjectRecord {
    attributes?: { type: string; url?: string };
    Id?: string;
    [field: string]: unknown;
}

export interface WriteResult {
    id?: string;
    success: boolean;
    /** `STATUS_CODE: message` for each error Salesforce reported on this record. */
    errors: string[];
}

/** Where a page of query records stands in its query. */
export interface QueryPageInfo {
    /** Records the whole query matches (the REST API's totalSize). */
    totalSize: number;
    /** 0 for the first page. */
    index: number;
}

/** Returned by a page consumer to stop reading a query's further pages. */
export const STOP_READING = 'stop';

/**
 * A Bulk API 2.0 query result row: CSV values as strings keyed by column (`Profile.Name` for a parent
 * field), an empty string for null.
 */
export type BulkRow = Record<string, string>;

export interface BulkQueryStats {
    jobId: string;
    records: number;
    /** Result sets read (one call each). */
    pages: number;
    /** API calls the job took: create, status checks, result sets, delete. */
    calls: number;
}

/** One of several independent queries read together (OrgGateway.queryTogether). */
export interface QueryRequest {
    soql: string;
    /** Deleted records too (REST `queryAll`). */
    scanAll?: boolean;
}

/** Queries per Composite request: Salesforce allows at most 5 query operations in one. */
export const COMPOSITE_QUERIES = 5;

/** The org: the system of record. Only the Salesforce adapter talks to it. */
export interface OrgGateway {
    /** Runs a SOQL query and returns every record (following nextRecordsUrl). */
    query<T extends object = SObjectRecord>(soql: string): Promise<T[]>;
    /**
     * Runs a SOQL query and hands its records over page by page (query, then queryMore on
     * nextRecordsUrl), each page only once the previous one's consumer has finished: no more than one
     * page is held. The consumer may return STOP_READING to leave the remaining pages unread.
     */
    queryPages<T extends object = SObjectRecord>(
        soql: string,
        onPage: (records: T[], page: QueryPageInfo) => unknown
    ): Promise<void>;
    /**
     * Runs a SOQL query as a Bulk API 2.0 query job (create, poll until JobComplete, read the result
     * sets by Sforce-Locator, delete the job) and hands over each result set as it is read.
     */
    bulkQuery(soql: string, onPage: (rows: BulkRow[]) => unknown): Promise<BulkQueryStats>;
    /** Like query, but deleted records (the recycle bin, `IsDeleted = true`) are read too (REST `queryAll`). */
    queryAll?<T extends object = SObjectRecord>(soql: string): Promise<T[]>;
    /**
     * Deletes records by id, 200 per call (sObject Collections DELETE, allOrNone false); results in input
     * order. A record already deleted answers ENTITY_IS_DELETED, so a retried delete changes nothing.
     */
    deleteRecords?(ids: string[]): Promise<WriteResult[]>;
    /**
     * Reads independent queries together: one Composite request (`POST /composite`, allOrNone false) per
     * COMPOSITE_QUERIES of them, which Salesforce counts as one API call; further pages of a query are read
     * with queryMore, a call each. For small reads (every record is held). Each query's outcome is its own:
     * a query the org refuses rejects alone, in the same way `query` would have thrown.
     */
    queryTogether(requests: QueryRequest[]): Promise<PromiseSettledResult<SObjectRecord[]>[]>;
    /** The sObject describe as the REST API returns it. */
    describe(sobject: string): Promise<unknown>;
    /** Creates records, 200 per call; results in input order. */
    create(sobject: string, records: SObjectRecord[]): Promise<WriteResult[]>;
    /**
     * Updates records (each with Id and attributes.type; types may be mixed), 200 per call. Retried after a
     * lost answer unless `retry` is false: then an answer that may have been lost throws with
     * `details.ambiguous` and the caller decides (a state change must not be re-sent after others moved on).
     */
    update(records: SObjectRecord[], options?: { retry?: boolean }): Promise<WriteResult[]>;
    /** Upserts by an external id field, 200 per call. */
    upsert(sobject: string, externalIdField: string, records: SObjectRecord[]): Promise<WriteResult[]>;
    /** REST API calls made by this gateway since it was created. */
    apiCalls(): number;
    /**
     * The org's time as its latest answer said (HTTP Date, whole seconds rounded down): never later than the
     * org's clock when the next request arrives. Undefined before the first answer.
     */
    serverTime?(): Date | undefined;
    /** The org's instance URL (for links to records). */
    instanceUrl(): string;
    close(): Promise<void>;
}

export interface MailAttachment {
    filename: string;
    content: string | Buffer;
    contentType: string;
}

export interface OutgoingMail {
    to: string[];
    subject: string;
    html: string;
    text: string;
    attachments?: MailAttachment[];
    /** Folder and file stem used by the outbox; also makes the Message-ID stable. */
    outboxPath: string;
}

export type SendResult =
    | { status: 'sent'; messageId: string; attempts: number }
    | { status: 'failed'; permanent: boolean; reason: string; attempts: number };

export interface Mailer {
    send(mail: OutgoingMail): Promise<SendResult>;
    /** How many sends may be in flight at once. */
    readonly concurrency: number;
    /** Where mail goes, for humans: "SMTP smtp.example.com:587" or "outbox /path/outbox". */
    describe(): string;
    close(): Promise<void>;
}

export interface NotificationOutcome {
    status: 'sent' | 'failed' | 'skipped';
    detail?: string;
}

export interface SlackMessage {
    channel?: string;
    text: string;
    blocks: unknown[];
}

export interface Notifier {
    post(message: SlackMessage): Promise<NotificationOutcome>;
}

export interface RenderedMail {
    subject: string;
    html: string;
    text: string;
}

/** Named mails (the invitation, the audit) rendered from replaceable templates. */
export interface MailTemplates {
    render(name: string, context: Record<string, unknown>): RenderedMail;
}

/** One invitation outcome, durable before the sending worker takes its next item. */
export interface JournalEntry {
    /** The run's Run_Key__c: an entry of another run that got the same id is never applied. */
    runKey: string;
    runId: string;
    itemId: string;
    userId: string;
    status: 'Invited' | 'Failed';
    reason?: string;
    /** When the mailer returned (ISO 8601). */
    at: string;
    /** The products the invitation listed. */
    products: string[];
}

export interface JournalContents {
    entries: JournalEntry[];
    /** Bytes of complete, readable lines; anything after is a torn last line (a crash mid-append). */
    validBytes: number;
    torn: boolean;
    /** Complete lines that could not be read (never expected; counted, then ignored). */
    unreadable: number;
}

/** The outcomes of one run not yet known to be in the org (DESIGN §6). */
export interface OutcomeJournal {
    /** Where it is, for people. */
    readonly file: string;
    read(): JournalContents;
    append(entry: JournalEntry): Promise<void>;
    close(): Promise<void>;
    /** The run is finished and every outcome is in the org. */
    remove(): Promise<void>;
}

export interface OutcomeJournals {
    /** The journal of the run with this id and Run_Key__c. */
    open(runId: string, runKey: string): OutcomeJournal;
    /**
     * Journals left under this run id by another run (the same id with another key, e.g. after an org was
     * reset): moved aside, never applied. Returns where each went.
     */
    setAsideForeign(runId: string, runKey: string): string[];
}

export interface Clock {
    now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
