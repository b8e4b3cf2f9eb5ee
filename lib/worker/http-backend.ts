import { hostname } from 'node:os';
import type { ApiClient } from '../http/client.js';
import { ServerUnreachableError } from '../http/client.js';
import type { ChildReply, ClaimReply, HeartbeatReply, StepBody, WaitReply } from '../http/wire.js';
import type { ClaimRequest } from '../store/store.js';
import type { ErrorRecord, JobRecord, JobSpec, Json, NewLogLine, Outcome } from '../types.js';
import type { WorkerBackend } from './backend.js';

/** How long the server may hold a claim or a wait open. */
const LONG_POLL_MS = 25_000;
/** Between tries of a request the server did not answer (it is restarting, say). */
const RETRY_MS = 500;

interface Waiter {
  resolve(job: JobRecord): void;
  reject(err: unknown): void;
}

/**
 * A worker's backend over HTTP: claims by long poll, task calls through the
 * workflow_as_code route, and waits for children by long poll, batched so that one request
 * waits for a whole fan-out.
 */
export class HttpBackend implements WorkerBackend {
  private readonly waiters = new Map<string, Waiter[]>();
  private batch: string[] = [];
  private readonly reports: { event: Record<string, unknown>; resolve: () => void; reject: (err: unknown) => void }[] = [];
  /** Whether a report request is in flight or about to be sent. */
  private reporting = false;
  private readonly calls = new Map<string, { spec: JobSpec; calls: { body: Record<string, unknown>; resolve: (id: string) => void; reject: (err: unknown) => void }[] }>();
  private closed = false;
  private readonly host = hostname();

  constructor(
    private readonly client: ApiClient,
    private readonly tags: readonly string[] | 'all',
  ) {}

  async claim(request: ClaimRequest, signal: AbortSignal): Promise<JobRecord[]> {
    while (!signal.aborted) {
      const reply = await this.client
        .json<ClaimReply>(
          'POST',
          this.client.ws('worker/claim'),
          {
            worker_id: request.workerId,
            hostname: this.host,
            tags: request.tags === 'all' ? 'all' : [...request.tags],
            limit: request.limit,
            lease_ms: request.leaseMs,
            wait_ms: LONG_POLL_MS,
          },
          signal,
        )
        .catch((err: unknown) => {
          if (signal.aborted) return { jobs: [] };
          throw err;
        });
      if (reply.jobs.length > 0) return reply.jobs;
    }
    return [];
  }

  started(jobId: string, at: number): Promise<void> {
    return this.report({ type: 'started', job_id: jobId, at });
  }

  appendLogs(jobId: string, lines: readonly NewLogLine[]): Promise<void> {
    return this.report({ type: 'logs', job_id: jobId, lines });
  }

  /** Task calls made in the same tick to the same task of the same parent go as one request. */
  submitChild(spec: JobSpec): Promise<string> {
    const key = `${spec.parentJob}\0${spec.kind}\0${spec.entrypoint}\0${spec.scriptPath}\0${spec.scriptHash}`;
    let batch = this.calls.get(key);
    if (!batch) {
      batch = { spec, calls: [] };
      this.calls.set(key, batch);
      if (this.calls.size === 1) setImmediate(() => this.sendCalls());
    }
    return new Promise((resolve, reject) => {
      const delay = spec.delayMs !== undefined ? spec.delayMs / 1000 : spec.scheduledFor === undefined ? undefined : Math.max(0, (spec.scheduledFor - Date.now()) / 1000);
      batch.calls.push({
        body: {
          args: spec.args,
          call_key: spec.callKey,
          tag: spec.tag,
          timeout: spec.timeout,
          retry: spec.retry,
          ...(spec.kind !== 'task' && { kind: spec.kind }),
          ...(delay !== undefined && { scheduled_in_secs: delay }),
        },
        resolve,
        reject,
      });
    });
  }

  waitFinished(jobId: string, signal?: AbortSignal): Promise<JobRecord> {
    return new Promise((resolve, reject) => {
      const list = this.waiters.get(jobId) ?? [];
      list.push({ resolve, reject });
      this.waiters.set(jobId, list);
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
      // Calls made in the same tick (a Promise.all fan-out) share one long poll.
      if (this.batch.push(jobId) === 1) setImmediate(() => void this.poll(this.batch.splice(0)));
    });
  }

  async getJob(jobId: string): Promise<JobRecord | undefined> {
    const reply = await this.untilAnswered(() => this.client.json<{ job: JobRecord | null }>('POST', this.client.ws('worker/job'), { job_id: jobId }));
    return reply.job ?? undefined;
  }

  async cancelJob(jobId: string, reason: string): Promise<void> {
    await this.untilAnswered(() => this.client.json('POST', this.client.ws('worker/cancel'), { job_id: jobId, reason }));
  }

  setFlowStatus(jobId: string, status: Json): Promise<void> {
    return this.report({ type: 'flow_status', job_id: jobId, status });
  }

  finish(jobId: string, outcome: Outcome, at: number): Promise<void> {
    return this.report({ type: 'complete', job_id: jobId, outcome, at });
  }

  async renewLeases(workerId: string, jobIds: readonly string[], leaseMs: number): Promise<string[]> {
    const reply = await this.client.json<HeartbeatReply>('POST', this.client.ws('worker/heartbeat'), {
      worker_id: workerId,
      hostname: this.host,
      tags: this.tags === 'all' ? 'all' : [...this.tags],
      job_ids: jobIds,
      lease_ms: leaseMs,
    });
    return reply.lost;
  }

  release(jobId: string, error: ErrorRecord, at: number): Promise<void> {
    return this.report({ type: 'release', job_id: jobId, error, at });
  }

  async findChild(parentJob: string, callKey: string): Promise<JobRecord | undefined> {
    const reply = await this.untilAnswered(() =>
      this.client.json<ChildReply>('POST', this.client.ws('worker/child'), { parent_job: parentJob, call_key: callKey }),
    );
    return reply.job ?? undefined;
  }

  async recordStep(spec: JobSpec & { parentJob: string; callKey: string }, outcome: Outcome, startedAt: number, at: number): Promise<JobRecord> {
    const body: StepBody = {
      parent_job: spec.parentJob,
      call_key: spec.callKey,
      name: spec.entrypoint,
      script_path: spec.scriptPath,
      script_hash: spec.scriptHash,
      outcome,
      started_at: startedAt,
      at,
    };
    const reply = await this.untilAnswered(() => this.client.json<{ job: JobRecord }>('POST', this.client.ws('worker/step'), body));
    return reply.job;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.client.close();
  }

  /**
   * Reports go in order, one request at a time: those made while a request is in flight go
   * together in the next one, so a busy worker sends few large batches rather than one
   * request per event.
   */
  private report(event: Record<string, unknown>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.reports.push({ event, resolve, reject });
      if (!this.reporting) {
        this.reporting = true;
        setImmediate(() => void this.sendReports());
      }
    });
  }

  private async sendReports(): Promise<void> {
    while (this.reports.length > 0) {
      const batch = this.reports.splice(0);
      try {
        await this.untilAnswered(() => this.client.json('POST', this.client.ws('worker/report'), { events: batch.map((r) => r.event) }));
        for (const r of batch) r.resolve();
      } catch (err) {
        for (const r of batch) r.reject(err);
      }
    }
    this.reporting = false;
  }

  /**
   * Sends a request until the server answers it: a server that restarts loses none of what
   * this worker reports. (A request that reached the server before the connection broke may
   * be applied twice; every report is safe to repeat but a log batch, whose lines would then
   * show twice.)
   */
  private async untilAnswered<T>(send: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await send();
      } catch (err) {
        if (!(err instanceof ServerUnreachableError) || this.closed) throw err;
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
  }

  private sendCalls(): void {
    const batches = [...this.calls.values()];
    this.calls.clear();
    for (const { spec, calls } of batches) {
      const path = this.client.ws(`jobs/run/workflow_as_code/${encodeURIComponent(spec.parentJob!)}/${encodeURIComponent(spec.entrypoint)}`);
      this.untilAnswered(() =>
        this.client.json<{ ids: string[] }>('POST', path, {
          script_path: spec.scriptPath,
          script_hash: spec.scriptHash,
          ...(spec.kind !== 'task' && { kind: spec.kind }),
          calls: calls.map((c) => c.body),
        }),
      ).then(
          ({ ids }) => calls.forEach((c, i) => c.resolve(ids[i])),
          (err: unknown) => calls.forEach((c) => c.reject(err)),
        );
    }
  }

  /** Long-polls until every job of the batch has finished; survives a server restart. */
  private async poll(ids: string[]): Promise<void> {
    const remaining = new Set(ids);
    while (remaining.size > 0 && !this.closed) {
      try {
        const reply = await this.client.json<WaitReply>('POST', this.client.ws('worker/wait'), { ids: [...remaining], wait_ms: LONG_POLL_MS });
        for (const job of reply.finished) {
          remaining.delete(job.id);
          for (const w of this.waiters.get(job.id) ?? []) w.resolve(job);
          this.waiters.delete(job.id);
        }
      } catch (err) {
        if (this.closed) return;
        if ((err as { status?: number }).status === 404) {
          for (const id of remaining) for (const w of this.waiters.get(id) ?? []) w.reject(err);
          return;
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }
}
