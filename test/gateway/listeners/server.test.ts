import { expect } from 'chai';
import http from 'node:http';
import net from 'node:net';
import { SocksClient } from 'socks';
import { startGateway, type RunningGateway } from '../../../adapters/gateway/server.ts';
import { basic, PASSWORD, rawConnect, startBench, startSilentServer, testLookup, USER, waitFor, type Bench, Tracked } from './helpers.ts';

function getJson(port: number, path: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: res.headers['content-type'] === 'application/json' ? JSON.parse(text) : text }));
      })
      .on('error', reject);
  });
}

const refused = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(true));
  });

describe('gateway/server', () => {
  let bench: Bench;
  let silent: Tracked<net.Server>;
  let gw: RunningGateway | undefined;
  const start = (): Promise<RunningGateway> =>
    startGateway({ brain: bench.brain, host: '127.0.0.1', httpPort: 0, socksPort: 0, healthPort: 0, allowedPrivateCidrs: '127.0.0.0/8', lookup: testLookup });

  before(async () => {
    bench = await startBench();
    silent = await startSilentServer();
    bench.brain.accounts.set('user-silent', { password: PASSWORD, upstreams: [{ deviceId: 'silent', url: `http://u:p@127.0.0.1:${silent.port}` }] });
  });
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
    bench.brain.reset();
  });
  after(async () => {
    await Promise.all([bench.close(), silent.close()]);
  });

  it('serves /health with the ports and live counts', async () => {
    gw = await start();
    const { status, body } = await getJson(gw.healthPort, '/health');
    expect(status).to.equal(200);
    expect(body).to.deep.equal({
      status: 'ok',
      connections: { http: 0, socks5: 0 },
      tunnels: 0,
      ports: { http: gw.httpPort, socks5: gw.socksPort, health: gw.healthPort },
    });
    expect((await getJson(gw.healthPort, '/other')).status).to.equal(404);
  });

  it('stop() closes live tunnels, tunnels being opened and the listeners, leaving no socket behind', async () => {
    gw = await start();
    const viaHttp = await rawConnect(gw.httpPort, `target.test:${bench.target.port}`, basic(USER.http, PASSWORD));
    expect(viaHttp.status).to.equal(200);
    const { socket: viaSocks } = await SocksClient.createConnection({
      proxy: { host: '127.0.0.1', port: gw.socksPort, type: 5, userId: USER.socks5, password: PASSWORD },
      command: 'connect',
      destination: { host: 'target.test', port: bench.target.port },
      timeout: 5000,
    });
    // A third client waits on a modem that never answers: its tunnel is mid-open.
    const pending = net.connect({ host: '127.0.0.1', port: gw.httpPort });
    pending.on('error', () => {});
    pending.write(`CONNECT target.test:${bench.target.port} HTTP/1.1\r\nProxy-Authorization: ${basic('user-silent', PASSWORD)}\r\n\r\n`);
    await waitFor(() => silent.sockets.size === 1, 'the silent modem to be dialled');

    const { body } = await getJson(gw.healthPort, '/health');
    expect(body).to.deep.include({ connections: { http: 2, socks5: 1 }, tunnels: 3 });
    expect(bench.httpModem.open() + bench.socksModem.open()).to.equal(4);

    // Each client sees its connection end (FIN) or reset.
    const hungUp = [viaHttp.socket, viaSocks, pending].map((s) => new Promise<void>((r) => (s.once('end', r), s.once('close', r))));
    await gw.stop();
    expect(gw.openConnections()).to.equal(0);
    expect(gw.stats()).to.deep.equal({ connections: { http: 0, socks5: 0 }, tunnels: 0 });
    await Promise.all(hungUp);
    for (const s of [viaHttp.socket, viaSocks, pending]) s.destroy();
    await waitFor(() => bench.httpModem.open() + bench.socksModem.open() === 0 && silent.sockets.size === 0, 'the modems to see every tunnel close');
    await bench.brain.allEnded();
    for (const lease of bench.brain.leases) expect(lease.endCalls).to.equal(1);
    for (const port of [gw.httpPort, gw.socksPort, gw.healthPort]) expect(await refused(port), `port ${port}`).to.equal(true);
    await gw.stop(); // idempotent
  });

  it('rejects with EADDRINUSE when a port is taken', async () => {
    const taken = new Tracked(net.createServer());
    const port = await taken.listen();
    try {
      let error: unknown;
      await startGateway({ brain: bench.brain, host: '127.0.0.1', httpPort: 0, socksPort: 0, healthPort: port, allowedPrivateCidrs: '' }).catch((e) => (error = e));
      expect((error as NodeJS.ErrnoException | undefined)?.code).to.equal('EADDRINUSE');
    } finally {
      await taken.close();
    }
  });
});
