import type { JobRecord } from '../../types.js';
import { canceledError } from '../policy.js';
import { toJobRecord, type JobRow } from '../rows.js';
import type { CancelRequest } from '../store.js';
import type { Statements } from './statements.js';

/** A job and its unfinished descendants, canceled with their running attempts; inside a write. */
export function cancelTree(stmt: Statements, jobId: string, request: CancelRequest, at: number): JobRecord[] {
  const target = stmt.place.get(jobId) as { root_job: string; path: string } | undefined;
  if (!target) return [];
  const error = JSON.stringify(canceledError(request.reason));
  const rows = stmt.cancelTree.all({
    id: jobId,
    root: target.root_job,
    prefix: `${target.path}/`,
    reason: request.reason,
    by: request.by,
    error,
    at,
  }) as JobRow[];
  for (const row of rows) {
    stmt.attemptDone.run({ id: row.id, attempt: row.attempt, status: 'canceled', error, at });
  }
  return rows.map(toJobRecord);
}
