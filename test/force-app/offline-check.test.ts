/**
 * The offline check of force-app: what a deploy would reject, caught with no org.
 * - every Apex class and trigger parses with @apexdevtools/apex-parser;
 * - no variable, parameter or property is named with an Apex reserved keyword (the parser accepts
 *   `Integer number`, the Apex compiler does not);
 * - every metadata XML file is well-formed;
 * - the whole source converts to the metadata API format with
 *   @salesforce/source-deploy-retrieve (what `sf project convert source` runs).
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ApexErrorListener, ApexParserFactory } from '@apexdevtools/apex-parser';
import { ComponentSet, MetadataConverter } from '@salesforce/source-deploy-retrieve';
import { XMLValidator } from 'fast-xml-parser';

const root = join(__dirname, '..', '..');
const forceApp = join(root, 'force-app');

function walk(dir: string): string[] {
    return readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        if (name === 'node_modules' || name === '__tests__') return [];
        return statSync(path).isDirectory() ? walk(path) : [path];
    });
}

class CollectingListener extends ApexErrorListener {
    readonly errors: string[] = [];
    apexSyntaxError(line: number, column: number, message: string): void {
        this.errors.push(`${line}:${column} ${message}`);
    }
}

function apexSyntaxErrors(source: string, trigger: boolean): string[] {
    const listener = new CollectingListener();
    const { parser } = ApexParserFactory.createLexerAndParser(source, listener);
    if (trigger) parser.triggerUnit();
    else parser.compilationUnit();
    return listener.errors;
}

/** Apex's reserved keywords ("can only be used as keywords", Apex Developer Guide, Reserved Keywords). */
const APEX_RESERVED = new Set(
    (
        'abstract activate and any array as asc autonomous begin bigdecimal blob boolean break bulk by byte case ' +
        'cast catch char class collect commit const continue currency date datetime decimal default delete desc ' +
        'do double else end enum exception exit export extends false final finally float for from global goto ' +
        'group having hint if implements import in inner insert instanceof int integer interface into join like ' +
        'limit list long loop map merge new not null nulls number object of on or outer override package ' +
        'parallel pragma private protected public retrieve return rollback select set short sobject sort static ' +
        'string super switch synchronized system testmethod then this throw time transaction trigger true try ' +
        'undelete update upsert using virtual void webservice when where while'
    ).split(' ')
);

/** Names declared as `Type name` followed by `=`, `;`, `,`, `)` or `{` (a property), outside comments and strings. */
function reservedDeclarations(source: string): string[] {
    const code = source
        .replace(/\/\*[\s\S]*?\*\//g, ' ')
        .replace(/\/\/.*$/gm, ' ')
        .replace(/'(?:\\.|[^'\\])*'/g, "''");
    const declaration = /\b[A-Z]\w*(?:\.\w+)*(?:<[\w\s.,<>]*>)?(?:\[\])?\s+([A-Za-z_]\w*)\s*(?=[=;,){])/g;
    return [...code.matchAll(declaration)]
        .map((match) => match[1])
        .filter((name) => APEX_RESERVED.has(name.toLowerCase()));
}

const files = walk(forceApp);
const apexFiles = files.filter((file) => file.endsWith('.cls') || file.endsWith('.trigger'));
const xmlFiles = files.filter((file) => file.endsWith('.xml'));

describe('force-app offline check', () => {
    it('when the parser is given broken Apex, then it reports an error (the check can fail)', () => {
        expect(apexSyntaxErrors('public class Broken { void x( }', false).length).toBeGreaterThan(0);
        expect(apexSyntaxErrors('public with sharing class Fine { }', false)).toEqual([]);
    });

    it.each(apexFiles.map((file) => [relative(root, file)]))(
        'when %s is parsed, then it has no syntax error',
        (file) => {
            const source = readFileSync(join(root, file), 'utf8');
            expect(apexSyntaxErrors(source, file.endsWith('.trigger'))).toEqual([]);
        }
    );

    it('when a declaration uses a reserved keyword as its name, then the check reports it', () => {
        expect(reservedDeclarations('Integer number = 1; Decimal total; void f(String value) {}')).toEqual([
            'number'
        ]);
        expect(reservedDeclarations("// Integer number\nString s = 'Date date;';")).toEqual([]);
    });

    it('when every Apex file is read, then no declaration is named with a reserved keyword', () => {
        const offenders = apexFiles.flatMap((file) =>
            reservedDeclarations(readFileSync(file, 'utf8')).map((name) => `${relative(root, file)}: ${name}`)
        );
        expect(offenders).toEqual([]);
    });

    it('when any Apex class exists, then it has its -meta.xml beside it', () => {
        const missing = apexFiles
            .filter((file) => !existsSync(`${file}-meta.xml`))
            .map((f) => relative(root, f));
        expect(missing).toEqual([]);
    });

    it('when every metadata XML file is read, then each is well-formed', () => {
        const bad = xmlFiles
            .map((file) => ({
                file: relative(root, file),
                result: XMLValidator.validate(readFileSync(file, 'utf8'))
            }))
            .filter(({ result }) => result !== true)
            .map(({ file, result }) => `${file}: ${JSON.stringify(result)}`);
        expect(bad).toEqual([]);
    });

    it('when the source is converted to the metadata format, then every component converts', async () => {
        const output = mkdtempSync(join(tmpdir(), 'rollcall-convert-'));
        try {
            const components = ComponentSet.fromSource(forceApp);
            const sourceCount = components.getSourceComponents().toArray().length;
            expect(sourceCount).toBeGreaterThan(0);
            const result = await new MetadataConverter().convert(components, 'metadata', {
                type: 'directory',
                outputDirectory: output,
                packageName: 'rollcall',
                genUniqueDir: false
            });
            expect(result.packagePath).toBeDefined();
            const manifest = readFileSync(join(result.packagePath as string, 'package.xml'), 'utf8');
            expect(manifest).toContain('<types>');
        } finally {
            rmSync(output, { recursive: true, force: true });
        }
    });
});
