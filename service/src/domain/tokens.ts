/**
 * Signed, expiring authorization-link tokens and webhook signatures (HMAC-SHA256).
 *
 * Token: `<base64url(JSON payload)>.<base64url(HMAC of the first part)>`, payload
 * `{v:1, u: userId, p: products, r: runId, iat, exp}` (seconds). The scheduling product verifies it with
 * the shared AUTH_TOKEN_SECRET (or hands it back to `POST /v1/authorizations`).
 *
 * Webhook: header `X-Rollcall-Signature: t=<unix seconds>,v1=<hex HMAC of "<t>.<raw body>">` with
 * WEBHOOK_SECRET, accepted within a tolerance window so a captured request cannot be replayed later.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors';

export interface AuthorizationClaims {
    userId: string;
    products: string[];
    runId: string;
    issuedAt: Date;
    expiresAt: Date;
}

function hmac(secret: string, data: string): Buffer {
    return createHmac('sha256', secret).update(data).digest();
}

export function safeEqual(a: Buffer, b: Buffer): boolean {
    return a.length === b.length && timingSafeEqual(a, b);
}

export function signAuthorizationToken(
    secret: string,
    claims: { userId: string; products: string[]; runId: string },
    now: Date,
    ttlHours: number
): string {
    const iat = Math.floor(now.getTime() / 1000);
    const payload = {
        v: 1,
        u: claims.userId,
        p: claims.products,
        r: claims.runId,
        iat,
        exp: iat + ttlHours * 3600
    };
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${hmac(secret, body).toString('base64url')}`;
}

export function verifyAuthorizationToken(secret: string, token: string, now: Date): AuthorizationClaims {
    const [body, signature, extra] = token.split('.');
    if (!body || !signature || extra !== undefined) throw new AppError('INVALID_TOKEN', 'Malformed token');
    if (!safeEqual(Buffer.from(signature, 'base64url'), hmac(secret, body))) {
        throw new AppError('INVALID_TOKEN', 'Token signature does not match');
    }
    let payload: { v?: number; u?: unknown; p?: unknown; r?: unknown; iat?: unknown; exp?: unknown };
    try {
        payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
        throw new AppError('INVALID_TOKEN', 'Malformed token');
    }
    if (
        payload.v !== 1 ||
        typeof payload.u !== 'string' ||
        typeof payload.r !== 'string' ||
        typeof payload.iat !== 'number' ||
        typeof payload.exp !== 'number' ||
        !Array.isArray(payload.p) ||
        !payload.p.every((p) => typeof p === 'string')
    ) {
        throw new AppError('INVALID_TOKEN', 'Malformed token');
    }
    if (payload.exp * 1000 <= now.getTime()) throw new AppError('INVALID_TOKEN', 'Token has expired');
    return {
        userId: payload.u,
        products: payload.p as string[],
        runId: payload.r,
        issuedAt: new Date(payload.iat * 1000),
        expiresAt: new Date(payload.exp * 1000)
    };
}

export const SIGNATURE_HEADER = 'x-rollcall-signature';

export function signWebhook(secret: string, rawBody: string | Buffer, now: Date): string {
    const t = Math.floor(now.getTime() / 1000);
    const mac = createHmac('sha256', secret).update(`${t}.`).update(rawBody).digest('hex');
    return `t=${t},v1=${mac}`;
}

export function verifyWebhook(
    secret: string,
    header: string | undefined,
    rawBody: Buffer,
    now: Date,
    toleranceSeconds: number
): void {
    const parts = new Map(
        (header ?? '').split(',').map((part) => {
            const index = part.indexOf('=');
            return [part.slice(0, index).trim(), part.slice(index + 1).trim()] as const;
        })
    );
    const t = Number(parts.get('t'));
    const v1 = parts.get('v1') ?? '';
    if (!Number.isInteger(t) || !/^[0-9a-f]{64}$/.test(v1)) {
        throw new AppError('INVALID_SIGNATURE', 'Missing or malformed signature');
    }
    if (Math.abs(now.getTime() / 1000 - t) > toleranceSeconds) {
        throw new AppError('INVALID_SIGNATURE', 'Signature timestamp outside the accepted window');
    }
    const expected = createHmac('sha256', secret).update(`${t}.`).update(rawBody).digest();
    if (!safeEqual(Buffer.from(v1, 'hex'), expected))
        throw new AppError('INVALID_SIGNATURE', 'Signature mismatch');
}

/**
 * Replay protection for the webhook: a signature is accepted once within its window. Signatures are
 * remembered until their timestamp leaves the window; a request in flight holds its signature, and gives
 * it back if it fails, so the sender's retry of a failed delivery is still accepted. Bounded: past `cap`
 * entries the oldest is forgotten. Per process: instances behind a load balancer each keep their own.
 */
export class ReplayGuard {
    private readonly seen = new Map<string, number>();

    constructor(
        private readonly toleranceSeconds: number,
        private readonly cap = 10_000
    ) {}

    /** Claims the signature of `header`; throws INVALID_SIGNATURE when it was already used. */
    claim(header: string, now: Date): () => void {
        const signature = /(?:^|,)\s*v1=([0-9a-f]{64})/.exec(header)?.[1] ?? header;
        const t = Number(/(?:^|,)\s*t=(\d+)/.exec(header)?.[1] ?? 0);
        const nowSeconds = now.getTime() / 1000;
        for (const [key, expires] of this.seen) {
            if (expires > nowSeconds) break;
            this.seen.delete(key);
        }
        if (this.seen.has(signature)) {
            throw new AppError('INVALID_SIGNATURE', 'This signed request was already received (replay)');
        }
        this.seen.set(signature, Math.max(t, nowSeconds) + this.toleranceSeconds);
        if (this.seen.size > this.cap) this.seen.delete(this.seen.keys().next().value!);
        return () => this.seen.delete(signature);
    }
}
