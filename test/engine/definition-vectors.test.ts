/**
 * The shared definition test vectors (force-app static resource RollcallDefinitionVectors), run against the
 * engine's validator. Apex's ConditionDefinitionValidator runs the same file in ConditionDefinitionVectorsTest,
 * so the two validators cannot disagree on a vector unnoticed: a vector changed to suit one side fails the
 * other. Here we also check what no org can check for us: the file covers every operator on every field type
 * and every code, and the codes Apex can emit are exactly the engine's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
    OPERATOR_TABLE,
    buildSchema,
    validateDefinition,
    type FieldDescribe,
    type SObjectDescribe
} from '../../service/src/engine';

const root = join(__dirname, '..', '..');
const classes = join(root, 'force-app', 'main', 'default', 'classes');
const RESOURCE = join(
    root,
    'force-app',
    'main',
    'default',
    'staticresources',
    'RollcallDefinitionVectors.json'
);

interface VectorField {
    name: string;
    label: string;
    type: string;
    filterable?: boolean;
    restricted?: boolean;
    picklistValues?: string[];
    relationshipName?: string;
}

interface Vector {
    name: string;
    definition?: unknown;
    definitionText?: string;
    errors: { code: string; condition?: number }[];
    /** Each condition's value as both validators normalise it (record Ids: 18 characters, case restored). */
    normalized?: unknown[];
}

const file = JSON.parse(readFileSync(RESOURCE, 'utf8')) as { fields: VectorField[]; vectors: Vector[] };

/** The vectors' fields as a REST describe, with the Profile and Role Name that Apex's catalog offers. */
function describeOf(fields: VectorField[]): SObjectDescribe {
    return {
        name: 'User',
        fields: fields.map((field): FieldDescribe => {
            const describe: FieldDescribe = {
                name: field.name,
                label: field.label,
                type: field.type,
                filterable: field.filterable !== false,
                custom: field.name.endsWith('__c')
            };
            if (field.relationshipName) describe.relationshipName = field.relationshipName;
            if (field.picklistValues) {
                describe.picklistValues = field.picklistValues.map((value) => ({
                    active: true,
                    value,
                    label: value
                }));
                describe.restrictedPicklist = field.restricted === true;
            }
            return describe;
        })
    };
}

const nameOnly = (name: string): SObjectDescribe => ({
    name,
    fields: [{ name: 'Name', label: 'Name', type: 'string', filterable: true }]
});
const schema = buildSchema(describeOf(file.fields), {
    Profile: nameOnly('Profile'),
    UserRole: nameOnly('UserRole')
});

/** Errors compare as a set of code and condition number, as ConditionDefinitionVectorsTest compares them. */
const keyOf = (error: { code: string; condition?: number | null }): string =>
    error.condition == null ? error.code : `${error.code}@${error.condition}`;
const keys = (errors: { code: string; condition?: number | null }[]): string[] =>
    [...new Set(errors.map(keyOf))].sort();

function textOf(vector: Vector): string {
    return vector.definitionText ?? JSON.stringify(vector.definition);
}

/** String literals of the engine's ValidationErrorCode union (types.ts). */
function engineCodeUnion(): string[] {
    const types = readFileSync(join(root, 'service', 'src', 'engine', 'types.ts'), 'utf8');
    const union = /export type ValidationErrorCode =([^;]+);/.exec(types)?.[1] ?? '';
    return [...union.matchAll(/'([A-Z_]+)'/g)].map((match) => match[1]);
}

/** Codes a source file can emit: the union's members it quotes (engine) or declares as constants (Apex). */
function quotedCodes(path: string, among: string[]): Set<string> {
    const source = readFileSync(path, 'utf8');
    return new Set(among.filter((code) => source.includes(`'${code}'`)));
}

describe('shared definition test vectors (static resource RollcallDefinitionVectors)', () => {
    it('when the file is read, then it holds at least 40 vectors with unique names', () => {
        expect(file.vectors.length).toBeGreaterThanOrEqual(40);
        expect(new Set(file.vectors.map((vector) => vector.name)).size).toBe(file.vectors.length);
    });

    it.each(file.vectors.map((vector) => [vector.name, vector] as const))(
        'when the engine validates "%s", then it reports exactly the expected codes',
        (_name, vector) => {
            const result = validateDefinition(textOf(vector), schema);
            const actual = result.ok ? [] : keys(result.errors);
            expect(actual).toEqual(keys(vector.errors));
        }
    );

    it.each(
        file.vectors
            .filter((vector) => vector.normalized !== undefined)
            .map((vector) => [vector.name, vector] as const)
    )('when the engine validates "%s", then each value is normalised as the vector says', (_name, vector) => {
        const result = validateDefinition(textOf(vector), schema);
        if (!result.ok) throw new Error(result.errors.map((error) => error.message).join(' '));
        expect(result.definition.conditions.map((condition) => condition.value)).toEqual(vector.normalized);
    });

    it('when the vectors are read, then lower-cased, upper-cased, 15-character and broken-checksum Ids are among them', () => {
        const normalized = file.vectors.filter((vector) => vector.normalized !== undefined);
        const raw = normalized.flatMap((vector) => JSON.stringify(vector.definition));
        expect(raw.join()).toMatch(/"[0-9a-z]{18}"/);
        expect(raw.join()).toMatch(/"[0-9A-Z]{18}"/);
        expect(raw.join()).toMatch(/"[0-9A-Za-z]{15}"/);
        expect(file.vectors.some((vector) => /checksum/.test(vector.name) && vector.errors.length > 0)).toBe(
            true
        );
    });

    it('when the valid vectors are listed, then every operator of every field type is used in one', () => {
        const used = new Set<string>();
        for (const vector of file.vectors.filter((candidate) => candidate.errors.length === 0)) {
            const definition = JSON.parse(textOf(vector)) as {
                conditions: { field: string; operator: string }[];
            };
            for (const condition of definition.conditions) {
                const field = schema.resolve(condition.field);
                if (field) used.add(`${field.type} ${condition.operator}`);
            }
        }
        const missing = Object.entries(OPERATOR_TABLE).flatMap(([type, operators]) =>
            operators
                .filter((operator) => !used.has(`${type} ${operator}`))
                .map((operator) => `${type} ${operator}`)
        );
        expect(missing).toEqual([]);
    });

    it('when the codes are compared, then Apex can emit exactly the codes the engine validator can, and each has a vector', () => {
        const union = engineCodeUnion();
        const engine = new Set([
            ...quotedCodes(join(root, 'service', 'src', 'engine', 'validate.ts'), union),
            ...quotedCodes(join(root, 'service', 'src', 'engine', 'logic.ts'), union)
        ]);
        const apexSource = ['ConditionDefinitionValidator.cls', 'FilterLogic.cls']
            .map((name) => readFileSync(join(classes, name), 'utf8'))
            .join('\n');
        const apex = new Set(
            [...apexSource.matchAll(/static final String \w+ = '([A-Z_]+)';/g)].map((m) => m[1])
        );
        expect([...apex].sort()).toEqual([...engine].sort());
        const covered = new Set(file.vectors.flatMap((vector) => vector.errors.map((error) => error.code)));
        expect([...engine].filter((code) => !covered.has(code))).toEqual([]);
    });

    it('when the Apex test is read, then it runs this resource through ConditionDefinitionValidator', () => {
        const apexTest = readFileSync(join(classes, 'ConditionDefinitionVectorsTest.cls'), 'utf8');
        expect(apexTest).toContain("'RollcallDefinitionVectors'");
        expect(apexTest).toContain('new ConditionDefinitionValidator(');
    });
});
