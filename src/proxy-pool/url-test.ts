import { errorText } from '../../adapters/proxy-pool/checkers/checker.ts';
import { getThrough, type ProxyMode } from '../../adapters/proxy-pool/checkers/tunnel.ts';
import { checkUrlHost, FetchRefused } from '../../adapters/proxy-pool/fetch.ts';
import { DomainError } from '../../domain/shared/errors.ts';
import type { ProxyRow } from '../../projections/proxy-pool-proxies.ts';
import type { PoolContext } from './context.ts';
import { applyFilters } from './queries.ts';

const MODE: Record<string, ProxyMode> = { http: 'forward', https: 'connect', socks4: 'socks4', socks5: 'socks5' };
export const URL_TEST_MAX_COUNT = 20;

/**
 * POST /proxies/test: GET the URL through up to `count` of the best active proxies, in parallel,
 * each bounded by `timeout_seconds`. The URL's host passes the SSRF guard first.
 */
export async function testUrl(ctx: PoolContext, input: { url: string; count: number; timeoutSeconds: number; protocol?: string; country?: string }) {
  let url: URL;
  try { url = new URL(input.url); } catch { throw new DomainError('invalid', 'INVALID_URL', 'url is not a URL'); }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DomainError('invalid', 'INVALID_URL', 'only http and https URLs can be tested');
  try {
    await checkUrlHost(url, { allowedPrivateCidrs: ctx.allowedPrivateCidrs });
  } catch (e) {
    if (e instanceof FetchRefused) throw new DomainError('invalid', 'URL_BLOCKED', e.message);
    throw e;
  }
  const db = ctx.infra.database.db;
  const proxies = (await applyFilters(db.selectFrom('pp_proxies'), { status: 'active', protocol: input.protocol, country: input.country }, ctx.infra.clock.now())
    .selectAll().orderBy('score', 'desc').orderBy('proxy_id').limit(input.count).execute()) as ProxyRow[];
  const results = await Promise.all(proxies.map(async (p) => {
    const started = performance.now();
    try {
      const answer = await getThrough(p, MODE[p.protocol] ?? 'forward', url, input.timeoutSeconds * 1000, { headOnly: true });
      return { proxy_id: p.proxy_id, ip: p.ip, port: p.port, reachable: true, status_code: answer.status, latency_ms: Math.round(performance.now() - started), error: null };
    } catch (e) {
      return { proxy_id: p.proxy_id, ip: p.ip, port: p.port, reachable: false, status_code: null, latency_ms: null, error: errorText(e) };
    }
  }));
  const ok = results.filter((r) => r.reachable).length;
  return { url: url.href, results, success_rate: results.length ? Math.round((ok / results.length) * 1000) / 1000 : 0 };
}
