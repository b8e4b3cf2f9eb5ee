import { readFileSync } from 'node:fs';
import { ArgsError, NoMainError } from '../errors.js';
import { WindmillOptionError } from '../errors-windmill.js';
import { scriptFlowControl } from './script-config.js';
import { encode } from '../serialize.js';
import type { JobSpec, Json } from '../types.js';
import { checkArgs, typedValue } from './args.js';
import { resolveScript } from './paths.js';
import { inferSignatureOfFile } from './signature.js';

/**
 * What scriptJobSpec reads of a request: the fields of the engines' SubmitRequest and of flow/'s
 * PathRequest that make a script's job. Declared here, not imported, because loader/ sits below
 * engine/ and flow/, which both build script jobs with it.
 */
export interface ScriptRequest {
  path: string;
  args?: Record<string, unknown>;
  tag?: string;
  workspace?: string;
  idempotencyKey?: string;
}

/**
 * Turns a request to run a script into a job spec, refusing it before any job exists when
 * the script is unknown, has no `main`, or the args do not fit main's signature (invariant 8).
 */
export function scriptJobSpec(root: string, request: ScriptRequest): JobSpec {
  const script = resolveScript(root, request.path);
  const sig = inferSignatureOfFile(script.file, script.hash);
  if (!sig.hasMain) throw new NoMainError(script.path, sig.exports);
  if (sig.windmill?.optionProblems.length) throw new WindmillOptionError(script.path, sig.windmill.optionProblems);
  const args: Record<string, Json> = {};
  for (const [name, value] of Object.entries(request.args ?? {})) {
    if (value !== undefined) args[name] = encode(value, `args.${name}`);
  }
  const problems = checkArgs(sig, args);
  if (problems.length > 0) throw new ArgsError(script.path, problems);
  for (const p of sig.params) {
    const typed = p.name in args ? typedValue(p.schema, args[p.name]) : undefined;
    if (typed !== undefined) args[p.name] = encode(typed, `args.${p.name}`);
  }
  // Its exported config's limits (docs/flow-control.md), checked here: a bad one refuses the run.
  const flowControl = scriptFlowControl(readFileSync(script.file, 'utf8'), script.hash, script.path);
  return {
    ...(flowControl && { flowControl }),
    kind: 'script',
    scriptPath: script.path,
    scriptHash: script.hash,
    entrypoint: 'main',
    args,
    tag: request.tag,
    workspace: request.workspace,
    ...(request.idempotencyKey !== undefined && { idempotencyKey: request.idempotencyKey }),
  };
}
