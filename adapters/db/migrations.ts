import { sql } from 'kysely';
import type { Db } from './database.ts';

/** A schema change owned by one module (the event store or a projection), applied once, in order. */
export interface Migration {
  id: string;
  up(db: Db): Promise<void>;
}

const LOCK_KEY = 7_402_402; // serialises concurrent starters (api and projector booting together)

export async function migrate(db: Db, migrations: readonly Migration[]): Promise<string[]> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${LOCK_KEY})`.execute(trx);
    await sql`create table if not exists schema_migrations (id text primary key, applied_at timestamptz not null default now())`.execute(trx);
    const done = new Set((await trx.selectFrom('schema_migrations').select('id').execute()).map((r) => r.id as string));
    const applied: string[] = [];
    for (const migration of migrations) {
      if (done.has(migration.id)) continue;
      await migration.up(trx);
      await trx.insertInto('schema_migrations').values({ id: migration.id }).execute();
      applied.push(migration.id);
    }
    return applied;
  });
}
