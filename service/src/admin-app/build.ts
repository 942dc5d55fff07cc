/**
 * Builds the force-app Lightning Web Components with LWC OSS and Salesforce's base components into one
 * browser bundle (the admin app outside an org, DESIGN §9). The components are compiled from their
 * sources in force-app, never copied. The bundle is cached under node_modules/.cache by a hash of the
 * lockfile and every source that goes into it, so a start on a warm cache serves at once.
 *
 * The service never builds in its own process: rollup and the LWC compiler need far more heap than the
 * service's budget (ROLLCALL_MAX_HEAP_MB, 384 MB by default), so `adminAppBundle` runs this file as a child
 * process with a heap of its own (BUILD_HEAP_MB) when the cache has no bundle for the current sources.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
    existsSync,
    mkdirSync,
    readdirSync,
    readFileSync,
    renameSync,
    rmSync,
    statSync,
    writeFileSync
} from 'node:fs';
import { join, relative, resolve } from 'node:path';

export const REPO_ROOT = resolve(__dirname, '../../..');
const LWC_DIR = join(REPO_ROOT, 'force-app/main/default/lwc');
const CLIENT_DIR = join(__dirname, 'client');
const CACHE_DIR = join(REPO_ROOT, 'node_modules/.cache/rollcall-admin-app');
const BUNDLE = 'app.js';
const CACHE_KEEP_MILLIS = 3600_000;
/**
 * The build process's heap: the build peaks near 1 GB resident (rollup's module graph of the components and
 * the base components, measured); twice that leaves headroom for the components to grow.
 */
export const BUILD_HEAP_MB = 2048;
/** The child's last stdout line: the build's result as JSON, after this marker. */
const RESULT_MARKER = 'ROLLCALL_ADMIN_APP_BUILD ';

/** The platform modules the components import that LWC OSS does not have: answered by client/. */
const PLATFORM_MODULES: Record<string, string> = {
    '@salesforce/apex': join(CLIENT_DIR, 'apex.js'),
    'lightning/platformShowToastEvent': join(CLIENT_DIR, 'platformShowToastEvent.js')
};
const APEX_PREFIX = '@salesforce/apex/';
const VIRTUAL_APEX = '\0rollcall-apex:';
/** `@salesforce/customPermission/X`: true when the user the page acts as has X (server.ts writes the list). */
const CUSTOM_PERMISSION_PREFIX = '@salesforce/customPermission/';
const VIRTUAL_CUSTOM_PERMISSION = '\0rollcall-custom-permission:';

export interface AdminAppBuild {
    /** Folder holding app.js. */
    dir: string;
    bundlePath: string;
    cached: boolean;
    millis: number;
}

function filesUnder(dir: string): string[] {
    const out: string[] = [];
    for (const name of readdirSync(dir).sort()) {
        const path = join(dir, name);
        if (name === '__tests__') continue;
        if (statSync(path).isDirectory()) out.push(...filesUnder(path));
        else out.push(path);
    }
    return out;
}

/** Hash of everything the bundle is made of: the lockfile, the components, the client shims, this file. */
export function buildHash(): string {
    const hash = createHash('sha256');
    const inputs = [
        join(REPO_ROOT, 'package-lock.json'),
        __filename,
        ...filesUnder(CLIENT_DIR),
        ...filesUnder(LWC_DIR)
    ];
    for (const file of inputs) {
        hash.update(relative(REPO_ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
    }
    return hash.digest('hex').slice(0, 16);
}

/**
 * The LWC 9 engine, pinned: the repository also holds the 8.x engine (hoisted for sfdx-lwc-jest) and
 * templates compiled by the 9.x compiler refuse to run on it.
 */
function lwc9Module(name: string): string {
    const candidates = [
        join(REPO_ROOT, 'node_modules/lwc/node_modules', name),
        join(REPO_ROOT, 'node_modules', name)
    ];
    for (const dir of candidates) {
        if (!existsSync(join(dir, 'package.json'))) continue;
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
            version: string;
            module?: string;
            main: string;
        };
        if (pkg.version.startsWith('9.')) return join(dir, pkg.module ?? pkg.main);
    }
    throw new Error(`${name} 9.x not found (the lwc package's engine); run npm ci`);
}

async function bundle(outFile: string): Promise<void> {
    const { rollup } = await import('rollup');
    const { default: lwc } = await import('@lwc/rollup-plugin');
    const engine: Record<string, string> = {
        lwc: lwc9Module('@lwc/engine-dom'),
        '@lwc/engine-dom': lwc9Module('@lwc/engine-dom'),
        '@lwc/synthetic-shadow': lwc9Module('@lwc/synthetic-shadow'),
        '@lwc/wire-service': lwc9Module('@lwc/wire-service')
    };
    const components = readdirSync(LWC_DIR).filter((name) => existsSync(join(LWC_DIR, name, `${name}.js`)));
    const build = await rollup({
        input: join(CLIENT_DIR, 'main.js'),
        onwarn(warning, warn) {
            if (warning.code === 'CIRCULAR_DEPENDENCY' || warning.code === 'THIS_IS_UNDEFINED') return;
            // The base components' own template warnings: not ours to fix.
            if ((warning.id ?? warning.message).includes('lightning-base-components')) return;
            warn(warning);
        },
        plugins: [
            {
                name: 'rollcall-platform',
                resolveId(source) {
                    if (engine[source]) return engine[source];
                    if (PLATFORM_MODULES[source]) return PLATFORM_MODULES[source];
                    if (source.startsWith(APEX_PREFIX))
                        return VIRTUAL_APEX + source.slice(APEX_PREFIX.length);
                    if (source.startsWith(CUSTOM_PERMISSION_PREFIX))
                        return VIRTUAL_CUSTOM_PERMISSION + source.slice(CUSTOM_PERMISSION_PREFIX.length);
                    return null;
                },
                load(id) {
                    if (id.startsWith(VIRTUAL_CUSTOM_PERMISSION)) {
                        const permission = id.slice(VIRTUAL_CUSTOM_PERMISSION.length);
                        return `export default (globalThis.rollcallCustomPermissions || []).includes(${JSON.stringify(permission)});`;
                    }
                    if (!id.startsWith(VIRTUAL_APEX)) return null;
                    const [apexClass, method] = id.slice(VIRTUAL_APEX.length).split('.');
                    return [
                        `import { apexMethod } from ${JSON.stringify(PLATFORM_MODULES['@salesforce/apex'])};`,
                        `export default apexMethod(${JSON.stringify(apexClass)}, ${JSON.stringify(method)});`
                    ].join('\n');
                },
                transform(code) {
                    // The base components branch on import.meta.env.SSR; this bundle only runs in a browser.
                    return code.includes('import.meta.env')
                        ? { code: code.replace(/import\.meta\.env\.SSR/g, 'false'), map: null }
                        : null;
                }
            },
            lwc({
                rootDir: REPO_ROOT,
                modules: [
                    ...components.map((name) => ({
                        name: `c/${name}`,
                        path: join(LWC_DIR, name, `${name}.js`)
                    })),
                    { npm: 'lightning-base-components' }
                ],
                enableDynamicComponents: true,
                enableSyntheticElementInternals: true
            }),
            {
                name: 'rollcall-env',
                renderChunk(code) {
                    return `globalThis.process = globalThis.process || { env: { NODE_ENV: 'production' } };\n${code}`;
                }
            }
        ]
    });
    // Two processes building the same sources at once each write their own file; the rename is atomic.
    const tmp = `${outFile}.${process.pid}.tmp`;
    await build.write({ file: tmp, format: 'iife', inlineDynamicImports: true });
    await build.close();
    renameSync(tmp, outFile);
}

/** Removes bundles of other sources, once a running server can no longer be serving them (an hour). */
function pruneCache(): void {
    if (!existsSync(CACHE_DIR)) return;
    for (const name of readdirSync(CACHE_DIR)) {
        const path = join(CACHE_DIR, name);
        if (Date.now() - statSync(path).mtimeMs > CACHE_KEEP_MILLIS)
            rmSync(path, { recursive: true, force: true });
    }
}

/** The bundle for the current sources: from the cache, or built now (about 40 s on one core). */
export async function buildAdminApp(options: { force?: boolean } = {}): Promise<AdminAppBuild> {
    const started = Date.now();
    const dir = join(CACHE_DIR, buildHash());
    const bundlePath = join(dir, BUNDLE);
    if (!options.force && existsSync(bundlePath)) {
        return { dir, bundlePath, cached: true, millis: Date.now() - started };
    }
    pruneCache();
    mkdirSync(dir, { recursive: true });
    await bundle(bundlePath);
    writeFileSync(join(dir, 'built-at.txt'), new Date().toISOString());
    return { dir, bundlePath, cached: false, millis: Date.now() - started };
}

/** The cached bundle for the current sources, if there is one (reads the sources, builds nothing). */
export function cachedAdminApp(): AdminAppBuild | undefined {
    const started = Date.now();
    const dir = join(CACHE_DIR, buildHash());
    const bundlePath = join(dir, BUNDLE);
    return existsSync(bundlePath)
        ? { dir, bundlePath, cached: true, millis: Date.now() - started }
        : undefined;
}

/**
 * The bundle for the current sources, for the service: from the cache, or built by a child process with its
 * own heap (this file run by the same Node, BUILD_HEAP_MB), never in the caller's heap. The child is killed if
 * this process exits first.
 */
export async function adminAppBundle(
    options: { onBuild?: (message: string) => void } = {}
): Promise<AdminAppBuild> {
    const cached = cachedAdminApp();
    if (cached) return cached;
    const started = Date.now();
    options.onBuild?.(
        `Building the admin app (first start, or its sources changed) in a child process with a ${BUILD_HEAP_MB} MB heap`
    );
    const child = spawn(
        process.execPath,
        [`--max-old-space-size=${BUILD_HEAP_MB}`, '--import', 'tsx', __filename],
        {
            cwd: REPO_ROOT,
            stdio: ['ignore', 'pipe', 'pipe']
        }
    );
    const killChild = () => child.kill();
    process.once('exit', killChild);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    // Only the end is kept for the error: a failed build's cause is in its last lines.
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done, fail) => {
        child.once('error', fail);
        child.once('close', (exitCode, exitSignal) => done([exitCode, exitSignal]));
    }).finally(() => process.removeListener('exit', killChild));
    const line = stdout.split('\n').find((text) => text.startsWith(RESULT_MARKER));
    if (code !== 0 || !line) {
        throw new Error(
            `The admin app build (${process.execPath} ${__filename}) ended with ${signal ?? `exit code ${code}`}: ${stderr.trim() || stdout.trim() || 'no output'}`
        );
    }
    const result = JSON.parse(line.slice(RESULT_MARKER.length)) as AdminAppBuild;
    return { ...result, millis: Date.now() - started };
}

if (require.main === module) {
    buildAdminApp({ force: process.argv.includes('--force') }).then(
        (result) => {
            console.log(
                `Admin app ${result.cached ? 'cached' : 'built'} in ${result.millis} ms: ${result.bundlePath}`
            );
            console.log(`${RESULT_MARKER}${JSON.stringify(result)}`);
        },
        (error: unknown) => {
            console.error(error);
            process.exit(1);
        }
    );
}
