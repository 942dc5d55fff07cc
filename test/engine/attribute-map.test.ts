/** The attribute mapping (Connection__c.Attribute_Map__c): parsing RFC 7644 §3.10 paths, validation, resources. */
import {
    buildUserResource,
    ENTERPRISE_USER_SCHEMA,
    parseAttributePath,
    validateAttributeMap,
    type ValidMapping
} from '../../service/src/engine';
import { realSchema } from './helpers';

const user = {
    Id: '0055g00000AAAAAAAA',
    Username: 'ada@example.com.org',
    Email: 'ada@example.com',
    FirstName: 'Ada',
    LastName: 'Lovelace',
    Department: 'Engineering',
    Title: null,
    FederationIdentifier: 'ada-fed',
    Manager: { Email: 'boss@example.com' }
};

function valid(raw: string, matchOn = 'Username'): ValidMapping {
    const result = validateAttributeMap(raw, matchOn, realSchema);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    return result;
}

describe('SCIM attribute paths (RFC 7644 §3.10)', () => {
    it.each([
        ['title', { attribute: 'title' }],
        ['name.givenName', { attribute: 'name', sub: 'givenName' }],
        [
            'emails[type eq "work"].value',
            { attribute: 'emails', filter: { attribute: 'type', value: 'work' }, sub: 'value' }
        ],
        [
            'phoneNumbers[type eq "mobile"]',
            { attribute: 'phoneNumbers', filter: { attribute: 'type', value: 'mobile' } }
        ],
        [`${ENTERPRISE_USER_SCHEMA}:department`, { urn: ENTERPRISE_USER_SCHEMA, attribute: 'department' }],
        [
            `${ENTERPRISE_USER_SCHEMA}:manager.value`,
            { urn: ENTERPRISE_USER_SCHEMA, attribute: 'manager', sub: 'value' }
        ],
        ['urn:ietf:params:scim:schemas:core:2.0:User:title', { attribute: 'title' }]
    ])('when %s is parsed, then it is understood', (text, expected) => {
        expect(parseAttributePath(text)).toMatchObject(expected);
    });

    it.each([
        '',
        'name..givenName',
        '1title',
        'emails[type co "work"].value',
        'emails[type eq work].value',
        'urn:x:Group:displayName',
        'a b'
    ])('when %j is parsed, then it is refused', (text) => {
        expect(parseAttributePath(text)).toBeUndefined();
    });
});

describe('validating an attribute map against the User describe', () => {
    it.each([
        ['{', 'INVALID_JSON'],
        ['[]', 'INVALID_JSON'],
        ['{"bad path!": {"field": "Department"}}', 'INVALID_PATH'],
        ['{"userName": {"field": "Email"}}', 'RESERVED_PATH'],
        ['{"externalId": {"value": "x"}}', 'RESERVED_PATH'],
        ['{"title": {"field": "NoSuchField__c"}}', 'UNKNOWN_FIELD'],
        ['{"title": {"field": "IsManager"}}', 'UNKNOWN_FIELD'],
        ['{"title": "Title"}', 'INVALID_SOURCE'],
        ['{"title": {"field": "Title", "value": "x"}}', 'INVALID_SOURCE'],
        ['{"title": {"value": {"nested": 1}}}', 'INVALID_SOURCE'],
        ['{"title": {"role": false}}', 'INVALID_SOURCE']
    ])('when the map is %s, then it is refused with %s and a message naming what to do', (raw, code) => {
        const result = validateAttributeMap(raw, 'Username', realSchema);
        expect(result.ok).toBe(false);
        if (result.ok) return;
        expect(result.errors[0].code).toBe(code);
        expect(result.errors[0].message.length).toBeGreaterThan(20);
    });

    it('when Match On is not one of the three fields, then it is refused', () => {
        const result = validateAttributeMap('', 'Nickname', realSchema);
        expect(result.ok ? [] : result.errors.map((e) => e.code)).toEqual(['INVALID_MATCH_ON']);
    });

    it('when a field is named in another case or through a parent, then it resolves to the canonical path', () => {
        const mapping = valid(
            `{"title": {"field": "title"}, "${ENTERPRISE_USER_SCHEMA}:manager.displayName": {"field": "manager.email"}}`
        );
        expect(mapping.fields).toEqual(
            expect.arrayContaining(['Username', 'Title', 'Manager.Email', 'FirstName', 'LastName', 'Email'])
        );
    });
});

describe('the SCIM resource of a user', () => {
    it('when the map is empty, then the default: userName from Match On, name, work email primary, active, externalId the key', () => {
        expect(buildUserResource(valid(''), user, '0055g00000AAAAAAAA:demo', undefined)).toEqual({
            schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
            userName: 'ada@example.com.org',
            externalId: '0055g00000AAAAAAAA:demo',
            name: { givenName: 'Ada', familyName: 'Lovelace' },
            emails: [{ type: 'work', value: 'ada@example.com', primary: true }],
            active: true
        });
    });

    it.each([
        ['Email', 'ada@example.com'],
        ['FederationIdentifier', 'ada-fed']
    ])('when Match On is %s, then userName is that field', (matchOn, userName) => {
        expect(buildUserResource(valid('', matchOn), user, 'k', undefined).userName).toBe(userName);
    });

    it('when the map adds the enterprise extension, a constant and a role path, then the resource carries them and the extension schema', () => {
        const mapping = valid(
            JSON.stringify({
                [`${ENTERPRISE_USER_SCHEMA}:department`]: { field: 'Department' },
                [`${ENTERPRISE_USER_SCHEMA}:manager.value`]: { field: 'Manager.Email' },
                userType: { value: 'Employee' },
                title: { field: 'Title' },
                'phoneNumbers[type eq "work"].value': { value: '+1 555' },
                'x-role': { role: true }
            })
        );
        const resource = buildUserResource(mapping, user, 'k', 'Light agent');
        expect(resource.schemas).toEqual([
            'urn:ietf:params:scim:schemas:core:2.0:User',
            ENTERPRISE_USER_SCHEMA
        ]);
        expect(resource[ENTERPRISE_USER_SCHEMA]).toEqual({
            department: 'Engineering',
            manager: { value: 'boss@example.com' }
        });
        expect(resource.userType).toBe('Employee');
        expect(resource['x-role']).toBe('Light agent');
        expect(resource.roles).toBeUndefined();
        // An empty User field is not sent.
        expect('title' in resource).toBe(false);
        expect(resource.phoneNumbers).toEqual([{ type: 'work', value: '+1 555', primary: true }]);
    });

    it('when a role is given and the map does not place it, then it is SCIM roles, primary', () => {
        expect(buildUserResource(valid(''), user, 'k', 'Admin').roles).toEqual([
            { value: 'Admin', primary: true }
        ]);
    });
});
