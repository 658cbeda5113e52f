import { fixedClock } from '../../src/clock.ts';
import { startChains, type Chains } from './chains.ts';
import { ADMIN_KEY, api, startTestService } from './service.ts';
import { databaseKinds } from './services.ts';

export type Service = Awaited<ReturnType<typeof startTestService>>;

/** Local chains + the service configured to take payments on them, on the first database kind found. */
export async function startPaidService(env: Record<string, string> = {}) {
  const chains: Chains = await startChains();
  // The clock starts at real time: x402 authorizations are signed against the wall clock.
  const clock = fixedClock(new Date());
  const kind = (await databaseKinds())[0]!;
  let service: Service;
  try {
    service = await startTestService(kind, clock, { ...chains.env, ...env });
  } catch (error) {
    await chains.stop();
    throw error;
  }
  return {
    chains, clock, service, kind,
    async stop() {
      await service.stop();
      await chains.stop();
    },
  };
}

export const admin = { 'x-admin-key': ADMIN_KEY };

export async function registerDevice(service: Service, countryCode: string, over: Record<string, unknown> = {}): Promise<string> {
  const res = await api(service.url, 'POST', '/v1/admin/devices', {
    name: `modem-${countryCode}`, countryCode, carrier: { name: 'T-Mobile USA', brand: 'T-Mobile' }, upstream: 'http://u:p@127.0.0.1:9', ...over,
  }, admin);
  if (res.status !== 201) throw new Error(`device registration failed: ${JSON.stringify(res.body)}`);
  return res.body.id;
}

/** A health report, as the prober or an operator sends it: the pool sells and routes to a modem only once one said online. */
export async function reportHealth(service: Service, deviceId: string, online = true): Promise<void> {
  const res = await api(service.url, 'POST', `/v1/admin/devices/${deviceId}/health`, { online, ...(online ? { latencyMs: 120 } : {}) }, admin);
  if (res.status !== 200) throw new Error(`health report failed: ${JSON.stringify(res.body)}`);
}

export const decodeHeader = (value: string | null) => (value ? JSON.parse(Buffer.from(value, 'base64').toString('utf8')) : null);
