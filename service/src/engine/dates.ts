/**
 * Dates and datetimes. Salesforce stores datetimes in UTC and REST returns them as
 * `2024-01-02T03:04:05.000+0000`; dates are `YYYY-MM-DD` with no zone. Relative conditions
 * (`withinLastDays`, `olderThanDays`) count whole days in the org's time zone, as SOQL's
 * `LAST_N_DAYS:n` and `N_DAYS_AGO:n` count days from midnight (see docs/engine.md).
 */

const DAY_MS = 86_400_000;

const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME_PATTERN =
    /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+-]\d{2}:?\d{2})$/;

/** The number written by the ASCII digits value[from, to), or NaN. */
function digits(value: string, from: number, to: number): number {
    let result = 0;
    for (let index = from; index < to; index++) {
        const code = value.charCodeAt(index) - 48;
        if (code < 0 || code > 9) return Number.NaN;
        result = result * 10 + code;
    }
    return result;
}

/** True for a real calendar date written YYYY-MM-DD. */
export function isIsoDate(value: string): boolean {
    const match = DATE_PATTERN.exec(value);
    if (!match) return false;
    const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
    const date = new Date(Date.UTC(year, month - 1, day));
    return (
        year >= 1700 &&
        year <= 4000 &&
        date.getUTCFullYear() === year &&
        date.getUTCMonth() === month - 1 &&
        date.getUTCDate() === day
    );
}

/**
 * Epoch milliseconds of an ISO 8601 datetime with an explicit zone (`Z`, `+01:00`, `+0100`), or NaN.
 * Also reads Salesforce's own `2024-01-02T03:04:05.000+0000`.
 */
export function parseDatetime(value: string): number {
    // Fast path for what Salesforce returns (`2024-01-02T03:04:05.000+0000`): fixed positions.
    if (value.length === 28 && value.endsWith('+0000') && value[10] === 'T' && value[19] === '.') {
        const epoch = Date.UTC(
            digits(value, 0, 4),
            digits(value, 5, 7) - 1,
            digits(value, 8, 10),
            digits(value, 11, 13),
            digits(value, 14, 16),
            digits(value, 17, 19),
            digits(value, 20, 23)
        );
        if (!Number.isNaN(epoch) && new Date(epoch).getUTCDate() === digits(value, 8, 10)) return epoch;
    }
    const match = DATETIME_PATTERN.exec(value);
    if (!match) return Number.NaN;
    const [year, month, day, hour, minute] = [1, 2, 3, 4, 5].map((index) => Number(match[index]));
    const second = match[6] === undefined ? 0 : Number(match[6]);
    const millis = match[7] === undefined ? 0 : Number(match[7].padEnd(3, '0'));
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
        return Number.NaN;
    }
    if (!isIsoDate(`${match[1]}-${match[2]}-${match[3]}`)) return Number.NaN;
    let offsetMinutes = 0;
    const zone = match[8];
    if (zone !== 'Z') {
        const digits = zone.slice(1).replace(':', '');
        const hours = Number(digits.slice(0, 2));
        const minutes = Number(digits.slice(2));
        if (hours > 14 || minutes > 59) return Number.NaN;
        offsetMinutes = (zone[0] === '-' ? -1 : 1) * (hours * 60 + minutes);
    }
    return Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000;
}

/** A SOQL datetime literal (UTC, whole seconds): `2024-01-02T03:04:05Z`. */
export function soqlDatetime(epochMs: number): string {
    return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
    let formatter = formatters.get(timeZone);
    if (!formatter) {
        formatter = new Intl.DateTimeFormat('en-US', {
            timeZone,
            hourCycle: 'h23',
            year: 'numeric',
            month: '2-digit',
            day: '2-digit',
            hour: '2-digit',
            minute: '2-digit',
            second: '2-digit'
        });
        formatters.set(timeZone, formatter);
    }
    return formatter;
}

/** True when Intl knows the IANA zone. */
export function isValidTimeZone(timeZone: string): boolean {
    try {
        formatterFor(timeZone);
        return true;
    } catch {
        return false;
    }
}

/** Wall-clock fields of an instant in a zone, as if they were UTC (epoch ms). */
function wallClockAsUtc(epochMs: number, timeZone: string): number {
    const parts: Record<string, number> = {};
    for (const part of formatterFor(timeZone).formatToParts(new Date(epochMs))) {
        if (part.type !== 'literal') parts[part.type] = Number(part.value);
    }
    return Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
}

/** The calendar day (YYYY-MM-DD) an instant falls on in a zone. */
export function dayInZone(epochMs: number, timeZone: string): string {
    return new Date(wallClockAsUtc(epochMs, timeZone)).toISOString().slice(0, 10);
}

/** `day` shifted by `days` calendar days. */
export function addDays(day: string, days: number): string {
    return new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

const HOUR_MS = 3_600_000;

/**
 * The instant a calendar day starts in a zone: 00:00:00, or — where a daylight-saving change skips
 * midnight (America/Santiago, America/Havana, America/Asuncion…) — the first instant of that day
 * (01:00 local).
 */
export function startOfDayInZone(day: string, timeZone: string): number {
    const wallMidnight = Date.parse(`${day}T00:00:00Z`);
    // Two refinements settle the zone offset, DST included.
    let guess = wallMidnight - (wallClockAsUtc(wallMidnight, timeZone) - wallMidnight);
    guess = wallMidnight - (wallClockAsUtc(guess, timeZone) - guess);
    if (dayInZone(guess, timeZone) === day && dayInZone(guess - 1, timeZone) < day) return guess;
    // Midnight fell in a gap (or the guess is not the first instant of the day): the local day only
    // moves forward in time, so search for the first instant whose local day is `day`.
    let before = guess - 26 * HOUR_MS;
    let from = guess + 26 * HOUR_MS;
    while (from - before > 1) {
        const middle = Math.floor((before + from) / 2);
        if (dayInZone(middle, timeZone) >= day) from = middle;
        else before = middle;
    }
    return from;
}

/**
 * The window of a relative condition, for `n` days at `now` in `timeZone`:
 * `withinLastDays n` ⇔ start of (today − n) ≤ value < start of tomorrow (SOQL's `= LAST_N_DAYS:n`,
 * which includes today: LAST_N_DAYS:1 is yesterday and today);
 * `olderThanDays n` ⇔ value < start of (today − n) (SOQL's `< N_DAYS_AGO:n`).
 */
export interface RelativeWindow {
    /** For date fields. */
    fromDay: string;
    today: string;
    /** For datetime fields (epoch ms). */
    fromInstant: number;
    tomorrowInstant: number;
}

export function relativeWindow(days: number, now: Date, timeZone: string): RelativeWindow {
    const today = dayInZone(now.getTime(), timeZone);
    const fromDay = addDays(today, -days);
    return {
        fromDay,
        today,
        fromInstant: startOfDayInZone(fromDay, timeZone),
        tomorrowInstant: startOfDayInZone(addDays(today, 1), timeZone)
    };
}
