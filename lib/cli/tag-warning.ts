import type { Engine } from '../engine/engine.js';

/** How long a job may wait for a worker before `run` says something. */
const QUIET_MS = 3000;

/**
 * Watches a run for jobs queued under a tag that no live worker serves (invariant 8: a
 * warning, not a hang without word). Warns once per tag, naming the tags live workers do serve.
 * Returns a function that stops watching.
 */
export function warnAboutUnservedTags(engine: Engine, rootId: string, warn: (text: string) => void): () => void {
  const warned = new Set<string>();
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void check()
      .catch(() => {})
      .finally(() => (busy = false));
  }, 1000);
  timer.unref();

  async function check(): Promise<void> {
    const since = Date.now() - QUIET_MS;
    // Only jobs queued for a while matter; a fan-out's fresh children are not fetched.
    const queued = (await engine.list({ rootJob: rootId, status: ['queued'], before: since, limit: 100 })).filter(
      (j) => j.scheduledFor < since,
    );
    if (queued.length === 0) return;
    const workers = await engine.workers();
    if (workers.some((w) => w.tags === 'all')) return;
    const served = new Set(workers.flatMap((w) => (w.tags === 'all' ? [] : w.tags)));
    for (const job of queued) {
      if (served.has(job.tag) || warned.has(job.tag)) continue;
      warned.add(job.tag);
      const others = served.size ? `live workers serve: ${[...served].sort().join(', ')}` : 'no worker is live';
      warn(
        `warning: job ${job.id} has waited ${Math.round((Date.now() - job.scheduledFor) / 1000)}s with tag "${job.tag}", which no live worker serves (${others}). Start one with: millrace worker --tag ${job.tag}`,
      );
    }
  }
  return () => clearInterval(timer);
}
