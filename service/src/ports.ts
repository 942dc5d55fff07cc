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

/** The org: the system of record. Only the Salesforce adapter talks to it. */
export interface OrgGateway {
    /** Runs a SOQL query and returns every record (following nextRecordsUrl). */
    query<T extends object = SObjectRecord>(soql: string): Promise<T[]>;
    /** The sObject describe as the REST API returns it. */
    describe(sobject: string): Promise<unknown>;
    /** Creates records, 200 per call; results in input order. */
    create(sobject: string, records: SObjectRecord[]): Promise<WriteResult[]>;
    /** Updates records (each with Id and attributes.type; types may be mixed), 200 per call. */
    update(records: SObjectRecord[]): Promise<WriteResult[]>;
    /** Upserts by an external id field, 200 per call. */
    upsert(sobject: string, externalIdField: string, records: SObjectRecord[]): Promise<WriteResult[]>;
    /** REST API calls made by this gateway since it was created. */
    apiCalls(): number;
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

export interface Clock {
    now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
