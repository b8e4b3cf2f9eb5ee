import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { REPO_ROOT } from '../helpers/engine.js';

/**
 * The CLI loads `pg` only for a postgres:// URL (store/open.ts imports the PostgreSQL store
 * on demand): a command on a SQLite file does not pay for the driver. A hook preloaded with
 * --import reports at exit whether any module of the `pg` package is in the CommonJS cache,
 * where Node keeps a CommonJS package that ESM code imported.
 */
describe('the PostgreSQL driver is loaded only for a postgres:// URL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'millrace-lazy-pg-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const hook = join(dir, 'report-pg.mjs');
  writeFileSync(
    hook,
    `import { createRequire } from 'node:module';
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => {
  const loaded = Object.keys(cache).some((file) => /[\\\\/]node_modules[\\\\/]pg[\\\\/]/.test(file));
  process.stderr.write('\\npg loaded: ' + loaded + '\\n');
});
`,
  );

  function millrace(args: string[]): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', hook, join(REPO_ROOT, 'bin/millrace.js'), ...args], {
        cwd: dir,
        env: { ...process.env, NO_COLOR: '1', MILLRACE_DB: '', DATABASE_URL: '' },
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
    });
  }

  it('migrate on a SQLite file does not load pg', async () => {
    const res = await millrace(['migrate', '--db', join(dir, 'store.db'), '--root', dir]);
    expect(res.code).toBe(0);
    expect(res.stderr).toContain('pg loaded: false');
  });

  it('jobs on a SQLite file does not load pg', async () => {
    const res = await millrace(['jobs', '--root', dir]);
    expect(res.code).toBe(0);
    expect(res.stderr).toContain('pg loaded: false');
  });

  it('a postgres:// URL does load it (the check can tell)', async () => {
    // Port 1 refuses at once: the store fails to connect, after loading the driver.
    const res = await millrace(['migrate', '--db', 'postgres://millrace:secret@127.0.0.1:1/millrace', '--root', dir]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('pg loaded: true');
  });
});
