import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import wmillDefault, * as wmill from 'windmill-client';
import { startServerProcess, startWorkerProcess, TEST_TOKEN, type Proc } from '../helpers/processes.js';

/** The official windmill-client package, unchanged, against a millrace server. */
describe('windmill-client against millrace', () => {
  let server: { proc: Proc; url: string };
  let worker: { proc: Proc; id: string };
  // getResult and getResultMaybe are on the default export only.
  const client = wmillDefault as unknown as {
    getResult(id: string): Promise<unknown>;
    getResultMaybe(id: string): Promise<{ completed: boolean; started: boolean; success?: boolean; result?: unknown }>;
  };

  beforeAll(async () => {
    server = await startServerProcess();
    worker = await startWorkerProcess(server.url, ['--tag', 'default', '--tag', 'cpu']);
    process.env.WM_WORKSPACE = 'default';
    wmill.setClient(TEST_TOKEN, server.url);
  });
  afterAll(async () => {
    await worker?.proc.kill();
    await server?.proc.kill();
  });

  it('reads BASE_INTERNAL_URL, WM_TOKEN and WM_WORKSPACE', async () => {
    process.env.BASE_INTERNAL_URL = server.url;
    process.env.WM_TOKEN = TEST_TOKEN;
    wmill.setClient();
    expect(await wmill.runScriptByPath('examples/heavy', { n: 1 })).toBe('OK');
  });

  it('runScriptByPathAsync, waitJob, getResult and getResultMaybe', async () => {
    const id = await wmill.runScriptByPathAsync('examples/heavy', { n: 2 });
    expect(id).toMatch(/^[0-9a-z]{20}$/);
    expect(await wmill.waitJob(id)).toBe('OK');
    expect(await client.getResult(id)).toBe('OK');
    expect(await client.getResultMaybe(id)).toEqual({ completed: true, started: true, success: true, result: 'OK' });
  });

  it('runScriptByPath waits and returns the result; a failed job throws with its error', async () => {
    expect(await wmill.runScriptByPath('examples/recover', {})).toEqual({
      source: 'cache',
      prices: { apples: 1.2, pears: 0.9 },
    });
    await expect(wmill.runScriptByPath('__tests__/fixtures/failing', { catchIt: false })).rejects.toThrow(
      /was not successful: .*"name":"TaskError".*cannot handle uncaught/,
    );
  });

  it('getResultMaybe of a job still running, then cancelJob', async () => {
    const id = await wmill.runScriptByPathAsync('__tests__/fixtures/slow', { count: 1000, ms: 50 });
    const maybe = await client.getResultMaybe(id);
    expect(maybe.completed).toBe(false);
    expect(await wmill.cancelJob(id, 'enough')).toBe(`job ${id} canceled`);
    await expect(wmill.waitJob(id)).rejects.toThrow(/was not successful: .*"name":"CanceledError".*enough/);
    const job = await wmill.JobService.getJob({ workspace: 'default', id });
    expect(job).toMatchObject({ type: 'CompletedJob', id, canceled: true, canceled_reason: 'enough', success: false });
  });

  it('follows a job’s log with getupdate and log_offset', async () => {
    const id = await wmill.runScriptByPathAsync('__tests__/fixtures/slow', { count: 5, ms: 20 });
    let offset = 0;
    let text = '';
    for (;;) {
      const update = await wmill.JobService.getJobUpdates({ workspace: 'default', id, logOffset: offset });
      text += update.new_logs ?? '';
      expect(update.log_offset).toBeGreaterThanOrEqual(offset);
      offset = update.log_offset!;
      if (update.completed) break;
      await new Promise((r) => setTimeout(r, 20)); // the client polls; this is the client's loop, not a wait in our code
    }
    const lines = text.trim().split('\n');
    expect(lines[0]).toBe('starting');
    expect(lines.slice(1).map((l) => l.replace(/^\[tick [0-9a-z]{8}\] /, ''))).toEqual([
      'tick 1',
      'tick 2',
      'tick 3',
      'tick 4',
      'tick 5',
    ]);
    // Reading again from the last offset gives nothing new.
    const again = await wmill.JobService.getJobUpdates({ workspace: 'default', id, logOffset: offset });
    expect(again.new_logs).toBe('');
    const job = await wmill.JobService.getJob({ workspace: 'default', id });
    expect(job.logs).toBe(text);
    expect(
      Object.values((job.workflow_as_code_status ?? {}) as Record<string, { name: string }>).map((c) => c.name),
    ).toEqual(['tick']);
  });
});
