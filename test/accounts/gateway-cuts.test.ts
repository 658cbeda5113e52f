import { expect } from 'chai';
import { fixedClock } from '../../src/clock.ts';
import { api, startTestService } from '../support/service.ts';
import { databaseKinds } from '../support/services.ts';
import { admin, registerDevice } from '../support/x402.ts';
import { basic, deadPort, rawConnect, startHttpModem, startTcpTarget, waitFor, type Modem } from '../gateway/listeners/helpers.ts';

/** The gateway side of account credentials: a regenerated pool password cuts live tunnels; a suspended port is refused. */
describe('account credentials on the gateway: pool-password regeneration and suspension', function () {
  this.timeout(90_000);
  const clock = fixedClock(new Date());
  let service: Awaited<ReturnType<typeof startTestService>>;
  let modem: Modem;
  let target: Awaited<ReturnType<typeof startTcpTarget>>;
  let gw: number;
  before(async () => {
    [modem, target] = await Promise.all([startHttpModem(), startTcpTarget()]);
    const [h, s, hp] = await Promise.all([deadPort(), deadPort(), deadPort()]);
    gw = h;
    service = await startTestService((await databaseKinds())[0]!, clock, {
      ROLES: 'api,projector,gateway', GATEWAY_HOST: '127.0.0.1', GATEWAY_HTTP_PORT: String(h), GATEWAY_SOCKS_PORT: String(s), GATEWAY_HEALTH_PORT: String(hp),
      GATEWAY_ALLOWED_PRIVATE_CIDRS: '127.0.0.0/8,::1/128', GATEWAY_METER_FLUSH_MS: '60000',
      GATEWAY_REFRESH_MS: '600000', // the periodic re-read must not be what cuts the tunnel here: the regeneration must, at once
    });
    const dev = await registerDevice(service, 'DE', { upstream: modem.url, slots: 4, tiers: ['shared'] });
    await api(service.url, 'POST', `/v1/admin/devices/${dev}/health`, { online: true, latencyMs: 40, ip: '100.64.4.1' }, admin);
  });
  after(async () => { await service?.stop(); await Promise.all([modem?.close(), target?.close()]); });

  let key: Record<string, string>;
  let accountId: string;
  it('refuses a suspended port (its slot subscription lapsed)', async () => {
    const url = service.url;
    const reg = await api(url, 'POST', '/v1/auth/register', { email: 'cuts@example.com', password: 'a long password' });
    key = { 'x-api-key': reg.body.apiKey.key };
    accountId = reg.body.user._id;
    await api(url, 'POST', `/v1/admin/accounts/${accountId}/credits`, { amount: 30, reason: 'test' }, admin);
    await api(url, 'POST', '/v1/billing/purchase-ports', { quantity: 1 }, key);
    await api(url, 'POST', '/v1/billing/purchase-traffic', { quantityGB: 1 }, key);

    const port = (await api(url, 'POST', '/v1/ports', { countryId: 'DE', expiresAt: 31 * 86400 }, key)).body;
    const auth = basic(port.proxyLogin, port.proxyPassword);
    const ok = await rawConnect(gw, `127.0.0.1:${target.port}`, auth);
    expect(ok.status, ok.head).to.equal(200);
    ok.socket.destroy();
    clock.advance(30 * 86_400_000 + 60_000); // the slot lapsed; the port's own expiry is a day later
    const refused = await rawConnect(gw, `127.0.0.1:${target.port}`, auth);
    expect(refused.status).to.equal(407);
  });

  it('cuts a live pool tunnel when the pool password is regenerated', async () => {
    const url = service.url;
    const pool = await api(url, 'POST', '/v1/account/pool/password', {}, key);
    const live = await rawConnect(gw, `127.0.0.1:${target.port}`, basic(`psx_${accountId}-mbl-de`, pool.body.password));
    expect(live.status, live.head).to.equal(200);
    let closed = false;
    // The gateway destroys its side; this socket is half-open (rawConnect), so the cut shows as 'end'.
    live.socket.once('end', () => (closed = true));
    live.socket.once('close', () => (closed = true));
    live.socket.write('ping');
    await new Promise((r) => setTimeout(r, 200));
    expect(closed).to.equal(false);
    await api(url, 'POST', '/v1/account/pool/password', {}, key);
    await waitFor(() => closed, 'the live tunnel to be cut', 2_000);

  });
});
