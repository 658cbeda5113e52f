import { spawn } from 'node:child_process';
import { expect } from 'chai';
import { sql } from 'kysely';
import { systemClock } from '../../src/clock.ts';
import { trafficStreamId } from '../../domain/traffic/metered.ts';
import { poolKeyAuthStreamId } from '../../domain/reseller/events.ts';
import { ADMIN_KEY, api, startTestService } from '../support/service.ts';
import { databaseKinds } from '../support/services.ts';
import { admin, registerDevice } from '../support/x402.ts';
import { curl, deadPort, startHttpModem, startOrigin, type Modem, type Origin } from '../gateway/listeners/helpers.ts';
import { ApiError, ResellerClient, proxyUrl } from './sdk-client.ts';
import { until } from '../support/until.ts';

type Service = Awaited<ReturnType<typeof startTestService>>;

async function reseller(service: Service, email: string, role = 'reseller') {
  const res = await api(service.url, 'POST', '/v1/admin/accounts', { email, role }, { 'x-admin-key': ADMIN_KEY });
  if (res.status !== 201) throw new Error(`account creation failed: ${JSON.stringify(res.body)}`);
  return { id: res.body.user._id as string, key: res.body.apiKey.key as string };
}

/** curl with its output counted as it arrives (the helpers' curl returns only at the end). */
function streamingCurl(args: string[]) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/_proxy$/i.test(k)));
  const child = spawn('curl', ['--silent', '--no-buffer', '--max-time', '15', '--output', '-', ...args], { env, stdio: ['ignore', 'pipe', 'ignore'] });
  let received = 0;
  child.stdout.on('data', (c: Buffer) => { received += c.length; });
  const ended = new Promise<{ exitCode: number | null }>((resolve) => child.once('close', (exitCode) => resolve({ exitCode })));
  return { received: () => received, ended };
}
const rejection = async (p: Promise<unknown>): Promise<ApiError> => {
  try { await p; } catch (e) { if (e instanceof ApiError) return e; throw e; }
  throw new Error('expected the call to fail');
};

/**
 * Resellers end to end: accounts with the reseller role, pak_ keys through the API with a client that
 * behaves as the public reseller SDK, and customers using them through the real gateway (curl, both ports).
 */
describe('reseller pool-access keys (API, SDK-like client, gateway)', function () {
  this.timeout(120_000);
  let service: Service;
  let origin: Origin;
  let modem: Modem;
  let http: number;
  let socks: number;
  let alice: { id: string; key: string };
  let bob: { id: string; key: string };
  let sdk: ResellerClient;
  let bobSdk: ResellerClient;
  const target = () => `http://127.0.0.1:${origin.port}`;
  const via = (url: string, path: string, extra: string[] = []) => curl(['-x', url, ...extra, `${target()}${path}`]);
  const url = (pak: string, o: { pool?: string; sid?: string; rotation?: string; user?: string } = {}) => proxyUrl(`psx_${o.user ?? alice.id}`, pak, { country: 'us', host: '127.0.0.1', port: http, ...o });

  before(async () => {
    [origin, modem] = await Promise.all([startOrigin(), startHttpModem()]);
    const ports = await Promise.all([deadPort(), deadPort(), deadPort()]);
    [http, socks] = [ports[0]!, ports[1]!];
    service = await startTestService((await databaseKinds())[0]!, systemClock, {
      ROLES: 'api,projector,worker,gateway', GATEWAY_HOST: '127.0.0.1',
      GATEWAY_HTTP_PORT: String(ports[0]), GATEWAY_SOCKS_PORT: String(ports[1]), GATEWAY_HEALTH_PORT: String(ports[2]),
      GATEWAY_ALLOWED_PRIVATE_CIDRS: '127.0.0.0/8,::1/128', GATEWAY_METER_FLUSH_MS: '500', WORKER_INTERVAL_MS: '300',
      RESELLER_MAX_PAK_CAP_GB: '500',
    });
    const device = await registerDevice(service, 'US', { upstream: modem.url, slots: 4 });
    await api(service.url, 'POST', `/v1/admin/devices/${device}/health`, { online: true, latencyMs: 40, ip: '100.64.0.1' }, admin);
    alice = await reseller(service, 'alice@example.com');
    bob = await reseller(service, 'bob@example.com');
    // pak_ traffic spends the reseller's shared traffic too (test/reseller/billing.test.ts): alice has 5 GB
    await api(service.url, 'POST', `/v1/admin/accounts/${alice.id}/credits`, { amount: 50, reason: 'test' }, { 'x-admin-key': ADMIN_KEY });
    const bought = await api(service.url, 'POST', '/v1/billing/purchase-traffic', { quantityGB: 5 }, { 'x-api-key': alice.key });
    if (bought.status !== 201) throw new Error(`traffic purchase failed: ${JSON.stringify(bought.body)}`);
    sdk = new ResellerClient(alice.key, service.url);
    bobSdk = new ResellerClient(bob.key, service.url);
  });
  after(async () => {
    await service?.stop();
    await Promise.all([origin?.close(), modem?.close()]);
  });

  it('mints, lists, gets, updates, tops up, reveals and deletes keys, with the SDK\'s fields', async () => {
    const k = await sdk.create({ label: 'customer:alice', trafficCapGB: 10, expiresAt: new Date(Date.now() + 86_400_000).toISOString() });
    expect(k.key).to.match(/^pak_[0-9a-f]{24}$/);
    expect(k).to.include({ label: 'customer:alice', enabled: true, trafficCapGB: 10, trafficUsedMB: 0, qualityTier: 'standard', isExpired: false, lastUsedAt: null });
    expect(k.createdAt).to.be.a('number');
    expect((await sdk.list()).map((x) => x.id)).to.deep.equal([k.id]);
    expect((await sdk.get(k.id)).key).to.equal(k.key);
    const updated = await sdk.update(k.id, { label: 'alice2', qualityTier: 'safe' });
    expect(updated).to.include({ label: 'alice2', qualityTier: 'safe' });
    const before = Date.parse(k.expiresAt);
    const topped = await sdk.topUp(k.id, { addTrafficGB: 5, extendDays: 30 });
    expect(topped.trafficCapGB).to.equal(15);
    expect(Date.parse(topped.expiresAt) - before).to.equal(30 * 86_400_000);
    expect((await sdk.reveal(k.id)).key).to.equal(k.key);
    await sdk.delete(k.id);
    expect((await rejection(sdk.get(k.id))).status).to.equal(404);
    const actions = (await sdk.auditForKey(k.id)).map((e) => e.action);
    expect(actions).to.deep.equal(['delete', 'reveal', 'topup', 'update', 'create']);
    const reveal = (await sdk.audit({ action: 'reveal' }))[0];
    expect(reveal).to.include({ pakId: k.id, authMethod: 'apiKey', userAgent: '@proxies-sx/pool-sdk/test' });
    expect(reveal.metadata).to.deep.equal({ keyPrefix: k.key.slice(0, 8), label: 'alice2' });
  });

  it('guards caps: 0, fractions, over RESELLER_MAX_PAK_CAP_GB and null (not a partner) are 400 with the reason', async () => {
    for (const [cap, code] of [[0, 'INVALID_CAP'], [2.5, 'INVALID_CAP'], [501, 'CAP_OVER_CEILING'], [null, 'CAP_REQUIRED'], [undefined, 'CAP_REQUIRED']] as const) {
      const err = await rejection(sdk.create({ label: 'x', trafficCapGB: cap as number | null | undefined }));
      expect(err.status, String(cap)).to.equal(400);
      expect(err.data.error.code).to.equal(code);
    }
    const k = await sdk.create({ label: 'ceiling', trafficCapGB: 500 });
    expect((await rejection(sdk.topUp(k.id, { addTrafficGB: 1 }))).data.error.code).to.equal('CAP_OVER_CEILING');
    expect((await rejection(sdk.update(k.id, { trafficCapGB: null }))).data.error.code).to.equal('CAP_REQUIRED');
    expect((await rejection(sdk.create({ label: 'past', trafficCapGB: 1, expiresAt: '2020-01-01T00:00:00Z' }))).data.error.code).to.equal('EXPIRY_IN_PAST');
    await sdk.delete(k.id);
  });

  it('10 concurrent creates with one Idempotency-Key make one key; the same key with another body is 422', async () => {
    const input = { label: 'customer:webhook', trafficCapGB: 3, idempotencyKey: 'stripe_cs_test_0001' };
    const answers = await Promise.all(Array.from({ length: 10 }, () => sdk.create(input)));
    expect(new Set(answers.map((a) => a.id)).size).to.equal(1);
    expect(new Set(answers.map((a) => a.key)).size).to.equal(1);
    expect((await sdk.list()).filter((k) => k.label === 'customer:webhook')).to.have.length(1);
    const err = await rejection(sdk.create({ ...input, trafficCapGB: 4 }));
    expect(err.status).to.equal(422);
    expect(err.data.error.code).to.equal('IDEMPOTENCY_KEY_REUSED');
    // top-up and regenerate: a retry answers the first result, not a second credit or a second rotation
    const id = answers[0].id;
    const t1 = await sdk.topUp(id, { addTrafficGB: 2, idempotencyKey: 'topup_invoice_42' });
    const t2 = await sdk.topUp(id, { addTrafficGB: 2, idempotencyKey: 'topup_invoice_42' });
    expect([t1.trafficCapGB, t2.trafficCapGB]).to.deep.equal([5, 5]);
    const r1 = await sdk.regenerate(id, { idempotencyKey: 'rotate_leak_0001' });
    const r2 = await sdk.regenerate(id, { idempotencyKey: 'rotate_leak_0001' });
    expect(r1.key).to.equal(r2.key).and.not.equal(answers[0].key);
    expect((await rejection(sdk.create({ label: 'bad', trafficCapGB: 1, idempotencyKey: 'short' }))).status).to.equal(400);
  });

  it('another reseller\'s key is 404 on every route, and a customer account is not a reseller', async () => {
    const k = await sdk.create({ label: 'private', trafficCapGB: 1 });
    for (const call of [() => bobSdk.get(k.id), () => bobSdk.update(k.id, { enabled: false }), () => bobSdk.delete(k.id), () => bobSdk.reveal(k.id), () => bobSdk.topUp(k.id, { extendDays: 1 }), () => bobSdk.regenerate(k.id), () => bobSdk.auditForKey(k.id)]) {
      expect((await rejection(call())).status).to.equal(404);
    }
    expect(await bobSdk.list()).to.deep.equal([]);
    expect((await sdk.get(k.id)).enabled).to.equal(true);
    const customer = await reseller(service, 'carol@example.com', 'customer');
    expect((await rejection(new ResellerClient(customer.key, service.url).list())).status).to.equal(403);
  });

  it('carries a customer with a pak_ over HTTP :7000 and SOCKS5 :7001; safe keys reach only modems; the wrong username is refused', async () => {
    const std = await sdk.create({ label: 'std', trafficCapGB: 1 });
    const safe = await sdk.create({ label: 'safe', trafficCapGB: 1, qualityTier: 'safe' });
    const plain = await via(url(std.key), '/bytes/100000');
    expect(plain.status, plain.stderr).to.equal(200);
    expect(plain.body.length).to.equal(100_000);
    const tunnel = await via(url(std.key), '/bytes/50000', ['-p']);
    expect(tunnel.status, tunnel.stderr).to.equal(200);
    const viaSocks = await curl(['--socks5-hostname', `127.0.0.1:${socks}`, '--proxy-user', `psx_${alice.id}-mbl-us:${std.key}`, `${target()}/bytes/70000`]);
    expect(viaSocks.status, viaSocks.stderr).to.equal(200);
    expect(viaSocks.body.length).to.equal(70_000);
    const tunnels = modem.tunnels;
    const peerSafe = await via(url(safe.key, { pool: 'peer' }), '/bytes/10');
    expect(peerSafe.status, peerSafe.body.toString()).to.equal(200);
    expect((await via(url(safe.key, { pool: 'any' }), '/bytes/10')).status).to.equal(200);
    expect(modem.tunnels).to.equal(tunnels + 2);
    const wrong = await via(url(std.key, { user: bob.id }), '/x');
    expect(wrong.status).to.equal(407);
    expect(wrong.body.toString()).to.match(/^E_AUTH_INVALID: .*another username.* \(req: [\w-]+\)$/);
    await until('usage in the read model', async () => (await sdk.get(std.id)).trafficUsedMB > 0.2);
    expect((await sdk.get(std.id)).lastUsedAt).to.be.a('string');
  });

  it('regenerate, disable and delete cut live tunnels at once; the old secret is refused', async () => {
    const k = await sdk.create({ label: 'live', trafficCapGB: 1 });
    const FULL = 2_000_000; // 10 s at the origin's 200 KB/s
    /** A download through a CONNECT tunnel, once its first bytes came through: the tunnel is live. */
    const downloading = async (pak: string) => {
      const d = streamingCurl(['-p', '-x', url(pak), `${target()}/drip/${FULL}`]);
      await until('the first bytes through the tunnel', async () => d.received() >= 16_384);
      return d;
    };
    const cutBy = async (d: ReturnType<typeof streamingCurl>, change: () => Promise<unknown>) => {
      const t0 = Date.now();
      await change();
      const { exitCode } = await d.ended;
      expect(Date.now() - t0).to.be.lessThan(2000); // the same tunnel ended, at once
      expect(exitCode).to.not.be.oneOf([0, 28]); // cut by the gateway: not finished, not curl's own timeout
      expect(d.received()).to.be.within(16_384, FULL / 2);
    };
    let live = await downloading(k.key);
    let fresh: { key: string } | undefined;
    await cutBy(live, async () => { fresh = await sdk.regenerate(k.id); });
    const old = await via(url(k.key), '/x');
    expect(old.status).to.equal(407);
    expect(old.body.toString()).to.match(/^E_AUTH_INVALID: /);
    live = await downloading(fresh!.key);
    await cutBy(live, () => sdk.update(k.id, { enabled: false }));
    const disabled = await via(url(fresh!.key), '/x');
    expect(disabled.status).to.equal(407);
    expect(disabled.body.toString()).to.match(/^E_AUTH_INVALID: this pool access key is disabled \(req: /);
    await sdk.update(k.id, { enabled: true });
    live = await downloading(fresh!.key);
    await cutBy(live, () => sdk.delete(k.id));
  });

  it('cuts a download when the key reaches its cap, auto-suspends it (audit) and answers E_CAP_EXCEEDED', async () => {
    const k = await sdk.create({ label: 'capped', trafficCapGB: 1 });
    // earlier traffic of this key: 3 MB left of its 1 GB
    const left = 3_000_000;
    const at = new Date().toISOString();
    await service.infra.store.append(trafficStreamId('pak', k.id), [{
      type: 'TrafficMetered',
      data: { accountKind: 'pak', accountId: k.id, bytesUp: '0', bytesDown: String(1_000_000_000 - left), connections: 1, from: at, to: at, gateway: 'earlier' },
      metadata: { correlationId: 'test', causationId: null, actor: 'gateway', occurredAt: at },
    }], { expectedRevision: 'any' });
    await until('the usage', async () => (await sdk.get(k.id)).trafficUsedMB > 990);
    const download = await via(url(k.key), '/bytes/40000000');
    expect(download.body.length).to.be.lessThan(left + 1_000_000); // the bound: max(1 MB, 1 % of what it bought) past the cap
    expect(download.body.length).to.be.greaterThan(left / 2);
    const suspended = await until('auto-suspension', async () => { const g = await sdk.get(k.id); return g.enabled === false && g; });
    expect(suspended.suspendedReason).to.equal('cap_exceeded');
    expect(suspended.trafficUsedGB).to.be.at.most(1.001);
    const audit = await sdk.auditForKey(k.id);
    const event = audit.find((e) => e.action === 'auto_suspended_cap_exceeded');
    expect(event?.authMethod).to.equal('system');
    expect(event?.metadata).to.include({ capGB: 1, label: 'capped' });
    const refused = await via(url(k.key), '/x');
    expect(refused.status).to.equal(407);
    expect(refused.body.toString()).to.match(/^E_CAP_EXCEEDED: .+ \(req: [\w-]+\)$/);
    // a top-up does not re-enable; an explicit PATCH does
    await sdk.topUp(k.id, { addTrafficGB: 1 });
    expect((await sdk.get(k.id)).enabled).to.equal(false);
    await sdk.update(k.id, { enabled: true });
    expect((await via(url(k.key), '/bytes/1000')).status).to.equal(200);
    const failures = await until('the failure in the audit', async () => (await sdk.auditForKey(k.id)).find((e) => e.action === 'gateway_auth_failure'));
    expect(failures.metadata).to.include({ reason: 'cap_exceeded', capGB: 1 });
  });

  it('an expired key is refused with the reason and suspended by the worker', async () => {
    const k = await sdk.create({ label: 'short-lived', trafficCapGB: 1, expiresAt: new Date(Date.now() + 1500).toISOString() });
    expect((await via(url(k.key), '/bytes/10')).status).to.equal(200);
    await new Promise((r) => setTimeout(r, 1600));
    const refused = await via(url(k.key), '/x');
    expect(refused.status).to.equal(407);
    expect(refused.body.toString()).to.match(/^E_AUTH_INVALID: this pool access key expired/);
    const audit = await until('auto_suspended_expired', async () => (await sdk.audit({ action: 'auto_suspended_expired' })).find((e) => e.pakId === k.id));
    expect(audit.metadata.label).to.equal('short-lived');
    expect((await sdk.get(k.id)).isExpired).to.equal(true);
  });

  it('aggregates gateway auth per key per minute in the audit, not one event per connection', async () => {
    const k = await sdk.create({ label: 'counted', trafficCapGB: 1 });
    for (let i = 0; i < 6; i++) expect((await via(url(k.key), '/bytes/10')).status).to.equal(200);
    const rows = await until('the success counts', async () => {
      const r = (await sdk.auditForKey(k.id)).filter((e) => e.action === 'gateway_auth_success');
      return r.reduce((n, e) => n + e.metadata.count, 0) === 6 && r;
    });
    expect(rows.length).to.be.within(1, 2); // one row per minute (two if the minute turned)
    expect(rows[0].ip).to.match(/127\.0\.0\.1/);
    const events = [];
    for await (const e of service.infra.store.readStream(poolKeyAuthStreamId(k.id))) events.push(e);
    expect(events.length).to.be.lessThan(6);
  });

  it('lists live sticky sessions per key and closes one, cutting its tunnel', async () => {
    const k = await sdk.create({ label: 'sticky', trafficCapGB: 1 });
    expect((await via(url(k.key, { sid: 'cust_8f3a21bd', rotation: 'sticky' }), '/bytes/5000')).status).to.equal(200);
    const listed = await until('the session', async () => { const s = await sdk.sessions({ pakId: k.id }); return s.count === 1 && s.sessions[0].bytesIn > 0 && s; });
    const s = listed.sessions[0];
    expect(s).to.include({ pakKeyId: k.id, sessionId: 'cust_8f3a21bd', pool: 'mbl', country: 'us', currentIp: '100.64.0.1', rotation: 'sticky', isSynthesizedSid: false });
    expect(s.proxyUrl).to.contain(`psx_${alice.id}-mbl-us-sid-cust_8f3a21bd-rot-sticky:<PASSWORD>@`);
    expect((await sdk.sessions({ pakId: k.key })).count).to.equal(1);
    expect((await rejection(bobSdk.sessions({ pakId: k.id }))).status).to.equal(404);
    const open = curl(['--max-time', '10', '-x', url(k.key, { sid: 'cust_8f3a21bd', rotation: 'sticky' }), `${target()}/slow`]);
    await new Promise((r) => setTimeout(r, 400));
    const t0 = Date.now();
    expect(await sdk.closeSession(s.sessionKey, { pakId: k.id })).to.deep.equal({ success: true, message: 'Session closed; its tunnels were cut' });
    expect((await open).exitCode).to.not.equal(28);
    expect(Date.now() - t0).to.be.lessThan(2000);
    expect((await sdk.sessions({ pakId: k.id })).count).to.equal(0);
    expect((await sdk.closeSession(s.sessionKey)).success).to.equal(false);
  });

  it('lists connections without a -sid- as synthesized auto_ sessions (5 min TTL) and closes one, cutting its tunnel', async () => {
    const k = await sdk.create({ label: 'no-sid', trafficCapGB: 1 });
    expect((await via(url(k.key), '/bytes/5000')).status).to.equal(200);
    const listed = await until('the synthesized session', async () => { const s = await sdk.sessions({ pakId: k.id }); return s.count === 1 && s.sessions[0].bytesIn >= 5000 && s; });
    const s = listed.sessions[0];
    expect(s.sessionId).to.match(/^auto_[0-9a-f]{12}$/);
    expect(s).to.include({ sessionKey: `${k.id}:${s.sessionId}`, accountId: `psx_${alice.id}`, pakKeyId: k.id, pool: 'mbl', country: 'us', carrier: 'T-Mobile USA', currentIp: '100.64.0.1', requestCount: 1, isSynthesizedSid: true });
    expect(s.expiresAt - s.lastActivityAt).to.equal(300_000);
    expect(s.ttl).to.be.within(280, 300);
    // the customer's own username (no throwaway id to reuse)
    expect(s.proxyUrl).to.contain(`http://psx_${alice.id}-mbl-us:<PASSWORD>@`);
    expect(s.socks5Url).to.match(new RegExp(`^socks5://psx_${alice.id}-mbl-us:<PASSWORD>@127\\.0\\.0\\.1:${socks}$`));
    // every connection is its own session; a sticky one beside them is not synthesized
    expect((await via(url(k.key), '/bytes/100')).status).to.equal(200);
    expect((await via(url(k.key, { sid: 'cust_2c9e41aa' }), '/bytes/100')).status).to.equal(200);
    const three = await until('three sessions', async () => { const l = await sdk.sessions({ pakId: k.id }); return l.count === 3 && l; });
    expect(three.sessions.filter((x: any) => x.isSynthesizedSid).length).to.equal(2);
    expect(new Set(three.sessions.map((x: any) => x.sessionId)).size).to.equal(3);
    // a live one is closed through the API: its tunnel is cut at once and it is no longer listed
    const open = curl(['--max-time', '10', '-x', url(k.key), `${target()}/slow`]);
    const known = new Set(three.sessions.map((x: any) => x.sessionKey));
    const live = await until('the live session', async () => (await sdk.sessions({ pakId: k.id })).sessions.find((x: any) => !known.has(x.sessionKey)));
    expect(live.isSynthesizedSid).to.equal(true);
    const t0 = Date.now();
    expect(await sdk.closeSession(live.sessionKey, { pakId: k.id })).to.deep.equal({ success: true, message: 'Session closed; its tunnels were cut' });
    expect((await open).exitCode).to.not.equal(28);
    expect(Date.now() - t0).to.be.lessThan(2000);
    expect((await sdk.sessions({ pakId: k.id })).sessions.map((x: any) => x.sessionKey)).to.not.include(live.sessionKey);
    // bob cannot close alice's
    expect((await bobSdk.closeSession(s.sessionKey)).success).to.equal(false);
    expect((await sdk.closeSession(s.sessionKey)).success).to.equal(true);
  });

  it('serves the public stock, carrier and incident feeds in the SDK\'s shapes', async () => {
    const stock = await sdk.getStock();
    expect(stock.pools.mbl).to.deep.equal({ us: 1 });
    expect(stock.totals).to.deep.equal({ mbl: 1, peer: 0, all: 1 });
    const carriers = await sdk.getCarrierStock({ country: 'us', pool: 'mbl' });
    expect(carriers).to.include({ pool: 'mbl', country: 'us', total: 1, other: 0 });
    expect(carriers.carriers).to.deep.equal([{ id: 'tmobileusa|mobile', asn: null, name: 'T-Mobile USA', ipType: 'mobile', pool: 'mbl', count: 1 }]);
    const down = await registerDevice(service, 'DE', { upstream: modem.url });
    const health = await api(service.url, 'POST', `/v1/admin/devices/${down}/health`, { online: false }, admin);
    expect(health.status, JSON.stringify(health.body)).to.be.lessThan(300);
    await service.infra.projector.waitFor(await service.infra.store.headPosition());
    const incidents = ((await (await fetch(`${service.url}/v1/gateway/incidents`)).json()) as { incidents: Array<{ id: string; severity: string; affects: string[] }> }).incidents; // public: no credentials
    expect(incidents.map((i) => i.id)).to.include('degraded-de');
    expect(incidents.find((i) => i.affects.includes('mbl-de') && i.severity === 'minor')).to.not.equal(undefined);
  });

  it('rebuilds the keys, audit and stock read models to what the live projections hold', async () => {
    const db = service.infra.database.db;
    const snapshot = async () => Promise.all(['reseller_pool_keys', 'reseller_pool_key_audit', 'pool_stock_devices', 'pool_offline_spans'].map(async (t) =>
      JSON.stringify((await sql`select * from ${sql.table(t)} order by 1, 2, 3, 4, 5`.execute(db)).rows, (_k, v) => (typeof v === "bigint" ? v.toString() : v))));
    await service.gateway!.meter.flush();
    // the gateway's auth tallies flush on their own timer: rebuild once nothing has been appended for a second
    let head = await service.infra.store.headPosition();
    await until('a quiet store', async () => {
      await new Promise((r) => setTimeout(r, 1000));
      const now = await service.infra.store.headPosition();
      const quiet = now === head;
      head = now;
      return quiet;
    }, 20_000);
    await service.infra.projector.waitFor(head);
    const live = await snapshot();
    expect(JSON.parse(live[1]!).length).to.be.greaterThan(0); // audit rows, at least
    await service.infra.projector.rebuild(['pool-keys', 'pool-key-audit', 'pool-stock']);
    expect(await snapshot()).to.deep.equal(live);
  });
});

describe('the SDK\'s retry against a real 429', function () {
  this.timeout(60_000);
  let service: Service;
  before(async () => {
    service = await startTestService((await databaseKinds())[0]!, systemClock, { RESELLER_RATE_LIMIT: '2', RESELLER_RATE_LIMIT_WINDOW_MS: '1000' });
  });
  after(async () => { await service?.stop(); });

  it('waits the Retry-After the server sends, then succeeds; without retry the 429 surfaces', async () => {
    const r = await reseller(service, 'retry@example.com');
    // line up with the start of a window so the third call is the one refused
    await new Promise((res) => setTimeout(res, 1000 - (Date.now() % 1000) + 20));
    const noRetry = new ResellerClient(r.key, service.url, false);
    await noRetry.list();
    await noRetry.list();
    const err = await rejection(noRetry.list());
    expect(err.status).to.equal(429);
    expect(err.retryAfterMs).to.equal(1000);
    expect(err.data.error.code).to.equal('RATE_LIMITED');
    await new Promise((res) => setTimeout(res, 1000 - (Date.now() % 1000) + 20));
    const client = new ResellerClient(r.key, service.url, { attempts: 3, baseDelayMs: 1, maxDelayMs: 4000 });
    await client.list();
    await client.list();
    const t0 = Date.now();
    expect(await client.list()).to.deep.equal([]);
    const waited = Date.now() - t0;
    expect(client.attemptsMade).to.have.length(4); // 2 + the refused one + its retry
    expect(waited).to.be.within(900, 2500); // Retry-After (1 s), not the 1 ms base delay
  });
});
