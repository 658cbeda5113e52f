import express, { type Express } from 'express';
import type { Infrastructure } from '../infrastructure.ts';
import { errorHandler, notFound } from './errors.ts';
import { requestContext } from './request-context.ts';
import { adminDevicesRouter } from './routes/admin-devices.ts';
import { healthRouter } from './routes/health.ts';
import { rotateRouter } from './routes/rotate.ts';
import { x402CatalogRouter } from './routes/x402-catalog.ts';
import { x402DiscoveryRouter } from './routes/x402-discovery.ts';
import { x402LookupRouter } from './routes/x402-lookup.ts';
import { x402ManageRouter } from './routes/x402-manage.ts';
import { x402PoolRouter } from './routes/x402-pool.ts';
import { x402PurchaseRouter } from './routes/x402-purchase.ts';
import type { X402Context } from '../x402/context.ts';
import type { PaymentProcessor } from '../../adapters/payments/port.ts';
import { pricesFromConfig } from '../x402/prices.ts';

export function createApp(infra: Infrastructure, payments: PaymentProcessor | null = infra.payments): Express {
  const ctx: X402Context = { infra, prices: pricesFromConfig(infra.config), payments };
  const discovery = x402DiscoveryRouter(ctx);
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(requestContext(infra.logger));
  app.use(express.json({ limit: '100kb' }));
  app.use(healthRouter(infra));
  app.use('/v1/admin/devices', adminDevicesRouter(infra));
  app.use('/v1/x402', x402CatalogRouter(infra));
  app.use('/v1/x402', discovery);
  app.get('/.well-known/x402.json', discovery.discovery);
  app.use('/v1/x402', x402PurchaseRouter(ctx));
  app.use('/v1/x402', x402PoolRouter(ctx));
  app.use('/v1/x402/manage', x402ManageRouter(ctx));
  app.use('/v1/x402', x402LookupRouter(ctx));
  app.use(rotateRouter(infra));
  app.use(notFound);
  app.use(errorHandler);
  return app;
}
