// ESLint flat config: typescript-eslint with type information, plus the import boundaries that keep the
// layering (docs/contributing.md). `npm test` runs it; test/lint/import-boundaries.test.ts proves that a
// forbidden import fails.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Production folders: none of them may reach the local platform, benchmarks or tests. */
const PRODUCTION = ['domain/**', 'application/**', 'adapters/**', 'bootstrap/**', 'config/**', 'functions/**', 'openapi/**'];

/** Patterns of `no-restricted-imports`, one group per forbidden layer, with the reason ESLint prints. */
const forbid = (layers, message) => ({ group: layers.flatMap((l) => [`**/${l}/*`, `**/${l}`, `${l}/*`]), message });

const NON_PRODUCTION = forbid(['local', 'bench', 'test'], 'Production code never imports the local platform, benchmarks or tests.');

export default tseslint.config(
  {
    ignores: ['node_modules/**', 'dist/**', '.bench-out/**', 'coverage/**', '.data/**', 'dashboard/dist/**', '**/*.generated.js', 'test/lint/fixtures/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // The rules that need type information: promises that nobody awaits lose errors silently.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Tests and local tools use `any`-free code too, but stubs of third-party shapes need `{}`-like types.
      '@typescript-eslint/no-empty-object-type': 'off',
      // A `let` that a closure reads before its one assignment (a server handler set up before the issuer it
      // serves) cannot become `const` without a temporal-dead-zone error on an early request.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly' },
    },
  },
  {
    files: ['domain/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        forbid(['application', 'adapters', 'bootstrap', 'config', 'functions', 'openapi', 'local', 'bench', 'test'], 'domain/ is pure: it imports only domain/.'),
        // node:crypto is computation (hashes, HMAC), not I/O; every other Node module and SDK is.
        { regex: '^(@azure/|jose$|ajv|node:(?!crypto$))', message: 'domain/ is pure: no SDKs and no I/O.' },
      ] }],
    },
  },
  {
    files: ['application/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        forbid(['adapters', 'bootstrap', 'functions', 'local', 'bench', 'test'], 'application/ depends on ports, never on adapters, the composition root or triggers.'),
      ] }],
    },
  },
  {
    files: ['functions/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        {
          regex: '^(?!@azure/functions$|\\./app-start\\.js$|\\.\\./bootstrap/|\\.\\./adapters/http/|\\.\\./adapters/functions/|\\.\\./application/messages\\.js$)',
          message: 'Triggers import only @azure/functions, bootstrap/, the trigger adapters (adapters/http, adapters/functions) and application/messages.',
          allowTypeImports: true,
        },
      ] }],
    },
  },
  {
    files: PRODUCTION.filter((p) => p !== 'domain/**' && p !== 'application/**' && p !== 'functions/**'),
    rules: { 'no-restricted-imports': ['error', { patterns: [NON_PRODUCTION] }] },
  },
);
