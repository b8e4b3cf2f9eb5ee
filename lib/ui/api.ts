import type { LogEvent, TreeReply, WaitingReply, WorkersReply } from '../http/wire.js';
import type { WireSchedule } from '../http/schedules.js';
import type { JsonSchema } from '../loader/signature.js';
import type { JobRecord, JobStatus, LogLine, QueueSummary } from '../types.js';

/**
 * The UI's only way to the server: the public HTTP API, with the token kept for this browser
 * session (sessionStorage: it goes away with the tab).
 */

const TOKEN_KEY = 'millrace.token';
const WORKSPACE_KEY = 'millrace.workspace';

export interface Session {
  token: string;
  workspace: string;
}

export function session(): Session | undefined {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { token, workspace: sessionStorage.getItem(WORKSPACE_KEY) || 'default' } : undefined;
}

export function saveSession(s: Session): void {
  sessionStorage.setItem(TOKEN_KEY, s.token);
  sessionStorage.setItem(WORKSPACE_KEY, s.workspace);
}

export function clearSession(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(WORKSPACE_KEY);
}

/** An error reply of the API: its HTTP status, stable code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Called when the server refuses the token: the app shows the login form. */
let onUnauthorized: (message: string) => void = () => {};
export function whenUnauthorized(handler: (message: string) => void): void {
  onUnauthorized = handler;
}

async function call(
  method: string,
  path: string,
  options: { body?: unknown; session?: Session; accept?: string; signal?: AbortSignal } = {},
): Promise<Response> {
  const s = options.session ?? session();
  if (!s) {
    onUnauthorized('Log in with a token');
    throw new ApiError(401, 'UNAUTHORIZED', 'Not logged in');
  }
  const res = await fetch(path.replace('{ws}', encodeURIComponent(s.workspace)), {
    method,
    signal: options.signal,
    headers: {
      Authorization: `Bearer ${s.token}`,
      ...(options.accept && { Accept: options.accept }),
      ...(options.body !== undefined && { 'Content-Type': 'application/json' }),
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  if (!res.ok) {
    const text = await res.text();
    let code = `HTTP_${res.status}`;
    let message = text || res.statusText;
    try {
      const parsed = JSON.parse(text) as { error?: { code: string; message: string } };
      if (parsed.error) ({ code, message } = parsed.error);
    } catch {
      // a plain-text error body: keep it as the message
    }
    if (res.status === 401 && !options.session) onUnauthorized(message);
    throw new ApiError(res.status, code, message);
  }
  return res;
}

const json = async <T>(res: Promise<Response>) => (await (await res).json()) as T;
const enc = (id: string) => encodeURIComponent(id);
/** A script path keeps its slashes in the URL. */
const encPath = (path: string) => path.split('/').map(encodeURIComponent).join('/');

/** Checks a token by asking for something every user token may read. */
export async function checkSession(s: Session): Promise<void> {
  await call('GET', '/api/w/{ws}/workers', { session: s });
}

/** The token `millrace dev` hands out on loopback, or undefined (then: log in). */
export async function devSession(): Promise<Session | undefined> {
  const res = await fetch('/api/ui/session').catch(() => undefined);
  return res?.ok ? ((await res.json()) as Session) : undefined;
}

export interface RunsQuery {
  status?: JobStatus;
  scriptPath?: string;
  tag?: string;
  /** Jobs created before this time (ms): the next page. */
  before?: number;
  limit: number;
}

export function listRuns(q: RunsQuery): Promise<JobRecord[]> {
  const p = new URLSearchParams({ roots_only: 'true', limit: String(q.limit) });
  if (q.status) p.set('status', q.status);
  if (q.scriptPath) p.set('script_path', q.scriptPath);
  if (q.tag) p.set('tag', q.tag);
  if (q.before !== undefined) p.set('before', String(q.before));
  return json(call('GET', `/api/w/{ws}/jobs/records?${p}`));
}

export function getTree(id: string): Promise<TreeReply> {
  return json(call('GET', `/api/w/{ws}/jobs_u/tree/${enc(id)}`));
}

export function cancelJob(id: string): Promise<{ canceled: JobRecord[] }> {
  return json(call('POST', `/api/w/{ws}/jobs_u/cancel/${enc(id)}`, { body: { reason: 'canceled from the web UI' } }));
}

export function getQueue(): Promise<QueueSummary> {
  return json(call('GET', '/api/w/{ws}/queue'));
}

export function listWorkers(): Promise<WorkersReply> {
  return json(call('GET', '/api/w/{ws}/workers'));
}

/** Jobs waiting now for an event or an approval. */
export function listWaiting(): Promise<WaitingReply> {
  return json(call('GET', '/api/w/{ws}/jobs/waiting'));
}

export interface RunnableList {
  runnables: { path: string; kind: 'script' | 'flow' }[];
  truncated: boolean;
}

export function listRunnables(): Promise<RunnableList> {
  return json(call('GET', '/api/w/{ws}/scripts/list'));
}

export interface SignatureReply {
  path: string;
  hash: string;
  signature: { hasMain: boolean; params: { name: string; schema: JsonSchema; required: boolean }[]; exports: string[] };
}

export function getSignature(path: string): Promise<SignatureReply> {
  return json(call('GET', `/api/w/{ws}/scripts/signature/${encPath(path)}`));
}

/** Submits a script run; resolves with the new job's id. */
export async function runScript(path: string, args: Record<string, unknown>): Promise<string> {
  return (await call('POST', `/api/w/{ws}/jobs/run/p/${encPath(path)}`, { body: args })).text();
}

/**
 * Follows a job's log as server-sent events: every line so far, then each new one, until the
 * job ends (`onEnd`) or `signal` aborts. EventSource cannot send a token, so this reads the
 * event stream with fetch.
 */
export async function followLog(
  id: string,
  handlers: { onLines(lines: LogLine[]): void; onEnd(): void },
  signal: AbortSignal,
): Promise<void> {
  const res = await call('GET', `/api/w/{ws}/jobs_u/logs/${enc(id)}?follow=true`, {
    accept: 'text/event-stream',
    signal,
  });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    const events = buffer.split('\n\n');
    buffer = events.pop()!;
    const lines: LogLine[] = [];
    let ended = false;
    for (const event of events) {
      const data = event
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      if (!data) continue;
      const e = JSON.parse(data) as LogEvent;
      if ('line' in e) lines.push(e.line);
      else ended = true;
    }
    if (lines.length) handlers.onLines(lines);
    if (ended) {
      handlers.onEnd();
      return;
    }
  }
}

export function listSchedules(): Promise<WireSchedule[]> {
  return json(call('GET', '/api/w/{ws}/schedules/list'));
}

export function setScheduleEnabled(name: string, enabled: boolean): Promise<WireSchedule> {
  return json(call('POST', `/api/w/{ws}/schedules/setenabled/${encPath(name)}`, { body: { enabled } }));
}
