/** Real local peers for the service tests: an SMTP server (smtp-server + mailparser) and a Slack endpoint. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';

export interface SmtpBehaviour {
    /** Answer RCPT TO for this address with an SMTP error (e.g. 550 or 451). */
    rejectRecipient?: (address: string) => { code: number; message: string } | undefined;
    /** Answer the DATA of this message with an SMTP error (transient 4xx, say). */
    failData?: (recipients: string[]) => { code: number; message: string } | undefined;
    /** Hold the DATA reply (no 250) of messages while this returns true: they are never accepted. */
    hold?: (acceptedSoFar: number) => boolean;
    /** Accept each message only after this many milliseconds (a slow server). */
    delayMs?: number;
    /** Accept each message only once this resolves (a test interleaves something before the 250). */
    beforeAccept?: (recipients: string[]) => Promise<void> | undefined;
}

export interface SmtpSink {
    port: number;
    messages: ParsedMail[];
    held: number;
    behaviour: SmtpBehaviour;
    to(address: string): ParsedMail[];
    close(): Promise<void>;
}

function smtpError(code: number, message: string): Error {
    return Object.assign(new Error(message), { responseCode: code });
}

export async function startSmtpSink(behaviour: SmtpBehaviour = {}): Promise<SmtpSink> {
    const sink: SmtpSink = {
        port: 0,
        messages: [],
        held: 0,
        behaviour,
        to: (address) =>
            sink.messages.filter((m) =>
                [m.to]
                    .flat()
                    .flatMap((t) => t?.value ?? [])
                    .some((v) => v.address?.toLowerCase() === address.toLowerCase())
            ),
        close: async () => undefined
    };
    const server = new SMTPServer({
        authOptional: true,
        disabledCommands: ['STARTTLS'],
        logger: false,
        size: 10 * 1024 * 1024,
        onRcptTo(address: SMTPServerAddress, _session, callback) {
            const rejection = sink.behaviour.rejectRecipient?.(address.address);
            callback(rejection ? smtpError(rejection.code, rejection.message) : undefined);
        },
        onData(stream, session, callback) {
            const recipients = session.envelope.rcptTo.map((r) => r.address);
            simpleParser(stream).then(
                (mail) => {
                    const failure = sink.behaviour.failData?.(recipients);
                    if (failure) return callback(smtpError(failure.code, failure.message));
                    if (sink.behaviour.hold?.(sink.messages.length)) {
                        sink.held++;
                        return; // no reply: the message is never accepted
                    }
                    const accept = () => {
                        sink.messages.push(mail);
                        callback();
                    };
                    const before = sink.behaviour.beforeAccept?.(recipients);
                    if (before) void before.then(accept, (error: Error) => callback(error));
                    else if (sink.behaviour.delayMs) setTimeout(accept, sink.behaviour.delayMs);
                    else accept();
                },
                (error: Error) => callback(error)
            );
        }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    sink.port = (server.server.address() as AddressInfo).port;
    sink.close = () =>
        new Promise<void>((resolve) => {
            for (const connection of (server as unknown as { connections: Set<{ close(): void }> })
                .connections ?? []) {
                connection.close();
            }
            server.close(() => resolve());
        });
    return sink;
}

export interface SlackCall {
    channel?: string;
    text?: string;
    blocks?: unknown[];
    token?: string;
}

export interface SlackEndpoint {
    url: string;
    calls: SlackCall[];
    /** Next responses (FIFO); when empty, Slack answers ok. */
    respond: { status: number; body?: unknown; headers?: Record<string, string> }[];
    close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
}

export async function startSlackEndpoint(): Promise<SlackEndpoint> {
    const endpoint: SlackEndpoint = { url: '', calls: [], respond: [], close: async () => undefined };
    const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
        void (async () => {
            const raw = await readBody(req);
            let fields: Record<string, unknown>;
            if ((req.headers['content-type'] ?? '').includes('json'))
                fields = JSON.parse(raw) as Record<string, unknown>;
            else fields = Object.fromEntries(new URLSearchParams(raw));
            const blocks =
                typeof fields.blocks === 'string'
                    ? (JSON.parse(fields.blocks) as unknown[])
                    : (fields.blocks as unknown[]);
            if (req.url?.endsWith('/chat.postMessage')) {
                endpoint.calls.push({
                    channel: fields.channel as string,
                    text: fields.text as string,
                    blocks,
                    token: String(req.headers.authorization ?? '')
                });
            }
            const next = endpoint.respond.shift() ?? {
                status: 200,
                body: { ok: true, ts: '1700000000.000100' }
            };
            res.writeHead(next.status, { 'content-type': 'application/json', ...(next.headers ?? {}) });
            res.end(JSON.stringify(next.body ?? { ok: false, error: 'internal_error' }));
        })();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    endpoint.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`;
    endpoint.close = () =>
        new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
        });
    return endpoint;
}

export interface OrgProxy {
    url: string;
    /** While true, every composite update or upsert (PATCH …/composite/sobjects…) answers 503. */
    refuseWrites: boolean;
    /** Writes refused so far. */
    refused: number;
    /**
     * REST writes (POST, PATCH, DELETE under /services/data) forwarded so far. A Composite request
     * (`POST …/composite`) counts too although the service sends only reads in it: losing its answer is
     * the same lost response, and the lost-response test covers those reads that way.
     */
    writes: { method: string; path: string }[];
    /**
     * The number (1-based, counted in `writes`) of the write whose response is lost: the org applies it,
     * then the connection is cut before the answer reaches the service.
     */
    dropResponseOfWrite?: number;
    close(): Promise<void>;
}

/**
 * An HTTP proxy in front of the local org that can refuse the service's record updates (an org outage
 * for writes) while reads and creates still go through, or lose the answer to one write the org applied.
 */
export async function startOrgProxy(target: string): Promise<OrgProxy> {
    const proxy: OrgProxy = {
        url: '',
        refuseWrites: false,
        refused: 0,
        writes: [],
        close: async () => undefined
    };
    const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
        void (async () => {
            const chunks: Buffer[] = [];
            for await (const chunk of req) chunks.push(chunk as Buffer);
            const path = req.url ?? '/';
            if (proxy.refuseWrites && req.method === 'PATCH' && /\/composite\/sobjects/.test(path)) {
                proxy.refused++;
                res.writeHead(503, { 'content-type': 'application/json' });
                res.end(
                    JSON.stringify([
                        { errorCode: 'SERVER_UNAVAILABLE', message: 'Server temporarily unavailable' }
                    ])
                );
                return;
            }
            const isWrite =
                ['POST', 'PATCH', 'DELETE'].includes(req.method ?? '') && path.startsWith('/services/data');
            if (isWrite) proxy.writes.push({ method: String(req.method), path });
            const dropResponse = isWrite && proxy.writes.length === proxy.dropResponseOfWrite;
            const headers = { ...req.headers } as Record<string, string>;
            delete headers.host;
            delete headers['content-length'];
            try {
                const upstream = await fetch(`${target}${path}`, {
                    method: req.method,
                    headers,
                    body: ['GET', 'HEAD'].includes(req.method ?? 'GET') ? undefined : Buffer.concat(chunks)
                });
                // The token endpoint names the instance URL: the service must keep talking to the proxy.
                const text = (await upstream.text()).split(target).join(proxy.url);
                if (dropResponse) {
                    res.socket?.destroy();
                    return;
                }
                res.writeHead(upstream.status, {
                    'content-type': upstream.headers.get('content-type') ?? 'application/json'
                });
                res.end(text);
            } catch {
                res.destroy();
            }
        })();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    proxy.close = () =>
        new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
        });
    return proxy;
}

/** Polls until the condition holds (the tests wait on state, never on elapsed time). */
export async function until<T>(
    condition: () => T | Promise<T>,
    what: string,
    limitMs = 30_000
): Promise<NonNullable<T>> {
    const started = Date.now();
    for (;;) {
        const value = await condition();
        if (value) return value as NonNullable<T>;
        if (Date.now() - started > limitMs) throw new Error(`Gave up waiting for: ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
    }
}
