import type { Command } from 'commander';
import { shortId } from '../../ids.js';
import { formatTime } from '../format.js';
import { openEngine, withEngineOptions, type EngineOptions } from '../options.js';

export function workersCommand(program: Command): void {
  withEngineOptions(
    program
      .command('workers')
      .summary('list live workers')
      .description('List the live workers of a server: their tags and the jobs they run now.'),
  ).action(async (options: EngineOptions) => {
    const engine = await openEngine({ ...options, worker: false });
    try {
      const workers = await engine.workers();
      if (options.json) {
        process.stdout.write(`${JSON.stringify(workers, null, 2)}\n`);
        return;
      }
      if (workers.length === 0) process.stdout.write('no live workers\n');
      for (const w of workers) {
        const tags = w.tags === 'all' ? 'every tag' : w.tags.join(', ');
        const jobs = w.jobs.length ? w.jobs.map(shortId).join(' ') : 'idle';
        process.stdout.write(
          `${w.id}  ${w.hostname}  tags: ${tags}  last seen ${formatTime(w.lastSeen)}  jobs: ${jobs}\n`,
        );
      }
    } finally {
      await engine.close();
    }
  });
}
