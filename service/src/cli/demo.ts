/** The local-mode demo `npm start` runs once: a preview, then its sync, then a summary. */
import { isAppError } from '../errors';
import type { RunningService } from '../main';
import { runSummary, table } from './format';

export async function runDemo(service: RunningService): Promise<void> {
    const { provisioning, localOrg } = service;
    const admin = String(localOrg?.ids.adminUserIds[0]);
    const active = provisioning.activeRunId();
    if (active) {
        console.log(`\nA run left unfinished (${active}) is being resumed; waiting for it first…`);
        await provisioning.waitForRun(active);
    }
    console.log('\nDemo: previewing a provisioning sync…');
    const preview = await provisioning.preview({ initiatedBy: admin });
    console.log(
        `Preview ${preview.runId}: ${preview.evaluated} users evaluated (those the condition sets' queries selected), ${preview.eligible} eligible.`
    );
    for (const set of preview.invalidSets)
        console.log(`  Skipped invalid set "${set.name}": ${set.reasons.join(' ')}`);
    if (preview.items.length > 0) {
        console.log(
            table(
                ['User', 'Email', 'Products', 'Sets'],
                preview.items
                    .slice(0, 5)
                    .map((item) => [
                        item.name,
                        item.email ?? '',
                        item.products.join(', '),
                        item.matchedSets.join(', ')
                    ])
            )
        );
        if (preview.eligible > 5) console.log(`  …and ${preview.eligible - 5} more`);
    }
    try {
        const { runId } = await provisioning.execute({
            previewRunId: preview.runId,
            initiatedBy: admin,
            notify: { admins: true }
        });
        console.log(`Sync ${runId} started; sending invitations…`);
        await provisioning.waitForRun(runId);
        const run = await provisioning.getRun(runId);
        console.log(`\n${runSummary(run)}`);
        if (run.error) console.log(`Note: ${run.error}`);
        console.log(
            `\nEmails: ${service.mailer.describe()}${service.config.mail.transport.kind === 'outbox' ? `/${runId}/` : ''}`
        );
    } catch (error) {
        if (isAppError(error) && error.code === 'RUN_IN_PROGRESS') {
            console.log(
                `A run is already in progress (${String(error.details?.runId)}); the demo sync is skipped.`
            );
            return;
        }
        throw error;
    }
}
