import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import pino from 'pino';
import { startGatewayRole, type GatewayRole } from '../../src/gateway/role.ts';
import { api } from '../support/service.ts';
import { admin, registerDevice, startPaidService } from '../support/x402.ts';
import { curl, deadPort, startHttpModem, startOrigin, waitFor, type Modem, type Origin } from './listeners/helpers.ts';

const GRACE_MS = 2500;
const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;

/** A redis-server of this test's own, on a free port, that the test can stop and start again. */
class OwnRedis {
  private child: ChildProcess | undefined;
  constructor(readonly port: number) {}
  get url(): string { return `redis://127.0.0.1:${this.port}`; }
  async start(): Promise<void> {
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    this.child.stdout!.on('data', (d) => { out += d; });
    await waitFor(() => /Ready to accept connections/.test(out), 'redis-server to start', 10_000);
  }
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
}

/**
 * #8 item 5: with Redis stopped the gateway keeps serving known credentials on local state for a
 * bounded grace, says `degraded` (503) on its health port, logs each change of state once, and
 * returns to shared state when Redis is back.
 */
describe('gateway through a Redis outage (#8)', function () {
  this.timeout(120_000);
  let world: Awaited<ReturnType<typeof startPaidService>>;
  let redis: OwnRedis;
  let role: GatewayRole;
  let origin: Origin;
  let modem: Modem;
  let user: string;
  let pass: string;
  const logs: Array<{ msg: string; level: number; reason?: string }> = [];

  before(async function () {
    if (!hasRedisServer) return this.skip();
    redis = new OwnRedis(await deadPort());
    await redis.start();
    [origin, modem] = await Promise.all([startOrigin(), startHttpModem()]);
    world = await startPaidService({ ROLES: 'api,projector,worker', REDIS_URL: redis.url });
    // the gateway instance under test, with a logger the test reads
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    const config = {
      ...world.service.infra.config, GATEWAY_HOST: '127.0.0.1', GATEWAY_HTTP_PORT: 0, GATEWAY_SOCKS_PORT: 0, GATEWAY_HEALTH_PORT: 0,
      GATEWAY_ALLOWED_PRIVATE_CIDRS: '127.0.0.0/8', GATEWAY_REDIS_GRACE_MS: GRACE_MS,
    };
    role = await startGatewayRole({ ...world.service.infra, config, logger });
    const device = await registerDevice(world.service, 'US', { upstream: modem.url, slots: 4 });
    await api(world.service.url, 'POST', `/v1/admin/devices/${device}/health`, { online: true, latencyMs: 50, ip: '100.64.0.1' }, admin);
    const tx = await world.chains.base.payUsdc(400_000n);
    const bought = await api(world.service.url, 'GET', '/v1/x402/pool?tier=mbl&country=us&traffic=0.1', undefined, { 'payment-signature': tx });
    expect(bought.status, JSON.stringify(bought.body)).to.equal(200);
    ({ username: user, password: pass } = bought.body);
  });
  after(async () => {
    await role?.stop();
    await world?.stop();
    await redis?.stop();
    await Promise.all([origin?.close(), modem?.close()]);
  });

  const health = async () => {
    const res = await fetch(`http://127.0.0.1:${role.gateway.healthPort}/health`);
    return { status: res.status, body: await res.json() as { status: string; reason?: string; coordination: string } };
  };
  const get = (sid: string) => curl(['-x', `http://${user}-mbl-us-sid-${sid}:${pass}@127.0.0.1:${role.gateway.httpPort}`, `http://127.0.0.1:${origin.port}/bytes/1000`]);
  const stateLogs = () => logs.filter((l) => /gateway (degraded|back on shared state)/.test(l.msg)).map((l) => l.msg.split(':')[0]);

  it('serves on shared state while Redis runs', async () => {
    expect(await health()).to.deep.include({ status: 200 });
    expect((await health()).body).to.deep.include({ status: 'ok', coordination: 'redis' });
    expect((await get('known001')).status).to.equal(200);
  });

  it('keeps serving known credentials with Redis stopped, and says degraded (503) on the health port', async () => {
    await redis.stop();
    await waitFor(() => stateLogs().length > 0, 'the degraded log line', 5000);
    const h = await health();
    expect(h.status).to.equal(503);
    expect(h.body.status).to.equal('degraded');
    expect(h.body.reason).to.match(/Redis/);
    for (const sid of ['known001', 'new00001', 'new00002']) {
      const res = await get(sid);
      expect(res.status, `${sid}: ${res.body.toString()}`).to.equal(200);
    }
    // plain requests, CONNECT and SOCKS5 alike
    expect((await curl(['--socks5-hostname', `127.0.0.1:${role.gateway.socksPort}`, '--proxy-user', `${user}-mbl-us:${pass}`, `http://127.0.0.1:${origin.port}/bytes/10`])).status).to.equal(200);
    expect(stateLogs()).to.deep.equal(['gateway degraded']);
  });

  it('refuses new connections once the grace is over, still degraded', async () => {
    await new Promise((r) => setTimeout(r, GRACE_MS));
    const res = await get('known001');
    expect(res.status).to.equal(503);
    expect(res.body.toString()).to.match(/^E_INTERNAL: shared gateway state \(Redis\)/);
    const h = await health();
    expect(h.status).to.equal(503);
    expect(h.body.reason).to.match(/grace is over/);
  });

  it('returns to shared state when Redis is back, logging each change once', async () => {
    await redis.start();
    for (let i = 0; (await health()).status !== 200; i++) {
      if (i > 100) throw new Error('the gateway did not come back to shared state');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await health()).body.status).to.equal('ok');
    expect((await get('known001')).status).to.equal(200);
    expect(stateLogs()).to.deep.equal(['gateway degraded', 'gateway back on shared state (Redis)'].map((m) => m.split(':')[0]));
    // the connection counts it holds were re-announced: Redis knows this instance again
    expect(logs.filter((l) => l.level >= 50)).to.deep.equal([]);
  });
});
