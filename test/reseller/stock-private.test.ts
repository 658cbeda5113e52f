import { expect } from 'chai';
import { fleetDecider } from '../../domain/fleet/decide.ts';
import { deviceStreamId } from '../../domain/fleet/events.ts';
import { systemClock } from '../../src/clock.ts';
import { handleCommand } from '../../src/commands/handle.ts';
import { api, startTestService } from '../support/service.ts';
import { databaseKinds } from '../support/services.ts';
import { registerDevice, reportHealth } from '../support/x402.ts';

/**
 * A private port holds its whole device (issue #8 item 2): the gateway's mbl pool never routes to it, so the
 * public stock feeds must not count it either. Found by following the README: after the rotation walkthrough's
 * private purchase, /v1/gateway/pool/stock still counted the privately held modem.
 */
describe('pool stock feeds leave out devices a private port holds', function () {
  this.timeout(60_000);
  let service: Awaited<ReturnType<typeof startTestService>>;

  before(async () => {
    service = await startTestService((await databaseKinds())[0]!, systemClock, { ROLES: 'api,projector,worker' });
    const held = await registerDevice(service, 'US', { name: 'us-held' });
    const shared = await registerDevice(service, 'US', { name: 'us-shared', slots: 2 });
    const idle = await registerDevice(service, 'US', { name: 'us-idle' });
    // pool stock is what the gateway routes to: modems a health report said are online
    for (const id of [held, shared, idle]) await reportHealth(service, id);
    for (const [deviceId, portId, tier] of [[held, 'p-private', 'private'], [shared, 'p-shared', 'shared']] as const) {
      const h = await handleCommand(service.infra, fleetDecider, deviceStreamId(deviceId), {
        type: 'AllocateSlot', data: { deviceId, portId, sessionId: `holder-${portId}`, holderKind: 'session', tier },
      }, { actor: 'test', correlationId: 'test' });
      await service.infra.projector.waitFor(h.position, undefined, 5000);
    }
  });
  after(async () => service?.stop());

  it('counts the shared-held and idle modems, not the privately held one, in stock, carriers and cities', async () => {
    const stock = (await api(service.url, 'GET', '/v1/gateway/pool/stock')).body;
    expect(stock.pools.mbl).to.deep.equal({ us: 2 });
    expect(stock.totals).to.deep.include({ mbl: 2, all: 2 });
    const carriers = (await api(service.url, 'GET', '/v1/gateway/pool/stock/carriers?country=us&pool=mbl')).body;
    expect(carriers.total).to.equal(2);
    const cities = (await api(service.url, 'GET', '/v1/gateway/pool/stock/cities?country=us&pool=mbl')).body;
    expect(cities.total).to.equal(2);
  });
});
