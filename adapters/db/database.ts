import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
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
  close(): Promise<void>;
}

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
  return {
    kind: 'postgres',
    db,
    async listen(channel, onNotify) {
      const client = new pg.Client({ connectionString });
      client.on('error', () => {});
      await client.connect();
      client.on('notification', (message) => { if (message.channel === channel) onNotify(message.payload ?? ''); });
      await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      return async () => { await client.end().catch(() => {}); };
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
    async close() { await db.destroy(); },
  };
}
