/**
 * "Compare with the app" (DESIGN §11): reads the app's accounts page by page through the AppDirectory port
 * and sorts them with the pure Reconciler (engine/reconcile.ts). One page is held at a time, and only the
 * fields the sorting needs are kept from it; nothing is written to the app or the org here (adoption is a
 * separate, confirmed step).
 */
import type { AppDirectory } from '../connections/app-directory';
import {
    DEFAULT_RECONCILE_KEEP,
    Reconciler,
    type ReconcileEntry,
    type ReconcileResult,
    type ReconcileUser
} from '../engine/reconcile';

export interface ReconcileOptions {
    /** Entries kept per list (the rest are counted). */
    keep?: number;
    /** Accounts asked per page (the app may answer fewer: its maxResults). */
    pageSize?: number;
    /** Called after each page (a progress report, a heap sample). */
    onPage?: (read: number) => void;
    /** Each page's adoptable accounts, in full (adoption writes them page by page). */
    onAdoptable?: (entries: ReconcileEntry[]) => Promise<void>;
}

export async function reconcileWithApp(
    directory: AppDirectory,
    connectionKey: string,
    users: Iterable<ReconcileUser>,
    options: ReconcileOptions = {}
): Promise<ReconcileResult> {
    const reconciler = new Reconciler(users, connectionKey, options.keep ?? DEFAULT_RECONCILE_KEEP);
    let read = 0;
    await directory.listUsers(async (page) => {
        const adoptable: ReconcileEntry[] = [];
        reconciler.addPage(
            page.map((user) => ({
                id: user.id,
                userName: user.userName,
                externalId: user.externalId,
                active: user.active
            })),
            options.onAdoptable ? (entry) => adoptable.push(entry) : undefined
        );
        read += page.length;
        options.onPage?.(read);
        if (options.onAdoptable && adoptable.length > 0) await options.onAdoptable(adoptable);
    }, options.pageSize ?? 200);
    return reconciler.result();
}
