import { poolAccessDecider, type PoolAccessCommand, type PoolAccessEvent, type PoolAccessState } from '../../domain/pool-access/pool-access.ts';
import type { PaymentRef } from '../../domain/sessions/events.ts';
import { deciderSpec } from '../support/decider-spec.ts';

const at = '2026-11-20T12:00:00.000Z';
const given = deciderSpec<PoolAccessCommand, PoolAccessEvent, PoolAccessState>(poolAccessDecider);
const payment: PaymentRef = { network: 'base', proof: 'tx_hash', claimKey: 'base-0x1', transaction: '0x1', payer: '0xb', amountMicro: '4000000' };
const purchased: PoolAccessEvent = {
  type: 'PoolAccessPurchased',
  data: { accountId: 'a1', tier: 'mbl', defaultCountry: 'US', trafficBytes: '1000000000', tokenHash: 't', passwordHash: 'p', payment, purchasedAt: at },
};

describe('pool access decider', () => {
  it('opens an account with its traffic', () =>
    given([]).when({ type: 'PurchasePoolAccess', data: { accountId: 'a1', tier: 'mbl', defaultCountry: 'US', trafficBytes: 1_000_000_000n, tokenHash: 't', passwordHash: 'p', payment } })
      .then([purchased]));
  it('tops up with a new payment only', () => {
    const second = { ...payment, claimKey: 'base-0x2', transaction: '0x2' };
    given([purchased]).when({ type: 'TopUpPoolAccess', data: { addTrafficBytes: 5n, payment: second } })
      .then([{ type: 'PoolAccessToppedUp', data: { accountId: 'a1', addTrafficBytes: '5', payment: second, toppedUpAt: at } }]);
    given([purchased]).when({ type: 'TopUpPoolAccess', data: { addTrafficBytes: 5n, payment } }).thenThrows('PAYMENT_ALREADY_USED', 'conflict');
    given([purchased]).when({ type: 'TopUpPoolAccess', data: { addTrafficBytes: 0n, payment: second } }).thenThrows('INVALID_TOPUP');
  });
  it('regenerates the password of an existing account', () => {
    given([purchased]).when({ type: 'RegeneratePoolPassword', data: { passwordHash: 'p2' } })
      .then([{ type: 'PoolPasswordRegenerated', data: { accountId: 'a1', passwordHash: 'p2', regeneratedAt: at } }]);
    given([]).when({ type: 'RegeneratePoolPassword', data: { passwordHash: 'p2' } }).thenThrows('POOL_ACCOUNT_NOT_FOUND', 'not_found');
  });
});
