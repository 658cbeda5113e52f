import type { Tier } from '../pricing/pricing.ts';
import type { DecisionContext } from '../shared/decider.ts';
import { DomainError, assertNever } from '../shared/errors.ts';
import { confirmsNewIp, requireRotationReady, rotationMethod, ROTATION_COOLDOWN_SECONDS, type RotationMethod, type TriggerType } from '../rotation/rules.ts';
import type { PaymentRef, PortAllocated, SessionEvent } from './events.ts';
import { activePorts, evolveSession, initialSessionState, type PortState, type SessionState } from './state.ts';

export const MAX_FREE_REPLACEMENTS = 3;
export const RECREATE_MIN_REMAINING_SECONDS = 5 * 60;
export const SHARED_ROTATION_COOLDOWN_SECONDS = ROTATION_COOLDOWN_SECONDS.shared;
export const MAX_SESSION_SECONDS = 30 * 24 * 3600;

export type NewPort = Omit<PortAllocated['data'], 'sessionId' | 'reason' | 'replacesPortId' | 'allocatedAt'>;

export type SessionCommand =
  | {
      type: 'PurchaseSession';
      data: { sessionId: string; tier: Tier; countryCode: string; carrier: string | null; trafficBytes: bigint; durationSeconds: number; tokenHash: string; payment: PaymentRef };
    }
  | { type: 'AllocatePort'; data: NewPort }
  | { type: 'RecordAllocationFailure'; data: { countryCode: string; carrier: string | null; reason: string } }
  | { type: 'ReplacePort'; data: { oldPortId: string; oldPortOnline: boolean; newPort: NewPort } }
  | { type: 'RecreatePort'; data: { trafficUsedBytes: bigint; newPort: NewPort } }
  | { type: 'TopUp'; data: { addTrafficBytes: bigint; addDurationSeconds: number; payment: PaymentRef | null } }
  /** toDeviceId: another device for device_switch; the port's own device for airplane_mode. */
  | { type: 'RotatePort'; data: { portId: string; method: RotationMethod; triggerType: TriggerType; toDeviceId: string; oldIp: string | null } }
  /** A probe of deviceId saw newIp: confirms a pending rotation of the port when the IP changed. */
  | { type: 'ConfirmPortIp'; data: { portId: string; deviceId: string; newIp: string } }
  | { type: 'ExpireSession' };

type Live = Extract<SessionState, { status: 'active' | 'expired' }>;

export function decideSession(command: SessionCommand, state: SessionState, { now }: DecisionContext): SessionEvent[] {
  const at = now.toISOString();
  switch (command.type) {
    case 'PurchaseSession': {
      if (state.status !== 'none') throw new DomainError('conflict', 'SESSION_EXISTS', `session ${command.data.sessionId} already exists`);
      const d = command.data;
      return [{
        type: 'SessionPurchased',
        data: {
          sessionId: d.sessionId, tier: d.tier, countryCode: d.countryCode, carrier: d.carrier, trafficBytes: d.trafficBytes.toString(),
          durationSeconds: d.durationSeconds, expiresAt: new Date(now.getTime() + d.durationSeconds * 1000).toISOString(),
          tokenHash: d.tokenHash, payment: d.payment, purchasedAt: at,
        },
      }];
    }
    case 'AllocatePort': {
      const live = requireUsable(state, now);
      return [allocated(live, command.data, 'purchase', null, at)];
    }
    case 'RecordAllocationFailure': {
      const live = requireLive(state);
      return [{ type: 'PortAllocationFailed', data: { sessionId: live.session.sessionId, ...command.data, failedAt: at } }];
    }
    case 'ReplacePort': {
      const { oldPortId, oldPortOnline, newPort } = command.data;
      const live = checkReplace(state, oldPortId, oldPortOnline, now);
      const old = live.ports[oldPortId]!;
      if (newPort.deviceId === old.deviceId) throw new DomainError('conflict', 'SAME_DEVICE', 'the new port must be on a different device');
      return [
        { type: 'PortReleased', data: { sessionId: live.session.sessionId, portId: oldPortId, deviceId: old.deviceId, reason: 'replaced', releasedAt: at } },
        allocated(live, newPort, 'replace', oldPortId, at),
      ];
    }
    case 'RecreatePort': {
      const live = checkRecreate(state, command.data.trafficUsedBytes, now);
      return [allocated(live, command.data.newPort, 'recreate', null, at)];
    }
    case 'TopUp': {
      const live = requireUsable(state, now);
      const { addTrafficBytes, addDurationSeconds, payment } = command.data;
      if (addTrafficBytes < 0n || !Number.isInteger(addDurationSeconds) || addDurationSeconds < 0) {
        throw new DomainError('invalid', 'INVALID_TOPUP', 'top-up amounts cannot be negative');
      }
      if (addTrafficBytes === 0n && addDurationSeconds === 0) throw new DomainError('invalid', 'INVALID_TOPUP', 'add traffic, duration, or both');
      if (addTrafficBytes > 0n && !payment) throw new DomainError('invalid', 'PAYMENT_REQUIRED', 'adding traffic needs a payment');
      if (payment && live.claimKeys.includes(payment.claimKey)) {
        throw new DomainError('conflict', 'PAYMENT_ALREADY_USED', 'this payment was already used by this session');
      }
      const base = Math.max(new Date(live.expiresAt).getTime(), now.getTime());
      const expiresAt = base + addDurationSeconds * 1000;
      if (expiresAt - now.getTime() > MAX_SESSION_SECONDS * 1000) {
        throw new DomainError('invalid', 'INVALID_DURATION', 'a session can run at most 30 days ahead', { maxDuration: MAX_SESSION_SECONDS });
      }
      return [{
        type: 'SessionToppedUp',
        data: { sessionId: live.session.sessionId, addTrafficBytes: addTrafficBytes.toString(), addDurationSeconds, expiresAt: new Date(expiresAt).toISOString(), payment, toppedUpAt: at },
      }];
    }
    case 'RotatePort': {
      const { portId, method, triggerType, toDeviceId, oldIp } = command.data;
      const { live, port } = checkRotate(state, portId, now);
      const expected = rotationMethod(live.session.tier);
      if (method !== expected) throw new DomainError('conflict', 'ROTATION_METHOD', `${live.session.tier} ports rotate by ${expected}, not ${method}`);
      if (method === 'device_switch' && toDeviceId === port.deviceId) throw new DomainError('conflict', 'SAME_DEVICE', 'rotation must move the port to another device');
      if (method === 'airplane_mode' && toDeviceId !== port.deviceId) throw new DomainError('conflict', 'OTHER_DEVICE', 'airplane mode resets the port\'s own device');
      return [{ type: 'PortRotated', data: { sessionId: live.session.sessionId, portId, method, triggerType, fromDeviceId: port.deviceId, toDeviceId, oldIp, rotatedAt: at } }];
    }
    case 'ConfirmPortIp': {
      const { portId, deviceId, newIp } = command.data;
      const port = state.status === 'none' ? undefined : state.ports[portId];
      // only a pending rotation on the device that was probed, and only once the IP really changed
      if (!port || !port.active || !port.pendingRotation || port.deviceId !== deviceId || !confirmsNewIp(port.pendingRotation.oldIp, newIp)) return [];
      return [{ type: 'PortIpChanged', data: { sessionId: (state as Live).session.sessionId, portId, deviceId, oldIp: port.pendingRotation.oldIp, newIp, changedAt: at } }];
    }
    case 'ExpireSession': {
      if (state.status !== 'active' || now.getTime() < new Date(state.expiresAt).getTime()) return [];
      const sessionId = state.session.sessionId;
      return [
        ...activePorts(state).map((p): SessionEvent => ({ type: 'PortReleased', data: { sessionId, portId: p.portId, deviceId: p.deviceId, reason: 'expired', releasedAt: at } })),
        { type: 'SessionExpired', data: { sessionId, expiredAt: at } },
      ];
    }
    default:
      return assertNever(command);
  }
}

function allocated(live: Live, port: NewPort, reason: PortAllocated['data']['reason'], replacesPortId: string | null, at: string): PortAllocated {
  if (live.ports[port.portId]) throw new DomainError('conflict', 'PORT_EXISTS', `port ${port.portId} already exists`);
  return { type: 'PortAllocated', data: { sessionId: live.session.sessionId, ...port, reason, replacesPortId, allocatedAt: at } };
}

function requireLive(state: SessionState): Live {
  if (state.status === 'none') throw new DomainError('not_found', 'SESSION_NOT_FOUND', 'no such session');
  return state;
}

/** Live and not past its end, whether or not the worker has recorded the expiry yet. */
function requireUsable(state: SessionState, now: Date): Live {
  const live = requireLive(state);
  if (live.status === 'expired' || now.getTime() >= new Date(live.expiresAt).getTime()) {
    throw new DomainError('conflict', 'SESSION_EXPIRED', `the session expired at ${live.expiresAt}`, { expiresAt: live.expiresAt });
  }
  return live;
}

/** The replacement rules, checked before a device slot is taken for the new port. */
export function checkReplace(state: SessionState, oldPortId: string, oldPortOnline: boolean, now: Date): Live {
  const live = requireUsable(state, now);
  const old = live.ports[oldPortId];
  if (!old || !old.active) throw new DomainError('not_found', 'PORT_NOT_FOUND', `no active port ${oldPortId} in this session`);
  if (oldPortOnline) throw new DomainError('conflict', 'PORT_ONLINE', 'only offline ports can be replaced; this one is online');
  if (live.replacementsUsed >= MAX_FREE_REPLACEMENTS) {
    throw new DomainError('conflict', 'REPLACEMENT_LIMIT', `the ${MAX_FREE_REPLACEMENTS} free replacements of this session are used up`, { replacementsUsed: live.replacementsUsed });
  }
  return live;
}

export function checkRecreate(state: SessionState, trafficUsedBytes: bigint, now: Date): Live {
  const live = requireUsable(state, now);
  const left = (new Date(live.expiresAt).getTime() - now.getTime()) / 1000;
  if (left < RECREATE_MIN_REMAINING_SECONDS) {
    throw new DomainError('conflict', 'SESSION_ENDING', 'recreating a port needs at least 5 minutes of session left', { secondsRemaining: Math.floor(left) });
  }
  if (trafficUsedBytes >= live.trafficBytes) throw new DomainError('conflict', 'NO_CREDIT', 'the session has no traffic left; top it up first');
  if (activePorts(live).length > 0) throw new DomainError('conflict', 'PORT_EXISTS', 'the session already has an active port; replace it instead');
  return live;
}

export function checkRotate(state: SessionState, portId: string, now: Date): { live: Live; port: PortState } {
  const live = requireUsable(state, now);
  const port = live.ports[portId];
  if (!port || !port.active) throw new DomainError('not_found', 'PORT_NOT_FOUND', `no active port ${portId}`);
  requireRotationReady(live.session.tier, port.lastRotatedAt, now);
  return { live, port };
}

export const sessionDecider = { decide: decideSession, evolve: evolveSession, initialState: initialSessionState };
