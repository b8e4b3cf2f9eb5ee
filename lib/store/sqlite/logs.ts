import type { LogLine, NewLogLine } from '../../types.js';
import { storableLine } from '../log-text.js';
import type { Place } from '../policy.js';
import { toLogLine, type LogRow } from '../rows.js';
import type { Statements } from './statements.js';

/** Writes a job's lines into its log and a marked copy into each ancestor's; inside a write. */
export function insertLogLines(stmt: Statements, jobId: string, place: Place, lines: readonly NewLogLine[]): LogLine[] {
  const ancestors = place.path.split('/').slice(0, -1);
  const written: LogLine[] = [];
  for (const l of lines) {
    const line = storableLine(l.line);
    written.push(
      toLogLine(
        stmt.insertLog.get({
          job_id: jobId,
          ts: l.ts,
          stream: l.stream,
          line,
          src_job: null,
          src_name: null,
        }) as LogRow,
      ),
    );
    for (const ancestor of ancestors) {
      const row = stmt.insertLog.get({
        job_id: ancestor,
        ts: l.ts,
        stream: l.stream,
        line,
        src_job: jobId,
        src_name: place.name,
      });
      written.push(toLogLine(row as LogRow));
    }
  }
  return written;
}

/** A page of a job's log after a cursor; `ownOnly` leaves out its descendants' marked copies. */
export function readLogLines(
  stmt: Statements,
  jobId: string,
  options: { after?: number; limit?: number; ownOnly?: boolean },
): LogLine[] {
  const params = { job_id: jobId, after: options.after ?? 0, limit: options.limit ?? 10_000 };
  return ((options.ownOnly ? stmt.readOwnLogs : stmt.readLogs).all(params) as LogRow[]).map(toLogLine);
}
