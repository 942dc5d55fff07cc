import { LightningElement, api, wire } from 'lwc';
import getRunDetail from '@salesforce/apex/RunHistoryController.getRunDetail';
import getOrgTimeZone from '@salesforce/apex/RunHistoryController.getOrgTimeZone';

const PROBLEM_STATUSES = ['Skipped', 'Failed'];

/**
 * One run: what it was (status, trigger, who, when, counts), what went wrong (the run's error, the
 * notification outcome, skipped and failed users with their reasons) and its items, a page at a time;
 * "Show only skipped and failed users" asks the org for those (c-preview-results), not the loaded page.
 */
export default class RunDetail extends LightningElement {
    detail;
    error;
    isLoading = true;
    /** The run's times are shown in the org's time zone, named, as History and the audit email give them. */
    @wire(getOrgTimeZone) orgTimeZone;
    onlyProblems = false;
    _runId;

    @api
    get runId() {
        return this._runId;
    }
    set runId(value) {
        this._runId = value;
        if (value) {
            this.load();
        }
    }

    async load() {
        this.isLoading = true;
        this.error = undefined;
        try {
            this.detail = await getRunDetail({ runId: this._runId });
        } catch (error) {
            this.error = error;
        } finally {
            this.isLoading = false;
        }
    }

    /**
     * The admin approved held removals in c-run-actions: the service sent them and wrote the run's counts
     * and outcome line again, so they are read again. Without the spinner: it would replace the run's
     * content, c-run-actions with it (which shows the approval it has just read itself).
     */
    async handleHeldApproved() {
        try {
            this.detail = await getRunDetail({ runId: this._runId });
        } catch (error) {
            this.error = error;
        }
    }

    get run() {
        return this.detail ? this.detail.run : undefined;
    }

    /** "Incremental: changes since RUN-…", "Full: …"; empty for a run recorded before evaluations had a kind. */
    get evaluation() {
        const run = this.run;
        if (!run || !run.evaluationKind) {
            return '';
        }
        return run.evaluationReason ? `${run.evaluationKind}: ${run.evaluationReason}` : run.evaluationKind;
    }

    /** The run's own extra recipients (the admins and the initiator are added when the audit goes out). */
    get extraRecipients() {
        return (this.run && this.run.recipients) || 'None';
    }

    /** The parsed notification outcome ({email: {status, recipients, to, detail}, slack}), or undefined. */
    get notification() {
        const text = this.run && this.run.notificationOutcome;
        if (!text) {
            return undefined;
        }
        try {
            const outcome = JSON.parse(text);
            return outcome && typeof outcome === 'object' ? outcome : undefined;
        } catch {
            return undefined;
        }
    }

    /** The addresses the audit went to, as the service recorded them: the count above is theirs. */
    get auditRecipients() {
        const email = this.notification && this.notification.email;
        return email && Array.isArray(email.to) ? email.to : [];
    }

    get hasAuditRecipients() {
        return this.auditRecipients.length > 0;
    }

    get title() {
        return this.run ? `${this.run.name}: ${this.run.status}` : 'Run';
    }

    get initiatedBy() {
        if (!this.run) {
            return '';
        }
        return this.run.initiatedBy || (this.run.triggerType === 'Scheduled' ? 'Schedule' : '—');
    }

    /**
     * What happened to the audit email and the Slack summary. The service records them as JSON
     * ({email: {status, recipients, to, detail}, slack: {status, detail}}); anything else is shown as written.
     */
    get notificationSummary() {
        const text = this.run && this.run.notificationOutcome;
        if (!text) {
            return '';
        }
        const outcome = this.notification;
        if (!outcome) {
            return text;
        }
        const parts = [];
        const { email, slack } = outcome;
        if (email) {
            // The addresses recorded, when the service recorded them (runs before it: the count it wrote).
            const count = Array.isArray(email.to) ? email.to.length : email.recipients || 0;
            const to = count === 1 ? '1 recipient' : `${count} recipients`;
            const what =
                email.status === 'sent' ? `Audit email sent to ${to}` : `Audit email ${email.status}`;
            parts.push(email.detail ? `${what} (${email.detail})` : what);
        }
        if (slack) {
            const what = slack.status === 'sent' ? 'Slack summary posted' : `Slack summary ${slack.status}`;
            parts.push(slack.detail ? `${what} (${slack.detail})` : what);
        }
        return parts.length > 0 ? `${parts.join('; ')}.` : text;
    }

    /** Skipped and failed users over every item of the run (the table shows a page at a time). */
    get problemCount() {
        if (!this.detail) {
            return 0;
        }
        return (this.detail.statusTotals || [])
            .filter((total) => PROBLEM_STATUSES.includes(total.label))
            .reduce((sum, total) => sum + total.count, 0);
    }

    get problemSummary() {
        return this.problemCount === 1
            ? '1 user was skipped or failed; see the reason below.'
            : `${this.problemCount} users were skipped or failed; see their reasons below.`;
    }

    get hasProblemItems() {
        return this.problemCount > 0;
    }

    get hasProblems() {
        const skipped = (this.detail && this.detail.skippedSets) || [];
        return Boolean(this.run && (this.run.error || this.problemCount > 0 || skipped.length > 0));
    }

    handleOnlyProblemsChange(event) {
        this.onlyProblems = event.detail.checked;
    }

    handleBack() {
        this.dispatchEvent(new CustomEvent('back'));
    }
}
