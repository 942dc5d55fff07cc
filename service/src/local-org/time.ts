/**
 * Dates and datetimes as Salesforce stores and returns them, and SOQL date literals.
 * Datetimes are kept as strings in Salesforce's wire format (`2024-01-02T03:04:05.000+0000`, always
 * UTC), which sort lexicographically; dates as `YYYY-MM-DD`.
 */
const DAY_MS = 86_400_000;

export function formatDateTime(ms: number): string {
    return new Date(ms).toISOString().replace('Z', '+0000');
}

export function parseDateTime(value: string): number | undefined {
    const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(
        value
    );
    if (!m) return undefined;
    let zone = m[6] ?? 'Z';
    if (zone !== 'Z' && !zone.includes(':')) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`;
    const ms = Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4] ?? '00'}${m[5] ?? ''}${zone}`);
    return Number.isNaN(ms) ? undefined : ms;
}

export function normalizeDateTime(value: string): string | undefined {
    const ms = parseDateTime(value);
    return ms === undefined ? undefined : formatDateTime(ms);
}

export function isDate(value: string): boolean {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
    const ms = Date.parse(`${value}T00:00:00Z`);
    return !Number.isNaN(ms) && new Date(ms).toISOString().startsWith(value);
}

interface Ymd {
    y: number;
    m: number; // 1-12
    d: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
    let f = formatters.get(timeZone);
    if (!f) {
        f = new Intl.DateTimeFormat('en-US', {
            timeZone,
            hourCycle: 'h23',
            year: 'numeric',
            month: '2-digit',
            day: '2-digit',
            hour: '2-digit',
            minute: '2-digit',
            second: '2-digit'
        });
        formatters.set(timeZone, f);
    }
    return f;
}

/** Offset of the zone from UTC at an instant, in ms (positive east of Greenwich). */
function zoneOffset(ms: number, timeZone: string): number {
    const parts: Record<string, number> = {};
    for (const p of formatter(timeZone).formatToParts(new Date(ms))) {
        if (p.type !== 'literal') parts[p.type] = Number(p.value);
    }
    const asUtc = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
    return asUtc - Math.floor(ms / 1000) * 1000;
}

export function localDate(ms: number, timeZone: string): Ymd {
    const d = new Date(ms + zoneOffset(ms, timeZone));
    return { y: d.getUTCFullYear(), m: d.getUTCMonth() + 1, d: d.getUTCDate() };
}

/**
 * The UTC instant that day starts in the zone: local midnight, or the first instant after a
 * daylight-saving gap that swallows midnight (America/Santiago, America/Havana: the day starts at 01:00).
 */
export function startOfLocalDay(day: Ymd, timeZone: string): number {
    const guess = Date.UTC(day.y, day.m - 1, day.d);
    let ms = guess - zoneOffset(guess, timeZone);
    ms = guess - zoneOffset(ms, timeZone);
    const target = ymdString(day);
    const dayAt = (instant: number): string => ymdString(localDate(instant, timeZone));
    if (dayAt(ms) === target && dayAt(ms - 1) < target) return ms;
    // Local days only move forward in time: bisect for the first instant on `day`.
    let low = ms - 26 * 3_600_000;
    let high = ms + 26 * 3_600_000;
    while (high - low > 1) {
        const mid = Math.floor((low + high) / 2);
        if (dayAt(mid) >= target) high = mid;
        else low = mid;
    }
    return high;
}

function addDays(day: Ymd, n: number): Ymd {
    const d = new Date(Date.UTC(day.y, day.m - 1, day.d) + n * DAY_MS);
    return { y: d.getUTCFullYear(), m: d.getUTCMonth() + 1, d: d.getUTCDate() };
}

function addMonths(day: Ymd, n: number): Ymd {
    const total = day.y * 12 + (day.m - 1) + n;
    return { y: Math.floor(total / 12), m: (total % 12) + 1, d: 1 };
}

export function ymdString(day: Ymd): string {
    return `${String(day.y).padStart(4, '0')}-${String(day.m).padStart(2, '0')}-${String(day.d).padStart(2, '0')}`;
}

/** A date literal's range: the first day and the day after the last (local days). */
export interface DayRange {
    start: Ymd;
    end: Ymd;
}

const FIXED_LITERALS = new Set([
    'YESTERDAY',
    'TODAY',
    'TOMORROW',
    'LAST_WEEK',
    'THIS_WEEK',
    'NEXT_WEEK',
    'LAST_MONTH',
    'THIS_MONTH',
    'NEXT_MONTH',
    'LAST_90_DAYS',
    'NEXT_90_DAYS',
    'THIS_QUARTER',
    'LAST_QUARTER',
    'NEXT_QUARTER',
    'THIS_YEAR',
    'LAST_YEAR',
    'NEXT_YEAR',
    'THIS_FISCAL_QUARTER',
    'LAST_FISCAL_QUARTER',
    'NEXT_FISCAL_QUARTER',
    'THIS_FISCAL_YEAR',
    'LAST_FISCAL_YEAR',
    'NEXT_FISCAL_YEAR'
]);

const N_LITERALS = new Set([
    'LAST_N_DAYS',
    'NEXT_N_DAYS',
    'N_DAYS_AGO',
    'NEXT_N_WEEKS',
    'LAST_N_WEEKS',
    'N_WEEKS_AGO',
    'NEXT_N_MONTHS',
    'LAST_N_MONTHS',
    'N_MONTHS_AGO',
    'NEXT_N_QUARTERS',
    'LAST_N_QUARTERS',
    'N_QUARTERS_AGO',
    'NEXT_N_YEARS',
    'LAST_N_YEARS',
    'N_YEARS_AGO',
    'NEXT_N_FISCAL_QUARTERS',
    'LAST_N_FISCAL_QUARTERS',
    'N_FISCAL_QUARTERS_AGO',
    'NEXT_N_FISCAL_YEARS',
    'LAST_N_FISCAL_YEARS',
    'N_FISCAL_YEARS_AGO'
]);

export function isKnownDateLiteral(literal: string): boolean {
    const [name, n] = literal.toUpperCase().split(':');
    return n === undefined ? FIXED_LITERALS.has(name) : N_LITERALS.has(name) && /^\d+$/.test(n);
}

/**
 * The first day of the week in a Salesforce locale (`en_US`, `de_DE`…) as a JavaScript day number
 * (0 = Sunday, 1 = Monday…): "The first day of the week is determined by your locale" (Date Formats and
 * Date Literals in WHERE). Sunday when the locale is unknown.
 */
export function firstDayOfWeek(localeSidKey: string | undefined): number {
    if (!localeSidKey) return 0;
    try {
        const locale = new Intl.Locale(localeSidKey.replace(/_/g, '-')) as Intl.Locale & {
            getWeekInfo?: () => { firstDay: number };
            weekInfo?: { firstDay: number };
        };
        const firstDay = (locale.getWeekInfo?.() ?? locale.weekInfo)?.firstDay;
        return typeof firstDay === 'number' ? firstDay % 7 : 0;
    } catch {
        return 0;
    }
}

/**
 * The range of a date literal on `today` (the querying user's local date). The org uses the standard
 * (calendar) fiscal year, so FISCAL literals equal their calendar forms; weeks start on `weekStartsOn`
 * (0 = Sunday, as in en_US; see `firstDayOfWeek`).
 */
export function dateLiteralRange(literal: string, today: Ymd, weekStartsOn = 0): DayRange | undefined {
    const [rawName, rawN] = literal.toUpperCase().split(':');
    const name = rawName.replace('_FISCAL', '');
    const n = rawN === undefined ? 0 : Number(rawN);
    const weekday = new Date(Date.UTC(today.y, today.m - 1, today.d)).getUTCDay();
    const weekStart = addDays(today, -((weekday - weekStartsOn + 7) % 7));
    const monthStart: Ymd = { y: today.y, m: today.m, d: 1 };
    const quarterStart: Ymd = { y: today.y, m: Math.floor((today.m - 1) / 3) * 3 + 1, d: 1 };
    const yearStart: Ymd = { y: today.y, m: 1, d: 1 };
    const days = (start: Ymd, count: number): DayRange => ({ start, end: addDays(start, count) });
    const months = (start: Ymd, count: number): DayRange => ({ start, end: addMonths(start, count) });
    switch (name) {
        case 'YESTERDAY':
            return days(addDays(today, -1), 1);
        case 'TODAY':
            return days(today, 1);
        case 'TOMORROW':
            return days(addDays(today, 1), 1);
        case 'LAST_WEEK':
            return days(addDays(weekStart, -7), 7);
        case 'THIS_WEEK':
            return days(weekStart, 7);
        case 'NEXT_WEEK':
            return days(addDays(weekStart, 7), 7);
        case 'LAST_MONTH':
            return months(addMonths(monthStart, -1), 1);
        case 'THIS_MONTH':
            return months(monthStart, 1);
        case 'NEXT_MONTH':
            return months(addMonths(monthStart, 1), 1);
        // LAST_N_DAYS includes today; NEXT_N_DAYS starts tomorrow (see docs/local-org.md).
        case 'LAST_90_DAYS':
            return { start: addDays(today, -90), end: addDays(today, 1) };
        case 'NEXT_90_DAYS':
            return days(addDays(today, 1), 90);
        case 'LAST_N_DAYS':
            return { start: addDays(today, -n), end: addDays(today, 1) };
        case 'NEXT_N_DAYS':
            return days(addDays(today, 1), n);
        case 'N_DAYS_AGO':
            return days(addDays(today, -n), 1);
        case 'LAST_N_WEEKS':
            return { start: addDays(weekStart, -7 * n), end: weekStart };
        case 'NEXT_N_WEEKS':
            return days(addDays(weekStart, 7), 7 * n);
        case 'N_WEEKS_AGO':
            return days(addDays(weekStart, -7 * n), 7);
        case 'LAST_N_MONTHS':
            return { start: addMonths(monthStart, -n), end: monthStart };
        case 'NEXT_N_MONTHS':
            return months(addMonths(monthStart, 1), n);
        case 'N_MONTHS_AGO':
            return months(addMonths(monthStart, -n), 1);
        case 'THIS_QUARTER':
            return months(quarterStart, 3);
        case 'LAST_QUARTER':
            return months(addMonths(quarterStart, -3), 3);
        case 'NEXT_QUARTER':
            return months(addMonths(quarterStart, 3), 3);
        case 'LAST_N_QUARTERS':
            return { start: addMonths(quarterStart, -3 * n), end: quarterStart };
        case 'NEXT_N_QUARTERS':
            return months(addMonths(quarterStart, 3), 3 * n);
        case 'N_QUARTERS_AGO':
            return months(addMonths(quarterStart, -3 * n), 3);
        case 'THIS_YEAR':
            return months(yearStart, 12);
        case 'LAST_YEAR':
            return months(addMonths(yearStart, -12), 12);
        case 'NEXT_YEAR':
            return months(addMonths(yearStart, 12), 12);
        case 'LAST_N_YEARS':
            return { start: addMonths(yearStart, -12 * n), end: yearStart };
        case 'NEXT_N_YEARS':
            return months(addMonths(yearStart, 12), 12 * n);
        case 'N_YEARS_AGO':
            return months(addMonths(yearStart, -12 * n), 12);
        default:
            return undefined;
    }
}
