import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { fixedClock } from '../../src/clock.ts';
import { api, startTestService } from '../support/service.ts';
import { databaseKinds } from '../support/services.ts';
import { admin, registerDevice } from '../support/x402.ts';
import { startHttpModem, type Modem } from '../gateway/listeners/helpers.ts';

/** A local origin for the checks through the modems: /ip echoes a fixed IP, /speed serves or swallows bytes. */
async function startOrigin() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/ip') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"ip":"203.0.113.7"}');
    if (req.method === 'POST') { req.resume(); req.on('end', () => res.writeHead(200).end('ok')); return; }
    const n = Number(url.searchParams.get('bytes') ?? '1000');
    res.writeHead(200, { 'content-length': String(n) }).end(Buffer.alloc(n, 0x62));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/**
 * A client of our own that behaves like the official Proxies.sx MCP server (bolivian-peru/proxies-sx-mcp-server,
 * src/api/*.ts): X-API-Key, or Authorization: Bearer with the access_token of POST /v1/login/signin; JSON bodies;
 * PUT for credentials, reconfigure and rotation-settings, PATCH for the fingerprint; purchases as {amount};
 * create_port sends isPrivate (not type); lists read either as arrays or as {data, …} pages; non-2xx throws
 * with the status and the body's top-level `message`. The assertions below name the fields its tools print.
 */
class McpLikeClient {
  constructor(private readonly base: string, private readonly token: string, private readonly authType: 'apiKey' | 'jwt') {}
  static async signIn(base: string, email: string, password: string) {
    const r = await fetch(`${base}/v1/login/signin`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }) });
    if (!r.ok) throw new Error(((await r.json().catch(() => ({}))) as { message?: string }).message || `Login failed with status ${r.status}`);
    const body = (await r.json()) as { access_token: string; user: { _id: string; email: string; role: string } };
    return { client: new McpLikeClient(base, body.access_token, 'jwt'), user: body.user };
  }
  private async call<T>(method: string, path: string, query?: Record<string, unknown>, body?: unknown): Promise<T> {
    const url = new URL(this.base + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.append(k, String(v));
    const headers: Record<string, string> = { 'Content-Type': 'application/json', ...(this.authType === 'apiKey' ? { 'X-API-Key': this.token } : { Authorization: `Bearer ${this.token}` }) };
    const r = await fetch(url, { method, headers, body: body ? JSON.stringify(body) : undefined });
    const json = r.headers.get('content-type')?.includes('application/json') ? await r.json() : {};
    if (!r.ok) throw Object.assign(new Error((json as { message?: string }).message || `HTTP ${r.status}: ${r.statusText}`), { status: r.status, body: json });
    return json as T;
  }
  /** list_ports: an array or a page, normalised to a page as the MCP server does. */
  async listPorts(params: { limit?: number; status?: string } = {}) {
    const r = await this.call<any>('GET', '/v1/ports', { page: 1, limit: params.limit ?? 50, status: params.status });
    return Array.isArray(r) ? { data: r, total: r.length } : r;
  }
  summary = () => this.call<any>('GET', '/v1/account/summary');
  breakdown = () => this.call<any>('GET', '/v1/traffic/balance-breakdown');
  notifications = () => this.call<any>('GET', '/v1/account/notifications', { limit: 20, offset: 0 });
  readAll = () => this.call<any>('PUT', '/v1/account/notifications/read-all');
  pricing = () => this.call<any>('GET', '/v1/billing/pricing');
  calculate = (amount: number, isPrivate = false) => this.call<any>('GET', '/v1/billing/calculate-price', { amount, isPrivate });
  tariffs = () => this.call<any[]>('GET', '/v1/tariffs');
  purchaseSlots = (quantity: number) => this.call<any>('POST', '/v1/billing/purchase-ports', undefined, { amount: quantity });
  purchaseTraffic = (gb: number) => this.call<any>('POST', '/v1/billing/purchase-traffic', undefined, { amount: gb });
  purchases = () => this.call<any>('GET', '/v1/purchases', { limit: 20, offset: 0 });
  availableCountries = (isPrivate = false) => this.call<any[]>('GET', '/v1/countries/with-devices', { isPrivate: isPrivate.toString() });
  country = (id: string) => this.call<any>('GET', `/v1/countries/${id}`);
  createPort = (data: unknown) => this.call<any>('POST', '/v1/ports', undefined, data);
  getPort = (id: string) => this.call<any>('GET', `/v1/ports/${id}`);
  deletePort = (id: string) => this.call<any>('DELETE', `/v1/ports/${id}`);
  updateCredentials = (id: string, data: unknown) => this.call<any>('PUT', `/v1/ports/${id}/credentials`, undefined, data);
  updateOsFingerprint = (id: string, osFingerprint: string) => this.call<any>('PATCH', `/v1/ports/${id}/os-fingerprint`, undefined, { osFingerprint });
  osFingerprints = (id: string) => this.call<any[]>('GET', `/v1/ports/${id}/os-fingerprints`);
  reconfigure = (id: string, data: unknown) => this.call<any>('PUT', `/v1/ports/${id}/reconfigure`, undefined, data);
  status = (id: string) => this.call<any>('GET', `/v1/ports/${id}/status`);
  ip = (id: string) => this.call<any>('GET', `/v1/ports/${id}/ip`);
  ping = (id: string) => this.call<any>('GET', `/v1/ports/${id}/ping`);
  speedTest = (id: string) => this.call<any>('GET', `/v1/ports/${id}/speed-test`);
  coingateStatus = () => this.call<any>('GET', '/v1/coingate/status');
  canRotate = (id: string) => this.call<any>('GET', `/v1/ports/${id}/can-rotate`);
  rotate = (id: string) => this.call<any>('POST', `/v1/ports/${id}/rotate`);
  rotationSettings = (id: string, settings: unknown) => this.call<any>('PUT', `/v1/ports/${id}/rotation-settings`, undefined, settings);
  history = (id: string) => this.call<any>('GET', `/v1/ports/${id}/rotation-history`, { limit: 20, offset: 0 });
}

describe('a client behaving like the official MCP server, in API-key and email/password modes', function () {
  this.timeout(120_000);
  const clock = fixedClock('2026-11-20T10:00:00.000Z');
  let service: Awaited<ReturnType<typeof startTestService>>;
  let apiKey: string;
  let origin: Awaited<ReturnType<typeof startOrigin>>;
  let modems: Modem[] = [];
  before(async () => {
    origin = await startOrigin();
    modems = await Promise.all([startHttpModem(), startHttpModem(), startHttpModem()]);
    service = await startTestService((await databaseKinds())[0]!, clock, {
      WORKER_INTERVAL_MS: '3600000', JWT_SECRET: 'y'.repeat(40),
      PORT_CHECK_IP_URL: `http://127.0.0.1:${origin.port}/ip`, PORT_SPEEDTEST_URL: `http://127.0.0.1:${origin.port}/speed`, PORT_SPEEDTEST_MAX_BYTES: '100000',
    });
    const where = { carrier: { name: 'Vodafone D2 GmbH', brand: 'Vodafone' }, city: 'Berlin' };
    for (const [i, m] of modems.entries()) {
      const dev = await registerDevice(service, 'DE', { name: `dongle50${i}_de`, upstream: m.url, ...where, ...(i < 2 ? { slots: 4, tiers: ['shared'] } : { slots: 1, tiers: ['private'] }) });
      await api(service.url, 'POST', `/v1/admin/devices/${dev}/health`, { online: true, latencyMs: 40, ip: `100.64.1.${i + 1}` }, admin);
    }
    const reg = await api(service.url, 'POST', '/v1/auth/register', { email: 'mcp@example.com', password: 'a long password' });
    apiKey = reg.body.apiKey.key;
    await api(service.url, 'POST', `/v1/admin/accounts/${reg.body.user._id}/credits`, { amount: 200, reason: 'mcp test' }, admin);
    // the official server has no slot tool any more (its backend hands slots out): bought here with our API
    expect((await api(service.url, 'POST', '/v1/billing/purchase-ports-private', { quantity: 2 }, { 'x-api-key': apiKey })).status).to.equal(201);
  });
  after(async () => {
    await service?.stop();
    await Promise.all([origin?.close(), ...modems.map((m) => m.close())]);
  });

  for (const mode of ['apiKey', 'jwt'] as const) {
    it(`runs the account, billing, port and rotation tools (${mode})`, async () => {
      const c = mode === 'apiKey' ? new McpLikeClient(service.url, apiKey, 'apiKey') : (await McpLikeClient.signIn(service.url, 'mcp@example.com', 'a long password')).client;
      expect((await c.summary()).currency).to.equal('USD');
      expect((await c.breakdown()).formula).to.be.a('string');
      expect(await c.notifications()).to.include.keys('data', 'total');
      expect((await c.readAll()).count).to.be.a('number');
      // get_pricing: basePrices.shared/private, volumeDiscounts[].minGB/maxGB, slotTiers (iterated), userTierInfo
      const pricing = await c.pricing();
      expect(pricing.currency).to.equal('USD');
      expect(pricing.basePrices).to.deep.equal({ shared: 4, private: 8 });
      expect(pricing.volumeDiscounts[0]).to.deep.equal({ minGB: 50, maxGB: 100, discountPercent: 10 });
      expect(pricing.volumeDiscounts.at(-1).maxGB).to.equal(null);
      expect(pricing.slotTiers).to.be.an('array');
      expect(pricing.userTierInfo.currentTier.name).to.be.a('string');
      expect(pricing.userTierInfo.nextTier.name).to.equal('10% volume discount');
      expect(pricing.userTierInfo).to.include.keys('cumulativeGB', 'gbToNextTier', 'sharedSlotLimit', 'privateSlotLimit');
      expect(pricing.userTierInfo.gbToNextTier).to.be.a('number');
      // calculate_price prints basePrice and pricePerGB per GB (before and after the discount) and totalPrice
      expect(await c.calculate(2)).to.include({ basePrice: 4, pricePerGB: 4, discountPercent: 0, totalPrice: 8, isPrivate: false });
      expect(await c.calculate(60)).to.include({ basePrice: 4, pricePerGB: 3.6, discountPercent: 10, totalPrice: 216 });
      expect((await c.tariffs()).some((t) => t.resourceType === 'ports')).to.equal(true);
      expect(await c.purchaseSlots(1)).to.include({ success: true, totalPrice: 10 });
      // purchase_shared_traffic prints (result.purchase ?? result).totalPrice
      expect(await c.purchaseTraffic(1)).to.include({ quantityGB: 1, totalPrice: 4 });
      expect((await c.purchases()).data[0].totalPrice).to.be.a('number');
      // list_available_countries (the MCP server's ReferenceApi.getCountries, which reads {data} from /v1/countries, is called by no tool)
      const de = (await c.availableCountries()).find((x) => x.code === 'DE');
      expect(de).to.include({ name: 'Germany', freeDeviceCount: 2, flag: '🇩🇪' });
      expect((await c.country(de._id)).code).to.equal('DE');
      // create_port sends isPrivate, not type
      const priv = await c.createPort({ countryId: de._id, isPrivate: true, expiresAt: 86400 });
      expect(priv.slotType).to.equal('private');
      expect((await c.deletePort(priv._id)).message).to.equal('Port deleted successfully');
      const port = await c.createPort({ countryId: de._id, isPrivate: false, expiresAt: 86400 });
      expect(port).to.include({ slotType: 'shared', countryName: 'Germany', carrierName: 'Vodafone D2 GmbH', cityName: 'Berlin' });
      expect(port.proxyPassword).to.be.a('string');
      const page = await c.listPorts();
      expect(page.data.map((p: any) => p.id)).to.include(port.id);
      expect(page.data[0].countryName).to.equal('Germany'); // list_ports' Country column
      expect((await c.getPort(port.id)).id).to.equal(port.id);
      expect((await c.updateCredentials(port.id, { proxyPassword: `pw_${mode}_12345` })).proxyPassword).to.equal(`pw_${mode}_12345`);
      // update_port_credentials with a login alone prints the password: it is the one set, not a new one
      expect(await c.updateCredentials(port.id, { proxyLogin: `login_${mode}` })).to.include({ proxyLogin: `login_${mode}`, proxyPassword: `pw_${mode}_12345` });
      expect((await c.getPort(port.id)).proxyPassword).to.equal(`pw_${mode}_12345`);
      expect((await c.osFingerprints(port.id))).to.have.length(8);
      expect((await c.updateOsFingerprint(port.id, 'windows:1')).osFingerprint).to.equal('windows:1');
      // get_port_status prints isOnline, lastChecked, deviceStatus
      expect(await c.status(port.id)).to.include({ status: 'online', isOnline: true, deviceStatus: 'online' });
      expect(await c.ip(port.id)).to.include({ publicIp: '203.0.113.7', serverIp: '127.0.0.1' });
      expect(await c.ping(port.id)).to.include({ success: true, ip: '203.0.113.7' });
      // speed_test_port prints downloadMbps, uploadMbps, latencyMs, testedAt
      const speed = await c.speedTest(port.id);
      expect(speed.downloadMbps).to.be.greaterThan(0);
      expect(speed.uploadMbps).to.be.greaterThan(0);
      expect(speed.latencyMs).to.be.a('number');
      expect(speed.testedAt).to.equal(clock.now().toISOString());
      expect((await c.canRotate(port.id)).canRotate).to.equal(true);
      // configure_auto_rotation prints port.rotationSettings.{enabled, intervalSeconds, matchCarrier, matchCity, rotationCount}
      const settings = await c.rotationSettings(port.id, { enabled: true, intervalSeconds: 1800 });
      expect(settings).to.include({ enabled: true, intervalSeconds: 1800, intervalMinutes: 30 });
      expect(settings.rotationSettings).to.include({ enabled: true, intervalSeconds: 1800, matchCarrier: false, matchCity: false, rotationCount: 0 });
      // rotate_port prints the answer as a port (formatPortSummary): _id, displayName, slotType, status, ports, server
      const rotated = await c.rotate(port.id);
      expect(rotated).to.include({ success: true, _id: port.id, displayName: port.displayName, slotType: 'shared', status: 'active', httpPort: port.httpPort, socksPort: port.socksPort, serverIp: port.serverIp });
      expect(rotated.newDeviceId).to.be.a('string');
      // check_rotation_availability / rotate_port print the cooldown's end as nextAvailableRotation and cooldownEndsAt
      const cooling = await c.canRotate(port.id);
      expect(cooling.canRotate).to.equal(false);
      expect(cooling.nextAvailableRotation).to.equal(cooling.nextRotationAt);
      expect(cooling.cooldownEndsAt).to.equal(cooling.nextRotationAt);
      // get_rotation_history reads data[] and prints trigger (charAt), rotatedAt, previous/newDeviceName
      const history = await c.history(port.id);
      expect(history.rotations[0]).to.include({ triggerType: 'manual', trigger: 'manual', rotatedAt: history.rotations[0].createdAt, success: true });
      expect([history.rotations[0].previousDeviceName, history.rotations[0].newDeviceName].sort()).to.deep.equal(['dongle500_de', 'dongle501_de']);
      expect(history.data).to.deep.equal(history.rotations);
      clock.advance(301_000);
      const moved = await c.reconfigure(port.id, { countryId: 'DE' });
      expect(moved).to.be.an('object');
      expect((await c.deletePort(port.id)).message).to.equal('Port deleted successfully');
      const missing = await c.getPort(port.id).catch((e) => e);
      expect(missing.status).to.equal(404);
    });
  }

  it('shows the 501 of its crypto-payment tools with our message (the top-level `message` it reads)', async () => {
    const err = await new McpLikeClient(service.url, apiKey, 'apiKey').coingateStatus().catch((e) => e);
    expect(err.status).to.equal(501);
    expect(err.body.error.code).to.equal('NOT_SUPPORTED');
    expect(err.message).to.match(/^crypto payment orders \(CoinGate\) are not part of this product/);
  });

  it('fails sign-in with the MCP server\'s error path on a wrong password', async () => {
    const err = await McpLikeClient.signIn(service.url, 'mcp@example.com', 'wrong password').catch((e) => e);
    expect(err.message).to.equal('e-mail or password is wrong'); // its login() throws the body's top-level message
  });
});
