import type { Clock } from '../../src/clock.ts';
import { api, startTestService } from '../support/service.ts';
import { databaseKinds } from '../support/services.ts';
import { admin, registerDevice } from '../support/x402.ts';
import { deadPort, startHttpModem, startTcpTarget, type Modem } from '../gateway/listeners/helpers.ts';

export interface AccountGateway {
  service: Awaited<ReturnType<typeof startTestService>>;
  modem: Modem;
  target: Awaited<ReturnType<typeof startTcpTarget>>;
  /** The gateway's HTTP port. */
  gw: number;
  stop(): Promise<void>;
}

/** api, projector and gateway in one service, and one online DE modem (`ip`) that reaches a raw TCP target. */
export async function startAccountGateway(clock: Clock, ip: string): Promise<AccountGateway> {
  const [modem, target] = await Promise.all([startHttpModem(), startTcpTarget()]);
  const [h, s, hp] = await Promise.all([deadPort(), deadPort(), deadPort()]);
  const service = await startTestService((await databaseKinds())[0]!, clock, {
    ROLES: 'api,projector,gateway', GATEWAY_HOST: '127.0.0.1', GATEWAY_HTTP_PORT: String(h), GATEWAY_SOCKS_PORT: String(s), GATEWAY_HEALTH_PORT: String(hp),
    GATEWAY_ALLOWED_PRIVATE_CIDRS: '127.0.0.0/8,::1/128', GATEWAY_METER_FLUSH_MS: '60000',
    // the periodic re-read runs only when a test calls brain.refresh(): what cuts a tunnel is then what the test did
    GATEWAY_REFRESH_MS: '600000',
  });
  const dev = await registerDevice(service, 'DE', { upstream: modem.url, slots: 4, tiers: ['shared'] });
  await api(service.url, 'POST', `/v1/admin/devices/${dev}/health`, { online: true, latencyMs: 40, ip }, admin);
  return {
    service, modem, target, gw: h,
    async stop() {
      await service.stop();
      await Promise.all([modem.close(), target.close()]);
    },
  };
}
