import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { SCRIPT_EXTENSIONS } from '../loader/paths.js';

/** A script the server can run, as the run form lists it. */
export interface RunnableEntry {
  /** The script path to submit (`examples/heavy`). */
  path: string;
  /** 'script' for now; flows (issue 4) are listed with 'flow'. */
  kind: 'script';
}

export interface RunnableList {
  runnables: RunnableEntry[];
  /** True when the walk stopped at its bound and some were left out. */
  truncated: boolean;
}

/** Directories that hold no user scripts, or too many files to walk on a request. */
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'build', 'coverage']);
const MAX_FILES = 5000;
const MAX_DEPTH = 8;

// A cheap look at the source: the run form asks for the full signature of the one picked.
const EXPORTS_MAIN =
  /\bexport\s+(?:async\s+)?function\s*\*?\s*main\s*[(<]|\bexport\s+(?:const|let|var)\s+main\b|\bexport\s*\{[^}]*\bmain\b[^}]*\}|\b(?:module\.)?exports\.main\s*=|\bmodule\.exports\s*=\s*\{[^}]*\bmain\b/;

/**
 * The scripts under `root` that export a `main`, sorted by path. Dot-directories and build
 * output are skipped; the walk is bounded so a huge checkout cannot stall the server.
 */
export async function listRunnables(root: string): Promise<RunnableList> {
  const found: RunnableEntry[] = [];
  let seen = 0;
  let truncated = false;
  async function walk(dir: string, depth: number): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      if (truncated) return;
      if (e.name.startsWith('.')) continue;
      const full = join(dir, e.name);
      if (e.isDirectory()) {
        if (!SKIPPED_DIRS.has(e.name) && depth < MAX_DEPTH) await walk(full, depth + 1);
        continue;
      }
      const ext = SCRIPT_EXTENSIONS.find((x) => e.name.endsWith(x));
      if (!e.isFile() || !ext || e.name.endsWith(`.d${ext}`)) continue;
      if (++seen > MAX_FILES) {
        truncated = true;
        return;
      }
      const source = await readFile(full, 'utf8').catch(() => '');
      if (EXPORTS_MAIN.test(source))
        found.push({ path: relative(root, full).slice(0, -ext.length).split(sep).join('/'), kind: 'script' });
    }
  }
  await walk(root, 0);
  found.sort((a, b) => a.path.localeCompare(b.path));
  return { runnables: found, truncated };
}
