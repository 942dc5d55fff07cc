/**
 * `npm run bench -- engine`: 100,000 users × 50 condition sets of 5 conditions each, evaluated and
 * attributed (prepareSets + computeEligibility), against json-rules-engine evaluating the same rules
 * over the same users in the same run. The matched sets of every user must be equal in both.
 * Users and sets come from a seeded PRNG, so every run measures the same work.
 * Last line of stdout: {"bench":"engine","users":…,"sets":…,"seconds":…,"usersPerSec":…,"ratioVsJsonRulesEngine":…}
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Engine, type NestedCondition, type TopLevelCondition } from 'json-rules-engine';
import {
    buildSchema,
    computeEligibility,
    prepareSets,
    relativeWindow,
    type AuthorizationStatus,
    type Condition,
    type ConditionSetInput,
    type EvalContext,
    type LogicNode,
    type PreparedSet,
    type SObjectDescribe,
    type UserRecord
} from '../service/src/engine';

const USERS = Number(process.env.BENCH_USERS ?? 100_000);
const SETS = 50;
const CONDITIONS_PER_SET = 5;
const SEED = 20_260_310;

/** mulberry32: a small, fast, seeded PRNG. */
function prng(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
        state = (state + 0x6d2b79f5) >>> 0;
        let t = state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
    };
}

const random = prng(SEED);
const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)];
const chance = (p: number): boolean => random() < p;

const DEPARTMENTS = ['Sales', 'Support', 'Engineering', 'Finance', 'Marketing', 'Legal', 'HR', 'Operations'];
const TITLES = [
    'Account Executive',
    'Sales Engineer',
    'Support Agent',
    'Engineer',
    'Manager',
    'Director',
    'VP',
    'Analyst'
];
const CITIES = [
    'London',
    'Paris',
    'Berlin',
    'New York',
    'San Francisco',
    'Tokyo',
    'Sydney',
    'Toronto',
    'Madrid'
];
const COUNTRIES = ['UK', 'France', 'Germany', 'USA', 'Japan', 'Australia', 'Canada', 'Spain'];
const ROLES = [
    'EMEA Sales',
    'EMEA Support',
    'AMER Sales',
    'AMER Support',
    'APAC Sales',
    'CEO',
    'CFO',
    'Engineering Lead'
];
const PROFILES = ['Standard User', 'System Administrator', 'Sales Profile', 'Support Profile', 'Read Only'];
const USER_TYPES = ['Standard', 'PowerPartner', 'CsnOnly'];
const LANGUAGES = ['en_US', 'de', 'fr', 'ja', 'es'];
const PRODUCTS = ['Scheduler', 'Router', 'Chat', 'Forms'];
const STATUSES: AuthorizationStatus[] = ['Not Invited', 'Invited', 'Authorized', 'Expired', 'Revoked'];

const NOW = new Date('2026-03-10T12:00:00Z');
const DAY = 86_400_000;

function salesforceDatetime(epoch: number): string {
    return new Date(epoch).toISOString().replace('Z', '+0000');
}

function userIdOf(index: number): string {
    return `005${index.toString(36).padStart(12, '0')}AAA`;
}

function makeUsers(count: number): UserRecord[] {
    const users: UserRecord[] = [];
    for (let index = 0; index < count; index++) {
        const managerIndex = index < 100 ? -1 : Math.floor(random() * Math.min(index, 5000));
        users.push({
            Id: userIdOf(index),
            Name: `User ${index}`,
            Email: `user${index}@example.com`,
            IsActive: chance(0.93),
            Department: chance(0.08) ? null : pick(DEPARTMENTS),
            Title: chance(0.1) ? null : pick(TITLES),
            City: pick(CITIES),
            Country: chance(0.05) ? null : pick(COUNTRIES),
            UserType: pick(USER_TYPES),
            LanguageLocaleKey: pick(LANGUAGES),
            NumberOfFailedLogins: chance(0.2) ? null : Math.floor(random() * 6),
            ReceivesInfoEmails: chance(0.5),
            LastLoginDate: chance(0.1)
                ? null
                : salesforceDatetime(NOW.getTime() - Math.floor(random() * 400 * DAY)),
            CreatedDate: salesforceDatetime(NOW.getTime() - Math.floor(random() * 2000 * DAY)),
            ManagerId: managerIndex < 0 ? null : userIdOf(managerIndex),
            UserRole: chance(0.15) ? null : { Name: pick(ROLES) },
            Profile: { Name: pick(PROFILES) },
            Manager: managerIndex < 0 ? null : { Department: chance(0.1) ? null : pick(DEPARTMENTS) }
        });
    }
    return users;
}

/** Condition templates over real User fields, parent fields and IsManager. */
const TEMPLATES: Array<() => Condition> = [
    () => ({ field: 'Department', operator: 'equals', value: pick(DEPARTMENTS).toUpperCase() }),
    () => ({ field: 'Department', operator: 'notEquals', value: pick(DEPARTMENTS) }),
    () => ({ field: 'Department', operator: 'in', value: [pick(DEPARTMENTS), pick(DEPARTMENTS)] }),
    () => ({ field: 'Department', operator: 'notIn', value: [pick(DEPARTMENTS)] }),
    () => ({ field: 'Title', operator: 'contains', value: pick(['sales', 'engineer', 'agent', 'director']) }),
    () => ({ field: 'Title', operator: 'notContains', value: pick(['VP', 'analyst']) }),
    () => ({ field: 'City', operator: 'in', value: [pick(CITIES), pick(CITIES), pick(CITIES)] }),
    () => ({ field: 'Country', operator: 'notIn', value: [pick(COUNTRIES)] }),
    () => ({ field: 'UserType', operator: 'equals', value: 'Standard' }),
    () => ({ field: 'LanguageLocaleKey', operator: 'in', value: [pick(LANGUAGES), pick(LANGUAGES)] }),
    () => ({ field: 'UserRole.Name', operator: 'startsWith', value: pick(['EMEA', 'AMER', 'APAC', 'C']) }),
    () => ({ field: 'UserRole.Name', operator: 'isNull' }),
    () => ({ field: 'Profile.Name', operator: 'equals', value: pick(PROFILES) }),
    () => ({ field: 'Manager.Department', operator: 'equals', value: pick(DEPARTMENTS) }),
    () => ({ field: 'Manager.Department', operator: 'isNotNull' }),
    () => ({ field: 'LastLoginDate', operator: 'withinLastDays', value: pick([7, 30, 90, 180]) }),
    () => ({ field: 'LastLoginDate', operator: 'olderThanDays', value: pick([30, 90, 365]) }),
    () => ({
        field: 'CreatedDate',
        operator: 'greaterThan',
        value: new Date(NOW.getTime() - Math.floor(random() * 1500) * DAY)
            .toISOString()
            .replace(/\.\d{3}Z$/, 'Z')
    }),
    () => ({ field: 'NumberOfFailedLogins', operator: 'lessThan', value: pick([1, 2, 3]) }),
    () => ({ field: 'NumberOfFailedLogins', operator: 'greaterOrEqual', value: pick([1, 3]) }),
    () => ({ field: 'ReceivesInfoEmails', operator: 'equals', value: chance(0.5) }),
    () => ({ field: 'IsManager', operator: 'equals', value: chance(0.7) })
];

/** Filter logic as admins write it: mostly AND, with an OR group or a NOT here and there. */
const LOGICS = [
    undefined,
    '1 AND 2 AND (3 OR 4) AND 5',
    '(1 OR 2) AND 3 AND 4 AND 5',
    '1 AND (2 OR NOT 3) AND 4 AND 5',
    '1 AND 2 AND NOT (3 AND 4) AND 5',
    '(1 AND 2) OR (3 AND 4 AND 5)',
    '1 AND (2 OR 3 OR 4) AND 5'
];

function makeSets(): ConditionSetInput[] {
    return Array.from({ length: SETS }, (_, index) => {
        const conditions = Array.from({ length: CONDITIONS_PER_SET }, () => pick(TEMPLATES)());
        const logic = pick(LOGICS);
        return {
            id: `a00${String(index).padStart(12, '0')}`,
            name: `Set ${index + 1}`,
            products: [pick(PRODUCTS), pick(PRODUCTS)].filter(
                (product, i, all) => all.indexOf(product) === i
            ),
            eligibleStatuses: chance(0.5) ? ['Not Invited'] : ['Not Invited', 'Expired', 'Revoked'],
            definition: JSON.stringify(
                logic === undefined ? { version: 1, conditions } : { version: 1, conditions, logic }
            ),
            createdDate: salesforceDatetime(Date.UTC(2025, 0, 1) + index * DAY)
        };
    });
}

// --- json-rules-engine: the same rules, SOQL semantics written as its custom operators -------------

type Kind = 'text' | 'number' | 'boolean' | 'datetime' | 'manager';

function kindOf(field: string, type: string): Kind {
    if (field === 'IsManager') return 'manager';
    if (type === 'boolean') return 'boolean';
    if (type === 'int' || type === 'double' || type === 'currency' || type === 'percent') return 'number';
    if (type === 'datetime') return 'datetime';
    return 'text';
}

const lower = (value: unknown): string | null =>
    value === null || value === undefined || value === '' ? null : String(value).toLowerCase();
const epoch = (value: unknown): number | null =>
    value === null || value === undefined ? null : Date.parse(String(value).replace(/\+0000$/, 'Z'));

function addSoqlOperators(engine: Engine): void {
    engine.addOperator('textEquals', (fact: unknown, value: string) => lower(fact) === value);
    engine.addOperator('textNotEquals', (fact: unknown, value: string) => lower(fact) !== value);
    engine.addOperator('textIn', (fact: unknown, value: string[]) => {
        const v = lower(fact);
        return v !== null && value.includes(v);
    });
    engine.addOperator('textNotIn', (fact: unknown, value: string[]) => {
        const v = lower(fact);
        return v === null || !value.includes(v);
    });
    engine.addOperator('textContains', (fact: unknown, value: string) => {
        const v = lower(fact);
        return v !== null && v.includes(value);
    });
    engine.addOperator('textNotContains', (fact: unknown, value: string) => {
        const v = lower(fact);
        return v === null || !v.includes(value);
    });
    engine.addOperator('textStartsWith', (fact: unknown, value: string) => {
        const v = lower(fact);
        return v !== null && v.startsWith(value);
    });
    engine.addOperator('isNull', (fact: unknown) => lower(fact) === null);
    engine.addOperator('isNotNull', (fact: unknown) => lower(fact) !== null);
    engine.addOperator(
        'numberLessThan',
        (fact: unknown, value: number) => typeof fact === 'number' && fact < value
    );
    engine.addOperator(
        'numberGreaterOrEqual',
        (fact: unknown, value: number) => typeof fact === 'number' && fact >= value
    );
    engine.addOperator('booleanEquals', (fact: unknown, value: boolean) => (fact === true) === value);
    engine.addOperator('datetimeGreaterThan', (fact: unknown, value: number) => {
        const v = epoch(fact);
        return v !== null && v > value;
    });
    engine.addOperator('datetimeWithin', (fact: unknown, value: [number, number]) => {
        const v = epoch(fact);
        return v !== null && v >= value[0] && v < value[1];
    });
    engine.addOperator('datetimeBefore', (fact: unknown, value: number) => {
        const v = epoch(fact);
        return v !== null && v < value;
    });
}

function jreCondition(
    condition: PreparedSet['definition']['conditions'][number],
    ctx: EvalContext
): NestedCondition {
    const kind = kindOf(condition.field, condition.schemaField.type);
    const fact = condition.field;
    const value = condition.value;
    const name = (operator: string): string => `${kind === 'manager' ? 'boolean' : kind}${operator}`;
    switch (condition.operator) {
        case 'equals':
            return kind === 'text'
                ? { fact, operator: 'textEquals', value: String(value).toLowerCase() }
                : { fact, operator: name('Equals'), value: value as boolean };
        case 'notEquals':
            return { fact, operator: 'textNotEquals', value: String(value).toLowerCase() };
        case 'in':
            return { fact, operator: 'textIn', value: (value as string[]).map((item) => item.toLowerCase()) };
        case 'notIn':
            return {
                fact,
                operator: 'textNotIn',
                value: (value as string[]).map((item) => item.toLowerCase())
            };
        case 'contains':
            return { fact, operator: 'textContains', value: String(value).toLowerCase() };
        case 'notContains':
            return { fact, operator: 'textNotContains', value: String(value).toLowerCase() };
        case 'startsWith':
            return { fact, operator: 'textStartsWith', value: String(value).toLowerCase() };
        case 'isNull':
            return { fact, operator: 'isNull', value: null };
        case 'isNotNull':
            return { fact, operator: 'isNotNull', value: null };
        case 'lessThan':
            return { fact, operator: 'numberLessThan', value: value as number };
        case 'greaterOrEqual':
            return { fact, operator: 'numberGreaterOrEqual', value: value as number };
        case 'greaterThan':
            return { fact, operator: 'datetimeGreaterThan', value: Date.parse(String(value)) };
        case 'withinLastDays': {
            const window = relativeWindow(value as number, ctx.now, ctx.timeZone);
            return { fact, operator: 'datetimeWithin', value: [window.fromInstant, window.tomorrowInstant] };
        }
        case 'olderThanDays':
            return {
                fact,
                operator: 'datetimeBefore',
                value: relativeWindow(value as number, ctx.now, ctx.timeZone).fromInstant
            };
        default:
            throw new Error(`bench: no json-rules-engine form for ${condition.operator}`);
    }
}

function jreTree(node: LogicNode, set: PreparedSet, ctx: EvalContext): NestedCondition {
    if (node.type === 'condition') return jreCondition(set.definition.conditions[node.index - 1], ctx);
    if (node.type === 'not') return { not: jreTree(node.child, set, ctx) };
    const children = node.children.map((child) => jreTree(child, set, ctx));
    return node.type === 'and' ? { all: children } : { any: children };
}

function jreTopLevel(set: PreparedSet, ctx: EvalContext): TopLevelCondition {
    const tree = jreTree(set.definition.tree, set, ctx);
    // The evaluator requires IsActive === true; so does the rule.
    return { all: [{ fact: 'IsActive', operator: 'booleanEquals', value: true }, tree] };
}

const FACT_PATHS = [
    'IsActive',
    'Department',
    'Title',
    'City',
    'Country',
    'UserType',
    'LanguageLocaleKey',
    'NumberOfFailedLogins',
    'ReceivesInfoEmails',
    'LastLoginDate',
    'CreatedDate'
];

function factsOf(user: UserRecord, ctx: EvalContext): Record<string, unknown> {
    const facts: Record<string, unknown> = {};
    for (const path of FACT_PATHS) facts[path] = user[path] ?? null;
    const role = user.UserRole as { Name?: string } | null;
    const profile = user.Profile as { Name?: string } | null;
    const manager = user.Manager as { Department?: string } | null;
    facts['UserRole.Name'] = role ? (role.Name ?? null) : null;
    facts['Profile.Name'] = profile ? (profile.Name ?? null) : null;
    facts['Manager.Department'] = manager ? (manager.Department ?? null) : null;
    facts.IsManager = ctx.managerIds.has(user.Id);
    return facts;
}

async function runJsonRulesEngine(
    valid: PreparedSet[],
    users: UserRecord[],
    ctx: EvalContext
): Promise<string[][]> {
    const engine = new Engine([], { allowUndefinedFacts: true });
    addSoqlOperators(engine);
    valid.forEach((set) =>
        engine.addRule({ name: set.id, conditions: jreTopLevel(set, ctx), event: { type: set.id } })
    );
    const order = new Map(valid.map((set, index) => [set.id, index]));
    const matched: string[][] = [];
    for (const user of users) {
        const { events } = await engine.run(factsOf(user, ctx));
        matched.push(
            events.map((event) => event.type).sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0))
        );
    }
    return matched;
}

// --- run -----------------------------------------------------------------------------------------

async function main(): Promise<void> {
    const describe: SObjectDescribe = JSON.parse(
        readFileSync(
            join(__dirname, '..', 'service', 'src', 'local-org', 'schema', 'User.describe.json'),
            'utf8'
        )
    );
    const schema = buildSchema(describe, {});
    const users = makeUsers(USERS);
    const sets = makeSets();
    const managerIds = new Set<string>();
    for (const user of users)
        if (user.IsActive && typeof user.ManagerId === 'string') managerIds.add(user.ManagerId);
    const ctx: EvalContext = { now: NOW, timeZone: 'America/Los_Angeles', managerIds };
    // Calendar_Authorization__c records by user, then product; no record means Not Invited.
    const statuses = new Map<string, Map<string, AuthorizationStatus>>();
    for (let index = 0; index < users.length; index += 3) {
        statuses.set(users[index].Id, new Map([[pick(PRODUCTS), pick(STATUSES)]]));
    }
    const statusOf = (userId: string, product: string): AuthorizationStatus =>
        statuses.get(userId)?.get(product) ?? 'Not Invited';

    // Warm both engines up on the first 2,000 users.
    const warm = users.slice(0, 2000);
    computeEligibility(prepareSets(sets, schema).valid, warm, statusOf, ctx);
    await runJsonRulesEngine(prepareSets(sets, schema).valid, warm, ctx);
    globalThis.gc?.();

    const started = performance.now();
    const prepared = prepareSets(sets, schema);
    const result = computeEligibility(prepared.valid, users, statusOf, ctx);
    const seconds = (performance.now() - started) / 1000;
    if (prepared.invalid.length > 0)
        throw new Error(`bench: invalid sets ${JSON.stringify(prepared.invalid[0].errors)}`);

    globalThis.gc?.();
    const jreStarted = performance.now();
    const jreMatched = await runJsonRulesEngine(prepared.valid, users, ctx);
    // Attribution for json-rules-engine's matches, the same rules as computeEligibility.
    const jreEntries = new Map<string, string[]>();
    const byId = new Map(prepared.valid.map((set) => [set.id, set]));
    users.forEach((user, index) => {
        const products: string[] = [];
        for (const id of jreMatched[index]) {
            const set = byId.get(id);
            if (!set) continue;
            for (const product of set.products) {
                if (
                    !products.includes(product) &&
                    set.eligibleStatuses.includes(statusOf(user.Id, product))
                ) {
                    products.push(product);
                }
            }
        }
        if (products.length > 0) jreEntries.set(user.Id, products.sort());
    });
    const jreSeconds = (performance.now() - jreStarted) / 1000;

    // The results must be equal: same eligible users, same products, same matched sets.
    const nameById = new Map(prepared.valid.map((set) => [set.id, set.name]));
    if (result.entries.length !== jreEntries.size) {
        throw new Error(
            `bench: ${result.entries.length} eligible users vs ${jreEntries.size} in json-rules-engine`
        );
    }
    const indexById = new Map(users.map((user, index) => [user.Id, index]));
    for (const entry of result.entries) {
        const theirs = jreEntries.get(entry.userId);
        const ours = [...entry.products].sort();
        const theirSets = (jreMatched[indexById.get(entry.userId) ?? -1] ?? []).map((id) => nameById.get(id));
        if (!theirs || theirs.join() !== ours.join() || theirSets.join() !== entry.matchedSets.join()) {
            throw new Error(`bench: results differ for ${entry.userId}: ${ours} / ${theirs}`);
        }
    }

    // Overlaps count every matching user, eligible or not: compare them too.
    const pairs = new Map<string, number>();
    for (const matched of jreMatched) {
        for (let a = 0; a < matched.length; a++) {
            for (let b = a + 1; b < matched.length; b++) {
                const key = `${nameById.get(matched[a])}|${nameById.get(matched[b])}`;
                pairs.set(key, (pairs.get(key) ?? 0) + 1);
            }
        }
    }
    if (
        pairs.size !== result.overlaps.length ||
        result.overlaps.some((overlap) => pairs.get(`${overlap.setA}|${overlap.setB}`) !== overlap.users)
    ) {
        throw new Error('bench: overlap counts differ from json-rules-engine');
    }

    const summary = {
        bench: 'engine',
        users: USERS,
        sets: SETS,
        seconds: Number(seconds.toFixed(3)),
        usersPerSec: Math.round(USERS / seconds),
        ratioVsJsonRulesEngine: Number((jreSeconds / seconds).toFixed(1))
    };
    console.log(
        `engine: ${result.entries.length} eligible of ${result.evaluated}, ${result.overlaps.length} overlapping pairs; ` +
            `ours ${seconds.toFixed(3)} s, json-rules-engine ${jreSeconds.toFixed(3)} s (results equal)`
    );
    console.log(JSON.stringify(summary));
}

main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
});
