import { sql } from 'kysely';
import type { Db } from '../adapters/db/database.ts';
import type { RecordedEvent } from '../adapters/eventstore/port.ts';
import type { TrafficMetered } from '../domain/traffic/metered.ts';
import type { Projection } from './projection.ts';

/** Metered traffic of account ports (and account pool access) per day, for /v1/account/usage. */
export const accountUsageProjection: Projection = {
  name: 'account-usage',
  eventTypes: ['TrafficMetered'],
  tables: ['account_usage_daily'],
  migrations: [{
    id: 'account-usage/001-table',
    async up(db) {
      await sql`create table account_usage_daily (kind text not null, subject_id text not null, day date not null, bytes bigint not null, primary key (kind, subject_id, day))`.execute(db);
    },
  }],
  async apply(trx, events) {
    for (const e of events as Array<RecordedEvent & TrafficMetered>) {
      const kind = e.data.accountKind as string;
      if (kind !== 'aport' && kind !== 'apool') continue;
      const bytes = (BigInt(e.data.bytesUp) + BigInt(e.data.bytesDown)).toString();
      await trx.insertInto('account_usage_daily').values({ kind, subject_id: e.data.accountId, day: e.data.to.slice(0, 10), bytes })
        .onConflict((oc) => oc.columns(['kind', 'subject_id', 'day']).doUpdateSet({ bytes: sql`account_usage_daily.bytes + excluded.bytes` })).execute();
    }
  },
};

/** Bytes per port of the account since `from` (ports of any status), and pool bytes. */
export async function usageSince(db: Db, accountId: string, from: Date) {
  const ports = await db.selectFrom('account_ports as p')
    .leftJoin('account_usage_daily as u', (j) => j.onRef('u.subject_id', '=', 'p.port_id').on('u.kind', '=', 'aport').on('u.day', '>=', from.toISOString().slice(0, 10)))
    .select(['p.port_id', 'p.display_name', 'p.slot_type', sql<string>`coalesce(sum(u.bytes), 0)::text`.as('bytes')])
    .where('p.account_id', '=', accountId).groupBy(['p.port_id', 'p.display_name', 'p.slot_type']).orderBy('p.port_id').execute();
  const pool = await db.selectFrom('account_usage_daily').select(sql<string>`coalesce(sum(bytes), 0)::text`.as('bytes'))
    .where('kind', '=', 'apool').where('subject_id', '=', accountId).where('day', '>=', from.toISOString().slice(0, 10)).executeTakeFirstOrThrow();
  return { ports: ports as Array<{ port_id: string; display_name: string; slot_type: 'shared' | 'private'; bytes: string }>, poolBytes: BigInt(pool.bytes) };
}

/** All bytes ever used by the account, per slot type (pool access spends shared traffic). */
export async function usedBytesBySlotType(db: Db, accountId: string) {
  const rows = await db.selectFrom('account_usage_daily as u').leftJoin('account_ports as p', 'p.port_id', 'u.subject_id')
    .select([sql<string>`case when u.kind = 'apool' then 'shared' else p.slot_type end`.as('slot_type'), sql<string>`sum(u.bytes)::text`.as('bytes')])
    .where((eb) => eb.or([eb.and([eb('u.kind', '=', 'aport'), eb('p.account_id', '=', accountId)]), eb.and([eb('u.kind', '=', 'apool'), eb('u.subject_id', '=', accountId)])]))
    .groupBy(sql`case when u.kind = 'apool' then 'shared' else p.slot_type end`).execute();
  const of = (t: string) => BigInt(rows.find((r) => r.slot_type === t)?.bytes ?? '0');
  return { shared: of('shared'), private: of('private') };
}
