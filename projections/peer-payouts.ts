import { sql } from 'kysely';
import type { Db } from '../adapters/db/database.ts';
import type { RecordedEvent } from '../adapters/eventstore/port.ts';
import type { PeerEvent, PeerEventType } from '../domain/peers/events.ts';
import { assertNever } from '../domain/shared/errors.ts';
import type { Projection } from './projection.ts';

/** Every payout: requested → (approved) → sent with its signature, or failed with the reason. */
export interface PeerPayoutRow {
  payout_id: string;
  device_id: string;
  amount_micro: bigint | string;
  wallet_address: string;
  status: 'requested' | 'approved' | 'sent' | 'failed' | 'rejected';
  attempts: number;
  signature: string | null;
  reason: string | null;
  requested_at: Date | string;
  updated_at: Date | string;
}

const handled = ['PayoutRequested', 'PayoutApproved', 'PayoutAttempted', 'PayoutSent', 'PayoutFailed', 'PayoutRejected'] as const satisfies readonly PeerEventType[];

export const peerPayoutsProjection: Projection = {
  name: 'peer-payouts',
  eventTypes: handled,
  tables: ['peer_payouts'],
  migrations: [{
    id: 'peer-payouts/001-table',
    async up(db) {
      await sql`
        create table peer_payouts (
          payout_id text primary key,
          device_id text not null,
          amount_micro bigint not null,
          wallet_address text not null,
          status text not null,
          attempts integer not null default 0,
          signature text,
          reason text,
          requested_at timestamptz not null,
          updated_at timestamptz not null
        )`.execute(db);
      await sql`create index peer_payouts_device on peer_payouts (device_id, requested_at)`.execute(db);
      await sql`create index peer_payouts_open on peer_payouts (status) where status in ('requested', 'approved')`.execute(db);
    },
  }],
  async apply(trx, events) {
    for (const event of events) {
      const e = event as RecordedEvent & Extract<PeerEvent, { type: (typeof handled)[number] }>;
      const row = (id: string) => trx.updateTable('peer_payouts').where('payout_id', '=', id);
      switch (e.type) {
        case 'PayoutRequested': {
          const d = e.data;
          await trx.insertInto('peer_payouts').values({
            payout_id: d.payoutId, device_id: d.deviceId, amount_micro: d.amountMicro, wallet_address: d.walletAddress,
            status: d.needsApproval ? 'requested' : 'approved', requested_at: d.requestedAt, updated_at: d.requestedAt,
          }).execute();
          break;
        }
        case 'PayoutApproved':
          await row(e.data.payoutId).set({ status: 'approved', updated_at: e.data.approvedAt }).execute();
          break;
        case 'PayoutAttempted':
          await row(e.data.payoutId).set({ attempts: e.data.attempt, updated_at: e.data.attemptedAt }).execute();
          break;
        case 'PayoutSent':
          await row(e.data.payoutId).set({ status: 'sent', signature: e.data.signature, updated_at: e.data.sentAt }).execute();
          break;
        case 'PayoutFailed':
          await row(e.data.payoutId).set({ status: 'failed', reason: e.data.reason, updated_at: e.data.failedAt }).execute();
          break;
        case 'PayoutRejected':
          await row(e.data.payoutId).set({ status: 'rejected', reason: `rejected by ${e.data.rejectedBy}: ${e.data.reason}`, updated_at: e.data.rejectedAt }).execute();
          break;
        default:
          assertNever(e);
      }
    }
  },
};

export const peerPayouts = async (db: Db, deviceId: string) =>
  (await db.selectFrom('peer_payouts').selectAll().where('device_id', '=', deviceId).orderBy('requested_at', 'desc').execute()) as PeerPayoutRow[];

/** Payouts the worker may send now. */
export const approvedPayouts = async (db: Db, limit = 20) =>
  (await db.selectFrom('peer_payouts').selectAll().where('status', '=', 'approved').orderBy('requested_at').limit(limit).execute()) as PeerPayoutRow[];

export const findPayout = async (db: Db, payoutId: string) =>
  (await db.selectFrom('peer_payouts').selectAll().where('payout_id', '=', payoutId).executeTakeFirst()) as PeerPayoutRow | undefined;

/** Payouts in one status, oldest first (the admin's approval queue). */
export const payoutsByStatus = async (db: Db, status: PeerPayoutRow['status'], limit = 100) =>
  (await db.selectFrom('peer_payouts').selectAll().where('status', '=', status).orderBy('requested_at').limit(limit).execute()) as PeerPayoutRow[];
