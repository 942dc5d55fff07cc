/**
 * `@salesforce/apex` outside an org: each `@salesforce/apex/Class.method` import is a function that POSTs
 * its parameters to the local Apex surface (/apex/Class/method) and resolves with the method's result, or
 * rejects with the platform's error shape ({ status, body: { message } }), as an AuraHandledException does.
 * Called with `new`, the same function is the @wire adapter of a cacheable method.
 */
const refreshers = new WeakMap();
// The page's switch (?as=non-admin): every call says which user the page acts as.
const actingAs =
    new URLSearchParams(globalThis.location?.search ?? '').get('as') === 'non-admin' ? 'non-admin' : 'admin';

async function invoke(apexClass, method, params) {
    let response;
    try {
        response = await fetch(`/apex/${apexClass}/${method}`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', 'X-Rollcall-Act-As': actingAs },
            body: JSON.stringify(params ?? {})
        });
    } catch (unreachable) {
        throw { status: 0, body: { message: `The server could not be reached: ${unreachable.message}` } };
    }
    const text = await response.text();
    const payload = text ? JSON.parse(text) : null;
    if (!response.ok) {
        throw { status: response.status, statusText: response.statusText, body: payload?.body ?? payload };
    }
    return payload;
}

class ApexWireAdapter {
    constructor(apexClass, method, dataCallback) {
        this.apexClass = apexClass;
        this.method = method;
        this.dataCallback = dataCallback;
        this.config = undefined;
        this.connected = false;
        this.provisioned = false;
    }

    update(config) {
        this.config = config ?? {};
        if (this.connected) this.fetch();
    }

    connect() {
        this.connected = true;
        // As on the platform, a wired property holds { data: undefined, error: undefined } from before the first
        // render until Apex answers: a template reading `wired.data` renders instead of throwing (the run detail
        // once stayed blank whenever its run arrived before the org's time zone).
        if (!this.provisioned) {
            const empty = { data: undefined, error: undefined };
            refreshers.set(empty, () => this.fetch());
            this.dataCallback(empty);
        }
        if (this.config) this.fetch();
    }

    disconnect() {
        this.connected = false;
    }

    async fetch() {
        const config = this.config;
        // Like the platform, a wire with an undefined parameter does not call Apex.
        if (Object.values(config).some((value) => value === undefined)) return;
        let value;
        try {
            value = { data: await invoke(this.apexClass, this.method, config), error: undefined };
        } catch (error) {
            value = { data: undefined, error };
        }
        if (config !== this.config || !this.connected) return;
        refreshers.set(value, () => this.fetch());
        this.provisioned = true;
        this.dataCallback(value);
    }
}

export function apexMethod(apexClass, method) {
    return function apex(params) {
        if (new.target) {
            return new ApexWireAdapter(apexClass, method, params);
        }
        return invoke(apexClass, method, params);
    };
}

export function refreshApex(wiredValue) {
    const refresh = refreshers.get(wiredValue);
    return refresh ? refresh() : Promise.resolve();
}

export function getSObjectValue(record, field) {
    return record?.[field];
}
