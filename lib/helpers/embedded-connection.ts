import { resolve } from 'node:path';
import { JobNotFinishedError, UnknownJobError } from '../errors.js';
import { EmbeddedEngine } from '../engine/embedded.js';
import { encode } from '../serialize.js';
import { isFinished, type EventSent, type JobProgress, type JobStatus } from '../types.js';
import type { ConnectOptions, Connection, RunOptions } from './connection.js';
import { resultOf } from './outcome.js';

/** The helpers' connection to an embedded engine in this process: its worker runs what they submit. */
export class EmbeddedConnection implements Connection {
  readonly engine: EmbeddedEngine;

  constructor(options: ConnectOptions) {
    this.engine = new EmbeddedEngine({
      root: resolve(options.root ?? process.env.MILLRACE_ROOT ?? process.cwd()),
      db: options.db,
    });
  }

  async submit(
    kind: 'script' | 'flow',
    path: string,
    args: Record<string, unknown>,
    options: RunOptions,
  ): Promise<string> {
    return (
      await this.engine.submit({
        kind,
        path,
        args,
        tag: options.tag,
        timeout: options.timeout,
        idempotencyKey: options.idempotencyKey,
      })
    ).id;
  }

  async wait(jobId: string): Promise<unknown> {
    return resultOf(await this.engine.wait(jobId));
  }

  async result(jobId: string): Promise<unknown> {
    const job = await this.engine.get(jobId);
    if (!job) throw new UnknownJobError(jobId);
    if (!isFinished(job)) throw new JobNotFinishedError(jobId, job.status);
    return resultOf(job);
  }

  async status(jobId: string): Promise<JobStatus> {
    const job = await this.engine.get(jobId);
    if (!job) throw new UnknownJobError(jobId);
    return job.status;
  }

  async cancel(jobId: string, reason: string): Promise<void> {
    await this.engine.cancel(jobId, reason);
  }

  sendEvent(jobId: string, name: string, payload: unknown): Promise<EventSent> {
    return this.engine.sendEvent(jobId, name, encode(payload, 'payload'));
  }

  async progress(jobId: string): Promise<JobProgress | undefined> {
    if (!(await this.engine.get(jobId))) throw new UnknownJobError(jobId);
    return this.engine.store.getProgress(jobId);
  }

  async close(): Promise<void> {
    await this.engine.close();
  }
}
