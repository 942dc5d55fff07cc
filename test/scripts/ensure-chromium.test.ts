/**
 * scripts/ensure-chromium.sh decides what `npm test` and `.ci/run` do about Debian's Chromium. Its decision is
 * tested here with stand-ins for `id` and `apt-get` on the PATH and a Chromium path in a temporary folder, so
 * nothing is installed or removed for real.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeDir } from '../service/support/stack';

const ROOT = join(__dirname, '..', '..');
const SCRIPT = join(ROOT, 'scripts', 'ensure-chromium.sh');

interface Machine {
    uid: number;
    /** apt-get on the PATH: 'works' installs (creates the Chromium file), 'fails' exits 100. */
    aptGet?: 'works' | 'fails';
    chromiumPresent?: boolean;
    chromiumPath?: string;
    args?: string[];
}

let dir: string;

beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rollcall-chromium-'));
});

afterEach(() => {
    removeDir(dir);
});

function run(machine: Machine) {
    const bin = join(dir, 'bin');
    const chromium = join(dir, 'usr-bin-chromium');
    const aptLog = join(dir, 'apt-get.log');
    const stub = (name: string, body: string) => {
        mkdirSync(bin, { recursive: true });
        writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`);
        chmodSync(join(bin, name), 0o755);
    };
    stub('id', `[[ "$1" == "-u" ]] && echo ${machine.uid}`);
    if (machine.aptGet) {
        stub(
            'apt-get',
            [
                `echo "$*" >> ${JSON.stringify(aptLog)}`,
                machine.aptGet === 'fails' ? 'exit 100' : '',
                `[[ "$1" == "install" ]] && printf '#!/bin/sh\\n' > ${JSON.stringify(chromium)} && /bin/chmod +x ${JSON.stringify(chromium)}`,
                'exit 0'
            ].join('\n')
        );
    }
    if (machine.chromiumPresent) {
        writeFileSync(chromium, '#!/bin/sh\n');
        chmodSync(chromium, 0o755);
    }
    const result = spawnSync('/bin/bash', [SCRIPT, ...(machine.args ?? [])], {
        encoding: 'utf8',
        env: {
            PATH: bin,
            ROLLCALL_DEBIAN_CHROMIUM: chromium,
            ...(machine.chromiumPath ? { CHROMIUM_PATH: machine.chromiumPath } : {})
        }
    });
    return {
        status: result.status,
        stdout: result.stdout.trim(),
        stderr: result.stderr.trim(),
        aptGet: existsSync(aptLog) ? readFileSync(aptLog, 'utf8').trim().split('\n') : [],
        chromium,
        installed: existsSync(chromium)
    };
}

describe('ensure-chromium.sh', () => {
    it('when Chromium is installed, then it prints its path and installs nothing', () => {
        const result = run({ uid: 0, aptGet: 'works', chromiumPresent: true });

        expect(result).toMatchObject({ status: 0, stdout: result.chromium, aptGet: [] });
    });

    it('when Chromium is missing and the user is root with apt-get, then it says so and installs Debian’s package', () => {
        const result = run({ uid: 0, aptGet: 'works' });

        expect(result.status).toBe(0);
        expect(result.stderr).toContain('installing Debian');
        expect(result.stderr).toContain('apt-get update && apt-get install -y chromium');
        expect(result.aptGet).toEqual(['update', 'install -y chromium']);
        expect(result.installed).toBe(true);
        expect(result.stdout).toBe(result.chromium);
    });

    it('when the install fails, then the command fails', () => {
        const result = run({ uid: 0, aptGet: 'fails' });

        expect(result.status).not.toBe(0);
        expect(result.installed).toBe(false);
    });

    it('when the user is not root, then it installs nothing and names the one command to run', () => {
        const result = run({ uid: 1000, aptGet: 'works' });

        expect(result.status).toBe(1);
        expect(result.aptGet).toEqual([]);
        expect(result.stderr).toContain("Run: sudo sh -c 'apt-get update && apt-get install -y chromium'");
    });

    it('when there is no apt-get, then it fails naming CHROMIUM_PATH', () => {
        const result = run({ uid: 0 });

        expect(result.status).toBe(1);
        expect(result.stderr).toContain('no apt-get here');
        expect(result.stderr).toContain('CHROMIUM_PATH=/path/to/chromium npm test');
    });

    it('when asked only to check (the browser test), then it never installs, even as root', () => {
        const result = run({ uid: 0, aptGet: 'works', args: ['--check'] });

        expect(result.status).toBe(1);
        expect(result.aptGet).toEqual([]);
        expect(result.stderr).toContain('Run: apt-get update && apt-get install -y chromium');
    });

    it('when CHROMIUM_PATH names a missing file, then it fails naming it and installs nothing', () => {
        const result = run({ uid: 0, aptGet: 'works', chromiumPath: join(dir, 'nowhere') });

        expect(result.status).toBe(1);
        expect(result.aptGet).toEqual([]);
        expect(result.stderr).toContain(`CHROMIUM_PATH=${join(dir, 'nowhere')}`);
    });

    it('is what `npm test` runs first and what .ci/run runs', () => {
        const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
            scripts: Record<string, string>;
        };

        expect(pkg.scripts.test.startsWith('bash scripts/ensure-chromium.sh && ')).toBe(true);
        expect(readFileSync(join(ROOT, '.ci/run'), 'utf8')).toMatch(/^bash scripts\/ensure-chromium\.sh$/m);
    });
});
