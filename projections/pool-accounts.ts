import { sql } from 'kysely';
import type { Db } from '../adapters/db/database.ts';
import type { RecordedEvent } from '../adapters/eventstore/port.ts';
import type { PoolAccessEvent } from '../domain/pool-access/pool-access.ts';
import { assertNever } from '../domain/shared/errors.ts';
import type { TrafficMetered } from '../domain/traffic/metered.ts';
import type { Projection } from './projection.ts';

/** Pool gateway accounts: credentials (hashed), the traffic balance and usage counters. */
export interface PoolAccountRow {
  account_id: string;
  token_hash: string;
  password_hash: string;
  tier: 'mbl';
  default_country: string;
  traffic_bytes: bigint;
  traffic_used_bytes: bigint;
  bytes_up: bigint;
  bytes_down: bigint;
  connections: bigint;
  last_used_at: Date | string | null;
  payer: string;
  created_at: Date | string;
  password_changed_at: Date | string;
}

export const poolAccountsProjection: Projection = {
  name: 'pool-accounts',
  eventTypes: ['PoolAccessPurchased', 'PoolAccessToppedUp', 'PoolPasswordRegenerated', 'TrafficMetered'],
  tables: ['pool_accounts'],
  migrations: [{
    id: 'pool-accounts/001-table',
    async up(db) {
      await sql`
        create table pool_accounts (
          account_id text primary key,
          token_hash text not null unique,
          password_hash text not null,
          tier text not null,
          default_country text not null,
          traffic_bytes bigint not null,
          traffic_used_bytes bigint not null default 0,
          bytes_up bigint not null default 0,
          bytes_down bigint not null default 0,
          connections bigint not null default 0,
          last_used_at timestamptz,
          payer text not null,
          created_at timestamptz not null,
          password_changed_at timestamptz not null
        )`.execute(db);
    },
  }],
  async apply(trx, events) {
    for (const event of events) await applyOne(trx, event);
  },
};

async function applyOne(trx: Db, event: RecordedEvent): Promise<void> {
  if (event.type === 'TrafficMetered') {
    const d = (event as unknown as TrafficMetered).data;
    if (d.accountKind !== 'pool') return;
    await trx.updateTable('pool_accounts').set({
      traffic_used_bytes: sql`traffic_used_bytes + ${d.bytesUp}::bigint + ${d.bytesDown}::bigint`,
      bytes_up: sql`bytes_up + ${d.bytesUp}::bigint`,
      bytes_down: sql`bytes_down + ${d.bytesDown}::bigint`,
      connections: sql`connections + ${d.connections}`,
      last_used_at: d.to,
    }).where('account_id', '=', d.accountId).execute();
    return;
  }
  const e = event as RecordedEvent & PoolAccessEvent;
  switch (e.type) {
    case 'PoolAccessPurchased': {
      const d = e.data;
      await trx.insertInto('pool_accounts').values({
        account_id: d.accountId, token_hash: d.tokenHash, password_hash: d.passwordHash, tier: d.tier, default_country: d.defaultCountry,
        traffic_bytes: d.trafficBytes, payer: d.payment.payer, created_at: d.purchasedAt, password_changed_at: d.purchasedAt,
      }).execute();
      return;
    }
    case 'PoolAccessToppedUp':
      await trx.updateTable('pool_accounts').set({ traffic_bytes: sql`traffic_bytes + ${e.data.addTrafficBytes}::bigint` }).where('account_id', '=', e.data.accountId).execute();
      return;
    case 'PoolPasswordRegenerated':
      await trx.updateTable('pool_accounts').set({ password_hash: e.data.passwordHash, password_changed_at: e.data.regeneratedAt }).where('account_id', '=', e.data.accountId).execute();
      return;
    default:
      return assertNever(e);
  }
}

export const findPoolAccount = async (db: Db, accountId: string) =>
  (await db.selectFrom('pool_accounts').selectAll().where('account_id', '=', accountId).executeTakeFirst()) as PoolAccountRow | undefined;

export const findPoolAccountByTokenHash = async (db: Db, tokenHash: string) =>
  (await db.selectFrom('pool_accounts').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst()) as PoolAccountRow | undefined;
