import { expect } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Engine } from '../../lib/engine/engine.js';
import type { JobRecord, LogLine } from '../../lib/types.js';

/** What one job can do to others: the checks shared by the embedded and the server tests. */

/** What __tests__/fixtures/sizes.ts is run with, and what every engine must make of it. */
export const CHATTY_LINES = 50_000;
export const LONG_LINE_BYTES = 11 * 1024 * 1024;
const LINE_LIMIT = 1024 * 1024;

export function counterFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'millrace-counter-')), 'count.txt');
  writeFileSync(file, '');
  return file;
}

async function ownLines(engine: Engine, jobId: string): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  for await (const l of engine.logs(jobId)) if (l.source === null) lines.push(l);
  return lines;
}

/** Runs the sizes fixture to its end on `engine` and checks every size rule. */
export async function expectSizesKept(engine: Engine): Promise<void> {
  const counter = counterFile();
  const job = await engine.submit({
    path: '__tests__/fixtures/sizes',
    args: { counter, lines: CHATTY_LINES, longBytes: LONG_LINE_BYTES },
  });
  const root = await engine.wait(job.id);
  // The error, if any, shows in a failed expectation.
  expect({ status: root.status, result: root.result, error: root.error?.message }).toEqual({
    error: undefined,
    status: 'success',
    result: {
      huge: 'TooLargeError',
      chatty: CHATTY_LINES,
      longLine: LONG_LINE_BYTES,
      tooBig: 'TooLargeError TOO_LARGE',
    },
  });
  const children = await engine.descendants(job.id);
  const byName = (name: string) => children.find((c) => c.entrypoint === name)!;

  // The 11 MiB result failed its job, on the first attempt, and its body ran once.
  const huge = byName('huge');
  expect(huge).toMatchObject({ status: 'failure', attempt: 1, error: { code: 'TOO_LARGE' } });
  expect(huge.error!.message).toMatch(/is 11534338 bytes as JSON, over the limit of 8388608 bytes/);
  expect(await engine.attempts(huge.id)).toHaveLength(1);
  expect(readFileSync(counter, 'utf8')).toBe('huge\n');

  // The call with 9 MiB of args failed in the caller: no child was made for it.
  expect(children.filter((c) => c.entrypoint === 'swallow')).toHaveLength(0);

  // Every line of the job that printed 50,000, once each, in order; one attempt.
  const chatty = byName('chatty');
  // (Attempts with their errors, so that a lost one says why.)
  const attempts = (id: string) =>
    engine.attempts(id).then((list) => list.map((a) => ({ status: a.status, error: a.error?.message })));
  expect(await attempts(chatty.id)).toEqual([{ status: 'success', error: undefined }]);
  expect(chatty).toMatchObject({ status: 'success', attempt: 1 });
  const lines = await ownLines(engine, chatty.id);
  expect(lines).toHaveLength(CHATTY_LINES);
  lines.forEach((l, i) => {
    if (l.line !== `line ${i} of a job that prints many`)
      throw new Error(`line ${i} is ${JSON.stringify(l.line.slice(0, 80))}`);
  });

  // The 11 MiB line arrives cut to the line limit, with a marker saying how much was cut.
  const long = await ownLines(engine, byName('longLine').id);
  expect(long).toHaveLength(2);
  // (Compared by parts: a failed comparison of the whole would print a megabyte.)
  const cut = long[0].line;
  const marker = /… \[cut (\d+) bytes\]$/.exec(cut);
  expect(marker).not.toBeNull();
  const kept = cut.slice(0, marker!.index);
  expect(/^y*$/.test(kept)).toBe(true);
  expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(LINE_LIMIT);
  expect(Buffer.byteLength(cut)).toBeGreaterThan(LINE_LIMIT - 40);
  expect(kept.length + Number(marker![1])).toBe(LONG_LINE_BYTES);
  expect(long[1].line).toBe('after the long line');
}

/** The process.exit scenario, on any engine whose worker has a single executor thread. */
export async function expectExitIsolated(engine: Engine, cleanup: (fn: () => Promise<void>) => void): Promise<void> {
  let reached!: () => void;
  const atGate = new Promise<void>((r) => (reached = r));
  const held: ServerResponse[] = [];
  const gate = createServer((_req, res) => {
    held.push(res);
    reached();
  });
  await new Promise<void>((r) => gate.listen(0, '127.0.0.1', r));
  cleanup(
    () =>
      new Promise<void>((r) => {
        gate.closeAllConnections();
        gate.close(() => r());
      }),
  );
  const url = `http://127.0.0.1:${(gate.address() as AddressInfo).port}/`;
  // The steady run's child is waiting on the gate, on the only thread, when the other run exits.
  const steady = await engine.submit({ path: '__tests__/fixtures/exit', args: { url } });
  await atGate;
  const quitting = await engine.submit({ path: '__tests__/fixtures/exit', args: {} });
  const quit = await engine.wait(quitting.id);
  expect(quit.status).toBe('failure');
  const [quitter] = await engine.descendants(quitting.id);
  expect(quitter).toMatchObject({ entrypoint: 'quitter', status: 'failure', error: { code: 'PROCESS_EXIT' } });
  expect(quitter.error!.message).toMatch(/called process\.exit\(1\)/);
  for (const res of held.splice(0)) res.end('steady');
  const done: JobRecord = await engine.wait(steady.id);
  expect({ status: done.status, result: done.result, error: done.error?.message }).toEqual({
    status: 'success',
    result: 'steady',
    error: undefined,
  });
  const [child] = await engine.descendants(steady.id);
  expect(child).toMatchObject({ entrypoint: 'steady', status: 'success' });
  // Neither the run nor its child lost an attempt to the exit.
  expect(await engine.attempts(steady.id)).toHaveLength(1);
  expect(await engine.attempts(child.id)).toHaveLength(1);
}
