import vm from 'node:vm';
import { FlowExpressionError } from '../errors.js';
import type { Json } from '../types.js';

/**
 * Flow expressions (javascript input transforms, a loop's iterator, a branch's expr,
 * skip_if, stop_after_if) run in a fresh node:vm context that holds only the documented
 * names, as plain JSON copies made inside that context, with code generation from strings
 * turned off, under a time limit.
 */

/** How long one expression may run. */
export const EXPRESSION_TIMEOUT_MS = 1000;

/** The names an expression can read. `result` is set for stop_after_if only. */
export interface ExpressionNames {
  flow_input: unknown;
  results: Record<string, unknown>;
  previous_result: unknown;
  result?: unknown;
}

/** Which expression of a module this is, for error messages. */
export interface ExpressionSite {
  moduleId: string;
  /** e.g. `input_transforms.x`, `iterator`, `branches[0].expr`, `skip_if`. */
  where: string;
}

const scripts = new Map<string, vm.Script>();

function compile(expr: string): vm.Script {
  let script = scripts.get(expr);
  if (!script) {
    // The expression is wrapped so that it can only be an expression; its value comes out as JSON.
    script = new vm.Script(`JSON.stringify((() => {\n"use strict";\nreturn (\n${expr}\n);\n})())`, {
      filename: 'flow-expression.js',
    });
    scripts.set(expr, script);
  }
  return script;
}

/** A syntax problem with the expression, or undefined when it compiles. */
export function syntaxProblem(expr: string): string | undefined {
  try {
    compile(expr);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Evaluates the expression with `names`; the value comes back as JSON (undefined stays undefined). */
export function evaluate(expr: string, names: ExpressionNames, site: ExpressionSite): Json | undefined {
  let script: vm.Script;
  try {
    script = compile(expr);
  } catch (err) {
    throw new FlowExpressionError(site.moduleId, site.where, expr, `it does not compile: ${(err as Error).message}`);
  }
  // The sandbox object has no prototype: a host-realm one would lead `this.constructor` to the
  // host's Function, which can compile code outside the context.
  const sandbox = Object.create(null) as Record<string, unknown>;
  sandbox.__names = toJsonText(names);
  const context = vm.createContext(sandbox, {
    codeGeneration: { strings: false, wasm: false },
    microtaskMode: 'afterEvaluate',
  });
  try {
    vm.runInContext(
      'for (const [k, v] of Object.entries(JSON.parse(globalThis.__names))) globalThis[k] = v; delete globalThis.__names;',
      context,
      { timeout: EXPRESSION_TIMEOUT_MS },
    );
    const text = script.runInContext(context, { timeout: EXPRESSION_TIMEOUT_MS }) as string | undefined;
    return text === undefined ? undefined : (JSON.parse(text) as Json);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    const problem =
      e?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT'
        ? `it ran longer than the limit of ${EXPRESSION_TIMEOUT_MS} ms`
        : `${(err as Error)?.name ?? 'Error'}: ${e?.message ?? String(err)}`;
    throw new FlowExpressionError(site.moduleId, site.where, expr, problem);
  }
}

/** Whether the value counts as true for a condition (JavaScript truthiness). */
export function truthy(value: Json | undefined): boolean {
  return Boolean(value);
}

/** The module ids an expression reads through `results.<id>` or `results["<id>"]`. */
export function referencedResults(expr: string): string[] {
  const ids = new Set<string>();
  const re = /\bresults\s*(?:\?\.|\.)\s*([A-Za-z_$][\w$]*)|\bresults\s*(?:\?\.)?\[\s*(['"`])([^'"`]+)\2\s*\]/g;
  for (let m = re.exec(expr); m; m = re.exec(expr)) ids.add(m[1] ?? m[3]);
  return [...ids];
}

/** Whether an expression reads `flow_input.iter` (only loops give it). */
export function readsIter(expr: string): boolean {
  return /\bflow_input\s*(?:\?\.|\.)\s*iter\b|\bflow_input\s*\[\s*['"]iter['"]\s*\]/.test(expr);
}

/** JSON text of the names, with values JSON cannot hold given in their JSON form. */
function toJsonText(names: ExpressionNames): string {
  return JSON.stringify(names, (_key, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Map) return Object.fromEntries(v as Map<PropertyKey, unknown>);
    if (v instanceof Set) return [...(v as Set<unknown>)];
    if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
    if (v instanceof Error) return { name: v.name, message: v.message };
    return v;
  });
}
