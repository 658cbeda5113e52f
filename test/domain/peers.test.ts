import { expect } from 'chai';
import type { PeerEvent } from '../../domain/peers/events.ts';
import { peerDecider, PEER_RULES, type PeerCommand } from '../../domain/peers/decide.ts';
import { deciderSpec } from '../support/decider-spec.ts';

const NOW = new Date('2026-11-20T12:00:00.000Z');
const spec = deciderSpec(peerDecider, { now: NOW });
const at = (ms: number) => new Date(NOW.getTime() + ms).toISOString();

const registered = (over: Partial<Extract<PeerEvent, { type: 'PeerRegistered' }>['data']> = {}): PeerEvent => ({
  type: 'PeerRegistered',
  data: {
    deviceId: 'agent_1', name: 'a', peerType: 'claude', kind: 'agent', connectionMethod: null, sdkVersion: null,
    walletAddress: 'Wallet1111', accountId: null, refreshTokenHash: 'h1', refreshExpiresAt: at(PEER_RULES.refreshTokenTtlMs), registeredAt: at(-86400_000), ...over,
  },
});
const served = (bytes: bigint, rate = 1_800_000n, earned?: bigint): PeerEvent => ({
  type: 'PeerTrafficServed',
  data: { deviceId: 'agent_1', bytesUp: '0', bytesDown: bytes.toString(), ipType: 'mobile', rateMicroPerGB: rate.toString(), earnedMicro: (earned ?? (bytes * rate) / 1_000_000_000n).toString(), tunnels: 1, from: at(-5000), to: at(0), relay: 'r1' },
});
const requested = (id: string, amount: bigint, ago: number): PeerEvent => ({
  type: 'PayoutRequested', data: { deviceId: 'agent_1', payoutId: id, amountMicro: amount.toString(), walletAddress: 'Wallet1111', needsApproval: false, requestedAt: at(-ago) },
});
const withdraw: PeerCommand = { type: 'RequestWithdrawal', data: { payoutId: 'p9', needsApproval: false } };

describe('peer decider', () => {
  it('rotates refresh tokens: the current one works once, a used one is refused', () => {
    spec([registered()]).when({ type: 'RefreshPeerToken', data: { presentedHash: 'h1', refreshTokenHash: 'h2' } }).then([
      { type: 'PeerTokenRefreshed', data: { deviceId: 'agent_1', refreshTokenHash: 'h2', refreshExpiresAt: at(PEER_RULES.refreshTokenTtlMs), refreshedAt: at(0) } },
    ]);
    const refreshed: PeerEvent = { type: 'PeerTokenRefreshed', data: { deviceId: 'agent_1', refreshTokenHash: 'h2', refreshExpiresAt: at(1000), refreshedAt: at(0) } };
    spec([registered(), refreshed]).when({ type: 'RefreshPeerToken', data: { presentedHash: 'h1', refreshTokenHash: 'h3' } }).thenThrows('REFRESH_TOKEN_USED', 'unauthorized');
    spec([registered()]).when({ type: 'RefreshPeerToken', data: { presentedHash: 'nope', refreshTokenHash: 'h3' } }).thenThrows('REFRESH_TOKEN_INVALID', 'unauthorized');
    spec([registered({ refreshExpiresAt: at(-1) })]).when({ type: 'RefreshPeerToken', data: { presentedHash: 'h1', refreshTokenHash: 'h3' } }).thenThrows('REFRESH_TOKEN_EXPIRED');
  });

  it('earns bytes × rate and carries the sub-micro remainder between flushes', () => {
    // 1 byte at $1.80/GB is 0.0018 micro: nothing yet, but a million such flushes add up exactly
    spec([registered()]).when({ type: 'RecordPeerTraffic', data: { bytesUp: 1n, bytesDown: 0n, ipType: 'mobile', rateMicroPerGB: 1_800_000n, tunnels: 1, from: new Date(at(-5000)), relay: 'r1' } })
      .then([{ type: 'PeerTrafficServed', data: { deviceId: 'agent_1', bytesUp: '1', bytesDown: '0', ipType: 'mobile', rateMicroPerGB: '1800000', earnedMicro: '0', tunnels: 1, from: at(-5000), to: at(0), relay: 'r1' } }]);
    const halfGb = served(500_000_000n, 1_800_000n, 900_000n);
    let state = [registered(), halfGb].reduce(peerDecider.evolve, peerDecider.initialState());
    const oddFlush = peerDecider.decide({ type: 'RecordPeerTraffic', data: { bytesUp: 0n, bytesDown: 333_333_333n, ipType: 'mobile', rateMicroPerGB: 1_800_000n, tunnels: 1, from: NOW, relay: 'r1' } }, state, { now: NOW, newId: () => 'x' });
    state = oddFlush.reduce(peerDecider.evolve, state);
    const rest = peerDecider.decide({ type: 'RecordPeerTraffic', data: { bytesUp: 0n, bytesDown: 166_666_667n, ipType: 'mobile', rateMicroPerGB: 1_800_000n, tunnels: 1, from: NOW, relay: 'r1' } }, state, { now: NOW, newId: () => 'x' });
    state = rest.reduce(peerDecider.evolve, state);
    expect(state.status === 'registered' && state.earnedMicro).to.equal(1_800_000n); // exactly 1 GB at $1.80
  });

  it('refuses a withdrawal below the minimum ($5 agents, $10 SDK devices) and pays the whole balance otherwise', () => {
    spec([registered(), served(2_000_000_000n)]).when(withdraw).thenThrows('BELOW_MINIMUM_PAYOUT', 'invalid');
    spec([registered({ kind: 'sdk' }), served(5_000_000_000n)]).when(withdraw).thenThrows('BELOW_MINIMUM_PAYOUT');
    spec([registered(), served(3_000_000_000n)]).when({ type: 'RequestWithdrawal', data: { payoutId: 'p9', needsApproval: true } }).then([
      { type: 'PayoutRequested', data: { deviceId: 'agent_1', payoutId: 'p9', amountMicro: '5400000', walletAddress: 'Wallet1111', needsApproval: true, requestedAt: at(0) } },
    ]);
  });

  it('allows three withdrawals an hour, then refuses the fourth', () => {
    const history = [registered(), served(30_000_000_000n), requested('p1', 1n, 3000_000), requested('p2', 1n, 2000_000), requested('p3', 1n, 1000_000)];
    spec(history).when(withdraw).thenThrows('WITHDRAWAL_RATE_LIMITED', 'rate_limited');
    spec([registered(), served(30_000_000_000n), requested('p0', 1n, 3700_000), requested('p2', 1n, 2000_000), requested('p3', 1n, 1000_000)]).when(withdraw)
      .then([{ type: 'PayoutRequested', data: { deviceId: 'agent_1', payoutId: 'p9', amountMicro: String(54_000_000 - 3), walletAddress: 'Wallet1111', needsApproval: false, requestedAt: at(0) } }]);
  });

  it('puts a changed wallet through 7 days of cooling before a withdrawal may use it', () => {
    spec([registered()]).when({ type: 'ChangePeerWallet', data: { walletAddress: 'Wallet2222' } }).then([
      { type: 'PeerWalletChanged', data: { deviceId: 'agent_1', walletAddress: 'Wallet2222', usableFrom: at(PEER_RULES.walletCoolingMs), changedAt: at(0) } },
    ]);
    const changed: PeerEvent = { type: 'PeerWalletChanged', data: { deviceId: 'agent_1', walletAddress: 'Wallet2222', usableFrom: at(PEER_RULES.walletCoolingMs - 86400_000), changedAt: at(-86400_000) } };
    spec([registered(), served(10_000_000_000n), changed]).when(withdraw).thenThrows('WALLET_COOLING', 'forbidden');
    spec([registered({ walletAddress: null }), served(10_000_000_000n)]).when(withdraw).thenThrows('NO_WALLET');
  });

  it('gives a failed payout back to the balance, and never records a sent payout as failed', () => {
    const failed: PeerEvent = { type: 'PayoutFailed', data: { deviceId: 'agent_1', payoutId: 'p1', amountMicro: '5400000', reason: 'x', failedAt: at(0) } };
    const state = [registered(), served(3_000_000_000n), requested('p1', 5_400_000n, 10), failed].reduce(peerDecider.evolve, peerDecider.initialState());
    expect(state.status === 'registered' && state.balanceMicro).to.equal(5_400_000n);
    const sent: PeerEvent = { type: 'PayoutSent', data: { deviceId: 'agent_1', payoutId: 'p1', signature: 's', amountMicro: '5400000', walletAddress: 'Wallet1111', foundByReference: false, sentAt: at(0) } };
    spec([registered(), served(3_000_000_000n), requested('p1', 5_400_000n, 10), sent]).when({ type: 'RecordPayoutFailed', data: { payoutId: 'p1', reason: 'late' } }).thenThrows('PAYOUT_ALREADY_SENT');
    spec([registered(), served(3_000_000_000n), requested('p1', 5_400_000n, 10), sent]).when({ type: 'RecordPayoutSent', data: { payoutId: 'p1', signature: 's', foundByReference: true } }).then([]);
  });
});
