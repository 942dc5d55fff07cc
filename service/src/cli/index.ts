/**
 * `npx rollcall preview|sync|explain <user>|runs [--json]`: the use cases in-process, on the configured
 * org (in local mode, on the local org's data folder). Human output by default, `--json` for scripts.
 * Logs go to stderr (LOG_LEVEL, default warn) so stdout stays clean.
 */
import { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { AppError, describeError, isAppError } from '../errors';
import { start, type RunningService } from '../main';
import { runSummary, table } from './format';

interface GlobalOptions {
    json?: boolean;
}

async function withService<T>(body: (service: RunningService) => Promise<T>): Promise<T> {
    const env = { ...process.env, PORT: '0', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' };
    const service = await start({
        env,
        timers: false,
        initialSweep: false,
        logToStderr: true,
        configure: (config) => {
            config.port = 0;
            // Nothing calls the CLI's in-process server: never expose it beyond this machine.
            config.host = '127.0.0.1';
            config.scheduler = 'off';
        }
    });
    try {
        return await body(service);
    } finally {
        await service.stop();
    }
}

function print(json: boolean | undefined, data: unknown, human: () => string): void {
    console.log(json ? JSON.stringify(data, null, 2) : human());
}

export function buildProgram(): Command {
    const program = new Command();
    program
        .name('rollcall')
        .description('Rollcall provisioning: preview, sync, explain, runs')
        .option('--json', 'machine-readable output')
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
            await withService(async ({ provisioning, localOrg }) => {
                const initiatedBy = options.as ?? localOrg?.ids.adminUserIds[0];
                const preview = await provisioning.preview({ initiatedBy });
                print(json, preview, () =>
                    [
                        `Preview ${preview.runId} (expires ${preview.expiresAt})`,
                        `${preview.evaluated} candidates evaluated, ${preview.eligible} eligible`,
                        ...preview.invalidSets.map(
                            (set) => `Skipped invalid set "${set.name}": ${set.reasons.join(' ')}`
                        ),
                        table(
                            ['User', 'Email', 'Products', 'Sets'],
                            preview.items.map((item) => [
                                item.name,
                                item.email ?? '',
                                item.products.join(', '),
                                item.matchedSets.join(', ')
                            ])
                        ),
                        preview.hasMore ? `…first ${preview.items.length} of ${preview.eligible}` : ''
                    ]
                        .filter(Boolean)
                        .join('\n')
                );
            });
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
            await withService(async ({ provisioning, localOrg }) => {
                const initiatedBy = options.as ?? localOrg?.ids.adminUserIds[0];
                const preview = await provisioning.preview({ initiatedBy });
                const { runId } = await provisioning.execute({
                    previewRunId: preview.runId,
                    initiatedBy: String(initiatedBy),
                    notify: { admins: options.notifyAdmins === true, recipients: options.recipient ?? [] }
                });
                const bar =
                    json || !process.stderr.isTTY
                        ? undefined
                        : new SingleBar({ stream: process.stderr }, Presets.shades_classic);
                bar?.start(Math.max(preview.eligible, 1), 0);
                const unsubscribe = provisioning.onProgress((progress) => {
                    bar?.setTotal(Math.max(progress.total, 1));
                    bar?.update(progress.done);
                });
                await provisioning.waitForRun(runId);
                unsubscribe();
                bar?.stop();
                const run = await provisioning.getRun(runId);
                const items = (await provisioning.runItems(runId)).filter(
                    (item) => item.Status__c !== 'Invited'
                );
                print(json, { run, problems: items }, () =>
                    [
                        runSummary(run),
                        items.length > 0
                            ? table(
                                  ['User', 'Email', 'Status', 'Reason'],
                                  items.map((item) => [
                                      item.User__r?.Name ?? item.User__c,
                                      item.Email__c ?? '',
                                      item.Status__c ?? '',
                                      item.Reason__c ?? ''
                                  ])
                              )
                            : ''
                    ]
                        .filter(Boolean)
                        .join('\n\n')
                );
            });
        });

    program
        .command('explain')
        .description('Why a user is or is not eligible (user id, email or username)')
        .argument('<user>', 'user id, email or username')
        .action(async (key: string) => {
            const { json } = program.opts<GlobalOptions>();
            await withService(async ({ provisioning }) => {
                const explanation = await provisioning.explain(key);
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
            await withService(async ({ provisioning }) => {
                const runs = await provisioning.listRuns(limit);
                print(json, { runs }, () =>
                    table(
                        [
                            'Run',
                            'Id',
                            'Status',
                            'Trigger',
                            'Started',
                            'Eligible',
                            'Invited',
                            'Skipped',
                            'Failed'
                        ],
                        runs.map((r) => [
                            r.name ?? '',
                            r.runId,
                            r.status,
                            r.trigger ?? '',
                            r.startedAt ?? '',
                            r.counts.eligible,
                            r.counts.invited,
                            r.counts.skipped,
                            r.counts.failed
                        ])
                    )
                );
            });
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
