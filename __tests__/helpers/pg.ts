import pg from 'pg';
import { customAlphabet } from 'nanoid';

/**
 * The PostgreSQL the tests use: MILLRACE_TEST_PG_URL (.ci/run sets it; otherwise jest's global
 * setup, __tests__/setup, starts a throwaway cluster where PostgreSQL is installed). Without it
 * the PostgreSQL suites fail: they never skip silently.
 */
export function testPgUrl(): string {
  const url = process.env.MILLRACE_TEST_PG_URL;
  if (!url) {
    throw new Error(
      'MILLRACE_TEST_PG_URL is not set: the PostgreSQL tests need a database. ' +
        '`npm test` starts a throwaway cluster itself where the postgresql package is installed (apt-get install -y postgresql); ' +
        'or point MILLRACE_TEST_PG_URL at a database the tests may create schemas in; or run .ci/run, which installs it.',
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
