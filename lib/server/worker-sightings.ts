import type { Store } from '../store/store.js';
import type { WorkerRecord } from '../types.js';

/** How often a worker's `last_seen` is written at most while nothing else of it changes. */
export const SIGHTING_WRITE_MS = 1_000;
/** Sightings older than this are forgotten once the map holds more than FORGET_ABOVE workers. */
const STALE_MS = 60_000;
const FORGET_ABOVE = 256;

type Worker = Omit<WorkerRecord, 'jobs' | 'lastSeen' | 'startedAt'>;

/**
 * A worker's claims and heartbeats record that it was seen (`millrace workers`, the workers
 * page, `millrace_workers_connected`: a worker counts as connected for 30 s after). A busy
 * worker claims many times a second, and each sighting was a write (a durable commit on
 * PostgreSQL) before its claim could run. This server writes a worker's sighting when it has
 * not written one for SIGHTING_WRITE_MS, or when its workspace, tags or hostname changed; the
 * others change nothing anyone reads.
 */
export class WorkerSightings {
  private readonly written = new Map<string, { at: number; worker: Worker }>();

  constructor(private readonly store: Pick<Store, 'touchWorker'>) {}

  async seen(worker: Worker, now: number): Promise<void> {
    const last = this.written.get(worker.id);
    if (last && now - last.at < SIGHTING_WRITE_MS && now >= last.at && same(last.worker, worker)) return;
    await this.store.touchWorker(worker, now);
    this.written.set(worker.id, { at: now, worker });
    if (this.written.size > FORGET_ABOVE) {
      for (const [id, w] of this.written) if (now - w.at > STALE_MS) this.written.delete(id);
    }
  }
}

function same(a: Worker, b: Worker): boolean {
  return (
    a.workspace === b.workspace &&
    a.hostname === b.hostname &&
    (a.tags === b.tags || JSON.stringify(a.tags) === JSON.stringify(b.tags))
  );
}
