import { sql } from 'kysely';
import type { Db } from '../adapters/db/database.ts';
import type { RecordedEvent } from '../adapters/eventstore/port.ts';
import type { AccountEvent, SlotType } from '../domain/accounts/events.ts';
import { expiringNotice, LOW_TRAFFIC_SHARE, notificationId, portNotice, trafficNotice, type NotificationText } from '../domain/accounts/notifications.ts';
import type { DeviceHealthReported } from '../domain/fleet/events.ts';
import type { AccountPortEvent } from '../domain/ports/events.ts';
import { assertNever } from '../domain/shared/errors.ts';
import type { TrafficMetered } from '../domain/traffic/metered.ts';
import type { Projection } from './projection.ts';

/**
 * Account notifications, raised by events (domain/accounts/notifications.ts). The read model keeps what
 * it needs to decide them in its own tables: each port's device, each device's last reported state, and
 * each account's bought and used traffic per slot type with the warnings already given. Read and deleted
 * notifications are marked (not removed), so a deleted one is never raised again.
 */
export interface NotificationRow {
  notification_id: string; account_id: string; kind: string; severity: string; category: string; title: string; message: string;
  entity_type: string | null; entity_id: string | null; metadata: Record<string, unknown>; position: string;
  created_at: Date | string; read_at: Date | string | null; deleted_at: Date | string | null;
}

type Handled =
  | Extract<AccountEvent, { type: 'AccountTrafficPurchased' | 'AccountSlotsExpiring' | 'AccountNotificationsRead' | 'AccountNotificationDeleted' }>
  | Extract<AccountPortEvent, { type: 'AccountPortCreated' | 'AccountPortReconfigured' | 'AccountPortRotated' | 'AccountPortDeleted' }>
  | DeviceHealthReported | TrafficMetered;

const types = ['AccountTrafficPurchased', 'AccountSlotsExpiring', 'AccountNotificationsRead', 'AccountNotificationDeleted',
  'AccountPortCreated', 'AccountPortReconfigured', 'AccountPortRotated', 'AccountPortDeleted', 'DeviceHealthReported', 'TrafficMetered'] as const satisfies readonly Handled['type'][];

export const accountNotificationsProjection: Projection = {
  name: 'account-notifications',
  eventTypes: types,
  tables: ['account_notifications', 'account_notice_ports', 'account_notice_devices', 'account_notice_traffic'],
  migrations: [{
    id: 'account-notifications/001-tables',
    async up(db) {
      await sql`
        create table account_notifications (
          notification_id text primary key, account_id text not null, kind text not null, severity text not null, category text not null,
          title text not null, message text not null, entity_type text, entity_id text, metadata jsonb not null, position numeric(40) not null,
          created_at timestamptz not null, read_at timestamptz, deleted_at timestamptz
        )`.execute(db);
      await sql`create index account_notifications_account on account_notifications (account_id, position desc)`.execute(db);
      await sql`create index account_notifications_entity on account_notifications (entity_id, kind)`.execute(db);
      await sql`create table account_notice_ports (port_id text primary key, account_id text not null, display_name text not null, slot_type text not null, device_id text not null, active boolean not null)`.execute(db);
      await sql`create index account_notice_ports_device on account_notice_ports (device_id) where active`.execute(db);
      await sql`create table account_notice_devices (device_id text primary key, online boolean not null)`.execute(db);
      await sql`
        create table account_notice_traffic (
          account_id text not null, slot_type text not null, purchased_bytes bigint not null default 0, used_bytes bigint not null default 0,
          low_sent boolean not null default false, empty_sent boolean not null default false, primary key (account_id, slot_type)
        )`.execute(db);
    },
  }],
  async apply(trx, events) {
    // Health reports are most of the fleet's events: device states are read once per batch, kept in memory
    // through it and written once at its end (rebuild speed); everything else applies in order, one by one.
    const reports = events.filter((e): e is RecordedEvent & DeviceHealthReported => e.type === 'DeviceHealthReported');
    const ids = [...new Set(reports.map((e) => e.data.deviceId))];
    const online = new Map<string, boolean>();
    if (ids.length > 0) {
      const rows = await trx.selectFrom('account_notice_devices').select(['device_id', 'online']).where('device_id', 'in', ids).execute();
      for (const r of rows) online.set(r.device_id as string, r.online as boolean);
    }
    const touched = new Set<string>();
    const ports = await portsOfFlipping(trx, reports, online);
    for (const event of events) {
      const e = event as RecordedEvent & Handled;
      if (e.type === 'DeviceHealthReported') await deviceReported(trx, e, online, touched, ports);
      else {
        // a port moved: the ports read ahead of the batch may be stale from here on
        if (e.type.startsWith('AccountPort')) ports.clear();
        await applyOne(trx, e);
      }
    }
    if (touched.size > 0) {
      await trx.insertInto('account_notice_devices').values([...touched].map((id) => ({ device_id: id, online: online.get(id)! })))
        .onConflict((oc) => oc.column('device_id').doUpdateSet({ online: sql.ref('excluded.online') })).execute();
    }
  },
};

async function raise(trx: Db, e: RecordedEvent, accountId: string, subject: string, text: NotificationText, at: string, entity: { type: string; id: string } | null, metadata: Record<string, unknown>) {
  await trx.insertInto('account_notifications').values({
    notification_id: notificationId(e.id, subject), account_id: accountId, kind: text.kind, severity: text.severity, category: text.category,
    title: text.title, message: text.message, entity_type: entity?.type ?? null, entity_id: entity?.id ?? null, metadata: JSON.stringify(metadata),
    position: e.position.toString(), created_at: at,
  }).onConflict((oc) => oc.column('notification_id').doNothing()).execute();
}

/** Bought or used traffic moved: warn once when it falls under the low share, once when it runs out; a purchase re-arms both. */
async function trafficMoved(trx: Db, e: RecordedEvent, accountId: string, slotType: SlotType, delta: { purchased?: string; used?: string }, at: string) {
  const row = await trx.insertInto('account_notice_traffic').values({ account_id: accountId, slot_type: slotType, purchased_bytes: delta.purchased ?? '0', used_bytes: delta.used ?? '0' })
    .onConflict((oc) => oc.columns(['account_id', 'slot_type']).doUpdateSet({
      purchased_bytes: sql`account_notice_traffic.purchased_bytes + excluded.purchased_bytes`, used_bytes: sql`account_notice_traffic.used_bytes + excluded.used_bytes`,
    }))
    .returning(['purchased_bytes', 'used_bytes', 'low_sent', 'empty_sent']).executeTakeFirstOrThrow();
  const purchased = BigInt(row.purchased_bytes as string), used = BigInt(row.used_bytes as string);
  const available = purchased > used ? purchased - used : 0n;
  const low = purchased > 0n && Number(available) < Number(purchased) * LOW_TRAFFIC_SHARE;
  const empty = purchased > 0n && available === 0n;
  let lowSent = row.low_sent as boolean, emptySent = row.empty_sent as boolean;
  if (!low) lowSent = false;
  if (!empty) emptySent = false;
  if (empty && !emptySent) {
    await raise(trx, e, accountId, `traffic_exhausted:${slotType}`, trafficNotice('traffic_exhausted', slotType, available, purchased), at, null, { slotType, purchasedBytes: purchased.toString(), usedBytes: used.toString() });
    emptySent = lowSent = true; // out of traffic says more than low traffic
  } else if (low && !lowSent) {
    await raise(trx, e, accountId, `low_traffic:${slotType}`, trafficNotice('low_traffic', slotType, available, purchased), at, null, { slotType, purchasedBytes: purchased.toString(), usedBytes: used.toString(), availableBytes: available.toString() });
    lowSent = true;
  }
  if (lowSent !== row.low_sent || emptySent !== row.empty_sent) {
    await trx.updateTable('account_notice_traffic').set({ low_sent: lowSent, empty_sent: emptySent }).where('account_id', '=', accountId).where('slot_type', '=', slotType).execute();
  }
}

/** A change of state only: offline after online, back online after offline (the first report of a device is its baseline). */
type NoticePort = { port_id: string; account_id: string; display_name: string };

/**
 * The active ports of every device whose reports flip its online state in this batch, in one query (a
 * flapping fleet must not cost a query per report). Devices missing from the map are read when needed.
 */
async function portsOfFlipping(trx: Db, reports: ReadonlyArray<RecordedEvent & DeviceHealthReported>, online: ReadonlyMap<string, boolean>): Promise<Map<string, NoticePort[]>> {
  const state = new Map(online);
  const flipping = new Set<string>();
  for (const { data: d } of reports) {
    const before = state.get(d.deviceId);
    if (before !== undefined && before !== d.online) flipping.add(d.deviceId);
    state.set(d.deviceId, d.online);
  }
  return activePorts(trx, [...flipping]);
}

/** The active ports of these devices, each device's by port id (every device asked for has an entry). */
async function activePorts(trx: Db, deviceIds: string[]): Promise<Map<string, NoticePort[]>> {
  const ports = new Map<string, NoticePort[]>(deviceIds.map((id) => [id, []]));
  if (deviceIds.length === 0) return ports;
  const rows = await trx.selectFrom('account_notice_ports').select(['device_id', 'port_id', 'account_id', 'display_name'])
    .where('device_id', 'in', deviceIds).where('active', '=', true).orderBy('port_id').execute();
  for (const r of rows) ports.get(r.device_id as string)!.push(r as NoticePort);
  return ports;
}

async function deviceReported(trx: Db, e: RecordedEvent & DeviceHealthReported, online: Map<string, boolean>, touched: Set<string>, portsAhead: Map<string, NoticePort[]>): Promise<void> {
  const d = e.data;
  const before = online.get(d.deviceId);
  online.set(d.deviceId, d.online);
  touched.add(d.deviceId);
  if (before === undefined || before === d.online) return;
  const ports = portsAhead.get(d.deviceId) ?? (await activePorts(trx, [d.deviceId])).get(d.deviceId)!;
  for (const p of ports) {
    await raise(trx, e, p.account_id, `${d.online ? 'port_online' : 'port_offline'}:${p.port_id}`, portNotice(d.online, p.display_name), d.reportedAt, { type: 'Port', id: p.port_id }, { deviceId: d.deviceId, portId: p.port_id });
  }
}

async function applyOne(trx: Db, e: RecordedEvent & Exclude<Handled, DeviceHealthReported>): Promise<void> {
  const port = (portId: string, values: Record<string, unknown>) => trx.updateTable('account_notice_ports').set(values).where('port_id', '=', portId).execute();
  switch (e.type) {
    case 'AccountTrafficPurchased':
      return trafficMoved(trx, e, e.data.accountId, e.data.slotType, { purchased: e.data.bytes }, e.data.purchasedAt);
    case 'TrafficMetered': {
      const d = e.data;
      const bytes = (BigInt(d.bytesUp) + BigInt(d.bytesDown)).toString();
      if (d.accountKind === 'apool') return trafficMoved(trx, e, d.accountId, 'shared', { used: bytes }, d.to);
      if (d.accountKind === 'pak') return d.payerAccountId ? trafficMoved(trx, e, d.payerAccountId, 'shared', { used: bytes }, d.to) : undefined;
      if (d.accountKind !== 'aport') return;
      const p = await trx.selectFrom('account_notice_ports').select(['account_id', 'slot_type']).where('port_id', '=', d.accountId).executeTakeFirst();
      if (p) await trafficMoved(trx, e, p.account_id as string, p.slot_type as SlotType, { used: bytes }, d.to);
      return;
    }
    case 'AccountSlotsExpiring': {
      const d = e.data;
      return raise(trx, e, d.accountId, `expiring_slots:${d.purchaseId}`, expiringNotice(d.slotType, d.quantity, d.expiresAt), d.warnedAt, { type: 'Purchase', id: d.purchaseId }, { slotType: d.slotType, quantity: d.quantity, expiresAt: d.expiresAt });
    }
    case 'AccountNotificationsRead': {
      let q = trx.updateTable('account_notifications').set({ read_at: e.data.readAt }).where('account_id', '=', e.data.accountId).where('read_at', 'is', null);
      if (!e.data.all) {
        if (e.data.notificationIds.length === 0) return;
        q = q.where('notification_id', 'in', e.data.notificationIds);
      }
      return void await q.execute();
    }
    case 'AccountNotificationDeleted':
      return void await trx.updateTable('account_notifications').set({ deleted_at: e.data.deletedAt })
        .where('account_id', '=', e.data.accountId).where('notification_id', '=', e.data.notificationId).where('deleted_at', 'is', null).execute();
    case 'AccountPortCreated': {
      const d = e.data;
      return void await trx.insertInto('account_notice_ports').values({ port_id: d.portId, account_id: d.accountId, display_name: d.displayName, slot_type: d.slotType, device_id: d.deviceId, active: true })
        .onConflict((oc) => oc.column('port_id').doNothing()).execute();
    }
    case 'AccountPortReconfigured': return void await port(e.data.portId, { device_id: e.data.deviceId });
    case 'AccountPortRotated': return void await port(e.data.portId, { device_id: e.data.toDeviceId });
    case 'AccountPortDeleted': return void await port(e.data.portId, { active: false });
    default:
      return assertNever(e);
  }
}

export interface NotificationQuery { limit: number; offset: number; unreadOnly: boolean }

/** Newest first; deleted ones are gone from the list. */
export async function listNotifications(db: Db, accountId: string, q: NotificationQuery) {
  const base = db.selectFrom('account_notifications').where('account_id', '=', accountId).where('deleted_at', 'is', null);
  const filtered = q.unreadOnly ? base.where('read_at', 'is', null) : base;
  const [rows, total, unread] = await Promise.all([
    filtered.selectAll().orderBy('position', 'desc').orderBy('notification_id').limit(q.limit).offset(q.offset).execute() as Promise<NotificationRow[]>,
    filtered.select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow(),
    base.where('read_at', 'is', null).select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: total.n, unread: unread.n };
}

export const findNotification = async (db: Db, accountId: string, notificationId: string) =>
  (await db.selectFrom('account_notifications').selectAll().where('account_id', '=', accountId).where('notification_id', '=', notificationId)
    .where('deleted_at', 'is', null).executeTakeFirst()) as NotificationRow | undefined;

export const countUnread = async (db: Db, accountId: string) =>
  (await db.selectFrom('account_notifications').select(sql<number>`count(*)::int`.as('n')).where('account_id', '=', accountId).where('deleted_at', 'is', null).where('read_at', 'is', null).executeTakeFirstOrThrow()).n;

/** Slot purchases of any account that expire within the window and were not warned yet (the worker warns them). */
export async function slotLotsToWarn(db: Db, now: Date, withinMs: number) {
  return db.selectFrom('account_slot_lots as l').select(['l.account_id', 'l.purchase_id'])
    .where('l.expires_at', '>', now).where('l.expires_at', '<=', new Date(now.getTime() + withinMs))
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('account_notifications as n').select('n.notification_id').whereRef('n.entity_id', '=', 'l.purchase_id').where('n.kind', '=', 'expiring_slots'))))
    .orderBy('l.expires_at').limit(200).execute() as Promise<Array<{ account_id: string; purchase_id: string }>>;
}
