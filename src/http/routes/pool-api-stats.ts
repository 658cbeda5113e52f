import { Router } from 'express';
import { sql } from 'kysely';
import { checkers } from '../../../adapters/proxy-pool/checkers/registry.ts';
import { parsers } from '../../../adapters/proxy-pool/parsers/registry.ts';
import { lastValidationAt } from '../../../projections/proxy-pool-checks.ts';
import type { PoolContext } from '../../proxy-pool/context.ts';
import { notifierStatus } from '../../proxy-pool/notifications.ts';
import { requirePoolKey } from './pool-api-auth.ts';

/** GET /stats/pool and /stats/plugins (seed 003), and the judge the checkers ask through each proxy. */
export function poolApiStatsRouter(ctx: PoolContext): Router {
  const router = Router();

  // The judge: echoes the request's headers and the address it came from. No auth: proxies call it.
  // The socket's address, never req.ip: the app trusts X-Forwarded-For from loopback, a judge must not.
  router.get('/judge', (req, res) => {
    const remote = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const headers: Record<string, string> = {};
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers[req.rawHeaders[i]!.toLowerCase()] = req.rawHeaders[i + 1]!;
    res.setHeader('cache-control', 'no-store');
    res.json({ remote_address: remote, headers, nonce: typeof req.query.nonce === 'string' ? req.query.nonce.slice(0, 64) : null, method: req.method });
  });

  router.use('/stats', requirePoolKey(ctx));
  router.get('/stats/pool', async (_req, res) => {
    const db = ctx.infra.database.db;
    const count = async (col: string) => Object.fromEntries((await db.selectFrom('pp_proxies').select([sql.ref(col).as('k'), sql<number>`count(*)`.as('n')]).where(sql.ref(col), 'is not', null).groupBy(col).execute()).map((r: any) => [r.k, Number(r.n)]));
    const totals = await db.selectFrom('pp_proxies').select([
      sql<number>`count(*)`.as('total'),
      sql<number | null>`avg(score) filter (where status <> 'unchecked')`.as('avg_score'),
      sql<number | null>`avg(avg_latency_ms) filter (where status = 'active')`.as('avg_latency'),
    ]).executeTakeFirstOrThrow();
    const sources = await db.selectFrom('pp_sources').select([
      sql<number>`count(*)`.as('total'), sql<number>`count(*) filter (where is_active)`.as('active'), sql<Date | null>`max(last_scraped_at)`.as('last'),
    ]).executeTakeFirstOrThrow();
    const byStatus = { active: 0, dead: 0, unchecked: 0, ...(await count('status')) };
    const round = (v: unknown, p: number) => (v === null || v === undefined ? null : Math.round(Number(v) * 10 ** p) / 10 ** p);
    res.json({
      total_proxies: Number(totals.total),
      by_status: byStatus,
      by_protocol: { http: 0, https: 0, socks4: 0, socks5: 0, ...(await count('protocol')) },
      by_anonymity: { transparent: 0, anonymous: 0, elite: 0, ...(await count('anonymity')) },
      avg_score: round(totals.avg_score, 4),
      avg_latency_ms: round(totals.avg_latency, 1),
      sources_active: Number(sources.active),
      sources_total: Number(sources.total),
      last_scrape_at: sources.last ? new Date(sources.last).toISOString() : null,
      last_validation_at: await lastValidationAt(db),
    });
  });

  router.get('/stats/plugins', async (_req, res) => {
    res.json({
      parsers: parsers.map((p) => ({ name: p.name, type: 'SourceParser' })),
      checkers: checkers.map((c) => ({ name: c.name, stage: c.stage, priority: c.priority })),
      notifiers: await notifierStatus(ctx.infra),
    });
  });

  return router;
}
