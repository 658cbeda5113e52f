import { Router } from 'express';
import type { Infrastructure } from '../../infrastructure.ts';
import { rotateByToken } from '../../x402/rotation.ts';
import { z } from 'zod';
import { errors } from '../openapi/common.ts';
import { documentRoute } from '../openapi/registry.ts';

documentRoute({
  method: 'get', path: '/rotate/:token', tag: 'x402 sessions', summary: 'Rotate a port\'s IP with the link from the purchase (no other auth)',
  params: z.object({ token: z.string() }),
  responses: {
    200: {
      description: 'The port moved to another device',
      schema: z.object({ success: z.literal(true), portId: z.string(), rotatedAt: z.string(), nextRotationAt: z.string(), message: z.string() }),
      example: { success: true, portId: '019ad6b2-6c1e-7a3b-9f10-2b8c4d5e6f70', rotatedAt: '2026-12-01T12:00:00.000Z', nextRotationAt: '2026-12-01T12:05:00.000Z', message: 'The port moved to another device; the new IP is live within seconds.' },
    },
    ...errors({ 404: 'ROTATION_TOKEN_INVALID', 409: 'SESSION_EXPIRED', 429: 'ROTATION_COOLDOWN', 503: 'NO_STOCK' }),
  },
});

/** GET /rotate/:token — rotate a port's IP with the link from the purchase; no other auth. */
export function rotateRouter(infra: Infrastructure): Router {
  const router = Router();
  router.get('/rotate/:token', async (req, res) => {
    res.json(await rotateByToken(infra, req.params.token, { actor: 'rotation-link', correlationId: req.id }));
  });
  return router;
}
