/**
 * The README's first command on a cold machine: `npm start` in a fresh copy of the repository (its tracked
 * files, the installed packages linked in, but no build cache and no data folder), default settings except
 * the service port (0: a free one), reaches the demo's summary, the "Serving" line and an admin app page that
 * answers with the app, with the service's default heap budget. One source is changed in the copy, so the
 * start also stands for "the sources changed since the last build".
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import {
    appendFileSync,
    cpSync,
    existsSync,
    mkdirSync,
    mkdtempSync,
    readdirSync,
    symlinkSync
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { removeDir } from './support/stack';

const ROOT = join(__dirname, '..', '..');
/** The first build of the admin app takes about 20 s on an idle 2-core machine, 100 s on a busy one. */
const START_TIMEOUT_MS = 300_000;

jest.setTimeout(START_TIMEOUT_MS + 30_000);

/** The repository as a fresh clone has it: tracked (and new, not ignored) files, node_modules linked entry by entry. */
function freshCopy(): string {
    const copy = mkdtempSync(join(tmpdir(), 'rollcall-first-start-'));
    const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
        cwd: ROOT,
        encoding: 'utf8'
    })
        .split('\0')
        // A node_modules that is a link is not a folder to git's ignore rules: never copied.
        .filter((file) => file && file.split('/')[0] !== 'node_modules');
    for (const file of files) {
        if (!existsSync(join(ROOT, file))) continue; // deleted in the working tree
        mkdirSync(dirname(join(copy, file)), { recursive: true });
        cpSync(join(ROOT, file), join(copy, file));
    }
    // Every installed package, but not node_modules/.cache (where the admin app's bundle is cached).
    mkdirSync(join(copy, 'node_modules'));
    for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
        if (entry === '.cache') continue;
        symlinkSync(join(ROOT, 'node_modules', entry), join(copy, 'node_modules', entry));
    }
    return copy;
}

/** The start command's environment: the caller's, without any Rollcall setting, on a free port. */
function defaultEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const name of ['PATH', 'HOME', 'USER', 'LANG', 'TMPDIR', 'CI']) {
        if (process.env[name] !== undefined) env[name] = process.env[name];
    }
    return { ...env, PORT: '0' };
}

describe('npm start on a cold machine', () => {
    let copy: string;
    let child: ChildProcess | undefined;
    /** Resolves once npm start has exited and nothing holds its output open any more. */
    let closed: Promise<unknown> = Promise.resolve();

    beforeAll(() => {
        copy = freshCopy();
        appendFileSync(
            join(copy, 'force-app/main/default/lwc/conditionSetList/conditionSetList.js'),
            '\n// changed since the last build\n'
        );
    });

    afterAll(async () => {
        if (child?.pid) {
            // npm does not pass SIGTERM on to the service: the whole group is stopped, and the test waits
            // until nothing holds the output open any more.
            const signal = (name: NodeJS.Signals) => {
                try {
                    process.kill(-child!.pid!, name);
                } catch {
                    // the group has gone already
                }
            };
            signal('SIGTERM');
            const force = setTimeout(() => signal('SIGKILL'), 20_000);
            await closed;
            clearTimeout(force);
        }
        if (copy) removeDir(copy);
    });

    it('when a fresh clone runs `npm start`, then it prints the demo summary and "Serving", and the admin app answers with the app', async () => {
        let output = '';
        child = spawn('npm', ['start'], {
            cwd: copy,
            env: defaultEnv(),
            stdio: ['ignore', 'pipe', 'pipe'],
            detached: true
        });
        closed = new Promise((resolve) => child!.once('close', resolve));
        child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
        child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
        const exited = new Promise<string>((resolve) =>
            child!.once('exit', (code, signal) => resolve(`npm start exited (${signal ?? code})`))
        );

        const serving = await Promise.race([
            new Promise<string>((resolve) => {
                const timer = setInterval(() => {
                    if (/^Serving\./m.test(output)) {
                        clearInterval(timer);
                        resolve('serving');
                    }
                }, 250);
                exited.finally(() => clearInterval(timer));
            }),
            exited,
            new Promise<string>((resolve) => setTimeout(() => resolve('timed out'), START_TIMEOUT_MS).unref())
        ]);

        if (serving !== 'serving')
            throw new Error(`${serving}; its output ended with:\n${output.slice(-3000)}`);
        // The service kept its default heap budget (npm start: --max-old-space-size=384).
        expect(output).toMatch(/"oldSpaceMb":384/);
        // The demo's summary: the sync's run, completed.
        expect(output).toMatch(/Sync \S+ started; sending invitations/);
        expect(output).toMatch(/Status.*Trigger.*Evaluated[\s\S]*Completed/);
        expect(output).toMatch(/Building the admin app/);
        expect(output).toMatch(/Local SCIM app: http:\/\/127\.0\.0\.1:\d+/);
        const adminUrl = /^Admin app: (http:\/\/\S+)$/m.exec(output)?.[1];
        expect(adminUrl).toBeDefined();
        const page = await fetch(adminUrl!);
        const html = await page.text();
        expect(page.status).toBe(200);
        expect(html).toContain('<script src="/app.js"></script>');
        const app = await fetch(`${adminUrl}/app.js`);
        const script = await app.text();
        expect(app.status).toBe(200);
        // The components compiled from force-app, the changed one included.
        expect(script).toContain('conditionSetList');
        expect(script).toContain('provisionUsers');
    });
});
