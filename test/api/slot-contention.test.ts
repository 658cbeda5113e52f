import { expect } from 'chai';
import { WrongExpectedVersion } from '../../adapters/eventstore/port.ts';
import { fixedClock } from '../../src/clock.ts';
import { takeSlot } from '../../src/x402/allocation.ts';
import { startTestService } from '../support/service.ts';
import { databaseKinds } from '../support/services.ts';
import { registerDevice } from '../support/x402.ts';

/**
 * Concurrent purchases in one process all see the same best device; racing on its stream makes every
 * loser reload and decide again. takeSlot sends each to a device no other purchase is claiming.
 */
describe('device slots: concurrent claims spread over free devices', function () {
  this.timeout(60_000);
  const clock = fixedClock('2026-11-20T10:00:00.000Z');
  let service: Awaited<ReturnType<typeof startTestService>>;
  before(async () => { service = await startTestService((await databaseKinds())[0]!, clock, { WORKER_INTERVAL_MS: '3600000' }); });
  after(async () => service?.stop());

  it('8 concurrent claims on 8 devices all land without one stream conflict', async () => {
    const devices = new Set<string>();
    for (let i = 0; i < 8; i++) devices.add(await registerDevice(service, 'FR', { slots: 4, tiers: ['shared'] }));
    await service.infra.projector.waitFor(await service.infra.store.headPosition(), ['devices'], 30_000);
    let conflicts = 0;
    const store = service.infra.store;
    const append = store.append.bind(store);
    store.append = async (...args) => {
      try {
        return await append(...args);
      } catch (error) {
        if (error instanceof WrongExpectedVersion) conflicts++;
        throw error;
      }
    };
    try {
      const taken = await Promise.all(Array.from({ length: 8 }, (_, i) =>
        takeSlot(service.infra, { portId: `port-${i}`, sessionId: `session-${i}`, countryCode: 'FR', carrier: null, tier: 'shared' }, { actor: 'test', correlationId: `c${i}` })));
      // every claim got a device; one whose claim finished may be picked again by a later one (it has slots left)
      for (const d of taken) expect(devices.has(d!)).to.equal(true);
      expect(conflicts).to.equal(0);
    } finally {
      store.append = append;
    }
  });
});
