import { ArgsError } from '../errors.js';
import { checkArgs } from '../loader/args.js';
import type { JsonSchema, Signature } from '../loader/signature.js';
import { encode } from '../serialize.js';
import type { JobSpec, Json } from '../types.js';
import { resolveScript } from '../loader/paths.js';
import { flowExists, isFlowFile } from './files.js';
import type { Flow, FlowModule } from './types.js';
import { loadFlow } from './validate.js';

/** The entrypoint recorded on flow jobs. */
export const FLOW_ENTRYPOINT = 'flow';

/** What a caller asks to run by path; as the engines' SubmitRequest, plus what the path is. */
export interface PathRequest {
  path: string;
  args?: Record<string, unknown>;
  tag?: string;
  workspace?: string;
  /** A script or a flow; unset, a path ending in .flow.yaml / .flow.json is a flow. */
  kind?: 'script' | 'flow';
  /** Submits at most once: a key seen before returns the job first submitted with it. */
  idempotencyKey?: string;
}

/**
 * Whether a request names a flow: it says so, or its path ends in .flow.yaml / .flow.json,
 * or (given the root) no script but a flow is at its path.
 */
export function isFlowRequest(request: PathRequest, root?: string): boolean {
  if (request.kind !== undefined) return request.kind === 'flow';
  if (isFlowFile(request.path)) return true;
  if (root === undefined || !flowExists(root, request.path)) return false;
  try {
    resolveScript(root, request.path);
    return false;
  } catch {
    return true;
  }
}

/** A flow's inputs as a Signature, so the checks and the CLI parsing of scripts' args apply. */
export function flowSignature(flow: Flow): Signature {
  const properties = flow.schema.properties ?? {};
  const required = new Set(flow.schema.required ?? []);
  return {
    hasMain: true,
    params: Object.entries(properties).map(([name, schema]) => ({
      name,
      schema: schema as JsonSchema,
      required: required.has(name),
    })),
    schema: flow.schema,
    exports: [],
  };
}

/**
 * Turns a request to run a flow into a job spec, refusing it before any job exists when the
 * flow is unknown or invalid (every problem listed), or the args do not fit its schema.
 */
export function flowJobSpec(root: string, request: PathRequest): JobSpec {
  const { flow, hash } = loadFlow(root, request.path);
  const args: Record<string, Json> = {};
  for (const [name, value] of Object.entries(request.args ?? {})) {
    if (value !== undefined) args[name] = encode(value, `args.${name}`);
  }
  const sig = flowSignature(flow);
  // A flow whose schema lists no properties takes any args, as Windmill's do.
  const problems = sig.params.length === 0 ? [] : checkArgs(sig, args);
  if (problems.length > 0) throw new ArgsError(`flow ${flow.path}`, problems);
  return {
    kind: 'flow',
    scriptPath: flow.path,
    scriptHash: hash,
    entrypoint: FLOW_ENTRYPOINT,
    args,
    tag: request.tag,
    workspace: request.workspace,
    ...(request.idempotencyKey !== undefined && { idempotencyKey: request.idempotencyKey }),
  };
}

/** Every module of a flow, nested ones and the failure module included. */
export function allModules(flow: Flow): FlowModule[] {
  const out: FlowModule[] = [];
  const walk = (list: FlowModule[]) => {
    for (const m of list) {
      out.push(m);
      const v = m.value;
      if (v.type === 'forloopflow') walk(v.modules);
      if (v.type === 'branchone') {
        for (const b of v.branches) walk(b.modules);
        walk(v.default);
      }
      if (v.type === 'branchall') for (const b of v.branches) walk(b.modules);
    }
  };
  walk(flow.modules);
  if (flow.failureModule) walk([flow.failureModule]);
  return out;
}

/** The path, content hash and input signature of a script, or of a flow (from its schema). */
export function pathSignature(
  root: string,
  path: string,
  scriptSignature: (path: string) => { path: string; hash: string; signature: Signature },
): { path: string; hash: string; signature: Signature } {
  if (!isFlowFile(path)) return scriptSignature(path);
  const { flow, hash } = loadFlow(root, path);
  return { path: flow.path, hash, signature: flowSignature(flow) };
}
