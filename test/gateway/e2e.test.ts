import { expect } from 'chai';
import { SocksClient } from 'socks';
import { ProxyAgent, request } from 'undici';
import { trafficStreamId } from '../../domain/traffic/metered.ts';
import { DeviceProber } from '../../src/gateway/prober.ts';
import { api } from '../support/service.ts';
import { testRedisUrl } from '../support/services.ts';
import { admin, registerDevice, startPaidService } from '../support/x402.ts';
import { curl, deadPort, startHttpModem, startOrigin, startSocksModem, waitFor, caughtUp, type Modem, type Origin } from './listeners/helpers.ts';

/**
 * The whole gateway with its real brain: credentials from paid purchases, pool scores from health
 * reports, local "modems" (HTTP CONNECT and SOCKS5 proxies) in front of a local origin, real clients.
 */
describe('gateway end to end (real brain, real clients, local modems)', function () {
  this.timeout(120_000);
  let world: Awaited<ReturnType<typeof startPaidService>>;
  let origin: Origin;
  let modemA: Modem;
  let modemB: Modem;
  let http: number;
  let socks: number;
  let user: string;
  let pass: string;
  let token: { 'x-session-token': string };
  const devices: Record<string, string> = {};
  const target = () => `http://127.0.0.1:${origin.port}`;
  const viaHttp = (u: string, p: string, path: string, extra: string[] = []) => curl(['-x', `http://${u}:${p}@127.0.0.1:${http}`, ...extra, `${target()}${path}`]);
  const online = (id: string) => api(world.service.url, 'POST', `/v1/admin/devices/${id}/health`, { online: true, latencyMs: 50, ip: '100.64.0.1' }, admin);
  const settle = async () => {
    // a client sees its socket close a moment before the gateway has metered that tunnel
    await waitFor(() => world.service.gateway!.gateway.stats().tunnels === 0, 'tunnels to close');
    await world.service.gateway!.meter.flush();
    await caughtUp(world.service.infra);
  };

  before(async () => {
    [origin, modemA, modemB] = await Promise.all([startOrigin(), startHttpModem(), startSocksModem()]);
    const ports = await Promise.all([deadPort(), deadPort(), deadPort()]);
    [http, socks] = [ports[0]!, ports[1]!];
    world = await startPaidService({
      ROLES: 'api,projector,worker,gateway', GATEWAY_HOST: '127.0.0.1',
      GATEWAY_HTTP_PORT: String(ports[0]), GATEWAY_SOCKS_PORT: String(ports[1]), GATEWAY_HEALTH_PORT: String(ports[2]),
      GATEWAY_ALLOWED_PRIVATE_CIDRS: '127.0.0.0/8,::1/128', GATEWAY_METER_FLUSH_MS: '60000',
      GATEWAY_MAX_CONNECTIONS_PER_ACCOUNT: '3', GATEWAY_MAX_SESSIONS_PER_ACCOUNT: '2',
    });
    devices.a = await registerDevice(world.service, 'US', { upstream: modemA.url, slots: 4 });
    devices.b = await registerDevice(world.service, 'US', { upstream: modemB.url, slots: 4 });
    devices.deadDe = await registerDevice(world.service, 'DE', { upstream: `http://u:p@127.0.0.1:${await deadPort()}`, carrier: { name: 'Vodafone', brand: 'Vodafone' } });
    devices.de = await registerDevice(world.service, 'DE', { upstream: modemA.url, carrier: { name: 'Vodafone', brand: 'Vodafone' } });
    for (const id of Object.values(devices)) await online(id);
    // the live DE modem reports a poor latency, so the dead one ranks first there
    await api(world.service.url, 'POST', `/v1/admin/devices/${devices.de}/health`, { online: true, latencyMs: 4000, ip: '100.64.0.9' }, admin);
    const tx = await world.chains.base.payUsdc(4_000_000n);
    const bought = await api(world.service.url, 'GET', '/v1/x402/pool?tier=mbl&country=us&traffic=1', undefined, { 'payment-signature': tx });
    expect(bought.status, JSON.stringify(bought.body)).to.equal(200);
    ({ username: user, password: pass } = bought.body);
    token = { 'x-session-token': bought.body.sessionToken };
    expect(bought.body.connection.http).to.equal(`http://${user}-mbl-us:${pass}@127.0.0.1:${http}`);
  });
  after(async () => {
    await world?.stop();
    await Promise.all([origin?.close(), modemA?.close(), modemB?.close()]);
  });

  it('carries pool traffic with curl over HTTP (plain and CONNECT) and SOCKS5, and with undici and socks', async () => {
    const plain = await viaHttp(`${user}-mbl-us`, pass, '/bytes/100000');
    expect(plain.status, plain.stderr).to.equal(200);
    expect(plain.body.length).to.equal(100_000);
    const tunnel = await viaHttp(`${user}-mbl-us`, pass, '/bytes/50000', ['-p']);
    expect(tunnel.status, tunnel.stderr).to.equal(200);
    expect(tunnel.body.length).to.equal(50_000);
    const socks5 = await curl(['--socks5-hostname', `127.0.0.1:${socks}`, '--proxy-user', `${user}-mbl-us:${pass}`, `${target()}/bytes/70000`]);
    expect(socks5.status, socks5.stderr).to.equal(200);
    expect(socks5.body.length).to.equal(70_000);
    const agent = new ProxyAgent({ uri: `http://127.0.0.1:${http}`, token: `Basic ${Buffer.from(`${user}-mbl-us:${pass}`).toString('base64')}` });
    const viaUndici = await request(`${target()}/echo`, { dispatcher: agent });
    expect(viaUndici.statusCode).to.equal(200);
    await viaUndici.body.text();
    await agent.close();
    const { socket } = await SocksClient.createConnection({
      proxy: { host: '127.0.0.1', port: socks, type: 5, userId: `${user}-mbl-us`, password: pass },
      command: 'connect', destination: { host: '127.0.0.1', port: origin.port },
    });
    socket.write('GET /bytes/10 HTTP/1.0\r\nHost: x\r\n\r\n');
    const raw = await new Promise<string>((resolve) => { let s = ''; socket.on('data', (d) => { s += d; }); socket.on('end', () => resolve(s)); });
    expect(raw).to.match(/^HTTP\/1\.[01] 200/);
    expect(modemA.tunnels + modemB.tunnels).to.be.greaterThanOrEqual(5);
  });

  it('meters bytes into the event stream in batches and the balance read models', async () => {
    await settle();
    const usage = (await api(world.service.url, 'GET', '/v1/x402/manage/pool/usage', undefined, token)).body;
    expect(Number(usage.bytesDown)).to.be.greaterThan(220_000);
    expect(Number(usage.bytesUp)).to.be.greaterThan(0);
    expect(usage.connections).to.be.greaterThanOrEqual(5);
    expect(BigInt(usage.traffic.usedBytes)).to.equal(BigInt(usage.bytesUp) + BigInt(usage.bytesDown));
    const accountId = user.slice('psx_'.length);
    const metered = [];
    for await (const e of world.service.infra.store.readStream(trafficStreamId('pool', accountId))) metered.push(e);
    expect(metered.length).to.be.within(1, 3); // one flush here, not one event per chunk or connection
  });

  it('keeps a sticky sid on one modem and re-picks for ondemand', async () => {
    const tunnels = () => [modemA.tunnels, modemB.tunnels];
    const used = async (u: string) => {
      const before = tunnels();
      expect((await viaHttp(u, pass, '/bytes/10', ['-p'])).status).to.equal(200);
      const after = tunnels();
      return after[0]! > before[0]! ? 'a' : 'b';
    };
    const sticky = [];
    for (let i = 0; i < 3; i++) sticky.push(await used(`${user}-mbl-us-sid-bot00001-rot-sticky`));
    expect(new Set(sticky).size).to.equal(1);
    const ondemand = [];
    for (let i = 0; i < 3; i++) ondemand.push(await used(`${user}-mbl-us-sid-bot00002-rot-ondemand`));
    expect(ondemand[0]).to.not.equal(ondemand[1]);
    expect(ondemand[1]).to.not.equal(ondemand[2]);
  });

  it('answers every documented error with its status and CODE: message (req: id) body', async () => {
    const check = async (result: Awaited<ReturnType<typeof curl>>, status: number, code: string) => {
      expect(result.status, result.body.toString()).to.equal(status);
      expect(result.body.toString()).to.match(new RegExp(`^${code}: .+ \\(req: [\\w-]+\\)`));
    };
    await check(await curl(['-x', `http://127.0.0.1:${http}`, `${target()}/x`]), 407, 'E_AUTH_REQUIRED');
    await check(await viaHttp(`${user}-mbl-us`, 'wrong-password', '/x'), 407, 'E_AUTH_INVALID');
    await check(await viaHttp(`${user}-gold-us`, pass, '/x'), 400, 'E_USERNAME_PARSE');
    const noStock = await viaHttp(`${user}-mbl-fr`, pass, '/x');
    await check(noStock, 502, 'E_NO_STOCK_COUNTRY');
    expect(noStock.body.toString()).to.match(/try -(us|de)-/);
    await check(await viaHttp(`${user}-peer-us`, pass, '/x'), 502, 'E_NO_STOCK_COUNTRY');
    await check(await curl(['-x', `http://${user}-mbl-us:${pass}@127.0.0.1:${http}`, 'http://169.254.169.254/latest/meta-data']), 403, 'E_SSRF_BLOCKED');
    await check(await curl(['-x', `http://${user}-mbl-us:${pass}@127.0.0.1:${http}`, 'http://10.1.2.3/']), 403, 'E_SSRF_BLOCKED');
    // DE: the first-ranked modem is dead → E_STOCK_DEGRADED; a retry goes to another modem
    await check(await viaHttp(`${user}-mbl-de`, pass, '/x'), 502, 'E_STOCK_DEGRADED');
    expect((await viaHttp(`${user}-mbl-de`, pass, '/bytes/10')).status).to.equal(200);
    // sessions: 2 per account here (50 in production), both taken by the sticky test; known sids still work
    await check(await viaHttp(`${user}-mbl-us-sid-limit0001`, pass, '/x'), 429, 'E_SESSION_LIMIT');
    expect((await viaHttp(`${user}-mbl-us-sid-bot00001-rot-sticky`, pass, '/bytes/1')).status).to.equal(200);
  });

  it('limits concurrent connections per account', async () => {
    const slow = Array.from({ length: 3 }, () => curl(['--max-time', '3', '-x', `http://${user}-mbl-us:${pass}@127.0.0.1:${http}`, `${target()}/slow`]));
    await new Promise((r) => setTimeout(r, 500));
    const fourth = await viaHttp(`${user}-mbl-us`, pass, '/x');
    expect(fourth.status).to.equal(429);
    expect(fourth.body.toString()).to.match(/^E_RATE_LIMITED_CONN: /);
    await Promise.all(slow);
  });

  it('routes dedicated x402 port credentials to their own modem and debits the session balance', async () => {
    const tx = await world.chains.base.payUsdc(400_000n);
    const port = (await api(world.service.url, 'GET', '/v1/x402/proxy?country=US&traffic=0.1', undefined, { 'payment-signature': tx })).body;
    await caughtUp(world.service.infra);
    const device = (await world.service.infra.database.db.selectFrom('x402_ports').select('device_id').where('port_id', '=', port.portId).executeTakeFirstOrThrow()).device_id;
    const modem = device === devices.a ? modemA : modemB;
    const before = modem.tunnels;
    const res = await curl(['-x', `http://${port.username}:${port.password}@127.0.0.1:${http}`, `${target()}/bytes/30000`]);
    expect(res.status, res.stderr).to.equal(200);
    expect(modem.tunnels).to.equal(before + 1);
    const viaSocks = await curl(['--socks5-hostname', `127.0.0.1:${socks}`, '--proxy-user', `${port.username}:${port.password}`, `${target()}/bytes/100`]);
    expect(viaSocks.status).to.equal(200);
    await settle();
    const credit = (await api(world.service.url, 'GET', '/v1/x402/manage/session/credit', undefined, { 'x-session-token': port.sessionToken })).body;
    expect(Number(credit.traffic.usedBytes)).to.be.greaterThan(30_000);
  });

  it('cuts the old password off at once when it is regenerated, live tunnels included', async () => {
    const live = curl(['--max-time', '10', '-x', `http://${user}-mbl-us:${pass}@127.0.0.1:${http}`, `${target()}/slow`]);
    await new Promise((r) => setTimeout(r, 300));
    const regenerated = (await api(world.service.url, 'POST', '/v1/x402/manage/pool/regenerate', {}, token)).body;
    const cut = await live;
    expect(cut.exitCode).to.not.equal(28); // closed by the gateway, not by curl's own timeout
    expect((await viaHttp(`${user}-mbl-us`, pass, '/x')).status).to.equal(407);
    pass = regenerated.password;
    expect((await viaHttp(`${user}-mbl-us`, pass, '/bytes/10')).status).to.equal(200);
  });

  it('closes tunnels and refuses new ones when the traffic balance runs out', async () => {
    const live = curl(['--max-time', '10', '-x', `http://${user}-mbl-us:${pass}@127.0.0.1:${http}`, `${target()}/slow`]);
    await new Promise((r) => setTimeout(r, 300));
    const accountId = user.slice('psx_'.length);
    const usage = (await api(world.service.url, 'GET', '/v1/x402/manage/pool/usage', undefined, token)).body;
    const left = BigInt(usage.traffic.remainingBytes) - 50_000n;
    const { store, projector } = world.service.infra;
    await store.append(trafficStreamId('pool', accountId), [{
      type: 'TrafficMetered',
      data: { accountKind: 'pool', accountId, bytesUp: '0', bytesDown: left.toString(), connections: 0, from: new Date().toISOString(), to: new Date().toISOString(), gateway: 'test' },
      metadata: { correlationId: 'test', causationId: null, actor: 'test', occurredAt: new Date().toISOString() },
    }], { expectedRevision: 'any' });
    await caughtUp(world.service.infra);
    // a tunnel that carries past the balance is revoked at its next meter report
    const auth = await world.service.gateway!.brain.authenticate({ username: `${user}-mbl-us`, password: pass, protocol: 'http', clientAddress: '127.0.0.2' });
    expect(auth.ok, JSON.stringify(auth)).to.equal(true);
    if (auth.ok) {
      auth.lease.meter(10_000, 10_000);
      expect(auth.lease.revoked.aborted).to.equal(false);
      auth.lease.meter(0, 40_000);
      expect(auth.lease.revoked.aborted).to.equal(true);
      auth.lease.end();
    }
    // and one opened before is closed too (also when the gateway re-reads balances spent elsewhere)
    await world.service.gateway!.brain.refresh();
    expect((await live).exitCode).to.not.equal(28);
    const refused = await viaHttp(`${user}-mbl-us`, pass, '/x');
    expect(refused.status).to.equal(407);
    expect(refused.body.toString()).to.match(/^E_AUTH_INVALID: no traffic balance left/);
  });

  it('stops choosing a modem whose probes fail: its pool score falls to zero', async () => {
    const prober = new DeviceProber({ db: world.service.infra.database.db, store: world.service.infra.store, clock: world.service.infra.clock, secrets: world.service.infra.secrets }, { probeUrl: `${target()}/echo`, timeoutMs: 2000 });
    const { rankedDevices } = await import('../../projections/pool-scores.ts');
    const rank = async () => (await rankedDevices(world.service.infra.database.db, { countryCode: 'US', tier: 'shared', limit: 10 })).map((d) => d.deviceId);
    expect(await rank()).to.include.members([devices.a!, devices.b!]);
    await modemB.close();
    await prober.tick();
    await caughtUp(world.service.infra);
    expect(await rank()).to.include(devices.a!).and.not.include(devices.b!);
  });

  it('shares the auth back-off between gateway instances through Redis', async function () {
    const url = await testRedisUrl();
    if (!url) return this.skip();
    const { Redis } = await import('ioredis');
    const { MarketplaceBrain } = await import('../../src/gateway/brain.ts');
    const redis = new Redis(url);
    const opts = { rank: async () => [], limiterStore: { redis }, authFailures: { points: 2, perSeconds: 30, blockSeconds: 30, escalateAfterBlocks: 3, escalatedBlockSeconds: 300 } };
    const [one, two] = [new MarketplaceBrain(world.service.infra, world.service.gateway!.meter, opts), new MarketplaceBrain(world.service.infra, world.service.gateway!.meter, opts)];
    const client = `198.51.100.${Math.floor(Math.random() * 250)}:${Date.now()}`; // a fresh key: blocks live in Redis
    try {
      const attempt = (brain: InstanceType<typeof MarketplaceBrain>) => brain.authenticate({ username: `${user}-mbl-us`, password: 'nope', protocol: 'http', clientAddress: client });
      const codes = [];
      for (let i = 0; i < 3; i++) codes.push(((await attempt(one)) as { failure: { code: string } }).failure.code);
      expect(codes).to.deep.equal(['E_AUTH_INVALID', 'E_AUTH_INVALID', 'E_AUTH_INVALID']);
      // the other gateway instance has seen none of these failures itself, yet refuses the client
      expect(((await attempt(two)) as { failure: { code: string } }).failure.code).to.equal('E_RATE_LIMITED_AUTH');
    } finally {
      one.close();
      two.close();
      redis.disconnect();
    }
  });

  it('backs off clients that keep failing to authenticate (last: it blocks 127.0.0.1)', async () => {
    // 5 failures within 30 s are allowed (earlier tests used some); the next attempts are refused outright
    const codes = [];
    for (let i = 0; i < 8; i++) codes.push((await viaHttp(`${user}-mbl-us`, 'nope', '/x')).body.toString().split(':')[0]);
    const firstBlocked = codes.indexOf('E_RATE_LIMITED_AUTH');
    expect(firstBlocked, codes.join(',')).to.be.within(1, 6);
    expect(codes.slice(0, firstBlocked).every((c) => c === 'E_AUTH_INVALID')).to.equal(true);
    expect(codes.slice(firstBlocked).every((c) => c === 'E_RATE_LIMITED_AUTH')).to.equal(true);
    const blocked = await viaHttp(`${user}-mbl-us`, pass, '/x');
    expect(blocked.status).to.equal(429);
  });
});
