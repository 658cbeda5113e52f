import pino from 'pino';
import type { Clock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import { startService, type Running } from '../../src/server.ts';
import { createTestDatabase } from './services.ts';

export const ADMIN_KEY = 'test-admin-key-0123456789';

/** The whole service (api + projector) on a fresh database, listening on an ephemeral port. */
export async function startTestService(kind: 'postgres' | 'pglite', clock: Clock, env: Record<string, string> = {}): Promise<Running & { url: string; databaseUrl: string | null }> {
  const t = await createTestDatabase(kind);
  // The gateway role listens on fixed ports unless a test asks for it, so services in one run never collide.
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', ADMIN_API_KEY: ADMIN_KEY, LOG_LEVEL: 'silent', ROLES: 'api,projector,worker', ...env });
  const running = await startService(config, clock, pino({ level: 'silent' }), { database: t.database });
  return {
    ...running,
    url: running.url!,
    /** For a second process on the same database (postgres only). */
    databaseUrl: t.url,
    async stop() {
      await running.stop();
      await t.dispose();
    },
  };
}

export async function api(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(base + path, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: any;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = text; }
  return { status: response.status, body: json, headers: response.headers };
}
