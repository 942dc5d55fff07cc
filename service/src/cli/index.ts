/**
 * `npx rollcall preview|sync|explain <user>|runs [--json] [--url <url>]`: a client of the running service's
 * API (DESIGN §5); it never opens the org or the local org's data folder. The service is found by --url,
 * ROLLCALL_URL (with ROLLCALL_API_SECRET), or the service.json that `npm start` writes in DATA_DIR. Human
 * output by default, `--json` for scripts.
 */
import { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { AppError, describeError, isAppError } from '../errors';
import type { ProvisioningService, RunView } from '../use-cases/provisioning';
import { call, findTarget, waitForRun, type Target } from './client';
import { runSummary, runsTable, table } from './format';

interface GlobalOptions {
    json?: boolean;
    url?: string;
}

type Explanation = Awaited<ReturnType<ProvisioningService['explain']>>;

interface ItemView {
    userId: string;
    name: string;
    email: string | null;
    products: string[];
    matchedSets: string[];
    status: string | null;
    reason: string | null;
}

function print(json: boolean | undefined, data: unknown, human: () => string): void {
    console.log(json ? JSON.stringify(data, null, 2) : human());
}

function initiator(target: Target, as: string | undefined): string {
    const initiatedBy = as ?? target.initiatedBy;
    if (!initiatedBy) {
        throw new AppError(
            'VALIDATION_FAILED',
            '--as <userId> is required: the Salesforce User Id of the Rollcall admin starting this'
        );
    }
    return initiatedBy;
}

/** A preview through the API: 202, then the run is polled until it leaves Previewing. */
async function preview(target: Target, initiatedBy: string): Promise<RunView> {
    const { runId } = await call<{ runId: string }>(target, 'POST', '/v1/previews', { initiatedBy });
    const run = await waitForRun<RunView>(target, runId, (r) => r.status !== 'Previewing');
    if (run.status !== 'Previewed') {
        throw new AppError('INTERNAL', `Preview ${runId} ended ${run.status}: ${run.error ?? 'no detail'}`);
    }
    return run;
}

export function buildProgram(): Command {
    const program = new Command();
    program
        .name('rollcall')
        .description('Rollcall provisioning: preview, sync, explain, runs')
        .option('--json', 'machine-readable output')
        .option(
            '--url <url>',
            'the service (default: ROLLCALL_URL, or the one `npm start` recorded in DATA_DIR)'
        )
        .showHelpAfterError();

    program
        .command('preview')
        .description('Evaluate the condition sets and write a Previewed run')
        .option(
            '--as <userId>',
            'the admin initiating it, checked for Rollcall_Admin (local mode: the demo admin)'
        )
        .action(async (options: { as?: string }) => {
            const { json } = program.opts<GlobalOptions>();
            const target = findTarget({ url: program.opts<GlobalOptions>().url });
            const run = await preview(target, initiator(target, options.as));
            const { items } = await call<{ items: ItemView[] }>(target, 'GET', `/v1/runs/${run.runId}/items`);
            print(json, { run, items }, () =>
                [
                    `Preview ${run.name ?? run.runId} (${run.runId}, expires ${run.expiresAt ?? '?'})`,
                    `${run.counts.evaluated} users evaluated (those the condition sets' queries selected, not every user in the org), ${run.counts.eligible} eligible`,
                    run.error ? `Note: ${run.error}` : '',
                    table(
                        ['User', 'Email', 'Products', 'Sets'],
                        items.map((item) => [
                            item.name,
                            item.email ?? '',
                            item.products.join(', '),
                            item.matchedSets.join(', ')
                        ])
                    )
                ]
                    .filter(Boolean)
                    .join('\n')
            );
        });

    program
        .command('sync')
        .description('Preview, then send the invitations (progress bar, then a summary)')
        .option(
            '--as <userId>',
            'the admin initiating it, checked for Rollcall_Admin (local mode: the demo admin)'
        )
        .option('--notify-admins', 'send the audit email to the Rollcall admins too')
        .option('--recipient <email...>', 'extra audit email recipients')
        .action(async (options: { as?: string; notifyAdmins?: boolean; recipient?: string[] }) => {
            const { json } = program.opts<GlobalOptions>();
            const target = findTarget({ url: program.opts<GlobalOptions>().url });
            const initiatedBy = initiator(target, options.as);
            const previewed = await preview(target, initiatedBy);
            const { runId } = await call<{ runId: string }>(target, 'POST', '/v1/runs', {
                previewRunId: previewed.runId,
                initiatedBy,
                notify: { admins: options.notifyAdmins === true, recipients: options.recipient ?? [] }
            });
            const bar =
                json || !process.stderr.isTTY
                    ? undefined
                    : new SingleBar({ stream: process.stderr }, Presets.shades_classic);
            bar?.start(Math.max(previewed.counts.eligible, 1), 0);
            const run = await waitForRun<RunView>(
                target,
                runId,
                (r) => !['Running', 'Queued', 'Previewed'].includes(r.status),
                (r) => {
                    const progress = r.progress as { total?: number; done?: number } | undefined;
                    if (progress?.total !== undefined) bar?.setTotal(Math.max(progress.total, 1));
                    if (progress?.done !== undefined) bar?.update(progress.done);
                }
            );
            bar?.stop();
            const { items } = await call<{ items: ItemView[] }>(target, 'GET', `/v1/runs/${runId}/items`);
            const problems = items.filter((item) => item.status !== 'Invited');
            print(json, { run, problems }, () =>
                [
                    runSummary(run),
                    problems.length > 0
                        ? table(
                              ['User', 'Email', 'Status', 'Reason'],
                              problems.map((item) => [
                                  item.name,
                                  item.email ?? '',
                                  item.status ?? '',
                                  item.reason ?? ''
                              ])
                          )
                        : ''
                ]
                    .filter(Boolean)
                    .join('\n\n')
            );
        });

    program
        .command('explain')
        .description('Why a user is or is not eligible (user id, email or username)')
        .argument('<user>', 'user id, email or username')
        .action(async (key: string) => {
            const { json } = program.opts<GlobalOptions>();
            const target = findTarget({ url: program.opts<GlobalOptions>().url });
            const explanation = await call<Explanation>(
                target,
                'GET',
                `/v1/users/${encodeURIComponent(key)}/explain`
            );
            print(json, explanation, () => {
                const lines = [
                    `${String(explanation.user.Name ?? explanation.userId)} (${explanation.userId})${explanation.active ? '' : ' — inactive'}`
                ];
                for (const set of explanation.sets) {
                    lines.push(
                        `\nSet "${set.setName}": ${set.valid ? (set.matched ? 'matched' : 'not matched') : 'invalid, skipped'}${set.logic ? ` (logic ${set.logic})` : ''}`
                    );
                    for (const error of set.errors ?? []) lines.push(`  ! ${error.message}`);
                    for (const c of set.conditions) {
                        lines.push(
                            `  ${c.outcome ? '✓' : '✗'} ${c.number}. ${c.field} ${c.operator} ${c.value === undefined ? '' : JSON.stringify(c.value)} (actual: ${JSON.stringify(c.actual)})`
                        );
                    }
                }
                lines.push('');
                lines.push(
                    table(
                        ['Product', 'Status', 'Eligible', 'Why'],
                        explanation.products.map((p) => [
                            p.product,
                            p.status,
                            p.eligible ? 'yes' : 'no',
                            p.reasons.join('; ')
                        ])
                    )
                );
                return lines.join('\n');
            });
        });

    program
        .command('runs')
        .description('Recent runs')
        .option('--limit <n>', 'how many', '20')
        .action(async (options: { limit: string }) => {
            const { json } = program.opts<GlobalOptions>();
            const limit = Number(options.limit);
            if (!Number.isInteger(limit) || limit < 1 || limit > 200) {
                throw new AppError('VALIDATION_FAILED', '--limit must be a whole number from 1 to 200');
            }
            const target = findTarget({ url: program.opts<GlobalOptions>().url });
            const { runs } = await call<{ runs: RunView[] }>(target, 'GET', `/v1/runs?limit=${limit}`);
            print(json, { runs }, () => runsTable(runs));
        });
    return program;
}

if (require.main === module) {
    buildProgram()
        .parseAsync(process.argv)
        .catch((error: unknown) => {
            const json = process.argv.includes('--json');
            const code = isAppError(error) ? error.code : 'INTERNAL';
            if (json) console.log(JSON.stringify({ error: { code, message: describeError(error) } }));
            else console.error(`rollcall: ${describeError(error)}`);
            process.exit(1);
        });
}
