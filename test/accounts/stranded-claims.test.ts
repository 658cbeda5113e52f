import { expect } from 'chai';
import { objectId } from '../../adapters/ids.ts';
import { emailClaimDecider } from '../../domain/accounts/decide.ts';
import { emailClaimStreamId } from '../../domain/accounts/events.ts';
import { proxyLoginDecider } from '../../domain/ports/decide.ts';
import { proxyLoginStreamId } from '../../domain/ports/events.ts';
import { handleCommand } from '../../src/commands/handle.ts';
import { fixedClock } from '../../src/clock.ts';
import { accountsContext, runAccountCommand } from '../../src/accounts/context.ts';
import { accountSlotHolder, runPortCommand } from '../../src/accounts/ports.ts';
import { AccountWorker } from '../../src/accounts/worker.ts';
import { takeSlot } from '../../src/x402/allocation.ts';
import { sha256Hex } from '../../src/x402/secrets.ts';
import { api, startTestService } from '../support/service.ts';
import { databaseKinds } from '../support/services.ts';
import { admin, registerDevice } from '../support/x402.ts';

const GRACE_PASSED = 6 * 60_000;

/** Claim streams (one per e-mail, one per proxy login) written by a command that then crashed before its other streams. */
describe('accounts: claims left by a crash heal', function () {
  this.timeout(90_000);
  const clock = fixedClock('2026-11-20T10:00:00.000Z');
  let service: Awaited<ReturnType<typeof startTestService>>;
  let url: string;
  let key: Record<string, string>;
  let accountId: string;
  let dev: string;
  let worker: AccountWorker;
  const origin = { actor: 'test', correlationId: 'crash' };
  const settle = async () => service.infra.projector.waitFor(await service.infra.store.headPosition(), undefined, 30_000);
  const newPort = async () => {
    const created = await api(url, 'POST', '/v1/ports', { countryId: 'DE', expiresAt: 86400 }, key);
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    return created.body as { id: string; proxyLogin: string };
  };
  const setLogin = (portId: string, proxyLogin: string) => api(url, 'PUT', `/v1/ports/${portId}/credentials`, { proxyLogin }, key);
  const loginEvents = async (login: string) => {
    const out: Array<{ type: string; portId: string; stranded?: true }> = [];
    for await (const e of service.infra.store.readStream(proxyLoginStreamId(login))) out.push({ type: e.type, portId: (e.data as any).portId, ...((e.data as any).stranded ? { stranded: true as const } : {}) });
    return out;
  };

  before(async () => {
    service = await startTestService((await databaseKinds())[0]!, clock, { WORKER_INTERVAL_MS: '3600000' });
    url = service.url;
    dev = await registerDevice(service, 'DE', { slots: 8, tiers: ['shared'], carrier: { name: 'Vodafone D2 GmbH', brand: 'Vodafone' } });
    await api(url, 'POST', `/v1/admin/devices/${dev}/health`, { online: true, latencyMs: 40, ip: '100.64.4.1' }, admin);
    const reg = await api(url, 'POST', '/v1/auth/register', { email: 'claims@example.com', password: 'a long password' });
    key = { 'x-api-key': reg.body.apiKey.key };
    accountId = reg.body.user._id;
    await api(url, 'POST', `/v1/admin/accounts/${accountId}/credits`, { amount: 100, reason: 'test' }, admin);
    expect((await api(url, 'POST', '/v1/billing/purchase-ports', { quantity: 6 }, key)).status).to.equal(201);
    worker = new AccountWorker(service.infra);
  });
  after(async () => service?.stop());

  it('an e-mail claimed by a register that died before the account was written registers on the next attempt', async () => {
    const email = 'died-mid-register@example.com';
    const claimedFor = objectId(clock.now().getTime());
    // the first step of registerAccount, then the process dies
    await handleCommand(service.infra, emailClaimDecider, emailClaimStreamId(sha256Hex(email)), { type: 'ClaimEmail', data: { emailHash: sha256Hex(email), accountId: claimedFor } }, origin);
    const again = await api(url, 'POST', '/v1/auth/register', { email: 'Died-Mid-Register@example.com', password: 'a long password' });
    expect(again.status, JSON.stringify(again.body)).to.equal(201);
    expect(again.body.user._id).to.equal(claimedFor); // the claim's account id is the one completed
    expect((await api(url, 'POST', '/v1/login/signin', { email, password: 'a long password' })).status).to.equal(200);
    expect((await api(url, 'POST', '/v1/auth/register', { email, password: 'another password' })).status).to.equal(409);
  });

  it('a login held by a port whose DELETE died after the port was deleted is released by the worker after the grace period', async () => {
    const a = await newPort();
    expect((await setLogin(a.id, 'held_by_a_dead_delete')).status).to.equal(200);
    // the first step of deletePort (the port is deleted), then the process dies: slots and login still held
    await runPortCommand(accountsContext(service.infra), a.id, { type: 'DeletePort', data: { reason: 'deleted' } }, origin);
    await settle();
    expect((await api(url, 'GET', `/v1/ports/${a.id}`, undefined, key)).status).to.equal(404);
    const b = await newPort();
    const taken = await setLogin(b.id, 'held_by_a_dead_delete');
    expect(taken.status, JSON.stringify(taken.body)).to.equal(409);
    expect(taken.body.error.code).to.equal('PROXY_LOGIN_TAKEN');

    expect((await worker.tick()).healed).to.equal(0); // inside the grace period
    clock.advance(GRACE_PASSED);
    const { healed } = await worker.tick();
    await settle();
    const freed = await setLogin(b.id, 'held_by_a_dead_delete');
    expect(freed.status, JSON.stringify(freed.body)).to.equal(200);
    expect(healed).to.equal(3); // account slot, device slot, login
    expect(freed.body.proxyLogin).to.equal('held_by_a_dead_delete');
    // nothing was deleted from the store: the release is an event between the two claims
    expect(await loginEvents('held_by_a_dead_delete')).to.deep.equal([
      { type: 'ProxyLoginClaimed', portId: a.id }, { type: 'ProxyLoginReleased', portId: a.id, stranded: true }, { type: 'ProxyLoginClaimed', portId: b.id },
    ]);
    clock.advance(GRACE_PASSED);
    expect((await worker.tick()).healed).to.equal(0); // a live port's login is left alone, and a second pass releases nothing
  });

  it('a login claimed by a POST /v1/ports that died before the port was written is released by the worker', async () => {
    const ctx = accountsContext(service.infra);
    const portId = objectId(clock.now().getTime());
    // the first steps of createPort (account slot, device slot, login claim), then the process dies
    await runAccountCommand(ctx, accountId, { type: 'AssignSlot', data: { portId, slotType: 'shared' } }, origin);
    expect(await takeSlot(service.infra, { portId, sessionId: accountSlotHolder(accountId), countryCode: 'DE', carrier: null, tier: 'shared', exclude: [] }, origin)).to.equal(dev);
    await handleCommand(service.infra, proxyLoginDecider, proxyLoginStreamId('held_by_a_dead_create'), { type: 'Claim', data: { login: 'held_by_a_dead_create', portId } }, origin);
    await settle();
    const b = await newPort();
    expect((await setLogin(b.id, 'held_by_a_dead_create')).status).to.equal(409);
    expect((await worker.tick()).healed).to.equal(0);
    clock.advance(GRACE_PASSED);
    const { healed } = await worker.tick();
    await settle();
    expect((await setLogin(b.id, 'held_by_a_dead_create')).status).to.equal(200);
    expect(healed).to.equal(3);
  });

  it('a credentials change that died between its steps: a retry completes it; an old login left claimed is released', async () => {
    const ctx = accountsContext(service.infra);
    const b = await newPort();
    const c = await newPort();
    // b: the new login claimed, then the process dies (the port still goes by its old login)
    await handleCommand(service.infra, proxyLoginDecider, proxyLoginStreamId('b_half_changed'), { type: 'Claim', data: { login: 'b_half_changed', portId: b.id } }, origin);
    // c: new login claimed and the port changed, then the process dies before the old login is let go
    await handleCommand(service.infra, proxyLoginDecider, proxyLoginStreamId('c_new_login'), { type: 'Claim', data: { login: 'c_new_login', portId: c.id } }, origin);
    await runPortCommand(ctx, c.id, { type: 'ChangeCredentials', data: { proxyLogin: 'c_new_login', passwordHash: sha256Hex('whatever') } }, origin);
    await settle();
    expect((await setLogin(c.id, 'b_half_changed')).status).to.equal(409);
    expect((await setLogin(b.id, c.proxyLogin)).status).to.equal(409);

    clock.advance(GRACE_PASSED);
    // b retries its change: the claim is b's own, renewed, and the worker leaves it
    const retried = await setLogin(b.id, 'b_half_changed');
    expect(retried.status, JSON.stringify(retried.body)).to.equal(200);
    const { healed } = await worker.tick();
    await settle();
    expect((await setLogin(b.id, c.proxyLogin)).status).to.equal(200);
    expect(healed).to.equal(1); // c's old login only
    expect((await setLogin(c.id, 'b_half_changed')).status).to.equal(200); // b let it go when it took c's old login
    clock.advance(GRACE_PASSED);
    expect((await worker.tick()).healed).to.equal(0);
  });
});
