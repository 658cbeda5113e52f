import net from 'node:net';
import { GATEWAY_ERRORS, SOCKS5_REPLY, type GatewayErrorCode, type Socks5ReplyCode } from '../../domain/gateway/errors.ts';
import type { GatewayFailure, Lease } from './brain.ts';
import {
  asError,
  authenticate,
  dialOptions,
  endGracefully,
  listenerHandle,
  resolveListenerOptions,
  SocketRegistry,
  type ListenerOptions,
  type ProxyListener,
} from './http-listener.ts';
import { BatchedMeter, pipe } from './pipe.ts';
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
} from './socks5/protocol.ts';
import { dialSignal, dialTarget } from './upstream.ts';

/**
 * Bytes a client may send ahead during the handshake (greeting, auth and request coalesced, plus
 * optimistic payload such as a TLS ClientHello). Beyond this it is not a SOCKS client.
 */
const MAX_HANDSHAKE_BUFFER = 64 * 1024;

/** Buffers handshake bytes and hands out whole messages, however the client split or merged them. */
class HandshakeReader {
  private buffer: Buffer = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | undefined;

  constructor(private readonly socket: net.Socket) {
    socket.on('data', this.onData);
    socket.once('end', this.onEnd);
    socket.once('close', this.onEnd);
  }

  /** The next message, a protocol error, or 'closed' if the client hung up first. */
  async read<T>(decode: (buf: Buffer) => Decoded<T>): Promise<Decoded<T> | { kind: 'closed' }> {
    for (;;) {
      const r = decode(this.buffer);
      if (r.kind === 'done') this.buffer = r.rest;
      if (r.kind !== 'need') return r;
      if (this.ended) return { kind: 'closed' };
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** Stops reading; returns what the client sent after the last message (it belongs to the target). */
  detach(): Buffer {
    this.socket.pause();
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    return this.buffer;
  }

  private readonly onData = (chunk: Buffer): void => {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    if (this.buffer.length > MAX_HANDSHAKE_BUFFER) this.socket.destroy();
    this.notify();
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    this.notify();
  };

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** After authentication only the request reply can say no; codes of earlier phases become "not allowed". */
export function socks5ReplyFor(code: GatewayErrorCode): Socks5ReplyCode {
  const outcome = GATEWAY_ERRORS[code].socks5;
  return outcome.phase === 'request' ? outcome.reply : SOCKS5_REPLY.notAllowedByRuleset;
}

/**
 * SOCKS5 (RFC 1928) with username/password (RFC 1929), CONNECT only. Failures are reported in the
 * phase the error table names: a brain refusal that belongs to the request phase (limits, no
 * stock, internal) lets authentication succeed and is answered in the request reply, because
 * that is the only place SOCKS5 can carry its reason.
 */
export function createSocks5Proxy(options: ListenerOptions): ProxyListener<net.Server> {
  const o = resolveListenerOptions(options);
  const registry = new SocketRegistry();
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    registry.addClient(socket);
    socket.on('error', () => {}); // a 'close' always follows; the flow watches that
    void handle(socket);
  });

  async function handle(socket: net.Socket): Promise<void> {
    const requestId = o.requestId();
    const handshake = setTimeout(() => socket.destroy(), o.timeouts.handshakeMs);
    const reader = new HandshakeReader(socket);
    let lease: Lease | undefined;
    let replied = false;
    const refuse = (bytes: Buffer | undefined): void => (bytes === undefined ? void socket.destroy() : endGracefully(socket, bytes));
    const replyFailure = (failure: GatewayFailure): void => {
      replied = true;
      refuse(encodeReply(socks5ReplyFor(failure.code)));
    };
    try {
      const greeting = await reader.read(decodeGreeting);
      if (greeting.kind !== 'done') return refuse(greeting.kind === 'error' ? greeting.error.respond : undefined);
      const method = selectMethod(greeting.value);
      // No username/password offered: the client sent no credentials (E_AUTH_REQUIRED → 0xFF).
      if (method === METHOD.noAcceptable) return refuse(encodeMethodSelection(method));
      socket.write(encodeMethodSelection(method));

      const creds = await reader.read(decodeCredentials);
      if (creds.kind !== 'done') return refuse(creds.kind === 'error' ? creds.error.respond : undefined);
      const auth = await authenticate(o, { ...creds.value, protocol: 'socks5', clientAddress: socket.remoteAddress ?? '' }, requestId);
      let deferred: GatewayFailure | undefined;
      if (auth.ok) lease = auth.lease;
      else if (GATEWAY_ERRORS[auth.failure.code].socks5.phase === 'request') deferred = auth.failure;
      else return refuse(encodeAuthReply(false)); // RFC 1929: a failed status means we close
      if (socket.destroyed) return;
      socket.write(encodeAuthReply(true));

      const request = await reader.read(decodeRequest);
      if (request.kind !== 'done') return refuse(request.kind === 'error' ? request.error.respond : undefined);
      clearTimeout(handshake);
      if (deferred !== undefined || lease === undefined) return replyFailure(deferred ?? { code: 'E_INTERNAL' });

      const target = { host: request.value.address.host, port: request.value.port };
      const dialed = await dialTarget(lease, target, { ...dialOptions(o, registry, dialSignal(socket, lease.revoked)), ownReads: true });
      if (!dialed.ok) {
        if (dialed.cause) o.onError(dialed.cause, { requestId, code: dialed.failure.code });
        return dialed.aborted ? void socket.destroy() : replyFailure(dialed.failure);
      }
      // BND.ADDR/PORT: clients ignore them for CONNECT, and the modem's address is not ours to tell.
      replied = true;
      socket.write(encodeReply(SOCKS5_REPLY.succeeded));
      const clientHead = reader.detach();
      const meter = new BatchedMeter((u, d) => lease?.meter(u, d), o.meterIntervalMs, (e) => o.onError(asError(e), { requestId, code: 'E_INTERNAL' }));
      await pipe(socket, dialed.tunnel.socket, { idleTimeoutMs: o.timeouts.idleMs, halfCloseGraceMs: o.timeouts.halfCloseGraceMs, meter, budget: lease.budget, signal: lease.revoked, clientHead, upstreamHead: dialed.tunnel.head });
    } catch (e) {
      o.onError(asError(e), { requestId, code: 'E_INTERNAL' });
      // Before the request reply the client is still listening for one; after it, only a close works.
      if (replied || lease === undefined) socket.destroy();
      else replyFailure({ code: 'E_INTERNAL' });
    } finally {
      clearTimeout(handshake);
      lease?.end();
    }
  }

  return listenerHandle(server, registry);
}
