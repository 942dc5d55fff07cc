/**
 * The authorization webhook (`POST /v1/authorizations`): the scheduling product reports an authorization or
 * a disconnection, by the invitation link's token or by user and products.
 */
import { z } from 'zod';
import { assertSalesforceId, id18 } from '../../domain/org-store';
import { verifyAuthorizationToken } from '../../domain/tokens';
import { AppError } from '../../errors';
import { authorizationKey } from '../evaluation';
import { webhookWrite, type ProductEvent } from '../lifecycle';
import type { RunDeps } from '../run/context';

/** The webhook's two bodies: the token of the invitation link, or the user and products directly. */
export const authorizationByToken = z.object({ token: z.string().min(10).max(4000) });
export const authorizationByUser = z.object({
    userId: z.string(),
    products: z.array(z.string().min(1).max(255)).min(1).max(50),
    /** What the scheduling product reports: an authorization (the default) or a disconnection. */
    status: z.enum(['Authorized', 'Revoked'], { error: 'must be "Authorized" or "Revoked"' }).optional(),
    authorizedAt: z.iso.datetime({ offset: true }).optional(),
    revokedAt: z.iso.datetime({ offset: true }).optional()
});
export const authorizationBody = z.union([authorizationByToken, authorizationByUser]);

const USER_ID_PREFIX = '005';
/** Write errors that mean the webhook's data is wrong (unknown product or user), answered 400. */
const SENDER_ERRORS =
    /^(INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST|INVALID_CROSS_REFERENCE_KEY|FIELD_INTEGRITY_EXCEPTION|ENTITY_IS_DELETED):/;

/**
 * The scheduling product reports an authorization (the next sync does not invite these again) or a
 * disconnection (Authorized → Revoked). The records are read first: an event older than the opposite
 * one a record already holds is ignored (webhooks may arrive out of order), and each ignored product is
 * named in the answer.
 */
export async function authorize(
    deps: RunDeps,
    body: z.infer<typeof authorizationBody>
): Promise<{
    status: ProductEvent;
    userId: string;
    products: string[];
    ignored?: { product: string; reason: string }[];
}> {
    const { config, clock, store } = deps;
    let userId: string;
    let products: string[];
    let event: ProductEvent = 'Authorized';
    let at = clock.now();
    if ('token' in body) {
        const claims = verifyAuthorizationToken(config.links.tokenSecret, body.token, clock.now());
        userId = claims.userId;
        products = claims.products;
    } else {
        // One record per (user, product) whatever form the sender used: keys hold the 18-character id.
        userId = id18(assertSalesforceId(body.userId, 'userId'));
        if (!userId.startsWith(USER_ID_PREFIX)) {
            throw new AppError('VALIDATION_FAILED', 'userId: must be a User id (005…)');
        }
        products = body.products;
        event = body.status ?? 'Authorized';
        const field = event === 'Revoked' ? 'revokedAt' : 'authorizedAt';
        const stated = event === 'Revoked' ? body.revokedAt : body.authorizedAt;
        const other = event === 'Revoked' ? body.authorizedAt : body.revokedAt;
        if (other !== undefined) {
            throw new AppError(
                'VALIDATION_FAILED',
                `${event === 'Revoked' ? 'authorizedAt' : 'revokedAt'}: not allowed with status ${event}; use ${field}`
            );
        }
        if (stated) {
            at = new Date(stated);
            // The sender's clock may run a little ahead, never by more than the signature window.
            const latest = clock.now().getTime() + config.webhook.toleranceSeconds * 1000;
            if (at.getTime() > latest) {
                throw new AppError('VALIDATION_FAILED', `${field}: must not be in the future`);
            }
        }
    }
    const keys = products.map((product) => authorizationKey(userId, product));
    const current = await store.authorizationsByKey(keys);
    const records: Record<string, unknown>[] = [];
    const ignored: { product: string; reason: string }[] = [];
    products.forEach((product, index) => {
        const decision = webhookWrite(event, at, current.get(keys[index]));
        if ('ignored' in decision) ignored.push({ product, reason: decision.ignored });
        else
            records.push({
                Key__c: keys[index],
                User__c: userId,
                Product__c: product,
                ...decision.fields
            });
    });
    const results = records.length > 0 ? await store.upsertAuthorizations(records) : [];
    const failed = results.find((result) => !result.success);
    if (failed) {
        // The org refusing the sender's data (no such user, a product it does not know) is the sender's
        // mistake, not an upstream failure.
        const refused = failed.errors.some((error) => SENDER_ERRORS.test(error));
        throw new AppError(
            refused ? 'VALIDATION_FAILED' : 'ORG_REQUEST_FAILED',
            `${event === 'Revoked' ? 'Revocation' : 'Authorization'} not recorded: ${failed.errors.join('; ')}`
        );
    }
    deps.logger.info({ userId, products, event, ignored: ignored.length }, `${event} recorded`);
    return { status: event, userId, products, ...(ignored.length > 0 ? { ignored } : {}) };
}
