/** The incremental sync's pure rules, table-driven: IsManager polarity, window crossings, the sets hash. */
import { prepareSets, type ConditionSetInput } from '../../service/src/engine';
import type { ResolvedCondition } from '../../service/src/engine/validate';
import { boundaryCrossings, readsNotManager, setsHash } from '../../service/src/use-cases/incremental';
import { realSchema } from '../engine/helpers';

function setWith(conditions: object[], logic?: string, id = 'a001'): ConditionSetInput {
    return {
        id,
        name: `Set ${id}`,
        products: ['Meeting Links'],
        eligibleStatuses: ['Not Invited'],
        definition: JSON.stringify({ version: 1, conditions, ...(logic ? { logic } : {}) }),
        createdDate: '2026-01-01T00:00:00.000+0000'
    };
}

const prepared = (...inputs: ConditionSetInput[]) => prepareSets(inputs, realSchema);
const manager = (value: boolean, operator = 'equals') => ({ field: 'IsManager', operator, value });
const sales = { field: 'Department', operator: 'equals', value: 'Sales' };

describe('readsNotManager', () => {
    it.each([
        ['IsManager = true', false, [manager(true)], undefined],
        ['IsManager = false', true, [manager(false)], undefined],
        ['IsManager != true', true, [manager(true, 'notEquals')], undefined],
        ['NOT IsManager = true', true, [manager(true), sales], '2 AND NOT 1'],
        ['NOT IsManager = false', false, [manager(false), sales], '2 AND NOT 1'],
        ['no IsManager', false, [sales], undefined]
    ])('when a set reads %s, then it matches non-managers: %s', (_label, expected, conditions, logic) => {
        const sets = prepared(setWith(conditions, logic));
        expect(sets.invalid).toEqual([]);
        expect(readsNotManager(sets)).toBe(expected);
    });
});

describe('boundaryCrossings', () => {
    const condition = (field: string, operator: string, value: number): ResolvedCondition =>
        prepared(setWith([{ field, operator, value }])).valid[0].definition.conditions[0];
    const zone = 'America/Los_Angeles';

    it('when the same day is evaluated again, then no value can have crossed a bound', () => {
        const at = new Date('2026-03-10T18:00:00Z');
        expect(
            boundaryCrossings(
                condition('CreatedDate', 'withinLastDays', 30),
                at,
                new Date(at.getTime() + 3_600_000),
                zone
            )
        ).toEqual([]);
    });

    it('when two days pass, then the values between the old and new lower bounds (and upper bounds) are read', () => {
        const then = new Date('2026-03-10T18:00:00Z');
        const now = new Date('2026-03-12T18:00:00Z');
        expect(boundaryCrossings(condition('CreatedDate', 'withinLastDays', 30), then, now, zone)).toEqual([
            '(CreatedDate >= 2026-02-08T08:00:00Z AND CreatedDate < 2026-02-10T08:00:00Z)',
            '(CreatedDate >= 2026-03-11T07:00:00Z AND CreatedDate < 2026-03-13T07:00:00Z)'
        ]);
    });
});

describe('setsHash', () => {
    it('when anything a set evaluates changes, then the hash changes; when nothing does, it stays', () => {
        const base = setWith([sales]);
        const hash = setsHash(prepared(base), 'UTC');

        expect(setsHash(prepared(setWith([sales])), 'UTC')).toBe(hash);
        expect(setsHash(prepared(base), 'Europe/Paris')).not.toBe(hash);
        expect(setsHash(prepared({ ...base, eligibleStatuses: ['Not Invited', 'Expired'] }), 'UTC')).not.toBe(
            hash
        );
        expect(setsHash(prepared({ ...base, products: ['Round Robin'] }), 'UTC')).not.toBe(hash);
        expect(setsHash(prepared(setWith([{ ...sales, value: 'Support' }])), 'UTC')).not.toBe(hash);
        expect(setsHash(prepared(base, setWith([sales], undefined, 'a002')), 'UTC')).not.toBe(hash);
    });
});
