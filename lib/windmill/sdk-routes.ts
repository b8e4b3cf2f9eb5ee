import { AsyncResource } from 'node:async_hooks';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, MillraceError } from '../errors.js';
import { step } from '../task/durable.js';
import type { JobScope } from '../task/runtime.js';
import { getResumeUrls } from '../task/wait.js';
import type { LocalApprovals } from './local-approvals.js';

/**
 * The routes windmill-client calls from a workflow's round (round.ts), served by the workflow's
 * job itself on an ephemeral loopback port, so the same script runs under `millrace run` (no
 * server at all) and on a server's workers alike. Every answer is the job's own: the token is
 * the job's (made for it, never written anywhere), and a path naming another job is refused.
 *
 * - `POST /api/w/{ws}/jobs/wac/inline_checkpoint/{id}`: a `step()`'s result, recorded as a
 *   millrace step (a child of kind `step`, by the step's key). When the job runs again, a key
 *   already recorded with another value answers 409: the SDK then falls back to the suspend
 *   path, and the round after it replays the recorded value (a `step` never runs twice).
 * - `GET /api/w/{ws}/jobs/wac_approval_urls/{id}/{step_key}` and
 *   `GET /api/w/{ws}/jobs/resume_urls/{id}/{resume_id}`: the signed URLs of the approval (the
 *   waits' mechanism, docs/waits.md) when a server answers them; else the job's own
 *   (local-approvals.ts), answered here by `GET|POST /api/w/{ws}/jobs_u/resume|cancel/{id}/{key}/{sig}`.
 * - `GET /api/w/{ws}/jobs_u/get_root_job_id/{id}`: the run's root.
 * - `POST /api/w/{ws}/job_metrics/set_progress/{id}` and `GET …/job_metrics/get_progress/{id}`:
 *   the job's progress, set, and read back (its last percent, or null) as the server answers it.
 */

export interface SdkRoutes {
  /** The SDK's BASE_INTERNAL_URL (`http://127.0.0.1:<port>`). */
  baseUrl: string;
  close(): Promise<void>;
}

export interface SdkRouteState {
  scope: JobScope;
  token: string;
  /** The checkpoint the runner passes to the next round: a recorded step goes in it. */
  completed: Record<string, unknown>;
  approvals: LocalApprovals;
}

class RouteError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function serveSdkRoutes(state: SdkRouteState): Promise<SdkRoutes> {
  // Bound to the job's async context: the durable step and the resume URLs go through its scope.
  const handle = AsyncResource.bind((req: IncomingMessage, res: ServerResponse) => {
    void answer(state, req).then(
      (body) => send(res, 200, body),
      (err: unknown) => {
        const e =
          err instanceof RouteError
            ? err
            : new RouteError(err instanceof MillraceError ? 400 : 500, codeOf(err), messageOf(err));
        send(res, e.status, { error: { code: e.code, message: e.message } });
      },
    );
  });
  const server: Server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  baseUrls.set(state, `http://127.0.0.1:${port}`);
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const baseUrls = new WeakMap<SdkRouteState, string>();

async function answer(state: SdkRouteState, req: IncomingMessage): Promise<unknown> {
  const local = await localApproval(state, req);
  if (local !== undefined) return local;
  if (req.headers.authorization !== `Bearer ${state.token}`) {
    throw new RouteError(401, 'UNAUTHORIZED', "expected the workflow job's own token (WM_TOKEN), got another");
  }
  const { pathname, searchParams } = new URL(req.url ?? '/', 'http://127.0.0.1');
  const parts = pathname.split('/').map(decodeURIComponent);
  // ['', 'api', 'w', ws, ...route]
  const route = parts.slice(4);
  const job = state.scope.context;
  const ownJob = (id: string | undefined) => {
    if (id !== job.id) {
      throw new RouteError(403, 'NOT_THIS_JOB', `expected job ${job.id} (the workflow's), got ${id ?? 'none'}`);
    }
  };
  const is = (method: string, ...prefix: string[]) =>
    req.method === method && prefix.every((p, i) => route[i] === p) && route.length === prefix.length + 1;
  const isWith = (method: string, ...prefix: string[]) =>
    req.method === method && prefix.every((p, i) => route[i] === p) && route.length === prefix.length + 2;

  if (is('POST', 'jobs', 'wac', 'inline_checkpoint')) {
    ownJob(route[3]);
    const body = (await readJson(req)) as { key?: unknown; result?: unknown };
    if (typeof body.key !== 'string' || body.key === '') {
      throw new RouteError(400, 'BAD_CHECKPOINT', `expected a step key (a non-empty string), got ${String(body.key)}`);
    }
    const key = body.key;
    const recorded = await step(key, () => body.result ?? null);
    state.completed[key] = recorded;
    if (JSON.stringify(recorded) !== JSON.stringify(body.result ?? null)) {
      throw new RouteError(409, 'STEP_RECORDED', `step "${key}" was recorded by an earlier run of job ${job.id}`);
    }
    return {};
  }
  if (isWith('GET', 'jobs', 'wac_approval_urls') || isWith('GET', 'jobs', 'resume_urls')) {
    ownJob(route[2]);
    const urls = await getResumeUrls(route[3]).catch((err: unknown) => {
      // No server answers resume URLs (the embedded engine): the job answers its own.
      if (err instanceof ConfigError) return state.approvals.urls(baseUrls.get(state)!, route[3]);
      throw err;
    });
    const approver = searchParams.get('approver');
    if (!approver) return urls;
    const q = `?approver=${encodeURIComponent(approver)}`;
    return { ...urls, resume: urls.resume + q, cancel: urls.cancel + q };
  }
  if (is('GET', 'jobs_u', 'get_root_job_id')) {
    ownJob(route[2]);
    return job.rootId;
  }
  if (is('POST', 'job_metrics', 'set_progress')) {
    ownJob(route[2]);
    const body = (await readJson(req)) as { percent?: unknown };
    if (typeof body.percent !== 'number') {
      throw new RouteError(400, 'BAD_PROGRESS', `expected percent (a number), got ${String(body.percent)}`);
    }
    state.scope.setProgress(body.percent, null);
    return {};
  }
  if (is('GET', 'job_metrics', 'get_progress')) {
    ownJob(route[2]);
    // The job's own last report, through its worker (read after the reports it made before).
    const outcome = await state.scope.jobOp('progress', job.id);
    if (outcome.status !== 'success')
      throw new RouteError(500, outcome.error.code ?? 'INTERNAL', outcome.error.message);
    return (outcome.result as { percent?: number } | null)?.percent ?? null;
  }
  throw new RouteError(
    404,
    'NOT_SERVED',
    `${req.method} ${pathname} is not served to a workflow's process (docs/windmill.md lists the routes it has)`,
  );
}

/** The signed resume / cancel routes of LocalApprovals (no token: the URL's signature is the permission). */
async function localApproval(state: SdkRouteState, req: IncomingMessage): Promise<unknown> {
  const { pathname, searchParams } = new URL(req.url ?? '/', 'http://127.0.0.1');
  const m = /^\/api\/w\/[^/]+\/jobs_u\/(resume|cancel)\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(pathname);
  if (!m || (req.method !== 'GET' && req.method !== 'POST')) return undefined;
  const [, verb, id, key, signature] = m.map(decodeURIComponent);
  if (id !== state.scope.context.id) {
    throw new RouteError(404, 'UNKNOWN_JOB', `expected job ${state.scope.context.id} (the workflow's), got ${id}`);
  }
  const payload = searchParams.get('payload');
  const value = req.method === 'POST' ? await readJson(req) : payload === null ? null : parsePayload(payload);
  const answer = await state.approvals.answer(key, signature, verb === 'resume', value, searchParams.get('approver'));
  if ('status' in answer) throw new RouteError(answer.status, answer.code, answer.message);
  return answer;
}

function parsePayload(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new RouteError(
      400,
      'BAD_JSON',
      `query payload: expected URL-encoded JSON, got ${JSON.stringify(text.slice(0, 80))}`,
    );
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return text === '' ? {} : JSON.parse(text);
  } catch {
    throw new RouteError(400, 'BAD_JSON', `expected a JSON body, got ${JSON.stringify(text.slice(0, 80))}`);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body ?? null);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function codeOf(err: unknown): string {
  return err instanceof MillraceError ? err.code : 'INTERNAL';
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
