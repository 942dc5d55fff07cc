/**
 * The Bulk API 2.0 result-set parser (service/src/adapters/csv.ts), against jsforce's own parser
 * (csv-parse, what the adapter used before) on the cases Salesforce's CSV holds.
 */
import { parse } from 'csv-parse/sync';
import { parseCsv } from '../../service/src/adapters/csv';
import { ownStrings } from '../../service/src/use-cases/candidates';

function theirs(text: string): Record<string, string>[] {
    return parse(text, { columns: true }) as Record<string, string>[];
}

describe('Bulk API result-set CSV', () => {
    const cases: Array<[string, string]> = [
        ['plain rows', 'Id,Name,Title\n005A,Ada Lovelace,Engineer\n005B,Grace Hopper,Admiral\n'],
        ['empty fields and a null', 'Id,Title,ManagerId\n005A,,\n005B,"",005A\n'],
        ['a delimiter inside quotes', 'Id,Name\n005A,"Hopper, Grace"\n'],
        ['quotes doubled inside quotes', 'Id,Title\n005A,"The ""Grand"" Admiral"\n005B,""""\n'],
        ['line breaks inside quotes', 'Id,Description\n005A,"line one\nline two\r\nline three"\n005B,x\n'],
        ['CRLF line endings', 'Id,Name\r\n005A,Ada\r\n005B,Grace\r\n'],
        ['no trailing line break', 'Id,Name\n005A,Ada\n005B,Grace'],
        ['non-ASCII and emoji', 'Id,Name\n005A,Zoë Ångström\n005B,"😀, ok"\n'],
        ['header only', 'Id,Name\n']
    ];

    it.each(cases)('when the result set has %s, then the rows equal csv-parse’s', (_name, text) => {
        expect(parseCsv(text)).toEqual(theirs(text));
    });

    it('when the body is empty, then there are no rows', () => {
        expect(parseCsv('')).toEqual([]);
    });

    it('when a quoted field never ends or text follows a closing quote, then it says where', () => {
        expect(() => parseCsv('Id,Name\n005A,"Ada\n')).toThrow(/unterminated quoted field at character 13/);
        expect(() => parseCsv('Id,Name\n005A,"Ada"x\n')).toThrow(/unexpected character after a quoted field/);
    });

    it('when 20,000 generated rows with every kind of field are parsed, then they equal csv-parse’s', () => {
        let seed = 7;
        const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
        const pieces = ['a', 'Zoë', ',', '"', '\n', ' ', 'x y', ''];
        const field = () => {
            const value = Array.from(
                { length: Math.floor(random() * 4) },
                () => pieces[Math.floor(random() * pieces.length)]
            ).join('');
            return /[",\n]/.test(value) || random() < 0.2 ? `"${value.replace(/"/g, '""')}"` : value;
        };
        const lines = ['Id,A,B,C'];
        for (let row = 0; row < 20_000; row++) lines.push([`005${row}`, field(), field(), field()].join(','));
        const text = `${lines.join('\n')}\n`;

        const ours = parseCsv(text);

        expect(ours).toHaveLength(20_000);
        expect(ours).toEqual(theirs(text));
    });

    it('when a parsed user is kept past its page, then the copy holds the same values and the row is untouched', () => {
        const [row] = parseCsv('Id,Name,IsActive\n005000000000001AAA,Ada Lovelace-Byron,true\n');
        const before = { ...row };

        const kept = ownStrings(row);

        expect(kept).toEqual(row);
        expect(kept).not.toBe(row);
        expect(row).toEqual(before);
    });
});
