import { z } from 'zod';
import type { ApiClient } from './api.ts';
import { lines, tool, type Tool } from './tool.ts';

/** The proxy pool (seed 003: scraped and checked public proxies) with a pp_ key. */

const protocol = z.enum(['http', 'https', 'socks4', 'socks5']);
const anonymity = z.enum(['transparent', 'anonymous', 'elite']);
const country = z.string().regex(/^[A-Za-z]{2}$/).describe('ISO 3166-1 alpha-2 country code');

const proxyLine = (p: any) => `${p.protocol}://${p.ip}:${p.port} ${p.country ?? '??'} ${p.anonymity ?? '?'} score ${p.score ?? '?'}, ${p.avg_latency_ms ?? '?'} ms, ${p.status}`;

export function proxyPoolTools(api: ApiClient, poolKey: string | undefined): Tool[] {
  const auth = () => {
    if (!poolKey) throw new Error('no proxy-pool key: set PROXY_POOL_API_KEY (a pp_… key from POST /auth/register) for proxy_pool tools');
    return { authorization: `Bearer ${poolKey}` };
  };
  let lastLease: string | undefined;

  return [
    tool({
      name: 'proxy_pool_list_proxies', description: 'Checked proxies of the pool, filtered (protocol, anonymity, country, score, latency, uptime, freshness) and sorted.',
      input: {
        protocol: protocol.optional(), anonymity: anonymity.optional(), country: country.optional(), min_score: z.number().min(0).max(1).optional(),
        status: z.enum(['active', 'dead', 'unchecked']).optional(), max_latency_ms: z.number().int().positive().optional(), min_uptime_pct: z.number().min(0).max(100).optional(),
        verified_within_minutes: z.number().int().positive().optional(), sort: z.enum(['score', 'latency', 'uptime', 'last_checked']).optional(), limit: z.number().int().min(1).max(100).default(20), cursor: z.string().optional(),
      },
      async run(a) {
        const r = await api.get('/proxies', { ...a, country: a.country?.toUpperCase() }, auth());
        return { text: r.items.length ? lines(`${r.items.length} of ${r.total_count} proxies:`, ...r.items.map((p: any) => `- ${p.id} ${proxyLine(p)}`), r.next_cursor && `next cursor: ${r.next_cursor}`) : 'No proxy matches.', data: r };
      },
    }),
    tool({
      name: 'proxy_pool_get_proxy', description: 'One pool proxy and its recent checks.', input: { proxy_id: z.string().uuid() },
      async run(a) {
        const p = await api.get(`/proxies/${a.proxy_id}`, undefined, auth());
        return { text: proxyLine(p.proxy ?? p), data: p };
      },
    }),
    tool({
      name: 'proxy_pool_acquire', description: 'Lease the best matching pool proxy for a while (costs one credit); returns its address.',
      input: { protocol: protocol.optional(), anonymity: anonymity.optional(), country: country.optional(), min_score: z.number().min(0).max(1).optional(), lease_duration_seconds: z.number().int().min(30).max(86_400).default(300) },
      async run(a) {
        const r = await api.post('/proxies/acquire', { ...a, ...(a.country ? { country: a.country.toUpperCase() } : {}) }, auth());
        lastLease = r.lease_id;
        const url = `${r.proxy.protocol}://${r.proxy.ip}:${r.proxy.port}`;
        return { text: lines(`Leased ${url} (${r.proxy.country ?? '??'}, ${r.proxy.anonymity}) until ${r.expires_at}.`, `Lease: ${r.lease_id}`, `Credits left: ${r.credits_remaining}`), data: { ...r, url } };
      },
    }),
    tool({
      name: 'proxy_pool_release', description: 'Give a lease back early (default the last lease taken here).', input: { lease_id: z.string().uuid().optional() },
      async run(a) {
        const id = a.lease_id ?? lastLease;
        if (!id) throw new Error('give the lease_id (or acquire one here first)');
        const r = await api.post(`/proxies/acquire/${id}/release`, undefined, auth());
        return { text: `Lease ${id} released.`, data: { leaseId: id, ...(r && typeof r === 'object' ? r : {}) } };
      },
    }),
    tool({
      name: 'proxy_pool_stats', description: 'Pool totals by status, protocol and anonymity; sources and last scrape/validation.', input: {},
      async run() {
        const s = await api.get('/stats/pool', undefined, auth());
        return { text: lines(`${s.total_proxies} proxies: ${Object.entries(s.by_status).map(([k, v]) => `${v} ${k}`).join(', ')}`, `Protocols: ${Object.entries(s.by_protocol).map(([k, v]) => `${k} ${v}`).join(', ')}`, `Anonymity: ${Object.entries(s.by_anonymity).map(([k, v]) => `${k} ${v}`).join(', ')}`, `Sources: ${s.sources_active}/${s.sources_total} active; last scrape ${s.last_scrape_at ?? 'never'}`), data: s };
      },
    }),
    tool({
      name: 'proxy_pool_account', description: 'Your proxy-pool account: credits, recent credit movements and active leases.', input: {},
      async run() {
        const [me, credits, leases] = await Promise.all([api.get('/account', undefined, auth()), api.get('/account/credits', undefined, auth()), api.get('/account/leases', undefined, auth())]);
        const active: any[] = Array.isArray(leases) ? leases : leases.items ?? leases.leases ?? [];
        return { text: lines(`${me.email}: ${credits.balance} credits`, `${active.length} active lease(s)`, ...credits.recent_transactions.slice(0, 5).map((t: any) => `- ${t.created_at} ${t.kind} ${t.amount}`)), data: { account: me, credits, leases: active } };
      },
    }),
  ];
}
