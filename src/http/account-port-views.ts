import { suspendedPortIds } from '../accounts/suspension.ts';
import type { Db } from '../../adapters/db/database.ts';
import { countryName } from '../../domain/fleet/countries.ts';
import { countryRef } from '../../domain/reference/countries.ts';
import type { AccountPortRow } from '../../projections/account-ports.ts';
import type { Config } from '../config.ts';
import type { AccountsContext } from '../accounts/context.ts';
import { visiblePassword } from '../accounts/ports.ts';
import { gatewayAddress } from './x402-views.ts';

type DeviceInfo = { device_id: string; name: string; country_code: string; carrier_name: string; carrier_brand: string; region: string | null; city: string | null; online: boolean; status: string; ip: string | null; last_health_at: Date | string | null };

export async function devicesById(db: Db, ids: string[]): Promise<Map<string, DeviceInfo>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom('fleet_devices').select(['device_id', 'name', 'country_code', 'carrier_name', 'carrier_brand', 'region', 'city', 'online', 'status', 'ip', 'last_health_at'])
    .where('device_id', 'in', [...new Set(ids)]).execute() as DeviceInfo[];
  return new Map(rows.map((r) => [r.device_id, r]));
}

export const rotationLink = (config: Config, base: string, token: string) => `${(config.PUBLIC_BASE_URL ?? base).replace(/\/$/, '')}/rotate/${token}`;

export const healthOf = (d: DeviceInfo | undefined) => (!d || d.status !== 'active' || !d.online ? 'offline' : 'healthy');

/** Seed 002's port object. proxyPassword is shown only while it is still readable (right after create or a credential change). */
export async function portView(ctx: AccountsContext, p: AccountPortRow, device: DeviceInfo | undefined, base: string) {
  const gw = gatewayAddress(ctx.infra.config);
  const now = ctx.infra.clock.now();
  const token = ctx.sealer.open(p.rotation_token_sealed);
  const usedBytes = BigInt(p.used_bytes);
  const expiresAt = new Date(p.expires_at).getTime();
  const suspended = (await suspendedPortIds(ctx.infra.database.db, p.account_id, now)).has(p.port_id);
  return {
    _id: p.port_id, id: p.port_id, name: p.name, displayName: p.display_name,
    httpPort: gw.httpPort, socksPort: gw.socksPort, serverIp: gw.host,
    proxyLogin: p.proxy_login, proxyPassword: await visiblePassword(ctx, p.port_id),
    slotType: p.slot_type, exclusive: p.slot_type === 'private', osFingerprint: p.os_fingerprint,
    suspended, status: expiresAt <= now.getTime() ? 'expired' : suspended ? 'suspended' : 'active',
    expiresAt, createdAt: new Date(p.created_at).getTime(),
    countryId: countryRef(p.country_code)._id, carrierId: p.carrier_id, cityId: p.city_id,
    // flat names, as the official MCP server prints them (port.countryName / carrierName / cityName)
    countryName: countryName(p.country_code) ?? p.country_code, carrierName: device?.carrier_name ?? null, cityName: device?.city ?? device?.region ?? null,
    rotationToken: token,
    rotationSettings: {
      enabled: p.rotation_enabled, intervalMinutes: Math.round(p.rotation_interval_seconds / 60), intervalSeconds: p.rotation_interval_seconds,
      lastRotatedAt: p.last_rotated_at ? new Date(p.last_rotated_at).toISOString() : null, rotationCount: p.rotation_count,
      matchCarrier: p.match_carrier, matchCity: p.match_city,
    },
    usedTraffic: Number(usedBytes) / 1e9,
    trafficSummary: { usedMB: Number(usedBytes) / 1e6, usedGB: Number(usedBytes) / 1e9, usedBytes: usedBytes.toString() },
    healthStatus: healthOf(device),
    rotationLink: rotationLink(ctx.infra.config, base, token),
    device: device ? {
      _id: device.device_id, name: device.name,
      country: { name: countryName(device.country_code) ?? device.country_code, code: device.country_code },
      carrier: { name: device.carrier_name, brand: device.carrier_brand },
      region: { name: device.region ?? device.city ?? null },
    } : null,
  };
}
