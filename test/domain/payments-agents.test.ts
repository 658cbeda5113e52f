import { agentDecider, type AgentCommand, type AgentEvent, type AgentState } from '../../domain/agents/agents.ts';
import { paymentDecider, type PaymentCommand, type PaymentEvent, type PaymentState } from '../../domain/payments/claims.ts';
import { deciderSpec } from '../support/decider-spec.ts';

const at = '2026-11-20T12:00:00.000Z';

describe('payment claims', () => {
  const given = deciderSpec<PaymentCommand, PaymentEvent, PaymentState>(paymentDecider);
  const claim: PaymentCommand = {
    type: 'ClaimPayment',
    data: { network: 'base', proof: 'tx_hash', claimKey: 'base-0xaa', transaction: '0xaa', payer: '0xb', amountMicro: '400000', purpose: { kind: 'purchase', sessionId: 's1' }, order: null },
  };
  it('claims an unused payment', () => given([]).when(claim).then([{ type: 'PaymentClaimed', data: { ...claim.data, claimedAt: at } }]));
  it('refuses a payment used before, naming the session it bought', () =>
    given([{ type: 'PaymentClaimed', data: { ...claim.data, claimedAt: at } }]).when(claim).thenThrows('PAYMENT_ALREADY_USED', 'conflict'));
});

describe('agent registry', () => {
  const given = deciderSpec<AgentCommand, AgentEvent, AgentState>(agentDecider);
  const profile = { wallet: '0xABCDEF0000000000000000000000000000000001', network: 'base' as const, name: 'scraper', description: null, preferences: { country: 'US', tier: null } };
  const lower = { ...profile, wallet: profile.wallet.toLowerCase() };
  it('registers an agent under its normalised wallet', () =>
    given([]).when({ type: 'RegisterAgent', data: profile }).then([{ type: 'AgentRegistered', data: { ...lower, registeredAt: at } }]));
  it('updates a changed profile and ignores an identical one', () => {
    const registered: AgentEvent = { type: 'AgentRegistered', data: { ...lower, registeredAt: at } };
    given([registered]).when({ type: 'RegisterAgent', data: profile }).then([]);
    given([registered]).when({ type: 'RegisterAgent', data: { ...profile, name: 'crawler' } })
      .then([{ type: 'AgentProfileUpdated', data: { ...lower, name: 'crawler', updatedAt: at } }]);
  });
});
