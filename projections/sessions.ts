import { sql } from 'kysely';
import type { Db } from '../adapters/db/database.ts';
import type { RecordedEvent } from '../adapters/eventstore/port.ts';
import type { PaymentClaimed } from '../domain/payments/claims.ts';
import { sessionEventTypes, type SessionEvent } from '../domain/sessions/events.ts';
import { assertNever } from '../domain/shared/errors.ts';
import type { TrafficMetered } from '../domain/traffic/metered.ts';
import type { Projection } from './projection.ts';

/**
 * x402 sessions, their ports and their payments; the session's traffic balance lives here too
 * (traffic_bytes bought, traffic_used_bytes metered by the gateway).
 */
export interface SessionRow {
  session_id: string;
  token_hash: string;
  tier: 'shared' | 'private';
  country_code: string;
  carrier: string | null;
  traffic_bytes: bigint;
  traffic_used_bytes: bigint;
  duration_seconds: number;
  expires_at: Date | string;
  status: 'active' | 'expired';
  payer: string;
  network: string;
  transaction: string;
  amount_micro: bigint;
  replacements_used: number;
  allocation_failed: boolean;
  created_at: Date | string;
}

export interface PortRow {
  port_id: string;
  session_id: string;
  device_id: string;
  country_code: string;
  username: string;
  password_hash: string;
  rotation_token_hash: string;
  status: 'active' | 'released';
  reason: string;
  replaces_port_id: string | null;
  allocated_at: Date | string;
  last_moved_at: Date | string;
  rotations: number;
  released_at: Date | string | null;
  last_rotated_at: Date | string | null;
  /** A rotation waits for a probe to see an IP other than old_ip (then PortIpChanged sets ip). */
  rotation_pending: boolean;
  old_ip: string | null;
  ip: string | null;
}

export const sessionsProjection: Projection = {
  name: 'sessions',
  eventTypes: [...sessionEventTypes, 'PaymentClaimed', 'TrafficMetered'],
  tables: ['x402_sessions', 'x402_ports', 'x402_payments'],
  migrations: [
    {
      id: 'sessions/001-tables',
      async up(db) {
        await sql`
          create table x402_sessions (
            session_id text primary key,
            token_hash text not null unique,
            tier text not null,
            country_code text not null,
            carrier text,
            traffic_bytes bigint not null,
            traffic_used_bytes bigint not null default 0,
            duration_seconds int not null,
            expires_at timestamptz not null,
            status text not null,
            payer text not null,
            network text not null,
            transaction text not null,
            amount_micro bigint not null,
            replacements_used int not null default 0,
            allocation_failed boolean not null default false,
            created_at timestamptz not null
          )`.execute(db);
        await sql`create index x402_sessions_payer on x402_sessions (lower(payer))`.execute(db);
        await sql`create index x402_sessions_expiry on x402_sessions (status, expires_at)`.execute(db);
        await sql`
          create table x402_ports (
            port_id text primary key,
            session_id text not null,
            device_id text not null,
            country_code text not null,
            username text not null unique,
            password_hash text not null,
            rotation_token_hash text not null unique,
            status text not null,
            reason text not null,
            replaces_port_id text,
            allocated_at timestamptz not null,
            last_moved_at timestamptz not null,
            rotations int not null default 0,
            released_at timestamptz
          )`.execute(db);
        await sql`create index x402_ports_session on x402_ports (session_id)`.execute(db);
        await sql`
          create table x402_payments (
            claim_key text primary key,
            session_id text not null,
            kind text not null,
            network text not null,
            transaction text not null,
            payer text not null,
            amount_micro bigint not null,
            claimed_at timestamptz not null
          )`.execute(db);
        await sql`create index x402_payments_tx on x402_payments (lower(transaction))`.execute(db);
      },
    },
    {
      id: 'sessions/002-rotation-ip',
      async up(db) {
        await sql`alter table x402_ports add column last_rotated_at timestamptz, add column rotation_pending boolean not null default false, add column old_ip text, add column ip text`.execute(db);
        await sql`create index x402_ports_device on x402_ports (device_id) where status = 'active'`.execute(db);
      },
    },
  ],

  async apply(trx, events) {
    for (const event of events) await applyOne(trx, event);
  },
};

async function applyOne(trx: Db, event: RecordedEvent): Promise<void> {
  if (event.type === 'TrafficMetered') {
    const d = (event as unknown as TrafficMetered).data;
    if (d.accountKind !== 'session') return;
    await trx.updateTable('x402_sessions').set({ traffic_used_bytes: sql`traffic_used_bytes + ${d.bytesUp}::bigint + ${d.bytesDown}::bigint` }).where('session_id', '=', d.accountId).execute();
    return;
  }
  if (event.type === 'PaymentClaimed') {
    const d = (event as unknown as PaymentClaimed).data;
    await trx.insertInto('x402_payments').values({
      claim_key: d.claimKey, session_id: d.purpose.sessionId, kind: d.purpose.kind, network: d.network,
      transaction: d.transaction, payer: d.payer, amount_micro: d.amountMicro, claimed_at: d.claimedAt,
    }).execute();
    return;
  }
  const e = event as RecordedEvent & SessionEvent;
  switch (e.type) {
    case 'SessionPurchased': {
      const d = e.data;
      await trx.insertInto('x402_sessions').values({
        session_id: d.sessionId, token_hash: d.tokenHash, tier: d.tier, country_code: d.countryCode, carrier: d.carrier,
        traffic_bytes: d.trafficBytes, duration_seconds: d.durationSeconds, expires_at: d.expiresAt, status: 'active',
        payer: d.payment.payer, network: d.payment.network, transaction: d.payment.transaction, amount_micro: d.payment.amountMicro,
        created_at: d.purchasedAt,
      }).execute();
      return;
    }
    case 'PortAllocated': {
      const d = e.data;
      // one statement (the port inserted in a CTE): the session row changes only after a failed allocation or for a replacement
      await trx.with('port', (db) => db.insertInto('x402_ports').values({
        port_id: d.portId, session_id: d.sessionId, device_id: d.deviceId, country_code: d.countryCode, username: d.username,
        password_hash: d.passwordHash, rotation_token_hash: d.rotationTokenHash, status: 'active', reason: d.reason,
        replaces_port_id: d.replacesPortId, allocated_at: d.allocatedAt, last_moved_at: d.allocatedAt,
      }))
        .updateTable('x402_sessions')
        .set({ allocation_failed: false, ...(d.reason === 'replace' ? { replacements_used: sql`replacements_used + 1` } : {}) })
        .where('session_id', '=', d.sessionId)
        .$if(d.reason !== 'replace', (q) => q.where('allocation_failed', '=', true))
        .execute();
      return;
    }
    case 'PortAllocationFailed':
      await trx.updateTable('x402_sessions').set({ allocation_failed: true }).where('session_id', '=', e.data.sessionId).execute();
      return;
    case 'PortReleased':
      await trx.updateTable('x402_ports').set({ status: 'released', released_at: e.data.releasedAt }).where('port_id', '=', e.data.portId).execute();
      return;
    case 'PortRotated': {
      const d = e.data;
      const moved = d.toDeviceId !== d.fromDeviceId;
      await trx.updateTable('x402_ports')
        .set({
          device_id: d.toDeviceId, ...(moved ? { last_moved_at: d.rotatedAt } : {}), rotations: sql`rotations + 1`,
          last_rotated_at: d.rotatedAt, rotation_pending: true, old_ip: d.oldIp ?? null,
        })
        .where('port_id', '=', d.portId).execute();
      return;
    }
    case 'PortIpChanged':
      await trx.updateTable('x402_ports').set({ rotation_pending: false, ip: e.data.newIp }).where('port_id', '=', e.data.portId).execute();
      return;
    case 'SessionToppedUp': {
      const d = e.data;
      await trx.updateTable('x402_sessions')
        .set({ traffic_bytes: sql`traffic_bytes + ${d.addTrafficBytes}::bigint`, expires_at: d.expiresAt })
        .where('session_id', '=', d.sessionId).execute();
      return;
    }
    case 'SessionExpired':
      await trx.updateTable('x402_sessions').set({ status: 'expired' }).where('session_id', '=', e.data.sessionId).execute();
      return;
    default:
      return assertNever(e);
  }
}

export const findSessionByTokenHash = async (db: Db, tokenHash: string) =>
  (await db.selectFrom('x402_sessions').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst()) as SessionRow | undefined;

export const findSession = async (db: Db, sessionId: string) =>
  (await db.selectFrom('x402_sessions').selectAll().where('session_id', '=', sessionId).executeTakeFirst()) as SessionRow | undefined;

export const sessionPorts = async (db: Db, sessionId: string) =>
  (await db.selectFrom('x402_ports').selectAll().where('session_id', '=', sessionId).orderBy('allocated_at').execute()) as PortRow[];

/** Active ports per session, for many sessions in one query (sessions without one are absent). */
export async function activePortCounts(db: Db, sessionIds: readonly string[]): Promise<Map<string, number>> {
  if (sessionIds.length === 0) return new Map();
  const rows = await db.selectFrom('x402_ports').select(['session_id', sql<number>`count(*)::int`.as('ports')])
    .where('session_id', 'in', [...sessionIds]).where('status', '=', 'active').groupBy('session_id').execute();
  return new Map(rows.map((r) => [r.session_id as string, r.ports]));
}

export const findPortByRotationHash = async (db: Db, hash: string) =>
  (await db.selectFrom('x402_ports').selectAll().where('rotation_token_hash', '=', hash).executeTakeFirst()) as PortRow | undefined;

export const findPortByUsername = async (db: Db, username: string) =>
  (await db.selectFrom('x402_ports').selectAll().where('username', '=', username).executeTakeFirst()) as PortRow | undefined;

export const sessionsByPayer = async (db: Db, wallet: string) =>
  (await db.selectFrom('x402_sessions').selectAll().where(sql`lower(payer)`, '=', wallet.toLowerCase()).orderBy('created_at', 'desc').limit(100).execute()) as SessionRow[];

export const sessionByTransaction = async (db: Db, tx: string) => {
  const payment = await db.selectFrom('x402_payments').select('session_id').where(sql`lower(transaction)`, '=', tx.toLowerCase()).executeTakeFirst();
  return payment ? findSession(db, payment.session_id as string) : undefined;
};

export const sessionPayments = async (db: Db, sessionId: string) =>
  db.selectFrom('x402_payments').selectAll().where('session_id', '=', sessionId).orderBy('claimed_at').execute();

export const dueForExpiry = async (db: Db, now: Date, limit = 100) =>
  (await db.selectFrom('x402_sessions').select('session_id').where('status', '=', 'active').where('expires_at', '<=', now.toISOString()).limit(limit).execute())
    .map((r) => r.session_id as string);

/** Active ports on a device whose last rotation no probe has confirmed yet. */
export const portsAwaitingNewIp = async (db: Db, deviceId: string) =>
  (await db.selectFrom('x402_ports').select(['port_id', 'session_id']).where('device_id', '=', deviceId).where('status', '=', 'active').where('rotation_pending', '=', true).execute()) as Array<{ port_id: string; session_id: string }>;
