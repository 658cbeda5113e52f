import { expect } from 'chai';
import { api } from '../support/service.ts';
import { admin, decodeHeader, registerDevice, startPaidService } from '../support/x402.ts';

describe('x402 purchase of a dedicated proxy (real local chains)', function () {
  this.timeout(120_000);
  let world: Awaited<ReturnType<typeof startPaidService>>;
  let url: string;
  const buy = (query: string, proof?: string) => api(url, 'GET', `/v1/x402/proxy?${query}`, undefined, proof ? { 'payment-signature': proof } : {});
  const available = async (code: string) => (await api(url, 'GET', '/v1/x402/countries')).body.find((c: any) => c.code === code)?.availableDevices ?? 0;

  before(async () => {
    world = await startPaidService();
    url = world.service.url;
    for (let i = 0; i < 4; i++) await registerDevice(world.service, 'US', { slots: 2 });
    await registerDevice(world.service, 'DE', { carrier: { name: 'Vodafone D2 GmbH', brand: 'Vodafone' } });
  });
  after(async () => world?.stop());

  it('answers 402 with the price, recipients and x402 v2 requirements (body and PAYMENT-REQUIRED)', async () => {
    const res = await buy('country=US&traffic=0.5&duration=7200');
    expect(res.status).to.equal(402);
    expect(res.body).to.include({ status: 402, message: 'Payment Required', price: '2.00', priceMicro: '2000000', currency: 'USDC', x402Version: 2 });
    expect(res.body.networks).to.deep.equal(['base', 'solana']);
    expect(res.body.recipient).to.deep.equal({ base: world.chains.base.recipient, solana: world.chains.solana.recipient });
    expect(res.body.order).to.deep.equal({ country: 'US', carrier: null, tier: 'shared', trafficGB: '0.5', durationSeconds: 7200 });
    const header = decodeHeader(res.headers.get('payment-required'));
    expect(header.x402Version).to.equal(2);
    expect(header.accepts).to.deep.equal(res.body.accepts);
    const base = header.accepts.find((a: any) => a.network === world.chains.base.caip2);
    expect(base).to.include({ scheme: 'exact', amount: '2000000', asset: world.chains.base.usdc, payTo: world.chains.base.recipient });
    expect(base.maxTimeoutSeconds).to.be.a('number');
    expect(header.accepts.find((a: any) => a.network === world.chains.solana.caip2)).to.include({ amount: '2000000', asset: world.chains.solana.usdcMint });
  });

  it('publishes pricing, a cost calculator, health, info, status and the x402 discovery document', async () => {
    const pricing = (await api(url, 'GET', '/v1/x402/pricing')).body;
    expect(pricing).to.deep.include({ shared: { perGB: 4, perHour: 0, perGBMicro: '4000000' }, private: { perGB: 8, perHour: 0, perGBMicro: '8000000' }, currency: 'USDC', durationFree: true });
    expect(pricing.networks).to.deep.equal(['base', 'solana']);
    const calc = await api(url, 'GET', '/v1/x402/calculate?tier=private&duration=7200&traffic=2.5');
    expect(calc.body).to.deep.include({ cost: '20.00', costMicro: '20000000', currency: 'USDC' });
    expect(calc.body.breakdown.duration).to.deep.equal({ seconds: 7200, cost: '0.00' });
    expect((await api(url, 'GET', '/v1/x402/calculate?traffic=0.01')).body.error.code).to.equal('TRAFFIC_TOO_LOW');
    expect((await api(url, 'GET', '/v1/x402/health')).body).to.deep.equal({ status: 'ok', enabled: true, version: '0.1.0' });
    const info = (await api(url, 'GET', '/v1/x402/info')).body;
    expect(info.limits).to.deep.include({ minDuration: 3600, maxDuration: 2_592_000, minTrafficGB: 0.1 });
    expect(info.wallets.base).to.deep.equal({ recipient: world.chains.base.recipient, asset: world.chains.base.usdc, network: world.chains.base.caip2 });
    expect(info.countries.map((c: any) => c.code)).to.include.members(['US', 'DE']);
    const status = (await api(url, 'GET', '/v1/x402/status')).body;
    expect(status).to.include({ status: 'operational' });
    expect(status.devices.total).to.be.greaterThan(0);
    const wellKnown = (await api(url, 'GET', '/.well-known/x402.json')).body;
    expect(wellKnown).to.deep.equal((await api(url, 'GET', '/v1/x402/.well-known')).body);
    expect(wellKnown.x402Version).to.equal(2);
    expect(wellKnown.resources[0]).to.include({ resource: '/v1/x402/proxy' });
    expect(wellKnown.resources[0].networks).to.deep.equal([world.chains.base.caip2, world.chains.solana.caip2]);
  });

  it('says there is no stock before anyone pays, and suggests where there is', async () => {
    const res = await buy('country=FR&traffic=1');
    expect(res.status).to.equal(503);
    expect(res.body.error.code).to.equal('NO_STOCK');
    expect(res.body.error.details.alternatives).to.include.members(['US', 'DE']);
    expect(res.body.error.details).to.include({ reason: 'no_devices', devices: 0 });
    // a carrier the country does not have is not a stock problem: 404 with the carriers that exist
    const carrier = await buy('country=DE&traffic=1&carrier=O2');
    expect(carrier.status).to.equal(404);
    expect(carrier.body.error.code).to.equal('UNKNOWN_CARRIER');
    expect(carrier.body.error.details.carriers).to.deep.equal([{ name: 'Vodafone D2 GmbH', brand: 'Vodafone', freeDeviceCount: 1 }]);
    expect((await buy('country=DE&traffic=1&carrier=vodafone')).status).to.equal(402); // name or brand, any case
  });

  it('refuses bad orders with clear errors', async () => {
    expect((await buy('traffic=1')).body.error.code).to.equal('VALIDATION_ERROR');
    expect((await buy('country=XX')).body.error.code).to.equal('INVALID_COUNTRY');
    expect((await buy('country=US&traffic=0.05')).body.error.code).to.equal('TRAFFIC_TOO_LOW');
    expect((await buy('country=US&traffic=1&duration=60')).body.error.code).to.equal('INVALID_DURATION');
    expect((await buy('country=US&traffic=abc')).body.error.code).to.equal('INVALID_TRAFFIC');
    expect((await buy('country=US&traffic=1', 'not-a-proof')).body.error.code).to.equal('PAYMENT_MALFORMED');
  });

  it('sells a port for a Base USDC transfer (tx hash) and shows it in the session', async () => {
    const tx = await world.chains.base.payUsdc(1_000_000n);
    const res = await buy('country=US&traffic=0.25', tx);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.sessionToken).to.match(/^x402s_[a-z0-9]{40}$/);
    expect(res.body).to.include({ host: '127.0.0.1', httpPort: 7000, socksPort: 7001, country: 'US', tier: 'shared', trafficGB: '0.25' });
    expect(res.body.username).to.match(/^x402_/);
    expect(res.body.password).to.have.length(24);
    expect(res.body.rotationToken).to.have.length(32);
    expect(res.body.rotationUrl).to.equal(`${url}/rotate/${res.body.rotationToken}`);
    expect(res.body.payment).to.include({ network: 'base', proof: 'tx_hash', transaction: tx, amount: '1.00' });
    expect(decodeHeader(res.headers.get('payment-response'))).to.include({ success: true, transaction: tx, network: world.chains.base.caip2 });

    const session = await api(url, 'GET', '/v1/x402/manage/session', undefined, { 'x-session-token': res.body.sessionToken });
    expect(session.status).to.equal(200);
    expect(session.body).to.include({ sessionId: res.body.sessionId, status: 'active', tier: 'shared', country: 'US' });
    expect(session.body.traffic).to.include({ totalGB: '0.25', usedGB: '0', remainingGB: '0.25' });
    expect(session.body.ports).to.have.length(1);
    expect(session.body.ports[0]).to.include({ portId: res.body.portId, status: 'active', online: true, username: res.body.username });
    expect(JSON.stringify(session.body)).to.not.contain(res.body.password);

    const again = await buy('country=US&traffic=0.25', tx);
    expect(again.status).to.equal(409);
    expect(again.body.error.code).to.equal('PAYMENT_ALREADY_USED');
    expect(again.body.error.details.sessionId).to.equal(res.body.sessionId);
  });

  it('sells a port for a Solana USDC transfer (signature)', async () => {
    const sig = await world.chains.solana.payUsdc(400_000n);
    const res = await buy('country=DE&traffic=0.1', sig);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.payment).to.include({ network: 'solana', transaction: sig, amount: '0.40' });
    expect(res.body.country).to.equal('DE');
    expect(await available('DE')).to.equal(0);
  });

  it('lets exactly one of 100 concurrent requests with the same proof buy; the others get 409', async () => {
    const tx = await world.chains.base.payUsdc(400_000n);
    const results = await Promise.all(Array.from({ length: 100 }, () => buy('country=US&traffic=0.1', tx)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200), JSON.stringify(results.find((r) => r.status !== 200 && r.status !== 409)?.body)).to.have.length(1);
    expect(statuses.filter((s) => s === 409)).to.have.length(99);
    for (const r of results.filter((x) => x.status === 409)) expect(r.body.error.code).to.equal('PAYMENT_ALREADY_USED');
    const sessions = await api(url, 'GET', `/v1/x402/sessions/wallet/${world.chains.base.buyer.address}`);
    expect(sessions.body.sessions.filter((s: any) => s.payment.transaction === tx)).to.have.length(1);
  });

  it('refuses proofs that do not pay, with distinct errors and nothing recorded', async () => {
    const b = world.chains.base;
    // one at a time: the buyer's transactions share a nonce sequence
    const cases: Array<[string, () => Promise<string>, string]> = [
      ['underpaid', () => b.payUsdc(300_000n), 'PAYMENT_UNDERPAID'],
      ['wrong recipient', () => b.payUsdc(400_000n, b.stranger), 'PAYMENT_WRONG_RECIPIENT'],
      ['wrong token', () => b.payToken(400_000n), 'PAYMENT_WRONG_TOKEN'],
      ['failed tx', () => b.revertingTx(), 'PAYMENT_TX_FAILED'],
      ['unknown tx', async () => `0x${'ab'.repeat(32)}`, 'PAYMENT_NOT_FOUND'],
      ['solana underpaid', () => world.chains.solana.payUsdc(100_000n), 'PAYMENT_UNDERPAID'],
      ['solana wrong token', () => world.chains.solana.payToken(400_000n), 'PAYMENT_WRONG_TOKEN'],
    ];
    for (const [name, proof, code] of cases) {
      const p = await proof();
      const res = await buy('country=US&traffic=0.1', p);
      expect(res.body.error?.code, name).to.equal(code);
      expect([400, 402]).to.include(res.status);
      expect((await api(url, 'GET', `/v1/x402/session/tx/${p}`)).status, name).to.equal(404);
    }
  });

  it('accepts a payment within the 2% tolerance, by POST with a v1 X-PAYMENT header', async () => {
    const tx = await world.chains.base.payUsdc(392_000n); // 0.40 - 2%
    const res = await api(url, 'POST', '/v1/x402/proxy', { country: 'us', traffic: '0.1' }, { 'x-payment': tx });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body).to.include({ country: 'US', trafficGB: '0.1' });
    expect(res.body.payment.amountMicro).to.equal('392000');
  });

  it('finds sessions publicly by id, transaction and wallet without showing secrets', async () => {
    const tx = await world.chains.base.payUsdc(400_000n);
    const bought = (await buy('country=US&traffic=0.1', tx)).body;
    for (const path of [`/v1/x402/session/${bought.sessionId}`, `/v1/x402/session/tx/${tx}`]) {
      const res = await api(url, 'GET', path);
      expect(res.status, path).to.equal(200);
      expect(res.body).to.include({ sessionId: bought.sessionId, status: 'active' });
      const text = JSON.stringify(res.body);
      for (const secret of [bought.sessionToken, bought.password, bought.username, bought.rotationToken]) expect(text).to.not.contain(secret);
    }
    const byWallet = await api(url, 'GET', `/v1/x402/sessions/wallet/${world.chains.base.buyer.address.toLowerCase()}`);
    expect(byWallet.body.sessions.map((s: any) => s.sessionId)).to.include(bought.sessionId);
    expect((await api(url, 'GET', '/v1/x402/session/not-a-uuid')).status).to.equal(400);
    expect((await api(url, 'GET', '/v1/x402/session/0195d5a0-0000-7000-8000-000000000000')).status).to.equal(404);
  });

  it('keeps a settled payment when no device is free after paying: the session stands and a port can be recreated', async () => {
    const { infra } = world.service;
    const deId = (await api(url, 'GET', '/v1/x402/carriers?country=DE')).body.length;
    expect(deId).to.equal(1);
    // a second DE device whose only slot the device stream gives away while the read model still shows it free
    const spare = await registerDevice(world.service, 'DE', { carrier: { name: 'O2', brand: 'O2' } });
    await infra.projector.stop();
    const { handleCommand } = await import('../../src/commands/handle.ts');
    const { fleetDecider } = await import('../../domain/fleet/decide.ts');
    await handleCommand(infra, fleetDecider, `device-${spare}`, { type: 'AllocateSlot', data: { deviceId: spare, portId: 'taken-elsewhere', sessionId: 'other', tier: 'shared' } }, { actor: 'test', correlationId: 'test' });
    const sig = await world.chains.solana.payUsdc(400_000n);
    const restart = setTimeout(() => void infra.projector.start(), 300);
    const res = await buy('country=DE&traffic=0.1', sig);
    clearTimeout(restart);
    await infra.projector.start().catch(() => {});
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body).to.include({ portId: null, portAllocationFailed: true });
    const token = { 'x-session-token': res.body.sessionToken };
    const session = await api(url, 'GET', '/v1/x402/manage/session', undefined, token);
    expect(session.body).to.include({ portAllocationFailed: true });
    expect(session.body.ports).to.deep.equal([]);
    const byWallet = async () => (await api(url, 'GET', `/v1/x402/sessions/wallet/${session.body.walletAddress}?status=all`)).body.sessions.find((s: any) => s.sessionId === res.body.sessionId);
    expect(await byWallet()).to.include({ portCount: 0 });

    const recreated = await api(url, 'POST', '/v1/x402/manage/ports/recreate', { country: 'US' }, token);
    expect(recreated.status, JSON.stringify(recreated.body)).to.equal(200);
    expect(recreated.body.port).to.include({ host: '127.0.0.1' });
    const after = await api(url, 'GET', '/v1/x402/manage/ports', undefined, token);
    expect(after.body.ports).to.have.length(1);
    expect(after.body.ports[0]).to.include({ country: 'US', status: 'active' });
    expect(await byWallet()).to.include({ portCount: 1 });
    // a port placed after a failed allocation clears the flag (the read model's session row changes then only)
    expect((await api(url, 'GET', '/v1/x402/manage/session', undefined, token)).body).to.include({ portAllocationFailed: false });
    const twice = await api(url, 'POST', '/v1/x402/manage/ports/recreate', {}, token);
    expect(twice.body.error.code).to.equal('PORT_EXISTS');
    void admin;
  });
});
