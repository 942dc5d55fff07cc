/**
 * Salesforce record Ids as a condition's value (DESIGN §4): 15 characters, case-sensitive, or the same 15
 * followed by a 3-character case-safe suffix that records which of them are upper case (5 characters per
 * suffix character, bit i set when character i is A–Z, the 5 bits picking one of `A`–`Z`, `0`–`5`).
 *
 * An Id pasted from a case-insensitive tool (a spreadsheet, a lower-casing export) has lost its case; the
 * org then refuses the query ("invalid ID field"). The suffix says what the case was, so an 18-character Id
 * whose letters are all lower case (or all upper case) gets its case back. Every value is normalised to the
 * 18-character form. Where the case cannot be recovered — a suffix that contradicts the first 15 characters,
 * a wrong length, characters other than letters and digits — the message says what to do.
 */

const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
const ALPHANUMERIC = /^[A-Za-z0-9]*$/;

export type RecordIdCheck = { ok: true; id: string } | { ok: false; message: string };

/** The 3-character case-safe suffix of a 15-character Id. */
export function caseSafeSuffix(id15: string): string {
    let suffix = '';
    for (let chunk = 0; chunk < 3; chunk++) {
        let bits = 0;
        for (let i = 0; i < 5; i++) {
            const code = id15.charCodeAt(chunk * 5 + i);
            if (code >= 65 && code <= 90) bits |= 1 << i;
        }
        suffix += SUFFIX_ALPHABET[bits];
    }
    return suffix;
}

const isLetter = (character: string): boolean => /[A-Za-z]/.test(character);

/**
 * The value as an 18-character Id with its case, or why it is not an Id. A 15-character Id is taken as
 * written (its case is its identity and nothing can check it); an 18-character one must agree with its
 * suffix, letter case aside when every letter has the same case (a lower- or upper-cased copy).
 */
export function normalizeRecordId(value: string): RecordIdCheck {
    if (!ALPHANUMERIC.test(value)) {
        return {
            ok: false,
            message:
                'A Salesforce record Id has only letters and digits (15 or 18 of them). Copy the Id again from the record.'
        };
    }
    if (value.length !== 15 && value.length !== 18) {
        return {
            ok: false,
            message: `A Salesforce record Id has 15 or 18 characters; this one has ${value.length}. Copy the whole Id from the record.`
        };
    }
    if (value.length === 15) return { ok: true, id: value + caseSafeSuffix(value) };
    const body = value.slice(0, 15);
    const suffix = value.slice(15).toUpperCase();
    let restored = '';
    for (let chunk = 0; chunk < 3; chunk++) {
        const bits = SUFFIX_ALPHABET.indexOf(suffix[chunk]);
        if (bits < 0) return brokenChecksum();
        for (let i = 0; i < 5; i++) {
            const character = body[chunk * 5 + i];
            const upper = (bits & (1 << i)) !== 0;
            if (upper && !isLetter(character)) return brokenChecksum();
            restored += upper ? character.toUpperCase() : character.toLowerCase();
        }
    }
    // The suffix decides the case of a copy whose letters all have one case; a mixed-case Id that disagrees
    // with its suffix has a typo somewhere, and which character is wrong cannot be told.
    const letters = [...body].filter(isLetter).join('');
    const oneCase = letters === letters.toLowerCase() || letters === letters.toUpperCase();
    if (restored !== body && !oneCase) return brokenChecksum();
    return { ok: true, id: restored + suffix };
}

function brokenChecksum(): RecordIdCheck {
    return {
        ok: false,
        message:
            'Its last 3 characters (the checksum of an 18-character Id) do not match its first 15, so it is no record Id. Copy the Id again from the record.'
    };
}
