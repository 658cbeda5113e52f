import { expect } from 'chai';
import { AUTO_ROTATION_INTERVAL_SECONDS, confirmsNewIp, nextRotationAt, requireRotationReady, rotationMethod, rotationReadiness, ROTATION_COOLDOWN_SECONDS } from '../../domain/rotation/rules.ts';
import { DomainError } from '../../domain/shared/errors.ts';

const T0 = '2026-11-20T12:00:00.000Z';
const at = (s: number) => new Date(new Date(T0).getTime() + s * 1000);

describe('rotation rules (seed 002)', () => {
  it('shared ports switch devices every 5 minutes at most; private ports reset by airplane mode every minute', () => {
    expect(ROTATION_COOLDOWN_SECONDS).to.deep.equal({ shared: 300, private: 60 });
    expect(rotationMethod('shared')).to.equal('device_switch');
    expect(rotationMethod('private')).to.equal('airplane_mode');
    expect(AUTO_ROTATION_INTERVAL_SECONDS.shared.min).to.equal(300);
    expect(AUTO_ROTATION_INTERVAL_SECONDS.private.min).to.equal(60);
  });

  it('a port that never rotated may rotate at once', () => {
    expect(rotationReadiness('shared', null, at(0))).to.deep.equal({ canRotate: true });
    expect(rotationReadiness('private', null, at(0))).to.deep.equal({ canRotate: true });
    expect(nextRotationAt('shared', null)).to.equal(null);
  });

  it('counts the cooldown from the last rotation, in the seed\'s can-rotate shape', () => {
    expect(rotationReadiness('shared', T0, at(120))).to.deep.equal({
      canRotate: false, reason: 'Rate limited. Must wait 180 seconds before next rotation.', cooldownRemaining: 180, nextRotationAt: at(300).toISOString(),
    });
    expect(rotationReadiness('shared', T0, at(300))).to.deep.equal({ canRotate: true });
    expect(rotationReadiness('private', T0, at(59.5))).to.include({ canRotate: false, cooldownRemaining: 1 });
    expect(rotationReadiness('private', T0, at(60))).to.deep.equal({ canRotate: true });
  });

  it('refuses during the cooldown with ROTATION_COOLDOWN (rate_limited) and the seconds left', () => {
    let error: unknown;
    try { requireRotationReady('private', T0, at(15)); } catch (e) { error = e; }
    expect(error).to.be.instanceOf(DomainError);
    expect((error as DomainError).kind).to.equal('rate_limited');
    expect((error as DomainError).details).to.deep.include({ secondsRemaining: 45, nextRotationAt: at(60).toISOString() });
    expect(() => requireRotationReady('shared', null, at(0))).to.not.throw();
  });

  it('a probe confirms a rotation only when it sees an IP other than the old one', () => {
    expect(confirmsNewIp('1.2.3.4', '1.2.3.5')).to.equal(true);
    expect(confirmsNewIp(null, '1.2.3.5')).to.equal(true);
    expect(confirmsNewIp('1.2.3.4', '1.2.3.4')).to.equal(false);
    expect(confirmsNewIp('1.2.3.4', null)).to.equal(false);
  });
});
