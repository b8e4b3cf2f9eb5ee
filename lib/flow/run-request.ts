import { fileURLToPath } from 'node:url';
import { scriptJobSpec } from '../loader/script-job.js';
import { WAC_TASK_ARG } from '../loader/windmill-workflow.js';
import { resolveScript, type ScriptFile } from '../loader/paths.js';
import { decode } from '../serialize.js';
import type { JobSpec, Json } from '../types.js';
import { resolveFlow, resolveJobScript } from './files.js';
import { IDENTITY_SOURCE } from './identity.js';
import { allModules, flowJobSpec } from './submission.js';
import { loadFlow } from './validate.js';

/**
 * What a worker needs of flows to run them: the built-in flow runner's file (a flow job runs
 * runner.ts on an executor thread, like a script), a module's script (a flow's inline code is
 * written to content-addressed files under .millrace/flows), and the job a call by path
 * becomes. The worker builds its run requests from these (worker/run-request.ts): worker/ is
 * above flow/, and nothing here imports worker/.
 */

// Under ts-jest this module is lib/flow/run-request.ts, built it is dist/flow/run-request.js.
export const FLOW_RUNNER_FILE = fileURLToPath(
  new URL(`./runner.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url),
);

/** A call by path (runScript, runFlow, a flow module) as a running job made it. */
export interface PathChildCall {
  kind: 'task' | 'sleep' | 'wait' | 'script' | 'flow' | 'flowmodule';
  scriptPath: string;
  /** A flow module's module id. */
  name: string;
  args: Json[] | { [name: string]: Json };
}

/** The script of a flow module's job, its inline code written out first when this machine lacks it. */
export function resolveModuleScript(root: string, path: string): ScriptFile {
  return resolveJobScript(root, path, (flowPath, moduleId) => moduleSource(root, flowPath, moduleId));
}

/** The code of an inline module: a rawscript's content, or the identity module's. */
export function moduleSource(root: string, flowPath: string, moduleId: string): string {
  const { flow } = loadFlow(root, flowPath);
  const module = allModules(flow).find((m) => m.id === moduleId);
  if (module?.value.type === 'rawscript') return module.value.content;
  if (module?.value.type === 'identity') return IDENTITY_SOURCE;
  return '';
}

/** The job a runScript / runFlow call or a flow module becomes: checked as a root job would be. */
export function pathChildTarget(
  root: string,
  call: PathChildCall,
): Pick<JobSpec, 'kind' | 'scriptPath' | 'scriptHash' | 'entrypoint' | 'args'> {
  const args = Object.fromEntries(Object.entries(call.args as Record<string, Json>).map(([k, v]) => [k, decode(v)]));
  switch (call.kind) {
    case 'flow': {
      const spec = flowJobSpec(root, { path: call.scriptPath, args, kind: 'flow' });
      return {
        kind: 'flow',
        scriptPath: spec.scriptPath,
        scriptHash: spec.scriptHash,
        entrypoint: spec.entrypoint,
        args: spec.args,
      };
    }
    case 'flowmodule': {
      const script = resolveModuleScript(root, call.scriptPath);
      const spec = scriptJobSpec(root, { path: script.path, args });
      return {
        kind: 'flowmodule',
        scriptPath: spec.scriptPath,
        scriptHash: spec.scriptHash,
        entrypoint: call.name,
        args: spec.args,
      };
    }
    default: {
      // A Windmill workflow's inline task: its job runs the same script, named after the task,
      // with the checkpoint it starts from (windmill/dispatch.ts) beside the workflow's args.
      const { [WAC_TASK_ARG]: wacTask, ...scriptArgs } = args;
      const spec = scriptJobSpec(root, { path: call.scriptPath, args: scriptArgs });
      const wac = wacTask === undefined ? undefined : (call.args as Record<string, Json>)[WAC_TASK_ARG];
      return {
        kind: 'script',
        scriptPath: spec.scriptPath,
        scriptHash: spec.scriptHash,
        entrypoint: wac !== undefined && call.name ? call.name : 'main',
        args: wac === undefined ? spec.args : { ...(spec.args as Record<string, Json>), [WAC_TASK_ARG]: wac },
      };
    }
  }
}

/** The script or flow a child job of any kind runs, as the server checks a worker's call. */
export function childScript(root: string, kind: string, path: string): { path: string; hash: string } {
  if (kind === 'flow') return resolveFlow(root, path);
  if (kind === 'flowmodule') return resolveModuleScript(root, path);
  return resolveScript(root, path);
}
