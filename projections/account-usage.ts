import { sql } from 'kysely';
import type { Db } from '../adapters/db/database.ts';
import type { RecordedEvent } from '../adapters/eventstore/port.ts';
import type { TrafficMetered } from '../domain/traffic/metered.ts';
import type { Projection } from './projection.ts';

/**
 * Metered traffic of account ports (and account pool access) per day, for /v1/account/usage; and the
 * traffic of a reseller's pak_ keys as kind `pak` under the paying reseller account (it spends shared traffic).
 */
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
      const subject = kind === 'pak' ? e.data.payerAccountId : kind === 'aport' || kind === 'apool' ? e.data.accountId : undefined;
      if (subject === undefined) continue;
      const bytes = (BigInt(e.data.bytesUp) + BigInt(e.data.bytesDown)).toString();
      await trx.insertInto('account_usage_daily').values({ kind, subject_id: subject, day: e.data.to.slice(0, 10), bytes })
        .onConflict((oc) => oc.columns(['kind', 'subject_id', 'day']).doUpdateSet({ bytes: sql`account_usage_daily.bytes + excluded.bytes` })).execute();
    }
  },
};

/** Bytes per port of the account since `from` (ports of any status), pool bytes, and its pak_ keys' bytes. */
export async function usageSince(db: Db, accountId: string, from: Date) {
  const ports = await db.selectFrom('account_ports as p')
    .leftJoin('account_usage_daily as u', (j) => j.onRef('u.subject_id', '=', 'p.port_id').on('u.kind', '=', 'aport').on('u.day', '>=', from.toISOString().slice(0, 10)))
    .select(['p.port_id', 'p.display_name', 'p.slot_type', sql<string>`coalesce(sum(u.bytes), 0)::text`.as('bytes')])
    .where('p.account_id', '=', accountId).groupBy(['p.port_id', 'p.display_name', 'p.slot_type']).orderBy('p.port_id').execute();
  const sumOf = (kind: 'apool' | 'pak') => db.selectFrom('account_usage_daily').select(sql<string>`coalesce(sum(bytes), 0)::text`.as('bytes'))
    .where('kind', '=', kind).where('subject_id', '=', accountId).where('day', '>=', from.toISOString().slice(0, 10)).executeTakeFirstOrThrow();
  const [pool, pak] = await Promise.all([sumOf('apool'), sumOf('pak')]);
  return { ports: ports as Array<{ port_id: string; display_name: string; slot_type: 'shared' | 'private'; bytes: string }>, poolBytes: BigInt(pool.bytes), pakBytes: BigInt(pak.bytes) };
}

/** All bytes ever used by the account, per slot type (pool access and its pak_ keys spend shared traffic). */
export async function usedBytesBySlotType(db: Db, accountId: string) {
  const slot = sql<string>`case when u.kind in ('apool', 'pak') then 'shared' else p.slot_type end`;
  const rows = await db.selectFrom('account_usage_daily as u').leftJoin('account_ports as p', 'p.port_id', 'u.subject_id')
    .select([slot.as('slot_type'), sql<string>`sum(u.bytes)::text`.as('bytes')])
    .where((eb) => eb.or([eb.and([eb('u.kind', '=', 'aport'), eb('p.account_id', '=', accountId)]), eb.and([eb('u.kind', 'in', ['apool', 'pak']), eb('u.subject_id', '=', accountId)])]))
    .groupBy(slot).execute();
  const of = (t: string) => BigInt(rows.find((r) => r.slot_type === t)?.bytes ?? '0');
  return { shared: of('shared'), private: of('private') };
}
