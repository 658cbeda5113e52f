import { expect } from 'chai';
import { startBaseMainnetDevnet, type BaseMainnetDevnet } from '../../adapters/chains/evm/base-mainnet.ts';
import { fixedClock } from '../../src/clock.ts';
import { findRouteDoc } from '../../src/http/openapi/registry.ts';
import { agentClient } from '../support/agent-client.ts';
import { api, startTestService } from '../support/service.ts';
import { databaseKinds } from '../support/services.ts';
import { admin, decodeHeader, registerDevice } from '../support/x402.ts';

/** The body matches what /docs/api-json says this route answers with this status. */
function expectDocumented(method: string, path: string, status: number, body: unknown) {
  const doc = findRouteDoc(method, path);
  expect(doc, `${method} ${path} is documented`).to.not.equal(undefined);
  const schema = doc!.responses[status]?.schema;
  expect(schema, `${method} ${path} documents ${status}`).to.not.equal(undefined);
  const parsed = schema!.safeParse(body);
  expect(parsed.success, `${method} ${path} ${status}: ${parsed.success ? '' : parsed.error.message}`).to.equal(true);
}

describe('the x402 wire of existing agent clients, on a Base-mainnet devnet (chain 8453, canonical USDC)', function () {
  this.timeout(120_000);
  let chain: BaseMainnetDevnet;
  let service: Awaited<ReturnType<typeof startTestService>>;
  let client: ReturnType<typeof agentClient>;
  const clock = fixedClock(new Date());
  let bought: Awaited<ReturnType<ReturnType<typeof agentClient>['purchaseProxy']>>;

  before(async () => {
    chain = await startBaseMainnetDevnet({ agentFundsMicro: 100_000_000n });
    service = await startTestService((await databaseKinds())[0]!, clock, chain.env);
    await registerDevice(service, 'US', { city: 'New York', region: 'NY', slots: 2 });
    await registerDevice(service, 'US', { city: 'Los Angeles', slots: 2 });
    client = agentClient(service.url, chain.agent.privateKey, chain.anvil.rpcUrl);
  });
  after(async () => { await service?.stop(); await chain?.anvil.stop(); });

  it('lists countries, cities and carriers at /v1 and reports the x402 service ok', async () => {
    const countries = await client.countries();
    expect(countries).to.have.length(1);
    // seed 002's country object (_id, iso3, phoneCode) plus what the x402 clients read
    expect(countries[0]).to.deep.include({ code: 'US', name: 'United States', availableDevices: 2, isActive: true, iso3: 'USA', phoneCode: '+1' });
    expect(countries[0]._id).to.match(/^[0-9a-f]{24}$/);
    expectDocumented('GET', '/v1/countries', 200, countries);
    const cities = await client.cities('us');
    expect(cities.map((c) => c.name)).to.deep.equal(['Los Angeles', 'New York']);
    expect(cities[1]).to.include({ code: 'newyork', region: 'NY', country: 'US', freeDeviceCount: 1 });
    const carriers = await client.carriers('US');
    expect(carriers[0]).to.include({ name: 'T-Mobile USA', code: 'tmobile', freeDeviceCount: 2 });
    expect((await api(service.url, 'GET', '/v1/cities?country=ZZ')).body.error.code).to.equal('INVALID_COUNTRY');
    expect((await api(service.url, 'GET', '/v1/carriers')).status).to.equal(400);
    expect(await client.health()).to.include({ status: 'ok', enabled: true });
  });

  it('answers 402 with the v1 paymentRequirement block, a paymentId and the bazaar extension, also under /x402', async () => {
    const res = await api(service.url, 'GET', '/x402/proxy?country=US&duration=3600&traffic=1');
    expect(res.status).to.equal(402);
    expectDocumented('GET', '/x402/proxy', 402, res.body);
    const [v1] = res.body.paymentRequirement.accepts;
    expect(res.body.paymentRequirement.x402Version).to.equal(1);
    expect(v1).to.include({ scheme: 'exact', network: 'base', chainId: '8453', maxAmountRequired: '4000000', payTo: chain.recipient, asset: chain.usdc, mimeType: 'application/json' });
    expect(v1.resource).to.equal(`${service.url}/x402/proxy?country=US&duration=3600&traffic=1`);
    expect(v1.outputSchema.input).to.include({ type: 'http', method: 'GET', discoverable: true });
    expect(res.body.payment.paymentId).to.match(/^pay_[0-9a-f]{24}$/);
    const again = await api(service.url, 'GET', '/x402/proxy?country=US&duration=3600&traffic=1');
    expect(again.body.payment.paymentId).to.equal(res.body.payment.paymentId);
    const bazaar = res.body.extensions.bazaar;
    expect(bazaar.info.input).to.deep.equal({ type: 'http', method: 'GET', queryParams: { country: 'US', duration: '3600', traffic: '1' } });
    expect(bazaar.schema.properties.input.properties.queryParams.properties).to.have.keys(['country', 'traffic', 'duration', 'carrier', 'tier']);
    expect(bazaar.info.output.example.session).to.be.an('object');
    expect(decodeHeader(res.headers.get('payment-required')).extensions.bazaar).to.deep.equal(bazaar);
  });

  it('sells a proxy for a plain USDC transfer proven by X-Payment {transactionHash, network, payer}', async () => {
    const before = await client.balance();
    bought = await client.purchaseProxy({ country: 'US', durationHours: 1, trafficGB: 1 });
    expect(before - (await client.balance())).to.equal(4_000_000n);
    const b = bought.body;
    expectDocumented('GET', '/x402/proxy', 200, b);
    expect(b.success).to.equal(true);
    expect(b.credentials).to.deep.equal({ host: b.host, httpPort: b.httpPort, socksPort: b.socksPort, username: b.username, password: b.password, expiresAt: b.expiresAt });
    expect(b.session).to.deep.include({ id: b.sessionId, status: 'active', expiresAt: b.expiresAt, rotationUrl: b.rotationUrl, rotationToken: b.rotationToken });
    expect(b.session.proxy).to.deep.equal({ host: b.host, httpPort: b.httpPort, socksPort: b.socksPort, username: b.username, password: b.password });
    expect(b.session.location).to.deep.equal({ country: 'United States', countryCode: 'US' });
    expect(b.session.traffic).to.deep.equal({ allowedGB: 1, usedBytes: 0, usedGB: 0, remainingBytes: 1e9, remainingGB: 1, percentUsed: 0 });
    expect(b.session.payment).to.include({ network: 'base', transactionHash: bought.tx, amountUSDC: '4.00' });
    expect(b.payment).to.include({ network: 'base', transactionHash: bought.tx, amountPaid: '4.00', currency: 'USDC', payer: client.address });
    expect(b.durationSeconds).to.equal(3600);

    const replay = await fetch(bought.url, { headers: { 'X-Payment': JSON.stringify({ transactionHash: bought.tx, network: 'base', payer: client.address }) } });
    expect(replay.status).to.equal(409);
    const wrongNetwork = await api(service.url, 'GET', '/x402/proxy?country=US&traffic=1', undefined, { 'x-payment': JSON.stringify({ transactionHash: bought.tx, network: 'solana' }) });
    expect(wrongNetwork.body.error.code).to.equal('PAYMENT_MALFORMED');
  });

  it('shows the session by id and by wallet in the same shape, without secrets', async () => {
    const status = await client.sessionStatus(bought.body.sessionId);
    expectDocumented('GET', '/x402/sessions/:id/status', 200, status);
    const { proxy: _p, rotationUrl: _u, rotationToken: _t, ...publicPart } = bought.body.session;
    expect(status).to.deep.equal({ ...publicPart, payment: { ...publicPart.payment, paidAt: status.payment.paidAt } });
    expect(JSON.stringify(status)).to.not.contain(bought.body.password);
    expect((await api(service.url, 'GET', `/v1/x402/sessions/${bought.body.sessionId}/status`)).body).to.deep.equal(status);
    expect((await api(service.url, 'GET', '/x402/sessions/019ad6b2-6c1e-7a3b-9f10-2b8c4d5e6f70/status')).status).to.equal(404);
    const active = await client.listSessions('active');
    expect(active.map((s: any) => s.sessionId)).to.deep.equal([bought.body.sessionId]);
    expect(await client.listSessions('expired')).to.deep.equal([]);
  });

  it('rotates with the rotation link and extends by hours (402, then paid)', async () => {
    clock.advance(5 * 60_000); // shared ports rotate at most every 5 minutes
    const rotated = await client.rotate(bought.body.session.rotationUrl);
    expect(rotated).to.include({ success: true, portId: bought.body.portId });
    const { body, amountMicro } = await client.extendSession(bought.body.sessionId, 2);
    expect(amountMicro).to.equal('400000'); // the minimum 0.1 GB; the hours are free
    expectDocumented('POST', '/x402/sessions/:id/extend', 200, body);
    expect(new Date(body.expiresAt).getTime() - new Date(bought.body.expiresAt).getTime()).to.equal(2 * 3600_000); // not yet expired: added to the end
    expect(body.traffic.allowedGB).to.equal(1.1);
    expect(body).to.include({ success: true, addedHours: 2, addedTrafficGB: '0.1' });
    const detail = await api(service.url, 'GET', '/v1/x402/manage/session', undefined, { 'x-session-token': bought.body.sessionToken });
    expect(detail.body.expiresAt).to.equal(body.expiresAt);
    expect((await api(service.url, 'POST', `/x402/sessions/${bought.body.sessionId}/extend?hours=0`)).body.error.code).to.equal('VALIDATION_ERROR');
  });

  it('serves the whole x402 surface under /x402 as well', async () => {
    expect((await api(service.url, 'GET', '/x402/pricing')).body).to.deep.equal((await api(service.url, 'GET', '/v1/x402/pricing')).body);
    const session = await api(service.url, 'GET', '/x402/manage/session', undefined, { 'x-session-token': bought.body.sessionToken });
    expect(session.body.sessionId).to.equal(bought.body.sessionId);
    expect((await api(service.url, 'POST', '/v1/admin/devices', {}, admin)).status).to.equal(400);
  });
});
