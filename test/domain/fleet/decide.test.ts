import { fleetDecider, type FleetCommand } from '../../../domain/fleet/decide.ts';
import type { DeviceRegistered, FleetEvent } from '../../../domain/fleet/events.ts';
import { deciderSpec } from '../../support/decider-spec.ts';

const SEALED_P = 'sealed:v1:0123abcd:c2VhbGVkLXAtZm9yLXRlc3Rz';
const SEALED_RESET = 'sealed:v1:0123abcd:cmVzZXQtdXJsLWZvci10ZXN0cw';
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
    upstream: `http://u:${SEALED_P}@10.0.0.5:8080`,
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
    upstream: `http://u:${SEALED_P}@10.0.0.5:8080`,
    resetUrl: null,
    resetEndpoint: null,
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
      given([]).when({ ...register, data: { ...register.data, upstream: `socks5://a:${SEALED_P}@modem.local:1080` } })
        .then([{ ...registered, data: { ...registered.data, upstream: `socks5://a:${SEALED_P}@modem.local:1080` } }]));

    it('records a sealed reset URL and its endpoint', () =>
      given([]).when({ ...register, data: { ...register.data, resetUrl: SEALED_RESET, resetEndpoint: 'https://farm.example/reset' } })
        .then([{ ...registered, data: { ...registered.data, resetUrl: SEALED_RESET, resetEndpoint: 'https://farm.example/reset' } }]));

    it('refuses secrets in clear: an upstream password or a reset URL that is not sealed', () => {
      given([]).when({ ...register, data: { ...register.data, upstream: 'http://u:p@10.0.0.5:8080' } }).thenThrows('SECRET_NOT_SEALED', 'invalid');
      given([]).when({ ...register, data: { ...register.data, resetUrl: 'https://u:p@farm.example/reset' } }).thenThrows('SECRET_NOT_SEALED', 'invalid');
    });

    it('accepts an upstream without credentials', () =>
      given([]).when({ ...register, data: { ...register.data, upstream: 'http://10.0.0.5:8080' } })
        .then([{ ...registered, data: { ...registered.data, upstream: 'http://10.0.0.5:8080' } }]));

    it('refuses a second registration of the same id', () =>
      given([registered]).when(register).thenThrows('DEVICE_EXISTS', 'conflict'));

    it('refuses an unknown country code', () =>
      given([]).when({ ...register, data: { ...register.data, countryCode: 'XX' } }).thenThrows('INVALID_COUNTRY', 'invalid'));

    it('refuses an upstream the gateway cannot dial', () => {
      for (const upstream of ['ftp://h:21', 'http://host', 'not a url', 'http://h:80/path', 'http://u@h:80?x=1']) {
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
    const allocated = (portId: string, tier: 'shared' | 'private' = 'shared'): FleetEvent =>
      ({ type: 'DeviceSlotAllocated', data: { deviceId: 'd1', portId, sessionId: 's1', holderKind: 'session', tier, allocatedAt: at } });
    const fourSlots: DeviceRegistered = { ...registered, data: { ...registered.data, slots: 4 } };
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
    it('a private port holds the whole device: no shared or private port joins it', () => {
      given([fourSlots, allocated('p1', 'private')]).when(allocate('p2', 'shared')).thenThrows('DEVICE_PRIVATE', 'unavailable');
      given([fourSlots, allocated('p1', 'private')]).when(allocate('p2', 'private')).thenThrows('DEVICE_PRIVATE', 'unavailable');
    });
    it('a private port needs an idle device, even with slots left', () =>
      given([fourSlots, allocated('p1', 'shared')]).when(allocate('p2', 'private')).thenThrows('DEVICE_BUSY', 'unavailable'));
    it('takes a private port on an idle device, and frees the device when it goes', () => {
      given([fourSlots]).when(allocate('p1', 'private')).then([allocated('p1', 'private')]);
      given([fourSlots, allocated('p1', 'private'), { type: 'DeviceSlotReleased', data: { deviceId: 'd1', portId: 'p1', releasedAt: at } }])
        .when(allocate('p2', 'shared')).then([allocated('p2', 'shared')]);
    });
    it('reads slots of events written before tiers were recorded as shared', () =>
      given([fourSlots, { type: 'DeviceSlotAllocated', data: { deviceId: 'd1', portId: 'p1', sessionId: 's1', allocatedAt: at } }])
        .when(allocate('p2', 'private')).thenThrows('DEVICE_BUSY'));
    it('releases only a slot that is held', () => {
      given([twoSlots, allocated('p1')]).when({ type: 'ReleaseSlot', data: { deviceId: 'd1', portId: 'p1' } })
        .then([{ type: 'DeviceSlotReleased', data: { deviceId: 'd1', portId: 'p1', releasedAt: at } }]);
      given([twoSlots]).when({ type: 'ReleaseSlot', data: { deviceId: 'd1', portId: 'p1' } }).then([]);
    });
  });

  describe('ResealSecrets', () => {
    const resealed = 'sealed:v1:99999999:bmV3LWtleS12YWx1ZQ';
    it('records the secrets sealed under the new key', () =>
      given([registered]).when({ type: 'ResealSecrets', data: { deviceId: 'd1', upstream: `http://u:${resealed}@10.0.0.5:8080`, resetUrl: null } })
        .then([{ type: 'DeviceSecretsResealed', data: { deviceId: 'd1', upstream: `http://u:${resealed}@10.0.0.5:8080`, resetUrl: null, resealedAt: at } }]));
    it('changes nothing when they are the same', () =>
      given([registered]).when({ type: 'ResealSecrets', data: { deviceId: 'd1', upstream: registered.data.upstream, resetUrl: null } }).then([]));
    it('refuses clear text', () =>
      given([registered]).when({ type: 'ResealSecrets', data: { deviceId: 'd1', upstream: 'http://u:p@10.0.0.5:8080', resetUrl: null } }).thenThrows('SECRET_NOT_SEALED'));
  });
});
