/** Plain-text tables and summaries for the CLI and `npm start`. */
import type { RunView } from '../use-cases/provisioning';

export function table(headers: string[], rows: (string | number)[][]): string {
    const cells = [headers, ...rows.map((row) => row.map((cell) => String(cell)))];
    const widths = headers.map((_, column) =>
        Math.min(60, Math.max(...cells.map((row) => (row[column] ?? '').length)))
    );
    const line = (row: string[]) =>
        row
            .map((cell, column) => {
                const text = cell.length > widths[column] ? `${cell.slice(0, widths[column] - 1)}…` : cell;
                return text.padEnd(widths[column]);
            })
            .join('  ')
            .trimEnd();
    return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join(
        '\n'
    );
}

export function runSummary(run: RunView): string {
    const c = run.counts;
    // The counts and the outcome line are the run record's (use-cases/run/counts.ts), as every screen shows them.
    return `${table(
        [
            'Run',
            'Status',
            'Trigger',
            'Evaluated',
            'Eligible',
            'Invited',
            'Reminded',
            'Skipped',
            'Failed',
            'API calls'
        ],
        [
            [
                run.name ?? run.runId,
                run.status,
                run.trigger ?? '',
                c.evaluated,
                c.eligible,
                c.invited,
                c.reminded,
                c.skipped,
                c.failed,
                run.apiCalls
            ]
        ]
    )}\nOutcome: ${c.summary}`;
}

/** `rollcall runs`: one line per run, its outcome counts as the run record holds them. */
export function runsTable(runs: RunView[]): string {
    return table(
        ['Run', 'Id', 'Status', 'Trigger', 'Started', 'Eligible', 'Invited', 'Reminded', 'Skipped', 'Failed'],
        runs.map((r) => [
            r.name ?? '',
            r.runId,
            r.status,
            r.trigger ?? '',
            r.startedAt ?? '',
            r.counts.eligible,
            r.counts.invited,
            r.counts.reminded,
            r.counts.skipped,
            r.counts.failed
        ])
    );
}
