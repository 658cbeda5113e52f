import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import WebSocket from 'ws';
import { DATA_CHUNK_BYTES, FRAME_CLOSE, FRAME_DATA, decodeFrame, encodeFrame, encodeMessage, parseRelayMessage, type PeerMessage, type RelayMessage, type TunnelFailureReason } from '../../../adapters/relay/frames.ts';
import { parseCidrList, resolveAndCheck, systemLookup, type Cidr } from '../../../adapters/gateway/ssrf.ts';

/**
 * The reference peer agent (`npm run peer`): registers (or reuses its state file), holds a relay
 * connection, serves tunnel_connect with its own SSRF filter, answers legacy proxy_request, refreshes
 * its JWT before expiry, reconnects with back-off and follows relay_redirect.
 */
export interface AgentOptions {
  api: string;
  apiKey?: string | undefined;
  /** Overrides the relay the registration answered with. */
  relay?: string | undefined;
  name: string;
  type: string;
  country?: string | undefined;
  walletAddress?: string | undefined;
  stateFile: string;
  allowPrivate: boolean;
  /** Hosts a relay_redirect may send us to (the first relay's host is always allowed). */
  redirectHosts: string[];
  backoffBaseMs: number;
  backoffMaxMs: number;
  heartbeatMs: number;
  redirectMinIntervalMs: number;
  log: (msg: string, extra?: Record<string, unknown>) => void;
  /** The clock and timers of the refresh and reconnect schedule (tests inject fakes); real ones by default. */
  timers?: AgentTimers;
  /** Jitter source in [0, 1). */
  random?: () => number;
}

export interface AgentTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const REAL_TIMERS: AgentTimers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => { const t = setTimeout(fn, ms); t.unref(); return t; },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface AgentState {
  deviceId: string;
  jwt: string;
  jwtExpiresAt: string;
  refreshToken: string;
  relay: string;
}

const VERSION = '1.0.0-reference';
const WS_HIGH_WATER = 8 * 1024 * 1024;
const ALL_PRIVATE = (parseCidrList('0.0.0.0/0,::/0') as { ok: true; value: Cidr[] }).value;

export class PeerAgent {
  state: AgentState | null = null;
  private ws: WebSocket | null = null;
  private readonly tunnels = new Map<string, net.Socket>();
  private attempt = 0;
  private stopped = false;
  private lastRedirectAt = 0;
  private timers = new Set<unknown>();
  private readonly clock: AgentTimers;
  private readonly random: () => number;
  private heartbeat: NodeJS.Timeout | undefined;
  /** Resolves each time the relay answers `connected`. */
  onConnected: (deviceId: string, relay: string) => void = () => {};

  constructor(readonly options: AgentOptions) {
    this.clock = options.timers ?? REAL_TIMERS;
    this.random = options.random ?? Math.random;
  }

  async start(): Promise<void> {
    this.state = this.load();
    if (!this.state) await this.register();
    else this.options.log('reusing registration', { deviceId: this.state.deviceId, stateFile: this.options.stateFile });
    if (this.options.relay) this.state!.relay = this.options.relay;
    await this.ensureFreshToken();
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) this.clock.clearTimeout(t);
    clearInterval(this.heartbeat);
    for (const s of this.tunnels.values()) s.destroy();
    this.tunnels.clear();
    const ws = this.ws;
    if (ws && ws.readyState !== ws.CLOSED) {
      await new Promise<void>((resolve) => { ws.once('close', () => resolve()); ws.close(1000, 'agent stopped'); setTimeout(() => { ws.terminate(); resolve(); }, 1000).unref(); });
    }
  }

  private later(ms: number, fn: () => void): void {
    const t = this.clock.setTimeout(() => { this.timers.delete(t); fn(); }, ms);
    this.timers.add(t);
  }

  private load(): AgentState | null {
    try { return JSON.parse(readFileSync(this.options.stateFile, 'utf8')) as AgentState; } catch { return null; }
  }

  private save(): void {
    mkdirSync(path.dirname(path.resolve(this.options.stateFile)), { recursive: true });
    const tmp = `${this.options.stateFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.state, null, 2), { mode: 0o600 });
    renameSync(tmp, this.options.stateFile);
  }

  private async call(method: string, p: string, body?: unknown, jwt?: string): Promise<{ status: number; body: any }> {
    const res = await fetch(new URL(p, this.options.api), {
      method, headers: { 'content-type': 'application/json', ...(jwt ? { authorization: `Bearer ${jwt}` } : {}) }, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  private async register(): Promise<void> {
    const o = this.options;
    const r = await this.call('POST', '/v1/peer/agents/register', {
      name: o.name, type: o.type, connectionMethod: 'relay', sdkVersion: VERSION,
      ...(o.walletAddress ? { walletAddress: o.walletAddress } : {}), ...(o.apiKey ? { apiKey: o.apiKey } : {}),
    });
    if (r.status !== 201) throw new Error(`registration failed (${r.status}): ${r.body?.error?.message ?? JSON.stringify(r.body)}`);
    this.state = { deviceId: r.body.deviceId, jwt: r.body.jwt, jwtExpiresAt: r.body.expiresAt, refreshToken: r.body.refreshToken, relay: r.body.relay };
    this.save();
    o.log('registered', { deviceId: r.body.deviceId, relay: r.body.relay, earningsPerGB: r.body.earningsPerGB, orphan: r.body.orphan });
  }

  /** Refreshes when the JWT has less than a sixth of an hour left (or less than 1/6 of its life); re-registers if the refresh token is gone. */
  async ensureFreshToken(force = false): Promise<void> {
    const s = this.state!;
    const left = new Date(s.jwtExpiresAt).getTime() - this.clock.now();
    if (!force && left > 10 * 60_000) return this.scheduleRefresh();
    const r = await this.call('POST', `/v1/peer/agents/${s.deviceId}/refresh`, { refreshToken: s.refreshToken });
    if (r.status === 200) {
      Object.assign(s, { jwt: r.body.jwt, jwtExpiresAt: r.body.expiresAt, refreshToken: r.body.refreshToken });
      this.save();
      this.options.log('token refreshed', { expiresAt: r.body.expiresAt });
    } else if (r.status === 401 || r.status === 404) {
      this.options.log('refresh refused; registering again', { code: r.body?.error?.code });
      const relay = s.relay;
      await this.register();
      if (this.options.relay) this.state!.relay = relay;
    } else {
      throw new Error(`refresh failed (${r.status})`);
    }
    this.scheduleRefresh();
  }

  private refreshTimer: unknown;
  private scheduleRefresh(): void {
    if (this.refreshTimer !== undefined) { this.clock.clearTimeout(this.refreshTimer); this.timers.delete(this.refreshTimer); }
    if (this.stopped) return;
    const left = new Date(this.state!.jwtExpiresAt).getTime() - this.clock.now();
    const due = Math.max(1000, left - 10 * 60_000);
    const retry = (e: unknown) => { this.options.log('refresh failed; retrying in 60 s', { error: String(e) }); this.later(60_000, () => void this.ensureFreshToken(true).catch(retry)); };
    this.refreshTimer = this.clock.setTimeout(() => void this.ensureFreshToken(true).catch(retry), due);
    this.timers.add(this.refreshTimer);
    this.options.log('token refresh scheduled', { inMs: due });
  }

  /** 5 s × 2ⁿ, capped at 120 s, ±20 % jitter. */
  backoffMs(attempt: number): number {
    const base = Math.min(this.options.backoffBaseMs * 2 ** Math.max(0, attempt - 1), this.options.backoffMaxMs);
    return Math.round(base * (0.8 + this.random() * 0.4));
  }

  private connect(): void {
    if (this.stopped) return;
    const s = this.state!;
    // An all-zero mask: masking guards against cache poisoning by browser scripts (RFC 6455 §10.3), which this
    // agent is not; with it ws sends our frame as is instead of copying and XOR-ing every byte (bench:relay).
    const ws = new WebSocket(s.relay, [`token.${s.jwt}`], { perMessageDeflate: false, maxPayload: 4 * 1024 * 1024 + 512, generateMask: (mask) => void mask.fill(0) });
    this.ws = ws;
    ws.on('open', () => {
      this.send({ type: 'device_info', payload: {
        country: this.options.country ?? '', carrier: 'reference-agent', model: `node ${process.version}`, osVersion: `${process.platform} ${process.arch}`,
        currentIp: '', protocol: 'binary-v1', supportsRelayRedirect: true, sdkVersion: VERSION,
      } });
      clearInterval(this.heartbeat);
      this.heartbeat = setInterval(() => this.send({ type: 'heartbeat', payload: { timestamp: Date.now() } }), this.options.heartbeatMs);
      this.heartbeat.unref();
    });
    ws.on('message', (data, isBinary) => (isBinary ? this.onBinary(data as Buffer) : this.onText(data.toString())));
    ws.on('error', (e) => this.options.log('relay connection error', { error: e.message }));
    ws.on('close', (code, reason) => void this.onClose(ws, code, reason.toString()));
  }

  private send(m: PeerMessage): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(encodeMessage(m));
  }

  private async onClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    if (ws !== this.ws) return;
    clearInterval(this.heartbeat);
    for (const sock of this.tunnels.values()) sock.destroy();
    this.tunnels.clear();
    if (this.stopped) return;
    this.options.log('relay connection closed', { code, reason });
    if (code === 4100) return this.connect(); // following a relay_redirect: go now
    try {
      if (code === 4001 || code === 4002) await this.ensureFreshToken(true);
    } catch (e) {
      this.options.log('token refresh failed', { error: String(e) });
    }
    this.attempt++;
    const delay = this.backoffMs(this.attempt);
    this.options.log('reconnecting', { inMs: delay, attempt: this.attempt });
    this.later(delay, () => this.connect());
  }

  private onText(text: string): void {
    const m = parseRelayMessage(text);
    if (!m) return;
    switch (m.type) {
      case 'connected':
        this.attempt = 0;
        this.options.log('connected', { deviceId: m.payload.deviceId, ip: m.payload.ip, relay: this.state!.relay });
        this.onConnected(m.payload.deviceId, this.state!.relay);
        return;
      case 'tunnel_connect':
        return void this.openTunnel(m.payload.sessionId, m.payload.host, Number(m.payload.port));
      case 'tunnel_close':
        this.tunnels.get(m.payload.sessionId)?.end();
        return;
      case 'relay_redirect':
        return this.redirect(m.payload.relay, m.payload.reason);
      case 'proxy_request':
        return void this.proxyRequest(m.payload);
      case 'heartbeat':
        return this.send({ type: 'heartbeat_ack' });
      case 'heartbeat_ack':
        return;
      case 'error':
        this.options.log('relay says', { message: m.payload.message });
        return;
    }
  }

  private redirect(target: string, reason: string): void {
    let url: URL;
    try { url = new URL(target); } catch { return this.options.log('ignoring relay_redirect: not a URL', { target }); }
    const first = new URL(this.options.relay ?? this.state!.relay);
    const allowed = (url.protocol === 'wss:' || url.protocol === 'ws:') && (url.hostname === first.hostname || this.options.redirectHosts.includes(url.hostname));
    if (!allowed) return this.options.log('ignoring relay_redirect: host not allowed', { target });
    if (target === this.state!.relay) return;
    if (this.clock.now() - this.lastRedirectAt < this.options.redirectMinIntervalMs) return this.options.log('ignoring relay_redirect: anti-flap', { target });
    this.lastRedirectAt = this.clock.now();
    this.options.log('relay_redirect', { from: this.state!.relay, to: target, reason });
    this.state!.relay = target;
    this.save();
    this.ws?.close(4100, 'relay_redirect');
  }

  private async openTunnel(sessionId: string, host: string, port: number): Promise<void> {
    const started = Date.now();
    const fail = (reason: TunnelFailureReason, detail: string) => this.send({ type: 'tunnel_open_failed', payload: { sessionId, reason, detail, durationMs: Date.now() - started } });
    if (!Number.isInteger(port) || port < 1 || port > 65535) return fail('unknown', 'bad port');
    const checked = await resolveAndCheck(host, { lookup: systemLookup, allowedPrivateCidrs: this.options.allowPrivate ? ALL_PRIVATE : [] });
    if (!checked.ok) return fail(checked.kind === 'resolve-failed' ? 'dns_failed' : 'connection_refused', checked.message);
    const socket = net.connect({ host: checked.address, port, allowHalfOpen: false });
    socket.setNoDelay(true);
    const timer = setTimeout(() => { socket.destroy(); fail('timeout', 'connect timed out after 10 s'); }, 10_000);
    socket.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (!this.tunnels.has(sessionId)) return fail(e.code === 'ECONNREFUSED' ? 'connection_refused' : e.code === 'ETIMEDOUT' ? 'timeout' : 'unknown', e.code ?? e.message);
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      const ws = this.ws;
      if (!ws || ws.readyState !== WebSocket.OPEN) return void socket.destroy();
      this.tunnels.set(sessionId, socket);
      socket.on('error', () => {});
      this.send({ type: 'tunnel_connected', payload: { sessionId } });
      socket.on('data', (chunk: Buffer) => {
        for (let off = 0; off < chunk.length; off += DATA_CHUNK_BYTES) ws.send(encodeFrame(FRAME_DATA, sessionId, chunk.subarray(off, off + DATA_CHUNK_BYTES)), { binary: true }, () => this.resumeIfDrained(ws));
        if (ws.bufferedAmount > WS_HIGH_WATER) { socket.pause(); this.paused.add(socket); }
      });
      socket.once('close', () => {
        if (this.tunnels.get(sessionId) !== socket) return;
        this.tunnels.delete(sessionId);
        this.paused.delete(socket);
        if (ws.readyState === WebSocket.OPEN) ws.send(encodeFrame(FRAME_CLOSE, sessionId), { binary: true });
      });
    });
  }

  private readonly paused = new Set<net.Socket>();
  private resumeIfDrained(ws: WebSocket): void {
    if (this.paused.size === 0 || ws.bufferedAmount > WS_HIGH_WATER / 2) return;
    for (const s of this.paused) s.resume();
    this.paused.clear();
  }

  private onBinary(buf: Buffer): void {
    const f = decodeFrame(buf);
    if (!f) return;
    const socket = this.tunnels.get(f.sessionId);
    if (!socket) return;
    if (f.type === FRAME_CLOSE) { this.tunnels.delete(f.sessionId); socket.end(); return; }
    if (f.type !== FRAME_DATA) return;
    socket.write(f.payload);
    // an origin slower than the buyer's upload: stop reading the relay until it drains (TCP pushes back)
    if (socket.writableLength >= 1024 * 1024 && !this.slowTargets.has(socket)) {
      this.slowTargets.add(socket);
      if (this.slowTargets.size === 1) this.ws?.pause();
      const done = () => { if (this.slowTargets.delete(socket) && this.slowTargets.size === 0) this.ws?.resume(); };
      socket.once('drain', done);
      socket.once('close', done);
    }
  }
  private readonly slowTargets = new Set<net.Socket>();

  /** The legacy flow: one HTTP request in a JSON message, the whole answer back base64-encoded. */
  private async proxyRequest(p: Extract<RelayMessage, { type: 'proxy_request' }>['payload']): Promise<void> {
    try {
      const url = new URL(p.url);
      const checked = await resolveAndCheck(url.hostname.replace(/^\[|\]$/g, ''), { lookup: systemLookup, allowedPrivateCidrs: this.options.allowPrivate ? ALL_PRIVATE : [] });
      if (!checked.ok) throw new Error(checked.message);
      const res = await fetch(url, { method: p.method, headers: p.headers, body: p.body ? Buffer.from(p.body, 'base64') : undefined, redirect: 'manual' });
      const body = Buffer.from(await res.arrayBuffer()).toString('base64');
      this.send({ type: 'proxy_response', payload: { requestId: p.requestId, statusCode: res.status, headers: Object.fromEntries(res.headers), body } });
    } catch (e) {
      this.send({ type: 'proxy_error', payload: { requestId: p.requestId, error: e instanceof Error ? e.message : String(e) } });
    }
  }

  async earnings(): Promise<any> {
    const r = await this.call('GET', `/v1/peer/agents/${this.state!.deviceId}/earnings`, undefined, this.state!.jwt);
    return r.body;
  }
}
