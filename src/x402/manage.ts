import type { Collected } from '../../adapters/payments/port.ts';
import { paymentDecider, paymentStreamId } from '../../domain/payments/claims.ts';
import { parseTrafficGb, trafficPriceMicro, type Tier } from '../../domain/pricing/pricing.ts';
import { checkRecreate, checkReplace, sessionDecider } from '../../domain/sessions/decide.ts';
import { sessionStreamId } from '../../domain/sessions/events.ts';
import { activePorts } from '../../domain/sessions/state.ts';
import { DomainError } from '../../domain/shared/errors.ts';
import { countryStock, describeStock, findDevice } from '../../projections/devices.ts';
import type { SessionRow } from '../../projections/sessions.ts';
import { handleCommand, type CommandOrigin } from '../commands/handle.ts';
import { releaseSlot } from './allocation.ts';
import { PaymentRejectedError, type X402Context } from './context.ts';
import { placePort, type AllocatedPort } from './ports.ts';
import { paymentRef } from './purchase.ts';
import { loadSession } from './session-state.ts';

/** A port counts as online when its device is active and its last health report said so. */
export async function portOnline(ctx: X402Context, deviceId: string): Promise<boolean> {
  const device = await findDevice(ctx.infra.database.db, deviceId);
  return !!device && device.status === 'active' && device.online;
}

/** NO_STOCK as a purchase says it: whether the country's (other) devices are missing, offline or full. */
async function throwNoStock(ctx: X402Context, countryCode: string, tier: Tier, exclude: string[], then: string): Promise<never> {
  const stock = await countryStock(ctx.infra.database.db, { countryCode, tier, exclude });
  const { reason, summary } = describeStock(stock);
  const other = exclude.length > 0 ? 'other ' : '';
  const why = stock.devices === 0 ? `${countryCode} has no ${other}${tier} device` : `no ${other}${tier} device is free in ${countryCode}: ${summary}`;
  throw new DomainError('unavailable', 'NO_STOCK', `${why}; ${then}`, { country: countryCode, tier, reason, ...stock });
}

/** POST /manage/ports/replace: an offline port moves to a new port on another device (3 free per session). */
export async function replacePort(ctx: X402Context, session: SessionRow, request: { portId?: string; country?: string }, origin: CommandOrigin) {
  const { infra } = ctx;
  const state = await loadSession(infra, session.session_id);
  const ports = activePorts(state);
  const old = request.portId ? ports.find((p) => p.portId === request.portId) : ports.length === 1 ? ports[0] : undefined;
  if (!old) {
    throw request.portId || ports.length === 0
      ? new DomainError('not_found', 'PORT_NOT_FOUND', request.portId ? `no active port ${request.portId} in this session` : 'this session has no active port; use /manage/ports/recreate')
      : new DomainError('invalid', 'PORT_ID_REQUIRED', 'this session has several ports: say which one with portId');
  }
  const online = await portOnline(ctx, old.deviceId);
  checkReplace(state, old.portId, online, infra.clock.now()); // before a slot is taken
  const countryCode = (request.country ?? old.countryCode).toUpperCase();
  const placed = await placePort(infra, { sessionId: session.session_id, countryCode, carrier: null, tier: session.tier as Tier, exclude: [old.deviceId] },
    (newPort) => ({ type: 'ReplacePort', data: { oldPortId: old.portId, oldPortOnline: online, newPort } }), origin);
  if (!placed) return throwNoStock(ctx, countryCode, session.tier as Tier, [old.deviceId], 'the port was not replaced');
  await releaseSlot(infra, old.deviceId, old.portId, origin);
  await infra.projector.waitFor(placed.position, ['sessions', 'devices'], infra.config.READ_YOUR_WRITES_TIMEOUT_MS);
  const after = await loadSession(infra, session.session_id);
  return { replacedPortId: old.portId, port: placed, replacementsUsed: after.status === 'none' ? 0 : after.replacementsUsed };
}

/** POST /manage/ports/recreate: a session with credit and ≥ 5 min left gets a port again (country may change). */
export async function recreatePort(ctx: X402Context, session: SessionRow, request: { country?: string }, origin: CommandOrigin): Promise<AllocatedPort> {
  const { infra } = ctx;
  const used = BigInt(session.traffic_used_bytes);
  checkRecreate(await loadSession(infra, session.session_id), used, infra.clock.now());
  const countryCode = (request.country ?? session.country_code).toUpperCase();
  const placed = await placePort(infra, { sessionId: session.session_id, countryCode, carrier: request.country ? null : session.carrier, tier: session.tier as Tier },
    (newPort) => ({ type: 'RecreatePort', data: { trafficUsedBytes: used, newPort } }), origin);
  if (!placed) return throwNoStock(ctx, countryCode, session.tier as Tier, [], 'try another country');
  await infra.projector.waitFor(placed.position, ['sessions', 'devices'], infra.config.READ_YOUR_WRITES_TIMEOUT_MS);
  return placed;
}

export interface TopUpRequest {
  addTrafficGB?: string | undefined;
  addDurationSeconds?: number | undefined;
}

export function topUpQuote(ctx: X402Context, session: SessionRow, request: TopUpRequest) {
  const addTrafficBytes = request.addTrafficGB !== undefined ? parseTrafficGb(request.addTrafficGB) : 0n;
  const addDurationSeconds = request.addDurationSeconds ?? 0;
  const costMicro = trafficPriceMicro(ctx.prices, session.tier as Tier, addTrafficBytes);
  const base = Math.max(new Date(session.expires_at).getTime(), ctx.infra.clock.now().getTime());
  return { addTrafficBytes, addDurationSeconds, costMicro, newExpiresAt: new Date(base + addDurationSeconds * 1000).toISOString() };
}

/**
 * POST /manage/session/topup. Duration is free; traffic is paid at the session's tier price. The rules
 * are checked before money moves; the payment is then claimed once (it cannot also buy or top up
 * anything else) and the session refuses any payment it has seen before (the purchase and every top-up).
 */
export async function topUp(ctx: X402Context, session: SessionRow, request: TopUpRequest, header: string | undefined, origin: CommandOrigin) {
  const { infra } = ctx;
  const quote = topUpQuote(ctx, session, request);
  const stream = sessionStreamId(session.session_id);
  const state = await loadSession(infra, session.session_id);
  const probe = quote.costMicro > 0n ? { network: 'base' as const, proof: 'tx_hash' as const, claimKey: '-', transaction: '-', payer: '-', amountMicro: '0' } : null;
  sessionDecider.decide({ type: 'TopUp', data: { addTrafficBytes: quote.addTrafficBytes, addDurationSeconds: quote.addDurationSeconds, payment: probe } }, state, { now: infra.clock.now(), newId: () => '' });

  let payment = null;
  let collected: Collected | null = null;
  if (quote.costMicro > 0n) {
    if (!header) return { kind: 'payment_required' as const, quote };
    if (!ctx.payments) throw new DomainError('unavailable', 'PAYMENTS_DISABLED', 'no payment network is configured on this server');
    const result = await ctx.payments.collect(header, quote.costMicro);
    if (!result.ok) throw new PaymentRejectedError(result);
    collected = result;
    payment = paymentRef(result);
    if (state.status !== 'none' && state.claimKeys.includes(payment.claimKey)) {
      throw new DomainError('conflict', 'PAYMENT_ALREADY_USED', 'this payment was already used by this session');
    }
    await handleCommand(infra, paymentDecider, paymentStreamId(payment.claimKey), {
      type: 'ClaimPayment', data: { ...payment, purpose: { kind: 'topup', sessionId: session.session_id }, order: null },
    }, origin);
  }
  const handled = await handleCommand(infra, sessionDecider, stream, {
    type: 'TopUp', data: { addTrafficBytes: quote.addTrafficBytes, addDurationSeconds: quote.addDurationSeconds, payment },
  }, origin);
  await infra.projector.waitFor(handled.position, ['sessions'], infra.config.READ_YOUR_WRITES_TIMEOUT_MS);
  return { kind: 'topped_up' as const, quote, payment, collected, expiresAt: handled.state.status === 'none' ? quote.newExpiresAt : handled.state.expiresAt };
}
