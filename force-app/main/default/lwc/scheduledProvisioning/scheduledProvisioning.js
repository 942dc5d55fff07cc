import { LightningElement } from 'lwc';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import getSettings from '@salesforce/apex/ScheduledProvisioningController.getSettings';
import saveSettings from '@salesforce/apex/ScheduledProvisioningController.saveSettings';
import RunPoller, { formatElapsed, previewFailureMessage, previewState } from 'c/runPoller';
import startPreview from '@salesforce/apex/ProvisioningController.startScheduleCheck';
import getRunStatus from '@salesforce/apex/ProvisioningController.getRunStatus';
import getPreview from '@salesforce/apex/ProvisioningController.getPreview';

export const HOURLY = 'Hourly';
export const DAILY = 'Daily';
export const WEEKLY = 'Weekly';
const DEFAULT_TIME = '07:00';
const SLACK_CHANNEL_PATTERN = /^(#[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{8,})$/;

const FREQUENCY_OPTIONS = [
    { label: 'Hourly', value: HOURLY },
    { label: 'Daily', value: DAILY },
    { label: 'Weekly', value: WEEKLY }
];

const DAY_OPTIONS = [
    { label: 'Monday', value: 'MON' },
    { label: 'Tuesday', value: 'TUE' },
    { label: 'Wednesday', value: 'WED' },
    { label: 'Thursday', value: 'THU' },
    { label: 'Friday', value: 'FRI' },
    { label: 'Saturday', value: 'SAT' },
    { label: 'Sunday', value: 'SUN' }
];

/** lightning-input type="time" speaks HH:mm:ss.SSS; the setting stores HH:MM. */
export function toSettingTime(inputValue) {
    return inputValue ? String(inputValue).slice(0, 5) : undefined;
}

export function toInputTime(settingTime) {
    return settingTime ? `${settingTime}:00.000` : undefined;
}

/** "08:30" → "8:30 AM", as the time picker shows it (the setting stores 24-hour HH:MM). */
export function toDisplayTime(settingTime) {
    const match = /^(\d{2}):(\d{2})$/.exec(settingTime || '');
    if (!match) {
        return settingTime || '';
    }
    const hours = Number(match[1]);
    const suffix = hours < 12 ? 'AM' : 'PM';
    return `${hours % 12 === 0 ? 12 : hours % 12}:${match[2]} ${suffix}`;
}

/** What decides when the schedule runs: a change to any of these makes the saved next run stale. */
const TIMING_FIELDS = ['enabled', 'frequency', 'scheduleTime', 'day'];

/**
 * Scheduled Provisioning: how often (hourly, daily at a time, weekly on a day at a time, in the org's
 * time zone), who gets the audit email, the Slack channel, and the enable toggle. Save Changes stores
 * the settings and (re)schedules the job; turning it off aborts the job. Preview Users shows who the
 * next run would invite: the service evaluates in the background and the screen follows the preview
 * run's record (c/runPoller) until it is ready.
 */
export default class ScheduledProvisioning extends LightningElement {
    frequency = DAILY;
    scheduleTime = DEFAULT_TIME;
    day = 'MON';
    recipients = [];
    notifyAdmins = false;
    slackChannel = '';
    /** Whether the service has a Slack token; undefined when it could not be asked. */
    slackConfigured;
    reminderDays = 0;
    reminderMax = 0;
    enabled = false;
    timeZone;
    nextRunAt;

    isLoading = true;
    isSaving = false;
    isPreviewing = false;
    preview;
    /** The preview run while the service evaluates it. */
    previewRun;
    error;
    formErrors = {};

    frequencyOptions = FREQUENCY_OPTIONS;
    dayOptions = DAY_OPTIONS;

    previewPoller = new RunPoller({
        read: (runId, withServiceProgress) =>
            getRunStatus({ runId, includeServiceProgress: withServiceProgress }),
        onUpdate: (run) => this.handlePreviewUpdate(run),
        onError: (error) => this.endPreview(error)
    });

    connectedCallback() {
        this.load();
    }

    disconnectedCallback() {
        this.previewPoller.stop();
    }

    async load() {
        try {
            this.apply(await getSettings());
        } catch (error) {
            this.error = error;
        } finally {
            this.isLoading = false;
        }
    }

    apply(settings) {
        this.frequency = settings.frequency || DAILY;
        this.scheduleTime = settings.scheduleTime || DEFAULT_TIME;
        this.day = settings.day || 'MON';
        this.recipients = settings.recipients || [];
        this.notifyAdmins = settings.notifyAdmins === true;
        this.slackChannel = settings.slackChannel || '';
        this.reminderDays = settings.reminderDays || 0;
        this.reminderMax = settings.reminderMax || 0;
        this.enabled = settings.enabled === true;
        this.timeZone = settings.timeZone;
        this.nextRunAt = settings.nextRunAt;
        // Only getSettings asks the service; a save answers without it (null) and the known answer stays.
        if (settings.slackConfigured === true || settings.slackConfigured === false) {
            this.slackConfigured = settings.slackConfigured;
        }
        this.savedTiming = this.timing();
    }

    /** Said under the Slack channel when the service has no Slack token: a channel set here posts nothing. */
    get slackHint() {
        return this.slackConfigured === false
            ? 'Slack is not set up in the Rollcall service (no SLACK_BOT_TOKEN): no summary is posted, whatever the channel.'
            : '';
    }

    timing() {
        return TIMING_FIELDS.map((field) => String(this[field])).join('|');
    }

    /** The form's timing differs from the saved schedule: its next run is not the one shown. */
    get timingChanged() {
        return this.savedTiming !== undefined && this.timing() !== this.savedTiming;
    }

    get showTime() {
        return this.frequency !== HOURLY;
    }

    get showDay() {
        return this.frequency === WEEKLY;
    }

    get timeInputValue() {
        return toInputTime(this.scheduleTime);
    }

    get timeLabel() {
        return this.timeZone ? `Time (${this.timeZone})` : 'Time';
    }

    get scheduleSummary() {
        if (!this.enabled) {
            return 'Scheduled provisioning is off.';
        }
        const zone = this.timeZone ? ` (${this.timeZone})` : '';
        if (this.frequency === HOURLY) {
            return 'Runs every hour, on the hour.';
        }
        const time = toDisplayTime(this.scheduleTime);
        if (this.frequency === DAILY) {
            return `Runs every day at ${time}${zone}.`;
        }
        const dayLabel = (DAY_OPTIONS.find((option) => option.value === this.day) || {}).label;
        return `Runs every ${dayLabel} at ${time}${zone}.`;
    }

    /** The saved schedule's next run, shown in the org's time zone, only while the form still says it. */
    get hasNextRun() {
        return this.enabled && Boolean(this.nextRunAt) && !this.timingChanged;
    }

    get showUnsavedTiming() {
        return this.timingChanged;
    }

    get previewProgressLabel() {
        const run = this.previewRun;
        if (!run) {
            return 'Starting the preview…';
        }
        const elapsed = formatElapsed(run.elapsedSeconds);
        return run.progressTotal
            ? `Evaluated ${run.progressDone || 0} of ${run.progressTotal} users (${elapsed})`
            : `Evaluating the condition sets (${elapsed})`;
    }

    get busy() {
        return this.isSaving || this.isPreviewing || this.isLoading;
    }

    handleFrequencyChange(event) {
        this.frequency = event.detail.value;
    }

    handleTimeChange(event) {
        this.scheduleTime = toSettingTime(event.detail.value);
        this.formErrors = { ...this.formErrors, time: undefined };
        this.showFieldErrors();
    }

    handleDayChange(event) {
        this.day = event.detail.value;
    }

    handleRecipientsChange(event) {
        this.notifyAdmins = event.detail.notifyAdmins;
        this.recipients = event.detail.recipients;
    }

    handleReminderDaysChange(event) {
        this.reminderDays = event.detail.value;
    }

    handleReminderMaxChange(event) {
        this.reminderMax = event.detail.value;
    }

    handleSlackChange(event) {
        this.slackChannel = event.detail.value;
        this.formErrors = { ...this.formErrors, slack: this.computeSlackError() };
        this.showFieldErrors();
    }

    handleEnabledChange(event) {
        this.enabled = event.detail.checked;
    }

    computeSlackError() {
        const channel = (this.slackChannel || '').trim();
        return channel && !SLACK_CHANNEL_PATTERN.test(channel)
            ? 'Enter #channel-name (lowercase, no spaces) or a channel ID such as C0123456789.'
            : undefined;
    }

    /**
     * Field errors go through the base components: they show the message under the field, mark it
     * invalid and tie the message to it for screen readers.
     */
    showFieldErrors() {
        [
            ['lightning-input.slack', this.formErrors.slack],
            ['lightning-input.time', this.formErrors.time]
        ].forEach(([selector, message]) => {
            const input = this.template.querySelector(selector);
            if (input) {
                input.setCustomValidity(message || '');
                input.reportValidity();
            }
        });
    }

    validate() {
        const recipientsValid = this.template.querySelector('c-recipients-input').validate();
        this.formErrors = {
            slack: this.computeSlackError(),
            time: this.showTime && !this.scheduleTime ? 'Enter the time of day.' : undefined
        };
        this.showFieldErrors();
        return recipientsValid && !this.formErrors.slack && !this.formErrors.time;
    }

    async handleSave() {
        if (!this.validate()) {
            return;
        }
        this.isSaving = true;
        this.error = undefined;
        try {
            const saved = await saveSettings({
                settings: {
                    frequency: this.frequency,
                    scheduleTime: this.showTime ? this.scheduleTime : null,
                    day: this.showDay ? this.day : null,
                    recipients: this.recipients,
                    slackChannel: (this.slackChannel || '').trim(),
                    reminderDays: toWholeNumber(this.reminderDays),
                    reminderMax: toWholeNumber(this.reminderMax),
                    notifyAdmins: this.notifyAdmins,
                    enabled: this.enabled
                }
            });
            this.apply(saved);
            this.dispatchEvent(
                new ShowToastEvent({
                    title: saved.enabled ? 'Scheduled provisioning saved' : 'Scheduled provisioning is off',
                    message: saved.enabled ? this.scheduleSummary : 'The scheduled job was removed.',
                    variant: 'success'
                })
            );
        } catch (error) {
            this.error = error;
        } finally {
            this.isSaving = false;
        }
    }

    async handlePreview() {
        this.isPreviewing = true;
        this.error = undefined;
        this.preview = undefined;
        this.previewRun = undefined;
        try {
            const run = await startPreview();
            if (this.handlePreviewUpdate(run)) {
                this.previewPoller.start(run.id);
            }
        } catch (error) {
            this.endPreview(error);
        }
    }

    /** Each read of the preview run; returns true while the service is still evaluating it. */
    handlePreviewUpdate(run) {
        this.previewRun = run;
        const state = previewState(run);
        if (state === 'ready') {
            this.loadPreview(run.id);
        } else if (state === 'failed') {
            this.endPreview({ body: { message: previewFailureMessage(run) } });
        }
        return state === 'working';
    }

    async loadPreview(runId) {
        try {
            this.preview = await getPreview({ runId });
            this.endPreview(undefined);
        } catch (error) {
            this.endPreview(error);
        }
    }

    endPreview(error) {
        this.isPreviewing = false;
        this.previewRun = undefined;
        this.error = error;
    }
}

/** A number input's value (a string, or empty) as Apex's Integer: empty means 0 (no reminders). */
function toWholeNumber(value) {
    const number = Number(value);
    return Number.isFinite(number) && value !== '' && value !== null ? Math.trunc(number) : 0;
}
