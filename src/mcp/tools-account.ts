import { z } from 'zod';
import type { ApiClient } from './api.ts';
import { lines, tool, type Tool } from './tool.ts';

/** Account, port, rotation and billing tools with a psx_ key, named as in seed 000's tool tables. */

const portId = z.string().min(1).max(64).describe('port id (from list_ports or create_port)');
const country = z.string().regex(/^[A-Za-z]{2}$/).describe('ISO 3166-1 alpha-2 country code, e.g. US');
const slotType = z.enum(['shared', 'private']);

const portLine = (p: any) => `${p.id} ${p.displayName ?? p.name} ${p.slotType} ${p.status}: ${p.serverIp}:${p.httpPort} (HTTP) / :${p.socksPort} (SOCKS5), login ${p.proxyLogin}`;
const connection = (p: any) => p.proxyPassword
  ? { http: `http://${p.proxyLogin}:${p.proxyPassword}@${p.serverIp}:${p.httpPort}`, socks5: `socks5://${p.proxyLogin}:${p.proxyPassword}@${p.serverIp}:${p.socksPort}` }
  : null;

export function accountTools(api: ApiClient, apiKey: string | undefined): Tool[] {
  const auth = () => {
    if (!apiKey) throw new Error('no account key: set PROXIES_API_KEY (a psx_… key from POST /v1/auth/register) for account tools');
    return { 'x-api-key': apiKey };
  };
  const get = (path: string, query?: Record<string, unknown>) => api.get(path, query, auth());
  const send = (method: string, path: string, body?: unknown) => api.call(method, path, { body, headers: auth() });
  const port = (id: string) => `/v1/ports/${encodeURIComponent(id)}`;

  return [
    tool({
      name: 'get_account_summary', description: 'Account overview: balance, slots (shared/private), traffic left and alerts.', input: {},
      async run() {
        const s = await get('/v1/account/summary');
        return { text: lines(`Balance: ${s.balance} ${s.currency}`, `Shared: ${JSON.stringify(s.shared)}`, `Private: ${JSON.stringify(s.private)}`, s.alerts?.length ? `Alerts: ${s.alerts.map((a: any) => a.message ?? JSON.stringify(a)).join('; ')}` : 'No alerts'), data: s };
      },
    }),
    tool({
      name: 'get_account_usage', description: 'Traffic used per port and slot type over 7, 30 or 90 days.', input: { period: z.enum(['7d', '30d', '90d']).default('30d') },
      async run(a) {
        const u = await get('/v1/account/usage', { period: a.period });
        const shared = u.traffic?.shared, priv = u.traffic?.private;
        return { text: lines(`Usage over ${u.period}: ${u.traffic?.combined?.totalUsedGB ?? 0} GB on ${u.traffic?.combined?.portCount ?? 0} port(s)`, shared && `shared: ${shared.totalUsedGB} GB`, priv && `private: ${priv.totalUsedGB} GB`), data: u };
      },
    }),
    tool({
      name: 'list_ports', description: 'Your proxy ports (host, HTTP/SOCKS5 ports, login, type, status), filtered by type or status.',
      input: { type: slotType.optional(), status: z.string().optional(), limit: z.number().int().min(1).max(100).default(50), page: z.number().int().min(1).default(1) },
      async run(a) {
        const r = await get('/v1/ports', { type: a.type, status: a.status, limit: a.limit, page: a.page });
        return { text: r.total === 0 ? 'No ports.' : lines(`${r.total} port(s) (page ${r.page}/${r.totalPages}):`, ...r.data.map((p: any) => `- ${portLine(p)}`)), data: r };
      },
    }),
    tool({
      name: 'get_port', description: 'One port: connection details, rotation settings, traffic counters.', input: { port_id: portId },
      async run(a) {
        const p = await get(port(a.port_id));
        return { text: lines(portLine(p), `Expires: ${new Date(p.expiresAt).toISOString()}`, `Rotation: ${p.rotationSettings?.enabled ? `every ${p.rotationSettings.intervalMinutes} min` : 'manual'}, ${p.rotationSettings?.rotationCount ?? 0} rotations`), data: p };
      },
    }),
    tool({
      name: 'create_port', description: 'Create a proxy port on a purchased slot (see purchase_port_slots): country required, optionally carrier, city, private. Returns the connection details (the password is shown only here).',
      input: { country, type: slotType.default('shared'), carrier_id: z.string().optional(), city_id: z.string().optional(), os_fingerprint: z.string().optional(), duration_seconds: z.number().int().min(3600).max(90 * 86400).default(30 * 86400).describe('how long the port lives') },
      async run(a) {
        const p = await send('POST', '/v1/ports', { countryId: a.country.toUpperCase(), expiresAt: a.duration_seconds, type: a.type, ...(a.carrier_id ? { carrierId: a.carrier_id } : {}), ...(a.city_id ? { cityId: a.city_id } : {}), ...(a.os_fingerprint ? { osFingerprint: a.os_fingerprint } : {}) });
        const c = connection(p);
        return { text: lines('Port created.', portLine(p), c && `HTTP:   ${c.http}`, c && `SOCKS5: ${c.socks5}`, p.rotationToken && `Rotation URL: ${api.root}/rotate/${p.rotationToken}`), data: { ...p, connection: c } };
      },
    }),
    tool({
      name: 'delete_port', description: 'Delete a port for good; its device slot and account slot are freed.', input: { port_id: portId },
      async run(a) {
        const r = await send('DELETE', port(a.port_id));
        return { text: `Port ${a.port_id} deleted.`, data: { portId: a.port_id, ...(r && typeof r === 'object' ? r : {}) } };
      },
    }),
    tool({
      name: 'update_port_credentials', description: 'New login and/or password for a port (a missing password is generated).', input: { port_id: portId, login: z.string().min(3).max(64).optional(), password: z.string().min(8).max(64).optional() },
      async run(a) {
        const p = await send('PUT', `${port(a.port_id)}/credentials`, { ...(a.login ? { proxyLogin: a.login } : {}), ...(a.password ? { proxyPassword: a.password } : {}) });
        return { text: lines(`Credentials of ${a.port_id} changed: login ${p.proxyLogin}`, p.proxyPassword && `password ${p.proxyPassword}`), data: p };
      },
    }),
    tool({
      name: 'get_os_fingerprint_options', description: 'OS fingerprint options for a port (value to pass to update_os_fingerprint).', input: { port_id: portId },
      async run(a) {
        const r = await get(`${port(a.port_id)}/os-fingerprints`);
        const list: any[] = Array.isArray(r) ? r : r.options ?? r.data ?? [];
        return { text: list.length ? list.map((o) => `${o.value ?? o.id}: ${o.label ?? o.name ?? ''}`).join('\n') : JSON.stringify(r), data: { options: list } };
      },
    }),
    tool({
      name: 'update_os_fingerprint', description: 'Set the OS fingerprint a port presents (see get_os_fingerprint_options).', input: { port_id: portId, os_fingerprint: z.string().min(1) },
      async run(a) {
        const p = await send('PATCH', `${port(a.port_id)}/os-fingerprint`, { osFingerprint: a.os_fingerprint });
        return { text: `Port ${a.port_id}: OS fingerprint ${p.osFingerprint ?? a.os_fingerprint}`, data: p };
      },
    }),
    tool({
      name: 'reconfigure_port', description: 'Move a port to another country, carrier or city, keeping its name and credentials.', input: { port_id: portId, country, carrier_id: z.string().optional(), city_id: z.string().optional() },
      async run(a) {
        const p = await send('POST', `${port(a.port_id)}/reconfigure`, { countryId: a.country.toUpperCase(), ...(a.carrier_id ? { carrierId: a.carrier_id } : {}), ...(a.city_id ? { cityId: a.city_id } : {}) });
        return { text: `Port ${a.port_id} reconfigured: ${portLine(p)}`, data: p };
      },
    }),
    tool({
      name: 'get_port_status', description: 'Is a port online right now (from its device health)?', input: { port_id: portId },
      async run(a) {
        const s = await get(`${port(a.port_id)}/status`);
        return { text: `Port ${a.port_id}: ${s.status} (${s.healthStatus}), checked ${s.lastChecked}`, data: s };
      },
    }),
    tool({
      name: 'get_port_ip', description: 'The public IP a port exits from, measured through its modem.', input: { port_id: portId },
      async run(a) {
        const r = await get(`${port(a.port_id)}/ip`);
        return { text: `Port ${a.port_id} exits from ${r.publicIp ?? r.ip}`, data: r };
      },
    }),
    tool({
      name: 'ping_port', description: 'Fetch an IP echo through the port and time it.', input: { port_id: portId },
      async run(a) {
        const r = await get(`${port(a.port_id)}/ping`);
        return { text: r.success ? `Port ${a.port_id}: ok, ${r.responseTime} ms, IP ${r.ip}` : `Port ${a.port_id}: ping failed${r.error ? ` (${r.error})` : ''}`, data: r };
      },
    }),
    tool({
      name: 'speed_test_port', description: 'Download and upload Mbps through the port (bounded bytes and seconds).', input: { port_id: portId },
      async run(a) {
        const r = await get(`${port(a.port_id)}/speed-test`);
        return { text: `Port ${a.port_id}: ↓ ${r.downloadMbps ?? r.download?.mbps ?? '?'} Mbps, ↑ ${r.uploadMbps ?? r.upload?.mbps ?? '?'} Mbps`, data: r };
      },
    }),
    tool({
      name: 'rotate_port', description: 'Rotate a port to a new IP now (shared: another device, 5-min cooldown; private: airplane-mode reset, 1-min cooldown).', input: { port_id: portId },
      async run(a) {
        const r = await send('POST', `${port(a.port_id)}/rotate`);
        return { text: lines(r.message ?? 'Rotated.', r.oldIp !== undefined && `IP: ${r.oldIp ?? '?'} → ${r.newIp ?? '?'}`, `Rotations so far: ${r.rotationCount}`), data: r };
      },
    }),
    tool({
      name: 'check_rotation_availability', description: 'Can the port rotate now, and if not how long until it can.', input: { port_id: portId },
      async run(a) {
        const r = await get(`${port(a.port_id)}/can-rotate`);
        return { text: r.canRotate ? `Port ${a.port_id} can rotate now (${r.availableDevices ?? '?'} devices available)` : `Port ${a.port_id} cannot rotate yet: ${r.reason ?? ''}${r.nextRotationAt ? ` (next at ${r.nextRotationAt})` : ''}`, data: r };
      },
    }),
    tool({
      name: 'configure_auto_rotation', description: 'Automatic rotation every N minutes (5-1440 shared, 1-1440 private), optionally keeping carrier or city.',
      input: { port_id: portId, enabled: z.boolean().default(true), interval_minutes: z.number().int().min(1).max(1440).default(30), match_carrier: z.boolean().optional(), match_city: z.boolean().optional() },
      async run(a) {
        const r = await send('PUT', `${port(a.port_id)}/rotation-settings`, { enabled: a.enabled, intervalSeconds: a.interval_minutes * 60, ...(a.match_carrier !== undefined ? { matchCarrier: a.match_carrier } : {}), ...(a.match_city !== undefined ? { matchCity: a.match_city } : {}) });
        return { text: r.enabled ? `Port ${a.port_id} rotates every ${r.intervalMinutes} min${r.matchCarrier ? ', same carrier' : ''}${r.matchCity ? ', same city' : ''}` : `Automatic rotation off for ${a.port_id}`, data: r };
      },
    }),
    tool({
      name: 'get_rotation_history', description: 'Past rotations of a port: when, from/to device and IP, trigger (manual, automatic, api_token), outcome.',
      input: { port_id: portId, limit: z.number().int().min(1).max(100).default(20), offset: z.number().int().min(0).default(0) },
      async run(a) {
        const r = await get(`${port(a.port_id)}/rotation-history`, { limit: a.limit, offset: a.offset });
        return { text: r.total === 0 ? `No rotations of ${a.port_id} yet.` : lines(`${r.total} rotation(s):`, ...r.rotations.map((x: any) => `- ${x.createdAt} ${x.triggerType} ${x.success ? 'ok' : 'failed'}: ${x.fromDeviceId ?? '?'} → ${x.toDeviceId ?? '?'}`)), data: r };
      },
    }),
    tool({
      name: 'get_rotation_token_url', description: 'The public rotation link of a port (no other auth needed to call it).', input: { port_id: portId },
      async run(a) {
        const p = await get(port(a.port_id));
        const url = `${api.root}/rotate/${p.rotationToken}`;
        return { text: url, data: { portId: a.port_id, rotationUrl: url, rotationToken: p.rotationToken } };
      },
    }),
    tool({
      name: 'get_pricing', description: 'Prices per GB and slot, volume discounts and your current tier.', input: {},
      async run() {
        const p = await get('/v1/billing/pricing');
        return { text: lines(`Traffic: ${Object.entries(p.traffic ?? {}).map(([k, v]: [string, any]) => `${k} ${v.pricePerGB} ${p.currency}/GB`).join(', ')}`, p.slots && `Slots: ${Object.entries(p.slots).map(([k, v]: [string, any]) => `${k} ${v.pricePerSlot ?? v.price ?? JSON.stringify(v)}`).join(', ')}`, `Discounts: ${(p.volumeDiscounts ?? []).map((d: any) => `${d.discountPercent}% from ${d.minGB} GB`).join(', ') || 'none'}`, `Your tier: ${p.yourTier?.discountPercent ?? 0}% (${p.yourTier?.cumulativePurchasedGB ?? 0} GB bought)`), data: p };
      },
    }),
    tool({
      name: 'calculate_price', description: 'Exact price of N GB with your volume discount, and whether the balance covers it.', input: { traffic_gb: z.number().positive().max(10_000), private: z.boolean().default(false) },
      async run(a) {
        const q = await get('/v1/billing/calculate-price', { amount: a.traffic_gb, isPrivate: a.private });
        return { text: `${q.amountGB} GB ${q.isPrivate ? 'private' : 'shared'}: ${q.totalPrice} ${q.currency} (${q.discountPercent}% off ${q.baseTotal}); balance ${q.balance}, ${q.canAfford ? 'affordable' : 'not enough balance'}`, data: q };
      },
    }),
    tool({
      name: 'purchase_shared_traffic', description: 'Buy traffic (GB) from the account balance; volume discounts apply.', input: { traffic_gb: z.number().positive().max(10_000), private: z.boolean().default(false) },
      async run(a) {
        const r = await send('POST', a.private ? '/v1/billing/purchase-traffic-private' : '/v1/billing/purchase-traffic', { quantityGB: a.traffic_gb });
        return { text: `Bought ${r.quantityGB} GB ${r.category} for ${r.price} USD (${r.discountPercent}% off); balance left ${r.wallet.availableBalance} ${r.wallet.currency}`, data: r };
      },
    }),
    tool({
      name: 'purchase_port_slots', description: 'Buy port slots (monthly) from the account balance; create_port needs a free slot.', input: { quantity: z.number().int().min(1).max(100).default(1), private: z.boolean().default(false) },
      async run(a) {
        const r = await send('POST', a.private ? '/v1/billing/purchase-ports-private' : '/v1/billing/purchase-ports', { quantity: a.quantity });
        return { text: `Bought ${r.quantity} ${r.category} slot(s) for ${r.price} USD, until ${r.expiresAt}; balance left ${r.wallet.availableBalance} ${r.wallet.currency}`, data: r };
      },
    }),
    tool({
      name: 'list_countries_with_devices', description: 'Countries with free devices for ports (private=true counts free private devices).', input: { private: z.boolean().default(false) },
      async run(a) {
        const list = await get('/v1/countries/with-devices', { isPrivate: a.private });
        return { text: list.length ? list.map((c: any) => `${c.code} ${c.name}: ${c.freeDeviceCount} free`).join('\n') : 'No free devices.', data: { countries: list } };
      },
    }),
    tool({
      name: 'list_carriers', description: 'Carriers of a country (with_device=true: only those with a free device); ids go to create_port.', input: { country, with_device: z.boolean().default(true) },
      async run(a) {
        const list = await get(`/v1/carriers/country/${a.country.toUpperCase()}`, { withDevice: a.with_device });
        return { text: list.length ? list.map((c: any) => `${c._id} ${c.name}${c.freeDeviceCount !== undefined ? `: ${c.freeDeviceCount} free` : ''}`).join('\n') : `No carriers in ${a.country}.`, data: { carriers: list } };
      },
    }),
  ];
}
