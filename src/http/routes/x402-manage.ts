import { Router, type Request } from 'express';
import { z } from 'zod';
import { paymentResponseHeader } from '../../../adapters/payments/headers.ts';
import { formatGb, formatUsdc, trafficPriceMicro, type Tier } from '../../../domain/pricing/pricing.ts';
import { countryName } from '../../../domain/fleet/countries.ts';
import { findDevice } from '../../../projections/devices.ts';
import { sessionPayments, sessionPorts } from '../../../projections/sessions.ts';
import type { X402Context } from '../../x402/context.ts';
import { recreatePort, replacePort, topUp, topUpQuote } from '../../x402/manage.ts';
import { canRotate } from '../../x402/rotation.ts';
import { ApiError } from '../errors.ts';
import { parse } from '../validate.ts';
import { newPortView, paymentView, portView, sessionView, trafficView } from '../x402-views.ts';
import { paymentHeader, paymentRequired, publicBase } from './x402-purchase.ts';
import { limitPerSession, sessionFromToken } from './x402-session-auth.ts';

const country = z.string().regex(/^[A-Za-z]{2}$/, 'must be a two-letter ISO 3166-1 code');
export const replaceBody = z.strictObject({ portId: z.string().max(64).optional(), country: country.optional() });
export const recreateBody = z.strictObject({ country: country.optional() });
const gb = z.union([z.number().nonnegative().max(1e6).transform((n) => String(n)), z.string()]);
export const topupBody = z.strictObject({ addTrafficGB: gb.optional(), addDurationSeconds: z.coerce.number().int().min(0).max(30 * 86_400).optional() });

/** /v1/x402/manage/*: everything a buyer does with the session token from the purchase. */
export function x402ManageRouter(ctx: X402Context): Router {
  const { infra } = ctx;
  const router = Router();
  const origin = (id: string) => ({ actor: 'session', correlationId: id });

  router.get('/session', async (req, res) => {
    const session = await sessionFromToken(infra, req);
    const [ports, payments] = await Promise.all([sessionPorts(infra.database.db, session.session_id), sessionPayments(infra.database.db, session.session_id)]);
    res.json({
      ...sessionView(session, infra.clock.now()),
      ports: await Promise.all(ports.map(async (p) => portView(infra.config, p, p.status === 'active' ? await online(p.device_id) : null, portSession(session, req)))),
      payments: payments.map((p) => ({ kind: p.kind, network: p.network, transaction: p.transaction, payer: p.payer, amount: formatUsdc(BigInt(p.amount_micro as bigint)), at: new Date(p.claimed_at as string).toISOString() })),
    });
  });

  router.get('/session/credit', async (req, res) => {
    const session = await sessionFromToken(infra, req);
    const traffic = trafficView(BigInt(session.traffic_bytes), BigInt(session.traffic_used_bytes));
    const creditMicro = trafficPriceMicro(ctx.prices, session.tier as Tier, BigInt(traffic.remainingBytes));
    const view = sessionView(session, infra.clock.now());
    res.json({
      sessionId: session.session_id, status: view.status, expiresAt: view.expiresAt, secondsRemaining: view.secondsRemaining,
      traffic, credit: formatUsdc(creditMicro), creditMicro: creditMicro.toString(), currency: 'USDC',
      hasCredit: BigInt(traffic.remainingBytes) > 0n && view.status === 'active',
    });
  });

  router.get('/ports', async (req, res) => {
    const session = await sessionFromToken(infra, req);
    const ports = await sessionPorts(infra.database.db, session.session_id);
    res.json({ sessionId: session.session_id, ports: await Promise.all(ports.map(async (p) => portView(infra.config, p, p.status === 'active' ? await online(p.device_id) : null, portSession(session, req)))) });
  });

  router.get('/ports/:portId/status', async (req, res) => {
    const session = await sessionFromToken(infra, req);
    const port = (await sessionPorts(infra.database.db, session.session_id)).find((p) => p.port_id === req.params.portId);
    if (!port) throw new ApiError(404, 'PORT_NOT_FOUND', `no port ${req.params.portId} in this session`);
    const device = await findDevice(infra.database.db, port.device_id);
    const isOnline = port.status === 'active' && !!device && device.status === 'active' && device.online;
    res.json({
      ...portView(infra.config, port, port.status === 'active' ? isOnline : null, portSession(session, req)),
      latencyMs: device?.latency_ms ?? null,
      lastHealthAt: device?.last_health_at ? new Date(device.last_health_at).toISOString() : null,
      replaceable: port.status === 'active' && !isOnline,
    });
  });

  // Seed 002's can-rotate, for the ports of an x402 session: the cooldown, and for shared ports how many devices could take it.
  router.get('/ports/:portId/can-rotate', async (req, res) => {
    const session = await sessionFromToken(infra, req);
    const port = (await sessionPorts(infra.database.db, session.session_id)).find((p) => p.port_id === req.params.portId && p.status === 'active');
    if (!port) throw new ApiError(404, 'PORT_NOT_FOUND', `no active port ${req.params.portId} in this session`);
    res.json(await canRotate(infra, port, session.tier as Tier));
  });

  router.post('/ports/replace', async (req, res) => {
    const session = await sessionFromToken(infra, req);
    await limitPerSession(infra, session, 'replace');
    const body = parse(replaceBody, req.body ?? {});
    const result = await replacePort(ctx, session, body, origin(req.id));
    const port = newPortView(infra.config, result.port, publicBase(ctx, req));
    const traffic = trafficView(BigInt(session.traffic_bytes), BigInt(session.traffic_used_bytes));
    const countryCode = (await sessionPorts(infra.database.db, session.session_id)).find((p) => p.port_id === port.portId)?.country_code ?? session.country_code;
    res.json({
      success: true, replacedPortId: result.replacedPortId, port, replacementsUsed: result.replacementsUsed, replacementsRemaining: Math.max(0, 3 - result.replacementsUsed),
      // what the official MCP server's replace_x402_port prints
      portId: port.portId, rotationUrl: port.rotationUrl,
      proxy: { ...port.connection, expiresAt: new Date(session.expires_at).toISOString() },
      traffic: { allocatedGB: Number(traffic.totalGB), usedGB: Number(traffic.usedGB), remainingGB: Number(traffic.remainingGB) },
      location: { country: countryName(countryCode) ?? countryCode, countryCode },
    });
  });

  router.post('/ports/recreate', async (req, res) => {
    const session = await sessionFromToken(infra, req);
    await limitPerSession(infra, session, 'recreate');
    const body = parse(recreateBody, req.body ?? {});
    const port = await recreatePort(ctx, session, body, origin(req.id));
    res.json({ success: true, port: newPortView(infra.config, port, publicBase(ctx, req)), expiresAt: new Date(session.expires_at).toISOString() });
  });

  router.get('/session/topup/calculate', async (req, res) => {
    const session = await sessionFromToken(infra, req);
    const body = parse(topupBody, req.query);
    const quote = topUpQuote(ctx, session, body);
    const cost = formatUsdc(quote.costMicro);
    res.json({
      addTrafficGB: formatGb(quote.addTrafficBytes), addDurationSeconds: quote.addDurationSeconds,
      cost, costMicro: quote.costMicro.toString(), currency: 'USDC',
      paymentRequired: quote.costMicro > 0n, newExpiresAt: quote.newExpiresAt,
      // what the official MCP server's calculate_x402_topup prints (duration is free: all of the cost is traffic)
      trafficCost: cost, durationCost: '0.00', totalCost: Number(cost),
      breakdown: { addTrafficGB: Number(formatGb(quote.addTrafficBytes)), addDurationSeconds: quote.addDurationSeconds, trafficPricePerGB: formatUsdc(trafficPriceMicro(ctx.prices, session.tier as Tier, 1_000_000_000n)), tier: session.tier },
    });
  });

  router.post('/session/topup', async (req, res) => {
    const session = await sessionFromToken(infra, req);
    await limitPerSession(infra, session, 'topup');
    const body = parse(topupBody, req.body ?? {});
    // ?Payment-Signature=: the official MCP server's top-up sends its headers as query parameters (see sessionFromToken)
    const fromQuery = req.query['Payment-Signature'];
    const result = await topUp(ctx, session, body, paymentHeader(req) ?? (typeof fromQuery === 'string' ? fromQuery : undefined), origin(req.id));
    if (result.kind === 'payment_required') {
      return paymentRequired(ctx, req, res, result.quote.costMicro, `Top-up of ${formatGb(result.quote.addTrafficBytes)} GB`, {
        topup: { addTrafficGB: formatGb(result.quote.addTrafficBytes), addDurationSeconds: result.quote.addDurationSeconds },
      });
    }
    if (result.collected) res.setHeader('PAYMENT-RESPONSE', paymentResponseHeader(result.collected));
    res.json({
      success: true, sessionId: session.session_id,
      addedTrafficGB: formatGb(result.quote.addTrafficBytes), addedDurationSeconds: result.quote.addDurationSeconds,
      cost: formatUsdc(result.quote.costMicro), expiresAt: result.expiresAt,
      payment: result.payment ? paymentView(result.payment) : null,
      trafficAllocatedGB: (Number(session.traffic_bytes) + Number(result.quote.addTrafficBytes)) / 1e9,
    });
  });

  const portSession = (session: { expires_at: Date | string }, req: Request) => ({ expiresAt: session.expires_at, now: infra.clock.now(), base: publicBase(ctx, req) });

  async function online(deviceId: string): Promise<boolean> {
    const device = await findDevice(infra.database.db, deviceId);
    return !!device && device.status === 'active' && device.online;
  }

  return router;
}
