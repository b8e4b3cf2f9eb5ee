import { afterEach, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import type { EmbeddedEngine } from '../lib/engine/embedded.js';
import { UnknownJobError } from '../lib/errors.js';
import { JobFinishedError } from '../lib/errors-operations.js';
import { decode, encode } from '../lib/serialize.js';
import { testEngine } from '../lib/testing.js';
import { openTestEngine, REPO_ROOT, tempDb } from './helpers/engine.js';
import { runToEnd as runCommand } from './helpers/processes.js';

/** waitForEvent and sendEvent on the embedded engine (docs/waits.md). */

const FIXTURE = '__tests__/fixtures/events';
let engine: EmbeddedEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

/** Re-reads `read()` until `done` holds for what it returned (a condition, not a time). */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The job's queued wait child for `event`, once the job has begun waiting. */
const waitingFor = (id: string, event: string) =>
  until(
    () => engine!.descendants(id),
    (d) => d.some((j) => j.kind === 'wait' && j.entrypoint === event && j.status === 'queued'),
  ).then((d) => d.find((j) => j.kind === 'wait' && j.entrypoint === event)!);

describe('waitForEvent', () => {
  it('holds no slot: on a single-slot worker another run completes while one waits; the event resumes it with its payload', async () => {
    engine = openTestEngine({ concurrency: 1, threads: 1 });
    const waiting = await engine.submit({ path: FIXTURE, args: { which: 'wait' } });
    const wait = await waitingFor(waiting.id, 'go');
    // The one slot is free: a second run starts and ends while the first waits.
    const quick = await engine.wait((await engine.submit({ path: FIXTURE, args: { which: 'quick' } })).id);
    expect(quick.status).toBe('success');
    expect((await engine.get(waiting.id))!.status).toBe('running');
    const at = new Date('2026-01-02T03:04:05Z');
    expect(await engine.sendEvent(waiting.id, 'go', encode({ n: 1, at }, 'payload'))).toEqual({
      status: 'delivered',
      waitJob: wait.id,
    });
    const done = await engine.wait(waiting.id);
    expect(done.status).toBe('success');
    // The payload follows the serialisation contract: a Date comes back a Date.
    expect(decode(done.result!)).toEqual({ payload: { n: 1, at }, isDate: true });
    const recorded = (await engine.descendants(waiting.id)).find((j) => j.id === wait.id)!;
    expect(recorded).toMatchObject({
      kind: 'wait',
      entrypoint: 'go',
      callKey: '@wait:go:0',
      status: 'success',
      parentJob: waiting.id,
    });
  });

  it('keeps an event sent before its wait begins; the wait takes it', async () => {
    engine = openTestEngine();
    const job = await engine.submit({ path: FIXTURE, args: { which: 'gate' } });
    // The job waits for 'gate' first, so its wait for 'go' has not begun: 'go' is kept.
    expect(await engine.sendEvent(job.id, 'go', encode('early', 'payload'))).toEqual({ status: 'kept', waitJob: null });
    await waitingFor(job.id, 'gate');
    expect((await engine.sendEvent(job.id, 'gate', encode(1, 'payload'))).status).toBe('delivered');
    const done = await engine.wait(job.id);
    expect(decode(done.result!)).toEqual({ gate: 1, go: 'early' });
    const events = await engine.store.events(job.id);
    const goWait = (await engine.descendants(job.id)).find((j) => j.entrypoint === 'go')!;
    expect(events.map((e) => [e.name, e.waitJob])).toEqual([
      ['go', goWait.id],
      ['gate', expect.any(String)],
    ]);
  });

  // An hour's wait, on a clock the test moves (millrace/testing): no time passes in the test.
  it('throws WaitTimeoutError when its timeout runs out, which the job catches', async () => {
    await using t = await testEngine({ root: REPO_ROOT, threads: 1, concurrency: 1 });
    const job = await t.submit({ path: FIXTURE, args: { which: 'timeout' } });
    await t.settled();
    const [waiting] = await t.engine.descendants(job.id);
    expect(waiting).toMatchObject({ kind: 'wait', status: 'queued' });
    // The due time is stored, not held in memory.
    expect(waiting.scheduledFor - waiting.createdAt).toBe(3_600_000);
    await t.advance('59m');
    expect((await t.engine.get(job.id))!.status).toBe('running');
    await t.advance('1m');
    const done = await t.engine.wait(job.id);
    expect(decode(done.result!)).toEqual({
      caught: true,
      name: 'WaitTimeoutError',
      message: `The event "never" did not come to job ${job.id} within its timeout of 3600s`,
    });
    const [timedOut] = await t.engine.descendants(job.id);
    expect(timedOut).toMatchObject({ kind: 'wait', status: 'failure', error: { code: 'WAIT_TIMEOUT' } });
  });

  it('is canceled with its job; an event to the canceled job is refused', async () => {
    engine = openTestEngine();
    const job = await engine.submit({ path: FIXTURE, args: { which: 'wait' } });
    const wait = await waitingFor(job.id, 'go');
    const canceled = await engine.cancel(job.id, 'no longer needed');
    expect(canceled.map((j) => j.id).sort()).toEqual([job.id, wait.id].sort());
    expect((await engine.wait(job.id)).status).toBe('canceled');
    expect((await engine.get(wait.id))!.status).toBe('canceled');
    await expect(engine.sendEvent(job.id, 'go', null)).rejects.toThrow(JobFinishedError);
    await expect(engine.sendEvent(job.id, 'go', null)).rejects.toThrow(
      `Job ${job.id} has finished (canceled): the event "go" can no longer reach it`,
    );
    await expect(engine.sendEvent('nosuchjob', 'go', null)).rejects.toThrow(UnknownJobError);
  });
});

describe('sending', () => {
  it('from the helpers inside a job: the event goes through its worker, payload types kept', async () => {
    engine = openTestEngine();
    const target = await engine.submit({ path: FIXTURE, args: { which: 'wait' } });
    const wait = await waitingFor(target.id, 'go');
    const sender = await engine.wait(
      (await engine.submit({ path: FIXTURE, args: { which: 'send', counter: target.id } })).id,
    );
    expect(sender.status).toBe('success');
    expect(decode(sender.result!)).toEqual({ status: 'delivered', waitJob: wait.id });
    const done = await engine.wait(target.id);
    expect(decode(done.result!)).toEqual({ payload: { n: 5, at: new Date('2026-05-06T07:08:09Z') }, isDate: true });
    // To a job that does not exist: the sender's own code gets UnknownJobError.
    const lost = await engine.wait(
      (await engine.submit({ path: FIXTURE, args: { which: 'send', counter: 'nosuchjob' } })).id,
    );
    expect(lost).toMatchObject({ status: 'failure', error: { name: 'UnknownJobError', code: 'UNKNOWN_JOB' } });
  });

  it('from the helpers in an embedded program (another process on the same database), and from the CLI', async () => {
    const db = tempDb();
    engine = openTestEngine({ db });
    const viaHelper = await engine.submit({ path: FIXTURE, args: { which: 'wait' } });
    const viaCli = await engine.submit({ path: FIXTURE, args: { which: 'wait' } });
    await waitingFor(viaHelper.id, 'go');
    await waitingFor(viaCli.id, 'go');

    // A program of its own, as a webhook handler would be: the public API from the build.
    const program = [
      `const { configure, sendEvent } = await import(${JSON.stringify(join(REPO_ROOT, 'dist/index.js'))});`,
      `const client = configure({ root: ${JSON.stringify(REPO_ROOT)}, db: ${JSON.stringify(db)} });`,
      `try { await sendEvent(${JSON.stringify(viaHelper.id)}, 'bad name!', 1); } catch (err) { console.log(err.code); }`,
      `console.log(JSON.stringify(await sendEvent(${JSON.stringify(viaHelper.id)}, 'go', { n: 2 })));`,
      'await client.close();',
    ].join('\n');
    const helper = await runCommand(process.execPath, ['--input-type=module', '-e', program], {
      cwd: REPO_ROOT,
      env: { ...process.env },
    });
    expect(helper.stderr).toBe('');
    const [code, sent] = helper.stdout.trim().split('\n');
    expect(code).toBe('TASK_DEFINITION');
    expect(JSON.parse(sent)).toMatchObject({ status: 'delivered' });
    const cli = await runCommand(
      process.execPath,
      [join(REPO_ROOT, 'bin/millrace.js'), 'send', viaCli.id.slice(0, 8), 'go', '--payload', '{"n":3}', '--db', db],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, NO_COLOR: '1' },
      },
    );
    expect(cli).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^event "go" delivered to job \w{8} \(wait \w{8}\)\n$/),
    });

    const results = await Promise.all(
      [viaHelper, viaCli].map(async (j) => decode((await engine!.wait(j.id)).result!) as { payload: unknown }),
    );
    expect(results.map((r) => r.payload)).toEqual([{ n: 2 }, { n: 3 }]);
    // `show` draws the wait as a child, named after its event, like a sleep.
    const show = await runCommand(
      process.execPath,
      [join(REPO_ROOT, 'bin/millrace.js'), 'show', viaCli.id, '--db', db],
      { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1' } },
    );
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/└─ ✔ go\s+[0-9a-z]{8}\s+success\s+default\s/);

    const bad = await runCommand(
      process.execPath,
      [join(REPO_ROOT, 'bin/millrace.js'), 'send', viaCli.id, 'go', '--payload', '{oops', '--db', db],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, NO_COLOR: '1' },
      },
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--payload: expected JSON, got "\{oops"/);
    const finished = await runCommand(
      process.execPath,
      [join(REPO_ROOT, 'bin/millrace.js'), 'send', viaCli.id, 'go', '--db', db],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, NO_COLOR: '1' },
      },
    );
    expect(finished.code).toBe(2);
    expect(finished.stderr).toContain(`Job ${viaCli.id} has finished (success)`);
  });
});

describe('getResumeUrls on the embedded engine', () => {
  it('has no server to point at: the job fails with a ConfigError saying what to set, unless the engine was given a public URL', async () => {
    engine = openTestEngine();
    const failed = await engine.wait((await engine.submit({ path: '__tests__/fixtures/approval', args: {} })).id);
    expect(failed).toMatchObject({ status: 'failure', error: { name: 'ConfigError', code: 'CONFIG' } });
    expect(failed.error!.message).toContain('run it under `millrace dev` or `millrace server`');
    await engine.close();

    engine = openTestEngine({ publicUrl: 'https://millrace.example.com/' });
    const job = await engine.submit({ path: '__tests__/fixtures/approval', args: { key: 'k1' } });
    const wait = await waitingFor(job.id, '@approval:k1');
    const lines: string[] = [];
    for await (const l of engine.logs(job.id)) lines.push(l.line);
    const sig = /\/([0-9a-f]{64})$/.exec(lines.find((l) => l.startsWith('resume '))!)![1];
    expect(lines).toContain(`resume https://millrace.example.com/api/w/default/jobs_u/resume/${job.id}/k1/${sig}`);
    expect(lines).toContain(`page https://millrace.example.com/#/approve/default/${job.id}/k1/${sig}`);
    expect(wait.args).toEqual([{ form: expect.objectContaining({ required: ['amount'] }), key: 'k1' }]);
    await engine.cancel(job.id, 'done looking');
  });
});
