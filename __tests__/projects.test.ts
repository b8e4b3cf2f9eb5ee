/**
 * millrace as a user gets it: packed with `npm pack`, installed with `npm i <tarball>` into
 * real projects of every kind, and run with `npx millrace run` and from plain Node programs.
 *
 * The kinds: no "type" (what `npm init -y` makes), "type": "commonjs", "type": "module", and a
 * project with its own tsconfig.json whose `paths` alias reaches a helper module. Each holds
 * one script per extension (.ts, .mts, .cts, .js, .mjs, .cjs) that imports an ESM-only and a
 * CommonJS-only package and calls a task; the task logs its own job id (from currentJob()), so
 * a line `[compute <id>] … in job <the same id>` shows that the task ran as a child job, in its
 * own context, and that its line reached the root's log.
 *
 * In the projects without "type": "module", a `.ts` helper module (CommonJS there) defines a task
 * that scripts of every extension import and call: an `.mts` or `.mjs` script gets the helper
 * from tsx under a data: URL, a `.ts`, `.cts` or `.cjs` one through require (see
 * lib/task/module-identity.ts).
 *
 * One `npm i` for all: installing does not depend on the project's "type" or tsconfig, and it
 * compiles better-sqlite3 from source (minutes on a busy machine). The other projects get a
 * copy of that node_modules.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SqliteStore } from '../lib/store/sqlite/sqlite-store.js';
import type { JobRecord } from '../lib/types.js';
import { REPO_ROOT } from './helpers/engine.js';
import { runToEnd, type Result } from './helpers/processes.js';

const INSTALL_TIMEOUT = 45 * 60_000;
const RUN_TIMEOUT = 5 * 60_000;

/** Runs a command to its end. The test's own MILLRACE_* settings do not leak into it. */
function sh(command: string, args: string[], cwd: string): Promise<Result> {
  const env: NodeJS.ProcessEnv = { NO_COLOR: '1' };
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('MILLRACE_') && k !== 'NODE_OPTIONS' && k !== 'TSX_TSCONFIG_PATH') env[k] = v;
  return runToEnd(command, args, { cwd, env });
}

function must(what: string, r: Result): Result {
  if (r.code !== 0) throw new Error(`${what} exited with ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return r;
}

function write(dir: string, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
}

/** Two packages a script may import: one that is only an ES module, one that is only CommonJS. */
const LOCAL_PACKAGES = {
  'node_modules/esm-only/package.json': JSON.stringify({
    name: 'esm-only',
    version: '1.0.0',
    type: 'module',
    exports: './index.js',
  }),
  'node_modules/esm-only/index.js': 'export function double(n) {\n  return n * 2;\n}\n',
  'node_modules/cjs-only/package.json': JSON.stringify({ name: 'cjs-only', version: '1.0.0', main: 'index.js' }),
  'node_modules/cjs-only/index.js': 'exports.triple = (n) => n * 3;\n',
};

/** A script in ES module syntax (TypeScript or not): main(n) calls the task compute(n). */
function esmScript(label: string, typed: boolean): string {
  const n = typed ? 'n: number' : 'n';
  return `import { task, currentJob } from 'millrace';
import { double } from 'esm-only';
import { triple } from 'cjs-only';

export const compute = task(async function compute(${n}) {
  console.log(\`compute(\${n}) in job \${currentJob().id} (${label})\`);
  return double(n) + triple(n);
});

export async function main(${n}) {
  return { script: '${label}', total: await compute(n) };
}
`;
}

/** The same script in CommonJS syntax. */
function cjsScript(label: string): string {
  return `const { task, currentJob } = require('millrace');
const { double } = require('esm-only');
const { triple } = require('cjs-only');

const compute = task(async function compute(n) {
  console.log(\`compute(\${n}) in job \${currentJob().id} (${label})\`);
  return double(n) + triple(n);
});

async function main(n) {
  return { script: '${label}', total: await compute(n) };
}

module.exports = { compute, main };
`;
}

/** One script per extension; `.js` follows the project's kind, as Node reads it. */
function scripts(kind: 'commonjs' | 'module'): Record<string, string> {
  return {
    'calc-ts.ts': esmScript('calc-ts.ts', true),
    'calc-mts.mts': esmScript('calc-mts.mts', true),
    'calc-cts.cts': esmScript('calc-cts.cts', true),
    'calc-js.js': kind === 'module' ? esmScript('calc-js.js', false) : cjsScript('calc-js.js'),
    'calc-mjs.mjs': esmScript('calc-mjs.mjs', false),
    'calc-cjs.cjs': cjsScript('calc-cjs.cjs'),
  };
}

/**
 * A helper module of a CommonJS project (a .ts file there is CommonJS) that defines a task, and
 * a script per extension that imports it and calls the task.
 */
const GREET = {
  'lib/greet.ts': `import { task, currentJob } from 'millrace';
export const greet = task(async function greet(word: string) {
  console.log(\`greet(\${word}) in job \${currentJob().id}\`);
  return \`hello \${word}\`;
});
`,
  'greet-mts.mts': `import { greet } from './lib/greet.ts';\nexport async function main(word: string) {\n  return greet(word);\n}\n`,
  'greet-mjs.mjs': `import { greet } from './lib/greet.ts';\nexport async function main(word) {\n  return greet(word);\n}\n`,
  'greet-ts.ts': `import { greet } from './lib/greet';\nexport async function main(word: string) {\n  return greet(word);\n}\n`,
  'greet-cts.cts': `import { greet } from './lib/greet';\nexport async function main(word: string) {\n  return greet(word);\n}\n`,
  'greet-cjs.cjs': `const { greet } = require('./lib/greet.ts');\nasync function main(word) {\n  return greet(word);\n}\nmodule.exports = { main };\n`,
};

/** Plain Node programs that run a script (argv[2]) with args (argv[3], JSON) through runScript, outside any job. */
const PROGRAMS = {
  'program.cjs': `const { runScript, disconnect } = require('millrace');
runScript(process.argv[2], JSON.parse(process.argv[3]))
  .then((result) => console.log(JSON.stringify(result)))
  .finally(() => disconnect())
  .catch((err) => { console.error(err); process.exitCode = 1; });
`,
  'program.mjs': `import { runScript, disconnect } from 'millrace';
try {
  console.log(JSON.stringify(await runScript(process.argv[2], JSON.parse(process.argv[3]))));
} finally {
  await disconnect();
}
`,
};

let base: string;
const project = (name: string) => join(base, name);
const millraceBin = (dir: string) => join(dir, 'node_modules/millrace/bin/millrace.js');

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'millrace-projects-'));
  // dist/ is what the tarball ships; `npm test` builds it first. --ignore-scripts: no second build.
  const packed = must('npm pack', await sh('npm', ['pack', '--ignore-scripts', '--pack-destination', base], REPO_ROOT));
  const tarball = join(base, packed.stdout.trim().split('\n').pop()!);

  // The README's path: a fresh `npm init -y` project, then `npm i <tarball>`.
  const plain = project('plain');
  mkdirSync(plain);
  must('npm init -y', await sh('npm', ['init', '-y'], plain));
  must('npm i <tarball>', await sh('npm', ['i', '--no-audit', '--no-fund', tarball], plain));
  const installed = JSON.parse(readFileSync(join(plain, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };

  const kinds: Record<string, Record<string, unknown>> = {
    commonjs: { type: 'commonjs' },
    module: { type: 'module' },
    paths: {},
  };
  for (const [name, fields] of Object.entries(kinds)) {
    const dir = project(name);
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name, version: '1.0.0', ...fields, dependencies: installed.dependencies }, null, 2),
    );
    cpSync(join(plain, 'package-lock.json'), join(dir, 'package-lock.json'));
    cpSync(join(plain, 'node_modules'), join(dir, 'node_modules'), { recursive: true, verbatimSymlinks: true });
  }

  for (const name of ['plain', 'commonjs', 'module', 'paths']) write(project(name), { ...LOCAL_PACKAGES, ...PROGRAMS });
  write(project('plain'), {
    ...scripts('commonjs'),
    ...GREET,
    'heavy.ts': readFileSync(join(REPO_ROOT, 'examples/heavy.ts'), 'utf8'),
  });
  write(project('commonjs'), scripts('commonjs'));
  write(project('module'), scripts('module'));
  // The paths project: a tsconfig.json whose alias @lib/* reaches src/lib, where a helper
  // module defines the task the scripts call.
  write(project('paths'), {
    'tsconfig.json': JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        strict: true,
        baseUrl: '.',
        paths: { '@lib/*': ['src/lib/*'] },
      },
    }),
    'src/lib/shout.ts': `import { task, currentJob } from 'millrace';
export const shout = task(async function shout(word: string) {
  console.log(\`shout(\${word}) in job \${currentJob().id}\`);
  return word.toUpperCase();
}, 'io');
`,
    'scripts/aliased-ts.ts': `import { shout } from '@lib/shout';\nexport async function main(word: string) {\n  return shout(word);\n}\n`,
    // An ES module importing the helper (CommonJS: this project has no "type") by name: tsx
    // hands it to Node under a data: URL, whose task must still be found and run as a child.
    'scripts/aliased-mts.mts': `import { shout } from '@lib/shout';\nexport async function main(word: string) {\n  return shout(word);\n}\n`,
    // CommonJS importing a .ts helper: its require must go through tsx's hook too.
    'scripts/aliased-cts.cts': `import { shout } from '@lib/shout';\nexport async function main(word: string) {\n  return shout(word);\n}\n`,
  });
  // Somewhere else to start from, whose own tsconfig.json maps the alias to nowhere.
  write(project('elsewhere'), {
    'tsconfig.json': JSON.stringify({ compilerOptions: { baseUrl: '.', paths: { '@lib/*': ['missing/*'] } } }),
  });
}, INSTALL_TIMEOUT);

afterAll(() => {
  if (base) rmSync(base, { recursive: true, force: true });
});

/** The project's jobs store, opened after the runs (the runs have exited). */
async function withStore<T>(dir: string, fn: (store: SqliteStore) => Promise<T>): Promise<T> {
  const store = new SqliteStore({ file: join(dir, '.millrace/millrace.db') });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** The ids of the project's runs so far. */
async function runIds(dir: string): Promise<Set<string>> {
  if (!existsSync(join(dir, '.millrace/millrace.db'))) return new Set();
  return new Set((await withStore(dir, (s) => s.list({ rootsOnly: true, limit: 1000 }))).map((j) => j.id));
}

/** Checks that the run `rootId` made one child job `taskName` that ran in its own context and logged `line`. */
async function expectChild(dir: string, rootId: string, taskName: string, line: RegExp): Promise<JobRecord> {
  return withStore(dir, async (store) => {
    const root = await store.get(rootId);
    expect(root?.status).toBe('success');
    const children = await store.list({ parentJob: rootId });
    expect(children.map((c) => [c.kind, c.entrypoint, c.status])).toEqual([['task', taskName, 'success']]);
    const own = (await store.readLogs(children[0].id, { ownOnly: true })).map((l) => l.line);
    expect(own).toEqual([expect.stringMatching(line)]);
    expect(own[0]).toContain(`in job ${children[0].id}`);
    return children[0];
  });
}

/** `npx millrace run <script> --n 3` in the project: the result, and the child's line in the root's log. */
async function expectScriptRuns(name: string, script: string): Promise<void> {
  const dir = project(name);
  const run = await sh('npx', ['millrace', 'run', script, '--n', '3'], dir);
  if (run.code !== 0)
    throw new Error(`millrace run ${script} in the ${name} project exited with ${run.code}:\n${run.stderr}`);
  expect(JSON.parse(run.stdout)).toEqual({ script, total: 15 });
  const rootId = run.stderr.match(/^job ([0-9a-z]{20}) /m)![1];
  const line = run.stderr.match(/^\[compute ([0-9a-z]{8})\] compute\(3\) in job ([0-9a-z]{20}) \((.*)\)$/m);
  expect(line).not.toBeNull();
  expect(line![2].startsWith(line![1])).toBe(true);
  expect(line![3]).toBe(script);
  await expectChild(dir, rootId, 'compute', /^compute\(3\) in job [0-9a-z]{20} /);
}

const EXTENSIONS = ['ts', 'mts', 'cts', 'js', 'mjs', 'cjs'];

describe.each([
  ['plain', 'no "type" (npm init -y)'],
  ['commonjs', '"type": "commonjs"'],
  ['module', '"type": "module"'],
])('a project with %s', (name, what) => {
  it.each(EXTENSIONS)(
    `${what}: npx millrace run calc-%s runs the script and its task as a child job`,
    async (ext) => {
      await expectScriptRuns(name, `calc-${ext}.${ext}`);
    },
    RUN_TIMEOUT,
  );

  it.each(['program.cjs', 'program.mjs'])(
    `${what}: a plain Node program (%s) runs a script through runScript`,
    async (program) => {
      const dir = project(name);
      const before = await runIds(dir);
      const run = await sh(process.execPath, [program, 'calc-ts', '{"n":4}'], dir);
      if (run.code !== 0) throw new Error(`node ${program} exited with ${run.code}:\n${run.stderr}`);
      expect(JSON.parse(run.stdout)).toEqual({ script: 'calc-ts.ts', total: 20 });
      const roots = (await withStore(dir, (s) => s.list({ rootsOnly: true, limit: 1000 }))).filter(
        (j) => !before.has(j.id),
      );
      expect(roots.map((r) => r.scriptPath)).toEqual(['calc-ts']);
      await expectChild(dir, roots[0].id, 'compute', /^compute\(4\) in job [0-9a-z]{20} \(calc-ts\.ts\)$/);
    },
    RUN_TIMEOUT,
  );
});

describe('a helper module’s task, in an npm init -y project (CommonJS)', () => {
  it.each(['greet-mts.mts', 'greet-mjs.mjs', 'greet-ts.ts', 'greet-cts.cts', 'greet-cjs.cjs'])(
    'npx millrace run %s calls the task of lib/greet.ts as a child job',
    async (script) => {
      const dir = project('plain');
      expect(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).type).not.toBe('module');
      const run = await sh('npx', ['millrace', 'run', script, '--word', 'you'], dir);
      if (run.code !== 0)
        throw new Error(`millrace run ${script} in the plain project exited with ${run.code}:\n${run.stderr}`);
      expect(JSON.parse(run.stdout)).toBe('hello you');
      const rootId = run.stderr.match(/^job ([0-9a-z]{20}) /m)![1];
      const line = run.stderr.match(/^\[greet ([0-9a-z]{8})\] greet\(you\) in job ([0-9a-z]{20})$/m);
      expect(line).not.toBeNull();
      expect(line![2].startsWith(line![1])).toBe(true);
      const child = await expectChild(dir, rootId, 'greet', /^greet\(you\) in job [0-9a-z]{20}$/);
      expect(child).toMatchObject({ id: line![2], scriptPath: 'lib/greet' });
    },
    RUN_TIMEOUT,
  );
});

describe('the README’s first command, in a fresh npm init -y project', () => {
  it(
    'npx millrace run heavy.ts --n 3 prints the result, with every task’s line',
    async () => {
      const run = await sh('npx', ['millrace', 'run', 'heavy.ts', '--n', '3'], project('plain'));
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toBe('OK');
      for (const n of [0, 1, 2])
        expect(run.stderr).toMatch(
          new RegExp(`^\\[heavyCompute [0-9a-z]{8}\\] heavyCompute\\(${n}\\): summed 100×4 samples to `, 'm'),
        );
      expect(run.stderr).toMatch(/^\[sendResult [0-9a-z]{8}\] Sending result -?[\d.e-]+ to me@example\.com$/m);
    },
    RUN_TIMEOUT,
  );
});

describe('a project with its own tsconfig.json and a paths alias', () => {
  it.each(['scripts/aliased-ts.ts', 'scripts/aliased-mts.mts', 'scripts/aliased-cts.cts'])(
    'npx millrace run %s in the project resolves the alias to the helper module',
    async (script) => {
      const dir = project('paths');
      const run = await sh('npx', ['millrace', 'run', script, '--word', 'hi'], dir);
      if (run.code !== 0) throw new Error(`millrace run ${script} exited with ${run.code}:\n${run.stderr}`);
      expect(JSON.parse(run.stdout)).toBe('HI');
      const rootId = run.stderr.match(/^job ([0-9a-z]{20}) /m)![1];
      const child = await expectChild(dir, rootId, 'shout', /^shout\(hi\) in job [0-9a-z]{20}$/);
      expect(child).toMatchObject({ scriptPath: 'src/lib/shout', tag: 'io' });
    },
    RUN_TIMEOUT,
  );

  it.each(['scripts/aliased-ts.ts', 'scripts/aliased-mts.mts', 'scripts/aliased-cts.cts'])(
    'run from another directory with --root, %s takes the root’s tsconfig.json, not the working directory’s',
    async (script) => {
      const dir = project('paths');
      const run = await sh(
        process.execPath,
        [millraceBin(dir), 'run', '--root', dir, script, '--word', 'there'],
        project('elsewhere'),
      );
      if (run.code !== 0)
        throw new Error(`millrace run --root ${dir} ${script} exited with ${run.code}:\n${run.stderr}`);
      expect(JSON.parse(run.stdout)).toBe('THERE');
      const rootId = run.stderr.match(/^job ([0-9a-z]{20}) /m)![1];
      await expectChild(dir, rootId, 'shout', /^shout\(there\) in job [0-9a-z]{20}$/);
    },
    RUN_TIMEOUT,
  );

  it.each(['program.cjs', 'program.mjs'])(
    'a plain Node program (%s) in the project runs an aliased script through runScript',
    async (program) => {
      const dir = project('paths');
      const before = await runIds(dir);
      const run = await sh(process.execPath, [program, 'scripts/aliased-ts', '{"word":"yo"}'], dir);
      if (run.code !== 0) throw new Error(`node ${program} exited with ${run.code}:\n${run.stderr}`);
      expect(JSON.parse(run.stdout)).toBe('YO');
      const roots = (await withStore(dir, (s) => s.list({ rootsOnly: true, limit: 1000 }))).filter(
        (j) => !before.has(j.id),
      );
      expect(roots.map((r) => r.scriptPath)).toEqual(['scripts/aliased-ts']);
      await expectChild(dir, roots[0].id, 'shout', /^shout\(yo\) in job [0-9a-z]{20}$/);
    },
    RUN_TIMEOUT,
  );
});
