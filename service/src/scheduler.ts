/**
 * The service-side scheduler (local mode, or SCHEDULER=service): reads the schedule from the org's
 * Rollcall_Settings__c (the same settings Apex uses in a real org) and fires scheduled runs with croner,
 * in the org's time zone. The settings are re-read at every sweep, so a change in the org takes effect
 * without a restart. In a real org Apex triggers scheduled runs and this stays off.
 */
import { Cron } from 'croner';
import type { SettingsRecord } from './domain/org-store';
import { describeError, isAppError } from './errors';
import type { Logger } from './logger';

const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** The cron pattern for the settings, or undefined when the schedule is off or incomplete. */
export function cronPattern(settings: SettingsRecord): string | undefined {
    if (settings.Schedule_Enabled__c !== true) return undefined;
    const time = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(settings.Schedule_Time__c ?? '00:00');
    const [hour, minute] = time ? [Number(time[1]), Number(time[2])] : [0, 0];
    switch ((settings.Schedule_Frequency__c ?? '').toLowerCase()) {
        case 'hourly':
            return `${minute} * * * *`;
        case 'daily':
            return `${minute} ${hour} * * *`;
        case 'weekly': {
            const day = DAYS.indexOf((settings.Schedule_Day__c ?? 'MON').toUpperCase());
            return `${minute} ${hour} * * ${day < 0 ? 1 : day}`;
        }
        default:
            return undefined;
    }
}

export interface SchedulerDeps {
    loadSettings: () => Promise<SettingsRecord>;
    timeZone: () => Promise<string>;
    trigger: (slot: string) => Promise<{ runId: string }>;
    logger: Logger;
}

export class ServiceScheduler {
    private job?: Cron;
    private current?: string;

    constructor(private readonly deps: SchedulerDeps) {}

    /** Re-reads the settings and (re)schedules when they changed. */
    async refresh(): Promise<string | undefined> {
        const settings = await this.deps.loadSettings();
        const pattern = cronPattern(settings);
        const timeZone = pattern ? await this.deps.timeZone() : undefined;
        const key = pattern ? `${pattern}@${timeZone}` : undefined;
        if (key === this.current) return pattern;
        this.job?.stop();
        this.job = undefined;
        this.current = key;
        if (pattern) {
            this.job = new Cron(pattern, { timezone: timeZone, protect: true }, () => void this.fire());
            this.deps.logger.info(
                { pattern, timeZone, next: this.job.nextRun()?.toISOString() },
                'Sync scheduled'
            );
        } else {
            this.deps.logger.info('Scheduled sync is off');
        }
        return pattern;
    }

    nextRun(): Date | undefined {
        return this.job?.nextRun() ?? undefined;
    }

    private async fire(): Promise<void> {
        try {
            // Every instance's scheduler fires the same minute: that minute is the slot, so it runs once.
            const minute = Math.round(Date.now() / 60_000) * 60_000;
            const { runId } = await this.deps.trigger(new Date(minute).toISOString().slice(0, 16) + 'Z');
            this.deps.logger.info({ runId }, 'Scheduled run started');
        } catch (error) {
            const level =
                isAppError(error) && ['RUN_IN_PROGRESS', 'ALREADY_TRIGGERED'].includes(error.code)
                    ? 'info'
                    : 'error';
            this.deps.logger[level]({ err: describeError(error) }, 'Scheduled run not started');
        }
    }

    stop(): void {
        this.job?.stop();
        this.job = undefined;
        this.current = undefined;
    }
}
