import { paymentDecider, paymentStreamId } from '../../domain/payments/claims.ts';
import { creditDecider, poolCreditsStreamId } from '../../domain/proxy-pool/credits.ts';
import { usdcToMicro } from '../x402/prices.ts';
import { DomainError } from '../../domain/shared/errors.ts';
import { creditBalance } from '../../projections/proxy-pool-credits.ts';
import { handleCommand, type CommandOrigin } from '../commands/handle.ts';
import { PaymentRejectedError } from '../x402/context.ts';
import { paymentRef } from '../x402/purchase.ts';
import { RYW, type PoolContext } from './context.ts';

export const creditPriceMicro = (ctx: PoolContext, credits: number) => usdcToMicro(ctx.infra.config.POOL_CREDIT_PRICE_USDC) * BigInt(credits);

/**
 * Credits bought with USDC: the same processor and proofs as every purchase, and the same rule —
 * the payment's claim stream (no_stream) makes a proof buy once.
 */
export async function purchaseCredits(ctx: PoolContext, userId: string, credits: number, header: string, origin: CommandOrigin) {
  if (!ctx.payments) throw new DomainError('unavailable', 'PAYMENTS_DISABLED', 'no payment network is configured on this server');
  const price = creditPriceMicro(ctx, credits);
  const collected = await ctx.payments.collect(header, price);
  if (!collected.ok) throw new PaymentRejectedError(collected);
  const payment = paymentRef(collected);
  await handleCommand(ctx.infra, paymentDecider, paymentStreamId(collected.claimKey), { type: 'ClaimPayment', data: { ...payment, purpose: { kind: 'pp_credits', sessionId: userId }, order: null } }, origin);
  const handled = await handleCommand(ctx.infra, creditDecider, poolCreditsStreamId(userId), { type: 'PurchaseCredits', data: { userId, credits, priceMicro: price, payment } }, origin);
  await ctx.infra.projector.waitFor(handled.position, ['pp-credits'], RYW(ctx));
  return { collected, payment, priceMicro: price, balance: handled.state.balance };
}

export async function grantCredits(ctx: PoolContext, userId: string, credits: number, description: string, origin: CommandOrigin) {
  const handled = await handleCommand(ctx.infra, creditDecider, poolCreditsStreamId(userId), { type: 'GrantCredits', data: { userId, credits, description, grantedBy: origin.actor } }, origin);
  await ctx.infra.projector.waitFor(handled.position, ['pp-credits'], RYW(ctx));
  return { balance: handled.state.balance };
}

export const balanceOf = (ctx: PoolContext, userId: string) => creditBalance(ctx.infra.database.db, userId);
