import { expect } from 'chai';
import { api } from '../support/service.ts';
import { admin, registerDevice, startPaidService } from '../support/x402.ts';

/**
 * The README's replace step with one modem answers 503 NO_STOCK; like a purchase's, it says why
 * (`details.reason`: no other device at all, or the others offline or full), so the reader knows what to fix.
 */
describe('x402 replace and recreate: NO_STOCK says why', function () {
  this.timeout(120_000);
  let world: Awaited<ReturnType<typeof startPaidService>>;
  let url: string;
  const token = (t: string) => ({ 'x-session-token': t });
  const health = (id: string, online: boolean) => api(url, 'POST', `/v1/admin/devices/${id}/health`, { online }, admin);

  before(async () => {
    world = await startPaidService();
    url = world.service.url;
  });
  after(async () => world?.stop());

  it('one modem offline: no_devices; a second one offline too: offline', async () => {
    const first = await registerDevice(world.service, 'SE', { name: 'se-1' });
    const tx = await world.chains.base.payUsdc(400_000n);
    const buy = await api(url, 'GET', '/v1/x402/proxy?country=SE&traffic=0.1', undefined, { 'payment-signature': tx });
    expect(buy.status, JSON.stringify(buy.body)).to.equal(200);
    await health(first, false);
    const alone = await api(url, 'POST', '/v1/x402/manage/ports/replace', {}, token(buy.body.sessionToken));
    expect(alone.status).to.equal(503);
    expect(alone.body.error.code).to.equal('NO_STOCK');
    expect(alone.body.error.details).to.include({ country: 'SE', reason: 'no_devices', devices: 0 });
    expect(alone.body.error.message).to.match(/SE has no other shared device/);

    const second = await registerDevice(world.service, 'SE', { name: 'se-2' });
    await health(second, false);
    const offline = await api(url, 'POST', '/v1/x402/manage/ports/replace', {}, token(buy.body.sessionToken));
    expect(offline.status).to.equal(503);
    expect(offline.body.error.details).to.include({ country: 'SE', reason: 'offline', devices: 1, offline: 1 });
  });
});
