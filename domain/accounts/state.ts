import { assertNever } from '../shared/errors.ts';
import type { AccountEvent, Role, Scope, SlotType } from './events.ts';

export interface SlotLot { purchaseId: string; quantity: number; expiresAt: string; warned: boolean }

export interface Wallet {
  depositedMicro: bigint;
  creditsMicro: bigint;
  spentMicro: bigint;
}

export type AccountState =
  | { status: 'none' }
  | {
      status: 'registered';
      accountId: string;
      email: string;
      role: Role;
      isActive: boolean;
      hasPassword: boolean;
      keys: Record<string, { scopes: Scope[]; revoked: boolean }>;
      wallet: Wallet;
      /** Claim keys of deposits already credited (a payment credits once). */
      deposits: string[];
      slotLots: Record<SlotType, SlotLot[]>;
      /** portId → slot type of every port holding a slot. */
      assigned: Record<string, SlotType>;
      trafficBytes: Record<SlotType, bigint>;
      poolPasswordHash: string | null;
    };

export type Registered = Extract<AccountState, { status: 'registered' }>;

export const initialAccountState = (): AccountState => ({ status: 'none' });

export const balanceMicro = (w: Wallet) => w.depositedMicro + w.creditsMicro - w.spentMicro;

export function evolveAccount(state: AccountState, event: AccountEvent): AccountState {
  if (event.type === 'AccountRegistered') {
    const d = event.data;
    return {
      status: 'registered', accountId: d.accountId, email: d.email, role: d.role, isActive: true, hasPassword: d.passwordHash !== null,
      keys: {}, wallet: { depositedMicro: 0n, creditsMicro: 0n, spentMicro: 0n }, deposits: [],
      slotLots: { shared: [], private: [] }, assigned: {}, trafficBytes: { shared: 0n, private: 0n }, poolPasswordHash: null,
    };
  }
  if (state.status !== 'registered') return state;
  switch (event.type) {
    case 'AccountRoleChanged':
      return { ...state, role: event.data.role };
    case 'AccountActivationChanged':
      return { ...state, isActive: event.data.isActive };
    case 'AccountApiKeyCreated':
      return { ...state, keys: { ...state.keys, [event.data.keyId]: { scopes: event.data.scopes, revoked: false } } };
    case 'AccountApiKeyRevoked': {
      const key = state.keys[event.data.keyId];
      return key ? { ...state, keys: { ...state.keys, [event.data.keyId]: { ...key, revoked: true } } } : state;
    }
    case 'AccountDepositCredited':
      return {
        ...state,
        wallet: { ...state.wallet, depositedMicro: state.wallet.depositedMicro + BigInt(event.data.amountMicro) },
        deposits: [...state.deposits, event.data.payment.claimKey],
      };
    case 'AccountCreditGranted':
      return { ...state, wallet: { ...state.wallet, creditsMicro: state.wallet.creditsMicro + BigInt(event.data.amountMicro) } };
    case 'AccountSlotsPurchased': {
      const d = event.data;
      return {
        ...state,
        wallet: { ...state.wallet, spentMicro: state.wallet.spentMicro + BigInt(d.priceMicro) },
        slotLots: { ...state.slotLots, [d.slotType]: [...state.slotLots[d.slotType], { purchaseId: d.purchaseId, quantity: d.quantity, expiresAt: d.expiresAt, warned: false }] },
      };
    }
    case 'AccountTrafficPurchased': {
      const d = event.data;
      return {
        ...state,
        wallet: { ...state.wallet, spentMicro: state.wallet.spentMicro + BigInt(d.priceMicro) },
        trafficBytes: { ...state.trafficBytes, [d.slotType]: state.trafficBytes[d.slotType] + BigInt(d.bytes) },
      };
    }
    case 'AccountSlotAssigned':
      return { ...state, assigned: { ...state.assigned, [event.data.portId]: event.data.slotType } };
    case 'AccountSlotReleased': {
      const { [event.data.portId]: _gone, ...assigned } = state.assigned;
      return { ...state, assigned };
    }
    case 'AccountPoolPasswordSet':
      return { ...state, poolPasswordHash: event.data.passwordHash };
    case 'AccountSlotsExpiring': {
      const t = event.data.slotType;
      return { ...state, slotLots: { ...state.slotLots, [t]: state.slotLots[t].map((l) => (l.purchaseId === event.data.purchaseId ? { ...l, warned: true } : l)) } };
    }
    case 'AccountNotificationsRead':
    case 'AccountNotificationDeleted':
      return state; // notifications live in their read model; the stream keeps what the holder did
    default:
      return assertNever(event);
  }
}

/** Cumulative traffic ever bought (both slot types): what the volume discount looks at. */
export const cumulativeTrafficBytes = (s: Registered) => s.trafficBytes.shared + s.trafficBytes.private;

/** Slots of unexpired subscriptions, and how many ports hold one. */
export function slotUsage(s: Registered, slotType: SlotType, now: Date) {
  const total = s.slotLots[slotType].filter((l) => new Date(l.expiresAt) > now).reduce((n, l) => n + l.quantity, 0);
  const used = Object.values(s.assigned).filter((t) => t === slotType).length;
  return { total, used, available: Math.max(0, total - used) };
}
