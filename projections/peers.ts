import { sql } from 'kysely';
import type { Db } from '../adapters/db/database.ts';
import type { RecordedEvent } from '../adapters/eventstore/port.ts';
import type { PeerEvent, PeerEventType } from '../domain/peers/events.ts';
import { assertNever } from '../domain/shared/errors.ts';
import type { Projection } from './projection.ts';

/** One row per peer device: who it is, its wallet, its IP classification and its money (micro-USDC). */
export interface PeerRow {
  device_id: string;
  name: string;
  peer_type: string;
  kind: 'agent' | 'sdk';
  connection_method: string | null;
  sdk_version: string | null;
  account_id: string | null;
  wallet_address: string | null;
  wallet_usable_from: Date | string | null;
  ip: string | null;
  asn: number | null;
  asn_org: string | null;
  ip_type: 'mobile' | 'residential' | 'datacenter' | null;
  country: string | null;
  bytes_up: bigint | string;
  bytes_down: bigint | string;
  earned_micro: bigint | string;
  pending_micro: bigint | string;
  paid_micro: bigint | string;
  balance_micro: bigint | string;
  registered_at: Date | string;
  last_traffic_at: Date | string | null;
}

const handled: readonly PeerEventType[] = ['PeerRegistered', 'PeerWalletChanged', 'PeerClassified', 'PeerTrafficServed', 'PayoutRequested', 'PayoutSent', 'PayoutFailed', 'PayoutRejected'];

export const peersProjection: Projection = {
  name: 'peers',
  eventTypes: handled,
  tables: ['peers'],
  migrations: [{
    id: 'peers/001-table',
    async up(db) {
      await sql`
        create table peers (
          device_id text primary key,
          name text not null,
          peer_type text not null,
          kind text not null,
          connection_method text,
          sdk_version text,
          account_id text,
          wallet_address text,
          wallet_usable_from timestamptz,
          ip text, asn integer, asn_org text, ip_type text, country text,
          bytes_up bigint not null default 0,
          bytes_down bigint not null default 0,
          earned_micro bigint not null default 0,
          pending_micro bigint not null default 0,
          paid_micro bigint not null default 0,
          balance_micro bigint not null default 0,
          registered_at timestamptz not null,
          last_traffic_at timestamptz
        )`.execute(db);
      await sql`create index peers_account on peers (account_id) where account_id is not null`.execute(db);
    },
  }],
  async apply(trx, events) {
    for (const event of events) await applyOne(trx, event as RecordedEvent & PeerEvent);
  },
};

async function applyOne(trx: Db, e: RecordedEvent & PeerEvent): Promise<void> {
  const row = (id: string) => trx.updateTable('peers').where('device_id', '=', id);
  switch (e.type) {
    case 'PeerRegistered': {
      const d = e.data;
      await trx.insertInto('peers').values({
        device_id: d.deviceId, name: d.name, peer_type: d.peerType, kind: d.kind, connection_method: d.connectionMethod, sdk_version: d.sdkVersion,
        account_id: d.accountId, wallet_address: d.walletAddress, wallet_usable_from: d.walletAddress ? d.registeredAt : null, registered_at: d.registeredAt,
      }).execute();
      return;
    }
    case 'PeerWalletChanged':
      await row(e.data.deviceId).set({ wallet_address: e.data.walletAddress, wallet_usable_from: e.data.usableFrom }).execute();
      return;
    case 'PeerClassified': {
      const d = e.data;
      await row(d.deviceId).set({ ip: d.ip, asn: d.asn, asn_org: d.asnOrg, ip_type: d.ipType, country: d.country }).execute();
      return;
    }
    case 'PeerTrafficServed': {
      const d = e.data;
      await row(d.deviceId).set({
        bytes_up: sql`bytes_up + ${d.bytesUp}::bigint`, bytes_down: sql`bytes_down + ${d.bytesDown}::bigint`,
        earned_micro: sql`earned_micro + ${d.earnedMicro}::bigint`, balance_micro: sql`balance_micro + ${d.earnedMicro}::bigint`, last_traffic_at: d.to,
      }).execute();
      return;
    }
    case 'PayoutRequested':
      await row(e.data.deviceId).set({ pending_micro: sql`pending_micro + ${e.data.amountMicro}::bigint`, balance_micro: sql`balance_micro - ${e.data.amountMicro}::bigint` }).execute();
      return;
    case 'PayoutSent':
      await row(e.data.deviceId).set({ pending_micro: sql`pending_micro - ${e.data.amountMicro}::bigint`, paid_micro: sql`paid_micro + ${e.data.amountMicro}::bigint` }).execute();
      return;
    case 'PayoutFailed':
    case 'PayoutRejected':
      await row(e.data.deviceId).set({ pending_micro: sql`pending_micro - ${e.data.amountMicro}::bigint`, balance_micro: sql`balance_micro + ${e.data.amountMicro}::bigint` }).execute();
      return;
    case 'PeerTokenRefreshed':
    case 'PayoutApproved':
    case 'PayoutAttempted':
      return;
    default:
      return assertNever(e);
  }
}

export const findPeer = async (db: Db, deviceId: string) =>
  (await db.selectFrom('peers').selectAll().where('device_id', '=', deviceId).executeTakeFirst()) as PeerRow | undefined;
