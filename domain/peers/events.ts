/**
 * The peer marketplace (seed 000, "Peer Marketplace"): a device or agent that shares its bandwidth
 * through the relay, earns USDC per GB at the rate of its IP type, and withdraws to its wallet.
 * One stream per peer, `peer-<deviceId>`: the balance and the withdrawal rules live together.
 * Secrets (refresh tokens) appear only as sha256 hashes; money is micro-USDC as decimal strings.
 */
export type PeerKind = 'agent' | 'sdk';
export type IpType = 'mobile' | 'residential' | 'datacenter';
export const IP_TYPES: readonly IpType[] = ['mobile', 'residential', 'datacenter'];

export type PeerEvent =
  | {
      type: 'PeerRegistered';
      data: {
        deviceId: string; name: string; peerType: string; kind: PeerKind;
        connectionMethod: string | null; sdkVersion: string | null;
        walletAddress: string | null; accountId: string | null;
        refreshTokenHash: string; refreshExpiresAt: string; registeredAt: string;
      };
    }
  | { type: 'PeerTokenRefreshed'; data: { deviceId: string; refreshTokenHash: string; refreshExpiresAt: string; refreshedAt: string } }
  | { type: 'PeerWalletChanged'; data: { deviceId: string; walletAddress: string; usableFrom: string; changedAt: string } }
  | {
      /** The relay looked the peer's IP up by ASN (device claims are ignored); the type sets the earnings tier. */
      type: 'PeerClassified';
      data: { deviceId: string; ip: string; asn: number | null; asnOrg: string | null; ipType: IpType; country: string | null; classifiedAt: string };
    }
  | {
      /** Bytes the peer carried in one flush period of one relay (never per chunk), and what they earned. */
      type: 'PeerTrafficServed';
      data: {
        deviceId: string; bytesUp: string; bytesDown: string; ipType: IpType;
        rateMicroPerGB: string; earnedMicro: string; tunnels: number; from: string; to: string; relay: string;
      };
    }
  | { type: 'PayoutRequested'; data: { deviceId: string; payoutId: string; amountMicro: string; walletAddress: string; needsApproval: boolean; requestedAt: string } }
  | { type: 'PayoutApproved'; data: { deviceId: string; payoutId: string; approvedBy: string; approvedAt: string } }
  | {
      /** Written before a transfer is sent: a retry after a crash looks the transfer up by `reference`, and
       * may only send again once the attempt's blockhash can no longer land. */
      type: 'PayoutAttempted';
      data: { deviceId: string; payoutId: string; attempt: number; reference: string; lastValidBlockHeight: number; attemptedAt: string };
    }
  | { type: 'PayoutSent'; data: { deviceId: string; payoutId: string; signature: string; amountMicro: string; walletAddress: string; foundByReference: boolean; sentAt: string } }
  | { type: 'PayoutFailed'; data: { deviceId: string; payoutId: string; amountMicro: string; reason: string; failedAt: string } }
  /** An admin refused a payout awaiting approval (PEER_PAYOUT_APPROVAL=manual): the money goes back on the balance. */
  | { type: 'PayoutRejected'; data: { deviceId: string; payoutId: string; amountMicro: string; rejectedBy: string; reason: string; rejectedAt: string } };

export type PeerEventType = PeerEvent['type'];
export const peerStreamId = (deviceId: string) => `peer-${deviceId}`;
