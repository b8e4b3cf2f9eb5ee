import type { WorkerRecord } from '../../types.js';
import { toWorkerRecord, type WorkerRow } from '../rows.js';
import type { Statements } from './statements.js';

// The SQLite store's worker registry: heartbeats (inside a write), and the workers seen lately.

export function touchWorker(
  stmt: Statements,
  worker: Omit<WorkerRecord, 'jobs' | 'lastSeen' | 'startedAt'>,
  now: number,
): void {
  stmt.touchWorker.run({
    id: worker.id,
    workspace: worker.workspace,
    tags: JSON.stringify(worker.tags),
    hostname: worker.hostname,
    now,
  });
}

export function listWorkers(stmt: Statements, workspace: string, since: number): WorkerRecord[] {
  return (stmt.listWorkers.all({ workspace, since }) as WorkerRow[]).map(toWorkerRecord);
}
