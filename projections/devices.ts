import { sql } from 'kysely';
import type { Db } from '../adapters/db/database.ts';
import type { RecordedEvent } from '../adapters/eventstore/port.ts';
import { fleetEventTypes, type FleetEvent } from '../domain/fleet/events.ts';
import { assertNever } from '../domain/shared/errors.ts';
import type { Projection } from './projection.ts';

/** One row per device ever registered; what the fleet looks like now. */
export interface DeviceRow {
  device_id: string;
  name: string;
  country_code: string;
  carrier_name: string;
  carrier_brand: string;
  mcc: string | null;
  mnc: string | null;
  technology: string | null;
  region: string | null;
  city: string | null;
  /** Stored form: the password sealed (open it with src/fleet/secrets.ts, in memory only). */
  upstream: string;
  /** Sealed; null when the device has no IP-reset endpoint. */
  reset_url: string | null;
  reset_endpoint: string | null;
  slots: number;
  allocated_slots: number;
  /** Ports of the private tier on it (0 or 1): a private port holds the whole device. */
  private_ports: number;
  tier_shared: boolean;
  tier_private: boolean;
  status: 'active' | 'retired';
  online: boolean;
  latency_ms: number | null;
  ip: string | null;
  health_reports: bigint;
  last_health_at: string | null;
  registered_at: string;
  retired_at: string | null;
}

export const devicesProjection: Projection = {
  name: 'devices',
  eventTypes: fleetEventTypes,
  tables: ['fleet_devices', 'fleet_slots'],
  migrations: [
    {
      id: 'devices/001-fleet-devices',
      async up(db) {
        await sql`
          create table fleet_devices (
            device_id text primary key,
            name text not null,
            country_code text not null,
            carrier_name text not null,
            carrier_brand text not null,
            mcc text, mnc text, technology text,
            region text, city text,
            upstream text not null,
            slots int not null,
            allocated_slots int not null default 0,
            tier_shared boolean not null,
            tier_private boolean not null,
            status text not null,
            online boolean not null,
            latency_ms int, ip text,
            health_reports bigint not null default 0,
            last_health_at timestamptz,
            registered_at timestamptz not null,
            retired_at timestamptz
          )`.execute(db);
        await sql`create index fleet_devices_country on fleet_devices (country_code, status)`.execute(db);
      },
    },
    {
      id: 'devices/002-fleet-slots',
      async up(db) {
        // who holds which slot: lets the worker find slots whose port never made it into a session
        await sql`create table fleet_slots (device_id text not null, port_id text not null, session_id text not null, allocated_at timestamptz not null, primary key (device_id, port_id))`.execute(db);
      },
    },
    {
      id: 'devices/003-private-reset-holders',
      async up(db) {
        await sql`alter table fleet_devices add column reset_url text, add column reset_endpoint text, add column private_ports int not null default 0`.execute(db);
        await sql`alter table fleet_slots add column tier text not null default 'shared', add column holder_kind text not null default 'session'`.execute(db);
        await sql`create index fleet_devices_listing on fleet_devices (registered_at, device_id)`.execute(db);
      },
    },
  ],

  // Folds the whole batch in memory and writes each touched device once: rebuilds stay fast. A device whose
  // events in the batch are all slot events changes only in allocated_slots: one update, without reading it
  // first (a purchase's batch, the common case).
  async apply(trx, events) {
    const { counted, folded } = splitSlotOnly(events);
    for (const [delta, devices] of counted) {
      await trx.updateTable('fleet_devices').set({ allocated_slots: sql`allocated_slots + ${delta}` }).where('device_id', 'in', devices).execute();
    }
    const ids = [...new Set(folded.map(deviceOf))];
    const existing = ids.length === 0 ? [] : (await trx.selectFrom('fleet_devices').selectAll().where('device_id', 'in', ids).execute()) as DeviceRow[];
    const rows = new Map(existing.map((r) => [r.device_id, r]));
    for (const event of folded) {
      const next = evolveRow(rows.get(deviceOf(event)), event as RecordedEvent & FleetEvent);
      if (next) rows.set(next.device_id, next);
    }
    const touched = ids.map((id) => rows.get(id)).filter((r): r is DeviceRow => r !== undefined);
    if (touched.length > 0) {
      await trx
        .insertInto('fleet_devices')
        .values(touched.map(({ private_ports: _counted, ...r }) => ({ ...r, health_reports: r.health_reports.toString() })))
        .onConflict((oc) => oc.column('device_id').doUpdateSet(Object.fromEntries(COLUMNS.map((c) => [c, sql.ref(`excluded.${c}`)]))))
        .execute();
    }
    const privateChanged = await applySlots(trx, events);
    if (privateChanged.length > 0) {
      // counted from the slots themselves: a shared purchase, the common case, costs no statement here
      await trx.updateTable('fleet_devices')
        .set({ private_ports: sql`(select count(*)::int from fleet_slots s where s.device_id = fleet_devices.device_id and s.tier = 'private')` })
        .where('device_id', 'in', privateChanged).execute();
    }
  },
};

const deviceOf = (e: RecordedEvent) => (e.data as { deviceId: string }).deviceId;
const isSlotEvent = (e: RecordedEvent) => e.type === 'DeviceSlotAllocated' || e.type === 'DeviceSlotReleased';

/** The devices that only took or gave back slots in this batch, by net change (devices grouped per change), and the events of the others. */
function splitSlotOnly(events: RecordedEvent[]): { counted: Map<number, string[]>; folded: RecordedEvent[] } {
  const folds = new Set(events.filter((e) => !isSlotEvent(e)).map(deviceOf));
  const net = new Map<string, number>();
  for (const e of events) {
    if (folds.has(deviceOf(e))) continue;
    net.set(deviceOf(e), (net.get(deviceOf(e)) ?? 0) + (e.type === 'DeviceSlotAllocated' ? 1 : -1));
  }
  const counted = new Map<number, string[]>();
  for (const [device, delta] of net) if (delta !== 0) counted.set(delta, [...(counted.get(delta) ?? []), device]);
  return { counted, folded: events.filter((e) => folds.has(deviceOf(e))) };
}

/** Writes the slots of the batch's allocations and releases; returns the devices whose private ports changed. */
async function applySlots(trx: Db, events: RecordedEvent[]): Promise<string[]> {
  const devices = new Set<string>();
  for (const event of events as unknown as FleetEvent[]) {
    if (event.type === 'DeviceSlotAllocated') {
      const { deviceId, portId, sessionId, allocatedAt } = event.data;
      const tier = event.data.tier ?? 'shared';
      if (tier === 'private') devices.add(deviceId);
      await trx.insertInto('fleet_slots').values({
        device_id: deviceId, port_id: portId, session_id: sessionId, allocated_at: allocatedAt,
        tier, holder_kind: event.data.holderKind ?? 'session',
      }).execute();
    } else if (event.type === 'DeviceSlotReleased') {
      const released = await trx.deleteFrom('fleet_slots').where('device_id', '=', event.data.deviceId).where('port_id', '=', event.data.portId).returning('tier').execute();
      if (released.some((r) => r.tier === 'private')) devices.add(event.data.deviceId);
    }
  }
  return [...devices];
}

const COLUMNS = [
  'name', 'country_code', 'carrier_name', 'carrier_brand', 'mcc', 'mnc', 'technology', 'region', 'city', 'upstream', 'reset_url', 'reset_endpoint', 'slots',
  'allocated_slots', 'tier_shared', 'tier_private', 'status', 'online', 'latency_ms', 'ip', 'health_reports', 'last_health_at',
  'registered_at', 'retired_at',
] as const;

function evolveRow(row: DeviceRow | undefined, event: RecordedEvent & FleetEvent): DeviceRow | undefined {
  switch (event.type) {
    case 'DeviceRegistered': {
      const d = event.data;
      return {
        device_id: d.deviceId,
        name: d.name,
        country_code: d.countryCode,
        carrier_name: d.carrier.name,
        carrier_brand: d.carrier.brand,
        mcc: d.carrier.mcc ?? null,
        mnc: d.carrier.mnc ?? null,
        technology: d.carrier.technology ?? null,
        region: d.region,
        city: d.city,
        upstream: d.upstream,
        reset_url: d.resetUrl ?? null,
        reset_endpoint: d.resetEndpoint ?? null,
        slots: d.slots,
        allocated_slots: 0,
        private_ports: 0,
        tier_shared: d.tiers.includes('shared'),
        tier_private: d.tiers.includes('private'),
        status: 'active',
        online: true,
        latency_ms: null,
        ip: null,
        health_reports: 0n,
        last_health_at: null,
        registered_at: d.registeredAt,
        retired_at: null,
      };
    }
    case 'DeviceHealthReported':
      if (!row) return undefined;
      return {
        ...row,
        online: event.data.online,
        latency_ms: event.data.latencyMs,
        ip: event.data.ip ?? row.ip,
        health_reports: BigInt(row.health_reports) + 1n,
        last_health_at: event.data.reportedAt,
      };
    case 'DeviceRetired':
      if (!row) return undefined;
      return { ...row, status: 'retired', online: false, retired_at: event.data.retiredAt };
    case 'DeviceSlotAllocated':
      return row && { ...row, allocated_slots: row.allocated_slots + 1 };
    case 'DeviceSlotReleased':
      return row && { ...row, allocated_slots: row.allocated_slots - 1 };
    case 'DeviceSecretsResealed':
      return row && { ...row, upstream: event.data.upstream, reset_url: event.data.resetUrl };
    default:
      return assertNever(event);
  }
}

/**
 * Free capacity right now, per tier: active and online; a shared port needs a free slot on a device no
 * private port holds; a private port needs an idle device (it holds the whole device).
 */
const availableShared = sql<boolean>`(status = 'active' and online and tier_shared and private_ports = 0 and allocated_slots < slots)`;
const availablePrivate = sql<boolean>`(status = 'active' and online and tier_private and allocated_slots = 0)`;
const availableFor = (tier?: 'shared' | 'private') =>
  tier === 'shared' ? availableShared : tier === 'private' ? availablePrivate : sql<boolean>`(${availableShared} or ${availablePrivate})`;

export interface CountryAvailability {
  code: string;
  availableDevices: number;
  shared: boolean;
  private: boolean;
}

export async function countryAvailability(db: Db, tier?: 'shared' | 'private'): Promise<CountryAvailability[]> {
  const query = db
    .selectFrom('fleet_devices')
    .select([
      'country_code as code',
      sql<number>`count(*)::int`.as('availableDevices'),
      sql<boolean>`bool_or(${availableShared})`.as('shared'),
      sql<boolean>`bool_or(${availablePrivate})`.as('private'),
    ])
    .where(availableFor(tier))
    .groupBy('country_code')
    .orderBy(sql`count(*)`, 'desc')
    .orderBy('country_code');
  return (await query.execute()) as CountryAvailability[];
}

export interface CarrierAvailability {
  name: string;
  brand: string;
  mcc: string | null;
  mnc: string | null;
  technology: string | null;
  freeDeviceCount: number;
}

export async function carrierAvailability(db: Db, countryCode: string): Promise<CarrierAvailability[]> {
  return (await db
    .selectFrom('fleet_devices')
    .select([
      'carrier_name as name',
      sql<string>`min(carrier_brand)`.as('brand'),
      sql<string | null>`min(mcc)`.as('mcc'),
      sql<string | null>`min(mnc)`.as('mnc'),
      sql<string | null>`min(technology)`.as('technology'),
      sql<number>`count(*) filter (where ${availableFor()})::int`.as('freeDeviceCount'),
    ])
    .where('country_code', '=', countryCode)
    .where('status', '=', 'active')
    .groupBy('carrier_name')
    .orderBy('carrier_name')
    .execute()) as CarrierAvailability[];
}

export async function findDevice(db: Db, deviceId: string): Promise<DeviceRow | undefined> {
  return (await db.selectFrom('fleet_devices').selectAll().where('device_id', '=', deviceId).executeTakeFirst()) as DeviceRow | undefined;
}

export interface FreeDevice {
  device_id: string;
  country_code: string;
  carrier_name: string;
  free: number;
}

/** Devices with a free slot for a tier, the emptiest and fastest first; the device stream has the final word. */
export async function freeDevices(
  db: Db,
  { countryCode, carrier, tier, exclude = [] }: { countryCode: string; carrier?: string | null; tier: 'shared' | 'private'; exclude?: string[] },
): Promise<FreeDevice[]> {
  let query = db
    .selectFrom('fleet_devices')
    .select(['device_id', 'country_code', 'carrier_name', sql<number>`slots - allocated_slots`.as('free')])
    .where(availableFor(tier))
    .where('country_code', '=', countryCode);
  if (carrier) query = query.where((eb) => eb.or([eb(sql`lower(carrier_name)`, '=', carrier.toLowerCase()), eb(sql`lower(carrier_brand)`, '=', carrier.toLowerCase())]));
  if (exclude.length > 0) query = query.where('device_id', 'not in', exclude);
  return (await query.orderBy(sql`slots - allocated_slots`, 'desc').orderBy(sql`latency_ms asc nulls last`).orderBy('device_id').limit(20).execute()) as FreeDevice[];
}

export async function slotHolders(db: Db, allocatedBefore: Date) {
  return db.selectFrom('fleet_slots').selectAll().where('allocated_at', '<', allocatedBefore.toISOString()).limit(500).execute();
}

export interface CountryStock {
  /** Active devices of the tier in the country (and carrier). */
  devices: number;
  offline: number;
  /** Online, but no room for the tier (slots taken, or held by a private port). */
  full: number;
  free: number;
}

/** Why a country has no stock: no devices, all offline, or all full (NO_STOCK details). */
export async function countryStock(db: Db, { countryCode, carrier, tier, exclude = [] }: { countryCode: string; carrier?: string | null; tier: 'shared' | 'private'; exclude?: string[] }): Promise<CountryStock> {
  let query = db
    .selectFrom('fleet_devices')
    .select([
      sql<number>`count(*)::int`.as('devices'),
      sql<number>`count(*) filter (where not online)::int`.as('offline'),
      sql<number>`count(*) filter (where online and not ${availableFor(tier)})::int`.as('full'),
      sql<number>`count(*) filter (where ${availableFor(tier)})::int`.as('free'),
    ])
    .where('status', '=', 'active')
    .where('country_code', '=', countryCode)
    .where(tier === 'shared' ? 'tier_shared' : 'tier_private', '=', true);
  if (carrier) query = query.where((eb) => eb.or([eb(sql`lower(carrier_name)`, '=', carrier.toLowerCase()), eb(sql`lower(carrier_brand)`, '=', carrier.toLowerCase())]));
  if (exclude.length > 0) query = query.where('device_id', 'not in', exclude);
  return (await query.executeTakeFirstOrThrow()) as CountryStock;
}

/** NO_STOCK in words and details: whether the country's devices are full, offline, or missing. */
export function describeStock(stock: CountryStock): { reason: 'no_devices' | 'offline' | 'full' | 'full_or_offline'; summary: string } {
  if (stock.devices === 0) return { reason: 'no_devices', summary: 'there is no such device' };
  if (stock.offline === stock.devices) return { reason: 'offline', summary: `all ${stock.devices} of its devices are offline` };
  if (stock.offline === 0) return { reason: 'full', summary: `all ${stock.devices} of its devices are full` };
  return { reason: 'full_or_offline', summary: `of its ${stock.devices} devices ${stock.full} are full and ${stock.offline} offline` };
}

export interface CityAvailability {
  name: string;
  region: string | null;
  freeDeviceCount: number;
}

/** Cities of a country that have active devices (null cities left out), with how many are free now. */
export async function cityAvailability(db: Db, countryCode: string): Promise<CityAvailability[]> {
  return (await db
    .selectFrom('fleet_devices')
    .select(['city as name', sql<string | null>`min(region)`.as('region'), sql<number>`count(*) filter (where ${availableFor()})::int`.as('freeDeviceCount')])
    .where('country_code', '=', countryCode)
    .where('status', '=', 'active')
    .where('city', 'is not', null)
    .groupBy('city')
    .orderBy('city')
    .execute()) as CityAvailability[];
}

export interface DeviceListQuery {
  countryCode?: string | undefined;
  status?: 'online' | 'offline' | 'retired' | undefined;
  tier?: 'shared' | 'private' | undefined;
  /** true: room for a port of the tier (either tier without one); false: no room. */
  hasFreeSlots?: boolean | undefined;
  /** Device id to continue after (keyset pagination in id order; ids are time-ordered UUIDv7). */
  after?: string | undefined;
  limit: number;
}

export interface SlotRow {
  device_id: string;
  port_id: string;
  session_id: string;
  holder_kind: 'session' | 'account';
  tier: 'shared' | 'private';
  allocated_at: Date | string;
}

/** The operators' device list: one page, and the slots its devices hold. */
export async function listDevices(db: Db, q: DeviceListQuery): Promise<{ devices: DeviceRow[]; slots: SlotRow[]; more: boolean }> {
  let query = db.selectFrom('fleet_devices').selectAll();
  if (q.countryCode) query = query.where('country_code', '=', q.countryCode);
  if (q.status === 'retired') query = query.where('status', '=', 'retired');
  else if (q.status) query = query.where('status', '=', 'active').where('online', '=', q.status === 'online');
  if (q.tier) query = query.where(q.tier === 'shared' ? 'tier_shared' : 'tier_private', '=', true);
  if (q.hasFreeSlots !== undefined) query = query.where(q.hasFreeSlots ? availableFor(q.tier) : sql<boolean>`not ${availableFor(q.tier)}`);
  if (q.after) query = query.where('device_id', '>', q.after);
  const rows = (await query.orderBy('device_id').limit(q.limit + 1).execute()) as DeviceRow[];
  const devices = rows.slice(0, q.limit);
  const slots = devices.length === 0 ? [] : (await db.selectFrom('fleet_slots').selectAll().where('device_id', 'in', devices.map((d) => d.device_id)).orderBy('allocated_at').execute()) as SlotRow[];
  return { devices, slots, more: rows.length > q.limit };
}
