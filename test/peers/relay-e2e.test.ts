import { once } from 'node:events';
import net from 'node:net';
import { expect } from 'chai';
import type { TunnelEnd } from '../../adapters/relay/link.ts';
import { peerStreamId } from '../../domain/peers/events.ts';
import { api } from '../support/service.ts';
import { registerDevice, startPaidService } from '../support/x402.ts';
import { startAgentProcess, SdkLikePeer, type AgentProcess } from '../support/peers.ts';
import { curl, deadPort, startOrigin, type Origin } from '../gateway/listeners/helpers.ts';

/**
 * The peer network end to end on loopback: the reference agent as a child process, the relay and the
 * gateway in the service, curl as the buyer. Loopback peers are classified by PEER_IP_OVERRIDES:
 * 127.0.0.1 mobile US (the agent), 127.0.0.2 residential DE and 127.0.0.3 datacenter FR (test peers).
 */
describe('peer network end to end (agent process, relay, gateway peer pool, curl)', function () {
  this.timeout(120_000);
  let world: Awaited<ReturnType<typeof startPaidService>>;
  let origin: Origin;
  let agent: AgentProcess;
  let http: number;
  let socks: number;
  let user: string;
  let pass: string;
  let relayUrl: string;
  const ends: Array<{ deviceId: string; end: TunnelEnd }> = [];
  const target = () => `http://127.0.0.1:${origin.port}`;
  const register = async (name: string) => (await api(world.service.url, 'POST', '/v1/peer/agents/register', { name, type: 'android' })).body;

  before(async () => {
    origin = await startOrigin();
    const ports = await Promise.all([deadPort(), deadPort(), deadPort()]);
    [http, socks] = [ports[0]!, ports[1]!];
    world = await startPaidService({
      ROLES: 'api,projector,worker,gateway,relay', GATEWAY_HOST: '127.0.0.1', RELAY_HOST: '127.0.0.1', RELAY_PORT: '0',
      GATEWAY_HTTP_PORT: String(ports[0]), GATEWAY_SOCKS_PORT: String(ports[1]), GATEWAY_HEALTH_PORT: String(ports[2]),
      GATEWAY_ALLOWED_PRIVATE_CIDRS: '127.0.0.0/8,::1/128', PEER_JWT_SECRET: 'e2e-'.repeat(10), PEER_REGISTRATIONS_PER_MINUTE: '100',
      PEER_IP_OVERRIDES: '127.0.0.2/32=residential:DE,127.0.0.3/32=datacenter:FR,127.0.0.0/8=mobile:US',
      PEER_TRAFFIC_FLUSH_MS: '300', RELAY_OPEN_TIMEOUT_MS: '1500', RELAY_STALL_TIMEOUT_MS: '1500', RELAY_BACKPRESSURE_BYTES: String(1024 * 1024),
      RELAY_MESSAGES_PER_MINUTE: '20',
    });
    world.service.relay!.events.on('tunnel-end', (deviceId: string, end: TunnelEnd) => ends.push({ deviceId, end }));
    relayUrl = `ws://127.0.0.1:${world.service.relay!.port}`;
    agent = startAgentProcess(['--api', world.service.url, '--name', 'e2e-agent', '--country', 'US', '--allow-private', '--backoff-ms', '200', '--heartbeat-ms', '1000']);
    await agent.waitFor('connected');
    // the pool is sold where it can route (an online modem or peer): a US modem that never reported health is
    // not stock, the agent's US peer makes the purchase possible
    await registerDevice(world.service, 'US');
    const deadline = Date.now() + 10_000;
    while ((await api(world.service.url, 'GET', '/v1/x402/pool?tier=mbl&country=us&traffic=1')).status !== 402 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const tx = await world.chains.base.payUsdc(4_000_000n);
    const bought = await api(world.service.url, 'GET', '/v1/x402/pool?tier=mbl&country=us&traffic=1', undefined, { 'payment-signature': tx });
    expect(bought.status, JSON.stringify(bought.body)).to.equal(200);
    ({ username: user, password: pass } = bought.body);
  });
  after(async () => {
    await agent?.stop();
    await world?.stop();
    await origin?.close();
  });

  it('serves curl through psx_…-peer-us on both gateway ports, and the earnings show', async () => {
    const plain = await curl(['-x', `http://${user}-peer-us:${pass}@127.0.0.1:${http}`, `${target()}/bytes/300000`]);
    expect(plain.status, plain.stderr).to.equal(200);
    expect(plain.body.length).to.equal(300_000);
    const connect = await curl(['-p', '-x', `http://${user}-peer-us:${pass}@127.0.0.1:${http}`, `${target()}/bytes/200000`]);
    expect(connect.status, connect.stderr).to.equal(200);
    expect(connect.body.length).to.equal(200_000);
    const socks5 = await curl(['--socks5-hostname', `127.0.0.1:${socks}`, '--proxy-user', `${user}-peer-us:${pass}`, `${target()}/bytes/100000`]);
    expect(socks5.status, socks5.stderr).to.equal(200);
    expect(socks5.body.length).to.equal(100_000);
    const state = JSON.parse((await import('node:fs')).readFileSync(agent.stateFile, 'utf8'));
    let earnings: Awaited<ReturnType<typeof api>>;
    let served = 0n;
    const deadline = Date.now() + 5000;
    do {
      await world.service.relay!.flush();
      await world.service.infra.projector.waitFor(await world.service.infra.store.headPosition());
      earnings = await api(world.service.url, 'GET', `/v1/peer/agents/${state.deviceId}/earnings`, undefined, { authorization: `Bearer ${state.jwt}` });
      expect(earnings.status).to.equal(200);
      served = BigInt(earnings.body.totals.bytesDown) + BigInt(earnings.body.totals.bytesUp);
    } while (served < 600_000n && Date.now() < deadline);
    expect(served > 600_000n, String(served)).to.equal(true);
    expect(earnings.body.byDay[0]).to.include({ ipType: 'mobile', ratePerGB: 1.8 });
    expect(BigInt(earnings.body.totals.earnedMicro)).to.equal((served * 1_800_000n) / 1_000_000_000n);
    // one event per flush, never per chunk
    let flushes = 0;
    for await (const e of world.service.infra.store.readStream(peerStreamId(state.deviceId))) if (e.type === 'PeerTrafficServed') flushes++;
    expect(flushes).to.be.within(1, 6);
    const status = await api(world.service.url, 'GET', `/v1/peer/agents/${state.deviceId}/status`, undefined, { authorization: `Bearer ${state.jwt}` });
    expect(status.body).to.include({ online: true, ipType: 'mobile', country: 'US' });
  });

  it('answers E_NO_STOCK_COUNTRY for a country without peers or modems, and routes -any- to a peer when no modem is up', async () => {
    const none = await curl(['-x', `http://${user}-peer-jp:${pass}@127.0.0.1:${http}`, `${target()}/bytes/10`]);
    expect(none.status).to.equal(502);
    expect(none.body.toString()).to.match(/^E_NO_STOCK_COUNTRY/);
    // the US modem never reported health, so no modem is up: `any` takes the peer
    const any = await curl(['-x', `http://${user}-any-us:${pass}@127.0.0.1:${http}`, `${target()}/bytes/1000`]);
    expect(any.status, any.body.toString()).to.equal(200);
  });

  it('sells pool access for a country where only a peer is online (peer capacity counts as stock)', async () => {
    expect((await api(world.service.url, 'GET', '/v1/x402/pool?tier=mbl&country=de&traffic=1')).status).to.equal(503); // nobody in DE yet
    const reg = await register('de-only');
    const peer = await SdkLikePeer.connect(relayUrl, reg.jwt, { localAddress: '127.0.0.2', country: 'DE', behaviour: 'echo' });
    try {
      const deadline = Date.now() + 10_000;
      let quote: Awaited<ReturnType<typeof api>>;
      do quote = await api(world.service.url, 'GET', '/v1/x402/pool?tier=mbl&country=de&traffic=1');
      while (quote.status !== 402 && Date.now() < deadline && (await new Promise((r) => setTimeout(r, 100)), true));
      expect(quote.status, JSON.stringify(quote.body)).to.equal(402);
      const tx = await world.chains.base.payUsdc(4_000_000n);
      const bought = await api(world.service.url, 'GET', '/v1/x402/pool?tier=mbl&country=de&traffic=1', undefined, { 'payment-signature': tx });
      expect(bought.status, JSON.stringify(bought.body)).to.equal(200);
      const pricing = await api(world.service.url, 'GET', '/v1/x402/pool/pricing');
      const de = pricing.body.tiers?.[0]?.countries?.find((c: { code: string }) => c.code === 'DE');
      expect(pricing.status).to.equal(200);
      expect(de).to.include({ onlineDevices: 0, onlinePeers: 1 });
    } finally {
      peer.close();
    }
  });

  it('kills a tunnel whose peer never sends a byte (open watchdog)', async () => {
    const reg = await register('silent');
    const peer = await SdkLikePeer.connect(relayUrl, reg.jwt, { localAddress: '127.0.0.2', country: 'DE', behaviour: 'silent' });
    try {
      const started = Date.now();
      const r = await curl(['-p', '-x', `http://${user}-peer-de:${pass}@127.0.0.1:${http}`, `${target()}/bytes/10`]);
      expect(r.status).to.not.equal(200);
      expect(Date.now() - started).to.be.within(1400, 8000);
      expect(peer.tunnels).to.have.length(1);
      expect(ends.find((e) => e.deviceId === reg.deviceId)?.end.kind).to.equal('open_timeout');
    } finally {
      peer.close();
    }
  });

  it('kills a tunnel that stalls after its first bytes (stall watchdog)', async () => {
    const reg = await register('staller');
    const peer = await SdkLikePeer.connect(relayUrl, reg.jwt, { localAddress: '127.0.0.3', country: 'FR', behaviour: 'stall' });
    try {
      const r = await curl(['-p', '-x', `http://${user}-peer-fr:${pass}@127.0.0.1:${http}`, `${target()}/bytes/1000`]);
      expect(r.exitCode).to.not.equal(0);
      expect(r.body.toString()).to.include('partial');
      expect(ends.find((e) => e.deviceId === reg.deviceId)?.end.kind).to.equal('stalled');
    } finally {
      peer.close();
    }
  });

  it('kills a tunnel whose client stops reading once 1 MB piles up (backpressure)', async () => {
    const before = ends.length;
    const socket = net.connect(http, '127.0.0.1');
    await once(socket, 'connect');
    const auth = Buffer.from(`${user}-peer-us:${pass}`).toString('base64');
    socket.write(`CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic ${auth}\r\n\r\n`);
    const [answer] = await once(socket, 'data');
    expect(answer.toString()).to.match(/^HTTP\/1\.1 200/);
    socket.write(`GET /bytes/400000000 HTTP/1.1\r\nHost: x\r\n\r\n`);
    socket.pause(); // and never read again
    const deadline = Date.now() + 30_000;
    while (!ends.slice(before).some((e) => e.end.kind === 'backpressure') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    socket.destroy();
    expect(ends.slice(before).map((e) => e.end.kind)).to.include('backpressure');
  });

  it('slows a peer down to a client that reads slowly instead of killing the tunnel (flow control, not the 1 MB ceiling)', async () => {
    const before = ends.length;
    const socket = net.connect(http, '127.0.0.1');
    await once(socket, 'connect');
    const auth = Buffer.from(`${user}-peer-us:${pass}`).toString('base64');
    socket.write(`CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic ${auth}\r\n\r\n`);
    const [answer] = await once(socket, 'data');
    expect(answer.toString()).to.match(/^HTTP\/1\.1 200/);
    const size = 6_000_000;
    socket.write(`GET /bytes/${size} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    // ~6 MB/s at most (a 64 KB read every 10 ms): far slower than the peer, so without flow control
    // more than the 1 MB ceiling piles up at the relay and the tunnel is killed
    let got = 0;
    socket.on('data', (d: Buffer) => { got += d.length; socket.pause(); setTimeout(() => socket.resume(), 10); });
    await new Promise<void>((resolve, reject) => { socket.once('end', resolve); socket.once('error', reject); });
    expect(got).to.be.greaterThan(size);
    expect(ends.slice(before).map((e) => e.end.kind)).to.not.include('backpressure');
  });

  it('the agent answers a legacy proxy_request (whole HTTP answer in one JSON message) and refuses a private target without --allow-private', async () => {
    const { deviceId } = JSON.parse((await import('node:fs')).readFileSync(agent.stateFile, 'utf8'));
    const answer = await world.service.relay!.server.proxyRequest(deviceId, { method: 'GET', url: `${target()}/bytes/1234`, headers: { 'x-test': 'legacy' } }, 10_000) as { statusCode: number; headers: Record<string, string>; body: string };
    expect(answer.statusCode).to.equal(200);
    expect(Buffer.from(answer.body, 'base64').length).to.equal(1234);
    const echoed = await world.service.relay!.server.proxyRequest(deviceId, { method: 'POST', url: `${target()}/echo`, headers: { 'content-type': 'text/plain' }, body: Buffer.from('hello').toString('base64') }, 10_000) as { statusCode: number; body: string };
    expect(JSON.parse(Buffer.from(echoed.body, 'base64').toString()).body).to.equal('hello');
    // a second agent without --allow-private: its own SSRF filter answers proxy_error
    const strict = startAgentProcess(['--api', world.service.url, '--name', 'strict-agent', '--country', 'US', '--backoff-ms', '200']);
    try {
      await strict.waitFor('connected');
      const strictId = JSON.parse((await import('node:fs')).readFileSync(strict.stateFile, 'utf8')).deviceId;
      const refused = await world.service.relay!.server.proxyRequest(strictId, { method: 'GET', url: `${target()}/bytes/10`, headers: {} }, 10_000).then(() => 'answered', (e: Error) => e.message);
      expect(refused).to.match(/private|loopback|not allowed|blocked/i);
    } finally {
      await strict.stop();
    }
  });

  it('refuses a third connection per device, a bad token (4001) and an expired one (4002)', async () => {
    const reg = await register('triple');
    const a = await SdkLikePeer.connect(relayUrl, reg.jwt, { localAddress: '127.0.0.2', country: 'DE' });
    const b = await SdkLikePeer.connect(relayUrl, reg.jwt, { localAddress: '127.0.0.2', country: 'DE' });
    const c = await SdkLikePeer.connect(relayUrl, reg.jwt, { localAddress: '127.0.0.2', deviceInfo: false });
    expect(await c.closed()).to.equal(4003);
    expect(a.closeCode).to.equal(null);
    expect(b.closeCode).to.equal(null);
    a.close();
    b.close();
    const bad = await SdkLikePeer.connect(relayUrl, reg.jwt.slice(0, -3) + 'abc', { deviceInfo: false });
    expect(await bad.closed()).to.equal(4001);
    world.clock.advance(3700_000);
    try {
      const expired = await SdkLikePeer.connect(relayUrl, reg.jwt, { deviceInfo: false });
      expect(await expired.closed()).to.equal(4002);
    } finally {
      world.clock.advance(-3700_000);
    }
  });

  it('throttles a flood of control messages (data frames are not counted)', async () => {
    const reg = await register('flooder');
    const peer = await SdkLikePeer.connect(relayUrl, reg.jwt, { localAddress: '127.0.0.3', country: 'FR' });
    try {
      for (let i = 0; i < 60; i++) peer.send('heartbeat', { timestamp: i });
      await new Promise((r) => setTimeout(r, 500));
      const acks = peer.messages.filter((m) => m.type === 'heartbeat_ack').length;
      expect(acks).to.be.below(20); // device_info took one of the 20
      expect(acks).to.be.greaterThan(10);
      expect(peer.messages.some((m) => m.type === 'error' && /rate limited/.test(m.payload.message))).to.equal(true);
      for (let i = 0; i < 60; i++) peer.send('heartbeat', {});
      expect(await peer.closed()).to.equal(4008);
    } finally {
      peer.close();
    }
  });
});
