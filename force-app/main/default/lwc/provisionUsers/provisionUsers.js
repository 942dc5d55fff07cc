import { LightningElement } from 'lwc';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import LightningConfirm from 'lightning/confirm';
import getRunInProgress from '@salesforce/apex/ProvisioningController.getRunInProgress';
import previewUsers from '@salesforce/apex/ProvisioningController.previewUsers';
import provisionUsers from '@salesforce/apex/ProvisioningController.provisionUsers';
import getRunStatus from '@salesforce/apex/ProvisioningController.getRunStatus';
import getPreview from '@salesforce/apex/ProvisioningController.getPreview';

export const POLL_INTERVAL_MS = 2000;
const PERCENT = 100;
/** setTimeout fires at once beyond this delay, so a preview expiring later is not timed. */
const MAX_TIMER_DELAY_MS = 2147483647;

/**
 * Provision Users: Preview (who is eligible, for what, why) → choose who gets the audit email →
 * Provision Users (only with a fresh preview and no run in progress) → live progress read from the run
 * record → final counts and each user's outcome. The service executes the preview's own run record, so
 * the run followed is the preview once it starts.
 */
export default class ProvisionUsers extends LightningElement {
    preview;
    run;
    runInProgress;
    notifyAdmins = false;
    recipients = [];
    recipientsValid = true;
    isPreviewing = false;
    isStarting = false;
    isLoading = true;
    error;
    pollTimer;
    expiryTimer;
    /** Set when the preview's expiry time passes while the screen is open. */
    previewExpired = false;
    /** A selector to focus after the next render, so keyboard and screen-reader users follow the result. */
    focusTarget;

    connectedCallback() {
        this.loadRunInProgress();
    }

    disconnectedCallback() {
        this.stopPolling();
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

    async loadRunInProgress() {
        try {
            const inProgress = await getRunInProgress();
            if (inProgress) {
                this.follow(inProgress);
            }
        } catch (error) {
            this.error = error;
        } finally {
            this.isLoading = false;
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
            this.eligibleCount === 0
        );
    }

    get previewDisabled() {
        return this.isPreviewing || this.isStarting || this.isRunInProgress;
    }

    get eligibleCount() {
        return this.preview ? this.preview.totalItems : 0;
    }

    get provisionHint() {
        if (this.isRunInProgress) {
            return 'A provisioning run is in progress. You can provision again when it has finished.';
        }
        if (!this.hasPreview) {
            return 'Preview the users first: Provision Users sends the invitations of a fresh preview.';
        }
        if (!this.isFreshPreview) {
            return 'This preview has expired or was already used. Preview the users again.';
        }
        if (this.eligibleCount === 0) {
            return 'No user is eligible, so there is nothing to send.';
        }
        return `Sends invitations to ${this.eligibleCount} users.`;
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

    get processedCount() {
        if (!this.run) {
            return 0;
        }
        return (this.run.invitedCount || 0) + (this.run.skippedCount || 0) + (this.run.failedCount || 0);
    }

    get progressPercent() {
        const total = this.run && this.run.eligibleCount;
        return total ? Math.min(PERCENT, Math.round((this.processedCount / total) * PERCENT)) : 0;
    }

    get progressLabel() {
        return `${this.processedCount} of ${(this.run && this.run.eligibleCount) || 0} users processed`;
    }

    get runFinished() {
        return Boolean(this.run && this.run.finished);
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
        try {
            this.setPreview(await previewUsers());
            this.focusTarget = '.results-heading';
        } catch (error) {
            this.setPreview(undefined);
            this.error = error;
            await this.checkRunInProgress();
        } finally {
            this.isPreviewing = false;
        }
    }

    async handleProvision() {
        if (!this.recipientsAreValid() || this.provisionDisabled) {
            return;
        }
        const confirmed = await LightningConfirm.open({
            message: `Send calendar authorization invitations to ${this.eligibleCount} users?`,
            label: 'Provision users',
            theme: 'info',
            variant: 'header'
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

    /** Shows the run and, until it finishes, re-reads its record every POLL_INTERVAL_MS. */
    follow(run) {
        this.run = run;
        this.runInProgress = run.finished ? undefined : run;
        this.stopPolling();
        if (!run.finished) {
            // eslint-disable-next-line @lwc/lwc/no-async-operation
            this.pollTimer = setInterval(() => this.poll(), POLL_INTERVAL_MS);
        }
    }

    async poll() {
        try {
            const run = await getRunStatus({ runId: this.run.id });
            this.run = run;
            if (run.finished) {
                this.stopPolling();
                this.runInProgress = undefined;
                this.announce(run);
                if (this.showOutcome) {
                    this.setPreview(await getPreview({ runId: run.id }));
                }
            }
        } catch (error) {
            this.stopPolling();
            this.error = error;
        }
    }

    announce(run) {
        const variant =
            run.status === 'Completed' ? 'success' : run.status === 'Failed' ? 'error' : 'warning';
        this.dispatchEvent(
            new ShowToastEvent({
                title: `Provisioning ${run.status.toLowerCase()}`,
                message: `${run.invitedCount} invited, ${run.skippedCount} skipped, ${run.failedCount} failed.`,
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

    stopPolling() {
        if (this.pollTimer) {
            clearInterval(this.pollTimer);
            this.pollTimer = undefined;
        }
    }
}
