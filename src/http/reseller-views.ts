import type { AuditRow } from '../../projections/pool-key-audit.ts';
import type { PoolKeyRow } from '../../projections/pool-keys.ts';
import type { ListedSessionRecord } from '../gateway/pak-synthesized.ts';
import type { Sealer } from '../reseller/secrets.ts';

const ms = (d: Date | string | null) => (d === null ? null : new Date(d).getTime());
const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

/**
 * The SDK's PoolAccessKey: MB and GB are decimal (10^6 and 10^9 bytes), createdAt/updatedAt unix ms,
 * expiresAt/lastUsedAt ISO. `key` is the full secret (it is the customer's proxy password).
 */
export function poolKeyView(row: PoolKeyRow, sealer: Sealer, now: Date) {
  const used = BigInt(row.traffic_used_bytes);
  const expiresAt = iso(row.expires_at);
  return {
    id: row.key_id,
    key: sealer.open(row.sealed_key),
    label: row.label,
    enabled: row.enabled,
    trafficCapGB: row.traffic_cap_bytes === null ? null : Number(BigInt(row.traffic_cap_bytes) / 1_000_000_000n),
    trafficUsedMB: Number(used) / 1e6,
    trafficUsedGB: Number(used) / 1e9,
    trafficUsedBytes: used.toString(),
    qualityTier: row.quality_tier,
    expiresAt,
    isExpired: expiresAt !== null && Date.parse(expiresAt) <= now.getTime(),
    suspendedReason: row.suspended_reason,
    lastUsedAt: iso(row.last_used_at),
    createdAt: ms(row.created_at)!,
    updatedAt: ms(row.updated_at)!,
    proxyUsername: `psx_${row.reseller_id}`,
  };
}

export function auditView(row: AuditRow, withPakId: boolean) {
  return {
    id: row.id,
    ...(withPakId ? { pakId: row.pak_id } : {}),
    action: row.action,
    ip: row.ip,
    userAgent: row.user_agent,
    requestId: row.request_id,
    authMethod: row.auth_method,
    metadata: row.metadata,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

export function sessionView(s: ListedSessionRecord, gateway: { host: string; httpPort: number; socksPort: number }, now: number) {
  return {
    sessionKey: s.sessionKey,
    accountId: `psx_${s.resellerId}`,
    pakKeyId: s.pakKeyId,
    sessionId: s.sessionId,
    pool: s.pool,
    country: s.country,
    carrier: s.carrier,
    currentIp: s.currentIp,
    createdAt: s.createdAt,
    lastActivityAt: s.lastActivityAt,
    expiresAt: s.expiresAt,
    requestCount: s.requestCount,
    bytesIn: s.bytesIn,
    bytesOut: s.bytesOut,
    endpointId: s.deviceId,
    rotation: s.rotation,
    ttl: Math.max(0, Math.round((s.expiresAt - now) / 1000)),
    proxyUrl: `http://${s.username}:<PASSWORD>@${gateway.host}:${gateway.httpPort}`,
    socks5Url: `socks5://${s.username}:<PASSWORD>@${gateway.host}:${gateway.socksPort}`,
    isSynthesizedSid: s.synthesized === true,
  };
}
