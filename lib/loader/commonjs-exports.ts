import type TS from 'typescript';

/**
 * What a CommonJS script exports, read from its syntax: `exports.main = …`,
 * `module.exports.main = …`, and `module.exports = { main, … }` (a shorthand, a property
 * whose value is a function or a local function's name, or a method). A `.cjs` script, or a
 * `.js` one in a project without `"type": "module"`, says which function is `main` this way.
 */

/** A function `main` may be: declared, an arrow or function expression, or an object's method. */
export type FunctionLike = TS.FunctionDeclaration | TS.ArrowFunction | TS.FunctionExpression | TS.MethodDeclaration;

export interface CommonJsExports {
  /** The exported names, in source order. */
  names: string[];
  /** Each exported name whose value is a function found in the source. */
  functions: Map<string, FunctionLike>;
}

export function commonJsExports(
  t: typeof TS,
  sf: TS.SourceFile,
  localFns: ReadonlyMap<string, FunctionLike>,
): CommonJsExports {
  const names: string[] = [];
  const functions = new Map<string, FunctionLike>();
  const add = (name: string, value: TS.Expression | undefined, method?: TS.MethodDeclaration) => {
    if (!names.includes(name)) names.push(name);
    const fn = method ?? (value ? functionOf(t, value, localFns) : localFns.get(name));
    if (fn) functions.set(name, fn);
  };
  for (const stmt of sf.statements) {
    if (!t.isExpressionStatement(stmt)) continue;
    const e = stmt.expression;
    if (!t.isBinaryExpression(e) || e.operatorToken.kind !== t.SyntaxKind.EqualsToken) continue;
    const target = e.left;
    // exports.name = … and module.exports.name = …
    if (t.isPropertyAccessExpression(target) && isExportsObject(t, target.expression)) {
      add(target.name.text, e.right);
      continue;
    }
    // module.exports = { … }
    const value = unwrap(t, e.right);
    if (isModuleExports(t, target) && t.isObjectLiteralExpression(value)) {
      for (const p of value.properties) {
        if (t.isShorthandPropertyAssignment(p)) add(p.name.text, undefined);
        else if (t.isPropertyAssignment(p) && (t.isIdentifier(p.name) || t.isStringLiteral(p.name)))
          add(p.name.text, p.initializer);
        else if (t.isMethodDeclaration(p) && t.isIdentifier(p.name)) add(p.name.text, undefined, p);
      }
    }
  }
  return { names, functions };
}

function functionOf(
  t: typeof TS,
  expr: TS.Expression,
  localFns: ReadonlyMap<string, FunctionLike>,
): FunctionLike | undefined {
  const e = unwrap(t, expr);
  if (t.isArrowFunction(e) || t.isFunctionExpression(e)) return e;
  if (t.isIdentifier(e)) return localFns.get(e.text);
  return undefined;
}

/** `exports` or `module.exports`. */
function isExportsObject(t: typeof TS, expr: TS.Expression): boolean {
  return (t.isIdentifier(expr) && expr.text === 'exports') || isModuleExports(t, expr);
}

function isModuleExports(t: typeof TS, expr: TS.Expression): boolean {
  return (
    t.isPropertyAccessExpression(expr) &&
    t.isIdentifier(expr.expression) &&
    expr.expression.text === 'module' &&
    expr.name.text === 'exports'
  );
}

function unwrap(t: typeof TS, expr: TS.Expression): TS.Expression {
  let e = expr;
  while (t.isParenthesizedExpression(e) || t.isAsExpression(e) || t.isSatisfiesExpression(e)) e = e.expression;
  return e;
}
