import RunPoller, {
    POLL_INTERVAL_MS,
    FAST_POLLS,
    MAX_POLL_INTERVAL_MS,
    SERVICE_PROGRESS_EVERY,
    formatElapsed,
    pollDelay,
    previewFailureMessage,
    previewState
} from 'c/runPoller';

async function flushPromises() {
    for (let i = 0; i < 4; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

async function advance(ms) {
    jest.advanceTimersByTime(ms);
    await flushPromises();
}

describe('c/runPoller', () => {
    beforeEach(() => {
        jest.useFakeTimers();
    });

    afterEach(() => {
        jest.useRealTimers();
    });

    it('polls every 2 seconds for about a minute, then backs off up to 10 seconds', () => {
        expect(pollDelay(0)).toBe(POLL_INTERVAL_MS);
        expect(pollDelay(FAST_POLLS - 1)).toBe(POLL_INTERVAL_MS);
        expect(pollDelay(FAST_POLLS)).toBe(3000);
        expect(pollDelay(FAST_POLLS + 1)).toBe(4500);
        expect(pollDelay(FAST_POLLS + 10)).toBe(MAX_POLL_INTERVAL_MS);
    });

    it('reads until the caller says the run is over, asking for the service progress every few reads', async () => {
        const read = jest.fn().mockResolvedValue({ status: 'Previewing' });
        const onUpdate = jest.fn().mockReturnValue(true);
        const poller = new RunPoller({ read, onUpdate, onError: jest.fn() });
        poller.start('a01');
        expect(read).not.toHaveBeenCalled();
        for (let poll = 0; poll < SERVICE_PROGRESS_EVERY; poll++) {
            // eslint-disable-next-line no-await-in-loop
            await advance(POLL_INTERVAL_MS);
        }
        expect(read.mock.calls.map(([, withProgress]) => withProgress)).toEqual([
            false,
            false,
            false,
            false,
            true
        ]);
        onUpdate.mockReturnValue(false);
        await advance(POLL_INTERVAL_MS);
        expect(poller.active).toBe(false);
        await advance(POLL_INTERVAL_MS * 5);
        expect(read).toHaveBeenCalledTimes(SERVICE_PROGRESS_EVERY + 1);
    });

    it('waits for each read before scheduling the next, so slow reads never pile up', async () => {
        let answer;
        const read = jest.fn(
            () =>
                new Promise((resolve) => {
                    answer = resolve;
                })
        );
        const poller = new RunPoller({ read, onUpdate: () => true, onError: jest.fn() });
        poller.start('a01');
        await advance(POLL_INTERVAL_MS * 5);
        expect(read).toHaveBeenCalledTimes(1);
        answer({ status: 'Previewing' });
        await flushPromises();
        await advance(POLL_INTERVAL_MS);
        expect(read).toHaveBeenCalledTimes(2);
        poller.stop();
    });

    it('stops on a failed read and reports it', async () => {
        const onError = jest.fn();
        const read = jest.fn().mockRejectedValue(new Error('offline'));
        const poller = new RunPoller({ read, onUpdate: () => true, onError });
        poller.start('a01');
        await advance(POLL_INTERVAL_MS);
        expect(onError).toHaveBeenCalledWith(new Error('offline'));
        await advance(POLL_INTERVAL_MS * 3);
        expect(read).toHaveBeenCalledTimes(1);
    });

    it('formats the elapsed time', () => {
        expect(formatElapsed(5)).toBe('5 s');
        expect(formatElapsed(185)).toBe('3 min 05 s');
        expect(formatElapsed(undefined)).toBe('0 s');
    });

    it('tells a ready, a working and a failed preview apart, and says why one failed', () => {
        expect(previewState({ status: 'Previewed' })).toBe('ready');
        expect(previewState({ status: 'Previewing', previewing: true, stalled: false })).toBe('working');
        expect(previewState({ status: 'Previewing', previewing: true, stalled: true })).toBe('failed');
        expect(previewState({ status: 'Failed', previewing: false })).toBe('failed');
        expect(previewFailureMessage({ status: 'Failed', error: 'No describe.' })).toBe(
            'The preview failed: No describe. Preview again.'
        );
        expect(previewFailureMessage({ status: 'Failed' })).toContain('gave no reason');
        expect(previewFailureMessage({ status: 'Previewing', stalled: true, name: 'RUN-1' })).toContain(
            'stopped answering while it evaluated this preview (RUN-1)'
        );
        expect(previewFailureMessage({ status: 'Expired' })).toBe(
            'The preview ended as Expired before it could be shown. Preview again.'
        );
    });

    it('ignores the answer of a read that was on its way when it was stopped', async () => {
        let answer;
        const read = jest.fn(
            () =>
                new Promise((resolve) => {
                    answer = resolve;
                })
        );
        const onUpdate = jest.fn(() => true);
        const poller = new RunPoller({ read, onUpdate, onError: jest.fn() });
        poller.start('a01');
        await advance(POLL_INTERVAL_MS);
        poller.stop();
        answer({ status: 'Previewing' });
        await flushPromises();
        expect(onUpdate).not.toHaveBeenCalled();
        await advance(POLL_INTERVAL_MS * 3);
        expect(read).toHaveBeenCalledTimes(1);
    });
});
