// ESLint flat config. TypeScript files (src, test, bench, migrations,
// knexfile.ts) get typescript-eslint's type-checked recommended rules, which
// catch floating promises, misused promises and unsafe `any`; plain JS files
// (scripts/*.mjs, this file, .dependency-cruiser.cjs) get those of the rules
// that need no type information. Layering is checked by dependency-cruiser
// (.dependency-cruiser.cjs), not here.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

// The few Node globals the plain JS files use (no `globals` package needed).
const nodeGlobals = {
  process: 'readonly',
  console: 'readonly',
  URL: 'readonly',
  Buffer: 'readonly',
  setTimeout: 'readonly',
  clearTimeout: 'readonly',
};

export default defineConfig(
  globalIgnores(['dist/', 'node_modules/', 'data/', 'views/static/', '.tmp/']),

  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // Each file is checked with the tsconfig.json nearest to it: tsconfig.json
        // (src), test/tsconfig.json (tests), migrations/tsconfig.json. bench/ and
        // knexfile.ts are in no tsconfig of their own, so they use the default
        // project with the test compiler options.
        projectService: {
          allowDefaultProject: ['knexfile.ts', 'bench/*.ts'],
          defaultProject: 'test/tsconfig.json',
          // bench/ holds more scripts than the default limit of eight.
          maximumDefaultProjectFileMatchCount_THIS_WILL_SLOW_DOWN_LINTING: 20,
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Express knows an error handler by its four parameters, so `_next` must stay.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
      // node:test's test()/describe() return promises the runner itself tracks;
      // awaiting them at top level would be noise. Every other promise still counts.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] },
          ],
        },
      ],
    },
  },

  // Code in src/ is read in one sitting: no function over 60 lines, no file
  // over 250, counting every line: a comment is read too.
  {
    files: ['src/**/*.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 60, skipBlankLines: false, skipComments: false, IIFEs: true }],
      'max-lines': ['error', { max: 250, skipBlankLines: false, skipComments: false }],
    },
  },

  // Tests and benches read JSON bodies and database rows as `any` and assert on
  // them: the assertions are the type check there, so the unsafe-any family
  // would only ask for casts that prove nothing. Everything else still applies.
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      // Fakes implement promise-returning interfaces without awaiting anything.
      '@typescript-eslint/require-await': 'off',
    },
  },

  // Plain JavaScript: no type information.
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: nodeGlobals },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
  },

  // An eslint-disable comment that no longer suppresses anything is an error,
  // so the ones left in the code stay meaningful.
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
);
