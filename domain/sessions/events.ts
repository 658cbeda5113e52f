import type { Tier } from '../pricing/pricing.ts';
import type { RotationMethod, TriggerType } from '../rotation/rules.ts';

/**
 * Events of an x402 session: bought with one payment, holding ports on modem devices, topped up,
 * rotated, expired. Amounts and byte counts are decimal strings (JSON has no bigint).
 * Secrets (session token, port password, rotation token) appear only as sha256 hashes.
 */
export interface PaymentRef {
  network: 'base' | 'solana';
  proof: 'tx_hash' | 'x402_exact';
  claimKey: string;
  transaction: string;
  payer: string;
  amountMicro: string;
}

export type SessionPurchased = {
  type: 'SessionPurchased';
  data: {
    sessionId: string;
    tier: Tier;
    countryCode: string;
    carrier: string | null;
    trafficBytes: string;
    durationSeconds: number;
    expiresAt: string;
    tokenHash: string;
    payment: PaymentRef;
    purchasedAt: string;
  };
};

export type PortAllocated = {
  type: 'PortAllocated';
  data: {
    sessionId: string;
    portId: string;
    deviceId: string;
    countryCode: string;
    username: string;
    passwordHash: string;
    rotationTokenHash: string;
    reason: 'purchase' | 'replace' | 'recreate';
    replacesPortId: string | null;
    allocatedAt: string;
  };
};

/** Paid, but no device had room: the session stands without a port and can be recreated. */
export type PortAllocationFailed = {
  type: 'PortAllocationFailed';
  data: { sessionId: string; countryCode: string; carrier: string | null; reason: string; failedAt: string };
};

export type PortReleased = {
  type: 'PortReleased';
  data: { sessionId: string; portId: string; deviceId: string; reason: 'replaced' | 'expired'; releasedAt: string };
};

/**
 * A rotation (domain/rotation): shared ports switch device, private ports reset their device's IP by airplane
 * mode (fromDeviceId = toDeviceId). Events written before #8 have no method, triggerType or oldIp.
 */
export type PortRotated = {
  type: 'PortRotated';
  data: {
    sessionId: string;
    portId: string;
    method?: RotationMethod;
    triggerType?: TriggerType;
    fromDeviceId: string;
    toDeviceId: string;
    oldIp?: string | null;
    rotatedAt: string;
  };
};

/** The first probe after a rotation saw an egress IP other than oldIp: the rotation took effect. */
export type PortIpChanged = {
  type: 'PortIpChanged';
  data: { sessionId: string; portId: string; deviceId: string; oldIp: string | null; newIp: string; changedAt: string };
};

export type SessionToppedUp = {
  type: 'SessionToppedUp';
  data: {
    sessionId: string;
    addTrafficBytes: string;
    addDurationSeconds: number;
    expiresAt: string;
    payment: PaymentRef | null;
    toppedUpAt: string;
  };
};

export type SessionExpired = {
  type: 'SessionExpired';
  data: { sessionId: string; expiredAt: string };
};

export type SessionEvent =
  | SessionPurchased
  | PortAllocated
  | PortAllocationFailed
  | PortReleased
  | PortRotated
  | PortIpChanged
  | SessionToppedUp
  | SessionExpired;

export const sessionEventTypes = [
  'SessionPurchased', 'PortAllocated', 'PortAllocationFailed', 'PortReleased', 'PortRotated', 'PortIpChanged', 'SessionToppedUp', 'SessionExpired',
] as const satisfies readonly SessionEvent['type'][];

export const sessionStreamId = (sessionId: string) => `session-${sessionId}`;
