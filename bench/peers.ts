// npm run bench:peers [-- --pg postgres://…] [-- --json]
// millrace in each mode against graphile-worker on the same PostgreSQL, side by side in one run
// (peer-run.ts). `npm run bench` runs the same table after its own shapes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runPeers } from './peer-run.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: flags } = parseArgs({
  options: { json: { type: 'boolean', default: false }, pg: { type: 'string' } },
});
execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
const dir = mkdtempSync(join(tmpdir(), 'millrace-bench-peers-'));
try {
  const rows = await runPeers(dir, flags.pg, (text) => {
    if (!flags.json) process.stdout.write(`${text}\n`);
  });
  if (flags.json) process.stdout.write(`${JSON.stringify({ node: process.version, rows }, null, 2)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
