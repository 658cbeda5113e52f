import http from 'node:http';
import type net from 'node:net';
import { formatGatewayError, GATEWAY_ERRORS, type GatewayErrorCode } from '../../domain/gateway/errors.ts';
import type { AuthRequest, GatewayBrain, GatewayFailure, Lease } from './brain.ts';
import { parseConnectAuthority, parseProxyAuthorization } from './http-proxy-auth.ts';
import { BatchedMeter, DEFAULT_HALF_CLOSE_GRACE_MS, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_METER_INTERVAL_MS, pipe } from './pipe.ts';
import { parseCidrList, systemLookup, type Cidr, type LookupFn } from './ssrf.ts';
import { dialSignal, dialTarget, type DialOptions, type Tunnel } from './upstream.ts';

// ---------------------------------------------------------------------------------------------
// What both listeners share: options, socket bookkeeping, authentication, graceful refusal.

export interface ListenerTimeouts {
  /** The client must finish its handshake (HTTP request headers; SOCKS5 greeting, auth and request). */
  handshakeMs: number;
  /** Opening the tunnel through the upstream: TCP connect plus the proxy handshake. */
  upstreamConnectMs: number;
  /** A tunnel with no bytes in either direction for this long is closed. */
  idleMs: number;
  /** Once one side has ended, a tunnel with no bytes for this long is closed (≤ 30 s: a half-closed tunnel holds a connection slot). */
  halfCloseGraceMs: number;
}

export const DEFAULT_LISTENER_TIMEOUTS: ListenerTimeouts = { handshakeMs: 10_000, upstreamConnectMs: 10_000, idleMs: DEFAULT_IDLE_TIMEOUT_MS, halfCloseGraceMs: DEFAULT_HALF_CLOSE_GRACE_MS };

export interface ListenerOptions {
  brain: GatewayBrain;
  /** Non-public target ranges opened anyway, e.g. "127.0.0.0/8,::1/128" for tests. Empty in production. */
  allowedPrivateCidrs: string | readonly Cidr[];
  lookup?: LookupFn;
  timeouts?: Partial<ListenerTimeouts>;
  /** Support id shown in every failure body; one per client connection. */
  requestId: () => string;
  /** Internal errors and upstream failures, for logs; never affects the client's answer. */
  onError?: (error: Error, context: { requestId: string; code: GatewayErrorCode }) => void;
  meterIntervalMs?: number;
}

export interface ResolvedListenerOptions {
  brain: GatewayBrain;
  allowedPrivateCidrs: readonly Cidr[];
  lookup: LookupFn;
  timeouts: ListenerTimeouts;
  requestId: () => string;
  onError: (error: Error, context: { requestId: string; code: GatewayErrorCode }) => void;
  meterIntervalMs: number;
}

/** Throws on a bad CIDR list: a misconfigured SSRF allow list must stop startup, not be ignored. */
export function resolveListenerOptions(options: ListenerOptions): ResolvedListenerOptions {
  let cidrs: readonly Cidr[];
  if (typeof options.allowedPrivateCidrs === 'string') {
    const parsed = parseCidrList(options.allowedPrivateCidrs);
    if (!parsed.ok) throw new Error(`allowedPrivateCidrs: ${parsed.error}`);
    cidrs = parsed.value;
  } else cidrs = options.allowedPrivateCidrs;
  return {
    brain: options.brain,
    allowedPrivateCidrs: cidrs,
    lookup: options.lookup ?? systemLookup,
    timeouts: { ...DEFAULT_LISTENER_TIMEOUTS, ...options.timeouts },
    requestId: options.requestId,
    onError: options.onError ?? (() => {}),
    meterIntervalMs: options.meterIntervalMs ?? DEFAULT_METER_INTERVAL_MS,
  };
}

/** Client connections and the upstream sockets opened for them, so a shutdown can close them all. */
export class SocketRegistry {
  readonly clients = new Set<net.Socket>();
  readonly upstreams = new Set<net.Socket>();
  private waiters: Array<() => void> = [];

  addClient(socket: net.Socket): void {
    this.add(this.clients, socket);
  }

  addUpstream(socket: net.Socket): void {
    this.add(this.upstreams, socket);
  }

  /** Destroys everything; resolves once every tracked socket has emitted 'close'. */
  destroyAll(): Promise<void> {
    for (const s of [...this.clients, ...this.upstreams]) s.destroy();
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.check();
    });
  }

  private add(set: Set<net.Socket>, socket: net.Socket): void {
    if (socket.closed) return;
    set.add(socket);
    socket.once('close', () => {
      set.delete(socket);
      this.check();
    });
  }

  private check(): void {
    if (this.clients.size > 0 || this.upstreams.size > 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

export interface ProxyListener<S extends net.Server> {
  /** Not listening yet: the caller picks host and port. */
  readonly server: S;
  /** Client connections open right now. */
  connections(): number;
  /** Upstream sockets open right now (including tunnels still being opened). */
  tunnels(): number;
  /** Destroys every client connection and tunnel; resolves when all of them have closed. */
  destroyAll(): Promise<void>;
}

export function listenerHandle<S extends net.Server>(server: S, registry: SocketRegistry): ProxyListener<S> {
  return {
    server,
    connections: () => registry.clients.size,
    tunnels: () => registry.upstreams.size,
    destroyAll: () => registry.destroyAll(),
  };
}

export function dialOptions(o: ResolvedListenerOptions, registry: SocketRegistry, signal: AbortSignal): DialOptions {
  return {
    allowedPrivateCidrs: o.allowedPrivateCidrs,
    lookup: o.lookup,
    connectTimeoutMs: o.timeouts.upstreamConnectMs,
    signal,
    onSocket: (s) => registry.addUpstream(s),
  };
}

/** A throwing brain is an internal error for this client, not a crash. */
export async function authenticate(
  o: ResolvedListenerOptions,
  request: AuthRequest,
  requestId: string,
): Promise<{ ok: true; lease: Lease } | { ok: false; failure: GatewayFailure }> {
  try {
    return await o.brain.authenticate(request);
  } catch (e) {
    o.onError(asError(e), { requestId, code: 'E_INTERNAL' });
    return { ok: false, failure: { code: 'E_INTERNAL' } };
  }
}

export function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/** Lets the client read a final answer before we close, without waiting on it forever. */
const LINGER_MS = 2_000;

/**
 * Sends `data` and closes. Reading on (and discarding) lets the client's FIN arrive, so a closing
 * client sees our answer instead of a reset; the linger timer closes one that never hangs up.
 */
export function endGracefully(socket: net.Socket, data: Buffer | string): void {
  if (socket.destroyed) return;
  socket.end(data);
  socket.resume();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  socket.once('close', () => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------
// The HTTP forward proxy: CONNECT tunnels and absolute-form plain requests.

const CHALLENGE = 'Basic realm="proxy"';
/** RFC 9110 §7.6.1 plus the proxy-specific ones; each connection's `Connection` header adds more. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  // We answered any 100-continue ourselves; the origin must not wait for a second go-ahead.
  'expect',
]);

function errorParts(failure: GatewayFailure, requestId: string): { status: number; body: string; headers: Record<string, string> } {
  const status = GATEWAY_ERRORS[failure.code].httpStatus;
  const body = formatGatewayError(failure.code, failure.message, requestId);
  const headers: Record<string, string> = {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
  };
  if (status === 407) headers['Proxy-Authenticate'] = CHALLENGE;
  return { status, body, headers };
}

function refuseConnect(socket: net.Socket, failure: GatewayFailure, requestId: string): void {
  const { status, body, headers } = errorParts(failure, requestId);
  const head = [`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  endGracefully(socket, `${head.join('\r\n')}\r\n\r\n${body}`);
}

function refuseRequest(req: http.IncomingMessage, res: http.ServerResponse, failure: GatewayFailure, requestId: string): void {
  if (res.headersSent) return void res.destroy();
  const { status, body, headers } = errorParts(failure, requestId);
  req.resume(); // drain an unread body so the client is not reset before it reads the answer
  res.writeHead(status, headers).end(body);
}

/** Absolute-form `http://authority/path`, keeping the path exactly as sent (URL would normalise it). */
function parseAbsoluteTarget(url: string): { ok: true; host: string; port: number; authority: string; path: string } | { ok: false; message: string } {
  const m = /^http:\/\/([^/?#]*)([^#]*)/i.exec(url);
  if (m === null) {
    return { ok: false, message: /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? 'only http:// URLs can be proxied as plain requests; use CONNECT for https' : 'request target must be an absolute http:// URL (this is a proxy)' };
  }
  const [, authority = '', rest = ''] = m;
  if (authority.includes('@')) return { ok: false, message: 'request URL must not contain userinfo ("@")' };
  const parsed = parseConnectAuthority(/:[0-9]*$/.test(authority) && !authority.endsWith(']') ? authority : `${authority}:80`);
  if (!parsed.ok) return { ok: false, message: parsed.error.message };
  const path = rest === '' ? '/' : rest.startsWith('?') ? `/${rest}` : rest;
  return { ok: true, host: parsed.value.host, port: parsed.value.port, authority, path };
}

/** rawHeaders minus hop-by-hop ones, as the flat [name, value, …] list node:http accepts. */
function endToEndHeaders(raw: readonly string[]): string[] {
  const drop = new Set(HOP_BY_HOP);
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === 'connection') {
      for (const token of (raw[i + 1] as string).split(',')) drop.add(token.trim().toLowerCase());
    }
  }
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    if (!drop.has(name.toLowerCase())) out.push(name, raw[i + 1] as string);
  }
  return out;
}

/**
 * One request per client connection for plain requests: every answer carries `Connection: close`.
 * Each request may name another host and so needs its own tunnel anyway, and plain HTTP is a small
 * share of proxy traffic (HTTPS goes through CONNECT, which is a long-lived tunnel).
 */
export function createHttpProxy(options: ListenerOptions): ProxyListener<http.Server> {
  const o = resolveListenerOptions(options);
  const registry = new SocketRegistry();
  const handshakeTimers = new WeakMap<net.Socket, NodeJS.Timeout>();
  const served = new WeakSet<net.Socket>();
  // requestTimeout 0: long uploads are bounded by the idle timeout, not by a total.
  const server = http.createServer({ requireHostHeader: false, requestTimeout: 0 });

  server.on('connection', (socket: net.Socket) => {
    registry.addClient(socket);
    const timer = setTimeout(() => socket.destroy(), o.timeouts.handshakeMs);
    handshakeTimers.set(socket, timer);
    socket.once('close', () => clearTimeout(timer));
  });
  const headersArrived = (socket: net.Socket): boolean => {
    clearTimeout(handshakeTimers.get(socket));
    if (served.has(socket)) return false;
    served.add(socket);
    return true;
  };

  server.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    socket.on('error', () => {}); // closes follow errors; the flow below watches 'close'
    if (!headersArrived(socket)) return void socket.destroy();
    void handleConnect(req, socket, head);
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    // A pipelined second request: the connection closes after the first answer, so it goes unanswered.
    if (!headersArrived(req.socket)) return;
    void handleRequest(req, res);
  });

  async function start(req: http.IncomingMessage, requestId: string): Promise<{ ok: true; lease: Lease } | { ok: false; failure: GatewayFailure }> {
    const creds = parseProxyAuthorization(req.headers['proxy-authorization']);
    if (!creds.ok) return { ok: false, failure: creds.error };
    return authenticate(o, { ...creds.value, protocol: 'http', clientAddress: req.socket.remoteAddress ?? '' }, requestId);
  }

  async function handleConnect(req: http.IncomingMessage, socket: net.Socket, head: Buffer): Promise<void> {
    const requestId = o.requestId();
    let lease: Lease | undefined;
    let established = false;
    try {
      const auth = await start(req, requestId);
      if (!auth.ok) return refuseConnect(socket, auth.failure, requestId);
      lease = auth.lease;
      const target = parseConnectAuthority(req.url ?? '');
      if (!target.ok) return refuseConnect(socket, { code: 'E_SSRF_BLOCKED', message: target.error.message }, requestId);
      const dialed = await dialTarget(lease, { host: target.value.host, port: target.value.port }, { ...dialOptions(o, registry, dialSignal(socket, lease.revoked)), ownReads: true });
      if (!dialed.ok) {
        if (dialed.cause) o.onError(dialed.cause, { requestId, code: dialed.failure.code });
        return dialed.aborted ? void socket.destroy() : refuseConnect(socket, dialed.failure, requestId);
      }
      established = true;
      socket.setNoDelay(true);
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      const meter = new BatchedMeter((u, d) => lease?.meter(u, d), o.meterIntervalMs, (e) => o.onError(asError(e), { requestId, code: 'E_INTERNAL' }));
      await pipe(socket, dialed.tunnel.socket, { idleTimeoutMs: o.timeouts.idleMs, halfCloseGraceMs: o.timeouts.halfCloseGraceMs, meter, budget: lease.budget, signal: lease.revoked, clientHead: head, upstreamHead: dialed.tunnel.head });
    } catch (e) {
      o.onError(asError(e), { requestId, code: 'E_INTERNAL' });
      if (established) socket.destroy();
      else refuseConnect(socket, { code: 'E_INTERNAL' }, requestId);
    } finally {
      lease?.end();
    }
  }

  async function handleRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const requestId = o.requestId();
    const socket = req.socket;
    let lease: Lease | undefined;
    try {
      const auth = await start(req, requestId);
      if (!auth.ok) return refuseRequest(req, res, auth.failure, requestId);
      lease = auth.lease;
      const target = parseAbsoluteTarget(req.url ?? '');
      if (!target.ok) return refuseRequest(req, res, { code: 'E_SSRF_BLOCKED', message: target.message }, requestId);
      const dialed = await dialTarget(lease, { host: target.host, port: target.port }, dialOptions(o, registry, dialSignal(socket, lease.revoked)));
      if (!dialed.ok) {
        if (dialed.cause) o.onError(dialed.cause, { requestId, code: dialed.failure.code });
        return dialed.aborted ? void socket.destroy() : refuseRequest(req, res, dialed.failure, requestId);
      }
      await forward(req, res, target, dialed.tunnel, lease, requestId);
    } catch (e) {
      o.onError(asError(e), { requestId, code: 'E_INTERNAL' });
      refuseRequest(req, res, { code: 'E_INTERNAL' }, requestId);
    } finally {
      lease?.end();
    }
  }

  /** Sends the request through the tunnel with node's own HTTP client, so body framing is never ours to get wrong. */
  async function forward(req: http.IncomingMessage, res: http.ServerResponse, target: { authority: string; path: string }, tunnel: Tunnel, lease: Lease, requestId: string): Promise<void> {
    const upstream = tunnel.socket;
    const meter = new BatchedMeter((u, d) => lease.meter(u, d), o.meterIntervalMs, (e) => o.onError(asError(e), { requestId, code: 'E_INTERNAL' }));
    // Count what crossed the tunnel after it opened (the proxy handshake is not the customer's traffic).
    let read = upstream.bytesRead - tunnel.head.length;
    let written = upstream.bytesWritten;
    // Node's HTTP client owns these sockets' reads, so the budget is spent as bytes are seen and a
    // short take cuts the request: at most one chunk (≤ 64 KB) beyond the balance per plain request.
    let exhausted = false;
    const sample = (): void => {
      const [u, d] = [upstream.bytesWritten - written, upstream.bytesRead - read];
      meter.add(u, d);
      read = upstream.bytesRead;
      written = upstream.bytesWritten;
      if (!exhausted && u + d > 0 && lease.budget.take(u + d) < u + d) {
        exhausted = true;
        void lease.budget.refill().then((more) => { if (!more) kill(); else exhausted = false; }, kill);
      }
    };
    const kill = (): void => {
      upstream.destroy();
      req.socket.destroy();
    };
    if (lease.revoked.aborted) kill();
    else lease.revoked.addEventListener('abort', kill, { once: true });
    upstream.setTimeout(o.timeouts.idleMs, () => upstream.destroy());

    const headers = endToEndHeaders(req.rawHeaders);
    if (req.headers.host === undefined) headers.push('Host', target.authority);
    // Node decoded the client's chunking; ask it to re-chunk toward the origin.
    if (req.headers['transfer-encoding'] !== undefined && req.headers['content-length'] === undefined) headers.push('Transfer-Encoding', 'chunked');
    headers.push('Connection', 'close');
    if (tunnel.head.length > 0) upstream.unshift(tunnel.head);
    const outgoing = http.request({ method: req.method, path: target.path, headers, setHost: false, createConnection: () => upstream });
    // After http.request: node attaches its parser on the next tick, which this resume is queued behind.
    upstream.resume();
    upstream.on('data', sample);
    req.on('data', sample);

    outgoing.on('response', (incoming) => {
      res.writeHead(incoming.statusCode ?? 502, incoming.statusMessage, [...endToEndHeaders(incoming.rawHeaders), 'Connection', 'close']);
      incoming.pipe(res);
      incoming.on('error', () => res.destroy());
      incoming.on('aborted', () => res.destroy());
    });
    outgoing.on('error', () => {
      // Before an answer the client still gets a proper error; after it, only a cut connection says so.
      if (res.headersSent || res.destroyed) res.destroy();
      else refuseRequest(req, res, { code: 'E_STOCK_DEGRADED', message: 'the connection to the target closed before it answered' }, requestId);
    });
    req.pipe(outgoing);

    await new Promise<void>((resolve) => res.once('close', () => resolve()));
    lease.revoked.removeEventListener('abort', kill);
    upstream.destroy();
    sample();
    meter.close();
  }

  return listenerHandle(server, registry);
}
