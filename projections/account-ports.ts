import { sql } from 'kysely';
import type { Db } from '../adapters/db/database.ts';
import type { RecordedEvent } from '../adapters/eventstore/port.ts';
import type { AccountPortEvent } from '../domain/ports/events.ts';
import { assertNever } from '../domain/shared/errors.ts';
import type { TrafficMetered } from '../domain/traffic/metered.ts';
import type { Projection } from './projection.ts';

/** Account ports (seed 002's port object), with credentials as hashes and traffic metered through the gateway. */
export interface AccountPortRow {
  port_id: string;
  account_id: string;
  name: string;
  display_name: string;
  slot_type: 'shared' | 'private';
  device_id: string;
  country_code: string;
  carrier_id: string | null;
  city_id: string | null;
  proxy_login: string;
  password_hash: string;
  rotation_token_hash: string;
  rotation_token_sealed: string;
  os_fingerprint: string;
  status: 'active' | 'deleted';
  expires_at: Date | string;
  created_at: Date | string;
  deleted_at: Date | string | null;
  rotation_enabled: boolean;
  rotation_interval_seconds: number;
  match_carrier: boolean;
  match_city: boolean;
  last_rotated_at: Date | string | null;
  rotation_count: number;
  used_bytes: bigint | string;
  credentials_changed_at: Date | string;
}

export const accountPortsProjection: Projection = {
  name: 'account-ports',
  eventTypes: ['AccountPortCreated', 'AccountPortDeleted', 'AccountPortCredentialsChanged', 'AccountPortFingerprintSet', 'AccountPortReconfigured', 'AccountPortRotationSettingsChanged', 'AccountPortRotated', 'AccountPortRotationFailed', 'TrafficMetered'],
  tables: ['account_ports'],
  migrations: [{
    id: 'account-ports/001-table',
    async up(db) {
      await sql`
        create table account_ports (
          port_id text primary key, account_id text not null, name text not null, display_name text not null, slot_type text not null,
          device_id text not null, country_code text not null, carrier_id text, city_id text,
          proxy_login text not null, password_hash text not null, rotation_token_hash text not null unique, rotation_token_sealed text not null,
          os_fingerprint text not null, status text not null, expires_at timestamptz not null, created_at timestamptz not null, deleted_at timestamptz,
          rotation_enabled boolean not null default false, rotation_interval_seconds int not null, match_carrier boolean not null default false,
          match_city boolean not null default false, last_rotated_at timestamptz, rotation_count int not null default 0,
          used_bytes bigint not null default 0, credentials_changed_at timestamptz not null
        )`.execute(db);
      await sql`create index account_ports_account on account_ports (account_id, created_at)`.execute(db);
      await sql`create index account_ports_login on account_ports (proxy_login) where status = 'active'`.execute(db);
      await sql`create index account_ports_due on account_ports (status, rotation_enabled)`.execute(db);
    },
  }],
  async apply(trx, events) {
    for (const event of events) await applyOne(trx, event);
  },
};

async function applyOne(trx: Db, event: RecordedEvent): Promise<void> {
  if (event.type === 'TrafficMetered') {
    const d = (event as unknown as TrafficMetered).data;
    if ((d.accountKind as string) !== 'aport') return;
    await trx.updateTable('account_ports').set({ used_bytes: sql`used_bytes + ${d.bytesUp}::bigint + ${d.bytesDown}::bigint` }).where('port_id', '=', d.accountId).execute();
    return;
  }
  const e = event as RecordedEvent & AccountPortEvent;
  const set = (values: Record<string, unknown>) => trx.updateTable('account_ports').set(values).where('port_id', '=', e.data.portId).execute();
  switch (e.type) {
    case 'AccountPortCreated': {
      const d = e.data;
      await trx.insertInto('account_ports').values({
        port_id: d.portId, account_id: d.accountId, name: d.name, display_name: d.displayName, slot_type: d.slotType, device_id: d.deviceId,
        country_code: d.countryCode, carrier_id: d.carrierId, city_id: d.cityId, proxy_login: d.proxyLogin, password_hash: d.passwordHash,
        rotation_token_hash: d.rotationTokenHash, rotation_token_sealed: d.rotationTokenSealed, os_fingerprint: d.osFingerprint, status: 'active',
        expires_at: d.expiresAt, created_at: d.createdAt, rotation_interval_seconds: d.slotType === 'private' ? 60 : 300, credentials_changed_at: d.createdAt,
      }).execute();
      return;
    }
    case 'AccountPortDeleted': return void await set({ status: 'deleted', deleted_at: e.data.deletedAt });
    case 'AccountPortCredentialsChanged': return void await set({ proxy_login: e.data.proxyLogin, password_hash: e.data.passwordHash, credentials_changed_at: e.data.changedAt });
    case 'AccountPortFingerprintSet': return void await set({ os_fingerprint: e.data.osFingerprint });
    case 'AccountPortReconfigured': return void await set({ device_id: e.data.deviceId, country_code: e.data.countryCode, carrier_id: e.data.carrierId, city_id: e.data.cityId });
    case 'AccountPortRotationSettingsChanged':
      return void await set({ rotation_enabled: e.data.enabled, rotation_interval_seconds: e.data.intervalSeconds, match_carrier: e.data.matchCarrier, match_city: e.data.matchCity });
    case 'AccountPortRotated':
      return void await set({ device_id: e.data.toDeviceId, last_rotated_at: e.data.rotatedAt, rotation_count: sql`rotation_count + 1` });
    case 'AccountPortRotationFailed': return;
    default: return assertNever(e);
  }
}

export const findAccountPort = async (db: Db, portId: string) =>
  (await db.selectFrom('account_ports').selectAll().where('port_id', '=', portId).executeTakeFirst()) as AccountPortRow | undefined;

export const findAccountPortByLogin = async (db: Db, login: string) =>
  (await db.selectFrom('account_ports').selectAll().where('proxy_login', '=', login).where('status', '=', 'active').executeTakeFirst()) as AccountPortRow | undefined;

export const findAccountPortByRotationHash = async (db: Db, hash: string) =>
  (await db.selectFrom('account_ports').selectAll().where('rotation_token_hash', '=', hash).where('status', '=', 'active').executeTakeFirst()) as AccountPortRow | undefined;

export interface PortFilter { type?: 'shared' | 'private'; status?: 'active' | 'suspended' | 'expired'; countryCode?: string; carrierId?: string; limit: number; offset: number; suspended?: ReadonlySet<string> }

/** An account's live ports (deleted ones are gone from the list); `expired` = past expiresAt, not yet swept. */
export async function listAccountPorts(db: Db, accountId: string, f: PortFilter, now: Date) {
  let q = db.selectFrom('account_ports').where('account_id', '=', accountId).where('status', '=', 'active');
  if (f.type) q = q.where('slot_type', '=', f.type);
  const suspended = [...(f.suspended ?? [])];
  if (f.status === 'active') q = q.where('expires_at', '>', now);
  if (f.status === 'active' && suspended.length > 0) q = q.where('port_id', 'not in', suspended);
  if (f.status === 'expired') q = q.where('expires_at', '<=', now);
  if (f.status === 'suspended') q = suspended.length > 0 ? q.where('expires_at', '>', now).where('port_id', 'in', suspended) : q.where(sql<boolean>`false`);
  if (f.countryCode) q = q.where('country_code', '=', f.countryCode);
  if (f.carrierId) q = q.where('carrier_id', '=', f.carrierId);
  const [rows, total] = await Promise.all([
    q.selectAll().orderBy('created_at').orderBy('port_id').limit(f.limit).offset(f.offset).execute() as Promise<AccountPortRow[]>,
    q.select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: total.n };
}

export const countAccountPortsEver = async (db: Db, accountId: string) =>
  (await db.selectFrom('account_ports').select(sql<number>`count(*)::int`.as('n')).where('account_id', '=', accountId).executeTakeFirstOrThrow()).n;

/** Ports whose automatic rotation is due at `now`. */
export async function portsDueForRotation(db: Db, now: Date) {
  return (await db.selectFrom('account_ports').selectAll().where('status', '=', 'active').where('rotation_enabled', '=', true).where('expires_at', '>', now)
    .where(sql<boolean>`coalesce(last_rotated_at, created_at) + make_interval(secs => rotation_interval_seconds) <= ${now}`).limit(200).execute()) as AccountPortRow[];
}

export const portsPastExpiry = async (db: Db, now: Date) =>
  (await db.selectFrom('account_ports').selectAll().where('status', '=', 'active').where('expires_at', '<=', now).limit(200).execute()) as AccountPortRow[];
