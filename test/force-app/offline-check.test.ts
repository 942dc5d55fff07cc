/**
 * The offline check of force-app: what a deploy would reject, caught with no org.
 * - every Apex class and trigger parses with @apexdevtools/apex-parser;
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
