import { startGatewayRole, type GatewayRole } from '../../src/gateway/role.ts';
import { api } from '../support/service.ts';
import { testRedisUrl } from '../support/services.ts';
import { admin, registerDevice, startPaidService } from '../support/x402.ts';
import { caughtUp, startHttpModem, startOrigin, waitFor, type Modem, type Origin } from './listeners/helpers.ts';

export const MB = 1_000_000;
/** What the budget tests buy (0.1 GB) and download (80 MB per connection, so a few connections overrun it). */
export const BOUGHT = 100 * MB;
export const DOWNLOAD = 80 * MB;
/** #8's bound: overrun per account ≤ max(1 MB, 1 % of what it bought). */
export const BOUND = Math.max(MB, BOUGHT / 100);

/** A paid service with its gateway, a second gateway instance sharing only Redis and the database, a modem and an origin. */
export interface TwoGateways {
  world: Awaited<ReturnType<typeof startPaidService>>;
  second: GatewayRole;
  origin: Origin;
  modem: Modem;
  gateways: Array<{ http: number; socks: number }>;
  /** Registers a modem device behind the test modem and reports it online. */
  device(over: Record<string, unknown>, ip: string): Promise<string>;
  /** Waits until both instances closed and metered every tunnel and the read models caught up. */
  settle(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** null without Redis (the budgets are shared through it). */
export async function startTwoGateways(): Promise<TwoGateways | null> {
  const redis = await testRedisUrl();
  if (!redis) return null;
  const [origin, modem] = await Promise.all([startOrigin(), startHttpModem()]);
  const world = await startPaidService({
    ROLES: 'api,projector,worker,gateway', GATEWAY_HOST: '127.0.0.1', REDIS_URL: redis,
    GATEWAY_HTTP_PORT: '0', GATEWAY_SOCKS_PORT: '0', GATEWAY_HEALTH_PORT: '0',
    GATEWAY_ALLOWED_PRIVATE_CIDRS: '127.0.0.0/8', GATEWAY_METER_FLUSH_MS: '5000',
  });
  // the second instance: its own brain, meter, budgets and Redis connection
  const second = await startGatewayRole(world.service.infra);
  const first = world.service.gateway!.gateway;
  return {
    world, second, origin, modem,
    gateways: [{ http: first.httpPort, socks: first.socksPort }, { http: second.gateway.httpPort, socks: second.gateway.socksPort }],
    async device(over, ip) {
      const id = await registerDevice(world.service, 'US', { upstream: modem.url, ...over });
      await api(world.service.url, 'POST', `/v1/admin/devices/${id}/health`, { online: true, latencyMs: 50, ip }, admin);
      return id;
    },
    async settle(timeoutMs) {
      // the clients saw their sockets close; the gateways finish metering those tunnels right after
      await waitFor(() => world.service.gateway!.gateway.stats().tunnels + second.gateway.stats().tunnels === 0, 'tunnels to close', timeoutMs);
      await new Promise((r) => setTimeout(r, 50));
      await Promise.all([world.service.gateway!.meter.flush(), second.meter.flush()]);
      await caughtUp(world.service.infra);
    },
    async stop() {
      await second.stop();
      await world.stop();
      await Promise.all([origin.close(), modem.close()]);
    },
  };
}
