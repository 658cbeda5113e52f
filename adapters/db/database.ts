import { PGlite } from '@electric-sql/pglite';
import { CompiledQuery, Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { PgliteDialect } from './pglite-dialect.ts';

/**
 * One Kysely over either a pg Pool or an embedded PGlite. Read models and the PostgreSQL event store
 * share it. int8 comes back as bigint on both, so positions and micro-USDC amounts never lose precision.
 */
export type Db = Kysely<any>;

export interface Database {
  kind: 'postgres' | 'pglite';
  db: Db;
  /** Opens a dedicated connection for LISTEN (pg only); PGlite notifies in-process. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  /**
   * Whether a LISTEN connection of another Database (another process, as a rule) is open on `channel`, so a
   * NOTIFY nobody would read can be skipped (each is a round trip and a commit). Answered from a cache refreshed
   * in the background at most every LISTENERS_RECHECK_MS, true until first known, and set at once when a new
   * listener announces itself (each LISTEN connection also hears those announcements; a Database without one
   * learns at its next recheck, and the new listener has its fallback poll meanwhile). Always false on PGlite.
   */
  othersListening(channel: string): boolean;
  /**
   * A hot statement by name: on pg it is prepared once per connection and its plan kept (Kysely sends every
   * query unnamed, parsed and planned each time). On PGlite every statement is prepared (pglite-wire.ts).
   */
  prepared<R>(name: string, text: string, values: readonly unknown[]): Promise<R[]>;
  close(): Promise<void>;
}

export const LISTENERS_RECHECK_MS = 1000;
/** Where a new LISTEN connection announces its channel (see othersListening). */
const LISTENERS_CHANNEL = 'es_listeners';
/** LISTEN connections say what they listen to in application_name, which pg_stat_activity shows. */
const listenerName = (channel: string) => `listen:${channel}`.slice(0, 63);

const INT8_OID = 20;

export function pgPoolConfig(connectionString: string, max = 10): pg.PoolConfig {
  return {
    connectionString,
    max,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? (value: string) => BigInt(value) : pg.types.getTypeParser(oid, format)) as never,
    },
  };
}

export async function openPostgres(connectionString: string, options: { poolSize?: number } = {}): Promise<Database> {
  const pool = new pg.Pool(pgPoolConfig(connectionString, options.poolSize ?? 10));
  // An idle client dropped by the server must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
  await sql`select 1`.execute(db);
  const ownListeners = new Map<string, Set<number>>();
  const listeners = new Map<string, { others: boolean; checkedAt: number; checking: boolean; announcedAt: number }>();
  const known = (channel: string) => {
    const entry = listeners.get(channel) ?? { others: true, checkedAt: Number.NEGATIVE_INFINITY, checking: false, announcedAt: Number.NEGATIVE_INFINITY };
    listeners.set(channel, entry);
    return entry;
  };
  return {
    kind: 'postgres',
    db,
    async listen(channel, onNotify) {
      const client = new pg.Client({ connectionString, application_name: listenerName(channel) });
      client.on('error', () => {});
      await client.connect();
      client.on('notification', (message) => {
        if (message.channel === channel) onNotify(message.payload ?? '');
        else if (message.channel === LISTENERS_CHANNEL && message.payload) {
          const entry = known(message.payload); // someone started listening there: notify it from now on
          entry.others = true;
          entry.announcedAt = Date.now();
        }
      });
      await client.query(`LISTEN ${pg.escapeIdentifier(channel)}; LISTEN ${LISTENERS_CHANNEL}`);
      const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
      const pids = ownListeners.get(channel) ?? new Set<number>();
      ownListeners.set(channel, pids.add(rows[0]!.pid));
      // Processes that skip NOTIFYs nobody reads hear of this listener at once, not at their next recheck.
      await client.query('select pg_notify($1, $2)', [LISTENERS_CHANNEL, channel]);
      return async () => {
        pids.delete(rows[0]!.pid);
        await client.end().catch(() => {});
      };
    },
    othersListening(channel) {
      const entry = known(channel);
      if (!entry.checking && Date.now() - entry.checkedAt >= LISTENERS_RECHECK_MS) {
        entry.checking = true;
        const started = Date.now();
        pool.query<{ others: boolean }>('select exists (select 1 from pg_stat_activity where datname = current_database() and application_name = $1 and not (pid = any ($2::int[]))) as others',
          [listenerName(channel), [...(ownListeners.get(channel) ?? [])]])
          .then((r) => { if (entry.announcedAt < started) entry.others = r.rows[0]?.others ?? true; }, () => { entry.others = true; }) // unknown: notify
          .finally(() => { entry.checking = false; entry.checkedAt = Date.now(); });
      }
      return entry.others;
    },
    async prepared<R>(name: string, text: string, values: readonly unknown[]) {
      return (await pool.query({ name, text, values: [...values] })).rows as R[];
    },
    async close() { await db.destroy(); },
  };
}

/** dataDir undefined → in memory (tests); otherwise a directory that survives restarts. */
export async function openPglite(dataDir?: string): Promise<Database> {
  const pglite = await PGlite.create(dataDir, { parsers: { [INT8_OID]: (value: string) => BigInt(value) } });
  const db = new Kysely<any>({ dialect: new PgliteDialect(pglite) });
  return {
    kind: 'pglite',
    db,
    async listen(channel, onNotify) {
      const unlisten = await pglite.listen(channel, (payload) => onNotify(payload));
      return async () => { if (!pglite.closed) await unlisten(); };
    },
    othersListening: () => false,
    async prepared<R>(_name: string, text: string, values: readonly unknown[]) {
      // through Kysely's driver: PGlite is one connection, and its mutex keeps this out of an open transaction
      return (await db.executeQuery<R>(CompiledQuery.raw(text, [...values]))).rows;
    },
    async close() { await db.destroy(); },
  };
}
