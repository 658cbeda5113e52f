import { z } from 'zod';
import type { ApiClient } from './api.ts';
import type { SessionCache } from './session-cache.ts';
import { lines, tool, type Tool } from './tool.ts';
import type { AgentWallet } from './wallet.ts';

/** Reference, connection-string utilities (seed 000 names) and the pool gateway bought with x402. */

const creds = {
  session_id: z.string().uuid().optional().describe('a proxy bought in this MCP session (default the last)'),
  host: z.string().optional(), port: z.number().int().optional(), username: z.string().optional(), password: z.string().optional(),
};

function formats(host: string, httpPort: number, socksPort: number, username: string, password: string) {
  const http = `http://${username}:${password}@${host}:${httpPort}`;
  return {
    http, socks5: `socks5://${username}:${password}@${host}:${socksPort}`,
    curl: `curl -x ${http} https://api.ipify.org`,
    python: `requests.get("https://api.ipify.org", proxies={"http": "${http}", "https": "${http}"})`,
    node: `fetch("https://api.ipify.org", { dispatcher: new (require("undici").ProxyAgent)("${http}") })`,
    env: `HTTP_PROXY=${http} HTTPS_PROXY=${http}`,
  };
}

export function miscTools(api: ApiClient, wallet: AgentWallet | null, cache: SessionCache): Tool[] {
  const resolve = (a: { session_id?: string; host?: string; port?: number; username?: string; password?: string }) => {
    if (a.host && a.port && a.username && a.password) return { host: a.host, httpPort: a.port, socksPort: a.port, username: a.username, password: a.password };
    const s = cache.get(a.session_id);
    if (!s?.proxy) throw new Error('give host, port, username and password, or buy a proxy in this MCP session first');
    return s.proxy;
  };
  const poolToken = (t?: string) => {
    const token = t ?? lastPoolToken;
    if (!token) throw new Error('give the session_token of a pool purchase (or buy one here with buy_pool_access)');
    return { 'x-session-token': token };
  };
  let lastPoolToken: string | undefined;

  return [
    tool({
      name: 'list_available_countries', description: 'Countries with free devices, per tier.', input: { tier: z.enum(['shared', 'private']).optional() },
      async run(a) {
        const list = await api.get('/v1/x402/countries', { tier: a.tier });
        return { text: lines(...list.map((c: any) => `${c.code} ${c.name}: ${c.availableDevices} devices (${c.tier})`)) || 'No stock right now.', data: { countries: list } };
      },
    }),
    tool({
      name: 'get_proxy_connection_string', description: 'A ready connection string: http://user:pass@host:port, socks5://…, or a curl command.',
      input: { ...creds, format: z.enum(['http', 'socks5', 'curl']).default('http') },
      async run(a) {
        const p = resolve(a);
        const f = formats(p.host, p.httpPort, p.socksPort, p.username, p.password);
        return { text: f[a.format], data: { format: a.format, value: f[a.format] } };
      },
    }),
    tool({
      name: 'get_all_proxy_formats', description: 'Every format at once: HTTP, SOCKS5, curl, Python requests, Node fetch, environment variables.', input: creds,
      async run(a) {
        const p = resolve(a);
        const f = formats(p.host, p.httpPort, p.socksPort, p.username, p.password);
        return { text: Object.entries(f).map(([k, v]) => `${k}: ${v}`).join('\n'), data: f };
      },
    }),
    tool({
      name: 'get_pool_pricing', description: 'Pool gateway (shared modem pool, any country per connection) price per GB and countries.', input: {},
      async run() {
        const p = await api.get('/v1/x402/pool/pricing');
        const t = p.tiers[0];
        return { text: lines(`Pool ${t.tier}: ${t.perGB} USDC/GB`, `Countries: ${t.countries.map((c: any) => c.code).join(', ') || 'none online'}`, `Gateway: ${p.gateway.host}:${p.gateway.httpPort} (HTTP), :${p.gateway.socksPort} (SOCKS5)`), data: p };
      },
    }),
    tool({
      name: 'buy_pool_access', description: 'Buy pool gateway traffic with USDC from the wallet; returns the psx_ username and password.',
      input: { country: z.string().regex(/^[A-Za-z]{2}$/).default('us'), traffic_gb: z.number().positive().default(1) },
      async run(a) {
        if (!wallet) throw new Error('no wallet: set AGENT_WALLET_KEY');
        const r = await api.call('GET', '/v1/x402/pool', { query: { country: a.country, traffic: a.traffic_gb }, via: await wallet.payingFetch() });
        lastPoolToken = r.sessionToken;
        return { text: lines(`Pool access bought: ${r.traffic.totalGB} GB.`, `HTTP: ${r.connection.http}`, `Sticky: ${r.connection.sticky}`, `Username grammar: ${r.connection.grammar}`, `Session token: ${r.sessionToken}`), data: r };
      },
    }),
    tool({
      name: 'get_pool_usage', description: 'Pool traffic used and left, bytes and connections.', input: { session_token: z.string().optional() },
      async run(a) {
        const u = await api.get('/v1/x402/manage/pool/usage', undefined, poolToken(a.session_token));
        return { text: `Pool ${u.accountId}: ${u.traffic.usedGB}/${u.traffic.totalGB} GB used, ${u.connections} connections`, data: u };
      },
    }),
  ];
}
