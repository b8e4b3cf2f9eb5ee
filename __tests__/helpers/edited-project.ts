import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './engine.js';

/**
 * A project in a temp directory whose scripts are edited between runs: `main.ts` calls a task
 * defined beside it and a task of `helper.ts`, which it imports; `millrace` resolves to this
 * checkout (node_modules/millrace → the repo, built into dist/).
 */
export interface EditedProject {
  root: string;
  /**
   * Writes version `n` of both files: main returns `main-v<n>|<same-file task>|<helper task>|<helper constant>`.
   * `broken` puts a syntax error into helper.ts (imported by main), `helperOnly` leaves main.ts as it is.
   */
  write(n: number, options?: { broken?: boolean; helperOnly?: boolean }): void;
  /** What main returns at version `n` (and helper at `helperN`). */
  expected(n: number, helperN?: number): string;
}

export function editedProject(options: { commonjs?: boolean } = {}): EditedProject {
  const root = mkdtempSync(join(tmpdir(), 'millrace-edits-'));
  mkdirSync(join(root, 'node_modules'));
  symlinkSync(REPO_ROOT, join(root, 'node_modules', 'millrace'), 'dir');
  writeFileSync(
    join(root, 'package.json'),
    JSON.stringify(options.commonjs ? { name: 'edits' } : { name: 'edits', type: 'module' }),
  );
  return {
    root,
    write(n, { broken = false, helperOnly = false } = {}) {
      if (options.commonjs) {
        // No task(): millrace is an ES module, and a CommonJS script cannot require it.
        writeFileSync(join(root, 'helper.ts'), `export const label = 'helper-v${n}'${broken ? ' +' : ''};\n`);
        if (!helperOnly) {
          writeFileSync(
            join(root, 'main.ts'),
            `import { label } from './helper';\nexport async function main() {\n  return ['main-v${n}', label].join('|');\n}\n`,
          );
        }
        return;
      }
      writeFileSync(
        join(root, 'helper.ts'),
        `import { task } from 'millrace';\n` +
          `export const label = 'helper-v${n}';\n` +
          `export const helperTask = task(async (x: string) => x + '+task-v${n}'${broken ? ' +' : ''});\n`,
      );
      if (helperOnly) return;
      writeFileSync(
        join(root, 'main.ts'),
        `import { task } from 'millrace';\n` +
          `import { helperTask, label } from './helper.ts';\n` +
          `export const sameFile = task(async () => 'same-v${n}');\n` +
          `export async function main() {\n` +
          `  return ['main-v${n}', await sameFile(), await helperTask('h'), label].join('|');\n` +
          `}\n`,
      );
    },
    expected(n, helperN = n) {
      if (options.commonjs) return `main-v${n}|helper-v${helperN}`;
      return `main-v${n}|same-v${n}|h+task-v${helperN}|helper-v${helperN}`;
    },
  };
}
