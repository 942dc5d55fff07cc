/** Shared by the local org tests: JWT assertions signed with node:crypto, and jsforce connections. */
import { sign } from 'node:crypto';
import { Connection } from 'jsforce';
import type { LocalOrg } from '../../service/src/local-org';

export const API_VERSION = '62.0';

export function jwtAssertion(
    org: LocalOrg,
    overrides: Partial<{ iss: string; sub: string; aud: string; exp: number }> = {},
    privateKeyPem = org.jwt.privateKeyPem
): string {
    const encode = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
    const header = encode({ alg: 'RS256', typ: 'JWT' });
    const claims = encode({
        iss: org.jwt.consumerKey,
        sub: org.jwt.username,
        aud: org.url,
        exp: Math.floor(Date.now() / 1000) + 180,
        ...overrides
    });
    const signature = sign('RSA-SHA256', Buffer.from(`${header}.${claims}`), privateKeyPem).toString(
        'base64url'
    );
    return `${header}.${claims}.${signature}`;
}

export const JWT_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** A jsforce connection signed in with the JWT bearer grant that signs in again when its session dies. */
export async function jwtConnection(org: LocalOrg): Promise<Connection> {
    const conn = new Connection({
        loginUrl: org.url,
        version: API_VERSION,
        refreshFn: (c, callback) => {
            c.oauth2
                .requestToken({ grant_type: JWT_GRANT, assertion: jwtAssertion(org) })
                .then((res) => callback(null, res.access_token, res))
                .catch((e: Error) => callback(e));
        }
    });
    await conn.authorize({ grant_type: JWT_GRANT, assertion: jwtAssertion(org) });
    return conn;
}

export async function clientCredentialsConnection(org: LocalOrg): Promise<Connection> {
    const conn = new Connection({
        loginUrl: org.url,
        version: API_VERSION,
        oauth2: { clientId: org.clientId, clientSecret: org.clientSecret, loginUrl: org.url }
    });
    await conn.authorize({ grant_type: 'client_credentials' });
    return conn;
}

/** A raw REST call with a bearer token (for shapes jsforce hides). */
export async function rest(
    org: LocalOrg,
    token: string,
    path: string,
    init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}
): Promise<{ status: number; headers: Headers; body: unknown }> {
    const res = await fetch(`${org.url}${path}`, {
        method: init.method ?? 'GET',
        headers: {
            authorization: `Bearer ${token}`,
            ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
            ...init.headers
        },
        body: init.body === undefined ? undefined : JSON.stringify(init.body)
    });
    const text = await res.text();
    return {
        status: res.status,
        headers: res.headers,
        body: text === '' ? undefined : (JSON.parse(text) as unknown)
    };
}

export async function clientCredentialsToken(org: LocalOrg): Promise<string> {
    const res = await fetch(`${org.url}/services/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
            grant_type: 'client_credentials',
            client_id: org.clientId,
            client_secret: org.clientSecret
        })
    });
    return ((await res.json()) as { access_token: string }).access_token;
}

export const v = (path: string): string => `/services/data/v${API_VERSION}${path}`;
