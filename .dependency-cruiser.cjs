/**
 * The import rules of lib/, as docs/architecture.md ("Lint and layers") states them; `npm run lint`
 * runs `depcruise lib` with this file and fails on any of them. Each rule forbids, so a new folder
 * is free until it closes a cycle or breaks a rule stated here.
 *
 * Paths are as dependency-cruiser reports them: lib/… for our files, …node_modules/<package>/…
 * for packages (node_modules may be a symlink, so no anchor before it).
 */

// The foundation: the glossary, errors and value contract, plus task/, which knows nothing of
// stores, threads or HTTP. index.ts is the top, not the foundation.
const FOUNDATION =
  '^lib/(task/|(types|types-operations|errors|errors-operations|error-record|describe|serialize|limits|timers|clock|wait-names|flow-options|wait-reason|ids|tick-batch)\\.ts$)';
/** A lib/ folder by name, as the start of a path. */
const folders = (...names) => `^lib/(${names.join('|')})/`;
const pkg = (...names) => `node_modules/(${names.join('|')})/`;
/** The web UI's browser code: everything in lib/ui/ but its esbuild script, which runs in Node. */
const UI_BROWSER = '^lib/ui/';
const UI_NODE = '^lib/ui/build\\.mjs$';
/** Tells a postgres:// URL from a SQLite file and loads no driver (pg's types only), so the CLI may. */
const POSTGRES_URL = '^lib/store/postgres/url\\.ts$';

module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycle',
      comment:
        'Folders of lib/ form layers: when folder A imports folder B, nothing in B imports A, even through other folders.',
      severity: 'error',
      // store/ and its sqlite/ and postgres/ are one layer: the store files use store.ts and
      // policy.ts, and open.ts picks one of them.
      from: { path: '^lib/', pathNot: '^lib/store/(sqlite|postgres)/' },
      to: { circular: true, pathNot: '^lib/store/(sqlite|postgres)/' },
      scope: 'folder',
    },
    {
      name: 'no-module-cycle',
      comment:
        'No file of lib/ imports itself through others at run time: load order would decide what is undefined. A cycle with a type-only import in it is erased by the compiler (route files name ServerDeps).',
      severity: 'error',
      from: { path: '^lib/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'lib-not-tests',
      comment: 'lib/ is the package: it never imports the tests, the benchmarks or the examples.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: '^(__tests__|bench|examples)/' },
    },
    {
      name: 'foundation-imports-nothing-below',
      comment:
        'task/ and the root files (types, types-operations, errors, error-record, describe, serialize, limits, timers, ids, tick-batch) import only each other and Node built-ins (ids.ts: nanoid).',
      severity: 'error',
      from: { path: FOUNDATION },
      to: { pathNot: [FOUNDATION, pkg('nanoid')], dependencyTypesNot: ['core'] },
    },
    {
      name: 'ids-only-nanoid',
      comment: 'nanoid is the only package of the foundation, for ids.ts.',
      severity: 'error',
      from: { path: FOUNDATION, pathNot: '^lib/ids\\.ts$' },
      to: { path: pkg('nanoid') },
    },
    {
      name: 'task-knows-no-threads-or-http',
      comment: 'task/ runs a call inline or hands it to the JobScope in the async context: no threads, no sockets.',
      severity: 'error',
      from: { path: '^lib/task/' },
      to: { path: '^(node:)?(worker_threads|child_process|http|https|http2|net|tls)$' },
    },
    {
      name: 'types-ts-holds-only-types',
      comment:
        'types.ts is the glossary, and the one runtime import of the browser code: it imports nothing at run time.',
      severity: 'error',
      from: { path: '^lib/types\\.ts$' },
      to: { dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'loader-below-the-rest',
      comment: 'loader/ (paths, hashes, signatures, args) imports only the foundation and packages.',
      severity: 'error',
      from: { path: '^lib/loader/' },
      to: { path: folders('task', 'store', 'http', 'flow', 'worker', 'engine', 'server', 'helpers', 'cli', 'ui') },
    },
    {
      name: 'store-imports-nothing-above',
      comment: 'store/ owns the database and imports nothing above it (no engine/): only the foundation.',
      severity: 'error',
      from: { path: '^lib/store/' },
      to: { path: folders('task', 'loader', 'http', 'flow', 'worker', 'engine', 'server', 'helpers', 'cli', 'ui') },
    },
    {
      name: 'http-shared-below-both-ends',
      comment: 'http/ is what client and server share: it imports neither of them, nor anything above the foundation.',
      severity: 'error',
      from: { path: '^lib/http/' },
      to: { path: folders('task', 'loader', 'store', 'flow', 'worker', 'engine', 'server', 'helpers', 'cli', 'ui') },
    },
    {
      name: 'flow-below-worker',
      comment:
        'worker/ is above flow/: nothing in flow/ imports worker/ (the runner reaches its worker through the JobScope), nor engine/, server/, helpers/ or cli/.',
      severity: 'error',
      from: { path: '^lib/flow/' },
      to: { path: folders('worker', 'engine', 'server', 'helpers', 'cli', 'ui') },
    },
    {
      name: 'windmill-below-worker',
      comment:
        'windmill/ (Windmill workflows as code) sits beside flow/: its runner reaches its worker through the JobScope, so it imports no worker/, engine/, server/, helpers/ or cli/.',
      severity: 'error',
      from: { path: '^lib/windmill/' },
      to: { path: folders('worker', 'engine', 'server', 'helpers', 'cli', 'ui') },
    },
    {
      name: 'worker-below-engine',
      comment: 'The worker talks to a WorkerBackend; it imports no engine/, server/, helpers/ or cli/.',
      severity: 'error',
      from: { path: '^lib/worker/' },
      to: { path: folders('engine', 'server', 'helpers', 'cli', 'ui') },
    },
    {
      name: 'worker-sees-only-interfaces',
      comment:
        'The Worker sees only the Store and WorkerBackend interfaces, never SQL or HTTP: of store/ only store.ts, and HTTP only in http-backend.ts and its parts (WorkerBackend over HTTP).',
      severity: 'error',
      from: {
        path: '^lib/worker/',
        pathNot: '^lib/worker/(http-backend|http-reports|http-task-calls|until-answered)\\.ts$',
      },
      to: {
        path: [
          '^lib/store/(?!store\\.ts$)',
          '^lib/http/',
          pkg('pg', 'better-sqlite3', 'undici'),
          '^(node:)?(http|https|http2|net)$',
        ],
      },
    },
    {
      name: 'coordinator-sees-only-interfaces',
      comment:
        'The Coordinator is the only writer of job state and sees only the Store and WorkerBackend interfaces: no store implementation, no SQL, no HTTP.',
      severity: 'error',
      from: {
        path: '^lib/engine/(coordinator|coordinator-options|hub|log-pages|announcements|store-changes|retry-policy)\\.ts$',
      },
      to: {
        path: [
          '^lib/store/(sqlite|postgres|open)',
          '^lib/http/',
          '^lib/worker/(?!backend\\.ts$)',
          pkg('pg', 'better-sqlite3', 'undici'),
          '^(node:)?(http|https|http2|net)$',
        ],
      },
    },
    {
      name: 'engine-below-server-helpers-cli',
      comment: 'engine/ imports no server/, helpers/ or cli/.',
      severity: 'error',
      from: { path: '^lib/engine/' },
      to: { path: folders('server', 'helpers', 'cli', 'ui') },
    },
    {
      name: 'hub-inside-engine',
      comment: "Outside engine/, nobody spells a Hub topic: the Coordinator's typed events say it.",
      severity: 'error',
      from: { path: '^lib/', pathNot: '^lib/engine/' },
      to: { path: '^lib/engine/hub\\.ts$' },
    },
    {
      name: 'stores-built-in-their-places',
      comment:
        'A store implementation is imported only inside store/, by the embedded engine, which builds its SqliteStore, and by index.ts, which exports it; everyone else (the CLI included) opens one through store/open.ts. store/postgres/url.ts holds no SQL and loads no driver: it tells a postgres:// URL from a file.',
      severity: 'error',
      from: { path: '^lib/', pathNot: ['^lib/store/', '^lib/engine/embedded\\.ts$', '^lib/index\\.ts$'] },
      to: { path: '^lib/store/(sqlite|postgres)/', pathNot: POSTGRES_URL, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'drivers-only-in-their-store',
      comment: 'better-sqlite3 is imported only in store/sqlite/, pg only in store/postgres/.',
      severity: 'error',
      from: { path: '^lib/', pathNot: '^lib/store/sqlite/' },
      to: { path: pkg('better-sqlite3') },
    },
    {
      name: 'pg-only-in-pg-store',
      comment: 'pg is imported only in store/postgres/.',
      severity: 'error',
      from: { path: '^lib/', pathNot: '^lib/store/postgres/' },
      to: { path: pkg('pg') },
    },
    {
      name: 'pg-loaded-only-for-a-postgres-url',
      comment:
        "PostgreSQL's store (and so pg) is loaded only for a postgres:// URL: outside store/postgres/, only a dynamic import() reaches it.",
      severity: 'error',
      from: { path: '^lib/', pathNot: '^lib/store/postgres/' },
      to: {
        path: '^lib/store/postgres/',
        pathNot: POSTGRES_URL,
        dependencyTypesNot: ['dynamic-import', 'type-only', 'type-import'],
      },
    },
    {
      name: 'cli-holds-no-sql',
      comment: 'The CLI is a thin adapter: no SQL, no database driver, no store implementation.',
      severity: 'error',
      from: { path: '^lib/cli/' },
      to: { path: ['^lib/store/(sqlite|postgres)/', pkg('pg', 'better-sqlite3')], pathNot: POSTGRES_URL },
    },
    {
      name: 'server-meets-client-in-wire',
      comment:
        'Client and server meet only in http/wire.ts, http/windmill.ts, http/schedules.ts, http/flow-control-wire.ts and http/identity.ts: server/ imports no other file of http/, and nothing of helpers/.',
      severity: 'error',
      from: { path: '^lib/server/' },
      to: {
        path: ['^lib/http/', '^lib/helpers/'],
        pathNot: '^lib/http/(wire|windmill|schedules|flow-control-wire|identity)\\.ts$',
      },
    },
    {
      name: 'server-only-for-cli',
      comment: 'Only the CLI starts a server: nothing else of lib/ imports server/ (clients speak HTTP to it).',
      severity: 'error',
      from: { path: '^lib/', pathNot: ['^lib/server/', '^lib/cli/'] },
      to: { path: '^lib/server/' },
    },
    {
      name: 'helpers-below-cli',
      comment: 'helpers/ imports no server/ or cli/.',
      severity: 'error',
      from: { path: '^lib/helpers/' },
      to: { path: folders('server', 'cli', 'ui') },
    },
    {
      name: 'nothing-imports-cli',
      comment: 'cli/ is the top: no other folder of lib/ imports it.',
      severity: 'error',
      from: { path: '^lib/', pathNot: '^lib/cli/' },
      to: { path: '^lib/cli/' },
    },
    {
      name: 'nothing-imports-the-ui',
      comment: 'lib/ui is browser code bundled apart: no Node code imports it.',
      severity: 'error',
      from: { path: '^lib/', pathNot: UI_BROWSER },
      to: { path: UI_BROWSER },
    },
    {
      name: 'ui-no-node-modules',
      comment:
        'lib/ui runs in the browser: it imports no Node built-in (its esbuild script build.mjs runs in Node and may).',
      severity: 'error',
      from: { path: UI_BROWSER, pathNot: UI_NODE },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'ui-reads-only-the-http-api',
      comment:
        'The web UI reads only the HTTP API: of the rest of lib/ it imports types only (erased by the bundler), and at run time types.ts (jobName, isFinished) and wait-reason.ts (the words of why a job waits), both pure.',
      severity: 'error',
      from: { path: UI_BROWSER, pathNot: UI_NODE },
      to: { path: '^lib/(?!ui/|types\\.ts$|wait-reason\\.ts$)', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'ui-no-packages',
      comment: 'The UI bundle is our code alone: no npm package at run time.',
      severity: 'error',
      from: { path: UI_BROWSER, pathNot: UI_NODE },
      to: {
        dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg'],
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'no-unresolvable',
      comment: 'An import that resolves to nothing is a typo or a missing dependency.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    // Type-only imports count: a layer that names a higher layer's types depends on it.
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
