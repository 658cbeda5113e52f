import { fleetDecider, type FleetCommand } from '../../../domain/fleet/decide.ts';
import type { DeviceRegistered, FleetEvent } from '../../../domain/fleet/events.ts';
import { deciderSpec } from '../../support/decider-spec.ts';

const given = deciderSpec<FleetCommand, FleetEvent, ReturnType<typeof fleetDecider.initialState>>(fleetDecider);
const at = '2026-11-20T12:00:00.000Z';

const register: Extract<FleetCommand, { type: 'RegisterDevice' }> = {
  type: 'RegisterDevice',
  data: {
    deviceId: 'd1',
    name: 'modem-001',
    countryCode: 'us',
    carrier: { name: 'T-Mobile USA', brand: 'T-Mobile', mcc: '310', mnc: '260', technology: 'LTE' },
    city: 'New York',
    upstream: 'http://u:p@10.0.0.5:8080',
  },
};
const registered: DeviceRegistered = {
  type: 'DeviceRegistered',
  data: {
    deviceId: 'd1',
    name: 'modem-001',
    countryCode: 'US',
    carrier: register.data.carrier,
    region: null,
    city: 'New York',
    upstream: 'http://u:p@10.0.0.5:8080',
    slots: 1,
    tiers: ['shared', 'private'],
    registeredAt: at,
  },
};

describe('fleet decider', () => {
  describe('RegisterDevice', () => {
    it('registers a device, upper-casing the country and defaulting slots and tiers', () =>
      given([]).when(register).then([registered]));

    it('keeps explicit slots and de-duplicates tiers', () =>
      given([]).when({ ...register, data: { ...register.data, slots: 4, tiers: ['shared', 'shared'] } })
        .then([{ ...registered, data: { ...registered.data, slots: 4, tiers: ['shared'] } }]));

    it('accepts a socks5 upstream', () =>
      given([]).when({ ...register, data: { ...register.data, upstream: 'socks5://a:b@modem.local:1080' } })
        .then([{ ...registered, data: { ...registered.data, upstream: 'socks5://a:b@modem.local:1080' } }]));

    it('refuses a second registration of the same id', () =>
      given([registered]).when(register).thenThrows('DEVICE_EXISTS', 'conflict'));

    it('refuses an unknown country code', () =>
      given([]).when({ ...register, data: { ...register.data, countryCode: 'XX' } }).thenThrows('INVALID_COUNTRY', 'invalid'));

    it('refuses an upstream the gateway cannot dial', () => {
      for (const upstream of ['ftp://h:21', 'http://host', 'not a url', 'http://h:80/path']) {
        given([]).when({ ...register, data: { ...register.data, upstream } }).thenThrows('INVALID_UPSTREAM', 'invalid');
      }
    });

    it('refuses slots outside 1..64', () => {
      for (const slots of [0, 65, 1.5]) given([]).when({ ...register, data: { ...register.data, slots } }).thenThrows('INVALID_SLOTS');
    });
  });

  describe('ReportDeviceHealth', () => {
    it('records a report with the time it was received', () =>
      given([registered]).when({ type: 'ReportDeviceHealth', data: { deviceId: 'd1', online: false, latencyMs: 120 } })
        .then([{ type: 'DeviceHealthReported', data: { deviceId: 'd1', online: false, latencyMs: 120, ip: null, reportedAt: at } }]));

    it('refuses reports for unknown devices', () =>
      given([]).when({ type: 'ReportDeviceHealth', data: { deviceId: 'd1', online: true } }).thenThrows('DEVICE_NOT_FOUND', 'not_found'));

    it('refuses reports for retired devices', () =>
      given([registered, { type: 'DeviceRetired', data: { deviceId: 'd1', retiredAt: at } }])
        .when({ type: 'ReportDeviceHealth', data: { deviceId: 'd1', online: true } }).thenThrows('DEVICE_RETIRED', 'conflict'));

    it('refuses a negative latency', () =>
      given([registered]).when({ type: 'ReportDeviceHealth', data: { deviceId: 'd1', online: true, latencyMs: -1 } }).thenThrows('INVALID_LATENCY'));
  });

  describe('RetireDevice', () => {
    it('retires an active device', () =>
      given([registered]).when({ type: 'RetireDevice', data: { deviceId: 'd1' } })
        .then([{ type: 'DeviceRetired', data: { deviceId: 'd1', retiredAt: at } }]));

    it('refuses to retire twice', () =>
      given([registered, { type: 'DeviceRetired', data: { deviceId: 'd1', retiredAt: at } }])
        .when({ type: 'RetireDevice', data: { deviceId: 'd1' } }).thenThrows('DEVICE_RETIRED'));

    it('refuses to retire an unknown device', () =>
      given([]).when({ type: 'RetireDevice', data: { deviceId: 'd1' } }).thenThrows('DEVICE_NOT_FOUND'));
  });

  describe('AllocateSlot / ReleaseSlot', () => {
    const allocate = (portId: string, tier: 'shared' | 'private' = 'shared'): FleetCommand =>
      ({ type: 'AllocateSlot', data: { deviceId: 'd1', portId, sessionId: 's1', tier } });
    const allocated = (portId: string): FleetEvent => ({ type: 'DeviceSlotAllocated', data: { deviceId: 'd1', portId, sessionId: 's1', allocatedAt: at } });
    const twoSlots: DeviceRegistered = { ...registered, data: { ...registered.data, slots: 2, tiers: ['shared'] } };

    it('takes a free slot', () => given([twoSlots]).when(allocate('p1')).then([allocated('p1')]));
    it('is idempotent for a port that already holds a slot', () => given([twoSlots, allocated('p1')]).when(allocate('p1')).then([]));
    it('refuses when every slot is taken', () =>
      given([twoSlots, allocated('p1'), allocated('p2')]).when(allocate('p3')).thenThrows('DEVICE_FULL', 'unavailable'));
    it('refuses an offline device', () =>
      given([twoSlots, { type: 'DeviceHealthReported', data: { deviceId: 'd1', online: false, latencyMs: null, ip: null, reportedAt: at } }])
        .when(allocate('p1')).thenThrows('DEVICE_OFFLINE', 'unavailable'));
    it('refuses a tier the device does not serve', () => given([twoSlots]).when(allocate('p1', 'private')).thenThrows('DEVICE_TIER'));
    it('frees the slot again', () =>
      given([twoSlots, allocated('p1'), allocated('p2'), { type: 'DeviceSlotReleased', data: { deviceId: 'd1', portId: 'p1', releasedAt: at } }])
        .when(allocate('p3')).then([allocated('p3')]));
    it('releases only a slot that is held', () => {
      given([twoSlots, allocated('p1')]).when({ type: 'ReleaseSlot', data: { deviceId: 'd1', portId: 'p1' } })
        .then([{ type: 'DeviceSlotReleased', data: { deviceId: 'd1', portId: 'p1', releasedAt: at } }]);
      given([twoSlots]).when({ type: 'ReleaseSlot', data: { deviceId: 'd1', portId: 'p1' } }).then([]);
    });
  });
});
