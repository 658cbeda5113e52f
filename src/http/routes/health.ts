import { Router } from 'express';
import type { Infrastructure } from '../../infrastructure.ts';
import { VERSION } from '../../version.ts';
import { z } from 'zod';
import { documentRoute } from '../openapi/registry.ts';

const healthBody = z.object({ status: z.enum(['healthy', 'unhealthy']), postgres: z.string(), redis: z.string(), eventstore: z.string(), version: z.string() });
const healthExample = { status: 'healthy', postgres: 'embedded', redis: 'in-process', eventstore: 'pglite', version: '0.1.0' };
documentRoute({
  method: 'get', path: '/health', tag: 'Service', summary: 'Health of the service and what it depends on',
  responses: { 200: { description: 'Healthy', schema: healthBody, example: healthExample }, 503: { description: 'Something the service needs is down', schema: healthBody, example: { ...healthExample, status: 'unhealthy', postgres: 'disconnected' } } },
});

const PROBE_TIMEOUT_MS = 2000;

async function probe(check: () => Promise<void>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([check(), new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('timeout')), PROBE_TIMEOUT_MS); })]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

async function projectionHealth(infra: Infrastructure) {
  try {
    const statuses = await infra.projector.status();
    return Object.fromEntries(statuses.map((s) => [s.name, { state: s.state, checkpoint: s.checkpoint, lag: s.lag, lagCapped: s.lagCapped, lastError: s.lastError }]));
  } catch {
    return null;
  }
}

/** Seed 003's health shape, plus the event store and, per projection, checkpoint, lag and last error. 503 when something the service needs is down. */
export function healthRouter(infra: Infrastructure): Router {
  const router = Router();
  router.get('/health', async (_req, res) => {
    const [postgres, redis, eventstore] = await Promise.all([
      probe(async () => { await infra.database.db.selectNoFrom((eb) => eb.val(1).as('one')).execute(); }),
      probe(() => infra.kv.ping()),
      probe(() => infra.store.ping()),
    ]);
    const healthy = postgres && redis && eventstore;
    // Per read model: a lagging or failing projection shows here; it does not make the service unhealthy.
    const projections = postgres && eventstore ? await projectionHealth(infra) : null;
    res.status(healthy ? 200 : 503).json({
      status: healthy ? 'healthy' : 'unhealthy',
      postgres: infra.database.kind === 'pglite' ? (postgres ? 'embedded' : 'disconnected') : postgres ? 'connected' : 'disconnected',
      redis: infra.kv.kind === 'memory' ? 'in-process' : redis ? 'connected' : 'disconnected',
      eventstore: `${infra.store.kind}${eventstore ? '' : ' (disconnected)'}`,
      version: VERSION,
      projections,
    });
  });
  return router;
}
