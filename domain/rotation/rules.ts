import { DomainError } from '../shared/errors.ts';

/**
 * Port rotation rules of seed 002 ("POST /v1/ports/:id/rotate"), shared by every kind of port
 * (x402 session ports, account ports): shared ports switch devices with a 5-minute cooldown,
 * private ports reset their device's IP by airplane mode with a 1-minute cooldown. The cooldown runs
 * from the last rotation; a port that never rotated may rotate at once.
 */
export type RotationTier = 'shared' | 'private';
/** device_switch: the port moves to another device; airplane_mode: the port's own device resets its IP. */
export type RotationMethod = 'device_switch' | 'airplane_mode';
/** Seed 002 rotation history: who asked for the rotation. */
export type TriggerType = 'manual' | 'automatic' | 'api_token';
export const TRIGGER_TYPES = ['manual', 'automatic', 'api_token'] as const satisfies readonly TriggerType[];

export const ROTATION_COOLDOWN_SECONDS: Readonly<Record<RotationTier, number>> = { shared: 5 * 60, private: 60 };
/** Seed 002 auto-rotation settings: intervalSeconds 300–86400 (shared), 60–86400 (private). */
export const AUTO_ROTATION_INTERVAL_SECONDS: Readonly<Record<RotationTier, { min: number; max: number }>> = {
  shared: { min: 300, max: 86_400 },
  private: { min: 60, max: 86_400 },
};

export const rotationMethod = (tier: RotationTier): RotationMethod => (tier === 'shared' ? 'device_switch' : 'airplane_mode');

/** What a rotation records (an event's data carries these next to its port and owner ids). */
export interface RotationRecord {
  method: RotationMethod;
  triggerType: TriggerType;
  fromDeviceId: string;
  /** The same device as fromDeviceId for airplane mode. */
  toDeviceId: string;
  /** The egress IP before the rotation, as the last probe saw it (null when never probed). */
  oldIp: string | null;
  rotatedAt: string;
}

export type RotationReadiness =
  | { canRotate: true }
  | { canRotate: false; reason: string; cooldownRemaining: number; nextRotationAt: string };

export function nextRotationAt(tier: RotationTier, lastRotatedAt: string | null): string | null {
  if (lastRotatedAt === null) return null;
  return new Date(new Date(lastRotatedAt).getTime() + ROTATION_COOLDOWN_SECONDS[tier] * 1000).toISOString();
}

/** Seed 002 "GET /v1/ports/:id/can-rotate" in cooldown terms. */
export function rotationReadiness(tier: RotationTier, lastRotatedAt: string | null, now: Date): RotationReadiness {
  const next = nextRotationAt(tier, lastRotatedAt);
  if (next === null) return { canRotate: true }; // never rotated: no cooldown to wait for
  const remainingMs = new Date(next).getTime() - now.getTime();
  if (remainingMs <= 0) return { canRotate: true };
  const cooldownRemaining = Math.ceil(remainingMs / 1000);
  return { canRotate: false, reason: `Rate limited. Must wait ${cooldownRemaining} seconds before next rotation.`, cooldownRemaining, nextRotationAt: next };
}

/** Throws ROTATION_COOLDOWN (rate_limited) with the seconds left while the tier's cooldown runs. */
export function requireRotationReady(tier: RotationTier, lastRotatedAt: string | null, now: Date): void {
  const readiness = rotationReadiness(tier, lastRotatedAt, now);
  if (readiness.canRotate) return;
  const what = tier === 'shared' ? 'shared ports switch devices at most every 5 minutes' : 'private ports reset their IP at most once a minute';
  throw new DomainError('rate_limited', 'ROTATION_COOLDOWN', `${readiness.reason} (${what})`, {
    secondsRemaining: readiness.cooldownRemaining, cooldownRemaining: readiness.cooldownRemaining, nextRotationAt: readiness.nextRotationAt,
  });
}

/**
 * The probe after a rotation confirms it when it sees an egress IP different from the one before.
 * Same IP (the modem has not reconnected yet) or no IP (the probe target does not echo) confirms nothing.
 */
export function confirmsNewIp(oldIp: string | null, observedIp: string | null | undefined): observedIp is string {
  return typeof observedIp === 'string' && observedIp.length > 0 && observedIp !== oldIp;
}
