/**
 * Signatures kept on disk between processes (lib/loader/signature-store.ts): a process that
 * finds its script's signature there does not load the TypeScript compiler, and nothing it
 * finds there can be stale or broken.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { inferSignature, type Signature } from '../lib/loader/signature.js';
import { scriptFlowControl } from '../lib/loader/script-config.js';
import { pruneSignatures, signatureDir, storedConfig, storedSignature } from '../lib/loader/signature-store.js';
import { REPO_ROOT } from './helpers/engine.js';
import { runToEnd } from './helpers/processes.js';

const SOURCE = 'export async function main(n: number, label = "x") { return n; }';

let cacheDir: string;
const before = process.env.MILLRACE_CACHE_DIR;
beforeEach(() => {
  cacheDir = mkdtempSync(join(tmpdir(), 'millrace-sig-'));
  process.env.MILLRACE_CACHE_DIR = cacheDir;
});
afterEach(() => {
  process.env.MILLRACE_CACHE_DIR = before;
  rmSync(cacheDir, { recursive: true, force: true });
});

/** storedSignature, counting the inferences it asked for. */
function counted(source: string, fileName = 'a.ts', entrypoint = 'main') {
  let inferred = 0;
  const sig = storedSignature(source, fileName, entrypoint, () => {
    inferred++;
    return inferSignature(source, fileName, { entrypoint });
  });
  return { sig, inferred };
}

const stored = () => (existsSync(signatureDir()) ? readdirSync(signatureDir()).filter((n) => n.endsWith('.json')) : []);

describe('signatures kept on disk', () => {
  it('infers once, then reads what it wrote', () => {
    const first = counted(SOURCE);
    expect(first.inferred).toBe(1);
    expect(first.sig.params.map((p) => [p.name, p.required, p.schema.default])).toEqual([
      ['n', true, undefined],
      ['label', false, 'x'],
    ]);
    expect(stored()).toHaveLength(1);
    const second = counted(SOURCE);
    expect(second.inferred).toBe(0);
    expect(second.sig).toEqual(first.sig);
  });

  it('keeps the source, the kind of file and the entrypoint apart', () => {
    counted(SOURCE);
    const edited = counted(SOURCE.replace('n: number', 'n: string'));
    expect(edited.inferred).toBe(1);
    expect(edited.sig.params[0].schema).toEqual({ type: 'string' });
    expect(counted(SOURCE, 'a.js').inferred).toBe(1);
    const other = counted(`${SOURCE}\nexport function other(flag: boolean) {}`, 'a.ts', 'other');
    expect(other.inferred).toBe(1);
    expect(other.sig.params.map((p) => p.name)).toEqual(['flag']);
    expect(stored()).toHaveLength(4);
  });

  it('infers again over a file that does not hold a signature, and writes it whole', () => {
    counted(SOURCE);
    const [name] = stored();
    for (const garbage of ['{"hasMain": tr', '{"hasMain": true}', 'null']) {
      writeFileSync(join(signatureDir(), name), garbage);
      const again = counted(SOURCE);
      expect(again.inferred).toBe(1);
      expect(again.sig.hasMain).toBe(true);
      expect(JSON.parse(readFileSync(join(signatureDir(), name), 'utf8'))).toEqual(again.sig);
    }
    expect(readdirSync(signatureDir())).toEqual([name]); // no temporary file left behind
  });

  it('infers without a cache where none can be kept', () => {
    const blocker = join(cacheDir, 'blocked');
    writeFileSync(blocker, 'a file where the directory would be');
    process.env.MILLRACE_CACHE_DIR = blocker;
    expect(counted(SOURCE).inferred).toBe(1);
    expect(counted(SOURCE).inferred).toBe(1);
  });

  it('does not keep what does not parse', () => {
    expect(stored()).toEqual([]);
    expect(() => counted('export function main(n: number {')).toThrow(/a.ts:1:32 has a syntax error/);
  });

  it('removes the least recently used past its size, a read counting as a use', () => {
    const sources = Array.from({ length: 6 }, (_, i) => `${SOURCE}\n// ${i}`);
    // Written one after another, each an hour older than the next.
    sources.forEach((source, i) => {
      const had = new Set(stored());
      counted(source);
      const [name] = stored().filter((n) => !had.has(n));
      const at = new Date(Date.now() - (sources.length - i) * 3600_000);
      utimesSync(join(signatureDir(), name), at, at);
    });
    expect(counted(sources[0]).inferred).toBe(0); // the oldest, used now
    expect(pruneSignatures(signatureDir(), 6, 3)).toBe(0); // not past its size
    expect(pruneSignatures(signatureDir(), 5, 3)).toBe(3);
    expect(stored()).toHaveLength(3);
    for (const kept of [sources[0], sources[4], sources[5]]) expect(counted(kept).inferred).toBe(0);
    for (const removed of [sources[1], sources[2], sources[3]]) expect(counted(removed).inferred).toBe(1);
  });

  it('keeps every kind of parameter as it was read', () => {
    const source = `
      type Mode = 'fast' | 'slow';
      interface Opts { depth: number; label?: string }
      export async function main(mode: Mode, opts: Opts, tags: string[], when: Date, maybe?: number | null,
                                 count = 3, anything?: unknown, ...rest: string[]) {}`;
    const first = counted(source);
    const second = counted(source);
    expect(second.inferred).toBe(0);
    expect(second.sig).toEqual(first.sig);
    expect(second.sig.schema).toEqual(inferSignature(source, 'a.ts').schema);
  });

  it("keeps a script's config literal, and what JSON cannot hold is read again", () => {
    const source = `export const config = { concurrency: { limit: 2 }, priority: 5 };\nexport async function main() {}`;
    const first = scriptFlowControl(source, 'hash-1', 'scripts/a');
    expect(stored()).toHaveLength(1);
    let inferred = 0;
    const again = storedConfig(source, () => {
      inferred++;
      return { found: false };
    });
    expect(inferred).toBe(0);
    expect(again).toEqual({ found: true, value: { concurrency: { limit: 2 }, priority: 5 } });
    // Another hash: not the memory's, the disk's; the same flow control.
    expect(scriptFlowControl(source, 'hash-2', 'scripts/a')).toEqual(first);
    expect(first?.priority).toBe(5);
    // A script without one is kept as such; one that JSON would change is not kept.
    expect(
      scriptFlowControl('// config: none\nexport async function main() {}', 'hash-3', 'scripts/b'),
    ).toBeUndefined();
    expect(stored()).toHaveLength(2);
    expect(() => scriptFlowControl('export const config = { priority: 1e999 };', 'hash-4', 'scripts/c')).toThrow(
      /priority/,
    );
    expect(stored()).toHaveLength(2);
  });

  it('removes what a process that died while writing left, once it is an hour old', () => {
    counted(SOURCE);
    const dir = signatureDir();
    writeFileSync(join(dir, 'x.json.1.a.tmp'), '{');
    writeFileSync(join(dir, 'x.json.2.b.tmp'), '{');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(join(dir, 'x.json.1.a.tmp'), twoHoursAgo, twoHoursAgo);
    expect(pruneSignatures(dir)).toBe(1);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual(['x.json.2.b.tmp']);
    expect(stored()).toHaveLength(1);
  });

  it('spares a new process the TypeScript compiler', async () => {
    const script = join(cacheDir, 'script.ts');
    writeFileSync(script, SOURCE);
    // The built module, as `millrace run` loads it; `npm test` builds dist/ first.
    const probe = `
      const { inferSignatureOfFile } = await import(${JSON.stringify(join(REPO_ROOT, 'dist/loader/signature.js'))});
      const { createRequire } = await import('node:module');
      const sig = inferSignatureOfFile(${JSON.stringify(script)}, 'h');
      const loaded = Object.keys(createRequire(import.meta.url).cache).some((f) => f.includes('/typescript/'));
      console.log(JSON.stringify({ sig, loaded }));`;
    const run = async (): Promise<{ sig: Signature; loaded: boolean }> => {
      const r = await runToEnd(process.execPath, ['--input-type=module', '-e', probe], {
        cwd: cacheDir,
        env: { ...process.env, MILLRACE_CACHE_DIR: cacheDir },
      });
      expect(r.stderr).toBe('');
      return JSON.parse(r.stdout) as { sig: Signature; loaded: boolean };
    };
    const first = await run();
    expect(first.loaded).toBe(true);
    const second = await run();
    expect(second.loaded).toBe(false);
    expect(second.sig).toEqual(first.sig);
    expect(second.sig.params.map((p) => p.name)).toEqual(['n', 'label']);
  });
});
