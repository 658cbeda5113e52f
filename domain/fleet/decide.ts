import type { DecisionContext } from '../shared/decider.ts';
import { DomainError, assertNever } from '../shared/errors.ts';
import { countryName } from './countries.ts';
import type { Carrier, FleetEvent, Tier } from './events.ts';
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
        upstream: string;
        slots?: number | undefined;
        tiers?: Tier[] | undefined;
      };
    }
  | { type: 'ReportDeviceHealth'; data: { deviceId: string; online: boolean; latencyMs?: number | undefined; ip?: string | undefined } }
  | { type: 'RetireDevice'; data: { deviceId: string } }
  | { type: 'AllocateSlot'; data: { deviceId: string; portId: string; sessionId: string; tier: Tier } }
  | { type: 'ReleaseSlot'; data: { deviceId: string; portId: string } };

export function decideFleet(command: FleetCommand, state: DeviceState, { now }: DecisionContext): FleetEvent[] {
  switch (command.type) {
    case 'RegisterDevice': {
      if (state.status !== 'unregistered') throw new DomainError('conflict', 'DEVICE_EXISTS', `device ${command.data.deviceId} is already registered`);
      const d = command.data;
      const countryCode = d.countryCode.toUpperCase();
      if (!countryName(countryCode)) throw new DomainError('invalid', 'INVALID_COUNTRY', `${d.countryCode} is not an ISO 3166-1 alpha-2 country code`);
      const upstream = parseUpstream(d.upstream);
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
      if (Object.keys(active.ports).length >= active.device.slots) throw new DomainError('unavailable', 'DEVICE_FULL', `device ${deviceId} has no free slot`);
      return [{ type: 'DeviceSlotAllocated', data: { deviceId, portId, sessionId, allocatedAt: now.toISOString() } }];
    }
    case 'ReleaseSlot': {
      const { deviceId, portId } = command.data;
      // Releasing is always allowed, even on a retired device, and is idempotent.
      if (state.status !== 'active' || !state.ports[portId]) return [];
      return [{ type: 'DeviceSlotReleased', data: { deviceId, portId, releasedAt: now.toISOString() } }];
    }
    default:
      return assertNever(command);
  }
}

function requireActive(state: DeviceState, deviceId: string): Extract<DeviceState, { status: 'active' }> {
  if (state.status === 'unregistered') throw new DomainError('not_found', 'DEVICE_NOT_FOUND', `device ${deviceId} is not registered`);
  if (state.status === 'retired') throw new DomainError('conflict', 'DEVICE_RETIRED', `device ${deviceId} was retired at ${state.retiredAt}`);
  return state;
}

/** The gateway chains to the modem through this URL, so it must be one it can dial. */
function parseUpstream(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DomainError('invalid', 'INVALID_UPSTREAM', 'upstream must be a URL like http://user:pass@host:port or socks5://user:pass@host:port');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'socks5:') {
    throw new DomainError('invalid', 'INVALID_UPSTREAM', `upstream scheme must be http or socks5, got ${url.protocol.replace(':', '')}`);
  }
  if (!url.hostname || !url.port) throw new DomainError('invalid', 'INVALID_UPSTREAM', 'upstream needs a host and an explicit port');
  if (url.pathname !== '/' && url.pathname !== '' || url.search || url.hash) {
    throw new DomainError('invalid', 'INVALID_UPSTREAM', 'upstream is host and port only: no path, query or fragment');
  }
  return `${url.protocol}//${url.username ? `${url.username}${url.password ? `:${url.password}` : ''}@` : ''}${url.host}`;
}

export const fleetDecider = { decide: decideFleet, evolve: evolveDevice, initialState: initialDeviceState };
