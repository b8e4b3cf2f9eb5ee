import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { request } from 'undici';
import { tempDb } from '../helpers/engine.js';
import { freshSchema, testPgUrl } from '../helpers/pg.js';
import { startMillrace, startServerProcess, TEST_TOKEN, type Proc } from '../helpers/processes.js';

async function call(url: string, method: 'GET' | 'DELETE', path: string, token: string) {
  const res = await request(`${url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  const text = await res.body.text();
  const json = String(res.headers['content-type'] ?? '').includes('json') ? JSON.parse(text) : undefined;
  return { status: res.statusCode, text, json };
}

const list = (url: string, token: string) => call(url, 'GET', '/api/w/default/jobs/list', token);

/** Runs a `millrace` command to its end: its exit code and output. */
async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  const proc = startMillrace(args, env);
  const code = await proc.exited;
  return { code, out: proc.output() };
}

async function createToken(db: string, label: string): Promise<string> {
  const { code, out } = await cli(['token', 'create', '--db', db, '--label', label]);
  expect(code).toBe(0);
  return out.trim();
}

/**
 * Asks `url` with `token` until it is refused (revoked). Fails if a request sent more than
 * `boundMs` after `since` (a moment before the revocation) is still accepted.
 */
async function refusedWithin(url: string, token: string, since: number, boundMs: number): Promise<void> {
  for (;;) {
    const sent = Date.now();
    const res = await list(url, token);
    if (res.status === 401) {
      expect(res.json.error.code).toBe('TOKEN_REVOKED');
      return;
    }
    expect(res.status).toBe(200);
    if (sent - since > boundMs)
      throw new Error(`${url} still accepted the revoked token ${sent - since} ms after it was revoked`);
    await new Promise((r) => setTimeout(r, 10)); // a bounded poll: nothing announces a revocation to a client
  }
}

describe('MILLRACE_TOKEN rotation', () => {
  it('a restart with a new MILLRACE_TOKEN revokes the old one; the old one cannot come back', async () => {
    const db = tempDb();
    const [a, b] = ['mr_first_rotation_secret', 'mr_second_rotation_secret'];
    const first = startMillrace(['server', '--port', '0', '--db', db], { MILLRACE_TOKEN: a });
    const [, url1] = await first.waitFor(/listening on (http:\/\/[\d.:]+)/);
    expect((await list(url1, a)).status).toBe(200);
    await first.kill();

    const second = startMillrace(['server', '--port', '0', '--db', db], { MILLRACE_TOKEN: b });
    const [, url2] = await second.waitFor(/listening on (http:\/\/[\d.:]+)/);
    try {
      const old = await list(url2, a);
      expect(old.status).toBe(401);
      expect(old.json.error).toMatchObject({ code: 'TOKEN_REVOKED' });
      expect(old.json.error.message).toMatch(/^This token \(mr_first_r, "MILLRACE_TOKEN"\) was revoked at \d{4}-/);
      expect((await list(url2, b)).status).toBe(200);
    } finally {
      await second.kill();
    }

    const listed = await cli(['token', 'list', '--json', '--db', db]);
    expect(listed.code).toBe(0);
    const tokens = JSON.parse(listed.out) as {
      token_prefix: string;
      scope: string;
      from_env: boolean;
      revoked_at: string | null;
    }[];
    expect(tokens.map((t) => [t.token_prefix, t.scope, t.from_env, t.revoked_at !== null])).toEqual([
      [a.slice(0, 10), 'admin', true, true],
      [b.slice(0, 10), 'admin', true, false],
    ]);

    const back = await cli(['server', '--port', '0', '--db', db], { MILLRACE_TOKEN: a });
    expect(back.code).toBe(2);
    expect(back.out).toMatch(
      /error: MILLRACE_TOKEN \(mr_first_r…\) was revoked at \S+: set MILLRACE_TOKEN to a new secret/,
    );
    expect(back.out).not.toMatch(/\n\s+at /);
  });
});

describe('token list and revoke', () => {
  let server: { proc: Proc; url: string; db: string };
  beforeAll(async () => {
    server = await startServerProcess();
  });
  afterAll(async () => {
    await server?.proc.kill();
  });

  it('the CLI lists tokens without their secrets and revokes one by id; the server refuses it within a second', async () => {
    const token = await createToken(server.db, 'ci deploys');
    expect((await list(server.url, token)).status).toBe(200);
    const listed = await cli(['token', 'list', '--db', server.db]);
    expect(listed.code).toBe(0);
    expect(listed.out).not.toContain(token);
    const line = listed.out.split('\n').find((l) => l.includes('"ci deploys"'))!;
    expect(line).toMatch(
      new RegExp(
        `^[0-9a-f]{12}  ${token.slice(0, 10)}  workspace  workspace default  "ci deploys"  created \\S+  (last used \\S+|never used)  active$`,
      ),
    );
    const id = line.slice(0, 12);

    const since = Date.now();
    const revoked = await cli(['token', 'revoke', id.slice(0, 8), '--db', server.db]);
    expect(revoked).toEqual({ code: 0, out: `revoked token ${id} (ci deploys)\n` });
    await refusedWithin(server.url, token, since, 1000);

    const again = await cli(['token', 'revoke', id, '--db', server.db]);
    expect(again.out).toMatch(new RegExp(`^token ${id} \\(ci deploys\\) was already revoked at \\S+\\n$`));
    expect((await cli(['token', 'list', '--db', server.db])).out).toMatch(new RegExp(`^${id} .* revoked \\S+$`, 'm'));
  });

  it('the CLI says what it expected, without a stack, for a token it cannot find', async () => {
    for (const [ref, message] of [
      [
        'mr_nosuchtoken',
        /error: No token matches "mr_nosuchtoken": expected a token id or prefix as `millrace token list` shows it/,
      ],
      ['abc', /error: Token "abc" is ambiguous: expected at least 6 characters of the id, got 3/],
    ] as const) {
      const res = await cli(['token', 'revoke', ref, '--db', server.db]);
      expect(res.code).toBe(2);
      expect(res.out).toMatch(message);
      expect(res.out).not.toMatch(/\n\s+at /);
    }
  });

  it('admin tokens list and revoke over HTTP (Windmill’s routes); a revoked token is refused by this server at once', async () => {
    const token = await createToken(server.db, 'to revoke over http');
    expect((await list(server.url, token)).status).toBe(200);

    const forbidden = await call(server.url, 'GET', '/api/users/tokens/list', token);
    expect(forbidden.status).toBe(403);
    expect(forbidden.json.error.message).toMatch(
      /Tokens are managed with an admin token; this one \("to revoke over http"\) is a workspace token/,
    );

    const all = await call(server.url, 'GET', '/api/users/tokens/list', TEST_TOKEN);
    expect(all.status).toBe(200);
    expect(all.text).not.toContain(token);
    expect(all.text).not.toContain(TEST_TOKEN);
    const listed = (all.json as { token_prefix: string; label: string; scope: string }[]).find(
      (t) => t.label === 'to revoke over http',
    );
    expect(listed).toMatchObject({
      token_prefix: token.slice(0, 10),
      scope: 'workspace',
      revoked_at: null,
      from_env: false,
    });

    const gone = await call(server.url, 'DELETE', `/api/users/tokens/delete/${token.slice(0, 10)}`, TEST_TOKEN);
    expect(gone).toMatchObject({ status: 200, text: expect.stringMatching(/^revoked token [0-9a-f]{12}$/) });
    expect((await list(server.url, token)).status).toBe(401);
    const unknown = await call(server.url, 'DELETE', '/api/users/tokens/delete/mr_unknown', TEST_TOKEN);
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe('UNKNOWN_TOKEN');
  });
});

describe('revocation on two servers over one PostgreSQL', () => {
  let admin: pg.Client;
  let db: string;
  const procs: Proc[] = [];

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: testPgUrl() });
    await admin.connect();
    const name = freshSchema('mr');
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(testPgUrl());
    url.pathname = `/${name}`;
    db = url.toString();
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill()));
    await admin.query(`DROP DATABASE IF EXISTS ${new URL(db).pathname.slice(1)} WITH (FORCE)`);
    await admin.end();
  });

  it('a token revoked through one server, or with the CLI, is refused by the other within a second', async () => {
    const s1 = await startServerProcess([], db);
    const s2 = await startServerProcess([], db);
    procs.push(s1.proc, s2.proc);
    const [viaHttp, viaCli] = [
      await createToken(db, 'revoked over http'),
      await createToken(db, 'revoked with the cli'),
    ];
    // Both servers have accepted (and so remember) both tokens.
    for (const s of [s1, s2]) for (const t of [viaHttp, viaCli]) expect((await list(s.url, t)).status).toBe(200);

    const since = Date.now();
    expect((await call(s1.url, 'DELETE', `/api/users/tokens/delete/${viaHttp.slice(0, 10)}`, TEST_TOKEN)).status).toBe(
      200,
    );
    expect((await list(s1.url, viaHttp)).status).toBe(401);
    await refusedWithin(s2.url, viaHttp, since, 1000);

    const cliSince = Date.now();
    expect((await cli(['token', 'revoke', viaCli, '--db', db])).code).toBe(0);
    await Promise.all([refusedWithin(s1.url, viaCli, cliSince, 1000), refusedWithin(s2.url, viaCli, cliSince, 1000)]);
  });
});
