import { expect } from 'chai';
import { decideRotation, pinLifetimeMs, type RotationInput, type SessionRecord } from '../../domain/gateway/rotation.ts';
import { ROTATION_MODES } from '../../domain/gateway/username.ts';

const MIN = 60_000;
const T0 = 1_700_000_000_000;
const rec = (pinnedAgoMs: number, usedAgoMs: number, now = T0): SessionRecord => ({ deviceId: 'dev-1', pinnedAt: now - pinnedAgoMs, lastUsed: now - usedAgoMs });
const input = (over: Partial<RotationInput>): RotationInput => ({ rotation: 'auto10', sid: 'bot01_main', ttlSeconds: undefined, now: T0, existing: undefined, ...over });

describe('gateway/rotation', () => {
  describe('without a sid', () => {
    for (const rotation of ROTATION_MODES) {
      it(`${rotation}: a fresh 5-minute synthetic session per connection, ignoring any record`, () => {
        const d = decideRotation(input({ rotation, sid: undefined, existing: rec(1000, 1000), ttlSeconds: 3600 }));
        expect(d).to.deep.equal({ kind: 'pick', reason: 'synthetic', persist: false, expiresAt: T0 + 5 * MIN });
      });
    }
  });

  it('a new sid picks and persists for the ttl (default 1h)', () => {
    expect(decideRotation(input({}))).to.deep.equal({ kind: 'pick', reason: 'new-session', persist: true, expiresAt: T0 + 60 * MIN });
    expect(decideRotation(input({ ttlSeconds: 120 }))).to.deep.equal({ kind: 'pick', reason: 'new-session', persist: true, expiresAt: T0 + 2 * MIN });
  });

  describe('sticky and hard pin for the ttl', () => {
    for (const rotation of ['sticky', 'hard'] as const) {
      it(`${rotation}: keeps the device just before ttl, re-picks at ttl`, () => {
        const keep = decideRotation(input({ rotation, ttlSeconds: 1800, existing: rec(30 * MIN - 1, 1000) }));
        expect(keep).to.deep.equal({
          kind: 'keep',
          deviceId: 'dev-1',
          record: { deviceId: 'dev-1', pinnedAt: T0 - (30 * MIN - 1), lastUsed: T0 },
          expiresAt: T0 + 30 * MIN,
        });
        const due = decideRotation(input({ rotation, ttlSeconds: 1800, existing: rec(30 * MIN, 1000) }));
        expect(due).to.deep.equal({ kind: 'pick', reason: 'rotation-due', persist: true, expiresAt: T0 + 30 * MIN, avoidDeviceId: 'dev-1' });
      });
    }
    it('hard behaves exactly like sticky (it does not rotate per request)', () => {
      for (const pinnedAgo of [0, 1, 59 * MIN, 60 * MIN, 61 * MIN]) {
        const e = rec(pinnedAgo, 0);
        expect(decideRotation(input({ rotation: 'hard', existing: e }))).to.deep.equal(decideRotation(input({ rotation: 'sticky', existing: e })));
      }
    });
  });

  describe('autoN swaps every N minutes', () => {
    const cases = [['auto5', 5], ['auto10', 10], ['auto20', 20], ['auto60', 60]] as const;
    for (const [rotation, n] of cases) {
      it(`${rotation}: keep before ${n} min, swap at ${n} min`, () => {
        expect(decideRotation(input({ rotation, existing: rec(n * MIN - 1, 0) })).kind).to.equal('keep');
        const d = decideRotation(input({ rotation, existing: rec(n * MIN, 0) }));
        expect(d).to.include({ kind: 'pick', reason: 'rotation-due', avoidDeviceId: 'dev-1' });
      });
    }
    it('a ttl shorter than N bounds the pin', () => {
      expect(pinLifetimeMs('auto60', 10 * MIN)).to.equal(10 * MIN);
      expect(decideRotation(input({ rotation: 'auto60', ttlSeconds: 120, existing: rec(2 * MIN, 0) })).kind).to.equal('pick');
    });
  });

  it('ondemand re-picks on every connection but keeps the session', () => {
    const d = decideRotation(input({ rotation: 'ondemand', existing: rec(0, 0) }));
    expect(d).to.deep.equal({ kind: 'pick', reason: 'rotation-due', persist: true, expiresAt: T0 + 60 * MIN, avoidDeviceId: 'dev-1' });
  });

  it('a session idle for the ttl has expired: fresh pick with no memory of the device', () => {
    const d = decideRotation(input({ rotation: 'sticky', ttlSeconds: 600, existing: rec(10 * MIN, 10 * MIN) }));
    expect(d).to.deep.equal({ kind: 'pick', reason: 'session-expired', persist: true, expiresAt: T0 + 10 * MIN });
    expect(decideRotation(input({ rotation: 'sticky', ttlSeconds: 600, existing: rec(10 * MIN - 1, 10 * MIN - 1) })).kind).to.equal('keep');
  });

  it('a clock that went backwards keeps the device and never moves lastUsed back', () => {
    const d = decideRotation(input({ rotation: 'auto5', existing: rec(-5 * MIN, -5 * MIN) }));
    expect(d.kind).to.equal('keep');
    if (d.kind === 'keep') expect(d.record.lastUsed).to.equal(T0 + 5 * MIN);
  });

  it('the policy sets the default and synthetic ttls', () => {
    const policy = { defaultTtlSeconds: 60, syntheticTtlSeconds: 30 };
    expect(decideRotation(input({}), policy)).to.include({ expiresAt: T0 + MIN });
    expect(decideRotation(input({ sid: undefined }), policy)).to.include({ expiresAt: T0 + 30_000 });
  });
});
