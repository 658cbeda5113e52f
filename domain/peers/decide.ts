import type { DecisionContext } from '../shared/decider.ts';
import { DomainError, assertNever } from '../shared/errors.ts';
import type { IpType, PeerEvent, PeerKind } from './events.ts';
import { BYTES_PER_GB, evolvePeer, initialPeerState, type PeerState, type RegisteredPeer } from './state.ts';

/** The seed's limits (Peer Marketplace → Security, Min payout). */
export const PEER_RULES = {
  minPayoutMicro: { agent: 5_000_000n, sdk: 10_000_000n } satisfies Record<PeerKind, bigint>,
  withdrawalsPerHour: 3,
  walletCoolingMs: 7 * 24 * 3600_000,
  refreshTokenTtlMs: 7 * 24 * 3600_000,
} as const;

export type PeerCommand =
  | {
      type: 'RegisterPeer';
      data: {
        deviceId: string; name: string; peerType: string; kind: PeerKind; connectionMethod: string | null; sdkVersion: string | null;
        walletAddress: string | null; accountId: string | null; refreshTokenHash: string;
      };
    }
  | { type: 'RefreshPeerToken'; data: { presentedHash: string; refreshTokenHash: string } }
  | { type: 'ChangePeerWallet'; data: { walletAddress: string } }
  | { type: 'ClassifyPeer'; data: { ip: string; asn: number | null; asnOrg: string | null; ipType: IpType; country: string | null } }
  | { type: 'RecordPeerTraffic'; data: { bytesUp: bigint; bytesDown: bigint; ipType: IpType; rateMicroPerGB: bigint; tunnels: number; from: Date; relay: string } }
  | { type: 'RequestWithdrawal'; data: { payoutId: string; needsApproval: boolean } }
  | { type: 'ApprovePayout'; data: { payoutId: string; approvedBy: string } }
  | { type: 'RejectPayout'; data: { payoutId: string; rejectedBy: string; reason: string } }
  | { type: 'RecordPayoutAttempt'; data: { payoutId: string; reference: string; lastValidBlockHeight: number } }
  | { type: 'RecordPayoutSent'; data: { payoutId: string; signature: string; foundByReference: boolean } }
  | { type: 'RecordPayoutFailed'; data: { payoutId: string; reason: string } };

export const formatUsd = (micro: bigint) => `$${(Number(micro) / 1e6).toFixed(2)}`;

export const peerDecider = {
  initialState: initialPeerState,
  evolve: evolvePeer,

  decide(command: PeerCommand, state: PeerState, { now }: DecisionContext): PeerEvent[] {
    const at = now.toISOString();
    if (command.type === 'RegisterPeer') {
      if (state.status !== 'none') throw new DomainError('conflict', 'PEER_EXISTS', `peer ${command.data.deviceId} is already registered`);
      return [{ type: 'PeerRegistered', data: { ...command.data, refreshExpiresAt: new Date(now.getTime() + PEER_RULES.refreshTokenTtlMs).toISOString(), registeredAt: at } }];
    }
    const peer = requireRegistered(state);
    const d = peer.deviceId;
    switch (command.type) {
      case 'RefreshPeerToken': {
        const presented = command.data.presentedHash;
        if (peer.usedRefreshHashes.includes(presented)) throw new DomainError('unauthorized', 'REFRESH_TOKEN_USED', 'this refresh token was already used; use the newest one or register again');
        if (presented !== peer.refreshTokenHash) throw new DomainError('unauthorized', 'REFRESH_TOKEN_INVALID', 'refresh token is not valid for this device');
        if (new Date(peer.refreshExpiresAt).getTime() <= now.getTime()) throw new DomainError('unauthorized', 'REFRESH_TOKEN_EXPIRED', 'refresh token expired (7 days); register again');
        return [{ type: 'PeerTokenRefreshed', data: { deviceId: d, refreshTokenHash: command.data.refreshTokenHash, refreshExpiresAt: new Date(now.getTime() + PEER_RULES.refreshTokenTtlMs).toISOString(), refreshedAt: at } }];
      }
      case 'ChangePeerWallet': {
        if (peer.walletAddress === command.data.walletAddress) return [];
        // every change waits out the cooling period, so a stolen JWT cannot redirect a balance at once
        return [{ type: 'PeerWalletChanged', data: { deviceId: d, walletAddress: command.data.walletAddress, usableFrom: new Date(now.getTime() + PEER_RULES.walletCoolingMs).toISOString(), changedAt: at } }];
      }
      case 'ClassifyPeer': {
        const c = command.data;
        if (peer.ip === c.ip && peer.ipType === c.ipType) return [];
        return [{ type: 'PeerClassified', data: { deviceId: d, ...c, classifiedAt: at } }];
      }
      case 'RecordPeerTraffic': {
        const c = command.data;
        if (c.bytesUp < 0n || c.bytesDown < 0n) throw new DomainError('invalid', 'INVALID_TRAFFIC', 'traffic is never negative');
        if (c.bytesUp + c.bytesDown === 0n) return [];
        const exact = peer.earnedRemainder + (c.bytesUp + c.bytesDown) * c.rateMicroPerGB;
        return [{
          type: 'PeerTrafficServed',
          data: {
            deviceId: d, bytesUp: c.bytesUp.toString(), bytesDown: c.bytesDown.toString(), ipType: c.ipType, rateMicroPerGB: c.rateMicroPerGB.toString(),
            earnedMicro: (exact / BYTES_PER_GB).toString(), tunnels: c.tunnels, from: c.from.toISOString(), to: at, relay: c.relay,
          },
        }];
      }
      case 'RequestWithdrawal': {
        if (!peer.walletAddress) throw new DomainError('invalid', 'NO_WALLET', 'register a wallet first with PUT /v1/peer/agents/:id/wallet');
        if (peer.walletUsableFrom && new Date(peer.walletUsableFrom).getTime() > now.getTime()) {
          throw new DomainError('forbidden', 'WALLET_COOLING', `the wallet changed recently; withdrawals to it open at ${peer.walletUsableFrom}`, { usableFrom: peer.walletUsableFrom });
        }
        const hourAgo = now.getTime() - 3600_000;
        const recent = peer.payouts.filter((p) => new Date(p.requestedAt).getTime() > hourAgo);
        if (recent.length >= PEER_RULES.withdrawalsPerHour) {
          const retryAt = new Date(new Date(recent[0]!.requestedAt).getTime() + 3600_000).toISOString();
          throw new DomainError('rate_limited', 'WITHDRAWAL_RATE_LIMITED', `${PEER_RULES.withdrawalsPerHour} withdrawals per hour; retry after ${retryAt}`, { retryAt });
        }
        const min = PEER_RULES.minPayoutMicro[peer.kind];
        if (peer.balanceMicro < min) {
          throw new DomainError('invalid', 'BELOW_MINIMUM_PAYOUT', `minimum payout is ${formatUsd(min)} for ${peer.kind === 'sdk' ? 'SDK devices' : 'agents'}; the balance is ${formatUsd(peer.balanceMicro)}`, {
            minimumMicro: min.toString(), balanceMicro: peer.balanceMicro.toString(),
          });
        }
        return [{ type: 'PayoutRequested', data: { deviceId: d, payoutId: command.data.payoutId, amountMicro: peer.balanceMicro.toString(), walletAddress: peer.walletAddress, needsApproval: command.data.needsApproval, requestedAt: at } }];
      }
      case 'ApprovePayout': {
        const p = requirePayout(peer, command.data.payoutId);
        if (p.status === 'approved' || p.status === 'sent') return [];
        if (p.status !== 'requested') throw new DomainError('conflict', 'PAYOUT_NOT_PENDING', `payout ${p.payoutId} is ${p.status}`);
        return [{ type: 'PayoutApproved', data: { deviceId: d, payoutId: p.payoutId, approvedBy: command.data.approvedBy, approvedAt: at } }];
      }
      case 'RejectPayout': {
        const p = requirePayout(peer, command.data.payoutId);
        if (p.status === 'rejected') return [];
        // once approved the worker may already be sending it: only a payout still awaiting approval can be refused
        if (p.status !== 'requested') throw new DomainError('conflict', 'PAYOUT_NOT_PENDING', `payout ${p.payoutId} is ${p.status}`);
        return [{ type: 'PayoutRejected', data: { deviceId: d, payoutId: p.payoutId, amountMicro: p.amountMicro.toString(), rejectedBy: command.data.rejectedBy, reason: command.data.reason, rejectedAt: at } }];
      }
      case 'RecordPayoutAttempt': {
        const p = requirePayout(peer, command.data.payoutId);
        if (p.status !== 'approved') throw new DomainError('conflict', 'PAYOUT_NOT_SENDABLE', `payout ${p.payoutId} is ${p.status}`);
        return [{ type: 'PayoutAttempted', data: { deviceId: d, payoutId: p.payoutId, attempt: p.attempts.length + 1, reference: command.data.reference, lastValidBlockHeight: command.data.lastValidBlockHeight, attemptedAt: at } }];
      }
      case 'RecordPayoutSent': {
        const p = requirePayout(peer, command.data.payoutId);
        if (p.status === 'sent') return [];
        if (p.status !== 'approved') throw new DomainError('conflict', 'PAYOUT_NOT_SENDABLE', `payout ${p.payoutId} is ${p.status}`);
        return [{ type: 'PayoutSent', data: { deviceId: d, payoutId: p.payoutId, signature: command.data.signature, amountMicro: p.amountMicro.toString(), walletAddress: p.walletAddress, foundByReference: command.data.foundByReference, sentAt: at } }];
      }
      case 'RecordPayoutFailed': {
        const p = requirePayout(peer, command.data.payoutId);
        if (p.status === 'failed') return [];
        if (p.status === 'sent') throw new DomainError('conflict', 'PAYOUT_ALREADY_SENT', `payout ${p.payoutId} was sent`);
        return [{ type: 'PayoutFailed', data: { deviceId: d, payoutId: p.payoutId, amountMicro: p.amountMicro.toString(), reason: command.data.reason, failedAt: at } }];
      }
      default:
        return assertNever(command);
    }
  },
};

function requireRegistered(state: PeerState): RegisteredPeer {
  if (state.status === 'none') throw new DomainError('not_found', 'PEER_NOT_FOUND', 'no such peer device');
  return state;
}

function requirePayout(peer: RegisteredPeer, payoutId: string) {
  const p = peer.payouts.find((x) => x.payoutId === payoutId);
  if (!p) throw new DomainError('not_found', 'PAYOUT_NOT_FOUND', `no payout ${payoutId}`);
  return p;
}
