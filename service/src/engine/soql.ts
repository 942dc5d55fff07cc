/**
 * SOQL literal escaping: the only place in Rollcall that turns untrusted text into SOQL.
 * Rules (SOQL and SOSL Reference, "Quoted String Escape Sequences" and "Reserved Characters"):
 * the backslash is the escape character; `\'`, `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f` are valid
 * everywhere, as is `\uXXXX`; `\%` and `\_` only inside a LIKE value; any other backslash use is an error. A string
 * literal therefore cannot end early or carry a raw line break once these are applied.
 */

const STRING_ESCAPES: Record<string, string> = {
    '\\': '\\\\',
    "'": "\\'",
    '"': '\\"',
    '\n': '\\n',
    '\r': '\\r',
    '\t': '\\t',
    '\b': '\\b',
    '\f': '\\f'
};

function escapeBody(value: string): string {
    // Line and paragraph separators are written as \uXXXX (also a documented escape): some
    // tokenizers treat them as line ends inside a literal.
    return value.replace(
        /[\\'"\n\r\t\b\f\u2028\u2029]/g,
        (character) =>
            STRING_ESCAPES[character] ?? `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`
    );
}

/** A SOQL string literal, quotes included: `O'Brien` → `'O\'Brien'`. */
export function soqlString(value: string): string {
    return `'${escapeBody(String(value))}'`;
}

/**
 * The body of a LIKE pattern that matches `value` literally (no quotes, no wildcards added):
 * `%` and `_` become `\%` and `\_` so they are not wildcards.
 */
export function soqlLike(value: string): string {
    return escapeBody(String(value)).replace(/[%_]/g, (character) => `\\${character}`);
}
