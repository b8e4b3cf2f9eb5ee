import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '../lib/errors.js';
import { resolveScript } from '../lib/loader/paths.js';

describe('resolveScript', () => {
  const MAIN = 'export async function main() { return 1; }\n';

  it('names a script by its path without the extension, the first extension found winning', () => {
    const root = mkdtempSync(join(tmpdir(), 'millrace-paths-'));
    writeFileSync(join(root, 'main.mts'), MAIN);
    expect(resolveScript(root, 'main')).toMatchObject({ path: 'main', file: join(root, 'main.mts') });
    expect(resolveScript(root, 'main.mts')).toMatchObject({ path: 'main', file: join(root, 'main.mts') });
  });

  // Submitted as main.mts, recorded as "main", run as main.ts: refused before any job exists.
  it('refuses a file whose path a file of an earlier extension beside it also stands for', () => {
    const root = mkdtempSync(join(tmpdir(), 'millrace-paths-'));
    writeFileSync(join(root, 'main.ts'), MAIN);
    writeFileSync(join(root, 'main.mts'), MAIN.replace('1', '2'));
    expect(resolveScript(root, 'main.ts')).toMatchObject({ path: 'main', file: join(root, 'main.ts') });
    expect(() => resolveScript(root, 'main.mts')).toThrow(ConfigError);
    expect(() => resolveScript(root, './main.mts')).toThrow(
      'main.mts and main.ts both stand for the script path "main" (./main.mts was asked for): a job records its script without the extension, so it would run main.ts. Rename one of them.',
    );
  });
});
