import { sessionDecider, type NewPort, type SessionCommand } from '../../../domain/sessions/decide.ts';
import type { PaymentRef, PortAllocated, SessionEvent, SessionPurchased } from '../../../domain/sessions/events.ts';
import type { SessionState } from '../../../domain/sessions/state.ts';
import { deciderSpec } from '../../support/decider-spec.ts';

const T0 = '2026-11-20T12:00:00.000Z';
const spec = (now = T0) => deciderSpec<SessionCommand, SessionEvent, SessionState>(sessionDecider, { now: new Date(now) });
const plus = (seconds: number) => new Date(new Date(T0).getTime() + seconds * 1000).toISOString();

const payment: PaymentRef = { network: 'base', proof: 'tx_hash', claimKey: 'base-0xaa', transaction: '0xaa', payer: '0xbuyer', amountMicro: '4000000' };
const purchased = (tier: 'shared' | 'private' = 'shared'): SessionPurchased => ({
  type: 'SessionPurchased',
  data: { sessionId: 's1', tier, countryCode: 'US', carrier: null, trafficBytes: '1000000000', durationSeconds: 3600, expiresAt: plus(3600), tokenHash: 'th', payment, purchasedAt: T0 },
});
const port = (portId: string, deviceId: string): NewPort => ({ portId, deviceId, countryCode: 'US', username: `u-${portId}`, passwordHash: 'ph', rotationTokenHash: `rh-${portId}` });
const allocated = (portId: string, deviceId: string, at = T0, reason: PortAllocated['data']['reason'] = 'purchase', replacesPortId: string | null = null): PortAllocated =>
  ({ type: 'PortAllocated', data: { sessionId: 's1', ...port(portId, deviceId), reason, replacesPortId, allocatedAt: at } });

describe('session decider', () => {
  describe('PurchaseSession', () => {
    it('starts a session that ends after its duration', () =>
      spec()([]).when({ type: 'PurchaseSession', data: { sessionId: 's1', tier: 'shared', countryCode: 'US', carrier: null, trafficBytes: 1_000_000_000n, durationSeconds: 3600, tokenHash: 'th', payment } })
        .then([purchased()]));
    it('cannot buy the same session twice', () =>
      spec()([purchased()]).when({ type: 'PurchaseSession', data: { sessionId: 's1', tier: 'shared', countryCode: 'US', carrier: null, trafficBytes: 1n, durationSeconds: 3600, tokenHash: 'x', payment } })
        .thenThrows('SESSION_EXISTS', 'conflict'));
  });

  describe('AllocatePort / RecordAllocationFailure', () => {
    it('allocates the purchased port', () => spec()([purchased()]).when({ type: 'AllocatePort', data: port('p1', 'd1') }).then([allocated('p1', 'd1')]));
    it('records that a paid session got no port', () =>
      spec()([purchased()]).when({ type: 'RecordAllocationFailure', data: { countryCode: 'US', carrier: null, reason: 'no free device' } })
        .then([{ type: 'PortAllocationFailed', data: { sessionId: 's1', countryCode: 'US', carrier: null, reason: 'no free device', failedAt: T0 } }]));
    it('refuses a session that does not exist', () => spec()([]).when({ type: 'AllocatePort', data: port('p1', 'd1') }).thenThrows('SESSION_NOT_FOUND', 'not_found'));
    it('refuses an expired session', () => spec(plus(3600))([purchased()]).when({ type: 'AllocatePort', data: port('p1', 'd1') }).thenThrows('SESSION_EXPIRED'));
  });

  describe('ReplacePort', () => {
    const replace = (newDevice = 'd2', online = false, newPortId = 'p2'): SessionCommand =>
      ({ type: 'ReplacePort', data: { oldPortId: 'p1', oldPortOnline: online, newPort: port(newPortId, newDevice) } });
    const released = (portId: string, deviceId: string) =>
      ({ type: 'PortReleased', data: { sessionId: 's1', portId, deviceId, reason: 'replaced', releasedAt: T0 } }) as const;

    it('moves an offline port to a new port on another device, keeping traffic and duration', () =>
      spec()([purchased(), allocated('p1', 'd1')]).when(replace()).then([released('p1', 'd1'), allocated('p2', 'd2', T0, 'replace', 'p1')]));
    it('refuses to replace an online port', () => spec()([purchased(), allocated('p1', 'd1')]).when(replace('d2', true)).thenThrows('PORT_ONLINE', 'conflict'));
    it('refuses the same device', () => spec()([purchased(), allocated('p1', 'd1')]).when(replace('d1')).thenThrows('SAME_DEVICE'));
    it('refuses an unknown or released port', () => {
      spec()([purchased()]).when(replace()).thenThrows('PORT_NOT_FOUND', 'not_found');
      spec()([purchased(), allocated('p1', 'd1'), released('p1', 'd1')]).when(replace()).thenThrows('PORT_NOT_FOUND');
    });
    it('allows three free replacements, not a fourth', () => {
      const history: SessionEvent[] = [purchased(), allocated('p1', 'd1')];
      for (let i = 0; i < 3; i++) {
        const from = i === 0 ? 'p1' : `r${i}`;
        history.push(released(from, `d${i + 1}`), allocated(`r${i + 1}`, `d${i + 2}`, T0, 'replace', from));
      }
      spec()(history).when({ type: 'ReplacePort', data: { oldPortId: 'r3', oldPortOnline: false, newPort: port('r4', 'd9') } })
        .thenThrows('REPLACEMENT_LIMIT', 'conflict');
    });
  });

  describe('RecreatePort', () => {
    const recreate = (used = 0n): SessionCommand => ({ type: 'RecreatePort', data: { trafficUsedBytes: used, newPort: port('p2', 'd2') } });
    it('recreates a port for a session without one, with credit and time left', () =>
      spec()([purchased()]).when(recreate()).then([allocated('p2', 'd2', T0, 'recreate')]));
    it('needs five minutes of session left', () => spec(plus(3600 - 299))([purchased()]).when(recreate()).thenThrows('SESSION_ENDING'));
    it('needs traffic left', () => spec()([purchased()]).when(recreate(1_000_000_000n)).thenThrows('NO_CREDIT'));
    it('refuses when a port is active', () => spec()([purchased(), allocated('p1', 'd1')]).when(recreate()).thenThrows('PORT_EXISTS'));
  });

  describe('TopUp', () => {
    const topup = (bytes: bigint, seconds: number, pay: PaymentRef | null): SessionCommand => ({ type: 'TopUp', data: { addTrafficBytes: bytes, addDurationSeconds: seconds, payment: pay } });
    const second: PaymentRef = { ...payment, claimKey: 'base-0xbb', transaction: '0xbb' };
    it('adds duration for free, from the current end', () =>
      spec()([purchased()]).when(topup(0n, 86_400, null)).then([{
        type: 'SessionToppedUp', data: { sessionId: 's1', addTrafficBytes: '0', addDurationSeconds: 86_400, expiresAt: plus(3600 + 86_400), payment: null, toppedUpAt: T0 },
      }]));
    it('adds paid traffic', () =>
      spec()([purchased()]).when(topup(2_000_000_000n, 0, second)).then([{
        type: 'SessionToppedUp', data: { sessionId: 's1', addTrafficBytes: '2000000000', addDurationSeconds: 0, expiresAt: plus(3600), payment: second, toppedUpAt: T0 },
      }]));
    it('refuses traffic without payment, and empty top-ups', () => {
      spec()([purchased()]).when(topup(1n, 0, null)).thenThrows('PAYMENT_REQUIRED');
      spec()([purchased()]).when(topup(0n, 0, null)).thenThrows('INVALID_TOPUP');
    });
    it('refuses the purchase payment and any earlier top-up payment again (replay)', () => {
      spec()([purchased()]).when(topup(1n, 0, payment)).thenThrows('PAYMENT_ALREADY_USED', 'conflict');
      const toppedUp: SessionEvent = { type: 'SessionToppedUp', data: { sessionId: 's1', addTrafficBytes: '1', addDurationSeconds: 0, expiresAt: plus(3600), payment: second, toppedUpAt: T0 } };
      spec()([purchased(), toppedUp]).when(topup(1n, 0, second)).thenThrows('PAYMENT_ALREADY_USED');
    });
    it('keeps a session within 30 days ahead', () => spec()([purchased()]).when(topup(0n, 30 * 86_400, null)).thenThrows('INVALID_DURATION'));
    it('refuses an expired session', () => spec(plus(3601))([purchased()]).when(topup(0n, 3600, null)).thenThrows('SESSION_EXPIRED'));
  });

  describe('RotatePort (domain/rotation rules)', () => {
    const rotate = (to = 'd2', method: 'device_switch' | 'airplane_mode' = 'device_switch'): SessionCommand =>
      ({ type: 'RotatePort', data: { portId: 'p1', method, triggerType: 'api_token', toDeviceId: to, oldIp: '100.64.0.1' } });
    const rotated = (at: string, to = 'd2', method: 'device_switch' | 'airplane_mode' = 'device_switch', from = 'd1'): SessionEvent =>
      ({ type: 'PortRotated', data: { sessionId: 's1', portId: 'p1', method, triggerType: 'api_token', fromDeviceId: from, toDeviceId: to, oldIp: '100.64.0.1', rotatedAt: at } });
    it('a shared port that never rotated switches device at once (no cooldown after allocation)', () =>
      spec(plus(1))([purchased(), allocated('p1', 'd1')]).when(rotate()).then([rotated(plus(1))]));
    it('keeps 5 minutes between shared rotations', () => {
      spec(plus(120))([purchased(), allocated('p1', 'd1'), rotated(plus(1))]).when(rotate('d3')).thenThrows('ROTATION_COOLDOWN', 'rate_limited');
      spec(plus(301))([purchased(), allocated('p1', 'd1'), rotated(plus(1))]).when(rotate('d1')).then([rotated(plus(301), 'd1', 'device_switch', 'd2')]);
    });
    it('a private port resets its own device by airplane mode, at most once a minute', () => {
      spec(plus(1))([purchased('private'), allocated('p1', 'd1')]).when(rotate('d1', 'airplane_mode')).then([rotated(plus(1), 'd1', 'airplane_mode')]);
      spec(plus(60))([purchased('private'), allocated('p1', 'd1'), rotated(plus(1), 'd1', 'airplane_mode')]).when(rotate('d1', 'airplane_mode')).thenThrows('ROTATION_COOLDOWN');
      spec(plus(61))([purchased('private'), allocated('p1', 'd1'), rotated(plus(1), 'd1', 'airplane_mode')]).when(rotate('d1', 'airplane_mode'))
        .then([rotated(plus(61), 'd1', 'airplane_mode')]);
    });
    it('refuses the wrong method for the tier', () => {
      spec(plus(1))([purchased('private'), allocated('p1', 'd1')]).when(rotate('d2', 'device_switch')).thenThrows('ROTATION_METHOD');
      spec(plus(1))([purchased(), allocated('p1', 'd1')]).when(rotate('d1', 'airplane_mode')).thenThrows('ROTATION_METHOD');
    });
    it('refuses the same device for a switch and another device for airplane mode', () => {
      spec(plus(1))([purchased(), allocated('p1', 'd1')]).when(rotate('d1')).thenThrows('SAME_DEVICE');
      spec(plus(1))([purchased('private'), allocated('p1', 'd1')]).when(rotate('d2', 'airplane_mode')).thenThrows('OTHER_DEVICE');
    });
    it('counts the cooldown of events written before #8 (no method) from their rotation', () =>
      spec(plus(100))([purchased(), allocated('p1', 'd1'), { type: 'PortRotated', data: { sessionId: 's1', portId: 'p1', fromDeviceId: 'd1', toDeviceId: 'd2', rotatedAt: plus(1) } }])
        .when(rotate('d3')).thenThrows('ROTATION_COOLDOWN'));

    describe('ConfirmPortIp', () => {
      const confirm = (newIp: string, deviceId = 'd1'): SessionCommand => ({ type: 'ConfirmPortIp', data: { portId: 'p1', deviceId, newIp } });
      const history = [purchased('private'), allocated('p1', 'd1'), rotated(plus(1), 'd1', 'airplane_mode')];
      it('confirms a pending rotation when the probe sees a new IP', () =>
        spec(plus(20))(history).when(confirm('100.64.0.2'))
          .then([{ type: 'PortIpChanged', data: { sessionId: 's1', portId: 'p1', deviceId: 'd1', oldIp: '100.64.0.1', newIp: '100.64.0.2', changedAt: plus(20) } }]));
      it('waits while the probe still sees the old IP', () => spec(plus(5))(history).when(confirm('100.64.0.1')).then([]));
      it('ignores a probe of another device, and a port with nothing pending', () => {
        spec(plus(5))(history).when(confirm('100.64.0.2', 'd9')).then([]);
        spec(plus(5))([purchased('private'), allocated('p1', 'd1')]).when(confirm('100.64.0.2')).then([]);
      });
      it('confirms once', () =>
        spec(plus(30))([...history, { type: 'PortIpChanged', data: { sessionId: 's1', portId: 'p1', deviceId: 'd1', oldIp: '100.64.0.1', newIp: '100.64.0.2', changedAt: plus(20) } }])
          .when(confirm('100.64.0.3')).then([]));
    });
  });

  describe('ExpireSession', () => {
    it('expires a session past its end and releases its ports', () =>
      spec(plus(3600))([purchased(), allocated('p1', 'd1')]).when({ type: 'ExpireSession' }).then([
        { type: 'PortReleased', data: { sessionId: 's1', portId: 'p1', deviceId: 'd1', reason: 'expired', releasedAt: plus(3600) } },
        { type: 'SessionExpired', data: { sessionId: 's1', expiredAt: plus(3600) } },
      ]));
    it('does nothing before the end, or twice', () => {
      spec(plus(3599))([purchased()]).when({ type: 'ExpireSession' }).then([]);
      spec(plus(4000))([purchased(), { type: 'SessionExpired', data: { sessionId: 's1', expiredAt: plus(3600) } }]).when({ type: 'ExpireSession' }).then([]);
    });
  });
});
