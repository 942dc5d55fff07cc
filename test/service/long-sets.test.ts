/**
 * Long condition sets through the whole read path: the Evaluator, the Salesforce adapter (jsforce) and
 * the local org, which refuses requests over Salesforce's 16,384 bytes of URI and headers. Sets of 700
 * ids and of 3 × 250 cities are evaluated exactly as an in-memory evaluation of every user says; a set
 * no request can carry is reported by name and the others still run.
 */
import {
    computeEligibility,
    fieldsInUse,
    type EligibilityEntry,
    type UserRecord
} from '../../service/src/engine';
import type { LocalOrg } from '../../service/src/local-org';
import type { OrgStore } from '../../service/src/domain/org-store';
import { Evaluator, statusLookup, authorizationKey } from '../../service/src/use-cases/evaluation';
import type { AuthorizationRecord } from '../../service/src/domain/org-store';
import { orgStore, removeDir, startTestOrg } from './support/stack';

jest.setTimeout(120_000);

let org: LocalOrg;
let dataDir: string;
let store: OrgStore;

beforeAll(async () => {
    ({ org, dataDir } = await startTestOrg({ users: 1200 }));
    store = orgStore(org);
});

afterAll(async () => {
    await org?.stop();
    removeDir(dataDir);
});

async function createSets(
    sets: Array<{ name: string; conditions: object[]; logic?: string }>
): Promise<() => Promise<void>> {
    const created = await store.org.create(
        'Condition_Set__c',
        sets.map(({ name, conditions, logic }) => ({
            Name: name,
            Active__c: true,
            Products__c: 'Round Robin',
            Eligible_Statuses__c: 'Not Invited;Invited;Expired',
            Definition__c: JSON.stringify({ version: 1, conditions, ...(logic ? { logic } : {}) })
        }))
    );
    expect(created.every((result) => result.success)).toBe(true);
    return async () => {
        await store.update(
            created.map((result) => ({
                attributes: { type: 'Condition_Set__c' },
                Id: result.id,
                Active__c: false
            }))
        );
    };
}

function byUser(entries: EligibilityEntry[]): Record<string, string[]> {
    return Object.fromEntries(entries.map((entry) => [entry.user.Id, [...entry.products].sort()]));
}

/** Cities that encode long: spaces (%20), apostrophes (`\'`, %5C'), accents and CJK (UTF-8 %XX). */
function cityList(real: string[], k: number): string[] {
    const bases = [`Saint-Jean-d'Angély`, 'Rio de Janeiro', `L'Aquila`, 'São Paulo', '東京都 千代田区'];
    const own = real.filter((_, i) => i % 3 === k);
    return [
        ...own,
        ...Array.from({ length: 250 - own.length }, (_, i) => `${bases[i % bases.length]} ${k}-${i}`)
    ];
}

describe('evaluating long sets against the local org', () => {
    it('when sets list 700 ids and 3 × 250 cities and one set is too long, then the preview holds exactly the eligible users and names the long set', async () => {
        const everyone = await store.org.query<{ Id: string; City?: string | null; IsActive: boolean }>(
            'SELECT Id, City, IsActive FROM User ORDER BY Id'
        );
        const active = everyone.filter((user) => user.IsActive).map((user) => user.Id);
        const cities = [...new Set(everyone.map((user) => user.City).filter((c): c is string => !!c))];
        expect(active.length).toBeGreaterThan(700);
        const deactivate = await createSets([
            {
                name: 'Seven hundred',
                conditions: [{ field: 'Id', operator: 'in', value: active.slice(0, 700) }]
            },
            ...[0, 1, 2].map((k) => ({
                name: `Cities ${k}`,
                conditions: [
                    { field: 'City', operator: 'in', value: cityList(cities, k) },
                    { field: 'Id', operator: 'notIn', value: active.slice(0, 700) }
                ]
            })),
            {
                name: 'Too long',
                conditions: [{ field: 'Title', operator: 'equals', value: '長'.repeat(1900) }]
            }
        ]);
        try {
            const evaluator = new Evaluator(store, { now: () => new Date() });
            const callsBefore = store.org.apiCalls();

            const evaluation = await evaluator.evaluate();

            const calls = store.org.apiCalls() - callsBefore;
            expect(evaluation.invalidSets.filter((set) => set.name === 'Too long')).toEqual([
                {
                    id: expect.any(String),
                    name: 'Too long',
                    reasons: [
                        'Condition 1 (Title equals a 1,900-character value) makes the query longer than Salesforce accepts (16,384 bytes per request, headers included). Use a shorter value.'
                    ]
                }
            ]);
            const names = evaluation.prepared.valid.map((set) => set.name);
            expect(names).toEqual(
                expect.arrayContaining(['Seven hundred', 'Cities 0', 'Cities 1', 'Cities 2'])
            );
            expect(names).not.toContain('Too long');
            expect(
                JSON.parse(evaluation.snapshot).invalid.map((set: { name: string }) => set.name)
            ).toContain('Too long');

            // The same sets evaluated in memory over every user of the org.
            const fields = fieldsInUse(evaluation.prepared.valid.map((set) => set.definition));
            const users = await store.org.query<UserRecord>(`SELECT ${fields.join(', ')} FROM User`);
            const products = [...new Set(evaluation.prepared.valid.flatMap((set) => set.products))];
            const authorizations = new Map<string, AuthorizationRecord>();
            for (const row of await store.authorizations('all', products)) {
                authorizations.set(authorizationKey(row.User__c, row.Product__c), row);
            }
            const expected = computeEligibility(
                evaluation.prepared.valid,
                users,
                statusLookup(authorizations),
                {
                    now: evaluation.evaluatedAt,
                    timeZone: evaluation.timeZone,
                    // The test's own reading of IsManager: every active user's manager.
                    managerIds: new Set(
                        (
                            await store.org.query<{ ManagerId: string }>(
                                'SELECT ManagerId FROM User WHERE IsActive = true AND ManagerId != null'
                            )
                        ).map((row) => row.ManagerId)
                    )
                }
            );
            expect(byUser(evaluation.entries)).toEqual(byUser(expected.entries));
            const granted = (set: string) =>
                evaluation.entries.filter((entry) => Object.values(entry.grantedBy).flat().includes(set))
                    .length;
            expect(granted('Seven hundred')).toBeGreaterThan(500);
            for (const k of [0, 1, 2]) expect(granted(`Cities ${k}`)).toBeGreaterThan(0);
            // Sign-in aside: describe, time zone, sets, manager ids, a few candidate queries and pages,
            // and the authorizations.
            expect(calls).toBeLessThan(20);
        } finally {
            await deactivate();
        }
    });
});
