import { z } from 'zod';
import { EXAMPLE_TIME, errors } from '../openapi/common.ts';
import { accountSecurity, PORT_ID } from '../openapi/account-schemas.ts';
import { documentRoutes, type Method, type RouteDoc } from '../openapi/registry.ts';
import { calculateQuery, depositQuery, purchasesQuery, slotsBody, trafficBody } from './account-billing.ts';
import { usageQuery } from './account-overview.ts';
import { createPortBody, credentialsBody, fingerprintBody, listPortsQuery, reconfigureBody } from './account-ports.ts';
import { carriersQuery, withDevicesQuery } from './account-reference.ts';
import { historyQuery, rotationSettingsBody } from './account-rotation.ts';
import { UNSUPPORTED_ROUTES } from './account-unsupported.ts';

/** OpenAPI documentation of the account API of seed 002 beyond the core (account.docs.ts). */
const obj = z.object({}).catchall(z.unknown());
const list = z.array(obj);
const authErrors = errors({ 401: ['AUTH_REQUIRED', 'INVALID_API_KEY', 'INVALID_TOKEN'], 403: ['INSUFFICIENT_SCOPE', 'ACCOUNT_DISABLED'] });
const idParam = z.object({ id: z.string() });
const portExample = {
  _id: PORT_ID, id: PORT_ID, name: 'psx_8cc33c_91vjml', displayName: 'Proxy #1', httpPort: 7000, socksPort: 7001, serverIp: '127.0.0.1',
  proxyLogin: 'user_8cc33c91vjml', proxyPassword: null, slotType: 'shared', exclusive: false, osFingerprint: 'windows:1', suspended: false, status: 'active',
  expiresAt: 1765210246994, createdAt: 1733587846996, rotationToken: '32c2144a26f1ff1a3a0b79c4e31b7369',
  rotationSettings: { enabled: true, intervalMinutes: 30, intervalSeconds: 1800, lastRotatedAt: EXAMPLE_TIME, rotationCount: 5, matchCarrier: false, matchCity: false },
  usedTraffic: 1.5, trafficSummary: { usedMB: 1500, usedGB: 1.5, usedBytes: '1500000000' }, healthStatus: 'healthy', rotationLink: 'http://127.0.0.1:3000/rotate/32c2144a26f1ff1a3a0b79c4e31b7369',
  device: { _id: 'dev1', name: 'dongle501_de', country: { name: 'Germany', code: 'DE' }, carrier: { name: 'Vodafone D2 GmbH', brand: 'Vodafone' }, region: { name: 'Berlin' } },
};
const ok = (description: string, example: unknown, schema: z.ZodType = Array.isArray(example) ? list : obj) => ({ description, schema, example });
const route = (method: Method, path: string, tag: string, scope: string, summary: string, answer: ReturnType<typeof ok>, more: Partial<RouteDoc> = {}, codes: Record<number, string | string[]> = {}, status = 200): RouteDoc => ({
  method, path, tag, summary: `${summary}. Scope ${scope}`, security: accountSecurity,
  ...(path.includes(':id') ? { params: idParam } : {}), ...more,
  responses: { [status]: answer, ...authErrors, ...errors({ 400: 'VALIDATION_ERROR', ...codes }) },
});
const P = 'Account ports', R = 'Account rotation', B = 'Account billing', A = 'Account', REF = 'Account reference data';
const rotationSettingsExample = { enabled: true, intervalMinutes: 30, intervalSeconds: 1800, lastRotatedAt: null, rotationCount: 0, matchCarrier: false, matchCity: false, excludedDeviceIds: [], _id: PORT_ID, id: PORT_ID };
const wallet = { totalDeposited: 20, totalSpent: 14, availableBalance: 6, currency: 'USD' };

documentRoutes(
  route('get', '/v1/ports', P, 'ports:read', 'Your ports (seed 002 port object), paged as {data,total,page,limit,totalPages}', ok('Ports', { data: [portExample], total: 1, page: 1, limit: 50, totalPages: 1 }), { query: listPortsQuery }),
  route('post', '/v1/ports', P, 'ports:write', 'Create a port on a purchased slot (private = an exclusive device); proxyPassword is shown here', ok('Created', { ...portExample, proxyPassword: 'gyQ4n6hP8R3kx2aa' }), { body: createPortBody, bodyExample: { countryId: 'DE', expiresAt: 86400 } }, { 402: 'NO_AVAILABLE_SLOTS', 404: ['CARRIER_NOT_FOUND', 'CITY_NOT_FOUND'], 503: 'NO_STOCK' }, 201),
  route('get', '/v1/ports/:id', P, 'ports:read', 'One port', ok('Port', portExample), {}, { 404: 'PORT_NOT_FOUND' }),
  route('delete', '/v1/ports/:id', P, 'ports:write', 'Delete a port (its device slot and account slot are freed)', ok('Deleted', { message: 'Port deleted successfully' }), {}, { 404: 'PORT_NOT_FOUND' }),
  route('put', '/v1/ports/:id/credentials', P, 'ports:write', 'New login and/or password (a missing password is generated)', ok('Changed', { ...portExample, proxyPassword: 'newpassword123' }), { body: credentialsBody, bodyExample: { proxyLogin: 'my_login', proxyPassword: 'my_password_1' } }, { 404: 'PORT_NOT_FOUND', 409: 'PROXY_LOGIN_TAKEN' }),
  route('get', '/v1/ports/:id/os-fingerprints', P, 'ports:read', 'OS fingerprint options', ok('Options', [{ value: '', label: 'None (Default)' }, { value: 'windows:1', label: 'Windows 10' }]), {}, { 404: 'PORT_NOT_FOUND' }),
  route('patch', '/v1/ports/:id/os-fingerprint', P, 'ports:write', 'Set the OS fingerprint (recorded and handed to the modem)', ok('Port', portExample), { body: fingerprintBody, bodyExample: { osFingerprint: 'windows:1' } }, { 404: 'PORT_NOT_FOUND' }),
  ...(['post', 'put'] as const).map((m) => route(m, '/v1/ports/:id/reconfigure', P, 'ports:write', 'Move the port to another country/carrier/city', ok('Port', portExample), { body: reconfigureBody, bodyExample: { countryId: 'PL' } }, { 404: 'PORT_NOT_FOUND', 503: 'NO_STOCK' })),
  route('get', '/v1/ports/:id/status', P, 'ports:read', 'Online/offline from the device health', ok('Status', { status: 'online', isActive: true, healthStatus: 'healthy', lastChecked: EXAMPLE_TIME, expiresAt: 1765210246994 }), {}, { 404: 'PORT_NOT_FOUND' }),
  route('get', '/v1/ports/:id/ping', P, 'ports:read', 'Fetch the IP echo through the port\'s modem and time it', ok('Ping', { success: true, ip: '109.40.240.170', responseTime: 513, testTime: EXAMPLE_TIME }), {}, { 404: 'PORT_NOT_FOUND', 503: 'DEVICE_UNAVAILABLE' }),
  route('get', '/v1/ports/:id/ip', P, 'ports:read', 'The public IP the port exits from, measured through its modem', ok('IP', { publicIp: '109.40.240.170', serverIp: '127.0.0.1' }), {}, { 404: 'PORT_NOT_FOUND', 502: 'PORT_UNREACHABLE' }),
  route('get', '/v1/ports/:id/speed-test', P, 'ports:read', 'Download and upload Mbps through the modem (bounded bytes and seconds)', ok('Speed', { success: true, downloadMbps: 48.2, uploadMbps: 12.5, downloadBytes: 10000000, uploadBytes: 10000000, durationMs: 8300, testTime: EXAMPLE_TIME }), {}, { 404: 'PORT_NOT_FOUND', 502: 'PORT_UNREACHABLE', 503: 'SPEEDTEST_DISABLED' }),
  route('post', '/v1/ports/:id/rotate', R, 'ports:rotate', 'Rotate: shared switches device (5-min cooldown), private resets by airplane mode (1-min cooldown)',
    ok('Rotated', { success: true, portId: PORT_ID, oldDeviceId: 'a', newDeviceId: 'b', oldIp: '109.40.240.170', newIp: '109.40.241.55', rotationDurationMs: 2450, rotationCount: 5, message: 'Port rotated successfully' }), {}, { 404: 'PORT_NOT_FOUND', 429: 'ROTATION_COOLDOWN', 503: 'NO_STOCK' }),
  route('get', '/v1/ports/:id/can-rotate', R, 'ports:read', 'Whether the port can rotate now', ok('Answer', { canRotate: true, availableDevices: 26 }), {}, { 404: 'PORT_NOT_FOUND' }),
  ...(['patch', 'put'] as const).map((m) => route(m, '/v1/ports/:id/rotation-settings', R, 'ports:write', 'Automatic rotation: intervalSeconds 300-86400 shared, 60-86400 private', ok('Settings', rotationSettingsExample), { body: rotationSettingsBody, bodyExample: { enabled: true, intervalSeconds: 1800 } }, { 404: 'PORT_NOT_FOUND' })),
  route('get', '/v1/ports/:id/rotation-history', R, 'ports:read', 'Rotations with trigger type manual | automatic | api_token', ok('History', { rotations: [{ _id: 'r1', portId: PORT_ID, fromDeviceId: 'a', toDeviceId: 'b', fromIp: '109.40.240.170', toIp: '109.40.241.55', triggerType: 'api_token', success: true, rotationDurationMs: 2450, country: 'Germany', carrier: 'Vodafone', createdAt: EXAMPLE_TIME }], total: 1 }), { query: historyQuery }, { 404: 'PORT_NOT_FOUND' }),
  route('post', '/v1/account/deposit', B, 'billing:write', 'Deposit USD with USDC: 402 with the x402 catalog, then the same request with Payment-Signature (tx hash or x402 exact)', ok('Credited', { success: true, credited: 20, creditedMicro: '20000000', wallet }), { query: depositQuery, security: ['apiKey', 'bearer', 'payment'] }, { 402: 'PAYMENT_REQUIRED', 409: 'PAYMENT_ALREADY_USED', 503: 'PAYMENTS_DISABLED' }),
  route('get', '/v1/billing/pricing', B, 'billing:read', 'Prices, volume discounts and your tier', ok('Pricing', { currency: 'USD', traffic: { shared: { pricePerGB: 4 } }, volumeDiscounts: [{ minGB: 50, discountPercent: 10 }], yourTier: { cumulativePurchasedGB: 0, discountPercent: 0 } })),
  route('get', '/v1/billing/calculate-price', B, 'billing:read', 'Price of traffic with your volume discount', ok('Quote', { amountGB: 10, isPrivate: false, pricePerGB: 4, basePrice: 40, discountPercent: 0, discount: 0, totalPrice: 40, totalPriceMicro: '40000000', currency: 'USD', balance: 50, canAfford: true }), { query: calculateQuery }),
  ...([['purchase-ports', 'shared slots'], ['purchase-ports-private', 'private slots']] as const).map(([p, what]) => route('post', `/v1/billing/${p}`, B, 'billing:write', `Buy ${what} (monthly) from the balance`, ok('Bought', { success: true, purchaseId: 'p1', type: 'slots', category: 'shared', quantity: 1, price: 10, priceMicro: '10000000', expiresAt: EXAMPLE_TIME, wallet }), { body: slotsBody, bodyExample: { quantity: 1 } }, { 402: 'INSUFFICIENT_BALANCE' }, 201)),
  ...([['purchase-traffic', 'shared traffic'], ['purchase-traffic-private', 'private traffic']] as const).map(([p, what]) => route('post', `/v1/billing/${p}`, B, 'billing:write', `Buy ${what} (GB) from the balance, volume discounts apply`, ok('Bought', { success: true, purchaseId: 'p2', type: 'traffic', category: 'shared', quantityGB: 1, basePrice: 4, discountPercent: 0, price: 4, priceMicro: '4000000', wallet }), { body: trafficBody, bodyExample: { quantityGB: 1 } }, { 402: 'INSUFFICIENT_BALANCE' }, 201)),
  route('get', '/v1/purchases', B, 'billing:read', 'Purchase history', ok('Purchases', { data: [{ _id: 'p1', type: 'traffic', category: 'shared', quantity: 1, price: 4, createdAt: EXAMPLE_TIME }], total: 1, limit: 20, offset: 0 }), { query: purchasesQuery }),
  route('get', '/v1/traffic/balance-breakdown', B, 'traffic:read', 'Balance and traffic, with the formula (a fold of the account\'s events)', ok('Breakdown', { totalPayments: 100, adminPaymentCredits: 0, totalPurchases: 50, trafficUsedGB: 2.5, purchasedTrafficGB: 10, availableTrafficGB: 7.5, pricePerGB: 4, balance: 50, currency: 'USD', formula: 'balance = (totalPayments + adminCredits) - totalPurchases' })),
  route('get', '/v1/account', A, 'account:read', 'User, wallet, subscriptions and status flags', ok('Account', { user: { _id: 'a', email: 'user@example.com', role: 'customer', isActive: true }, wallet, subscription: {}, status: { lowBalance: false } })),
  route('get', '/v1/account/summary', A, 'account:read', 'Balance, slots, traffic and alerts', ok('Summary', { balance: 50, currency: 'USD', shared: {}, private: {}, alerts: [] })),
  route('get', '/v1/account/usage', A, 'traffic:read', 'Metered traffic by port and slot type over 7d, 30d or 90d', ok('Usage', { period: '30d', generatedAt: EXAMPLE_TIME, traffic: { shared: { totalUsedGB: 2.5, portCount: 2, byPort: [] }, combined: { totalUsedGB: 2.5, portCount: 2 } } }), { query: usageQuery }),
  route('get', '/v1/account/pool', A, 'account:read', 'How the account reaches the pool gateway (psx_<accountId>-mbl-<country>)', ok('Pool', { username: 'psx_6935a45d04523391208cc33c-mbl-us', password: 'YOUR_POOL_PASSWORD', host: '127.0.0.1', httpPort: 7000, socksPort: 7001 })),
  route('post', '/v1/account/pool/password', A, 'account:write', 'A new pool gateway password (shown once; spends shared traffic)', ok('Password', { success: true, username: 'psx_6935a45d04523391208cc33c-mbl-us', password: 'abc', http: 'http://…' })),
  route('get', '/v1/countries/with-devices', REF, 'ports:read', 'Countries with free devices (isPrivate=true counts free private devices)', ok('Countries', [{ _id: '69276bf1f547dfc948699263', name: 'Germany', code: 'DE', iso3: 'DEU', phoneCode: '+49', isActive: true, freeDeviceCount: 26 }]), { query: withDevicesQuery }),
  route('get', '/v1/countries/:id', REF, 'ports:read', 'A country by _id or ISO code', ok('Country', { _id: '69276bf1f547dfc948699263', name: 'Germany', code: 'DE', iso3: 'DEU', phoneCode: '+49', isActive: true }), {}, { 400: 'INVALID_COUNTRY' }),
  route('get', '/v1/carriers/country/:countryId', REF, 'ports:read', 'Carriers of a country (withDevice=true: only those with a free device)', ok('Carriers', [{ _id: '69276bf5f547dfc94869f2dc', name: 'Vodafone D2 GmbH', brand: 'Vodafone', mcc: '262', mnc: '02', technology: 'LTE', freeDeviceCount: 19 }]), { query: carriersQuery, params: z.object({ countryId: z.string() }) }, { 400: 'INVALID_COUNTRY' }),
  route('get', '/v1/tariffs', REF, 'ports:read', 'Tariffs (slots monthly, traffic per GB)', ok('Tariffs', [{ _id: '69414767d149cecffee56788', type: 'PortsShared', price: 10, portRange: { min: 1, max: 1000 }, category: 'shared', resourceType: 'ports', pricePerUnit: 10, unitType: 'slot', billingPeriod: 'monthly', displayName: 'Shared Port Slots (1-1000)' }])),
  { method: 'get', path: '/rotate/:token', tag: R, summary: 'Rotate with the port\'s rotation link (account ports: trigger api_token; x402 ports: see x402 sessions)', params: z.object({ token: z.string() }),
    responses: { 200: ok('Rotated', { success: true, portId: PORT_ID, rotatedAt: EXAMPLE_TIME, nextRotationAt: EXAMPLE_TIME, message: 'The port moved to another device; the new IP is live within seconds.' }), ...errors({ 404: 'ROTATION_TOKEN_INVALID', 409: 'SESSION_EXPIRED', 429: 'ROTATION_COOLDOWN', 503: 'NO_STOCK' }) } },
  ...UNSUPPORTED_ROUTES.map(([method, path]): RouteDoc => ({ method, path, tag: 'Not supported', summary: 'Not part of this product (the MCP server\'s CoinGate and support-ticket tools): 501 NOT_SUPPORTED', ...(path.includes(':id') ? { params: idParam } : {}), responses: errors({ 501: 'NOT_SUPPORTED' }) })),
);
