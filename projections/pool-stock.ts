import { sql } from 'kysely';
import type { Db } from '../adapters/db/database.ts';
import type { RecordedEvent } from '../adapters/eventstore/port.ts';
import type { DeviceHealthReported, DeviceRegistered, DeviceRetired } from '../domain/fleet/events.ts';
import { assertNever } from '../domain/shared/errors.ts';
import { poolEligible } from './pool-scores.ts';
import type { Projection } from './projection.ts';

/**
 * Where the pool was down: per device its pool, country, carrier and whether it is online; per offline
 * stretch of a device, when it started and ended (the incidents feed). What the pool can sell now is not
 * this table but the gateway's own eligibility (poolEligible in pool-scores.ts: reported online, not held
 * privately), read by onlineModems below; the `peer` pool is the peers online now (presence,
 * src/peers/presence.ts), counted by src/reseller/endpoints.ts, not stored here.
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
    await applyBatch(trx, events as Array<RecordedEvent & StockEvent>);
  },
};

/** A device's offline stretch opened in this batch (closed in it too when `ended_at` is set). */
interface NewSpan { started_at: string; ended_at: string | null }
interface Folded { row: StockDeviceRow; dirty: boolean; closeStoredAt: string | null; spans: NewSpan[] }

/**
 * Folds the batch in memory and writes it in a handful of statements (rebuild speed: health reports are
 * most of the fleet's events). Same result as applying the events one by one: a stretch is opened when an
 * active, online device reports offline and closed when it reports online again or is retired.
 */
async function applyBatch(trx: Db, events: Array<RecordedEvent & StockEvent>): Promise<void> {
  const ids = [...new Set(events.map((e) => e.data.deviceId))];
  if (ids.length === 0) return;
  const stored = (await trx.selectFrom('pool_stock_devices').selectAll().where('device_id', 'in', ids).execute()) as StockDeviceRow[];
  const devices = new Map<string, Folded>(stored.map((row) => [row.device_id, { row, dirty: false, closeStoredAt: null, spans: [] }]));
  const closeSpans = (d: Folded, at: string) => {
    for (const span of d.spans) if (span.ended_at === null) span.ended_at = at;
    // Stretches opened before this batch: the first close ends them (as `update … where ended_at is null` would).
    if (d.closeStoredAt === null) d.closeStoredAt = at;
  };
  for (const e of events) {
    const d = devices.get(e.data.deviceId);
    switch (e.type) {
      case 'DeviceRegistered': {
        const r = e.data;
        if (d || !r.tiers.includes('shared')) break; // private-only modems are not pool stock
        devices.set(r.deviceId, { row: { device_id: r.deviceId, pool: 'mbl', country_code: r.countryCode, carrier: r.carrier.name, online: true, active: true }, dirty: true, closeStoredAt: null, spans: [] });
        break;
      }
      case 'DeviceHealthReported': {
        if (!d || !d.row.active || d.row.online === e.data.online) break;
        d.row.online = e.data.online;
        d.dirty = true;
        if (!e.data.online) {
          if (!d.spans.some((s) => s.started_at === e.data.reportedAt)) d.spans.push({ started_at: e.data.reportedAt, ended_at: null });
        } else closeSpans(d, e.data.reportedAt);
        break;
      }
      case 'DeviceRetired':
        if (!d) break;
        d.row.active = false;
        d.row.online = false;
        d.dirty = true;
        closeSpans(d, e.data.retiredAt);
        break;
      default:
        assertNever(e);
    }
  }
  const folded = [...devices.values()];
  const dirty = folded.filter((d) => d.dirty).map((d) => d.row);
  if (dirty.length > 0) {
    await trx.insertInto('pool_stock_devices').values(dirty)
      .onConflict((oc) => oc.column('device_id').doUpdateSet((eb) => ({ online: eb.ref('excluded.online'), active: eb.ref('excluded.active') })))
      .execute();
  }
  const closing = folded.filter((d) => d.closeStoredAt !== null);
  if (closing.length > 0) {
    await sql`
      update pool_offline_spans s set ended_at = v.at::timestamptz
      from (values ${sql.join(closing.map((d) => sql`(${d.row.device_id}, ${d.closeStoredAt})`))}) as v(device_id, at)
      where s.device_id = v.device_id and s.ended_at is null`.execute(trx);
  }
  const spans = folded.flatMap((d) => d.spans.map((s) => ({ device_id: d.row.device_id, country_code: d.row.country_code, carrier: d.row.carrier, ...s })));
  if (spans.length > 0) {
    await trx.insertInto('pool_offline_spans').values(spans)
      .onConflict((oc) => oc.columns(['device_id', 'started_at']).doNothing()).execute();
  }
}

/** Per country: devices and online devices (a country with most of its modems down is degraded). */
export const countryHealth = async (db: Db) =>
  (await db.selectFrom('pool_stock_devices').select(['country_code', sql<number>`count(*)::int`.as('total'), sql<number>`count(*) filter (where online)::int`.as('online')])
    .where('active', '=', true).groupBy('country_code').execute()) as Array<{ country_code: string; total: number; online: number }>;

/** Offline stretches still open, or ended after `since`. */
export const offlineSpans = async (db: Db, since: Date) =>
  (await db.selectFrom('pool_offline_spans').selectAll()
    .where((eb) => eb.or([eb('ended_at', 'is', null), eb('ended_at', '>=', since)]))
    .orderBy('started_at', 'desc').limit(200).execute()) as OfflineSpanRow[];

/** A pool modem the gateway would route to now (poolEligible), with where it is (city and region from the fleet's device record). */
export interface OnlineModemRow { device_id: string; country_code: string; carrier: string; city: string | null; region: string | null }

export const onlineModems = async (db: Db) =>
  (await poolEligible(db, 'shared').leftJoin('fleet_devices as d', 'd.device_id', 'pool_scores.device_id')
    .select(['pool_scores.device_id', 'pool_scores.country_code', 'pool_scores.carrier_name as carrier', 'd.city', 'd.region'])
    .execute()) as OnlineModemRow[];

/** Pool modems the gateway would route to now (poolEligible), per country: what the pool purchase may sell. */
export const onlineModemCounts = async (db: Db) =>
  (await poolEligible(db, 'shared').select(['pool_scores.country_code as code', sql<number>`count(*)::int`.as('onlineDevices')])
    .groupBy('pool_scores.country_code').orderBy('pool_scores.country_code').execute()) as Array<{ code: string; onlineDevices: number }>;

/** The network (ASN and its holder) the relay classified each of these peers on. */
export const peerNetworks = async (db: Db, deviceIds: string[]) =>
  deviceIds.length === 0 ? [] : (await db.selectFrom('peers').select(['device_id', 'asn', 'asn_org']).where('device_id', 'in', deviceIds).execute()) as Array<{ device_id: string; asn: number | null; asn_org: string | null }>;
