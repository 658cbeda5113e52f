import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { paymentRequiredHeader, paymentResponseHeader } from '../../../adapters/payments/headers.ts';
import { countryName } from '../../../domain/fleet/countries.ts';
import { formatGb, formatUsdc, parseTrafficGb, type Quote } from '../../../domain/pricing/pricing.ts';
import type { X402Context } from '../../x402/context.ts';
import { purchase } from '../../x402/purchase.ts';
import { ApiError } from '../errors.ts';
import { parse } from '../validate.ts';
import { newPortView, paymentView, trafficView } from '../x402-views.ts';
import { findRouteDoc } from '../openapi/registry.ts';
import { agentSession } from '../x402-agent-views.ts';
import { discoveryOf, paymentIdFor, v1PaymentRequirement } from '../x402-wire.ts';

export const orderQuery = z.object({
  country: z.string().regex(/^[A-Za-z]{2}$/, 'must be a two-letter ISO 3166-1 code'),
  traffic: z.string().default('1'),
  duration: z.coerce.number().int().optional(),
  carrier: z.string().trim().min(1).max(100).optional(),
  tier: z.enum(['shared', 'private']).default('shared'),
});

/** The header a client pays with: x402 v2 PAYMENT-SIGNATURE, or v1 X-PAYMENT. */
export const paymentHeader = (req: Request) => req.header('payment-signature') ?? req.header('x-payment') ?? undefined;

/** This API's public address: PUBLIC_BASE_URL, else what the request was addressed to. */
export function publicBase(ctx: X402Context, req: Request): string {
  return ctx.infra.config.PUBLIC_BASE_URL?.replace(/\/$/, '') ?? `${req.protocol}://${req.get('host')}`;
}

export function resourceUrl(ctx: X402Context, req: Request): string {
  return `${publicBase(ctx, req)}${req.originalUrl}`;
}

/** 402 with the seed's fields and the x402 v2 requirements, also base64 in PAYMENT-REQUIRED. */
export function paymentRequired(ctx: X402Context, req: Request, res: Response, amountMicro: bigint, description: string, extra: Record<string, unknown>) {
  const payments = ctx.payments;
  if (!payments) throw new ApiError(503, 'PAYMENTS_DISABLED', 'no payment network is configured on this server');
  const accepts = payments.requirements(amountMicro);
  const resource = { url: resourceUrl(ctx, req), description, mimeType: 'application/json' };
  const networks = payments.networks();
  const first = networks[0];
  const expires = new Date(ctx.infra.clock.now().getTime() + (accepts[0]?.maxTimeoutSeconds ?? 300) * 1000).toISOString();
  // Discovery (bazaar) from the route's own registration; v1 clients read `paymentRequirement`.
  const given = req.method === 'GET' ? req.query : (typeof req.body === 'object' && req.body ? req.body : {});
  const discovery = discoveryOf(findRouteDoc(req.method, `${req.baseUrl}${req.route?.path ?? ''}`), req.method, given as Record<string, unknown>);
  const extensions = discovery ? { bazaar: discovery.bazaar } : undefined;
  res.setHeader('PAYMENT-REQUIRED', paymentRequiredHeader(accepts, resource, 'payment required', extensions));
  res.status(402).json({
    status: 402,
    message: 'Payment Required',
    price: formatUsdc(amountMicro),
    priceMicro: amountMicro.toString(),
    currency: 'USDC',
    recipient: Object.fromEntries(networks.map((n) => [n.network, n.recipient])),
    networks: networks.map((n) => n.network),
    payment: first && { paymentId: paymentIdFor(resource.url, amountMicro), payTo: first.recipient, amount: formatUsdc(amountMicro), currency: 'USDC', network: first.network, expires },
    ...extra,
    instructions: 'Send the USDC price to the recipient on one of the networks, then repeat this request with the transaction hash (or an x402 payment payload) in the Payment-Signature header.',
    x402Version: 2,
    error: 'payment required',
    resource,
    accepts,
    ...(extensions ? { extensions } : {}),
    paymentRequirement: v1PaymentRequirement(networks, accepts, amountMicro, resource, discovery?.outputSchema),
  });
}

function orderView(quote: Quote, countryCode: string, carrier: string | null) {
  return { country: countryCode, carrier, tier: quote.tier, trafficGB: formatGb(quote.trafficBytes), durationSeconds: quote.durationSeconds };
}

/** GET and POST /v1/x402/proxy: buy a dedicated mobile proxy port with USDC. */
export function x402PurchaseRouter(ctx: X402Context): Router {
  const router = Router();
  const handler = async (req: Request, res: Response) => {
    const q = parse(orderQuery, { ...(typeof req.body === 'object' && req.body ? req.body : {}), ...req.query });
    const countryCode = q.country.toUpperCase();
    if (!countryName(countryCode)) throw new ApiError(400, 'INVALID_COUNTRY', `${q.country} is not an ISO 3166-1 alpha-2 country code`);
    const order = { tier: q.tier, countryCode, carrier: q.carrier ?? null, trafficBytes: parseTrafficGb(q.traffic), durationSeconds: q.duration };
    const outcome = await purchase(ctx, order, paymentHeader(req), { actor: 'buyer', correlationId: req.id });
    if (outcome.kind === 'payment_required') {
      return paymentRequired(ctx, req, res, outcome.quote.amountMicro, `Mobile proxy, ${countryCode}, ${formatGb(outcome.quote.trafficBytes)} GB`, { order: orderView(outcome.quote, countryCode, order.carrier) });
    }
    res.setHeader('PAYMENT-RESPONSE', paymentResponseHeader(outcome.collected));
    const port = outcome.port ? newPortView(ctx.infra.config, outcome.port, publicBase(ctx, req)) : null;
    const proxy = port && { host: port.host, httpPort: port.httpPort, socksPort: port.socksPort, username: port.username, password: port.password };
    const now = ctx.infra.clock.now();
    res.status(200).json({
      success: true,
      sessionId: outcome.sessionId,
      sessionToken: outcome.sessionToken,
      ...(port ?? { portId: null, portAllocationFailed: true, hint: 'payment kept: no device was free; call POST /v1/x402/manage/ports/recreate with your session token' }),
      ...(proxy ? { credentials: { ...proxy, expiresAt: outcome.expiresAt } } : {}),
      expiresAt: outcome.expiresAt,
      ...orderView(outcome.quote, order.countryCode, order.carrier),
      traffic: trafficView(outcome.quote.trafficBytes, 0n),
      payment: paymentView(outcome.payment),
      session: agentSession({
        id: outcome.sessionId, walletAddress: outcome.payment.payer, status: 'active', expiresAt: outcome.expiresAt, countryCode: order.countryCode, carrier: order.carrier,
        trafficBytes: outcome.quote.trafficBytes, usedBytes: 0n,
        payment: { network: outcome.payment.network, transaction: outcome.payment.transaction, amountMicro: BigInt(outcome.payment.amountMicro), paidAt: now.toISOString() },
      }, now, port && proxy ? { proxy, rotationUrl: port.rotationUrl, rotationToken: port.rotationToken } : undefined),
    });
  };
  router.get('/proxy', handler);
  router.post('/proxy', handler);
  return router;
}
