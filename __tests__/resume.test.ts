import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedEngine } from '../lib/engine/embedded.js';
import type { JobRecord } from '../lib/types.js';
import { REPO_ROOT, tempDb } from './helpers/engine.js';
import { startMillrace } from './helpers/processes.js';

describe('millrace resume', () => {
  it('finishes the run of a killed `millrace run`, replaying what it had recorded', async () => {
    const db = tempDb();
    const counter = join(mkdtempSync(join(tmpdir(), 'millrace-counter-')), 'count.txt');
    writeFileSync(counter, '');
    const held: ServerResponse[] = [];
    let open = false;
    let reached!: () => void;
    const atGate = new Promise<void>((r) => (reached = r));
    const gate = createServer((_req, res) => {
      if (open) return void res.end('open');
      held.push(res);
      reached();
    });
    await new Promise<void>((r) => gate.listen(0, '127.0.0.1', r));
    const gateUrl = `http://127.0.0.1:${(gate.address() as AddressInfo).port}/`;
    try {
      const run = startMillrace([
        'run',
        '--db',
        db,
        '__tests__/fixtures/three-levels.ts',
        '--gate',
        gateUrl,
        '--counter',
        counter,
      ]);
      const [, id] = await run.waitFor(/job ([0-9a-z]{20})/);
      await atGate;
      // Leaf 1.1 is held at the gate; the other leaves go on. Kill once one of them has finished
      // (recorded), so the resume has finished work that it must not run again.
      const watcher = new EmbeddedEngine({ root: REPO_ROOT, db, worker: false });
      try {
        for (const deadline = Date.now() + 30_000; ;) {
          const finished = (await watcher.descendants(id)).filter((j) => j.status === 'success');
          if (finished.length > 0) break;
          if (Date.now() > deadline) throw new Error('no leaf finished within 30 s while leaf 1.1 was held');
          await new Promise((r) => setTimeout(r, 20));
        }
      } finally {
        await watcher.close();
      }
      run.child.kill('SIGKILL');
      await run.exited;
      for (const res of held.splice(0)) res.destroy();
      open = true;

      const reader = new EmbeddedEngine({ root: REPO_ROOT, db, worker: false });
      let atKill: JobRecord[];
      try {
        expect((await reader.get(id))!.status).toBe('running');
        atKill = await reader.descendants(id);
      } finally {
        await reader.close();
      }

      const resume = startMillrace(['resume', '--db', db, '--json', id.slice(0, 8)]);
      expect(await resume.exited).toBe(0);
      expect(JSON.parse(resume.output().trim().split('\n').at(-1)!)).toMatchObject({
        job_id: id,
        status: 'success',
        result: 99,
      });

      const bodies = readFileSync(counter, 'utf8').trim().split('\n');
      const label = (j: JobRecord) =>
        j.entrypoint === 'leaf'
          ? `leaf ${(j.args as number[])[0]}.${(j.args as number[])[1]}`
          : `middle ${(j.args as number[])[0]}`;
      const doneAtKill = atKill.filter((j) => j.status === 'success');
      expect(doneAtKill.length).toBeGreaterThan(0);
      for (const j of doneAtKill) expect(bodies.filter((b) => b === label(j))).toHaveLength(1);
      expect(new Set(bodies).size).toBe(12);

      const after = new EmbeddedEngine({ root: REPO_ROOT, db, worker: false });
      try {
        const attempts = await after.attempts(id);
        expect(attempts[0]).toMatchObject({ attempt: 1, status: 'failure', error: { code: 'RELEASED' } });
        expect(attempts.at(-1)).toMatchObject({ status: 'success' });
        expect(await after.descendants(id)).toHaveLength(12);
      } finally {
        await after.close();
      }
    } finally {
      gate.closeAllConnections();
      gate.close();
    }
  });
});
