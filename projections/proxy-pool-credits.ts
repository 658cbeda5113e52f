import { sql } from 'kysely';
import type { Db } from '../adapters/db/database.ts';
import type { RecordedEvent } from '../adapters/eventstore/port.ts';
import type { CreditEvent } from '../domain/proxy-pool/credits.ts';
import { assertNever } from '../domain/shared/errors.ts';
import type { Projection } from './projection.ts';

/** Credit balances and the transaction history of GET /account/credits. */
export const proxyPoolCreditsProjection: Projection = {
  name: 'pp-credits',
  eventTypes: ['PoolCreditsPurchased', 'PoolCreditsGranted', 'PoolCreditDebited'],
  tables: ['pp_credit_transactions', 'pp_credit_balances'],
  migrations: [{
    id: 'pp-credits/001-tables',
    async up(db) {
      await sql`create table pp_credit_balances (user_id text primary key, balance bigint not null)`.execute(db);
      await sql`create table pp_credit_transactions (
        event_id text primary key, user_id text not null, amount bigint not null, tx_type text not null,
        description text not null, created_at timestamptz not null, position numeric not null)`.execute(db);
      await sql`create index pp_credit_transactions_user on pp_credit_transactions (user_id, position desc)`.execute(db);
    },
  }, {
    // Which lease a debit paid for: a lease without one (a crash between the two appends) is taken back.
    id: 'pp-credits/002-lease-id',
    async up(db) {
      await sql`alter table pp_credit_transactions add column lease_id text`.execute(db);
      await sql`create index pp_credit_transactions_lease on pp_credit_transactions (lease_id) where lease_id is not null`.execute(db);
    },
  }],
  async apply(trx, events) {
    for (const event of events) {
      const e = event as RecordedEvent & CreditEvent;
      let row: { amount: number; tx_type: string; description: string; lease_id?: string };
      switch (e.type) {
        case 'PoolCreditsPurchased':
          row = { amount: e.data.credits, tx_type: 'purchase', description: `Credit purchase (${e.data.payment.network} ${e.data.payment.transaction.slice(0, 12)}…)` };
          break;
        case 'PoolCreditsGranted':
          row = { amount: e.data.credits, tx_type: 'grant', description: e.data.description };
          break;
        case 'PoolCreditDebited':
          row = { amount: -e.data.credits, tx_type: 'acquire', description: e.data.description, lease_id: e.data.leaseId };
          break;
        default:
          assertNever(e);
      }
      await trx.insertInto('pp_credit_transactions').values({
        event_id: e.id, user_id: e.data.userId, amount: row.amount, tx_type: row.tx_type, description: row.description, created_at: e.data.at, position: e.position.toString(), lease_id: row.lease_id ?? null,
      }).execute();
      await trx.insertInto('pp_credit_balances').values({ user_id: e.data.userId, balance: row.amount })
        .onConflict((oc) => oc.column('user_id').doUpdateSet({ balance: sql`pp_credit_balances.balance + ${row.amount}` })).execute();
    }
  },
};

export async function creditBalance(db: Db, userId: string): Promise<number> {
  const row = await db.selectFrom('pp_credit_balances').select('balance').where('user_id', '=', userId).executeTakeFirst();
  return row ? Number(row.balance) : 0;
}

export async function recentCreditTransactions(db: Db, userId: string, limit = 50) {
  const rows = await db.selectFrom('pp_credit_transactions').select(['amount', 'tx_type', 'description', 'created_at'])
    .where('user_id', '=', userId).orderBy('position', 'desc').limit(limit).execute();
  return rows.map((r) => ({ amount: Number(r.amount), tx_type: r.tx_type as string, description: r.description as string, created_at: new Date(r.created_at).toISOString() }));
}
