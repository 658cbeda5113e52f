import { z } from 'zod';
import type { ApiClient } from './api.ts';
import type { SessionCache } from './session-cache.ts';
import { lines, tool, type Tool } from './tool.ts';
import type { AgentWallet } from './wallet.ts';

/** x402 tools, named as in seed 000's "x402 Auto" and "x402 Session" tables. */

const country = z.string().regex(/^[A-Za-z]{2}$/).describe('ISO 3166-1 alpha-2 country code, e.g. US');
const tier = z.enum(['shared', 'private']).optional().describe('shared (default) or private device');
const sessionId = z.string().uuid().optional().describe('session id; default the last proxy bought in this conversation');
const sessionToken = z.string().optional().describe('x402s_… token from the purchase; default the last proxy bought here');

const proxyUrls = (p: { host: string; httpPort: number; socksPort: number; username: string; password: string }) => ({
  http: `http://${p.username}:${p.password}@${p.host}:${p.httpPort}`,
  socks5: `socks5://${p.username}:${p.password}@${p.host}:${p.socksPort}`,
});

export function x402Tools(api: ApiClient, wallet: AgentWallet | null, cache: SessionCache): Tool[] {
  const needWallet = () => {
    if (!wallet) throw new Error('no wallet: set AGENT_WALLET_KEY (a Base private key holding USDC) for tools that pay');
    return wallet;
  };
  const cached = (id?: string) => {
    const s = cache.get(id);
    if (!s) throw new Error(id ? `session ${id} was not bought in this MCP session; pass its token or id explicitly` : 'no proxy bought yet in this MCP session: call x402_get_proxy first');
    return s;
  };
  const tokenOf = (token?: string) => token ?? cached().sessionToken;
  const tokenHeader = (token?: string) => ({ 'x-session-token': tokenOf(token) });

  return [
    tool({
      name: 'x402_get_proxy',
      description: 'Buy a dedicated mobile proxy with USDC from the configured wallet (x402: pays, waits for settlement, returns credentials). Pay per GB; duration is free.',
      input: { country, traffic_gb: z.number().positive().max(1000).default(1).describe('GB of traffic to buy'), duration_hours: z.number().int().min(1).max(720).default(24), tier, carrier: z.string().optional() },
      async run(a) {
        const w = needWallet();
        const body = await api.call('GET', '/v1/x402/proxy', { query: { country: a.country, traffic: a.traffic_gb, duration: a.duration_hours * 3600, tier: a.tier, carrier: a.carrier }, via: await w.payingFetch() });
        const proxy = body.session?.proxy ?? null;
        cache.add({ id: body.sessionId, sessionToken: body.sessionToken, rotationUrl: body.rotationUrl ?? null, proxy, expiresAt: body.expiresAt, country: body.country });
        const urls = proxy ? proxyUrls(proxy) : null;
        return {
          text: lines('Proxy purchased.', urls && `HTTP:   ${urls.http}`, urls && `SOCKS5: ${urls.socks5}`, `Session: ${body.sessionId} (token ${body.sessionToken})`,
            `Country: ${body.country}  Traffic: ${body.trafficGB} GB  Expires: ${body.expiresAt}`, `Paid: ${body.payment.amount} USDC on ${body.payment.network} (tx ${body.payment.transaction})`,
            body.rotationUrl && `Rotation URL: ${body.rotationUrl}`, body.portAllocationFailed && `No device was free: ${body.hint}`),
          data: { sessionId: body.sessionId, sessionToken: body.sessionToken, proxy, connection: urls, expiresAt: body.expiresAt, rotationUrl: body.rotationUrl ?? null, payment: body.payment, session: body.session },
        };
      },
    }),
    tool({
      name: 'x402_get_pricing', description: 'Current price for a purchase (per GB; duration is free) and the rates per tier.',
      input: { traffic_gb: z.number().positive().default(1), tier },
      async run(a) {
        const [pricing, quote] = await Promise.all([api.get('/v1/x402/pricing'), api.get('/v1/x402/calculate', { traffic: a.traffic_gb, tier: a.tier })]);
        return {
          text: lines(`${a.traffic_gb} GB ${quote.breakdown.tier}: ${quote.cost} USDC`, `Rates: shared ${pricing.shared.perGB} USDC/GB, private ${pricing.private.perGB} USDC/GB; minimum ${pricing.minTrafficGB} GB; duration free`, `Networks: ${pricing.networks.join(', ')}`),
          data: { quote, pricing },
        };
      },
    }),
    tool({
      name: 'x402_wallet_balance', description: 'USDC balance of the configured wallet on Base.', input: {},
      async run() {
        const w = needWallet();
        const b = await w.balance();
        const usdc = (Number(b.micro) / 1e6).toFixed(2);
        return { text: `Wallet ${w.address}: ${usdc} USDC on ${b.network}`, data: { address: w.address, usdc, usdcMicro: b.micro.toString(), network: b.network, asset: b.asset } };
      },
    }),
    tool({
      name: 'x402_list_sessions', description: 'Sessions the configured wallet paid for.', input: { status: z.enum(['active', 'expired', 'all']).default('active') },
      async run(a) {
        const w = needWallet();
        const r = await api.get(`/v1/x402/sessions/wallet/${w.address}`, { status: a.status });
        return { text: r.count === 0 ? `No ${a.status} sessions for ${w.address}.` : lines(`${r.count} ${a.status} session(s):`, ...r.sessions.map((s: any) => `- ${s.sessionId} ${s.country} ${s.status}, ${s.traffic.remainingGB} GB left, expires ${s.expiresAt}`)), data: r };
      },
    }),
    tool({
      name: 'x402_check_session', description: 'Status of a session: traffic used and left, expiry.', input: { session_id: sessionId },
      async run(a) {
        const id = a.session_id ?? cached().id;
        const s = await api.get(`/v1/x402/sessions/${id}/status`);
        return { text: lines(`Session ${s.id}: ${s.status}`, `Location: ${s.location.country}`, `Traffic: ${s.traffic.usedGB} of ${s.traffic.allowedGB} GB used (${s.traffic.percentUsed}%), ${s.traffic.remainingGB} GB left`, `Expires: ${s.expiresAt}`), data: s };
      },
    }),
    tool({
      name: 'x402_rotate_ip', description: 'New IP for a proxy bought here, with its rotation link (no payment; shared ports once every 5 minutes).',
      input: { session_id: sessionId, rotation_token: z.string().optional().describe('rotation token from a purchase elsewhere') },
      async run(a) {
        const path = a.rotation_token ? `/rotate/${a.rotation_token}` : new URL(cached(a.session_id).rotationUrl ?? '', api.root).pathname;
        const r = await api.get(path);
        return { text: lines('IP rotated.', `Port: ${r.portId}`, `Next rotation possible at ${r.nextRotationAt}`), data: r };
      },
    }),
    tool({
      name: 'x402_extend_session', description: 'Extend a session by hours (free) with the minimum traffic or traffic_gb more (paid from the wallet).',
      input: { session_id: sessionId, additional_hours: z.number().int().min(1).max(720).default(1), traffic_gb: z.number().positive().optional() },
      async run(a) {
        const w = needWallet();
        const id = a.session_id ?? cached().id;
        const r = await api.call('POST', `/v1/x402/sessions/${id}/extend`, { query: { hours: a.additional_hours, traffic: a.traffic_gb }, via: await w.payingFetch() });
        return { text: lines(`Session ${id} extended by ${a.additional_hours} h and ${r.addedTrafficGB} GB.`, `New expiry: ${r.expiresAt}`, r.payment && `Paid ${r.payment.amount} USDC (tx ${r.payment.transaction})`), data: r };
      },
    }),
    tool({
      name: 'x402_list_countries', description: 'Countries with free devices now.', input: {},
      async run() {
        const list = await api.get('/v1/countries');
        return { text: list.length ? lines(`${list.length} countries:`, ...list.map((c: any) => `${c.code}  ${c.name} (${c.availableDevices} devices)`)) : 'No country has a free device right now.', data: { countries: list } };
      },
    }),
    tool({
      name: 'x402_list_cities', description: 'Cities with devices in a country.', input: { country },
      async run(a) {
        const list = await api.get('/v1/cities', { country: a.country });
        return { text: list.length ? lines(`Cities in ${a.country.toUpperCase()}:`, ...list.map((c: any) => `- ${c.name} (${c.freeDeviceCount} free)`)) : `No cities listed for ${a.country.toUpperCase()}; buy without a city.`, data: { cities: list } };
      },
    }),
    tool({
      name: 'x402_list_carriers', description: 'Mobile carriers with devices in a country.', input: { country },
      async run(a) {
        const list = await api.get('/v1/carriers', { country: a.country });
        return { text: list.length ? lines(`Carriers in ${a.country.toUpperCase()}:`, ...list.map((c: any) => `- ${c.name} (${c.freeDeviceCount} free)`)) : `No carriers in ${a.country.toUpperCase()}.`, data: { carriers: list } };
      },
    }),
    tool({
      name: 'x402_service_status', description: 'Is the x402 service up, taking payments, and how much stock it has.', input: {},
      async run() {
        const [health, status] = await Promise.all([api.get('/v1/x402/health'), api.get('/v1/x402/status')]);
        return { text: lines(`API: ${health.status === 'ok' ? 'online' : 'offline'}; payments ${health.enabled ? 'enabled' : 'disabled'}`, `Devices: ${status.devices.available} free of ${status.devices.online} online in ${status.countries} countries`, `Networks: ${status.networks.join(', ') || 'none'}`, wallet && `Wallet: ${wallet.address}`), data: { health, status, wallet: wallet?.address ?? null } };
      },
    }),
    tool({
      name: 'get_x402_session', description: 'Full session details with its ports and payments (session token).', input: { session_token: sessionToken },
      async run(a) {
        const s = await api.get('/v1/x402/manage/session', undefined, tokenHeader(a.session_token));
        return { text: lines(`Session ${s.sessionId}: ${s.status}, ${s.country}, expires ${s.expiresAt}`, `Traffic: ${s.traffic.usedGB}/${s.traffic.totalGB} GB`, `Ports: ${s.ports.length}; replacements left ${s.replacementsRemaining}`), data: s };
      },
    }),
    tool({
      name: 'list_x402_ports', description: 'Ports of a session and whether they are online.', input: { session_token: sessionToken },
      async run(a) {
        const r = await api.get('/v1/x402/manage/ports', undefined, tokenHeader(a.session_token));
        return { text: lines(`${r.ports.length} port(s):`, ...r.ports.map((p: any) => `- ${p.portId} ${p.status} ${p.online ? 'online' : 'offline'} ${p.username}@${p.host}:${p.httpPort}`)), data: r };
      },
    }),
    tool({
      name: 'get_x402_port_status', description: 'One port: online, latency, whether it can be replaced.', input: { port_id: z.string(), session_token: sessionToken },
      async run(a) {
        const p = await api.get(`/v1/x402/manage/ports/${encodeURIComponent(a.port_id)}/status`, undefined, tokenHeader(a.session_token));
        return { text: `Port ${p.portId}: ${p.status}, ${p.online ? 'online' : 'offline'}${p.latencyMs !== null ? `, ${p.latencyMs} ms` : ''}${p.replaceable ? ' (replaceable)' : ''}`, data: p };
      },
    }),
    tool({
      name: 'get_sessions_by_wallet', description: 'All sessions a wallet paid for (no secrets).', input: { wallet: z.string(), status: z.enum(['active', 'expired', 'all']).default('all') },
      async run(a) {
        const r = await api.get(`/v1/x402/sessions/wallet/${a.wallet}`, { status: a.status });
        return { text: `${r.count} session(s) for ${a.wallet}`, data: r };
      },
    }),
    tool({
      name: 'get_session_status', description: 'Quick status of a session by id: active or expired, traffic left.', input: { session_id: z.string().uuid() },
      async run(a) {
        const s = await api.get(`/v1/x402/session/${a.session_id}`);
        return { text: `Session ${s.sessionId}: ${s.status}, ${s.traffic.remainingGB} GB left, expires ${s.expiresAt}`, data: s };
      },
    }),
    tool({
      name: 'replace_x402_port', description: 'Replace an offline port with one on another device (free, at most 3 per session).', input: { port_id: z.string().optional(), country: country.optional(), session_token: sessionToken },
      async run(a) {
        const r = await api.post('/v1/x402/manage/ports/replace', { ...(a.port_id ? { portId: a.port_id } : {}), ...(a.country ? { country: a.country } : {}) }, tokenHeader(a.session_token));
        return { text: lines(`Port ${r.replacedPortId} replaced by ${r.port.portId}.`, `HTTP: ${r.port.connection.http}`, `Replacements left: ${r.replacementsRemaining}`), data: r };
      },
    }),
    tool({
      name: 'calculate_x402_topup', description: 'What a top-up would cost (traffic is paid, duration is free).', input: { add_traffic_gb: z.number().min(0).optional(), add_duration_seconds: z.number().int().min(0).optional(), session_token: sessionToken },
      async run(a) {
        const q = await api.get('/v1/x402/manage/session/topup/calculate', { addTrafficGB: a.add_traffic_gb, addDurationSeconds: a.add_duration_seconds }, tokenHeader(a.session_token));
        return { text: `Top-up of ${q.addTrafficGB} GB and ${q.addDurationSeconds} s: ${q.cost} USDC; new expiry ${q.newExpiresAt}`, data: q };
      },
    }),
    tool({
      name: 'topup_x402_session', description: 'Add traffic (paid from the wallet) and/or duration (free) to a session.', input: { add_traffic_gb: z.number().min(0).optional(), add_duration_seconds: z.number().int().min(0).optional(), session_token: sessionToken },
      async run(a) {
        const body = { ...(a.add_traffic_gb !== undefined ? { addTrafficGB: a.add_traffic_gb } : {}), ...(a.add_duration_seconds !== undefined ? { addDurationSeconds: a.add_duration_seconds } : {}) };
        const via = a.add_traffic_gb ? await needWallet().payingFetch() : undefined;
        const r = await api.call('POST', '/v1/x402/manage/session/topup', { body, headers: tokenHeader(a.session_token), ...(via ? { via } : {}) });
        return { text: lines(`Topped up ${r.addedTrafficGB} GB and ${r.addedDurationSeconds} s for ${r.cost} USDC.`, `Expires: ${r.expiresAt}`), data: r };
      },
    }),
  ];
}
