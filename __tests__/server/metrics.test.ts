import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request } from 'undici';
import { createToken } from '../../lib/server/auth.js';
import { startServer, type ServerHandle } from '../../lib/server/server.js';
import { SqliteStore } from '../../lib/store/sqlite/sqlite-store.js';
import { Worker } from '../../lib/worker/worker.js';
import { REPO_ROOT, tempDb } from '../helpers/engine.js';
import { overriding } from '../helpers/overriding.js';

const TOKEN = 'mr_metrics_test_admin';
const METRICS_TOKEN = 'mr_metrics_scraper_only';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict reader of Prometheus' text exposition format (0.0.4): every line is a HELP, a TYPE or
 * a sample of a declared metric, label values escaped as the format says. Throws on anything else.
 */
function parsePrometheus(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const name = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const value = '(?:[-+]?(?:[0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?|Inf)|NaN)';
  const sampleLine = new RegExp(
    `^(${name})(?:\\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*",?)*)\\})? (${value})(?: -?[0-9]+)?$`,
  );
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    let m = new RegExp(`^# HELP (${name}) .*$`).exec(line);
    if (m) continue;
    m = new RegExp(`^# TYPE (${name}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
    if (m) {
      if (types.has(m[1])) throw new Error(`TYPE twice for ${m[1]}`);
      types.set(m[1], m[2]);
      continue;
    }
    m = sampleLine.exec(line);
    if (!m) throw new Error(`Not a line of the text format: ${JSON.stringify(line)}`);
    const family = m[1].replace(/_(bucket|sum|count)$/, '');
    if (!types.has(m[1]) && !types.has(family)) throw new Error(`Sample of an undeclared metric: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: m[1], labels, value: Number(m[3].replace('Inf', 'Infinity')) });
  }
  return { types, samples };
}

function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return found.reduce((sum, s) => sum + s.value, 0);
}

describe('GET /metrics, /healthz and /readyz', () => {
  let store: SqliteStore;
  let server: ServerHandle;
  let worker: Worker;
  let workerToken: string;
  // A gate the held jobs wait on: each request stays open until the test releases it.
  let gate: Server;
  let gateUrl: string;
  const held: (() => void)[] = [];
  let onHeld: (() => void) | undefined;

  beforeAll(async () => {
    store = new SqliteStore({ file: tempDb() });
    server = await startServer({
      store,
      root: REPO_ROOT,
      port: 0,
      adminToken: TOKEN,
      metricsToken: METRICS_TOKEN,
      restartGraceMs: 0,
    });
    worker = new Worker({
      backend: server.coordinator,
      root: REPO_ROOT,
      tags: ['default'],
      threads: 1,
      concurrency: 4,
    });
    workerToken = (await createToken(store, { scope: 'worker', label: 'w' })).token;
    gate = createServer((_req, res) => {
      held.push(() => res.end('ok'));
      onHeld?.();
    });
    await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve));
    gateUrl = `http://127.0.0.1:${(gate.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    for (const release of held) release();
    await worker?.close();
    await server?.close();
    await store?.close();
    gate?.close();
  });

  const get = async (path: string, token?: string) => {
    const res = await request(`${server.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.statusCode, type: String(res.headers['content-type']), text: await res.body.text() };
  };
  const scrape = async () => {
    const res = await get('/metrics', METRICS_TOKEN);
    expect(res.status).toBe(200);
    return parsePrometheus(res.text).samples;
  };
  const run = async (path: string, args: unknown, tag?: string) => {
    const res = await request(`${server.url}/api/w/default/jobs/run/p/${path}${tag ? `?tag=${tag}` : ''}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(args),
    });
    expect(res.statusCode).toBe(201);
    return res.body.text();
  };

  it('/healthz and /readyz answer without a token', async () => {
    expect(await get('/healthz')).toMatchObject({ status: 200, text: '{"status":"ok"}' });
    const ready = await get('/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toEqual({
      status: 'ready',
      schema: { version: expect.any(Number), latest: expect.any(Number) },
    });
  });

  it('/metrics needs a token: the metrics token or a user token; a worker-only token is refused, and the metrics token reaches nothing else', async () => {
    expect((await get('/metrics')).status).toBe(401);
    expect((await get('/metrics', 'mr_wrong')).status).toBe(401);
    expect((await get('/metrics', workerToken)).status).toBe(403);
    expect((await get('/metrics', TOKEN)).status).toBe(200);
    const scraper = await get('/metrics', METRICS_TOKEN);
    expect(scraper.status).toBe(200);
    expect(scraper.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect((await get('/api/w/default/jobs/list', METRICS_TOKEN)).status).toBe(401);
  });

  it('parses as Prometheus text and has every series', async () => {
    const { types } = parsePrometheus((await get('/metrics', METRICS_TOKEN)).text);
    expect(Object.fromEntries(types)).toEqual({
      millrace_jobs_queued: 'gauge',
      millrace_jobs_running: 'gauge',
      millrace_workers_connected: 'gauge',
      millrace_jobs_finished_total: 'counter',
      millrace_job_duration_seconds: 'histogram',
      millrace_job_queue_wait_seconds: 'histogram',
      millrace_job_retries_total: 'counter',
      millrace_lease_expiries_total: 'counter',
      millrace_jobs_released_total: 'counter',
      millrace_store_seconds: 'histogram',
    });
  });

  it('after N runs the finished counter has moved by N, and the duration histogram counted them', async () => {
    const labels = { status: 'success', tag: 'default', kind: 'script' };
    const before = await scrape();
    const N = 7;
    const ids = await Promise.all(
      Array.from({ length: N }, (_, i) => run('__tests__/fixtures/say', { word: `w${i}` })),
    );
    for (const id of ids) expect((await server.coordinator.waitFinished(id)).status).toBe('success');
    const after = await scrape();
    expect(
      sampleValue(after, 'millrace_jobs_finished_total', labels) -
        sampleValue(before, 'millrace_jobs_finished_total', labels),
    ).toBe(N);
    expect(
      sampleValue(after, 'millrace_job_duration_seconds_count', labels) -
        sampleValue(before, 'millrace_job_duration_seconds_count', labels),
    ).toBe(N);
    expect(sampleValue(after, 'millrace_store_seconds_count', { verb: 'finish' })).toBeGreaterThanOrEqual(N);
  });

  it('retries and lease expiries are counted', async () => {
    const before = await scrape();
    const id = await run('__tests__/fixtures/retries', { which: 'all' });
    expect((await server.coordinator.waitFinished(id)).status).toBe('success');
    // Every failed attempt that was not a job's last was a retry.
    let retried = 0;
    for (const job of await store.descendants(id)) {
      const attempts = await store.attempts(job.id);
      retried += attempts.slice(0, -1).filter((a) => a.status === 'failure').length;
    }
    expect(retried).toBe(4);
    const after = await scrape();
    const retries = (samples: Sample[]) =>
      sampleValue(samples, 'millrace_job_retries_total', { tag: 'default', kind: 'task' });
    expect(retries(after) - retries(before)).toBe(retried);

    // A job claimed by a worker that then vanishes: its lease runs out and the sweep requeues it.
    await run('__tests__/fixtures/say', {}, 'lost');
    const [claimed] = await store.claim({ workerId: 'vanished', tags: ['lost'], limit: 1, leaseMs: 1 });
    expect(claimed.tag).toBe('lost');
    const expired = (samples: Sample[]) =>
      sampleValue(samples, 'millrace_lease_expiries_total', { outcome: 'requeued' });
    const was = expired(after);
    // Sweeps until the 1 ms lease has passed: a condition, not a time.
    for (;;) {
      await server.coordinator.sweep();
      if ((await store.get(claimed.id))?.status === 'queued') break;
    }
    expect(expired(await scrape()) - was).toBe(1);
  });

  it('/readyz is 503 SCHEMA_NOT_CURRENT when the store is behind, and STORE_UNAVAILABLE when it does not answer', async () => {
    let state: 'behind' | 'down' = 'behind';
    const lagging = overriding(store, {
      schemaState: async () => {
        if (state === 'down') throw new Error('connection refused');
        return { version: 3, latest: 6 };
      },
    });
    const other = await startServer({ store: lagging, root: REPO_ROOT, port: 0, adminToken: TOKEN, restartGraceMs: 0 });
    try {
      const ask = async () => {
        const res = await request(`${other.url}/readyz`);
        return {
          status: res.statusCode,
          body: (await res.body.json()) as { error: { code: string; message: string } },
        };
      };
      expect(await ask()).toEqual({
        status: 503,
        body: {
          error: {
            code: 'SCHEMA_NOT_CURRENT',
            message: "The store's schema is at version 3, this millrace needs 6: run `millrace migrate`",
          },
        },
      });
      state = 'down';
      expect(await ask()).toEqual({
        status: 503,
        body: { error: { code: 'STORE_UNAVAILABLE', message: 'The store does not answer: connection refused' } },
      });
      expect((await request(`${other.url}/healthz`)).statusCode).toBe(200);
    } finally {
      await other.close();
    }
  });

  it('the queued and running gauges match the store during a run', async () => {
    // Two runs held on the gate (each: a root awaiting its task, and the task), and three jobs of a tag nobody serves.
    const bothHeld = new Promise<void>((resolve) => (onHeld = () => held.length === 2 && resolve()));
    const holding = [
      await run('__tests__/fixtures/hold', { url: gateUrl }),
      await run('__tests__/fixtures/hold', { url: gateUrl }),
    ];
    for (let i = 0; i < 3; i++) await run('__tests__/fixtures/say', {}, 'nobody');
    await bothHeld;
    const samples = await scrape();
    const live = await store.list({ status: ['queued', 'running'], limit: 100 });
    const count = (status: string, tag: string) => live.filter((j) => j.status === status && j.tag === tag).length;
    expect(count('running', 'default')).toBe(4);
    expect(sampleValue(samples, 'millrace_jobs_running', { tag: 'default' })).toBe(4);
    expect(sampleValue(samples, 'millrace_jobs_queued', { tag: 'nobody' })).toBe(count('queued', 'nobody'));
    expect(sampleValue(samples, 'millrace_jobs_queued', { tag: 'nobody' })).toBe(3);
    expect(sampleValue(samples, 'millrace_jobs_queued', { tag: 'default' })).toBe(0);
    for (const release of held.splice(0)) release();
    for (const id of holding) expect((await server.coordinator.waitFinished(id)).status).toBe('success');
    const afterRun = await scrape();
    expect(sampleValue(afterRun, 'millrace_jobs_running', { tag: 'default' })).toBe(0);
  });
});
