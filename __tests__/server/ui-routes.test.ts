import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request } from 'undici';
import { startServer, type ServerHandle } from '../../lib/server/server.js';
import { SqliteStore } from '../../lib/store/sqlite/sqlite-store.js';
import { Worker } from '../../lib/worker/worker.js';
import { tempDb } from '../helpers/engine.js';

const TOKEN = 'mr_ui_routes_admin';

/** A project root with scripts the run form should list, and files it should not. */
function makeRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'millrace-ui-root-'));
  const write = (path: string, text: string) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  write(
    'a.ts',
    'export async function main(n: number) {\n  console.log(`one ${n}`);\n  console.log(`two ${n}`);\n  return n * 2;\n}\n',
  );
  write('jobs/b.mts', 'const main = (x: string) => x;\nexport { main };\n');
  write('jobs/c.ts', 'export const main = async () => 1;\n');
  write('helper.ts', 'export function notMain() { return 1; }\n');
  write('types.d.ts', 'export function main(): void;\n');
  write('node_modules/dep/index.ts', 'export function main() {}\n');
  write('.cache/d.ts', 'export function main() {}\n');
  write('dist/e.js', 'export function main() {}\n');
  return root;
}

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await request(url, { headers });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

describe('what the web UI needs from the server', () => {
  let store: SqliteStore;
  let server: ServerHandle;
  let worker: Worker;
  let plain: ServerHandle;
  const auth = { authorization: `Bearer ${TOKEN}` };

  beforeAll(async () => {
    const root = makeRoot();
    store = new SqliteStore({ file: tempDb() });
    server = await startServer({ store, root, port: 0, adminToken: TOKEN, uiSession: true });
    worker = new Worker({ backend: server.coordinator, root, tags: 'all', concurrency: 1, threads: 1 });
    plain = await startServer({ store, root, port: 0, adminToken: TOKEN });
  });
  afterAll(async () => {
    await worker?.close();
    await server?.close();
    await plain?.close();
    await store?.close();
  });

  it('serves the built UI at / with a policy that allows only this server', async () => {
    const page = await get(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.text).toContain('<script type="module" src="/app.js">');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    const script = await get(`${server.url}/app.js`);
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    // No script, style or font is fetched from elsewhere.
    expect(page.text + (await get(`${server.url}/style.css`)).text).not.toMatch(/https?:\/\//);
  });

  it('answers 404 for UI files that do not exist, and keeps them out of the API', async () => {
    expect((await get(`${server.url}/nope.js`)).status).toBe(404);
    expect((await get(`${server.url}/../package.json`)).status).toBe(404);
    expect((await get(`${server.url}/%2e%2e/%2e%2e/package.json`)).status).toBe(404);
    const api = await get(`${server.url}/api/w/default/nope`, auth);
    expect(api.status).toBe(404);
    expect(JSON.parse(api.text)).toEqual({
      error: { code: 'NOT_FOUND', message: 'No route for GET /api/w/default/nope' },
    });
  });

  it('hands a UI session token to loopback clients only when started with uiSession', async () => {
    const res = await get(`${server.url}/api/ui/session`);
    expect(res.status).toBe(200);
    const { token, workspace } = JSON.parse(res.text) as { token: string; workspace: string };
    expect(workspace).toBe('default');
    // The token works on the API, and was never written to the store.
    expect((await get(`${server.url}/api/w/default/workers`, { authorization: `Bearer ${token}` })).status).toBe(200);
    expect((await get(`${plain.url}/api/w/default/workers`, { authorization: `Bearer ${token}` })).status).toBe(401);

    // Not under another name (a rebound DNS name of a foreign page).
    const rebound = await request(`${server.url}/api/ui/session`, { headers: { host: 'evil.example' } });
    expect(rebound.statusCode).toBe(404);
    await rebound.body.text();

    const refused = await get(`${plain.url}/api/ui/session`);
    expect(refused.status).toBe(404);
    expect(JSON.parse(refused.text).error.code).toBe('NO_UI_SESSION');
  });

  it('lists the scripts under the root that export a main', async () => {
    const res = await get(`${server.url}/api/w/default/scripts/list`, auth);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({
      runnables: [
        { path: 'a', kind: 'script' },
        { path: 'jobs/b', kind: 'script' },
        { path: 'jobs/c', kind: 'script' },
      ],
      truncated: false,
    });
    expect((await get(`${server.url}/api/w/default/scripts/list`)).status).toBe(401);
  });

  it('streams a job log as server-sent events when asked', async () => {
    const submitted = await request(`${server.url}/api/w/default/jobs/run_wait_result/p/a`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ n: 21 }),
    });
    expect(submitted.statusCode).toBe(200);
    expect(await submitted.body.json()).toBe(42);
    const [job] = JSON.parse(
      (await get(`${server.url}/api/w/default/jobs/records?roots_only=true&script_path=a`, auth)).text,
    ) as { id: string }[];

    const sse = await get(`${server.url}/api/w/default/jobs_u/logs/${job.id}?follow=true`, {
      ...auth,
      accept: 'text/event-stream',
    });
    expect(sse.headers['content-type']).toBe('text/event-stream');
    const events = sse.text.split('\n\n').filter(Boolean);
    expect(events.every((e) => e.startsWith('data: '))).toBe(true);
    const parsed = events.map((e) => JSON.parse(e.slice(6)) as { line?: { line: string }; end?: true });
    expect(parsed.map((e) => e.line?.line ?? 'END')).toEqual(['one 21', 'two 21', 'END']);

    // Without the header: NDJSON, as before.
    const ndjson = await get(`${server.url}/api/w/default/jobs_u/logs/${job.id}`, auth);
    expect(ndjson.headers['content-type']).toBe('application/x-ndjson');
    expect(ndjson.text.trim().split('\n')).toHaveLength(3);
  });
});
