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
    /** How the gateway reaches the modem: http://user:sealed:v1:…@host:port or socks5://… (domain/fleet/upstream.ts) */
    upstream: string;
    /** The modem farm's IP-reset URL, sealed (a private rotation calls it); absent before #8. */
    resetUrl?: string | null;
    /** The reset URL without credentials or query, for display. */
    resetEndpoint?: string | null;
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
  /**
   * sessionId is the id of whatever holds the port: an x402 session, or an account when holderKind is
   * 'account'. tier 'private' holds the whole device. Events from before #8 have no tier (shared).
   */
  data: { deviceId: string; portId: string; sessionId: string; holderKind?: SlotHolderKind; tier?: Tier; allocatedAt: string };
};

export type SlotHolderKind = 'session' | 'account';

/** The device's secrets sealed again under the current key (key rotation: `npm run cli -- reseal`). */
export type DeviceSecretsResealed = {
  type: 'DeviceSecretsResealed';
  data: { deviceId: string; upstream: string; resetUrl: string | null; resealedAt: string };
};

export type DeviceSlotReleased = {
  type: 'DeviceSlotReleased';
  data: { deviceId: string; portId: string; releasedAt: string };
};

export type FleetEvent = DeviceRegistered | DeviceHealthReported | DeviceRetired | DeviceSlotAllocated | DeviceSlotReleased | DeviceSecretsResealed;

export const fleetEventTypes = [
  'DeviceRegistered', 'DeviceHealthReported', 'DeviceRetired', 'DeviceSlotAllocated', 'DeviceSlotReleased', 'DeviceSecretsResealed',
] as const satisfies readonly FleetEvent['type'][];

export const deviceStreamId = (deviceId: string) => `device-${deviceId}`;
