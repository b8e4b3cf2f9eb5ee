import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CoordinatorObserver } from '../engine/observer.js';
import type { Store } from '../store/store.js';
import { DEFAULT_WORKSPACE, type JobRecord } from '../types.js';

/** How long a worker counts as connected after it was last heard from (as `millrace workers`). */
const WORKER_LIVE_MS = 30_000;

/**
 * The server's Prometheus metrics (GET /metrics; the series are listed in docs/operations.md).
 * Gauges are read from the store at each scrape, so they hold for every server on one database;
 * counters and histograms count what this server's coordinator did since it started, which
 * Prometheus sums across servers.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  /** Observes the store's verbs (timedStore). */
  readonly storeSeconds: Histogram<'verb'>;
  /** Told by the coordinator of finished, retried and released jobs and expired leases. */
  readonly observer: CoordinatorObserver;

  constructor(store: Store) {
    const registers = [this.registry];
    const live = (status: 'queued' | 'running') =>
      new Gauge({
        name: `millrace_jobs_${status}`,
        help: `Jobs ${status} now, per tag (read from the store at each scrape)`,
        labelNames: ['tag'],
        registers,
        async collect() {
          this.reset();
          for (const c of await store.countLive()) if (c.status === status) this.set({ tag: c.tag }, c.count);
        },
      });
    live('queued');
    live('running');
    new Gauge({
      name: 'millrace_workers_connected',
      help: `Workers of the default workspace heard from in the last ${WORKER_LIVE_MS / 1000} s`,
      registers,
      async collect() {
        this.set((await store.listWorkers(DEFAULT_WORKSPACE, Date.now() - WORKER_LIVE_MS)).length);
      },
    });
    const finished = new Counter({
      name: 'millrace_jobs_finished_total',
      help: 'Jobs finished for good, per status, tag and kind',
      labelNames: ['status', 'tag', 'kind'],
      registers,
    });
    const duration = new Histogram({
      name: 'millrace_job_duration_seconds',
      help: 'From a finished job’s start to its end (its last attempt)',
      labelNames: ['tag', 'kind', 'status'],
      buckets: [0.005, 0.025, 0.1, 0.5, 1, 5, 15, 60, 300, 1800, 7200],
      registers,
    });
    const queueWait = new Histogram({
      name: 'millrace_job_queue_wait_seconds',
      help: 'From when a finished job was due to when its last attempt started',
      labelNames: ['tag', 'kind'],
      buckets: [0.001, 0.005, 0.025, 0.1, 0.5, 1, 5, 30, 120, 600],
      registers,
    });
    const retries = new Counter({
      name: 'millrace_job_retries_total',
      help: 'Failed attempts put back in the queue for another',
      labelNames: ['tag', 'kind'],
      registers,
    });
    const expiries = new Counter({
      name: 'millrace_lease_expiries_total',
      help: 'Leases that ran out (the worker died or lost its server), per what became of the job',
      labelNames: ['outcome'],
      registers,
    });
    const released = new Counter({
      name: 'millrace_jobs_released_total',
      help: 'Running jobs given back by their worker (shutdown, a replaced thread)',
      labelNames: ['tag'],
      registers,
    });
    this.storeSeconds = new Histogram({
      name: 'millrace_store_seconds',
      help: 'How long the store’s verbs take, per verb',
      labelNames: ['verb'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5],
      registers,
    });

    const ended = (job: JobRecord) => {
      finished.inc({ status: job.status, tag: job.tag, kind: job.kind });
      if (job.startedAt !== null && job.completedAt !== null) {
        duration.observe(
          { tag: job.tag, kind: job.kind, status: job.status },
          (job.completedAt - job.startedAt) / 1000,
        );
        queueWait.observe({ tag: job.tag, kind: job.kind }, Math.max(0, job.startedAt - job.scheduledFor) / 1000);
      }
    };
    this.observer = {
      finished: ended,
      retried: (job) => retries.inc({ tag: job.tag, kind: job.kind }),
      released: (job) => released.inc({ tag: job.tag }),
      leasesExpired: ({ requeued, failed }) => {
        if (requeued.length > 0) expiries.inc({ outcome: 'requeued' }, requeued.length);
        if (failed.length > 0) expiries.inc({ outcome: 'failed' }, failed.length);
        for (const job of failed) ended(job);
      },
    };
  }

  /** The text exposition format, and its content type. */
  async render(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}
