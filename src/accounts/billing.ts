import { objectId } from '../../adapters/ids.ts';
import type { Collected } from '../../adapters/payments/port.ts';
import type { SlotType } from '../../domain/accounts/events.ts';
import { paymentDecider, paymentStreamId, type PaymentClaimed } from '../../domain/payments/claims.ts';
import { DomainError } from '../../domain/shared/errors.ts';
import { handleCommand, type CommandOrigin } from '../commands/handle.ts';
import { PaymentRejectedError } from '../x402/context.ts';
import { paymentRef } from '../x402/purchase.ts';
import { runAccountCommand, type AccountsContext } from './context.ts';

/**
 * POST /v1/account/deposit with a payment proof: collect (verify, or verify + settle) with the same
 * processor as /v1/x402/proxy, claim the payment (`payment-<claimKey>`, no_stream: once, ever), then
 * credit the account. A claim for this account that never got credited (a crash in between) is
 * credited when the same proof comes again; the account stream credits a claim key once.
 */
export async function deposit(ctx: AccountsContext, accountId: string, amountMicro: bigint, header: string, origin: CommandOrigin): Promise<{ collected: Collected; credited: bigint }> {
  if (!ctx.payments) throw new DomainError('unavailable', 'PAYMENTS_DISABLED', 'no payment network is configured on this server');
  const collected = await ctx.payments.collect(header, amountMicro);
  if (!collected.ok) throw new PaymentRejectedError(collected);
  const payment = paymentRef(collected);
  try {
    await handleCommand(ctx.infra, paymentDecider, paymentStreamId(collected.claimKey), { type: 'ClaimPayment', data: { ...payment, purpose: { kind: 'account_deposit', sessionId: accountId }, order: null } }, origin);
  } catch (error) {
    if (!(error instanceof DomainError && error.code === 'PAYMENT_ALREADY_USED')) throw error;
    let claim: PaymentClaimed['data'] | null = null;
    for await (const e of ctx.infra.store.readStream(paymentStreamId(collected.claimKey))) claim = (e as unknown as PaymentClaimed).data;
    if (claim?.purpose.kind !== 'account_deposit' || claim.purpose.sessionId !== accountId) throw error;
    const handled = await runAccountCommand(ctx, accountId, { type: 'CreditDeposit', data: { amountMicro: BigInt(claim.amountMicro), payment: { ...payment, amountMicro: claim.amountMicro } } }, origin);
    if (handled.events.length === 0) throw error; // credited before: the proof is spent
    return { collected, credited: BigInt(claim.amountMicro) };
  }
  // the account is credited what was paid (the processor accepts up to 2% under the price for tx hashes)
  await runAccountCommand(ctx, accountId, { type: 'CreditDeposit', data: { amountMicro: collected.amountMicro, payment } }, origin);
  return { collected, credited: collected.amountMicro };
}

export async function purchaseSlots(ctx: AccountsContext, accountId: string, slotType: SlotType, quantity: number, origin: CommandOrigin) {
  const handled = await runAccountCommand(ctx, accountId, { type: 'PurchaseSlots', data: { purchaseId: objectId(ctx.infra.clock.now().getTime()), slotType, quantity, pricing: ctx.pricing } }, origin);
  return handled.events[0]!;
}

export async function purchaseTraffic(ctx: AccountsContext, accountId: string, slotType: SlotType, bytes: bigint, origin: CommandOrigin) {
  const handled = await runAccountCommand(ctx, accountId, { type: 'PurchaseTraffic', data: { purchaseId: objectId(ctx.infra.clock.now().getTime()), slotType, bytes, pricing: ctx.pricing } }, origin);
  return handled.events[0]!;
}
