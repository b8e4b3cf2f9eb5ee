/** Jest with ts-jest in ESM mode; run through `node --experimental-vm-modules` (see package.json). */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: false }],
  },
  testMatch: ['<rootDir>/__tests__/**/*.test.ts'],
  testTimeout: 60_000,
  // A throwaway PostgreSQL cluster (from npm) when MILLRACE_TEST_PG_URL names none.
  globalSetup: '<rootDir>/__tests__/setup/pg-setup.mjs',
  globalTeardown: '<rootDir>/__tests__/setup/pg-teardown.mjs',
};
