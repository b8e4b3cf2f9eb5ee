import { afterAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { Coordinator } from '../../lib/engine/coordinator.js';
import { ConfigError } from '../../lib/errors.js';
import { PG_MIGRATIONS } from '../../lib/store/postgres/migrations.js';
import { PgStore, type PgStoreOptions } from '../../lib/store/postgres/pg-store.js';
import type { StoreChange } from '../../lib/store/store.js';
import type { JobSpec, LogLine } from '../../lib/types.js';
import { dropSchemas, freshSchema, testPgUrl } from '../helpers/pg.js';
import { storeConformance } from './conformance.js';
import { operationsConformance } from './operations-conformance.js';
import { flowControlConformance } from './flow-control-conformance.js';

const schemas: string[] = [];
afterAll(() => dropSchemas(schemas));

/** A store in a schema of its own, so that tests (and parallel runs) never see each other's jobs. */
async function openStore(options: Partial<PgStoreOptions> = {}): Promise<PgStore> {
  const schema = options.schema ?? freshSchema();
  if (!schemas.includes(schema)) schemas.push(schema);
  return PgStore.open({ url: testPgUrl(), poolSize: 4, ...options, schema });
}

storeConformance('postgres', () => openStore());
operationsConformance('postgres', () => openStore());
flowControlConformance('postgres', () => openStore());

const spec = (over: Partial<JobSpec> = {}): JobSpec => ({
  kind: 'script',
  scriptPath: 'examples/heavy',
  scriptHash: 'abc',
  entrypoint: 'main',
  args: {},
  ...over,
});

/** Resolves with the first change `store` reports that matches. */
function nextChange(store: PgStore, match: (c: StoreChange) => boolean): Promise<StoreChange> {
  return new Promise((resolve) => {
    const off = store.subscribe((c) => {
      if (!match(c)) return;
      off();
      resolve(c);
    });
  });
}

/**
 * A second store on `a`'s schema (a second server), once the two have heard each other: a
 * store alone on its database announces nothing (notifications.ts), and `a` hears the newcomer's
 * `r` once both announce.
 */
async function openBeside(a: PgStore, options: Partial<PgStoreOptions> = {}): Promise<PgStore> {
  const heard = nextChange(a, (c) => c.kind === 'resync');
  const b = await openStore({ ...options, schema: a.schema });
  await heard;
  return b;
}

describe('PgStore', () => {
  it('applies its migrations once, records them, and refuses an out-of-date schema when told not to migrate', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const client = new pg.Client({ connectionString: testPgUrl() });
    await client.connect();
    try {
      await client.query(`CREATE SCHEMA ${schema}`);
      await expect(openStore({ schema, migrate: false })).rejects.toThrow(
        `The database schema "${schema}" is at version 0; this millrace needs ${PG_MIGRATIONS.length}: run \`millrace migrate --db URL\``,
      );
      // Two servers starting together: each migration runs once.
      const [a, b] = await Promise.all([openStore({ schema }), openStore({ schema })]);
      await Promise.all([a.close(), b.close()]);
      const { rows } = await client.query<{ version: number }>(
        `SELECT version FROM ${schema}.millrace_migrations ORDER BY version`,
      );
      expect(rows.map((r) => r.version)).toEqual(PG_MIGRATIONS.map((m) => m.version));
      const reopened = await openStore({ schema, migrate: false });
      await reopened.close();
    } finally {
      await client.end();
    }
  });

  it('says clearly what is wrong with a bad URL, an unreachable database, a bad schema or pool size', async () => {
    await expect(PgStore.open({ url: 'mysql://x@localhost/db' })).rejects.toThrow(
      'Expected a postgres:// or postgresql:// URL, got "mysql://x@localhost/db"',
    );
    const unreachable = PgStore.open({ url: 'postgres://u:secret@127.0.0.1:1/db', listen: false });
    await expect(unreachable).rejects.toBeInstanceOf(ConfigError);
    await expect(unreachable).rejects.toThrow('Cannot open the PostgreSQL store at postgres://u:***@127.0.0.1:1/db: ');
    await expect(PgStore.open({ url: testPgUrl(), schema: 'Bad-Name' })).rejects.toThrow(
      'A schema name is 1-40 lowercase letters',
    );
    await expect(PgStore.open({ url: testPgUrl(), poolSize: 0 })).rejects.toThrow(
      'The pool size must be a positive integer, got 0',
    );
  });

  it('never hands one job to two claimers, across stores (FOR UPDATE SKIP LOCKED)', async () => {
    const a = await openStore();
    const b = await openStore({ schema: a.schema });
    try {
      const ids = new Set<string>();
      for (let i = 0; i < 60; i++) ids.add((await a.enqueue(spec())).job.id);
      const claimed: string[] = [];
      const claimer = async (store: PgStore, worker: string) => {
        for (;;) {
          const jobs = await store.claim({ workerId: worker, tags: 'all', limit: 3, leaseMs: 60_000 });
          if (jobs.length === 0) return;
          claimed.push(...jobs.map((j) => j.id));
        }
      };
      await Promise.all([claimer(a, 'wa1'), claimer(a, 'wa2'), claimer(b, 'wb1'), claimer(b, 'wb2')]);
      expect(claimed).toHaveLength(60);
      expect(new Set(claimed)).toEqual(ids);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('tells a store of the changes written through another one, and not of its own', async () => {
    const a = await openStore();
    const b = await openBeside(a);
    const seenByA: StoreChange[] = [];
    a.subscribe((c) => seenByA.push(c));
    try {
      const queued = nextChange(b, (c) => c.kind === 'queued');
      const { job } = await a.enqueue(spec({ scheduledFor: 1234 }));
      expect(await queued).toEqual({ kind: 'queued', dueAt: 1234 });

      await b.claim({ workerId: 'w', tags: 'all', limit: 1, leaseMs: 60_000 });
      const started = nextChange(b, (c) => c.kind === 'started');
      await a.markStarted(job.id, Date.now());
      expect(await started).toEqual({ kind: 'started', jobIds: [job.id] });

      const { job: child } = await a.enqueue(
        spec({ kind: 'task', entrypoint: 'c', parentJob: job.id, callKey: 'c:0' }),
      );
      const logs = nextChange(b, (c) => c.kind === 'logs');
      await a.appendLogs(child.id, [{ ts: 1, stream: 'stdout', line: 'hello' }]);
      expect(await logs).toEqual({ kind: 'logs', jobIds: [child.id, job.id] });

      const finished = nextChange(b, (c) => c.kind === 'finished');
      await a.cancel(job.id, { reason: 'done', by: 'test' });
      const f = (await finished) as { jobIds: readonly string[] };
      expect([...f.jobIds].sort()).toEqual([job.id, child.id].sort());

      // b's own write reaches a; by now a has heard nothing of its own.
      const fromB = nextChange(a, (c) => c.kind === 'queued');
      await b.enqueue(spec({ scheduledFor: 99 }));
      expect(await fromB).toEqual({ kind: 'queued', dueAt: 99 });
      expect(seenByA).toEqual([{ kind: 'queued', dueAt: 99 }]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('announces nothing while alone; a store that starts beside it is answered, and both announce from then on', async () => {
    const a = await openStore();
    const observer = new pg.Client({ connectionString: testPgUrl() });
    await observer.connect();
    const heard: { o: string; k: string; due?: number }[] = [];
    let next: (() => void) | undefined;
    observer.on('notification', (msg) => {
      heard.push(JSON.parse(msg.payload!) as { o: string; k: string; due?: number });
      next?.();
    });
    const until = (n: number) =>
      new Promise<void>((resolve) => {
        next = () => heard.length >= n && resolve();
        next();
      });
    await observer.query(`LISTEN "millrace.${a.schema}"`);
    let b: PgStore | undefined;
    try {
      // Alone: a's job is written, and told to no one.
      await a.enqueue(spec());
      b = await openBeside(a);
      // Notifications arrive in commit order: had a announced its job, it would come first.
      await until(3);
      const [first, second, third] = heard;
      expect([first.k, second.k, third.k]).toEqual(['h', 'r', 'r']);
      expect(second.o).not.toBe(first.o); // a answers b's hello; b, no longer alone, says look again
      expect(third.o).toBe(first.o);
      const queued = nextChange(b, (c) => c.kind === 'queued');
      await a.enqueue(spec({ scheduledFor: 5 }));
      expect(await queued).toEqual({ kind: 'queued', dueAt: 5 });
      await until(4);
      expect(heard[3]).toEqual({ o: second.o, k: 'q', due: 5 });
    } finally {
      await observer.end();
      await Promise.all([a.close(), b?.close()]);
    }
  });

  it('listens again when its LISTEN connection is cut, and tells its listeners to look at the store again', async () => {
    const a = await openStore();
    const b = await openBeside(a);
    const admin = new pg.Client({ connectionString: testPgUrl() });
    await admin.connect();
    try {
      const resync = nextChange(b, (c) => c.kind === 'resync');
      const { rows } = await admin.query<{ n: number }>(
        `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = 'millrace-listen' AND query = $1`,
        [`LISTEN "millrace.${a.schema}"`],
      );
      expect(rows[0].n).toBe(2); // a's and b's
      expect(await resync).toEqual({ kind: 'resync' });
      const queued = nextChange(b, (c) => c.kind === 'queued');
      await a.enqueue(spec({ scheduledFor: 77 }));
      expect(await queued).toEqual({ kind: 'queued', dueAt: 77 });
    } finally {
      await admin.end();
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('keeps a log in cursor order while two stores append to one run at once: a follower misses no line', async () => {
    const a = await openStore({ poolSize: 6 });
    const b = await openStore({ schema: a.schema, poolSize: 6 });
    try {
      const { job: root } = await a.enqueue(spec());
      const children = await Promise.all(
        [0, 1, 2, 3].map(
          async (i) =>
            (await a.enqueue(spec({ kind: 'task', entrypoint: `c${i}`, parentJob: root.id, callKey: `c:${i}` }))).job,
        ),
      );
      const perChild = 40;
      let writing = true;
      const seen: LogLine[] = [];
      const follower = (async () => {
        let cursor = 0;
        for (;;) {
          const done = !writing;
          const lines = await b.readLogs(root.id, { after: cursor });
          seen.push(...lines);
          if (lines.length > 0) cursor = lines[lines.length - 1].seq;
          if (done) return;
        }
      })();
      await Promise.all(
        children.map(async (c, i) => {
          const store = i % 2 === 0 ? a : b;
          for (let n = 0; n < perChild; n++)
            await store.appendLogs(c.id, [{ ts: n, stream: 'stdout', line: `${c.id}:${n}` }]);
        }),
      );
      writing = false;
      await follower;
      expect(seen).toHaveLength(children.length * perChild);
      expect(new Set(seen.map((l) => l.line)).size).toBe(children.length * perChild);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('two coordinators on one database (two servers)', () => {
  it('wakes a waiter and a log follower on one when a job logs and finishes through the other, with no polling', async () => {
    const storeA = await openStore();
    const storeB = await openBeside(storeA);
    // Neither coordinator polls (no externalWritersPollMs): only the store's notifications can wake B.
    const a = new Coordinator(storeA);
    const b = new Coordinator(storeB);
    try {
      const job = await a.submit(spec());
      const waiting = b.waitFinished(job.id);
      const followed: string[] = [];
      const following = (async () => {
        for await (const l of b.followLogs(job.id, { follow: true })) followed.push(l.line);
      })();
      // B's worker long-polls for work: A's submit of a second job wakes its claim.
      const claimed = b.claim(
        { workerId: 'wb', tags: 'all', limit: 10, leaseMs: 60_000 },
        new AbortController().signal,
      );
      expect((await claimed).map((j) => j.id)).toEqual([job.id]);
      const second = b.claim({ workerId: 'wb', tags: 'all', limit: 10, leaseMs: 60_000 }, new AbortController().signal);
      const job2 = await a.submit(spec());
      expect((await second).map((j) => j.id)).toEqual([job2.id]);

      await a.started(job.id, Date.now());
      await a.appendLogs(job.id, [{ ts: 1, stream: 'stdout', line: 'one' }]);
      await a.appendLogs(job.id, [{ ts: 2, stream: 'stdout', line: 'two' }]);
      await a.finish(job.id, { status: 'success', result: 42 }, Date.now());
      expect(await waiting).toMatchObject({ id: job.id, status: 'success', result: 42 });
      await following;
      expect(followed).toEqual(['one', 'two']);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await Promise.all([storeA.close(), storeB.close()]);
    }
  });
});
