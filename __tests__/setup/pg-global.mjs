// Jest's globalSetup and globalTeardown: the PostgreSQL the tests use. With MILLRACE_TEST_PG_URL
// set (.ci/run sets it) nothing happens. Without it, where the postgresql package is installed,
// a throwaway cluster is started for the run (.ci/pg-cluster) and stopped after, so plain
// `npm test` works; elsewhere the PostgreSQL suites fail with a message saying what to do.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRIPT = join(ROOT, '.ci', 'pg-cluster');
const installed = () => existsSync('/usr/lib/postgresql') && readdirSync('/usr/lib/postgresql').some((v) => existsSync(`/usr/lib/postgresql/${v}/bin/pg_ctl`));

export async function setup() {
  if (process.env.MILLRACE_TEST_PG_URL || !installed()) return;
  const out = execFileSync(SCRIPT, ['start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const vars = Object.fromEntries([...out.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));
  if (!vars.MILLRACE_TEST_PG_URL || !vars.PG_CLUSTER_DIR) throw new Error(`.ci/pg-cluster start printed no URL: ${out}`);
  // The test workers are started after this and inherit the environment.
  process.env.MILLRACE_TEST_PG_URL = vars.MILLRACE_TEST_PG_URL;
  process.env.MILLRACE_STARTED_PG_CLUSTER = vars.PG_CLUSTER_DIR;
  process.stderr.write(`PostgreSQL for the tests (a throwaway cluster, stopped at the end): ${vars.MILLRACE_TEST_PG_URL}\n`);
}

export async function teardown() {
  const dir = process.env.MILLRACE_STARTED_PG_CLUSTER;
  if (!dir) return;
  execFileSync(SCRIPT, ['stop', dir], { stdio: 'inherit' });
  delete process.env.MILLRACE_STARTED_PG_CLUSTER;
  delete process.env.MILLRACE_TEST_PG_URL;
}
