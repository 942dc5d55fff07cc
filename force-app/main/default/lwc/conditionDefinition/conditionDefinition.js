import { operatorsForType, valueKind, OPERATOR_LABELS } from 'c/operatorTable';

/**
 * The condition set definition (version 1) on the client: building and reading it, and validating a
 * condition and the filter logic as the admin types. Apex (ConditionDefinitionValidator, FilterLogic)
 * applies the same rules again before saving.
 */
export const DEFINITION_VERSION = 1;
export const LOGIC_ALL = 'AND';
export const LOGIC_ANY = 'OR';
export const LOGIC_CUSTOM = 'CUSTOM';
export const NUMBER_TYPES = ['int', 'double', 'currency', 'percent'];
const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;
const ID_PATTERN = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;
/** The engine's limits (service/src/engine/validate.ts). */
export const MAX_DAYS = 36500;
export const MAX_CONDITIONS = 100;
const TOKEN_PATTERN = /\(|\)|[0-9]+|[A-Za-z]+|\S/g;
const MAX_CONDITION_DIGITS = 4;

/**
 * Report-style filter logic: numbers are conditions, AND/OR cannot be mixed without parentheses,
 * every condition is used. Returns null when valid, otherwise every problem in words, in one sentence each.
 */
export function validateLogic(logic, conditionCount) {
    const problems = logicProblems(logic, conditionCount);
    return problems.length ? problems.join(' ') : null;
}

/**
 * Every problem of the filter logic at once, as the engine reports them (service/src/engine/logic.ts):
 * conditions that do not exist, conditions not used, unbalanced parentheses, then the syntax, so fixing
 * one never reveals another that was there all along.
 */
export function logicProblems(logic, conditionCount) {
    const tokens = (String(logic || '').match(TOKEN_PATTERN) || []).map((token) => token.toUpperCase());
    if (tokens.length === 0) {
        return ['Enter the filter logic, for example 1 AND (2 OR 3).'];
    }
    const problems = [];
    const referenced = new Set();
    const unknown = [];
    tokens
        .filter((token) => /^[0-9]+$/.test(token))
        .forEach((token) => {
            const number = token.length > MAX_CONDITION_DIGITS ? -1 : Number(token);
            if (number < 1 || number > conditionCount) {
                if (!unknown.includes(token)) unknown.push(token);
            } else {
                referenced.add(number);
            }
        });
    unknown.forEach((token) =>
        problems.push(`The filter logic refers to condition ${token}, which does not exist.`)
    );
    const unused = [];
    for (let i = 1; i <= conditionCount; i++) {
        if (!referenced.has(i)) unused.push(i);
    }
    if (unused.length === 1) {
        problems.push(`The filter logic must use condition ${unused[0]}.`);
    } else if (unused.length > 1) {
        problems.push(
            `The filter logic must use conditions ${unused.slice(0, -1).join(', ')} and ${unused[unused.length - 1]}.`
        );
    }
    let depth = 0;
    let closedTooSoon = false;
    tokens.forEach((token) => {
        if (token === '(') depth++;
        if (token === ')') {
            depth--;
            if (depth < 0) {
                closedTooSoon = true;
                depth = 0;
            }
        }
    });
    if (depth > 0) {
        problems.push('A parenthesis is not closed in the filter logic.');
    }
    if (closedTooSoon) {
        problems.push('A closing parenthesis in the filter logic has no opening one.');
    }
    if (depth === 0 && !closedTooSoon) {
        const syntax = syntaxProblem(tokens);
        if (syntax) problems.push(syntax);
    }
    return problems;
}

/** The first syntax problem of balanced logic (numbers are checked above), or null. */
function syntaxProblem(tokens) {
    let position = 0;

    function parseTerm() {
        if (position >= tokens.length) {
            throw new Error('The filter logic ends too early.');
        }
        const token = tokens[position++];
        if (token === 'NOT') {
            parseTerm();
        } else if (token === '(') {
            parseExpression();
            if (tokens[position] !== ')') {
                throw new Error('A parenthesis is not closed in the filter logic.');
            }
            position++;
        } else if (!/^[0-9]+$/.test(token)) {
            throw new Error(`Unexpected "${token}" in the filter logic.`);
        }
    }

    function parseExpression() {
        parseTerm();
        let joiner;
        while (tokens[position] === 'AND' || tokens[position] === 'OR') {
            if (joiner && joiner !== tokens[position]) {
                throw new Error('Use parentheses when mixing AND and OR, for example 1 AND (2 OR 3).');
            }
            joiner = tokens[position];
            position++;
            parseTerm();
        }
    }

    try {
        parseExpression();
        if (position < tokens.length) {
            throw new Error(`Unexpected "${tokens[position]}" in the filter logic.`);
        }
        return null;
    } catch (problem) {
        return problem.message;
    }
}

/** The logic string stored for a choice; undefined for "all conditions" (the definition's default). */
export function logicFor(logicType, customLogic, conditionCount) {
    if (logicType === LOGIC_ANY) {
        return Array.from({ length: conditionCount }, (_, i) => i + 1).join(' OR ');
    }
    if (logicType === LOGIC_CUSTOM) {
        return String(customLogic || '').trim();
    }
    return undefined;
}

export function buildDefinition(conditions, logicType, customLogic) {
    const definition = {
        version: DEFINITION_VERSION,
        conditions: conditions.map(({ field, operator, value }) => {
            return valueKind(operator) === 'none' ? { field, operator } : { field, operator, value };
        })
    };
    const logic = logicFor(logicType, customLogic, conditions.length);
    if (logic) {
        definition.logic = logic;
    }
    return definition;
}

/** Reads a stored definition back into builder state; an unreadable one starts empty. */
export function parseDefinition(definitionJson) {
    let definition;
    try {
        definition = JSON.parse(definitionJson);
    } catch {
        definition = null;
    }
    const conditions = Array.isArray(definition?.conditions)
        ? definition.conditions.map(({ field, operator, value }) => ({ field, operator, value }))
        : [];
    const logic = typeof definition?.logic === 'string' ? definition.logic.trim() : '';
    let logicType = LOGIC_CUSTOM;
    if (!logic) {
        logicType = LOGIC_ALL;
    } else if (logic.toUpperCase() === logicFor(LOGIC_ANY, '', conditions.length)) {
        logicType = LOGIC_ANY;
    } else if (
        logic.toUpperCase() === Array.from({ length: conditions.length }, (_, i) => i + 1).join(' AND ')
    ) {
        logicType = LOGIC_ALL;
    }
    return { conditions, logicType, customLogic: logicType === LOGIC_CUSTOM ? logic : '' };
}

/**
 * A stored definition in the admin's words, for the list of sets: "Department equals Sales AND Role Name
 * starts with EMEA"; with custom logic the numbered conditions follow the logic. Fields by label when known.
 */
export function summarizeDefinition(definitionJson, fields) {
    const { conditions, logicType, customLogic } = parseDefinition(definitionJson);
    if (!conditions.length) {
        return '';
    }
    const labels = new Map((fields || []).map((field) => [field.path, field.label]));
    const describe = ({ field, operator, value }) => {
        const operatorLabel = OPERATOR_LABELS[operator] || operator || '';
        const label = labels.get(field) || field || '';
        if (valueKind(operator) === 'none') {
            return `${label} ${operatorLabel}`;
        }
        if (valueKind(operator) === 'wholeNumber') {
            return `${label} ${operatorLabel.replace(' N ', ` ${value} `)}`;
        }
        const shown = Array.isArray(value) ? value.join(', ') : String(value);
        return `${label} ${operatorLabel} ${shown}`;
    };
    if (logicType === LOGIC_CUSTOM) {
        return `${customLogic}: ${conditions.map((condition, index) => `(${index + 1}) ${describe(condition)}`).join('; ')}`;
    }
    return conditions.map(describe).join(logicType === LOGIC_ANY ? ' OR ' : ' AND ');
}

function isBlank(value) {
    return value === undefined || value === null || String(value).trim() === '';
}

function isValidDate(text) {
    if (!DATE_PATTERN.test(text)) {
        return false;
    }
    const parsed = new Date(`${text}T00:00:00Z`);
    return !Number.isNaN(parsed.getTime()) && parsed.toISOString().startsWith(text);
}

/** What is wrong with one value for a field, or null. */
export function singleValueError(field, value) {
    if (field.type === 'boolean') {
        return typeof value === 'boolean' ? null : 'Choose true or false.';
    }
    if (NUMBER_TYPES.includes(field.type)) {
        if (typeof value !== 'number' || !Number.isFinite(value)) {
            return 'Enter a number.';
        }
        return field.type === 'int' && !Number.isInteger(value) ? 'Enter a whole number.' : null;
    }
    if (typeof value !== 'string' || isBlank(value)) {
        return 'Enter a value.';
    }
    if (field.type === 'date') {
        return isValidDate(value) ? null : 'Enter a date as YYYY-MM-DD.';
    }
    if (field.type === 'datetime') {
        return Number.isNaN(Date.parse(value)) ? 'Enter a date and time.' : null;
    }
    if (field.type === 'id' || field.type === 'reference') {
        return ID_PATTERN.test(value) ? null : 'Enter a Salesforce record Id (15 or 18 letters and digits).';
    }
    return null;
}

/** What is wrong with a condition, or null. field is the User field it names (undefined if unknown). */
export function conditionError(condition, field) {
    if (isBlank(condition.field)) {
        return 'Choose a field.';
    }
    if (!field) {
        return `${condition.field} is not a User field you can use.`;
    }
    if (isBlank(condition.operator)) {
        return 'Choose an operator.';
    }
    if (!operatorsForType(field.type).includes(condition.operator)) {
        const label = OPERATOR_LABELS[condition.operator] || condition.operator;
        return `"${label}" cannot be used on ${field.label}.`;
    }
    const kind = valueKind(condition.operator);
    const { value } = condition;
    if (kind === 'none') {
        return null;
    }
    if (kind === 'wholeNumber') {
        return Number.isInteger(value) && value >= 0 && value <= MAX_DAYS
            ? null
            : `Enter a whole number of days from 0 to ${MAX_DAYS}.`;
    }
    if (kind === 'list') {
        if (!Array.isArray(value) || value.length === 0) {
            return 'Enter at least one value.';
        }
        return value.map((item) => singleValueError(field, item)).find((error) => error) || null;
    }
    return singleValueError(field, value);
}

/** The empty value a new operator starts with. */
export function initialValue(field, operator) {
    const kind = valueKind(operator);
    if (kind === 'list') {
        return [];
    }
    if (kind === 'none' || kind === 'wholeNumber') {
        return undefined;
    }
    return field && field.type === 'boolean' ? true : undefined;
}
