import { expect } from 'chai';
import { once } from 'node:events';
import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import { SocksClient } from 'socks';
import { GATEWAY_ERROR_CODES, GATEWAY_ERRORS, SOCKS5_REPLY, type GatewayErrorCode } from '../../../domain/gateway/errors.ts';
import type { ListenerOptions, ProxyListener } from '../../../adapters/gateway/http-listener.ts';
import { createSocks5Proxy, socks5ReplyFor } from '../../../adapters/gateway/socks5-listener.ts';
import {
  ByteReader,
  connectLocal,
  curl,
  pattern,
  PASSWORD,
  readAll,
  socks,
  startBench,
  startTcpTarget,
  testLookup,
  USER,
  VIA,
  waitFor,
  type Bench,
  type EchoReply,
  type TcpTarget,
} from './helpers.ts';

const LOOPBACK = '127.0.0.0/8,::1/128';
const OK_AUTH = Buffer.from([0x01, 0x00]);
const FAILED_AUTH = Buffer.from([0x01, 0x01]);
/** VER REP RSV + 0.0.0.0:0, the reply shape we always send. */
const reply = (rep: number): Buffer => Buffer.from([0x05, rep, 0x00, 0x01, 0, 0, 0, 0, 0, 0]);

describe('gateway/socks5-listener', function () {
  let bench: Bench;
  let v6Target: TcpTarget;
  const proxies: Array<ProxyListener<net.Server>> = [];
  const errors: Array<{ error: Error; code: GatewayErrorCode }> = [];
  let port: number;

  async function startProxy(overrides: Partial<ListenerOptions> = {}): Promise<number> {
    const p = createSocks5Proxy({
      brain: bench.brain,
      allowedPrivateCidrs: LOOPBACK,
      lookup: testLookup,
      timeouts: { handshakeMs: 5000, upstreamConnectMs: 5000 },
      requestId: () => 'req-socks',
      onError: (error, context) => errors.push({ error, code: context.code }),
      ...overrides,
    });
    proxies.push(p);
    p.server.listen(0, '127.0.0.1');
    await once(p.server, 'listening');
    return (p.server.address() as AddressInfo).port;
  }

  /** Greeting + auth + a domain CONNECT, each awaited; returns the reader positioned after the reply. */
  async function handshake(user: string, host: string, targetPort: number, options: { proxyPort?: number; password?: string } = {}): Promise<{ socket: net.Socket; reader: ByteReader; rep: Buffer }> {
    const socket = await connectLocal(options.proxyPort ?? port, { allowHalfOpen: true });
    const reader = new ByteReader(socket);
    socket.write(socks.greeting(0x00, 0x02));
    expect([...(await reader.take(2))]).to.deep.equal([0x05, 0x02]);
    socket.write(socks.auth(user, options.password ?? PASSWORD));
    const status = await reader.take(2);
    if (!status.equals(OK_AUTH)) return { socket, reader, rep: status };
    socket.write(socks.request(host, targetPort));
    return { socket, reader, rep: await reader.take(10) };
  }

  const origin = (path: string, host = 'origin.test'): string => `http://${host}:${bench.origin.port}${path}`;

  before(async () => {
    bench = await startBench();
    v6Target = await startTcpTarget({ host: '::1' });
    port = await startProxy();
  });
  beforeEach(() => {
    bench.brain.reset();
    errors.length = 0;
  });
  afterEach(async () => {
    await bench.brain.allEnded();
    for (const lease of bench.brain.leases) expect(lease.endCalls, lease.accountKey).to.equal(1);
  });
  after(async () => {
    for (const p of proxies) {
      const closed = new Promise<void>((r) => p.server.close(() => r()));
      await p.destroyAll();
      await closed;
    }
    await Promise.all([bench.close(), v6Target.close()]);
  });

  for (const via of VIA) {
    describe(`through ${via}`, () => {
      const modem = (): { targets: string[] } | undefined => (via === 'http' ? bench.httpModem : via === 'socks5' ? bench.socksModem : undefined);

      it('curl --socks5-hostname (domain) reaches the origin via the checked address', async () => {
        const before = modem()?.targets.length ?? 0;
        const r = await curl(['--socks5-hostname', `127.0.0.1:${port}`, '--proxy-user', `${USER[via]}:${PASSWORD}`, origin('/echo?s=1')]);
        expect([r.exitCode, r.status], r.stderr).to.deep.equal([0, 200]);
        expect((JSON.parse(r.body.toString()) as EchoReply).url).to.equal('/echo?s=1');
        expect(bench.brain.lastLease().routes).to.deep.equal([{ host: 'origin.test', port: bench.origin.port }]);
        expect(bench.brain.requests[0]).to.include({ username: USER[via], password: PASSWORD, protocol: 'socks5', clientAddress: '127.0.0.1' });
        if (modem()) expect(modem()?.targets.slice(before)).to.deep.equal([`127.0.0.1:${bench.origin.port}`]);
      });

      it('curl --socks5 (IPv4 address type) reaches the origin', async () => {
        const r = await curl(['--socks5', `127.0.0.1:${port}`, '--proxy-user', `${USER[via]}:${PASSWORD}`, origin('/echo', '127.0.0.1')]);
        expect([r.exitCode, r.status], r.stderr).to.deep.equal([0, 200]);
        expect(bench.brain.lastLease().routes).to.deep.equal([{ host: '127.0.0.1', port: bench.origin.port }]);
      });

      it('the socks client: exact bytes both ways, half-close, exact metering', async () => {
        const { socket } = await SocksClient.createConnection({
          proxy: { host: '127.0.0.1', port, type: 5, userId: USER[via], password: PASSWORD },
          command: 'connect',
          destination: { host: 'target.test', port: bench.target.port },
          timeout: 5000,
        });
        const all = readAll(socket);
        const payload = pattern(200_000);
        socket.end(payload); // the target answers its summary only after this FIN
        const got = await all;
        expect(got.subarray(0, payload.length).equals(payload)).to.equal(true);
        expect(got.subarray(payload.length).toString()).to.equal(`[received ${payload.length}]`);
        await bench.brain.allEnded();
        expect(bench.brain.lastLease().totals()).to.deep.equal({ up: payload.length, down: got.length });
      });

      it('the socks client: an IPv6 address type target', async () => {
        const { socket } = await SocksClient.createConnection({
          proxy: { host: '127.0.0.1', port, type: 5, userId: USER[via], password: PASSWORD },
          command: 'connect',
          destination: { host: '::1', port: v6Target.port },
          timeout: 5000,
        });
        const all = readAll(socket);
        socket.end('six');
        expect((await all).toString()).to.equal('six[received 3]');
        expect(bench.brain.lastLease().routes).to.deep.equal([{ host: '::1', port: v6Target.port }]);
      });

      it('meters a 1 MB download close to the bytes moved', async () => {
        const size = 1024 * 1024;
        const r = await curl(['--socks5-hostname', `127.0.0.1:${port}`, '--proxy-user', `${USER[via]}:${PASSWORD}`, origin(`/bytes/${size}`)]);
        expect(r.body.equals(pattern(size))).to.equal(true);
        await bench.brain.allEnded();
        const { up, down } = bench.brain.lastLease().totals();
        expect(down).to.be.within(size, size + 1024);
        expect(up).to.be.within(50, 1024);
      });
    });
  }

  describe('framing', () => {
    it('handles every byte arriving separately', async () => {
      const socket = await connectLocal(port, { allowHalfOpen: true });
      const reader = new ByteReader(socket);
      const all = Buffer.concat([socks.greeting(0x02), socks.auth(USER.direct, PASSWORD), socks.request('target.test', bench.target.port)]);
      for (const byte of all) {
        socket.write(Buffer.from([byte]));
        await new Promise((r) => setTimeout(r, 1));
      }
      expect([...(await reader.take(2 + 2 + 10))]).to.deep.equal([0x05, 0x02, ...OK_AUTH, ...reply(0x00)]);
      socket.end('frag');
      expect((await reader.rest()).toString()).to.equal('frag[received 4]');
    });

    it('handles greeting, auth, request and payload coalesced in one write', async () => {
      const socket = await connectLocal(port, { allowHalfOpen: true });
      const reader = new ByteReader(socket);
      socket.end(Buffer.concat([socks.greeting(0x00, 0x02), socks.auth(USER.http, PASSWORD), socks.request('target.test', bench.target.port), Buffer.from('optimistic')]));
      expect([...(await reader.take(14))]).to.deep.equal([0x05, 0x02, ...OK_AUTH, ...reply(0x00)]);
      // The client half-closed in the same write, before the tunnel existed: the FIN still reaches the target.
      expect((await reader.rest()).toString()).to.equal('optimistic[received 10]');
    });
  });

  describe('errors', () => {
    it('no username/password method offered: 0xFF and close (curl without credentials fails)', async () => {
      const socket = await connectLocal(port);
      const reader = new ByteReader(socket);
      socket.write(socks.greeting(0x00));
      expect([...(await reader.rest())]).to.deep.equal([0x05, 0xff]);
      const r = await curl(['--socks5-hostname', `127.0.0.1:${port}`, origin('/echo')]);
      expect(r.exitCode).to.not.equal(0);
      expect(bench.brain.requests).to.deep.equal([]);
    });

    it('wrong password: auth status 0x01 and close (curl and the socks client fail)', async () => {
      const { rep, reader } = await handshake(USER.direct, 'target.test', bench.target.port, { password: 'wrong' });
      expect([...rep]).to.deep.equal([...FAILED_AUTH]);
      await reader.rest();
      const r = await curl(['--socks5-hostname', `127.0.0.1:${port}`, '--proxy-user', `${USER.direct}:wrong`, origin('/echo')]);
      expect(r.exitCode).to.not.equal(0);
      const failed = await SocksClient.createConnection({
        proxy: { host: '127.0.0.1', port, type: 5, userId: USER.direct, password: 'wrong' },
        command: 'connect',
        destination: { host: 'target.test', port: bench.target.port },
        timeout: 5000,
      }).then(
        (info) => (info.socket.destroy(), 'connected'),
        (e: Error) => e.message,
      );
      expect(failed).to.match(/Authentication failed/);
    });

    it('each brain refusal at authenticate lands in the phase the error table names', async () => {
      for (const code of GATEWAY_ERROR_CODES) {
        bench.brain.reset();
        bench.brain.authFailure = { code };
        const { rep, reader } = await handshake(USER.direct, 'target.test', bench.target.port);
        const outcome = GATEWAY_ERRORS[code].socks5;
        if (outcome.phase === 'request') expect([...rep], code).to.deep.equal([...reply(outcome.reply)]);
        else expect([...rep], code).to.deep.equal([...FAILED_AUTH]);
        await reader.rest(); // and the connection closes
      }
    });

    it('each brain refusal at route is the reply code of the error table', async () => {
      for (const code of GATEWAY_ERROR_CODES) {
        bench.brain.reset();
        bench.brain.routeFailure = { code };
        const { rep, reader } = await handshake(USER.direct, 'target.test', bench.target.port);
        expect([...rep], code).to.deep.equal([...reply(socks5ReplyFor(code))]);
        await reader.rest();
      }
      expect(socks5ReplyFor('E_NO_STOCK_COUNTRY')).to.equal(SOCKS5_REPLY.networkUnreachable);
      expect(socks5ReplyFor('E_AUTH_INVALID')).to.equal(SOCKS5_REPLY.notAllowedByRuleset);
    });

    it('BIND and UDP ASSOCIATE: 0x07 command not supported', async () => {
      for (const command of [0x02, 0x03]) {
        const socket = await connectLocal(port);
        const reader = new ByteReader(socket);
        socket.write(Buffer.concat([socks.greeting(0x02), socks.auth(USER.direct, PASSWORD), socks.request('target.test', 80, command)]));
        expect([...(await reader.rest())]).to.deep.equal([0x05, 0x02, ...OK_AUTH, ...reply(SOCKS5_REPLY.commandNotSupported)]);
      }
    });

    it('SOCKS4 or HTTP on the SOCKS port: closed without an answer', async () => {
      for (const first of [Buffer.from([0x04, 0x01, 0, 80, 127, 0, 0, 1, 0]), Buffer.from('GET / HTTP/1.1\r\n\r\n')]) {
        const socket = await connectLocal(port);
        const reader = new ByteReader(socket);
        socket.write(first);
        expect((await reader.rest()).length).to.equal(0);
      }
    });

    it('SSRF: loopback is 0x02 (not allowed) when not allowed, before any routing', async () => {
      const strict = await startProxy({ allowedPrivateCidrs: '' });
      const { rep } = await handshake(USER.direct, 'target.test', bench.target.port, { proxyPort: strict });
      expect([...rep]).to.deep.equal([...reply(SOCKS5_REPLY.notAllowedByRuleset)]);
      const r = await curl(['--socks5', `127.0.0.1:${strict}`, '--proxy-user', `${USER.direct}:${PASSWORD}`, origin('/echo', '127.0.0.1')]);
      expect(r.exitCode).to.not.equal(0);
      for (const lease of bench.brain.leases) expect(lease.routes).to.deep.equal([]);
    });

    it('a dead modem: 0x01 and reported; the retry lands on another modem', async () => {
      const first = await handshake('user-flaky', 'target.test', bench.target.port);
      expect([...first.rep]).to.deep.equal([...reply(SOCKS5_REPLY.generalFailure)]);
      expect(bench.brain.lastLease().failed.map((f) => f.upstream.deviceId)).to.deep.equal(['dead-modem']);
      const retry = await handshake('user-flaky', 'target.test', bench.target.port);
      expect([...retry.rep]).to.deep.equal([...reply(SOCKS5_REPLY.succeeded)]);
      retry.socket.end();
      await retry.reader.rest();
    });

    it('a throwing brain: E_INTERNAL as general failure, reported to onError', async () => {
      bench.brain.authThrows = true;
      const { rep } = await handshake(USER.direct, 'target.test', bench.target.port);
      expect([...rep]).to.deep.equal([...reply(SOCKS5_REPLY.generalFailure)]);
      expect(errors.map((e) => [e.code, e.error.message])).to.deep.equal([['E_INTERNAL', 'brain exploded']]);
    });
  });

  describe('lifetime', () => {
    it('revoking the lease closes a live tunnel on both sides', async () => {
      const h = await handshake(USER.socks5, 'target.test', bench.target.port);
      expect([...h.rep]).to.deep.equal([...reply(0x00)]);
      h.socket.write('ping');
      expect((await h.reader.take(4)).toString()).to.equal('ping');
      expect(bench.socksModem.open()).to.equal(2);
      bench.brain.lastLease().revoke();
      await h.reader.rest();
      await waitFor(() => bench.socksModem.open() === 0, 'the modem tunnel to close');
    });

    it('a silent client, or one that stops after the greeting, is closed after the handshake timeout', async () => {
      const quick = await startProxy({ timeouts: { handshakeMs: 150 } });
      const silent = await connectLocal(quick);
      const stalled = await connectLocal(quick);
      const reader = new ByteReader(stalled);
      stalled.write(socks.greeting(0x02));
      await Promise.all([once(silent, 'close'), once(stalled, 'close')]);
      expect([...(await reader.rest())]).to.deep.equal([0x05, 0x02]);
    });
  });
});
