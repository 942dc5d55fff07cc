/**
 * Salesforce Code Analyzer v5 through its core API (@salesforce/code-analyzer-core), offline: the scanner an
 * AppExchange security review expects, with the engines that install from npm and run here with no
 * download (pmd, sfge, eslint, retire-js with its bundled vulnerability list, regex; Java 17 for pmd and sfge).
 *
 * Two analyzers run side by side, each once:
 * - pmd, eslint, retire-js and regex over every deployed file (what .forceignore does not exclude): the
 *   Security and AppExchange selections, plus the PMD test-practice rules the bare PMD run used to check;
 * - sfge (Salesforce Graph Engine) with its FLS and sharing rules, ApexFlsViolation and
 *   DatabaseOperationsMustUseWithSharing, on the entry points only: the targets are the classes with an
 *   @AuraEnabled method, the graph is built from the non-test Apex and the objects (test classes are never
 *   entry points and only slow the graph down).
 *
 * A finding is suppressed only at its line, with its reason, by Code Analyzer's own markers
 * (`code-analyzer-suppress(engine:Rule) reason` … `code-analyzer-unsuppress(engine:Rule)`).
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CodeAnalyzer, CodeAnalyzerConfig, EventType, LogLevel } from '@salesforce/code-analyzer-core';
import type { LogEvent } from '@salesforce/code-analyzer-core';
import * as eslintEngine from '@salesforce/code-analyzer-eslint-engine';
import * as pmdEngine from '@salesforce/code-analyzer-pmd-engine';
import * as regexEngine from '@salesforce/code-analyzer-regex-engine';
import * as retireJsEngine from '@salesforce/code-analyzer-retirejs-engine';
import * as sfgeEngine from '@salesforce/code-analyzer-sfge-engine';
import { ForceIgnore } from '@salesforce/source-deploy-retrieve';

/** The PMD rules of Apex test practice the bare PMD run checked (category best practices). */
export const TEST_PRACTICE_RULES = [
    'ApexUnitTestClassShouldHaveRunAs',
    'ApexUnitTestShouldNotUseSeeAllDataTrue',
    'ApexUnitTestClassShouldHaveAsserts',
    'ApexAssertionsShouldIncludeMessage'
];

export const MAIN_SELECTORS = [
    'pmd:Security',
    'eslint:Security',
    'retire-js:Security',
    'regex:Security',
    'AppExchange',
    ...TEST_PRACTICE_RULES.map((rule) => `pmd:${rule}`)
];

export const SFGE_SELECTORS = ['sfge:ApexFlsViolation', 'sfge:DatabaseOperationsMustUseWithSharing'];

export interface Finding {
    engine: string;
    rule: string;
    file: string;
    line: number;
    message: string;
}

export interface AnalysisResult {
    findings: Finding[];
    /** Selected rule counts per engine: what ran. */
    rulesByEngine: Record<string, number>;
    /** Errors the engines logged (an engine that fails outright also reports an UnexpectedEngineError finding). */
    errors: string[];
    mainMs: number;
    sfgeMs: number;
    sfgeTargets: string[];
}

function walk(dir: string): string[] {
    return readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        if (name === 'node_modules') return [];
        return statSync(path).isDirectory() ? walk(path) : [path];
    });
}

/** The files of a force-app folder the Salesforce CLI would deploy (.forceignore applied). */
export function deployedFiles(forceApp: string): string[] {
    const forceIgnore = ForceIgnore.findAndCreate(forceApp);
    return walk(forceApp).filter((file) => forceIgnore.accepts(file) && !/[/\\]__tests__[/\\]/.test(file));
}

/** The Apex classes with an @AuraEnabled method: the entry points SFGE analyzes. */
export function auraEntryPoints(files: string[]): string[] {
    return files.filter(
        (file) =>
            file.endsWith('.cls') && /@AuraEnabled\b/i.test(readFileSync(file, 'utf8')) && !isTestClass(file)
    );
}

function isTestClass(file: string): boolean {
    return file.endsWith('.cls') && /^\s*@isTest\b/im.test(readFileSync(file, 'utf8'));
}

async function runAnalyzer(
    config: object,
    configRoot: string,
    engines: { createEnginePlugin(): unknown }[],
    selectors: string[],
    workspaceFiles: string[],
    targets: string[] | undefined,
    errors: string[]
): Promise<{ findings: Finding[]; rulesByEngine: Record<string, number>; ms: number }> {
    const started = Date.now();
    const analyzer = new CodeAnalyzer(CodeAnalyzerConfig.fromObject(config, configRoot));
    analyzer.onEvent(EventType.LogEvent, (event: LogEvent) => {
        if (event.logLevel <= LogLevel.Error) errors.push(event.message);
    });
    for (const engine of engines)
        await analyzer.addEnginePlugin(
            engine.createEnginePlugin() as Parameters<CodeAnalyzer['addEnginePlugin']>[0]
        );
    const workspace = await analyzer.createWorkspace(workspaceFiles, targets);
    const selection = await analyzer.selectRules(selectors, { workspace });
    const rulesByEngine: Record<string, number> = {};
    for (const engine of selection.getEngineNames())
        rulesByEngine[engine] = selection.getRulesFor(engine).length;
    const results = await analyzer.run(selection, { workspace });
    const findings = results.getViolations().map((violation) => {
        const location = violation.getPrimaryLocation();
        return {
            engine: violation.getRule().getEngineName(),
            rule: violation.getRule().getName(),
            file: location.getFile() ?? '',
            line: location.getStartLine() ?? 0,
            message: violation.getMessage()
        };
    });
    return { findings, rulesByEngine, ms: Date.now() - started };
}

/**
 * Runs both analyzers over a force-app folder (they run concurrently). `root` is the project folder the
 * findings' paths are made relative to.
 */
export async function analyzeForceApp(forceApp: string, root: string): Promise<AnalysisResult> {
    const files = deployedFiles(forceApp);
    const errors: string[] = [];
    const sfgeTargets = auraEntryPoints(files);
    const graphFiles = files.filter(
        (file) =>
            ((file.endsWith('.cls') || file.endsWith('.trigger')) && !isTestClass(file)) ||
            /[/\\]objects[/\\]/.test(file)
    );
    const config = {
        engines: {
            cpd: { disable_engine: true },
            // Only Code Analyzer's own ESLint configuration (LWC and its security rules), not the project's.
            eslint: { auto_discover_eslint_config: false },
            sfge: {
                java_thread_count: 2,
                // A path slow on a busy machine must finish rather than end as a timeout finding.
                java_thread_timeout: 600_000
            }
        }
    };
    const [main, sfge] = await Promise.all([
        runAnalyzer(
            config,
            root,
            [pmdEngine, eslintEngine, retireJsEngine, regexEngine],
            MAIN_SELECTORS,
            files,
            undefined,
            errors
        ),
        sfgeTargets.length
            ? runAnalyzer(config, root, [sfgeEngine], SFGE_SELECTORS, graphFiles, sfgeTargets, errors)
            : Promise.resolve({ findings: [] as Finding[], rulesByEngine: {}, ms: 0 })
    ]);
    const relativeTo = (finding: Finding): Finding => ({
        ...finding,
        file: finding.file ? relative(root, finding.file) : finding.file
    });
    return {
        findings: [...main.findings, ...sfge.findings].map(relativeTo),
        rulesByEngine: { ...main.rulesByEngine, ...sfge.rulesByEngine },
        errors,
        mainMs: main.ms,
        sfgeMs: sfge.ms,
        sfgeTargets: sfgeTargets.map((file) => relative(root, file))
    };
}

const SUPPRESS = /code-analyzer-suppress\(([^)]*)\)(.*)$/i;

/** Every suppression marker in the files, with the reason written after it (an empty reason is reported). */
export function suppressions(
    files: string[],
    root: string
): { where: string; selector: string; reason: string }[] {
    return files
        .filter((file) => existsSync(file) && /\.(cls|trigger|js|html|xml)$/.test(file))
        .flatMap((file) =>
            readFileSync(file, 'utf8')
                .split('\n')
                .flatMap((line, index) => {
                    const match = SUPPRESS.exec(line);
                    if (!match) return [];
                    const reason = match[2]
                        .replace(/-->\s*$/, '')
                        .replace(/^[\s:\-—]+/, '')
                        .trim();
                    return [{ where: `${relative(root, file)}:${index + 1}`, selector: match[1], reason }];
                })
        );
}
