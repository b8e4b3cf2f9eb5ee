import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { EmbeddedEngine } from '../lib/engine/embedded.js';
import { decode } from '../lib/serialize.js';
import type { LogLine } from '../lib/types.js';
import { REPO_ROOT, tempDb } from './helpers/engine.js';

/**
 * In a project without "type": "module", a .ts helper is CommonJS. An .mts or .mjs script
 * that imports its tasks by name gets it from tsx under a data: URL (a CommonJS instance of its
 * own, not the one require() gives); a .ts, .cts or .cjs script gets it through require(). Each
 * calls the helper's tasks as child jobs, named as the helper exports them, and on one executor
 * thread both instances live side by side (see lib/task/module-identity.ts).
 */

let engine: EmbeddedEngine | undefined;
let root: string | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

/** The helper at version `v`: `loud` (a function named otherwise), `quiet` (an arrow), `hush` (named by option). */
function helper(v: number): string {
  return `import { task, currentJob } from 'millrace';
export const loud = task(async function shout(word: string) {
  console.log(\`shout(\${word}) v${v} in job \${currentJob().id}\`);
  return word.toUpperCase() + '-v${v}';
});
export const quiet = task(async (word: string) => word.toLowerCase());
export const hush = task(async function inner(word: string) {
  return '(' + word + ')';
}, { name: 'hush', tag: 'io' });
`;
}

const ESM_MAIN = `export async function main(word: string) {
  return [await loud(word), ...(await Promise.all([quiet(word), hush(word)]))];
}
`;
const SCRIPTS: Record<string, string> = {
  'scripts/call-mts.mts': `import { loud, quiet, hush } from '../lib/helper.ts';\n${ESM_MAIN}`,
  'scripts/call-mjs.mjs': `import { loud, quiet, hush } from '../lib/helper.ts';\n${ESM_MAIN.replace('word: string', 'word')}`,
  'scripts/call-ts.ts': `import { loud, quiet, hush } from '../lib/helper';\n${ESM_MAIN}`,
  'scripts/call-cts.cts': `import { loud, quiet, hush } from '../lib/helper';\n${ESM_MAIN}`,
  'scripts/call-cjs.cjs': `const { loud, quiet, hush } = require('../lib/helper.ts');\nexports.main = ${ESM_MAIN.replace('export async function', 'async function').replace('word: string', 'word').trimEnd()};\n`,
};

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'millrace-cjs-helper-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(REPO_ROOT, join(dir, 'node_modules', 'millrace'), 'dir');
  // What `npm init -y` writes, less the fields that do not matter: no "type".
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'cjs-helper', version: '1.0.0' }));
  mkdirSync(join(dir, 'lib'));
  mkdirSync(join(dir, 'scripts'));
  writeFileSync(join(dir, 'lib/helper.ts'), helper(1));
  for (const [file, content] of Object.entries(SCRIPTS)) writeFileSync(join(dir, file), content);
  return dir;
}

async function lines(e: EmbeddedEngine, jobId: string): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for await (const line of e.logs(jobId)) out.push(line);
  return out;
}

/** Runs the script with word `word`; checks its children and the child's own log line; returns the result. */
async function run(e: EmbeddedEngine, path: string, word: string, v: number): Promise<unknown> {
  const job = await e.submit({ path, args: { word } });
  const done = await e.wait(job.id);
  expect({ status: done.status, error: done.error?.message }).toEqual({ status: 'success', error: undefined });
  const children = await e.descendants(job.id);
  expect(children.map((c) => [c.entrypoint, c.scriptPath, c.tag, c.status]).sort()).toEqual([
    ['hush', 'lib/helper', 'io', 'success'],
    ['loud', 'lib/helper', 'default', 'success'],
    ['quiet', 'lib/helper', 'default', 'success'],
  ]);
  const loud = children.find((c) => c.entrypoint === 'loud')!;
  // The line, logged in the child's own context, is in its log, and in the root's marked as the child's.
  expect((await lines(e, loud.id)).map((l) => l.line)).toEqual([`shout(${word}) v${v} in job ${loud.id}`]);
  expect(await lines(e, job.id)).toContainEqual(
    expect.objectContaining({
      line: `shout(${word}) v${v} in job ${loud.id}`,
      source: { jobId: loud.id, name: 'loud' },
    }),
  );
  return decode(done.result!);
}

describe('a .ts helper of a project without "type": "module"', () => {
  it.each([1, 2])(
    'its tasks run as child jobs from .mts, .mjs, .ts, .cts and .cjs scripts, one engine, %i thread(s)',
    async (threads) => {
      root = project();
      engine = new EmbeddedEngine({ root, db: tempDb(), threads, concurrency: threads });
      // .ts first: the helper is required (by file name) before the .mts script imports it by
      // name under a data: URL, so a thread holds both instances.
      for (const ext of ['ts', 'mts', 'mjs', 'cts', 'cjs', 'mts']) {
        expect(await run(engine, `scripts/call-${ext}`, `Hey-${ext}`, 1)).toEqual([
          `HEY-${ext.toUpperCase()}-v1`,
          `hey-${ext}`,
          `(Hey-${ext})`,
        ]);
      }
    },
  );

  it('two tasks of one name in such a helper fail the .mts script with a TaskDefinitionError naming the file', async () => {
    root = project();
    writeFileSync(
      join(root, 'lib/dup.ts'),
      `import { task } from 'millrace';\nexport const a = task(async () => 1, { name: 'same' });\nexport const b = task(async () => 2, { name: 'same' });\n`,
    );
    writeFileSync(
      join(root, 'scripts/dup.mts'),
      `import { a } from '../lib/dup.ts';\nexport async function main() {\n  return a();\n}\n`,
    );
    engine = new EmbeddedEngine({ root, db: tempDb(), threads: 1, concurrency: 1 });
    const done = await engine.wait((await engine.submit({ path: 'scripts/dup', args: {} })).id);
    expect(done.status).toBe('failure');
    expect(done.error).toMatchObject({ code: 'TASK_DEFINITION', name: 'TaskDefinitionError' });
    // The file, not the data: URL it was compiled under (whose line numbers are the compiled code's).
    expect(done.error!.message).toBe(
      `Two tasks are named "same" in file://${join(root, 'lib/dup.ts')}: one defined at file://${join(root, 'lib/dup.ts')}, one at file://${join(root, 'lib/dup.ts')}. ` +
        'Task names must be unique per module; pass { name } to tell them apart.',
    );
  });

  it('an edited helper runs at its new content, from an .mts script, on the same engine', async () => {
    root = project();
    engine = new EmbeddedEngine({ root, db: tempDb(), threads: 1, concurrency: 1 });
    expect(await run(engine, 'scripts/call-mts', 'a', 1)).toEqual(['A-v1', 'a', '(a)']);
    // Longer, so that its size (and so its stat) differs whatever the clock.
    writeFileSync(join(root, 'lib/helper.ts'), helper(22));
    expect(await run(engine, 'scripts/call-mts', 'b', 22)).toEqual(['B-v22', 'b', '(b)']);
    expect(await run(engine, 'scripts/call-ts', 'c', 22)).toEqual(['C-v22', 'c', '(c)']);
  });
});
