import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { UnknownFlowError } from '../errors.js';
import { hashFile, linkOutsideRoot, resolveScript, type ScriptFile } from '../loader/paths.js';

/** The file names a flow at path P may have, in the order they are tried. */
export const FLOW_EXTENSIONS = ['.flow.yaml', '.flow.yml', '.flow.json'] as const;

/** A flow found on disk: its path (relative to the root, no extension), file and content hash. */
export interface FlowFile {
  path: string;
  file: string;
  hash: string;
}

/** Whether `input` names a flow file by its extension (`x.flow.yaml`, `x.flow.json`). */
export function isFlowFile(input: string): boolean {
  return FLOW_EXTENSIONS.some((ext) => input.endsWith(ext));
}

/**
 * Finds the flow that `input` names: a flow path (`examples/flows/orders`), a file path
 * relative to the root (`examples/flows/orders.flow.yaml`), or an absolute file under it.
 */
export function resolveFlow(root: string, input: string): FlowFile {
  const cleaned = input.replace(/^\.\//, '');
  const absolute = isAbsolute(cleaned) ? cleaned : resolve(root, cleaned);
  const rel = relative(root, absolute);
  if (rel.startsWith('..') || isAbsolute(rel)) {
    throw new UnknownFlowError(
      input,
      `it is outside the project root ${root}. Flows live under the root (set it with --root).`,
    );
  }
  const ext = FLOW_EXTENSIONS.find((e) => absolute.endsWith(e));
  const candidates = ext ? [absolute] : FLOW_EXTENSIONS.map((e) => absolute + e);
  for (const file of candidates) {
    if (isFile(file)) {
      const outside = linkOutsideRoot(root, file);
      if (outside)
        throw new UnknownFlowError(
          input,
          `it is a link to ${outside}, outside the project root ${root}. Flows live under the root (set it with --root).`,
        );
      const base = relative(root, file);
      const found = FLOW_EXTENSIONS.find((e) => base.endsWith(e))!;
      return { path: base.slice(0, -found.length).split('\\').join('/'), file, hash: hashFile(file) };
    }
  }
  throw new UnknownFlowError(
    input,
    `no such file under ${root} (looked for ${candidates.map((f) => relative(root, f)).join(', ')})`,
  );
}

/** Whether a flow exists at `input`. */
export function flowExists(root: string, input: string): boolean {
  try {
    resolveFlow(root, input);
    return true;
  } catch {
    return false;
  }
}

/** Where the code of a flow's inline modules is written, under the project root. */
export const MODULE_DIR = '.millrace/flows';

/**
 * The script path of an inline module (a rawscript or an identity): content-addressed, and
 * naming its flow and module, so any machine with the flow file can write it again
 * (`.millrace/flows/<flow>/<module>.<sha16>`).
 */
export function moduleScriptPath(flowPath: string, moduleId: string, content: string): string {
  return `${MODULE_DIR}/${flowPath}/${moduleId}.${contentHash(content).slice(0, 16)}`;
}

export function contentHash(content: string): string {
  return createHash('sha256').update(content).digest('hex');
}

const MODULE_PATH = /^\.millrace\/flows\/(.+)\/([A-Za-z_][\w-]*)\.([0-9a-f]{16})$/;

/** The flow and module an inline module's script path names, or undefined for any other path. */
export function parseModuleScriptPath(
  path: string,
): { flowPath: string; moduleId: string; hash16: string } | undefined {
  const m = MODULE_PATH.exec(path.replace(/\.ts$/, ''));
  return m ? { flowPath: m[1], moduleId: m[2], hash16: m[3] } : undefined;
}

/** Writes an inline module's code to its content-addressed file, unless it is there already. */
export function writeModuleScript(root: string, scriptPath: string, content: string): void {
  const file = join(root, `${scriptPath}.ts`);
  if (isFile(file)) return;
  mkdirSync(dirname(file), { recursive: true });
  // Written aside and renamed, so a reader never sees half a file.
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(temp, content);
  renameSync(temp, file);
}

/**
 * Resolves a script path as a job runs it, writing an inline module's file first when this
 * machine has not got it yet (`moduleContent` finds its code in the flow file).
 */
export function resolveJobScript(
  root: string,
  path: string,
  moduleContent: (flowPath: string, moduleId: string) => string,
): ScriptFile {
  const mod = parseModuleScriptPath(path);
  if (mod && !isFile(join(root, `${path}.ts`))) {
    const content = moduleContent(mod.flowPath, mod.moduleId);
    if (contentHash(content).slice(0, 16) === mod.hash16) writeModuleScript(root, path, content);
  }
  return resolveScript(root, path);
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
