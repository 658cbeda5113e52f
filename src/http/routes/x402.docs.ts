import { z } from 'zod';
import { decimal, EXAMPLE_LATER, EXAMPLE_TIME, EXAMPLE_UUID, errors, isoDate, microString } from '../openapi/common.ts';
import { documentRoutes, type RouteDoc } from '../openapi/registry.ts';
import {
  examples, network, newPortBody, newPortExample, paymentBody, paymentExample, paymentRequiredBody, paymentRequiredExample,
  paymentResponses, portBody, portExample, publicSessionBody, publicSessionExample, purchaseBody, purchaseExample,
  sessionDetailBody, sessionDetailExample, trafficBody, trafficExample,
} from '../openapi/x402-schemas.ts';
import { carrierQuery, tierQuery } from './x402-catalog.ts';
import { calculateQuery } from './x402-discovery.ts';
import { agentBody, txId, wallet, walletQuery } from './x402-lookup.ts';
import { recreateBody, replaceBody, topupBody } from './x402-manage.ts';
import { poolQuery, poolTopupBody } from './x402-pool.ts';
import { orderQuery } from './x402-purchase.ts';

/** OpenAPI documentation of the x402 routers (src/http/routes/x402-*.ts), kept beside them. */

const P = '/v1/x402';
const catalog = 'x402 catalog';
const buy = 'x402 purchase';
const manage = 'x402 sessions';
const pool = 'x402 pool access';
const paid = ['payment' as const];
const token = ['sessionToken' as const];
const tokenErrors = errors({ 400: 'SESSION_TOKEN_REQUIRED', 401: 'SESSION_TOKEN_INVALID' });
const paymentErrors = errors({ 400: ['PAYMENT_MALFORMED', 'PAYMENT_NETWORK_UNSUPPORTED'], 409: 'PAYMENT_ALREADY_USED', 502: 'PAYMENT_SETTLEMENT_FAILED', 503: ['PAYMENT_CHAIN_UNAVAILABLE', 'PAYMENTS_DISABLED'] });
const get = (path: string, tag: string, summary: string, responses: RouteDoc['responses'], more: Partial<RouteDoc> = {}): RouteDoc => ({ method: 'get', path, tag, summary, responses, ...more });

export const countryBody = z.object({ code: z.string(), name: z.string(), availableDevices: z.number().int(), tier: z.enum(['both', 'shared', 'private']) }).meta({ id: 'Country' });
export const countryExample = { code: 'US', name: 'United States', availableDevices: 4, tier: 'both' };
export const carrierBody = z.object({ name: z.string(), brand: z.string(), mcc: z.string().nullable(), mnc: z.string().nullable(), technology: z.string().nullable(), freeDeviceCount: z.number().int() }).meta({ id: 'Carrier' });
export const carrierExample = { name: 'T-Mobile USA', brand: 'T-Mobile', mcc: '310', mnc: '260', technology: '5G', freeDeviceCount: 3 };
const tierPrice = z.object({ perGB: z.number(), perHour: z.number(), perGBMicro: microString });
const pricingBody = z.object({ shared: tierPrice, private: tierPrice, durationFree: z.boolean(), minTrafficGB: decimal, networks: z.array(network), currency: z.literal('USDC') }).meta({ id: 'Pricing' });
const pricingExample = { shared: { perGB: 4, perHour: 0, perGBMicro: '4000000' }, private: { perGB: 8, perHour: 0, perGBMicro: '8000000' }, durationFree: true, minTrafficGB: '0.1', networks: ['base', 'solana'], currency: 'USDC' };
const limitsBody = z.object({ minDuration: z.number().int(), maxDuration: z.number().int(), defaultDuration: z.number().int(), minTrafficGB: z.number() });
const limitsExample = { minDuration: 3600, maxDuration: 2592000, defaultDuration: 86400, minTrafficGB: 0.1 };
const walletsBody = z.record(z.string(), z.object({ recipient: z.string(), asset: z.string(), network: z.string() }));
const walletsExample = { base: { recipient: examples.EVM, asset: examples.USDC, network: 'eip155:8453' } };
const gateway = z.object({ host: z.string(), httpPort: z.number().int(), socksPort: z.number().int() });
const gatewayExample = { host: '127.0.0.1', httpPort: 7000, socksPort: 7001 };
export const discoveryBody = z.object({
  x402Version: z.literal(2), name: z.string(), description: z.string(),
  resources: z.array(z.object({ resource: z.string(), methods: z.array(z.string()), description: z.string(), schemes: z.array(z.string()), networks: z.array(z.string()) }).catchall(z.unknown())),
  paymentProofs: z.array(z.string()), wallets: walletsBody, limits: limitsBody,
}).catchall(z.unknown()).meta({ id: 'X402Discovery' });
export const discoveryExample = {
  x402Version: 2, name: 'Mobile proxies', description: 'Dedicated 4G/5G mobile proxy ports paid in USDC on Base or Solana. Pay per GB; duration is free.',
  resources: [{ resource: '/v1/x402/proxy', methods: ['GET', 'POST'], description: 'Buy a dedicated mobile proxy port', pricing: { unit: 'GB', shared: '4.00', private: '8.00', currency: 'USDC' }, schemes: ['exact'], networks: ['eip155:8453'] }],
  paymentProofs: ['x402 exact payload in PAYMENT-SIGNATURE (or X-PAYMENT)'], wallets: walletsExample, limits: limitsExample,
};
const poolConnection = z.object({ host: z.string(), httpPort: z.number().int(), socksPort: z.number().int(), username: z.string(), http: z.string(), socks5: z.string(), sticky: z.string(), grammar: z.string() });
const poolConnectionExample = { ...gatewayExample, username: 'psx_acc123-mbl-us', http: 'http://psx_acc123-mbl-us:PASS@127.0.0.1:7000', socks5: 'socks5://psx_acc123-mbl-us:PASS@127.0.0.1:7001', sticky: 'http://psx_acc123-mbl-us-sid-session01-rot-sticky:PASS@127.0.0.1:7000', grammar: 'psx_<account>-<pool mbl|peer|any>-<country|any>[-city-…][-carrier-…][-sid-…][-rot-…][-ttl-…]' };
const usageBody = z.object({ accountId: z.string(), traffic: trafficBody, bytesUp: microString, bytesDown: microString, connections: z.number().int(), lastUsedAt: isoDate.nullable() });
const usageExample = { accountId: 'acc123', traffic: trafficExample, bytesUp: '0', bytesDown: '0', connections: 0, lastUsedAt: null };
const creditBody = z.object({ traffic: trafficBody, credit: decimal, creditMicro: microString, currency: z.literal('USDC'), hasCredit: z.boolean() }).catchall(z.unknown());
const agentView = z.object({ wallet: z.string(), network, name: z.string().nullable(), description: z.string().nullable(), preferences: z.object({ country: z.string().nullable(), tier: z.string().nullable() }), registeredAt: isoDate, updatedAt: isoDate, sessions: z.number().int() }).meta({ id: 'Agent' });
const agentExample = { wallet: examples.EVM.toLowerCase(), network: 'base', name: 'scraper-bot', description: null, preferences: { country: 'US', tier: null }, registeredAt: EXAMPLE_TIME, updatedAt: EXAMPLE_TIME, sessions: 1 };
const success = z.literal(true);

documentRoutes(
  get(`${P}/countries`, catalog, 'Countries with a free device now', { 200: { description: 'Countries', schema: z.array(countryBody), example: [countryExample] }, ...errors({ 400: 'VALIDATION_ERROR' }) }, { query: tierQuery }),
  get(`${P}/carriers`, catalog, 'Carriers in a country, with free devices', { 200: { description: 'Carriers', schema: z.array(carrierBody), example: [carrierExample] }, ...errors({ 400: ['VALIDATION_ERROR', 'INVALID_COUNTRY'] }) }, { query: carrierQuery }),
  get(`${P}/pricing`, catalog, 'Price per GB per tier (duration is free)', { 200: { description: 'Pricing', schema: pricingBody, example: pricingExample } }),
  get(`${P}/calculate`, catalog, 'What an order would cost', {
    200: { description: 'Quote', schema: z.object({ cost: decimal, costMicro: microString, currency: z.literal('USDC'), breakdown: z.object({ tier: z.string(), traffic: z.object({ gb: decimal, perGB: decimal, cost: decimal }), duration: z.object({ seconds: z.number().int(), cost: decimal }) }) }),
      example: { cost: '4.00', costMicro: '4000000', currency: 'USDC', breakdown: { tier: 'shared', traffic: { gb: '1', perGB: '4.00', cost: '4.00' }, duration: { seconds: 86400, cost: '0.00' } } } },
    ...errors({ 400: ['VALIDATION_ERROR', 'TRAFFIC_TOO_LOW', 'INVALID_TRAFFIC', 'INVALID_DURATION'] }),
  }, { query: calculateQuery }),
  get(`${P}/info`, catalog, 'Everything at once: pricing, networks, wallets, limits, countries, gateway', {
    200: { description: 'Info', schema: z.object({ pricing: pricingBody, networks: z.array(network), wallets: walletsBody, limits: limitsBody, countries: z.array(z.object({ code: z.string(), availableDevices: z.number().int() })), gateway, version: z.string() }).catchall(z.unknown()),
      example: { pricing: pricingExample, networks: ['base'], wallets: walletsExample, limits: limitsExample, countries: [{ code: 'US', availableDevices: 4 }], gateway: gatewayExample, version: '0.1.0' } },
  }),
  get(`${P}/status`, catalog, 'Fleet and payment status', {
    200: { description: 'Status', schema: z.object({ status: z.enum(['operational', 'payments_disabled']), devices: z.object({ total: z.number().int(), online: z.number().int(), available: z.number().int() }), countries: z.number().int(), networks: z.array(network), uptimeSeconds: z.number().int(), version: z.string() }),
      example: { status: 'operational', devices: { total: 5, online: 5, available: 4 }, countries: 2, networks: ['base'], uptimeSeconds: 120, version: '0.1.0' } },
  }),
  get(`${P}/health`, catalog, 'x402 service health (`status: ok` is what agent clients check)', { 200: { description: 'Health', schema: z.object({ status: z.literal('ok'), enabled: z.boolean(), version: z.string() }), example: { status: 'ok', enabled: true, version: '0.1.0' } } }),
  get(`${P}/.well-known`, catalog, 'x402 discovery document', { 200: { description: 'Discovery', schema: discoveryBody, example: discoveryExample } }),
  ...(['get', 'post'] as const).map((method): RouteDoc => ({
    method, path: `${P}/proxy`, tag: buy, security: paid,
    summary: 'Buy a dedicated mobile proxy port with USDC (402 first, then pay and repeat with the proof)',
    description: 'Without a payment header: 402 with the price (seed fields, x402 v2 `accepts`, the v1 `paymentRequirement` block). With `Payment-Signature` (x402 v2 payload or a USDC tx hash) or `X-Payment` (v1 payload or `{transactionHash, network, payer}`): the port.',
    ...(method === 'get' ? { query: orderQuery } : { body: orderQuery, bodyExample: { country: 'US', traffic: '1' } }),
    responses: { 200: { description: 'Bought: credentials (shown once), session token, session', schema: purchaseBody, example: purchaseExample, headers: { 'PAYMENT-RESPONSE': 'base64 x402 settlement response' } }, ...paymentResponses, ...errors({ 400: ['VALIDATION_ERROR', 'INVALID_COUNTRY', 'TRAFFIC_TOO_LOW', 'INVALID_DURATION', 'INVALID_TRAFFIC'] }), ...paymentErrors, 503: errors({ 503: ['NO_STOCK', 'PAYMENTS_DISABLED', 'PAYMENT_CHAIN_UNAVAILABLE'] })[503]! },
  })),
  get(`${P}/manage/session`, manage, 'The session, its ports and payments', {
    200: { description: 'Session', schema: sessionDetailBody.extend({ ports: z.array(portBody), payments: z.array(z.object({ kind: z.string(), network: z.string(), transaction: z.string(), payer: z.string(), amount: decimal, at: isoDate })) }),
      example: { ...sessionDetailExample, ports: [portExample], payments: [{ kind: 'purchase', network: 'base', transaction: examples.TX, payer: examples.EVM, amount: '4.00', at: EXAMPLE_TIME }] } },
    ...tokenErrors,
  }, { security: token }),
  get(`${P}/manage/session/credit`, manage, 'Traffic left and what it is worth', {
    200: { description: 'Credit', schema: creditBody.extend({ sessionId: z.string(), status: z.string(), expiresAt: isoDate, secondsRemaining: z.number().int() }),
      example: { sessionId: EXAMPLE_UUID, status: 'active', expiresAt: EXAMPLE_LATER, secondsRemaining: 86400, traffic: trafficExample, credit: '4.00', creditMicro: '4000000', currency: 'USDC', hasCredit: true } },
    ...tokenErrors,
  }, { security: token }),
  get(`${P}/manage/ports`, manage, 'The session\'s ports', { 200: { description: 'Ports', schema: z.object({ sessionId: z.string(), ports: z.array(portBody) }), example: { sessionId: EXAMPLE_UUID, ports: [portExample] } }, ...tokenErrors }, { security: token }),
  get(`${P}/manage/ports/:portId/status`, manage, 'One port: online, latency, whether it can be replaced', {
    200: { description: 'Port status', schema: portBody.extend({ latencyMs: z.number().nullable(), lastHealthAt: isoDate.nullable(), replaceable: z.boolean() }), example: { ...portExample, latencyMs: 120, lastHealthAt: EXAMPLE_TIME, replaceable: false } },
    ...tokenErrors, ...errors({ 404: 'PORT_NOT_FOUND' }),
  }, { security: token, params: z.object({ portId: z.string() }) }),
  get(`${P}/manage/ports/:portId/can-rotate`, manage, 'Whether the port can rotate now (seed 002 can-rotate): cooldown, method, devices free', {
    200: { description: 'Ready, or in cooldown', schema: z.object({ canRotate: z.boolean(), method: z.enum(['device_switch', 'airplane_mode']).optional(), availableDevices: z.number().int().optional(), reason: z.string().optional(), nextRotationAt: isoDate.optional(), cooldownRemaining: z.number().int().optional() }),
      example: { canRotate: true, method: 'device_switch', availableDevices: 26 } },
    ...tokenErrors, ...errors({ 404: 'PORT_NOT_FOUND' }),
  }, { security: token, params: z.object({ portId: z.string() }) }),
  { method: 'post', path: `${P}/manage/ports/replace`, tag: manage, security: token, summary: 'Replace an offline port on another device (free, at most 3)', body: replaceBody, bodyExample: {},
    responses: { 200: { description: 'Replaced', schema: z.object({ success, replacedPortId: z.string(), port: newPortBody, replacementsUsed: z.number().int(), replacementsRemaining: z.number().int() }), example: { success: true, replacedPortId: EXAMPLE_UUID, port: newPortExample, replacementsUsed: 1, replacementsRemaining: 2 } },
      ...tokenErrors, ...errors({ 404: 'PORT_NOT_FOUND', 409: ['PORT_ONLINE', 'REPLACEMENT_LIMIT', 'SESSION_EXPIRED'], 429: 'RATE_LIMITED', 503: 'NO_STOCK' }) } },
  { method: 'post', path: `${P}/manage/ports/recreate`, tag: manage, security: token, summary: 'Give a session without a port a new one (free while credit remains)', body: recreateBody, bodyExample: { country: 'US' },
    responses: { 200: { description: 'Recreated', schema: z.object({ success, port: newPortBody, expiresAt: isoDate }), example: { success: true, port: newPortExample, expiresAt: EXAMPLE_LATER } },
      ...tokenErrors, ...errors({ 409: ['PORT_EXISTS', 'SESSION_EXPIRED'], 429: 'RATE_LIMITED', 503: 'NO_STOCK' }) } },
  get(`${P}/manage/session/topup/calculate`, manage, 'Preview a top-up', {
    200: { description: 'Quote', schema: z.object({ addTrafficGB: decimal, addDurationSeconds: z.number().int(), cost: decimal, costMicro: microString, currency: z.literal('USDC'), paymentRequired: z.boolean(), newExpiresAt: isoDate }),
      example: { addTrafficGB: '0.5', addDurationSeconds: 86400, cost: '2.00', costMicro: '2000000', currency: 'USDC', paymentRequired: true, newExpiresAt: EXAMPLE_LATER } },
    ...tokenErrors, ...errors({ 400: 'VALIDATION_ERROR' }),
  }, { security: token, query: topupBody }),
  { method: 'post', path: `${P}/manage/session/topup`, tag: manage, security: ['sessionToken', 'payment'], summary: 'Add traffic (paid) or duration (free)', body: topupBody, bodyExample: { addTrafficGB: 0.5, addDurationSeconds: 86400 },
    responses: { 200: { description: 'Topped up', schema: z.object({ success, sessionId: z.string(), addedTrafficGB: decimal, addedDurationSeconds: z.number().int(), cost: decimal, expiresAt: isoDate, payment: paymentBody.nullable() }), example: { success: true, sessionId: EXAMPLE_UUID, addedTrafficGB: '0.5', addedDurationSeconds: 86400, cost: '2.00', expiresAt: EXAMPLE_LATER, payment: { ...paymentExample, amount: '2.00', amountMicro: '2000000', amountPaid: '2.00' } } },
      ...paymentResponses, ...tokenErrors, ...paymentErrors, ...errors({ 429: 'RATE_LIMITED' }) } },
  get(`${P}/session/tx/:txHash`, manage, 'The session bought or topped up by a transaction (no secrets)', { 200: { description: 'Session', schema: publicSessionBody, example: publicSessionExample }, ...errors({ 400: 'VALIDATION_ERROR', 404: 'SESSION_NOT_FOUND' }) }, { params: z.object({ txHash: txId }) }),
  get(`${P}/session/:id`, manage, 'A session by id (no secrets)', { 200: { description: 'Session', schema: publicSessionBody, example: publicSessionExample }, ...errors({ 400: 'VALIDATION_ERROR', 404: 'SESSION_NOT_FOUND' }) }, { params: z.object({ id: z.string().uuid() }) }),
  get(`${P}/sessions/wallet/:wallet`, manage, 'Sessions a wallet paid for (no secrets)', {
    200: { description: 'Sessions', schema: z.object({ wallet: z.string(), count: z.number().int(), sessions: z.array(publicSessionBody) }), example: { wallet: examples.EVM, count: 1, sessions: [publicSessionExample] } },
    ...errors({ 400: 'VALIDATION_ERROR' }),
  }, { params: z.object({ wallet }), query: walletQuery }),
  { method: 'get', path: '/.well-known/x402.json', tag: catalog, summary: 'x402 discovery document (same as /v1/x402/.well-known)', responses: { 200: { description: 'Discovery', schema: discoveryBody, example: discoveryExample } } },
  { method: 'post', path: `${P}/agents`, tag: 'x402 agents', summary: 'Register an agent by its wallet', body: agentBody, bodyExample: { wallet: examples.EVM, name: 'scraper-bot', preferences: { country: 'US' } },
    responses: { 201: { description: 'Registered', schema: agentView, example: agentExample }, 200: { description: 'Updated', schema: agentView, example: agentExample }, ...errors({ 400: 'VALIDATION_ERROR' }) } },
  get(`${P}/agents/:wallet`, 'x402 agents', 'An agent by wallet', { 200: { description: 'Agent', schema: agentView, example: agentExample }, ...errors({ 400: 'VALIDATION_ERROR', 404: 'AGENT_NOT_FOUND' }) }, { params: z.object({ wallet }) }),
  get(`${P}/pool/pricing`, pool, 'Pool gateway pricing and countries', {
    200: { description: 'Pool pricing', schema: z.object({ tiers: z.array(z.object({ tier: z.literal('mbl'), description: z.string(), perGB: z.number(), perGBMicro: microString, countries: z.array(z.object({ code: z.string(), onlineDevices: z.number().int(), onlinePeers: z.number().int() })) })), minTrafficGB: decimal, networks: z.array(network), currency: z.literal('USDC'), gateway }),
      example: { tiers: [{ tier: 'mbl', description: 'production 4G/5G modems we operate', perGB: 4, perGBMicro: '4000000', countries: [{ code: 'US', onlineDevices: 4, onlinePeers: 2 }] }], minTrafficGB: '0.1', networks: ['base'], currency: 'USDC', gateway: gatewayExample } },
  }),
  ...(['get', 'post'] as const).map((method): RouteDoc => ({
    method, path: `${P}/pool`, tag: pool, security: paid, summary: 'Buy pool gateway access (every country of the mbl tier)',
    ...(method === 'get' ? { query: poolQuery } : { body: poolQuery, bodyExample: { country: 'us', traffic: '1' } }),
    responses: {
      200: { description: 'Bought', schema: z.object({ accountId: z.string(), sessionToken: z.string(), username: z.string(), password: z.string(), tier: z.literal('mbl'), traffic: trafficBody, countries: z.array(z.string()), connection: poolConnection, payment: paymentBody }),
        example: { accountId: 'acc123', sessionToken: 'x402s_…', username: 'psx_acc123', password: 'PASS', tier: 'mbl', traffic: trafficExample, countries: ['US'], connection: poolConnectionExample, payment: paymentExample } },
      402: { description: 'Payment required', schema: paymentRequiredBody, example: { ...paymentRequiredExample, order: { tier: 'mbl', country: 'US', trafficGB: '1' } } },
      ...errors({ 400: ['VALIDATION_ERROR', 'INVALID_COUNTRY', 'TRAFFIC_TOO_LOW'], 409: 'PAYMENT_ALREADY_USED', 503: ['NO_STOCK', 'PAYMENTS_DISABLED'] }),
    },
  })),
  get(`${P}/manage/pool/credit`, pool, 'Pool traffic left and its worth', { 200: { description: 'Credit', schema: creditBody.extend({ accountId: z.string() }), example: { accountId: 'acc123', traffic: trafficExample, credit: '4.00', creditMicro: '4000000', currency: 'USDC', hasCredit: true } }, ...tokenErrors }, { security: token }),
  get(`${P}/manage/pool/usage`, pool, 'Pool usage: bytes and connections', { 200: { description: 'Usage', schema: usageBody, example: usageExample }, ...tokenErrors }, { security: token }),
  get(`${P}/manage/pool/connection`, pool, 'Connection strings (password placeholder)', { 200: { description: 'Connection', schema: poolConnection.extend({ note: z.string() }), example: { ...poolConnectionExample, note: 'the password was shown once at purchase' } }, ...tokenErrors }, { security: token }),
  { method: 'post', path: `${P}/manage/pool/regenerate`, tag: pool, security: token, summary: 'New pool password (old one stops at once)',
    responses: { 200: { description: 'New password', schema: z.object({ success, username: z.string(), password: z.string(), connection: poolConnection }), example: { success: true, username: 'psx_acc123', password: 'NEWPASS', connection: poolConnectionExample } }, ...tokenErrors } },
  { method: 'post', path: `${P}/manage/pool/topup`, tag: pool, security: ['sessionToken', 'payment'], summary: 'Add pool traffic (paid)', body: poolTopupBody, bodyExample: { addTrafficGB: 1 },
    responses: { 200: { description: 'Topped up', schema: usageBody.extend({ success, addedTrafficGB: decimal, payment: paymentBody }), example: { ...usageExample, success: true, addedTrafficGB: '1', payment: paymentExample } },
      ...paymentResponses, ...tokenErrors, ...paymentErrors } },
);
