import { uuidv7 } from '../../adapters/ids.ts';
import type { Collected } from '../../adapters/payments/port.ts';
import { paymentDecider, paymentStreamId, type PaymentClaimed } from '../../domain/payments/claims.ts';
import { quotePurchase, type Quote, type Tier } from '../../domain/pricing/pricing.ts';
import { sessionDecider } from '../../domain/sessions/decide.ts';
import { sessionStreamId, type PaymentRef } from '../../domain/sessions/events.ts';
import { DomainError } from '../../domain/shared/errors.ts';
import { carrierAvailability, countryAvailability, countryStock, describeStock, freeDevices } from '../../projections/devices.ts';
import { handleCommand, type CommandOrigin } from '../commands/handle.ts';
import { PaymentRejectedError, type X402Context } from './context.ts';
import { placePort, type AllocatedPort } from './ports.ts';
import { newSessionToken, sha256Hex } from './secrets.ts';

export interface Order {
  tier: Tier;
  countryCode: string;
  carrier: string | null;
  trafficBytes: bigint;
  durationSeconds: number | undefined;
}

export type PurchaseOutcome =
  | { kind: 'payment_required'; quote: Quote }
  | {
      kind: 'purchased';
      quote: Quote;
      sessionId: string;
      sessionToken: string;
      expiresAt: string;
      payment: PaymentRef;
      collected: Collected;
      port: AllocatedPort | null;
    };

/** A claim older than this with no session is an interrupted purchase, not one still running. */
const RECOVER_AFTER_MS = 60_000;

/**
 * GET/POST /v1/x402/proxy. Stock is checked before anyone pays; the payment is collected, then claimed
 * once (payment-<claimKey>, no_stream), then the session is opened and a port placed. A payment that
 * was claimed is never lost: without a device the session stands portless and can be recreated, and a
 * purchase interrupted between claim and session is completed when the same proof is presented again.
 */
export async function purchase(ctx: X402Context, order: Order, header: string | undefined, origin: CommandOrigin): Promise<PurchaseOutcome> {
  const { infra } = ctx;
  const quote = quotePurchase(ctx.prices, order.tier, order.trafficBytes, order.durationSeconds);
  const stock = await freeDevices(infra.database.db, { countryCode: order.countryCode, carrier: order.carrier, tier: order.tier });
  if (stock.length === 0) await throwNoStock(ctx, order);
  if (!header) return { kind: 'payment_required', quote };
  if (!ctx.payments) throw new DomainError('unavailable', 'PAYMENTS_DISABLED', 'no payment network is configured on this server');

  const collected = await ctx.payments.collect(header, quote.amountMicro);
  if (!collected.ok) throw new PaymentRejectedError(collected);
  const payment = paymentRef(collected);

  let sessionId = uuidv7(infra.clock.now().getTime());
  let paid = { ...order, durationSeconds: quote.durationSeconds };
  try {
    await handleCommand(infra, paymentDecider, paymentStreamId(collected.claimKey), {
      type: 'ClaimPayment',
      data: { ...payment, purpose: { kind: 'purchase', sessionId }, order: { ...paid, trafficBytes: paid.trafficBytes.toString() } },
    }, origin, { newStream: true }); // a proof is claimed once: a replay is the rare case, caught by the no_stream append
  } catch (error) {
    const interrupted = error instanceof DomainError && error.code === 'PAYMENT_ALREADY_USED' ? await interruptedPurchase(ctx, collected.claimKey) : null;
    if (!interrupted) throw error;
    sessionId = interrupted.purpose.sessionId;
    paid = { tier: interrupted.order!.tier, countryCode: interrupted.order!.countryCode, carrier: interrupted.order!.carrier, trafficBytes: BigInt(interrupted.order!.trafficBytes), durationSeconds: interrupted.order!.durationSeconds };
  }

  const sessionToken = newSessionToken();
  const opened = await handleCommand(infra, sessionDecider, sessionStreamId(sessionId), {
    type: 'PurchaseSession',
    data: { sessionId, tier: paid.tier, countryCode: paid.countryCode, carrier: paid.carrier, trafficBytes: paid.trafficBytes, durationSeconds: paid.durationSeconds, tokenHash: sha256Hex(sessionToken), payment },
  }, origin, { newStream: true }); // a fresh id, or an interrupted purchase's whose session was never opened
  const expiresAt = opened.state.status === 'none' ? '' : opened.state.expiresAt;

  // the stock check's devices are tried first (each device's stream decides, so a stale list costs a retry, not an overfill)
  const sameOrder = paid.tier === order.tier && paid.countryCode === order.countryCode && paid.carrier === order.carrier;
  const port = await placePort(infra, { sessionId, countryCode: paid.countryCode, carrier: paid.carrier, tier: paid.tier, ...(sameOrder ? { candidates: stock } : {}) }, (p) => ({ type: 'AllocatePort', data: p }), origin);
  let position = port?.position ?? opened.position;
  if (!port) {
    const failed = await handleCommand(infra, sessionDecider, sessionStreamId(sessionId), {
      type: 'RecordAllocationFailure', data: { countryCode: paid.countryCode, carrier: paid.carrier, reason: 'no device had a free slot after payment' },
    }, origin);
    position = failed.position;
  }
  // the client uses the port's credentials next (sessions); the next stock check sees the slot taken (devices)
  await infra.projector.waitFor(position, ['sessions', 'devices'], infra.config.READ_YOUR_WRITES_TIMEOUT_MS);
  return { kind: 'purchased', quote: { ...quote, tier: paid.tier, trafficBytes: paid.trafficBytes, durationSeconds: paid.durationSeconds }, sessionId, sessionToken, expiresAt, payment, collected, port };
}

export function paymentRef(c: Collected): PaymentRef {
  return { network: c.network, proof: c.proof, claimKey: c.claimKey, transaction: c.transaction, payer: c.payer, amountMicro: c.amountMicro.toString() };
}

/** The claim of an interrupted purchase (claimed a while ago, session never opened), or null. */
async function interruptedPurchase(ctx: X402Context, claimKey: string): Promise<PaymentClaimed['data'] | null> {
  let claim: PaymentClaimed['data'] | null = null;
  for await (const e of ctx.infra.store.readStream(paymentStreamId(claimKey))) claim = (e as unknown as PaymentClaimed).data;
  if (!claim || claim.purpose.kind !== 'purchase' || !claim.order) return null;
  if (ctx.infra.clock.now().getTime() - new Date(claim.claimedAt).getTime() < RECOVER_AFTER_MS) return null;
  for await (const _ of ctx.infra.store.readStream(sessionStreamId(claim.purpose.sessionId))) return null;
  return claim;
}

/** Says whether the country's devices are full, offline or missing, and where else there is stock. */
async function throwNoStock(ctx: X402Context, order: Order): Promise<never> {
  const db = ctx.infra.database.db;
  if (order.carrier) {
    const carriers = await carrierAvailability(db, order.countryCode);
    const wanted = order.carrier.toLowerCase();
    if (carriers.length > 0 && !carriers.some((c) => c.name.toLowerCase() === wanted || c.brand.toLowerCase() === wanted)) {
      throw new DomainError('not_found', 'UNKNOWN_CARRIER', `${order.countryCode} has no carrier "${order.carrier}"; carriers there: ${carriers.map((c) => c.name).join(', ')}`, {
        country: order.countryCode, carrier: order.carrier, carriers: carriers.map((c) => ({ name: c.name, brand: c.brand, freeDeviceCount: c.freeDeviceCount })),
      });
    }
  }
  const alternatives = (await countryAvailability(db, order.tier)).filter((c) => c.code !== order.countryCode).slice(0, 5).map((c) => c.code);
  const stock = await countryStock(db, { countryCode: order.countryCode, carrier: order.carrier, tier: order.tier });
  const { reason, summary } = describeStock(stock);
  const where = order.carrier ? `${order.countryCode} on ${order.carrier}` : order.countryCode;
  const why = stock.devices === 0 ? `${where} has no ${order.tier} device` : `no ${order.tier} device is free in ${where}: ${summary}`;
  throw new DomainError('unavailable', 'NO_STOCK', `${why}; nothing was charged`, {
    country: order.countryCode, carrier: order.carrier, tier: order.tier, reason, ...stock, alternatives,
  });
}
