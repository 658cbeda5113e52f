import { sql } from 'kysely';
import type { Db } from '../../adapters/db/database.ts';
import type { Migration } from '../../adapters/db/migrations.ts';

export const checkpointMigrations: Migration[] = [
  {
    id: 'projector/001-checkpoints',
    async up(db) {
      await sql`create table projection_checkpoints (name text primary key, position numeric(40) not null, updated_at timestamptz not null default now())`.execute(db);
    },
  },
  {
    // One round trip: the lock, then the checkpoint read by a statement of its own (a volatile function
    // takes a fresh snapshot per statement), so it sees what the lock's previous holder committed.
    id: 'projector/002-apply-lock',
    async up(db) {
      await sql.raw(`
        create or replace function projection_apply_lock(p_class int, p_name text) returns text language plpgsql volatile as $$
        begin
          perform pg_advisory_xact_lock(p_class, hashtext(p_name));
          return (select position::text from projection_checkpoints where name = p_name);
        end $$`).execute(db);
    },
  },
];

/** -1 means "nothing applied yet": subscriptions start after it. */
export async function readCheckpoint(db: Db, name: string): Promise<bigint> {
  // numeric, read as text: EventStoreDB positions do not fit in a bigint column
  const row = await db.selectFrom('projection_checkpoints').select(sql<string>`position::text`.as('position')).where('name', '=', name).executeTakeFirst();
  return row ? BigInt(row.position) : -1n;
}

export async function readCheckpoints(db: Db): Promise<Map<string, bigint>> {
  const rows = await db.selectFrom('projection_checkpoints').select(['name', sql<string>`position::text`.as('position')]).execute();
  return new Map(rows.map((r) => [r.name as string, BigInt(r.position)]));
}

/**
 * Moves the checkpoint from `expected` to `next` or reports that someone else moved it (a rebuild,
 * or a second projector): the caller rolls back its batch, so no event is applied twice.
 */
export async function advanceCheckpoint(trx: Db, name: string, expected: bigint, next: bigint): Promise<boolean> {
  if (expected === -1n) {
    const inserted = await trx
      .insertInto('projection_checkpoints')
      .values({ name, position: next.toString() })
      .onConflict((oc) => oc.column('name').doUpdateSet({ position: next.toString(), updated_at: sql`now()` }).where('projection_checkpoints.position', '=', '-1'))
      .executeTakeFirst();
    return Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1;
  }
  const updated = await trx
    .updateTable('projection_checkpoints')
    .set({ position: next.toString(), updated_at: sql`now()` })
    .where('name', '=', name)
    .where('position', '=', expected.toString())
    .executeTakeFirst();
  return Number(updated.numUpdatedRows) === 1;
}

/** Advisory-lock class of the per-projection apply locks (the second key is hashtext(name)). */
const APPLY_LOCK_CLASS = 0x50524a; // 'PRJ'

/**
 * Takes the projection's apply lock for this transaction and says whether its checkpoint is still
 * `expected`. An advisory lock, not a row lock: it assigns no transaction id, so a lane's open
 * transaction does not hold back the event store's horizon (positions derive from transaction ids)
 * any longer than its own writes do. One round trip (projection_apply_lock); with asyncCommit it also
 * turns the WAL flush off for this transaction.
 */
export async function lockCheckpoint(trx: Db, name: string, expected: bigint, asyncCommit = false): Promise<boolean> {
  const { rows } = await sql<{ position: string | null }>`
    select ${asyncCommit ? sql`set_config('synchronous_commit', 'off', true), ` : sql``}projection_apply_lock(${APPLY_LOCK_CLASS}, ${name}) as position`.execute(trx);
  const position = rows[0]?.position;
  return (position == null ? -1n : BigInt(position)) === expected;
}

/** The apply locks of several projections, in one order so two rebuilds cannot deadlock. */
export async function lockProjections(trx: Db, names: readonly string[]): Promise<void> {
  for (const name of [...names].sort()) await sql`select projection_apply_lock(${APPLY_LOCK_CLASS}, ${name})`.execute(trx);
}

export async function resetCheckpoint(trx: Db, name: string): Promise<void> {
  await trx
    .insertInto('projection_checkpoints')
    .values({ name, position: '-1' })
    .onConflict((oc) => oc.column('name').doUpdateSet({ position: '-1', updated_at: sql`now()` }))
    .execute();
}
