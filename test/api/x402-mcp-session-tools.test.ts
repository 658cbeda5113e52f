import { expect } from 'chai';
import { api } from '../support/service.ts';
import { admin, registerDevice, startPaidService } from '../support/x402.ts';
import { startHttpModem, type Modem } from '../gateway/listeners/helpers.ts';

/**
 * The requests of the official Proxies.sx MCP server's x402 session tools (bolivian-peru/proxies-sx-mcp-server,
 * src/tools/x402-session.ts), as it sends them: GETs under /x402 with X-Session-Token as a header; its POSTs (replace,
 * top-up) pass their "headers" as the query-parameter argument of its client, so the token and the payment signature
 * arrive as ?X-Session-Token=…&Payment-Signature=…. Errors throw the body's top-level message. The assertions name
 * the fields each tool prints.
 */
function officialX402Client(base: string) {
  const call = async (method: string, path: string, { query, headers, body }: { query?: Record<string, string>; headers?: Record<string, string>; body?: unknown } = {}) => {
    const url = new URL(base + path);
    for (const [k, v] of Object.entries(query ?? {})) url.searchParams.append(k, v);
    const r = await fetch(url, { method, headers: { 'Content-Type': 'application/json', ...headers }, body: body ? JSON.stringify(body) : undefined });
    const json = (await r.json()) as any;
    if (!r.ok) throw Object.assign(new Error(json?.message || `HTTP ${r.status}: ${r.statusText}`), { statusCode: r.status });
    return json;
  };
  return {
    session: (token: string) => call('GET', '/x402/manage/session', { headers: { 'X-Session-Token': token } }),
    ports: (token: string) => call('GET', '/x402/manage/ports', { headers: { 'X-Session-Token': token } }),
    portStatus: (token: string, portId: string) => call('GET', `/x402/manage/ports/${portId}/status`, { headers: { 'X-Session-Token': token } }),
    byWallet: (wallet: string) => call('GET', `/x402/sessions/wallet/${wallet}?status=active`),
    status: (id: string) => call('GET', `/x402/sessions/${id}/status`),
    calculate: (token: string, addTrafficGB: number) => call('GET', `/x402/manage/session/topup/calculate?addTrafficGB=${addTrafficGB}`, { headers: { 'X-Session-Token': token } }),
    topup: (token: string, tx: string, addTrafficGB: number) => call('POST', '/x402/manage/session/topup', { body: { addTrafficGB }, query: { 'X-Session-Token': token, 'Payment-Signature': tx } }),
    replace: (token: string, portId: string) => call('POST', '/x402/manage/ports/replace', { body: { portId, country: 'US' }, query: { 'X-Session-Token': token } }),
  };
}

describe('the official MCP server\'s x402 session tools read what they print', function () {
  this.timeout(120_000);
  let world: Awaited<ReturnType<typeof startPaidService>>;
  let modems: Modem[] = [];
  const devices: string[] = [];
  before(async () => {
    modems = await Promise.all([startHttpModem(), startHttpModem()]);
    world = await startPaidService({ WORKER_INTERVAL_MS: '3600000' });
    for (const [i, m] of modems.entries()) {
      devices.push(await registerDevice(world.service, 'US', { name: `modem-us-${i}`, upstream: m.url, slots: 2 }));
      await api(world.service.url, 'POST', `/v1/admin/devices/${devices[i]}/health`, { online: true, latencyMs: 40, ip: `100.64.2.${i + 1}` }, admin);
    }
  });
  after(async () => {
    await world?.stop();
    await Promise.all(modems.map((m) => m.close()));
  });

  it('get_x402_session, list_x402_ports, get_x402_port_status, get_sessions_by_wallet, get_session_status, calculate/topup, replace', async () => {
    const url = world.service.url;
    const path = '/v1/x402/proxy?country=US&traffic=1&duration=86400';
    const quote = await api(url, 'GET', path);
    const tx = await world.chains.base.payUsdc(BigInt(quote.body.priceMicro));
    const bought = (await api(url, 'GET', path, undefined, { 'payment-signature': tx })).body;
    const c = officialX402Client(url);
    const token = bought.sessionToken;

    const s = await c.session(token);
    expect(s).to.include({ sessionId: bought.sessionId, walletAddress: bought.payment.payer, network: 'base', tier: 'shared', isActive: true, amountUSDC: '4.00', txHash: tx, trafficAllocatedGB: 1, trafficUsedGB: 0 });
    const p = s.ports[0];
    expect(p).to.include({ id: bought.portId, expiresAt: s.expiresAt });
    expect(p.http).to.equal(`http://${bought.username}:YOUR_PASSWORD@${bought.host}:${bought.httpPort}`);
    expect(p.socks5).to.equal(`socks5://${bought.username}:YOUR_PASSWORD@${bought.host}:${bought.socksPort}`);
    expect(p.rotationUrl).to.match(/\/rotate\/YOUR_ROTATION_TOKEN$/);

    const listed = (await c.ports(token)).ports[0];
    expect(listed).to.include({ id: bought.portId, http: p.http, socks5: p.socks5, rotationUrl: p.rotationUrl });
    expect(listed.expiresInSeconds).to.equal(86_400);

    expect(await c.portStatus(token, bought.portId)).to.include({ id: bought.portId, status: 'active', http: p.http, socks5: p.socks5, expiresAt: s.expiresAt, expiresInSeconds: 86_400 });

    const mine = await c.byWallet(bought.payment.payer);
    expect(mine.total).to.equal(1);
    expect(mine.sessions[0]).to.include({ sessionId: bought.sessionId, isActive: true, tier: 'shared', portCount: 1, amountUSDC: '4.00', trafficUsedGB: 0, trafficAllocatedGB: 1, txHash: tx });

    const st = await c.status(bought.sessionId);
    expect(st).to.include({ id: bought.sessionId, walletAddress: bought.payment.payer, status: 'active' });
    expect(st.traffic).to.include({ percentUsed: 0, allowedGB: 1, usedGB: 0, remainingGB: 1 });

    const calc = await c.calculate(token, 1);
    expect(calc).to.include({ trafficCost: '4.00', durationCost: '0.00', totalCost: 4 });
    expect(calc.breakdown).to.deep.equal({ addTrafficGB: 1, addDurationSeconds: 0, trafficPricePerGB: '4.00', tier: 'shared' });

    const tx2 = await world.chains.base.payUsdc(4_000_000n);
    const topped = await c.topup(token, tx2, 1);
    expect(topped).to.include({ sessionId: bought.sessionId, trafficAllocatedGB: 2, expiresAt: s.expiresAt });
    expect(topped.payment).to.include({ txHash: tx2, network: 'base', amountUSDC: '4.00' });

    // replace_x402_port: the port's modem goes offline first (only offline ports are replaced)
    const busy = (await api(url, 'GET', '/v1/admin/devices', undefined, admin)).body.devices.find((d: any) => d.allocatedSlots > 0);
    expect(devices).to.include(busy.id);
    await api(url, 'POST', `/v1/admin/devices/${busy.id}/health`, { online: false }, admin);
    const replaced = await c.replace(token, bought.portId);
    expect(replaced.portId).to.equal(replaced.port.portId);
    expect(replaced.proxy).to.deep.equal({ ...replaced.port.connection, expiresAt: s.expiresAt });
    expect(replaced.rotationUrl).to.equal(replaced.port.rotationUrl);
    expect(replaced.traffic).to.deep.equal({ allocatedGB: 2, usedGB: 0, remainingGB: 2 });
    expect(replaced.location).to.deep.equal({ country: 'United States', countryCode: 'US' });
  });
});
