import { expect } from 'chai';
import { systemClock } from '../../src/clock.ts';
import { ADMIN_KEY, api, startTestService } from '../support/service.ts';
import { databaseKinds } from '../support/services.ts';
import { admin, registerDevice } from '../support/x402.ts';
import { curl, deadPort, startHttpModem, startOrigin, type Modem, type Origin } from '../gateway/listeners/helpers.ts';
import { ResellerClient, proxyUrl } from './sdk-client.ts';

type Service = Awaited<ReturnType<typeof startTestService>>;
const until = async (fn: () => boolean, timeoutMs = 5000) => {
  for (const end = Date.now() + timeoutMs; !fn(); await new Promise((r) => setTimeout(r, 20))) if (Date.now() > end) throw new Error('timed out');
};
const BOUGHT = 10_000_000; // 0.01 GB of shared traffic
const BOUND = Math.max(1_000_000, BOUGHT / 100); // the cut: max(1 MB, 1 % of what was bought)

/**
 * Who pays for pak_ traffic: the key spends its own cap AND its reseller account's shared traffic, in
 * flight, on the same balance as the reseller's own pool access and ports. The reseller's traffic runs
 * out before the key's (bigger) cap: the download is cut, the balance ends at zero, usage shows it.
 */
describe('reseller pak_ traffic spends the reseller account\'s traffic (real gateway)', function () {
  this.timeout(120_000);
  let service: Service;
  let origin: Origin;
  let modem: Modem;
  let http: number;
  let reseller: { id: string; headers: Record<string, string> };
  let sdk: ResellerClient;
  const target = () => `http://127.0.0.1:${origin.port}`;
  /** Through a CONNECT tunnel (-p): bytes stop exactly at the budget. Refusals are read on plain requests (curl shows a CONNECT's 407 as 000). */
  const viaPak = (pak: string, path: string, tunnel = true) => curl([...(tunnel ? ['-p'] : []), '-x', proxyUrl(`psx_${reseller.id}`, pak, { country: 'us', host: '127.0.0.1', port: http }), `${target()}${path}`]);
  const settled = async () => {
    await service.gateway!.meter.flush();
    await service.infra.projector.waitFor(await service.infra.store.headPosition(), undefined, 30_000);
  };
  const account = (path: string) => api(service.url, 'GET', path, undefined, reseller.headers).then((r) => r.body);
  /** The gateway meters a tunnel's last bytes when it has closed, which can be after curl is done: wait for them. */
  const usedAtLeast = async (bytes: number) => {
    for (const end = Date.now() + 10_000; ;) {
      await settled();
      if (Number((await account('/v1/account/usage?period=7d')).traffic.shared.totalUsedBytes) >= bytes) return;
      if (Date.now() > end) throw new Error(`the reseller's usage never reached ${bytes} bytes`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const buyTraffic = async () => {
    const bought = await api(service.url, 'POST', '/v1/billing/purchase-traffic', { quantityGB: BOUGHT / 1e9 }, reseller.headers);
    expect(bought.status, JSON.stringify(bought.body)).to.equal(201);
    await settled();
  };

  before(async () => {
    [origin, modem] = await Promise.all([startOrigin(), startHttpModem()]);
    const ports = await Promise.all([deadPort(), deadPort(), deadPort()]);
    http = ports[0]!;
    service = await startTestService((await databaseKinds())[0]!, systemClock, {
      ROLES: 'api,projector,worker,gateway', GATEWAY_HOST: '127.0.0.1',
      GATEWAY_HTTP_PORT: String(ports[0]), GATEWAY_SOCKS_PORT: String(ports[1]), GATEWAY_HEALTH_PORT: String(ports[2]),
      GATEWAY_ALLOWED_PRIVATE_CIDRS: '127.0.0.0/8,::1/128', GATEWAY_METER_FLUSH_MS: '500', WORKER_INTERVAL_MS: '300',
    });
    const device = await registerDevice(service, 'US', { upstream: modem.url, slots: 4 });
    await api(service.url, 'POST', `/v1/admin/devices/${device}/health`, { online: true, latencyMs: 40, ip: '100.64.0.1' }, admin);
    const created = await api(service.url, 'POST', '/v1/admin/accounts', { email: 'payer@example.com', role: 'reseller' }, { 'x-admin-key': ADMIN_KEY });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    reseller = { id: created.body.user._id, headers: { 'x-api-key': created.body.apiKey.key } };
    sdk = new ResellerClient(created.body.apiKey.key, service.url);
    await api(service.url, 'POST', `/v1/admin/accounts/${reseller.id}/credits`, { amount: 1, reason: 'test' }, admin);
  });
  after(async () => {
    await service?.stop();
    await Promise.all([origin?.close(), modem?.close()]);
  });

  it('cuts a pak_ download when the reseller\'s traffic runs out (not the key\'s cap), ends the balance at zero, shows it in usage, refuses new connections', async () => {
    await buyTraffic();
    const k = await sdk.create({ label: 'bigger-cap', trafficCapGB: 1 }); // 1 GB cap ≫ 10 MB bought
    const download = await viaPak(k.key, '/bytes/40000000');
    expect(download.body.length).to.be.at.most(BOUGHT + BOUND);
    expect(download.body.length).to.be.greaterThan(BOUGHT - BOUND);
    await usedAtLeast(download.body.length);

    const breakdown = await account('/v1/traffic/balance-breakdown');
    expect(breakdown).to.include({ purchasedTrafficGB: 0.01, availableTrafficGB: 0 });
    expect(breakdown.trafficUsedGB).to.be.at.most(BOUGHT / 1e9); // zero left, never below: the tunnel stopped at the balance
    const usage = (await account('/v1/account/usage?period=7d')).traffic.shared;
    expect(Number(usage.pakUsedBytes)).to.be.within(download.body.length, BOUGHT);
    expect(usage.totalUsedBytes).to.equal(usage.pakUsedBytes);
    const overview = (await account('/v1/account')).subscription.shared.traffic;
    expect(overview).to.include({ purchasedGB: 0.01, availableGB: 0 });
    // the key itself is far from its cap: still enabled, its own usage counted too
    const key = await sdk.get(k.id);
    expect(key.enabled).to.equal(true);
    expect(Number(key.trafficUsedBytes)).to.be.at.least(download.body.length);

    const refused = await viaPak(k.key, '/bytes/1000', false);
    expect(refused.status).to.equal(407);
    expect(refused.body.toString()).to.match(/^E_AUTH_INVALID: the reseller behind this pool access key has no shared traffic left; ask your provider to top up \(req: [\w-]+\)$/);
  });

  it('the reseller\'s own pool access and its pak_ keys draw on one balance, concurrently', async () => {
    await buyTraffic(); // 10 MB more
    const before = Number((await account('/v1/account/usage?period=7d')).traffic.shared.totalUsedBytes);
    const k = await sdk.create({ label: 'shared-balance', trafficCapGB: 1 });
    const pw = await api(service.url, 'POST', '/v1/account/pool/password', undefined, reseller.headers);
    expect(pw.status, JSON.stringify(pw.body)).to.equal(200);
    await settled();
    const own = `http://psx_${reseller.id}-mbl-us:${pw.body.password}@127.0.0.1:${http}`;
    const [a, b] = await Promise.all([viaPak(k.key, '/bytes/40000000'), curl(['-p', '-x', own, `${target()}/bytes/40000000`])]);
    expect(a.body.length + b.body.length).to.be.at.most(BOUGHT + BOUND); // not 10 MB each
    expect(a.body.length + b.body.length).to.be.greaterThan(BOUGHT - BOUND);
    await usedAtLeast(before + a.body.length + b.body.length);
    expect((await account('/v1/traffic/balance-breakdown')).availableTrafficGB).to.equal(0);
    const ownRefused = await curl(['-x', own, `${target()}/bytes/1000`]);
    expect(ownRefused.status).to.equal(407);
    expect(ownRefused.body.toString()).to.match(/^E_AUTH_INVALID: no traffic balance left/);
    expect((await viaPak(k.key, '/bytes/1000', false)).status).to.equal(407);
  });

  it('an admin deactivating the reseller cuts its pak_ tunnels at once and refuses new ones', async () => {
    await buyTraffic();
    const k = await sdk.create({ label: 'live', trafficCapGB: 1 });
    const started = curl(['--max-time', '10', '-x', proxyUrl(`psx_${reseller.id}`, k.key, { country: 'us', host: '127.0.0.1', port: http }), `${target()}/slow`]);
    await until(() => origin.slowOpen() === 1);
    const t0 = Date.now();
    const patched = await api(service.url, 'PATCH', `/v1/admin/accounts/${reseller.id}`, { isActive: false }, admin);
    expect(patched.status, JSON.stringify(patched.body)).to.equal(200);
    expect((await started).exitCode).to.not.equal(28); // closed by the gateway, not by curl's own timeout
    expect(Date.now() - t0).to.be.lessThan(2000);
    const refused = await viaPak(k.key, '/bytes/10', false);
    expect(refused.status).to.equal(407);
    expect(refused.body.toString()).to.match(/^E_AUTH_INVALID: the reseller account behind this pool access key is deactivated/);
    await api(service.url, 'PATCH', `/v1/admin/accounts/${reseller.id}`, { isActive: true }, admin);
    expect((await viaPak(k.key, '/bytes/10', false)).status).to.equal(200);
  });
});
