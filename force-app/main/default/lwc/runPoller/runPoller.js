/**
 * Follows a provisioning run (a preview being evaluated, or a run sending invitations) by re-reading its
 * record through Apex until the caller says it is over. The service works in the background, so a screen
 * only ever waits on these short reads, never on a callout that waits for the work.
 *
 * One read at a time: the next is scheduled only when the previous one has answered, so a slow org never
 * piles up requests. Every POLL_INTERVAL_MS for the first FAST_POLLS reads (about a minute), then each
 * delay grows by BACKOFF_FACTOR up to MAX_POLL_INTERVAL_MS, for a long evaluation of a large org.
 */
export const POLL_INTERVAL_MS = 2000;
export const FAST_POLLS = 30;
export const BACKOFF_FACTOR = 1.5;
export const MAX_POLL_INTERVAL_MS = 10000;
/** Every this many reads, the read also asks the service for its own progress (a callout). */
export const SERVICE_PROGRESS_EVERY = 5;

export const PREVIEWED = 'Previewed';
const SECONDS_PER_MINUTE = 60;

/** "45 s", "3 min 05 s". */
export function formatElapsed(totalSeconds) {
    const seconds = Math.max(0, Math.floor(totalSeconds || 0));
    const minutes = Math.floor(seconds / SECONDS_PER_MINUTE);
    const rest = seconds % SECONDS_PER_MINUTE;
    return minutes ? `${minutes} min ${String(rest).padStart(2, '0')} s` : `${rest} s`;
}

/**
 * Where a preview run read from its record stands: 'ready' (Previewed), 'working' (the service is still
 * evaluating it) or 'failed' (Failed, or Previewing with a heartbeat gone stale, or anything else).
 */
export function previewState(run) {
    if (run.status === PREVIEWED) {
        return 'ready';
    }
    return run.previewing && !run.stalled ? 'working' : 'failed';
}

/** What to tell the admin about a preview that ended without becoming Previewed. */
export function previewFailureMessage(run) {
    if (run.stalled) {
        return (
            `The Rollcall service stopped answering while it evaluated this preview (${run.name}): ` +
            'it has given no sign of life for several minutes. Preview again; if it happens again, check ' +
            'that the service is running.'
        );
    }
    if (run.status === 'Failed') {
        return `The preview failed: ${run.error || 'the Rollcall service gave no reason.'} Preview again.`;
    }
    return `The preview ended as ${run.status} before it could be shown. Preview again.`;
}

/** The delay before read number `attempt` (0 for the first). */
export function pollDelay(attempt) {
    const slowed = Math.max(0, attempt - FAST_POLLS + 1);
    return Math.min(MAX_POLL_INTERVAL_MS, Math.round(POLL_INTERVAL_MS * BACKOFF_FACTOR ** slowed));
}

export default class RunPoller {
    /**
     * @param {object} handlers
     * @param {(runId: string, withServiceProgress: boolean) => Promise<object>} handlers.read the run
     * @param {(run: object) => boolean} handlers.onUpdate gets each read; returns true to keep polling
     * @param {(error: any) => void} handlers.onError a read failed; polling has stopped
     */
    constructor({ read, onUpdate, onError }) {
        this.read = read;
        this.onUpdate = onUpdate;
        this.onError = onError;
        this.runId = undefined;
        this.timer = undefined;
        this.attempt = 0;
    }

    get active() {
        return Boolean(this.runId);
    }

    start(runId) {
        this.stop();
        this.runId = runId;
        this.attempt = 0;
        this.schedule();
    }

    stop() {
        if (this.timer) {
            clearTimeout(this.timer);
            this.timer = undefined;
        }
        this.runId = undefined;
    }

    schedule() {
        // eslint-disable-next-line @lwc/lwc/no-async-operation
        this.timer = setTimeout(() => this.tick(), pollDelay(this.attempt));
    }

    async tick() {
        this.timer = undefined;
        const runId = this.runId;
        const attempt = this.attempt;
        this.attempt += 1;
        let run;
        try {
            run = await this.read(runId, attempt % SERVICE_PROGRESS_EVERY === SERVICE_PROGRESS_EVERY - 1);
        } catch (error) {
            if (this.runId === runId) {
                this.stop();
                this.onError(error);
            }
            return;
        }
        if (this.runId !== runId) {
            // Stopped or restarted on another run while this read was on its way.
            return;
        }
        if (this.onUpdate(run) && this.runId === runId && !this.timer) {
            this.schedule();
        } else if (this.runId === runId && !this.timer) {
            this.runId = undefined;
        }
    }
}
