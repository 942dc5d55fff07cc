/**
 * Send: one invitation per user, listing all its products, with a signed and expiring link; as many in
 * flight as the mailer allows. A worker takes its next item only while the run may go on: not stopped,
 * the org taking writes (outcomes are recorded before more mail leaves), and the lease surely held.
 */
import { isValidAddress } from '../../domain/email';
import { signAuthorizationToken } from '../../domain/tokens';
import { describeError } from '../../errors';
import type { InviteResult, RunDeps, WorkItem } from './context';
import { truncate } from './context';

export async function invite(deps: RunDeps, runId: string, item: WorkItem): Promise<InviteResult> {
    const { config, clock, templates, mailer } = deps;
    if (!isValidAddress(item.email)) {
        return { status: 'invalid', reason: `invalid email address ${JSON.stringify(item.email)}` };
    }
    const now = clock.now();
    const token = signAuthorizationToken(
        config.links.tokenSecret,
        { userId: item.userId, products: item.products, runId },
        now,
        config.links.tokenTtlHours
    );
    const link = config.links.authorizationUrlTemplate.replace('{token}', encodeURIComponent(token));
    const expiresAt = new Date(now.getTime() + config.links.tokenTtlHours * 3600_000);
    try {
        const rendered = templates.render('invitation', {
            name: item.name,
            products: item.products,
            // A reminder carries a fresh link with the full lifetime: the invitation lapses with its newest link.
            reminder: item.kind === 'Reminder',
            productList: item.products.join(', '),
            link,
            expiresAt: expiresAt.toUTCString(),
            supportContact: config.mail.supportContact
        });
        return await mailer.send({ to: [item.email], ...rendered, outboxPath: `${runId}/${item.userId}` });
    } catch (error) {
        return { status: 'failed', permanent: true, reason: truncate(describeError(error)), attempts: 0 };
    }
}

export interface SendLoop {
    /** Resolves when the next mail may go; false when the run must stop sending. */
    mayContinue(): Promise<boolean>;
    /** A send cut short by a stop stays Pending for the resume. */
    stopping(): boolean;
    record(item: WorkItem, result: InviteResult): Promise<void>;
}

export async function sendAll(
    deps: RunDeps,
    runId: string,
    pending: WorkItem[],
    loop: SendLoop
): Promise<void> {
    let next = 0;
    const worker = async () => {
        while (next < pending.length && (await loop.mayContinue())) {
            if (next >= pending.length) return;
            const item = pending[next++];
            const result = await invite(deps, runId, item);
            if (loop.stopping() && result.status === 'failed' && !result.permanent) continue;
            await loop.record(item, result);
        }
    };
    await Promise.all(Array.from({ length: Math.max(1, deps.mailer.concurrency) }, () => worker()));
}
