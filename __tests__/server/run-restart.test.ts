import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpEngine } from '../../lib/engine/http-engine.js';
import { ServerUnreachableError } from '../../lib/http/api-client.js';
import { startMillrace, startServerProcess, startWorkerProcess, TEST_TOKEN, type Proc } from '../helpers/processes.js';

/**
 * `millrace run --server … --json` across a kill -9 and restart of the server: it prints the
 * job id first, reconnects, follows the log from its cursor and exits by the run's outcome.
 */

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An HTTP gate the job waits at: `reached` resolves at the first request, held until `open()`. */
async function gate() {
  const held: ServerResponse[] = [];
  let opened = false;
  let reachedGate!: () => void;
  const reached = new Promise<void>((r) => (reachedGate = r));
  const server = createServer((_req, res) => {
    if (opened) return void res.end('open');
    held.push(res);
    reachedGate();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    reached,
    open() {
      opened = true;
      for (const res of held.splice(0)) res.end('open');
    },
  };
}

const N = 50;

describe('millrace run --server when the server restarts mid-run', () => {
  it('prints the job id first, keeps following, prints the result and exits 0; every line once', async () => {
    const first = await startServerProcess();
    const port = new URL(first.url).port;
    const worker = await startWorkerProcess(first.url);
    cleanups.push(() => worker.proc.kill());
    const g = await gate();

    const run: Proc = startMillrace([
      'run',
      '--server',
      first.url,
      '--token',
      TEST_TOKEN,
      '--json',
      '__tests__/fixtures/restart-log.ts',
      '--gate',
      g.url,
    ]);
    cleanups.push(() => run.kill());
    let stdout = '';
    run.child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    let stderr = '';
    run.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));

    // The client has printed every line written before the kill, and the job waits at the gate.
    await g.reached;
    await run.waitFor(new RegExp(`^before ${N - 1}$`, 'm'));
    first.proc.child.kill('SIGKILL');
    await first.proc.exited;
    g.open(); // the job goes on while the server is down; its worker reports the lines once it is back
    const second = startMillrace(['server', '--port', port, '--db', first.db], { MILLRACE_TOKEN: TEST_TOKEN });
    cleanups.push(() => second.kill());
    await second.waitFor(/listening on/);

    expect(await run.exited).toBe(0);
    const out = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(out).toHaveLength(2);
    expect(out[0]).toEqual({ job_id: expect.stringMatching(/^[0-9a-z]{20}$/) });
    expect(out[1]).toEqual({ job_id: out[0].job_id, status: 'success', result: 'finished' });
    const lines = stderr.split('\n').filter((l) => /^(before|after) \d+$/.test(l));
    const expected = [
      ...Array.from({ length: N }, (_, i) => `before ${i}`),
      ...Array.from({ length: N }, (_, i) => `after ${i}`),
    ];
    expect(lines).toEqual(expected);
  }, 180_000);
});

/** A loopback port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('a server that does not come back', () => {
  it('a log follower gives up after its reconnect window with ServerUnreachableError', async () => {
    const engine = new HttpEngine({
      server: `http://127.0.0.1:${await closedPort()}`,
      token: TEST_TOKEN,
      reconnectMs: 300,
    });
    cleanups.push(() => engine.close());
    const read = async () => {
      for await (const line of engine.logs('nojob', { follow: true })) throw new Error(`unexpected line ${line.line}`);
    };
    const err = await read().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServerUnreachableError);
    expect((err as Error).message).toMatch(/could not reach it again within 0.3 s/);
  });

  it('the CLI exits 3 (not 2, which is refused input) when the server cannot be reached', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const run = startMillrace([
      'run',
      '--server',
      url,
      '--token',
      TEST_TOKEN,
      '--json',
      'examples/heavy.ts',
      '--n',
      '1',
    ]);
    expect(await run.exited).toBe(3);
    expect(run.output()).toMatch(/Cannot reach the millrace server at/);
  });
});
