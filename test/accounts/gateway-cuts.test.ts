import { expect } from 'chai';
import { fixedClock } from '../../src/clock.ts';
import { api } from '../support/service.ts';
import { admin } from '../support/x402.ts';
import { basic, rawConnect, waitFor } from '../gateway/listeners/helpers.ts';
import { startAccountGateway, type AccountGateway } from './gateway-world.ts';

/** The gateway side of account credentials: a regenerated pool password cuts live tunnels; a suspended port is refused. */
describe('account credentials on the gateway: pool-password regeneration and suspension', function () {
  this.timeout(90_000);
  const clock = fixedClock(new Date());
  let world: AccountGateway;
  let service: AccountGateway['service'];
  let target: AccountGateway['target'];
  let gw: number;
  before(async () => {
    world = await startAccountGateway(clock, '100.64.4.1');
    ({ service, target, gw } = world);
  });
  after(async () => world?.stop());

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
