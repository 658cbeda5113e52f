import { expect } from 'chai';
import type net from 'node:net';
import { systemClock } from '../../src/clock.ts';
import { api, startTestService } from '../support/service.ts';
import { databaseKinds } from '../support/services.ts';
import { admin, registerDevice } from '../support/x402.ts';
import { basic, deadPort, rawConnect, startHttpModem, startTcpTarget, type Modem } from '../gateway/listeners/helpers.ts';

/**
 * #8 item 4 for accounts: the concurrent-connection limit is per account, not per port — its ports and its
 * pool password count together (here a limit of 3).
 */
describe('account connection limit across its ports and pool password (#8, #9)', function () {
  this.timeout(90_000);
  let service: Awaited<ReturnType<typeof startTestService>>;
  let modem: Modem;
  let target: Awaited<ReturnType<typeof startTcpTarget>>;
  let gw: number;
  const open: net.Socket[] = [];

  before(async () => {
    [modem, target] = await Promise.all([startHttpModem(), startTcpTarget()]);
    const [h, s, hp] = await Promise.all([deadPort(), deadPort(), deadPort()]);
    gw = h;
    service = await startTestService((await databaseKinds())[0]!, systemClock, {
      ROLES: 'api,projector,gateway', GATEWAY_HOST: '127.0.0.1', GATEWAY_HTTP_PORT: String(h), GATEWAY_SOCKS_PORT: String(s), GATEWAY_HEALTH_PORT: String(hp),
      GATEWAY_ALLOWED_PRIVATE_CIDRS: '127.0.0.0/8,::1/128', GATEWAY_METER_FLUSH_MS: '60000', GATEWAY_MAX_CONNECTIONS_PER_ACCOUNT: '3',
    });
    const dev = await registerDevice(service, 'DE', { upstream: modem.url, slots: 4, tiers: ['shared'] });
    await api(service.url, 'POST', `/v1/admin/devices/${dev}/health`, { online: true, latencyMs: 40, ip: '100.64.6.1' }, admin);
  });
  after(async () => {
    for (const s of open) s.destroy();
    await service?.stop();
    await Promise.all([modem?.close(), target?.close()]);
  });

  it('two ports and the pool password share the account\'s 3 connections', async () => {
    const url = service.url;
    const reg = await api(url, 'POST', '/v1/auth/register', { email: 'limits@example.com', password: 'a long password' });
    const key = { 'x-api-key': reg.body.apiKey.key };
    const accountId: string = reg.body.user._id;
    await api(url, 'POST', `/v1/admin/accounts/${accountId}/credits`, { amount: 50, reason: 'test' }, admin);
    await api(url, 'POST', '/v1/billing/purchase-ports', { quantity: 2 }, key);
    await api(url, 'POST', '/v1/billing/purchase-traffic', { quantityGB: 1 }, key);
    const a = (await api(url, 'POST', '/v1/ports', { countryId: 'DE', expiresAt: 31 * 86400 }, key)).body;
    const b = (await api(url, 'POST', '/v1/ports', { countryId: 'DE', expiresAt: 31 * 86400 }, key)).body;
    const pool = (await api(url, 'POST', '/v1/account/pool/password', {}, key)).body;
    const authA = basic(a.proxyLogin, a.proxyPassword), authB = basic(b.proxyLogin, b.proxyPassword);
    const authPool = basic(`psx_${accountId}-mbl-de`, pool.password);
    const connect = async (auth: string) => {
      const r = await rawConnect(gw, `127.0.0.1:${target.port}`, auth);
      open.push(r.socket);
      return r.status;
    };
    expect(await connect(authA)).to.equal(200);
    expect(await connect(authA)).to.equal(200);
    expect(await connect(authB)).to.equal(200);
    expect(await connect(authB), 'a 4th connection through the other port').to.equal(429);
    expect(await connect(authPool), 'a 4th connection through the pool password').to.equal(429);
    // one closes: a slot is free for any of them
    open[0]!.destroy();
    await new Promise((r) => setTimeout(r, 200));
    expect(await connect(authPool)).to.equal(200);
  });
});
