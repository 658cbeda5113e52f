import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { lookupIp, parseOverrides } from '../../adapters/relay/ip-data.ts';
import type { TunnelEnd } from '../../adapters/relay/link.ts';
import { RelayServer, type ReadyPeer } from '../../adapters/relay/server.ts';
import { ipTypeOf } from '../../domain/peers/classify.ts';
import { IP_TYPES, type IpType } from '../../domain/peers/events.ts';
import type { Infrastructure } from '../infrastructure.ts';
import { peerCommand } from './agents.ts';
import { peerContext } from './context.ts';
import { otherRelays, publishPresence, publishRelay, withdrawPresence, withdrawRelay, type PeerHealth, type PeerPresence } from './presence.ts';

/** Answer a CONNECT with 200 after this long without tunnel_connected (what SDK peers do). */
const ACK_GRACE_MS = 250;
const PRESENCE_REFRESH_MS = 5000;
/** On shutdown, how long peers get to follow relay_redirect before their connections are closed. */
const DRAIN_MS = 3000;

interface LocalPeer {
  presence: PeerPresence;
  up: number;
  down: number;
  tunnels: number;
  from: Date;
}

export interface RelayRole {
  relayId: string;
  port: number;
  /** What gateways dial (stored with each peer in the presence map). */
  internalUrl: string;
  server: RelayServer;
  /** 'tunnel-end' (deviceId, TunnelEnd), 'peer-ready' (deviceId), 'peer-gone' (deviceId): for logs and tests. */
  events: EventEmitter;
  /** Appends what is pending now (tests, shutdown). */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The relay role: the WebSocket server for peers, IP classification on connect, presence in the KeyValue
 * store (which relay holds which peer), tunnel outcomes into each peer's health, and PeerTrafficServed per
 * peer per flush at the rate of its IP type.
 */
export async function startRelayRole(infra: Infrastructure): Promise<RelayRole> {
  const { config, logger } = infra;
  const ctx = peerContext(infra);
  const relayId = `relay-${randomBytes(4).toString('hex')}`;
  const overrides = parseOverrides(config.PEER_IP_OVERRIDES);
  const peers = new Map<string, LocalPeer>();
  const events = new EventEmitter();
  let internalUrl = '';

  const classify = async (ready: ReadyPeer) => {
    const facts = await lookupIp(ready.ip, overrides);
    const ipType: IpType = facts.overrideType && (IP_TYPES as readonly string[]).includes(facts.overrideType) ? (facts.overrideType as IpType) : ipTypeOf(facts.asn, facts.org);
    const claimed = typeof ready.info.country === 'string' && /^[A-Za-z]{2}$/.test(ready.info.country) ? ready.info.country.toUpperCase() : null;
    return { ...facts, ipType, country: facts.country ?? claimed };
  };

  const server = new RelayServer({
    host: config.RELAY_HOST, port: config.RELAY_PORT, openTimeoutMs: config.RELAY_OPEN_TIMEOUT_MS, stallTimeoutMs: config.RELAY_STALL_TIMEOUT_MS,
    backpressureBytes: config.RELAY_BACKPRESSURE_BYTES, maxConnectionsPerDevice: config.RELAY_MAX_CONNECTIONS_PER_DEVICE,
    messagesPerMinute: config.RELAY_MESSAGES_PER_MINUTE, heartbeatMs: config.RELAY_HEARTBEAT_MS, ackGraceMs: Math.min(ACK_GRACE_MS, config.RELAY_OPEN_TIMEOUT_MS),
  }, {
    internalSecret: ctx.tokens.internalSecret,
    authenticate: (token) => ctx.tokens.verify(token),
    async onPeerReady(ready) {
      const c = await classify(ready);
      await peerCommand(ctx, ready.deviceId, { type: 'ClassifyPeer', data: { ip: ready.ip, asn: c.asn, asnOrg: c.org, ipType: c.ipType, country: c.country } }, { actor: relayId, correlationId: ready.deviceId });
      const existing = peers.get(ready.deviceId);
      const presence: PeerPresence = {
        deviceId: ready.deviceId, relayId, relayUrl: internalUrl, country: c.country, ipType: c.ipType,
        connectedAt: infra.clock.now().toISOString(), seenAt: infra.clock.now().getTime(), health: existing?.presence.health ?? { opened: 0, failed: 0, throughput: 0 },
      };
      peers.set(ready.deviceId, { up: 0, down: 0, tunnels: 0, from: infra.clock.now(), ...existing, presence });
      await publishPresence(infra.kv, presence);
      logger.info({ deviceId: ready.deviceId, ip: ready.ip, ipType: c.ipType, country: c.country, asn: c.asn, relayId }, 'peer connected');
      events.emit('peer-ready', ready.deviceId);
    },
    onPeerGone(deviceId) {
      const p = peers.get(deviceId);
      if (p) p.presence.seenAt = 0; // flushed once more, then forgotten
      void withdrawPresence(infra.kv, deviceId, relayId).catch((err) => logger.warn({ err }, 'presence withdraw failed'));
      logger.info({ deviceId, relayId }, 'peer disconnected');
      events.emit('peer-gone', deviceId);
    },
    onTunnelEnd(deviceId, end: TunnelEnd) {
      if (end.kind !== 'closed' && end.kind !== 'client_gone') logger.info({ deviceId, ...end }, 'tunnel killed');
      events.emit('tunnel-end', deviceId, end);
      const p = peers.get(deviceId);
      if (!p) return;
      p.tunnels++;
      updateHealth(p.presence.health, end);
    },
    onTraffic(deviceId, up, down) {
      const p = peers.get(deviceId);
      if (!p) return;
      p.up += up;
      p.down += down;
    },
    log: (level, obj, msg) => logger[level](obj, msg),
  });
  const port = await server.listen();
  internalUrl = config.RELAY_INTERNAL_URL ?? `http://127.0.0.1:${port}`;
  // an ephemeral port (tests): registration hands out the port actually bound
  if (!config.RELAY_PUBLIC_URL && config.RELAY_PORT === 0) ctx.relayPublicUrl = `ws://${config.GATEWAY_PUBLIC_HOST}:${port}`;

  const announce = () => publishRelay(infra.kv, { relayId, publicUrl: ctx.relayPublicUrl, peers: server.readyPeers().length, seenAt: infra.clock.now().getTime() });
  await announce();
  const refresh = async () => {
    const now = infra.clock.now().getTime();
    await announce();
    for (const p of peers.values()) {
      if (p.presence.seenAt === 0) continue;
      p.presence.seenAt = now;
      await publishPresence(infra.kv, p.presence);
    }
  };

  let flushing: Promise<void> = Promise.resolve();
  const flush = () => {
    flushing = flushing.then(async () => {
      for (const [deviceId, p] of peers) {
        const up = p.up, down = p.down, tunnels = p.tunnels, from = p.from;
        if (up + down > 0) {
          p.up = 0; p.down = 0; p.tunnels = 0; p.from = infra.clock.now();
          const ipType = p.presence.ipType;
          try {
            await peerCommand(ctx, deviceId, { type: 'RecordPeerTraffic', data: { bytesUp: BigInt(up), bytesDown: BigInt(down), ipType, rateMicroPerGB: ctx.ratesMicroPerGB[ipType], tunnels, from, relay: relayId } }, { actor: relayId, correlationId: relayId });
          } catch (err) {
            logger.error({ err, deviceId }, 'peer traffic flush failed; will retry');
            p.up += up; p.down += down; p.tunnels += tunnels; p.from = from;
            continue;
          }
        }
        if (p.presence.seenAt === 0 && p.up + p.down === 0) peers.delete(deviceId);
      }
    });
    return flushing;
  };

  /** Draining: hands every peer that supports it to the least loaded other live relay, and waits for them to go. */
  const drain = async () => {
    const [target] = await otherRelays(infra.kv, relayId, infra.clock.now().getTime()).catch(() => []);
    if (!target) return;
    let sent = 0;
    for (const p of server.readyPeers()) sent += server.redirect(p.deviceId, target.publicUrl, 'relay_draining');
    if (sent === 0) return;
    logger.info({ relayId, to: target.relayId, peers: sent }, 'draining: peers redirected');
    const deadline = Date.now() + DRAIN_MS;
    while (server.readyPeers().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  };

  const presenceTimer = setInterval(() => void refresh().catch((err) => logger.warn({ err }, 'presence refresh failed')), PRESENCE_REFRESH_MS);
  const flushTimer = setInterval(() => void flush(), config.PEER_TRAFFIC_FLUSH_MS);
  presenceTimer.unref();
  flushTimer.unref();
  logger.info({ relayId, port, internalUrl, publicUrl: ctx.relayPublicUrl }, 'relay listening');
  return {
    relayId, port, internalUrl, server, events, flush,
    async stop() {
      clearInterval(presenceTimer);
      clearInterval(flushTimer);
      await withdrawRelay(infra.kv, relayId).catch(() => {});
      await drain();
      await server.close();
      await flush();
      await Promise.all([...peers.keys()].map((id) => withdrawPresence(infra.kv, id, relayId).catch(() => {})));
    },
  };
}

function updateHealth(h: PeerHealth, end: TunnelEnd): void {
  h.opened++;
  if (end.kind === 'open_failed' || end.kind === 'open_timeout' || end.kind === 'stalled') h.failed++;
  const bytes = end.bytesUp + end.bytesDown;
  if (bytes > 64 * 1024 && end.durationMs > 0) {
    const rate = (bytes / end.durationMs) * 1000;
    h.throughput = h.throughput === 0 ? rate : h.throughput * 0.8 + rate * 0.2;
  }
  // keep the counts a moving window: old outcomes fade
  if (h.opened > 200) { h.opened = Math.round(h.opened / 2); h.failed = Math.round(h.failed / 2); }
}
