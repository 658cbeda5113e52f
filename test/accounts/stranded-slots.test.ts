import { expect } from 'chai';
import { objectId } from '../../adapters/ids.ts';
import { fixedClock } from '../../src/clock.ts';
import { accountsContext, runAccountCommand } from '../../src/accounts/context.ts';
import { accountSlotHolder } from '../../src/accounts/ports.ts';
import { AccountWorker } from '../../src/accounts/worker.ts';
import { takeSlot } from '../../src/x402/allocation.ts';
import { api, startTestService } from '../support/service.ts';
import { databaseKinds } from '../support/services.ts';
import { admin, registerDevice } from '../support/x402.ts';

/** A crash inside POST /v1/ports after the account slot and the device slot were taken, before the port was written. */
describe('account ports: a crash between slot assignment and port creation heals', function () {
  this.timeout(60_000);
  const clock = fixedClock('2026-11-20T10:00:00.000Z');
  let service: Awaited<ReturnType<typeof startTestService>>;
  before(async () => { service = await startTestService((await databaseKinds())[0]!, clock, { WORKER_INTERVAL_MS: '3600000' }); });
  after(async () => service?.stop());

  it('frees the stranded account slot and device slot after the grace period, and the port can then be created', async () => {
    const url = service.url;
    const dev = await registerDevice(service, 'DE', { slots: 1, tiers: ['shared'], carrier: { name: 'Vodafone D2 GmbH', brand: 'Vodafone' } });
    await api(url, 'POST', `/v1/admin/devices/${dev}/health`, { online: true, latencyMs: 40, ip: '100.64.2.1' }, admin);
    const reg = await api(url, 'POST', '/v1/auth/register', { email: 'crash@example.com', password: 'a long password' });
    const key = { 'x-api-key': reg.body.apiKey.key };
    const accountId = reg.body.user._id;
    await api(url, 'POST', `/v1/admin/accounts/${accountId}/credits`, { amount: 20, reason: 'test' }, admin);
    await api(url, 'POST', '/v1/billing/purchase-ports', { quantity: 1 }, key);

    // the first two steps of createPort, then the process dies
    const ctx = accountsContext(service.infra);
    const portId = objectId(clock.now().getTime());
    const origin = { actor: `account:${accountId}`, correlationId: 'crash' };
    await runAccountCommand(ctx, accountId, { type: 'AssignSlot', data: { portId, slotType: 'shared' } }, origin, ['accounts']);
    expect(await takeSlot(service.infra, { portId, sessionId: accountSlotHolder(accountId), countryCode: 'DE', carrier: null, tier: 'shared', exclude: [] }, origin)).to.equal(dev);
    await service.infra.projector.waitFor(await service.infra.store.headPosition(), undefined, 30_000);

    expect((await api(url, 'GET', '/v1/account/summary', undefined, key)).body.shared.slots).to.deep.equal({ total: 1, used: 1, available: 0 });
    expect((await api(url, 'POST', '/v1/ports', { countryId: 'DE', expiresAt: 86400 }, key)).body.error.code).to.equal('NO_AVAILABLE_SLOTS');

    const worker = new AccountWorker(service.infra);
    expect((await worker.tick()).healed).to.equal(0); // inside the grace period: could be a create in progress
    clock.advance(6 * 60_000);
    expect((await worker.tick()).healed).to.equal(2);
    await service.infra.projector.waitFor(await service.infra.store.headPosition(), undefined, 30_000);
    expect((await api(url, 'GET', '/v1/account/summary', undefined, key)).body.shared.slots).to.deep.equal({ total: 1, used: 0, available: 1 });
    const created = await api(url, 'POST', '/v1/ports', { countryId: 'DE', expiresAt: 86400 }, key);
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    expect(created.body.device._id).to.equal(dev); // the device's one slot was free again
    // a live port is left alone
    clock.advance(6 * 60_000);
    expect((await worker.tick()).healed).to.equal(0);
    expect((await api(url, 'GET', `/v1/ports/${created.body.id}`, undefined, key)).status).to.equal(200);
  });
});

describe('account ports: a lapsed slot subscription suspends its ports', function () {
  this.timeout(60_000);
  const clock = fixedClock('2026-11-20T10:00:00.000Z');
  let service: Awaited<ReturnType<typeof startTestService>>;
  before(async () => { service = await startTestService((await databaseKinds())[0]!, clock, { WORKER_INTERVAL_MS: '3600000' }); });
  after(async () => service?.stop());

  it('shows status suspended (and filters on it) once the slot lapsed, and active again after buying a slot', async () => {
    const url = service.url;
    const dev = await registerDevice(service, 'DE', { slots: 2, tiers: ['shared'] });
    await api(url, 'POST', `/v1/admin/devices/${dev}/health`, { online: true, latencyMs: 40, ip: '100.64.3.1' }, admin);
    const reg = await api(url, 'POST', '/v1/auth/register', { email: 'lapse@example.com', password: 'a long password' });
    const key = { 'x-api-key': reg.body.apiKey.key };
    await api(url, 'POST', `/v1/admin/accounts/${reg.body.user._id}/credits`, { amount: 30, reason: 'test' }, admin);
    await api(url, 'POST', '/v1/billing/purchase-ports', { quantity: 1 }, key);
    const port = (await api(url, 'POST', '/v1/ports', { countryId: 'DE', expiresAt: 31 * 86400 }, key)).body;
    expect((await api(url, 'GET', '/v1/ports?status=suspended', undefined, key)).body.data).to.have.length(0);
    clock.advance(30 * 86_400_000 + 60_000); // the 30-day slot lapsed, the 31-day port has not expired
    const suspended = await api(url, 'GET', '/v1/ports?status=suspended', undefined, key);
    expect(suspended.body.data.map((p: any) => p.id)).to.deep.equal([port.id]);
    expect(suspended.body.data[0]).to.include({ suspended: true, status: 'suspended' });
    expect((await api(url, 'GET', '/v1/ports?status=active', undefined, key)).body.data).to.have.length(0);
    await api(url, 'POST', '/v1/billing/purchase-ports', { quantity: 1 }, key);
    expect((await api(url, 'GET', `/v1/ports/${port.id}`, undefined, key)).body).to.include({ suspended: false, status: 'active' });
  });
});
