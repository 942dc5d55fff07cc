/** CONNECTIONS_FILE: where each connection's app and token live (DESIGN §10), parsed once, failing fast. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configuredSecrets, loadConfig } from '../../service/src/config';
import { directoryFactory, parseConnectionsFile } from '../../service/src/connections/config';
import type { AppDirectory } from '../../service/src/connections/app-directory';

const TOKEN = 'scim-token-that-must-never-be-printed-0123456789';

let dir: string;
beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rollcall-connections-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: unknown): string {
    const path = join(dir, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
}

describe('CONNECTIONS_FILE', () => {
    it('when entries give a token or a token file, then each connection has its base URL and token, and the token is never serialised', () => {
        writeFileSync(join(dir, 'calendly.token'), `${TOKEN}-file\n`);
        const path = file('good.json', {
            'demo-scim': { baseUrl: 'http://127.0.0.1:9999/scim/v2/', token: TOKEN },
            calendly: { baseUrl: 'https://api.calendly.example/scim/v2', tokenFile: 'calendly.token' }
        });

        const config = loadConfig({ CONNECTIONS_FILE: path });

        const byKey = new Map(config.connections.endpoints.map((entry) => [entry.key, entry]));
        expect(byKey.get('demo-scim')?.baseUrl).toBe('http://127.0.0.1:9999/scim/v2');
        expect(byKey.get('demo-scim')?.token()).toBe(TOKEN);
        expect(byKey.get('calendly')?.token()).toBe(`${TOKEN}-file`);
        expect(JSON.stringify(config)).not.toContain(TOKEN);
        expect(JSON.stringify({ ...byKey.get('demo-scim') })).not.toContain(TOKEN);
        // Registered as secrets: redacted from every log line and error.
        expect(configuredSecrets(config)).toEqual(expect.arrayContaining([TOKEN, `${TOKEN}-file`]));
    });

    it.each([
        ['not JSON', '{', /not valid JSON/],
        ['an array', '[]', /must be a JSON object/],
        [
            'no token',
            { app: { baseUrl: 'https://x.example/scim/v2' } },
            /entry "app": give exactly one of "token" or "tokenFile"/
        ],
        [
            'both token and tokenFile',
            { app: { baseUrl: 'https://x.example/scim/v2', token: TOKEN, tokenFile: 'x' } },
            /entry "app": give exactly one/
        ],
        [
            'a bad URL',
            { app: { baseUrl: 'ftp://x', token: TOKEN } },
            /entry "app": baseUrl must be an http\(s\) URL/
        ],
        [
            'an unknown field',
            { app: { baseUrl: 'https://x.example', token: TOKEN, password: TOKEN } },
            /entry "app": .*password/
        ],
        [
            'a bad key',
            { 'no spaces allowed': { baseUrl: 'https://x.example', token: TOKEN } },
            /entry "no spaces allowed": the key must be/
        ],
        [
            'a missing token file',
            { app: { baseUrl: 'https://x.example', tokenFile: 'nope.token' } },
            /entry "app": tokenFile .*nope.token cannot be read/
        ]
    ])(
        'when the file has %s, then the service stops with a message naming the entry and no token',
        (_name, content, message) => {
            const path = file(`bad-${String(_name).replace(/\W/g, '-')}.json`, content);

            const attempt = () => loadConfig({ CONNECTIONS_FILE: path });

            expect(attempt).toThrow(message);
            try {
                attempt();
            } catch (error) {
                expect(String((error as Error).message)).not.toContain(TOKEN);
            }
        }
    );

    it('when the file cannot be read, then the service stops naming the variable', () => {
        expect(() => loadConfig({ CONNECTIONS_FILE: join(dir, 'missing.json') })).toThrow(
            /CONNECTIONS_FILE: .*missing.json cannot be read/
        );
    });

    it('when a key has no entry, then the factory says so (undefined) and makes each configured directory once', () => {
        const { endpoints } = parseConnectionsFile(
            JSON.stringify({ a: { baseUrl: 'https://a.example/scim/v2', token: TOKEN } }),
            { file: 'x.json' }
        );
        const made: Array<{ baseUrl: string; token: string }> = [];
        const factory = directoryFactory(endpoints, (options) => {
            made.push(options);
            return {} as AppDirectory;
        });

        expect(factory.forConnection('b')).toBeUndefined();
        expect(factory.forConnection('a')).toBe(factory.forConnection('a'));
        expect(made).toEqual([{ baseUrl: 'https://a.example/scim/v2', token: TOKEN }]);
        expect(factory.configuredKeys()).toEqual(['a']);
    });
});
