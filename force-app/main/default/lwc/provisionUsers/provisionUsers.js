import { LightningElement } from 'lwc';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import ConfirmDialog from 'c/confirmDialog';
import RunPoller, { POLL_INTERVAL_MS, formatElapsed, previewFailureMessage, previewState } from 'c/runPoller';
import getRunInProgress from '@salesforce/apex/ProvisioningController.getRunInProgress';
import getCurrentPreview from '@salesforce/apex/ProvisioningController.getCurrentPreview';
import startPreview from '@salesforce/apex/ProvisioningController.startPreview';
import provisionUsers from '@salesforce/apex/ProvisioningController.provisionUsers';
import getRunStatus from '@salesforce/apex/ProvisioningController.getRunStatus';
import getPreview from '@salesforce/apex/ProvisioningController.getPreview';

export { POLL_INTERVAL_MS };

/** "1 user", "2 users". */
function countOfUsers(count) {
    return `${count} ${count === 1 ? 'user' : 'users'}`;
}

/** "1 action", "12 actions". */
function countOfActions(count) {
    return `${count} ${count === 1 ? 'action' : 'actions'}`;
}

/** "10,000": a run's actions run into the thousands (the screen is in English, as its labels). */
function formatCount(count) {
    return Number(count || 0).toLocaleString('en-US');
}
const PERCENT = 100;
/** setTimeout fires at once beyond this delay, so a preview expiring later is not timed. */
const MAX_TIMER_DELAY_MS = 2147483647;

/**
 * Provision Users: Preview (who is eligible, for what, why) → choose who gets the audit email →
 * Provision Users (only with a fresh preview and no run in progress) → live progress read from the run
 * record → final counts and each user's outcome. The service executes the preview's own run record, so
 * the run followed is the preview once it starts.
 *
 * A preview is worth provisioning when it has invitations or actions in apps (DESIGN §10, §11): a set
 * granting access only, or a rule edit that only takes access away, plans actions and no invitation. The
 * actions are counted by c-run-actions, which reads them anyway (its `loaded` event): no second read.
 * Provision Users waits for that count, so the confirmation never leaves the actions out; when they cannot
 * be read (`loadfailed`), provisioning is still allowed (the run sends what the preview planned) and the
 * confirmation says they could not be counted.
 *
 * A run sends the invitations, then the actions in apps. The run record counts the users as they are
 * processed; the actions are counted only at the end, so while they are sent the screen asks the service
 * on each read (the every-read callout starts once the users are all processed or the service has named
 * actions) and shows a second line, "Sending 1,234 of 10,000 actions to apps".
 *
 * A preview is asynchronous: Apex starts it (the service answers at once with a Previewing run) and the
 * screen follows the run record until it is Previewed, Failed, or its heartbeat goes stale. Both a
 * preview being evaluated and a run in progress are found again after a page reload.
 */
export default class ProvisionUsers extends LightningElement {
    preview;
    /** The preview run while the service evaluates it (Previewing). */
    previewRun;
    run;
    runInProgress;
    notifyAdmins = false;
    recipients = [];
    recipientsValid = true;
    isPreviewing = false;
    isStarting = false;
    isLoading = true;
    error;
    expiryTimer;
    /** Set when the preview's expiry time passes while the screen is open. */
    previewExpired = false;
    /** A selector to focus after the next render, so keyboard and screen-reader users follow the result. */
    focusTarget;
    /** What c-run-actions last read for a run: {runId, totalActions, heldCount}. */
    actionTotals;
    /** The run whose actions c-run-actions could not read (their count is unknown). */
    actionsUnreadRunId;

    previewPoller = new RunPoller({
        read: (runId, withServiceProgress) =>
            getRunStatus({ runId, includeServiceProgress: withServiceProgress }),
        onUpdate: (run) => this.handlePreviewUpdate(run),
        onError: (error) => this.handlePreviewError(error)
    });

    runPoller = new RunPoller({
        read: (runId, withServiceProgress) =>
            getRunStatus({
                runId,
                includeServiceProgress: Boolean(withServiceProgress || this.sendingActions)
            }),
        onUpdate: (run) => this.handleRunUpdate(run),
        onError: (error) => {
            this.error = error;
        }
    });

    connectedCallback() {
        this.load();
    }

    disconnectedCallback() {
        this.previewPoller.stop();
        this.runPoller.stop();
        this.clearExpiryTimer();
    }

    renderedCallback() {
        if (this.focusTarget) {
            const target = this.template.querySelector(this.focusTarget);
            if (target) {
                this.focusTarget = undefined;
                target.focus();
            }
        }
    }

    /** A run in progress, and this admin's own preview being evaluated or still fresh, survive a reload. */
    async load() {
        try {
            const [inProgress, currentPreview] = await Promise.all([getRunInProgress(), getCurrentPreview()]);
            if (inProgress) {
                this.follow(inProgress);
            }
            if (currentPreview) {
                this.resumePreview(currentPreview);
            }
        } catch (error) {
            this.error = error;
        } finally {
            this.isLoading = false;
        }
    }

    resumePreview(run) {
        if (run.previewing) {
            this.isPreviewing = true;
            this.followPreview(run);
        } else if (run.freshPreview) {
            this.isPreviewing = true;
            this.loadPreview(run.id, false);
        }
    }

    get hasPreview() {
        return Boolean(this.preview);
    }

    get isFreshPreview() {
        const run = this.preview && this.preview.run;
        if (!run || !run.freshPreview || this.previewExpired) {
            return false;
        }
        return !run.expiresAt || new Date(run.expiresAt).getTime() > Date.now();
    }

    get isRunInProgress() {
        return Boolean(this.runInProgress);
    }

    get provisionDisabled() {
        return (
            !this.isFreshPreview ||
            this.isRunInProgress ||
            this.isPreviewing ||
            this.isStarting ||
            !this.recipientsValid ||
            this.actionsLoading ||
            (this.eligibleCount === 0 && this.actionCount === 0 && !this.actionsUnread)
        );
    }

    get previewDisabled() {
        return this.isPreviewing || this.isStarting || this.isRunInProgress;
    }

    get eligibleCount() {
        return this.preview ? this.preview.totalItems : 0;
    }

    /**
     * The actions in apps the preview plans, held ones included (provisioning records them Held, for an
     * admin to approve on the run). 0 until c-run-actions has read them, and for another run's counts.
     */
    get actionCount() {
        const totals = this.actionTotals;
        const run = this.preview && this.preview.run;
        return totals && run && totals.runId === run.id ? totals.totalActions || 0 : 0;
    }

    /** The actions of this preview have been read (counted), whatever their number. */
    get actionsCounted() {
        const totals = this.actionTotals;
        const run = this.preview && this.preview.run;
        return Boolean(totals && run && totals.runId === run.id);
    }

    /** c-run-actions could not read this preview's actions: how many is unknown (provisioning sends them). */
    get actionsUnread() {
        const run = this.preview && this.preview.run;
        return Boolean(run && this.actionsUnreadRunId === run.id && !this.actionsCounted);
    }

    /** A fresh preview whose actions in apps are still being read: the confirmation would leave them out. */
    get actionsLoading() {
        return this.isFreshPreview && !this.actionsCounted && !this.actionsUnread;
    }

    get heldActionCount() {
        return this.actionCount > 0 ? this.actionTotals.heldCount || 0 : 0;
    }

    /** What provisioning this preview sent, for the hint once it has: invitations, actions in apps, both. */
    get sentWhat() {
        if (this.actionCount === 0) {
            return 'invitations';
        }
        return this.eligibleCount === 0 ? 'actions in apps' : 'invitations and actions in apps';
    }

    get provisionHint() {
        if (this.isRunInProgress) {
            return 'A provisioning run is in progress. You can provision again when it has finished.';
        }
        if (this.isPreviewing) {
            return 'The preview is being evaluated. You can provision once it is ready.';
        }
        if (!this.hasPreview) {
            return 'Preview the users first: Provision Users sends what a fresh preview plans (invitations, actions in apps).';
        }
        if (this.showOutcome && this.runFinished) {
            // The preview was provisioned here: it is spent, not expired.
            return `${this.run.name} sent this preview's ${this.sentWhat}. Preview the users again to provision anyone new.`;
        }
        if (!this.isFreshPreview) {
            return 'This preview has expired or was already used. Preview the users again.';
        }
        if (this.actionsLoading) {
            return 'Reading the actions planned in apps…';
        }
        const users = this.eligibleCount;
        if (this.actionsUnread) {
            const invitations =
                users === 0 ? 'No user needs an invitation' : `Sends invitations to ${countOfUsers(users)}`;
            return `${invitations}; the actions planned in apps could not be counted, and the run sends them too.`;
        }
        const actions = this.actionCount;
        if (users === 0 && actions === 0) {
            return 'No user is eligible and no app has an action planned, so there is nothing to send.';
        }
        if (users === 0) {
            return `Sends ${countOfActions(actions)} to apps; no user needs an invitation.`;
        }
        if (actions === 0) {
            return `Sends invitations to ${countOfUsers(users)}.`;
        }
        return `Sends invitations to ${countOfUsers(users)} and ${countOfActions(actions)} to apps.`;
    }

    get hasPreviewProgress() {
        const run = this.previewRun;
        return Boolean(run && run.progressTotal);
    }

    get previewProgressPercent() {
        const run = this.previewRun;
        return this.hasPreviewProgress
            ? Math.min(PERCENT, Math.round(((run.progressDone || 0) / run.progressTotal) * PERCENT))
            : 0;
    }

    /** Status, elapsed time and, when the service said, how many users it has evaluated. */
    get previewProgressLabel() {
        const run = this.previewRun;
        if (!run) {
            return 'Starting the preview…';
        }
        const elapsed = formatElapsed(run.elapsedSeconds);
        if (this.hasPreviewProgress) {
            return `${run.name}: evaluated ${run.progressDone || 0} of ${run.progressTotal} users (${elapsed})`;
        }
        return `${run.name}: evaluating the condition sets (${elapsed})`;
    }

    get showProgress() {
        return Boolean(this.run);
    }

    /** Once the preview's run has started, its items show their outcome (To invite, Invited, …). */
    get showOutcome() {
        return Boolean(this.run && this.preview && this.preview.run && this.preview.run.id === this.run.id);
    }

    get resultsHeading() {
        return this.showOutcome ? 'Users of this run' : 'Eligible users';
    }

    /** Users with an outcome (invited, reminded, skipped, failed), as the service counted them on the run. */
    get processedCount() {
        return (this.run && this.run.processedCount) || 0;
    }

    /** The users the run handles (invitations, reminders, kept), as the service wrote them on the run. */
    get runUserCount() {
        return (this.run && this.run.itemCount) || 0;
    }

    get progressPercent() {
        const total = this.runUserCount;
        return total ? Math.min(PERCENT, Math.round((this.processedCount / total) * PERCENT)) : 0;
    }

    get progressLabel() {
        if (!this.runUserCount && !this.runFinished) {
            if (this.hasActionsProgress) {
                return 'No user needs an invitation.';
            }
            // Until the service's first progress write names the run's users (right after its re-check).
            return 'Checking the users again before sending…';
        }
        const outcome = this.run && this.run.outcomeSummary;
        const counted = `${this.processedCount} of ${this.runUserCount} users processed`;
        return outcome ? `${counted}: ${outcome}` : counted;
    }

    /**
     * The service is sending the run's actions in apps (it said how many when asked): the second line. The
     * final counts come with the run's outcome line once it finishes.
     */
    get hasActionsProgress() {
        const run = this.run;
        return Boolean(run && !run.finished && run.actionsTotal > 0);
    }

    get actionsProgressPercent() {
        const run = this.run;
        return this.hasActionsProgress
            ? Math.min(PERCENT, Math.round(((run.actionsDone || 0) / run.actionsTotal) * PERCENT))
            : 0;
    }

    get actionsProgressLabel() {
        if (!this.hasActionsProgress) {
            return '';
        }
        const run = this.run;
        const failed = run.actionsFailed ? ` (${formatCount(run.actionsFailed)} failed)` : '';
        const noun = run.actionsTotal === 1 ? 'action' : 'actions';
        return `Sending ${formatCount(run.actionsDone)} of ${formatCount(run.actionsTotal)} ${noun} to apps${failed}`;
    }

    /**
     * Whether each read of the run asks the service too: the record no longer moves once every user is
     * processed (or the run has none), while the actions in apps are sent, counted only by the service.
     */
    get sendingActions() {
        const run = this.run;
        if (!run || run.finished) {
            return false;
        }
        return this.hasActionsProgress || (this.runUserCount > 0 && this.processedCount >= this.runUserCount);
    }

    /** Reminders due go out with a manual run too (the settings are on Scheduled Provisioning). */
    get reminderNote() {
        const totals = (this.preview && this.preview.statusTotals) || [];
        const due = totals.find((total) => total.label === 'To remind');
        if (!due || this.showOutcome) {
            return '';
        }
        const reminders = due.count === 1 ? '1 reminder' : `${due.count} reminders`;
        return `This run also sends ${reminders} of invitations still unanswered. Reminders follow the settings on Scheduled Provisioning and apply to manual runs too.`;
    }

    get runFinished() {
        return Boolean(this.run && this.run.finished);
    }

    /** c-run-actions read the preview's actions in apps (again after each status change). */
    handleActionsLoaded(event) {
        const run = this.preview && this.preview.run;
        // A read of another run (answered after a new preview began) says nothing of this one's actions.
        if (run && event.detail && event.detail.runId === run.id) {
            this.actionTotals = event.detail;
        }
    }

    /** c-run-actions could not read them: provisioning is not blocked on a count it cannot have. */
    handleActionsLoadFailed(event) {
        this.actionsUnreadRunId = event.detail && event.detail.runId;
    }

    /** The confirmation names what is sent: invitations, actions in apps, or both. */
    get confirmation() {
        const users = this.eligibleCount;
        const actions = this.actionCount;
        const held = this.heldActionCount;
        if (this.actionsUnread) {
            return users === 0
                ? {
                      message:
                          'Send the actions planned in apps? They could not be counted here; the run sends what the preview planned. No user needs an invitation.',
                      confirmLabel: 'Send Actions'
                  }
                : {
                      message: `Send calendar authorization invitations to ${countOfUsers(users)}? The run also sends the actions planned in apps, which could not be counted here.`,
                      confirmLabel: 'Send Invitations and Actions'
                  };
        }
        const heldNote =
            held > 0
                ? ` The circuit breaker holds ${countOfActions(held)}: ${held === 1 ? 'it is' : 'they are'} recorded Held and sent only once an admin approves them on the run.`
                : '';
        if (actions === 0) {
            return {
                message: `Send calendar authorization invitations to ${countOfUsers(users)}?`,
                confirmLabel: 'Send Invitations'
            };
        }
        if (users === 0) {
            return {
                message: `Send ${countOfActions(actions)} to apps? No user needs an invitation.${heldNote}`,
                confirmLabel: 'Send Actions'
            };
        }
        return {
            message: `Send calendar authorization invitations to ${countOfUsers(users)}? The run also sends ${countOfActions(actions)} to apps.${heldNote}`,
            confirmLabel: 'Send Invitations and Actions'
        };
    }

    handleRecipientsChange(event) {
        const { notifyAdmins, recipients, valid } = event.detail;
        this.notifyAdmins = notifyAdmins;
        this.recipients = recipients;
        this.recipientsValid = valid;
    }

    recipientsAreValid() {
        const input = this.template.querySelector('c-recipients-input');
        return input ? input.validate() : true;
    }

    async handlePreview() {
        this.isPreviewing = true;
        this.error = undefined;
        this.run = undefined;
        this.previewRun = undefined;
        this.setPreview(undefined);
        this.focusTarget = '.preview-progress-heading';
        try {
            this.followPreview(await startPreview());
        } catch (error) {
            this.isPreviewing = false;
            this.error = error;
            await this.checkRunInProgress();
        }
    }

    followPreview(run) {
        this.previewRun = run;
        if (this.handlePreviewUpdate(run)) {
            this.previewPoller.start(run.id);
        }
    }

    /** Each read of the preview run; returns true while the service is still evaluating it. */
    handlePreviewUpdate(run) {
        this.previewRun = run;
        const state = previewState(run);
        if (state === 'ready') {
            this.loadPreview(run.id, true);
            return false;
        }
        if (state === 'working') {
            return true;
        }
        this.isPreviewing = false;
        this.previewRun = undefined;
        this.error = { body: { message: previewFailureMessage(run) } };
        return false;
    }

    handlePreviewError(error) {
        this.isPreviewing = false;
        this.previewRun = undefined;
        this.error = error;
    }

    async loadPreview(runId, moveFocus) {
        try {
            this.setPreview(await getPreview({ runId }));
            if (moveFocus) {
                this.focusTarget = '.results-heading';
            }
        } catch (error) {
            this.error = error;
        } finally {
            this.isPreviewing = false;
            this.previewRun = undefined;
        }
    }

    async handleProvision() {
        if (!this.recipientsAreValid() || this.provisionDisabled) {
            return;
        }
        const confirmed = await ConfirmDialog.open({
            label: 'Provision users',
            size: 'small',
            ...this.confirmation
        });
        if (!confirmed) {
            return;
        }
        this.isStarting = true;
        this.error = undefined;
        try {
            const run = await provisionUsers({
                previewRunId: this.preview.run.id,
                notifyAdmins: this.notifyAdmins,
                recipients: this.recipients
            });
            this.preview = { ...this.preview, run: { ...this.preview.run, freshPreview: false } };
            this.follow(run);
            this.focusTarget = '.progress-heading';
        } catch (error) {
            this.error = error;
            await this.checkRunInProgress();
        } finally {
            this.isStarting = false;
        }
    }

    async checkRunInProgress() {
        try {
            const inProgress = await getRunInProgress();
            if (inProgress) {
                this.follow(inProgress);
            }
        } catch {
            // The first error is the one to show.
        }
    }

    /** Shows the run and, until it finishes, re-reads its record (see c/runPoller for the pace). */
    follow(run) {
        this.run = run;
        this.runInProgress = run.finished ? undefined : run;
        this.runPoller.stop();
        if (!run.finished) {
            this.runPoller.start(run.id);
        }
    }

    handleRunUpdate(run) {
        const previous = this.run;
        if (
            !run.finished &&
            run.actionsTotal == null &&
            previous &&
            previous.id === run.id &&
            previous.actionsTotal != null
        ) {
            // A read without the service's word (best effort) keeps the actions' last progress on screen.
            this.run = {
                ...run,
                actionsDone: previous.actionsDone,
                actionsFailed: previous.actionsFailed,
                actionsTotal: previous.actionsTotal
            };
        } else {
            this.run = run;
        }
        if (!run.finished) {
            return true;
        }
        this.runInProgress = undefined;
        this.announce(run);
        if (this.showOutcome) {
            this.refreshOutcome(run.id);
        }
        return false;
    }

    async refreshOutcome(runId) {
        try {
            this.setPreview(await getPreview({ runId }));
        } catch (error) {
            this.error = error;
        }
    }

    announce(run) {
        const variant =
            run.status === 'Completed' ? 'success' : run.status === 'Failed' ? 'error' : 'warning';
        this.dispatchEvent(
            new ShowToastEvent({
                title: `Provisioning ${run.status.toLowerCase()}`,
                // The service's line, as History, the run detail, the audit email and Slack say it (a run
                // recorded before the line existed: its counts).
                message: run.outcomeSummary
                    ? `${run.outcomeSummary}.`
                    : `${run.invitedCount} invited, ${run.remindedCount || 0} reminded, ${run.skippedCount} skipped, ${run.failedCount} failed.`,
                variant
            })
        );
    }

    setPreview(detail) {
        this.preview = detail;
        this.previewExpired = false;
        this.clearExpiryTimer();
        const expiresAt = detail && detail.run && detail.run.freshPreview && detail.run.expiresAt;
        const delay = expiresAt ? new Date(expiresAt).getTime() - Date.now() : 0;
        if (delay > 0 && delay <= MAX_TIMER_DELAY_MS) {
            // eslint-disable-next-line @lwc/lwc/no-async-operation
            this.expiryTimer = setTimeout(() => {
                this.previewExpired = true;
            }, delay);
        }
    }

    clearExpiryTimer() {
        if (this.expiryTimer) {
            clearTimeout(this.expiryTimer);
            this.expiryTimer = undefined;
        }
    }
}
