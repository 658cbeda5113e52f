import { expect } from 'chai';
import { api } from '../support/service.ts';
import { admin, decodeHeader, registerDevice, reportHealth, startPaidService } from '../support/x402.ts';

describe('x402 pool gateway access: purchase and management (real local chains)', function () {
  this.timeout(120_000);
  let world: Awaited<ReturnType<typeof startPaidService>>;
  let url: string;
  before(async () => {
    world = await startPaidService();
    url = world.service.url;
    await reportHealth(world.service, await registerDevice(world.service, 'US'));
    await reportHealth(world.service, await registerDevice(world.service, 'PL', { carrier: { name: 'Orange Polska', brand: 'Orange' } }));
  });
  after(async () => world?.stop());

  it('shows the pool tiers with the countries that have online modems', async () => {
    const res = await api(url, 'GET', '/v1/x402/pool/pricing');
    expect(res.status).to.equal(200);
    expect(res.body.tiers[0]).to.deep.include({ tier: 'mbl', perGB: 4, perGBMicro: '4000000' });
    expect(res.body.tiers[0].countries.map((c: any) => c.code)).to.deep.equal(['PL', 'US']);
  });

  it('answers 402 with the catalog, refuses a country without modems before payment, sells credentials for every country', async () => {
    const quote = await api(url, 'GET', '/v1/x402/pool?tier=mbl&country=us&traffic=1');
    expect(quote.status).to.equal(402);
    expect(quote.body.priceMicro).to.equal('4000000');
    expect(quote.body.catalog.tiers[0].countries.map((c: any) => c.code)).to.deep.equal(['PL', 'US']);
    expect(decodeHeader(quote.headers.get('payment-required')).accepts).to.have.length(2);
    expect((await api(url, 'GET', '/v1/x402/pool?tier=mbl&country=fr&traffic=1')).body.error.code).to.equal('NO_STOCK');
    expect((await api(url, 'GET', '/v1/x402/pool?tier=gold&country=us')).body.error.code).to.equal('VALIDATION_ERROR');

    const tx = await world.chains.base.payUsdc(2_000_000n);
    const res = await api(url, 'GET', '/v1/x402/pool?tier=mbl&country=us&traffic=0.5', undefined, { 'payment-signature': tx });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.username).to.match(/^psx_[a-z0-9]{12}$/);
    expect(res.body.password).to.have.length(24);
    expect(res.body.connection.http).to.equal(`http://${res.body.username}-mbl-us:${res.body.password}@127.0.0.1:7000`);
    expect(res.body.connection.socks5).to.equal(`socks5://${res.body.username}-mbl-us:${res.body.password}@127.0.0.1:7001`);
    expect(res.body.countries).to.deep.equal(['PL', 'US']);
    expect(res.body.traffic.totalGB).to.equal('0.5');
    const again = await api(url, 'GET', '/v1/x402/pool?tier=mbl&country=us&traffic=0.5', undefined, { 'payment-signature': tx });
    expect(again.body.error.code).to.equal('PAYMENT_ALREADY_USED');

    const token = { 'x-session-token': res.body.sessionToken };
    const credit = await api(url, 'GET', '/v1/x402/manage/pool/credit', undefined, token);
    expect(credit.body).to.deep.include({ credit: '2.00', hasCredit: true });
    const usage = await api(url, 'GET', '/v1/x402/manage/pool/usage', undefined, token);
    expect(usage.body).to.deep.include({ bytesUp: '0', bytesDown: '0', connections: 0, lastUsedAt: null });
    const conn = await api(url, 'GET', '/v1/x402/manage/pool/connection', undefined, token);
    expect(conn.body.http).to.equal(`http://${res.body.username}-mbl-us:YOUR_PASSWORD@127.0.0.1:7000`);

    const regenerated = await api(url, 'POST', '/v1/x402/manage/pool/regenerate', {}, token);
    expect(regenerated.status).to.equal(200);
    expect(regenerated.body.password).to.have.length(24).and.not.equal(res.body.password);

    const unpaid = await api(url, 'POST', '/v1/x402/manage/pool/topup', { addTrafficGB: 1 }, token);
    expect(unpaid.status).to.equal(402);
    const tx2 = await world.chains.solana.payUsdc(4_000_000n);
    const topped = await api(url, 'POST', '/v1/x402/manage/pool/topup', { addTrafficGB: 1 }, { ...token, 'payment-signature': tx2 });
    expect(topped.status, JSON.stringify(topped.body)).to.equal(200);
    expect(topped.body.traffic.totalGB).to.equal('1.5');
    const replay = await api(url, 'POST', '/v1/x402/manage/pool/topup', { addTrafficGB: 1 }, { ...token, 'payment-signature': tx2 });
    expect(replay.body.error.code).to.equal('PAYMENT_ALREADY_USED');
    expect((await api(url, 'GET', '/v1/x402/manage/pool/credit')).status).to.equal(400);
    expect((await api(url, 'GET', '/v1/x402/manage/pool/credit', undefined, { 'x-session-token': `x402s_${'z'.repeat(40)}` })).status).to.equal(401);
  });
});

/**
 * What is sold is what the gateway routes to: the gateway's pool takes a modem only once a health report
 * said it is online (pool-scores), so the pool purchase and the stock feed must not count it before.
 */
describe('x402 pool stock: a modem is sold only once a health report says it is online', function () {
  this.timeout(120_000);
  let world: Awaited<ReturnType<typeof startPaidService>>;
  after(async () => world?.stop());

  it('refuses a country whose only modem never reported (503 NO_STOCK, stock 0), sells it once online, not once offline again', async () => {
    world = await startPaidService();
    const url = world.service.url;
    const health = async (online: boolean) => {
      const res = await api(url, 'POST', `/v1/admin/devices/${id}/health`, { online, ...(online ? { latencyMs: 120, ip: '198.51.100.7' } : {}) }, admin);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
    };
    // the stock feed is cached 30 s: step past it before each read
    const stock = async () => {
      world.clock.advance(31_000);
      const res = await api(url, 'GET', '/v1/gateway/pool/stock');
      expect(res.status).to.equal(200);
      return { de: res.body.pools.mbl.de ?? 0, total: res.body.totals.mbl };
    };
    const id = await registerDevice(world.service, 'DE', { carrier: { name: 'Telekom.de', brand: 'Telekom' } });

    const before = await api(url, 'GET', '/v1/x402/pool?tier=mbl&country=de&traffic=1');
    expect(before.status, JSON.stringify(before.body)).to.equal(503);
    expect(before.body.error.code).to.equal('NO_STOCK');
    expect(before.headers.get('payment-required')).to.equal(null);
    expect((await api(url, 'GET', '/v1/x402/pool/pricing')).body.tiers[0].countries).to.deep.equal([]);
    expect(await stock()).to.deep.equal({ de: 0, total: 0 });

    await health(true);
    const quote = await api(url, 'GET', '/v1/x402/pool?tier=mbl&country=de&traffic=1');
    expect(quote.status, JSON.stringify(quote.body)).to.equal(402);
    expect(quote.body.catalog.tiers[0].countries.map((c: any) => c.code)).to.deep.equal(['DE']);
    expect(await stock()).to.deep.equal({ de: 1, total: 1 });

    await health(false);
    expect((await api(url, 'GET', '/v1/x402/pool?tier=mbl&country=de&traffic=1')).body.error.code).to.equal('NO_STOCK');
    expect(await stock()).to.deep.equal({ de: 0, total: 0 });
  });
});
