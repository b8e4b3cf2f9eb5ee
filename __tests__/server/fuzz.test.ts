import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Agent, request } from 'undici';
import { resolveScript } from '../../lib/loader/paths.js';
import { startServer } from '../../lib/server/server.js';
import { PgStore } from '../../lib/store/postgres/pg-store.js';
import { SqliteStore } from '../../lib/store/sqlite/sqlite-store.js';
import type { Store } from '../../lib/store/store.js';
import { tempDb } from '../helpers/engine.js';
import { dropSchemas, freshSchema, testPgUrl } from '../helpers/pg.js';

/**
 * Every route, fed paths, query strings and bodies drawn from the corpus of the hardening
 * issue and mutations of valid requests: no answer is a 5xx, no connection is cut, and the
 * workspace's listing answers afterwards. The seed is fixed and printed; set
 * MILLRACE_FUZZ_SEED (and MILLRACE_FUZZ_RUNS) to replay or widen a run.
 */
const SEED = Number(process.env.MILLRACE_FUZZ_SEED ?? 20261130);
const RUNS = Number(process.env.MILLRACE_FUZZ_RUNS ?? 5000);
const CONCURRENCY = 8;
const TOKEN = 'mr_fuzz_admin';

const schemas: string[] = [];
afterAll(() => dropSchemas(schemas));

/** Routes that may rightly hold a request open (a wait for a job no worker runs, a followed log). */
const HOLDING = [/\/jobs\/run_wait_result\//, /\/jobs_u\/getupdate_sse\//, /\/jobs_u\/logs\/.*follow=(true|1)/];
/** How long a holding request is given before the client lets go of it (it is counted, not failed). */
const HOLD_MS = 1000;

// The corpus: the inputs of the findings, and their neighbours.
const NUMBERS = [
  '0.0005',
  '1e13',
  '1e20',
  '1e300',
  '-1e300',
  '18446744073709551616',
  '9007199254740993',
  '-1',
  '0',
  '1',
  '1.5',
  'NaN',
  'Infinity',
  '',
  'abc',
  '0x10',
  ' 1',
  '1e-300',
];
const STRINGS = [
  '',
  'a',
  '\u0000',
  'a\u0000b',
  '%00',
  '..',
  '../../etc/passwd',
  '/etc/passwd',
  'x'.repeat(300),
  '\u2028',
  '😀',
  '\uD800',
  'all',
  'true',
  'maybe',
  'default',
  '__proto__',
  'constructor',
];
const TAGGED = [
  { __millrace: 'bigint', value: 'abc' },
  { __millrace: 'bigint', value: 'zz' },
  { __millrace: 'Map', value: 5 },
  { __millrace: 'Map', value: [[1]] },
  { __millrace: 'Set', value: 'x' },
  { __millrace: 'Error', value: null },
  { __millrace: 'Error', value: { name: 1 } },
  { __millrace: 'object', value: null },
  { __millrace: 'Uint8Array', value: 5 },
  { __millrace: 'Uint8Array', value: '***' },
  { __millrace: 'Date', value: 'soon' },
  { __millrace: 'Date', value: 8.64e15 + 1 },
  { __millrace: 'number', value: 'big' },
  { __millrace: 'undefined' },
  { __millrace: 'bigint', value: '12345678901234567890' },
];
const deep = (depth: number, leaf: unknown = 0): unknown => {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
};
/** Stands for 100,000 nested arrays, put into the body text after JSON.stringify (which would recurse too deep). */
const DEEP_100K = '@@deep-100000@@';
const DEEP_100K_TEXT = `${'['.repeat(100_000)}0${']'.repeat(100_000)}`;
const deepObject = (depth: number): unknown => {
  let v: unknown = {};
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
};

const scalar = fc.oneof(
  fc.constantFrom(...NUMBERS.map(Number)),
  fc.constantFrom(...STRINGS),
  fc.constantFrom(null, true, false, 0, -1, 1.5, 1e13, 1e20, 1e300, Number.MAX_SAFE_INTEGER + 2),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const value: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: scalar },
  { weight: 2, arbitrary: fc.constantFrom(...TAGGED) },
  { weight: 1, arbitrary: fc.constantFrom(deep(300), DEEP_100K, deepObject(300), deep(250, TAGGED[0]), deep(20, {})) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(...TAGGED), { maxLength: 3 }) },
);

/** The routes and, for each, a valid body to mutate (undefined: none). `$ID`, `$HASH` are filled in per store. */
interface RouteSpec {
  method: 'GET' | 'POST';
  path: string;
  body?: Record<string, unknown>;
}
const NOW = 1_764_547_200_000;
const ROUTES: RouteSpec[] = [
  { method: 'GET', path: '/api/version' },
  { method: 'GET', path: '/api/w/{ws}/jobs_u/record/{id}' },
  { method: 'GET', path: '/api/w/{ws}/jobs_u/tree/{id}' },
  { method: 'GET', path: '/api/w/{ws}/jobs_u/resolve/{id}' },
  { method: 'GET', path: '/api/w/{ws}/jobs/records' },
  { method: 'GET', path: '/api/w/{ws}/jobs_u/logs/{id}' },
  { method: 'POST', path: '/api/w/{ws}/jobs_u/cancel/{id}', body: { reason: 'fuzz' } },
  { method: 'GET', path: '/api/w/{ws}/scripts/signature/{path}' },
  { method: 'GET', path: '/api/w/{ws}/scripts/list' },
  { method: 'GET', path: '/api/w/{ws}/workers' },
  { method: 'POST', path: '/api/w/{ws}/jobs/run/p/{path}', body: { a: 1, b: 'x' } },
  { method: 'POST', path: '/api/w/{ws}/jobs/run_wait_result/p/{path}', body: { a: 1 } },
  { method: 'POST', path: '/api/w/{ws}/jobs/run/f/{path}', body: {} },
  { method: 'POST', path: '/api/w/{ws}/jobs/run_wait_result/f/{path}', body: {} },
  {
    method: 'POST',
    path: '/api/w/{ws}/jobs/run/workflow_as_code/{id}/{task}',
    body: {
      script_path: 'any',
      script_hash: '$HASH',
      args: [1],
      tag: 't',
      call_key: 'k:0',
      timeout: 10,
      retry: { attempts: 2, delay: 1 },
      scheduled_in_secs: 1,
    },
  },
  {
    method: 'POST',
    path: '/api/w/{ws}/jobs/run/workflow_as_code/{id}/{task}',
    body: {
      script_path: 'any',
      script_hash: '$HASH',
      calls: [
        { args: [1], call_key: 'a:0' },
        { args: [2], call_key: 'a:1', kind: 'sleep' },
      ],
    },
  },
  { method: 'GET', path: '/api/w/{ws}/jobs_u/get/{id}' },
  { method: 'GET', path: '/api/w/{ws}/jobs_u/completed/get_result/{id}' },
  { method: 'GET', path: '/api/w/{ws}/jobs_u/completed/get_result_maybe/{id}' },
  { method: 'GET', path: '/api/w/{ws}/jobs_u/getupdate/{id}' },
  { method: 'GET', path: '/api/w/{ws}/jobs_u/getupdate_sse/{id}' },
  { method: 'POST', path: '/api/w/{ws}/jobs_u/queue/cancel/{id}', body: { reason: 'fuzz' } },
  { method: 'GET', path: '/api/w/{ws}/jobs/list' },
  {
    method: 'POST',
    path: '/api/w/{ws}/worker/claim',
    body: { worker_id: 'w1', tags: 'all', hostname: 'h', limit: 1, wait_ms: 0, lease_ms: 30_000 },
  },
  { method: 'POST', path: '/api/w/{ws}/worker/child', body: { parent_job: '$ID', call_key: 'k:0' } },
  {
    method: 'POST',
    path: '/api/w/{ws}/worker/step',
    body: {
      parent_job: '$ID',
      script_path: 'any',
      script_hash: '$HASH',
      name: 's',
      call_key: 's:0',
      started_at: NOW,
      at: NOW,
      outcome: { status: 'success', result: 1 },
    },
  },
  { method: 'POST', path: '/api/w/{ws}/worker/started', body: { job_id: '$ID', at: NOW } },
  {
    method: 'POST',
    path: '/api/w/{ws}/worker/logs',
    body: { job_id: '$ID', lines: [{ ts: NOW, stream: 'stdout', line: 'a\u0000b' }] },
  },
  {
    method: 'POST',
    path: '/api/w/{ws}/worker/complete',
    body: { job_id: '$ID', at: NOW, outcome: { status: 'success', result: 1 } },
  },
  {
    method: 'POST',
    path: '/api/w/{ws}/worker/report',
    body: {
      events: [
        { type: 'started', job_id: '$ID', at: NOW },
        { type: 'logs', job_id: '$ID', lines: [{ ts: NOW, stream: 'stderr', line: 'x\u0000' }] },
        { type: 'flow_status', job_id: '$ID', status: { step: 0 } },
        { type: 'finish', job_id: '$ID', at: NOW, outcome: { status: 'failure', error: { name: 'E', message: 'm' } } },
        { type: 'release', job_id: '$ID', at: NOW, error: { name: 'E', message: 'm' } },
      ],
    },
  },
  { method: 'POST', path: '/api/w/{ws}/worker/job', body: { job_id: '$ID' } },
  { method: 'POST', path: '/api/w/{ws}/worker/cancel', body: { job_id: '$ID', reason: 'r' } },
  {
    method: 'POST',
    path: '/api/w/{ws}/worker/heartbeat',
    body: { worker_id: 'w1', tags: ['a'], hostname: 'h', job_ids: ['$ID'], lease_ms: 30_000 },
  },
  { method: 'POST', path: '/api/w/{ws}/worker/wait', body: { ids: ['$ID'], wait_ms: 0 } },
];
const QUERY_KEYS = [
  'scheduled_in_secs',
  'timeout',
  'tag',
  'per_page',
  'limit',
  'before',
  'after',
  'log_offset',
  'follow',
  'running',
  'success',
  'status',
  'job_id',
  'idempotency_key',
  'parent_job',
  'root_job',
  'roots_only',
  'script_path',
  'script_path_exact',
];

/** One request as drawn: which route, what fills its holes, its query, its body and how the body is mutated. */
interface Draw {
  route: number;
  method: string | undefined;
  ws: string;
  id: string | number;
  path: string;
  entrypoint: string;
  query: [string, string][];
  body:
    | { kind: 'valid' }
    | { kind: 'none' }
    | { kind: 'mutate'; at: number; value: unknown; drop: boolean }
    | { kind: 'value'; value: unknown }
    | { kind: 'text'; text: string };
}

const segment = fc.oneof(
  fc.constantFrom(...STRINGS.filter((s) => s !== '')),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
);
const draw: fc.Arbitrary<Draw> = fc.record({
  route: fc.nat({ max: ROUTES.length - 1 }),
  // Now and then another method than the route's: a 405, or another route of the same path.
  method: fc.oneof(
    { weight: 15, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH') },
  ),
  ws: fc.oneof({ weight: 8, arbitrary: fc.constant('default') }, { weight: 1, arbitrary: segment }),
  id: fc.oneof({ weight: 4, arbitrary: fc.nat({ max: 2 }) }, { weight: 2, arbitrary: segment }),
  path: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('any', 'any.ts', 'nope', 'outside', 'sub/../any', 'flows/f') },
    { weight: 1, arbitrary: segment },
  ),
  entrypoint: fc.oneof({ weight: 3, arbitrary: fc.constant('main') }, { weight: 1, arbitrary: segment }),
  query: fc.array(
    fc.tuple(
      fc.constantFrom(...QUERY_KEYS),
      fc.oneof(fc.constantFrom(...NUMBERS), fc.constantFrom(...STRINGS), fc.string({ unit: 'binary', maxLength: 8 })),
    ),
    { maxLength: 3 },
  ),
  body: fc.oneof(
    { weight: 2, arbitrary: fc.constant({ kind: 'valid' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
    {
      weight: 6,
      arbitrary: fc.record({ kind: fc.constant('mutate' as const), at: fc.nat(), value, drop: fc.boolean() }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('value' as const), value }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('text' as const),
        text: fc.oneof(
          fc.string({ unit: 'binary', maxLength: 30 }),
          fc.constantFrom('{', '[', '{"a":', 'null', '"x"', '1e400', '{"a":1}{'),
        ),
      }),
    },
  ),
});

/** Every place in a JSON tree where a value can be put: [container, key]. */
function slots(root: unknown): [Record<string, unknown> | unknown[], string | number][] {
  const out: [Record<string, unknown> | unknown[], string | number][] = [];
  const stack: unknown[] = [root];
  while (stack.length) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    for (const [k, v] of Object.entries(node)) {
      out.push([node as Record<string, unknown>, Array.isArray(node) ? Number(k) : k]);
      stack.push(v);
    }
  }
  return out;
}

interface Prepared {
  method: string;
  path: string;
  body: string | undefined;
}

function prepare(d: Draw, ids: string[], hash: string): Prepared {
  const spec = ROUTES[d.route];
  const id = typeof d.id === 'number' ? ids[d.id] : d.id;
  const fill = (s: string) =>
    s
      .replace('{ws}', enc(d.ws))
      .replace('{id}', enc(id))
      .replace('{path}', d.path.split('/').map(enc).join('/'))
      .replace('{task}', enc(d.entrypoint));
  const query = d.query.map(([k, v]) => `${k}=${enc(v)}`).join('&');
  const path = fill(spec.path) + (query ? `?${query}` : '');
  const template =
    spec.body === undefined
      ? undefined
      : (JSON.parse(JSON.stringify(spec.body).replaceAll('$ID', ids[0]).replaceAll('$HASH', hash)) as Record<
          string,
          unknown
        >);
  let body: string | undefined;
  switch (d.body.kind) {
    case 'valid':
      body = template === undefined ? undefined : JSON.stringify(template);
      break;
    case 'none':
      break;
    case 'value':
      body = JSON.stringify(d.body.value) ?? 'null';
      break;
    case 'text':
      body = d.body.text;
      break;
    case 'mutate': {
      const target = template ?? {};
      const places = slots(target);
      if (places.length === 0) (target as Record<string, unknown>).a = d.body.value;
      else {
        const [container, key] = places[d.body.at % places.length];
        if (d.body.drop && !Array.isArray(container)) delete container[key as string];
        else (container as Record<string | number, unknown>)[key] = d.body.value;
      }
      body = JSON.stringify(target);
    }
  }
  if (body?.includes(DEEP_100K)) body = body.replaceAll(`"${DEEP_100K}"`, DEEP_100K_TEXT);
  // Long polls are asked to answer at once: a wait of a minute would only slow the run.
  if (body !== undefined && /"wait_ms":/.test(body))
    body = body.replace(/"wait_ms":(-?[\d.e+]+)/g, (_m, n: string) => `"wait_ms":${Math.min(Number(n), 20)}`);
  return { method: d.method ?? spec.method, path, body };
}

/** Percent-encodes a path segment or query value, NUL and lone surrogates included. */
function enc(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, '\uFFFD')) + '%ED%A0%80';
  }
}

function makeRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'millrace-fuzz-'));
  writeFileSync(join(root, 'any.ts'), 'export async function main(a?: unknown, b?: unknown) {\n  return a;\n}\n');
  return root;
}

const stores: [string, () => Promise<Store>][] = [
  ['sqlite', async () => new SqliteStore({ file: tempDb() })],
  [
    'postgres',
    async () => {
      const schema = freshSchema('fuzz');
      schemas.push(schema);
      return PgStore.open({ url: testPgUrl(), schema, poolSize: 4 });
    },
  ],
];

describe.each(stores)('fuzzing every route (%s)', (name, open) => {
  it(`answers ${RUNS} drawn requests without a 5xx or a cut connection, seed ${SEED}`, async () => {
    console.log(`fuzz (${name}): seed ${SEED}, ${RUNS} requests; replay with MILLRACE_FUZZ_SEED=${SEED}`);
    const root = makeRoot();
    const store = await open();
    const server = await startServer({ store, root, port: 0, adminToken: TOKEN, restartGraceMs: 600_000 });
    const agent = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 10_000 });
    try {
      const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await request(`${server.url}/api/w/default/jobs/run/p/any`, {
          method: 'POST',
          headers,
          body: '{}',
          dispatcher: agent,
        });
        ids.push(await res.body.text());
      }
      const hash = resolveScript(root, 'any').hash;
      const drawn = Date.now();
      const draws = fc.sample(draw, { seed: SEED, numRuns: RUNS });
      const sent = Date.now();
      const failures: string[] = [];
      const statuses = new Map<number, number>();
      let held = 0;
      let next = 0;
      const one = async (d: Draw, index: number) => {
        const req = prepare(d, ids, hash);
        const holding = HOLDING.some((re) => re.test(req.path));
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), holding ? HOLD_MS : 30_000);
        try {
          const res = await request(`${server.url}${req.path}`, {
            method: req.method as 'GET',
            headers,
            body: req.method === 'GET' || req.method === 'HEAD' ? undefined : req.body,
            dispatcher: agent,
            signal: controller.signal,
          });
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
          const type = String(res.headers['content-type'] ?? '');
          if (/event-stream|ndjson/.test(type) && res.statusCode === 200) {
            // A stream: its status is what is checked; the rest may never end.
            res.body.on('error', () => {});
            res.body.destroy();
          } else await res.body.text();
          if (res.statusCode >= 500)
            failures.push(`#${index} ${req.method} ${req.path} ${req.body?.slice(0, 200)} → ${res.statusCode}`);
        } catch (err) {
          if (holding && controller.signal.aborted) held++;
          else
            failures.push(`#${index} ${req.method} ${req.path} ${req.body?.slice(0, 200)} → ${(err as Error).message}`);
        } finally {
          clearTimeout(timer);
        }
      };
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < draws.length) {
            const i = next++;
            await one(draws[i], i);
          }
        }),
      );
      const took = Date.now() - sent;
      console.log(
        `fuzz (${name}): drawn in ${sent - drawn} ms, sent in ${took} ms; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}, ${held} held open until let go`,
      );
      expect(failures).toEqual([]);
      expect([...statuses.values()].reduce((a, b) => a + b, 0) + held).toBe(RUNS);
      // The server still answers, and the workspace's listing with it.
      for (const path of [
        '/api/version',
        '/api/w/default/jobs/list',
        '/api/w/default/jobs/records',
        `/api/w/default/jobs_u/get/${ids[0]}`,
      ]) {
        const res = await request(`${server.url}${path}`, { headers, dispatcher: agent });
        await res.body.text();
        expect(res.statusCode).toBe(200);
      }
    } finally {
      await agent.close();
      await server.close();
      await store.close();
    }
  }, 180_000);
});
