import { createRequire } from 'node:module';
import type { Dispatcher, Pool } from 'undici';
import { ConfigError, MillraceError } from '../errors.js';
import { DEFAULT_WORKSPACE } from '../types.js';
import { describeTokenSource, refusalFix, tokenPrefix, type TokenSource } from './token-source.js';
import type { WireError } from './wire.js';

/**
 * A server's URL as a user typed it (--server, MILLRACE_SERVER). Only http: and https: are
 * checked here, so that another scheme is a one-line ConfigError rather than undici's
 * stack at the first request.
 */
export function parseServerUrl(server: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(server);
  } catch {
    // said below
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new ConfigError(`Bad server URL ${JSON.stringify(server)}: expected something like http://127.0.0.1:8000`);
  }
  return url;
}

export interface ApiClientOptions {
  /** The server's base URL, e.g. http://127.0.0.1:8000 */
  server: string;
  token: string;
  /** Where the token came from, named with its prefix when the server refuses it. @default { kind: 'option' } */
  tokenSource?: TokenSource;
  /** @default 'default' */
  workspace?: string;
  /** Sockets to the server; long polls each hold one. @default 64 */
  connections?: number;
}

/**
 * An error the server answered with. Its `code` is the server's, so `instanceof` the matching
 * class holds: a 404 with code UNKNOWN_JOB is an UnknownJobError.
 */
export class ApiError extends MillraceError {
  static override readonly code = 'API_ERROR';
  readonly status: number;
  readonly problems: string[] | undefined;
  /** With LEASE_NOT_HELD: the jobs the server refused reports on. */
  readonly jobs: string[] | undefined;
  constructor(status: number, body: WireError['error']) {
    super(body.message);
    (this as { code: string }).code = body.code;
    this.status = status;
    this.problems = body.problems;
    this.jobs = body.jobs;
  }
}

/** The server is not there, or the connection broke. */
export class ServerUnreachableError extends MillraceError {
  static override readonly code = 'SERVER_UNREACHABLE';
}

/** A request body already encoded as JSON (a worker measures its reports' size as it builds them). */
export class JsonText {
  constructor(readonly text: string) {}
}

let undiciModule: typeof import('undici') | undefined;
/**
 * undici, loaded when the first client is made: a tenth of a second of every command's start,
 * and a command on the embedded engine never makes one.
 */
export function undici(): typeof import('undici') {
  undiciModule ??= createRequire(import.meta.url)('undici') as typeof import('undici');
  return undiciModule;
}

/** JSON over HTTP to a millrace server, with its token, on a pool of keep-alive sockets (undici). */
export class ApiClient {
  readonly server: string;
  readonly workspace: string;
  private readonly pool: Pool;
  private readonly auth: string;
  private readonly token: string;
  private readonly tokenSource: TokenSource;

  constructor(options: ApiClientOptions) {
    const url = parseServerUrl(options.server);
    if (!options.token) throw new ConfigError('No token for the server: pass --token or set MILLRACE_TOKEN');
    this.server = url.origin;
    this.workspace = options.workspace ?? DEFAULT_WORKSPACE;
    this.auth = `Bearer ${options.token}`;
    this.token = options.token;
    this.tokenSource = options.tokenSource ?? { kind: 'option' };
    // No header or body timeouts: long polls and log streams stay open by design.
    this.pool = new (undici().Pool)(this.server, {
      connections: options.connections ?? 64,
      headersTimeout: 0,
      bodyTimeout: 0,
      keepAliveTimeout: 30_000,
    });
  }

  /** A path under the workspace: `ws('jobs/list')` → `/api/w/<ws>/jobs/list`. */
  ws(path: string): string {
    return `/api/w/${encodeURIComponent(this.workspace)}/${path}`;
  }

  async json<T>(method: Dispatcher.HttpMethod, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const res = await this.request(method, path, body, signal);
    if (res.statusCode === 204) {
      await res.body.dump();
      return undefined as T;
    }
    const type = String(res.headers['content-type'] ?? '');
    try {
      return (type.includes('json') ? await res.body.json() : await res.body.text()) as T;
    } catch (err) {
      throw this.broken(err, path, signal);
    }
  }

  /** The response body as lines, as they arrive (NDJSON streams). */
  async *lines(path: string, signal?: AbortSignal): AsyncGenerator<string> {
    const res = await this.request('GET', path, undefined, signal);
    let rest = '';
    const body = res.body[Symbol.asyncIterator]();
    try {
      for (;;) {
        let next: IteratorResult<unknown>;
        try {
          next = await body.next();
        } catch (err) {
          throw this.broken(err, path, signal);
        }
        if (next.done) break;
        const parts = (rest + (next.value as Buffer).toString('utf8')).split('\n');
        rest = parts.pop()!;
        for (const p of parts) if (p) yield p;
      }
    } finally {
      // A reader that stops early (break) lets go of the socket.
      if (!res.body.readableEnded) res.body.destroy();
    }
    if (rest) yield rest;
  }

  /** A response cut off midway (the server died or restarted): unreachable, unless the caller aborted. */
  private broken(err: unknown, path: string, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted || err instanceof MillraceError) return err;
    return new ServerUnreachableError(
      `The connection to the millrace server at ${this.server} broke during ${path}: ${(err as Error).message}`,
      { cause: err },
    );
  }

  /** Closes the sockets; requests still open (long polls) are cut off. */
  async close(): Promise<void> {
    await this.pool.destroy();
  }

  /** A 401 / 403 says which token was tried (its prefix), where it came from, and what to do. */
  private refusal(status: number, message: string): string {
    const tried = `the token ${tokenPrefix(this.token)} from ${describeTokenSource(this.tokenSource)}`;
    const fix = status === 403 ? 'Use a user or admin token of the workspace for this' : refusalFix(this.tokenSource);
    return `The server at ${this.server} refused ${tried} (${status}: ${message}). ${fix}`;
  }

  private async request(method: Dispatcher.HttpMethod, path: string, body: unknown, signal?: AbortSignal) {
    let res: Dispatcher.ResponseData;
    try {
      res = await this.pool.request({
        method,
        path,
        headers: { authorization: this.auth, ...(body !== undefined && { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : body instanceof JsonText ? body.text : JSON.stringify(body),
        signal,
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new ServerUnreachableError(
        `Cannot reach the millrace server at ${this.server}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    if (res.statusCode >= 400) {
      const text = await res.body.text();
      let error: WireError['error'];
      try {
        error = (JSON.parse(text) as WireError).error;
      } catch {
        error = { code: `HTTP_${res.statusCode}`, message: text || `HTTP ${res.statusCode}` };
      }
      if (res.statusCode === 401 || res.statusCode === 403)
        error = { ...error, message: this.refusal(res.statusCode, error.message) };
      throw new ApiError(res.statusCode, error);
    }
    return res;
  }
}
