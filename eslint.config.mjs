import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import lwcConfig from '@salesforce/eslint-config-lwc';
import jestPlugin from 'eslint-plugin-jest';

export default [
    {
        ignores: [
            'node_modules/**',
            'coverage/**',
            'outbox/**',
            '.data/**',
            '.sfdx/**',
            '.sf/**',
            '**/staticresources/**'
        ]
    },
    // Lightning Web Components: Salesforce's recommended LWC rules.
    ...lwcConfig.configs.recommended.map((config) => ({ ...config, files: ['force-app/**/*.js'] })),
    {
        files: ['force-app/**/lwc/**/__tests__/**/*.js', 'force-app/test/**/*.js'],
        plugins: { jest: jestPlugin },
        languageOptions: { globals: { ...globals.node, ...globals.jest } },
        rules: { '@lwc/lwc/no-unexpected-wire-adapter-usages': 'off' }
    },
    // The service, local org, tests, benchmarks and scripts: strict TypeScript.
    ...tseslint.configs.recommended.map((config) => ({
        ...config,
        files: ['service/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts']
    })),
    {
        files: ['service/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
        languageOptions: { globals: { ...globals.node } },
        rules: {
            '@typescript-eslint/no-unused-vars': [
                'error',
                { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }
            ]
        }
    },
    // The admin app's browser shims (ES modules bundled with the force-app components).
    {
        files: ['service/src/admin-app/client/**/*.js'],
        ...js.configs.recommended,
        languageOptions: { globals: { ...globals.browser }, sourceType: 'module' }
    },
    {
        files: ['*.js', 'bin/*.js', 'scripts/**/*.js'],
        ...js.configs.recommended,
        languageOptions: { globals: { ...globals.node }, sourceType: 'commonjs' }
    },
    {
        files: ['*.mjs'],
        ...js.configs.recommended,
        languageOptions: { globals: { ...globals.node }, sourceType: 'module' }
    }
];
