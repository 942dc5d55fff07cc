/** Shared by the local SCIM app tests: raw SCIM calls over HTTP. */
import type { LocalScimApp } from '../../service/src/local-scim';

export const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface Reply {
    status: number;
    headers: Headers;
    body: Json | undefined;
}

export async function scim(
    app: Pick<LocalScimApp, 'url' | 'token'>,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {}
): Promise<Reply> {
    const res = await fetch(`${app.url}${path}`, {
        method,
        headers: {
            authorization: `Bearer ${app.token}`,
            ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }),
            ...headers
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Json) : undefined };
}

export function userBody(userName: string, extra: Json = {}): Json {
    return { schemas: [USER], userName, ...extra };
}

export async function createUser(app: LocalScimApp, userName: string, extra: Json = {}): Promise<Json> {
    const r = await scim(app, 'POST', '/Users', userBody(userName, extra));
    if (r.status !== 201) throw new Error(`create ${userName}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body as Json;
}

export async function groupByName(app: LocalScimApp, displayName: string): Promise<Json> {
    const r = await scim(
        app,
        'GET',
        `/Groups?filter=${encodeURIComponent(`displayName eq "${displayName}"`)}`
    );
    const found = (r.body?.Resources as Json[]).find((g) => g.displayName === displayName);
    if (!found) throw new Error(`no group ${displayName}`);
    return found;
}

export function patch(...Operations: Json[]): Json {
    return { schemas: [PATCH_OP], Operations };
}

export function filterPath(resource: 'Users' | 'Groups', filter: string, extra = ''): string {
    return `/${resource}?filter=${encodeURIComponent(filter)}${extra}`;
}
