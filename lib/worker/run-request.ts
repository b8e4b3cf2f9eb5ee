import { UnknownEntrypointError } from '../errors.js';
import { FLOW_RUNNER_FILE, resolveModuleScript } from '../flow/run-request.js';
import { resolveFlow } from '../flow/files.js';
import { positionalArgs } from '../loader/args.js';
import { resolveScript } from '../loader/paths.js';
import { inferSignatureOfFile } from '../loader/signature.js';
import type { JobRecord, Json } from '../types.js';
import { checkScriptHash, jobContext } from './job-context.js';
import type { RunRequest } from './protocol.js';
import { WINDMILL_RUNNER_FILE } from '../windmill/runner-file.js';

/**
 * What an executor thread runs for a job, built on the worker's side so that a missing or
 * changed script fails the job before any thread is given it. `runner` names the worker in
 * the error of a changed script.
 */
export function runRequest(root: string, runner: string, job: JobRecord): RunRequest {
  // A flow job runs the built-in flow runner, like a script; its steps are its child jobs.
  if (job.kind === 'flow') {
    const found = resolveFlow(root, job.scriptPath);
    checkScriptHash('This worker', job, found);
    return {
      context: jobContext(job),
      file: FLOW_RUNNER_FILE,
      hash: 'millrace-flow-runner',
      entrypoint: 'main',
      kind: 'script',
      args: [job.args],
    };
  }
  // A flow step's inline code is written out first when this machine lacks it.
  const script =
    job.kind === 'flowmodule' ? resolveModuleScript(root, job.scriptPath) : resolveScript(root, job.scriptPath);
  checkScriptHash(runner, job, { path: job.scriptPath, hash: script.hash });
  // A task's name; a script job's main, or the export a task call by entrypoint named (Windmill's
  // v1 form); a flow step's main.
  const entrypoint = job.kind === 'task' || job.kind === 'script' ? job.entrypoint : 'main';
  let args: (Json | undefined)[];
  if (job.kind === 'task') {
    args = Array.isArray(job.args) ? job.args : [];
  } else {
    const sig = inferSignatureOfFile(script.file, script.hash, { entrypoint });
    // A Windmill workflow runs in Windmill's rounds (windmill/runner.ts), each in a process of its
    // own; the runner tells an inline task's job from a call by entrypoint by its checkpoint arg.
    if (sig.windmill) {
      return {
        context: jobContext(job),
        file: WINDMILL_RUNNER_FILE,
        hash: 'millrace-windmill-runner',
        entrypoint: 'main',
        kind: 'script',
        args: [job.args, entrypoint],
      };
    }
    if (!sig.hasMain && entrypoint !== 'main')
      throw new UnknownEntrypointError(job.scriptPath, entrypoint, sig.exports);
    args = positionalArgs(sig, (job.args ?? {}) as Record<string, Json>);
  }
  return {
    context: jobContext(job),
    file: script.file,
    hash: script.hash,
    entrypoint,
    kind: job.kind === 'task' ? 'task' : 'script',
    args,
  };
}
