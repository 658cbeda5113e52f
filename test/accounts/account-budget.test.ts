import { expect } from 'chai';
import { usedBytesBySlotType } from '../../projections/account-usage.ts';
import { api } from '../support/service.ts';
import { admin } from '../support/x402.ts';
import { BOUGHT, BOUND, DOWNLOAD, MB, startTwoGateways, type TwoGateways } from '../gateway/two-gateways.ts';
import { viaConnect, viaSocks, type Delivered } from '../gateway/downloads.ts';

/**
 * #8 item 1 / #9 items 5 and 9: an account's traffic is one budget, whichever of its credentials
 * spends it. Two account ports and the account's pool password download in parallel through two
 * gateway instances sharing Redis; together they stop at what the account bought.
 */
describe('account traffic budget across ports, the pool password and two gateway instances (#8, #9)', function () {
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
    await t.device({ slots: 8, tiers: ['shared'] }, '100.64.0.1');
    await t.device({ slots: 1, tiers: ['private'] }, '100.64.0.2');
  });
  after(async () => t?.stop());

  const settle = () => t.settle(30_000);

  it('two ports and the pool password, 4 × 80 MB through both instances, stop at the account\'s 0.1 GB', async () => {
    const url = world.service.url;
    const reg = await api(url, 'POST', '/v1/auth/register', { email: 'budget@example.com', password: 'a long password' });
    const key = { 'x-api-key': reg.body.apiKey.key };
    const accountId: string = reg.body.user._id;
    await api(url, 'POST', `/v1/admin/accounts/${accountId}/credits`, { amount: 50, reason: 'test' }, admin);
    expect((await api(url, 'POST', '/v1/billing/purchase-ports', { quantity: 2 }, key)).status).to.equal(201);
    const traffic = await api(url, 'POST', '/v1/billing/purchase-traffic', { quantityGB: 0.1 }, key);
    expect(traffic.status, JSON.stringify(traffic.body)).to.equal(201);
    const a = (await api(url, 'POST', '/v1/ports', { countryId: 'US', expiresAt: 31 * 86400 }, key)).body;
    const b = (await api(url, 'POST', '/v1/ports', { countryId: 'US', expiresAt: 31 * 86400 }, key)).body;
    expect(a.proxyLogin, JSON.stringify(a)).to.be.a('string');
    expect(b.proxyLogin, JSON.stringify(b)).to.be.a('string');
    const pool = (await api(url, 'POST', '/v1/account/pool/password', {}, key)).body;
    const poolUser = `psx_${accountId}-mbl-us`;

    const path = `/bytes/${DOWNLOAD}`;
    const delivered: Delivered[] = await Promise.all([
      viaConnect(gateways[0]!.http, a.proxyLogin, a.proxyPassword, origin.port, path),
      viaSocks(gateways[1]!.socks, b.proxyLogin, b.proxyPassword, origin.port, path),
      viaConnect(gateways[1]!.http, poolUser, pool.password, origin.port, path),
      viaSocks(gateways[0]!.socks, b.proxyLogin, b.proxyPassword, origin.port, path),
    ]);
    await settle();
    const got = delivered.reduce((n, d) => n + d.up + d.down, 0);
    expect(got, `delivered ${got} of ${BOUGHT}`).to.be.at.most(BOUGHT + BOUND);
    expect(got, `delivered ${got} of ${BOUGHT}`).to.be.at.least(BOUGHT - BOUND);
    // the balance read model: every byte bought is used, none beyond it
    const used = await usedBytesBySlotType(world.service.infra.database.db, accountId);
    expect(used.shared.toString()).to.equal(String(BOUGHT));
    const view = (await api(url, 'GET', '/v1/account', undefined, key)).body;
    expect(view.subscription.shared.traffic.availableGB).to.equal(0);
    // a new connection through any of them, on either instance, is refused now
    expect((await viaConnect(gateways[1]!.http, a.proxyLogin, a.proxyPassword, origin.port, '/bytes/10')).down).to.equal(0);
    expect((await viaConnect(gateways[0]!.http, poolUser, pool.password, origin.port, '/bytes/10')).down).to.equal(0);
  });

  it('shared and private traffic are two budgets: a shared and a private port each get their own 0.1 GB', async () => {
    const url = world.service.url;
    const reg = await api(url, 'POST', '/v1/auth/register', { email: 'budget-tiers@example.com', password: 'a long password' });
    const key = { 'x-api-key': reg.body.apiKey.key };
    const accountId: string = reg.body.user._id;
    await api(url, 'POST', `/v1/admin/accounts/${accountId}/credits`, { amount: 100, reason: 'test' }, admin);
    expect((await api(url, 'POST', '/v1/billing/purchase-ports', { quantity: 1 }, key)).status).to.equal(201);
    expect((await api(url, 'POST', '/v1/billing/purchase-ports-private', { quantity: 1 }, key)).status).to.equal(201);
    expect((await api(url, 'POST', '/v1/billing/purchase-traffic', { quantityGB: 0.1 }, key)).status).to.equal(201);
    expect((await api(url, 'POST', '/v1/billing/purchase-traffic-private', { quantityGB: 0.1 }, key)).status).to.equal(201);
    const shared = (await api(url, 'POST', '/v1/ports', { countryId: 'US', expiresAt: 31 * 86400 }, key)).body;
    const priv = (await api(url, 'POST', '/v1/ports', { countryId: 'US', expiresAt: 31 * 86400, type: 'private' }, key)).body;
    expect(priv.slotType, JSON.stringify(priv)).to.equal('private');
    const path = `/bytes/${DOWNLOAD}`;
    const [s1, s2, p1, p2] = await Promise.all([
      viaConnect(gateways[0]!.http, shared.proxyLogin, shared.proxyPassword, origin.port, path),
      viaSocks(gateways[1]!.socks, shared.proxyLogin, shared.proxyPassword, origin.port, path),
      viaConnect(gateways[1]!.http, priv.proxyLogin, priv.proxyPassword, origin.port, path),
      viaSocks(gateways[0]!.socks, priv.proxyLogin, priv.proxyPassword, origin.port, path),
    ]);
    await settle();
    const sum = (...d: Delivered[]) => d.reduce((n, x) => n + x.up + x.down, 0);
    for (const got of [sum(s1!, s2!), sum(p1!, p2!)]) {
      expect(got, `delivered ${got} of ${BOUGHT}`).to.be.at.most(BOUGHT + BOUND);
      expect(got, `delivered ${got} of ${BOUGHT}`).to.be.at.least(BOUGHT - BOUND);
    }
    const used = await usedBytesBySlotType(world.service.infra.database.db, accountId);
    expect([used.shared.toString(), used.private.toString()]).to.deep.equal([String(BOUGHT), String(BOUGHT)]);
  });
});
