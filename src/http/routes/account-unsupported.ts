import { Router } from 'express';
import { ApiError } from '../errors.ts';

/** The official MCP server's crypto-payment (CoinGate) and support-ticket tools call these; this product has neither. */
export const UNSUPPORTED_ROUTES = [
  ['post', '/v1/coingate/create-order'], ['get', '/v1/coingate/order/:id'], ['get', '/v1/coingate/pending'], ['get', '/v1/coingate/history'],
  ['post', '/v1/coingate/cancel/:id'], ['get', '/v1/coingate/status'],
  ['post', '/tickets'], ['get', '/tickets'], ['get', '/tickets/:id'], ['post', '/tickets/:id/replies'], ['patch', '/tickets/:id/close'],
] as const;

export function accountUnsupportedRouter(): Router {
  const router = Router();
  for (const [method, path] of UNSUPPORTED_ROUTES) {
    router[method](path, () => {
      throw new ApiError(501, 'NOT_SUPPORTED', path.startsWith('/v1/coingate')
        ? 'crypto payment orders (CoinGate) are not part of this product: deposit USDC with POST /v1/account/deposit (x402)'
        : 'support tickets are not part of this product', { path });
    });
  }
  return router;
}
