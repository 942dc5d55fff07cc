/**
 * A small REST client of the local org for the local Apex surface: signs in with the client-credentials
 * flow and reads and writes records through the same REST API a real org has (SOQL, sObject rows, describe).
 */
export class ApexError extends Error {
    /** As an AuraHandledException: the message reaches the component as error.body.message. */
    constructor(message: string) {
        super(message);
        this.name = 'AuraHandledException';
    }
}

export type OrgRecord = Record<string, unknown> & { Id?: string };

export interface OrgRestOptions {
    url: string;
    clientId: string;
    clientSecret: string;
    apiVersion?: string;
}

export class OrgRest {
    private token?: string;
    private readonly base: string;

    constructor(private readonly options: OrgRestOptions) {
        this.base = `/services/data/v${options.apiVersion ?? '62.0'}`;
    }

    private async signIn(): Promise<string> {
        const response = await fetch(`${this.options.url}/services/oauth2/token`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({
                grant_type: 'client_credentials',
                client_id: this.options.clientId,
                client_secret: this.options.clientSecret
            })
        });
        if (!response.ok) throw new ApexError(`The local org refused the sign-in (${response.status}).`);
        const body = (await response.json()) as { access_token: string };
        return body.access_token;
    }

    async request<T>(method: string, path: string, body?: unknown, retried = false): Promise<T> {
        this.token ??= await this.signIn();
        const response = await fetch(
            `${this.options.url}${path.startsWith('/services') ? path : this.base + path}`,
            {
                method,
                headers: { Authorization: `Bearer ${this.token}`, 'Content-Type': 'application/json' },
                body: body === undefined ? undefined : JSON.stringify(body)
            }
        );
        if (response.status === 401 && !retried) {
            this.token = undefined;
            return this.request<T>(method, path, body, true);
        }
        const text = await response.text();
        const payload: unknown = text ? JSON.parse(text) : undefined;
        if (!response.ok) {
            const first = Array.isArray(payload)
                ? (payload[0] as { message?: string } | undefined)
                : undefined;
            throw new ApexError(first?.message ?? `The org answered ${response.status}.`);
        }
        return payload as T;
    }

    async query<T extends OrgRecord = OrgRecord>(soql: string): Promise<T[]> {
        const rows: T[] = [];
        let page = await this.request<{ records: T[]; nextRecordsUrl?: string }>(
            'GET',
            `/query?q=${encodeURIComponent(soql)}`
        );
        rows.push(...page.records);
        while (page.nextRecordsUrl) {
            page = await this.request('GET', page.nextRecordsUrl);
            rows.push(...page.records);
        }
        return rows;
    }

    describe<T>(sobject: string): Promise<T> {
        return this.request<T>('GET', `/sobjects/${sobject}/describe`);
    }

    async create(sobject: string, fields: OrgRecord): Promise<string> {
        const result = await this.request<{ id: string }>('POST', `/sobjects/${sobject}`, fields);
        return result.id;
    }

    async update(sobject: string, id: string, fields: OrgRecord): Promise<void> {
        await this.request('PATCH', `/sobjects/${sobject}/${id}`, fields);
    }

    async remove(sobject: string, id: string): Promise<void> {
        await this.request('DELETE', `/sobjects/${sobject}/${id}`);
    }
}

/** Quotes a value for SOQL. */
export function soqlQuote(value: string): string {
    return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
