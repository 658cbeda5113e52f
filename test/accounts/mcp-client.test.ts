import { expect } from 'chai';
import { fixedClock } from '../../src/clock.ts';
import { api, startTestService } from '../support/service.ts';
import { databaseKinds } from '../support/services.ts';
import { admin, registerDevice } from '../support/x402.ts';

/**
 * A client of our own that behaves like the official Proxies.sx MCP server (bolivian-peru/proxies-sx-mcp-server,
 * src/api/*.ts): X-API-Key, or Authorization: Bearer with the access_token of POST /v1/login/signin; JSON bodies;
 * PUT for credentials, reconfigure and rotation-settings, PATCH for the fingerprint; purchases as {amount};
 * lists read either as arrays or as {data, …} pages; non-2xx throws with the status.
 */
class McpLikeClient {
  constructor(private readonly base: string, private readonly token: string, private readonly authType: 'apiKey' | 'jwt') {}
  static async signIn(base: string, email: string, password: string) {
    const r = await fetch(`${base}/v1/login/signin`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }) });
    if (!r.ok) throw new Error(`Login failed with status ${r.status}`);
    const body = (await r.json()) as { access_token: string; user: { _id: string; email: string; role: string } };
    return { client: new McpLikeClient(base, body.access_token, 'jwt'), user: body.user };
  }
  private async call<T>(method: string, path: string, query?: Record<string, unknown>, body?: unknown): Promise<T> {
    const url = new URL(this.base + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.append(k, String(v));
    const headers: Record<string, string> = { 'Content-Type': 'application/json', ...(this.authType === 'apiKey' ? { 'X-API-Key': this.token } : { Authorization: `Bearer ${this.token}` }) };
    const r = await fetch(url, { method, headers, body: body ? JSON.stringify(body) : undefined });
    const json = r.headers.get('content-type')?.includes('application/json') ? await r.json() : {};
    if (!r.ok) throw Object.assign(new Error(`HTTP ${r.status}: ${JSON.stringify(json)}`), { status: r.status });
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
  before(async () => {
    service = await startTestService((await databaseKinds())[0]!, clock, { WORKER_INTERVAL_MS: '3600000', JWT_SECRET: 'y'.repeat(40) });
    for (const ip of ['100.64.1.1', '100.64.1.2']) {
      const dev = await registerDevice(service, 'DE', { slots: 4, tiers: ['shared'], carrier: { name: 'Vodafone D2 GmbH', brand: 'Vodafone' }, city: 'Berlin' });
      await api(service.url, 'POST', `/v1/admin/devices/${dev}/health`, { online: true, latencyMs: 40, ip }, admin);
    }
    const reg = await api(service.url, 'POST', '/v1/auth/register', { email: 'mcp@example.com', password: 'a long password' });
    apiKey = reg.body.apiKey.key;
    await api(service.url, 'POST', `/v1/admin/accounts/${reg.body.user._id}/credits`, { amount: 100, reason: 'mcp test' }, admin);
  });
  after(async () => service?.stop());

  for (const mode of ['apiKey', 'jwt'] as const) {
    it(`runs the account, billing, port and rotation tools (${mode})`, async () => {
      const c = mode === 'apiKey' ? new McpLikeClient(service.url, apiKey, 'apiKey') : (await McpLikeClient.signIn(service.url, 'mcp@example.com', 'a long password')).client;
      expect((await c.summary()).currency).to.equal('USD');
      expect((await c.breakdown()).formula).to.be.a('string');
      expect(await c.notifications()).to.include.keys('data', 'total');
      expect((await c.readAll()).count).to.be.a('number');
      expect((await c.pricing()).currency).to.equal('USD');
      expect((await c.calculate(2)).totalPrice).to.equal(8);
      expect((await c.tariffs()).some((t) => t.resourceType === 'ports')).to.equal(true);
      expect((await c.purchaseSlots(1)).success).to.equal(true);
      expect((await c.purchaseTraffic(1)).quantityGB).to.equal(1);
      expect((await c.purchases()).data.length).to.be.greaterThan(0);
      // list_available_countries (the MCP server's ReferenceApi.getCountries, which reads {data} from /v1/countries, is called by no tool)
      const de = (await c.availableCountries()).find((x) => x.code === 'DE');
      expect(de).to.include({ name: 'Germany', freeDeviceCount: 2 });
      expect((await c.country(de._id)).code).to.equal('DE');
      const port = await c.createPort({ countryId: de._id, expiresAt: 86400 });
      expect(port.proxyPassword).to.be.a('string');
      const page = await c.listPorts();
      expect(page.data.map((p: any) => p.id)).to.include(port.id);
      expect((await c.getPort(port.id)).id).to.equal(port.id);
      expect((await c.updateCredentials(port.id, { proxyPassword: `pw_${mode}_12345` })).proxyPassword).to.equal(`pw_${mode}_12345`);
      expect((await c.osFingerprints(port.id))).to.have.length(8);
      expect((await c.updateOsFingerprint(port.id, 'windows:1')).osFingerprint).to.equal('windows:1');
      expect((await c.status(port.id)).status).to.be.a('string');
      expect((await c.canRotate(port.id)).canRotate).to.equal(true);
      const settings = await c.rotationSettings(port.id, { enabled: true, intervalSeconds: 1800 });
      expect(settings).to.include({ enabled: true, intervalSeconds: 1800, intervalMinutes: 30 });
      const rotated = await c.rotate(port.id);
      expect(rotated.success).to.equal(true);
      expect((await c.history(port.id)).rotations[0]).to.include({ triggerType: 'manual' });
      clock.advance(301_000);
      const moved = await c.reconfigure(port.id, { countryId: 'DE' });
      expect(moved).to.be.an('object');
      expect((await c.deletePort(port.id)).message).to.equal('Port deleted successfully');
      const missing = await c.getPort(port.id).catch((e) => e);
      expect(missing.status).to.equal(404);
    });
  }

  it('fails sign-in with the MCP server\'s error path on a wrong password', async () => {
    const err = await McpLikeClient.signIn(service.url, 'mcp@example.com', 'wrong password').catch((e) => e);
    expect(err.message).to.equal('Login failed with status 403');
  });
});
