import { expect } from 'chai';
import { once } from 'node:events';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProxyAgent, request as undiciRequest } from 'undici';
import { GATEWAY_ERROR_CODES, GATEWAY_ERRORS, type GatewayErrorCode } from '../../../domain/gateway/errors.ts';
import { createHttpProxy, type ListenerOptions, type ProxyListener } from '../../../adapters/gateway/http-listener.ts';
import {
  basic,
  connectLocal,
  curl,
  pattern,
  PASSWORD,
  proxyRequest,
  rawConnect,
  readAll,
  startBench,
  testLookup,
  USER,
  VIA,
  waitFor,
  type Bench,
  type EchoReply,
} from './helpers.ts';

const LOOPBACK = '127.0.0.0/8,::1/128';
const BODY_RE = (code: string): RegExp => new RegExp(`^${code}: [^\\n]+ \\(req: req-[0-9]+\\)$`);

describe('gateway/http-listener', function () {
  let bench: Bench;
  const proxies: Array<ProxyListener<http.Server>> = [];
  const errors: Array<{ error: Error; code: GatewayErrorCode }> = [];
  let ids = 0;

  async function startProxy(overrides: Partial<ListenerOptions> = {}): Promise<number> {
    const p = createHttpProxy({
      brain: bench.brain,
      allowedPrivateCidrs: LOOPBACK,
      lookup: testLookup,
      timeouts: { handshakeMs: 5000, upstreamConnectMs: 5000 },
      requestId: () => `req-${++ids}`,
      onError: (error, context) => errors.push({ error, code: context.code }),
      ...overrides,
    });
    proxies.push(p);
    p.server.listen(0, '127.0.0.1');
    await once(p.server, 'listening');
    return (p.server.address() as AddressInfo).port;
  }

  let port: number;
  const origin = (path: string): string => `http://origin.test:${bench.origin.port}${path}`;
  const proxyUrl = (user: string, pass = PASSWORD): string => `http://${user}:${pass}@127.0.0.1:${port}`;

  before(async () => {
    bench = await startBench();
    port = await startProxy();
  });
  beforeEach(() => {
    bench.brain.reset();
    errors.length = 0;
  });
  afterEach(async () => {
    // Whatever happened, every lease handed out is ended exactly once.
    await bench.brain.allEnded();
    for (const lease of bench.brain.leases) expect(lease.endCalls, lease.accountKey).to.equal(1);
  });
  after(async () => {
    for (const p of proxies) {
      const closed = new Promise<void>((r) => p.server.close(() => r()));
      await p.destroyAll();
      await closed;
    }
    await bench.close();
  });

  for (const via of VIA) {
    describe(`through ${via}`, () => {
      const modem = (): { targets: string[] } | undefined => (via === 'http' ? bench.httpModem : via === 'socks5' ? bench.socksModem : undefined);

      it('curl plain GET reaches the origin, without proxy credentials or hop-by-hop headers', async () => {
        const before = modem()?.targets.length ?? 0;
        const r = await curl(['-x', proxyUrl(USER[via]), '-H', 'X-Test: 1', origin('/echo?q=1')]);
        expect([r.exitCode, r.status], r.stderr).to.deep.equal([0, 200]);
        const echo = JSON.parse(r.body.toString()) as EchoReply;
        expect(echo.url).to.equal('/echo?q=1');
        expect(echo.headers.host).to.equal(`origin.test:${bench.origin.port}`);
        expect(echo.headers['x-test']).to.equal('1');
        expect(echo.headers).to.not.have.any.keys('proxy-authorization', 'proxy-connection');
        // The modem was asked for the address the SSRF check approved, never the name.
        if (modem()) expect(modem()?.targets.slice(before)).to.deep.equal([`127.0.0.1:${bench.origin.port}`]);
        expect(bench.brain.lastLease().routes).to.deep.equal([{ host: 'origin.test', port: bench.origin.port }]);
      });

      it('curl plain POST streams a 2 MB body (100-continue) and a chunked upload', async () => {
        const big = 'x'.repeat(2 * 1024 * 1024);
        const posted = await curl(['-x', proxyUrl(USER[via]), '-H', 'Content-Type: text/plain', '--data-binary', '@-', origin('/echo')], big);
        expect(posted.status, posted.stderr).to.equal(200);
        expect((JSON.parse(posted.body.toString()) as EchoReply).body.length).to.equal(big.length);
        const chunked = await curl(['-x', proxyUrl(USER[via]), '-H', 'Transfer-Encoding: chunked', '--data-binary', 'chunk-body', origin('/echo')]);
        const echo = JSON.parse(chunked.body.toString()) as EchoReply;
        expect([echo.method, echo.body, echo.headers['transfer-encoding']]).to.deep.equal(['POST', 'chunk-body', 'chunked']);
      });

      it('curl plain GET of a chunked response arrives whole', async () => {
        const r = await curl(['-x', proxyUrl(USER[via]), origin('/chunked/300000')]);
        expect(r.status).to.equal(200);
        expect(r.body.equals(pattern(300_000))).to.equal(true);
      });

      it('curl -p (CONNECT) GET reaches the origin', async () => {
        const r = await curl(['-p', '-x', proxyUrl(USER[via]), origin('/echo')]);
        expect([r.exitCode, r.status], r.stderr).to.deep.equal([0, 200]);
        expect((JSON.parse(r.body.toString()) as EchoReply).headers.host).to.equal(`origin.test:${bench.origin.port}`);
      });

      it('undici ProxyAgent (CONNECT) GET reaches the origin', async () => {
        const agent = new ProxyAgent({ uri: `http://127.0.0.1:${port}`, token: basic(USER[via], PASSWORD), proxyTunnel: true });
        try {
          const res = await undiciRequest(origin('/echo?undici=1'), { dispatcher: agent });
          expect(res.statusCode).to.equal(200);
          expect(((await res.body.json()) as EchoReply).url).to.equal('/echo?undici=1');
        } finally {
          await agent.close();
        }
      });

      it('meters a 1 MB download (CONNECT and plain) close to the bytes moved', async () => {
        const size = 1024 * 1024;
        for (const mode of [['-p'], []]) {
          bench.brain.reset();
          const r = await curl([...mode, '-x', proxyUrl(USER[via]), origin(`/bytes/${size}`)]);
          expect(r.body.equals(pattern(size)), `mode ${mode.join('')}`).to.equal(true);
          await bench.brain.allEnded();
          const { up, down } = bench.brain.lastLease().totals();
          // The body plus one response head; the request head only.
          expect(down).to.be.within(size, size + 1024);
          expect(up).to.be.within(50, 1024);
        }
      });
    });
  }

  it('CONNECT meters exactly the bytes that crossed, and half-close still gets the whole answer', async () => {
    const a = await rawConnect(port, `target.test:${bench.target.port}`, basic(USER.http, PASSWORD));
    expect(a.status).to.equal(200);
    const all = readAll(a.socket);
    a.socket.end('hello'); // FIN: the target answers only after it
    expect((await all).toString()).to.equal('hello[received 5]');
    await bench.brain.allEnded();
    expect(bench.brain.lastLease().totals()).to.deep.equal({ up: 5, down: 17 });
  });

  it('CONNECT forwards bytes the client sent right behind its request', async () => {
    const a = await rawConnect(port, `target.test:${bench.target.port}`, basic(USER.direct, PASSWORD), 'eager');
    expect(a.status).to.equal(200);
    const all = readAll(a.socket);
    a.socket.end();
    expect(Buffer.concat([a.rest, await all]).toString()).to.equal('eager[received 5]');
  });

  describe('errors', () => {
    it('no credentials: 407 E_AUTH_REQUIRED with the Basic challenge (curl, plain and CONNECT)', async () => {
      const plain = await curl(['-x', `http://127.0.0.1:${port}`, '--dump-header', '-', origin('/echo')]);
      expect(plain.status).to.equal(407);
      const [head = '', body] = plain.body.toString().split('\r\n\r\n');
      expect(body).to.match(BODY_RE('E_AUTH_REQUIRED'));
      expect(head).to.match(/^Proxy-Authenticate: Basic realm="proxy"$/m);
      expect(head).to.match(/^Connection: close$/m);
      const tunnel = await curl(['-p', '-x', `http://127.0.0.1:${port}`, origin('/echo')]);
      expect(tunnel.exitCode).to.not.equal(0);
      expect(tunnel.stderr).to.match(/407/);
      const raw = await rawConnect(port, `origin.test:${bench.origin.port}`);
      expect(raw.status).to.equal(407);
      expect(raw.head).to.match(/^Proxy-Authenticate: Basic realm="proxy"$/m);
      expect(raw.rest.toString()).to.match(BODY_RE('E_AUTH_REQUIRED'));
    });

    it('wrong password: 407 E_AUTH_INVALID', async () => {
      const r = await curl(['-x', proxyUrl(USER.direct, 'wrong'), origin('/echo')]);
      expect(r.status).to.equal(407);
      expect(r.body.toString()).to.match(BODY_RE('E_AUTH_INVALID'));
      const raw = await rawConnect(port, `origin.test:${bench.origin.port}`, basic(USER.direct, 'wrong'));
      expect(raw.status).to.equal(407);
      expect(raw.rest.toString()).to.match(BODY_RE('E_AUTH_INVALID'));
    });

    it('unreadable credentials: 407 E_AUTH_INVALID without asking the brain', async () => {
      const r = await proxyRequest(port, origin('/echo'), { headers: { 'Proxy-Authorization': 'Basic !!!' } });
      expect(r.status).to.equal(407);
      expect(r.body.toString()).to.match(BODY_RE('E_AUTH_INVALID'));
      expect(bench.brain.requests).to.deep.equal([]);
    });

    for (const code of GATEWAY_ERROR_CODES) {
      const { httpStatus, message } = GATEWAY_ERRORS[code];
      it(`brain refuses with ${code}: ${httpStatus} and its body, on authenticate and on route`, async () => {
        for (const phase of ['authenticate', 'route'] as const) {
          bench.brain.reset();
          if (phase === 'authenticate') bench.brain.authFailure = { code };
          else bench.brain.routeFailure = { code, message: `custom ${code}` };
          const text = phase === 'authenticate' ? message : `custom ${code}`;
          const plain = await proxyRequest(port, origin('/echo'), { headers: { 'Proxy-Authorization': basic(USER.direct, PASSWORD) } });
          expect(plain.status, phase).to.equal(httpStatus);
          expect(plain.body.toString(), phase).to.match(new RegExp(`^${code}: ${text} \\(req: req-[0-9]+\\)$`));
          expect(plain.headers.connection).to.equal('close');
          expect(plain.headers['proxy-authenticate']).to.equal(httpStatus === 407 ? 'Basic realm="proxy"' : undefined);
          const raw = await rawConnect(port, `origin.test:${bench.origin.port}`, basic(USER.direct, PASSWORD));
          expect(raw.status, phase).to.equal(httpStatus);
          expect(raw.rest.toString(), phase).to.match(new RegExp(`^${code}: ${text} \\(req: req-[0-9]+\\)$`));
        }
      });
    }

    it('a throwing brain is 503 E_INTERNAL, reported to onError', async () => {
      bench.brain.authThrows = true;
      const r = await proxyRequest(port, origin('/echo'), { headers: { 'Proxy-Authorization': basic(USER.direct, PASSWORD) } });
      expect(r.status).to.equal(503);
      expect(r.body.toString()).to.match(BODY_RE('E_INTERNAL'));
      bench.brain.authThrows = false;
      bench.brain.routeThrows = true;
      const raw = await rawConnect(port, `origin.test:${bench.origin.port}`, basic(USER.direct, PASSWORD));
      expect(raw.status).to.equal(503);
      expect(errors.map((e) => [e.code, e.error.message])).to.deep.equal([
        ['E_INTERNAL', 'brain exploded'],
        ['E_INTERNAL', 'route exploded'],
      ]);
    });

    it('SSRF: loopback is 403 E_SSRF_BLOCKED when not allowed, before any routing', async () => {
      const strict = await startProxy({ allowedPrivateCidrs: '' });
      const auth = { 'Proxy-Authorization': basic(USER.direct, PASSWORD) };
      const plain = await proxyRequest(strict, `http://127.0.0.1:${bench.origin.port}/echo`, { headers: auth });
      expect(plain.status).to.equal(403);
      expect(plain.body.toString()).to.match(/^E_SSRF_BLOCKED: target address 127\.0\.0\.1 is loopback \(req: req-[0-9]+\)$/);
      const viaName = await curl(['-p', '-x', `http://${USER.direct}:${PASSWORD}@127.0.0.1:${strict}`, origin('/echo')]);
      expect(viaName.stderr).to.match(/403/);
      const raw = await rawConnect(strict, '[::1]:80', basic(USER.direct, PASSWORD));
      expect(raw.status).to.equal(403);
      for (const lease of bench.brain.leases) expect(lease.routes).to.deep.equal([]);
    });

    it('bad targets: origin-form, https:// and a malformed CONNECT authority are refused', async () => {
      const auth = { 'Proxy-Authorization': basic(USER.direct, PASSWORD) };
      const originForm = await proxyRequest(port, '/echo', { headers: auth });
      expect(originForm.status).to.equal(403);
      expect(originForm.body.toString()).to.match(/^E_SSRF_BLOCKED: request target must be an absolute http:\/\/ URL/);
      const https = await proxyRequest(port, 'https://origin.test/', { headers: auth });
      expect(https.body.toString()).to.match(/use CONNECT for https/);
      const raw = await rawConnect(port, 'origin.test', basic(USER.direct, PASSWORD));
      expect(raw.status).to.equal(403);
      expect(raw.rest.toString()).to.match(/needs a port/);
    });

    it('an unresolvable name is 502 E_STOCK_DEGRADED without blaming the modem', async () => {
      const r = await curl(['-x', proxyUrl(USER.http), 'http://nowhere.invalid/']);
      expect(r.status).to.equal(502);
      expect(r.body.toString()).to.match(/^E_STOCK_DEGRADED: could not resolve "nowhere.invalid" \(ENOTFOUND\) \(req: req-[0-9]+\)$/);
      expect(bench.brain.lastLease().failed).to.deep.equal([]);
    });

    it('a dead modem is 502 E_STOCK_DEGRADED and reported; the retry lands on another modem', async () => {
      for (const mode of [['-p'], []]) {
        bench.brain.reset();
        const first = await curl([...mode, '-x', proxyUrl('user-flaky'), origin('/echo')]);
        expect(first.status === 502 || /502/.test(first.stderr), first.stderr).to.equal(true);
        if (mode.length === 0) expect(first.body.toString()).to.match(BODY_RE('E_STOCK_DEGRADED'));
        expect(bench.brain.lastLease().failed.map((f) => [f.upstream.deviceId, (f.error as { kind?: string }).kind])).to.deep.equal([['dead-modem', 'connect-failed']]);
        const retry = await curl([...mode, '-x', proxyUrl('user-flaky'), origin('/echo')]);
        expect(retry.status).to.equal(200);
      }
      bench.brain.reset();
      const raw = await rawConnect(port, `origin.test:${bench.origin.port}`, basic('user-dead', PASSWORD));
      expect(raw.status).to.equal(502);
      expect(raw.rest.toString()).to.match(BODY_RE('E_STOCK_DEGRADED'));
      expect(errors.filter((e) => e.code === 'E_STOCK_DEGRADED').length).to.be.greaterThan(0);
    });
  });

  describe('lifetime', () => {
    it('revoking the lease closes a live CONNECT tunnel on both sides', async () => {
      const a = await rawConnect(port, `target.test:${bench.target.port}`, basic(USER.socks5, PASSWORD));
      expect(a.status).to.equal(200);
      const all = readAll(a.socket);
      a.socket.write('ping');
      await once(a.socket, 'data'); // the echo: the tunnel is live end to end
      expect(bench.socksModem.open()).to.equal(2);
      bench.brain.lastLease().revoke();
      await all;
      await waitFor(() => bench.socksModem.open() === 0, 'the modem tunnel to close');
    });

    it('revoking the lease cuts a plain response in flight', async () => {
      const done = proxyRequest(port, origin('/slow'), { headers: { 'Proxy-Authorization': basic(USER.http, PASSWORD) } }).then(
        () => 'completed',
        () => 'cut',
      );
      await waitFor(() => bench.origin.slowOpen() === 1, 'the slow request to reach the origin');
      bench.brain.lastLease().revoke();
      expect(await done).to.equal('cut');
      await waitFor(() => bench.origin.slowOpen() === 0 && bench.httpModem.open() === 0, 'the origin and modem sides to close');
    });

    it('a silent client, or one that stops mid-headers, is closed after the handshake timeout', async () => {
      const quick = await startProxy({ timeouts: { handshakeMs: 150 } });
      const silent = await connectLocal(quick);
      const partial = await connectLocal(quick);
      partial.write(`GET ${origin('/echo')} HTTP/1.1\r\nHost: x\r\n`);
      await Promise.all([once(silent, 'close'), once(partial, 'close')]);
      expect(bench.brain.requests).to.deep.equal([]);
    });

    it('one request per connection: the answer says Connection: close and the socket closes', async () => {
      const socket = await connectLocal(port);
      const all = readAll(socket);
      const req = (path: string): string => `GET ${origin(path)} HTTP/1.1\r\nHost: origin.test\r\nProxy-Authorization: ${basic(USER.direct, PASSWORD)}\r\n\r\n`;
      socket.write(req('/echo?first') + req('/echo?second'));
      const text = (await all).toString();
      expect(text).to.match(/^HTTP\/1\.1 200 OK\r\n/);
      expect(text).to.match(/\r\nConnection: close\r\n/i);
      expect(text).to.include('/echo?first').and.not.include('/echo?second');
      expect(bench.brain.leases.length).to.equal(1);
    });

    it('keeps duplicate end-to-end response headers and drops the ones named in Connection', async () => {
      const r = await proxyRequest(port, origin('/echo'), {
        headers: { 'Proxy-Authorization': basic(USER.direct, PASSWORD), Connection: 'keep-alive, X-Hop', 'X-Hop': 'secret', 'Keep-Alive': 'timeout=5', 'X-Kept': 'yes' },
      });
      expect(r.headers['set-cookie']).to.deep.equal(['a=1', 'b=2']);
      const echo = JSON.parse(r.body.toString()) as EchoReply;
      expect(echo.headers['x-kept']).to.equal('yes');
      expect(echo.headers).to.not.have.any.keys('x-hop', 'keep-alive');
      expect(echo.headers.connection).to.equal('close');
    });
  });
});
