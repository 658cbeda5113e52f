/**
 * bench:pool — 10,000 listed proxies, a few hundred of them live local ones (one squid and one dante
 * listening on many ports), the rest dead loopback addresses; scraped from a local list and checked by
 * the worker's checker runner until the pool is fully scored. Prints checks/s, the time to a fully
 * scored pool and peak RSS of this process (API + projector + worker), against the issue's targets
 * (≤ 60 s, ≤ 300 MB on 2 cores): ratios below 1 meet them.
 *
 *   npm run bench:pool            (BENCH_POOL_TOTAL, BENCH_POOL_LIVE to change the sizes)
 */
import pino from 'pino';
import { systemClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { startService } from '../src/server.ts';
import { createTestDatabase, postgresAdminUrl } from '../test/support/services.ts';
import { startListServer } from '../test/support/list-server.ts';
import { realProxiesAvailable, startDante, startSquid } from '../test/support/real-proxies.ts';
import { api } from '../test/support/service.ts';

const TOTAL = Number(process.env.BENCH_POOL_TOTAL ?? 10_000);
const LIVE = Number(process.env.BENCH_POOL_LIVE ?? 300);
const TARGET_S = 60;
const TARGET_MB = 300;

async function main() {
  if (!realProxiesAvailable()) throw new Error('bench:pool needs tinyproxy, squid and dante-server (apt-get install -y tinyproxy squid dante-server)');
  const squidPorts = Math.min(120, Math.ceil(LIVE / 2)); // squid listens on at most 128 ports
  const squid = await startSquid(squidPorts);
  const dante = await startDante(5, LIVE - squidPorts);
  const lines: string[] = [...squid.ports.map((p) => `127.0.0.1:${p}`), ...dante.ports.map((p) => `socks5://127.0.0.1:${p}`)];
  // Dead: loopback addresses where nothing listens on port 9 (connection refused at once).
  for (let i = 0; lines.length < TOTAL; i++) lines.push(`127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}:9`);
  const lists = await startListServer({ '/big.txt': { type: 'text/plain', body: lines.join('\n') } });

  const kind = (await postgresAdminUrl()) ? 'postgres' : 'pglite';
  const db = await createTestDatabase(kind);
  const config = loadConfig({
    PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ROLES: 'api,projector,worker',
    POOL_ALLOWED_PRIVATE_CIDRS: '127.0.0.0/8', POOL_CHECK_INTERVAL_MS: '100', POOL_CHECK_CONCURRENCY: process.env.POOL_CHECK_CONCURRENCY ?? '128', POOL_CHECK_TIMEOUT_MS: '3000',
  });
  const service = await startService(config, systemClock, pino({ level: 'silent' }), { database: db.database });
  const url = service.url!;
  try {
    const reg = await api(url, 'POST', '/auth/register', { email: 'bench@example.com', display_name: 'Bench' });
    const bearer = { authorization: `Bearer ${reg.body.api_key.key}` };
    const baseMb = process.resourceUsage().maxRSS / 1024;
    const started = performance.now();
    const src = await api(url, 'POST', '/sources', { url: `${lists.base}/big.txt`, parser_name: 'plaintext', cron_schedule: null }, bearer);
    const scrape = await api(url, 'POST', `/sources/${src.body.id}/scrape`, {}, bearer);
    if (scrape.status !== 200) throw new Error(`scrape failed: ${JSON.stringify(scrape.body)}`);
    const scraped = performance.now();
    let stats: any;
    for (;;) {
      stats = (await api(url, 'GET', '/stats/pool', undefined, bearer)).body;
      if (stats.total_proxies === TOTAL && stats.by_status.unchecked === 0) break;
      if (performance.now() - started > 300_000) throw new Error(`not scored after 300 s: ${JSON.stringify(stats.by_status)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const seconds = (performance.now() - started) / 1000;
    const checkSeconds = (performance.now() - scraped) / 1000;
    const rssMb = process.resourceUsage().maxRSS / 1024;
    console.log(`database ${kind}; ${TOTAL} proxies listed, ${squid.ports.length} squid + ${dante.ports.length} dante live, concurrency ${config.POOL_CHECK_CONCURRENCY}`);
    console.log(`peak RSS before the scrape (service booted): ${baseMb.toFixed(0)} MB`);
    console.log(`scrape: ${scrape.body.proxies_discovered} discovered in ${scrape.body.duration_ms} ms`);
    console.log(`pool: ${JSON.stringify(stats.by_status)} protocols ${JSON.stringify(stats.by_protocol)} anonymity ${JSON.stringify(stats.by_anonymity)}`);
    console.log(`checks/s ${(TOTAL / checkSeconds).toFixed(0)}; fully scored after ${seconds.toFixed(1)} s (target ${TARGET_S} s); peak RSS ${rssMb.toFixed(0)} MB (target ${TARGET_MB} MB)`);
    const ok = seconds <= TARGET_S && rssMb <= TARGET_MB && stats.by_status.active === LIVE;
    console.log(`targets: ${ok ? 'met' : 'NOT met'}${stats.by_status.active !== LIVE ? ` (active ${stats.by_status.active} of ${LIVE} live)` : ''}`);
    console.log(`checks_per_s=${(TOTAL / checkSeconds).toFixed(0)} scored_s=${seconds.toFixed(1)} time_ratio=${(seconds / TARGET_S).toFixed(2)} peak_rss_mb=${rssMb.toFixed(0)} rss_ratio=${(rssMb / TARGET_MB).toFixed(2)}`);
  } finally {
    await service.stop();
    await db.dispose();
    await lists.stop();
    await squid.stop();
    await dante.stop();
  }
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
