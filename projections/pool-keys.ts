import { sql } from 'kysely';
import type { Db } from '../adapters/db/database.ts';
import type { RecordedEvent } from '../adapters/eventstore/port.ts';
import { poolKeyEventTypes, type PoolKeyEvent } from '../domain/reseller/events.ts';
import { assertNever } from '../domain/shared/errors.ts';
import type { TrafficMetered } from '../domain/traffic/metered.ts';
import type { Projection } from './projection.ts';

/** A reseller's pool-access keys: the sealed key and its hash, cap, usage, expiry and state. */
export interface PoolKeyRow {
  key_id: string;
  reseller_id: string;
  label: string;
  key_hash: string;
  sealed_key: string;
  key_prefix: string;
  enabled: boolean;
  quality_tier: 'safe' | 'standard';
  traffic_cap_bytes: bigint | string | null;
  traffic_used_bytes: bigint | string;
  bytes_up: bigint | string;
  bytes_down: bigint | string;
  expires_at: Date | string | null;
  suspended_reason: string | null;
  last_used_at: Date | string | null;
  created_at: Date | string;
  updated_at: Date | string;
  key_changed_at: Date | string;
}

export const poolKeysProjection: Projection = {
  name: 'pool-keys',
  eventTypes: [...poolKeyEventTypes, 'TrafficMetered'],
  tables: ['reseller_pool_keys'],
  migrations: [{
    id: 'pool-keys/001-table',
    async up(db) {
      await sql`
        create table reseller_pool_keys (
          key_id text primary key,
          reseller_id text not null,
          label text not null,
          key_hash text not null unique,
          sealed_key text not null,
          key_prefix text not null,
          enabled boolean not null,
          quality_tier text not null,
          traffic_cap_bytes bigint,
          traffic_used_bytes bigint not null default 0,
          bytes_up bigint not null default 0,
          bytes_down bigint not null default 0,
          expires_at timestamptz,
          suspended_reason text,
          last_used_at timestamptz,
          created_at timestamptz not null,
          updated_at timestamptz not null,
          key_changed_at timestamptz not null
        )`.execute(db);
      await sql`create index reseller_pool_keys_reseller on reseller_pool_keys (reseller_id, created_at)`.execute(db);
    },
  }],
  async apply(trx, events) {
    for (const event of events) await applyOne(trx, event);
  },
};

async function applyOne(trx: Db, event: RecordedEvent): Promise<void> {
  if (event.type === 'TrafficMetered') {
    const d = (event as unknown as TrafficMetered).data;
    if (d.accountKind !== 'pak') return;
    await trx.updateTable('reseller_pool_keys').set({
      traffic_used_bytes: sql`traffic_used_bytes + ${d.bytesUp}::bigint + ${d.bytesDown}::bigint`,
      bytes_up: sql`bytes_up + ${d.bytesUp}::bigint`,
      bytes_down: sql`bytes_down + ${d.bytesDown}::bigint`,
      last_used_at: d.to,
    }).where('key_id', '=', d.accountId).execute();
    return;
  }
  const e = event as RecordedEvent & PoolKeyEvent;
  const row = (set: Record<string, unknown>) => trx.updateTable('reseller_pool_keys').set(set).where('key_id', '=', e.data.keyId).execute();
  switch (e.type) {
    case 'PoolKeyCreated': {
      const d = e.data;
      await trx.insertInto('reseller_pool_keys').values({
        key_id: d.keyId, reseller_id: d.resellerId, label: d.label, key_hash: d.keyHash, sealed_key: d.sealedKey, key_prefix: d.keyPrefix,
        enabled: true, quality_tier: d.qualityTier, traffic_cap_bytes: d.trafficCapBytes, expires_at: d.expiresAt,
        created_at: d.createdAt, updated_at: d.createdAt, key_changed_at: d.createdAt,
      }).execute();
      return;
    }
    case 'PoolKeyUpdated': {
      const c = e.data.changes;
      await row({
        updated_at: e.data.updatedAt,
        ...(c.label !== undefined ? { label: c.label } : {}),
        ...(c.enabled !== undefined ? { enabled: c.enabled, ...(c.enabled ? { suspended_reason: null } : {}) } : {}),
        ...(c.trafficCapBytes !== undefined ? { traffic_cap_bytes: c.trafficCapBytes } : {}),
        ...(c.qualityTier !== undefined ? { quality_tier: c.qualityTier } : {}),
        ...(c.expiresAt !== undefined ? { expires_at: c.expiresAt } : {}),
      });
      return;
    }
    case 'PoolKeyToppedUp':
      await row({ traffic_cap_bytes: e.data.trafficCapBytes, expires_at: e.data.expiresAt, updated_at: e.data.toppedUpAt });
      return;
    case 'PoolKeyRegenerated':
      await row({ key_hash: e.data.keyHash, sealed_key: e.data.sealedKey, key_prefix: e.data.keyPrefix, updated_at: e.data.regeneratedAt, key_changed_at: e.data.regeneratedAt });
      return;
    case 'PoolKeyRevealed':
      return;
    case 'PoolKeyDeleted':
      await trx.deleteFrom('reseller_pool_keys').where('key_id', '=', e.data.keyId).execute();
      return;
    case 'PoolKeyAutoSuspended':
      await row({ enabled: false, suspended_reason: e.data.reason, updated_at: e.data.suspendedAt });
      return;
    default:
      return assertNever(e);
  }
}

export const findPoolKey = async (db: Db, keyId: string) =>
  (await db.selectFrom('reseller_pool_keys').selectAll().where('key_id', '=', keyId).executeTakeFirst()) as PoolKeyRow | undefined;

export const findPoolKeyByHash = async (db: Db, keyHash: string) =>
  (await db.selectFrom('reseller_pool_keys').selectAll().where('key_hash', '=', keyHash).executeTakeFirst()) as PoolKeyRow | undefined;

export const listPoolKeys = async (db: Db, resellerId: string) =>
  (await db.selectFrom('reseller_pool_keys').selectAll().where('reseller_id', '=', resellerId).orderBy('created_at', 'desc').orderBy('key_id').execute()) as PoolKeyRow[];

/** Enabled keys whose cap is used up or whose expiry has passed: the worker suspends them. */
export const poolKeysToSuspend = async (db: Db, now: Date) =>
  (await db.selectFrom('reseller_pool_keys').selectAll().where('enabled', '=', true)
    .where((eb) => eb.or([
      eb.and([eb('traffic_cap_bytes', 'is not', null), eb('traffic_used_bytes', '>=', eb.ref('traffic_cap_bytes'))]),
      eb.and([eb('expires_at', 'is not', null), eb('expires_at', '<=', now)]),
    ])).limit(500).execute()) as PoolKeyRow[];
