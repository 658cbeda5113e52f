import type { PaymentRef } from '../sessions/events.ts';
import type { DecisionContext } from '../shared/decider.ts';
import { DomainError, assertNever } from '../shared/errors.ts';
import type { AccountEvent, Role, Scope, SlotType } from './events.ts';
import { quoteSlots, quoteTraffic, type AccountPricing } from './pricing.ts';
import { balanceMicro, cumulativeTrafficBytes, evolveAccount, initialAccountState, slotUsage, type AccountState, type Registered } from './state.ts';

export const MAX_API_KEYS = 25;
const DAY_MS = 86_400_000;

export type AccountCommand =
  | { type: 'RegisterAccount'; data: { accountId: string; email: string; passwordHash: string | null; role: Role; via: 'self' | 'admin' } }
  | { type: 'ChangeRole'; data: { role: Role } }
  | { type: 'SetActive'; data: { isActive: boolean } }
  | { type: 'CreateApiKey'; data: { keyId: string; label: string; scopes: Scope[]; keyHash: string; keyPrefix: string } }
  | { type: 'RevokeApiKey'; data: { keyId: string } }
  | { type: 'CreditDeposit'; data: { amountMicro: bigint; payment: PaymentRef } }
  | { type: 'GrantCredit'; data: { amountMicro: bigint; reason: string; grantedBy: string } }
  | { type: 'PurchaseSlots'; data: { purchaseId: string; slotType: SlotType; quantity: number; pricing: AccountPricing } }
  | { type: 'PurchaseTraffic'; data: { purchaseId: string; slotType: SlotType; bytes: bigint; pricing: AccountPricing } }
  | { type: 'AssignSlot'; data: { portId: string; slotType: SlotType } }
  | { type: 'ReleaseSlot'; data: { portId: string } }
  | { type: 'SetPoolPassword'; data: { passwordHash: string } }
  | { type: 'WarnSlotsExpiring'; data: { purchaseId: string; warnWithinDays: number } }
  | { type: 'MarkNotificationsRead'; data: { notificationIds: string[]; all: boolean } }
  | { type: 'DeleteNotification'; data: { notificationId: string } };

function registered(state: AccountState): Registered {
  if (state.status === 'none') throw new DomainError('not_found', 'ACCOUNT_NOT_FOUND', 'no such account');
  return state;
}

function active(state: AccountState): Registered {
  const s = registered(state);
  if (!s.isActive) throw new DomainError('forbidden', 'ACCOUNT_DISABLED', 'this account is deactivated');
  return s;
}

function spend(s: Registered, priceMicro: bigint) {
  const balance = balanceMicro(s.wallet);
  if (priceMicro > balance) {
    throw new DomainError('payment_required', 'INSUFFICIENT_BALANCE', 'the balance does not cover this purchase; deposit first', {
      priceMicro: priceMicro.toString(), balanceMicro: balance.toString(), shortfallMicro: (priceMicro - balance).toString(),
    });
  }
}

export function decideAccount(command: AccountCommand, state: AccountState, { now }: DecisionContext): AccountEvent[] {
  const at = now.toISOString();
  switch (command.type) {
    case 'RegisterAccount':
      if (state.status !== 'none') throw new DomainError('conflict', 'ACCOUNT_EXISTS', 'this account exists');
      return [{ type: 'AccountRegistered', data: { ...command.data, registeredAt: at } }];
    case 'ChangeRole': {
      const s = registered(state);
      if (s.role === command.data.role) return [];
      return [{ type: 'AccountRoleChanged', data: { accountId: s.accountId, role: command.data.role, previousRole: s.role, changedAt: at } }];
    }
    case 'SetActive': {
      const s = registered(state);
      if (s.isActive === command.data.isActive) return [];
      return [{ type: 'AccountActivationChanged', data: { accountId: s.accountId, isActive: command.data.isActive, changedAt: at } }];
    }
    case 'CreateApiKey': {
      const s = active(state);
      if (Object.values(s.keys).filter((k) => !k.revoked).length >= MAX_API_KEYS) {
        throw new DomainError('conflict', 'TOO_MANY_API_KEYS', `an account holds at most ${MAX_API_KEYS} active API keys; revoke one first`);
      }
      if (command.data.scopes.length === 0) throw new DomainError('invalid', 'SCOPES_REQUIRED', 'an API key needs at least one scope');
      return [{ type: 'AccountApiKeyCreated', data: { accountId: s.accountId, ...command.data, scopes: [...new Set(command.data.scopes)], createdAt: at } }];
    }
    case 'RevokeApiKey': {
      const s = registered(state);
      const key = s.keys[command.data.keyId];
      if (!key) throw new DomainError('not_found', 'API_KEY_NOT_FOUND', 'no such API key on this account');
      if (key.revoked) return [];
      return [{ type: 'AccountApiKeyRevoked', data: { accountId: s.accountId, keyId: command.data.keyId, revokedAt: at } }];
    }
    case 'CreditDeposit': {
      const s = registered(state);
      if (command.data.amountMicro <= 0n) throw new DomainError('invalid', 'INVALID_AMOUNT', 'a deposit is positive');
      if (s.deposits.includes(command.data.payment.claimKey)) return []; // a payment credits once
      return [{ type: 'AccountDepositCredited', data: { accountId: s.accountId, amountMicro: command.data.amountMicro.toString(), payment: command.data.payment, creditedAt: at } }];
    }
    case 'GrantCredit': {
      const s = registered(state);
      if (command.data.amountMicro === 0n) throw new DomainError('invalid', 'INVALID_AMOUNT', 'a credit is not zero');
      // A negative credit corrects an earlier one; it may not take the balance below zero.
      if (command.data.amountMicro < 0n && -command.data.amountMicro > balanceMicro(s.wallet)) {
        throw new DomainError('conflict', 'CREDIT_EXCEEDS_BALANCE', 'a negative credit cannot take the balance below zero', { balanceMicro: balanceMicro(s.wallet).toString() });
      }
      return [{ type: 'AccountCreditGranted', data: { accountId: s.accountId, amountMicro: command.data.amountMicro.toString(), reason: command.data.reason, grantedBy: command.data.grantedBy, grantedAt: at } }];
    }
    case 'PurchaseSlots': {
      const s = active(state);
      const d = command.data;
      if (!Number.isInteger(d.quantity) || d.quantity < 1 || d.quantity > 1000) throw new DomainError('invalid', 'INVALID_QUANTITY', 'quantity is a whole number of slots, 1 to 1000');
      const quote = quoteSlots(d.pricing, d.slotType, d.quantity);
      spend(s, quote.priceMicro);
      return [{
        type: 'AccountSlotsPurchased',
        data: {
          accountId: s.accountId, purchaseId: d.purchaseId, slotType: d.slotType, quantity: d.quantity,
          unitPriceMicro: quote.unitPriceMicro.toString(), priceMicro: quote.priceMicro.toString(),
          expiresAt: new Date(now.getTime() + d.pricing.slotPeriodDays * DAY_MS).toISOString(), purchasedAt: at,
        },
      }];
    }
    case 'PurchaseTraffic': {
      const s = active(state);
      const d = command.data;
      if (d.bytes <= 0n) throw new DomainError('invalid', 'INVALID_QUANTITY', 'buy a positive amount of traffic');
      const quote = quoteTraffic(d.pricing, d.slotType, d.bytes, cumulativeTrafficBytes(s));
      spend(s, quote.priceMicro);
      return [{
        type: 'AccountTrafficPurchased',
        data: {
          accountId: s.accountId, purchaseId: d.purchaseId, slotType: d.slotType, bytes: d.bytes.toString(),
          basePriceMicro: quote.basePriceMicro.toString(), discountPercent: quote.discountPercent, priceMicro: quote.priceMicro.toString(), purchasedAt: at,
        },
      }];
    }
    case 'AssignSlot': {
      const s = active(state);
      if (s.assigned[command.data.portId]) return [];
      const usage = slotUsage(s, command.data.slotType, now);
      if (usage.available < 1) {
        throw new DomainError('payment_required', 'NO_AVAILABLE_SLOTS', `no free ${command.data.slotType} port slot: buy one with POST /v1/billing/purchase-ports${command.data.slotType === 'private' ? '-private' : ''}`, usage);
      }
      return [{ type: 'AccountSlotAssigned', data: { accountId: s.accountId, portId: command.data.portId, slotType: command.data.slotType, assignedAt: at } }];
    }
    case 'ReleaseSlot': {
      const s = registered(state);
      const slotType = s.assigned[command.data.portId];
      if (!slotType) return [];
      return [{ type: 'AccountSlotReleased', data: { accountId: s.accountId, portId: command.data.portId, slotType, releasedAt: at } }];
    }
    case 'SetPoolPassword': {
      const s = active(state);
      return [{ type: 'AccountPoolPasswordSet', data: { accountId: s.accountId, passwordHash: command.data.passwordHash, setAt: at } }];
    }
    case 'WarnSlotsExpiring': {
      const s = registered(state);
      const lot = [...s.slotLots.shared.map((l) => ({ ...l, slotType: 'shared' as const })), ...s.slotLots.private.map((l) => ({ ...l, slotType: 'private' as const }))]
        .find((l) => l.purchaseId === command.data.purchaseId);
      if (!lot) throw new DomainError('not_found', 'PURCHASE_NOT_FOUND', 'no such slot purchase on this account');
      const left = new Date(lot.expiresAt).getTime() - now.getTime();
      // once per purchase, and only inside the window (a lapsed lot is past warning)
      if (lot.warned || left <= 0 || left > command.data.warnWithinDays * DAY_MS) return [];
      return [{ type: 'AccountSlotsExpiring', data: { accountId: s.accountId, purchaseId: lot.purchaseId, slotType: lot.slotType, quantity: lot.quantity, expiresAt: lot.expiresAt, warnedAt: at } }];
    }
    case 'MarkNotificationsRead': {
      const s = registered(state);
      if (!command.data.all && command.data.notificationIds.length === 0) return [];
      return [{ type: 'AccountNotificationsRead', data: { accountId: s.accountId, notificationIds: command.data.all ? [] : [...new Set(command.data.notificationIds)], all: command.data.all, readAt: at } }];
    }
    case 'DeleteNotification': {
      const s = registered(state);
      return [{ type: 'AccountNotificationDeleted', data: { accountId: s.accountId, notificationId: command.data.notificationId, deletedAt: at } }];
    }
    default:
      return assertNever(command);
  }
}

export const accountDecider = { decide: decideAccount, evolve: evolveAccount, initialState: initialAccountState };

/** An e-mail address belongs to one account: its claim stream is appended once. */
export type EmailClaimEvent = { type: 'AccountEmailClaimed'; data: { emailHash: string; accountId: string; claimedAt: string } };
export type EmailClaimState = { claimedBy: string | null };
export const emailClaimDecider = {
  initialState: (): EmailClaimState => ({ claimedBy: null }),
  evolve: (_s: EmailClaimState, e: EmailClaimEvent): EmailClaimState => ({ claimedBy: e.data.accountId }),
  decide(command: { type: 'ClaimEmail'; data: { emailHash: string; accountId: string } }, state: EmailClaimState, { now }: DecisionContext): EmailClaimEvent[] {
    if (state.claimedBy) throw new DomainError('conflict', 'EMAIL_TAKEN', 'an account with this e-mail exists');
    return [{ type: 'AccountEmailClaimed', data: { ...command.data, claimedAt: now.toISOString() } }];
  },
};
