import { expect } from 'chai';
import { fixedClock } from '../../src/clock.ts';
import { SCOPES, type Scope } from '../../domain/accounts/events.ts';
import { ADMIN_KEY, api, startTestService } from '../support/service.ts';
import { databaseKinds } from '../support/services.ts';

const admin = { 'x-admin-key': ADMIN_KEY };
const P = '0123456789abcdef01234567';

/** Every account route and the scope it needs (seed 002's table, plus billing:write and account:write). */
const MATRIX: Array<[string, string, Scope, unknown?]> = [
  ['GET', '/v1/account', 'account:read'], ['GET', '/v1/account/summary', 'account:read'], ['GET', '/v1/account/usage', 'traffic:read'],
  ['GET', '/v1/account/api-keys', 'account:read'], ['POST', '/v1/account/api-keys', 'account:write', { label: 'x', scopes: ['account:write'] }],
  ['DELETE', `/v1/account/api-keys/${P}`, 'account:write'], ['GET', '/v1/account/pool', 'account:read'], ['POST', '/v1/account/pool/password', 'account:write', {}],
  ['POST', '/v1/account/deposit?amount=10', 'billing:write'], ['GET', '/v1/traffic/balance-breakdown', 'traffic:read'],
  ['GET', '/v1/billing/pricing', 'billing:read'], ['GET', '/v1/billing/calculate-price?amount=1', 'billing:read'], ['GET', '/v1/purchases', 'billing:read'],
  ['POST', '/v1/billing/purchase-ports', 'billing:write', { quantity: 1 }], ['POST', '/v1/billing/purchase-ports-private', 'billing:write', { quantity: 1 }],
  ['POST', '/v1/billing/purchase-traffic', 'billing:write', { quantityGB: 1 }], ['POST', '/v1/billing/purchase-traffic-private', 'billing:write', { quantityGB: 1 }],
  ['GET', '/v1/countries/with-devices', 'ports:read'], ['GET', '/v1/countries/DE', 'ports:read'], ['GET', '/v1/carriers/country/DE', 'ports:read'], ['GET', '/v1/tariffs', 'ports:read'],
  ['GET', '/v1/ports', 'ports:read'], ['POST', '/v1/ports', 'ports:write', { countryId: 'DE', expiresAt: 86400 }], ['GET', `/v1/ports/${P}`, 'ports:read'],
  ['DELETE', `/v1/ports/${P}`, 'ports:write'], ['PUT', `/v1/ports/${P}/credentials`, 'ports:write', { proxyPassword: 'abcdefgh1' }],
  ['GET', `/v1/ports/${P}/os-fingerprints`, 'ports:read'], ['PATCH', `/v1/ports/${P}/os-fingerprint`, 'ports:write', { osFingerprint: '' }],
  ['POST', `/v1/ports/${P}/reconfigure`, 'ports:write', { countryId: 'DE' }], ['PUT', `/v1/ports/${P}/reconfigure`, 'ports:write', { countryId: 'DE' }],
  ['GET', `/v1/ports/${P}/status`, 'ports:read'], ['GET', `/v1/ports/${P}/ping`, 'ports:read'], ['GET', `/v1/ports/${P}/ip`, 'ports:read'], ['GET', `/v1/ports/${P}/speed-test`, 'ports:read'],
  ['POST', `/v1/ports/${P}/rotate`, 'ports:rotate'], ['GET', `/v1/ports/${P}/can-rotate`, 'ports:read'],
  ['PATCH', `/v1/ports/${P}/rotation-settings`, 'ports:write', { enabled: true }], ['PUT', `/v1/ports/${P}/rotation-settings`, 'ports:write', { enabled: true }],
  ['GET', `/v1/ports/${P}/rotation-history`, 'ports:read'],
  ['GET', '/v1/account/notifications', 'account:read'], ['PUT', '/v1/account/notifications/read-all', 'account:write'],
  ['PUT', `/v1/account/notifications/${P}/read`, 'account:write'], ['DELETE', `/v1/account/notifications/${P}`, 'account:write'],
];

for (const kind of (await databaseKinds()).slice(0, 1)) {
  describe(`account API scope matrix and concurrent purchases (${kind})`, function () {
    this.timeout(120_000);
    let service: Awaited<ReturnType<typeof startTestService>>;
    let root: Record<string, string>;
    let accountId: string;
    before(async () => {
      service = await startTestService(kind, fixedClock('2026-11-20T10:00:00.000Z'));
      const reg = await api(service.url, 'POST', '/v1/auth/register', { email: 'scopes@example.com', password: 'a long password' });
      root = { 'x-api-key': reg.body.apiKey.key };
      accountId = reg.body.user._id;
    });
    after(async () => service?.stop());

    it('answers every route × a key missing its scope with 403 naming the scope, and never 403 with it', async () => {
      const keys = new Map<Scope, string>();
      const onlyKeys = new Map<Scope, string>();
      for (const scope of SCOPES) {
        const others = SCOPES.filter((s) => s !== scope);
        keys.set(scope, (await api(service.url, 'POST', '/v1/account/api-keys', { label: `without ${scope}`, scopes: others }, root)).body.key);
      }
      for (const [method, path, scope, body] of MATRIX) {
        const without = await api(service.url, method, path, body, { 'x-api-key': keys.get(scope)! });
        expect(without.status, `${method} ${path} without ${scope}`).to.equal(403);
        expect(without.body.error, `${method} ${path}`).to.deep.include({ code: 'INSUFFICIENT_SCOPE' });
        expect(without.body.error.details.requiredScope, `${method} ${path}`).to.equal(scope);
        if (!onlyKeys.has(scope)) onlyKeys.set(scope, (await api(service.url, 'POST', '/v1/account/api-keys', { label: `only ${scope}`, scopes: [scope] }, root)).body.key);
        const only = onlyKeys.get(scope)!;
        const withIt = await api(service.url, method, path, body, { 'x-api-key': only });
        expect(withIt.status, `${method} ${path} with ${scope}: ${JSON.stringify(withIt.body)}`).to.not.be.oneOf([401, 403]);
        expect((await api(service.url, method, path, body)).status, `${method} ${path} without credentials`).to.equal(401);
      }
    });

    it('never overdraws: 10 concurrent $10 purchases on a $35 balance buy exactly 3', async () => {
      await api(service.url, 'POST', `/v1/admin/accounts/${accountId}/credits`, { amount: 35, reason: 'concurrency' }, admin);
      const before = (await api(service.url, 'GET', '/v1/account/summary', undefined, root)).body.balanceMicro;
      const results = await Promise.all(Array.from({ length: 10 }, () => api(service.url, 'POST', '/v1/billing/purchase-ports', { quantity: 1 }, root)));
      const bought = results.filter((r) => r.status === 201).length;
      const refused = results.filter((r) => r.status === 402);
      const expected = Math.floor(Number(BigInt(before)) / 10_000_000);
      expect(bought).to.equal(expected);
      expect(refused).to.have.length(10 - expected);
      for (const r of refused) expect(r.body.error.code).to.equal('INSUFFICIENT_BALANCE');
      const after = await api(service.url, 'GET', '/v1/account/summary', undefined, root);
      expect(BigInt(after.body.balanceMicro)).to.equal(BigInt(before) - BigInt(expected) * 10_000_000n);
      expect(BigInt(after.body.balanceMicro) >= 0n).to.equal(true);
    });
  });
}
