import { randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { DATA_CHUNK_BYTES, FRAME_CLOSE, FRAME_DATA, MAX_FRAME_BYTES, decodeFrame, encodeFrame, encodeMessage, parsePeerMessage, type PeerMessage, type RelayMessage } from './frames.ts';
import { PeerLink, type TunnelEnd } from './link.ts';

/**
 * The relay: peers hold a WebSocket here (auth `Sec-WebSocket-Protocol: token.<JWT>`), gateways open
 * tunnels into them with an HTTP CONNECT on the same port (Proxy-Authorization: deviceId + the internal
 * secret). Each tunnel is multiplexed over the peer's socket as binary frames. The seed's defences live
 * here: open and stall watchdogs, a per-tunnel backpressure ceiling, connections and control messages per device.
 */
export interface RelayOptions {
  host: string;
  port: number;
  openTimeoutMs: number;
  stallTimeoutMs: number;
  backpressureBytes: number;
  maxConnectionsPerDevice: number;
  messagesPerMinute: number;
  heartbeatMs: number;
  /** How long a CONNECT waits for tunnel_connected before answering 200 anyway (SDK peers never send it). */
  ackGraceMs: number;
}

export interface ReadyPeer {
  deviceId: string;
  ip: string;
  info: Extract<PeerMessage, { type: 'device_info' }>['payload'];
}

export interface RelayHooks {
  internalSecret: string;
  authenticate(token: string): Promise<{ ok: true; deviceId: string } | { ok: false; reason: 'invalid' | 'expired' }>;
  /** device_info arrived: classify and publish. Answers the IP echoed in `connected`. */
  onPeerReady(peer: ReadyPeer): Promise<void>;
  /** The device's last connection on this relay closed. */
  onPeerGone(deviceId: string): void;
  onTunnelEnd(deviceId: string, end: TunnelEnd): void;
  onTraffic(deviceId: string, bytesUp: number, bytesDown: number): void;
  log(level: 'info' | 'warn', obj: Record<string, unknown>, msg: string): void;
}

export const CLOSE_BAD_TOKEN = 4001;
export const CLOSE_EXPIRED_TOKEN = 4002;
export const CLOSE_TOO_MANY_CONNECTIONS = 4003;
export const CLOSE_MESSAGE_FLOOD = 4008;

export class RelayServer {
  private readonly server = http.createServer((_req, res) => { res.writeHead(426, { 'content-type': 'text/plain' }).end('connect with a WebSocket (peers) or CONNECT (gateways)\n'); });
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });
  private readonly devices = new Map<string, PeerLink[]>();
  private readonly sockets = new Set<Socket>();
  private sweeper: NodeJS.Timeout | undefined;
  port = 0;

  constructor(private readonly options: RelayOptions, private readonly hooks: RelayHooks) {
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket as Socket, head));
    this.server.on('connect', (req, socket, head) => this.connect(req, socket as Socket, head));
    this.server.on('connection', (s: Socket) => { this.sockets.add(s); s.once('close', () => this.sockets.delete(s)); });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    const tick = Math.max(20, Math.min(1000, Math.floor(Math.min(this.options.openTimeoutMs, this.options.stallTimeoutMs) / 4)));
    let beat = 0;
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const links of this.devices.values()) for (const link of links) link.sweep(now);
      beat += tick;
      if (beat >= this.options.heartbeatMs) {
        beat = 0;
        for (const links of this.devices.values()) for (const link of links) link.ping();
      }
    }, tick);
    this.sweeper.unref();
    return this.port;
  }

  /** Peers connected here and ready (device_info received), newest connection per device. */
  readyPeers(): ReadyPeer[] {
    const out: ReadyPeer[] = [];
    for (const links of this.devices.values()) {
      const link = [...links].reverse().find((l) => l.ready);
      if (link?.ready) out.push(link.ready);
    }
    return out;
  }

  tunnelCount(): number {
    let n = 0;
    for (const links of this.devices.values()) for (const l of links) n += l.tunnelCount();
    return n;
  }

  /** Tells a device's connections to move to another relay (only those that said they support it). */
  redirect(deviceId: string, relay: string, reason: string): number {
    let n = 0;
    for (const link of this.devices.get(deviceId) ?? []) if (link.ready?.info.supportsRelayRedirect) { link.send({ type: 'relay_redirect', payload: { relay, reason } }); n++; }
    return n;
  }

  /** Sends a legacy proxy_request (old SDK flow) and resolves with the peer's answer. */
  proxyRequest(deviceId: string, request: Omit<Extract<RelayMessage, { type: 'proxy_request' }>['payload'], 'requestId'>, timeoutMs = 30_000) {
    const link = this.linkFor(deviceId);
    if (!link) return Promise.reject(new Error(`peer ${deviceId} is not on this relay`));
    return link.proxyRequest(request, timeoutMs);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    for (const links of this.devices.values()) for (const l of links) l.shutdown();
    for (const ws of this.wss.clients) ws.close(1001, 'relay shutting down');
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    setTimeout(() => { for (const s of this.sockets) s.destroy(); for (const ws of this.wss.clients) ws.terminate(); }, 500).unref();
    await closed;
    this.wss.close();
  }

  private linkFor(deviceId: string): PeerLink | undefined {
    const links = this.devices.get(deviceId) ?? [];
    for (let i = links.length - 1; i >= 0; i--) if (links[i]!.ready && links[i]!.open) return links[i];
    return undefined;
  }

  private upgrade(req: http.IncomingMessage, socket: Socket, head: Buffer): void {
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const tokenProtocol = offered.find((p) => p.startsWith('token.'));
    socket.on('error', () => {});
    // verify before the handshake completes, so no message the peer sends on open can arrive unheard
    const verified = tokenProtocol ? this.hooks.authenticate(tokenProtocol.slice('token.'.length)) : Promise.resolve({ ok: false as const, reason: 'invalid' as const });
    void verified.then((auth) => this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req, auth)));
  }

  private accept(ws: WebSocket, req: http.IncomingMessage, auth: Awaited<ReturnType<RelayHooks['authenticate']>>): void {
    ws.on('error', () => {});
    if (!auth.ok) return void ws.close(auth.reason === 'expired' ? CLOSE_EXPIRED_TOKEN : CLOSE_BAD_TOKEN, auth.reason === 'expired' ? 'token expired' : 'invalid token');
    const deviceId = auth.deviceId;
    const links = this.devices.get(deviceId) ?? [];
    if (links.length >= this.options.maxConnectionsPerDevice) {
      return void ws.close(CLOSE_TOO_MANY_CONNECTIONS, `at most ${this.options.maxConnectionsPerDevice} connections per device`);
    }
    const ip = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const link = new PeerLink(ws, deviceId, ip, this.options, {
      countMessage: () => this.countMessage(deviceId),
      onReady: async (ready) => { await this.hooks.onPeerReady(ready); },
      onTunnelEnd: (end) => this.hooks.onTunnelEnd(deviceId, end),
      onTraffic: (up, down) => this.hooks.onTraffic(deviceId, up, down),
    });
    links.push(link);
    this.devices.set(deviceId, links);
    ws.once('close', () => {
      const rest = (this.devices.get(deviceId) ?? []).filter((l) => l !== link);
      if (rest.length) this.devices.set(deviceId, rest);
      else { this.devices.delete(deviceId); this.messageWindows.delete(deviceId); }
      link.shutdown();
      if (!rest.some((l) => l.ready)) this.hooks.onPeerGone(deviceId);
    });
  }

  private readonly messageWindows = new Map<string, { start: number; count: number; warned: boolean }>();

  /** Control messages per device per minute (data frames are not counted). */
  private countMessage(deviceId: string): 'ok' | 'drop' | 'close' {
    const now = Date.now();
    let w = this.messageWindows.get(deviceId);
    if (!w || now - w.start >= 60_000) { w = { start: now, count: 0, warned: false }; this.messageWindows.set(deviceId, w); }
    w.count++;
    if (w.count <= this.options.messagesPerMinute) return 'ok';
    if (w.count > this.options.messagesPerMinute * 5) return 'close';
    if (!w.warned) {
      w.warned = true;
      for (const l of this.devices.get(deviceId) ?? []) l.send({ type: 'error', payload: { message: `rate limited: ${this.options.messagesPerMinute} control messages per minute; further messages are dropped` } });
    }
    return 'drop';
  }

  /** A gateway opens a tunnel into a peer held here: CONNECT host:port, Proxy-Authorization: Basic deviceId:secret. */
  private connect(req: http.IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on('error', () => {});
    const reply = (status: string, extra = '') => { socket.end(`HTTP/1.1 ${status}\r\n${extra}Content-Length: 0\r\nConnection: close\r\n\r\n`); };
    const creds = /^Basic\s+(\S+)$/i.exec(req.headers['proxy-authorization'] ?? '');
    const [deviceId = '', secret = ''] = creds ? Buffer.from(creds[1]!, 'base64').toString('utf8').split(':') : [];
    const expected = Buffer.from(this.hooks.internalSecret);
    const given = Buffer.from(secret);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return reply('407 Proxy Authentication Required');
    const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(req.url ?? '');
    if (!m) return reply('400 Bad Request');
    const link = this.linkFor(deviceId);
    if (!link) return reply('502 Bad Gateway', 'X-Tunnel-Failure: peer_offline\r\n');
    const host = m[1]!.replace(/^\[|\]$/g, '');
    link.openTunnel(randomBytes(8).toString('hex'), host, Number(m[2]), socket, head);
  }
}

export { DATA_CHUNK_BYTES, FRAME_CLOSE, FRAME_DATA, decodeFrame, encodeFrame, encodeMessage, parsePeerMessage };
export type { RawData };
