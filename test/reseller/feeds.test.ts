import { expect } from 'chai';
import { systemClock } from '../../src/clock.ts';
import { onlinePeers } from '../../src/peers/presence.ts';
import { api, startTestService } from '../support/service.ts';
import { databaseKinds } from '../support/services.ts';
import { SdkLikePeer } from '../support/peers.ts';
import { registerDevice, reportHealth } from '../support/x402.ts';
import { ApiError, ResellerClient } from './sdk-client.ts';
import { until } from '../support/until.ts';

type Service = Awaited<ReturnType<typeof startTestService>>;

/**
 * The public pool feeds as the reseller SDK reads them (getStock, getCarrierStock with and without a
 * country and pool, getCities, getFacets), over modems registered in the fleet and peers connected to the
 * relay for real (loopback addresses classified by PEER_IP_OVERRIDES, ASN included).
 */
describe('reseller SDK pool feeds: stock with online peers, carrier catalogue, cities, facets', function () {
  this.timeout(120_000);
  let service: Service;
  let sdk: ResellerClient;
  let relayUrl: string;
  const peers: SdkLikePeer[] = [];
  const connectPeer = async (name: string, localAddress: string, country: string) => {
    const reg = (await api(service.url, 'POST', '/v1/peer/agents/register', { name, type: 'android' })).body;
    const peer = await SdkLikePeer.connect(relayUrl, reg.jwt, { localAddress, country });
    peers.push(peer);
    return { peer, deviceId: reg.deviceId as string };
  };
  const online = () => onlinePeers(service.infra.kv, Date.now());

  before(async () => {
    service = await startTestService((await databaseKinds())[0]!, systemClock, {
      ROLES: 'api,projector,worker,relay', RELAY_HOST: '127.0.0.1', RELAY_PORT: '0', PEER_JWT_SECRET: 'feeds-'.repeat(8), PEER_REGISTRATIONS_PER_MINUTE: '100',
      PEER_IP_OVERRIDES: '127.0.0.2/32=residential:DE:3320:Deutsche Telekom AG,127.0.0.3/32=mobile:US:21928:T-Mobile USA,127.0.0.4/32=residential:US,127.0.0.0/8=mobile:US',
    });
    relayUrl = `ws://127.0.0.1:${service.relay!.port}`;
    // pool stock is what the gateway routes to: modems a health report said are online
    const modems = [
      await registerDevice(service, 'US', { city: 'Los Angeles', region: 'California' }),
      await registerDevice(service, 'US', { city: 'Los Angeles', region: 'California', carrier: { name: 'Verizon Wireless', brand: 'Verizon' } }),
      await registerDevice(service, 'US'),
      await registerDevice(service, 'DE', { carrier: { name: 'Telekom.de', brand: 'Telekom' } }),
    ];
    for (const id of modems) await reportHealth(service, id);
    await connectPeer('de-home', '127.0.0.2', 'DE');
    await connectPeer('us-phone', '127.0.0.3', 'US');
    await connectPeer('us-home', '127.0.0.4', 'US');
    await until('three peers online', async () => (await online()).length === 3);
    await service.infra.projector.waitFor(await service.infra.store.headPosition());
    sdk = new ResellerClient('psx_not_needed_public_feeds', service.url);
  });
  after(async () => {
    for (const p of peers) p.close();
    await service?.stop();
  });

  it('counts the peers online per country in pools.peer and totals, and keeps the answer 30 s', async () => {
    const stock = await sdk.getStock();
    expect(stock.pools).to.deep.equal({ mbl: { us: 3, de: 1 }, peer: { de: 1, us: 2 } });
    expect(stock.totals).to.deep.equal({ mbl: 4, peer: 3, all: 7 });
    // a peer that connects now shows after the cache (30 s), not before
    const late = await connectPeer('late', '127.0.0.5', 'US');
    await until('the late peer online', async () => (await online()).some((p) => p.deviceId === late.deviceId));
    const again = await sdk.getStock();
    expect(again).to.deep.equal(stock);
    late.peer.close();
    await until('the late peer gone', async () => !(await online()).some((p) => p.deviceId === late.deviceId));
  });

  it('answers getCarrierStock without a country with the whole catalogue, per pool (peer by default)', async () => {
    const peer = await sdk.getCarrierStock();
    expect(peer.pool).to.equal('peer');
    expect(Date.parse(peer.updatedAt)).to.be.a('number').and.not.NaN;
    expect(peer.countries).to.deep.equal({
      DE: { total: 1, other: 0, carriers: [{ id: 'deutschetelekomag|residential', asn: 3320, name: 'Deutsche Telekom AG', ipType: 'residential', pool: 'peer', count: 1 }] },
      US: { total: 2, other: 1, carriers: [{ id: 'tmobileusa|mobile', asn: 21928, name: 'T-Mobile USA', ipType: 'mobile', pool: 'peer', count: 1 }] },
    });
    const mbl = await sdk.getCarrierStock({ pool: 'mbl' });
    expect(mbl.pool).to.equal('mbl');
    expect(Object.keys(mbl.countries)).to.deep.equal(['DE', 'US']);
    expect(mbl.countries.US.total).to.equal(3);
    expect(mbl.countries.US.carriers.map((c: any) => [c.name, c.count, c.ipType, c.asn])).to.deep.equal([['T-Mobile USA', 2, 'mobile', null], ['Verizon Wireless', 1, 'mobile', null]]);
    // one country, both pools merged: the modems' T-Mobile and the peer on T-Mobile's ASN are one carrier
    const us = await sdk.getCarrierStock({ country: 'us', pool: 'all' });
    expect(us).to.include({ pool: 'all', country: 'us', total: 5, other: 1 });
    expect(us.carriers.map((c: any) => [c.id, c.asn, c.pool, c.count])).to.deep.equal([['tmobileusa|mobile', 21928, 'all', 3], ['verizonwireless|mobile', null, 'mbl', 1]]);
    // the deprecated bare-string form sends no pool: the peer pool
    expect((await sdk.getCarrierStock('de')).carriers.map((c: any) => c.asn)).to.deep.equal([3320]);
    const bad = await sdk.getCarrierStock({ pool: 'best' as 'all' }).catch((e: unknown) => e);
    expect(bad).to.be.instanceOf(ApiError);
    expect((bad as ApiError).status).to.equal(400);
    expect((bad as ApiError).data.error.code).to.equal('VALIDATION_ERROR');
  });

  it('answers getCities with the cities and regions of a country', async () => {
    const mbl = await sdk.getCities('us', { pool: 'mbl' });
    expect(mbl).to.include({ country: 'US', pool: 'mbl', total: 3, withoutCity: 1 });
    expect(mbl.cities).to.deep.equal([{ city: 'losangeles', label: 'Los Angeles', count: 2 }]);
    expect(mbl.regions).to.deep.equal([{ region: 'california', count: 2 }]);
    const peer = await sdk.getCities('us'); // the SDK's default pool: peers, which have no city here
    expect(peer).to.include({ pool: 'peer', total: 2, withoutCity: 2 });
    expect(peer.cities).to.deep.equal([]);
    expect((await api(service.url, 'GET', '/v1/gateway/pool/stock/cities')).status).to.equal(400);
    expect((await api(service.url, 'GET', '/v1/gateway/pool/stock/cities?country=usa')).status).to.equal(400);
  });

  it('answers getFacets with city, state and carrier pickers that narrow each other', async () => {
    const all = await sdk.getFacets({ country: 'us', pool: 'all' });
    expect(all).to.include({ country: 'US', pool: 'all', total: 5, other: 1, withoutCity: 1, cityIneligible: 2 });
    expect(all.ipTypes).to.deep.equal({ mobile: 4, residential: 1, datacenter: 0, unclassified: 0 });
    expect(all.cities).to.deep.equal([{ city: 'losangeles', label: 'Los Angeles', count: 2 }]);
    expect(all.states).to.deep.equal([{ state: 'california', count: 2 }]);
    expect(all.carriers.map((c: any) => [c.id, c.count])).to.deep.equal([['tmobileusa|mobile', 3], ['verizonwireless|mobile', 1]]);
    // a carrier narrows the cities and states, not the carrier list itself
    const verizon = await sdk.getFacets({ country: 'us', pool: 'all', carrier: 'verizonwireless|mobile' });
    expect(verizon).to.include({ total: 1, withoutCity: 0, cityIneligible: 0 });
    expect(verizon.cities).to.deep.equal([{ city: 'losangeles', label: 'Los Angeles', count: 1 }]);
    expect(verizon.carriers.map((c: any) => c.id)).to.deep.equal(['tmobileusa|mobile', 'verizonwireless|mobile']);
    // a state narrows the carriers to those with stock there
    const ca = await sdk.getFacets({ country: 'us', pool: 'all', state: 'california' });
    expect(ca).to.include({ total: 2 });
    expect(ca.carriers.map((c: any) => [c.id, c.pool, c.count])).to.deep.equal([['tmobileusa|mobile', 'mbl', 1], ['verizonwireless|mobile', 'mbl', 1]]);
    // an ASN selects the peer on it (peers carry no city: no cities, city-ineligible)
    const asn = await sdk.getFacets({ country: 'us', carrier: '21928' });
    expect(asn).to.include({ pool: 'peer', total: 1, cityIneligible: 1 });
    expect(asn.cities).to.deep.equal([]);
    const city = await sdk.getFacets({ country: 'us', pool: 'mbl', city: 'losangeles' });
    expect(city.carriers.map((c: any) => [c.name, c.count])).to.deep.equal([['T-Mobile USA', 1], ['Verizon Wireless', 1]]);
    expect((await api(service.url, 'GET', '/v1/gateway/pool/stock/facets?country=us&pool=any')).status).to.equal(400);
  });
});
