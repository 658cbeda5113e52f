import { execFile } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { UNLIMITED_BUDGET, type AuthRequest, type ByteBudget, type GatewayBrain, type GatewayFailure, type Lease, type Target, type Upstream } from '../../../adapters/gateway/brain.ts';
import { parseProxyAuthorization } from '../../../adapters/gateway/http-proxy-auth.ts';
import {
  decodeCredentials,
  decodeGreeting,
  decodeRequest,
  encodeAuthReply,
  encodeMethodSelection,
  encodeReply,
  METHOD,
  selectMethod,
  type Decoded,
} from '../../../adapters/gateway/socks5/protocol.ts';
import type { LookupFn } from '../../../adapters/gateway/ssrf.ts';

/**
 * Local stand-ins for everything around the gateway's listeners: an origin web server, a raw TCP
 * target, modem proxies of both kinds, and a brain over a fixed credential table. All bind
 * 127.0.0.1 on ephemeral ports and close every socket they opened.
 */

// ---------------------------------------------------------------------------------------------
// Plumbing

/** Tracks a server's sockets so close() never waits on a client that did not hang up. */
export class Tracked<S extends net.Server> {
  readonly sockets = new Set<net.Socket>();
  port = 0;
  constructor(readonly server: S) {
    server.on('connection', (s: net.Socket) => this.track(s));
  }

  track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  async listen(host = '127.0.0.1'): Promise<number> {
    this.server.listen(0, host);
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
    return this.port;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

/** Polls `condition` until true; fails after `timeoutMs` (a bound a correct implementation never reaches). */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A port with nothing listening: connecting to it is refused at once. */
export async function deadPort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Names the gateway resolves in tests: `*.test` → 127.0.0.1; anything else does not exist. */
export const testLookup: LookupFn = async (hostname) => {
  if (hostname.endsWith('.test')) return [{ address: '127.0.0.1', family: 4 }];
  throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
};

/** Deterministic payload byte i, so a download can be checked byte for byte. */
export const patternByte = (i: number): number => i % 251;

const PERIOD = Buffer.from(Array.from({ length: 2 * 251 }, (_, i) => patternByte(i)));

export function pattern(n: number, offset = 0): Buffer {
  const b = Buffer.alloc(n);
  // Copy whole periods of the sequence rather than computing byte by byte (tests move tens of MB).
  for (let at = 0, from = offset % 251; at < n; at += 251, from = (offset + at) % 251) PERIOD.copy(b, at, from, from + Math.min(251, n - at));
  return b;
}

// ---------------------------------------------------------------------------------------------
// curl

export interface CurlResult {
  exitCode: number;
  status: number;
  body: Buffer;
  stderr: string;
}

const STATUS_MARK = '\n@@status=';

/** Runs the real curl binary; `status` is curl's %{http_code} (0 when no HTTP answer). */
export function curl(args: string[], stdin?: Buffer | string): Promise<CurlResult> {
  // No proxy settings from the environment may interfere with the explicit ones.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/_proxy$/i.test(k)));
  return new Promise((resolve, reject) => {
    const child = execFile(
      'curl',
      ['--silent', '--show-error', '--max-time', '15', '--output', '-', '--write-out', `${STATUS_MARK}%{http_code}`, ...args],
      { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024, env },
      (error, stdout, stderr) => {
        const exitCode = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        if (exitCode === -1) return reject(error);
        const mark = stdout.lastIndexOf(STATUS_MARK);
        if (mark === -1) return reject(new Error(`curl printed no status: ${stderr.toString()}`));
        resolve({ exitCode, status: Number(stdout.subarray(mark + STATUS_MARK.length).toString()), body: stdout.subarray(0, mark), stderr: stderr.toString() });
      },
    );
    // For `--data-binary @-`: large bodies do not fit on a command line.
    child.stdin?.on('error', () => {});
    child.stdin?.end(stdin);
  });
}

// ---------------------------------------------------------------------------------------------
// Origin web server

export interface EchoReply {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  rawHeaders: string[];
  body: string;
}

export interface Origin {
  port: number;
  /** /slow requests currently held open. */
  slowOpen(): number;
  close(): Promise<void>;
}

/**
 * GET /bytes/:n → n pattern bytes with Content-Length; /chunked/:n → the same without a length
 * (chunked); /drip/:n → n pattern bytes at 200 KB/s; /slow → headers and one line, then nothing until the client leaves; anything else →
 * JSON echo of method, url, headers and body.
 */
export async function startOrigin(): Promise<Origin> {
  let slow = 0;
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const bytes = /^\/(bytes|chunked)\/([0-9]+)$/.exec(url);
    if (bytes !== null) {
      const n = Number(bytes[2]);
      res.writeHead(200, bytes[1] === 'bytes' ? { 'Content-Type': 'application/octet-stream', 'Content-Length': String(n) } : { 'Content-Type': 'application/octet-stream' });
      let sent = 0;
      const pump = (): void => {
        while (sent < n) {
          const chunk = pattern(Math.min(64 * 1024, n - sent), sent);
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      return pump();
    }
    const drip = /^\/drip\/([0-9]+)$/.exec(url);
    if (drip !== null) {
      // a download in progress for a while: 4 KB every 20 ms (200 KB/s), with its length
      const n = Number(drip[1]);
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(n) });
      let sent = 0;
      const timer = setInterval(() => {
        const chunk = pattern(Math.min(4096, n - sent), sent);
        sent += chunk.length;
        res.write(chunk);
        if (sent >= n) { clearInterval(timer); res.end(); }
      }, 20);
      res.once('close', () => clearInterval(timer));
      return;
    }
    if (url === '/slow') {
      slow++;
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('started\n');
      res.once('close', () => slow--);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply: EchoReply = { method: req.method ?? '', url, headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks).toString('utf8') };
      res.writeHead(200, { 'Content-Type': 'application/json', 'X-Origin': 'yes', 'Set-Cookie': ['a=1', 'b=2'] }).end(JSON.stringify(reply));
    });
  });
  const t = new Tracked(server);
  await t.listen();
  return { port: t.port, slowOpen: () => slow, close: () => t.close() };
}

// ---------------------------------------------------------------------------------------------
// Raw TCP target

export interface TcpTarget {
  port: number;
  close(): Promise<void>;
}

/**
 * Echoes whatever it receives; when the client half-closes it adds `[received N]` and closes. With
 * `banner` it speaks first, so the first bytes race the proxy's "tunnel open" answer.
 */
export async function startTcpTarget(options: { banner?: string; host?: string } = {}): Promise<TcpTarget> {
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => socket.destroy());
    if (options.banner !== undefined) socket.write(options.banner);
    let received = 0;
    socket.on('data', (c: Buffer) => {
      received += c.length;
      socket.write(c);
    });
    socket.on('end', () => socket.end(`[received ${received}]`));
  });
  const t = new Tracked(server);
  await t.listen(options.host);
  return { port: t.port, close: () => t.close() };
}

// ---------------------------------------------------------------------------------------------
// Modem proxies

export interface Modem {
  port: number;
  url: string;
  /** Tunnels opened to a target. */
  tunnels: number;
  /** Targets asked for, as host:port. */
  targets: string[];
  /** Sockets open right now: gateway side and target side. */
  open(): number;
  close(): Promise<void>;
}

const MODEM_USER = 'modem-user';
const MODEM_PASS = 'modem:pass';

function splice(client: net.Socket, target: net.Socket): void {
  client.pipe(target);
  target.pipe(client);
  client.on('error', () => target.destroy());
  target.on('error', () => client.destroy());
  client.on('close', () => target.destroy());
  target.on('close', () => client.destroy());
}

/**
 * An HTTP CONNECT proxy with Basic auth, as a modem runs. `fragmented` writes its answer a few bytes
 * at a time; `banner` is sent in the same write as the 200, as if the target spoke instantly.
 */
export async function startHttpModem(options: { fragmented?: boolean; banner?: string; password?: string } = {}): Promise<Modem> {
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    client.on('error', () => client.destroy());
    let head: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      client.off('data', onData);
      client.pause();
      const lines = head.subarray(0, end).toString('latin1').split('\r\n');
      const rest = head.subarray(end + 4);
      const m = /^CONNECT (\S+) HTTP\/1\.1$/.exec(lines[0] ?? '');
      const authLine = lines.find((l) => /^proxy-authorization:/i.test(l));
      const auth = parseProxyAuthorization(authLine?.slice(authLine.indexOf(':') + 1).trim());
      if (m === null) return void client.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      if (!auth.ok || auth.value.username !== MODEM_USER || auth.value.password !== (options.password ?? MODEM_PASS)) {
        return void client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="modem"\r\n\r\n');
      }
      const authority = m[1] as string;
      modem.targets.push(authority);
      const colon = authority.lastIndexOf(':');
      const target = net.connect({ host: authority.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(authority.slice(colon + 1)), allowHalfOpen: true });
      t.track(target);
      target.once('error', () => void client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
      target.once('connect', async () => {
        modem.tunnels++;
        const answer = Buffer.from(`HTTP/1.1 200 Connection established\r\nX-Modem: yes\r\n\r\n${options.banner ?? ''}`);
        if (options.fragmented) {
          for (let i = 0; i < answer.length; i += 3) {
            client.write(answer.subarray(i, i + 3));
            await new Promise((r) => setImmediate(r));
          }
        } else client.write(answer);
        if (rest.length > 0) target.write(rest);
        splice(client, target);
        client.resume();
      });
    };
    client.on('data', onData);
  });
  const t = new Tracked(server);
  await t.listen();
  const modem: Modem = {
    port: t.port,
    url: `http://${MODEM_USER}:${encodeURIComponent(MODEM_PASS)}@127.0.0.1:${t.port}`,
    tunnels: 0,
    targets: [],
    open: () => t.sockets.size,
    close: () => t.close(),
  };
  return modem;
}

/** A SOCKS5 proxy with username/password, built from our codec, as a modem runs. */
export async function startSocksModem(): Promise<Modem> {
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    client.on('error', () => client.destroy());
    let phase: 'greeting' | 'auth' | 'request' = 'greeting';
    let buf: Buffer = Buffer.alloc(0);
    const refuse = (r: Extract<Decoded<unknown>, { kind: 'error' }>): void => (r.error.respond ? void client.end(r.error.respond) : void client.destroy());
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (phase === 'greeting') {
          const r = decodeGreeting(buf);
          if (r.kind === 'need') return;
          if (r.kind === 'error') return refuse(r);
          const method = selectMethod(r.value);
          client.write(encodeMethodSelection(method));
          if (method === METHOD.noAcceptable) return void client.end();
          [buf, phase] = [r.rest, 'auth'];
        } else if (phase === 'auth') {
          const r = decodeCredentials(buf);
          if (r.kind === 'need') return;
          if (r.kind === 'error') return refuse(r);
          const good = r.value.username === MODEM_USER && r.value.password === MODEM_PASS;
          client.write(encodeAuthReply(good));
          if (!good) return void client.end();
          [buf, phase] = [r.rest, 'request'];
        } else {
          const r = decodeRequest(buf);
          if (r.kind === 'need') return;
          if (r.kind === 'error') return refuse(r);
          client.off('data', onData);
          client.pause();
          const { address, port } = r.value;
          modem.targets.push(`${address.host}:${port}`);
          const target = net.connect({ host: address.host, port, allowHalfOpen: true });
          t.track(target);
          target.once('error', () => void client.end(encodeReply(0x05)));
          target.once('connect', () => {
            modem.tunnels++;
            client.write(encodeReply(0x00, { address: { type: 'ipv4', host: '127.0.0.1' }, port: target.localPort ?? 0 }));
            if (r.rest.length > 0) target.write(r.rest);
            splice(client, target);
            client.resume();
          });
          return;
        }
      }
    };
    client.on('data', onData);
  });
  const t = new Tracked(server);
  await t.listen();
  const modem: Modem = {
    port: t.port,
    url: `socks5://${MODEM_USER}:${encodeURIComponent(MODEM_PASS)}@127.0.0.1:${t.port}`,
    tunnels: 0,
    targets: [],
    open: () => t.sockets.size,
    close: () => t.close(),
  };
  return modem;
}

/** Accepts TCP, reads and discards, and never says anything: a hung modem. */
export async function startSilentServer(): Promise<Tracked<net.Server>> {
  // Reading (not answering) lets it notice the peer's FIN and close.
  const t = new Tracked(net.createServer((s) => s.on('error', () => {}).resume()));
  await t.listen();
  return t;
}

// ---------------------------------------------------------------------------------------------
// Test brain

export interface TestAccount {
  password: string;
  /** Tried in order; one reported failed is skipped by later routes of any lease. */
  upstreams: Upstream[];
}

export class TestLease implements Lease {
  readonly routes: Target[] = [];
  readonly failed: Array<{ upstream: Upstream; error: Error }> = [];
  readonly meters: Array<[number, number]> = [];
  endCalls = 0;
  private readonly controller = new AbortController();
  readonly revoked = this.controller.signal;
  budget: ByteBudget = UNLIMITED_BUDGET;

  constructor(
    private readonly brain: TestBrain,
    readonly accountKey: string,
  ) {}

  async route(target: Target): Promise<{ ok: true; upstream: Upstream } | { ok: false; failure: GatewayFailure }> {
    this.routes.push(target);
    if (this.brain.routeThrows) throw new Error('route exploded');
    if (this.brain.routeFailure !== undefined) return { ok: false, failure: this.brain.routeFailure };
    const account = this.brain.accounts.get(this.accountKey);
    const upstream = account?.upstreams.find((u) => !this.brain.failedDevices.has(u.deviceId));
    if (upstream === undefined) return { ok: false, failure: { code: 'E_NO_STOCK_COUNTRY' } };
    return { ok: true, upstream };
  }

  upstreamFailed(upstream: Upstream, error: Error): void {
    this.failed.push({ upstream, error });
    this.brain.failedDevices.add(upstream.deviceId);
  }

  meter(bytesUp: number, bytesDown: number): void {
    this.meters.push([bytesUp, bytesDown]);
  }

  end(): void {
    this.endCalls++;
  }

  revoke(): void {
    this.controller.abort();
  }

  totals(): { up: number; down: number } {
    return this.meters.reduce((t, [u, d]) => ({ up: t.up + u, down: t.down + d }), { up: 0, down: 0 });
  }
}

/** `GatewayBrain` over a fixed table (username → password + upstreams), recording what listeners do. */
export class TestBrain implements GatewayBrain {
  readonly requests: AuthRequest[] = [];
  readonly leases: TestLease[] = [];
  readonly failedDevices = new Set<string>();
  /** Every authenticate answers this failure (credentials notwithstanding). */
  authFailure: GatewayFailure | undefined;
  authThrows = false;
  /** Every route answers this failure. */
  routeFailure: GatewayFailure | undefined;
  routeThrows = false;

  constructor(readonly accounts: Map<string, TestAccount>) {}

  async authenticate(request: AuthRequest): Promise<{ ok: true; lease: Lease } | { ok: false; failure: GatewayFailure }> {
    this.requests.push(request);
    if (this.authThrows) throw new Error('brain exploded');
    if (this.authFailure !== undefined) return { ok: false, failure: this.authFailure };
    const account = this.accounts.get(request.username);
    if (account === undefined || account.password !== request.password) return { ok: false, failure: { code: 'E_AUTH_INVALID' } };
    const lease = new TestLease(this, request.username);
    this.leases.push(lease);
    return { ok: true, lease };
  }

  reset(): void {
    this.requests.length = 0;
    this.leases.length = 0;
    this.failedDevices.clear();
    this.authFailure = undefined;
    this.authThrows = false;
    this.routeFailure = undefined;
    this.routeThrows = false;
  }

  lastLease(): TestLease {
    const lease = this.leases[this.leases.length - 1];
    if (lease === undefined) throw new Error('no lease was handed out');
    return lease;
  }

  /** Resolves once every lease handed out so far has been ended. */
  allEnded(): Promise<void> {
    return waitFor(() => this.leases.every((l) => l.endCalls > 0), 'every lease to end');
  }
}

// ---------------------------------------------------------------------------------------------
// The whole bench

export const PASSWORD = 'secret';
export const VIA = ['direct', 'http', 'socks5'] as const;
export type Via = (typeof VIA)[number];
/** The username that routes through each upstream kind. */
export const USER: Record<Via, string> = { direct: 'user-direct', http: 'user-http', socks5: 'user-socks' };

export interface Bench {
  origin: Origin;
  target: TcpTarget;
  httpModem: Modem;
  socksModem: Modem;
  brain: TestBrain;
  /** A port with nothing listening, for upstream-dead cases. */
  dead: number;
  close(): Promise<void>;
}

/**
 * Accounts: one per upstream kind; `user-flaky` whose first modem is dead and second is the HTTP
 * modem (a retry must succeed); `user-dead` with only a dead modem.
 */
export async function startBench(): Promise<Bench> {
  const [origin, target, httpModem, socksModem, dead] = await Promise.all([startOrigin(), startTcpTarget(), startHttpModem(), startSocksModem(), deadPort()]);
  const deadUpstream: Upstream = { deviceId: 'dead-modem', url: `http://u:p@127.0.0.1:${dead}` };
  const brain = new TestBrain(
    new Map<string, TestAccount>([
      [USER.direct, { password: PASSWORD, upstreams: [{ deviceId: 'direct', url: null }] }],
      [USER.http, { password: PASSWORD, upstreams: [{ deviceId: 'http-modem', url: httpModem.url }] }],
      [USER.socks5, { password: PASSWORD, upstreams: [{ deviceId: 'socks-modem', url: socksModem.url }] }],
      ['user-flaky', { password: PASSWORD, upstreams: [deadUpstream, { deviceId: 'http-modem', url: httpModem.url }] }],
      ['user-dead', { password: PASSWORD, upstreams: [deadUpstream] }],
    ]),
  );
  return {
    origin,
    target,
    httpModem,
    socksModem,
    brain,
    dead,
    close: async () => {
      await Promise.all([origin.close(), target.close(), httpModem.close(), socksModem.close()]);
    },
  };
}

/** Reads a socket until the peer has finished sending (end) or the socket closed. */
export async function readAll(socket: net.Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await new Promise<void>((resolve) => {
    socket.once('end', () => resolve());
    socket.once('close', () => resolve());
  });
  return Buffer.concat(chunks);
}

/** Connects to a local port; resolves once connected. */
export async function connectLocal(port: number, options: { allowHalfOpen?: boolean } = {}): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: options.allowHalfOpen ?? false });
  socket.on('error', () => {});
  await once(socket, 'connect');
  return socket;
}

// ---------------------------------------------------------------------------------------------
// Minimal raw clients, for checking exact status lines, headers and bodies

export const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

export interface RawAnswer {
  status: number;
  head: string;
  /** Bytes after the header block that arrived so far (the whole body once the proxy closed). */
  rest: Buffer;
  socket: net.Socket;
}

/** Sends a CONNECT and reads the answer's header block; on a non-200 also reads to the close. */
export async function rawConnect(port: number, authority: string, authorization?: string, extra = ''): Promise<RawAnswer> {
  const socket = await connectLocal(port, { allowHalfOpen: true });
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${authorization ? `Proxy-Authorization: ${authorization}\r\n` : ''}\r\n${extra}`);
  let buf = Buffer.alloc(0);
  let closed = false;
  socket.once('close', () => (closed = true));
  const onData = (c: Buffer): void => void (buf = Buffer.concat([buf, c]));
  socket.on('data', onData);
  let ended = false;
  socket.once('end', () => (ended = true));
  await waitFor(() => buf.includes('\r\n\r\n') || ended || closed, 'a CONNECT answer');
  const end = buf.indexOf('\r\n\r\n');
  if (end === -1) throw new Error(`proxy closed without answering CONNECT: ${JSON.stringify(buf.toString())}`);
  const head = buf.subarray(0, end).toString('latin1');
  const status = Number(/^HTTP\/1\.1 ([0-9]{3})/.exec(head)?.[1]);
  if (status !== 200) {
    await waitFor(() => ended || closed, 'the proxy to close after refusing');
    socket.destroy();
  }
  socket.off('data', onData);
  return { status, head, rest: buf.subarray(end + 4), socket };
}

export interface PlainAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** An absolute-form request through the proxy with node's HTTP client (headers sent as given). */
export function proxyRequest(port: number, url: string, options: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<PlainAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: options.method ?? 'GET', path: url, headers: options.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

// ---------------------------------------------------------------------------------------------
// Raw SOCKS5 client pieces

export const socks = {
  greeting: (...methods: number[]): Buffer => Buffer.from([0x05, methods.length, ...methods]),
  auth: (user: string, pass: string): Buffer => {
    const u = Buffer.from(user);
    const p = Buffer.from(pass);
    return Buffer.concat([Buffer.from([0x01, u.length]), u, Buffer.from([p.length]), p]);
  },
  /** CONNECT (or another command) to a domain name. */
  request: (host: string, port: number, command = 0x01): Buffer => {
    const h = Buffer.from(host);
    return Buffer.concat([Buffer.from([0x05, command, 0x00, 0x03, h.length]), h, Buffer.from([port >> 8, port & 0xff])]);
  },
};

/** Accumulates a socket's bytes and lets a test take exact counts of them. */
export class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private done = false;
  constructor(readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => void (this.buf = Buffer.concat([this.buf, c])));
    socket.once('end', () => (this.done = true));
    socket.once('close', () => (this.done = true));
  }

  /** Exactly `n` bytes, or fewer if the peer finished first. */
  async take(n: number): Promise<Buffer> {
    await waitFor(() => this.buf.length >= n || this.done, `${n} bytes`);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(out.length);
    return out;
  }

  /** Everything until the peer finished sending. */
  async rest(): Promise<Buffer> {
    await waitFor(() => this.done, 'the peer to finish');
    const out = this.buf;
    this.buf = Buffer.alloc(0);
    return out;
  }

  get finished(): boolean {
    return this.done;
  }
}

/** Waits until the read models have applied every event appended so far (the store's head can lag behind a transaction held open elsewhere in a shared cluster). */
export async function caughtUp(infra: { database: { db: any }; projector: { waitFor(p: bigint, names?: readonly string[], timeoutMs?: number): Promise<boolean> } }): Promise<void> {
  const { sql } = await import('kysely');
  const top = (await sql<{ top: string | null }>`select max(position)::text as top from es_events`.execute(infra.database.db)).rows[0]?.top;
  if (top && !(await infra.projector.waitFor(BigInt(top), undefined, 60_000))) throw new Error('read models did not catch up within 60 s');
}
