/**
 * The service's V8 heap budget (docs/decisions.md, "The service runs with a heap budget").
 *
 * `npm start` passes `--max-old-space-size=${ROLLCALL_MAX_HEAP_MB:-DEFAULT_MAX_HEAP_MB}`. With the budget
 * V8 collects before its old generation outgrows it; without one it lets garbage pile up to about four times
 * the live data before a full collection (a 1,000,000-user sync: about 100 MB live at 100,000 invitations,
 * 673 MB resident). The benches that host the service run it with the same budget.
 */
import { getHeapStatistics } from 'node:v8';

export const DEFAULT_MAX_HEAP_MB = 384;

/**
 * Heap the embedded local org takes per seeded user (its process peaks at about 1.8 GB resident for
 * 1,000,000 users; this rounds up).
 */
export const LOCAL_ORG_BYTES_PER_USER = 2_000;

/** The heap this process may use, in MB (V8's limit: the old generation's budget plus the young one's). */
export function heapLimitMb(): number {
    return Math.round(getHeapStatistics().heap_size_limit / 1_048_576);
}

/**
 * The old generation's budget in MB, where long-lived data (the local org's records) must fit: the
 * --max-old-space-size this process was started with (the command line wins over NODE_OPTIONS), else V8's
 * whole limit.
 */
export function oldSpaceBudgetMb(
    execArgv: ReadonlyArray<string> = process.execArgv,
    nodeOptions = process.env.NODE_OPTIONS ?? ''
): number {
    for (const args of [execArgv, nodeOptions.split(/\s+/)]) {
        const sizes = args
            .map((arg) => /^--max[-_]old[-_]space[-_]size=(\d+)$/.exec(arg)?.[1])
            .filter((size): size is string => size !== undefined);
        if (sizes.length > 0) return Number(sizes[sizes.length - 1]);
    }
    return heapLimitMb();
}

/**
 * In local mode the local org lives in the service's heap: a seed that cannot fit in three quarters of the
 * budget is refused at start with what to change, instead of failing later out of memory.
 */
export function localOrgHeapProblem(users: number, limitMb: number): string | undefined {
    const neededMb = Math.ceil((users * LOCAL_ORG_BYTES_PER_USER) / 1_048_576);
    if (neededMb <= limitMb * 0.75) return undefined;
    const suggestMb = Math.ceil((neededMb / 0.75 + 64) / 128) * 128;
    return (
        `LOCAL_ORG_USERS=${users} needs about ${neededMb} MB of heap for the embedded local org, but this ` +
        `process may use ${limitMb} MB. Start it with ROLLCALL_MAX_HEAP_MB=${suggestMb} npm start, or seed fewer users.`
    );
}

/** When ROLLCALL_MAX_HEAP_MB asks for a budget this process was not started with (not through npm start). */
export function heapBudgetNotApplied(askedMb: number | undefined, oldSpaceMb: number): string | undefined {
    if (askedMb === undefined || askedMb === oldSpaceMb) return undefined;
    return `ROLLCALL_MAX_HEAP_MB=${askedMb} is applied by npm start (--max-old-space-size); this process runs with ${oldSpaceMb} MB for its old generation`;
}
