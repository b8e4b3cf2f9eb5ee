import { jobColumns, logsAndAttempts, sharedMigrations, SQLITE, tokensAndWorkers } from '../schema.js';
import type { Migration } from '../store.js';

/**
 * Numbered migrations, applied in order inside one transaction each (migrate.ts). Never edit
 * one that has shipped: add the next number. The tables both stores share are written once,
 * in ../schema.ts.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'jobs, logs and attempts',
    sql: `
      CREATE TABLE jobs (${jobColumns(SQLITE)}
      );
      -- Claims read queued jobs in (scheduled_for, rowid) order straight off this index.
      CREATE INDEX jobs_claim ON jobs (status, scheduled_for);
      CREATE INDEX jobs_parent ON jobs (parent_job);
      CREATE INDEX jobs_root ON jobs (root_job);
      CREATE INDEX jobs_created ON jobs (workspace, created_at);
      CREATE INDEX jobs_lease ON jobs (lease_until) WHERE status = 'running';
      CREATE UNIQUE INDEX jobs_call_key ON jobs (parent_job, call_key) WHERE call_key IS NOT NULL;
      ${logsAndAttempts(SQLITE)}
    `,
  },
  { version: 2, name: 'tokens and workers', sql: tokensAndWorkers(SQLITE) },
  ...sharedMigrations(SQLITE, 3),
];
