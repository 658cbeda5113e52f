import type { RotationMode } from './username.ts';

/**
 * Sticky-session decisions (pure: the clock comes in as `now`, epoch milliseconds).
 *
 * Rules, from the seed's token table and its "Stickiness needs a -sid-" note:
 * 1. No sid → a synthetic session per connection: always pick, never persist, and the session
 *    lives syntheticTtlSeconds (5 min). Any stored record is ignored; without a sid there is no
 *    key that could have found it.
 * 2. With a sid, the session expires after `ttl` seconds without use (now - lastUsed >= ttl).
 *    An expired session is treated as absent: a fresh pick with no memory of the old device.
 *    ttl is the username's `-ttl-` or policy.defaultTtlSeconds.
 * 3. The device pinned to a live session is kept while (now - pinnedAt) < pin lifetime:
 *      sticky, hard → ttl          (hard pins like sticky; it is NOT per-request rotation)
 *      autoN        → min(N min, ttl)
 *      ondemand     → 0            (every new connection re-picks)
 *    When the pin lifetime has passed the session lives on but gets a new device; the old one is
 *    passed back as a hint so the selector can prefer a different modem (that is what "swap" and
 *    "re-pick" mean to the user).
 * A clock that went backwards (pinnedAt/lastUsed in the future) counts as zero elapsed time, so a
 * skewed clock keeps the device rather than churning it.
 *
 * Whether the kept device is still online is the selector's business (E_STOCK_DEGRADED/failover),
 * not this function's.
 */

export interface SessionRecord {
  deviceId: string;
  /** When the current device was pinned to the session. */
  pinnedAt: number;
  /** Last connection that used the session. */
  lastUsed: number;
}

export interface RotationPolicy {
  defaultTtlSeconds: number;
  syntheticTtlSeconds: number;
}

export const DEFAULT_ROTATION_POLICY: RotationPolicy = { defaultTtlSeconds: 3600, syntheticTtlSeconds: 300 };

export interface RotationInput {
  rotation: RotationMode;
  sid: string | undefined;
  ttlSeconds: number | undefined;
  now: number;
  existing: SessionRecord | undefined;
}

export type PickReason =
  | 'synthetic' // no sid
  | 'new-session' // sid, nothing stored
  | 'session-expired' // sid, stored but idle for >= ttl
  | 'rotation-due'; // sid, live session, pin lifetime over (includes every ondemand connection)

export type RotationDecision =
  /** Keep the device; store `record` (lastUsed bumped) until `expiresAt`. */
  | { kind: 'keep'; deviceId: string; record: SessionRecord; expiresAt: number }
  /**
   * Pick a device. If `persist`, store { deviceId: <picked>, pinnedAt: now, lastUsed: now } under
   * the sid until `expiresAt`. `avoidDeviceId` is a preference, not a rule: with one modem left in
   * the country, reusing it beats failing.
   */
  | { kind: 'pick'; reason: PickReason; persist: boolean; expiresAt: number; avoidDeviceId?: string };

export function decideRotation(input: RotationInput, policy: RotationPolicy = DEFAULT_ROTATION_POLICY): RotationDecision {
  const { now, sid, existing } = input;
  if (sid === undefined) {
    return { kind: 'pick', reason: 'synthetic', persist: false, expiresAt: now + policy.syntheticTtlSeconds * 1000 };
  }
  const ttlMs = (input.ttlSeconds ?? policy.defaultTtlSeconds) * 1000;
  const expiresAt = now + ttlMs;
  if (existing === undefined) return { kind: 'pick', reason: 'new-session', persist: true, expiresAt };
  if (elapsed(now, existing.lastUsed) >= ttlMs) return { kind: 'pick', reason: 'session-expired', persist: true, expiresAt };
  if (elapsed(now, existing.pinnedAt) < pinLifetimeMs(input.rotation, ttlMs)) {
    return { kind: 'keep', deviceId: existing.deviceId, record: { ...existing, lastUsed: Math.max(now, existing.lastUsed) }, expiresAt };
  }
  return { kind: 'pick', reason: 'rotation-due', persist: true, expiresAt, avoidDeviceId: existing.deviceId };
}

export function pinLifetimeMs(mode: RotationMode, ttlMs: number): number {
  switch (mode) {
    case 'sticky':
    case 'hard':
      return ttlMs;
    case 'auto5':
      return Math.min(5 * 60_000, ttlMs);
    case 'auto10':
      return Math.min(10 * 60_000, ttlMs);
    case 'auto20':
      return Math.min(20 * 60_000, ttlMs);
    case 'auto60':
      return Math.min(60 * 60_000, ttlMs);
    case 'ondemand':
      return 0;
    default: {
      const unreachable: never = mode;
      throw new Error(`unknown rotation mode ${String(unreachable)}`);
    }
  }
}

function elapsed(now: number, since: number): number {
  return Math.max(0, now - since);
}
