import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '../lib/errors.js';
import { projectTsconfig } from '../lib/loader/tsconfig.js';

describe('the tsconfig.json that applies to a project', () => {
  const top = mkdtempSync(join(tmpdir(), 'millrace-tsconfig-'));
  const root = join(top, 'packages/app');
  mkdirSync(join(root, 'scripts'), { recursive: true });

  it('is the nearest one at or above the root, whatever the working directory', () => {
    writeFileSync(join(top, 'tsconfig.json'), '{}');
    expect(projectTsconfig(root, {})).toBe(join(top, 'tsconfig.json'));
    writeFileSync(join(root, 'tsconfig.json'), '{}');
    expect(projectTsconfig(root, {})).toBe(join(root, 'tsconfig.json'));
    // Not one below the root.
    writeFileSync(join(root, 'scripts/tsconfig.json'), '{}');
    expect(projectTsconfig(root, {})).toBe(join(root, 'tsconfig.json'));
  });

  it('is none when there is none up to the filesystem root', () => {
    const bare = mkdtempSync(join(tmpdir(), 'millrace-no-tsconfig-'));
    // tmpdir() itself could hold one on some machines; skip the check there rather than guess.
    const above = projectTsconfig(tmpdir(), {});
    expect(projectTsconfig(bare, {})).toBe(above);
  });

  it('is the file TSX_TSCONFIG_PATH names, when set; a missing one is a ConfigError saying what to do', () => {
    const other = join(top, 'tsconfig.build.json');
    writeFileSync(other, '{}');
    expect(projectTsconfig(root, { TSX_TSCONFIG_PATH: other })).toBe(other);
    const missing = () => projectTsconfig(root, { TSX_TSCONFIG_PATH: join(top, 'nope.json') });
    expect(missing).toThrow(ConfigError);
    expect(missing).toThrow(
      /TSX_TSCONFIG_PATH names ".*nope\.json", but there is no such file .* unset it to use the nearest tsconfig\.json at or above the project root/,
    );
  });
});
