import { statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';

/**
 * Which tsconfig.json applies to a project's scripts. tsx on its own takes the one it finds
 * from the working directory, so a script's `paths` aliases (and its `jsx`, decorators, …)
 * would depend on where `millrace` was started. The project root decides instead: the
 * nearest tsconfig.json at or above the root, as `tsc` finds it when run in the root.
 *
 * tsx's own `TSX_TSCONFIG_PATH`, when set, still wins (relative to the working directory,
 * as tsx reads it): it is how a user names a config of another name.
 */
export function projectTsconfig(root: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const named = env.TSX_TSCONFIG_PATH;
  if (named) {
    const file = resolve(named);
    if (!isFile(file)) {
      throw new ConfigError(
        `TSX_TSCONFIG_PATH names ${JSON.stringify(named)}, but there is no such file (looked for ${file}). ` +
          `Point it at a tsconfig file, or unset it to use the nearest tsconfig.json at or above the project root ${root}.`,
      );
    }
    return file;
  }
  for (let dir = resolve(root); ; dir = dirname(dir)) {
    const candidate = join(dir, 'tsconfig.json');
    if (isFile(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
