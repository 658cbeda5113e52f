import { expect } from 'chai';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { fixedClock } from '../../src/clock.ts';
import { startListServer } from '../support/list-server.ts';
import { realProxiesAvailable, startTinyproxy, type RealProxy } from '../support/real-proxies.ts';
import { api, startTestService } from '../support/service.ts';
import { databaseKinds } from '../support/services.ts';
import { admin, registerDevice } from '../support/x402.ts';

/**
 * The psx_ account tools and the pp_ proxy-pool tools of `npm run mcp`, through the SDK's own client over stdio
 * against a running service: slots bought from the balance, a port created, rotated, its history read; a pool
 * proxy (a real tinyproxy, scraped from a list and checked by the service) leased and released.
 */
describe('npm run mcp: account (psx_) and proxy-pool (pp_) tools', function () {
  this.timeout(180_000);
  const clock = fixedClock(new Date());
  let service: Awaited<ReturnType<typeof startTestService>>;
  let client: Client;
  let tinyproxy: RealProxy;
  let lists: Awaited<ReturnType<typeof startListServer>>;
  let poolUser: string;

  const call = async (name: string, args: Record<string, unknown> = {}) => {
    const r = (await client.callTool({ name, arguments: args })) as { isError?: boolean; content: Array<{ type: string; text: string }>; structuredContent?: any };
    return { ...r, text: r.content.map((c) => c.text).join('\n') };
  };

  before(async function () {
    if (!realProxiesAvailable()) this.skip(); // tinyproxy: .ci/run installs it
    tinyproxy = await startTinyproxy({ via: false, connectAnyPort: true });
    lists = await startListServer({ '/list.txt': { type: 'text/plain', body: `127.0.0.1:${tinyproxy.port}\n` } });
    service = await startTestService((await databaseKinds())[0]!, clock, { POOL_ALLOWED_PRIVATE_CIDRS: '127.0.0.0/8', POOL_CHECK_INTERVAL_MS: '100', POOL_CHECK_TIMEOUT_MS: '3000' });
    const url = service.url;
    await registerDevice(service, 'DE', { slots: 2, tiers: ['shared'] });
    await registerDevice(service, 'DE', { slots: 2, tiers: ['shared'] });

    // An account with 30 USD of admin credit, and a pool user with 5 credits whose source holds the tinyproxy.
    const account = await api(url, 'POST', '/v1/auth/register', { email: 'agent@example.com', password: 'a long enough password' });
    expect(account.status, JSON.stringify(account.body)).to.equal(201);
    expect((await api(url, 'POST', `/v1/admin/accounts/${account.body.user.id}/credits`, { amount: 30, reason: 'mcp test' }, admin)).status).to.equal(201);
    const pool = await api(url, 'POST', '/auth/register', { email: 'agent@example.com', display_name: 'Agent' });
    expect(pool.status, JSON.stringify(pool.body)).to.equal(201);
    poolUser = pool.body.user.id;
    const bearer = { authorization: `Bearer ${pool.body.api_key.key}` };
    const source = await api(url, 'POST', '/sources', { url: `${lists.base}/list.txt`, parser_name: 'plaintext', cron_schedule: '0 0 1 1 *' }, bearer);
    expect(source.status, JSON.stringify(source.body)).to.equal(201);
    expect((await api(url, 'POST', `/sources/${source.body.id}/scrape`, {}, bearer)).body.proxies_new).to.equal(1);
    expect((await api(url, 'POST', `/v1/admin/pool/users/${poolUser}/credits`, { credits: 5, description: 'mcp test' }, admin)).status).to.be.oneOf([200, 201]);

    const transport = new StdioClientTransport({
      command: 'npm', args: ['run', '-s', 'mcp'], cwd: process.cwd(), stderr: 'pipe',
      env: { ...process.env as Record<string, string>, PROXIES_API_URL: url, PROXIES_SX_API_KEY: account.body.apiKey.key, PROXY_POOL_API_KEY: pool.body.api_key.key },
    });
    client = new Client({ name: 'test-client', version: '1.0.0' });
    await client.connect(transport);
  });
  after(async () => { await client?.close(); await service?.stop(); await lists?.stop(); await tinyproxy?.stop(); });

  it('lists the account and proxy-pool tools with zod-made input schemas', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    expect(names).to.include.members(['get_account_summary', 'get_account_usage', 'list_ports', 'get_port', 'create_port', 'delete_port', 'update_port_credentials',
      'update_os_fingerprint', 'reconfigure_port', 'get_port_status', 'get_port_ip', 'ping_port', 'speed_test_port', 'rotate_port', 'check_rotation_availability',
      'configure_auto_rotation', 'get_rotation_history', 'get_rotation_token_url', 'get_pricing', 'calculate_price', 'purchase_shared_traffic', 'get_os_fingerprint_options',
      'proxy_pool_list_proxies', 'proxy_pool_acquire', 'proxy_pool_release', 'proxy_pool_stats', 'proxy_pool_account']);
    expect(new Set(names).size).to.equal(names.length);
    const create = tools.find((t) => t.name === 'create_port')!;
    expect(create.inputSchema.required).to.deep.equal(['country']);
  });

  it('buys a slot, creates a port with the psx_ key, rotates it and reads its history', async () => {
    const summary = await call('get_account_summary');
    expect(summary.isError, summary.text).to.not.equal(true);
    expect(summary.structuredContent.balance).to.equal(30);
    expect((await call('create_port', { country: 'DE' })).text).to.contain('NO_AVAILABLE_SLOTS');

    const slots = await call('purchase_port_slots', { quantity: 1 });
    expect(slots.isError, slots.text).to.not.equal(true);
    expect(slots.structuredContent).to.include({ success: true, quantity: 1, category: 'shared' });
    const created = await call('create_port', { country: 'de' });
    expect(created.isError, created.text).to.not.equal(true);
    const port = created.structuredContent;
    expect(created.text).to.contain('Port created.').and.to.contain(port.connection.http);
    expect(port.connection.http).to.equal(`http://${port.proxyLogin}:${port.proxyPassword}@${port.serverIp}:${port.httpPort}`);
    const listed = await call('list_ports');
    expect(listed.structuredContent.data.map((p: any) => p.id)).to.deep.equal([port.id]);

    expect((await call('check_rotation_availability', { port_id: port.id })).structuredContent.canRotate).to.equal(true);
    const rotated = await call('rotate_port', { port_id: port.id });
    expect(rotated.isError, rotated.text).to.not.equal(true);
    expect(rotated.structuredContent).to.include({ success: true, portId: port.id, rotationCount: 1 });
    expect(rotated.structuredContent.newDeviceId).to.not.equal(rotated.structuredContent.oldDeviceId);
    const again = await call('rotate_port', { port_id: port.id }); // shared: 5 minutes between rotations
    expect(again.isError).to.equal(true);
    expect((await call('check_rotation_availability', { port_id: port.id })).structuredContent.canRotate).to.equal(false);

    const history = await call('get_rotation_history', { port_id: port.id });
    expect(history.structuredContent.total).to.equal(1);
    expect(history.structuredContent.rotations[0]).to.include({ triggerType: 'manual', success: true, fromDeviceId: rotated.structuredContent.oldDeviceId, toDeviceId: rotated.structuredContent.newDeviceId });
    expect(history.text).to.contain('1 rotation(s)');

    const link = await call('get_rotation_token_url', { port_id: port.id });
    expect(link.text).to.equal(`${service.url}/rotate/${port.rotationToken}`);
    const auto = await call('configure_auto_rotation', { port_id: port.id, interval_minutes: 30 });
    expect(auto.structuredContent).to.include({ enabled: true, intervalMinutes: 30 });
    const price = await call('calculate_price', { traffic_gb: 2 });
    expect(price.structuredContent).to.include({ amountGB: 2, totalPrice: 8 });
    const deleted = await call('delete_port', { port_id: port.id });
    expect(deleted.isError, deleted.text).to.not.equal(true);
    expect((await call('list_ports')).structuredContent.total).to.equal(0);
  });

  it('leases a checked pool proxy with the pp_ key, spends a credit and releases it', async () => {
    let listed: any;
    for (let i = 0; i < 150; i++) { // the service's checker runs every 100 ms; a check takes one request through tinyproxy
      listed = await call('proxy_pool_list_proxies', { status: 'active' });
      if (listed.structuredContent?.items?.length) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(listed.structuredContent.items, listed.text).to.have.length(1);
    expect(listed.structuredContent.items[0]).to.include({ ip: '127.0.0.1', port: tinyproxy.port, status: 'active' });

    const { protocol } = listed.structuredContent.items[0];
    const lease = await call('proxy_pool_acquire', { protocol, lease_duration_seconds: 300 });
    expect(lease.isError, lease.text).to.not.equal(true);
    expect(lease.structuredContent).to.include({ url: `${protocol}://127.0.0.1:${tinyproxy.port}`, credits_remaining: 4 });
    const account = await call('proxy_pool_account');
    expect(account.structuredContent.credits.balance).to.equal(4);
    expect(account.structuredContent.leases.map((l: any) => l.lease_id)).to.deep.equal([lease.structuredContent.lease_id]);
    expect((await call('proxy_pool_release')).isError).to.not.equal(true);
    expect((await call('proxy_pool_account')).structuredContent.leases).to.deep.equal([]);
    const stats = await call('proxy_pool_stats');
    expect(stats.structuredContent.by_status.active).to.equal(1);
    expect(stats.text).to.contain('1 proxies');
  });

  it('answers a tool error, not a crash, when a key is wrong or missing input is bad', async () => {
    const bad = await call('get_port', { port_id: 'nope' });
    expect(bad.isError).to.equal(true);
    expect(bad.structuredContent.error.status).to.be.within(400, 499);
  });
});
