import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request } from 'undici';
import { startServer, type ServerHandle } from '../../lib/server/server.js';
import { SqliteStore } from '../../lib/store/sqlite/sqlite-store.js';
import { tempDb } from '../helpers/engine.js';

/** Finding 10 of the hardening issue, on the server: the root's bounds, syntax errors, and the UI's headers. */
const TOKEN = 'mr_root_headers_admin';

describe('the server keeps to its root, reports syntax errors, and cannot be framed', () => {
  let store: SqliteStore;
  let server: ServerHandle;
  let root: string;
  const auth = { authorization: `Bearer ${TOKEN}` };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'millrace-root-'));
    const outside = mkdtempSync(join(tmpdir(), 'millrace-outside-'));
    writeFileSync(
      join(outside, 'secret.ts'),
      'export async function main(password: string) {\n  return password;\n}\n',
    );
    writeFileSync(
      join(outside, 'secret.flow.yaml'),
      'summary: secret\nvalue:\n  modules: []\nschema:\n  type: object\n  properties: {}\n',
    );
    writeFileSync(join(root, 'ok.ts'), 'export async function main(n: number) {\n  return n;\n}\n');
    writeFileSync(join(root, 'broken.ts'), 'export async function main(n: number {\n  return n;\n}\n');
    symlinkSync(join(outside, 'secret.ts'), join(root, 'link.ts'));
    symlinkSync(join(outside, 'secret.flow.yaml'), join(root, 'link.flow.yaml'));
    mkdirSync(join(root, 'sub'));
    symlinkSync(outside, join(root, 'sub', 'dir'));
    store = new SqliteStore({ file: tempDb() });
    server = await startServer({ store, root, port: 0, adminToken: TOKEN });
  });
  afterAll(async () => {
    await server?.close();
    await store?.close();
  });

  async function get(path: string, headers: Record<string, string> = auth) {
    const res = await request(`${server.url}${path}`, { headers });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  }

  it('answers the signature of a script under the root', async () => {
    const res = await get('/api/w/default/scripts/signature/ok');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text).signature.params).toEqual([{ name: 'n', schema: { type: 'number' }, required: true }]);
  });

  for (const [name, path] of [
    ['a script that is a symlink out of the root', 'link'],
    ['a script in a symlinked directory out of the root', 'sub/dir/secret'],
    ['a flow that is a symlink out of the root', 'link.flow.yaml'],
  ]) {
    it(`refuses ${name}`, async () => {
      const res = await get(`/api/w/default/scripts/signature/${path}`);
      expect(res.status).toBe(404);
      expect(res.text).toMatch(/is a link to .*, outside the project root/);
      expect(res.text).not.toMatch(/password/);
      const run = await request(`${server.url}/api/w/default/jobs/run/p/${path}`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: '{"password":"x"}',
      });
      expect(run.statusCode).toBe(404);
      await run.body.text();
    });
  }

  it('reports a syntax error with file:line instead of inventing a parameter', async () => {
    const res = await get('/api/w/default/scripts/signature/broken');
    expect(res.status).toBe(422);
    const body = JSON.parse(res.text) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('SCRIPT_SYNTAX');
    expect(body.error.message).toMatch(/broken\.ts:1:38 has a syntax error: ',' expected/);
    expect(res.text).not.toMatch(/arg0/);
  });

  it('forbids framing of the UI and of every answer, with the usual security headers', async () => {
    for (const path of ['/', '/app.js', '/nope.js', '/api/version', '/api/w/default/jobs/list']) {
      const res = await get(path);
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
    }
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
  });
});
