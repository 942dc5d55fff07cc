/**
 * Watching what the service asks the org: a gateway with some methods replaced and every other one
 * forwarded (bound to the real gateway), so a watcher names only what it watches and a method the port
 * gains later is forwarded without anyone listing it. Used by tests and benches.
 */
import { SalesforceGateway } from '../../../service/src/adapters/salesforce';
import type { LocalOrg } from '../../../service/src/local-org';
import { createLogger } from '../../../service/src/logger';
import type { OrgGateway } from '../../../service/src/ports';

export function overriding(inner: OrgGateway, overrides: Partial<OrgGateway>): OrgGateway {
    return new Proxy(inner, {
        get(target, property) {
            const replaced = overrides[property as keyof OrgGateway];
            if (replaced !== undefined) return replaced;
            const value = Reflect.get(target, property, target) as unknown;
            return typeof value === 'function'
                ? (value as (...args: unknown[]) => unknown).bind(target)
                : value;
        }
    });
}

/** The service's own gateway (jsforce over HTTP) to the local org, as the integration user. */
export function localGateway(
    org: LocalOrg,
    options: { retryAttempts?: number; retryBaseMs?: number; bulkResultSetRecords?: number } = {}
): SalesforceGateway {
    return new SalesforceGateway({
        config: {
            loginUrl: org.url,
            clientId: org.jwt.consumerKey,
            username: org.jwt.username,
            privateKeyPem: org.jwt.privateKeyPem,
            apiVersion: '62.0',
            retryAttempts: options.retryAttempts ?? 4,
            retryBaseMs: options.retryBaseMs ?? 20
        },
        logger: createLogger('silent'),
        bulkResultSetRecords: options.bulkResultSetRecords
    });
}
