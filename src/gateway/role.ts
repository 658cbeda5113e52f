import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { startGateway, type RunningGateway } from '../../adapters/gateway/server.ts';
import { rankedDevices } from '../../projections/pool-scores.ts';
import type { Infrastructure } from '../infrastructure.ts';
import { MarketplaceBrain } from './brain.ts';
import { CoordinatedLedger, MemoryBudgetLedger, RedisBudgetLedger } from './budget.ts';
import { GatewayCoordination } from './coordination.ts';
import { AccountLimits } from './limits.ts';
import { TrafficMeter } from './meter.ts';
import { createPeerPool } from '../peers/peer-pool.ts';
import { DeviceProber } from './prober.ts';
import { PakAccess } from './pak.ts';
import { SynthesizedSessions } from './pak-synthesized.ts';

export interface GatewayRole {
  gatewayId: string;
  gateway: RunningGateway;
  brain: MarketplaceBrain;
  meter: TrafficMeter;
  coordination: GatewayCoordination;
  prober: DeviceProber | null;
  stop(): Promise<void>;
}

/** The gateway role: listeners on :7000/:7001/:7080, the brain, the traffic meter and the prober. */
export async function startGatewayRole(infra: Infrastructure): Promise<GatewayRole> {
  const { config, logger } = infra;
  const gatewayId = `gw-${randomBytes(4).toString('hex')}`;
  const now = () => infra.clock.now().getTime();
  const meter = new TrafficMeter(infra, gatewayId);
  meter.start(config.GATEWAY_METER_FLUSH_MS);
  // with Redis, budgets, limits, sticky records and the auth back-off are shared by every gateway instance
  const redis = config.REDIS_URL ? new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true, connectTimeout: 2000 }) : null;
  if (redis) { redis.on('error', () => {}); await redis.connect(); }
  const pak = new PakAccess(infra, gatewayId);
  pak.start(Math.min(5000, config.GATEWAY_METER_FLUSH_MS));
  const synthesized = new SynthesizedSessions(infra);
  synthesized.start(Math.min(5000, config.GATEWAY_METER_FLUSH_MS));
  // the grace runs on the wall clock: it is about an outage now, not about domain time
  const coordination = new GatewayCoordination(redis, { graceMs: config.GATEWAY_REDIS_GRACE_MS, now: Date.now, logger });
  const limits = new AccountLimits(coordination, {
    instanceId: gatewayId, maxConnections: config.GATEWAY_MAX_CONNECTIONS_PER_ACCOUNT, maxSessions: config.GATEWAY_MAX_SESSIONS_PER_ACCOUNT,
    instanceLeaseMs: config.GATEWAY_INSTANCE_LEASE_MS, now,
  });
  limits.start();
  const brain = new MarketplaceBrain(infra, meter, {
    pak, synthesized,
    limiterStore: redis ? { redis } : undefined,
    ledger: redis ? new CoordinatedLedger(new RedisBudgetLedger(redis), new MemoryBudgetLedger(now), coordination) : undefined,
    coordination, limits,
    maxConnectionsPerAccount: config.GATEWAY_MAX_CONNECTIONS_PER_ACCOUNT,
    maxSessionsPerAccount: config.GATEWAY_MAX_SESSIONS_PER_ACCOUNT,
    peers: createPeerPool(infra),
    rank: async (q) => rankedDevices(infra.database.db, { countryCode: q.countryCode, carrier: q.carrier, tier: 'shared', exclude: q.exclude, limit: 5 }),
  });
  brain.start(config.GATEWAY_REFRESH_MS);
  const gateway = await startGateway({
    brain,
    host: config.GATEWAY_HOST,
    httpPort: config.GATEWAY_HTTP_PORT,
    socksPort: config.GATEWAY_SOCKS_PORT,
    healthPort: config.GATEWAY_HEALTH_PORT,
    allowedPrivateCidrs: config.GATEWAY_ALLOWED_PRIVATE_CIDRS,
    meterIntervalMs: Math.min(1000, config.GATEWAY_METER_FLUSH_MS),
    timeouts: { halfCloseGraceMs: config.GATEWAY_HALF_CLOSE_GRACE_MS },
    health: () => ({ ...coordination.status(), gatewayId }),
    onError: (err, context) => logger.warn({ err, ...context }, 'gateway connection failed'),
  });
  let prober: DeviceProber | null = null;
  if (config.PROBE_URL) {
    prober = new DeviceProber({ db: infra.database.db, store: infra.store, clock: infra.clock, logger, secrets: infra.secrets }, { probeUrl: config.PROBE_URL });
    prober.start(config.PROBE_INTERVAL_MS);
  }
  logger.info({ gatewayId, http: gateway.httpPort, socks5: gateway.socksPort, health: gateway.healthPort, probing: !!prober, coordination: redis ? 'redis' : 'in-process' }, 'gateway listening');
  return {
    gatewayId, gateway, brain, meter, coordination, prober,
    async stop() {
      await prober?.stop();
      await gateway.stop();
      brain.close();
      await pak.stop();
      await synthesized.stop();
      await meter.stop();
      await limits.stop();
      coordination.close();
      await redis?.quit().catch(() => redis.disconnect());
    },
  };
}
