import { Router, type Request } from 'express';
import { z } from 'zod';
import { ANONYMITIES } from '../../../domain/proxy-pool/proxies.ts';
import { LEASE_DEFAULT_SECONDS, LEASE_MAX_SECONDS } from '../../../domain/proxy-pool/leases.ts';
import { PROTOCOLS } from '../../../domain/proxy-pool/sources.ts';
import { recentChecks } from '../../../projections/proxy-pool-checks.ts';
import { findProxy } from '../../../projections/proxy-pool-proxies.ts';
import type { PoolContext } from '../../proxy-pool/context.ts';
import { acquireLease, releaseLease } from '../../proxy-pool/leases.ts';
import { defaultOrder, listProxies, proxyView } from '../../proxy-pool/queries.ts';
import { testUrl, URL_TEST_MAX_COUNT } from '../../proxy-pool/url-test.ts';
import { ApiError } from '../errors.ts';
import { parse } from '../validate.ts';
import { poolUserOf, requirePoolKey } from './pool-api-auth.ts';

const country = z.string().regex(/^[A-Za-z]{2}$/, 'must be an ISO 3166-1 alpha-2 code').transform((c) => c.toUpperCase());
const filters = {
  protocol: z.enum(PROTOCOLS).optional(),
  anonymity: z.enum(ANONYMITIES).optional(),
  country: country.optional(),
  min_score: z.coerce.number().min(0).max(1).optional(),
};
export const listQuery = z.strictObject({
  ...filters,
  status: z.enum(['active', 'dead', 'unchecked']).optional(),
  max_latency_ms: z.coerce.number().min(0).optional(),
  min_uptime_pct: z.coerce.number().min(0).max(100).optional(),
  verified_within_minutes: z.coerce.number().int().min(1).max(525_600).optional(),
  sort: z.enum(['score', 'latency', 'uptime', 'last_checked']).default('score'),
  order: z.enum(['asc', 'desc']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional(),
});
export const acquireBody = z.strictObject({
  protocol: z.enum(PROTOCOLS).optional(),
  anonymity: z.enum(ANONYMITIES).optional(),
  country: country.optional(),
  min_score: z.number().min(0).max(1).optional(),
  lease_duration_seconds: z.number().int().min(1).max(LEASE_MAX_SECONDS).default(LEASE_DEFAULT_SECONDS),
});
export const testBody = z.strictObject({
  url: z.string().min(1).max(2000),
  count: z.number().int().min(1).max(URL_TEST_MAX_COUNT).default(5),
  timeout_seconds: z.number().int().min(1).max(30).default(10),
  protocol: z.enum(PROTOCOLS).optional(),
  country: country.optional(),
});
export const uuid = z.string().regex(/^[0-9a-f-]{36}$/, 'is not an id');

/** GET /proxies, /proxies/{id}, leases and the URL test (seed 003). */
export function poolApiProxiesRouter(ctx: PoolContext): Router {
  const router = Router();
  router.use('/proxies', requirePoolKey(ctx));
  const origin = (req: Request) => ({ actor: `pp-user:${poolUserOf(req).user_id}`, correlationId: req.id });

  router.get('/proxies', async (req, res) => {
    const q = parse(listQuery, req.query);
    const { sort, limit, cursor, order, ...f } = q;
    const page = await listProxies(ctx.infra.database.db, f, sort, order ?? defaultOrder(sort), limit, cursor, ctx.infra.clock.now());
    res.json({ items: page.rows.map(proxyView), next_cursor: page.next_cursor, total_count: page.total_count });
  });

  router.post('/proxies/acquire', async (req, res) => {
    const b = parse(acquireBody, req.body ?? {});
    const { lease_duration_seconds, ...f } = b;
    res.json(await acquireLease(ctx, poolUserOf(req).user_id, f, lease_duration_seconds, origin(req)));
  });

  router.post('/proxies/acquire/:leaseId/release', async (req, res) => {
    res.json(await releaseLease(ctx, poolUserOf(req).user_id, parse(uuid, req.params.leaseId), origin(req)));
  });

  router.post('/proxies/test', async (req, res) => {
    const b = parse(testBody, req.body ?? {});
    res.json(await testUrl(ctx, { url: b.url, count: b.count, timeoutSeconds: b.timeout_seconds, protocol: b.protocol, country: b.country }));
  });

  router.get('/proxies/:id', async (req, res) => {
    const id = parse(uuid, req.params.id);
    const p = await findProxy(ctx.infra.database.db, id);
    if (!p) throw new ApiError(404, 'PROXY_NOT_FOUND', `no proxy ${id}`);
    res.json({ proxy: proxyView(p), recent_checks: await recentChecks(ctx.infra.database.db, id) });
  });

  return router;
}
