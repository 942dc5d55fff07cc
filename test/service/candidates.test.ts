/**
 * How an evaluation reads its candidates: page by page over the REST API, or through a Bulk API 2.0
 * query job above the threshold. Both paths must give the same eligible users (a differential over
 * generated condition sets on the generated demo org), and pages are handed over one at a time.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OrgStore } from '../../service/src/domain/org-store';
import { startLocalOrg, type LocalOrg } from '../../service/src/local-org';
import type { BulkRow, OrgGateway, QueryPageInfo, SObjectRecord } from '../../service/src/ports';
import { forEachCandidatePage, recordFromCsv } from '../../service/src/use-cases/candidates';
import { Evaluator, type Evaluation } from '../../service/src/use-cases/evaluation';
import { buildSchema, type SObjectDescribe } from '../../service/src/engine';
import { localGateway, overriding } from './support/gateway';

const NOW = new Date('2026-06-15T12:00:00Z');
const clock = { now: () => NOW };

/** The service's gateway with small retries and, when given, smaller Bulk API result sets. */
function gateway(org: LocalOrg, bulkResultSetRecords?: number) {
    return localGateway(org, { retryAttempts: 2, retryBaseMs: 10, bulkResultSetRecords });
}

/** Watches pages go by: how many, how big, and how many a consumer was holding at once. */
class PageWatch {
    pages: { path: 'rest' | 'bulk'; size: number }[] = [];
    inConsumer = 0;
    mostAtOnce = 0;
    readonly gateway: OrgGateway;
    constructor(inner: OrgGateway) {
        this.gateway = overriding(inner, {
            queryPages: <T extends object = SObjectRecord>(
                soql: string,
                onPage: (r: T[], p: QueryPageInfo) => unknown
            ) =>
                inner.queryPages<T>(soql, (records, page) =>
                    this.consume('rest', records.length, () => onPage(records, page))
                ),
            bulkQuery: (soql: string, onPage: (rows: BulkRow[]) => unknown) =>
                inner.bulkQuery(soql, (rows) => this.consume('bulk', rows.length, () => onPage(rows)))
        });
    }
    private async consume(path: 'rest' | 'bulk', size: number, consumer: () => unknown): Promise<unknown> {
        this.pages.push({ path, size });
        this.inConsumer++;
        this.mostAtOnce = Math.max(this.mostAtOnce, this.inConsumer);
        try {
            return await consumer();
        } finally {
            this.inConsumer--;
        }
    }
}

/** A small seeded generator, so a failing case can be replayed. */
function rng(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
        state = (state * 1664525 + 1013904223) >>> 0;
        return state / 2 ** 32;
    };
}

const CONDITIONS: Array<(r: () => number) => Record<string, unknown>> = [
    (r) => ({
        field: 'Department',
        operator: 'in',
        value: ['Sales', 'Engineering', 'Support'].slice(0, 1 + Math.floor(r() * 3))
    }),
    () => ({ field: 'IsActive', operator: 'equals', value: true }),
    (r) => ({
        field: 'Title',
        operator: 'contains',
        value: ['Manager', 'Engineer', 'Rep', 'Director'][Math.floor(r() * 4)]
    }),
    (r) => ({ field: 'CreatedDate', operator: 'withinLastDays', value: 30 + Math.floor(r() * 900) }),
    (r) => ({
        field: 'Profile.Name',
        operator: 'startsWith',
        value: ['Standard', 'Sales', 'System'][Math.floor(r() * 3)]
    }),
    (r) => ({ field: 'UserRole.Name', operator: r() < 0.5 ? 'isNotNull' : 'isNull' }),
    () => ({ field: 'IsManager', operator: 'equals', value: true }),
    (r) => ({
        field: 'Manager.Department',
        operator: 'notEquals',
        value: ['Sales', 'Engineering'][Math.floor(r() * 2)]
    })
];

function generatedSets(seed: number): SObjectRecord[] {
    const r = rng(seed);
    return Array.from({ length: 3 }, (_, i) => {
        const picked = [...CONDITIONS].sort(() => r() - 0.5).slice(0, 1 + Math.floor(r() * 3));
        const conditions = picked.map((make) => make(r));
        const logic =
            conditions.length === 3 && r() < 0.5
                ? '1 AND (2 OR 3)'
                : conditions.length === 2 && r() < 0.5
                  ? '1 OR 2'
                  : undefined;
        return {
            Name: `Generated ${seed}.${i}`,
            Active__c: true,
            Products__c: ['Meeting Links', 'Round Robin'][i % 2],
            Eligible_Statuses__c: 'Not Invited;Expired;Revoked',
            Definition__c: JSON.stringify({ version: 1, conditions, ...(logic ? { logic } : {}) })
        };
    });
}

/** What must be equal between the two paths: who, for which products, through which sets, from which statuses. */
function outcome(evaluation: Evaluation) {
    return {
        evaluated: evaluation.evaluated,
        invalid: evaluation.invalidSets.map((set) => set.name),
        overlaps: evaluation.overlaps,
        entries: evaluation.entries
            .map((entry) => ({
                userId: entry.userId,
                products: [...entry.products].sort(),
                matchedSets: entry.matchedSets,
                statuses: entry.statuses,
                email: entry.user.Email ?? null,
                name: entry.user.Name ?? null
            }))
            .sort((a, b) => a.userId.localeCompare(b.userId)),
        authorizations: [...evaluation.authorizations.keys()].sort()
    };
}

describe('candidate reading', () => {
    let org: LocalOrg;
    let store: OrgStore;

    beforeAll(async () => {
        org = await startLocalOrg({ users: 6000, seed: 31 });
        store = new OrgStore(gateway(org, 1500));
    });

    afterAll(async () => {
        await store.org.close();
        await org.stop();
    });

    it('when a Bulk API 2.0 row is read, then it becomes the record the REST API would return', () => {
        const describe = readFileSync(
            join(__dirname, '../../service/src/local-org/schema/User.describe.json')
        );
        const schema = buildSchema(JSON.parse(describe.toString('utf8')) as SObjectDescribe);
        const row: BulkRow = {
            Id: '005000000000001AAA',
            IsActive: 'false',
            Department: '',
            CreatedDate: '2024-05-01T09:30:00.000Z',
            'Profile.Name': 'Standard User',
            'Manager.Department': ''
        };

        expect(recordFromCsv(row, schema)).toEqual({
            Id: '005000000000001AAA',
            IsActive: false,
            Department: null,
            CreatedDate: '2024-05-01T09:30:00.000+0000',
            Profile: { Name: 'Standard User' },
            Manager: null
        });
    });

    it.each([1, 2, 3, 4, 5, 6])(
        'when generated sets (seed %i) are evaluated over the REST path and over the bulk path, then the eligible users are the same',
        async (seed) => {
            const active = await store.org.query<{ Id: string }>(
                'SELECT Id FROM Condition_Set__c WHERE Active__c = true'
            );
            await store.update(
                active.map((set) => ({
                    attributes: { type: 'Condition_Set__c' },
                    Id: set.Id,
                    Active__c: false
                }))
            );
            await store.org.create('Condition_Set__c', generatedSets(seed));
            const evaluator = new Evaluator(store, clock);

            const overRest = await evaluator.evaluate({ bulkAbove: Infinity });
            const overBulk = await evaluator.evaluate({ bulkAbove: 0 });

            expect(overRest.reads.bulkJobs).toBe(0);
            expect(overRest.entries.length).toBeGreaterThan(0);
            if (overRest.reads.restPages > 1) expect(overBulk.reads.bulkJobs).toBeGreaterThan(0);
            expect(outcome(overBulk)).toEqual(outcome(overRest));
        },
        60_000
    );

    it("when the demo org's own sets are evaluated over both paths, then the eligible users are the same", async () => {
        await org.reset();
        const demo = new OrgStore(gateway(org, 1000));
        const evaluator = new Evaluator(demo, clock);

        const overRest = await evaluator.evaluate({ bulkAbove: Infinity });
        const overBulk = await evaluator.evaluate({ bulkAbove: 0 });
        await demo.org.close();

        expect(overBulk.reads.bulkJobs).toBeGreaterThan(0);
        expect(overRest.entries.length).toBeGreaterThan(0);
        expect(outcome(overBulk)).toEqual(outcome(overRest));
    }, 60_000);

    it('when candidates are read, then they come in pages no larger than a REST page or a result set, one page held at a time', async () => {
        const watch = new PageWatch(gateway(org, 1000));
        const schema = buildSchema((await watch.gateway.describe('User')) as SObjectDescribe);
        const pageSizes: number[] = [];

        const stats = await forEachCandidatePage(
            watch.gateway,
            ['SELECT Id, Department FROM User'],
            schema,
            (page) => {
                pageSizes.push(page.users.length);
            },
            { bulkAbove: 2500 }
        );
        await watch.gateway.close();

        // 6,000 users: the first REST page (2,000), then the rest through a bulk job in sets of 1,000
        // (the 2,000 already read are skipped, so those sets hand over nothing new).
        expect(watch.pages).toEqual([
            { path: 'rest', size: 2000 },
            ...Array.from({ length: 6 }, () => ({ path: 'bulk', size: 1000 }))
        ]);
        expect(watch.mostAtOnce).toBe(1);
        expect(Math.max(...pageSizes)).toBe(2000);
        expect(pageSizes.reduce((a, b) => a + b, 0)).toBe(6000);
        expect(stats).toEqual({ pages: 7, restPages: 1, bulkPages: 6, candidates: 6000, bulkJobs: 1 });
    });

    it('when the candidates fit the threshold, then they are read by queryMore page by page and no bulk job is made', async () => {
        const watch = new PageWatch(gateway(org));
        const schema = buildSchema((await watch.gateway.describe('User')) as SObjectDescribe);

        const stats = await forEachCandidatePage(
            watch.gateway,
            ['SELECT Id FROM User'],
            schema,
            () => undefined,
            {
                bulkAbove: 10_000
            }
        );
        await watch.gateway.close();

        expect(watch.pages).toEqual([
            { path: 'rest', size: 2000 },
            { path: 'rest', size: 2000 },
            { path: 'rest', size: 2000 }
        ]);
        expect(stats.bulkJobs).toBe(0);
    });
});
