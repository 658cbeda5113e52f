import express, { type Express } from 'express';
import type { Infrastructure } from '../infrastructure.ts';
import { errorHandler, notFound } from './errors.ts';
import { requestContext } from './request-context.ts';
import { adminDevicesRouter } from './routes/admin-devices.ts';
import { healthRouter } from './routes/health.ts';
import { x402CatalogRouter } from './routes/x402-catalog.ts';

export function createApp(infra: Infrastructure): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(requestContext(infra.logger));
  app.use(express.json({ limit: '100kb' }));
  app.use(healthRouter(infra));
  app.use('/v1/admin/devices', adminDevicesRouter(infra));
  app.use('/v1/x402', x402CatalogRouter(infra));
  app.use(notFound);
  app.use(errorHandler);
  return app;
}
