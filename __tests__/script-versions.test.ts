import { afterEach, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EmbeddedEngine } from '../lib/engine/embedded.js';
import { decode } from '../lib/serialize.js';
import type { JobRecord } from '../lib/types.js';
import { editedProject, type EditedProject } from './helpers/edited-project.js';
import { tempDb } from './helpers/engine.js';
import { apiCaller, startMillrace, TEST_TOKEN, type Proc } from './helpers/processes.js';

// A job runs the code it was submitted with, in a process that lives across edits: the
// script, a task defined beside main, a task of a module main imports, and that module's
// other exports. An import error fixed by the next edit is not served again.

let engine: EmbeddedEngine | undefined;
let dev: Proc | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
  await dev?.kill();
  dev = undefined;
});

async function run(e: EmbeddedEngine): Promise<JobRecord> {
  const job = await e.submit({ path: 'main', args: {} });
  return e.wait(job.id);
}

function resultOf(job: JobRecord): unknown {
  if (job.status !== 'success') throw new Error(`expected success, got ${job.status}: ${job.error?.message}`);
  return decode(job.result!);
}

describe.each([1, 2])('a long-lived embedded engine with %i executor thread(s)', (threads) => {
  it('runs each edit of main and of the module it imports as edited, in order', async () => {
    const project = editedProject();
    engine = new EmbeddedEngine({ root: project.root, db: tempDb(), threads, concurrency: threads });
    for (const n of [1, 2, 3, 4]) {
      project.write(n);
      expect(resultOf(await run(engine))).toBe(project.expected(n));
    }
    // Only the imported module changes: main's own hash is the same as before.
    project.write(5, { helperOnly: true });
    expect(resultOf(await run(engine))).toBe(project.expected(4, 5));
    // And back: an older content is a version like any other.
    project.write(4);
    expect(resultOf(await run(engine))).toBe(project.expected(4));
  });

  it('does not serve an import error again once the file is fixed', async () => {
    const project = editedProject();
    engine = new EmbeddedEngine({ root: project.root, db: tempDb(), threads, concurrency: threads });
    project.write(1);
    expect(resultOf(await run(engine))).toBe(project.expected(1));
    project.write(2, { broken: true });
    const broken = await run(engine);
    expect(broken.status).toBe('failure');
    expect(broken.error?.message).toMatch(/helper\.ts/);
    project.write(3);
    expect(resultOf(await run(engine))).toBe(project.expected(3));
  });
});

describe('memory over many edits', () => {
  it('retires a thread that holds maxVersions versions; the job that needs one more runs on a fresh thread', async () => {
    const project = editedProject();
    const maxVersions = 2;
    engine = new EmbeddedEngine({ root: project.root, db: tempDb(), threads: 1, concurrency: 1, maxVersions });
    const edits = 7;
    for (let n = 1; n <= edits; n++) {
      project.write(n);
      expect(resultOf(await run(engine))).toBe(project.expected(n));
      // Unchanged files need no new version.
      expect(resultOf(await run(engine))).toBe(project.expected(n));
      // Thread k holds versions of edits (k-1)·max+1 … k·max; the edit after them retires it.
      expect(engine.worker!.retiredThreads).toBe(Math.floor((n - 1) / maxVersions));
    }
  });

  it('refuses a maxVersions that is not a positive integer', () => {
    expect(() => new EmbeddedEngine({ root: editedProject().root, db: ':memory:', maxVersions: 0 })).toThrow(
      /maxVersions: expected a positive integer .*got 0/,
    );
  });
});

describe('a file a job imports lazily, after the thread last checked its version', () => {
  // The thread checks a version's files itself while nothing new was loaded since the hooks
  // listed them (module-versions.ts); a lazy import is a load, so the job after it asks again.
  it('runs the lazily imported file as edited', async () => {
    const project = editedProject();
    writeFileSync(
      join(project.root, 'main.ts'),
      `export async function main(lazy: boolean) {\n` +
        `  return lazy ? (await import('./lazy.ts')).label : 'eager';\n` +
        `}\n`,
    );
    const lazy = (n: number) => writeFileSync(join(project.root, 'lazy.ts'), `export const label = 'lazy-v${n}';\n`);
    lazy(1);
    engine = new EmbeddedEngine({ root: project.root, db: tempDb(), threads: 1, concurrency: 1 });
    const runMain = async (args: { lazy: boolean }) =>
      resultOf(await engine!.wait((await engine!.submit({ path: 'main', args })).id));
    // The first job imports main; the second is checked by the hooks, who list main.
    expect(await runMain({ lazy: false })).toBe('eager');
    expect(await runMain({ lazy: false })).toBe('eager');
    // Checked on the thread (main unchanged, nothing loaded since): this one loads lazy.ts.
    expect(await runMain({ lazy: true })).toBe('lazy-v1');
    lazy(2);
    expect(await runMain({ lazy: true })).toBe('lazy-v2');
    expect(engine.worker!.retiredThreads).toBe(0);
  });
});

describe('a CommonJS project', () => {
  it('runs each edit as edited: a thread holding an older CommonJS copy hands the job to a fresh one', async () => {
    const project: EditedProject = editedProject({ commonjs: true });
    engine = new EmbeddedEngine({ root: project.root, db: tempDb(), threads: 1, concurrency: 1 });
    project.write(1);
    expect(resultOf(await run(engine))).toBe(project.expected(1));
    project.write(2, { helperOnly: true });
    expect(resultOf(await run(engine))).toBe(project.expected(1, 2));
    project.write(3, { broken: true });
    expect((await run(engine)).status).toBe('failure');
    project.write(4);
    expect(resultOf(await run(engine))).toBe(project.expected(4));
    expect(engine.worker!.retiredThreads).toBeGreaterThanOrEqual(2);
  });
});

describe('millrace dev, one executor thread', () => {
  it('runs each edit as edited and does not serve a fixed import error again', async () => {
    const project = editedProject();
    dev = startMillrace(
      ['dev', '--port', '0', '--root', project.root, '--db', tempDb(), '--threads', '1', '--concurrency', '1'],
      {
        MILLRACE_TOKEN: TEST_TOKEN,
      },
    );
    const [, url] = await dev.waitFor(/millrace dev on (http:\/\/[\d.]+:\d+)/);
    const api = apiCaller(() => url);
    const runMain = () => api<string>('POST', '/api/w/default/jobs/run_wait_result/p/main', {});
    for (const n of [1, 2]) {
      project.write(n);
      expect(await runMain()).toBe(project.expected(n));
    }
    project.write(3, { broken: true });
    await expect(runMain()).rejects.toThrow(/422.*helper\.ts/s);
    project.write(4);
    expect(await runMain()).toBe(project.expected(4));
    project.write(5, { helperOnly: true });
    expect(await runMain()).toBe(project.expected(4, 5));
  });
});
