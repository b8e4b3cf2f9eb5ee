import { styleText } from 'node:util';
import { shortId } from '../ids.js';
import { jobName, type AttemptRecord, type JobRecord, type JobStatus, type LogLine } from '../types.js';

/** Terminal output for the CLI: log lines, job tables and run trees. */

type Style = Parameters<typeof styleText>[0];

export function painter(stream: NodeJS.WriteStream): (style: Style, text: string) => string {
  const color = stream.isTTY === true && !process.env.NO_COLOR;
  return (style, text) => (color ? styleText(style, text) : text);
}

/** A log line as `run` and `logs` print it: a descendant's line is marked with its task name and job id. */
export function formatLogLine(line: LogLine, paint = painter(process.stderr)): string {
  if (!line.source) return line.line;
  return `${paint('cyan', `[${line.source.name} ${shortId(line.source.jobId)}]`)} ${line.line}`;
}

const STATUS_MARK: Record<JobStatus, string> = {
  queued: '·',
  running: '▶',
  success: '✔',
  failure: '✘',
  canceled: '⊘',
};
const STATUS_STYLE: Record<JobStatus, Style> = {
  queued: 'gray',
  running: 'yellow',
  success: 'green',
  failure: 'red',
  canceled: 'magenta',
};

/** What a job is called on screen: a task's name, else its script path. */
export { jobName };

export function formatTime(ms: number | null): string {
  if (ms === null) return '-';
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function formatDuration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}

/** How long a job has run, or ran: its recorded duration, else time since it started. */
function elapsed(job: JobRecord): number | null {
  if (job.durationMs !== null) return job.durationMs;
  if (job.startedAt !== null && job.completedAt === null) return Date.now() - job.startedAt;
  return null;
}

/** `show`'s tree: per job its name, status, tag, time queued, time started and duration. */
export function formatTree(
  root: JobRecord,
  descendants: JobRecord[],
  paint = painter(process.stdout),
  /** Attempts of the jobs that had more than one, by job id. */
  attempts: ReadonlyMap<string, AttemptRecord[]> = new Map(),
): string {
  const children = new Map<string, JobRecord[]>();
  for (const job of descendants) {
    const list = children.get(job.parentJob!) ?? [];
    list.push(job);
    children.set(job.parentJob!, list);
  }
  const rows: { prefix: string; job: JobRecord }[] = [];
  const walk = (job: JobRecord, prefix: string, childPrefix: string) => {
    rows.push({ prefix, job });
    const kids = children.get(job.id) ?? [];
    kids.forEach((kid, i) => {
      const last = i === kids.length - 1;
      walk(kid, childPrefix + (last ? '└─ ' : '├─ '), childPrefix + (last ? '   ' : '│  '));
    });
  };
  walk(root, '', '');
  const labels = rows.map(({ prefix, job }) => `${prefix}${STATUS_MARK[job.status]} ${jobName(job)}`);
  const width = Math.max(...labels.map((l) => l.length));
  const header = `${'job'.padEnd(width)}  ${'id'.padEnd(8)}  ${'status'.padEnd(8)}  ${'tag'.padEnd(10)}  ${'queued'.padEnd(12)}  ${'started'.padEnd(12)}  duration`;
  const lines = rows.map(({ job }, i) => {
    const label = labels[i].padEnd(width);
    const status = paint(STATUS_STYLE[job.status], job.status.padEnd(8));
    const attempt = job.maxAttempts > 1 ? `  attempt ${job.attempt}/${job.maxAttempts}` : '';
    return `${label}  ${shortId(job.id)}  ${status}  ${job.tag.padEnd(10)}  ${formatTime(job.createdAt).padEnd(12)}  ${formatTime(job.startedAt).padEnd(12)}  ${formatDuration(elapsed(job))}${attempt}`;
  });
  const failed = rows.map((r) => r.job).filter((j) => j.status !== 'success' && j.error);
  const errors = failed.map(
    (j) =>
      `  ${shortId(j.id)} ${jobName(j)}: ${j.error!.name}: ${j.error!.message}${j.canceledBy ? ` (canceled by ${j.canceledBy})` : ''}`,
  );
  const retried = rows.map((r) => r.job).filter((j) => (attempts.get(j.id)?.length ?? 0) > 1);
  const attemptLines = retried.flatMap((j) => [
    `  ${shortId(j.id)} ${jobName(j)}:`,
    ...attempts.get(j.id)!.map((a) => {
      const how = a.error ? `${a.status}, ${a.error.code ?? a.error.name}: ${a.error.message}` : a.status;
      return `    attempt ${a.attempt} on ${a.worker} at ${formatTime(a.claimedAt)}: ${how}`;
    }),
  ]);
  return [
    paint('bold', header),
    ...lines,
    ...(errors.length ? ['', 'errors:', ...errors] : []),
    ...(attemptLines.length ? ['', 'attempts:', ...attemptLines] : []),
  ].join('\n');
}

/** `jobs`' table. */
export function formatJobTable(jobs: JobRecord[], paint = painter(process.stdout)): string {
  if (jobs.length === 0) return 'no jobs';
  const name = (j: JobRecord) => jobName(j);
  const width = Math.max(4, ...jobs.map((j) => name(j).length));
  const header = `${'id'.padEnd(20)}  ${'job'.padEnd(width)}  ${'kind'.padEnd(6)}  ${'status'.padEnd(8)}  ${'tag'.padEnd(10)}  ${'created'.padEnd(12)}  ${'duration'.padEnd(8)}  parent`;
  const rows = jobs.map(
    (j) =>
      `${j.id}  ${name(j).padEnd(width)}  ${j.kind.padEnd(6)}  ${paint(STATUS_STYLE[j.status], j.status.padEnd(8))}  ${j.tag.padEnd(10)}  ` +
      `${formatTime(j.createdAt).padEnd(12)}  ${formatDuration(elapsed(j)).padEnd(8)}  ${j.parentJob ? shortId(j.parentJob) : '-'}`,
  );
  return [paint('bold', header), ...rows].join('\n');
}
