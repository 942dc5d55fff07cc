/**
 * The org's clock and what it stamps: SystemModstamp on every write (users, profile and role renames,
 * authorization records, deletions), the Date header, and SOQL date literals, all on the org's time.
 */
import type { Connection } from 'jsforce';
import { startLocalOrg, type LocalOrg } from '../../service/src/local-org';
import { jwtConnection } from './helpers';

const DAY_MS = 86_400_000;

let org: LocalOrg;
let conn: Connection;

beforeAll(async () => {
    org = await startLocalOrg({ users: 60, seed: 3 });
    conn = await jwtConnection(org);
});

afterAll(async () => {
    await org.stop();
});

const stamp = (value: unknown): number => Date.parse(String(value).replace(/\+0000$/, 'Z'));

describe('the local org clock', () => {
    it('when the clock moves three days, then writes are stamped with it, the Date header says it and TODAY follows', async () => {
        // Arrange
        const [user] = (await conn.query<{ Id: string }>('SELECT Id FROM User WHERE IsActive = true LIMIT 1'))
            .records;
        org.clock.advance(3 * DAY_MS);
        const expected = org.clock.now();

        // Act
        await conn.sobject('User').update({ Id: user.Id, Department: 'Moved' });
        const response = await fetch(`${org.url}/services/data/v62.0/`, {
            headers: { authorization: `Bearer ${conn.accessToken}` }
        });
        const [read] = (
            await conn.query<{ SystemModstamp: string; LastModifiedDate: string }>(
                `SELECT SystemModstamp, LastModifiedDate FROM User WHERE Id = '${user.Id}' AND SystemModstamp = TODAY`
            )
        ).records;

        // Assert
        expect(Math.abs(stamp(read.SystemModstamp) - expected)).toBeLessThan(5_000);
        expect(read.LastModifiedDate).toBe(read.SystemModstamp);
        expect(Math.abs(Date.parse(response.headers.get('date') ?? '') - expected)).toBeLessThan(5_000);
    });

    it('when a profile and a role are renamed, then their stamps move and their users are found by the parent stamp', async () => {
        // Arrange
        const before = new Date(org.clock.now() - 1_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
        const [user] = (
            await conn.query<{ Id: string; ProfileId: string; UserRoleId: string }>(
                'SELECT Id, ProfileId, UserRoleId FROM User WHERE IsActive = true AND UserRoleId != null LIMIT 1'
            )
        ).records;

        // Act
        await conn.sobject('Profile').update({ Id: user.ProfileId, Name: 'Renamed profile' });
        await conn.sobject('UserRole').update({ Id: user.UserRoleId, Name: 'Renamed role' });
        const found = await conn.query<{ Id: string }>(
            `SELECT Id FROM User WHERE Profile.SystemModstamp >= ${before} AND UserRole.SystemModstamp >= ${before}`
        );
        const [profile] = (
            await conn.query<{ Name: string; SystemModstamp: string }>(
                `SELECT Name, SystemModstamp FROM Profile WHERE Id = '${user.ProfileId}'`
            )
        ).records;

        // Assert
        expect(found.records.map((r) => r.Id)).toContain(user.Id);
        expect(profile.Name).toBe('Renamed profile');
        expect(stamp(profile.SystemModstamp)).toBeGreaterThanOrEqual(Date.parse(before));
    });

    it('when an authorization record is deleted, then only queryAll finds it, deleted and stamped at the deletion', async () => {
        // Arrange
        const [user] = (await conn.query<{ Id: string }>('SELECT Id FROM User WHERE IsActive = true LIMIT 1'))
            .records;
        const created = await conn.sobject('Calendar_Authorization__c').create({
            User__c: user.Id,
            Product__c: 'Meeting Links',
            Status__c: 'Invited',
            Key__c: `${user.Id}:Meeting Links`
        });
        const id = (created as { id: string }).id;
        org.clock.advance(60 * 60_000);
        const deletedAt = org.clock.now();

        // Act
        await conn.sobject('Calendar_Authorization__c').destroy(id);
        const soql = `SELECT Id, IsDeleted, SystemModstamp FROM Calendar_Authorization__c WHERE Id = '${id}'`;
        const live = await conn.query(soql);
        const all = await conn.query<{ IsDeleted: boolean; SystemModstamp: string }>(soql, { scanAll: true });

        // Assert
        expect(live.records).toHaveLength(0);
        expect(all.records[0].IsDeleted).toBe(true);
        expect(Math.abs(stamp(all.records[0].SystemModstamp) - deletedAt)).toBeLessThan(5_000);
    });
});
