import { afterEach, describe, expect, it } from '@jest/globals';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedEngine } from '../lib/engine/embedded.js';
import type { JobRecord } from '../lib/types.js';
import { REPO_ROOT } from './helpers/engine.js';
import { approveThrough, guideExamples, inFileShape } from './helpers/windmill-guide.js';
import { runToEnd, startMillrace } from './helpers/processes.js';

/**
 * Windmill's own documented workflow-as-code examples, run by `millrace run` as Windmill
 * documents them. Windmill ships its "Workflow-as-Code Writing Guide" inside its CLI
 * (windmill-cli on npm, a devDependency pinned to one version); the test reads the guide's
 * TypeScript examples from there at run time, so nothing of Windmill's text is copied into
 * this repository. The guide's one whole script, "File Shape", runs as it is; its snippets
 * (parallelism, inline steps, tasks by path, approvals) run as written inside that script's
 * workflow body, with the names they take for granted (`items`, `data`, `sendApprovalEmail`)
 * given a value, and the scripts and flows they name by path written beside them.
 */

const BIN = join(REPO_ROOT, 'bin/millrace.js');
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A project of its own (millrace runs scripts under its root) that finds this repo's packages. */
function project(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'millrace-wac-doc-'));
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
  writeFileSync(join(root, 'package.json'), JSON.stringify({ type: 'module' }));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(root, name, '..'), { recursive: true });
    writeFileSync(join(root, name), text);
  }
  return root;
}

/** `millrace run` in the project to its end; the result, and the run's jobs as recorded. */
async function run(root: string, script: string, args: Record<string, unknown>) {
  const db = join(root, 'run.db');
  const out = await runToEnd(process.execPath, [BIN, 'run', '--db', db, script, '--args', JSON.stringify(args)], {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1' },
  });
  expect({ code: out.code, stderr: out.code === 0 ? '' : out.stderr }).toEqual({ code: 0, stderr: '' });
  const id = /job (\w{20})/.exec(out.stderr)![1];
  const engine = new EmbeddedEngine({ root, db, worker: false });
  try {
    const children: JobRecord[] = (await engine.descendants(id)).filter((j) => j.parentJob === id);
    return { result: JSON.parse(out.stdout) as unknown, children };
  } finally {
    await engine.close();
  }
}

describe("Windmill's documented examples (the guide in windmill-cli)", () => {
  const examples = guideExamples();
  const fileShape = examples.get('File Shape')![0];

  it('runs the File Shape script as it is: its task is a child job, its result the workflow’s', async () => {
    const root = project({ 'file-shape.ts': fileShape });
    const ran = await run(root, 'file-shape.ts', { x: 'docs' });
    expect(ran.result).toEqual({ result: 'processed: docs' });
    // A Windmill task is a child job that runs the same script at the task's key.
    expect(ran.children.map((c) => [c.kind, c.scriptPath, c.status, c.result])).toEqual([
      ['script', 'file-shape', 'success', 'processed: docs'],
    ]);
  });

  it('runs the Parallelism snippet: Promise.all and parallel with a concurrency, one child job per task', async () => {
    const snippet = examples.get('Parallelism')![0];
    const root = project({
      'parallel.ts': inFileShape(fileShape, `const items = [x, x + "2", x + "3"];\n${snippet}return { a, b, many };`),
    });
    const ran = await run(root, 'parallel.ts', { x: 'p' });
    expect(ran.result).toEqual({
      a: 'processed: a',
      b: 'processed: b',
      many: ['processed: p', 'processed: p2', 'processed: p3'],
    });
    const tasks = ran.children.filter((c) => c.kind === 'script');
    expect(tasks.map((c) => c.status)).toEqual(Array(5).fill('success'));
    expect(tasks.map((c) => c.result).sort()).toEqual(
      ['processed: a', 'processed: b', 'processed: p', 'processed: p2', 'processed: p3'].sort(),
    );
  });

  it('runs the Inline Steps snippet: the step’s value is recorded, not a job of its own', async () => {
    const snippet = examples.get('Inline Steps')![0];
    const root = project({ 'step.ts': inFileShape(fileShape, `${snippet}return { startedAt };`) });
    const before = Date.now();
    const ran = await run(root, 'step.ts', { x: 's' });
    const startedAt = (ran.result as { startedAt: string }).startedAt;
    expect(Date.parse(startedAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(ran.children.map((c) => [c.kind, c.result])).toEqual([['step', startedAt]]);
  });

  it('runs the Tasks snippets by path: a taskScript and a taskFlow, each a child job of its kind', async () => {
    const [, byScript, byFlow] = examples.get('Tasks')!;
    const root = project({
      'by-path.ts': inFileShape(
        fileShape,
        `${byScript}const data = { rows: [x.length, 10] };\n${byFlow}return { value, output };`,
      ),
      // The scripts and the flow the snippets name by path.
      'helper.ts': 'export async function main(input: string) {\n  return `helped ${input}`;\n}\n',
      'f/data/extract.ts': readFileSync(join(REPO_ROOT, '__tests__/fixtures/windmill/f/data/extract.ts'), 'utf8'),
    });
    cpSync(join(REPO_ROOT, '__tests__/fixtures/windmill/f/etl'), join(root, 'f/etl'), { recursive: true });
    const ran = await run(root, 'by-path.ts', { x: 'abc' });
    expect(ran.result).toEqual({ value: 'helped abc', output: 13 });
    expect(ran.children.map((c) => [c.kind, c.scriptPath, c.status])).toEqual([
      ['script', 'helper', 'success'],
      ['flow', 'f/etl/pipeline', 'success'],
    ]);
  });

  it('runs the Approvals snippet: the URL from getApprovalUrls resumes waitForApproval', async () => {
    const snippet = examples.get('Approvals')![0];
    const send =
      'const sendApprovalEmail = (resume: string, cancel: string) => console.log(`approve: ${resume} reject: ${cancel}`);';
    const root = project({ 'approval.ts': inFileShape(fileShape, `${send}\n${snippet}return approval;`) });
    const proc = startMillrace(['run', '--root', root, '--db', join(root, 'run.db'), 'approval.ts', '--x', 'a']);
    cleanups.push(() => proc.kill('SIGKILL'));
    const [, resume] = await proc.waitFor(/approve: (\S+)/);
    await approveThrough(resume, 'alice', { ok: true });
    expect(await proc.exited).toBe(0);
    expect(JSON.parse(proc.output().slice(proc.output().lastIndexOf('\n{')))).toEqual({
      approved: true,
      approver: 'alice',
      value: { ok: true },
    });
  });
});
