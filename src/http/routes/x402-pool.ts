import { Router, type Request } from 'express';
import { z } from 'zod';
import { paymentResponseHeader } from '../../../adapters/payments/headers.ts';
import { countryName } from '../../../domain/fleet/countries.ts';
import { formatGb, formatUsdc, parseTrafficGb } from '../../../domain/pricing/pricing.ts';
import { findPoolAccountByTokenHash, type PoolAccountRow } from '../../../projections/pool-accounts.ts';
import { onlineModemCounts } from '../../../projections/pool-stock.ts';
import { onlinePeers } from '../../peers/presence.ts';
import type { X402Context } from '../../x402/context.ts';
import { poolPriceMicro, purchasePoolAccess, regeneratePoolPassword, topUpPoolAccess } from '../../x402/pool.ts';
import { sha256Hex } from '../../x402/secrets.ts';
import { ApiError } from '../errors.ts';
import { parse } from '../validate.ts';
import { gatewayAddress, paymentView, trafficView } from '../x402-views.ts';
import { paymentHeader, paymentRequired } from './x402-purchase.ts';

export const poolQuery = z.object({
  tier: z.literal('mbl', { message: 'the only pool tier is mbl (production modems)' }).default('mbl'),
  country: z.string().regex(/^[A-Za-z]{2}$/, 'must be a two-letter ISO 3166-1 code').default('us'),
  traffic: z.string().default('1'),
});
export const poolTopupBody = z.strictObject({ addTrafficGB: z.union([z.number().positive().max(1e6).transform(String), z.string()]) });

/** Countries where the pool has online modems or peers now (pool traffic does not take device slots; `-peer-` and `-any-` reach peers). */
async function poolCountries(ctx: X402Context): Promise<Array<{ code: string; onlineDevices: number; onlinePeers: number }>> {
  // the gateway's own eligibility (pool-scores): a registered modem is sold only once a report said it is online
  const modems = await onlineModemCounts(ctx.infra.database.db);
  const byCode = new Map(modems.map((m) => [m.code, { ...m, onlinePeers: 0 }]));
  for (const p of await onlinePeers(ctx.infra.kv, ctx.infra.clock.now().getTime())) {
    if (!p.country) continue;
    const row = byCode.get(p.country) ?? { code: p.country, onlineDevices: 0, onlinePeers: 0 };
    row.onlinePeers++;
    byCode.set(p.country, row);
  }
  return [...byCode.values()].sort((a, b) => a.code.localeCompare(b.code));
}

function connection(ctx: X402Context, username: string, password: string, country: string) {
  const { host, httpPort: http, socksPort: socks } = gatewayAddress(ctx.infra.config);
  const user = `${username}-mbl-${country.toLowerCase()}`;
  return {
    host, httpPort: http, socksPort: socks,
    username: user,
    http: `http://${user}:${password}@${host}:${http}`,
    socks5: `socks5://${user}:${password}@${host}:${socks}`,
    sticky: `http://${user}-sid-session01-rot-sticky:${password}@${host}:${http}`,
    grammar: 'psx_<account>-<pool mbl|peer|any>-<country|any>[-city-…][-carrier-…][-sid-…][-rot-…][-ttl-…]',
  };
}

/** Pool gateway access bought with x402, and its management with the session token. */
export function x402PoolRouter(ctx: X402Context): Router {
  const { infra } = ctx;
  const router = Router();

  router.get('/pool/pricing', async (_req, res) => {
    res.json({
      tiers: [{ tier: 'mbl', description: 'production 4G/5G modems we operate', perGB: Number(formatUsdc(poolPriceMicro(ctx, 1_000_000_000n))), perGBMicro: poolPriceMicro(ctx, 1_000_000_000n).toString(), countries: await poolCountries(ctx) }],
      minTrafficGB: formatGb(ctx.prices.minTrafficBytes),
      networks: ctx.payments?.networks().map((n) => n.network) ?? [],
      currency: 'USDC',
      gateway: gatewayAddress(infra.config),
    });
  });

  const buy = async (req: Request, res: import('express').Response) => {
    const q = parse(poolQuery, { ...(typeof req.body === 'object' && req.body ? req.body : {}), ...req.query });
    const country = q.country.toUpperCase();
    if (!countryName(country)) throw new ApiError(400, 'INVALID_COUNTRY', `${q.country} is not an ISO 3166-1 alpha-2 country code`);
    const trafficBytes = parseTrafficGb(q.traffic);
    if (trafficBytes < ctx.prices.minTrafficBytes) throw new ApiError(400, 'TRAFFIC_TOO_LOW', `minimum purchase is ${formatGb(ctx.prices.minTrafficBytes)} GB`);
    const countries = await poolCountries(ctx);
    if (!countries.some((c) => c.code === country)) {
      throw new ApiError(503, 'NO_STOCK', `the pool has no online modem or peer in ${country} right now; nothing was charged`, { country, alternatives: countries.map((c) => c.code) });
    }
    const header = paymentHeader(req);
    if (!header) {
      return paymentRequired(ctx, req, res, poolPriceMicro(ctx, trafficBytes), `Pool gateway access, mbl tier, ${formatGb(trafficBytes)} GB, every country`, {
        catalog: { tiers: [{ tier: 'mbl', perGB: formatUsdc(poolPriceMicro(ctx, 1_000_000_000n)), countries }] },
        order: { tier: 'mbl', country, trafficGB: formatGb(trafficBytes) },
      });
    }
    const bought = await purchasePoolAccess(ctx, { defaultCountry: country, trafficBytes }, header, { actor: 'buyer', correlationId: req.id });
    res.setHeader('PAYMENT-RESPONSE', paymentResponseHeader(bought.collected));
    res.json({
      accountId: bought.accountId,
      sessionToken: bought.sessionToken,
      username: bought.username,
      password: bought.password,
      tier: 'mbl',
      traffic: trafficView(trafficBytes, 0n),
      countries: countries.map((c) => c.code),
      connection: connection(ctx, bought.username, bought.password, country),
      payment: paymentView(bought.payment),
    });
  };
  router.get('/pool', buy);
  router.post('/pool', buy);

  const account = async (req: Request): Promise<PoolAccountRow> => {
    const token = req.header('x-session-token');
    if (!token) throw new ApiError(400, 'SESSION_TOKEN_REQUIRED', 'send the session token from your pool purchase in the X-Session-Token header');
    const row = /^x402s_[a-z0-9]{20,100}$/.test(token) ? await findPoolAccountByTokenHash(infra.database.db, sha256Hex(token)) : undefined;
    if (!row) throw new ApiError(401, 'SESSION_TOKEN_INVALID', 'no pool account has this token');
    return row;
  };
  const usage = (a: PoolAccountRow) => ({
    accountId: a.account_id,
    traffic: trafficView(BigInt(a.traffic_bytes), BigInt(a.traffic_used_bytes)),
    bytesUp: String(a.bytes_up), bytesDown: String(a.bytes_down), connections: Number(a.connections),
    lastUsedAt: a.last_used_at ? new Date(a.last_used_at).toISOString() : null,
  });

  router.get('/manage/pool/credit', async (req, res) => {
    const a = await account(req);
    const remaining = BigInt(a.traffic_bytes) > BigInt(a.traffic_used_bytes) ? BigInt(a.traffic_bytes) - BigInt(a.traffic_used_bytes) : 0n;
    res.json({ accountId: a.account_id, traffic: trafficView(BigInt(a.traffic_bytes), BigInt(a.traffic_used_bytes)), credit: formatUsdc(poolPriceMicro(ctx, remaining)), creditMicro: poolPriceMicro(ctx, remaining).toString(), currency: 'USDC', hasCredit: remaining > 0n });
  });
  router.get('/manage/pool/usage', async (req, res) => { res.json(usage(await account(req))); });
  router.get('/manage/pool/connection', async (req, res) => {
    const a = await account(req);
    res.json({ ...connection(ctx, `psx_${a.account_id}`, 'YOUR_PASSWORD', a.default_country), note: 'the password was shown once at purchase; POST /v1/x402/manage/pool/regenerate issues a new one' });
  });
  router.post('/manage/pool/regenerate', async (req, res) => {
    const a = await account(req);
    const password = await regeneratePoolPassword(ctx, a, { actor: 'pool-account', correlationId: req.id });
    res.json({ success: true, username: `psx_${a.account_id}`, password, connection: connection(ctx, `psx_${a.account_id}`, password, a.default_country) });
  });
  router.post('/manage/pool/topup', async (req, res) => {
    const a = await account(req);
    const bytes = parseTrafficGb(parse(poolTopupBody, req.body ?? {}).addTrafficGB);
    const header = paymentHeader(req);
    if (!header) return paymentRequired(ctx, req, res, poolPriceMicro(ctx, bytes), `Pool top-up, ${formatGb(bytes)} GB`, { topup: { addTrafficGB: formatGb(bytes) } });
    const result = await topUpPoolAccess(ctx, a, bytes, header, { actor: 'pool-account', correlationId: req.id });
    res.setHeader('PAYMENT-RESPONSE', paymentResponseHeader(result.collected));
    res.json({ success: true, addedTrafficGB: formatGb(bytes), payment: paymentView(result.payment), ...usage((await findPoolAccountByTokenHash(infra.database.db, a.token_hash))!) });
  });

  return router;
}
