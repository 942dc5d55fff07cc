/**
 * Salesforce record ids: a 3-character key prefix, a 12-character base-62 body and the
 * 3-character case-safe suffix that turns a 15-character id into its 18-character form.
 */
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

export function caseSafeSuffix(id15: string): string {
    let suffix = '';
    for (let chunk = 0; chunk < 3; chunk++) {
        let bits = 0;
        for (let i = 0; i < 5; i++) {
            const c = id15.charCodeAt(chunk * 5 + i);
            if (c >= 65 && c <= 90) bits |= 1 << i;
        }
        suffix += SUFFIX_ALPHABET[bits];
    }
    return suffix;
}

/** The 18-character id of the n-th record with this key prefix (pod "5g", like a real org). */
export function makeId(keyPrefix: string, n: number): string {
    let body = '';
    let rest = n;
    for (let i = 0; i < 10; i++) {
        body = BASE62[rest % 62] + body;
        rest = Math.floor(rest / 62);
    }
    const id15 = `${keyPrefix}5g${body}`;
    return id15 + caseSafeSuffix(id15);
}

export function isIdShaped(value: string): boolean {
    return /^[a-zA-Z0-9]{15}([A-Z0-5]{3})?$/.test(value);
}

/** 15- or 18-character id to its 18-character form (undefined when it is not an id). */
export function to18(value: string): string | undefined {
    if (!isIdShaped(value)) return undefined;
    if (value.length === 18) {
        return value.slice(0, 15) + caseSafeSuffix(value.slice(0, 15)) === value ? value : undefined;
    }
    return value + caseSafeSuffix(value);
}
