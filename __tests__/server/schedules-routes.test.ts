import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request } from 'undici';
import { startServer, type ServerHandle } from '../../lib/server/server.js';
import { SqliteStore } from '../../lib/store/sqlite/sqlite-store.js';
import type { WireSchedule } from '../../lib/http/schedules.js';
import { REPO_ROOT, tempDb } from '../helpers/engine.js';

const TOKEN = 'mr_schedule_routes_token';

/** Windmill's schedule routes on a server (SQLite): their shapes, and a 4xx naming the field for every bad input. */
describe('the schedule routes', () => {
  let server: ServerHandle;
  let store: SqliteStore;
  beforeAll(async () => {
    store = new SqliteStore({ file: tempDb() });
    server = await startServer({ store, root: REPO_ROOT, port: 0, adminToken: TOKEN });
  });
  afterAll(async () => {
    await server.close();
    await store.close();
  });

  async function send(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) {
    const res = await request(`${server.url}/api/w/default/schedules/${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    const json = String(res.headers['content-type']).startsWith('application/json')
      ? (JSON.parse(text) as unknown)
      : text;
    return { status: res.statusCode, json };
  }

  const good = {
    path: 'nightly',
    schedule: '0 0 3 * * *',
    timezone: 'Europe/Paris',
    script_path: '__tests__/fixtures/tick',
    args: { label: 'night' },
  };

  it('creates, lists, gets, disables, enables and deletes in Windmill’s shapes', async () => {
    expect(await send('POST', 'create', good)).toEqual({ status: 201, json: 'nightly' });
    const listed = (await send('GET', 'list')).json as WireSchedule[];
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({
      path: 'nightly',
      schedule: '0 0 3 * * *',
      timezone: 'Europe/Paris',
      script_path: '__tests__/fixtures/tick',
      is_flow: false,
      args: { label: 'night' },
      enabled: true,
      last_slot: null,
      last_job: null,
      last_runs: [],
    });
    // 03:00 in Paris, the next one after now.
    const next = new Date(listed[0].next_fire!);
    expect(next.getTime()).toBeGreaterThan(Date.now());
    expect(
      new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hour: '2-digit', minute: '2-digit' }).format(next),
    ).toBe('03:00');

    const off = await send('POST', 'setenabled/nightly', { enabled: false });
    expect(off.status).toBe(200);
    expect(off.json).toMatchObject({ path: 'nightly', enabled: false, next_fire: null });
    expect((await send('GET', 'get/nightly')).json).toMatchObject({ enabled: false });
    expect((await send('POST', 'setenabled/nightly', { enabled: true })).json).toMatchObject({ enabled: true });
    expect(await send('DELETE', 'delete/nightly')).toEqual({ status: 200, json: 'schedule nightly deleted' });
    expect((await send('GET', 'list')).json).toEqual([]);
  });

  it('creates a schedule paused when enabled is false', async () => {
    expect((await send('POST', 'create', { ...good, path: 'later', enabled: false })).status).toBe(201);
    expect((await send('GET', 'get/later')).json).toMatchObject({ enabled: false, next_fire: null });
    await send('DELETE', 'delete/later');
  });

  const bad: [string, Record<string, unknown>, number, string, RegExp][] = [
    [
      'a cron of three fields',
      { ...good, schedule: '* * *' },
      400,
      'BAD_SCHEDULE',
      /^body\.schedule: expected five fields .* got "\* \* \*" \(3 fields\)/,
    ],
    [
      'a cron field out of range',
      { ...good, schedule: '0 99 * * *' },
      400,
      'BAD_SCHEDULE',
      /^body\.schedule: "0 99 \* \* \*" is not a valid cron expression/,
    ],
    [
      'an unknown time zone',
      { ...good, timezone: 'Mars/Olympus' },
      400,
      'BAD_SCHEDULE',
      /^body\.timezone: expected an IANA time zone name such as Europe\/Paris or UTC, got "Mars\/Olympus"/,
    ],
    ['args that are not an object', { ...good, args: [1] }, 400, 'BAD_SCHEDULE', /^body\.args: expected a JSON object/],
    [
      'args that do not fit main',
      { ...good, args: { label: 5 } },
      400,
      'BAD_ARGS',
      /^body\.args: .*label: expected a string, got number 5/,
    ],
    [
      'a name with a space',
      { ...good, path: 'two words' },
      400,
      'BAD_SCHEDULE',
      /^body\.path: expected up to 200 letters, digits/,
    ],
    [
      'a name with an empty segment',
      { ...good, path: 'f//x' },
      400,
      'BAD_SCHEDULE',
      /^body\.path: expected .* got string "f\/\/x"/,
    ],
    ['no cron', { ...good, schedule: undefined }, 400, 'BAD_REQUEST', /^body\.schedule: expected a non-empty string/],
    ['an unknown script', { ...good, script_path: 'nope/nothing' }, 404, 'UNKNOWN_SCRIPT', /nope\/nothing/],
  ];
  for (const [name, body, status, code, message] of bad) {
    it(`refuses ${name} with ${status} ${code}`, async () => {
      const res = await send('POST', 'create', body);
      expect(res.status).toBe(status);
      const error = (res.json as { error: { code: string; message: string } }).error;
      expect(error.code).toBe(code);
      expect(error.message).toMatch(message);
      expect((await send('GET', 'list')).json).toEqual([]);
    });
  }

  it('answers 409 to a name taken, 404 to an unknown name, 400 to a bad enabled', async () => {
    await send('POST', 'create', { ...good, path: 'taken' });
    const again = await send('POST', 'create', { ...good, path: 'taken' });
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({
      error: { code: 'SCHEDULE_EXISTS', message: expect.stringContaining('A schedule named "taken" exists already') },
    });
    for (const [method, path, body] of [
      ['GET', 'get/ghost', undefined],
      ['POST', 'setenabled/ghost', { enabled: false }],
      ['DELETE', 'delete/ghost', undefined],
    ] as const) {
      const res = await send(method, path, body);
      expect(res.status).toBe(404);
      expect(res.json).toMatchObject({
        error: {
          code: 'UNKNOWN_SCHEDULE',
          message: 'No schedule named "ghost": see the names with millrace schedule list',
        },
      });
    }
    const res = await send('POST', 'setenabled/taken', { enabled: 'no' });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: { message: 'body.enabled: expected true or false, got "no"' } });
    await send('DELETE', 'delete/taken');
  });
});
