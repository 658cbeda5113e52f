import { z } from 'zod';
import { EXAMPLE_LATER, EXAMPLE_TIME, EXAMPLE_UUID, errors, isoDate } from '../openapi/common.ts';
import { documentRoutes, type RouteDoc } from '../openapi/registry.ts';
import { paymentRequiredBody, paymentRequiredExample } from '../openapi/x402-schemas.ts';
import { credits, grantBody, keyBody, registerBody } from './pool-api-auth.ts';
import { acquireBody, listQuery as proxiesQuery, testBody, uuid } from './pool-api-proxies.ts';
import { createBody, listQuery as sourcesQuery, patchBody, sourceId } from './pool-api-sources.ts';

/** OpenAPI documentation of the proxy-pool API (seed 003, src/http/routes/pool-api-*.ts), kept beside it. */

const security = ['poolKey' as const];
const unauthorized = errors({ 401: 'UNAUTHORIZED' });
const tagAuth = 'Proxy pool: account';
const tagSources = 'Proxy pool: sources';
const tagProxies = 'Proxy pool: proxies';
const tagStats = 'Proxy pool: stats';
const anyJson = z.record(z.string(), z.unknown());
const page = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), next_cursor: z.string().nullable(), total_count: z.number().int() });

const keyView = z.object({ id: z.string(), key: z.string(), prefix: z.string(), label: z.string() });
const keyExample = { id: EXAMPLE_UUID, key: 'pp_3f9a…', prefix: 'pp_3f9a1', label: 'default' };
const sourceView = z.object({
  id: z.string(), url: z.string(), parser_name: z.string(), cron_schedule: z.string().nullable(), default_protocol: z.string(), is_active: z.boolean(),
  parser_options: z.record(z.string(), z.string()), last_scraped_at: isoDate.nullable(), last_error: z.string().nullable(), created_at: isoDate.nullable(),
}).meta({ id: 'PoolSource' });
const sourceExample = { id: EXAMPLE_UUID, url: 'https://example.com/proxies.txt', parser_name: 'plaintext', cron_schedule: '*/30 * * * *', default_protocol: 'http', is_active: true, parser_options: {}, last_scraped_at: null, last_error: null, created_at: EXAMPLE_TIME };
const proxyView = z.object({
  id: z.string(), ip: z.string(), port: z.number().int(), protocol: z.string(), status: z.string(), anonymity: z.string().nullable(), exit_ip: z.string().nullable(), country: z.string().nullable(),
  score: z.number().nullable(), avg_latency_ms: z.number().nullable(), uptime_pct: z.number().nullable(), last_checked_at: isoDate.nullable(), first_seen_at: isoDate.nullable(), tags: z.unknown(),
}).meta({ id: 'PoolProxy' });
const proxyExample = { id: EXAMPLE_UUID, ip: '203.0.113.7', port: 8080, protocol: 'http', status: 'active', anonymity: 'elite', exit_ip: '203.0.113.7', country: 'US', score: 0.92, avg_latency_ms: 210.5, uptime_pct: 98.2, last_checked_at: EXAMPLE_TIME, first_seen_at: EXAMPLE_TIME, tags: [] };

const get = (path: string, tag: string, summary: string, responses: RouteDoc['responses'], more: Partial<RouteDoc> = {}): RouteDoc => ({ method: 'get', path, tag, summary, security, responses: { ...responses, ...unauthorized }, ...more });
const idParams = z.object({ id: sourceId });

documentRoutes(
  { method: 'post', path: '/auth/register', tag: tagAuth, summary: 'Create a proxy-pool user; answers its first pp_ key (shown once)', body: registerBody, bodyExample: { email: 'dev@example.com', display_name: 'Dev' },
    responses: { 201: { description: 'Registered', schema: z.object({ user: z.object({ id: z.string(), email: z.string(), display_name: z.string() }), api_key: keyView }), example: { user: { id: EXAMPLE_UUID, email: 'dev@example.com', display_name: 'Dev' }, api_key: keyExample } }, ...errors({ 400: 'VALIDATION_ERROR', 409: 'EMAIL_TAKEN' }) } },
  { method: 'post', path: '/auth/keys', tag: tagAuth, security, summary: 'Mint another pp_ key (shown once)', body: keyBody, bodyExample: { label: 'ci' },
    responses: { 201: { description: 'Created', schema: keyView.extend({ created_at: isoDate }), example: { ...keyExample, created_at: EXAMPLE_TIME } }, ...unauthorized, ...errors({ 409: 'TOO_MANY_KEYS' }) } },
  get('/auth/keys', tagAuth, 'Your keys (prefix only)', { 200: { description: 'Keys', schema: z.object({ items: z.array(z.object({ id: z.string(), prefix: z.string(), label: z.string(), created_at: isoDate.nullable(), revoked_at: isoDate.nullable(), is_active: z.boolean() })) }), example: { items: [{ id: EXAMPLE_UUID, prefix: 'pp_3f9a1', label: 'default', created_at: EXAMPLE_TIME, revoked_at: null, is_active: true }] } } }),
  { method: 'delete', path: '/auth/keys/:keyId', tag: tagAuth, security, summary: 'Revoke a key', params: z.object({ keyId: z.string() }), responses: { 204: { description: 'Revoked' }, ...unauthorized, ...errors({ 404: 'KEY_NOT_FOUND' }) } },
  get('/account', tagAuth, 'You and your credit balance', { 200: { description: 'Account', schema: z.object({ id: z.string(), email: z.string(), display_name: z.string(), created_at: isoDate.nullable(), credits: z.number().int() }), example: { id: EXAMPLE_UUID, email: 'dev@example.com', display_name: 'Dev', created_at: EXAMPLE_TIME, credits: 100 } } }),
  get('/account/credits', tagAuth, 'Credit balance and recent transactions', { 200: { description: 'Credits', schema: z.object({ balance: z.number().int(), recent_transactions: z.array(anyJson) }), example: { balance: 100, recent_transactions: [{ amount: 100, kind: 'purchase', created_at: EXAMPLE_TIME }] } } }),
  get('/account/leases', tagAuth, 'Your active leases', { 200: { description: 'Leases', schema: z.object({ items: z.array(z.object({ lease_id: z.string(), proxy_id: z.string(), proxy: z.unknown(), leased_at: isoDate.nullable(), expires_at: isoDate.nullable() })) }), example: { items: [{ lease_id: EXAMPLE_UUID, proxy_id: EXAMPLE_UUID, proxy: proxyExample, leased_at: EXAMPLE_TIME, expires_at: EXAMPLE_LATER }] } } }),
  { method: 'post', path: '/account/credits/purchase', tag: tagAuth, security: ['poolKey', 'payment'], summary: 'Buy credits with USDC over x402 (?credits=N): 402 first, then pay', query: z.object({ credits }),
    responses: {
      200: { description: 'Bought', schema: z.object({ credits_added: z.number().int(), balance: z.number().int(), price: z.string(), priceMicro: z.string(), payment: z.object({ network: z.string(), transaction: z.string(), payer: z.string() }) }), example: { credits_added: 100, balance: 100, price: '1.00', priceMicro: '1000000', payment: { network: 'base', transaction: '0x5c0a…', payer: '0x9f2b…' } } },
      402: { description: 'Payment required', schema: paymentRequiredBody, example: paymentRequiredExample }, ...unauthorized, ...errors({ 400: ['VALIDATION_ERROR', 'PAYMENT_MALFORMED'], 409: 'PAYMENT_ALREADY_USED' }),
    } },
  { method: 'post', path: '/v1/admin/pool/users/:userId/credits', tag: 'Admin: proxy pool', security: ['adminKey'], summary: 'Grant credits to a proxy-pool user', params: z.object({ userId: z.string() }), body: grantBody, bodyExample: { credits: 50, description: 'Admin grant' },
    responses: { 200: { description: 'Granted', schema: z.object({ user_id: z.string(), credits_added: z.number().int(), balance: z.number().int() }), example: { user_id: EXAMPLE_UUID, credits_added: 50, balance: 150 } }, ...errors({ 401: ['ADMIN_KEY_REQUIRED', 'ADMIN_KEY_INVALID'], 404: 'USER_NOT_FOUND' }) } },

  get('/sources', tagSources, 'Proxy sources (cursor pages)', { 200: { description: 'Sources', schema: page(sourceView), example: { items: [sourceExample], next_cursor: null, total_count: 1 } }, ...errors({ 400: ['VALIDATION_ERROR', 'INVALID_CURSOR'] }) }, { query: sourcesQuery }),
  { method: 'post', path: '/sources', tag: tagSources, security, summary: 'Add a source (scraped on its cron schedule)', body: createBody, bodyExample: { url: 'https://example.com/proxies.txt' },
    responses: { 201: { description: 'Added', schema: sourceView, example: sourceExample }, ...unauthorized, ...errors({ 400: ['VALIDATION_ERROR', 'SOURCE_URL_BLOCKED', 'INVALID_CRON'], 409: 'SOURCE_EXISTS', 422: ['PARSER_NOT_FOUND', 'PARSER_NOT_DETECTED'] }) } },
  get('/sources/:id', tagSources, 'One source', { 200: { description: 'Source', schema: sourceView, example: sourceExample }, ...errors({ 404: 'SOURCE_NOT_FOUND' }) }, { params: idParams }),
  { method: 'patch', path: '/sources/:id', tag: tagSources, security, summary: 'Change a source', params: idParams, body: patchBody, bodyExample: { is_active: false },
    responses: { 200: { description: 'Changed', schema: sourceView, example: { ...sourceExample, is_active: false } }, ...unauthorized, ...errors({ 404: 'SOURCE_NOT_FOUND' }) } },
  { method: 'delete', path: '/sources/:id', tag: tagSources, security, summary: 'Delete a source', params: idParams, responses: { 204: { description: 'Deleted' }, ...unauthorized, ...errors({ 404: 'SOURCE_NOT_FOUND' }) } },
  { method: 'post', path: '/sources/:id/scrape', tag: tagSources, security, summary: 'Scrape a source now', params: idParams,
    responses: { 200: { description: 'Scraped', schema: z.object({ source_id: z.string(), proxies_discovered: z.number().int(), proxies_new: z.number().int(), proxies_updated: z.number().int(), duration_ms: z.number() }), example: { source_id: EXAMPLE_UUID, proxies_discovered: 120, proxies_new: 80, proxies_updated: 40, duration_ms: 350 } }, ...unauthorized, ...errors({ 404: 'SOURCE_NOT_FOUND' }) } },

  get('/proxies', tagProxies, 'Proxies, filtered and sorted (cursor pages)', { 200: { description: 'Proxies', schema: page(proxyView), example: { items: [proxyExample], next_cursor: null, total_count: 1 } }, ...errors({ 400: ['VALIDATION_ERROR', 'INVALID_CURSOR'] }) }, { query: proxiesQuery }),
  { method: 'post', path: '/proxies/acquire', tag: tagProxies, security, summary: 'Lease the best matching proxy (costs a credit)', body: acquireBody, bodyExample: { country: 'US', lease_duration_seconds: 300 },
    responses: { 200: { description: 'Leased', schema: z.object({ lease_id: z.string(), proxy_id: z.string(), proxy: z.unknown(), expires_at: isoDate, credits_remaining: z.number().int() }), example: { lease_id: EXAMPLE_UUID, proxy_id: EXAMPLE_UUID, proxy: proxyExample, expires_at: EXAMPLE_LATER, credits_remaining: 99 } }, ...unauthorized, ...errors({ 402: 'INSUFFICIENT_CREDITS', 404: 'NO_MATCHING_PROXY', 409: 'ALL_PROXIES_LEASED' }) } },
  { method: 'post', path: '/proxies/acquire/:leaseId/release', tag: tagProxies, security, summary: 'Release a lease early', params: z.object({ leaseId: uuid }),
    responses: { 200: { description: 'Released', schema: z.object({ lease_id: z.string(), status: z.string() }), example: { lease_id: EXAMPLE_UUID, status: 'released' } }, ...unauthorized, ...errors({ 404: 'LEASE_NOT_FOUND' }) } },
  { method: 'post', path: '/proxies/test', tag: tagProxies, security, summary: 'Fetch a URL through a few pool proxies', body: testBody, bodyExample: { url: 'https://example.com', count: 3 },
    responses: { 200: { description: 'Results', schema: z.object({ url: z.string(), results: z.array(z.object({ proxy_id: z.string(), ip: z.string(), port: z.number().int(), reachable: z.boolean(), status_code: z.number().int().nullable(), latency_ms: z.number().nullable(), error: z.string().nullable() })), success_rate: z.number() }),
      example: { url: 'https://example.com/', results: [{ proxy_id: EXAMPLE_UUID, ip: '203.0.113.7', port: 8080, reachable: true, status_code: 200, latency_ms: 180, error: null }], success_rate: 1 } }, ...unauthorized, ...errors({ 400: ['VALIDATION_ERROR', 'URL_BLOCKED', 'URL_INVALID'] }) } },
  get('/proxies/:id', tagProxies, 'One proxy and its recent checks', { 200: { description: 'Proxy', schema: z.object({ proxy: proxyView, recent_checks: z.array(anyJson) }), example: { proxy: proxyExample, recent_checks: [{ stage: 'alive', ok: true, checked_at: EXAMPLE_TIME }] } }, ...errors({ 404: 'PROXY_NOT_FOUND' }) }, { params: z.object({ id: uuid }) }),

  { method: 'get', path: '/judge', tag: tagStats, summary: 'The judge the checkers ask through each proxy: echoes headers and the caller\'s address (no auth)',
    responses: { 200: { description: 'Echo', schema: z.object({ remote_address: z.string(), headers: z.record(z.string(), z.string()), nonce: z.string().nullable(), method: z.string() }), example: { remote_address: '203.0.113.7', headers: { host: 'localhost:3000' }, nonce: 'abc', method: 'GET' } } } },
  get('/stats/pool', tagStats, 'Pool totals by status, protocol and anonymity', {
    200: { description: 'Stats', schema: z.object({ total_proxies: z.number().int(), by_status: z.record(z.string(), z.number()), by_protocol: z.record(z.string(), z.number()), by_anonymity: z.record(z.string(), z.number()), avg_score: z.number().nullable(), avg_latency_ms: z.number().nullable(), sources_active: z.number().int(), sources_total: z.number().int(), last_scrape_at: isoDate.nullable(), last_validation_at: z.unknown() }),
      example: { total_proxies: 120, by_status: { active: 80, dead: 30, unchecked: 10 }, by_protocol: { http: 100, https: 0, socks4: 0, socks5: 20 }, by_anonymity: { transparent: 10, anonymous: 30, elite: 40 }, avg_score: 0.71, avg_latency_ms: 320.5, sources_active: 2, sources_total: 3, last_scrape_at: EXAMPLE_TIME, last_validation_at: EXAMPLE_TIME } },
  }),
  get('/stats/plugins', tagStats, 'Parsers, checkers and notifiers installed', {
    200: { description: 'Plugins', schema: z.object({ parsers: z.array(z.object({ name: z.string(), type: z.string() })), checkers: z.array(z.object({ name: z.string(), stage: z.unknown(), priority: z.number() })), notifiers: z.unknown() }),
      example: { parsers: [{ name: 'plaintext', type: 'SourceParser' }], checkers: [{ name: 'alive', stage: 'alive', priority: 10 }], notifiers: [] } },
  }),
);
