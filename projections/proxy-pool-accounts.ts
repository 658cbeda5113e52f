import { sql } from 'kysely';
import type { Db } from '../adapters/db/database.ts';
import type { RecordedEvent } from '../adapters/eventstore/port.ts';
import type { PoolUserEvent } from '../domain/proxy-pool/accounts.ts';
import { assertNever } from '../domain/shared/errors.ts';
import type { Projection } from './projection.ts';

/** Proxy-pool users and their API keys (hash + prefix only). */
export const proxyPoolAccountsProjection: Projection = {
  name: 'pp-accounts',
  eventTypes: ['PoolUserRegistered', 'PoolApiKeyCreated', 'PoolApiKeyRevoked'],
  tables: ['pp_api_keys', 'pp_users'],
  migrations: [{
    id: 'pp-accounts/001-tables',
    async up(db) {
      await sql`create table pp_users (user_id text primary key, email text not null, display_name text not null, created_at timestamptz not null)`.execute(db);
      await sql`create table pp_api_keys (
        key_id text primary key, user_id text not null, key_hash text not null unique, prefix text not null, label text not null,
        created_at timestamptz not null, revoked_at timestamptz, last_used_at timestamptz, position numeric not null)`.execute(db);
      await sql`create index pp_api_keys_user on pp_api_keys (user_id)`.execute(db);
    },
  }],
  async apply(trx, events) {
    for (const event of events) {
      const e = event as RecordedEvent & PoolUserEvent;
      switch (e.type) {
        case 'PoolUserRegistered':
          await trx.insertInto('pp_users').values({ user_id: e.data.userId, email: e.data.email, display_name: e.data.displayName, created_at: e.data.registeredAt }).execute();
          break;
        case 'PoolApiKeyCreated':
          await trx.insertInto('pp_api_keys').values({ key_id: e.data.keyId, user_id: e.data.userId, key_hash: e.data.keyHash, prefix: e.data.prefix, label: e.data.label, created_at: e.data.createdAt, position: e.position.toString() }).execute();
          break;
        case 'PoolApiKeyRevoked':
          await trx.updateTable('pp_api_keys').set({ revoked_at: e.data.revokedAt }).where('key_id', '=', e.data.keyId).execute();
          break;
        default:
          assertNever(e);
      }
    }
  },
};

export interface PoolUserRow { user_id: string; email: string; display_name: string; created_at: Date | string }
export interface PoolKeyRow { key_id: string; user_id: string; prefix: string; label: string; created_at: Date | string; revoked_at: Date | string | null }

export const findPoolUserByKeyHash = async (db: Db, keyHash: string) =>
  (await db.selectFrom('pp_api_keys as k').innerJoin('pp_users as u', 'u.user_id', 'k.user_id')
    .select(['u.user_id', 'u.email', 'u.display_name', 'u.created_at', 'k.key_id'])
    .where('k.key_hash', '=', keyHash).where('k.revoked_at', 'is', null).executeTakeFirst()) as (PoolUserRow & { key_id: string }) | undefined;

export const findPoolUser = async (db: Db, userId: string) =>
  (await db.selectFrom('pp_users').selectAll().where('user_id', '=', userId).executeTakeFirst()) as PoolUserRow | undefined;

export const listPoolKeys = async (db: Db, userId: string) =>
  (await db.selectFrom('pp_api_keys').select(['key_id', 'user_id', 'prefix', 'label', 'created_at', 'revoked_at'])
    .where('user_id', '=', userId).orderBy('position').execute()) as PoolKeyRow[];
