import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { EmbeddedEngine } from '../lib/engine/embedded.js';
import { REPO_ROOT, openTestEngine } from './helpers/engine.js';

/**
 * A script edited between runs runs its new version on the same warm executor thread, and its
 * tasks keep their names: an ES module through a new import URL, a CommonJS one (.cts, .cjs)
 * by being required again.
 */

let engine: EmbeddedEngine | undefined;
let dir: string | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A script whose task answers `answer`; the file differs in length per version, so its hash does. */
function source(ext: string, answer: string): string {
  const body = `task(async function version() {\n  console.log('version ${answer}');\n  return '${answer}';\n})`;
  if (ext === 'cjs')
    return `const { task } = require('millrace');\nconst version = ${body};\nmodule.exports = { version, main: () => version() };\n`;
  return `import { task } from 'millrace';\nexport const version = ${body};\nexport async function main() {\n  return version();\n}\n`;
}

describe('a script that changed on disk', () => {
  it.each(['ts', 'mts', 'cts', 'cjs'])(
    '.%s: the next run runs the new version and its task, on the same thread',
    async (ext) => {
      // Under the repository root, so that `millrace` resolves to this package; .millrace/ is ignored by git.
      mkdirSync(join(REPO_ROOT, '.millrace'), { recursive: true });
      dir = mkdtempSync(join(REPO_ROOT, '.millrace', 'reload-'));
      const file = join(dir, `answer.${ext}`);
      const path = relative(REPO_ROOT, file);
      engine = openTestEngine({ threads: 1, concurrency: 1 });

      for (const answer of ['one', 'second', 'third!']) {
        writeFileSync(file, source(ext, answer));
        const job = await engine.submit({ path, args: {} });
        const done = await engine.wait(job.id);
        expect({ status: done.status, error: done.error?.message }).toEqual({ status: 'success', error: undefined });
        expect(done.result).toBe(answer);
        const [child] = await engine.descendants(job.id);
        expect(child).toMatchObject({ entrypoint: 'version', status: 'success', result: answer });
      }
    },
  );
});
