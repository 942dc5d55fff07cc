/**
 * Custom filter logic, as in Salesforce reports: condition numbers joined by AND / OR, NOT in front of
 * a term, parentheses for grouping. As Salesforce does, AND and OR may not be mixed at one level
 * without parentheses ("1 AND 2 OR 3" is rejected: write "(1 AND 2) OR 3" or "1 AND (2 OR 3)").
 * Every condition must be used, and every number must name a condition.
 */
import type { ValidationError } from './types';

export type LogicNode =
    | { type: 'condition'; index: number }
    | { type: 'and' | 'or'; children: LogicNode[] }
    | { type: 'not'; child: LogicNode };

export type LogicResult = { ok: true; tree: LogicNode } | { ok: false; errors: ValidationError[] };

export const MAX_LOGIC_LENGTH = 4000;

type Token =
    | { kind: 'number'; value: number; text: string; at: number }
    | { kind: 'and' | 'or' | 'not' | '(' | ')'; text: string; at: number };

class LogicSyntaxError extends Error {
    constructor(
        message: string,
        readonly code: ValidationError['code'] = 'INVALID_LOGIC'
    ) {
        super(message);
    }
}

function tokenize(logic: string, errors: ValidationError[]): Token[] {
    const tokens: Token[] = [];
    const pattern = /\s*(?:(\d+)|(\()|(\))|([A-Za-z]+)|(\S))/y;
    let match: RegExpExecArray | null;
    let position = 0;
    while (position < logic.length && (match = pattern.exec(logic))) {
        const at = pattern.lastIndex - match[0].trimStart().length;
        position = pattern.lastIndex;
        if (match[1] !== undefined) {
            tokens.push({ kind: 'number', value: Number(match[1]), text: match[1], at });
        } else if (match[2] !== undefined) tokens.push({ kind: '(', text: '(', at });
        else if (match[3] !== undefined) tokens.push({ kind: ')', text: ')', at });
        else if (match[4] !== undefined) {
            const word = match[4].toUpperCase();
            if (word === 'AND' || word === 'OR' || word === 'NOT') {
                tokens.push({ kind: word.toLowerCase() as 'and' | 'or' | 'not', text: word, at });
            } else {
                errors.push({
                    code: 'INVALID_LOGIC',
                    message: `Filter logic: "${match[4].slice(0, 40)}" is not AND, OR, NOT or a condition number. Use only condition numbers, AND, OR, NOT and parentheses.`
                });
            }
        } else if (match[5] !== undefined) {
            errors.push({
                code: 'INVALID_LOGIC',
                message: `Filter logic: the character "${match[5]}" is not allowed. Use only condition numbers, AND, OR, NOT and parentheses.`
            });
        }
        if (pattern.lastIndex === 0) break;
    }
    return tokens;
}

class Parser {
    private position = 0;
    constructor(private readonly tokens: Token[]) {}

    parse(): LogicNode {
        if (this.tokens.length === 0)
            throw new LogicSyntaxError('Filter logic is empty. Enter e.g. "1 AND 2".');
        const tree = this.expression();
        const rest = this.tokens[this.position];
        if (rest) {
            if (rest.kind === ')') {
                throw new LogicSyntaxError(
                    'Filter logic has a closing parenthesis with no opening one. Check the parentheses.',
                    'LOGIC_UNBALANCED_PARENTHESES'
                );
            }
            throw new LogicSyntaxError(
                `Filter logic: "${rest.text}" is unexpected here. Join terms with AND or OR.`
            );
        }
        return tree;
    }

    private expression(): LogicNode {
        const first = this.term();
        let joiner: 'and' | 'or' | null = null;
        const children = [first];
        for (;;) {
            const next = this.tokens[this.position];
            if (!next || (next.kind !== 'and' && next.kind !== 'or')) break;
            if (joiner && next.kind !== joiner) {
                throw new LogicSyntaxError(
                    'Filter logic mixes AND and OR without parentheses. Add parentheses, e.g. "(1 AND 2) OR 3".',
                    'LOGIC_MIXED_AND_OR'
                );
            }
            joiner = next.kind;
            this.position++;
            children.push(this.term());
        }
        return joiner ? { type: joiner, children } : first;
    }

    private term(): LogicNode {
        const token = this.tokens[this.position];
        if (!token) {
            throw new LogicSyntaxError(
                'Filter logic ends too early: a condition number is missing at the end.'
            );
        }
        this.position++;
        if (token.kind === 'number') return { type: 'condition', index: token.value };
        if (token.kind === 'not') return { type: 'not', child: this.term() };
        if (token.kind === '(') {
            const inner = this.expression();
            const close = this.tokens[this.position];
            if (!close || close.kind !== ')') {
                throw new LogicSyntaxError(
                    close
                        ? `Filter logic: "${close.text}" is unexpected here. Join terms with AND or OR.`
                        : 'Filter logic has an opening parenthesis that is never closed. Check the parentheses.',
                    close ? 'INVALID_LOGIC' : 'LOGIC_UNBALANCED_PARENTHESES'
                );
            }
            this.position++;
            return inner;
        }
        if (token.kind === ')') {
            throw new LogicSyntaxError(
                'Filter logic has a closing parenthesis where a condition number is expected. Check the parentheses.',
                this.tokens.slice(0, this.position).filter((t) => t.kind === '(').length <
                    this.tokens.slice(0, this.position).filter((t) => t.kind === ')').length
                    ? 'LOGIC_UNBALANCED_PARENTHESES'
                    : 'INVALID_LOGIC'
            );
        }
        throw new LogicSyntaxError(
            `Filter logic: "${token.text}" is where a condition number is expected. Put a condition number before and after ${token.text}.`
        );
    }
}

/** All conditions AND-ed, the meaning of a definition with no logic. */
export function defaultLogic(conditionCount: number): LogicNode {
    const children: LogicNode[] = [];
    for (let index = 1; index <= conditionCount; index++) children.push({ type: 'condition', index });
    return children.length === 1 ? children[0] : { type: 'and', children };
}

export function parseLogic(logic: string | undefined | null, conditionCount: number): LogicResult {
    if (logic === undefined || logic === null || (typeof logic === 'string' && logic.trim() === '')) {
        if (conditionCount < 1) {
            return { ok: false, errors: [{ code: 'NO_CONDITIONS', message: 'Add at least one condition.' }] };
        }
        return { ok: true, tree: defaultLogic(conditionCount) };
    }
    if (typeof logic !== 'string') {
        return {
            ok: false,
            errors: [
                { code: 'INVALID_LOGIC', message: 'Filter logic must be text such as "1 AND (2 OR 3)".' }
            ]
        };
    }
    if (logic.length > MAX_LOGIC_LENGTH) {
        return {
            ok: false,
            errors: [
                {
                    code: 'INVALID_LOGIC',
                    message: `Filter logic is ${logic.length} characters long; shorten it to at most ${MAX_LOGIC_LENGTH}.`
                }
            ]
        };
    }
    const errors: ValidationError[] = [];
    const tokens = tokenize(logic, errors);

    let depth = 0;
    let unbalanced = false;
    for (const token of tokens) {
        if (token.kind === '(') depth++;
        if (token.kind === ')') depth--;
        if (depth < 0) unbalanced = true;
    }
    if (unbalanced || depth !== 0) {
        errors.push({
            code: 'LOGIC_UNBALANCED_PARENTHESES',
            message: `Filter logic has unbalanced parentheses (${tokens.filter((t) => t.kind === '(').length} opening, ${tokens.filter((t) => t.kind === ')').length} closing). Make every "(" match a ")".`
        });
    }

    const used = new Set<number>();
    const reported = new Set<number>();
    for (const token of tokens) {
        if (token.kind !== 'number') continue;
        used.add(token.value);
        if ((token.value < 1 || token.value > conditionCount) && !reported.has(token.value)) {
            reported.add(token.value);
            errors.push({
                code: 'LOGIC_UNKNOWN_CONDITION',
                condition: token.value,
                message: `Filter logic refers to condition ${token.text}, but there ${conditionCount === 1 ? 'is 1 condition' : `are ${conditionCount} conditions`}. Use numbers from 1 to ${conditionCount}.`
            });
        }
    }
    for (let index = 1; index <= conditionCount; index++) {
        if (!used.has(index)) {
            errors.push({
                code: 'LOGIC_UNUSED_CONDITION',
                condition: index,
                message: `Condition ${index} is not used in the filter logic. Add ${index} to the logic or remove the condition.`
            });
        }
    }

    let tree: LogicNode | null = null;
    if (errors.length === 0 || !errors.some((error) => error.code === 'INVALID_LOGIC')) {
        try {
            tree = new Parser(tokens).parse();
        } catch (error) {
            if (!(error instanceof LogicSyntaxError)) throw error;
            const duplicate = errors.some(
                (existing) => existing.code === error.code && error.code !== 'INVALID_LOGIC'
            );
            if (!duplicate) errors.push({ code: error.code, message: error.message });
        }
    }
    if (errors.length > 0 || !tree) return { ok: false, errors };
    return { ok: true, tree };
}

/** The condition numbers a tree mentions. */
export function conditionsInLogic(tree: LogicNode, into: Set<number> = new Set()): Set<number> {
    if (tree.type === 'condition') into.add(tree.index);
    else if (tree.type === 'not') conditionsInLogic(tree.child, into);
    else for (const child of tree.children) conditionsInLogic(child, into);
    return into;
}
