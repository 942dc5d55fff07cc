/**
 * ApexLink's semantic check of force-app (scripts/apexlink.ts): every Apex class resolved against the
 * platform's System and Schema types and our custom objects, with no org. It catches what the parser of
 * offline-check.test.ts cannot: an unknown method or field, a call no signature accepts, an incompatible
 * assignment. Java 17+ must be on the PATH (or JAVA_HOME set), as for pmd.test.ts.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
    APEX_LS_JAR,
    JAVA_21_CLASSES,
    type ApexLinkIssue,
    checkApex,
    formatIssue,
    patchApexLsJar,
    readZip
} from '../../scripts/apexlink';

const root = join(__dirname, '..', '..');
const APEXLINK_TIMEOUT_MS = 180_000;
const PLANTED_CLASS = 'force-app/main/default/classes/PlantedErrors.cls';

/** Each planted line, with what ApexLink must say about it. */
const PLANTED_SOURCE = `public with sharing class PlantedErrors {
    public static final String FAILED = 'FAILED';

    static String describe(String code, Integer status) {
        return code + status;
    }

    public static String shadowed() {
        try {
            return describe(FAILED, 1);
        } catch (CalloutException failed) {
            return describe(FAILED, 0);
        }
    }

    public static Integer unknownMethod() {
        return 'abc'.noSuchMethod();
    }

    public static Condition_Set__c unknownField() {
        return new Condition_Set__c(Name = 'known', Active__c = true, No_Such_Field__c = 1);
    }
}
`;
const PLANTED_ERRORS: [number, RegExp][] = [
    // Apex names are case-insensitive: FAILED is the exception variable here, so no signature matches.
    [12, /^No matching method found for 'describe' .* 'System\.CalloutException, System\.Integer'/],
    [17, /^No matching method found for 'noSuchMethod' on 'System\.String'/],
    [21, /^Unknown field 'No_Such_Field__c' on SObject 'Schema\.Condition_Set__c'/]
];
const CLASS_META = `<?xml version="1.0" encoding="UTF-8"?>
<ApexClass xmlns="http://soap.sforce.com/2006/04/metadata">
    <apiVersion>62.0</apiVersion>
    <status>Active</status>
</ApexClass>
`;

describe('ApexLink semantic check of force-app', () => {
    let work: string;
    let projectIssues: ApexLinkIssue[];
    let plantedIssues: ApexLinkIssue[];

    beforeAll(async () => {
        work = mkdtempSync(join(tmpdir(), 'rollcall-apexlink-'));
        cpSync(join(root, 'sfdx-project.json'), join(work, 'sfdx-project.json'));
        cpSync(join(root, 'force-app'), join(work, 'force-app'), { recursive: true });
        writeFileSync(join(work, PLANTED_CLASS), PLANTED_SOURCE);
        writeFileSync(join(work, `${PLANTED_CLASS}-meta.xml`), CLASS_META);
        // Two JVMs side by side: the real project, and a copy of it with one class of planted errors.
        [projectIssues, plantedIssues] = await Promise.all([checkApex(root), checkApex(work)]);
    }, APEXLINK_TIMEOUT_MS);
    afterAll(() => rmSync(work, { recursive: true, force: true }));

    it('when another build of the apex-ls jar is installed, then it is refused, not patched', () => {
        const tampered = readFileSync(
            join(root, 'node_modules', '@flxbl-io', 'apexlink', 'jars', APEX_LS_JAR)
        );
        tampered[tampered.length - 1] ^= 0xff;
        expect(() => patchApexLsJar(tampered)).toThrow(/SHA-256 .* expected 90e6aa6f/);
    });

    it('when the pinned jar is patched for Java 17, then only bytes 6-7 of the eight Java 21 classes change', () => {
        const original = readFileSync(
            join(root, 'node_modules', '@flxbl-io', 'apexlink', 'jars', APEX_LS_JAR)
        );
        const before = readZip(original);
        const after = readZip(patchApexLsJar(original));
        expect([...after.keys()]).toEqual([...before.keys()]);
        const changed = [...before.keys()].filter(
            (name) => !before.get(name)?.equals(after.get(name) as Buffer)
        );
        expect(changed.sort()).toEqual([...JAVA_21_CLASSES].sort());
        for (const name of changed) {
            const [was, is] = [before.get(name) as Buffer, after.get(name) as Buffer];
            expect([was.readUInt16BE(6), is.readUInt16BE(6)]).toEqual([65, 61]);
            expect(Buffer.concat([is.subarray(0, 6), is.subarray(8)])).toEqual(
                Buffer.concat([was.subarray(0, 6), was.subarray(8)])
            );
        }
    });

    it('when a class has semantic errors, then ApexLink reports each at its line (the check can fail)', () => {
        const planted = plantedIssues.filter((issue) => issue.file === PLANTED_CLASS);
        expect(planted.map((issue) => issue.line)).toEqual(PLANTED_ERRORS.map(([line]) => line));
        planted.forEach((issue, index) => expect(issue.message).toMatch(PLANTED_ERRORS[index][1]));
    });

    it('when ApexLink checks force-app, then no class has an error', () => {
        expect(projectIssues.map(formatIssue)).toEqual([]);
    });
});
