import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { HttpEngine } from '../../lib/engine/http-engine.js';
import { startServerProcess, startWorkerProcess, TEST_TOKEN, type Proc } from '../helpers/processes.js';

describe('a server and two workers on loopback', () => {
  let server: { proc: Proc; url: string };
  let cpu: { proc: Proc; id: string };
  let plain: { proc: Proc; id: string };
  let engine: HttpEngine;

  beforeAll(async () => {
    server = await startServerProcess();
    [cpu, plain] = await Promise.all([
      startWorkerProcess(server.url, ['--tag', 'cpu']),
      startWorkerProcess(server.url),
    ]);
    engine = new HttpEngine({ server: server.url, token: TEST_TOKEN });
  });
  afterAll(async () => {
    await engine?.close();
    await Promise.all([cpu?.proc.kill(), plain?.proc.kill()]);
    await server?.proc.kill();
  });

  it('routes heavyCompute (tag cpu) to the cpu worker, records it, and streams children’s lines into the root log', async () => {
    const job = await engine.submit({ path: 'examples/heavy', args: { n: 3 } });
    const lines: { line: string; source: string | null }[] = [];
    for await (const l of engine.logs(job.id, { follow: true }))
      lines.push({ line: l.line, source: l.source?.name ?? null });
    const root = await engine.wait(job.id);
    expect(root).toMatchObject({ status: 'success', result: 'OK', worker: plain.id });
    const children = await engine.descendants(job.id);
    expect(children).toHaveLength(4);
    for (const c of children.filter((c) => c.entrypoint === 'heavyCompute'))
      expect(c).toMatchObject({ tag: 'cpu', worker: cpu.id, status: 'success' });
    expect(children.find((c) => c.entrypoint === 'sendResult')).toMatchObject({ tag: 'default', worker: plain.id });
    expect(lines.filter((l) => l.source === 'heavyCompute')).toHaveLength(3);
    expect(lines.find((l) => l.line.startsWith('Sending result'))?.source).toBe('sendResult');

    const workers = await engine.workers();
    expect(workers.map((w) => [w.id, w.tags]).sort()).toEqual(
      [
        [cpu.id, ['cpu']],
        [plain.id, ['default']],
      ].sort(),
    );
  });
});

describe('kill -9 of a worker in the middle of a task', () => {
  it('returns the task to the queue when its lease runs out; another worker completes it and the run succeeds', async () => {
    const server = await startServerProcess(['--sweep-ms', '200', '--restart-grace-ms', '0']);
    const workers = await Promise.all([0, 1].map(() => startWorkerProcess(server.url, ['--lease-ms', '3000'])));
    const engine = new HttpEngine({ server: server.url, token: TEST_TOKEN });
    const seen: number[] = [];
    const held: ServerResponse[] = [];
    const gate = createServer((req, res) => {
      const pid = Number(new URL(req.url!, 'http://x').searchParams.get('pid'));
      seen.push(pid);
      if (seen.length === 1) {
        held.push(res);
        workers.find((w) => w.proc.child.pid === pid)!.proc.child.kill('SIGKILL');
      } else {
        res.end(String(pid));
      }
    });
    await new Promise<void>((r) => gate.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(gate.address() as AddressInfo).port}/`;
      const job = await engine.submit({ path: '__tests__/fixtures/hold', args: { url } });
      const root = await engine.wait(job.id);
      expect(root.status).toBe('success');
      expect(seen).toHaveLength(2);
      expect(seen[1]).not.toBe(seen[0]);
      expect(root.result).toBe(`released in process ${seen[1]}`);
      const [hold] = await engine.descendants(job.id);
      const attempts = await engine.attempts(hold.id);
      expect(hold).toMatchObject({ status: 'success', attempt: 2 });
      expect(attempts.map((a) => [a.attempt, a.status, a.error?.code ?? null])).toEqual([
        [1, 'failure', 'LEASE_EXPIRED'],
        [2, 'success', null],
      ]);
    } finally {
      for (const res of held) res.destroy();
      gate.close();
      await engine.close();
      await Promise.all(workers.map((w) => w.proc.kill()));
      await server.proc.kill();
    }
  });
});
