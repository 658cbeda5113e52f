import { sql } from 'kysely';
import type { Db } from '../adapters/db/database.ts';
import type { RecordedEvent } from '../adapters/eventstore/port.ts';
import { poolKeyEventTypes, type AuditContext, type PoolKeyEvent, type PoolKeyGatewayAuthRecorded } from '../domain/reseller/events.ts';
import { assertNever } from '../domain/shared/errors.ts';
import type { Projection } from './projection.ts';

/** The forensic log of a reseller's keys: mutations, reveals, suspensions and gateway auth per key per minute. */
export const AUDIT_RETENTION_MS = 90 * 86_400_000;

export type AuditAction =
  | 'create' | 'update' | 'topup' | 'regenerate' | 'reveal' | 'delete'
  | 'gateway_auth_success' | 'gateway_auth_failure' | 'auto_suspended_cap_exceeded' | 'auto_suspended_expired';
export const AUDIT_ACTIONS: readonly AuditAction[] = [
  'create', 'update', 'topup', 'regenerate', 'reveal', 'delete', 'gateway_auth_success', 'gateway_auth_failure', 'auto_suspended_cap_exceeded', 'auto_suspended_expired',
];

export interface AuditRow {
  id: string;
  reseller_id: string;
  pak_id: string;
  action: AuditAction;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  auth_method: AuditContext['authMethod'];
  metadata: Record<string, unknown>;
  created_at: Date | string;
}

const gb = (bytes: string | null) => (bytes === null ? null : Number(bytes) / 1e9);

export const poolKeyAuditProjection: Projection = {
  name: 'pool-key-audit',
  eventTypes: [...poolKeyEventTypes, 'PoolKeyGatewayAuthRecorded'],
  tables: ['reseller_pool_key_audit'],
  migrations: [{
    id: 'pool-key-audit/001-table',
    async up(db) {
      await sql`
        create table reseller_pool_key_audit (
          id text primary key,
          reseller_id text not null,
          pak_id text not null,
          action text not null,
          ip text, user_agent text, request_id text,
          auth_method text not null,
          metadata jsonb not null,
          created_at timestamptz not null
        )`.execute(db);
      await sql`create index reseller_pool_key_audit_reseller on reseller_pool_key_audit (reseller_id, created_at desc)`.execute(db);
      await sql`create index reseller_pool_key_audit_key on reseller_pool_key_audit (pak_id, created_at desc)`.execute(db);
    },
  }],
  async apply(trx, events) {
    let latest = 0;
    for (const event of events) latest = Math.max(latest, await applyOne(trx, event));
    // 90 days kept, measured on event time so a rebuild keeps exactly what the live model kept
    if (latest > 0) await trx.deleteFrom('reseller_pool_key_audit').where('created_at', '<', new Date(latest - AUDIT_RETENTION_MS)).execute();
  },
};

async function applyOne(trx: Db, event: RecordedEvent): Promise<number> {
  if (event.type === 'PoolKeyGatewayAuthRecorded') {
    const d = (event as unknown as PoolKeyGatewayAuthRecorded).data;
    // one row per key, minute and outcome: flushes from several gateways add up into it
    const add = async (action: AuditAction, count: number, metadata: Record<string, unknown>) => {
      if (count <= 0) return;
      await trx.insertInto('reseller_pool_key_audit').values({
        id: `${d.keyId}:${d.minute}:${action}`, reseller_id: d.resellerId, pak_id: d.keyId, action, ip: d.lastIp, user_agent: null, request_id: null,
        auth_method: 'gateway', metadata: JSON.stringify({ count, minute: d.minute, ...metadata }), created_at: d.minute,
      }).onConflict((oc) => oc.column('id').doUpdateSet({
        ip: d.lastIp,
        metadata: sql`reseller_pool_key_audit.metadata || jsonb_build_object('count', (reseller_pool_key_audit.metadata->>'count')::int + ${count}::int) || ${JSON.stringify(metadata)}::jsonb`,
      })).execute();
    };
    await add('gateway_auth_success', d.successes, {});
    await add('gateway_auth_failure', d.failures, {
      reason: d.lastFailureReason,
      ...(d.usedBytes !== null ? { usedGB: gb(d.usedBytes) } : {}),
      ...(d.trafficCapBytes !== null ? { capGB: gb(d.trafficCapBytes) } : {}),
    });
    return Date.parse(d.minute);
  }
  const e = event as RecordedEvent & PoolKeyEvent;
  const insert = async (action: AuditAction, at: string, audit: AuditContext, metadata: Record<string, unknown>) => {
    await trx.insertInto('reseller_pool_key_audit').values({
      id: e.id, reseller_id: e.data.resellerId, pak_id: e.data.keyId, action, ip: audit.ip, user_agent: audit.userAgent, request_id: audit.requestId,
      auth_method: audit.authMethod, metadata: JSON.stringify(metadata), created_at: at,
    }).onConflict((oc) => oc.column('id').doNothing()).execute();
    return Date.parse(at);
  };
  const system: AuditContext = { ip: null, userAgent: null, requestId: null, authMethod: 'system' };
  switch (e.type) {
    case 'PoolKeyCreated': {
      const d = e.data;
      return insert('create', d.createdAt, d.audit, { label: d.label, trafficCapGB: gb(d.trafficCapBytes), expiresAt: d.expiresAt, qualityTier: d.qualityTier });
    }
    case 'PoolKeyUpdated': {
      const { trafficCapBytes, ...rest } = e.data.changes;
      const values: Record<string, unknown> = { ...rest, ...(trafficCapBytes !== undefined ? { trafficCapGB: gb(trafficCapBytes) } : {}) };
      return insert('update', e.data.updatedAt, e.data.audit, { fields: Object.keys(values), values });
    }
    case 'PoolKeyToppedUp': {
      const d = e.data;
      return insert('topup', d.toppedUpAt, d.audit, { addTrafficGB: gb(d.addTrafficBytes), extendDays: d.extendDays, newTrafficCapGB: gb(d.trafficCapBytes), newExpiresAt: d.expiresAt });
    }
    case 'PoolKeyRegenerated':
      return insert('regenerate', e.data.regeneratedAt, e.data.audit, { newKeyPrefix: e.data.keyPrefix });
    case 'PoolKeyRevealed':
      return insert('reveal', e.data.revealedAt, e.data.audit, { keyPrefix: e.data.keyPrefix, label: e.data.label });
    case 'PoolKeyDeleted':
      return insert('delete', e.data.deletedAt, e.data.audit, {});
    case 'PoolKeyAutoSuspended': {
      const d = e.data;
      return d.reason === 'cap_exceeded'
        ? insert('auto_suspended_cap_exceeded', d.suspendedAt, system, { usedGB: gb(d.usedBytes), capGB: gb(d.trafficCapBytes), label: d.label })
        : insert('auto_suspended_expired', d.suspendedAt, system, { expiresAt: d.expiresAt, label: d.label });
    }
    default:
      return assertNever(e);
  }
}

/** Newest first, within the retention window; `before` pages back. */
export async function listAudit(db: Db, q: { resellerId: string; pakId?: string; action?: AuditAction; before?: Date; limit: number; now: Date }): Promise<AuditRow[]> {
  let query = db.selectFrom('reseller_pool_key_audit').selectAll().where('reseller_id', '=', q.resellerId)
    .where('created_at', '>=', new Date(q.now.getTime() - AUDIT_RETENTION_MS));
  if (q.pakId) query = query.where('pak_id', '=', q.pakId);
  if (q.action) query = query.where('action', '=', q.action);
  if (q.before) query = query.where('created_at', '<', q.before);
  return (await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit).execute()) as AuditRow[];
}
