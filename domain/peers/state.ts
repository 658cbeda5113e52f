import { assertNever } from '../shared/errors.ts';
import type { IpType, PeerEvent, PeerKind } from './events.ts';

export type PayoutStatus = 'requested' | 'approved' | 'sent' | 'failed' | 'rejected';

export interface PayoutState {
  payoutId: string;
  amountMicro: bigint;
  walletAddress: string;
  status: PayoutStatus;
  needsApproval: boolean;
  requestedAt: string;
  attempts: Array<{ attempt: number; reference: string; lastValidBlockHeight: number }>;
  signature: string | null;
}

export type PeerState =
  | { status: 'none' }
  | {
      status: 'registered';
      deviceId: string;
      kind: PeerKind;
      accountId: string | null;
      refreshTokenHash: string;
      refreshExpiresAt: string;
      /** Every refresh token ever issued and used, so a replay is recognised as such. */
      usedRefreshHashes: string[];
      walletAddress: string | null;
      walletUsableFrom: string | null;
      ipType: IpType | null;
      ip: string | null;
      earnedMicro: bigint;
      /** Sub-micro remainder of bytes × rate (in micro × 1e-9), carried so no flush loses a fraction. */
      earnedRemainder: bigint;
      /** Earned minus every payout not failed. */
      balanceMicro: bigint;
      payouts: PayoutState[];
    };

export type RegisteredPeer = Extract<PeerState, { status: 'registered' }>;
export const BYTES_PER_GB = 1_000_000_000n;

export const initialPeerState = (): PeerState => ({ status: 'none' });

export function evolvePeer(state: PeerState, event: PeerEvent): PeerState {
  if (event.type === 'PeerRegistered') {
    const d = event.data;
    return {
      status: 'registered', deviceId: d.deviceId, kind: d.kind, accountId: d.accountId,
      refreshTokenHash: d.refreshTokenHash, refreshExpiresAt: d.refreshExpiresAt, usedRefreshHashes: [],
      walletAddress: d.walletAddress, walletUsableFrom: d.walletAddress ? d.registeredAt : null,
      ipType: null, ip: null, earnedMicro: 0n, earnedRemainder: 0n, balanceMicro: 0n, payouts: [],
    };
  }
  if (state.status === 'none') return state;
  const payout = (id: string, change: (p: PayoutState) => PayoutState): PayoutState[] => state.payouts.map((p) => (p.payoutId === id ? change(p) : p));
  switch (event.type) {
    case 'PeerTokenRefreshed':
      return { ...state, usedRefreshHashes: [...state.usedRefreshHashes, state.refreshTokenHash], refreshTokenHash: event.data.refreshTokenHash, refreshExpiresAt: event.data.refreshExpiresAt };
    case 'PeerWalletChanged':
      return { ...state, walletAddress: event.data.walletAddress, walletUsableFrom: event.data.usableFrom };
    case 'PeerClassified':
      return { ...state, ipType: event.data.ipType, ip: event.data.ip };
    case 'PeerTrafficServed': {
      const exact = state.earnedRemainder + (BigInt(event.data.bytesUp) + BigInt(event.data.bytesDown)) * BigInt(event.data.rateMicroPerGB);
      const earned = BigInt(event.data.earnedMicro);
      return { ...state, earnedMicro: state.earnedMicro + earned, earnedRemainder: exact - earned * BYTES_PER_GB, balanceMicro: state.balanceMicro + earned };
    }
    case 'PayoutRequested': {
      const d = event.data;
      const p: PayoutState = {
        payoutId: d.payoutId, amountMicro: BigInt(d.amountMicro), walletAddress: d.walletAddress,
        status: d.needsApproval ? 'requested' : 'approved', needsApproval: d.needsApproval, requestedAt: d.requestedAt, attempts: [], signature: null,
      };
      return { ...state, balanceMicro: state.balanceMicro - p.amountMicro, payouts: [...state.payouts, p] };
    }
    case 'PayoutApproved':
      return { ...state, payouts: payout(event.data.payoutId, (p) => ({ ...p, status: 'approved' })) };
    case 'PayoutAttempted': {
      const d = event.data;
      return { ...state, payouts: payout(d.payoutId, (p) => ({ ...p, attempts: [...p.attempts, { attempt: d.attempt, reference: d.reference, lastValidBlockHeight: d.lastValidBlockHeight }] })) };
    }
    case 'PayoutSent':
      return { ...state, payouts: payout(event.data.payoutId, (p) => ({ ...p, status: 'sent', signature: event.data.signature })) };
    case 'PayoutFailed':
      // the money goes back on the balance
      return { ...state, balanceMicro: state.balanceMicro + BigInt(event.data.amountMicro), payouts: payout(event.data.payoutId, (p) => ({ ...p, status: 'failed' })) };
    case 'PayoutRejected':
      return { ...state, balanceMicro: state.balanceMicro + BigInt(event.data.amountMicro), payouts: payout(event.data.payoutId, (p) => ({ ...p, status: 'rejected' })) };
    default:
      return assertNever(event);
  }
}
