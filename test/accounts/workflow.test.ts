import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { request } from 'undici';
import { AccountWorker } from '../../src/accounts/worker.ts';
import { accountStreamId } from '../../domain/accounts/events.ts';
import { fold } from '../../domain/shared/decider.ts';
import { accountDecider } from '../../domain/accounts/decide.ts';
import { balanceMicro } from '../../domain/accounts/state.ts';
import { api } from '../support/service.ts';
import { admin, registerDevice, startPaidService } from '../support/x402.ts';
import { curl, deadPort, startHttpModem, waitFor, type Modem } from '../gateway/listeners/helpers.ts';

/** A local origin: /ip echoes the caller, /speed serves or swallows bytes, /reset counts airplane-mode resets. */
async function startEchoOrigin() {
  let resets = 0;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/ip') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ip: req.socket.remoteAddress?.replace('::ffff:', '') }));
    if (url.pathname === '/reset') { resets++; return void res.writeHead(200).end('ok'); }
    if (url.pathname === '/speed' && req.method === 'POST') { req.resume(); req.on('end', () => res.writeHead(200).end('ok')); return; }
    if (url.pathname === '/speed') {
      const n = Number(url.searchParams.get('bytes') ?? '1000');
      res.writeHead(200, { 'content-length': String(n) });
      return void res.end(Buffer.alloc(n, 0x62));
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end('hello from the origin');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, resets: () => resets, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('account API: the seed\'s Complete Workflow Example end to end (real chains, gateway, curl)', function () {
  this.timeout(180_000);
  let world: Awaited<ReturnType<typeof startPaidService>>;
  let origin: Awaited<ReturnType<typeof startEchoOrigin>>;
  let modemA: Modem, modemB: Modem, modemP: Modem;
  let gwHttp: number;
  let url: string;
  let key: Record<string, string>;
  let accountId: string;
  const devices: Record<string, string> = {};

  before(async () => {
    [origin, modemA, modemB, modemP] = await Promise.all([startEchoOrigin(), startHttpModem(), startHttpModem(), startHttpModem()]);
    const ports = await Promise.all([deadPort(), deadPort(), deadPort()]);
    gwHttp = ports[0]!;
    world = await startPaidService({
      ROLES: 'api,projector,worker,gateway', GATEWAY_HOST: '127.0.0.1', GATEWAY_HTTP_PORT: String(ports[0]), GATEWAY_SOCKS_PORT: String(ports[1]), GATEWAY_HEALTH_PORT: String(ports[2]),
      GATEWAY_ALLOWED_PRIVATE_CIDRS: '127.0.0.0/8,::1/128', GATEWAY_METER_FLUSH_MS: '60000', WORKER_INTERVAL_MS: '3600000',
      PORT_CHECK_IP_URL: `http://127.0.0.1:${origin.port}/ip`, PORT_SPEEDTEST_URL: `http://127.0.0.1:${origin.port}/speed`, PORT_SPEEDTEST_MAX_BYTES: '200000',
    });
    url = world.service.url;
    const vodafone = { carrier: { name: 'Vodafone D2 GmbH', brand: 'Vodafone' }, city: 'Berlin' };
    devices.a = await registerDevice(world.service, 'DE', { upstream: modemA.url, slots: 4, tiers: ['shared'], ...vodafone });
    devices.b = await registerDevice(world.service, 'DE', { upstream: modemB.url, slots: 4, tiers: ['shared'], ...vodafone });
    devices.p = await registerDevice(world.service, 'DE', { upstream: modemP.url, slots: 1, tiers: ['private'], resetUrl: `http://127.0.0.1:${origin.port}/reset`, ...vodafone });
    for (const id of Object.values(devices)) await api(url, 'POST', `/v1/admin/devices/${id}/health`, { online: true, latencyMs: 40, ip: `100.64.0.${Object.values(devices).indexOf(id) + 1}` }, admin);
  });
  after(async () => {
    await world?.stop();
    await Promise.all([origin?.close(), modemA?.close(), modemB?.close(), modemP?.close()]);
  });

  it('register → deposit USDC → buy slot and traffic → steps 1-11 → curl through the port → rotate → history and usage', async () => {
    const reg = await api(url, 'POST', '/v1/auth/register', { email: 'flow@example.com', password: 'a long password' });
    expect(reg.status).to.equal(201);
    key = { 'x-api-key': reg.body.apiKey.key };
    accountId = reg.body.user._id;

    // deposit: 402 with the x402 catalog, then the tx hash; the same proof twice credits once
    const quote = await api(url, 'POST', '/v1/account/deposit?amount=20', undefined, key);
    expect(quote.status).to.equal(402);
    expect(quote.body.priceMicro).to.equal('20000000');
    const tx = await world.chains.base.payUsdc(20_000_000n);
    const paid = await api(url, 'POST', '/v1/account/deposit?amount=20', undefined, { ...key, 'payment-signature': tx });
    expect(paid.status, JSON.stringify(paid.body)).to.equal(200);
    expect(paid.body.wallet).to.include({ availableBalance: 20, availableBalanceMicro: '20000000' });
    expect((await api(url, 'POST', '/v1/account/deposit?amount=20', undefined, { ...key, 'payment-signature': tx })).body.error.code).to.equal('PAYMENT_ALREADY_USED');

    // not enough for a private slot after these: 402 with the shortfall
    expect((await api(url, 'POST', '/v1/billing/purchase-ports', { quantity: 1 }, key)).status).to.equal(201);
    const traffic = await api(url, 'POST', '/v1/billing/purchase-traffic', { quantityGB: 1 }, key);
    expect(traffic.status).to.equal(201);
    expect(traffic.body).to.include({ price: 4, discountPercent: 0 });
    const short = await api(url, 'POST', '/v1/billing/purchase-ports-private', { quantity: 1 }, key);
    expect(short.status).to.equal(402);
    expect(short.body.error.details).to.include({ shortfallMicro: '19000000' });

    // 1. account summary
    const summary = await api(url, 'GET', '/v1/account/summary', undefined, key);
    expect(summary.body).to.deep.include({ balance: 6, currency: 'USD' });
    expect(summary.body.shared.slots).to.deep.equal({ total: 1, used: 0, available: 1 });
    expect(summary.body.shared.trafficGB).to.deep.equal({ total: 1, used: 0, available: 1 });
    // 2. countries with devices
    const countries = await api(url, 'GET', '/v1/countries/with-devices', undefined, key);
    const de = countries.body.find((c: any) => c.code === 'DE');
    expect(de).to.include({ name: 'Germany', iso3: 'DEU', phoneCode: '+49', freeDeviceCount: 2 });
    expect((await api(url, 'GET', '/v1/countries/with-devices?isPrivate=true', undefined, key)).body[0].freeDeviceCount).to.equal(1);
    // 3. carriers of Germany (by _id; the ISO code works too)
    const carriers = await api(url, 'GET', `/v1/carriers/country/${de._id}?withDevice=true`, undefined, key);
    expect(carriers.body).to.have.length(1);
    expect(carriers.body[0]).to.include({ name: 'Vodafone D2 GmbH', brand: 'Vodafone' });
    expect((await api(url, 'GET', '/v1/carriers/country/DE?withDevice=true', undefined, key)).body[0]._id).to.equal(carriers.body[0]._id);
    // 4. a 24-hour port
    const created = await api(url, 'POST', '/v1/ports', { countryId: de._id, expiresAt: 86400 }, key);
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const port = created.body;
    expect(port).to.include({ slotType: 'shared', exclusive: false, serverIp: '127.0.0.1', httpPort: gwHttp, status: 'active' });
    expect(port.proxyPassword).to.be.a('string');
    expect(port.rotationLink).to.match(new RegExp(`/rotate/${port.rotationToken}$`));
    // 5. list
    const listed = await api(url, 'GET', '/v1/ports', undefined, key);
    expect(listed.body.data.map((p: any) => p.id)).to.deep.equal([port.id]);
    expect(listed.body.data[0].proxyPassword).to.equal(port.proxyPassword); // still shown right after create
    expect(listed.body.data[0].device.country).to.deep.equal({ name: 'Germany', code: 'DE' });
    expect((await api(url, 'POST', '/v1/ports', { countryId: 'DE', expiresAt: 86400 }, key)).body.error.code).to.equal('NO_AVAILABLE_SLOTS');

    // the port works through the gateway with curl, and its traffic is the account's
    const viaPort = await curl(['-x', `http://${port.proxyLogin}:${port.proxyPassword}@127.0.0.1:${gwHttp}`, `http://127.0.0.1:${origin.port}/speed?bytes=300000`]);
    expect(viaPort.status, viaPort.stderr).to.equal(200);
    expect(viaPort.body.length).to.equal(300_000);
    const wrong = await curl(['-x', `http://${port.proxyLogin}:nope@127.0.0.1:${gwHttp}`, `http://127.0.0.1:${origin.port}/`]);
    expect(wrong.status).to.equal(407);
    // status, ping, ip, speed-test measured through the port's modem
    expect((await api(url, 'GET', `/v1/ports/${port.id}/status`, undefined, key)).body).to.include({ status: 'online', isActive: true });
    const ping = await api(url, 'GET', `/v1/ports/${port.id}/ping`, undefined, key);
    expect(ping.body).to.include({ success: true, ip: '127.0.0.1' });
    expect(ping.body.responseTime).to.be.a('number');
    expect((await api(url, 'GET', `/v1/ports/${port.id}/ip`, undefined, key)).body).to.deep.equal({ publicIp: '127.0.0.1', serverIp: '127.0.0.1' });
    const tunnelsBefore = modemA.tunnels + modemB.tunnels;
    const speed = await api(url, 'GET', `/v1/ports/${port.id}/speed-test`, undefined, key);
    expect(speed.body).to.include({ success: true, downloadBytes: 200_000, uploadBytes: 200_000 });
    expect(speed.body.downloadMbps).to.be.greaterThan(0);
    expect(modemA.tunnels + modemB.tunnels).to.equal(tunnelsBefore + 2); // both legs went through the modem

    // 6. rotate: the shared port switches device; a second rotation within 5 minutes is refused
    const firstDevice = port.device._id;
    const rotated = await api(url, 'POST', `/v1/ports/${port.id}/rotate`, undefined, key);
    expect(rotated.status, JSON.stringify(rotated.body)).to.equal(200);
    expect(rotated.body).to.include({ success: true, portId: port.id, oldDeviceId: firstDevice, rotationCount: 1, message: 'Port rotated successfully' });
    expect(rotated.body.newDeviceId).to.not.equal(firstDevice);
    const cooldown = await api(url, 'POST', `/v1/ports/${port.id}/rotate`, undefined, key);
    expect(cooldown.status).to.equal(429);
    expect((await api(url, 'GET', `/v1/ports/${port.id}/can-rotate`, undefined, key)).body).to.include({ canRotate: false, cooldownRemaining: 300 });
    // the rotation link (no auth) after the cooldown: trigger api_token
    world.clock.advance(301_000);
    const byToken = await api(url, 'GET', `/rotate/${port.rotationToken}`);
    expect(byToken.status, JSON.stringify(byToken.body)).to.equal(200);
    expect(byToken.body.newDeviceId).to.equal(firstDevice);
    // 7. auto-rotation every 30 min; the worker rotates when the interval has passed (injected clock)
    const settings = await api(url, 'PATCH', `/v1/ports/${port.id}/rotation-settings`, { enabled: true, intervalSeconds: 1800 }, key);
    expect(settings.body).to.include({ enabled: true, intervalSeconds: 1800, intervalMinutes: 30, rotationCount: 2 });
    expect((await api(url, 'PUT', `/v1/ports/${port.id}/rotation-settings`, { intervalSeconds: 60 }, key)).body.error.code).to.equal('INVALID_INTERVAL');
    const worker = new AccountWorker(world.service.infra);
    expect((await worker.tick()).rotated).to.equal(0);
    world.clock.advance(1801_000);
    expect((await worker.tick()).rotated).to.equal(1);
    // 8. history, newest first, with trigger types
    const history = await api(url, 'GET', `/v1/ports/${port.id}/rotation-history`, undefined, key);
    expect(history.body.total).to.equal(3);
    expect(history.body.rotations.map((r: any) => r.triggerType)).to.deep.equal(['automatic', 'api_token', 'manual']);
    expect(history.body.rotations[2]).to.include({ fromDeviceId: firstDevice, success: true, country: 'Germany', carrier: 'Vodafone', fromIp: firstDevice === devices.a ? '100.64.0.1' : '100.64.0.2' });
    // 9. OS fingerprint
    expect((await api(url, 'GET', `/v1/ports/${port.id}/os-fingerprints`, undefined, key)).body).to.have.length(8);
    expect((await api(url, 'PATCH', `/v1/ports/${port.id}/os-fingerprint`, { osFingerprint: 'windows:1' }, key)).body.osFingerprint).to.equal('windows:1');
    expect((await api(url, 'PATCH', `/v1/ports/${port.id}/os-fingerprint`, { osFingerprint: 'beos:1' }, key)).status).to.equal(400);
    // 10. usage from the metered traffic
    await waitFor(() => world.service.gateway!.gateway.stats().tunnels === 0, 'tunnels to close');
    await world.service.gateway!.meter.flush();
    await world.service.infra.projector.waitFor(await world.service.infra.store.headPosition(), undefined, 30_000);
    const usage = await api(url, 'GET', '/v1/account/usage?period=30d', undefined, key);
    expect(usage.body.traffic.shared.portCount).to.equal(1);
    expect(Number(usage.body.traffic.shared.byPort[0].usedBytes)).to.be.greaterThan(300_000);
    const breakdown = await api(url, 'GET', '/v1/traffic/balance-breakdown', undefined, key);
    expect(breakdown.body).to.include({ totalPayments: 20, adminPaymentCredits: 0, totalPurchases: 14, balance: 6, purchasedTrafficGB: 1 });
    expect(breakdown.body.trafficUsedGB).to.be.greaterThan(0);
    // the formula holds as a fold of the account's events alone
    const events: never[] = [];
    for await (const e of world.service.infra.store.readStream(accountStreamId(accountId))) events.push({ type: e.type, data: e.data } as never);
    const state = fold(accountDecider, events);
    expect(state.status === 'registered' && balanceMicro(state.wallet).toString()).to.equal(breakdown.body.micro.balance);
    // 11. delete: the slot is free again
    expect((await api(url, 'DELETE', `/v1/ports/${port.id}`, undefined, key)).body).to.deep.equal({ message: 'Port deleted successfully' });
    expect((await api(url, 'GET', `/v1/ports/${port.id}`, undefined, key)).status).to.equal(404);
    expect((await api(url, 'GET', '/v1/account/summary', undefined, key)).body.shared.slots).to.deep.equal({ total: 1, used: 0, available: 1 });
    const gone = await curl(['-x', `http://${port.proxyLogin}:${port.proxyPassword}@127.0.0.1:${gwHttp}`, `http://127.0.0.1:${origin.port}/`]);
    expect(gone.status).to.equal(407);
  });

  it('private ports take an exclusive device and rotate by airplane mode; the pool password reaches the pool', async () => {
    await api(url, 'POST', `/v1/admin/accounts/${accountId}/credits`, { amount: 60, reason: 'test' }, admin);
    expect((await api(url, 'POST', '/v1/billing/purchase-ports-private', { quantity: 2 }, key)).status).to.equal(201);
    const p = await api(url, 'POST', '/v1/ports', { countryId: 'DEU', expiresAt: 86400, type: 'private' }, key);
    expect(p.status, JSON.stringify(p.body)).to.equal(201);
    expect(p.body).to.include({ slotType: 'private', exclusive: true });
    expect(p.body.device._id).to.equal(devices.p);
    expect((await api(url, 'POST', '/v1/ports', { countryId: 'DE', expiresAt: 86400, type: 'private' }, key)).body.error.code).to.equal('NO_STOCK');
    const before = origin.resets();
    const r = await api(url, 'POST', `/v1/ports/${p.body.id}/rotate`, undefined, key);
    expect(r.body).to.include({ success: true, isAirplaneMode: true, oldIp: '100.64.0.3' });
    expect(origin.resets()).to.equal(before + 1);
    world.clock.advance(61_000);
    expect((await api(url, 'POST', `/v1/ports/${p.body.id}/rotate`, undefined, key)).status).to.equal(200);

    const pool = await api(url, 'POST', '/v1/account/pool/password', {}, key);
    expect(pool.body.username).to.equal(`psx_${accountId}-mbl-us`);
    const viaPool = await curl(['-x', `http://psx_${accountId}-mbl-de:${pool.body.password}@127.0.0.1:${gwHttp}`, `http://127.0.0.1:${origin.port}/`]);
    expect(viaPool.status, viaPool.stderr).to.equal(200);
    expect(viaPool.body.toString()).to.equal('hello from the origin');
    const regenerated = await api(url, 'POST', '/v1/account/pool/password', {}, key);
    const old = await curl(['-x', `http://psx_${accountId}-mbl-de:${pool.body.password}@127.0.0.1:${gwHttp}`, `http://127.0.0.1:${origin.port}/`]);
    expect(old.status).to.equal(407);
    expect(regenerated.body.password).to.not.equal(pool.body.password);
  });

  it('answers the MCP server\'s CoinGate and ticket routes with 501 NOT_SUPPORTED', async () => {
    for (const [m, p] of [['POST', '/v1/coingate/create-order'], ['GET', '/v1/coingate/status'], ['POST', '/tickets'], ['PATCH', '/tickets/abc/close']] as const) {
      const res = await request(url + p, { method: m, headers: key });
      const body = await res.body.json() as any;
      expect(res.statusCode, `${m} ${p}`).to.equal(501);
      expect(body.error.code).to.equal('NOT_SUPPORTED');
    }
  });
});
