import { expect } from 'chai';
import { Redis } from 'ioredis';
import { systemClock } from '../../src/clock.ts';
import { trafficStreamId } from '../../domain/traffic/metered.ts';
import { ADMIN_KEY, api, startTestService } from '../support/service.ts';
import { databaseKinds, testRedisUrl } from '../support/services.ts';
import { admin, registerDevice } from '../support/x402.ts';
import { curl, deadPort, startHttpModem, startOrigin, type Modem, type Origin } from '../gateway/listeners/helpers.ts';
import { ResellerClient, proxyUrl } from './sdk-client.ts';
import { until } from '../support/until.ts';

type Service = Awaited<ReturnType<typeof startTestService>>;

/**
 * A valid pak_ key the gateway refuses after the lookup (the reseller's traffic spent, its account
 * deactivated, the key's cap held by other gateway instances) is a `gateway_auth_failure` with the
 * reason in the key's audit, not a success: the reseller reads there why its customer was turned away.
 */
describe('pak_ gateway refusals in the key audit (real gateway)', function () {
  this.timeout(120_000);
  let service: Service;
  let origin: Origin;
  let modem: Modem;
  let http: number;
  let redis: Redis | null = null;

  const reseller = async (email: string, trafficGB: number) => {
    const res = await api(service.url, 'POST', '/v1/admin/accounts', { email, role: 'reseller' }, { 'x-admin-key': ADMIN_KEY });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    const r = { id: res.body.user._id as string, headers: { 'x-api-key': res.body.apiKey.key as string }, sdk: new ResellerClient(res.body.apiKey.key, service.url) };
    if (trafficGB > 0) {
      await api(service.url, 'POST', `/v1/admin/accounts/${r.id}/credits`, { amount: 50, reason: 'test' }, admin);
      const bought = await api(service.url, 'POST', '/v1/billing/purchase-traffic', { quantityGB: trafficGB }, r.headers);
      expect(bought.status, JSON.stringify(bought.body)).to.equal(201);
    }
    return r;
  };
  /** A plain proxied request (curl shows a CONNECT's 407 as 000). */
  const through = (resellerId: string, pak: string) =>
    curl(['-x', proxyUrl(`psx_${resellerId}`, pak, { country: 'us', host: '127.0.0.1', port: http }), `http://127.0.0.1:${origin.port}/bytes/10`]);
  /** The key's gateway rows once the gateway flushed its tally (every 500 ms here). */
  const gatewayRows = (sdk: ResellerClient, keyId: string) => until('the gateway tally in the audit', async () => {
    const rows = (await sdk.auditForKey(keyId)).filter((e: { action: string }) => e.action.startsWith('gateway_auth_'));
    return rows.length > 0 && rows;
  });
  const expectRefusalAudited = async (sdk: ResellerClient, keyId: string, reason: string) => {
    const rows = await gatewayRows(sdk, keyId);
    await new Promise((r) => setTimeout(r, 700)); // one more flush: a success tallied with it would show now
    const all = (await sdk.auditForKey(keyId)).filter((e: { action: string }) => e.action.startsWith('gateway_auth_'));
    expect(all.map((e: { action: string }) => e.action)).to.deep.equal(['gateway_auth_failure']);
    expect(all[0].metadata).to.include({ count: 1, reason });
    expect(all[0].authMethod).to.equal('gateway');
    expect(rows[0].ip).to.match(/127\.0\.0\.1/);
  };

  before(async () => {
    [origin, modem] = await Promise.all([startOrigin(), startHttpModem()]);
    const ports = await Promise.all([deadPort(), deadPort(), deadPort()]);
    http = ports[0]!;
    const redisUrl = await testRedisUrl();
    service = await startTestService((await databaseKinds())[0]!, systemClock, {
      ROLES: 'api,projector,worker,gateway', GATEWAY_HOST: '127.0.0.1', ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
      GATEWAY_HTTP_PORT: String(ports[0]), GATEWAY_SOCKS_PORT: String(ports[1]), GATEWAY_HEALTH_PORT: String(ports[2]),
      GATEWAY_ALLOWED_PRIVATE_CIDRS: '127.0.0.0/8,::1/128', GATEWAY_METER_FLUSH_MS: '500', WORKER_INTERVAL_MS: '300',
    });
    if (redisUrl) redis = new Redis(redisUrl);
    const device = await registerDevice(service, 'US', { upstream: modem.url, slots: 4 });
    await api(service.url, 'POST', `/v1/admin/devices/${device}/health`, { online: true, latencyMs: 40, ip: '100.64.0.1' }, admin);
  });
  after(async () => {
    redis?.disconnect();
    await service?.stop();
    await Promise.all([origin?.close(), modem?.close()]);
  });

  it('the reseller\'s shared traffic spent: E_AUTH_INVALID, audited as a failure (reseller_traffic_spent)', async () => {
    const r = await reseller('spent@example.com', 0);
    const k = await r.sdk.create({ label: 'no-traffic', trafficCapGB: 1 });
    const refused = await through(r.id, k.key);
    expect(refused.status).to.equal(407);
    expect(refused.body.toString()).to.match(/^E_AUTH_INVALID: the reseller behind this pool access key has no shared traffic left/);
    await expectRefusalAudited(r.sdk, k.id, 'reseller_traffic_spent');
  });

  it('the reseller account deactivated: E_AUTH_INVALID, audited as a failure (reseller_deactivated)', async () => {
    const r = await reseller('deactivated@example.com', 1);
    const k = await r.sdk.create({ label: 'deactivated', trafficCapGB: 1 });
    const patched = await api(service.url, 'PATCH', `/v1/admin/accounts/${r.id}`, { isActive: false }, admin);
    expect(patched.status, JSON.stringify(patched.body)).to.equal(200);
    await service.infra.projector.waitFor(await service.infra.store.headPosition(), undefined, 30_000);
    const refused = await through(r.id, k.key);
    expect(refused.status).to.equal(407);
    expect(refused.body.toString()).to.match(/^E_AUTH_INVALID: the reseller account behind this pool access key is deactivated/);
    // a deactivated account cannot call the API: reactivated (no new connection), it reads what happened meanwhile
    expect((await api(service.url, 'PATCH', `/v1/admin/accounts/${r.id}`, { isActive: true }, admin)).status).to.equal(200);
    await expectRefusalAudited(r.sdk, k.id, 'reseller_deactivated');
  });

  it('the key\'s cap held by other gateway instances (not yet in the read model): E_CAP_EXCEEDED, audited as a failure (cap_exceeded)', async function () {
    if (!redis) return this.skip(); // the in-flight ledger is shared through Redis
    const r = await reseller('inflight@example.com', 1);
    const k = await r.sdk.create({ label: 'inflight-cap', trafficCapGB: 1 });
    // what another instance does when it leases the rest of the key's 1 GB (src/gateway/budget.ts, LEASE_SCRIPT)
    await redis.set(`pmx:budget:pak-${k.id}`, '1000000000', 'PX', 600_000);
    const refused = await through(r.id, k.key);
    expect(refused.status).to.equal(407);
    expect(refused.body.toString()).to.match(/^E_CAP_EXCEEDED: /);
    await expectRefusalAudited(r.sdk, k.id, 'cap_exceeded');
  });

  it('the key at its cap in the read model: E_CAP_EXCEEDED, audited as a failure (cap_exceeded) with its usage', async () => {
    const r = await reseller('capped@example.com', 1);
    const k = await r.sdk.create({ label: 'capped', trafficCapGB: 1 });
    const at = new Date().toISOString();
    await service.infra.store.append(trafficStreamId('pak', k.id), [{
      type: 'TrafficMetered',
      data: { accountKind: 'pak', accountId: k.id, bytesUp: '0', bytesDown: '1000000000', connections: 1, from: at, to: at, gateway: 'earlier' },
      metadata: { correlationId: 'test', causationId: null, actor: 'gateway', occurredAt: at },
    }], { expectedRevision: 'any' });
    await until('the usage', async () => (await r.sdk.get(k.id)).trafficUsedGB >= 1);
    const refused = await through(r.id, k.key);
    expect(refused.status).to.equal(407);
    expect(refused.body.toString()).to.match(/^E_CAP_EXCEEDED: /);
    await expectRefusalAudited(r.sdk, k.id, 'cap_exceeded');
    expect((await r.sdk.auditForKey(k.id)).find((e: { action: string }) => e.action === 'gateway_auth_failure').metadata).to.include({ capGB: 1, usedGB: 1 });
  });
});
