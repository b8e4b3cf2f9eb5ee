import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { expect, it } from '@jest/globals';
import { REPO_ROOT } from './helpers/engine.js';

it('task() keeps the wrapped signature: the type tests compile, every @ts-expect-error included', () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  let output = '';
  try {
    execFileSync(process.execPath, [tsc, '--noEmit', '-p', join(REPO_ROOT, '__tests__/types/tsconfig.json')], {
      encoding: 'utf8',
    });
  } catch (err) {
    output = String((err as { stdout?: string }).stdout ?? err);
  }
  expect(output).toBe('');
});
