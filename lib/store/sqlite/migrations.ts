import {
  eventsAndSecrets,
  flowControl,
  flowModuleKind,
  flowStatus,
  idempotencyKeys,
  jobColumns,
  logsAndAttempts,
  progressAndTraces,
  SQLITE,
  schedules,
  tokenPrefixes,
  tokensAndWorkers,
} from '../schema.js';
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
  { version: 3, name: 'idempotency keys', sql: idempotencyKeys() },
  { version: 4, name: 'flow status', sql: flowStatus(SQLITE) },
  { version: 5, name: 'token prefixes, last use and revocation', sql: tokenPrefixes(SQLITE) },
  { version: 6, name: 'a flow module job is of kind flowmodule', sql: flowModuleKind() },
  { version: 7, name: 'events sent to jobs, and the key that signs resume URLs', sql: eventsAndSecrets(SQLITE) },
  { version: 8, name: 'schedules', sql: schedules(SQLITE) },
  { version: 9, name: 'job progress; finished runs by end time (prune); run traces', sql: progressAndTraces(SQLITE) },
  {
    version: 10,
    name: 'flow control: priority, concurrency and rate keys, result cache',
    sql: flowControl(
      SQLITE,
      `-- Claims read queued jobs in (priority, scheduled_for, rowid) order straight off this index.
      CREATE INDEX jobs_claim_priority ON jobs (status, priority DESC, scheduled_for);`,
    ),
  },
];
