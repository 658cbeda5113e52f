import { Router, type Request, type RequestHandler } from 'express';
import { z } from 'zod';
import { paymentResponseHeader } from '../../../adapters/payments/headers.ts';
import { formatUsdc } from '../../../domain/pricing/pricing.ts';
import { findPoolUser, listPoolKeys } from '../../../projections/proxy-pool-accounts.ts';
import { recentCreditTransactions } from '../../../projections/proxy-pool-credits.ts';
import { activeLeasesOf } from '../../../projections/proxy-pool-leases.ts';
import { authenticatePoolKey, createPoolKey, registerPoolUser, revokePoolKey } from '../../proxy-pool/accounts.ts';
import type { PoolContext } from '../../proxy-pool/context.ts';
import { balanceOf, creditPriceMicro, grantCredits, purchaseCredits } from '../../proxy-pool/credits.ts';
import type { X402Context } from '../../x402/context.ts';
import { pricesFromConfig } from '../../x402/prices.ts';
import { ApiError } from '../errors.ts';
import { parse } from '../validate.ts';
import { requireAdminKey } from './admin-devices.ts';
import { paymentHeader, paymentRequired } from './x402-purchase.ts';

export interface PoolUser { user_id: string; email: string; display_name: string; created_at: Date | string; key_id: string }
declare module 'express-serve-static-core' {
  interface Request { poolUser?: PoolUser }
}

/** `Authorization: Bearer pp_…` → req.poolUser, else 401. */
export function requirePoolKey(ctx: PoolContext): RequestHandler {
  return (req, _res, next) => {
    const m = /^Bearer\s+(\S+)$/i.exec(req.header('authorization') ?? '');
    if (!m) return next(new ApiError(401, 'UNAUTHORIZED', 'send your API key as Authorization: Bearer pp_…'));
    authenticatePoolKey(ctx, m[1]!).then((user) => {
      if (!user) return next(new ApiError(401, 'UNAUTHORIZED', 'the API key is not valid or was revoked'));
      req.poolUser = user;
      next();
    }, next);
  };
}

export const poolUserOf = (req: Request): PoolUser => {
  if (!req.poolUser) throw new ApiError(401, 'UNAUTHORIZED', 'an API key is required');
  return req.poolUser;
};

export const registerBody = z.strictObject({ email: z.email().max(254), display_name: z.string().trim().min(1).max(100) });
export const keyBody = z.strictObject({ label: z.string().trim().min(1).max(100).default('default') });
export const credits = z.coerce.number().int().min(1).max(1_000_000);
export const grantBody = z.strictObject({ credits: z.number().int().min(1).max(1_000_000), description: z.string().trim().min(1).max(200).default('Admin grant') });
const iso = (v: Date | string | null) => (v === null ? null : new Date(v).toISOString());

/** POST /auth/register, /auth/keys, /account… (seed 003) and the admin grant. */
export function poolApiAuthRouter(ctx: PoolContext): Router {
  const router = Router();
  const auth = requirePoolKey(ctx);
  const origin = (req: Request) => ({ actor: req.poolUser ? `pp-user:${req.poolUser.user_id}` : 'anonymous', correlationId: req.id });

  router.post('/auth/register', async (req, res) => {
    const body = parse(registerBody, req.body ?? {});
    res.status(201).json(await registerPoolUser(ctx, { email: body.email, displayName: body.display_name }, origin(req)));
  });

  router.post('/auth/keys', auth, async (req, res) => {
    const body = parse(keyBody, req.body ?? {});
    res.status(201).json(await createPoolKey(ctx, poolUserOf(req).user_id, body.label, origin(req)));
  });
  router.get('/auth/keys', auth, async (req, res) => {
    const keys = await listPoolKeys(ctx.infra.database.db, poolUserOf(req).user_id);
    res.json({ items: keys.map((k) => ({ id: k.key_id, prefix: k.prefix, label: k.label, created_at: iso(k.created_at), revoked_at: iso(k.revoked_at), is_active: k.revoked_at === null })) });
  });
  router.delete('/auth/keys/:keyId', auth, async (req, res) => {
    await revokePoolKey(ctx, poolUserOf(req).user_id, String(req.params.keyId), origin(req));
    res.status(204).end();
  });

  router.get('/account', auth, async (req, res) => {
    const u = poolUserOf(req);
    res.json({ id: u.user_id, email: u.email, display_name: u.display_name, created_at: iso(u.created_at), credits: await balanceOf(ctx, u.user_id) });
  });
  router.get('/account/credits', auth, async (req, res) => {
    const u = poolUserOf(req);
    res.json({ balance: await balanceOf(ctx, u.user_id), recent_transactions: await recentCreditTransactions(ctx.infra.database.db, u.user_id) });
  });
  router.get('/account/leases', auth, async (req, res) => {
    const leases = await activeLeasesOf(ctx.infra.database.db, poolUserOf(req).user_id, ctx.infra.clock.now());
    res.json({ items: leases.map((l) => ({ lease_id: l.lease_id, proxy_id: l.proxy_id, proxy: typeof l.proxy === 'string' ? JSON.parse(l.proxy) : l.proxy, leased_at: iso(l.leased_at), expires_at: iso(l.expires_at) })) });
  });

  const x402: X402Context = { infra: ctx.infra, prices: pricesFromConfig(ctx.infra.config), payments: ctx.payments };
  router.post('/account/credits/purchase', auth, async (req, res) => {
    const u = poolUserOf(req);
    const n = parse(credits, req.query.credits ?? (req.body as { credits?: unknown } | undefined)?.credits);
    const header = paymentHeader(req);
    if (!header) {
      return paymentRequired(x402, req, res, creditPriceMicro(ctx, n), `${n} proxy-pool credits`, { order: { credits: n, pricePerCredit: formatUsdc(creditPriceMicro(ctx, 1)) } });
    }
    const bought = await purchaseCredits(ctx, u.user_id, n, header, origin(req));
    res.setHeader('PAYMENT-RESPONSE', paymentResponseHeader(bought.collected));
    res.json({ credits_added: n, balance: bought.balance, price: formatUsdc(bought.priceMicro), priceMicro: bought.priceMicro.toString(), payment: { network: bought.payment.network, transaction: bought.payment.transaction, payer: bought.payment.payer } });
  });

  router.post('/v1/admin/pool/users/:userId/credits', requireAdminKey(ctx.infra.config.ADMIN_API_KEY), async (req, res) => {
    const body = parse(grantBody, req.body ?? {});
    const userId = String(req.params.userId);
    if (!(await findPoolUser(ctx.infra.database.db, userId))) throw new ApiError(404, 'USER_NOT_FOUND', 'no proxy-pool user with this id');
    const granted = await grantCredits(ctx, userId, body.credits, body.description, { actor: 'admin', correlationId: req.id });
    res.json({ user_id: userId, credits_added: body.credits, balance: granted.balance });
  });

  return router;
}
