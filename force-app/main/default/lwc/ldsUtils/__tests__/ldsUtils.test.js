import { reduceErrors } from 'c/ldsUtils';

describe('c-lds-utils reduceErrors', () => {
    it('reads the message of an Apex error (AuraHandledException)', () => {
        const apexError = { body: { message: 'Choose at least one product.' }, status: 500 };
        expect(reduceErrors(apexError)).toEqual(['Choose at least one product.']);
    });

    it('reads UI API read errors (an array body)', () => {
        expect(reduceErrors({ body: [{ message: 'First' }, { message: 'Second' }] })).toEqual([
            'First',
            'Second'
        ]);
    });

    it('reads page and field errors of UI API DML', () => {
        const dmlError = {
            body: {
                message: 'An error occurred',
                output: {
                    errors: [{ message: 'Page error' }],
                    fieldErrors: { Name: [{ message: 'Name is required' }] }
                }
            }
        };
        expect(reduceErrors(dmlError)).toEqual(['Page error', 'Name is required']);
    });

    it('falls back to the body message when DML output is empty', () => {
        expect(
            reduceErrors({ body: { message: 'Generic', output: { errors: [], fieldErrors: {} } } })
        ).toEqual(['Generic']);
    });

    it('reads JavaScript errors, strings and status text, and drops empty ones', () => {
        expect(reduceErrors([new Error('Boom'), 'Plain', { statusText: 'Bad Gateway' }, null, {}])).toEqual([
            'Boom',
            'Plain',
            'Bad Gateway'
        ]);
    });
});
