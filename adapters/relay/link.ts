import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { RawData, WebSocket } from 'ws';
import { DATA_CHUNK_BYTES, FRAME_CLOSE, FRAME_DATA, decodeFrame, encodeFrame, encodeMessage, parsePeerMessage, type RelayMessage } from './frames.ts';
import type { ReadyPeer, RelayOptions } from './server.ts';

/** How a tunnel ended, for the peer's health score and the logs. */
export type TunnelEndKind = 'closed' | 'open_failed' | 'open_timeout' | 'stalled' | 'backpressure' | 'peer_gone' | 'client_gone';
export interface TunnelEnd { kind: TunnelEndKind; reason?: string; bytesUp: number; bytesDown: number; durationMs: number }

interface Tunnel {
  sessionId: string;
  socket: Socket;
  state: 'opening' | 'open' | 'closed';
  startedAt: number;
  answeredAt: number;
  lastActivity: number;
  up: number;
  down: number;
  grace: NodeJS.Timeout | undefined;
  /** Set while this tunnel's client holds the link paused: when, and the unread bytes last seen. */
  blocked: { since: number; unread: number } | undefined;
}

interface LinkHooks {
  countMessage(): 'ok' | 'drop' | 'close';
  onReady(peer: ReadyPeer): Promise<void>;
  onTunnelEnd(end: TunnelEnd): void;
  onTraffic(up: number, down: number): void;
}

/** ws buffers above this pause every client socket of the link until the peer has read them. */
const WS_HIGH_WATER = 4 * 1024 * 1024;
/** Unread bytes towards a client above which the link stops reading from the peer (at most half the kill ceiling). */
const CLIENT_HIGH_WATER = 1024 * 1024;

/** One WebSocket connection of a peer device and the tunnels multiplexed over it. */
export class PeerLink {
  ready: ReadyPeer | null = null;
  private readonly tunnels = new Map<string, Tunnel>();
  private readonly paused = new Set<Socket>();
  /** Tunnels whose client is slower than the peer: while any is here the WebSocket is paused (TCP pushes back on the peer). */
  private readonly blocking = new Set<Tunnel>();
  private readonly pending = new Map<string, { resolve: (r: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private alive = true;

  constructor(private readonly ws: WebSocket, readonly deviceId: string, readonly ip: string, private readonly options: RelayOptions, private readonly hooks: LinkHooks) {
    ws.on('message', (data, isBinary) => (isBinary ? this.onBinary(data) : this.onText(data)));
    ws.on('pong', () => { this.alive = true; });
  }

  get open(): boolean { return this.ws.readyState === this.ws.OPEN; }
  tunnelCount(): number { return this.tunnels.size; }

  send(m: RelayMessage): void {
    if (this.open) this.ws.send(encodeMessage(m));
  }

  ping(): void {
    if (!this.alive) return void this.ws.terminate(); // no pong since the last ping
    this.alive = false;
    if (this.open) this.ws.ping();
  }

  private onText(data: RawData): void {
    const m = parsePeerMessage(data.toString());
    // Answers to our own requests (tunnel outcomes, proxy responses) are bounded by what we asked; only
    // unsolicited messages count against the per-device limit.
    const solicited = m !== null && (m.type.startsWith('tunnel_') ? this.tunnels.has((m.payload as { sessionId: string }).sessionId) : m.type.startsWith('proxy_') && this.pending.has((m.payload as { requestId: string }).requestId));
    if (!solicited) {
      const verdict = this.hooks.countMessage();
      if (verdict === 'close') return void this.ws.close(4008, 'control message flood');
      if (verdict === 'drop') return;
    }
    if (!m) return;
    switch (m.type) {
      case 'device_info': {
        const ready: ReadyPeer = { deviceId: this.deviceId, ip: this.ip, info: m.payload };
        void this.hooks.onReady(ready).then(() => {
          this.ready = ready;
          this.send({ type: 'connected', payload: { deviceId: this.deviceId, ip: this.ip } });
        }, () => this.ws.close(1011, 'could not register the connection'));
        return;
      }
      case 'heartbeat':
        return this.send({ type: 'heartbeat_ack', payload: { timestamp: Date.now() } });
      case 'heartbeat_ack':
        return;
      case 'tunnel_connected': {
        const t = this.tunnels.get(m.payload.sessionId);
        if (t?.state === 'opening') this.answer(t);
        return;
      }
      case 'tunnel_open_failed':
        return this.failOpen(m.payload.sessionId, `${m.payload.reason}${m.payload.detail ? `: ${m.payload.detail}` : ''}`);
      case 'tunnel_closed': {
        const t = this.tunnels.get(m.payload.sessionId);
        if (t?.state === 'opening') return this.failOpen(t.sessionId, m.payload.error ?? 'closed before opening');
        if (t) this.end(t, 'closed', m.payload.error, false);
        return;
      }
      case 'proxy_response':
      case 'proxy_error': {
        const p = this.pending.get(m.payload.requestId);
        if (!p) return;
        this.pending.delete(m.payload.requestId);
        clearTimeout(p.timer);
        if (m.type === 'proxy_error') p.reject(new Error(m.payload.error));
        else p.resolve(m.payload);
        return;
      }
    }
  }

  private onBinary(data: RawData): void {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const f = decodeFrame(buf);
    if (!f) return;
    const t = this.tunnels.get(f.sessionId);
    if (!t || t.state === 'closed') return;
    if (f.type === FRAME_CLOSE) return t.state === 'opening' ? this.failOpen(t.sessionId, 'closed before opening') : this.end(t, 'closed', undefined, false);
    if (f.type !== FRAME_DATA || f.payload.length === 0) return;
    if (t.state === 'opening') this.answer(t); // bytes are as good as tunnel_connected
    t.down += f.payload.length;
    t.lastActivity = Date.now();
    this.hooks.onTraffic(0, f.payload.length);
    t.socket.write(f.payload);
    // the seed's 8 MB ceiling (frames already read when the link paused can still push a tunnel over it)
    if (t.socket.writableLength >= this.options.backpressureBytes) return this.end(t, 'backpressure', `${t.socket.writableLength} bytes unread`, true);
    // a client slower than its peer: stop reading the peer's socket until it drains, rather than buffer
    // without bound or kill a download that is merely slow (one client holds up the peer's other tunnels
    // meanwhile, so one that makes no progress is killed by the sweep)
    if (!t.blocked && t.socket.writableLength >= Math.min(CLIENT_HIGH_WATER, this.options.backpressureBytes / 2)) {
      t.blocked = { since: Date.now(), unread: t.socket.writableLength };
      this.blocking.add(t);
      if (this.blocking.size === 1) this.ws.pause();
      t.socket.once('drain', () => this.unblock(t));
    }
  }

  private unblock(t: Tunnel): void {
    t.blocked = undefined;
    if (this.blocking.delete(t) && this.blocking.size === 0 && this.ws.isPaused) this.ws.resume();
  }

  openTunnel(sessionId: string, host: string, port: number, socket: Socket, head: Buffer): void {
    const now = Date.now();
    const t: Tunnel = { sessionId, socket, state: 'opening', startedAt: now, answeredAt: 0, lastActivity: now, up: 0, down: 0, grace: undefined, blocked: undefined };
    this.tunnels.set(sessionId, t);
    socket.pause();
    if (head.length) socket.unshift(head);
    socket.on('data', (chunk: Buffer) => this.fromClient(t, chunk));
    socket.once('end', () => { if (t.state !== 'closed') this.end(t, 'closed', 'client ended', false, true); });
    socket.once('close', () => { if (t.state !== 'closed') this.end(t, 'client_gone', undefined, false, true); });
    this.send({ type: 'tunnel_connect', payload: { sessionId, host, port } });
    // SDK peers start pumping without tunnel_connected; answer after a short grace and let the open watchdog judge
    t.grace = setTimeout(() => { if (t.state === 'opening') this.answer(t); }, this.options.ackGraceMs);
  }

  private answer(t: Tunnel): void {
    clearTimeout(t.grace);
    t.state = 'open';
    t.answeredAt = t.lastActivity = Date.now();
    t.socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    t.socket.resume();
  }

  private failOpen(sessionId: string, reason: string): void {
    const t = this.tunnels.get(sessionId);
    if (!t || t.state !== 'opening') return;
    clearTimeout(t.grace);
    t.state = 'closed';
    this.tunnels.delete(sessionId);
    t.socket.end(`HTTP/1.1 502 Bad Gateway\r\nX-Tunnel-Failure: ${reason.replace(/[\r\n]/g, ' ').slice(0, 200)}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    this.hooks.onTunnelEnd({ kind: 'open_failed', reason, bytesUp: 0, bytesDown: 0, durationMs: Date.now() - t.startedAt });
  }

  private fromClient(t: Tunnel, chunk: Buffer): void {
    if (t.state !== 'open' || !this.open) return;
    t.up += chunk.length;
    t.lastActivity = Date.now();
    this.hooks.onTraffic(chunk.length, 0);
    for (let off = 0; off < chunk.length; off += DATA_CHUNK_BYTES) {
      this.ws.send(encodeFrame(FRAME_DATA, t.sessionId, chunk.subarray(off, off + DATA_CHUNK_BYTES)), { binary: true }, () => this.drained());
    }
    if (this.ws.bufferedAmount > WS_HIGH_WATER && !this.paused.has(t.socket)) {
      this.paused.add(t.socket);
      t.socket.pause();
    }
  }

  private drained(): void {
    if (this.paused.size === 0 || this.ws.bufferedAmount > WS_HIGH_WATER / 2) return;
    for (const s of this.paused) s.resume();
    this.paused.clear();
  }

  /** Ends a tunnel: `kill` resets the client (a watchdog fired); otherwise what was written still flows out. */
  private end(t: Tunnel, kind: Exclude<TunnelEnd['kind'], 'open_failed'>, reason: string | undefined, kill: boolean, fromClient = false): void {
    if (t.state === 'closed') return;
    clearTimeout(t.grace);
    t.state = 'closed';
    this.tunnels.delete(t.sessionId);
    this.paused.delete(t.socket);
    this.unblock(t);
    if (!fromClient || kind !== 'client_gone') {
      if (kill) t.socket.destroy();
      else t.socket.end();
    }
    // tell the peer (binary close, which every SDK since 1.2 reads) unless the peer closed it itself
    if (this.open && (kind !== 'closed' || fromClient)) this.ws.send(encodeFrame(FRAME_CLOSE, t.sessionId), { binary: true });
    this.hooks.onTunnelEnd({ kind, ...(reason ? { reason } : {}), bytesUp: t.up, bytesDown: t.down, durationMs: Date.now() - t.startedAt });
  }

  /** The watchdogs, run by the relay's one timer. */
  sweep(now: number): void {
    // while a slow client holds the link paused the peer's bytes can't arrive: no tunnel is judged idle
    const held = this.blocking.size > 0;
    for (const t of this.tunnels.values()) {
      if (held && t.state === 'open') { t.lastActivity = now; if (t.down === 0) t.answeredAt = now; }
      if (t.blocked) {
        const unread = t.socket.writableLength;
        if (unread < t.blocked.unread) t.blocked = { since: now, unread }; // it reads, slowly
        else if (now - t.blocked.since > this.options.openTimeoutMs) { this.end(t, 'backpressure', `${unread} bytes unread for ${now - t.blocked.since} ms`, true); continue; }
      }
      if (t.state === 'opening' && now - t.startedAt > this.options.openTimeoutMs) this.failOpen(t.sessionId, 'timeout');
      else if (t.state === 'open' && t.down === 0 && now - t.answeredAt > this.options.openTimeoutMs) this.end(t, 'open_timeout', `no bytes from the peer within ${this.options.openTimeoutMs} ms`, true);
      else if (t.state === 'open' && now - t.lastActivity > this.options.stallTimeoutMs) this.end(t, 'stalled', `idle for ${this.options.stallTimeoutMs} ms`, true);
    }
  }

  proxyRequest(request: Omit<Extract<RelayMessage, { type: 'proxy_request' }>['payload'], 'requestId'>, timeoutMs: number): Promise<unknown> {
    const requestId = randomBytes(8).toString('hex');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.pending.delete(requestId); reject(new Error('proxy_request timed out')); }, timeoutMs);
      this.pending.set(requestId, { resolve, reject, timer });
      this.send({ type: 'proxy_request', payload: { requestId, ...request } });
    });
  }

  shutdown(): void {
    for (const t of [...this.tunnels.values()]) {
      if (t.state === 'opening') this.failOpen(t.sessionId, 'peer disconnected');
      else this.end(t, 'peer_gone', undefined, true);
    }
    for (const [id, p] of this.pending) { clearTimeout(p.timer); p.reject(new Error('peer disconnected')); this.pending.delete(id); }
  }
}
