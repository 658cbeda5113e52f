import { expect } from 'chai';
import { api } from '../support/service.ts';
import { BOUGHT, BOUND, DOWNLOAD, MB, startTwoGateways, type TwoGateways } from './two-gateways.ts';
import { viaConnect, viaSocks, type Delivered } from './downloads.ts';

/**
 * #8 item 1: the traffic balance is held in flight. 4 parallel 80 MB downloads on 0.1 GB, split
 * over two gateway instances that share only Redis (and the database): what the customer receives
 * stays within max(1 MB, 1 %) of what was bought, and the balance read model ends at zero.
 */
describe('gateway in-flight byte budget across two instances (#8)', function () {
  this.timeout(180_000);
  let t: TwoGateways;
  let world: TwoGateways['world'];
  let origin: TwoGateways['origin'];
  let gateways: TwoGateways['gateways'];

  before(async function () {
    const started = await startTwoGateways();
    if (!started) return this.skip();
    t = started;
    ({ world, origin, gateways } = t);
    await t.device({ slots: 4 }, '100.64.0.1');
  });
  after(async () => t?.stop());

  const settle = () => t.settle();

  const check = (delivered: Delivered[], traffic: { totalBytes: string; usedBytes: string; remainingBytes: string }) => {
    const got = delivered.reduce((n, d) => n + d.up + d.down, 0);
    expect(traffic.totalBytes).to.equal(String(BOUGHT));
    expect(got, `delivered ${got} of ${BOUGHT}`).to.be.at.most(BOUGHT + BOUND);
    // and what was bought was delivered (the slices held by the other instance came back)
    expect(got).to.be.at.least(BOUGHT - BOUND);
    expect(traffic.remainingBytes).to.equal('0');
    expect(traffic.usedBytes).to.equal(String(BOUGHT));
  };

  it('an x402 session: 4 × 80 MB over CONNECT and SOCKS5 through both instances stop at 0.1 GB', async () => {
    const tx = await world.chains.base.payUsdc(400_000n);
    const port = (await api(world.service.url, 'GET', '/v1/x402/proxy?country=US&traffic=0.1', undefined, { 'payment-signature': tx })).body;
    expect(port.username, JSON.stringify(port)).to.be.a('string');
    const path = `/bytes/${DOWNLOAD}`;
    const delivered = await Promise.all([
      viaConnect(gateways[0]!.http, port.username, port.password, origin.port, path),
      viaSocks(gateways[0]!.socks, port.username, port.password, origin.port, path),
      viaConnect(gateways[1]!.http, port.username, port.password, origin.port, path),
      viaSocks(gateways[1]!.socks, port.username, port.password, origin.port, path),
    ]);
    await settle();
    const credit = (await api(world.service.url, 'GET', '/v1/x402/manage/session/credit', undefined, { 'x-session-token': port.sessionToken })).body;
    check(delivered, credit.traffic);
    // a new connection on either instance is refused now
    expect((await viaConnect(gateways[1]!.http, port.username, port.password, origin.port, '/bytes/10')).down).to.equal(0);
  });

  it('a pool account: the same through both instances', async () => {
    const tx = await world.chains.base.payUsdc(400_000n);
    const bought = await api(world.service.url, 'GET', '/v1/x402/pool?tier=mbl&country=us&traffic=0.1', undefined, { 'payment-signature': tx });
    expect(bought.status, JSON.stringify(bought.body)).to.equal(200);
    const user = `${bought.body.username}-mbl-us`;
    const pass = bought.body.password;
    const path = `/bytes/${DOWNLOAD}`;
    const delivered = await Promise.all([
      viaConnect(gateways[0]!.http, user, pass, origin.port, path),
      viaSocks(gateways[1]!.socks, user, pass, origin.port, path),
      viaConnect(gateways[1]!.http, user, pass, origin.port, path),
      viaSocks(gateways[0]!.socks, user, pass, origin.port, path),
    ]);
    await settle();
    const usage = (await api(world.service.url, 'GET', '/v1/x402/manage/pool/usage', undefined, { 'x-session-token': bought.body.sessionToken })).body;
    check(delivered, usage.traffic);
  });
});
