import { expect } from 'chai';
import { fixedClock } from '../../src/clock.ts';
import { ADMIN_KEY, api, startTestService } from '../support/service.ts';
import { databaseKinds } from '../support/services.ts';

const admin = { 'x-admin-key': ADMIN_KEY };

for (const kind of await databaseKinds()) {
  describe(`accounts: register, sign-in, API keys, admin (${kind})`, function () {
    this.timeout(60_000);
    let service: Awaited<ReturnType<typeof startTestService>>;
    const clock = fixedClock('2026-11-20T10:00:00.000Z');
    before(async () => { service = await startTestService(kind, clock, { JWT_SECRET: 'x'.repeat(40), LOGIN_MAX_FAILURES: '3' }); });
    after(async () => service?.stop());

    it('registers with a first psx_ key (all scopes), refuses the same e-mail, signs in with a JWT', async () => {
      const reg = await api(service.url, 'POST', '/v1/auth/register', { email: 'Alice@Example.com', password: 'correct horse' });
      expect(reg.status, JSON.stringify(reg.body)).to.equal(201);
      expect(reg.body.user).to.include({ email: 'alice@example.com', role: 'customer', isActive: true });
      expect(reg.body.user._id).to.match(/^[a-f0-9]{24}$/);
      expect(reg.body.apiKey.key).to.match(/^psx_[a-z0-9]{40}$/);
      expect(reg.body.apiKey.scopes).to.include.members(['ports:read', 'ports:write', 'ports:rotate', 'billing:read', 'billing:write', 'traffic:read', 'account:read']);
      const dup = await api(service.url, 'POST', '/v1/auth/register', { email: 'alice@example.com ', password: 'another one' });
      expect(dup.status).to.equal(409);
      expect(dup.body.error.code).to.equal('EMAIL_TAKEN');
      expect((await api(service.url, 'POST', '/v1/auth/register', { email: 'not-an-email', password: 'correct horse' })).status).to.equal(400);
      expect((await api(service.url, 'POST', '/v1/auth/register', { email: 'b@example.com', password: 'short' })).status).to.equal(400);

      const signin = await api(service.url, 'POST', '/v1/login/signin', { email: 'alice@example.com', password: 'correct horse' });
      expect(signin.status).to.equal(200);
      expect(signin.body.user).to.deep.equal({ _id: reg.body.user._id, email: 'alice@example.com', role: 'customer' });
      const bearer = { authorization: `Bearer ${signin.body.access_token}` };
      const keys = await api(service.url, 'GET', '/v1/account/api-keys', undefined, bearer);
      expect(keys.status).to.equal(200);
      expect(keys.body.data).to.have.length(1);
      expect(keys.body.data[0]).to.not.have.property('key');
      expect(keys.body.data[0].prefix).to.equal(reg.body.apiKey.key.slice(0, 12));
      // the same key works as X-API-Key and as Bearer
      expect((await api(service.url, 'GET', '/v1/account/api-keys', undefined, { 'x-api-key': reg.body.apiKey.key })).status).to.equal(200);
      expect((await api(service.url, 'GET', '/v1/account/api-keys', undefined, { authorization: `Bearer ${reg.body.apiKey.key}` })).status).to.equal(200);
      expect((await api(service.url, 'GET', '/v1/account/api-keys')).body.error.code).to.equal('AUTH_REQUIRED');
      expect((await api(service.url, 'GET', '/v1/account/api-keys', undefined, { authorization: 'Bearer nonsense' })).body.error.code).to.equal('INVALID_TOKEN');
      // a token past its expiry is refused
      clock.advance(8 * 86400_000);
      expect((await api(service.url, 'GET', '/v1/account/api-keys', undefined, bearer)).status).to.equal(401);
    });

    it('rate-limits failed sign-ins per e-mail', async () => {
      await api(service.url, 'POST', '/v1/auth/register', { email: 'carol@example.com', password: 'carols password' });
      for (let i = 0; i < 3; i++) expect((await api(service.url, 'POST', '/v1/login/signin', { email: 'carol@example.com', password: 'wrong' })).status).to.equal(403);
      const blocked = await api(service.url, 'POST', '/v1/login/signin', { email: 'carol@example.com', password: 'carols password' });
      expect(blocked.status).to.equal(429);
      expect(blocked.body.error.code).to.equal('TOO_MANY_LOGIN_ATTEMPTS');
      expect((await api(service.url, 'POST', '/v1/login/signin', { email: 'nobody@example.com', password: 'x' })).body.error.code).to.equal('INVALID_CREDENTIALS');
    });

    it('mints scoped keys within its own scopes; a missing scope is 403 naming it; a revoked key stops at once', async () => {
      const reg = await api(service.url, 'POST', '/v1/auth/register', { email: 'dave@example.com', password: 'daves password' });
      const root = { 'x-api-key': reg.body.apiKey.key };
      const ro = await api(service.url, 'POST', '/v1/account/api-keys', { label: 'read only', scopes: ['ports:read'] }, root);
      expect(ro.status).to.equal(201);
      expect(ro.body).to.include({ label: 'read only' });
      expect(ro.body.scopes).to.deep.equal(['ports:read']);
      const roKey = { 'x-api-key': ro.body.key };
      const denied = await api(service.url, 'GET', '/v1/account/api-keys', undefined, roKey);
      expect(denied.status).to.equal(403);
      expect(denied.body.error).to.deep.include({ code: 'INSUFFICIENT_SCOPE' });
      expect(denied.body.error.details.requiredScope).to.equal('account:read');
      const listed = await api(service.url, 'GET', '/v1/account/api-keys', undefined, root);
      expect(listed.body.data.map((k: any) => k.label)).to.deep.equal(['Default', 'read only']);

      const mid = await api(service.url, 'POST', '/v1/account/api-keys', { label: 'mid', scopes: ['account:read', 'account:write'] }, root);
      const escalate = await api(service.url, 'POST', '/v1/account/api-keys', { label: 'x', scopes: ['ports:write'] }, { 'x-api-key': mid.body.key });
      expect(escalate.status).to.equal(403);

      const revoked = await api(service.url, 'DELETE', `/v1/account/api-keys/${mid.body.id}`, undefined, root);
      expect(revoked.status).to.equal(200);
      const after = await api(service.url, 'GET', '/v1/account/api-keys', undefined, { 'x-api-key': mid.body.key });
      expect(after.status).to.equal(401);
      expect(after.body.error.code).to.equal('INVALID_API_KEY');
    });

    it('admin: create accounts with a role, read, change role / deactivate, grant credits', async () => {
      expect((await api(service.url, 'POST', '/v1/admin/accounts', { email: 'r@example.com' })).status).to.equal(401);
      const created = await api(service.url, 'POST', '/v1/admin/accounts', { email: 'reseller@example.com', role: 'reseller' }, admin);
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
      expect(created.body.user).to.include({ role: 'reseller' });
      const id = created.body.user._id;
      const credited = await api(service.url, 'POST', `/v1/admin/accounts/${id}/credits`, { amount: 12.5, reason: 'welcome' }, admin);
      expect(credited.status).to.equal(201);
      expect(credited.body.wallet).to.include({ availableBalance: 12.5, availableBalanceMicro: '12500000', adminCredits: 12.5 });
      expect(credited.body.credits[0]).to.include({ amountMicro: '12500000', reason: 'welcome', grantedBy: 'admin' });
      expect((await api(service.url, 'POST', `/v1/admin/accounts/${id}/credits`, { amount: -20, reason: 'oops' }, admin)).body.error.code).to.equal('CREDIT_EXCEEDS_BALANCE');
      expect((await api(service.url, 'POST', `/v1/admin/accounts/${id}/credits`, { amount: '0.0000001', reason: 'x' }, admin)).status).to.equal(400);

      const key = { 'x-api-key': created.body.apiKey.key };
      expect((await api(service.url, 'GET', '/v1/account/api-keys', undefined, key)).status).to.equal(200);
      const off = await api(service.url, 'PATCH', `/v1/admin/accounts/${id}`, { isActive: false, role: 'customer' }, admin);
      expect(off.body.user).to.include({ isActive: false, role: 'customer' });
      expect((await api(service.url, 'GET', '/v1/account/api-keys', undefined, key)).body.error.code).to.equal('ACCOUNT_DISABLED');
      expect((await api(service.url, 'GET', `/v1/admin/accounts/${'0'.repeat(24)}`, undefined, admin)).status).to.equal(404);
      // an admin account's own credentials open the admin routes too
      const boss = await api(service.url, 'POST', '/v1/admin/accounts', { email: 'boss@example.com', role: 'admin' }, admin);
      expect((await api(service.url, 'GET', `/v1/admin/accounts/${id}`, undefined, { 'x-api-key': boss.body.apiKey.key })).status).to.equal(200);
      expect((await api(service.url, 'GET', `/v1/admin/accounts/${id}`, undefined, { 'x-api-key': created.body.apiKey.key })).status).to.equal(403);
    });
  });
}
