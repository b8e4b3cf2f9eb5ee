import { pathToFileURL } from 'node:url';
import { TaskDefinitionError, UnknownTaskError } from '../errors.js';
import { moduleExports, moduleFile } from './module-identity.js';
import { runtime, type TaskDef } from './runtime.js';

/**
 * Task identity is (script, name), where script is the module that called task().
 * A task's name is its `name` option, else the name it is exported under, else its
 * function's name. Names are resolved per module, once its exports can be seen, so that
 * every task of a module gets a name and no two get the same one.
 */
export async function resolveTaskName(def: TaskDef): Promise<{ name: string; moduleUrl: string }> {
  if (!def.moduleUrl) {
    throw new TaskDefinitionError(
      `Cannot tell which module defined the task at ${def.definedAt}, so it cannot run as a job. ` +
        'Define tasks at the top level of a .ts module.',
    );
  }
  if (!runtime.resolved.has(def.moduleUrl)) {
    resolveModule(def.moduleUrl, await moduleExports(def.moduleUrl));
  }
  return { name: def.name!, moduleUrl: def.moduleUrl };
}

/** Names every task defined by the module at `moduleUrl`, whose namespace is `exports`. */
export function resolveModule(moduleUrl: string, exports: Record<string, unknown>): Map<string, TaskDef> {
  const defs = runtime.byModule.get(moduleUrl) ?? [];
  const exportNames = new Map<TaskDef, string>();
  for (const [exportName, value] of Object.entries(exports)) {
    const def = typeof value === 'function' ? runtime.defs.get(value) : undefined;
    if (def && def.moduleUrl === moduleUrl && !exportNames.has(def)) exportNames.set(def, exportName);
  }
  const byName = new Map<string, TaskDef>();
  for (const def of defs) {
    const name = def.options.name ?? exportNames.get(def) ?? (def.fn.name || undefined);
    if (!name) {
      throw new TaskDefinitionError(
        `The task defined at ${def.definedAt} has no name. Export it, give its function a name ` +
          '(task(async function myTask() {…})), or pass { name: "myTask" }.',
      );
    }
    const other = byName.get(name);
    if (other) {
      throw new TaskDefinitionError(
        `Two tasks are named "${name}" in ${pathToFileURL(moduleFile(moduleUrl)).href}: one defined at ${other.definedAt}, one at ${def.definedAt}. ` +
          'Task names must be unique per module; pass { name } to tell them apart.',
      );
    }
    def.name = name;
    byName.set(name, def);
  }
  runtime.resolved.add(moduleUrl);
  return byName;
}

/** The task named `name` in the module, which must already be imported. */
export function findTask(moduleUrl: string, exports: Record<string, unknown>, script: string, name: string): TaskDef {
  const byName = resolveModule(moduleUrl, exports);
  const def = byName.get(name);
  if (!def) throw new UnknownTaskError(script, name, [...byName.keys()]);
  return def;
}
