import type { Collected } from '../../adapters/payments/port.ts';
import { paymentDecider, paymentStreamId } from '../../domain/payments/claims.ts';
import { poolAccessDecider, poolAccessStreamId } from '../../domain/pool-access/pool-access.ts';
import { trafficPriceMicro } from '../../domain/pricing/pricing.ts';
import type { PaymentRef } from '../../domain/sessions/events.ts';
import { DomainError } from '../../domain/shared/errors.ts';
import type { PoolAccountRow } from '../../projections/pool-accounts.ts';
import { handleCommand, type CommandOrigin } from '../commands/handle.ts';
import { PaymentRejectedError, type X402Context } from './context.ts';
import { paymentRef } from './purchase.ts';
import { newSessionToken, randomToken, sha256Hex } from './secrets.ts';

/** Pool traffic is priced like the shared tier (seed: v1 = mbl tier, $4/GB). */
export const poolPriceMicro = (ctx: X402Context, bytes: bigint) => trafficPriceMicro(ctx.prices, 'shared', bytes);

async function collectAndClaim(ctx: X402Context, header: string, amountMicro: bigint, purpose: { kind: 'pool_purchase' | 'pool_topup'; sessionId: string }, origin: CommandOrigin) {
  if (!ctx.payments) throw new DomainError('unavailable', 'PAYMENTS_DISABLED', 'no payment network is configured on this server');
  const collected = await ctx.payments.collect(header, amountMicro);
  if (!collected.ok) throw new PaymentRejectedError(collected);
  const payment = paymentRef(collected);
  await handleCommand(ctx.infra, paymentDecider, paymentStreamId(collected.claimKey), { type: 'ClaimPayment', data: { ...payment, purpose, order: null } }, origin);
  return { collected, payment };
}

export interface PoolPurchase {
  accountId: string;
  username: string;
  password: string;
  sessionToken: string;
  payment: PaymentRef;
  collected: Collected;
}

/** GET/POST /v1/x402/pool with a payment: a pool credential for every country of the tier. */
export async function purchasePoolAccess(ctx: X402Context, order: { defaultCountry: string; trafficBytes: bigint }, header: string, origin: CommandOrigin): Promise<PoolPurchase> {
  const accountId = randomToken(12);
  const { collected, payment } = await collectAndClaim(ctx, header, poolPriceMicro(ctx, order.trafficBytes), { kind: 'pool_purchase', sessionId: accountId }, origin);
  const password = randomToken(24);
  const sessionToken = newSessionToken();
  const handled = await handleCommand(ctx.infra, poolAccessDecider, poolAccessStreamId(accountId), {
    type: 'PurchasePoolAccess',
    data: { accountId, tier: 'mbl', defaultCountry: order.defaultCountry, trafficBytes: order.trafficBytes, tokenHash: sha256Hex(sessionToken), passwordHash: sha256Hex(password), payment },
  }, origin);
  await ctx.infra.projector.waitFor(handled.position, ['pool-accounts'], ctx.infra.config.READ_YOUR_WRITES_TIMEOUT_MS);
  return { accountId, username: `psx_${accountId}`, password, sessionToken, payment, collected };
}

export async function topUpPoolAccess(ctx: X402Context, account: PoolAccountRow, addTrafficBytes: bigint, header: string, origin: CommandOrigin) {
  if (addTrafficBytes < ctx.prices.minTrafficBytes) throw new DomainError('invalid', 'TRAFFIC_TOO_LOW', 'a pool top-up adds at least 0.1 GB');
  const { collected, payment } = await collectAndClaim(ctx, header, poolPriceMicro(ctx, addTrafficBytes), { kind: 'pool_topup', sessionId: account.account_id }, origin);
  const handled = await handleCommand(ctx.infra, poolAccessDecider, poolAccessStreamId(account.account_id), { type: 'TopUpPoolAccess', data: { addTrafficBytes, payment } }, origin);
  await ctx.infra.projector.waitFor(handled.position, ['pool-accounts'], ctx.infra.config.READ_YOUR_WRITES_TIMEOUT_MS);
  return { payment, collected };
}

/** A new password; the gateway refuses the old one as soon as this returns, and closes its tunnels. */
export async function regeneratePoolPassword(ctx: X402Context, account: PoolAccountRow, origin: CommandOrigin): Promise<string> {
  const password = randomToken(24);
  const handled = await handleCommand(ctx.infra, poolAccessDecider, poolAccessStreamId(account.account_id), { type: 'RegeneratePoolPassword', data: { passwordHash: sha256Hex(password) } }, origin);
  await ctx.infra.projector.waitFor(handled.position, ['pool-accounts'], ctx.infra.config.READ_YOUR_WRITES_TIMEOUT_MS);
  ctx.infra.events.emit('pool-password-changed', account.account_id);
  return password;
}

