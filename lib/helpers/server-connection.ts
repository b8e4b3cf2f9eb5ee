import { CanceledError, JobNotFinishedError, TaskError } from '../errors.js';
import { resolve } from 'node:path';
import { ApiClient, ApiError, JsonText } from '../http/api-client.js';
import { resolveServerToken } from '../http/server-token.js';
import type { ServerToken } from '../http/token-source.js';
import type { WindmillJob } from '../http/windmill.js';
import { encode } from '../serialize.js';
import type { ErrorRecord, EventSent, JobProgress, Json, JobStatus } from '../types.js';
import type { SendEventReply } from '../http/wire.js';
import { checkEventName } from '../wait-names.js';
import type { ConnectOptions, Connection, RunOptions } from './connection.js';

interface ResultMaybe {
  completed: boolean;
  started?: boolean;
  success?: boolean;
  result?: Json;
}

/**
 * The helpers' connection to a server, through Windmill's job routes only (docs/windmill.md), so it
 * works against a millrace server and a Windmill one alike. Results are plain JSON, as
 * those routes give them.
 */
export class ServerConnection implements Connection {
  private readonly api: ApiClient;

  /**
   * A connection to `options.server` with its token: configure({ token }) > MILLRACE_TOKEN > the
   * token file of the root (configure({ root }) > MILLRACE_ROOT > the current directory) when
   * the server is on this machine and serves that root.
   */
  static async open(options: ConnectOptions & { server: string }): Promise<ServerConnection> {
    const fromEnv = process.env.MILLRACE_TOKEN || undefined;
    const given: ServerToken | undefined =
      options.token !== undefined
        ? { token: options.token, source: { kind: 'configure' } }
        : fromEnv
          ? { token: fromEnv, source: { kind: 'env' } }
          : undefined;
    const root = resolve(options.root ?? (process.env.MILLRACE_ROOT || process.cwd()));
    const token = await resolveServerToken({
      server: options.server,
      given,
      root,
      howToPass: 'configure({ token }) or MILLRACE_TOKEN',
    });
    return new ServerConnection({ server: options.server, workspace: options.workspace, token });
  }

  private constructor(options: { server: string; workspace?: string; token: ServerToken }) {
    this.api = new ApiClient({
      server: options.server,
      token: options.token.token,
      tokenSource: options.token.source,
      workspace: options.workspace ?? (process.env.MILLRACE_WORKSPACE || undefined),
      connections: 8,
    });
  }

  async submit(
    kind: 'script' | 'flow',
    path: string,
    args: Record<string, unknown>,
    options: RunOptions,
  ): Promise<string> {
    const body: Record<string, Json> = {};
    for (const [k, v] of Object.entries(args)) if (v !== undefined) body[k] = encode(v, `args.${k}`);
    const q = new URLSearchParams();
    if (options.tag) q.set('tag', options.tag);
    if (options.timeout !== undefined) q.set('timeout', String(options.timeout));
    if (options.idempotencyKey !== undefined) q.set('idempotency_key', options.idempotencyKey);
    const query = q.size ? `?${q}` : '';
    const segments = path.replace(/^\.\//, '').split('/').map(encodeURIComponent).join('/');
    return this.api.json<string>(
      'POST',
      this.api.ws(`jobs/run/${kind === 'flow' ? 'f' : 'p'}/${segments}${query}`),
      body,
    );
  }

  async wait(jobId: string): Promise<unknown> {
    await this.untilCompleted(jobId);
    return this.result(jobId);
  }

  async result(jobId: string): Promise<unknown> {
    const maybe = await this.api.json<ResultMaybe>(
      'GET',
      this.api.ws(`jobs_u/completed/get_result_maybe/${encodeURIComponent(jobId)}`),
    );
    if (!maybe.completed) throw new JobNotFinishedError(jobId, maybe.started ? 'running' : 'queued');
    if (maybe.success) return maybe.result ?? null;
    const job = await this.job(jobId);
    const error = errorOf(maybe.result);
    if (job.canceled) throw new CanceledError(jobId, job.canceled_reason ?? error.message);
    throw new TaskError({
      jobId,
      taskName: job.script_path,
      tag: job.tag,
      attempt: job.millrace?.attempt ?? 1,
      maxAttempts: job.millrace?.max_attempts ?? 1,
      error,
    });
  }

  async status(jobId: string): Promise<JobStatus> {
    const job = await this.job(jobId);
    if (job.type === 'QueuedJob') return job.running ? 'running' : 'queued';
    if (job.canceled) return 'canceled';
    return job.success ? 'success' : 'failure';
  }

  async sendEvent(jobId: string, name: string, payload: unknown): Promise<EventSent> {
    const path = this.api.ws(
      `jobs/${encodeURIComponent(jobId)}/events/${encodeURIComponent(checkEventName(name, 'sendEvent(jobId, name)'))}`,
    );
    const reply = await this.api.json<SendEventReply>(
      'POST',
      path,
      new JsonText(JSON.stringify(encode(payload, 'payload'))),
    );
    return { status: reply.status, waitJob: reply.wait_job };
  }

  async cancel(jobId: string, reason: string): Promise<void> {
    await this.api.json('POST', this.api.ws(`jobs_u/queue/cancel/${encodeURIComponent(jobId)}`), { reason });
  }

  async progress(jobId: string): Promise<JobProgress | undefined> {
    return (
      (await this.api.json<JobProgress | null>('GET', this.api.ws(`jobs_u/progress/${encodeURIComponent(jobId)}`))) ??
      undefined
    );
  }

  async close(): Promise<void> {
    await this.api.close();
  }

  private job(jobId: string): Promise<WindmillJob> {
    return this.api.json<WindmillJob>('GET', this.api.ws(`jobs_u/get/${encodeURIComponent(jobId)}`));
  }

  /**
   * Follows the job's server-sent updates until one says it has completed. A server without
   * that route is asked for the result now and then instead, as windmill-client does.
   */
  private async untilCompleted(jobId: string): Promise<void> {
    try {
      for await (const line of this.api.lines(this.api.ws(`jobs_u/getupdate_sse/${encodeURIComponent(jobId)}`))) {
        if (!line.startsWith('data:')) continue;
        if ((JSON.parse(line.slice(5)) as { completed?: boolean }).completed) return;
      }
    } catch (err) {
      if (!(
        err instanceof ApiError &&
        err.status === 404 &&
        err.code !== 'UNKNOWN_JOB' &&
        err.code !== 'NOT_FOUND_JOB'
      ))
        throw err;
    }
    for (let delay = 50; ; delay = Math.min(delay * 2, 2000)) {
      const maybe = await this.api.json<ResultMaybe>(
        'GET',
        this.api.ws(`jobs_u/completed/get_result_maybe/${encodeURIComponent(jobId)}`),
      );
      if (maybe.completed) return;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

function errorOf(result: Json | undefined): ErrorRecord {
  const e = (result as { error?: { name?: string; message?: string; stack?: string } } | null)?.error;
  return {
    name: e?.name ?? 'Error',
    message: e?.message ?? JSON.stringify(result),
    ...(e?.stack && { stack: e.stack }),
  };
}
