import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request } from 'undici';
import { resolveScript } from '../../lib/loader/paths.js';
import { startServer, type ServerHandle } from '../../lib/server/server.js';
import { PgStore } from '../../lib/store/postgres/pg-store.js';
import { SqliteStore } from '../../lib/store/sqlite/sqlite-store.js';
import type { Store } from '../../lib/store/store.js';
import { tempDb } from '../helpers/engine.js';
import { dropSchemas, freshSchema, testPgUrl } from '../helpers/pg.js';

/**
 * Findings 4 and 8 of the hardening issue: no request (and no row written before the checks
 * existed) can make a route answer 500, on either store.
 */
const TOKEN = 'mr_validation_admin';
const schemas: string[] = [];
afterAll(() => dropSchemas(schemas));

function makeRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'millrace-validation-'));
  writeFileSync(join(root, 'any.ts'), 'export async function main(a?: unknown, b?: unknown) {\n  return a;\n}\n');
  return root;
}

/** `depth` arrays, one inside the next, as JSON text (built without recursion). */
function nestedArrays(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

const stores: [string, () => Promise<Store>][] = [
  ['sqlite', async () => new SqliteStore({ file: tempDb() })],
  [
    'postgres',
    async () => {
      const schema = freshSchema('val');
      schemas.push(schema);
      return PgStore.open({ url: testPgUrl(), schema, poolSize: 4 });
    },
  ],
];

describe.each(stores)('input checks at the HTTP edge (%s)', (_name, open) => {
  let store: Store;
  let server: ServerHandle;
  let root: string;
  beforeAll(async () => {
    root = makeRoot();
    store = await open();
    server = await startServer({ store, root, port: 0, adminToken: TOKEN, restartGraceMs: 60_000 });
  });
  afterAll(async () => {
    await server?.close();
    await store?.close();
  });

  async function send(method: 'GET' | 'POST', path: string, body?: string) {
    const res = await request(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body,
    });
    const text = await res.body.text();
    return {
      status: res.statusCode,
      text,
      json: () => JSON.parse(text) as { error: { code: string; message: string } },
    };
  }

  /** The listing routes everyone reads: each must answer 200. */
  async function listingsAnswer(ids: string[] = []): Promise<void> {
    expect((await send('GET', '/api/w/default/jobs/list')).status).toBe(200);
    expect((await send('GET', '/api/w/default/jobs/records')).status).toBe(200);
    for (const id of ids) expect((await send('GET', `/api/w/default/jobs_u/get/${id}`)).status).toBe(200);
  }

  async function submit(query = '', body = '{}'): Promise<string> {
    const res = await send('POST', `/api/w/default/jobs/run/p/any${query}`, body);
    expect(res.status).toBe(201);
    return res.text;
  }

  describe('finding 4: one request cannot break listing for the workspace', () => {
    it('refuses scheduled_in_secs beyond the documented range, and listing still answers', async () => {
      const res = await send('POST', '/api/w/default/jobs/run/p/any?scheduled_in_secs=1e13', '{}');
      expect(res.status).toBe(400);
      expect(res.json().error.message).toMatch(
        /query scheduled_in_secs: expected a number from 0 to 315360000, got "1e13"/,
      );
      await listingsAnswer();
    });

    it('refuses a forged bigint result recorded through worker/step, and listing still answers', async () => {
      const parent = await submit();
      const script = resolveScript(root, 'any');
      const res = await send(
        'POST',
        '/api/w/default/worker/step',
        JSON.stringify({
          parent_job: parent,
          script_path: 'any',
          script_hash: script.hash,
          name: 'forged',
          call_key: 'forged:0',
          started_at: Date.now(),
          at: Date.now(),
          outcome: { status: 'success', result: { __millrace: 'bigint', value: 'zz' } },
        }),
      );
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      await listingsAnswer([parent]);
    });

    it('renders rows written before the checks with a marker, not a 500', async () => {
      // Written through the Coordinator, past the HTTP checks: what an older server stored.
      const farAway = await server.coordinator.submit({
        kind: 'script',
        entrypoint: 'main',
        scriptPath: 'any',
        scriptHash: resolveScript(root, 'any').hash,
        args: {},
        workspace: 'default',
        delayMs: 1e16,
      });
      const parent = await submit();
      const step = await server.coordinator.recordStep(
        {
          kind: 'step',
          scriptPath: 'any',
          scriptHash: resolveScript(root, 'any').hash,
          entrypoint: 'forged',
          args: [],
          workspace: 'default',
          parentJob: parent,
          callKey: 'old:0',
        },
        { status: 'success', result: { __millrace: 'bigint', value: 'zz' } },
        Date.now(),
        Date.now(),
      );
      await listingsAnswer([farAway.id, parent, step.id]);
      const got = await send('GET', `/api/w/default/jobs_u/get/${step.id}`);
      expect(JSON.parse(got.text).result).toEqual({
        __millrace_unreadable: expect.stringMatching(
          /bigint.*expected "value" to be a string of decimal digits, got string "zz"/,
        ),
      });
      const far = await send('GET', `/api/w/default/jobs_u/get/${farAway.id}`);
      expect(JSON.parse(far.text).scheduled_for).toMatch(/^invalid time /);
    });
  });

  describe('finding 8: bad input answers 4xx, as docs/http-api.md promises', () => {
    const malformed: [string, unknown, RegExp][] = [
      [
        'bigint "abc"',
        { __millrace: 'bigint', value: 'abc' },
        /"bigint"\}.*expected "value" to be a string of decimal digits, got string "abc"/,
      ],
      [
        'Map 5',
        { __millrace: 'Map', value: 5 },
        /"Map"\}.*expected "value" to be an array of \[key, value\] pairs, got number 5/,
      ],
      ['Set "x"', { __millrace: 'Set', value: 'x' }, /"Set"\}.*expected "value" to be an array, got string "x"/],
      [
        'Error null',
        { __millrace: 'Error', value: null },
        /"Error"\}.*expected "value" to be an object with string "name" and "message"/,
      ],
      ['object null', { __millrace: 'object', value: null }, /"object"\}.*expected "value" to be an object, got null/],
      [
        'Uint8Array 5',
        { __millrace: 'Uint8Array', value: 5 },
        /"Uint8Array"\}.*expected "value" to be a base64 string, got number 5/,
      ],
      [
        'Date "soon"',
        { __millrace: 'Date', value: 'soon' },
        /"Date"\}.*expected "value" to be an ISO date string or null/,
      ],
    ];
    for (const [name, value, message] of malformed) {
      it(`refuses a malformed tagged form in an argument: ${name}`, async () => {
        const res = await send('POST', '/api/w/default/jobs/run/p/any', JSON.stringify({ a: { inner: value } }));
        expect(res.status).toBe(400);
        expect(res.json().error.code).toBe('BAD_VALUE');
        expect(res.json().error.message).toMatch(/^args\.a\.inner is a malformed/);
        expect(res.json().error.message).toMatch(message);
      });
    }

    it('refuses 100,000 nested arrays in an argument with the documented depth', async () => {
      const res = await send('POST', '/api/w/default/jobs/run/p/any', `{"a":${nestedArrays(100_000)}}`);
      expect(res.status).toBe(400);
      expect(res.json().error.message).toMatch(/is nested deeper than 256 levels/);
      // And in a task call's args, which are stored without being decoded.
      const parent = await submit();
      const call = await send(
        'POST',
        `/api/w/default/jobs/run/workflow_as_code/${parent}/main`,
        `{"script_path":"any","script_hash":"${resolveScript(root, 'any').hash}","args":[${nestedArrays(100_000)}]}`,
      );
      expect(call.status).toBe(400);
      expect(call.json().error.message).toMatch(/body\.args\[0\].* is nested deeper than 256 levels/);
    });

    it('stores a fractional scheduled_in_secs as whole milliseconds', async () => {
      const id = await submit('?scheduled_in_secs=0.0005');
      const res = await send('GET', `/api/w/default/jobs_u/record/${id}`);
      const job = JSON.parse(res.text) as { createdAt: number; scheduledFor: number };
      expect(Number.isInteger(job.scheduledFor)).toBe(true);
      expect(job.scheduledFor - job.createdAt).toBeLessThanOrEqual(1);
    });

    it('accepts values nested up to the limit', async () => {
      await submit('', `{"a":${nestedArrays(200)}}`);
    });

    const outOfRange: [string, 'GET' | 'POST', string, RegExp][] = [
      [
        'per_page beyond 2^64',
        'GET',
        '/api/w/default/jobs/list?per_page=18446744073709551616',
        /query per_page: expected an integer from 1 to 10000/,
      ],
      [
        'limit=1e20',
        'GET',
        '/api/w/default/jobs/records?limit=1e20',
        /query limit: expected an integer from 1 to 10000, got "1e20"/,
      ],
      [
        'before=1e300',
        'GET',
        '/api/w/default/jobs/records?before=1e300',
        /query before: expected an integer from 0 to 8640000000000000/,
      ],
      [
        'log_offset beyond 2^53',
        'GET',
        '/api/w/default/jobs_u/getupdate/PARENT?log_offset=1e300',
        /query log_offset: expected an integer/,
      ],
      [
        'timeout=1e300',
        'POST',
        '/api/w/default/jobs/run/p/any?timeout=1e300',
        /query timeout: expected a number from 0 to/,
      ],
      [
        'a fractional before',
        'GET',
        '/api/w/default/jobs/records?before=1.5',
        /query before: expected an integer from 0 to/,
      ],
    ];
    for (const [name, method, path, message] of outOfRange) {
      it(`refuses a number out of range: ${name}`, async () => {
        const parent = await submit();
        const res = await send(method, path.replace('PARENT', parent), method === 'POST' ? '{}' : undefined);
        expect(res.status).toBe(400);
        expect(res.json().error.message).toMatch(message);
        await listingsAnswer();
      });
    }

    const nul: [string, 'GET' | 'POST', string][] = [
      ['a tag', 'POST', '/api/w/default/jobs/run/p/any?tag=a%00b'],
      ['an idempotency key', 'POST', '/api/w/default/jobs/run/p/any?idempotency_key=k%00'],
      ['a job id to create', 'POST', '/api/w/default/jobs/run/p/any?job_id=a%00b'],
      ['a tag filter', 'GET', '/api/w/default/jobs/list?tag=%00'],
      ['a script filter', 'GET', '/api/w/default/jobs/list?script_path_exact=a%00'],
      ['a parent filter', 'GET', '/api/w/default/jobs/records?parent_job=%00'],
      ['a root filter', 'GET', '/api/w/default/jobs/records?root_job=x%00'],
      ['a job id', 'GET', '/api/w/default/jobs_u/get/ab%00cd'],
      ['a job id prefix', 'GET', '/api/w/default/jobs_u/resolve/a%00'],
    ];
    for (const [name, method, path] of nul) {
      it(`refuses a NUL byte in ${name}`, async () => {
        const res = await send(method, path, method === 'POST' ? '{}' : undefined);
        expect(res.status).toBe(400);
        expect(res.json().error.message).toMatch(/expected no NUL characters/);
        await listingsAnswer();
      });
    }

    it('refuses a NUL byte in a string of a worker body', async () => {
      const res = await send(
        'POST',
        '/api/w/default/worker/heartbeat',
        JSON.stringify({ worker_id: 'w\u0000', tags: 'all', hostname: 'h', job_ids: [], lease_ms: 1000 }),
      );
      expect(res.status).toBe(400);
      expect(res.json().error.message).toMatch(
        /body\.worker_id: expected a non-empty string without NUL characters, got a string with a NUL character/,
      );
    });

    it('answers ?follow=maybe on the logs route with a 400, not an empty reply', async () => {
      const id = await submit();
      const res = await send('GET', `/api/w/default/jobs_u/logs/${id}?follow=maybe`);
      expect(res.status).toBe(400);
      expect(res.json().error.message).toBe('query follow: expected true or false, got "maybe"');
    });
  });

  it('keeps a log line that holds NUL characters, each written as ␀ (U+2400)', async () => {
    const id = await submit();
    await store.appendLogs(id, [{ ts: Date.now(), stream: 'stdout', line: 'before\u0000after\u0000' }]);
    const lines = await store.readLogs(id);
    expect(lines.map((l) => l.line)).toEqual(['before\u2400after\u2400']);
  });
});
