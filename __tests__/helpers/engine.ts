import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EmbeddedEngine, type EmbeddedEngineOptions } from '../../lib/engine/embedded.js';
import type { JobRecord } from '../../lib/types.js';

/** The repository root: scripts in tests are addressed relative to it. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export function tempDb(): string {
  return join(mkdtempSync(join(tmpdir(), 'millrace-test-')), 'millrace.db');
}

export function openTestEngine(options: EmbeddedEngineOptions = {}): EmbeddedEngine {
  return new EmbeddedEngine({ root: REPO_ROOT, db: tempDb(), threads: 2, concurrency: 2, ...options });
}

/** Submits a script and waits for it; returns the root and its descendants. */
export async function runToEnd(
  engine: EmbeddedEngine,
  path: string,
  args: Record<string, unknown> = {},
): Promise<{ root: JobRecord; descendants: JobRecord[] }> {
  const job = await engine.submit({ path, args });
  const root = await engine.wait(job.id);
  return { root, descendants: await engine.descendants(job.id) };
}

/** Whether two jobs' [started, completed] intervals overlap. */
export function overlap(a: JobRecord, b: JobRecord): boolean {
  return a.startedAt! < b.completedAt! && b.startedAt! < a.completedAt!;
}
