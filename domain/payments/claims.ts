import type { DecisionContext } from '../shared/decider.ts';
import { DomainError } from '../shared/errors.ts';
import type { PaymentRef } from '../sessions/events.ts';

/**
 * A payment is usable once. Its claim stream (`payment-<claimKey>`) is appended with `no_stream`,
 * so of any number of concurrent requests presenting the same proof exactly one wins.
 * The claim records what the money was for, so a purchase interrupted after the claim can finish.
 */
export type PaymentClaimed = {
  type: 'PaymentClaimed';
  data: PaymentRef & {
    /** sessionId: the x402 session, the pool account for pool purchases, the proxy-pool user for credits, or the account of a deposit */
    purpose: { kind: 'purchase' | 'topup' | 'pool_purchase' | 'pool_topup' | 'pp_credits' | 'account_deposit'; sessionId: string };
    /** What was bought, so an interrupted purchase can be completed from the claim alone. */
    order: { tier: 'shared' | 'private'; countryCode: string; carrier: string | null; trafficBytes: string; durationSeconds: number } | null;
    claimedAt: string;
  };
};

export type PaymentEvent = PaymentClaimed;
export type PaymentState = { status: 'unclaimed' } | { status: 'claimed'; claim: PaymentClaimed['data'] };
export type PaymentCommand = { type: 'ClaimPayment'; data: Omit<PaymentClaimed['data'], 'claimedAt'> };

export const paymentStreamId = (claimKey: string) => `payment-${claimKey}`;

export const paymentDecider = {
  initialState: (): PaymentState => ({ status: 'unclaimed' }),
  evolve: (_state: PaymentState, event: PaymentEvent): PaymentState => ({ status: 'claimed', claim: event.data }),
  decide(command: PaymentCommand, state: PaymentState, { now }: DecisionContext): PaymentEvent[] {
    if (state.status === 'claimed') {
      throw new DomainError('conflict', 'PAYMENT_ALREADY_USED', 'this payment was already used', {
        sessionId: state.claim.purpose.sessionId, claimedAt: state.claim.claimedAt,
      });
    }
    return [{ type: 'PaymentClaimed', data: { ...command.data, claimedAt: now.toISOString() } }];
  },
};
