import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './helpers/engine.js';

/**
 * The import rules of .dependency-cruiser.cjs bite: a copy of lib/ with one scratch import per
 * rule breaks exactly those rules, from exactly those files. The copy keeps the real lib/ clean
 * for the other engineers' processes, and one cruise of it checks every rule at once.
 */

interface Scratch {
  rule: string;
  /** The file that breaks the rule (the violation's `from`). */
  file: string;
  /** The line written: a new file, or appended to an existing one when `append`. */
  line: string;
  append?: boolean;
}

const SCRATCHES: Scratch[] = [
  { rule: 'lib-not-tests', file: 'lib/engine/zz-tests.ts', line: "import '../../__tests__/helpers/engine.js';" },
  {
    rule: 'foundation-imports-nothing-below',
    file: 'lib/task/zz-store.ts',
    line: "import type { Store } from '../store/store.js';\nexport type S = Store;",
  },
  {
    rule: 'foundation-imports-nothing-below',
    file: 'lib/describe.ts',
    append: true,
    line: "import { Command } from 'commander';\nexport const zz = Command;",
  },
  {
    rule: 'ids-only-nanoid',
    file: 'lib/timers.ts',
    append: true,
    line: "import { customAlphabet } from 'nanoid';\nexport const zz = customAlphabet;",
  },
  {
    rule: 'task-knows-no-threads-or-http',
    file: 'lib/task/zz-thread.ts',
    line: "import { isMainThread } from 'node:worker_threads';\nexport const m = isMainThread;",
  },
  {
    rule: 'types-ts-holds-only-types',
    file: 'lib/types.ts',
    append: true,
    line: "import { encode } from './serialize.js';\nexport const zz = encode;",
  },
  {
    rule: 'loader-below-the-rest',
    file: 'lib/loader/zz-flow.ts',
    line: "import type { Flow } from '../flow/types.js';\nexport type F = Flow;",
  },
  {
    rule: 'store-imports-nothing-above',
    file: 'lib/store/zz-engine.ts',
    line: "import type { Engine } from '../engine/engine.js';\nexport type E = Engine;",
  },
  {
    rule: 'http-shared-below-both-ends',
    file: 'lib/http/zz-flow.ts',
    line: "import type { Flow } from '../flow/types.js';\nexport type F = Flow;",
  },
  {
    rule: 'flow-below-worker',
    file: 'lib/flow/zz-worker.ts',
    line: "import type { WorkerBackend } from '../worker/backend.js';\nexport type W = WorkerBackend;",
  },
  {
    rule: 'windmill-below-worker',
    file: 'lib/windmill/zz-worker.ts',
    line: "import type { WorkerBackend } from '../worker/backend.js';\nexport type W = WorkerBackend;",
  },
  {
    rule: 'worker-below-engine',
    file: 'lib/worker/zz-engine.ts',
    line: "import type { Engine } from '../engine/engine.js';\nexport type E = Engine;",
  },
  {
    rule: 'worker-sees-only-interfaces',
    file: 'lib/worker/zz-undici.ts',
    line: "import { request } from 'undici';\nexport const r = request;",
  },
  {
    rule: 'coordinator-sees-only-interfaces',
    file: 'lib/engine/coordinator.ts',
    append: true,
    line: "import { createServer } from 'node:http';\nexport const zz = createServer;",
  },
  {
    rule: 'engine-below-server-helpers-cli',
    file: 'lib/engine/zz-helpers.ts',
    line: "import type { Connection } from '../helpers/connection.js';\nexport type C = Connection;",
  },
  {
    rule: 'hub-inside-engine',
    file: 'lib/flow/zz-hub.ts',
    line: "import * as hub from '../engine/hub.js';\nexport const h = hub;",
  },
  {
    rule: 'stores-built-in-their-places',
    file: 'lib/server/zz-sqlite.ts',
    line: "import { SqliteStore } from '../store/sqlite/sqlite-store.js';\nexport const s = SqliteStore;",
  },
  {
    rule: 'drivers-only-in-their-store',
    file: 'lib/engine/zz-driver.ts',
    line: "import Database from 'better-sqlite3';\nexport const d = Database;",
  },
  { rule: 'pg-only-in-pg-store', file: 'lib/store/zz-pg.ts', line: "import pg from 'pg';\nexport const p = pg;" },
  {
    rule: 'pg-loaded-only-for-a-postgres-url',
    file: 'lib/store/zz-pg-store.ts',
    line: "import { PgStore } from './postgres/pg-store.js';\nexport const p = PgStore;",
  },
  {
    rule: 'cli-holds-no-sql',
    file: 'lib/cli/zz-pg.ts',
    line: "import type { PgStore } from '../store/postgres/pg-store.js';\nexport type P = PgStore;",
  },
  {
    rule: 'server-meets-client-in-wire',
    file: 'lib/server/zz-client.ts',
    line: "import * as c from '../http/api-client.js';\nexport const x = c;",
  },
  {
    rule: 'server-meets-client-in-wire',
    file: 'lib/server/zz-helpers-folder.ts',
    line: "import type { Connection } from '../helpers/connection.js';\nexport type C = Connection;",
  },
  {
    rule: 'server-only-for-cli',
    file: 'lib/worker/zz-server.ts',
    line: "import * as s from '../server/http-error.js';\nexport const x = s;",
  },
  {
    rule: 'helpers-below-cli',
    file: 'lib/helpers/zz-cli.ts',
    line: "import * as f from '../cli/format.js';\nexport const x = f;",
  },
  {
    rule: 'nothing-imports-cli',
    file: 'lib/server/zz-cli.ts',
    line: "import * as f from '../cli/format.js';\nexport const x = f;",
  },
  {
    rule: 'nothing-imports-the-ui',
    file: 'lib/cli/zz-ui.ts',
    line: "import * as d from '../ui/dom.js';\nexport const x = d;",
  },
  {
    rule: 'ui-no-node-modules',
    file: 'lib/ui/zz-fs.ts',
    line: "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;",
  },
  {
    rule: 'ui-reads-only-the-http-api',
    file: 'lib/ui/zz-serialize.ts',
    line: "import { encode } from '../serialize.js';\nexport const e = encode;",
  },
  {
    rule: 'ui-no-packages',
    file: 'lib/ui/zz-nanoid.ts',
    line: "import { customAlphabet } from 'nanoid';\nexport const c = customAlphabet;",
  },
  {
    rule: 'no-unresolvable',
    file: 'lib/engine/zz-typo.ts',
    line: "import { nothing } from './no-such-file.js';\nexport const n = nothing;",
  },
];

/** Cycles are reported once, from either end: two files of one folder importing each other at run time. */
const MODULE_CYCLE: Scratch[] = [
  {
    rule: 'no-module-cycle',
    file: 'lib/engine/zz-a.ts',
    line: "import { b } from './zz-b.js';\nexport const a = (): unknown => b;",
  },
  {
    rule: 'no-module-cycle',
    file: 'lib/engine/zz-b.ts',
    line: "import { a } from './zz-a.js';\nexport const b = (): unknown => a;",
  },
];

/** A folder no other rule names, in a cycle with engine/ through type-only imports. */
const FOLDER_CYCLE: Scratch[] = [
  {
    rule: 'no-folder-cycle',
    file: 'lib/zz/a.ts',
    line: "import type { Engine } from '../engine/engine.js';\nexport type E = Engine;",
  },
  {
    rule: 'no-folder-cycle',
    file: 'lib/engine/zz-cycle.ts',
    line: "import type { E } from '../zz/a.js';\nexport type F = E;",
  },
];

interface Violation {
  from: string;
  to: string;
  rule: { name: string; severity: string };
}

/** Runs dependency-cruiser with the project's config over `root`/lib, as `npm run lint` does. */
async function cruise(root: string): Promise<Violation[]> {
  const bin = join(REPO_ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
  const config = join(REPO_ROOT, '.dependency-cruiser.cjs');
  // Exit code 1 means violations: the JSON on stdout is what counts.
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [bin, 'lib', '--config', config, '--output-type', 'json'],
    {
      cwd: root,
      maxBuffer: 64 * 1024 * 1024,
    },
  ).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
  const result = JSON.parse(stdout) as { summary: { violations: Violation[] } };
  return result.summary.violations;
}

describe('the import rules (.dependency-cruiser.cjs)', () => {
  it('each rule fails on a scratch import that breaks it, and lib/ breaks none', async () => {
    const root = mkdtempSync(join(tmpdir(), 'millrace-layers-'));
    try {
      cpSync(join(REPO_ROOT, 'lib'), join(root, 'lib'), { recursive: true });
      cpSync(join(REPO_ROOT, 'package.json'), join(root, 'package.json'));
      symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
      writeFileSync(
        join(root, 'tsconfig.json'),
        JSON.stringify({ extends: join(REPO_ROOT, 'tsconfig.json'), include: ['lib'] }),
      );
      mkdirSync(join(root, '__tests__/helpers'), { recursive: true });
      writeFileSync(join(root, '__tests__/helpers/engine.ts'), 'export {};\n');

      expect(await cruise(root)).toEqual([]);

      for (const s of [...SCRATCHES, ...MODULE_CYCLE, ...FOLDER_CYCLE]) {
        const file = join(root, s.file);
        mkdirSync(dirname(file), { recursive: true });
        if (s.append) appendFileSync(file, `\n${s.line}\n`);
        else writeFileSync(file, `${s.line}\n`);
      }
      const violations = await cruise(root);
      const found = new Set(violations.map((v) => `${v.rule.name} ${v.from}`));
      for (const s of SCRATCHES) expect(found).toContain(`${s.rule} ${s.file}`);
      const ends = (rule: string) =>
        violations.filter((v) => v.rule.name === rule).map((v) => [v.from, v.to].sort().join(' '));
      expect(ends('no-module-cycle')).toContain('lib/engine/zz-a.ts lib/engine/zz-b.ts');
      expect(ends('no-folder-cycle')).toContain('lib/engine lib/zz');
      // Nothing but the scratches breaks a rule (folder cycles aside: the scratches above close many).
      const scratchFiles = new Set([...SCRATCHES, ...MODULE_CYCLE].map((s) => s.file));
      const others = violations.filter((v) => v.rule.name !== 'no-folder-cycle' && !scratchFiles.has(v.from));
      expect(others).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 120_000);
});
