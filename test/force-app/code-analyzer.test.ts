/**
 * Code Analyzer v5 over force-app (test/force-app/code-analyzer.ts): the Security and AppExchange selections
 * (pmd, eslint, retire-js, regex), the PMD test-practice rules, and SFGE's FLS and sharing rules on every
 * @AuraEnabled entry point. Any finding fails; a false positive is suppressed at its line with its reason.
 * A planted copy proves the run can fail: an @AuraEnabled method querying without user mode (SFGE's
 * ApexFlsViolation), insecure Apex and a careless test class (PMD).
 *
 * One analysis of force-app and one of the planted copy, shared by the assertions. Java 17 must be on the
 * PATH (or JAVA_HOME set); nothing is downloaded.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
    type AnalysisResult,
    MAIN_SELECTORS,
    TEST_PRACTICE_RULES,
    analyzeForceApp,
    deployedFiles,
    suppressions
} from './code-analyzer';

const root = join(__dirname, '..', '..');
const forceApp = join(root, 'force-app');
/** SFGE builds a graph of the Apex: minutes on this 2-core machine. */
const ANALYSIS_TIMEOUT_MS = 20 * 60_000;

const PLANTED_FLS = `public with sharing class PlantedFls {
    @AuraEnabled
    public static List<Condition_Set__c> leakDefinitions() {
        return [SELECT Id, Name, Definition__c FROM Condition_Set__c];
    }
}
`;

const PLANTED_INSECURE = `public class PlantedInsecure {
    public static List<Account> find(String name) {
        List<Account> found = Database.query('SELECT Id FROM Account WHERE Name = \\'' + name + '\\'');
        insert new Account(Name = name);
        return found;
    }
}
`;

const PLANTED_CARELESS_TEST = `@isTest(SeeAllData=true)
private class PlantedCarelessTest {
    @isTest
    static void assertsNothing() {
        PlantedInsecure.find('Acme');
    }
    @isTest
    static void assertsWithoutSayingWhy() {
        System.runAs(new User(Id = UserInfo.getUserId())) {
            Assert.areEqual(0, PlantedInsecure.find('Acme').size());
        }
    }
}
`;

const META = `<?xml version="1.0" encoding="UTF-8"?>
<ApexClass xmlns="http://soap.sforce.com/2006/04/metadata"><apiVersion>62.0</apiVersion><status>Active</status></ApexClass>
`;

describe('Code Analyzer v5 (Security, AppExchange, SFGE FLS and sharing)', () => {
    let work: string;
    let real: AnalysisResult;
    let planted: AnalysisResult;

    beforeAll(async () => {
        work = mkdtempSync(join(tmpdir(), 'rollcall-code-analyzer-'));
        // The planted copy: the objects (SFGE reads their fields) and three planted classes, nothing else.
        const plantedApp = join(work, 'force-app');
        const classes = join(plantedApp, 'main', 'default', 'classes');
        mkdirSync(classes, { recursive: true });
        cpSync(join(forceApp, 'main', 'default', 'objects'), join(plantedApp, 'main', 'default', 'objects'), {
            recursive: true
        });
        for (const [name, source] of [
            ['PlantedFls', PLANTED_FLS],
            ['PlantedInsecure', PLANTED_INSECURE],
            ['PlantedCarelessTest', PLANTED_CARELESS_TEST]
        ]) {
            writeFileSync(join(classes, `${name}.cls`), source);
            writeFileSync(join(classes, `${name}.cls-meta.xml`), META);
        }
        // One after the other: each already runs two Java engines side by side on the two cores.
        real = await analyzeForceApp(forceApp, root);
        planted = await analyzeForceApp(plantedApp, work);
        console.log(
            `Code Analyzer: force-app main engines ${real.mainMs} ms, SFGE ${real.sfgeMs} ms on ` +
                `${real.sfgeTargets.length} entry-point classes; planted copy ${planted.mainMs} / ${planted.sfgeMs} ms`
        );
    }, ANALYSIS_TIMEOUT_MS);

    afterAll(() => rmSync(work, { recursive: true, force: true }));

    it('when the analyzers are set up, then every engine ran its rules (an engine that cannot start is not a pass)', () => {
        expect(Object.keys(real.rulesByEngine).sort()).toEqual([
            'eslint',
            'pmd',
            'regex',
            'retire-js',
            'sfge'
        ]);
        expect(real.rulesByEngine.sfge).toBe(2);
        expect(real.rulesByEngine.pmd).toBeGreaterThanOrEqual(29 + TEST_PRACTICE_RULES.length);
        expect(MAIN_SELECTORS).toContain('AppExchange');
        expect(real.errors).toEqual([]);
    });

    it('when SFGE looks for entry points, then it analyzes every class with an @AuraEnabled method', () => {
        expect(real.sfgeTargets).toEqual(
            expect.arrayContaining([
                'force-app/main/default/classes/ConditionSetController.cls',
                'force-app/main/default/classes/ProvisioningController.cls',
                'force-app/main/default/classes/RunHistoryController.cls',
                'force-app/main/default/classes/ScheduledProvisioningController.cls'
            ])
        );
    });

    it('when force-app is analyzed, then there is no unsuppressed finding', () => {
        expect(real.findings.map((f) => `${f.file}:${f.line} ${f.engine}:${f.rule} ${f.message}`)).toEqual(
            []
        );
    });

    it('when a finding is suppressed, then the suppression names its rule and gives its reason at the line', () => {
        const markers = suppressions(deployedFiles(forceApp), root);
        expect(markers.length).toBeGreaterThan(0);
        const unexplained = markers.filter((m) => !/^[\w-]+:\w+$/.test(m.selector) || m.reason.length < 15);
        expect(unexplained).toEqual([]);
    });

    it('when an @AuraEnabled method queries without user mode, then SFGE reports ApexFlsViolation (the check can fail)', () => {
        const fls = planted.findings.filter((f) => f.rule === 'ApexFlsViolation');
        expect(fls.map((f) => f.file)).toContain('force-app/main/default/classes/PlantedFls.cls');
    });

    it('when insecure Apex and a careless test are planted, then PMD reports the security and test-practice rules', () => {
        const rules = new Set(planted.findings.filter((f) => f.engine === 'pmd').map((f) => f.rule));
        for (const rule of [
            'ApexCRUDViolation',
            'ApexSharingViolations',
            'ApexSOQLInjection',
            ...TEST_PRACTICE_RULES
        ])
            expect([...rules]).toContain(rule);
    });
});
