import { UnknownJobError } from '../errors.js';
import { ApiClient, ApiError, JsonText, ServerUnreachableError, type ApiClientOptions } from '../http/api-client.js';
import { Reconnect, RECONNECT_MS, reconnecting } from '../http/reconnect.js';
import type { LogEvent, SendEventReply, TreeReply, WaitReply, WorkersReply } from '../http/wire.js';
import type { Signature } from '../loader/signature.js';
import { encode } from '../serialize.js';
import {
  isFinished,
  type AttemptRecord,
  type EventSent,
  type JobFilter,
  type JobProgress,
  type JobRecord,
  type Json,
  type LogLine,
  type QueueSummary,
  type WorkerRecord,
} from '../types.js';
import { checkEventName } from '../wait-names.js';
import { isFlowRequest } from '../flow/submission.js';
import type { Engine, LogsOptions, SubmitRequest } from './engine.js';

export interface HttpEngineOptions extends ApiClientOptions {
  /**
   * How long `logs`, `wait` and `get` keep trying to reach a server they lost (a restart)
   * before they throw ServerUnreachableError; a log follower picks up at its cursor.
   * @default RECONNECT_MS (60 s)
   */
  reconnectMs?: number;
}

/** The Engine interface over a millrace server's HTTP API. Behaves as the embedded engine does. */
export class HttpEngine implements Engine {
  readonly client: ApiClient;
  private readonly reconnectMs: number;

  constructor(options: HttpEngineOptions) {
    this.client = new ApiClient(options);
    this.reconnectMs = options.reconnectMs ?? RECONNECT_MS;
  }

  async submit(request: SubmitRequest): Promise<JobRecord> {
    const args: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(request.args ?? {})) if (v !== undefined) args[k] = encode(v, `args.${k}`);
    const params = new URLSearchParams();
    if (request.tag) params.set('tag', request.tag);
    if (request.timeout !== undefined) params.set('timeout', String(request.timeout));
    if (request.idempotencyKey !== undefined) params.set('idempotency_key', request.idempotencyKey);
    const query = params.size > 0 ? `?${params}` : '';
    const kind = isFlowRequest(request) ? 'f' : 'p';
    const id = await this.client.json<string>(
      'POST',
      this.client.ws(`jobs/run/${kind}/${scriptUrlPath(request.path)}${query}`),
      args,
    );
    return (await this.get(id))!;
  }

  async wait(jobId: string, options: { signal?: AbortSignal } = {}): Promise<JobRecord> {
    for (;;) {
      const reply = await this.reconnecting(options.signal, () =>
        this.client.json<WaitReply>(
          'POST',
          this.client.ws('worker/wait'),
          { ids: [jobId], wait_ms: 25_000 },
          options.signal,
        ),
      );
      if (reply.finished.length > 0) return reply.finished[0];
      if (options.signal?.aborted) return (await this.get(jobId))!;
    }
  }

  async get(jobId: string): Promise<JobRecord | undefined> {
    try {
      return await this.reconnecting(undefined, () =>
        this.client.json<JobRecord>('GET', this.client.ws(`jobs_u/record/${encodeURIComponent(jobId)}`)),
      );
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  async resolveId(prefix: string): Promise<string> {
    return (
      await this.client.json<{ id: string }>('GET', this.client.ws(`jobs_u/resolve/${encodeURIComponent(prefix)}`))
    ).id;
  }

  list(filter: JobFilter): Promise<JobRecord[]> {
    const q = new URLSearchParams();
    for (const s of filter.status ?? []) q.append('status', s);
    if (filter.tag) q.set('tag', filter.tag);
    if (filter.scriptPath) q.set('script_path', filter.scriptPath);
    if (filter.parentJob) q.set('parent_job', filter.parentJob);
    if (filter.rootJob) q.set('root_job', filter.rootJob);
    if (filter.rootsOnly) q.set('roots_only', 'true');
    if (filter.before !== undefined) q.set('before', String(filter.before));
    if (filter.limit !== undefined) q.set('limit', String(filter.limit));
    return this.client.json<JobRecord[]>('GET', this.client.ws(`jobs/records?${q}`));
  }

  async descendants(jobId: string): Promise<JobRecord[]> {
    return (await this.tree(jobId)).descendants;
  }

  async progress(jobId: string): Promise<Record<string, JobProgress>> {
    return (await this.tree(jobId)).progress ?? {};
  }

  async attempts(jobId: string): Promise<AttemptRecord[]> {
    return (await this.tree(jobId)).attempts;
  }

  /**
   * The log as the server streams it. When the connection breaks before the stream's end event
   * (the server restarted), it reconnects and asks again from the last line it yielded, so no
   * line is lost or repeated; it gives up after `reconnectMs` without the server.
   */
  async *logs(jobId: string, options: LogsOptions = {}): AsyncGenerator<LogLine> {
    let cursor = options.after ?? 0;
    const reconnect = new Reconnect(this.client.server, { budgetMs: this.reconnectMs, signal: options.signal });
    for (;;) {
      const q = new URLSearchParams({ after: String(cursor), follow: String(options.follow ?? false) });
      try {
        for await (const text of this.client.lines(
          this.client.ws(`jobs_u/logs/${encodeURIComponent(jobId)}?${q}`),
          options.signal,
        )) {
          reconnect.reached();
          const event = JSON.parse(text) as LogEvent;
          if ('end' in event) return;
          cursor = event.line.seq;
          yield event.line;
        }
        if (options.signal?.aborted) return;
        throw new ServerUnreachableError(
          `The log stream of job ${jobId} from ${this.client.server} ended before its end event`,
        );
      } catch (err) {
        if (!(err instanceof ServerUnreachableError) || options.signal?.aborted) throw err;
        await reconnect.failed(err);
      }
    }
  }

  async signature(path: string): Promise<{ path: string; hash: string; signature: Signature }> {
    return this.client.json('GET', this.client.ws(`scripts/signature/${scriptUrlPath(path)}`));
  }

  queue(): Promise<QueueSummary> {
    return this.client.json<QueueSummary>('GET', this.client.ws('queue'));
  }

  async workers(): Promise<WorkerRecord[]> {
    return (await this.client.json<WorkersReply>('GET', this.client.ws('workers'))).workers;
  }

  async flowStatus(jobId: string): Promise<Json | undefined> {
    const job = await this.client.json<{ flow_status?: Json }>(
      'GET',
      this.client.ws(`jobs_u/get/${encodeURIComponent(jobId)}`),
    );
    return job.flow_status;
  }

  async sendEvent(jobId: string, name: string, payload: Json): Promise<EventSent> {
    const path = this.client.ws(
      `jobs/${encodeURIComponent(jobId)}/events/${encodeURIComponent(checkEventName(name, 'sendEvent(jobId, name)'))}`,
    );
    const reply = await this.client.json<SendEventReply>('POST', path, new JsonText(JSON.stringify(payload)));
    return { status: reply.status, waitJob: reply.wait_job };
  }

  async cancel(jobId: string, reason: string): Promise<JobRecord[]> {
    const job = await this.get(jobId);
    if (!job) throw new UnknownJobError(jobId);
    if (isFinished(job)) return [];
    return (
      await this.client.json<{ canceled: JobRecord[] }>(
        'POST',
        this.client.ws(`jobs_u/cancel/${encodeURIComponent(jobId)}`),
        { reason },
      )
    ).canceled;
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private reconnecting<T>(signal: AbortSignal | undefined, attempt: () => Promise<T>): Promise<T> {
    return reconnecting(this.client.server, { budgetMs: this.reconnectMs, signal }, attempt);
  }

  private tree(jobId: string): Promise<TreeReply> {
    return this.client.json<TreeReply>('GET', this.client.ws(`jobs_u/tree/${encodeURIComponent(jobId)}`));
  }
}

/** A script path for a URL: `./examples/heavy.ts` → `examples/heavy.ts`, each segment escaped. */
function scriptUrlPath(path: string): string {
  return path.replace(/^\.\//, '').split('/').map(encodeURIComponent).join('/');
}
