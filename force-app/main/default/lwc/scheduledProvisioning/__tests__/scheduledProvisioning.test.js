import { createElement } from 'lwc';
import ScheduledProvisioning, { toDisplayTime, toInputTime, toSettingTime } from 'c/scheduledProvisioning';
import getSettings from '@salesforce/apex/ScheduledProvisioningController.getSettings';
import saveSettings from '@salesforce/apex/ScheduledProvisioningController.saveSettings';
import { POLL_INTERVAL_MS } from 'c/runPoller';
import startPreview from '@salesforce/apex/ProvisioningController.startScheduleCheck';
import getRunStatus from '@salesforce/apex/ProvisioningController.getRunStatus';
import getPreview from '@salesforce/apex/ProvisioningController.getPreview';

const mockSettings = require('./data/settings.json');
const mockPreview = require('./data/previewDetail.json');

jest.mock('@salesforce/apex/ScheduledProvisioningController.getSettings', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex/ScheduledProvisioningController.saveSettings', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex/ProvisioningController.startScheduleCheck', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex/ProvisioningController.getRunStatus', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex/ProvisioningController.getPreview', () => ({ default: jest.fn() }), {
    virtual: true
});

const PREVIEWING_RUN = {
    id: 'a01000000000001AAA',
    name: 'RUN-000042',
    status: 'Previewing',
    previewing: true,
    stalled: false,
    elapsedSeconds: 3
};

const SHOW_TOAST_EVENT = 'lightning__showtoast';

async function flushPromises() {
    for (let i = 0; i < 5; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

async function createScreen() {
    const element = createElement('c-scheduled-provisioning', { is: ScheduledProvisioning });
    document.body.appendChild(element);
    await flushPromises();
    return element;
}

function query(element, selector) {
    return element.shadowRoot.querySelector(selector);
}

/** Spies on a base component's custom validity, which is how field errors are shown. */
function spyOnValidity(element, selector) {
    const input = query(element, selector);
    input.setCustomValidity = jest.fn();
    input.reportValidity = jest.fn();
    return input;
}

function change(element, selector, detail) {
    query(element, selector).dispatchEvent(new CustomEvent('change', { detail }));
    return flushPromises();
}

describe('c-scheduled-provisioning', () => {
    beforeEach(() => {
        getSettings.mockResolvedValue(mockSettings);
    });

    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
    });

    it('converts between the time input and the stored HH:MM', () => {
        expect(toSettingTime('07:30:00.000')).toBe('07:30');
        expect(toInputTime('07:30')).toBe('07:30:00.000');
        expect(toSettingTime('')).toBeUndefined();
        expect(toInputTime(undefined)).toBeUndefined();
    });

    it('shows the saved schedule in the org time zone with the next run', async () => {
        const element = await createScreen();
        expect(query(element, 'lightning-input.enabled').checked).toBe(true);
        expect(query(element, 'lightning-radio-group.frequency').value).toBe('Weekly');
        expect(query(element, 'lightning-combobox.day').value).toBe('TUE');
        expect(query(element, 'lightning-input.time').value).toBe('07:30:00.000');
        expect(query(element, 'lightning-input.time').label).toBe('Time (Europe/Paris)');
        expect(query(element, 'lightning-input.slack').value).toBe('#rollcall');
        expect(query(element, 'c-recipients-input').recipients).toEqual(['ops@example.com']);
        expect(query(element, '.schedule-summary').textContent).toContain(
            'Runs every Tuesday at 7:30 AM (Europe/Paris).'
        );
        const nextRun = query(element, 'lightning-formatted-date-time');
        expect(nextRun.value).toBe(mockSettings.nextRunAt);
        // The next run in the org's zone, named, as the summary and the audit email give times.
        expect(nextRun.timeZone).toBe('Europe/Paris');
        expect(nextRun.timeZoneName).toBe('short');
    });

    it('says the times as the 12-hour picker does', () => {
        expect(toDisplayTime('00:05')).toBe('12:05 AM');
        expect(toDisplayTime('08:30')).toBe('8:30 AM');
        expect(toDisplayTime('12:00')).toBe('12:00 PM');
        expect(toDisplayTime('18:45')).toBe('6:45 PM');
    });

    it('does not show the saved next run once the timing is changed and not saved', async () => {
        const element = await createScreen();
        expect(query(element, '.unsaved-timing')).toBeNull();
        await change(element, 'lightning-radio-group.frequency', { value: 'Hourly' });
        expect(query(element, 'lightning-formatted-date-time')).toBeNull();
        expect(query(element, '.unsaved-timing').textContent).toContain('Save Changes');
        await change(element, 'lightning-radio-group.frequency', { value: 'Weekly' });
        expect(query(element, 'lightning-formatted-date-time')).not.toBeNull();
        expect(query(element, '.unsaved-timing')).toBeNull();
    });

    it('shows the reminder settings, off by default', async () => {
        getSettings.mockResolvedValue({ ...mockSettings, reminderDays: undefined, reminderMax: undefined });
        const element = await createScreen();
        expect(query(element, 'lightning-input.reminder-days').value).toBe(0);
        expect(query(element, 'lightning-input.reminder-max').value).toBe(0);
    });

    it('says the reminders act on manual runs too', async () => {
        const element = await createScreen();
        expect(query(element, '.reminder-scope').textContent).toContain('manual runs from Provision Users');
    });

    it('says when Slack is not set up in the service, and nothing when it is or is unknown', async () => {
        getSettings.mockResolvedValue({ ...mockSettings, slackConfigured: false });
        const unset = await createScreen();
        expect(query(unset, '.slack-hint').textContent).toContain(
            'Slack is not set up in the Rollcall service'
        );

        getSettings.mockResolvedValue({ ...mockSettings, slackConfigured: true });
        expect(query(await createScreen(), '.slack-hint')).toBeNull();
        getSettings.mockResolvedValue({ ...mockSettings, slackConfigured: null });
        expect(query(await createScreen(), '.slack-hint')).toBeNull();
    });

    it('hides the day for daily and the time for hourly', async () => {
        const element = await createScreen();
        await change(element, 'lightning-radio-group.frequency', { value: 'Daily' });
        expect(query(element, 'lightning-combobox.day')).toBeNull();
        expect(query(element, 'lightning-input.time')).not.toBeNull();
        expect(query(element, '.schedule-summary').textContent).toContain('Runs every day at 7:30 AM');
        await change(element, 'lightning-radio-group.frequency', { value: 'Hourly' });
        expect(query(element, 'lightning-input.time')).toBeNull();
        expect(query(element, '.schedule-summary').textContent).toContain('every hour');
    });

    it('saves the changes and shows what was scheduled', async () => {
        saveSettings.mockImplementation(({ settings }) =>
            Promise.resolve({ ...settings, timeZone: 'Europe/Paris', nextRunAt: '2026-11-23T17:45:00.000Z' })
        );
        const element = await createScreen();
        const toast = jest.fn();
        element.addEventListener(SHOW_TOAST_EVENT, toast);
        await change(element, 'lightning-radio-group.frequency', { value: 'Daily' });
        await change(element, 'lightning-input.time', { value: '18:45:00.000' });
        await change(element, 'lightning-input.slack', { value: ' #provisioning ' });
        await change(element, 'lightning-input.reminder-days', { value: '3' });
        await change(element, 'lightning-input.reminder-max', { value: '2' });
        await change(element, 'c-recipients-input', {
            notifyAdmins: false,
            recipients: ['ops@example.com', 'it@example.com'],
            valid: true
        });
        query(element, 'lightning-button.save').click();
        await flushPromises();

        expect(saveSettings).toHaveBeenCalledWith({
            settings: {
                frequency: 'Daily',
                scheduleTime: '18:45',
                day: null,
                recipients: ['ops@example.com', 'it@example.com'],
                slackChannel: '#provisioning',
                reminderDays: 3,
                reminderMax: 2,
                notifyAdmins: false,
                enabled: true
            }
        });
        expect(toast.mock.calls[0][0].detail).toMatchObject({
            title: 'Scheduled provisioning saved',
            message: 'Runs every day at 6:45 PM (Europe/Paris).',
            variant: 'success'
        });
    });

    it('turning it off saves enabled false and says the job was removed', async () => {
        saveSettings.mockImplementation(({ settings }) => Promise.resolve({ ...settings, nextRunAt: null }));
        const element = await createScreen();
        const toast = jest.fn();
        element.addEventListener(SHOW_TOAST_EVENT, toast);
        await change(element, 'lightning-input.enabled', { checked: false });
        query(element, 'lightning-button.save').click();
        await flushPromises();
        expect(saveSettings.mock.calls[0][0].settings.enabled).toBe(false);
        expect(toast.mock.calls[0][0].detail.title).toBe('Scheduled provisioning is off');
        expect(query(element, '.schedule-summary').textContent).toContain('off');
    });

    it('refuses a Slack channel that is not one, as typed and on save', async () => {
        const element = await createScreen();
        const slack = spyOnValidity(element, 'lightning-input.slack');
        await change(element, 'lightning-input.slack', { value: 'Rollcall Alerts' });
        expect(slack.setCustomValidity).toHaveBeenLastCalledWith(expect.stringContaining('#channel-name'));
        expect(slack.reportValidity).toHaveBeenCalled();
        query(element, 'lightning-button.save').click();
        await flushPromises();
        expect(saveSettings).not.toHaveBeenCalled();
        expect(slack.setCustomValidity).toHaveBeenLastCalledWith(expect.stringContaining('#channel-name'));
        await change(element, 'lightning-input.slack', { value: 'C0123456789' });
        expect(slack.setCustomValidity).toHaveBeenLastCalledWith('');
    });

    it('asks for a time for daily and weekly runs', async () => {
        const element = await createScreen();
        const time = spyOnValidity(element, 'lightning-input.time');
        await change(element, 'lightning-input.time', { value: '' });
        expect(time.setCustomValidity).toHaveBeenLastCalledWith('');
        query(element, 'lightning-button.save').click();
        await flushPromises();
        expect(time.setCustomValidity).toHaveBeenLastCalledWith('Enter the time of day.');
        expect(time.reportValidity).toHaveBeenCalled();
        expect(saveSettings).not.toHaveBeenCalled();
    });

    it('shows the Apex error when saving fails', async () => {
        saveSettings.mockRejectedValue({ body: { message: 'The schedule could not be set: no access.' } });
        const element = await createScreen();
        query(element, 'lightning-button.save').click();
        await flushPromises();
        expect(query(element, 'c-error-panel').errors.body.message).toContain('could not be set');
    });

    it('shows the Apex error when the settings cannot be loaded', async () => {
        getSettings.mockRejectedValue({ body: { message: 'You need the Rollcall Admin permission set.' } });
        const element = await createScreen();
        expect(query(element, 'c-error-panel')).not.toBeNull();
    });

    it('Preview Users follows the preview until the service has evaluated it, then shows who the next run would invite', async () => {
        jest.useFakeTimers();
        startPreview.mockResolvedValue(PREVIEWING_RUN);
        getRunStatus
            .mockResolvedValueOnce(PREVIEWING_RUN)
            .mockResolvedValueOnce({ ...PREVIEWING_RUN, status: 'Previewed', previewing: false });
        getPreview.mockResolvedValue(mockPreview);
        const element = await createScreen();
        query(element, 'lightning-button.preview').click();
        await flushPromises();
        expect(startPreview).toHaveBeenCalledWith();
        expect(query(element, '.preview-progress-label').textContent.trim()).toBe(
            'Evaluating the condition sets (3 s)'
        );
        expect(query(element, 'lightning-button.save').disabled).toBe(true);
        jest.advanceTimersByTime(POLL_INTERVAL_MS);
        await flushPromises();
        expect(getPreview).not.toHaveBeenCalled();
        jest.advanceTimersByTime(POLL_INTERVAL_MS);
        await flushPromises();
        expect(getPreview).toHaveBeenCalledWith({ runId: 'a01000000000001AAA' });
        expect(query(element, 'c-preview-results').detail).toEqual(mockPreview);
        expect(query(element, '.preview-progress-label')).toBeNull();
        expect(query(element, 'lightning-button.save').disabled).toBe(false);
        jest.useRealTimers();
    });

    it('shows the Apex error when the preview cannot start', async () => {
        startPreview.mockRejectedValue({ body: { message: 'Could not reach the Rollcall service.' } });
        const element = await createScreen();
        query(element, 'lightning-button.preview').click();
        await flushPromises();
        expect(query(element, 'c-error-panel')).not.toBeNull();
        expect(query(element, 'lightning-button.preview').disabled).toBe(false);
    });

    it('shows why the preview failed and stops following it', async () => {
        jest.useFakeTimers();
        startPreview.mockResolvedValue(PREVIEWING_RUN);
        getRunStatus.mockResolvedValue({
            ...PREVIEWING_RUN,
            status: 'Failed',
            previewing: false,
            error: 'The org is over its API request limit.'
        });
        const element = await createScreen();
        query(element, 'lightning-button.preview').click();
        await flushPromises();
        jest.advanceTimersByTime(POLL_INTERVAL_MS * 3);
        await flushPromises();
        expect(query(element, 'c-error-panel').errors.body.message).toContain('API request limit');
        expect(getRunStatus).toHaveBeenCalledTimes(1);
        document.body.removeChild(element);
        jest.useRealTimers();
    });

    it('is accessible', async () => {
        const element = await createScreen();
        await expect(element).toBeAccessible();
    });
});
