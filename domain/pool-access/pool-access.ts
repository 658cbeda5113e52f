import type { DecisionContext } from '../shared/decider.ts';
import { DomainError, assertNever } from '../shared/errors.ts';
import type { PaymentRef } from '../sessions/events.ts';

/**
 * Pool gateway access bought with x402: one credential (username psx_<accountId>, a password) that
 * reaches every country of its tier through the shared gateway, with a traffic allowance.
 * Managed with its session token. Secrets appear only as sha256 hashes.
 */
export type PoolTier = 'mbl';

export type PoolAccessEvent =
  | {
      type: 'PoolAccessPurchased';
      data: {
        accountId: string; tier: PoolTier; defaultCountry: string; trafficBytes: string;
        tokenHash: string; passwordHash: string; payment: PaymentRef; purchasedAt: string;
      };
    }
  | { type: 'PoolAccessToppedUp'; data: { accountId: string; addTrafficBytes: string; payment: PaymentRef; toppedUpAt: string } }
  | { type: 'PoolPasswordRegenerated'; data: { accountId: string; passwordHash: string; regeneratedAt: string } };

export type PoolAccessState =
  | { status: 'none' }
  | { status: 'active'; accountId: string; tier: PoolTier; trafficBytes: bigint; claimKeys: string[]; passwordHash: string };

export type PoolAccessCommand =
  | { type: 'PurchasePoolAccess'; data: { accountId: string; tier: PoolTier; defaultCountry: string; trafficBytes: bigint; tokenHash: string; passwordHash: string; payment: PaymentRef } }
  | { type: 'TopUpPoolAccess'; data: { addTrafficBytes: bigint; payment: PaymentRef } }
  | { type: 'RegeneratePoolPassword'; data: { passwordHash: string } };

export const poolAccessStreamId = (accountId: string) => `pool-${accountId}`;

export const poolAccessDecider = {
  initialState: (): PoolAccessState => ({ status: 'none' }),

  evolve(state: PoolAccessState, event: PoolAccessEvent): PoolAccessState {
    switch (event.type) {
      case 'PoolAccessPurchased': {
        const d = event.data;
        return { status: 'active', accountId: d.accountId, tier: d.tier, trafficBytes: BigInt(d.trafficBytes), claimKeys: [d.payment.claimKey], passwordHash: d.passwordHash };
      }
      case 'PoolAccessToppedUp':
        return state.status === 'active'
          ? { ...state, trafficBytes: state.trafficBytes + BigInt(event.data.addTrafficBytes), claimKeys: [...state.claimKeys, event.data.payment.claimKey] }
          : state;
      case 'PoolPasswordRegenerated':
        return state.status === 'active' ? { ...state, passwordHash: event.data.passwordHash } : state;
      default:
        return assertNever(event);
    }
  },

  decide(command: PoolAccessCommand, state: PoolAccessState, { now }: DecisionContext): PoolAccessEvent[] {
    const at = now.toISOString();
    switch (command.type) {
      case 'PurchasePoolAccess': {
        if (state.status !== 'none') throw new DomainError('conflict', 'POOL_ACCOUNT_EXISTS', `pool account ${command.data.accountId} exists`);
        const d = command.data;
        return [{ type: 'PoolAccessPurchased', data: { ...d, trafficBytes: d.trafficBytes.toString(), purchasedAt: at } }];
      }
      case 'TopUpPoolAccess': {
        const active = requireActive(state);
        if (command.data.addTrafficBytes <= 0n) throw new DomainError('invalid', 'INVALID_TOPUP', 'a pool top-up adds traffic');
        if (active.claimKeys.includes(command.data.payment.claimKey)) throw new DomainError('conflict', 'PAYMENT_ALREADY_USED', 'this payment was already used by this account');
        return [{ type: 'PoolAccessToppedUp', data: { accountId: active.accountId, addTrafficBytes: command.data.addTrafficBytes.toString(), payment: command.data.payment, toppedUpAt: at } }];
      }
      case 'RegeneratePoolPassword': {
        const active = requireActive(state);
        return [{ type: 'PoolPasswordRegenerated', data: { accountId: active.accountId, passwordHash: command.data.passwordHash, regeneratedAt: at } }];
      }
      default:
        return assertNever(command);
    }
  },
};

function requireActive(state: PoolAccessState): Extract<PoolAccessState, { status: 'active' }> {
  if (state.status === 'none') throw new DomainError('not_found', 'POOL_ACCOUNT_NOT_FOUND', 'no such pool account');
  return state;
}
