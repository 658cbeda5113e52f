import { Router } from 'express';
import { z } from 'zod';
import type { AccountsContext } from '../../accounts/context.ts';
import { closeAllSessions, closeSession, listSessions } from '../../reseller/sessions.ts';
import { stockFeeds } from '../../reseller/stock.ts';
import { authenticate, principalOf, requireScope } from '../auth.ts';
import { sessionView } from '../reseller-views.ts';
import { parse } from '../validate.ts';
import { gatewayAddress } from '../x402-views.ts';

const country = z.string().regex(/^[A-Za-z]{2}$/, 'must be a two-letter ISO 3166-1 code');
/** The SDK's CarrierStockPool: `peer` (its default), `mbl` (the modems) or `all`. */
const pool = z.enum(['peer', 'mbl', 'all']).default('peer');
const token = (what: string) => z.string().trim().min(1).max(64, `${what} is at most 64 characters`);
export const carriersQuery = z.object({ country: country.optional(), pool });
export const citiesQuery = z.object({ country, pool });
export const facetsQuery = z.object({ country, pool, city: token('city').optional(), carrier: token('carrier').optional(), state: token('state').optional() });
export const sessionsQuery = z.object({ pakId: z.string().min(1).max(100).optional() });

/** /v1/gateway/*: public stock (per pool, carrier, city, facets) and incident feeds, and a caller's live pak sessions. */
export function resellerGatewayRouter(ctx: AccountsContext): Router {
  const { infra } = ctx;
  const feeds = stockFeeds(infra);
  const router = Router();

  router.get('/v1/gateway/pool/stock', async (_req, res) => { res.json(await feeds.stock()); });
  router.get('/v1/gateway/pool/stock/carriers', async (req, res) => { res.json(await feeds.carriers(parse(carriersQuery, req.query))); });
  router.get('/v1/gateway/pool/stock/cities', async (req, res) => { res.json(await feeds.cities(parse(citiesQuery, req.query))); });
  router.get('/v1/gateway/pool/stock/facets', async (req, res) => { res.json(await feeds.facets(parse(facetsQuery, req.query))); });
  router.get('/v1/gateway/incidents', async (_req, res) => { res.json(await feeds.incidents()); });

  router.use('/v1/gateway/pool/my-sessions', authenticate(ctx));
  router.get('/v1/gateway/pool/my-sessions', requireScope('ports:read'), async (req, res) => {
    const { pakId } = parse(sessionsQuery, req.query);
    const now = infra.clock.now().getTime();
    const sessions = (await listSessions(infra, principalOf(req).accountId, pakId)).map((s) => sessionView(s, gatewayAddress(infra.config), now));
    res.json({ sessions, count: sessions.length });
  });
  router.delete('/v1/gateway/pool/my-sessions/:sessionKey', requireScope('ports:write'), async (req, res) => {
    const { pakId } = parse(sessionsQuery, req.query);
    const closed = await closeSession(infra, principalOf(req).accountId, String(req.params.sessionKey), pakId);
    res.json(closed ? { success: true, message: 'Session closed; its tunnels were cut' } : { success: false, message: 'Session not found' });
  });
  router.delete('/v1/gateway/pool/my-sessions', requireScope('ports:write'), async (req, res) => {
    const { pakId } = parse(sessionsQuery, req.query);
    const count = await closeAllSessions(infra, principalOf(req).accountId, pakId);
    res.json({ success: true, message: `${count} session(s) closed`, count });
  });

  return router;
}
