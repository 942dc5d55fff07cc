/**
 * The Mailer port over nodemailer: a pooled, rate-limited SMTP transport, or (with no SMTP configured)
 * an outbox folder of .eml files. Transient failures (SMTP 4xx, refused or dropped connections) are
 * retried with jittered backoff; permanent ones (5xx) fail at once with the server's reason. After a few
 * sends in a row could not reach the server, the next sends try once only, so a dead server fails a
 * run's items quickly instead of stalling it.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Mailer, OutgoingMail, SendResult } from '../ports';
import { redact } from '../errors';
import { escapeText } from './templates';
import { isValidAddress } from '../domain/email';

const CONNECTION_ERROR_CODES = new Set([
    'ECONNECTION',
    'ESOCKET',
    'ETIMEDOUT',
    'EDNS',
    'ECONNREFUSED',
    'ECONNRESET',
    'EPIPE',
    'EPROTOCOL'
]);
const FAIL_FAST_AFTER = 3;

export { isValidAddress };

interface SmtpError {
    code?: string;
    responseCode?: number;
    response?: string;
    message?: string;
}

export function classifySmtpError(error: unknown): {
    transient: boolean;
    connection: boolean;
    reason: string;
} {
    const e = (error ?? {}) as SmtpError;
    const reason = redact(escapeText(e.response ?? e.message ?? String(error))).slice(0, 240);
    if (typeof e.responseCode === 'number') {
        return { transient: e.responseCode >= 400 && e.responseCode < 500, connection: false, reason };
    }
    const connection =
        (e.code !== undefined && CONNECTION_ERROR_CODES.has(e.code)) ||
        /ECONNREFUSED|ECONNRESET|socket|timeout|closed/i.test(e.message ?? '');
    return { transient: connection, connection, reason };
}

const sleep = (ms: number) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

abstract class BaseMailer implements Mailer {
    abstract readonly concurrency: number;
    protected readonly from: string;
    protected readonly replyTo?: string;

    constructor(protected readonly config: Config['mail']) {
        this.from = config.from;
        this.replyTo = config.replyTo;
    }

    abstract describe(): string;
    abstract close(): Promise<void>;
    protected abstract deliver(message: SendMailOptions, mail: OutgoingMail): Promise<string>;

    async send(mail: OutgoingMail): Promise<SendResult> {
        const bad = mail.to.find((address) => !isValidAddress(address));
        if (bad !== undefined || mail.to.length === 0) {
            return { status: 'failed', permanent: true, reason: 'invalid recipient address', attempts: 0 };
        }
        const message: SendMailOptions = {
            from: this.from,
            replyTo: this.replyTo,
            to: mail.to,
            subject: escapeText(mail.subject),
            html: mail.html,
            text: mail.text,
            messageId: `<${createHash('sha256').update(mail.outboxPath).digest('hex').slice(0, 32)}@rollcall>`,
            attachments: mail.attachments?.map((a) => ({
                filename: escapeText(a.filename),
                content: a.content,
                contentType: a.contentType
            })),
            disableFileAccess: true,
            disableUrlAccess: true
        };
        return this.sendWithRetries(message, mail);
    }

    protected async sendWithRetries(message: SendMailOptions, mail: OutgoingMail): Promise<SendResult> {
        const maxAttempts = 1 + this.config.retryAttempts;
        let attempts = 0;
        for (;;) {
            attempts++;
            try {
                const messageId = await this.deliver(message, mail);
                return { status: 'sent', messageId, attempts };
            } catch (error) {
                const { transient, reason } = classifySmtpError(error);
                if (!transient || attempts >= maxAttempts || this.failFast()) {
                    this.noteFailure(error);
                    return { status: 'failed', permanent: !transient, reason, attempts };
                }
                const backoff = this.config.retryBaseMs * 2 ** (attempts - 1);
                await sleep(backoff / 2 + Math.random() * backoff);
            }
        }
    }

    protected failFast(): boolean {
        return false;
    }

    protected noteFailure(_error: unknown): void {}
}

class SmtpMailer extends BaseMailer {
    readonly concurrency: number;
    private readonly transporter: Transporter;
    private consecutiveConnectionFailures = 0;
    private readonly label: string;

    constructor(
        config: Config['mail'],
        smtp: Extract<Config['mail']['transport'], { kind: 'smtp' }>,
        private readonly logger: Logger
    ) {
        super(config);
        this.concurrency = smtp.maxConnections;
        this.label = smtp.url ? 'SMTP (SMTP_URL)' : `SMTP ${smtp.host}:${smtp.port}`;
        const options = {
            pool: true,
            maxConnections: smtp.maxConnections,
            maxMessages: 1000,
            ...(smtp.ratePerSecond > 0 ? { rateDelta: 1000, rateLimit: smtp.ratePerSecond } : {}),
            host: smtp.host,
            port: smtp.port,
            secure: smtp.secure,
            requireTLS: smtp.requireTls,
            tls: { rejectUnauthorized: smtp.rejectUnauthorized },
            auth: smtp.user ? { user: smtp.user, pass: smtp.password } : undefined,
            connectionTimeout: smtp.timeoutMs,
            greetingTimeout: smtp.timeoutMs,
            socketTimeout: smtp.timeoutMs
        };
        this.transporter = smtp.url
            ? nodemailer.createTransport(smtp.url)
            : nodemailer.createTransport(options);
    }

    describe(): string {
        return this.label;
    }

    protected async deliver(message: SendMailOptions): Promise<string> {
        const info = await this.transporter.sendMail(message);
        this.consecutiveConnectionFailures = 0;
        return String(info.messageId);
    }

    protected override failFast(): boolean {
        return this.consecutiveConnectionFailures >= FAIL_FAST_AFTER;
    }

    protected override noteFailure(error: unknown): void {
        if (classifySmtpError(error).connection) {
            this.consecutiveConnectionFailures++;
            if (this.consecutiveConnectionFailures === FAIL_FAST_AFTER) {
                this.logger.warn('SMTP server unreachable; further sends are tried once until it answers');
            }
        }
    }

    async close(): Promise<void> {
        this.transporter.close();
    }
}

class OutboxMailer extends BaseMailer {
    readonly concurrency = 8;
    private readonly transporter: Transporter;

    constructor(
        config: Config['mail'],
        private readonly dir: string
    ) {
        super(config);
        this.transporter = nodemailer.createTransport({
            streamTransport: true,
            buffer: true,
            newline: 'unix'
        });
    }

    describe(): string {
        return `outbox ${this.dir}`;
    }

    /** The .eml file a mail is written to. */
    fileFor(outboxPath: string): string {
        const safe = outboxPath.replace(/[^A-Za-z0-9_./-]/g, '_').replace(/\.{2,}/g, '_');
        const file = resolve(this.dir, `${safe}.eml`);
        if (!file.startsWith(resolve(this.dir) + sep))
            throw new Error('outbox path escapes the outbox folder');
        return file;
    }

    protected async deliver(message: SendMailOptions, mail: OutgoingMail): Promise<string> {
        const info = await this.transporter.sendMail(message);
        const file = this.fileFor(mail.outboxPath);
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, info.message as Buffer);
        return String(info.messageId);
    }

    async close(): Promise<void> {
        this.transporter.close();
    }
}

export function createMailer(config: Config['mail'], logger: Logger): Mailer {
    const transport = config.transport;
    return transport.kind === 'smtp'
        ? new SmtpMailer(config, transport, logger)
        : new OutboxMailer(config, join(transport.dir));
}
