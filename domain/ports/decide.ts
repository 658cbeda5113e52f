import type { SlotType } from '../accounts/events.ts';
import type { DecisionContext } from '../shared/decider.ts';
import { AUTO_ROTATION_INTERVAL_SECONDS, requireRotationReady } from '../rotation/rules.ts';
import { DomainError, assertNever } from '../shared/errors.ts';
import type { AccountPortEvent, OsFingerprint, PortPlacement, RotationSettings, TriggerType } from './events.ts';

// cooldowns, interval bounds and the shared-vs-private method are the fleet's rules for every kind of port
const ROTATION_INTERVAL_BOUNDS = AUTO_ROTATION_INTERVAL_SECONDS;

export interface PortData {
      portId: string; accountId: string; slotType: SlotType; placement: PortPlacement; proxyLogin: string;
      osFingerprint: OsFingerprint; expiresAt: string; lastRotatedAt: string | null; rotationCount: number;
      settings: RotationSettings; createdAt: string;
}
export type AccountPortState = { status: 'none' } | (PortData & { status: 'active' }) | (PortData & { status: 'deleted' });

type Live = PortData & { status: 'active' };

export type AccountPortCommand =
  | { type: 'CreatePort'; data: Omit<Extract<AccountPortEvent, { type: 'AccountPortCreated' }>['data'], 'createdAt'> }
  | { type: 'DeletePort'; data: { reason: 'deleted' | 'expired' } }
  | { type: 'ChangeCredentials'; data: { proxyLogin: string; passwordHash: string } }
  | { type: 'SetFingerprint'; data: { osFingerprint: OsFingerprint } }
  | { type: 'Reconfigure'; data: PortPlacement }
  | { type: 'ChangeRotationSettings'; data: Partial<RotationSettings> }
  | { type: 'RecordRotation'; data: { rotationId: string; triggerType: TriggerType; toDeviceId: string; fromIp: string | null; toIp: string | null; rotationDurationMs: number; country: string; carrier: string | null } }
  | { type: 'RecordRotationFailure'; data: { rotationId: string; triggerType: TriggerType; fromIp: string | null; reason: string; country: string; carrier: string | null } };

export const initialPortState = (): AccountPortState => ({ status: 'none' });

export function evolvePort(state: AccountPortState, event: AccountPortEvent): AccountPortState {
  if (event.type === 'AccountPortCreated') {
    const d = event.data;
    return {
      status: 'active', portId: d.portId, accountId: d.accountId, slotType: d.slotType,
      placement: { deviceId: d.deviceId, countryCode: d.countryCode, carrierId: d.carrierId, cityId: d.cityId },
      proxyLogin: d.proxyLogin, osFingerprint: d.osFingerprint, expiresAt: d.expiresAt, lastRotatedAt: null, rotationCount: 0,
      settings: { enabled: false, intervalSeconds: ROTATION_INTERVAL_BOUNDS[d.slotType].min, matchCarrier: false, matchCity: false }, createdAt: d.createdAt,
    };
  }
  if (state.status === 'none') return state;
  switch (event.type) {
    case 'AccountPortDeleted': return { ...state, status: 'deleted' as const };
    case 'AccountPortCredentialsChanged': return { ...state, proxyLogin: event.data.proxyLogin };
    case 'AccountPortFingerprintSet': return { ...state, osFingerprint: event.data.osFingerprint };
    case 'AccountPortReconfigured': {
      const { portId: _p, accountId: _a, fromDeviceId: _f, reconfiguredAt: _r, ...placement } = event.data;
      return { ...state, placement };
    }
    case 'AccountPortRotationSettingsChanged': {
      const { enabled, intervalSeconds, matchCarrier, matchCity } = event.data;
      return { ...state, settings: { enabled, intervalSeconds, matchCarrier, matchCity } };
    }
    case 'AccountPortRotated':
      return { ...state, placement: { ...state.placement, deviceId: event.data.toDeviceId }, lastRotatedAt: event.data.rotatedAt, rotationCount: state.rotationCount + 1 };
    case 'AccountPortRotationFailed': return state;
    default: return assertNever(event);
  }
}

function live(state: AccountPortState, now: Date): Live {
  if (state.status !== 'active') throw new DomainError('not_found', 'PORT_NOT_FOUND', 'no such port');
  if (new Date(state.expiresAt) <= now) throw new DomainError('conflict', 'PORT_EXPIRED', 'this port has expired');
  return state as Live;
}

/** Throws ROTATION_COOLDOWN (429, the seed's wording) while the tier's cooldown runs. */
export function checkCooldown(state: AccountPortState, now: Date): Live {
  const port = live(state, now);
  requireRotationReady(port.slotType, port.lastRotatedAt, now);
  return port;
}

export function decidePort(command: AccountPortCommand, state: AccountPortState, { now }: DecisionContext): AccountPortEvent[] {
  const at = now.toISOString();
  switch (command.type) {
    case 'CreatePort':
      if (state.status !== 'none') throw new DomainError('conflict', 'PORT_EXISTS', 'this port exists');
      return [{ type: 'AccountPortCreated', data: { ...command.data, createdAt: at } }];
    case 'DeletePort': {
      if (state.status !== 'active') throw new DomainError('not_found', 'PORT_NOT_FOUND', 'no such port');
      return [{ type: 'AccountPortDeleted', data: { portId: state.portId, accountId: state.accountId, deviceId: state.placement.deviceId, reason: command.data.reason, deletedAt: at } }];
    }
    case 'ChangeCredentials': {
      const p = live(state, now);
      return [{ type: 'AccountPortCredentialsChanged', data: { portId: p.portId, accountId: p.accountId, proxyLogin: command.data.proxyLogin, previousLogin: p.proxyLogin, passwordHash: command.data.passwordHash, changedAt: at } }];
    }
    case 'SetFingerprint': {
      const p = live(state, now);
      return [{ type: 'AccountPortFingerprintSet', data: { portId: p.portId, accountId: p.accountId, deviceId: p.placement.deviceId, osFingerprint: command.data.osFingerprint, setAt: at } }];
    }
    case 'Reconfigure': {
      const p = live(state, now);
      return [{ type: 'AccountPortReconfigured', data: { portId: p.portId, accountId: p.accountId, fromDeviceId: p.placement.deviceId, ...command.data, reconfiguredAt: at } }];
    }
    case 'ChangeRotationSettings': {
      const p = live(state, now);
      const next = { ...p.settings, ...Object.fromEntries(Object.entries(command.data).filter(([, v]) => v !== undefined)) } as RotationSettings;
      const bounds = ROTATION_INTERVAL_BOUNDS[p.slotType];
      if (!Number.isInteger(next.intervalSeconds) || next.intervalSeconds < bounds.min || next.intervalSeconds > bounds.max) {
        throw new DomainError('invalid', 'INVALID_INTERVAL', `intervalSeconds must be ${bounds.min}-${bounds.max} for ${p.slotType} ports`, bounds);
      }
      return [{ type: 'AccountPortRotationSettingsChanged', data: { portId: p.portId, accountId: p.accountId, ...next, changedAt: at } }];
    }
    case 'RecordRotation': {
      const p = checkCooldown(state, now);
      const d = command.data;
      return [{
        type: 'AccountPortRotated',
        data: {
          portId: p.portId, accountId: p.accountId, rotationId: d.rotationId, triggerType: d.triggerType, slotType: p.slotType,
          fromDeviceId: p.placement.deviceId, toDeviceId: d.toDeviceId, fromIp: d.fromIp, toIp: d.toIp, isAirplaneMode: d.toDeviceId === p.placement.deviceId,
          rotationDurationMs: d.rotationDurationMs, country: d.country, carrier: d.carrier, rotatedAt: at,
        },
      }];
    }
    case 'RecordRotationFailure': {
      const p = live(state, now);
      const d = command.data;
      return [{ type: 'AccountPortRotationFailed', data: { portId: p.portId, accountId: p.accountId, rotationId: d.rotationId, triggerType: d.triggerType, fromDeviceId: p.placement.deviceId, fromIp: d.fromIp, reason: d.reason, country: d.country, carrier: d.carrier, failedAt: at } }];
    }
    default:
      return assertNever(command);
  }
}

export const accountPortDecider = { decide: decidePort, evolve: evolvePort, initialState: initialPortState };

/**
 * Proxy logins are unique across ports: claimed by a port, released when it changes or goes. A claim
 * left by a crash (the port never written, deleted, or moved to another login) is released by the
 * account worker with `ReleaseStranded`, which holds only while the claim is still the one it judged.
 */
export type LoginEvent =
  | { type: 'ProxyLoginClaimed'; data: { login: string; portId: string; claimedAt: string } }
  | { type: 'ProxyLoginReleased'; data: { login: string; portId: string; releasedAt: string; stranded?: true } };
export type LoginState = { holder: string | null; claimedAt: string | null };
export type LoginCommand =
  | { type: 'Claim' | 'Release'; data: { login: string; portId: string } }
  | { type: 'ReleaseStranded'; data: { login: string; portId: string; claimedAt: string } };
export const proxyLoginDecider = {
  initialState: (): LoginState => ({ holder: null, claimedAt: null }),
  evolve: (_s: LoginState, e: LoginEvent): LoginState =>
    (e.type === 'ProxyLoginClaimed' ? { holder: e.data.portId, claimedAt: e.data.claimedAt } : { holder: null, claimedAt: null }),
  decide(command: LoginCommand, state: LoginState, { now }: DecisionContext): LoginEvent[] {
    const at = now.toISOString();
    switch (command.type) {
      case 'Claim':
        // the holder claiming again is a credentials change retried after a crash: renewed, so a stale-claim
        // release the worker decided on the old claim no longer applies
        if (state.holder && state.holder !== command.data.portId) throw new DomainError('conflict', 'PROXY_LOGIN_TAKEN', 'this proxy login is in use; choose another');
        return [{ type: 'ProxyLoginClaimed', data: { ...command.data, claimedAt: at } }];
      case 'Release':
        if (state.holder !== command.data.portId) return [];
        return [{ type: 'ProxyLoginReleased', data: { ...command.data, releasedAt: at } }];
      case 'ReleaseStranded':
        if (state.holder !== command.data.portId || state.claimedAt !== command.data.claimedAt) return [];
        return [{ type: 'ProxyLoginReleased', data: { login: command.data.login, portId: command.data.portId, releasedAt: at, stranded: true } }];
      default:
        return assertNever(command);
    }
  },
};
