/**
 * A test oracle: evaluates a compiled SOQL WHERE clause, as parsed by @jetstreamapp/soql-parser-js,
 * against a User record by SOQL's documented rules (two-valued logic; null fails =, <, >, LIKE, IN,
 * INCLUDES and passes their negations; case-insensitive strings; LIKE's % and _ with \% and \_ taken
 * literally). It reads the SOQL text, independently of the engine's evaluator, so agreement between
 * the two shows the compiled query means what the evaluator decides.
 */
import { parseQuery } from '@jetstreamapp/soql-parser-js';
import { parseDatetime } from '../../service/src/engine';

type Token = '(' | ')' | 'AND' | 'OR' | 'NOT' | { atom: Atom };

interface Atom {
    field: string;
    operator: string;
    /** One type, or one per list item when a list mixes types (`IN (0, 1.5)`). */
    literalType: string | string[];
    value: string | string[];
}

interface WhereNode {
    left?: Partial<Atom> & { openParen?: number; closeParen?: number };
    operator?: string;
    right?: WhereNode;
}

function flatten(node: WhereNode | undefined, tokens: Token[]): Token[] {
    if (!node) return tokens;
    const left = node.left;
    if (left) {
        for (let i = 0; i < (left.openParen ?? 0); i++) tokens.push('(');
        if (left.field) tokens.push({ atom: left as Atom });
        for (let i = 0; i < (left.closeParen ?? 0); i++) tokens.push(')');
    }
    if (node.operator) tokens.push(node.operator.toUpperCase() as 'AND' | 'OR' | 'NOT');
    return flatten(node.right, tokens);
}

const ESCAPES: Record<string, string> = {
    n: '\n',
    r: '\r',
    t: '\t',
    b: '\b',
    f: '\f',
    "'": "'",
    '"': '"',
    '\\': '\\'
};

/** The text a SOQL string literal stands for (outside LIKE). */
export function unescapeSoqlString(literal: string): string {
    const body = literal.slice(1, -1);
    return body.replace(/\\(u[0-9a-fA-F]{4}|.)/gs, (_, escaped: string) => {
        if (escaped.length === 5) return String.fromCharCode(parseInt(escaped.slice(1), 16));
        const lower = escaped.toLowerCase();
        if (ESCAPES[lower] !== undefined && /[nrtbf]/i.test(escaped)) return ESCAPES[lower];
        if (ESCAPES[escaped] !== undefined) return ESCAPES[escaped];
        return `\\${escaped}`;
    });
}

function likeToRegExp(literal: string): RegExp {
    const body = literal.slice(1, -1);
    let pattern = '';
    for (let i = 0; i < body.length; i++) {
        const character = body[i];
        if (character === '\\') {
            const next = body[++i];
            if (next === '%' || next === '_') pattern += next;
            else pattern += unescapeSoqlString(`'\\${next}'`).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        } else if (character === '%') pattern += '[\\s\\S]*';
        else if (character === '_') pattern += '[\\s\\S]';
        else pattern += character.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
    return new RegExp(`^${pattern}$`, 'i');
}

function read(record: Record<string, unknown>, path: string): unknown {
    let value: unknown = record;
    for (const part of path.split('.')) {
        if (value === null || value === undefined || typeof value !== 'object') return null;
        value = (value as Record<string, unknown>)[part];
    }
    return value === undefined || value === '' ? null : value;
}

function scalar(literalType: string, literal: string): string | number | boolean | null {
    switch (literalType) {
        case 'STRING':
            return unescapeSoqlString(literal).toLowerCase();
        case 'INTEGER':
        case 'DECIMAL':
            return Number(literal);
        case 'BOOLEAN':
            return literal.toLowerCase() === 'true';
        case 'DATE':
            return literal;
        case 'DATETIME':
            return parseDatetime(literal);
        case 'NULL':
            return null;
        default:
            throw new Error(`oracle: literal type ${literalType} not supported`);
    }
}

function fieldValue(raw: unknown, literalType: string): string | number | boolean | null {
    if (raw === null || raw === undefined) return null;
    if (literalType === 'STRING') return String(raw).toLowerCase();
    if (literalType === 'DATETIME') return parseDatetime(String(raw));
    return raw as string | number | boolean;
}

function evaluateAtom(atom: Atom, record: Record<string, unknown>): boolean {
    const raw = read(record, atom.field);
    const operator = atom.operator.toUpperCase();
    const types = Array.isArray(atom.literalType) ? atom.literalType : [atom.literalType];
    const literalType = types[0] === 'INTEGER' && types.includes('DECIMAL') ? 'DECIMAL' : types[0];
    if (literalType === 'BOOLEAN') {
        const value = raw === true; // booleans are never null in SOQL: null matches false
        const literal = scalar('BOOLEAN', atom.value as string);
        return operator === '=' ? value === literal : value !== literal;
    }
    if (literalType === 'NULL') return operator === '=' ? raw === null : raw !== null;
    const value = fieldValue(raw, literalType);
    const literals = (Array.isArray(atom.value) ? atom.value : [atom.value]).map((literal) =>
        scalar(literalType, literal)
    );
    switch (operator) {
        case '=':
            return value !== null && value === literals[0];
        case '!=':
            return !(value !== null && value === literals[0]);
        case '<':
            return value !== null && (value as number) < (literals[0] as number);
        case '>':
            return value !== null && (value as number) > (literals[0] as number);
        case '<=':
            return value !== null && (value as number) <= (literals[0] as number);
        case '>=':
            return value !== null && (value as number) >= (literals[0] as number);
        case 'LIKE':
            return value !== null && likeToRegExp(atom.value as string).test(String(raw));
        case 'IN':
            return value !== null && literals.includes(value);
        case 'NOT IN':
            return !(value !== null && literals.includes(value));
        case 'INCLUDES':
        case 'EXCLUDES': {
            const selected = new Set(
                value === null
                    ? []
                    : String(value)
                          .split(';')
                          .map((part) => part.trim())
            );
            const includes =
                value !== null &&
                literals.some((literal) =>
                    String(literal)
                        .split(';')
                        .every((part) => selected.has(part.trim()))
                );
            return operator === 'INCLUDES' ? includes : !includes;
        }
        default:
            throw new Error(`oracle: operator ${operator} not supported`);
    }
}

class Evaluator {
    private position = 0;
    constructor(
        private readonly tokens: Token[],
        private readonly record: Record<string, unknown>
    ) {}

    run(): boolean {
        const result = this.expression();
        if (this.position !== this.tokens.length) throw new Error('oracle: trailing tokens');
        return result;
    }

    private expression(): boolean {
        let result = this.unary();
        for (;;) {
            const token = this.tokens[this.position];
            if (token !== 'AND' && token !== 'OR') return result;
            this.position++;
            const right = this.unary();
            result = token === 'AND' ? result && right : result || right;
        }
    }

    private unary(): boolean {
        const token = this.tokens[this.position++];
        if (token === 'NOT') return !this.unary();
        if (token === '(') {
            const inner = this.expression();
            if (this.tokens[this.position++] !== ')') throw new Error('oracle: missing )');
            return inner;
        }
        if (typeof token === 'object') return evaluateAtom(token.atom, this.record);
        throw new Error(`oracle: unexpected ${String(token)}`);
    }
}

/** Parses `SELECT Id FROM User WHERE <where>` and returns its atoms and an evaluator. */
export function parseWhere(where: string): {
    atoms: Atom[];
    matches: (record: Record<string, unknown>) => boolean;
} {
    const query = parseQuery(`SELECT Id FROM User WHERE ${where}`);
    const tokens = flatten(query.where as WhereNode, []);
    const atoms = tokens.flatMap((token) => (typeof token === 'object' ? [token.atom] : []));
    return { atoms, matches: (record) => new Evaluator(tokens, record).run() };
}
