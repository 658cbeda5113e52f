import { sql } from 'kysely';
import type { Db } from '../adapters/db/database.ts';
import type { RecordedEvent } from '../adapters/eventstore/port.ts';
import type { AccountEvent, Scope } from '../domain/accounts/events.ts';
import type { Projection } from './projection.ts';

/** psx_ API keys: only the sha256 of the key, its display prefix, label and scopes. */
export interface ApiKeyRow {
  key_id: string;
  account_id: string;
  label: string;
  scopes: string;
  key_hash: string;
  key_prefix: string;
  created_at: Date | string;
  revoked_at: Date | string | null;
}

export const accountApiKeysProjection: Projection = {
  name: 'account-api-keys',
  eventTypes: ['AccountApiKeyCreated', 'AccountApiKeyRevoked'],
  tables: ['account_api_keys'],
  migrations: [{
    id: 'account-api-keys/001-table',
    async up(db) {
      await sql`
        create table account_api_keys (
          key_id text primary key, account_id text not null, label text not null, scopes text not null,
          key_hash text not null unique, key_prefix text not null, created_at timestamptz not null, revoked_at timestamptz
        )`.execute(db);
      await sql`create index account_api_keys_account on account_api_keys (account_id)`.execute(db);
    },
  }],
  async apply(trx, events) {
    for (const e of events as Array<RecordedEvent & AccountEvent>) {
      if (e.type === 'AccountApiKeyCreated') {
        const d = e.data;
        await trx.insertInto('account_api_keys').values({ key_id: d.keyId, account_id: d.accountId, label: d.label, scopes: d.scopes.join(' '), key_hash: d.keyHash, key_prefix: d.keyPrefix, created_at: d.createdAt }).execute();
      } else if (e.type === 'AccountApiKeyRevoked') {
        await trx.updateTable('account_api_keys').set({ revoked_at: e.data.revokedAt }).where('key_id', '=', e.data.keyId).execute();
      }
    }
  },
};

export const scopesOf = (row: ApiKeyRow) => row.scopes.split(' ').filter(Boolean) as Scope[];

export const findApiKeyByHash = async (db: Db, keyHash: string) =>
  (await db.selectFrom('account_api_keys').selectAll().where('key_hash', '=', keyHash).executeTakeFirst()) as ApiKeyRow | undefined;

export const listApiKeys = async (db: Db, accountId: string) =>
  (await db.selectFrom('account_api_keys').selectAll().where('account_id', '=', accountId).orderBy('created_at').orderBy('key_id').execute()) as ApiKeyRow[];
