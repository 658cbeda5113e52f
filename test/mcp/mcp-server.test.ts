import { expect } from 'chai';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { startBaseMainnetDevnet, type BaseMainnetDevnet } from '../../adapters/chains/evm/base-mainnet.ts';
import { usdcBalance } from '../../adapters/chains/evm/deploy.ts';
import { devClients } from '../../adapters/chains/evm/anvil.ts';
import { fixedClock } from '../../src/clock.ts';
import { api, startTestService } from '../support/service.ts';
import { databaseKinds } from '../support/services.ts';
import { registerDevice } from '../support/x402.ts';

/** `npm run mcp` as an MCP client sees it: the SDK's own client over stdio, against the running service on a devnet. */
describe('npm run mcp (our MCP server over stdio)', function () {
  this.timeout(120_000);
  const clock = fixedClock(new Date());
  let chain: BaseMainnetDevnet;
  let service: Awaited<ReturnType<typeof startTestService>>;
  let client: Client;
  let bought: any;

  const call = async (name: string, args: Record<string, unknown> = {}) => {
    const r = (await client.callTool({ name, arguments: args })) as { isError?: boolean; content: Array<{ type: string; text: string }>; structuredContent?: any };
    return { ...r, text: r.content.map((c) => c.text).join('\n') };
  };

  before(async () => {
    chain = await startBaseMainnetDevnet({ agentFundsMicro: 50_000_000n });
    // The wallet signs x402 authorizations by the wall clock; the service checks them by this injected clock, which
    // the rotation test moves 5 min ahead: a window wider than that keeps the later payments valid.
    service = await startTestService((await databaseKinds())[0]!, clock, { ...chain.env, X402_MAX_TIMEOUT_SECONDS: '3600' });
    await registerDevice(service, 'US', { slots: 2 });
    await registerDevice(service, 'US', { slots: 2 });
    const transport = new StdioClientTransport({
      command: 'npm', args: ['run', '-s', 'mcp'], cwd: process.cwd(), stderr: 'pipe',
      env: { ...process.env as Record<string, string>, PROXIES_API_URL: service.url, AGENT_WALLET_KEY: chain.agent.privateKey, BASE_RPC_URL: chain.anvil.rpcUrl },
    });
    client = new Client({ name: 'test-client', version: '1.0.0' });
    await client.connect(transport);
  });
  after(async () => { await client?.close(); await service?.stop(); await chain?.anvil.stop(); });

  it('lists the tools with seed 000 names and zod-made input schemas', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    expect(names).to.include.members(['x402_get_proxy', 'x402_get_pricing', 'x402_wallet_balance', 'x402_rotate_ip', 'x402_extend_session', 'x402_list_sessions', 'x402_check_session',
      'x402_list_countries', 'x402_list_cities', 'x402_list_carriers', 'x402_service_status', 'get_x402_session', 'list_x402_ports', 'get_x402_port_status', 'get_sessions_by_wallet',
      'get_session_status', 'replace_x402_port', 'calculate_x402_topup', 'topup_x402_session', 'list_available_countries', 'get_proxy_connection_string', 'get_all_proxy_formats']);
    const buy = tools.find((t) => t.name === 'x402_get_proxy')!;
    expect(buy.inputSchema.required).to.deep.equal(['country']);
    expect(Object.keys(buy.inputSchema.properties!)).to.include.members(['country', 'traffic_gb', 'duration_hours', 'tier']);
  });

  it('reports the service and the wallet, and refuses bad input as a tool error', async () => {
    const status = await call('x402_service_status');
    expect(status.text).to.contain('API: online; payments enabled');
    expect(status.structuredContent.health.status).to.equal('ok');
    const balance = await call('x402_wallet_balance');
    expect(balance.structuredContent).to.include({ address: chain.agent.address, usdc: '50.00', network: 'eip155:8453' });
    const bad = await call('x402_list_cities', { country: 'USA' });
    expect(bad.isError).to.equal(true);
    const noStock = await call('x402_get_proxy', { country: 'FR' });
    expect(noStock.isError).to.equal(true);
    expect(noStock.text).to.contain('NO_STOCK');
  });

  it('buys a proxy with the wallet (x402 exact, settled by the service), checks its session and rotates', async () => {
    const r = await call('x402_get_proxy', { country: 'US', traffic_gb: 0.5, duration_hours: 2 });
    expect(r.isError, r.text).to.not.equal(true);
    bought = r.structuredContent;
    expect(r.text).to.contain('Proxy purchased.').and.to.contain(bought.connection.http);
    expect(bought.proxy.username).to.match(/^x402_/);
    expect(bought.payment).to.include({ network: 'base', amount: '2.00', proof: 'x402_exact', payer: chain.agent.address });
    const { publicClient } = devClients(chain.anvil, chain.agent.privateKey);
    expect(await usdcBalance(publicClient, chain.usdc, chain.agent.address)).to.equal(48_000_000n);
    expect(await usdcBalance(publicClient, chain.usdc, chain.recipient)).to.equal(2_000_000n);

    const check = await call('x402_check_session');
    expect(check.structuredContent).to.deep.include({ id: bought.sessionId, status: 'active' });
    expect(check.structuredContent.traffic.allowedGB).to.equal(0.5);
    expect(check.text).to.contain(`Session ${bought.sessionId}: active`);
    const session = await call('get_x402_session');
    expect(session.structuredContent.ports).to.have.length(1);
    const listed = await call('x402_list_sessions');
    expect(listed.structuredContent.sessions.map((s: any) => s.sessionId)).to.deep.equal([bought.sessionId]);

    const before = (await api(service.url, 'GET', '/v1/x402/manage/ports', undefined, { 'x-session-token': bought.sessionToken })).body.ports[0];
    const rotated = await call('x402_rotate_ip');
    expect(rotated.isError, rotated.text).to.not.equal(true);
    expect(rotated.structuredContent).to.include({ success: true, portId: before.portId });
    const after = (await api(service.url, 'GET', '/v1/x402/manage/ports', undefined, { 'x-session-token': bought.sessionToken })).body.ports[0];
    expect(after.rotations).to.equal(1);
    const tooSoon = await call('x402_rotate_ip'); // shared ports: a cooldown between rotations
    expect(tooSoon.isError).to.equal(true);
    expect(tooSoon.text).to.contain('ROTATION_COOLDOWN');
    clock.advance(5 * 60_000);
  });

  it('extends the session from the wallet and gives connection strings', async () => {
    const ext = await call('x402_extend_session', { additional_hours: 1 });
    expect(ext.isError, ext.text).to.not.equal(true);
    expect(new Date(ext.structuredContent.expiresAt).getTime() - new Date(bought.expiresAt).getTime()).to.equal(3600_000);
    const formats = await call('get_all_proxy_formats');
    expect(formats.structuredContent.http).to.equal(bought.connection.http);
    expect((await call('get_proxy_connection_string', { format: 'curl' })).text).to.equal(`curl -x ${bought.connection.http} https://api.ipify.org`);
  });
});
