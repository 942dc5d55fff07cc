/** Date literal ranges and local days in the org time zone, across daylight-saving changes. */
import {
    dateLiteralRange,
    firstDayOfWeek,
    isKnownDateLiteral,
    localDate,
    startOfLocalDay,
    ymdString
} from '../../service/src/local-org/time';
import { caseSafeSuffix, makeId, to18 } from '../../service/src/local-org/ids';

const LA = 'America/Los_Angeles';

describe('org time zone', () => {
    it('when a day starts or ends a DST period, then its local midnight is found', () => {
        expect(new Date(startOfLocalDay({ y: 2024, m: 3, d: 10 }, LA)).toISOString()).toBe(
            '2024-03-10T08:00:00.000Z'
        );
        expect(new Date(startOfLocalDay({ y: 2024, m: 3, d: 11 }, LA)).toISOString()).toBe(
            '2024-03-11T07:00:00.000Z'
        );
        expect(new Date(startOfLocalDay({ y: 2024, m: 11, d: 3 }, LA)).toISOString()).toBe(
            '2024-11-03T07:00:00.000Z'
        );
        expect(new Date(startOfLocalDay({ y: 2024, m: 11, d: 4 }, LA)).toISOString()).toBe(
            '2024-11-04T08:00:00.000Z'
        );
    });

    it.each([
        // DST begins at midnight: 00:00 does not exist, the day starts at 01:00 local.
        ['America/Santiago', { y: 2024, m: 9, d: 8 }, '2024-09-08T04:00:00.000Z'],
        ['America/Havana', { y: 2024, m: 3, d: 10 }, '2024-03-10T05:00:00.000Z'],
        ['America/Asuncion', { y: 2024, m: 10, d: 6 }, '2024-10-06T04:00:00.000Z'],
        // DST ends at midnight: 23:00–24:00 of the day before repeats; the day starts at the one midnight.
        ['America/Santiago', { y: 2024, m: 4, d: 7 }, '2024-04-07T04:00:00.000Z'],
        ['America/Havana', { y: 2024, m: 11, d: 3 }, '2024-11-03T04:00:00.000Z']
    ])('when DST changes at midnight in %s on %j, then the day starts at %s', (zone, day, start) => {
        const instant = startOfLocalDay(day, zone);

        expect(new Date(instant).toISOString()).toBe(start);
        expect(localDate(instant, zone)).toEqual(day);
        expect(localDate(instant - 1, zone)).not.toEqual(day);
    });

    it('when it is late evening in Los Angeles, then the local date is still yesterday in UTC terms', () => {
        expect(localDate(Date.parse('2024-03-16T05:00:00Z'), LA)).toEqual({ y: 2024, m: 3, d: 15 });
    });

    it.each([
        ['TODAY', '2024-03-15', '2024-03-16'],
        ['YESTERDAY', '2024-03-14', '2024-03-15'],
        ['LAST_N_DAYS:7', '2024-03-08', '2024-03-16'],
        ['NEXT_N_DAYS:7', '2024-03-16', '2024-03-23'],
        ['N_DAYS_AGO:3', '2024-03-12', '2024-03-13'],
        ['THIS_WEEK', '2024-03-10', '2024-03-17'],
        ['LAST_MONTH', '2024-02-01', '2024-03-01'],
        ['THIS_QUARTER', '2024-01-01', '2024-04-01'],
        ['LAST_N_MONTHS:2', '2024-01-01', '2024-03-01'],
        ['THIS_FISCAL_YEAR', '2024-01-01', '2025-01-01']
    ])('when %s is evaluated on Friday 2024-03-15, then it spans [%s, %s)', (literal, start, end) => {
        const range = dateLiteralRange(literal, { y: 2024, m: 3, d: 15 });
        expect(range && [ymdString(range.start), ymdString(range.end)]).toEqual([start, end]);
    });

    it.each([
        ['en_US', 0, 'THIS_WEEK', '2024-03-10', '2024-03-17'],
        ['de_DE', 1, 'THIS_WEEK', '2024-03-11', '2024-03-18'],
        ['en_GB', 1, 'LAST_WEEK', '2024-03-04', '2024-03-11'],
        [undefined, 0, 'LAST_N_WEEKS:2', '2024-02-25', '2024-03-10']
    ])(
        "when the querying user's locale is %s, then the week starts on day %i and %s spans [%s, %s)",
        (locale, firstDay, literal, start, end) => {
            expect(firstDayOfWeek(locale)).toBe(firstDay);
            const range = dateLiteralRange(literal, { y: 2024, m: 3, d: 15 }, firstDayOfWeek(locale));
            expect(range && [ymdString(range.start), ymdString(range.end)]).toEqual([start, end]);
        }
    );

    it('when a literal is unknown, then it is refused', () => {
        expect(isKnownDateLiteral('LAST_N_DAYS:5')).toBe(true);
        expect(isKnownDateLiteral('LAST_N_DAYS')).toBe(false);
        expect(isKnownDateLiteral('SOMEDAY')).toBe(false);
    });
});

describe('record ids', () => {
    it('when an id is made, then its 18-character form carries the case-safe suffix of its 15 characters', () => {
        const id = makeId('a0A', 12345);
        expect(id).toHaveLength(18);
        expect(id.slice(15)).toBe(caseSafeSuffix(id.slice(0, 15)));
        expect(to18(id.slice(0, 15))).toBe(id);
        expect(to18('not an id')).toBeUndefined();
    });

    it('when the documented example is converted, then the suffix matches Salesforce', () => {
        expect(to18('001A0000006Vm9r')).toBe('001A0000006Vm9rIAC');
    });
});
