import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runtime } from '../task/runtime.js';

/**
 * How an executor thread loads a job's script, once per content hash: the loaded module stays
 * warm, and a file that changed on disk is loaded anew while jobs of the old version keep the
 * old module.
 *
 * Most scripts go through `import()`, with tsx's loaders registered: an ES module, or a `.ts`
 * / `.js` of a CommonJS project (tsx hands those to its require hook). A changed one is
 * imported under a new URL (`…?v=<hash>`), and the jobs of that version (its tasks' too) keep
 * using it.
 *
 * `.cts` and `.cjs` scripts are required instead. Imported, Node evaluates them with the ESM
 * loader's own `require`, which does not run tsx's require hook, so a `.ts` helper they
 * require fails with "Cannot use import statement outside a module". Required, every module
 * below them goes through tsx. A changed one is evaluated again after its entry in the
 * require cache is dropped; its URL stays the same, so the tasks its old version defined are
 * forgotten first (the new evaluation defines them again under the same names).
 */
export interface LoadedScript {
  /** The URL its tasks are registered under (see task/registry.ts). */
  url: string;
  exports: Promise<Record<string, unknown>>;
}

const require = createRequire(import.meta.url);
const loaded = new Map<string, Promise<Record<string, unknown>>>();
/** The URL of each version (file and hash) an ES module was imported under. */
const esmUrls = new Map<string, string>();
/** Files whose first version took the plain URL. */
const imported = new Set<string>();
/** The hash of the version of each CommonJS script that the require cache holds. */
const requiredHash = new Map<string, string>();

export function loadScript(file: string, hash: string): LoadedScript {
  const base = pathToFileURL(file).href;
  if (isCommonJsOnly(file)) {
    const previous = requiredHash.get(file);
    if (previous !== undefined && previous !== hash) {
      delete require.cache[require.resolve(file)];
      loaded.delete(base);
      runtime.byModule.delete(base);
      runtime.resolved.delete(base);
    }
    requiredHash.set(file, hash);
    return { url: base, exports: remember(base, () => Promise.resolve().then(() => require(file) as Record<string, unknown>)) };
  }
  // The first version gets the plain URL; each later one its own, which every job of that
  // version (the script's and its tasks') uses again.
  const key = `${file}\0${hash}`;
  let url = esmUrls.get(key);
  if (!url) {
    url = imported.has(file) ? `${base}?v=${hash.slice(0, 16)}` : base;
    imported.add(file);
    esmUrls.set(key, url);
  }
  const resolved = url;
  return { url, exports: remember(url, () => import(resolved) as Promise<Record<string, unknown>>) };
}

function remember(key: string, load: () => Promise<Record<string, unknown>>): Promise<Record<string, unknown>> {
  let exports = loaded.get(key);
  if (!exports) {
    exports = load();
    loaded.set(key, exports);
    // A script that failed to load (a syntax error, a missing import) is tried again next time.
    exports.catch(() => loaded.delete(key));
  }
  return exports;
}

function isCommonJsOnly(file: string): boolean {
  const ext = extname(file);
  return ext === '.cts' || ext === '.cjs';
}
