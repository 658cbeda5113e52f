/** Events of the fleet: the modem devices operators run and what their health reports say. */
export type Tier = 'shared' | 'private';

export interface Carrier {
  name: string;
  brand: string;
  mcc?: string;
  mnc?: string;
  technology?: string;
}

export type DeviceRegistered = {
  type: 'DeviceRegistered';
  data: {
    deviceId: string;
    name: string;
    countryCode: string;
    carrier: Carrier;
    region: string | null;
    city: string | null;
    /** How the gateway reaches the modem: http://user:pass@host:port or socks5://user:pass@host:port */
    upstream: string;
    slots: number;
    tiers: Tier[];
    registeredAt: string;
  };
};

export type DeviceHealthReported = {
  type: 'DeviceHealthReported';
  data: { deviceId: string; online: boolean; latencyMs: number | null; ip: string | null; reportedAt: string };
};

export type DeviceRetired = {
  type: 'DeviceRetired';
  data: { deviceId: string; retiredAt: string };
};

/** A port of a session took one of the device's slots; the device stream is where capacity is decided. */
export type DeviceSlotAllocated = {
  type: 'DeviceSlotAllocated';
  data: { deviceId: string; portId: string; sessionId: string; allocatedAt: string };
};

export type DeviceSlotReleased = {
  type: 'DeviceSlotReleased';
  data: { deviceId: string; portId: string; releasedAt: string };
};

export type FleetEvent = DeviceRegistered | DeviceHealthReported | DeviceRetired | DeviceSlotAllocated | DeviceSlotReleased;

export const fleetEventTypes = [
  'DeviceRegistered', 'DeviceHealthReported', 'DeviceRetired', 'DeviceSlotAllocated', 'DeviceSlotReleased',
] as const satisfies readonly FleetEvent['type'][];

export const deviceStreamId = (deviceId: string) => `device-${deviceId}`;
