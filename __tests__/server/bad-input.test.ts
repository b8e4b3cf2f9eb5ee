import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request } from 'undici';
import { startServerProcess, TEST_TOKEN, type Proc } from '../helpers/processes.js';

/** Every bad request gets a JSON error with the right status, and the server keeps serving. */
describe('bad input over HTTP', () => {
  let server: { proc: Proc; url: string };
  beforeAll(async () => {
    server = await startServerProcess(['--body-limit', '1024']);
  });
  afterAll(async () => {
    await server?.proc.kill();
  });

  async function send(method: 'GET' | 'POST', path: string, body?: string) {
    const res = await request(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body,
    });
    const text = await res.body.text();
    return {
      status: res.statusCode,
      type: String(res.headers['content-type']),
      json: JSON.parse(text) as { error: { code: string; message: string } },
    };
  }

  const cases: [string, 'GET' | 'POST', string, string | undefined, number, RegExp][] = [
    ['malformed JSON', 'POST', '/api/w/default/jobs/run/p/examples/heavy', '{"n": 3', 400, /Malformed JSON body/],
    [
      'args that are not an object',
      'POST',
      '/api/w/default/jobs/run/p/examples/heavy',
      '[3]',
      400,
      /body \(the args\): expected a JSON object, got an array/,
    ],
    [
      'an arg of the wrong type',
      'POST',
      '/api/w/default/jobs/run/p/examples/heavy',
      '{"n":"three"}',
      422,
      /n: expected a number, got string "three"/,
    ],
    ['a missing arg', 'POST', '/api/w/default/jobs/run/p/examples/heavy', '{}', 422, /n is required/],
    [
      'an unknown script path',
      'POST',
      '/api/w/default/jobs/run/p/examples/nope',
      '{}',
      404,
      /Unknown script "examples\/nope"/,
    ],
    [
      'a script with no main',
      'POST',
      '/api/w/default/jobs/run/p/__tests__/fixtures/no-main',
      '{}',
      422,
      /has no exported function main/,
    ],
    [
      'a bad query parameter',
      'POST',
      '/api/w/default/jobs/run/p/examples/heavy?scheduled_in_secs=soon',
      '{"n":1}',
      400,
      /query scheduled_in_secs: expected a number from 0 to 315360000, got "soon"/,
    ],
    ['an unknown job id', 'GET', '/api/w/default/jobs_u/get/nosuchjob', undefined, 404, /No job with id "nosuchjob"/],
    [
      'an unknown job id to cancel',
      'POST',
      '/api/w/default/jobs_u/queue/cancel/nosuchjob',
      '{}',
      404,
      /No job with id "nosuchjob"/,
    ],
    [
      'an unknown route',
      'GET',
      '/api/w/default/nothing/here',
      undefined,
      404,
      /No route for GET \/api\/w\/default\/nothing\/here/,
    ],
    [
      'a wrong method',
      'GET',
      '/api/w/default/jobs/run/p/examples/heavy',
      undefined,
      405,
      /GET is not allowed .* \(allowed: POST\)/,
    ],
    [
      'a worker body of wrong types',
      'POST',
      '/api/w/default/worker/claim',
      '{"worker_id": 5}',
      400,
      /body.worker_id: expected a non-empty string without NUL characters, got number 5/,
    ],
    [
      'a body over the limit',
      'POST',
      '/api/w/default/jobs/run/p/examples/heavy',
      JSON.stringify({ n: 1, pad: 'x'.repeat(2000) }),
      413,
      /larger than the limit of 1024 bytes/,
    ],
  ];
  for (const [name, method, path, body, status, message] of cases) {
    it(name, async () => {
      const res = await send(method, path, body);
      expect(res.status).toBe(status);
      expect(res.type).toMatch(/application\/json/);
      expect(res.json.error.message).toMatch(message);
      // And it still serves.
      expect((await send('GET', '/api/w/default/jobs/list')).status).toBe(200);
    });
  }

  it('a body over the limit sent in chunks, without a length, is cut off with 413', async () => {
    const chunks = Readable.from(
      (async function* () {
        for (let i = 0; i < 10; i++) yield Buffer.alloc(512, 'x');
      })(),
    );
    const res = await request(`${server.url}/api/w/default/jobs/run/p/examples/heavy`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: chunks,
    });
    expect(res.statusCode).toBe(413);
    expect(((await res.body.json()) as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('a client that disconnects mid-stream does not disturb the server', async () => {
    const created = await request(`${server.url}/api/w/default/jobs/run/p/examples/heavy`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: '{"n":1}',
    });
    const id = await created.body.text();
    // No worker runs it, so the log stream stays open; the client reads its head and goes away.
    await new Promise<void>((resolve, reject) => {
      const port = Number(new URL(server.url).port);
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(
          `GET /api/w/default/jobs_u/getupdate_sse/${id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_TOKEN}\r\n\r\n`,
        );
      });
      socket.once('data', (d) => {
        expect(d.toString()).toMatch(/^HTTP\/1.1 200/);
        socket.destroy();
        resolve();
      });
      socket.once('error', reject);
    });
    const res = await send('GET', `/api/w/default/jobs_u/get/${id}`);
    expect(res.status).toBe(200);
  });
});
