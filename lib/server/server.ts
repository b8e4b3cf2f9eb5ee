import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Coordinator } from '../engine/coordinator.js';
import type { CoordinatorOptions } from '../engine/coordinator-options.js';
import { Scheduler } from '../engine/scheduler.js';
import { scriptJobSpec } from '../loader/script-job.js';
import { flowJobSpec, isFlowRequest } from '../flow/submission.js';
import type { Clock } from '../clock.js';
import { BODY_LIMIT } from '../limits.js';
import type { Store } from '../store/store.js';
import { ConfigError } from '../errors.js';
import { ShuttingDownError } from '../errors-operations.js';
import { DEFAULT_WORKSPACE } from '../types.js';
import { createToken, hashToken, newToken, reaches, TokenCache, type Principal } from './auth.js';
import { IDENTITY_PATH, rootId } from '../http/identity.js';
import { HttpError, toHttpError } from './http-error.js';
import { identityReply } from './identity-route.js';
import { Router, type Reply, type RouteContext } from './router.js';
import { mountRoutes } from './route-table.js';
import { ROUTE_TABLES } from './route-tables.js';
import { installEnvToken } from './token-admin.js';
import { isUiRequest, serveUi } from './static-ui.js';
import { SECURITY_HEADERS } from './security-headers.js';
import { checkNoNul } from './validate.js';
import { healthz, readyz } from './health.js';
import { InFlight } from './in-flight.js';
import { ServerMetrics } from './metrics.js';
import { authorizeMetrics } from './metrics-auth.js';
import { timedStore } from './timed-store.js';
import { Retention } from './retention.js';
import { tracingEnabled } from '../tracing/sdk.js';
import { describePrune } from '../store/prune-report.js';
import type { CoordinatorObserver } from '../engine/observer.js';
import { WorkerSightings } from './worker-sightings.js';

/** priorityAgingMs: the claims' priority aging (see CoordinatorOptions). */
export interface ServerOptions extends Pick<CoordinatorOptions, 'priorityAgingMs'> {
  store: Store;
  /** Scripts are resolved under this directory. */
  root: string;
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 8000 */
  port?: number;
  /**
   * Largest request body accepted, in bytes; larger ones get 413. Workers size their reports
   * and values for the default (see lib/limits.ts): a smaller limit can refuse them. @default 10 MiB
   */
  bodyLimit?: number;
  /** How often expired leases are looked for. @default 2000 */
  sweepIntervalMs?: number;
  /**
   * An admin token to accept: MILLRACE_TOKEN, or the token file's (then `adminTokenLabel` says
   * so). A MILLRACE_TOKEN revokes the token an earlier start made from another MILLRACE_TOKEN;
   * a revoked one is refused (ConfigError). Without one, the first start creates and reports
   * one. The identity route proves holding this one (or the one created).
   */
  adminToken?: string;
  /**
   * After a start, how long running jobs' leases are left alone, so that workers that carried
   * on while the server was down can reconnect and renew them. @default 5000
   */
  restartGraceMs?: number;
  /** What the admin token is recorded as in the store. @default 'MILLRACE_TOKEN' */
  adminTokenLabel?: string;
  /**
   * Let the web UI in without a login: a token that lives as long as this process (never
   * stored) is handed to whoever asks `GET /api/ui/session` from a loopback address. For
   * `millrace dev`, which listens on 127.0.0.1 only. @default false
   */
  uiSession?: boolean;
  /**
   * The address users reach this server at (behind a proxy, a public name): the base of the
   * resume URLs of approvals. @default the address it listens on
   */
  publicUrl?: string;
  /** Fire the database's schedules (every server of a database may: each slot runs once). @default true */
  schedules?: boolean;
  /** How often schedules made or changed by other processes are looked for. @default 5000 */
  scheduleRefreshMs?: number;
  /** The engine's time (a test's clock); use the store's. @default realClock */
  clock?: Clock;
  /**
   * A token that reaches GET /metrics and nothing else, for a Prometheus scraper; any token of
   * the server (not a worker-only one) reaches it too. @default none
   */
  metricsToken?: string;
  /** More observers of the coordinator, beside the metrics' and the traces' (an embedder's own). */
  observers?: readonly CoordinatorObserver[];
  /** Delete finished runs older than this, on a timer (retention.ts). 0 keeps everything. @default 0 */
  retainMs?: number;
  /** How often retention looks for old runs. @default 3600000 (one hour) */
  retentionIntervalMs?: number;
  /** On close, how long requests under way have to finish after long polls were answered. @default 5000 */
  closeGraceMs?: number;
}

export interface ServerHandle {
  url: string;
  port: number;
  coordinator: Coordinator;
  /** What fires the schedules; undefined when `schedules: false`. */
  scheduler: Scheduler | undefined;
  /** The admin token created at this start, when the store had none. */
  createdAdminToken: string | undefined;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** What route handlers share. */
export interface ServerDeps {
  store: Store;
  coordinator: Coordinator;
  root: string;
  /** The principals of the tokens seen: a token revoked by the admin's route is forgotten here at once. */
  tokens: TokenCache;
  /** Told of schedules made, paused, resumed or deleted through this server. */
  scheduler?: Scheduler;
  /** Records that a worker claimed or beat (at most a write a second per worker). */
  sightings: WorkerSightings;
}

/** Serves the HTTP API over a store: Windmill's job routes, millrace's own, and the worker routes. */
export async function startServer(options: ServerOptions): Promise<ServerHandle> {
  // Every verb is timed for /metrics' store latency.
  const metrics = new ServerMetrics(options.store);
  const store = timedStore(options.store, metrics.storeSeconds);
  // Before anything starts: a revoked MILLRACE_TOKEN stops the start here.
  let createdAdminToken: string | undefined;
  const fileLabel = options.adminTokenLabel !== 'MILLRACE_TOKEN' ? options.adminTokenLabel : undefined;
  if (options.adminToken && fileLabel !== undefined) {
    // The token file's token is not MILLRACE_TOKEN: it retires no other token when it starts.
    const { record } = await createToken(store, { scope: 'admin', label: fileLabel, token: options.adminToken });
    if (record.revokedAt !== null) {
      throw new ConfigError(
        `The token in the root's token file (${record.prefix ?? 'admin'}…) was revoked at ${new Date(record.revokedAt).toISOString()}: ` +
          'delete <root>/.millrace/admin-token.json and start again to make a new one',
      );
    }
  } else if (options.adminToken) {
    await installEnvToken(store, options.adminToken);
  } else if ((await store.countTokens()) === 0) {
    createdAdminToken = (await createToken(store, { scope: 'admin', label: 'admin (first start)' })).token;
  }

  // With OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT set: a span per job (tracing/job-spans.ts); the SDK is loaded only then.
  const spans = tracingEnabled()
    ? await (await import('../tracing/job-spans.js')).JobSpans.open(store, 'millrace-server')
    : undefined;
  const coordinator = new Coordinator(store, {
    sweepIntervalMs: options.sweepIntervalMs ?? 2000,
    firstSweepDelayMs: options.restartGraceMs ?? 5000,
    priorityAgingMs: options.priorityAgingMs,
    ...(options.clock && { clock: options.clock }),
    observers: [metrics.observer, ...(spans ? [spans.observer] : []), ...(options.observers ?? [])],
  });
  const scheduler =
    options.schedules === false
      ? undefined
      : new Scheduler({
          store,
          clock: coordinator.clock,
          refreshMs: options.scheduleRefreshMs,
          submit: (request) =>
            coordinator.submit(
              isFlowRequest(request, options.root)
                ? flowJobSpec(options.root, request)
                : scriptJobSpec(options.root, request),
            ),
        });
  const principals = new TokenCache(store);
  const deps: ServerDeps = {
    store,
    coordinator,
    root: options.root,
    tokens: principals,
    scheduler,
    sightings: new WorkerSightings(store),
  };
  const router = new Router();
  for (const table of ROUTE_TABLES) mountRoutes(router, deps, table);

  const serverRootId = rootId(options.root);
  const bodyLimit = options.bodyLimit ?? BODY_LIMIT;
  const uiSessionToken = options.uiSession ? newToken() : undefined;
  if (uiSessionToken)
    principals.set(hashToken(uiSessionToken), {
      workspace: DEFAULT_WORKSPACE,
      scope: 'admin',
      label: 'dev UI session',
    });
  const server = createServer((req, res) => void handle(req, res));
  server.keepAliveTimeout = 65_000;
  server.requestTimeout = 0; // long polls and streams stay open as long as they need

  const inFlight = new InFlight();
  let shuttingDown = false;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const abort = new AbortController();
    const answered = inFlight.add(abort);
    res.on('close', () => {
      answered();
      abort.abort('closed');
    });
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      // Load balancers ask these without a token (docs/operations.md).
      if (url.pathname === '/healthz') return send(res, healthz());
      if (url.pathname === '/readyz') return send(res, await readyz(store, shuttingDown));
      if (shuttingDown) {
        res.setHeader('Connection', 'close');
        throw new ShuttingDownError(
          'The server is shutting down: it takes no new requests; send it to another server, or again once this one is back',
        );
      }
      if (url.pathname === '/metrics') {
        await authorizeMetrics(req, { metricsToken: options.metricsToken, principals });
        const { contentType, text } = await metrics.render();
        res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
        res.end(text);
        return;
      }
      if (isUiRequest(req.method ?? 'GET', url.pathname)) return await serveUi(req, res, url.pathname);
      if (url.pathname === '/api/ui/session') return send(res, uiSession(req, uiSessionToken));
      if (url.pathname === IDENTITY_PATH) {
        return send(
          res,
          identityReply({
            method: req.method ?? 'GET',
            query: url.searchParams,
            rootId: serverRootId,
            adminToken: options.adminToken ?? createdAdminToken,
          }),
        );
      }
      const found = router.match(req.method ?? 'GET', url.pathname);
      if (!found) throw new HttpError(404, 'NOT_FOUND', `No route for ${req.method} ${url.pathname}`);
      if ('allowed' in found) {
        res.setHeader('Allow', found.allowed.join(', '));
        throw new HttpError(
          405,
          'METHOD_NOT_ALLOWED',
          `${req.method} is not allowed on ${url.pathname} (allowed: ${found.allowed.join(', ')})`,
        );
      }
      const { route, params } = found;
      // A signed URL (an approval's) is its own permission: its handler checks the signature.
      const principal: Principal =
        route.audience === 'signed'
          ? { workspace: params.ws ?? DEFAULT_WORKSPACE, scope: 'user', label: 'signed URL' }
          : await principals.authenticate(req.headers.authorization);
      checkNoNul(params, url.searchParams);
      if (params.ws !== undefined && !reaches(principal, params.ws)) {
        throw new HttpError(404, 'NOT_FOUND', `No workspace "${params.ws}" for this token`);
      }
      if (principal.scope === 'worker' && route.audience !== 'worker') {
        throw new HttpError(403, 'FORBIDDEN', 'This token is for workers: it reaches the worker routes only');
      }
      let bodyRead: Promise<unknown> | undefined;
      const ctx: RouteContext = {
        req,
        res,
        params,
        query: url.searchParams,
        principal,
        signal: abort.signal,
        body: () => (bodyRead ??= readJson(req, bodyLimit)),
      };
      send(res, await route.handler(ctx));
    } catch (err) {
      const e = toHttpError(err);
      if (e.status === 500) console.error(`millrace server: ${req.method} ${req.url}:`, err);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (e.status === 413) res.setHeader('Connection', 'close');
      send(res, {
        status: e.status,
        json: {
          error: {
            code: e.code,
            message: e.message,
            ...(e.problems && { problems: e.problems }),
            ...(e.jobs && { jobs: e.jobs }),
          },
        },
      });
    }
  }

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 8000, options.host ?? '127.0.0.1', () => resolve());
    });
  } catch (err) {
    // A port in use, say: what started is stopped, so the process can report and exit.
    await coordinator.close();
    await spans?.close();
    throw err;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  // Resume URLs (approvals) are made under the address users reach: the one configured, else this one.
  coordinator.options.publicUrl = options.publicUrl ?? `http://${host}:${address.port}`;
  // Slots missed while no server ran are submitted now (the rule: see engine/scheduler.ts).
  await scheduler?.start();
  // Started once listening: a server that failed to start leaves no timer behind.
  const retention = new Retention({
    store,
    retainMs: options.retainMs ?? 0,
    intervalMs: options.retentionIntervalMs,
    onPruned: (report) => console.log(`millrace server: retention ${describePrune(report)}`),
  });
  // Graceful: no new requests (503), long polls answered at once, requests under way given
  // `closeGraceMs` to finish, then the connections close. The caller closes the store after.
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      shuttingDown = true;
      await scheduler?.close();
      await retention.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await inFlight.drain(options.closeGraceMs ?? 5000);
      await coordinator.close();
      server.closeAllConnections();
      await closed;
      await spans?.close();
    })());
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    coordinator,
    scheduler,
    createdAdminToken,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** The dev UI's token, to loopback clients of a server started with `uiSession`; otherwise a 404 the UI reads as "log in". */
function uiSession(req: IncomingMessage, token: string | undefined): Reply {
  if (req.method !== 'GET')
    throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed on /api/ui/session (allowed: GET)`);
  const remote = req.socket.remoteAddress ?? '';
  const loopback = remote === '::1' || remote.startsWith('127.') || remote.startsWith('::ffff:127.');
  // A page of another site that got its name pointed at 127.0.0.1 (DNS rebinding) sends its own Host.
  const host = (req.headers.host ?? '').replace(/:\d+$/, '');
  const loopbackName = host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
  if (!token || !loopback || !loopbackName)
    throw new HttpError(404, 'NO_UI_SESSION', 'This server gives no UI session: log in with a token');
  return { status: 200, json: { token, workspace: DEFAULT_WORKSPACE } };
}

function send(res: ServerResponse, reply: Reply): void {
  if (!reply || res.writableEnded) return;
  if ('json' in reply) {
    const body = JSON.stringify(reply.json);
    res.writeHead(reply.status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  } else {
    res.writeHead(reply.status, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': Buffer.byteLength(reply.text),
    });
    res.end(reply.text);
  }
}

/** Reads and parses a JSON body no larger than `limit` bytes. An empty body is undefined. */
async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  const tooLarge = () =>
    new HttpError(413, 'PAYLOAD_TOO_LARGE', `The request body is larger than the limit of ${limit} bytes`);
  if (declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    // Past the limit, the rest is read and dropped (up to a bound), so the client, still
    // sending, gets to read the 413 instead of a broken pipe.
    if (size > limit * 16) throw tooLarge();
    if (size <= limit) chunks.push(chunk as Buffer);
  }
  if (size > limit) throw tooLarge();
  if (size === 0) return undefined;
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, 'BAD_JSON', `Malformed JSON body: ${(err as Error).message}`);
  }
}
