import { sql } from 'kysely';
import type { Db } from '../adapters/db/database.ts';
import type { RecordedEvent } from '../adapters/eventstore/port.ts';
import type { AccountPortEvent } from '../domain/ports/events.ts';
import type { Projection } from './projection.ts';

/** Rotation history of account ports: every rotation and every failed attempt, with its trigger. */
export interface RotationRow {
  rotation_id: string;
  port_id: string;
  account_id: string;
  from_device_id: string;
  to_device_id: string | null;
  from_ip: string | null;
  to_ip: string | null;
  trigger_type: string;
  success: boolean;
  is_airplane_mode: boolean;
  rotation_duration_ms: number;
  country: string;
  carrier: string | null;
  reason: string | null;
  created_at: Date | string;
}

export const accountRotationsProjection: Projection = {
  name: 'account-rotations',
  eventTypes: ['AccountPortRotated', 'AccountPortRotationFailed'],
  tables: ['account_rotations'],
  migrations: [{
    id: 'account-rotations/001-table',
    async up(db) {
      await sql`
        create table account_rotations (
          rotation_id text primary key, port_id text not null, account_id text not null, from_device_id text not null, to_device_id text,
          from_ip text, to_ip text, trigger_type text not null, success boolean not null, is_airplane_mode boolean not null,
          rotation_duration_ms int not null, country text not null, carrier text, reason text, created_at timestamptz not null
        )`.execute(db);
      await sql`create index account_rotations_port on account_rotations (port_id, created_at desc)`.execute(db);
    },
  }],
  async apply(trx, events) {
    for (const e of events as Array<RecordedEvent & AccountPortEvent>) {
      if (e.type === 'AccountPortRotated') {
        const d = e.data;
        await trx.insertInto('account_rotations').values({
          rotation_id: d.rotationId, port_id: d.portId, account_id: d.accountId, from_device_id: d.fromDeviceId, to_device_id: d.toDeviceId,
          from_ip: d.fromIp, to_ip: d.toIp, trigger_type: d.triggerType, success: true, is_airplane_mode: d.isAirplaneMode,
          rotation_duration_ms: d.rotationDurationMs, country: d.country, carrier: d.carrier, created_at: d.rotatedAt,
        }).onConflict((oc) => oc.column('rotation_id').doNothing()).execute();
      } else if (e.type === 'AccountPortRotationFailed') {
        const d = e.data;
        await trx.insertInto('account_rotations').values({
          rotation_id: d.rotationId, port_id: d.portId, account_id: d.accountId, from_device_id: d.fromDeviceId, to_device_id: null,
          from_ip: d.fromIp, to_ip: null, trigger_type: d.triggerType, success: false, is_airplane_mode: false,
          rotation_duration_ms: 0, country: d.country, carrier: d.carrier, reason: d.reason, created_at: d.failedAt,
        }).onConflict((oc) => oc.column('rotation_id').doNothing()).execute();
      }
    }
  },
};

export async function rotationHistory(db: Db, portId: string, limit: number, offset: number) {
  const q = db.selectFrom('account_rotations').where('port_id', '=', portId);
  const [rows, total] = await Promise.all([
    q.selectAll().orderBy('created_at', 'desc').orderBy('rotation_id', 'desc').limit(limit).offset(offset).execute() as Promise<RotationRow[]>,
    q.select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: total.n };
}
