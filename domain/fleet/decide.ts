import type { DecisionContext } from '../shared/decider.ts';
import { DomainError, assertNever } from '../shared/errors.ts';
import { countryName } from './countries.ts';
import type { Carrier, FleetEvent, SlotHolderKind, Tier } from './events.ts';
import { formatStoredUpstream, isSealed, parseStoredUpstream, parseUpstream } from './upstream.ts';
import { evolveDevice, initialDeviceState, type DeviceState } from './state.ts';

export const MAX_SLOTS_PER_DEVICE = 64;

export type FleetCommand =
  | {
      type: 'RegisterDevice';
      data: {
        deviceId: string;
        name: string;
        countryCode: string;
        carrier: Carrier;
        region?: string | undefined;
        city?: string | undefined;
        /** Stored form, its password sealed (domain/fleet/upstream.ts). */
        upstream: string;
        /** Sealed. */
        resetUrl?: string | undefined;
        resetEndpoint?: string | undefined;
        slots?: number | undefined;
        tiers?: Tier[] | undefined;
      };
    }
  | { type: 'ReportDeviceHealth'; data: { deviceId: string; online: boolean; latencyMs?: number | undefined; ip?: string | undefined } }
  | { type: 'RetireDevice'; data: { deviceId: string } }
  | { type: 'AllocateSlot'; data: { deviceId: string; portId: string; sessionId: string; holderKind?: SlotHolderKind | undefined; tier: Tier } }
  /** Key rotation: the same secrets sealed under the current key. */
  | { type: 'ResealSecrets'; data: { deviceId: string; upstream: string; resetUrl: string | null } }
  | { type: 'ReleaseSlot'; data: { deviceId: string; portId: string } };

export function decideFleet(command: FleetCommand, state: DeviceState, { now }: DecisionContext): FleetEvent[] {
  switch (command.type) {
    case 'RegisterDevice': {
      if (state.status !== 'unregistered') throw new DomainError('conflict', 'DEVICE_EXISTS', `device ${command.data.deviceId} is already registered`);
      const d = command.data;
      const countryCode = d.countryCode.toUpperCase();
      if (!countryName(countryCode)) throw new DomainError('invalid', 'INVALID_COUNTRY', `${d.countryCode} is not an ISO 3166-1 alpha-2 country code`);
      const upstream = requireSealedUpstream(d.upstream);
      if (d.resetUrl !== undefined && !isSealed(d.resetUrl)) throw new DomainError('invalid', 'SECRET_NOT_SEALED', 'resetUrl must be sealed before it is recorded');
      const slots = d.slots ?? 1;
      if (!Number.isInteger(slots) || slots < 1 || slots > MAX_SLOTS_PER_DEVICE) {
        throw new DomainError('invalid', 'INVALID_SLOTS', `slots must be a whole number from 1 to ${MAX_SLOTS_PER_DEVICE}`);
      }
      return [{
        type: 'DeviceRegistered',
        data: {
          deviceId: d.deviceId,
          name: d.name,
          countryCode,
          carrier: d.carrier,
          region: d.region ?? null,
          city: d.city ?? null,
          upstream,
          resetUrl: d.resetUrl ?? null,
          resetEndpoint: d.resetUrl ? d.resetEndpoint ?? null : null,
          slots,
          tiers: d.tiers && d.tiers.length > 0 ? [...new Set(d.tiers)] : ['shared', 'private'],
          registeredAt: now.toISOString(),
        },
      }];
    }
    case 'ReportDeviceHealth': {
      requireActive(state, command.data.deviceId);
      const { latencyMs, ip } = command.data;
      if (latencyMs !== undefined && (!Number.isInteger(latencyMs) || latencyMs < 0)) {
        throw new DomainError('invalid', 'INVALID_LATENCY', 'latencyMs must be a non-negative whole number');
      }
      return [{
        type: 'DeviceHealthReported',
        data: { deviceId: command.data.deviceId, online: command.data.online, latencyMs: latencyMs ?? null, ip: ip ?? null, reportedAt: now.toISOString() },
      }];
    }
    case 'RetireDevice':
      requireActive(state, command.data.deviceId);
      return [{ type: 'DeviceRetired', data: { deviceId: command.data.deviceId, retiredAt: now.toISOString() } }];
    case 'AllocateSlot': {
      const { deviceId, portId, sessionId, tier } = command.data;
      const active = requireActive(state, deviceId);
      if (active.ports[portId]) return []; // already holds a slot here: allocating again changes nothing
      if (!active.online) throw new DomainError('unavailable', 'DEVICE_OFFLINE', `device ${deviceId} is offline`);
      if (!active.device.tiers.includes(tier)) throw new DomainError('unavailable', 'DEVICE_TIER', `device ${deviceId} does not serve the ${tier} tier`);
      const held = Object.values(active.ports);
      // A private port is the whole device: nothing joins it, and it only goes to an idle device.
      if (held.some((h) => h.tier === 'private')) throw new DomainError('unavailable', 'DEVICE_PRIVATE', `device ${deviceId} is held by a private port`);
      if (tier === 'private' && held.length > 0) throw new DomainError('unavailable', 'DEVICE_BUSY', `device ${deviceId} serves other ports; a private port needs an idle device`);
      if (held.length >= active.device.slots) throw new DomainError('unavailable', 'DEVICE_FULL', `device ${deviceId} has no free slot`);
      return [{ type: 'DeviceSlotAllocated', data: { deviceId, portId, sessionId, holderKind: command.data.holderKind ?? 'session', tier, allocatedAt: now.toISOString() } }];
    }
    case 'ReleaseSlot': {
      const { deviceId, portId } = command.data;
      // Releasing is always allowed, even on a retired device, and is idempotent.
      if (state.status !== 'active' || !state.ports[portId]) return [];
      return [{ type: 'DeviceSlotReleased', data: { deviceId, portId, releasedAt: now.toISOString() } }];
    }
    case 'ResealSecrets': {
      const { deviceId, upstream, resetUrl } = command.data;
      const active = requireActive(state, deviceId);
      requireSealedUpstream(upstream);
      if (resetUrl !== null && !isSealed(resetUrl)) throw new DomainError('invalid', 'SECRET_NOT_SEALED', 'resetUrl must be sealed');
      if (upstream === active.device.upstream && resetUrl === (active.device.resetUrl ?? null)) return [];
      return [{ type: 'DeviceSecretsResealed', data: { deviceId, upstream, resetUrl, resealedAt: now.toISOString() } }];
    }
    default:
      return assertNever(command);
  }
}

/** Secrets at rest are sealed: an upstream password in clear never reaches an event. */
function requireSealedUpstream(stored: string): string {
  const parts = parseStoredUpstream(stored);
  parseUpstream(formatStoredUpstream({ ...parts, password: parts.password ? 'x' : '' })); // dialable: scheme, host, port, nothing else
  if (parts.password && !parts.sealed) throw new DomainError('invalid', 'SECRET_NOT_SEALED', 'the upstream password must be sealed before it is recorded');
  return stored;
}

function requireActive(state: DeviceState, deviceId: string): Extract<DeviceState, { status: 'active' }> {
  if (state.status === 'unregistered') throw new DomainError('not_found', 'DEVICE_NOT_FOUND', `device ${deviceId} is not registered`);
  if (state.status === 'retired') throw new DomainError('conflict', 'DEVICE_RETIRED', `device ${deviceId} was retired at ${state.retiredAt}`);
  return state;
}

export const fleetDecider = { decide: decideFleet, evolve: evolveDevice, initialState: initialDeviceState };
