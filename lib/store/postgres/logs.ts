import type pg from 'pg';
import type { LogLine, NewLogLine } from '../../types.js';
import { storableLine } from '../log-text.js';
import type { Place } from '../policy.js';
import { toLogLine, type LogRow } from '../rows.js';
import { APPEND_LOGS_SQL } from './sql.js';
import { TickStatement } from './tick-statement.js';

/** A job's lines to append, and its place (itself and its ancestors, whose logs get a marked copy). */
export interface LogAppend {
  jobId: string;
  place: Place;
  lines: readonly NewLogLine[];
}

/**
 * The log appends of one tick in one statement (a report's jobs, a fan-out's children): one
 * durable commit for all of them where each was one. Each caller gets the lines written for it.
 */
export function logAppends(pool: pg.Pool): TickStatement<LogAppend, LogLine[]> {
  return new TickStatement(
    async (append) => (await appendLogs(pool, [append]))[0],
    (appends) => appendLogs(pool, appends),
  );
}

/**
 * Writes each job's lines into its log and a marked copy into each ancestor's, in one
 * statement (one unnest of a column array each). Returns each append's lines in seq order.
 */
export async function appendLogs(pool: pg.Pool, appends: readonly LogAppend[]): Promise<LogLine[][]> {
  const cols: {
    job: string[];
    ts: number[];
    stream: string[];
    line: string[];
    src: (string | null)[];
    name: (string | null)[];
  } = { job: [], ts: [], stream: [], line: [], src: [], name: [] };
  const push = (job: string, l: NewLogLine, src: string | null, name: string | null) => {
    cols.job.push(job);
    cols.ts.push(l.ts);
    cols.stream.push(l.stream);
    cols.line.push(storableLine(l.line));
    cols.src.push(src);
    cols.name.push(name);
  };
  const roots = new Set<string>();
  for (const { jobId, place, lines } of appends) {
    const ancestors = place.path.split('/').slice(0, -1);
    for (const l of lines) {
      push(jobId, l, null, null);
      for (const ancestor of ancestors) push(ancestor, l, jobId, place.name);
    }
    roots.add(place.path.split('/', 1)[0]);
  }
  const { rows } = await pool.query<LogRow>(APPEND_LOGS_SQL, [
    cols.job,
    cols.ts,
    cols.stream,
    cols.line,
    cols.src,
    cols.name,
    [...roots],
  ]);
  // Each line and its copies are marked with the job that printed it; a job appended to twice
  // in the tick has its rows dealt out in seq order, as many to each append as it wrote.
  const byJob = new Map<string, LogLine[]>();
  for (const line of rows.map(toLogLine).sort((x, y) => x.seq - y.seq)) {
    const job = line.source?.jobId ?? line.jobId;
    const list = byJob.get(job);
    if (list) list.push(line);
    else byJob.set(job, [line]);
  }
  return appends.map(({ jobId, place, lines }) => {
    const count = lines.length * place.path.split('/').length;
    return byJob.get(jobId)?.splice(0, count) ?? [];
  });
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
