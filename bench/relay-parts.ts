/**
 * The processes of bench:relay, each printing one JSON line and then answering `mem` on its IPC channel:
 *   origin  — the origin web server (/bytes/N) and a TCP echo target;
 *   hub     — the relay (adapters/relay RelayServer: the real WebSocket server, CONNECT entry, links,
 *             watchdogs) and the gateway's real listeners in front of it, routing `user-peer-<i>` to
 *             peer i through the relay's CONNECT entry, exactly as the peer pool hands it out;
 *   agents  — N reference peer agents (src/peers/agent) connected to the relay.
 * Registration, presence and earnings (Postgres, Redis) are left out: they are not on the byte path.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGateway } from '../adapters/gateway/server.ts';
import { RelayServer } from '../adapters/relay/server.ts';
import { PeerAgent } from '../src/peers/agent/agent.ts';
import { createPeerTokens } from '../src/peers/tokens.ts';
import { PASSWORD, startOrigin, startTcpTarget, TestBrain, type TestAccount } from '../test/gateway/listeners/helpers.ts';

const part = process.argv[2];
const PEERS = Number(process.env.BENCH_PEERS ?? 10);
process.on('SIGINT', () => process.exit(0));
const gc = (globalThis as { gc?: () => void }).gc;
process.on('message', (m: unknown) => {
  if (m !== 'mem') return;
  gc?.();
  const u = process.memoryUsage();
  process.send!({ rss: u.rss, heap: u.heapUsed + u.external + u.arrayBuffers });
});
const emit = (o: unknown) => console.log(JSON.stringify(o));

if (part === 'origin') {
  const [origin, echo] = await Promise.all([startOrigin(), startTcpTarget()]);
  emit({ origin: origin.port, echo: echo.port });
} else if (part === 'hub') {
  const tokens = createPeerTokens({ PEER_JWT_SECRET: 'bench-relay-'.repeat(4), DATA_DIR: os.tmpdir(), PEER_JWT_TTL_SECONDS: 3600, RELAY_INTERNAL_SECRET: undefined }, () => new Date());
  const relay = new RelayServer({
    host: '127.0.0.1', port: 0, openTimeoutMs: 5000, stallTimeoutMs: 30_000, backpressureBytes: 8 * 1024 * 1024,
    maxConnectionsPerDevice: 2, messagesPerMinute: 100, heartbeatMs: 30_000, ackGraceMs: 250,
  }, {
    internalSecret: tokens.internalSecret,
    authenticate: (t) => tokens.verify(t),
    async onPeerReady() {},
    onPeerGone() {},
    onTunnelEnd(deviceId, end) { if (end.kind !== 'closed' && end.kind !== 'client_gone') console.error(`tunnel of ${deviceId} killed: ${end.kind} ${end.reason ?? ''}`); },
    onTraffic() {},
    log: (level, obj, msg) => console.error(level, msg, JSON.stringify(obj)),
  });
  const relayPort = await relay.listen();
  const devices = Array.from({ length: PEERS }, (_, i) => `bench-peer-${i}`);
  const accounts = new Map<string, TestAccount>(devices.map((d, i) => [`user-peer-${i}`, {
    password: PASSWORD, upstreams: [{ deviceId: d, url: `http://${d}:${tokens.internalSecret}@127.0.0.1:${relayPort}` }],
  }]));
  const brain = new TestBrain(accounts);
  // the test brain records every meter call; keep that from growing without bound during the bench
  setInterval(() => { for (const l of brain.leases) l.meters.length = 0; brain.leases.length = 0; brain.requests.length = 0; }, 1000).unref();
  const gateway = await startGateway({ brain, host: '127.0.0.1', httpPort: 0, socksPort: 0, healthPort: 0, allowedPrivateCidrs: '127.0.0.0/8' });
  const jwts = await Promise.all(devices.map(async (d) => (await tokens.sign(d)).jwt));
  emit({ http: gateway.httpPort, relay: `ws://127.0.0.1:${relayPort}`, devices, jwts });
  process.on('message', (m: unknown) => { if (m === 'tunnels') process.send!({ tunnels: relay.tunnelCount() }); });
} else if (part === 'agents') {
  const { relay, devices, jwts } = JSON.parse(process.env.BENCH_HUB!) as { relay: string; devices: string[]; jwts: string[] };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-relay-'));
  const agents = devices.map((deviceId, i) => {
    const stateFile = path.join(dir, `${deviceId}.json`);
    writeFileSync(stateFile, JSON.stringify({ deviceId, jwt: jwts[i], jwtExpiresAt: new Date(Date.now() + 3600_000).toISOString(), refreshToken: 'unused', relay }));
    return new PeerAgent({
      api: 'http://127.0.0.1:9', relay, name: deviceId, type: 'agent', country: 'US', stateFile, allowPrivate: true, redirectHosts: [],
      backoffBaseMs: 5000, backoffMaxMs: 120_000, heartbeatMs: 30_000, redirectMinIntervalMs: 60_000, log: () => {},
    });
  });
  let connected = 0;
  await new Promise<void>((resolve) => {
    for (const a of agents) { a.onConnected = () => { if (++connected === agents.length) resolve(); }; void a.start(); }
  });
  emit({ agents: agents.length });
} else {
  console.error('usage: relay-parts.ts origin|hub|agents');
  process.exit(2);
}
