import { Router } from 'express';
import type { Infrastructure } from '../../infrastructure.ts';
import { rotateByToken } from '../../x402/rotation.ts';

/** GET /rotate/:token — rotate a port's IP with the link from the purchase; no other auth. */
export function rotateRouter(infra: Infrastructure): Router {
  const router = Router();
  router.get('/rotate/:token', async (req, res) => {
    res.json(await rotateByToken(infra, req.params.token, { actor: 'rotation-link', correlationId: req.id }));
  });
  return router;
}
