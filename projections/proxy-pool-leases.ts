import { sql } from 'kysely';
import type { Db } from '../adapters/db/database.ts';
import type { RecordedEvent } from '../adapters/eventstore/port.ts';
import type { LeaseEvent } from '../domain/proxy-pool/leases.ts';
import { assertNever } from '../domain/shared/errors.ts';
import type { Projection } from './projection.ts';

/** Leases: status active | released | expired | cancelled; active and unexpired = the proxy is taken. */
export const proxyPoolLeasesProjection: Projection = {
  name: 'pp-leases',
  eventTypes: ['PoolProxyLeased', 'PoolLeaseReleased', 'PoolLeaseExpired', 'PoolLeaseCancelled'],
  tables: ['pp_leases'],
  migrations: [{
    id: 'pp-leases/001-table',
    async up(db) {
      await sql`create table pp_leases (
        lease_id text primary key, proxy_id text not null, user_id text not null, status text not null, proxy jsonb not null,
        leased_at timestamptz not null, expires_at timestamptz not null, ended_at timestamptz)`.execute(db);
      await sql`create index pp_leases_active on pp_leases (proxy_id) where status = 'active'`.execute(db);
      await sql`create index pp_leases_user on pp_leases (user_id, status)`.execute(db);
    },
  }],
  async apply(trx, events) {
    for (const event of events) {
      const e = event as RecordedEvent & LeaseEvent;
      switch (e.type) {
        case 'PoolProxyLeased':
          await trx.insertInto('pp_leases').values({
            lease_id: e.data.leaseId, proxy_id: e.data.proxyId, user_id: e.data.userId, status: 'active', proxy: JSON.stringify(e.data.proxy),
            leased_at: e.data.leasedAt, expires_at: e.data.expiresAt,
          }).execute();
          break;
        case 'PoolLeaseReleased':
          await end(trx, e.data.leaseId, 'released', e.data.releasedAt);
          break;
        case 'PoolLeaseExpired':
          await end(trx, e.data.leaseId, 'expired', e.data.expiredAt);
          break;
        case 'PoolLeaseCancelled':
          await end(trx, e.data.leaseId, 'cancelled', e.data.cancelledAt);
          break;
        default:
          assertNever(e);
      }
    }
  },
};

const end = (trx: Db, leaseId: string, status: string, at: string) =>
  trx.updateTable('pp_leases').set({ status, ended_at: at }).where('lease_id', '=', leaseId).where('status', '=', 'active').execute();

export interface LeaseRow { lease_id: string; proxy_id: string; user_id: string; status: string; proxy: any; leased_at: Date | string; expires_at: Date | string }

export const findLease = async (db: Db, leaseId: string) =>
  (await db.selectFrom('pp_leases').selectAll().where('lease_id', '=', leaseId).executeTakeFirst()) as LeaseRow | undefined;

export const activeLeasesOf = async (db: Db, userId: string, now: Date) =>
  (await db.selectFrom('pp_leases').selectAll().where('user_id', '=', userId).where('status', '=', 'active').where('expires_at', '>', now).orderBy('leased_at', 'desc').execute()) as LeaseRow[];

export const leasesPastExpiry = async (db: Db, now: Date, limit = 500) =>
  (await db.selectFrom('pp_leases').select(['lease_id', 'proxy_id']).where('status', '=', 'active').where('expires_at', '<=', now).limit(limit).execute()) as Array<{ lease_id: string; proxy_id: string }>;
