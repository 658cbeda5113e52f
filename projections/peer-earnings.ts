import { sql } from 'kysely';
import type { Db } from '../adapters/db/database.ts';
import type { RecordedEvent } from '../adapters/eventstore/port.ts';
import type { PeerEvent } from '../domain/peers/events.ts';
import type { Projection } from './projection.ts';

/** Traffic and USDC earned per peer per UTC day (the day the flush ended) and IP type. */
export interface PeerEarningsDay {
  day: string;
  ipType: string;
  bytesUp: string;
  bytesDown: string;
  earnedMicro: string;
  rateMicroPerGB: string;
}

export const peerEarningsProjection: Projection = {
  name: 'peer-earnings',
  eventTypes: ['PeerTrafficServed'],
  tables: ['peer_earnings_daily'],
  migrations: [{
    id: 'peer-earnings/001-table',
    async up(db) {
      await sql`
        create table peer_earnings_daily (
          device_id text not null,
          day date not null,
          ip_type text not null,
          bytes_up bigint not null,
          bytes_down bigint not null,
          earned_micro bigint not null,
          rate_micro_per_gb bigint not null,
          primary key (device_id, day, ip_type)
        )`.execute(db);
    },
  }],
  async apply(trx, events) {
    for (const event of events) {
      const e = event as RecordedEvent & Extract<PeerEvent, { type: 'PeerTrafficServed' }>;
      const d = e.data;
      await trx.insertInto('peer_earnings_daily').values({
        device_id: d.deviceId, day: d.to.slice(0, 10), ip_type: d.ipType, bytes_up: d.bytesUp, bytes_down: d.bytesDown, earned_micro: d.earnedMicro, rate_micro_per_gb: d.rateMicroPerGB,
      }).onConflict((oc) => oc.columns(['device_id', 'day', 'ip_type']).doUpdateSet({
        bytes_up: sql`peer_earnings_daily.bytes_up + excluded.bytes_up`,
        bytes_down: sql`peer_earnings_daily.bytes_down + excluded.bytes_down`,
        earned_micro: sql`peer_earnings_daily.earned_micro + excluded.earned_micro`,
        rate_micro_per_gb: sql`excluded.rate_micro_per_gb`,
      })).execute();
    }
  },
};

export async function peerEarningsByDay(db: Db, deviceId: string): Promise<PeerEarningsDay[]> {
  const rows = await db.selectFrom('peer_earnings_daily').selectAll().where('device_id', '=', deviceId).orderBy('day', 'desc').orderBy('ip_type').execute();
  return rows.map((r) => ({
    day: typeof r.day === 'string' ? r.day.slice(0, 10) : (r.day as Date).toISOString().slice(0, 10),
    ipType: r.ip_type, bytesUp: String(r.bytes_up), bytesDown: String(r.bytes_down), earnedMicro: String(r.earned_micro), rateMicroPerGB: String(r.rate_micro_per_gb),
  }));
}
