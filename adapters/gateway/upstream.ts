import net from 'node:net';
import { SocksClient } from 'socks';
import type { GatewayFailure, Lease, Target, Upstream } from './brain.ts';
import { OwnReads, ownReads } from './reads.ts';
import { resolveAndCheck, type Cidr, type LookupFn } from './ssrf.ts';

/**
 * Opens a TCP tunnel to `host:port` through an upstream: directly, through an HTTP CONNECT proxy, or
 * through a SOCKS5 proxy (the modem). The caller passes the address the SSRF guard approved, so the
 * upstream never resolves names on our behalf.
 */

export type UpstreamErrorKind =
  /** The upstream URL cannot be used (a configuration bug, not the modem's fault). */
  | 'invalid-upstream'
  /** TCP to the proxy (or, when direct, to the target) failed. */
  | 'connect-failed'
  | 'timeout'
  /** The proxy refused our credentials (HTTP 407, SOCKS5 auth failure). */
  | 'auth-rejected'
  /** The proxy answered but would not open the tunnel (non-2xx, SOCKS5 reply != 0): often the target's fault. */
  | 'refused'
  /** The proxy spoke something we could not read. */
  | 'protocol'
  /** The proxy closed the connection during the handshake. */
  | 'closed'
  /** Our own caller gave up (client left, shutdown). Not the upstream's fault. */
  | 'aborted';

export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  constructor(
    readonly kind: UpstreamErrorKind,
    message: string,
    /** HTTP status of a refused CONNECT. */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface Tunnel {
  /** Connected to the target, paused, with a no-op 'error' listener so a late error cannot crash us. */
  socket: net.Socket;
  /** Bytes from the target that arrived with the proxy's answer; deliver them before the socket's data. */
  head: Buffer;
}

export type OpenTunnelResult = { ok: true; tunnel: Tunnel } | { ok: false; error: UpstreamError };

export interface OpenTunnelOptions {
  /** Bound on the whole open: TCP connect plus the proxy handshake. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Sees each socket as soon as it exists, so a shutdown can destroy a tunnel mid-handshake. */
  onSocket?: (socket: net.Socket) => void;
  /** The tunnel's socket reads into a buffer the tunnel owns (reads.ts): for tunnels handed to pipe(). */
  ownReads?: boolean;
}

/** CONNECT answers larger than this are not a proxy we want to talk to. */
const MAX_CONNECT_RESPONSE_BYTES = 16 * 1024;
const HEADER_END_RE = /\r?\n\r?\n/;
const STATUS_LINE_RE = /^HTTP\/1\.[01] ([0-9]{3})(?:[ \t][^\r\n]*)?\r?$/;

interface ProxyEndpoint {
  kind: 'http' | 'socks5';
  host: string;
  port: number;
  username: string;
  password: string;
}

export function parseUpstreamUrl(url: string): { ok: true; value: ProxyEndpoint } | { ok: false; error: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { ok: false, error: 'upstream URL does not parse' };
  }
  const kind = u.protocol === 'http:' ? 'http' : u.protocol === 'socks5:' ? 'socks5' : undefined;
  if (kind === undefined) return { ok: false, error: `upstream scheme ${u.protocol} is not http: or socks5:` };
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const port = u.port === '' ? (kind === 'http' ? 80 : 1080) : Number(u.port);
  if (host === '') return { ok: false, error: 'upstream URL has no host' };
  try {
    return { ok: true, value: { kind, host, port, username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) } };
  } catch {
    return { ok: false, error: 'upstream credentials are not valid percent-encoding' };
  }
}

export function openTunnel(upstream: Upstream, target: { host: string; port: number }, options: OpenTunnelOptions): Promise<OpenTunnelResult> {
  if (upstream.url === null) return connectTcp(target.host, target.port, options).then((r) => (r.ok ? { ok: true, tunnel: { socket: r.socket, head: Buffer.alloc(0) } } : r));
  const endpoint = parseUpstreamUrl(upstream.url);
  if (!endpoint.ok) return Promise.resolve({ ok: false, error: new UpstreamError('invalid-upstream', `device ${upstream.deviceId}: ${endpoint.error}`) });
  return endpoint.value.kind === 'http' ? viaHttpConnect(endpoint.value, target, options) : viaSocks5(endpoint.value, target, options);
}

/**
 * One deadline and one abort for the whole open. `settle` runs at most once; a timeout or abort
 * destroys the socket so whatever is in progress fails fast and nothing is left open.
 */
function guard<T>(options: OpenTunnelOptions, run: (settle: (r: T | UpstreamError) => void, onFail: (fn: () => void) => void) => void): Promise<T | UpstreamError> {
  return new Promise((resolve) => {
    let done = false;
    const cleanups: Array<() => void> = [];
    const settle = (r: T | UpstreamError): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (r instanceof UpstreamError) for (const c of cleanups) c();
      resolve(r);
    };
    const onAbort = (): void => settle(new UpstreamError('aborted', 'tunnel open aborted'));
    const timer = setTimeout(() => settle(new UpstreamError('timeout', `upstream did not open a tunnel within ${options.timeoutMs} ms`)), options.timeoutMs);
    if (options.signal?.aborted) return settle(new UpstreamError('aborted', 'tunnel open aborted'));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    run(settle, (fn) => cleanups.push(fn));
  });
}

function connectTcp(host: string, port: number, options: OpenTunnelOptions): Promise<{ ok: true; socket: net.Socket } | { ok: false; error: UpstreamError }> {
  return guard<net.Socket>(options, (settle, onFail) => {
    // allowHalfOpen: a tunnel forwards each direction's end separately.
    const reads = options.ownReads ? new OwnReads() : undefined;
    const socket = net.connect({ host, port, allowHalfOpen: true, ...(reads ? { onread: reads.onread } : {}) });
    if (reads) ownReads(socket, reads);
    options.onSocket?.(socket);
    onFail(() => socket.destroy());
    socket.on('error', () => {}); // errors surface through the handlers below or the consumer's
    const onError = (e: Error): void =>
      settle(new UpstreamError('connect-failed', `connect to ${host}:${port} failed: ${(e as NodeJS.ErrnoException).code ?? e.message}`, undefined, { cause: e }));
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      socket.setNoDelay(true);
      socket.pause();
      settle(socket);
    });
  }).then((r) => (r instanceof UpstreamError ? { ok: false, error: r } : { ok: true, socket: r }));
}

function authority(host: string, port: number): string {
  return `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
}

async function viaHttpConnect(proxy: ProxyEndpoint, target: { host: string; port: number }, options: OpenTunnelOptions): Promise<OpenTunnelResult> {
  const deadline = Date.now() + options.timeoutMs;
  const tcp = await connectTcp(proxy.host, proxy.port, options);
  if (!tcp.ok) return tcp;
  const socket = tcp.socket;
  const r = await guard<Buffer>({ ...options, timeoutMs: Math.max(1, deadline - Date.now()) }, (settle, onFail) => {
    onFail(() => socket.destroy());
    let received: Buffer = Buffer.alloc(0);
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('close', onClose);
    };
    const fail = (e: UpstreamError): void => {
      cleanup();
      settle(e);
    };
    const onClose = (): void => fail(new UpstreamError('closed', 'upstream proxy closed the connection before answering CONNECT'));
    const onData = (chunk: Buffer): void => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      // latin1 maps bytes 1:1, so string offsets are byte offsets.
      const text = received.subarray(0, MAX_CONNECT_RESPONSE_BYTES).toString('latin1');
      const end = HEADER_END_RE.exec(text);
      if (end === null) {
        if (received.length >= MAX_CONNECT_RESPONSE_BYTES) fail(new UpstreamError('protocol', 'upstream proxy CONNECT answer is too large'));
        return;
      }
      const statusLine = text.slice(0, text.search(/\r?\n/));
      const m = STATUS_LINE_RE.exec(statusLine);
      if (m === null) return fail(new UpstreamError('protocol', `upstream proxy sent a bad status line ${JSON.stringify(statusLine.slice(0, 64))}`));
      const status = Number(m[1]);
      if (status === 407) return fail(new UpstreamError('auth-rejected', 'upstream proxy rejected our credentials (407)', status));
      if (status < 200 || status > 299) return fail(new UpstreamError('refused', `upstream proxy refused CONNECT with ${status}`, status));
      cleanup();
      socket.pause();
      settle(received.subarray(end.index + end[0].length));
    };
    socket.on('data', onData);
    socket.once('close', onClose);
    const auth = proxy.username === '' && proxy.password === '' ? '' : `Proxy-Authorization: Basic ${Buffer.from(`${proxy.username}:${proxy.password}`, 'utf8').toString('base64')}\r\n`;
    const where = authority(target.host, target.port);
    socket.write(`CONNECT ${where} HTTP/1.1\r\nHost: ${where}\r\n${auth}\r\n`);
    socket.resume();
  });
  if (r instanceof UpstreamError) return { ok: false, error: r };
  return { ok: true, tunnel: { socket, head: r } };
}

const SOCKS_AUTH_RE = /Authentication failed|no accepted authentication/i;
const SOCKS_REFUSED_RE = /rejected connection/i;

async function viaSocks5(proxy: ProxyEndpoint, target: { host: string; port: number }, options: OpenTunnelOptions): Promise<OpenTunnelResult> {
  const deadline = Date.now() + options.timeoutMs;
  // We connect the TCP socket ourselves so the deadline, abort and onSocket cover it.
  const tcp = await connectTcp(proxy.host, proxy.port, options);
  if (!tcp.ok) return tcp;
  const socket = tcp.socket;
  const r = await guard<Buffer>({ ...options, timeoutMs: Math.max(1, deadline - Date.now()) }, (settle, onFail) => {
    onFail(() => socket.destroy());
    socket.resume();
    SocksClient.createConnection({
      command: 'connect',
      destination: { host: target.host, port: target.port },
      proxy: { host: proxy.host, port: proxy.port, type: 5, userId: proxy.username, password: proxy.password },
      existing_socket: socket,
      // Our own guard owns the deadline; this only has to be longer.
      timeout: options.timeoutMs + 1000,
    }).then(
      () => {
        // `socks` re-emits bytes that came with its final reply as a 'data' event on setImmediate, then
        // resumes the socket. Catch them here, and pause right after, so the caller gets them as `head`.
        const extra: Buffer[] = [];
        const collect = (chunk: Buffer): void => void extra.push(chunk);
        socket.on('data', collect);
        setImmediate(() => {
          socket.off('data', collect);
          socket.pause();
          settle(Buffer.concat(extra));
        });
      },
      (e: unknown) => {
        const message = e instanceof Error ? e.message : String(e);
        const kind: UpstreamErrorKind = SOCKS_AUTH_RE.test(message) ? 'auth-rejected' : SOCKS_REFUSED_RE.test(message) ? 'refused' : /Socket closed/.test(message) ? 'closed' : 'protocol';
        settle(new UpstreamError(kind, `upstream SOCKS5 proxy: ${message}`, undefined, { cause: e }));
      },
    );
  });
  if (r instanceof UpstreamError) return { ok: false, error: r };
  return { ok: true, tunnel: { socket, head: r } };
}

// ---------------------------------------------------------------------------------------------
// The listeners' common path from an authenticated lease to an open tunnel.

export interface DialOptions {
  allowedPrivateCidrs: readonly Cidr[];
  lookup: LookupFn;
  connectTimeoutMs: number;
  /** Client gone, lease revoked, shutdown: stop opening. */
  signal: AbortSignal;
  onSocket?: (socket: net.Socket) => void;
  /** See OpenTunnelOptions.ownReads: tunnels (CONNECT, SOCKS5), not plain HTTP requests. */
  ownReads?: boolean;
}

const CLIENT_GONE = new Error('client gone');

/**
 * The signal that stops a dial in flight: the client's socket closed, or the lease revoked. One controller and two
 * listeners per connection; AbortSignal.any's dependent signal (weak references, a DOMException on each abort) was
 * about a tenth of the gateway's CPU per new tunnel.
 */
export function dialSignal(client: net.Socket, revoked: AbortSignal): AbortSignal {
  const controller = new AbortController();
  if (revoked.aborted || client.destroyed) {
    controller.abort(revoked.aborted ? revoked.reason : CLIENT_GONE);
    return controller.signal;
  }
  const onRevoked = (): void => controller.abort(revoked.reason);
  revoked.addEventListener('abort', onRevoked, { once: true });
  client.once('close', () => {
    revoked.removeEventListener('abort', onRevoked);
    controller.abort(CLIENT_GONE);
  });
  return controller.signal;
}

export type DialResult =
  | { ok: true; tunnel: Tunnel; upstream: Upstream }
  /** `aborted`: nobody is waiting for an answer any more; just close. `cause`: worth logging. */
  | { ok: false; failure: GatewayFailure; aborted: boolean; cause?: Error };

/**
 * SSRF check first (a blocked target never costs the brain a routing decision or a sticky slot),
 * then route, then open the tunnel to the exact address the check approved. A tunnel that fails to
 * open is reported to the lease so the client's retry lands on another modem.
 */
export async function dialTarget(lease: Lease, target: Target, options: DialOptions): Promise<DialResult> {
  const fail = (failure: GatewayFailure, cause?: Error): DialResult => ({ ok: false, failure, aborted: options.signal.aborted, ...(cause ? { cause } : {}) });
  const checked = await resolveAndCheck(target.host, { lookup: options.lookup, allowedPrivateCidrs: options.allowedPrivateCidrs });
  if (!checked.ok) {
    // A target that does not resolve is no modem's fault; there is no better code than "retry".
    return fail({ code: checked.kind === 'resolve-failed' ? 'E_STOCK_DEGRADED' : 'E_SSRF_BLOCKED', message: checked.message });
  }
  if (options.signal.aborted) return fail({ code: 'E_STOCK_DEGRADED' });
  let routed: Awaited<ReturnType<Lease['route']>>;
  try {
    routed = await lease.route(target);
  } catch (e) {
    return fail({ code: 'E_INTERNAL' }, e instanceof Error ? e : new Error(String(e)));
  }
  if (!routed.ok) return fail(routed.failure);
  const opened = await openTunnel(routed.upstream, { host: checked.address, port: target.port }, {
    timeoutMs: options.connectTimeoutMs,
    signal: options.signal,
    ...(options.onSocket ? { onSocket: options.onSocket } : {}),
    ownReads: options.ownReads ?? false,
  });
  if (!opened.ok) {
    if (opened.error.kind !== 'aborted') lease.upstreamFailed(routed.upstream, opened.error);
    return fail({ code: 'E_STOCK_DEGRADED' }, opened.error);
  }
  if (options.signal.aborted) {
    opened.tunnel.socket.destroy();
    return fail({ code: 'E_STOCK_DEGRADED' });
  }
  return { ok: true, tunnel: opened.tunnel, upstream: routed.upstream };
}
