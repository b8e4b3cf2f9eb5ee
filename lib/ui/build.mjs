// Bundles the web UI (lib/ui/*.ts) into dist/ui/ with esbuild: one script, one stylesheet and
// the page, all served by the millrace server itself. Run by `npm run build`.
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const out = here('../../dist/ui/');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [here('./main.ts')],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  outfile: `${out}app.js`,
  logLevel: 'warning',
});
copyFileSync(here('./index.html'), `${out}index.html`);
copyFileSync(here('./style.css'), `${out}style.css`);
