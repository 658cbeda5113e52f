import { Router, type Request, type RequestHandler } from 'express';
import { z } from 'zod';
import { formatUsdc } from '../../../domain/pricing/pricing.ts';
import { findApiKeyByHash } from '../../../projections/account-api-keys.ts';
import { findPeer, type PeerRow } from '../../../projections/peers.ts';
import { sha256Hex } from '../../x402/secrets.ts';
import { peerEarningsByDay } from '../../../projections/peer-earnings.ts';
import { findPayout, peerPayouts, type PeerPayoutRow } from '../../../projections/peer-payouts.ts';
import type { Infrastructure } from '../../infrastructure.ts';
import { peerCommand, registerPeer, refreshPeer, requestWithdrawal } from '../../peers/agents.ts';
import { peerContext, type PeerContext } from '../../peers/context.ts';
import { PEER_RULES } from '../../../domain/peers/decide.ts';
import { peerPresence, healthScore } from '../../peers/presence.ts';
import { ApiError } from '../errors.ts';
import { parse } from '../validate.ts';
import { EXAMPLE_TIME, EXAMPLE_UUID, errors, isoDate, microString } from '../openapi/common.ts';
import { documentRoutes } from '../openapi/registry.ts';

const solanaAddress = z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/, 'must be a Solana address (payouts are USDC on Solana)');
const text = (max: number) => z.string().trim().min(1).max(max);
// Not strict: SDKs send device metadata (model, country, …) alongside; it is ignored, never trusted.
const registerBody = z.object({
  name: text(100).default('peer'),
  type: text(40).default('agent'),
  connectionMethod: text(40).optional(),
  sdkVersion: text(40).optional(),
  walletAddress: solanaAddress.optional(),
  apiKey: z.string().regex(/^psx_[a-z0-9]{40}$/, 'must be an account API key (psx_…)').optional(),
});
const refreshBody = z.object({ refreshToken: z.string().regex(/^[0-9a-f]{64}$/, 'is not a refresh token') });
const walletBody = z.object({ walletAddress: solanaAddress });
const idParams = z.object({ id: z.string().regex(/^(agent|sdk)_[a-z0-9]{20}$/, 'is not a peer device id') });

const usd = (micro: bigint | string) => Number(formatUsdc(BigInt(micro)));
const ratesView = (ctx: PeerContext) => ({
  mobile: usd(ctx.ratesMicroPerGB.mobile), residential: usd(ctx.ratesMicroPerGB.residential), datacenter: usd(ctx.ratesMicroPerGB.datacenter),
});
const ratesSchema = z.object({ mobile: z.number(), residential: z.number(), datacenter: z.number() });

const tokensSchema = z.object({
  deviceId: z.string(), jwt: z.string(), token: z.string(), refreshToken: z.string(), expiresAt: isoDate, expiresIn: z.number().int(),
});
const registeredSchema = tokensSchema.extend({
  kind: z.enum(['agent', 'sdk']), relay: z.string(), earningsPerGB: ratesSchema, minPayoutUSDC: z.number(), accountId: z.string().nullable(), orphan: z.boolean(),
});
const EXAMPLE_JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJ0eXAiOiJwZWVyIiwic3ViIjoiYWdlbnRfYWJjIn0.sig';
const EXAMPLE_REFRESH = 'a1b2'.repeat(16);
const tokensExample = { deviceId: 'agent_k3v9x2m4q8w1z7y5r6t0', jwt: EXAMPLE_JWT, token: EXAMPLE_JWT, refreshToken: EXAMPLE_REFRESH, expiresAt: EXAMPLE_TIME, expiresIn: 3600 };
const statusSchema = z.object({
  deviceId: z.string(), name: z.string(), type: z.string(), kind: z.enum(['agent', 'sdk']), online: z.boolean(), relay: z.string().nullable(),
  ipType: z.string().nullable(), country: z.string().nullable(), asn: z.number().nullable(), healthScore: z.number().nullable(),
  walletAddress: z.string().nullable(), walletUsableFrom: isoDate.nullable(), accountId: z.string().nullable(),
  balanceMicro: microString, balanceUSDC: z.number(), registeredAt: isoDate, lastTrafficAt: isoDate.nullable(),
});
const statusExample = {
  deviceId: tokensExample.deviceId, name: 'my-agent', type: 'claude', kind: 'agent', online: true, relay: 'relay-1', ipType: 'mobile', country: 'US', asn: 21928, healthScore: 0.93,
  walletAddress: '9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin', walletUsableFrom: EXAMPLE_TIME, accountId: null, balanceMicro: '5400000', balanceUSDC: 5.4, registeredAt: EXAMPLE_TIME, lastTrafficAt: EXAMPLE_TIME,
};
export const payoutSchema = z.object({
  payoutId: z.string(), amountMicro: microString, amountUSDC: z.number(), walletAddress: z.string(), status: z.enum(['requested', 'approved', 'sent', 'failed', 'rejected']),
  signature: z.string().nullable(), reason: z.string().nullable(), requestedAt: isoDate, updatedAt: isoDate,
});
export const payoutExample = { payoutId: EXAMPLE_UUID, amountMicro: '5400000', amountUSDC: 5.4, walletAddress: statusExample.walletAddress, status: 'approved', signature: null, reason: null, requestedAt: EXAMPLE_TIME, updatedAt: EXAMPLE_TIME };
const earningsSchema = z.object({
  deviceId: z.string(),
  totals: z.object({ bytesUp: microString, bytesDown: microString, trafficGB: z.number(), earnedMicro: microString, earnedUSDC: z.number(), balanceMicro: microString, balanceUSDC: z.number(), pendingMicro: microString, paidMicro: microString }),
  byDay: z.array(z.object({ day: z.string(), ipType: z.string(), bytesUp: microString, bytesDown: microString, trafficGB: z.number(), earnedMicro: microString, earnedUSDC: z.number(), ratePerGB: z.number() })),
  payouts: z.array(payoutSchema), earningsPerGB: ratesSchema, minPayoutUSDC: z.number(),
});
const tag = 'Peers';
const bearer = ['bearer' as const];
const authErrors = errors({ 401: ['PEER_TOKEN_REQUIRED', 'PEER_TOKEN_INVALID', 'PEER_TOKEN_EXPIRED'], 403: 'PEER_TOKEN_OTHER_DEVICE' });
documentRoutes(
  { method: 'post', path: '/v1/peer/agents/register', tag, summary: 'Register a peer (3/min per IP); apiKey links earnings to an account', body: registerBody,
    bodyExample: { name: 'my-agent', type: 'claude', walletAddress: statusExample.walletAddress },
    responses: { 201: { description: 'Registered: JWT (1 h), refresh token (7 d, shown once), relay URL and live rates', schema: registeredSchema,
      example: { ...tokensExample, kind: 'agent', relay: 'ws://127.0.0.1:7002', earningsPerGB: { mobile: 1.8, residential: 1.2, datacenter: 0.3 }, minPayoutUSDC: 5, accountId: null, orphan: true } },
    ...errors({ 400: 'VALIDATION_ERROR', 401: 'API_KEY_INVALID', 429: 'RATE_LIMITED' }) } },
  ...(['/v1/peer/agents/:id/refresh', '/v1/peer/token/:id/refresh'] as const).map((path) => ({
    method: 'post' as const, path, tag, summary: 'Trade the refresh token for a new JWT and a new refresh token (the old one is spent)', params: idParams, body: refreshBody,
    bodyExample: { refreshToken: EXAMPLE_REFRESH },
    responses: { 200: { description: 'New tokens', schema: tokensSchema, example: tokensExample }, ...errors({ 400: 'VALIDATION_ERROR', 401: ['REFRESH_TOKEN_INVALID', 'REFRESH_TOKEN_USED', 'REFRESH_TOKEN_EXPIRED'], 404: 'PEER_NOT_FOUND' }) },
  })),
  { method: 'get', path: '/v1/peer/agents/:id/status', tag, security: bearer, summary: 'Peer status: online, relay, IP type, health, wallet, balance', params: idParams,
    responses: { 200: { description: 'Status', schema: statusSchema, example: statusExample }, ...errors({ 404: 'PEER_NOT_FOUND' }), ...authErrors } },
  { method: 'get', path: '/v1/peer/agents/:id/earnings', tag, security: bearer, summary: 'Traffic served and USDC earned, by day; payouts', params: idParams,
    responses: { 200: { description: 'Earnings', schema: earningsSchema, example: {
      deviceId: tokensExample.deviceId, totals: { bytesUp: '100', bytesDown: '3000000000', trafficGB: 3, earnedMicro: '5400000', earnedUSDC: 5.4, balanceMicro: '5400000', balanceUSDC: 5.4, pendingMicro: '0', paidMicro: '0' },
      byDay: [{ day: '2026-12-01', ipType: 'mobile', bytesUp: '100', bytesDown: '3000000000', trafficGB: 3, earnedMicro: '5400000', earnedUSDC: 5.4, ratePerGB: 1.8 }],
      payouts: [], earningsPerGB: { mobile: 1.8, residential: 1.2, datacenter: 0.3 }, minPayoutUSDC: 5 } }, ...errors({ 404: 'PEER_NOT_FOUND' }), ...authErrors } },
  { method: 'put', path: '/v1/peer/agents/:id/wallet', tag, security: bearer, summary: 'Set the payout wallet (withdrawals to it open after 7 days)', params: idParams, body: walletBody,
    bodyExample: { walletAddress: statusExample.walletAddress },
    responses: { 200: { description: 'Status after the change', schema: statusSchema, example: statusExample }, ...errors({ 400: 'VALIDATION_ERROR', 404: 'PEER_NOT_FOUND' }), ...authErrors } },
  { method: 'post', path: '/v1/peer/agents/:id/withdraw', tag, security: bearer, summary: 'Withdraw the whole balance to the registered wallet (min $5 agents / $10 SDK; 3/hour; body ignored)', params: idParams,
    responses: { 202: { description: 'Payout requested', schema: payoutSchema, example: payoutExample },
      ...errors({ 400: ['BELOW_MINIMUM_PAYOUT', 'NO_WALLET'], 403: 'WALLET_COOLING', 404: 'PEER_NOT_FOUND', 429: 'WITHDRAWAL_RATE_LIMITED' }), ...authErrors } },
);

export function payoutView(p: PeerPayoutRow) {
  return {
    payoutId: p.payout_id, amountMicro: String(p.amount_micro), amountUSDC: usd(p.amount_micro), walletAddress: p.wallet_address, status: p.status,
    signature: p.signature, reason: p.reason, requestedAt: new Date(p.requested_at).toISOString(), updatedAt: new Date(p.updated_at).toISOString(),
  };
}

const iso = (v: Date | string | null) => (v === null ? null : new Date(v).toISOString());

/** The peer API of seed 000 (Peer Marketplace → Peer API Endpoints). */
export function peerAgentsRouter(infra: Infrastructure): Router {
  const ctx = peerContext(infra);
  const router = Router();
  const origin = (req: Request, actor: string) => ({ actor, correlationId: req.id });
  const wait = async (position: bigint, models: string[]) => {
    if (position > 0n) await infra.projector.waitFor(position, models, infra.config.READ_YOUR_WRITES_TIMEOUT_MS);
  };
  const tokens = (deviceId: string, t: { jwt: string; expiresAt: Date; refreshToken: string }) => ({
    deviceId, jwt: t.jwt, token: t.jwt, refreshToken: t.refreshToken, expiresAt: t.expiresAt.toISOString(), expiresIn: infra.config.PEER_JWT_TTL_SECONDS,
  });

  router.post('/agents/register', async (req, res) => {
    const count = await infra.kv.increment(`peer-register:${req.ip}`, 60_000);
    if (count > infra.config.PEER_REGISTRATIONS_PER_MINUTE) {
      throw new ApiError(429, 'RATE_LIMITED', `${infra.config.PEER_REGISTRATIONS_PER_MINUTE} registrations per minute per IP; retry in a minute`);
    }
    const body = parse(registerBody, req.body ?? {});
    // apiKey links the earnings to an account; without one the peer is an orphan (as the seed says)
    let accountId: string | null = null;
    if (body.apiKey) {
      const key = await findApiKeyByHash(infra.database.db, sha256Hex(body.apiKey));
      if (!key || key.revoked_at) throw new ApiError(401, 'API_KEY_INVALID', 'apiKey is not a live account API key; omit it to register as an orphan');
      accountId = key.account_id;
    }
    const r = await registerPeer(ctx, { name: body.name, type: body.type, connectionMethod: body.connectionMethod, sdkVersion: body.sdkVersion, walletAddress: body.walletAddress, accountId }, origin(req, 'peer'));
    await wait(r.position, ['peers']);
    res.status(201).json({
      ...tokens(r.deviceId, r), kind: r.kind, relay: ctx.relayPublicUrl, earningsPerGB: ratesView(ctx),
      minPayoutUSDC: usd(PEER_RULES.minPayoutMicro[r.kind]), accountId, orphan: accountId === null,
    });
  });

  const refresh: RequestHandler = async (req, res) => {
    const { id } = parse(idParams, req.params);
    const { refreshToken } = parse(refreshBody, req.body ?? {});
    const r = await refreshPeer(ctx, id, refreshToken, origin(req, `peer:${id}`));
    res.json(tokens(id, r));
  };
  router.post('/agents/:id/refresh', refresh);
  router.post('/token/:id/refresh', refresh); // the SDKs' path

  const authed = Router({ mergeParams: true });
  authed.use(async (req, _res, next) => {
    const { id } = parse(idParams, req.params);
    const header = req.get('authorization') ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw new ApiError(401, 'PEER_TOKEN_REQUIRED', 'send Authorization: Bearer <jwt from register or refresh>');
    const v = await ctx.tokens.verify(m[1]!);
    if (!v.ok) throw v.reason === 'expired' ? new ApiError(401, 'PEER_TOKEN_EXPIRED', 'the JWT expired; refresh it with the refresh token') : new ApiError(401, 'PEER_TOKEN_INVALID', 'the JWT is not valid');
    if (v.deviceId !== id) throw new ApiError(403, 'PEER_TOKEN_OTHER_DEVICE', 'this JWT belongs to another device');
    next();
  });

  const load = async (id: string): Promise<PeerRow> => {
    const row = await findPeer(infra.database.db, id);
    if (!row) throw new ApiError(404, 'PEER_NOT_FOUND', `no peer ${id}`);
    return row;
  };
  const status = async (row: PeerRow) => {
    const presence = await peerPresence(infra.kv, row.device_id, infra.clock.now().getTime());
    return {
      deviceId: row.device_id, name: row.name, type: row.peer_type, kind: row.kind, online: presence !== null, relay: presence?.relayId ?? null,
      ipType: presence?.ipType ?? row.ip_type, country: presence?.country ?? row.country, asn: row.asn, healthScore: presence ? Number(healthScore(presence.health).toFixed(3)) : null,
      walletAddress: row.wallet_address, walletUsableFrom: iso(row.wallet_usable_from), accountId: row.account_id,
      balanceMicro: String(row.balance_micro), balanceUSDC: usd(row.balance_micro), registeredAt: iso(row.registered_at)!, lastTrafficAt: iso(row.last_traffic_at),
    };
  };

  authed.get('/status', async (req, res) => {
    res.json(await status(await load(parse(idParams, req.params).id)));
  });

  authed.get('/earnings', async (req, res) => {
    const row = await load(parse(idParams, req.params).id);
    const days = await peerEarningsByDay(infra.database.db, row.device_id);
    const payouts = await peerPayouts(infra.database.db, row.device_id);
    const gb = (bytes: bigint) => Number(bytes) / 1e9;
    res.json({
      deviceId: row.device_id,
      totals: {
        bytesUp: String(row.bytes_up), bytesDown: String(row.bytes_down), trafficGB: gb(BigInt(row.bytes_up) + BigInt(row.bytes_down)),
        earnedMicro: String(row.earned_micro), earnedUSDC: usd(row.earned_micro), balanceMicro: String(row.balance_micro), balanceUSDC: usd(row.balance_micro),
        pendingMicro: String(row.pending_micro), paidMicro: String(row.paid_micro),
      },
      byDay: days.map((d) => ({ day: d.day, ipType: d.ipType, bytesUp: d.bytesUp, bytesDown: d.bytesDown, trafficGB: gb(BigInt(d.bytesUp) + BigInt(d.bytesDown)), earnedMicro: d.earnedMicro, earnedUSDC: usd(d.earnedMicro), ratePerGB: usd(d.rateMicroPerGB) })),
      payouts: payouts.map(payoutView), earningsPerGB: ratesView(ctx), minPayoutUSDC: usd(PEER_RULES.minPayoutMicro[row.kind]),
    });
  });

  authed.put('/wallet', async (req, res) => {
    const { id } = parse(idParams, req.params);
    const { walletAddress } = parse(walletBody, req.body ?? {});
    const handled = await peerCommand(ctx, id, { type: 'ChangePeerWallet', data: { walletAddress } }, origin(req, `peer:${id}`));
    await wait(handled.position, ['peers']);
    res.json(await status(await load(id)));
  });

  authed.post('/withdraw', async (req, res) => {
    const { id } = parse(idParams, req.params);
    // the body is ignored on purpose: payouts go only to the registered wallet
    const { payoutId, handled } = await requestWithdrawal(ctx, id, origin(req, `peer:${id}`));
    await wait(handled.position, ['peers', 'peer-payouts']);
    const row = await findPayout(infra.database.db, payoutId);
    const requested = handled.events.find((e) => e.type === 'PayoutRequested');
    if (row) return void res.status(202).json(payoutView(row));
    if (requested?.type !== 'PayoutRequested') throw new ApiError(503, 'UNAVAILABLE', 'the payout was not recorded; retry');
    const d = requested.data;
    res.status(202).json({ payoutId, amountMicro: d.amountMicro, amountUSDC: usd(d.amountMicro), walletAddress: d.walletAddress, status: d.needsApproval ? 'requested' : 'approved', signature: null, reason: null, requestedAt: d.requestedAt, updatedAt: d.requestedAt });
  });

  router.use('/agents/:id', authed);
  return router;
}
