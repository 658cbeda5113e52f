import { expect } from 'chai';
import { accountDecider, type AccountCommand } from '../../../domain/accounts/decide.ts';
import type { AccountEvent } from '../../../domain/accounts/events.ts';
import { parseDiscountTable, quoteTraffic, type AccountPricing } from '../../../domain/accounts/pricing.ts';
import { balanceMicro, type AccountState } from '../../../domain/accounts/state.ts';
import type { PaymentRef } from '../../../domain/sessions/events.ts';
import { deciderSpec } from '../../support/decider-spec.ts';

const at = '2026-11-20T12:00:00.000Z';
const given = deciderSpec<AccountCommand, AccountEvent, AccountState>(accountDecider);
const pricing: AccountPricing = {
  perGbMicro: { shared: 4_000_000n, private: 8_000_000n },
  slotMonthlyMicro: { shared: 10_000_000n, private: 25_000_000n },
  discounts: parseDiscountTable('50:10,100:20,250:30,500:40'),
  slotPeriodDays: 30,
};
const registered: AccountEvent = { type: 'AccountRegistered', data: { accountId: 'a1', email: 'a@x.io', passwordHash: 'h', role: 'customer', via: 'self', registeredAt: at } };
const payment: PaymentRef = { network: 'base', proof: 'tx_hash', claimKey: 'base-0x1', transaction: '0x1', payer: '0xb', amountMicro: '20000000' };
const deposited: AccountEvent = { type: 'AccountDepositCredited', data: { accountId: 'a1', amountMicro: '20000000', payment, creditedAt: at } };
const slot: AccountEvent = { type: 'AccountSlotsPurchased', data: { accountId: 'a1', purchaseId: 'p1', slotType: 'shared', quantity: 1, unitPriceMicro: '10000000', priceMicro: '10000000', expiresAt: '2026-12-20T12:00:00.000Z', purchasedAt: at } };

describe('account decider', () => {
  it('registers once', () => {
    given([]).when({ type: 'RegisterAccount', data: { accountId: 'a1', email: 'a@x.io', passwordHash: 'h', role: 'customer', via: 'self' } }).then([registered]);
    given([registered]).when({ type: 'RegisterAccount', data: { accountId: 'a1', email: 'a@x.io', passwordHash: 'h', role: 'customer', via: 'self' } }).thenThrows('ACCOUNT_EXISTS', 'conflict');
  });

  it('creates and revokes keys; revoking twice appends nothing', () => {
    const created: AccountEvent = { type: 'AccountApiKeyCreated', data: { accountId: 'a1', keyId: 'k1', label: 'ci', scopes: ['ports:read'], keyHash: 'kh', keyPrefix: 'psx_abcdefgh', createdAt: at } };
    given([registered]).when({ type: 'CreateApiKey', data: { keyId: 'k1', label: 'ci', scopes: ['ports:read', 'ports:read'], keyHash: 'kh', keyPrefix: 'psx_abcdefgh' } }).then([created]);
    const revoked: AccountEvent = { type: 'AccountApiKeyRevoked', data: { accountId: 'a1', keyId: 'k1', revokedAt: at } };
    given([registered, created]).when({ type: 'RevokeApiKey', data: { keyId: 'k1' } }).then([revoked]);
    given([registered, created, revoked]).when({ type: 'RevokeApiKey', data: { keyId: 'k1' } }).then([]);
    given([registered]).when({ type: 'RevokeApiKey', data: { keyId: 'nope' } }).thenThrows('API_KEY_NOT_FOUND', 'not_found');
    given([registered]).when({ type: 'CreateApiKey', data: { keyId: 'k1', label: 'ci', scopes: [], keyHash: 'kh', keyPrefix: 'p' } }).thenThrows('SCOPES_REQUIRED');
  });

  it('credits a payment once', () => {
    given([registered]).when({ type: 'CreditDeposit', data: { amountMicro: 20_000_000n, payment } }).then([deposited]);
    given([registered, deposited]).when({ type: 'CreditDeposit', data: { amountMicro: 20_000_000n, payment } }).then([]);
  });

  it('never spends more than the balance, and names the shortfall', () => {
    given([registered, deposited]).when({ type: 'PurchaseSlots', data: { purchaseId: 'p1', slotType: 'shared', quantity: 1, pricing } }).then([slot]);
    let error: any;
    try { accountDecider.decide({ type: 'PurchaseSlots', data: { purchaseId: 'p2', slotType: 'private', quantity: 1, pricing } }, [registered, deposited].reduce(accountDecider.evolve, accountDecider.initialState()), { now: new Date(at), newId: () => 'x' }); } catch (e) { error = e; }
    expect(error.code).to.equal('INSUFFICIENT_BALANCE');
    expect(error.kind).to.equal('payment_required');
    expect(error.details).to.deep.equal({ priceMicro: '25000000', balanceMicro: '20000000', shortfallMicro: '5000000' });
  });

  it('prices traffic with the volume discount of the cumulative purchases', () => {
    expect(quoteTraffic(pricing, 'shared', 10_000_000_000n, 0n)).to.deep.equal({ bytes: 10_000_000_000n, basePriceMicro: 40_000_000n, discountPercent: 0, priceMicro: 40_000_000n });
    expect(quoteTraffic(pricing, 'shared', 10_000_000_000n, 45_000_000_000n).discountPercent).to.equal(10);
    expect(quoteTraffic(pricing, 'shared', 100_000_000_000n, 450_000_000_000n)).to.deep.include({ discountPercent: 40, priceMicro: 240_000_000n });
    given([registered, deposited]).when({ type: 'PurchaseTraffic', data: { purchaseId: 't1', slotType: 'shared', bytes: 2_500_000_000n, pricing } })
      .then([{ type: 'AccountTrafficPurchased', data: { accountId: 'a1', purchaseId: 't1', slotType: 'shared', bytes: '2500000000', basePriceMicro: '10000000', discountPercent: 0, priceMicro: '10000000', purchasedAt: at } }]);
  });

  it('assigns a port slot only while a subscription has one free', () => {
    const assigned: AccountEvent = { type: 'AccountSlotAssigned', data: { accountId: 'a1', portId: 'port1', slotType: 'shared', assignedAt: at } };
    given([registered, deposited]).when({ type: 'AssignSlot', data: { portId: 'port1', slotType: 'shared' } }).thenThrows('NO_AVAILABLE_SLOTS', 'payment_required');
    given([registered, deposited, slot]).when({ type: 'AssignSlot', data: { portId: 'port1', slotType: 'shared' } }).then([assigned]);
    given([registered, deposited, slot, assigned]).when({ type: 'AssignSlot', data: { portId: 'port2', slotType: 'shared' } }).thenThrows('NO_AVAILABLE_SLOTS');
    given([registered, deposited, slot, assigned]).when({ type: 'ReleaseSlot', data: { portId: 'port1' } })
      .then([{ type: 'AccountSlotReleased', data: { accountId: 'a1', portId: 'port1', slotType: 'shared', releasedAt: at } }]);
    // an expired subscription frees nothing new
    const spec = deciderSpec<AccountCommand, AccountEvent, AccountState>(accountDecider, { now: new Date('2027-01-01T00:00:00.000Z') });
    spec([registered, deposited, slot]).when({ type: 'AssignSlot', data: { portId: 'port1', slotType: 'shared' } }).thenThrows('NO_AVAILABLE_SLOTS');
  });

  it('lets a negative admin credit correct, never below zero; a deactivated account cannot buy', () => {
    given([registered, deposited]).when({ type: 'GrantCredit', data: { amountMicro: -30_000_000n, reason: 'fix', grantedBy: 'admin' } }).thenThrows('CREDIT_EXCEEDS_BALANCE', 'conflict');
    const off: AccountEvent = { type: 'AccountActivationChanged', data: { accountId: 'a1', isActive: false, changedAt: at } };
    given([registered, deposited, off]).when({ type: 'PurchaseSlots', data: { purchaseId: 'p1', slotType: 'shared', quantity: 1, pricing } }).thenThrows('ACCOUNT_DISABLED', 'forbidden');
    const state = [registered, deposited, slot].reduce(accountDecider.evolve, accountDecider.initialState());
    expect(state.status === 'registered' && balanceMicro(state.wallet)).to.equal(10_000_000n);
  });
});
