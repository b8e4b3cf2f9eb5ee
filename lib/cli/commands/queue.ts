import type { Command } from 'commander';
import type { QueueSummary } from '../../types.js';
import { formatTime } from '../format.js';
import { openEngine, withEngineOptions, type EngineOptions } from '../options.js';

export function queueCommand(program: Command): void {
  withEngineOptions(
    program
      .command('queue')
      .summary('queued and running jobs per tag and per key')
      .description(
        'Show how many jobs wait and run per tag, and per concurrency or rate key with its limit (docs/flow-control.md).',
      ),
  ).action(async (options: EngineOptions) => {
    const engine = await openEngine({ ...options, worker: false });
    try {
      const summary = await engine.queue();
      process.stdout.write(options.json ? `${JSON.stringify(summary, null, 2)}\n` : formatQueue(summary));
    } finally {
      await engine.close();
    }
  });
}

/** The summary as a table: one line per tag, then one per key. */
export function formatQueue(summary: QueueSummary): string {
  if (summary.tags.length === 0) return 'nothing queued or running\n';
  const lines = ['TAG / KEY                        QUEUED  RUNNING  LIMIT'];
  const row = (name: string, queued: number, running: number, limit: string) =>
    `${name.padEnd(32)} ${String(queued).padStart(6)}  ${String(running).padStart(7)}  ${limit}`;
  for (const t of summary.tags) lines.push(row(`tag ${t.tag}`, t.queued, t.running, ''));
  for (const k of summary.keys) {
    const limit =
      k.kind === 'rate'
        ? `${k.limit} per ${k.perMs! / 1000} s${k.nextStart !== undefined && k.nextStart > Date.now() ? `, next start ${formatTime(k.nextStart)}` : ''}`
        : k.windowMs !== undefined
          ? `${k.limit} starts per ${k.windowMs / 1000} s`
          : `${k.limit} at once`;
    lines.push(row(`${k.kind} ${k.key}`, k.queued, k.running, limit));
  }
  return `${lines.join('\n')}\n`;
}
