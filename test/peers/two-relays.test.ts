import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { expect } from 'chai';
import pino from 'pino';
import { poolAccessDecider, poolAccessStreamId } from '../../domain/pool-access/pool-access.ts';
import { fixedClock } from '../../src/clock.ts';
import { handleCommand } from '../../src/commands/handle.ts';
import { loadConfig } from '../../src/config.ts';
import { onlinePeers } from '../../src/peers/presence.ts';
import { startService, type Running } from '../../src/server.ts';
import { sha256Hex } from '../../src/x402/secrets.ts';
import { createTestDatabase, postgresAdminUrl, testRedisUrl, type TestDatabase } from '../support/services.ts';
import { startAgentProcess, type AgentProcess } from '../support/peers.ts';
import { curl, deadPort, startOrigin, type Origin } from '../gateway/listeners/helpers.ts';

const canConnect = (port: number) => new Promise<boolean>((resolve) => {
  const s = net.connect(port, '127.0.0.1');
  s.once('connect', () => { s.destroy(); resolve(true); });
  s.once('error', () => resolve(false));
});

/**
 * The split shape: api + gateway in this process, two relay processes (ROLES=relay) sharing Postgres and
 * Redis. Each relay holds one agent; the gateway finds in Redis which relay holds which peer and dials
 * the peer through that relay.
 */
describe('two relay processes behind one gateway (presence in Redis)', function () {
  this.timeout(300_000);
  let db: TestDatabase;
  let service: Running;
  let origin: Origin;
  const relays: ChildProcess[] = [];
  const agents: AgentProcess[] = [];
  let http: number;
  let relayPorts: number[] = [];
  let redisUrl: string;
  const env: Record<string, string> = {};

  before(async function () {
    const [pgUrl, redis] = await Promise.all([postgresAdminUrl(), testRedisUrl()]);
    if (!pgUrl || !redis) return this.skip();
    redisUrl = `${redis.replace(/\/\d*$/, '')}/${3 + Math.floor(Math.random() * 10)}`;
    db = await createTestDatabase('postgres');
    origin = await startOrigin();
    const ports = await Promise.all([deadPort(), deadPort(), deadPort(), deadPort(), deadPort()]);
    http = ports[0]!;
    relayPorts = [ports[3]!, ports[4]!];
    Object.assign(env, {
      DATABASE_URL: db.url!, REDIS_URL: redisUrl, PEER_JWT_SECRET: 'two-relays-'.repeat(4), LOG_LEVEL: 'silent',
      PEER_IP_OVERRIDES: '127.0.0.0/8=mobile:US', PEER_TRAFFIC_FLUSH_MS: '300', GATEWAY_PUBLIC_HOST: '127.0.0.1',
    });
    const config = loadConfig({
      ...env, PORT: '0', HOST: '127.0.0.1', ROLES: 'api,projector,gateway', GATEWAY_HOST: '127.0.0.1', GATEWAY_HTTP_PORT: String(ports[0]),
      GATEWAY_SOCKS_PORT: String(ports[1]), GATEWAY_HEALTH_PORT: String(ports[2]), GATEWAY_ALLOWED_PRIVATE_CIDRS: '127.0.0.0/8', RELAY_PORT: String(ports[3]),
    });
    service = await startService(config, fixedClock(new Date()), pino({ level: 'silent' }), { database: db.database });
    // the relays are their own processes with their own ports, sharing the database and Redis
    for (const port of [ports[3]!, ports[4]!]) {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        env: { ...process.env, ...env, ROLES: 'relay', RELAY_HOST: '127.0.0.1', RELAY_PORT: String(port), RELAY_PUBLIC_URL: `ws://127.0.0.1:${port}` },
        stdio: 'ignore',
      });
      relays.push(child);
    }
    // a relay process imports the whole service: on a loaded machine that takes a while
    for (const port of [ports[3]!, ports[4]!]) {
      const deadline = Date.now() + 150_000;
      while (!(await canConnect(port))) {
        if (Date.now() > deadline) throw new Error(`relay on ${port} did not start`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    const accountId = 'tworelays0001';
    const h = await handleCommand(service.infra, poolAccessDecider, poolAccessStreamId(accountId), {
      type: 'PurchasePoolAccess',
      data: { accountId, tier: 'mbl', defaultCountry: 'US', trafficBytes: 1_000_000_000n, tokenHash: sha256Hex('token'), passwordHash: sha256Hex('secret-pass'),
        payment: { network: 'base', proof: 'tx_hash', claimKey: 'test-two-relays', transaction: '0x0', payer: '0x0', amountMicro: '4000000' } },
    }, { actor: 'test', correlationId: 'two-relays' });
    await service.infra.projector.waitFor(h.position, ['pool-accounts'], 5000);
    for (const port of [ports[3]!, ports[4]!]) {
      const agent = startAgentProcess(['--api', service.url!, '--relay', `ws://127.0.0.1:${port}`, '--country', 'US', '--allow-private', '--backoff-ms', '300']);
      agents.push(agent);
      await agent.waitFor('connected', 1, 40_000);
    }
  });
  after(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    for (const r of relays) r.kill('SIGTERM');
    await Promise.all(relays.map((r) => (r.exitCode !== null ? null : new Promise((res) => r.once('exit', res)))));
    await service?.stop();
    await origin?.close();
    await db?.dispose();
  });

  it('routes to peers on either relay and credits each peer with what it served', async () => {
    const peers = await onlinePeers(service.infra.kv, service.infra.clock.now().getTime());
    expect(new Set(peers.map((p) => p.relayId)).size).to.equal(2);
    expect(new Set(peers.map((p) => p.relayUrl)).size).to.equal(2);
    for (let i = 0; i < 12; i++) {
      const r = await curl(['-x', `http://psx_tworelays0001-peer-us:secret-pass@127.0.0.1:${http}`, `http://127.0.0.1:${origin.port}/bytes/50000`]);
      expect(r.status, r.stderr + r.body.toString()).to.equal(200);
      expect(r.body.length).to.equal(50_000);
    }
    // both peers carried traffic (weighted random over 12 tries: 1 in 2048 to miss one), each credited by its own relay;
    // each peer shows bytes after its relay's first flush, so wait for the sum too, not only for two non-zero rows
    const deadline = Date.now() + 10_000;
    let served: number[] = [];
    do {
      await new Promise((r) => setTimeout(r, 300));
      const rows = await service.infra.database.db.selectFrom('peers').select(['device_id', 'bytes_down']).execute();
      served = rows.map((r) => Number(r.bytes_down)).filter((b) => b > 0);
    } while ((served.length < 2 || served.reduce((a, b) => a + b, 0) < 12 * 50_000) && Date.now() < deadline);
    expect(served).to.have.length(2);
    expect(served.reduce((a, b) => a + b, 0)).to.be.greaterThanOrEqual(12 * 50_000);
  });

  it('a draining relay hands its peer to the other relay (relay_redirect), which keeps serving', async () => {
    const [relay0Url, relay1Url] = [`ws://127.0.0.1:${relayPorts[0]}`, `ws://127.0.0.1:${relayPorts[1]}`];
    relays[0]!.kill('SIGTERM'); // shutdown drains: relay_redirect to the least loaded other relay, from Redis
    const redirect = await agents[0]!.waitFor('relay_redirect', 1, 20_000);
    expect(redirect).to.include({ from: relay0Url, to: relay1Url, reason: 'relay_draining' });
    const again = await agents[0]!.waitFor('connected', 2, 20_000);
    expect(again.relay).to.equal(relay1Url);
    await new Promise((r) => relays[0]!.once('exit', r));
    const now = () => service.infra.clock.now().getTime();
    const deadline = Date.now() + 10_000;
    let remaining = await onlinePeers(service.infra.kv, now());
    while ((remaining.length < 2 || new Set(remaining.map((p) => p.relayId)).size !== 1) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      remaining = await onlinePeers(service.infra.kv, now());
    }
    expect(remaining).to.have.length(2);
    expect(new Set(remaining.map((p) => p.relayUrl)).size).to.equal(1);
    // the gateway keeps its list of online peers for 1 s (CACHE_MS in src/peers/peer-pool.ts): past that, every pick goes through the live relay
    await new Promise((r) => setTimeout(r, 1100));
    for (let i = 0; i < 6; i++) {
      const r = await curl(['-x', `http://psx_tworelays0001-peer-us:secret-pass@127.0.0.1:${http}`, `http://127.0.0.1:${origin.port}/bytes/1000`]);
      expect(r.status).to.equal(200);
    }
    // and the redirected agent's state file now names the new relay, for its next start
    expect(JSON.parse(readFileSync(agents[0]!.stateFile, 'utf8')).relay).to.equal(relay1Url);
  });
});
