import { expect } from 'chai';
import type net from 'node:net';
import { fixedClock } from '../../src/clock.ts';
import { api } from '../support/service.ts';
import { admin } from '../support/x402.ts';
import { basic, rawConnect, waitFor } from '../gateway/listeners/helpers.ts';
import { startAccountGateway, type AccountGateway } from './gateway-world.ts';

/** Watches a live tunnel: the gateway destroys its side; on this half-open socket (rawConnect) that shows as 'end'. */
function watch(socket: net.Socket) {
  const seen = { closed: false };
  socket.once('end', () => (seen.closed = true));
  socket.once('close', () => (seen.closed = true));
  socket.on('error', () => {});
  socket.write('ping');
  return seen;
}

/** A suspended account or port cuts its open tunnels, as a regenerated pool password does (#9 items 5, 9). */
describe('account suspension on the gateway: open tunnels are cut', function () {
  this.timeout(90_000);
  const clock = fixedClock(new Date());
  let world: AccountGateway;
  let service: AccountGateway['service'];
  let target: AccountGateway['target'];
  let gw: number;
  let key: Record<string, string>;
  let accountId: string;
  let port: { proxyLogin: string; proxyPassword: string };
  let poolPassword: string;

  before(async () => {
    world = await startAccountGateway(clock, '100.64.5.1');
    ({ service, target, gw } = world);
    const url = service.url;
    const reg = await api(url, 'POST', '/v1/auth/register', { email: 'suspend@example.com', password: 'a long password' });
    key = { 'x-api-key': reg.body.apiKey.key };
    accountId = reg.body.user._id;
    await api(url, 'POST', `/v1/admin/accounts/${accountId}/credits`, { amount: 30, reason: 'test' }, admin);
    await api(url, 'POST', '/v1/billing/purchase-ports', { quantity: 1 }, key);
    await api(url, 'POST', '/v1/billing/purchase-traffic', { quantityGB: 1 }, key);
    port = (await api(url, 'POST', '/v1/ports', { countryId: 'DE', expiresAt: 31 * 86400 }, key)).body;
    poolPassword = (await api(url, 'POST', '/v1/account/pool/password', {}, key)).body.password;
  });
  after(async () => world?.stop());

  const open = async (user: string, pass: string) => {
    const live = await rawConnect(gw, `127.0.0.1:${target.port}`, basic(user, pass));
    expect(live.status, live.head).to.equal(200);
    return live;
  };

  it('an admin deactivating the account cuts its port and pool tunnels at once', async () => {
    const viaPort = watch((await open(port.proxyLogin, port.proxyPassword)).socket);
    const viaPool = watch((await open(`psx_${accountId}-mbl-de`, poolPassword)).socket);
    await new Promise((r) => setTimeout(r, 200));
    expect(viaPort.closed || viaPool.closed).to.equal(false);
    const patched = await api(service.url, 'PATCH', `/v1/admin/accounts/${accountId}`, { isActive: false }, admin);
    expect(patched.status, JSON.stringify(patched.body)).to.equal(200);
    await waitFor(() => viaPort.closed && viaPool.closed, 'both live tunnels to be cut', 2_000);
    expect((await rawConnect(gw, `127.0.0.1:${target.port}`, basic(port.proxyLogin, port.proxyPassword))).status).to.equal(407);
    // reactivated: the same credentials work again
    await api(service.url, 'PATCH', `/v1/admin/accounts/${accountId}`, { isActive: true }, admin);
    (await open(port.proxyLogin, port.proxyPassword)).socket.destroy();
  });

  it('a port whose slot subscription lapses is cut by the gateway\'s refresh, not only refused on the next connection', async () => {
    const viaPort = watch((await open(port.proxyLogin, port.proxyPassword)).socket);
    clock.advance(30 * 86_400_000 + 60_000); // the slot lapsed; the port's own expiry is a day later
    const listed = (await api(service.url, 'GET', '/v1/ports?status=suspended', undefined, key)).body;
    expect(JSON.stringify(listed)).to.include(port.proxyLogin);
    await service.gateway!.brain.refresh();
    await waitFor(() => viaPort.closed, 'the live tunnel of the lapsed port to be cut', 2_000);
  });
});
