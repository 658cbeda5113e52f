import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import type { Express } from 'express';
import { z } from 'zod';

/**
 * The API's documentation registry. Each router file registers its routes here, next to its handlers, with the
 * zod schemas it validates with and the shapes it answers. `buildOpenApiDocument()` turns the registry into
 * OpenAPI 3.1; test/http/openapi.test.ts walks the Express router and fails for any route not registered here,
 * and parses every example with its schema.
 */

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** Security schemes, by the header (or scheme) a caller sends. */
export const securitySchemes = {
  adminKey: { type: 'apiKey', in: 'header', name: 'X-Admin-Key', description: "Operators' key (ADMIN_API_KEY)" },
  apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'Account API key (psx_…)' },
  bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Account session (JWT from /v1/auth/login)' },
  sessionToken: { type: 'apiKey', in: 'header', name: 'X-Session-Token', description: 'x402 session token from the purchase (x402s_…)' },
  payment: { type: 'apiKey', in: 'header', name: 'Payment-Signature', description: 'x402 payment: a v2 payload (base64), a USDC transaction hash, or (as X-Payment) a v1 payload or {transactionHash, network, payer}' },
  resellerKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'Reseller key (pak_…)' },
  poolKey: { type: 'http', scheme: 'bearer', bearerFormat: 'pp_…', description: 'Proxy-pool API key as Authorization: Bearer pp_… (seed 003)' },
} as const;
export type Security = keyof typeof securitySchemes;

export interface ResponseDoc {
  description: string;
  /** The body's schema (JSON unless contentType says otherwise). */
  schema?: z.ZodType;
  /** One real-looking answer; the test parses it with `schema`. */
  example?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface RouteDoc {
  method: Method;
  /** The full Express path, e.g. `/v1/x402/session/:id`. */
  path: string;
  tag: string;
  summary: string;
  description?: string;
  /** Any one of the listed schemes is enough; nested arrays mean "all of these together". */
  security?: Security[];
  query?: z.ZodObject;
  params?: z.ZodObject;
  headers?: z.ZodObject;
  body?: z.ZodType;
  bodyExample?: unknown;
  responses: Record<number, ResponseDoc>;
}

const routes = new Map<string, RouteDoc>();
const aliases: Array<{ alias: string; target: string }> = [];

const key = (method: string, path: string) => `${method.toUpperCase()} ${path}`;

/** Register (or replace) the documentation of one route. Call it at module level beside the handler. */
export function documentRoute(doc: RouteDoc): void {
  routes.set(key(doc.method, doc.path), doc);
}

export function documentRoutes(...docs: RouteDoc[]): void {
  for (const d of docs) documentRoute(d);
}

/** A router mounted a second time under another prefix (e.g. `/x402` for `/v1/x402`) is documented under both. */
export function documentAlias(alias: string, target: string): void {
  if (!aliases.some((a) => a.alias === alias)) aliases.push({ alias, target });
}

/** Every documented operation, aliases expanded. */
export function documentedRoutes(): RouteDoc[] {
  const all = [...routes.values()];
  for (const { alias, target } of aliases) {
    for (const r of routes.values()) {
      if (r.path === target || r.path.startsWith(`${target}/`)) all.push({ ...r, path: alias + r.path.slice(target.length) });
    }
  }
  return all;
}

export function findRouteDoc(method: string, path: string): RouteDoc | undefined {
  return documentedRoutes().find((r) => key(r.method, r.path) === key(method, path));
}

/** `/v1/x402/session/:id` → `/v1/x402/session/{id}` */
export const openApiPath = (expressPath: string) => expressPath.replace(/:(\w+)/g, '{$1}');

function operationId(method: string, path: string): string {
  return `${method}_${path.replace(/[:{}]/g, '').replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, '')}`;
}

export interface DocumentOptions {
  version: string;
  serverUrl?: string;
  description?: string;
}

export function buildOpenApiDocument(options: DocumentOptions) {
  const registry = new OpenAPIRegistry();
  for (const [name, scheme] of Object.entries(securitySchemes)) registry.registerComponent('securitySchemes', name, scheme as never);
  for (const r of documentedRoutes()) {
    const responses: Record<string, unknown> = {};
    for (const [status, res] of Object.entries(r.responses)) {
      responses[status] = {
        description: res.description,
        ...(res.headers ? { headers: Object.fromEntries(Object.entries(res.headers).map(([h, d]) => [h, { description: d, schema: { type: 'string' } }])) } : {}),
        ...(res.schema ? { content: { [res.contentType ?? 'application/json']: { schema: res.schema, ...(res.example !== undefined ? { example: res.example } : {}) } } } : {}),
      };
    }
    registry.registerPath({
      method: r.method,
      path: openApiPath(r.path),
      operationId: operationId(r.method, r.path),
      tags: [r.tag],
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      ...(r.security ? { security: r.security.map((s) => ({ [s]: [] })) } : {}),
      request: {
        ...(r.query ? { query: r.query } : {}),
        ...(r.params ? { params: r.params } : {}),
        ...(r.headers ? { headers: r.headers } : {}),
        ...(r.body ? { body: { content: { 'application/json': { schema: r.body, ...(r.bodyExample !== undefined ? { example: r.bodyExample } : {}) } } } } : {}),
      },
      responses: responses as never,
    });
  }
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'Mobile-proxy marketplace API', version: options.version, ...(options.description ? { description: options.description } : {}) },
    ...(options.serverUrl ? { servers: [{ url: options.serverUrl }] } : {}),
  });
}

/** Every (method, path) the Express app answers, read from its router stack (mounted routers included). */
export function walkExpressRoutes(app: Express): Array<{ method: Method; path: string }> {
  const found: Array<{ method: Method; path: string }> = [];
  const visit = (stack: unknown[], prefix: string) => {
    for (const layer of stack as Array<{ route?: { path: string | string[]; methods: Record<string, boolean> }; handle?: { stack?: unknown[] }; rawPath?: string | string[] }>) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const p of paths) {
          for (const [m, on] of Object.entries(layer.route.methods)) {
            if (on && m !== '_all') found.push({ method: m as Method, path: join(prefix, p) });
          }
        }
      } else if (layer.handle?.stack && Array.isArray(layer.handle.stack)) {
        const mounts = Array.isArray(layer.rawPath) ? layer.rawPath : [layer.rawPath ?? '/'];
        for (const m of mounts) visit(layer.handle.stack, join(prefix, typeof m === 'string' ? m : '/'));
      }
    }
  };
  const router = (app as unknown as { router: { stack: unknown[] } }).router;
  visit(router.stack, '');
  return found;
}

function join(prefix: string, path: string): string {
  const joined = `${prefix.replace(/\/$/, '')}/${path.replace(/^\//, '')}`;
  return joined.length > 1 ? joined.replace(/\/$/, '') : '/';
}
