// ESLint finds problems; Prettier (.prettierrc) owns the format, so no stylistic rule is on
// here. `npm run lint` runs this, `prettier --check .` and the layer check (.dependency-cruiser.cjs).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The Node globals our plain JavaScript files use (the `globals` package is not a dependency). */
const NODE_GLOBALS = Object.fromEntries(
  [
    'process',
    'console',
    'Buffer',
    'URL',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
    'AbortController',
    'fetch',
    'TextDecoder',
    'TextEncoder',
  ].map((name) => [name, 'readonly']),
);

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', '.millrace/', '**/node_modules/'] },
  // A disable comment that no longer silences anything is stale: it fails the lint.
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },

  // TypeScript: typescript-eslint's recommended rules with type information, each file checked
  // with the tsconfig.json nearest to it (the root one; lib/ui's, with DOM types; __tests__/types').
  {
    files: ['**/*.ts', '**/*.mts', '**/*.cts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // An async function that does not await is how an implementation of a Promise-returning
      // interface (SqliteStore's reads, engine methods) and a task (examples, fixtures) is
      // written: a throw becomes a rejection, and the signature says what callers get.
      '@typescript-eslint/require-await': 'off',
      // Passing on what was caught (a rejection reason, an abort signal's reason) is not inventing
      // a non-Error: as only-throw-error, allow any and unknown.
      '@typescript-eslint/prefer-promise-reject-errors': [
        'error',
        { allowThrowingAny: true, allowThrowingUnknown: true },
      ],
      // Off: on this code its fixes broke the typecheck (a literal widened to string once its
      // `as ModuleState` went, an overload's `{} | SourceMapping` lost its narrowing), and an
      // assertion the compiler could do without is noise, not a fault.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // Fire-and-forget is written `void promise` on purpose; a promise dropped without it is a bug.
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: true }],
      // An unused name is dead code, except `_`-prefixed ones: a parameter a signature requires.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },

  // One concept per file: a file of lib/ past 400 lines holds more than one (docs/architecture.md).
  {
    files: ['lib/**/*.ts'],
    rules: { 'max-lines': ['error', { max: 400, skipBlankLines: false, skipComments: false }] },
  },

  // Tests read JSON replies as JSON.parse gives them (any) and let expect() check their shape:
  // a wrong path fails the assertion, so typing each reply would add words, not safety.
  {
    files: ['__tests__/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
  // Type tests (tsc --noEmit) are expressions only the compiler reads, with @ts-expect-error.
  {
    files: ['**/*.test-d.ts'],
    rules: { '@typescript-eslint/no-unused-expressions': 'off' },
  },

  // Plain JavaScript (the bin, jest's config and setup, the UI's esbuild script, this file).
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [js.configs.recommended],
    languageOptions: { sourceType: 'module', globals: NODE_GLOBALS },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { ...NODE_GLOBALS, module: 'writable', require: 'readonly' } },
  },
);
