/**
 * The CSV of a Bulk API 2.0 query job's result set (RFC 4180 as Salesforce writes it: the job's default
 * COMMA delimiter, LF line endings, fields quoted when they hold a delimiter, a quote or a line break, a
 * quote doubled inside quotes), read into one record per row keyed by the header.
 *
 * Why not jsforce's parser (csv-parse): it turns the text into a Buffer and slices one per field, and on a
 * result set of 50,000 rows that was most of the service's CPU in the editor's first check after a start
 * (docs/decisions.md, "Result sets parsed as text"). This one scans the string once. Its fields are slices
 * of the text: what outlives the result set is copied by its keeper (use-cases/candidates.ts `ownStrings`).
 */
import type { BulkRow } from '../ports';

const QUOTE = 34; // "
const COMMA = 44; // ,
const LF = 10;
const CR = 13;

/** Parses a whole result set; an empty body (no header) has no rows. Throws on an unterminated quote. */
export function parseCsv(text: string): BulkRow[] {
    const records: BulkRow[] = [];
    let header: string[] | undefined;
    let values: string[] = [];
    let i = 0;
    const n = text.length;
    if (n === 0) return records;
    for (;;) {
        let field: string;
        if (text.charCodeAt(i) === QUOTE) {
            // Quoted: up to the quote not followed by another quote; "" inside stands for one quote.
            let start = i + 1;
            let value = '';
            for (;;) {
                const close = text.indexOf('"', start);
                if (close === -1) throw new Error(`CSV: unterminated quoted field at character ${i}`);
                if (text.charCodeAt(close + 1) === QUOTE) {
                    value += text.slice(start, close + 1);
                    start = close + 2;
                    continue;
                }
                value += text.slice(start, close);
                i = close + 1;
                break;
            }
            field = value;
        } else {
            let end = i;
            while (end < n) {
                const c = text.charCodeAt(end);
                if (c === COMMA || c === LF || c === CR) break;
                end++;
            }
            field = text.slice(i, end);
            i = end;
        }
        values.push(field);
        const c = i < n ? text.charCodeAt(i) : LF;
        if (c === COMMA) {
            i++;
            continue;
        }
        if (c === CR && text.charCodeAt(i + 1) === LF) i++;
        if (c !== LF && c !== CR) throw new Error(`CSV: unexpected character after a quoted field at ${i}`);
        // End of a line: the header, or one record (built at once: no second copy of the rows is held).
        if (!header) header = values;
        else {
            const record: BulkRow = {};
            for (let column = 0; column < header.length; column++)
                record[header[column]] = values[column] ?? '';
            records.push(record);
        }
        values = [];
        i++;
        if (i >= n) break;
    }
    return records;
}
