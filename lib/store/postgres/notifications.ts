import pg from 'pg';
import { TickBatch } from '../../tick-batch.js';
import type { StoreChange } from '../store.js';
import { quoteIdent } from './migrations.js';
import { connectionConfig } from './url.js';

/**
 * A change as it travels in a NOTIFY payload: jobs queued, started, logged or finished; or
 * one of the two words between servers (see Announcer): `h`, a server that listens now, and
 * `r`, look at the store again.
 */
export interface Wire {
  /** The Store instance that wrote it, so that it can ignore its own. */
  o: string;
  k: 'q' | 's' | 'l' | 'f' | 'h' | 'r';
  ids?: string[];
  due?: number;
}

/** A committed change, as the store reports it (the announcer adds the origin). */
export type Change = Omit<Wire, 'o'> & { k: 'q' | 's' | 'l' | 'f' };

/** A NOTIFY payload is limited to 8,000 bytes; ids are sent in chunks well under it. */
const NOTIFY_CHUNK_BYTES = 6000;

/** Reconnection delays of the LISTEN connection after it is lost, in ms. */
const RELISTEN_DELAYS_MS = [100, 250, 500, 1000, 2000, 5000];

/**
 * Tells the other servers of committed changes. The changes of one tick go together, in one
 * NOTIFY transaction of their own after the writes have committed: a write holding
 * PostgreSQL's notification lock through its commit would make concurrent writes commit one
 * disk flush at a time. That transaction holds no data, so it commits without waiting for the
 * disk. (Should this process die between a write and its announcement, the other servers'
 * waiters hear of it when their long polls next look: within a minute.)
 *
 * A server alone on its database tells no one: its changes go unannounced (three NOTIFY
 * statements per task, and as many echoes to its own LISTEN connection, saved) until it hears
 * another server. A store that listens starts alone and says `h` when it listens; a server
 * that hears another one (any notification) announces from then on, and answers `h` with `r`.
 * Whenever a server stops being alone it says `r` too: every server that hears it looks at the
 * store again, which covers whatever was left unannounced before, since those changes were
 * committed before the `r` was sent. So a server that starts while others run, or one that
 * starts first, or two that start at once, end up announcing to each other, and no waiter
 * misses a change. A store that does not listen (a CLI writing to a server's database) cannot
 * hear anyone: it always announces.
 */
export class Announcer {
  private readonly batch = new TickBatch<Change>((changes) => this.flush(changes));
  /** The announcements under way, in order: `drain` waits for them. */
  private announced: Promise<void> = Promise.resolve();
  private closed = false;
  /** Whether another server has been heard: until then, changes are not announced. */
  private othersHeard: boolean;

  constructor(
    private readonly pool: pg.Pool,
    private readonly channel: string,
    private readonly origin: string,
    listens: boolean,
  ) {
    this.othersHeard = !listens;
  }

  announce(change: Change): void {
    if (!this.closed && this.othersHeard) this.batch.add(change);
  }

  /** This store listens (its first LISTEN, or one after a lost connection): the other servers hear it. */
  listening(): void {
    this.send(['h']);
  }

  /** A notification of another server (`k` its kind): it is heard, and a newcomer is answered. */
  heard(k: Wire['k']): void {
    const wasAlone = !this.othersHeard;
    this.othersHeard = true;
    if (wasAlone || k === 'h') this.send(['r']);
  }

  /** Announces what this tick wrote, waits for every announcement under way, and takes no more. */
  async close(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    await this.announced;
    this.closed = true;
  }

  /** Words between servers, after the announcements under way. */
  private send(kinds: readonly ('h' | 'r')[]): void {
    if (this.closed) return;
    this.notify(kinds.map((k) => JSON.stringify({ o: this.origin, k } satisfies Wire)));
  }

  private flush(changes: Change[]): void {
    const due = new Set<number>();
    const ids = { s: new Set<string>(), l: new Set<string>(), f: new Set<string>() };
    for (const change of changes) {
      if (change.k === 'q') due.add(change.due ?? 0);
      else for (const id of change.ids ?? []) ids[change.k].add(id);
    }
    const payloads = [
      ...[...due].map((d) => JSON.stringify({ o: this.origin, k: 'q', due: d } satisfies Wire)),
      ...this.payloads({ k: 's', ids: [...ids.s] }),
      ...this.payloads({ k: 'l', ids: [...ids.l] }),
      ...this.payloads({ k: 'f', ids: [...ids.f] }),
    ];
    this.notify(payloads);
  }

  private notify(payloads: string[]): void {
    this.announced = this.announced
      .then(() =>
        this.pool.query(
          `SELECT set_config('synchronous_commit', 'off', true), (SELECT count(pg_notify($1, p)) FROM unnest($2::text[]) AS p)`,
          [this.channel, payloads],
        ),
      )
      .then(
        () => undefined,
        (err: Error) =>
          console.error(`millrace: cannot tell the other servers of ${payloads.length} changes: ${err.message}`),
      );
  }

  /** One change as NOTIFY payloads, its ids split so that each stays under the size limit; none for no ids. */
  private payloads(change: Change): string[] {
    const base = { o: this.origin, ...change };
    if (!change.ids) return [JSON.stringify(base)];
    if (change.ids.length === 0) return [];
    const out: string[] = [];
    let chunk: string[] = [];
    let size = 0;
    for (const id of change.ids) {
      if (size + id.length + 3 > NOTIFY_CHUNK_BYTES && chunk.length > 0) {
        out.push(JSON.stringify({ ...base, ids: chunk }));
        chunk = [];
        size = 0;
      }
      chunk.push(id);
      size += Buffer.byteLength(id) + 3;
    }
    out.push(JSON.stringify({ ...base, ids: chunk }));
    return out;
  }
}

/**
 * The connection that LISTENs for other servers' changes and hands them to `publish`. When it
 * breaks, it opens another and publishes `resync`: whatever happened while it was deaf, the
 * waiters read the store again.
 */
export class ChangeListener {
  private client: pg.Client | undefined;
  private relistenTimer: NodeJS.Timeout | undefined;
  private relistenAttempt = 0;
  private closed = false;

  constructor(
    private readonly options: { url: string; schema: string; channel: string; origin: string },
    private readonly publish: (change: StoreChange) => void,
    /** The Announcer's side: this store listens now; another server was heard. */
    private readonly peers: Pick<Announcer, 'listening' | 'heard'>,
  ) {}

  /** Opens the LISTEN connection; when it breaks, opens another and tells listeners to resync. */
  async listen(): Promise<void> {
    const { url, schema, channel, origin } = this.options;
    const client = new pg.Client({ ...connectionConfig(url, schema), application_name: 'millrace-listen' });
    const lost = (err?: Error) => {
      if (this.client !== client || this.closed) return;
      this.client = undefined;
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      console.error(`millrace: lost the PostgreSQL LISTEN connection${err ? ` (${err.message})` : ''}; reconnecting`);
      this.relisten();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (msg) => {
      if (msg.channel !== channel || !msg.payload) return;
      const wire = JSON.parse(msg.payload) as Wire;
      if (wire.o === origin) return;
      this.peers.heard(wire.k);
      const change = fromWire(wire);
      if (change) this.publish(change);
    });
    await client.connect();
    await client.query(`LISTEN ${quoteIdent(channel)}`);
    this.client = client;
    this.peers.listening();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.relistenTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private relisten(): void {
    const delay = RELISTEN_DELAYS_MS[Math.min(this.relistenAttempt++, RELISTEN_DELAYS_MS.length - 1)];
    this.relistenTimer = setTimeout(() => {
      this.listen().then(
        () => {
          this.relistenAttempt = 0;
          // Whatever happened while we were deaf: waiters look at the store again.
          this.publish({ kind: 'resync' });
        },
        (err: Error) => {
          if (this.closed) return;
          console.error(`millrace: cannot LISTEN on PostgreSQL yet (${err.message}); retrying`);
          this.relisten();
        },
      );
    }, delay);
    this.relistenTimer.unref();
  }
}

/** What a notification tells this server's waiters: nothing for a newcomer's `h`. */
function fromWire(wire: Wire): StoreChange | undefined {
  switch (wire.k) {
    case 'h':
      return undefined;
    case 'r':
      return { kind: 'resync' };
    case 'q':
      return { kind: 'queued', dueAt: wire.due ?? 0 };
    case 's':
      return { kind: 'started', jobIds: wire.ids ?? [] };
    case 'l':
      return { kind: 'logs', jobIds: wire.ids ?? [] };
    case 'f':
      return { kind: 'finished', jobIds: wire.ids ?? [] };
  }
}
