import { readFileSync } from 'node:fs';
import { HttpEngine } from '../lib/engine/http-engine.js';
import type { WaitReply } from '../lib/http/wire.js';
import { ApiClient } from '../lib/http/api-client.js';
import { startCluster } from './cluster.js';

export interface LoadFigures {
  jobs: number;
  followers: number;
  workers: number;
  /** Submitting every job through the API, before any worker runs. */
  submitPerSec: number;
  /** From the workers' start until the last job finished. */
  completedPerSec: number;
  /** Lines the followers received, in all; each followed job prints one. */
  followedLines: number;
  /** Server RSS in MiB, sampled as the queue drained: at the start, then at each quarter done. */
  serverRssMb: number[];
  /** Server RSS in MiB after a second round of as many jobs and followers: level if memory is bounded. */
  serverRssAfterSecondRoundMb: number;
  /** The server's peak RSS (VmHWM). */
  serverPeakRssMb: number;
}

const mb = (kb: number) => Math.round(kb / 1024);

function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(status.match(new RegExp(`${name}:\\s+(\\d+) kB`))![1]);
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}

/**
 * 10,000 queued jobs drained by 2 workers while 50 clients follow logs: every job must
 * complete, and the server's memory must level off rather than grow with the jobs done.
 */
export async function runLoad(
  root: string,
  db: string,
  jobs = 10_000,
  followers = 50,
  workers = 2,
): Promise<LoadFigures> {
  const cluster = await startCluster(root, db, 0);
  const engine = new HttpEngine({ server: cluster.url, token: cluster.token });
  const client = new ApiClient({ server: cluster.url, token: cluster.token });
  try {
    const first = await round(cluster, engine, client, jobs, followers, () => cluster.addWorkers(workers));
    // The same again on the same server: a server whose memory grows with the jobs it has
    // done would end this round well above the first.
    await round(cluster, engine, client, jobs, followers, async () => {});
    return {
      ...first,
      workers,
      serverRssAfterSecondRoundMb: mb(memory(cluster.serverPid).rss),
      serverPeakRssMb: mb(memory(cluster.serverPid).peak),
    };
  } finally {
    await client.close();
    await engine.close();
    await cluster.stop();
  }
}

async function round(
  cluster: Awaited<ReturnType<typeof startCluster>>,
  engine: HttpEngine,
  client: ApiClient,
  jobs: number,
  followers: number,
  startWorkers: () => Promise<void>,
): Promise<Omit<LoadFigures, 'workers' | 'serverRssAfterSecondRoundMb' | 'serverPeakRssMb'>> {
  {
    const ids: string[] = [];
    const submitStart = performance.now();
    for (let i = 0; i < jobs; i += 100) {
      const batch = Array.from({ length: Math.min(100, jobs - i) }, (_, k) =>
        client.json<string>('POST', client.ws('jobs/run/p/bench/scripts/load'), { i: i + k }),
      );
      ids.push(...(await Promise.all(batch)));
    }
    const submitPerSec = Math.round(jobs / ((performance.now() - submitStart) / 1000));

    // Followers on jobs spread over the queue: each streams its job's log until the job ends.
    let followedLines = 0;
    const followed = Array.from({ length: followers }, async (_, f) => {
      const id = ids[Math.floor(((f + 0.5) * jobs) / followers)];
      for await (const _line of engine.logs(id, { follow: true })) followedLines++;
    });

    const rss = [mb(memory(cluster.serverPid).rss)];
    const runStart = performance.now();
    await startWorkers();
    const remaining = new Set(ids);
    let nextMark = 0.25;
    while (remaining.size > 0) {
      const reply = await client.json<WaitReply>('POST', client.ws('worker/wait'), {
        ids: [...remaining].slice(0, 100),
        wait_ms: 25_000,
      });
      for (const job of reply.finished) {
        if (job.status !== 'success') throw new Error(`load job ${job.id} ended ${job.status}: ${job.error?.message}`);
        remaining.delete(job.id);
      }
      while (1 - remaining.size / jobs >= nextMark) {
        rss.push(mb(memory(cluster.serverPid).rss));
        nextMark += 0.25;
      }
    }
    const completedPerSec = Math.round(jobs / ((performance.now() - runStart) / 1000));
    await Promise.all(followed);
    if (followedLines !== followers) throw new Error(`followers saw ${followedLines} lines, expected ${followers}`);
    return { jobs, followers, submitPerSec, completedPerSec, followedLines, serverRssMb: rss };
  }
}
