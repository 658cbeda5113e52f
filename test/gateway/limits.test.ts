import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import net, { type AddressInfo } from 'node:net';
import { api } from '../support/service.ts';
import { testRedisUrl } from '../support/services.ts';
import { admin, registerDevice, startPaidService } from '../support/x402.ts';
import { curl, deadPort, startHttpModem, startOrigin, type Modem, type Origin } from './listeners/helpers.ts';

const LEASE_MS = 1500;
const GRACE_MS = 500;
const LIMITS = { GATEWAY_MAX_CONNECTIONS_PER_ACCOUNT: '4', GATEWAY_MAX_SESSIONS_PER_ACCOUNT: '2', GATEWAY_INSTANCE_LEASE_MS: String(LEASE_MS), GATEWAY_HALF_CLOSE_GRACE_MS: String(GRACE_MS) };

/** Opens a CONNECT tunnel; resolves with the socket once the gateway said 200, or with the refusal's first line. */
async function tunnel(port: number, user: string, pass: string, target: number): Promise<{ socket: net.Socket; status: string }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise((r) => socket.once('connect', r));
  socket.write(`CONNECT 127.0.0.1:${target} HTTP/1.1\r\nProxy-Authorization: Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}\r\n\r\n`);
  let head = '';
  while (!head.includes('\r\n\r\n')) {
    const chunk = await new Promise<Buffer | null>((r) => { socket.once('data', r); socket.once('close', () => r(null)); });
    if (chunk === null) break;
    head += chunk.toString('latin1');
  }
  const [statusLine = '', ...rest] = head.split('\r\n');
  return { socket, status: statusLine.startsWith('HTTP/1.1 200') ? '200' : `${statusLine} ${rest.at(-1) ?? ''}` };
}

/**
 * #8 item 4: the 100-connection and 50-session limits per account hold across gateway instances
 * (here 4 and 2): one instance in this process, one in a child process, sharing Redis and the
 * database. The child is killed with SIGKILL; its connections stop counting within the instance
 * lease. A tunnel whose upstream ignores the client's half-close is closed after the grace.
 */
describe('gateway limits across instances (#8)', function () {
  this.timeout(120_000);
  let world: Awaited<ReturnType<typeof startPaidService>>;
  let origin: Origin;
  let modem: Modem;
  let child: ChildProcess | undefined;
  let a: number;
  let b: number;
  let user: string;
  let pass: string;
  const held: net.Socket[] = [];

  before(async function () {
    const redis = await testRedisUrl();
    if (!redis) return this.skip();
    [origin, modem] = await Promise.all([startOrigin(), startHttpModem()]);
    world = await startPaidService({
      ROLES: 'api,projector,worker,gateway', GATEWAY_HOST: '127.0.0.1', REDIS_URL: redis,
      GATEWAY_HTTP_PORT: '0', GATEWAY_SOCKS_PORT: '0', GATEWAY_HEALTH_PORT: '0', GATEWAY_ALLOWED_PRIVATE_CIDRS: '127.0.0.0/8', ...LIMITS,
    });
    if (!world.service.databaseUrl) return this.skip(); // the second process needs a real Postgres
    a = world.service.gateway!.gateway.httpPort;
    const [httpPort, socksPort, healthPort] = [await deadPort(), await deadPort(), await deadPort()];
    b = httpPort;
    child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: {
        ...process.env, ROLES: 'gateway', DATABASE_URL: world.service.databaseUrl, REDIS_URL: redis, LOG_LEVEL: 'silent',
        GATEWAY_HOST: '127.0.0.1', GATEWAY_HTTP_PORT: String(httpPort), GATEWAY_SOCKS_PORT: String(socksPort), GATEWAY_HEALTH_PORT: String(healthPort),
        GATEWAY_ALLOWED_PRIVATE_CIDRS: '127.0.0.0/8', ...LIMITS,
      },
      stdio: 'ignore',
    });
    for (let i = 0; ; i++) {
      const up = await fetch(`http://127.0.0.1:${healthPort}/health`).then((r) => r.ok, () => false);
      if (up) break;
      if (i > 900) throw new Error('the second gateway did not start'); // tsx compiles the whole service first: slow on a loaded machine
      await new Promise((r) => setTimeout(r, 100));
    }
    const device = await registerDevice(world.service, 'US', { upstream: modem.url, slots: 4 });
    await api(world.service.url, 'POST', `/v1/admin/devices/${device}/health`, { online: true, latencyMs: 50, ip: '100.64.0.1' }, admin);
    const tx = await world.chains.base.payUsdc(400_000n);
    const bought = await api(world.service.url, 'GET', '/v1/x402/pool?tier=mbl&country=us&traffic=0.1', undefined, { 'payment-signature': tx });
    expect(bought.status, JSON.stringify(bought.body)).to.equal(200);
    ({ username: user, password: pass } = bought.body);
    user = `${user}-mbl-us`;
  });
  after(async () => {
    for (const s of held) s.destroy();
    child?.kill('SIGKILL');
    await world?.stop();
    await Promise.all([origin?.close(), modem?.close()]);
  });

  it('counts sticky sessions across instances', async () => {
    const via = (port: number, sid: string) => curl(['-x', `http://${user}-sid-${sid}:${pass}@127.0.0.1:${port}`, `http://127.0.0.1:${origin.port}/bytes/10`]);
    expect((await via(a, 'first001')).status).to.equal(200);
    expect((await via(b, 'second01')).status).to.equal(200);
    const third = await via(a, 'third001');
    expect(third.status, third.body.toString()).to.equal(429);
    expect(third.body.toString()).to.match(/^E_SESSION_LIMIT: /);
    // known sids keep working on either instance
    expect((await via(b, 'first001')).status).to.equal(200);
  });

  it('counts connections across instances, and releases a crashed instance\'s within its lease', async () => {
    for (const port of [a, a, b, b]) {
      const t = await tunnel(port, user, pass, origin.port);
      expect(t.status).to.equal('200');
      held.push(t.socket);
    }
    const fifth = await tunnel(a, user, pass, origin.port);
    expect(fifth.status).to.match(/^HTTP\/1\.1 429 .*E_RATE_LIMITED_CONN/);
    child!.kill('SIGKILL');
    const killedAt = Date.now();
    // its two still count until its lease runs out…
    expect((await tunnel(a, user, pass, origin.port)).status).to.match(/429/);
    // …and not after
    let opened: { socket: net.Socket; status: string } | undefined;
    while (Date.now() - killedAt < LEASE_MS + 5000) {
      const t = await tunnel(a, user, pass, origin.port);
      if (t.status === '200') { opened = t; break; }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(opened, 'a connection after the crashed instance\'s lease ran out').to.not.equal(undefined);
    expect(Date.now() - killedAt).to.be.at.most(LEASE_MS + 1000);
    held.push(opened!.socket);
  });

  it('closes a tunnel whose upstream never answers the client\'s half-close, freeing its slot', async () => {
    for (const s of held.splice(0)) s.destroy();
    // a target that reads, and ignores the FIN: with allowHalfOpen it never ends its side
    const server = net.createServer({ allowHalfOpen: true }, (s) => s.on('error', () => {}).resume());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const sockets = new Set<net.Socket>();
    server.on('connection', (s) => { sockets.add(s); s.once('close', () => sockets.delete(s)); });
    try {
      await new Promise((r) => setTimeout(r, 200)); // the destroyed tunnels above finish closing
      const t = await tunnel(a, user, pass, (server.address() as AddressInfo).port);
      expect(t.status).to.equal('200');
      t.socket.end('GET / HTTP/1.0\r\n\r\n'); // the client is done sending
      const started = Date.now();
      await new Promise((r) => (t.socket.closed ? r(null) : t.socket.once('close', r)));
      expect(Date.now() - started).to.be.within(GRACE_MS - 100, GRACE_MS + 2000);
      await new Promise((r) => setTimeout(r, 100));
      expect(world.service.gateway!.gateway.stats().tunnels, 'the gateway closed its upstream side too').to.equal(0);
      // the slot is free again: four new connections fit
      for (let i = 0; i < 4; i++) {
        const n = await tunnel(a, user, pass, origin.port);
        expect(n.status).to.equal('200');
        held.push(n.socket);
      }
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  });
});
