import { Router, type Request } from 'express';
import { links } from '../../discovery/manifest.ts';
import { publicBase } from './x402-purchase.ts';
import { sql } from 'kysely';
import { z } from 'zod';
import { formatGb, formatUsdc, parseTrafficGb, quotePurchase } from '../../../domain/pricing/pricing.ts';
import { countryAvailability } from '../../../projections/devices.ts';
import type { X402Context } from '../../x402/context.ts';
import { VERSION } from '../../version.ts';
import { parse } from '../validate.ts';
import { gatewayAddress } from '../x402-views.ts';

export const calculateQuery = z.object({
  tier: z.enum(['shared', 'private']).default('shared'),
  duration: z.coerce.number().int().optional(),
  traffic: z.string().default('1'),
});

const usdcNumber = (micro: bigint) => Number(formatUsdc(micro)); // display only; amounts to pay are strings

/** Public discovery: pricing, cost calculator, health/status and the x402 discovery document. */
export function x402DiscoveryRouter(ctx: X402Context): Router & { discovery: (req: unknown, res: { json(body: unknown): void }) => void } {
  const { infra, prices } = ctx;
  const router = Router();
  const started = Date.now();
  const networks = () => ctx.payments?.networks() ?? [];

  const pricing = () => ({
    shared: { perGB: usdcNumber(prices.perGbMicro.shared), perHour: 0, perGBMicro: prices.perGbMicro.shared.toString() },
    private: { perGB: usdcNumber(prices.perGbMicro.private), perHour: 0, perGBMicro: prices.perGbMicro.private.toString() },
    durationFree: true,
    minTrafficGB: formatGb(prices.minTrafficBytes),
    networks: networks().map((n) => n.network),
    currency: 'USDC',
  });
  const limits = () => ({ minDuration: prices.minDurationSeconds, maxDuration: prices.maxDurationSeconds, defaultDuration: prices.defaultDurationSeconds, minTrafficGB: Number(formatGb(prices.minTrafficBytes)) });
  const wallets = () => Object.fromEntries(networks().map((n) => [n.network, { recipient: n.recipient, asset: n.asset, network: n.caip2 }]));

  router.get('/pricing', (_req, res) => { res.json(pricing()); });

  router.get('/calculate', (req, res) => {
    const q = parse(calculateQuery, req.query);
    const quote = quotePurchase(prices, q.tier, parseTrafficGb(q.traffic), q.duration);
    res.json({
      cost: formatUsdc(quote.amountMicro),
      costMicro: quote.amountMicro.toString(),
      currency: 'USDC',
      breakdown: {
        tier: quote.tier,
        traffic: { gb: formatGb(quote.trafficBytes), perGB: formatUsdc(prices.perGbMicro[quote.tier]), cost: formatUsdc(quote.amountMicro) },
        duration: { seconds: quote.durationSeconds, cost: '0.00' },
      },
    });
  });

  // `status: 'ok'` is what agent clients (the official MCP server) read as "online".
  router.get('/health', (_req, res) => { res.json({ status: 'ok', enabled: ctx.payments !== null, version: VERSION }); });

  router.get('/info', async (_req, res) => {
    res.json({
      pricing: pricing(),
      networks: networks().map((n) => n.network),
      wallets: wallets(),
      limits: limits(),
      countries: (await countryAvailability(infra.database.db)).map((c) => ({ code: c.code, availableDevices: c.availableDevices })),
      gateway: gatewayAddress(infra.config),
      version: VERSION,
    });
  });

  router.get('/status', async (_req, res) => {
    const fleet = await infra.database.db.selectFrom('fleet_devices')
      .select([
        sql<number>`count(*) filter (where status = 'active')::int`.as('total'),
        sql<number>`count(*) filter (where status = 'active' and online)::int`.as('online'),
        sql<number>`count(*) filter (where status = 'active' and online and allocated_slots < slots)::int`.as('available'),
      ]).executeTakeFirstOrThrow();
    res.json({
      status: ctx.payments ? 'operational' : 'payments_disabled',
      devices: fleet,
      countries: (await countryAvailability(infra.database.db)).length,
      networks: networks().map((n) => n.network),
      uptimeSeconds: Math.floor((Date.now() - started) / 1000),
      version: VERSION,
    });
  });

  const discovery = (req: unknown, res: { json(body: unknown): void }) => {
    res.json({
      links: links(publicBase(ctx, req as Request)),
      x402Version: 2,
      name: 'Mobile proxies',
      description: 'Dedicated 4G/5G mobile proxy ports paid in USDC on Base or Solana. Pay per GB; duration is free.',
      resources: [
        {
          resource: '/v1/x402/proxy',
          methods: ['GET', 'POST'],
          description: 'Buy a dedicated mobile proxy port: ?country=US&traffic=1[&duration][&carrier][&tier]',
          pricing: { unit: 'GB', shared: formatUsdc(prices.perGbMicro.shared), private: formatUsdc(prices.perGbMicro.private), currency: 'USDC' },
          schemes: ['exact'],
          networks: networks().map((n) => n.caip2),
        },
        { resource: '/v1/x402/manage/session/topup', methods: ['POST'], description: 'Add traffic (paid) or duration (free) to a session', schemes: ['exact'], networks: networks().map((n) => n.caip2) },
      ],
      paymentProofs: ['x402 exact payload in PAYMENT-SIGNATURE (or X-PAYMENT)', 'hash of a USDC transfer already made, in Payment-Signature'],
      wallets: wallets(),
      limits: limits(),
    });
  };
  router.get('/.well-known', discovery);
  return Object.assign(router, { discovery });
}
