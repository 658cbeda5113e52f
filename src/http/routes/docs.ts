import { Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import { z } from 'zod';
import type { Infrastructure } from '../../infrastructure.ts';
import { VERSION } from '../../version.ts';
import { buildOpenApiDocument, documentRoute } from '../openapi/registry.ts';

documentRoute({
  method: 'get', path: '/docs/api-json', tag: 'Service', summary: 'This OpenAPI 3.1 document (Swagger UI at /docs/api)',
  responses: { 200: { description: 'OpenAPI document', schema: z.object({ openapi: z.string(), info: z.object({ title: z.string(), version: z.string() }), paths: z.record(z.string(), z.unknown()) }).catchall(z.unknown()), example: { openapi: '3.1.0', info: { title: 'Mobile-proxy marketplace API', version: '0.1.0' }, paths: {} } } },
});

/** GET /docs/api-json (built from the registry on each call, so routes registered later show) and Swagger UI at /docs/api. */
export function docsRouter(infra: Infrastructure): Router {
  const router = Router();
  router.get('/docs/api-json', (_req, res) => {
    res.json(buildOpenApiDocument({ version: VERSION, ...(infra.config.PUBLIC_BASE_URL ? { serverUrl: infra.config.PUBLIC_BASE_URL } : {}) }));
  });
  router.use('/docs/api', swaggerUi.serveFiles(undefined, { swaggerUrl: '/docs/api-json' }), swaggerUi.setup(undefined, { swaggerUrl: '/docs/api-json', customSiteTitle: 'Mobile-proxy marketplace API' }));
  return router;
}
