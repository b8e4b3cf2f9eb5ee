import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type TS from 'typescript';
import { ScriptSyntaxError } from '../errors.js';
import type { Json } from '../types.js';
import { storedSignature } from './signature-store.js';
import { commonJsExports, type FunctionLike } from './commonjs-exports.js';
import { windmillEntry, windmillImports, windmillOptionProblems, windmillTaskExport } from './windmill-workflow.js';

/**
 * Infers `main`'s parameters from a script's source with the TypeScript compiler API and
 * turns them into a JSON schema, as Windmill does for its scripts. It reads the syntax only
 * (no type checking), so it is fast and needs no tsconfig; types declared in the same file
 * (aliases, interfaces, string enums of literals) are followed, anything else is `{}` (any).
 */

export interface JsonSchema {
  type?: 'number' | 'integer' | 'string' | 'boolean' | 'object' | 'array' | 'null';
  enum?: Json[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  anyOf?: JsonSchema[];
  format?: string;
  default?: Json;
  description?: string;
}

export interface MainParam {
  name: string;
  schema: JsonSchema;
  required: boolean;
}

export interface Signature {
  /** Whether the script exports the entry function: main, or the one named by `entrypoint`. */
  hasMain: boolean;
  params: MainParam[];
  /** The args object's schema: `{ type: 'object', properties, required }`, as Windmill shows it. */
  schema: JsonSchema;
  /** The names the script exports, for error messages. */
  exports: string[];
  /** A Windmill workflow-as-code script (loader/windmill-workflow.ts): run by the Windmill runner. */
  windmill?: { optionProblems: string[] };
}

let tsModule: typeof TS | undefined;
function ts(): typeof TS {
  // Loaded on first use: it costs a third of a second, and only submissions need it.
  tsModule ??= createRequire(import.meta.url)('typescript') as typeof TS;
  return tsModule;
}

/** Which exported function's signature to read. */
export interface EntryOptions {
  /**
   * The exported function's name: Windmill's `{entrypoint}` of a task call in its v1 form runs
   * the function of that name (docs/windmill.md).
   * @default 'main'
   */
  entrypoint?: string;
}

const cache = new Map<string, Signature>();

/**
 * The signature of the script in `file` (of its main, or `entrypoint`), kept in memory by
 * content hash, and on disk for the next process (signature-store.ts).
 */
export function inferSignatureOfFile(file: string, hash: string, options: EntryOptions = {}): Signature {
  const entrypoint = options.entrypoint ?? 'main';
  const key = `${file}\0${hash}\0${entrypoint}`;
  let sig = cache.get(key);
  if (!sig) {
    sig = signatureOfSource(readFileSync(file, 'utf8'), file, { entrypoint });
    cache.set(key, sig);
  }
  return sig;
}

/** inferSignature, kept on disk for the next process: the TypeScript compiler is loaded only on a miss. */
export function signatureOfSource(source: string, fileName: string, options: EntryOptions = {}): Signature {
  const entrypoint = options.entrypoint ?? 'main';
  return storedSignature(source, fileName, entrypoint, () => inferSignature(source, fileName, { entrypoint }));
}

export function inferSignature(source: string, fileName = 'script.ts', options: EntryOptions = {}): Signature {
  const entrypoint = options.entrypoint ?? 'main';
  const t = ts();
  const sf = t.createSourceFile(fileName, source, t.ScriptTarget.Latest, true, scriptKind(fileName));
  // A script that does not parse would otherwise yield a made-up signature (a parameter
  // `arg0` from the parser's recovery): say where it fails instead.
  const syntax =
    (sf as TS.SourceFile & { parseDiagnostics?: readonly TS.DiagnosticWithLocation[] }).parseDiagnostics ?? [];
  if (syntax.length > 0) {
    const first = syntax[0];
    const { line, character } = sf.getLineAndCharacterOfPosition(first.start);
    const problem = t.flattenDiagnosticMessageText(first.messageText, ' ').replace(/\.$/, '');
    throw new ScriptSyntaxError({
      file: fileName,
      line: line + 1,
      column: character + 1,
      problem,
      more: syntax.length - 1,
    });
  }
  const locals = collectLocalTypes(sf);
  const exports = collectExports(sf);
  const windmill = windmillImports(t, sf) && { optionProblems: windmillOptionProblems(t, sf) };
  // A Windmill workflow's main is the function workflow() wraps; another entrypoint, a function task() wraps.
  const main =
    findExported(sf, entrypoint) ??
    (entrypoint === 'main' ? windmillEntry(t, sf) : windmillTaskExport(t, sf, entrypoint));
  if (!main) return { hasMain: false, params: [], schema: objectSchema([]), exports, ...(windmill && { windmill }) };
  const params = main.parameters.map((p, i): MainParam => {
    const name = t.isIdentifier(p.name) ? p.name.text : `arg${i}`;
    let schema: JsonSchema = p.type
      ? typeToSchema(p.type, locals, 0)
      : p.initializer
        ? literalSchema(p.initializer)
        : {};
    let required = !p.questionToken && !p.initializer && !p.dotDotDotToken;
    if (schema.anyOf?.some((s) => s.type === 'null' && s.description === 'undefined')) {
      required = false;
      schema = withoutUndefined(schema);
    }
    if (p.initializer) {
      const value = literalValue(p.initializer);
      if (value !== undefined) schema = { ...schema, default: value };
    }
    return { name, schema, required };
  });
  return { hasMain: true, params, schema: objectSchema(params), exports, ...(windmill && { windmill }) };
}

function scriptKind(fileName: string): TS.ScriptKind {
  const t = ts();
  if (fileName.endsWith('.tsx')) return t.ScriptKind.TSX;
  if (/\.[cm]?js$/.test(fileName)) return t.ScriptKind.JS;
  return t.ScriptKind.TS;
}

function objectSchema(params: MainParam[]): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const p of params) properties[p.name] = p.schema;
  return { type: 'object', properties, required: params.filter((p) => p.required).map((p) => p.name) };
}

/** The exported function of that name: declared, an exported arrow or function expression, `export { x as name }`, or CommonJS's. */
function findExported(sf: TS.SourceFile, name: string): FunctionLike | undefined {
  const t = ts();
  const localFns = new Map<string, FunctionLike>();
  let exported: FunctionLike | undefined;
  let exportedLocalName: string | undefined;
  for (const stmt of sf.statements) {
    const isExported = hasExportModifier(stmt);
    if (t.isFunctionDeclaration(stmt) && stmt.name) {
      localFns.set(stmt.name.text, stmt);
      if (isExported && stmt.name.text === name) exported = stmt;
    } else if (t.isVariableStatement(stmt)) {
      for (const decl of stmt.declarationList.declarations) {
        if (!t.isIdentifier(decl.name) || !decl.initializer) continue;
        const init = unwrap(decl.initializer);
        if (t.isArrowFunction(init) || t.isFunctionExpression(init)) {
          localFns.set(decl.name.text, init);
          if (isExported && decl.name.text === name) exported = init;
        }
      }
    } else if (
      t.isExportDeclaration(stmt) &&
      !stmt.moduleSpecifier &&
      stmt.exportClause &&
      t.isNamedExports(stmt.exportClause)
    ) {
      for (const el of stmt.exportClause.elements) {
        if (el.name.text === name) exportedLocalName = (el.propertyName ?? el.name).text;
      }
    }
  }
  return (
    exported ??
    (exportedLocalName ? localFns.get(exportedLocalName) : undefined) ??
    commonJsExports(t, sf, localFns).functions.get(name)
  );
}

function unwrap(expr: TS.Expression): TS.Expression {
  const t = ts();
  let e = expr;
  while (t.isParenthesizedExpression(e) || t.isAsExpression(e) || t.isSatisfiesExpression(e)) e = e.expression;
  return e;
}

function hasExportModifier(node: TS.Node): boolean {
  const t = ts();
  return !!(t.canHaveModifiers(node) && t.getModifiers(node)?.some((m) => m.kind === t.SyntaxKind.ExportKeyword));
}

function collectExports(sf: TS.SourceFile): string[] {
  const t = ts();
  const names: string[] = [];
  for (const stmt of sf.statements) {
    if (!hasExportModifier(stmt)) {
      if (t.isExportDeclaration(stmt) && stmt.exportClause && t.isNamedExports(stmt.exportClause)) {
        names.push(...stmt.exportClause.elements.map((e) => e.name.text));
      }
      continue;
    }
    if ((t.isFunctionDeclaration(stmt) || t.isClassDeclaration(stmt)) && stmt.name) names.push(stmt.name.text);
    if (t.isVariableStatement(stmt)) {
      for (const d of stmt.declarationList.declarations) if (t.isIdentifier(d.name)) names.push(d.name.text);
    }
  }
  names.push(...commonJsExports(t, sf, new Map()).names.filter((n) => !names.includes(n)));
  return names;
}

type LocalTypes = Map<string, TS.TypeNode | TS.InterfaceDeclaration>;

function collectLocalTypes(sf: TS.SourceFile): LocalTypes {
  const t = ts();
  const types: LocalTypes = new Map();
  for (const stmt of sf.statements) {
    if (t.isTypeAliasDeclaration(stmt)) types.set(stmt.name.text, stmt.type);
    if (t.isInterfaceDeclaration(stmt)) types.set(stmt.name.text, stmt);
  }
  return types;
}

const MAX_DEPTH = 8;

function typeToSchema(node: TS.TypeNode, locals: LocalTypes, depth: number): JsonSchema {
  const t = ts();
  if (depth > MAX_DEPTH) return {};
  const k = t.SyntaxKind;
  switch (node.kind) {
    case k.NumberKeyword:
      return { type: 'number' };
    case k.StringKeyword:
      return { type: 'string' };
    case k.BooleanKeyword:
      return { type: 'boolean' };
    case k.BigIntKeyword:
      return { type: 'integer', format: 'bigint' };
    case k.NullKeyword:
      return { type: 'null' };
    case k.UndefinedKeyword:
    case k.VoidKeyword:
      return { type: 'null', description: 'undefined' };
    case k.ObjectKeyword:
      return { type: 'object' };
  }
  if (t.isParenthesizedTypeNode(node)) return typeToSchema(node.type, locals, depth);
  if (t.isLiteralTypeNode(node)) {
    const lit = node.literal;
    if (lit.kind === k.NullKeyword) return { type: 'null' };
    if (t.isStringLiteral(lit)) return { type: 'string', enum: [lit.text] };
    if (t.isNumericLiteral(lit)) return { type: 'number', enum: [Number(lit.text)] };
    if (lit.kind === k.TrueKeyword) return { type: 'boolean', enum: [true] };
    if (lit.kind === k.FalseKeyword) return { type: 'boolean', enum: [false] };
    return {};
  }
  if (t.isArrayTypeNode(node)) return { type: 'array', items: typeToSchema(node.elementType, locals, depth + 1) };
  if (t.isTupleTypeNode(node)) return { type: 'array' };
  if (t.isUnionTypeNode(node)) return unionSchema(node.types.map((m) => typeToSchema(m, locals, depth + 1)));
  if (t.isTypeLiteralNode(node)) return membersSchema(node.members, locals, depth);
  if (t.isTypeReferenceNode(node)) {
    const name = t.isIdentifier(node.typeName) ? node.typeName.text : node.typeName.right.text;
    const args = node.typeArguments ?? [];
    if ((name === 'Array' || name === 'ReadonlyArray') && args[0]) {
      return { type: 'array', items: typeToSchema(args[0], locals, depth + 1) };
    }
    if (name === 'Record' && args[1]) {
      return { type: 'object', additionalProperties: typeToSchema(args[1], locals, depth + 1) };
    }
    if (name === 'Date') return { type: 'string', format: 'date-time' };
    if (name === 'Partial' && args[0]) {
      const inner = typeToSchema(args[0], locals, depth + 1);
      return { ...inner, required: [] };
    }
    const local = locals.get(name);
    if (local) {
      return t.isInterfaceDeclaration(local)
        ? membersSchema(local.members, locals, depth + 1)
        : typeToSchema(local, locals, depth + 1);
    }
  }
  return {};
}

function membersSchema(members: TS.NodeArray<TS.TypeElement>, locals: LocalTypes, depth: number): JsonSchema {
  const t = ts();
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const m of members) {
    if (!t.isPropertySignature(m) || !m.name) continue;
    const name = t.isIdentifier(m.name) || t.isStringLiteral(m.name) ? m.name.text : undefined;
    if (!name) continue;
    let schema = m.type ? typeToSchema(m.type, locals, depth + 1) : {};
    const optional = !!m.questionToken || !!schema.anyOf?.some((s) => s.description === 'undefined');
    schema = withoutUndefined(schema);
    properties[name] = schema;
    if (!optional) required.push(name);
  }
  return { type: 'object', properties, required };
}

function unionSchema(members: JsonSchema[]): JsonSchema {
  // 'a' | 'b' | 'c' is an enum of strings, as Windmill shows it.
  if (members.length > 0 && members.every((m) => m.enum && m.type === members[0].type)) {
    return { type: members[0].type, enum: members.flatMap((m) => m.enum ?? []) };
  }
  if (members.length === 2 && members.every((m) => m.type === 'boolean' && m.enum)) return { type: 'boolean' };
  return { anyOf: members };
}

function withoutUndefined(schema: JsonSchema): JsonSchema {
  if (!schema.anyOf) return schema;
  const rest = schema.anyOf.filter((s) => !(s.type === 'null' && s.description === 'undefined'));
  if (rest.length === schema.anyOf.length) return schema;
  return rest.length === 1 ? rest[0] : unionSchema(rest);
}

function literalSchema(expr: TS.Expression): JsonSchema {
  const value = literalValue(expr);
  switch (typeof value) {
    case 'number':
      return { type: 'number' };
    case 'string':
      return { type: 'string' };
    case 'boolean':
      return { type: 'boolean' };
  }
  if (Array.isArray(value)) return { type: 'array' };
  if (value && typeof value === 'object') return { type: 'object' };
  return {};
}

/** The value of a literal initializer (`3`, `'x'`, `true`, `[1, 2]`, `{ a: 1 }`), else undefined. */
function literalValue(expr: TS.Expression): Json | undefined {
  const t = ts();
  const e = unwrap(expr);
  if (t.isNumericLiteral(e)) return Number(e.text);
  if (t.isPrefixUnaryExpression(e) && e.operator === t.SyntaxKind.MinusToken && t.isNumericLiteral(e.operand))
    return -Number(e.operand.text);
  if (t.isStringLiteral(e) || t.isNoSubstitutionTemplateLiteral(e)) return e.text;
  if (e.kind === t.SyntaxKind.TrueKeyword) return true;
  if (e.kind === t.SyntaxKind.FalseKeyword) return false;
  if (e.kind === t.SyntaxKind.NullKeyword) return null;
  if (t.isArrayLiteralExpression(e)) {
    const items = e.elements.map(literalValue);
    return items.every((i) => i !== undefined) ? (items as Json[]) : undefined;
  }
  if (t.isObjectLiteralExpression(e)) {
    const out: Record<string, Json> = {};
    for (const p of e.properties) {
      if (!t.isPropertyAssignment(p) || !(t.isIdentifier(p.name) || t.isStringLiteral(p.name))) return undefined;
      const v = literalValue(p.initializer);
      if (v === undefined) return undefined;
      out[p.name.text] = v;
    }
    return out;
  }
  return undefined;
}
