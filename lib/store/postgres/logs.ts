import type pg from 'pg';
import type { LogLine, NewLogLine } from '../../types.js';
import { storableLine } from '../log-text.js';
import type { Place } from '../policy.js';
import { toLogLine, type LogRow } from '../rows.js';
import { APPEND_LOGS_SQL } from './sql.js';

/**
 * Writes a job's lines into its log and a marked copy into each ancestor's, in one statement
 * (one unnest of a column array each). Returns them in seq order.
 */
export async function appendLogs(
  pool: pg.Pool,
  jobId: string,
  place: Place,
  lines: readonly NewLogLine[],
): Promise<LogLine[]> {
  const ancestors = place.path.split('/').slice(0, -1);
  const cols: {
    job: string[];
    ts: number[];
    stream: string[];
    line: string[];
    src: (string | null)[];
    name: (string | null)[];
  } = {
    job: [],
    ts: [],
    stream: [],
    line: [],
    src: [],
    name: [],
  };
  const push = (job: string, l: NewLogLine, src: string | null, name: string | null) => {
    cols.job.push(job);
    cols.ts.push(l.ts);
    cols.stream.push(l.stream);
    cols.line.push(storableLine(l.line));
    cols.src.push(src);
    cols.name.push(name);
  };
  for (const l of lines) {
    push(jobId, l, null, null);
    for (const ancestor of ancestors) push(ancestor, l, jobId, place.name);
  }
  const root = place.path.split('/', 1)[0];
  const { rows } = await pool.query<LogRow>(APPEND_LOGS_SQL, [
    cols.job,
    cols.ts,
    cols.stream,
    cols.line,
    cols.src,
    cols.name,
    root,
  ]);
  return rows.map(toLogLine).sort((x, y) => x.seq - y.seq);
}

/** A page of a job's log after a cursor; `ownOnly` leaves out its descendants' marked copies. */
export async function readLogs(
  pool: pg.Pool,
  jobId: string,
  options: { after?: number; limit?: number; ownOnly?: boolean },
): Promise<LogLine[]> {
  const { rows } = await pool.query<LogRow>(
    `SELECT * FROM logs WHERE job_id = $1 AND seq > $2 ${options.ownOnly ? 'AND src_job IS NULL' : ''} ORDER BY seq LIMIT $3`,
    [jobId, options.after ?? 0, options.limit ?? 10_000],
  );
  return rows.map(toLogLine);
}
