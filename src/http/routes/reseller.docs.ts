import { z } from 'zod';
import { EXAMPLE_TIME, errors, isoDate } from '../openapi/common.ts';
import { accountSecurity } from '../openapi/account-schemas.ts';
import { documentRoutes } from '../openapi/registry.ts';
import { carriersQuery, citiesQuery, facetsQuery, sessionsQuery } from './reseller-gateway.ts';
import { auditQuery, createPoolKeyBody, keyAuditQuery, topUpPoolKeyBody, updatePoolKeyBody } from './reseller-pool-keys.ts';

/** OpenAPI documentation of the reseller surface: pak_ keys, their audit log, stock, incidents, live sessions. */
const keys = 'Reseller pool-access keys';
const feeds = 'Pool gateway feeds';
const keyBody = z.object({
  id: z.string(), key: z.string(), label: z.string(), enabled: z.boolean(), trafficCapGB: z.number().nullable(), trafficUsedMB: z.number(), trafficUsedGB: z.number(),
  trafficUsedBytes: z.string(), qualityTier: z.enum(['safe', 'standard']), expiresAt: isoDate.nullable(), isExpired: z.boolean(), suspendedReason: z.string().nullable(),
  lastUsedAt: isoDate.nullable(), createdAt: z.number().int(), updatedAt: z.number().int(), proxyUsername: z.string(),
}).meta({ id: 'PoolAccessKey' });
const keyExample = {
  id: '6752f0a1c3d4e5f6a7b8c9d0', key: 'pak_0123456789abcdef01234567', label: 'customer:alice', enabled: true, trafficCapGB: 10, trafficUsedMB: 12.5, trafficUsedGB: 0.0125,
  trafficUsedBytes: '12500000', qualityTier: 'standard', expiresAt: null, isExpired: false, suspendedReason: null, lastUsedAt: EXAMPLE_TIME, createdAt: 1764590400000, updatedAt: 1764590400000, proxyUsername: 'psx_6752f0a1c3d4e5f6a7b8c9d1',
};
const auditBody = z.object({
  id: z.string(), pakId: z.string().optional(), action: z.string(), ip: z.string().nullable(), userAgent: z.string().nullable(), requestId: z.string().nullable(),
  authMethod: z.enum(['jwt', 'apiKey', 'gateway', 'system']), metadata: z.record(z.string(), z.unknown()), createdAt: isoDate,
}).meta({ id: 'PoolAccessKeyAuditEvent' });
const auditExample = { id: '019ad6b2-6c1e-7a3b-9f10-2b8c4d5e6f70', pakId: keyExample.id, action: 'create', ip: '203.0.113.7', userAgent: 'sdk', requestId: 'req-1', authMethod: 'apiKey', metadata: { label: 'customer:alice', trafficCapGB: 10, expiresAt: null }, createdAt: EXAMPLE_TIME };
const idParam = z.object({ id: z.string() });
const idempotency = z.object({ 'idempotency-key': z.string().regex(/^[A-Za-z0-9_-]{8,128}$/).optional() });
const authErrors = errors({ 401: ['AUTH_REQUIRED', 'INVALID_API_KEY', 'INVALID_TOKEN'], 403: ['ROLE_REQUIRED', 'ACCOUNT_DISABLED'], 429: 'RATE_LIMITED' });
const writeErrors = errors({ 400: ['VALIDATION_ERROR', 'INVALID_CAP', 'CAP_OVER_CEILING', 'CAP_REQUIRED', 'EXPIRY_IN_PAST', 'INVALID_IDEMPOTENCY_KEY'], 404: 'POOL_KEY_NOT_FOUND', 422: 'IDEMPOTENCY_KEY_REUSED' });
const one = (description: string) => ({ 200: { description, schema: keyBody, example: keyExample } });
const stockBody = z.object({ pools: z.object({ mbl: z.record(z.string(), z.number()), peer: z.record(z.string(), z.number()) }), totals: z.object({ mbl: z.number(), peer: z.number(), all: z.number() }), generatedAt: isoDate });
const carrierBody = z.object({ id: z.string(), asn: z.number().nullable(), name: z.string(), ipType: z.string(), pool: z.string(), count: z.number() });
const carrierExample = { id: 'deutschetelekomag|residential', asn: 3320, name: 'Deutsche Telekom AG', ipType: 'residential', pool: 'peer', count: 1 };
const carrierCountry = z.object({ total: z.number(), other: z.number(), carriers: z.array(carrierBody) });
const cityBody = z.object({ city: z.string(), label: z.string(), count: z.number() });
const incidentBody = z.object({ id: z.string(), severity: z.enum(['info', 'minor', 'major', 'critical']), title: z.string(), description: z.string().optional(), startedAt: isoDate, resolvedAt: isoDate.optional(), affects: z.array(z.string()) });
const sessionBody = z.object({
  sessionKey: z.string(), accountId: z.string(), pakKeyId: z.string(), sessionId: z.string(), pool: z.string(), country: z.string(), carrier: z.string(), currentIp: z.string(),
  createdAt: z.number(), lastActivityAt: z.number(), expiresAt: z.number(), requestCount: z.number(), bytesIn: z.number(), bytesOut: z.number(), endpointId: z.string(),
  rotation: z.string(), ttl: z.number(), proxyUrl: z.string(), socks5Url: z.string(), isSynthesizedSid: z.boolean(),
});
const sessionExample = {
  sessionKey: `${keyExample.id}:alice_session1`, accountId: keyExample.proxyUsername, pakKeyId: keyExample.id, sessionId: 'alice_session1', pool: 'mbl', country: 'us', carrier: 'T-Mobile USA',
  currentIp: '100.64.0.1', createdAt: 1764590400000, lastActivityAt: 1764590460000, expiresAt: 1764594000000, requestCount: 3, bytesIn: 120000, bytesOut: 900, endpointId: '019ad6b2-6c1e-7a3b-9f10-2b8c4d5e6f71',
  rotation: 'sticky', ttl: 3540, proxyUrl: `http://${keyExample.proxyUsername}-mbl-us-sid-alice_session1-rot-sticky:<PASSWORD>@gw.example:7000`, socks5Url: `socks5://${keyExample.proxyUsername}-mbl-us-sid-alice_session1-rot-sticky:<PASSWORD>@gw.example:7001`, isSynthesizedSid: false,
};
const closed = z.object({ success: z.boolean(), message: z.string() });

documentRoutes(
  { method: 'post', path: '/v1/reseller/pool-keys', tag: keys, security: accountSecurity, headers: idempotency, summary: 'Mint a pak_ key (reseller role). Idempotency-Key: the same key within 24 h answers the first key; another body → 422', body: createPoolKeyBody, bodyExample: { label: 'customer:alice', trafficCapGB: 10 },
    responses: { 201: { description: 'Minted', schema: keyBody, example: keyExample }, ...authErrors, ...writeErrors } },
  { method: 'get', path: '/v1/reseller/pool-keys', tag: keys, security: accountSecurity, summary: 'The reseller\'s keys with usage',
    responses: { 200: { description: 'Keys', schema: z.array(keyBody), example: [keyExample] }, ...authErrors } },
  { method: 'get', path: '/v1/reseller/pool-keys/audit', tag: keys, security: accountSecurity, query: auditQuery, summary: 'Audit log across the reseller\'s keys, newest first (90 days; limit 1–500)',
    responses: { 200: { description: 'Events', schema: z.array(auditBody), example: [auditExample] }, ...authErrors, ...errors({ 400: 'VALIDATION_ERROR' }) } },
  { method: 'get', path: '/v1/reseller/pool-keys/:id', tag: keys, security: accountSecurity, params: idParam, summary: 'One key (another reseller\'s key is 404)',
    responses: { ...one('Key'), ...authErrors, ...errors({ 404: 'POOL_KEY_NOT_FOUND' }) } },
  { method: 'patch', path: '/v1/reseller/pool-keys/:id', tag: keys, security: accountSecurity, params: idParam, summary: 'Change label, enabled, cap, tier or expiry; disabling cuts its tunnels at once', body: updatePoolKeyBody, bodyExample: { enabled: false },
    responses: { ...one('Updated'), ...authErrors, ...writeErrors } },
  { method: 'delete', path: '/v1/reseller/pool-keys/:id', tag: keys, security: accountSecurity, params: idParam, summary: 'Delete a key; its tunnels close at once',
    responses: { 200: { description: 'Deleted', schema: z.object({ message: z.string(), id: z.string() }), example: { message: 'pool access key deleted; its tunnels were closed', id: keyExample.id } }, ...authErrors, ...errors({ 404: 'POOL_KEY_NOT_FOUND' }) } },
  { method: 'post', path: '/v1/reseller/pool-keys/:id/topup', tag: keys, security: accountSecurity, params: idParam, headers: idempotency, summary: 'Add GB and/or days (expiresAt = max(now, current) + days); does not re-enable a suspended key', body: topUpPoolKeyBody, bodyExample: { addTrafficGB: 5, extendDays: 30 },
    responses: { ...one('Topped up'), ...authErrors, ...writeErrors } },
  { method: 'post', path: '/v1/reseller/pool-keys/:id/regenerate', tag: keys, security: accountSecurity, params: idParam, headers: idempotency, summary: 'A new secret; the old one and its tunnels stop at once',
    responses: { ...one('Regenerated'), ...authErrors, ...writeErrors } },
  { method: 'post', path: '/v1/reseller/pool-keys/:id/reveal', tag: keys, security: accountSecurity, params: idParam, summary: 'The key with its secret, recorded in the audit log',
    responses: { ...one('Revealed'), ...authErrors, ...errors({ 404: 'POOL_KEY_NOT_FOUND' }) } },
  { method: 'get', path: '/v1/reseller/pool-keys/:id/audit', tag: keys, security: accountSecurity, params: idParam, query: keyAuditQuery, summary: 'Audit log of one key (limit 1–200)',
    responses: { 200: { description: 'Events', schema: z.array(auditBody), example: [{ ...auditExample, pakId: undefined }] }, ...authErrors, ...errors({ 400: 'VALIDATION_ERROR', 404: 'POOL_KEY_NOT_FOUND' }) } },
  { method: 'get', path: '/v1/gateway/pool/stock', tag: feeds, summary: 'Online endpoints per pool and country: pool modems and the peers online now (public, cached 30 s)',
    responses: { 200: { description: 'Stock', schema: stockBody, example: { pools: { mbl: { us: 2 }, peer: {} }, totals: { mbl: 2, peer: 0, all: 2 }, generatedAt: EXAMPLE_TIME } } } },
  { method: 'get', path: '/v1/gateway/pool/stock/carriers', tag: feeds, query: carriersQuery, summary: 'Routable endpoints by carrier/ASN (public, cached 30 s): of one country, or without country the whole catalogue keyed by country code. pool: peer (default), mbl or all',
    responses: { 200: { description: 'Carriers of a country, or of every country', schema: z.union([carrierCountry.extend({ pool: z.string(), updatedAt: isoDate, country: z.string() }), z.object({ pool: z.string(), updatedAt: isoDate, countries: z.record(z.string(), carrierCountry) })]),
      example: { pool: 'all', updatedAt: EXAMPLE_TIME, country: 'us', total: 3, other: 0, carriers: [carrierExample, { id: 'tmobileusa|mobile', asn: null, name: 'T-Mobile USA', ipType: 'mobile', pool: 'mbl', count: 2 }] } }, ...errors({ 400: 'VALIDATION_ERROR' }) } },
  { method: 'get', path: '/v1/gateway/pool/stock/cities', tag: feeds, query: citiesQuery, summary: 'Routable endpoints of one country by city and region (public, cached 30 s). Cities come from the modems\' registration; peers have none here (withoutCity)',
    responses: { 200: { description: 'Cities and regions', schema: z.object({ country: z.string(), pool: z.string(), updatedAt: isoDate, cities: z.array(cityBody), regions: z.array(z.object({ region: z.string(), count: z.number() })), total: z.number(), withoutCity: z.number() }),
      example: { country: 'US', pool: 'mbl', updatedAt: EXAMPLE_TIME, cities: [{ city: 'losangeles', label: 'Los Angeles', count: 2 }], regions: [{ region: 'california', count: 2 }], total: 2, withoutCity: 0 } }, ...errors({ 400: 'VALIDATION_ERROR' }) } },
  { method: 'get', path: '/v1/gateway/pool/stock/facets', tag: feeds, query: facetsQuery, summary: 'City, state and carrier pickers of one country, each narrowed by the other selections (carrier: an ASN, a facet id or a name); the counts by all of them (public, cached 30 s)',
    responses: { 200: { description: 'Facets', schema: z.object({
      country: z.string(), pool: z.string(), updatedAt: isoDate, cities: z.array(cityBody), states: z.array(z.object({ state: z.string(), count: z.number() })), carriers: z.array(carrierBody),
      total: z.number(), other: z.number(), ipTypes: z.object({ mobile: z.number(), residential: z.number(), datacenter: z.number(), unclassified: z.number() }), withoutCity: z.number(), cityIneligible: z.number(),
    }), example: { country: 'US', pool: 'all', updatedAt: EXAMPLE_TIME, cities: [{ city: 'losangeles', label: 'Los Angeles', count: 2 }], states: [{ state: 'california', count: 2 }], carriers: [carrierExample], total: 3, other: 0, ipTypes: { mobile: 2, residential: 1, datacenter: 0, unclassified: 0 }, withoutCity: 0, cityIneligible: 1 } }, ...errors({ 400: 'VALIDATION_ERROR' }) } },
  { method: 'get', path: '/v1/gateway/incidents', tag: feeds, summary: 'Modem offline spans (open or ended in 24 h) and degraded countries (public, cached 30 s)',
    responses: { 200: { description: 'Incidents', schema: z.object({ incidents: z.array(incidentBody), generatedAt: isoDate }), example: { incidents: [{ id: 'degraded-us', severity: 'major', title: 'US pool degraded', description: '1 of 3 modems online', startedAt: EXAMPLE_TIME, affects: ['mbl-us'] }], generatedAt: EXAMPLE_TIME } } } },
  { method: 'get', path: '/v1/gateway/pool/my-sessions', tag: feeds, security: accountSecurity, query: sessionsQuery, summary: 'Live sessions of the caller\'s pak_ keys (pakId: a key id or pak_ value): -sid- sessions, and connections without a sid as synthesized auto_… sessions (isSynthesizedSid, 5 min after their last activity). Scope ports:read',
    responses: { 200: { description: 'Sessions', schema: z.object({ sessions: z.array(sessionBody), count: z.number() }), example: { sessions: [sessionExample], count: 1 } }, ...errors({ 401: 'AUTH_REQUIRED', 403: 'INSUFFICIENT_SCOPE', 404: 'POOL_KEY_NOT_FOUND' }) } },
  { method: 'delete', path: '/v1/gateway/pool/my-sessions/:sessionKey', tag: feeds, security: accountSecurity, params: z.object({ sessionKey: z.string() }), query: sessionsQuery, summary: 'Close one session (sticky or synthesized): drops its record and cuts its live tunnels. Scope ports:write',
    responses: { 200: { description: 'Closed (success false when not found)', schema: closed, example: { success: true, message: 'Session closed; its tunnels were cut' } }, ...errors({ 401: 'AUTH_REQUIRED', 403: 'INSUFFICIENT_SCOPE' }) } },
  { method: 'delete', path: '/v1/gateway/pool/my-sessions', tag: feeds, security: accountSecurity, query: sessionsQuery, summary: 'Close every session (of one key with pakId). Scope ports:write',
    responses: { 200: { description: 'Closed', schema: closed.extend({ count: z.number() }), example: { success: true, message: '2 session(s) closed', count: 2 } }, ...errors({ 401: 'AUTH_REQUIRED', 403: 'INSUFFICIENT_SCOPE' }) } },
);
