import { sql } from 'kysely';
import type { Db } from '../adapters/db/database.ts';
import type { RecordedEvent } from '../adapters/eventstore/port.ts';
import type { DeviceHealthReported, DeviceRegistered, DeviceRetired } from '../domain/fleet/events.ts';
import { assertNever } from '../domain/shared/errors.ts';
import type { Projection } from './projection.ts';

/**
 * What the pool can sell now, and where it was down: per device its pool, country, carrier and
 * whether it is online; per offline stretch of a device, when it started and ended (the incidents feed).
 * The `mbl` pool is every active shared-tier modem; `peer` devices arrive with the peers issue.
 */
export interface StockDeviceRow {
  device_id: string;
  pool: 'mbl' | 'peer';
  country_code: string;
  carrier: string;
  online: boolean;
  active: boolean;
}

export interface OfflineSpanRow {
  device_id: string;
  country_code: string;
  carrier: string;
  started_at: Date | string;
  ended_at: Date | string | null;
}

type StockEvent = DeviceRegistered | DeviceHealthReported | DeviceRetired;

export const poolStockProjection: Projection = {
  name: 'pool-stock',
  eventTypes: ['DeviceRegistered', 'DeviceHealthReported', 'DeviceRetired'],
  tables: ['pool_stock_devices', 'pool_offline_spans'],
  migrations: [{
    id: 'pool-stock/001-tables',
    async up(db) {
      await sql`
        create table pool_stock_devices (
          device_id text primary key, pool text not null, country_code text not null, carrier text not null,
          online boolean not null, active boolean not null
        )`.execute(db);
      await sql`
        create table pool_offline_spans (
          device_id text not null, country_code text not null, carrier text not null,
          started_at timestamptz not null, ended_at timestamptz, primary key (device_id, started_at)
        )`.execute(db);
      await sql`create index pool_offline_spans_open on pool_offline_spans (ended_at, started_at)`.execute(db);
    },
  }],
  async apply(trx, events) {
    for (const event of events) await applyOne(trx, event as RecordedEvent & StockEvent);
  },
};

async function applyOne(trx: Db, e: RecordedEvent & StockEvent): Promise<void> {
  const device = async () => (await trx.selectFrom('pool_stock_devices').selectAll().where('device_id', '=', e.data.deviceId).executeTakeFirst()) as StockDeviceRow | undefined;
  const closeSpan = (at: string) => trx.updateTable('pool_offline_spans').set({ ended_at: at }).where('device_id', '=', e.data.deviceId).where('ended_at', 'is', null).execute();
  switch (e.type) {
    case 'DeviceRegistered': {
      const d = e.data;
      if (!d.tiers.includes('shared')) return; // private-only modems are not pool stock
      await trx.insertInto('pool_stock_devices').values({ device_id: d.deviceId, pool: 'mbl', country_code: d.countryCode, carrier: d.carrier.name, online: true, active: true })
        .onConflict((oc) => oc.column('device_id').doNothing()).execute();
      return;
    }
    case 'DeviceHealthReported': {
      const row = await device();
      if (!row || !row.active || row.online === e.data.online) return;
      await trx.updateTable('pool_stock_devices').set({ online: e.data.online }).where('device_id', '=', row.device_id).execute();
      if (!e.data.online) {
        await trx.insertInto('pool_offline_spans').values({ device_id: row.device_id, country_code: row.country_code, carrier: row.carrier, started_at: e.data.reportedAt, ended_at: null })
          .onConflict((oc) => oc.columns(['device_id', 'started_at']).doNothing()).execute();
      } else {
        await closeSpan(e.data.reportedAt);
      }
      return;
    }
    case 'DeviceRetired':
      await trx.updateTable('pool_stock_devices').set({ active: false, online: false }).where('device_id', '=', e.data.deviceId).execute();
      await closeSpan(e.data.retiredAt);
      return;
    default:
      return assertNever(e);
  }
}

/** Online devices per pool and country. */
export const stockCounts = async (db: Db) =>
  (await db.selectFrom('pool_stock_devices').select(['pool', 'country_code', sql<number>`count(*)::int`.as('online')])
    .where('active', '=', true).where('online', '=', true).groupBy(['pool', 'country_code']).orderBy('country_code').execute()) as Array<{ pool: 'mbl' | 'peer'; country_code: string; online: number }>;

/** Per country: devices and online devices (a country with most of its modems down is degraded). */
export const countryHealth = async (db: Db) =>
  (await db.selectFrom('pool_stock_devices').select(['country_code', sql<number>`count(*)::int`.as('total'), sql<number>`count(*) filter (where online)::int`.as('online')])
    .where('active', '=', true).groupBy('country_code').execute()) as Array<{ country_code: string; total: number; online: number }>;

/** Offline stretches still open, or ended after `since`. */
export const offlineSpans = async (db: Db, since: Date) =>
  (await db.selectFrom('pool_offline_spans').selectAll()
    .where((eb) => eb.or([eb('ended_at', 'is', null), eb('ended_at', '>=', since)]))
    .orderBy('started_at', 'desc').limit(200).execute()) as OfflineSpanRow[];
