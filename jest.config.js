// Two projects: the LWC components under force-app (jsdom, sfdx-lwc-jest's preset)
// and everything TypeScript (engine, local org, service) in a node environment.
const { jestConfig: lwcJestConfig } = require('@salesforce/sfdx-lwc-jest/config');

module.exports = {
    projects: [
        {
            ...lwcJestConfig,
            displayName: 'lwc',
            rootDir: __dirname,
            roots: ['<rootDir>/force-app'],
            modulePathIgnorePatterns: ['<rootDir>/.localdevserver'],
            setupFilesAfterEnv: ['<rootDir>/force-app/test/jest-setup.js'],
            // Base components sfdx-lwc-jest does not stub (force-app/test/jest-mocks).
            moduleNameMapper: {
                ...lwcJestConfig.moduleNameMapper,
                '^lightning/modal$': '<rootDir>/force-app/test/jest-mocks/lightning/modal/modal'
            }
        },
        {
            displayName: 'service',
            rootDir: __dirname,
            testEnvironment: 'node',
            roots: ['<rootDir>/test'],
            testMatch: ['**/*.test.ts'],
            transform: {
                '^.+\\.ts$': [
                    '@swc/jest',
                    {
                        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
                        module: { type: 'commonjs' }
                    }
                ]
            },
            moduleFileExtensions: ['ts', 'js', 'json']
        }
    ]
};
