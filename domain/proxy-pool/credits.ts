import type { PaymentRef } from '../sessions/events.ts';
import type { DecisionContext } from '../shared/decider.ts';
import { DomainError, assertNever } from '../shared/errors.ts';

/**
 * Credits of a proxy-pool user. Every movement is an event on `pp-credits-<userId>`; the balance is
 * their sum, so the stream's revision guards it: two concurrent debits cannot both spend the last credit.
 */
export type CreditEvent =
  | { type: 'PoolCreditsPurchased'; data: { userId: string; credits: number; priceMicro: string; payment: PaymentRef; at: string } }
  | { type: 'PoolCreditsGranted'; data: { userId: string; credits: number; description: string; grantedBy: string; at: string } }
  | { type: 'PoolCreditDebited'; data: { userId: string; credits: 1; leaseId: string; proxyId: string; description: string; at: string } };

export interface CreditState { balance: number; claimKeys: Set<string> }

export type CreditCommand =
  | { type: 'PurchaseCredits'; data: { userId: string; credits: number; priceMicro: bigint; payment: PaymentRef } }
  | { type: 'GrantCredits'; data: { userId: string; credits: number; description: string; grantedBy: string } }
  | { type: 'DebitCredit'; data: { userId: string; leaseId: string; proxyId: string; description: string } };

export const MAX_CREDITS_PER_MOVEMENT = 1_000_000;
export const poolCreditsStreamId = (userId: string) => `pp-credits-${userId}`;

export const creditDecider = {
  initialState: (): CreditState => ({ balance: 0, claimKeys: new Set() }),

  evolve(state: CreditState, event: CreditEvent): CreditState {
    switch (event.type) {
      case 'PoolCreditsPurchased':
        return { balance: state.balance + event.data.credits, claimKeys: new Set(state.claimKeys).add(event.data.payment.claimKey) };
      case 'PoolCreditsGranted':
        return { ...state, balance: state.balance + event.data.credits };
      case 'PoolCreditDebited':
        return { ...state, balance: state.balance - event.data.credits };
      default:
        return assertNever(event);
    }
  },

  decide(command: CreditCommand, state: CreditState, { now }: DecisionContext): CreditEvent[] {
    const at = now.toISOString();
    switch (command.type) {
      case 'PurchaseCredits': {
        const d = command.data;
        requireAmount(d.credits);
        if (state.claimKeys.has(d.payment.claimKey)) throw new DomainError('conflict', 'PAYMENT_ALREADY_USED', 'this payment was already used');
        return [{ type: 'PoolCreditsPurchased', data: { userId: d.userId, credits: d.credits, priceMicro: d.priceMicro.toString(), payment: d.payment, at } }];
      }
      case 'GrantCredits': {
        requireAmount(command.data.credits);
        return [{ type: 'PoolCreditsGranted', data: { ...command.data, at } }];
      }
      case 'DebitCredit': {
        if (state.balance < 1) {
          throw new DomainError('payment_required', 'INSUFFICIENT_CREDITS', `You need at least 1 credit to acquire a proxy. Current balance: ${state.balance}.`, { balance: state.balance });
        }
        return [{ type: 'PoolCreditDebited', data: { ...command.data, credits: 1, at } }];
      }
      default:
        return assertNever(command);
    }
  },
};

function requireAmount(credits: number) {
  if (!Number.isInteger(credits) || credits < 1 || credits > MAX_CREDITS_PER_MOVEMENT) {
    throw new DomainError('invalid', 'INVALID_CREDITS', `credits must be a whole number from 1 to ${MAX_CREDITS_PER_MOVEMENT}`);
  }
}
