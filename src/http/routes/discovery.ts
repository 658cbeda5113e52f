import { Router, type Request } from 'express';
import { z } from 'zod';
import { buildManifest } from '../../discovery/manifest.ts';
import { agentCard, discoveryResources, erc8004Registration, llmsTxt, skillMd } from '../../discovery/render.ts';
import type { X402Context } from '../../x402/context.ts';
import { documentRoutes } from '../openapi/registry.ts';
import { parse } from '../validate.ts';
import { publicBase } from './x402-purchase.ts';

/** Discovery for agents, generated per request from config, read models and the OpenAPI registry. */

const tag = 'Discovery';
const anyJson = z.record(z.string(), z.unknown());
const text = (example: string) => ({ description: 'Text', schema: z.string(), example, contentType: 'text/plain' });
const resourcesQuery = z.object({ limit: z.coerce.number().int().min(1).max(100).default(20), offset: z.coerce.number().int().min(0).default(0), type: z.literal('http').optional() });
documentRoutes(
  { method: 'get', path: '/llms.txt', tag, summary: 'What this deployment is, for language models (links, prices, countries, endpoints)', responses: { 200: text('# Mobile proxies\n\n> Dedicated 4G/5G mobile proxy ports…') } },
  { method: 'get', path: '/skill.md', tag, summary: 'A skill file: what is sold here, prices, countries, how to buy, gateway grammar, error codes', responses: { 200: { ...text('---\nname: mobile-proxies\n---\n# Mobile proxies'), contentType: 'text/markdown' } } },
  { method: 'get', path: '/docs-manifest.json', tag, summary: 'Machine-readable truth: prices, networks, countries, pool_gateway (grammar, error_codes), endpoints, MCP tools',
    responses: { 200: { description: 'Manifest', schema: z.object({ name: z.string(), version: z.string(), base_url: z.string(), links: anyJson, x402: anyJson, countries: z.array(anyJson), pool_gateway: z.object({ error_codes: z.array(z.object({ code: z.string(), status: z.number().int(), meaning: z.string(), action: z.string() }).catchall(z.unknown())) }).catchall(z.unknown()), endpoints: z.array(anyJson), mcp: anyJson }).catchall(z.unknown()),
      example: { name: 'Mobile proxies', version: '0.1.0', base_url: 'http://localhost:3000', links: {}, x402: {}, countries: [], pool_gateway: { error_codes: [{ code: 'E_AUTH_REQUIRED', status: 407, meaning: 'No Proxy-Authorization header', action: 'Add credentials' }] }, endpoints: [], mcp: {} } } } },
  { method: 'get', path: '/.well-known/agent-card.json', tag, summary: 'A2A agent card',
    responses: { 200: { description: 'Agent card', schema: z.object({ protocolVersion: z.string(), name: z.string(), description: z.string(), url: z.string(), version: z.string(), skills: z.array(z.object({ id: z.string(), name: z.string(), description: z.string() }).catchall(z.unknown())) }).catchall(z.unknown()),
      example: { protocolVersion: '0.3.0', name: 'Mobile proxies', description: '…', url: 'http://localhost:3000', version: '0.1.0', skills: [{ id: 'buy-mobile-proxy', name: 'Buy a mobile proxy', description: '…' }] } } } },
  { method: 'get', path: '/.well-known/erc8004-registration.json', tag, summary: 'ERC-8004 agent registration file (endpoints and payment wallets)',
    responses: { 200: { description: 'Registration', schema: z.object({ type: z.string(), name: z.string(), description: z.string(), endpoints: z.array(z.object({ name: z.string(), endpoint: z.string(), version: z.string().optional() })) }).catchall(z.unknown()),
      example: { type: 'https://eips.ethereum.org/EIPS/eip-8004#registration-v1', name: 'Mobile proxies', description: '…', endpoints: [{ name: 'agentWallet', endpoint: 'eip155:8453:0x9f2b6a3c1d4e5f60718293a4b5c6d7e8f9012345' }] } } } },
  { method: 'get', path: '/discovery/resources', tag, summary: 'x402 discovery list (bazaar): every paid resource with its accepts and input/output schemas', query: resourcesQuery,
    responses: { 200: { description: 'Resources', schema: z.object({ x402Version: z.literal(2), items: z.array(z.object({ resource: z.string(), type: z.literal('http'), x402Version: z.literal(2), accepts: z.array(anyJson), lastUpdated: z.string(), metadata: anyJson })), pagination: z.object({ limit: z.number().int(), offset: z.number().int(), total: z.number().int() }) }),
      example: { x402Version: 2, items: [{ resource: 'http://localhost:3000/v1/x402/proxy', type: 'http', x402Version: 2, accepts: [], lastUpdated: '2026-12-01T12:00:00.000Z', metadata: { method: 'GET' } }], pagination: { limit: 20, offset: 0, total: 1 } } } } },
);

export function discoveryRouter(ctx: X402Context): Router {
  const router = Router();
  const manifest = (req: Request) => buildManifest(ctx, publicBase(ctx, req));
  router.get('/llms.txt', async (req, res) => { res.type('text/plain; charset=utf-8').send(llmsTxt(await manifest(req))); });
  router.get('/skill.md', async (req, res) => { res.type('text/markdown; charset=utf-8').send(skillMd(await manifest(req))); });
  router.get('/docs-manifest.json', async (req, res) => { res.json(await manifest(req)); });
  router.get('/.well-known/agent-card.json', async (req, res) => { res.json(agentCard(await manifest(req))); });
  router.get('/.well-known/erc8004-registration.json', async (req, res) => { res.json(erc8004Registration(await manifest(req))); });
  router.get('/discovery/resources', async (req, res) => {
    const page = parse(resourcesQuery, req.query);
    res.json(discoveryResources(await manifest(req), ctx.payments, ctx.prices.perGbMicro.shared, page, ctx.infra.clock.now()));
  });
  return router;
}
