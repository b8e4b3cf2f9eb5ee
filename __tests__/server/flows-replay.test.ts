import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { HttpEngine } from '../../lib/engine/http-engine.js';
import { startServerProcess, startWorkerProcess, TEST_TOKEN } from '../helpers/processes.js';

describe('durable replay of a flow whose worker died', () => {
  it('re-runs the flow job on another worker, re-attaching to the step that had finished instead of running it again', async () => {
    const server = await startServerProcess(['--sweep-ms', '200']);
    const first = await startWorkerProcess(server.url, ['--lease-ms', '1500', '--concurrency', '4']);
    let second: Awaited<ReturnType<typeof startWorkerProcess>> | undefined;
    const engine = new HttpEngine({ server: server.url, token: TEST_TOKEN });
    const held: ServerResponse[] = [];
    const seen: number[] = [];
    const gate = createServer((req, res) => {
      const pid = Number(new URL(req.url!, 'http://x').searchParams.get('pid'));
      seen.push(pid);
      if (seen.length === 1) {
        // The flow job and its steps run on the first worker: it dies with the "held" step in flight.
        held.push(res);
        first.proc.child.kill('SIGKILL');
        // A longer lease for the survivor: its first heartbeat may come late on a loaded machine.
        void startWorkerProcess(server.url, ['--lease-ms', '5000', '--concurrency', '4']).then((w) => (second = w));
      } else {
        res.end(String(pid));
      }
    });
    await new Promise<void>((r) => gate.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(gate.address() as AddressInfo).port}/`;
      const job = await engine.submit({ path: '__tests__/fixtures/flows/replay.flow.yaml', args: { url } });
      const root = await engine.wait(job.id);
      expect(root).toMatchObject({ kind: 'flow', status: 'success' });
      // Every attempt before the last lost its worker's lease (the first: the killed worker).
      const attempts = await engine.attempts(job.id);
      expect(attempts.length).toBeGreaterThanOrEqual(2);
      expect(attempts.map((a) => a.error?.code ?? a.status)).toEqual([
        ...attempts.slice(1).map(() => 'LEASE_EXPIRED'),
        'success',
      ]);
      expect(seen).toEqual([first.proc.child.pid, second!.proc.child.pid]);
      // "first" ran once, in the dead worker; the re-run flow got its recorded result.
      expect(root.result).toEqual({ first: first.proc.child.pid, released: second!.proc.child.pid });
      const steps = await engine.descendants(job.id);
      expect(steps.map((s) => [s.entrypoint, s.status, s.attempt]).sort()).toEqual([
        ['first', 'success', 1],
        ['held', 'success', steps.find((s) => s.entrypoint === 'held')!.attempt],
      ]);
      expect(steps.find((s) => s.entrypoint === 'held')!.attempt).toBeGreaterThanOrEqual(2);
      expect(steps.map((s) => s.callKey).sort()).toEqual(['@module:first:0', '@module:held:0']);
    } finally {
      for (const res of held) res.destroy();
      gate.close();
      await engine.close();
      await second?.proc.kill();
      await first.proc.kill();
      await server.proc.kill();
    }
  });
});
