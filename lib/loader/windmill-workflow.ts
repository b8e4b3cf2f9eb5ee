import type TS from 'typescript';
import type { FunctionLike } from './commonjs-exports.js';

/**
 * Windmill's workflow-as-code scripts, recognised from their syntax (docs/windmill.md): a script
 * that imports `workflow`, `task`, `taskScript`, `taskFlow`, `step`, `sleep` or `waitForApproval`
 * from `windmill-client`. Its entry point is the function wrapped by `workflow()`
 * (`export const main = workflow(…)` or `export default workflow(…)`), whose parameters are the
 * script's args; and the options its tasks are given are checked here, by name, because the SDK
 * drops the ones it does not know without a word.
 */

/** The SDK's names that make a script a Windmill workflow. */
const WORKFLOW_NAMES = new Set(['workflow', 'task', 'taskScript', 'taskFlow', 'step', 'sleep', 'waitForApproval']);

/** The job arg that carries an inline task's checkpoint to the child job that runs it (see windmill/). */
export const WAC_TASK_ARG = '__wmill_task';

/**
 * Windmill's task options and what millrace does with each (docs/windmill.md): every one of
 * these is honoured; any other is refused by name.
 */
export const WINDMILL_TASK_OPTIONS = new Set([
  'timeout',
  'tag',
  'cache_ttl',
  'priority',
  'concurrency_limit',
  'concurrency_key',
  'concurrency_time_window_s',
  'retry',
]);
const RETRY_OPTIONS = new Set(['attempts', 'delay', 'multiplier', 'max_delay']);

/** The calls whose options are checked, and the position of their options argument. */
const OPTION_POSITIONS: Record<string, (args: readonly TS.Expression[]) => TS.Expression | undefined> = {
  task: (args) => (args.length === 3 ? args[2] : args.length === 2 ? args[1] : undefined),
  taskScript: (args) => args[1],
  taskFlow: (args) => args[1],
};

export interface WindmillScript {
  /** The local names the script gives the SDK's functions (an `as` import renames them). */
  imports: Map<string, string>;
}

/** The SDK functions a script imports from windmill-client, or undefined when it imports none that make a workflow. */
export function windmillImports(t: typeof TS, sf: TS.SourceFile): WindmillScript | undefined {
  const imports = new Map<string, string>();
  for (const stmt of sf.statements) {
    if (!t.isImportDeclaration(stmt) || !t.isStringLiteral(stmt.moduleSpecifier)) continue;
    if (stmt.moduleSpecifier.text !== 'windmill-client') continue;
    const bindings = stmt.importClause?.namedBindings;
    if (!bindings || !t.isNamedImports(bindings)) continue;
    for (const el of bindings.elements) imports.set(el.name.text, (el.propertyName ?? el.name).text);
  }
  return [...imports.values()].some((name) => WORKFLOW_NAMES.has(name)) ? { imports } : undefined;
}

/** The function `workflow(fn)` wraps in `export const main = workflow(fn)` or `export default workflow(fn)`. */
export function windmillEntry(t: typeof TS, sf: TS.SourceFile): FunctionLike | undefined {
  const script = windmillImports(t, sf);
  if (!script) return undefined;
  const wrapped = (expr: TS.Expression | undefined): FunctionLike | undefined => {
    if (!expr || !t.isCallExpression(expr) || !t.isIdentifier(expr.expression)) return undefined;
    if (script.imports.get(expr.expression.text) !== 'workflow') return undefined;
    const fn = expr.arguments[0];
    return fn && (t.isArrowFunction(fn) || t.isFunctionExpression(fn)) ? fn : undefined;
  };
  let found: FunctionLike | undefined;
  for (const stmt of sf.statements) {
    if (t.isExportAssignment(stmt) && !stmt.isExportEquals) found ??= wrapped(stmt.expression);
    if (!t.isVariableStatement(stmt)) continue;
    const exported = t.getModifiers(stmt)?.some((m) => m.kind === t.SyntaxKind.ExportKeyword);
    for (const decl of stmt.declarationList.declarations) {
      if (!exported || !t.isIdentifier(decl.name)) continue;
      const fn = wrapped(decl.initializer);
      // `main` wins over another wrapped export, as Windmill runs main.
      if (fn && (decl.name.text === 'main' || !found)) found = fn;
    }
  }
  return found;
}

/**
 * The function `task()` wraps in `export const <name> = task(fn)` (or `task('path', fn, options)`):
 * a task called by name as Windmill's v1 task call does (docs/windmill.md), whose job runs it alone.
 */
export function windmillTaskExport(t: typeof TS, sf: TS.SourceFile, name: string): FunctionLike | undefined {
  const script = windmillImports(t, sf);
  if (!script) return undefined;
  for (const stmt of sf.statements) {
    if (!t.isVariableStatement(stmt) || !t.getModifiers(stmt)?.some((m) => m.kind === t.SyntaxKind.ExportKeyword)) {
      continue;
    }
    for (const decl of stmt.declarationList.declarations) {
      if (!t.isIdentifier(decl.name) || decl.name.text !== name || !decl.initializer) continue;
      const call = unwrap(t, decl.initializer);
      if (!t.isCallExpression(call) || !t.isIdentifier(call.expression)) continue;
      if (script.imports.get(call.expression.text) !== 'task') continue;
      return call.arguments.find(
        (a): a is TS.ArrowFunction | TS.FunctionExpression => t.isArrowFunction(a) || t.isFunctionExpression(a),
      );
    }
  }
  return undefined;
}

/**
 * The task options millrace does not support, each named with where it is
 * (`task(…) at line 12: option "foo"`). Only options written as an object literal can be read;
 * the SDK's own checks still apply to the rest when the script runs.
 */
export function windmillOptionProblems(t: typeof TS, sf: TS.SourceFile): string[] {
  const script = windmillImports(t, sf);
  if (!script) return [];
  const problems: string[] = [];
  const visit = (node: TS.Node): void => {
    if (t.isCallExpression(node) && t.isIdentifier(node.expression)) {
      const sdkName = script.imports.get(node.expression.text);
      const written = sdkName ? OPTION_POSITIONS[sdkName]?.(node.arguments) : undefined;
      const options = written && unwrap(t, written);
      if (sdkName && options && t.isObjectLiteralExpression(options)) {
        const where = `${sdkName}(…) at line ${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}`;
        problems.push(...objectProblems(t, options, WINDMILL_TASK_OPTIONS, where, 'option'));
        const retry = options.properties.find((p) => propertyName(t, p) === 'retry');
        if (retry && t.isPropertyAssignment(retry) && t.isObjectLiteralExpression(retry.initializer)) {
          problems.push(...objectProblems(t, retry.initializer, RETRY_OPTIONS, where, 'retry option'));
        }
      }
    }
    t.forEachChild(node, visit);
  };
  visit(sf);
  return problems;
}

function objectProblems(
  t: typeof TS,
  object: TS.ObjectLiteralExpression,
  known: Set<string>,
  where: string,
  what: string,
): string[] {
  const problems: string[] = [];
  for (const p of object.properties) {
    const name = propertyName(t, p);
    if (name !== undefined && !known.has(name)) {
      problems.push(`${where}: ${what} "${name}" is not supported (supported: ${[...known].join(', ')})`);
    }
  }
  return problems;
}

/** `{ … } as TaskOptions`, `({ … })`, `{ … } satisfies …`: the object literal inside. */
function unwrap(t: typeof TS, expr: TS.Expression): TS.Expression {
  let e = expr;
  while (t.isParenthesizedExpression(e) || t.isAsExpression(e) || t.isSatisfiesExpression(e)) e = e.expression;
  return e;
}

function propertyName(t: typeof TS, p: TS.ObjectLiteralElementLike): string | undefined {
  if (t.isShorthandPropertyAssignment(p)) return p.name.text;
  if (!p.name) return undefined;
  if (t.isIdentifier(p.name) || t.isStringLiteral(p.name)) return p.name.text;
  return undefined;
}
