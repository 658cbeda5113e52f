import { expect } from 'chai';
import { fixedClock } from '../../src/clock.ts';
import { ADMIN_KEY, api, startTestService } from '../support/service.ts';
import { databaseKinds } from '../support/services.ts';

const admin = { 'x-admin-key': ADMIN_KEY };
const device = (over: Record<string, unknown> = {}) => ({
  name: 'modem-001',
  countryCode: 'US',
  carrier: { name: 'T-Mobile USA', brand: 'T-Mobile', mcc: '310', mnc: '260', technology: 'LTE' },
  city: 'New York',
  upstream: 'http://modem:secret@127.0.0.1:18080',
  ...over,
});

for (const kind of await databaseKinds()) {
  describe(`fleet API (${kind})`, () => {
    let service: Awaited<ReturnType<typeof startTestService>>;
    const clock = fixedClock('2026-11-20T10:00:00.000Z');
    before(async () => { service = await startTestService(kind, clock); });
    after(async () => service?.stop());

    it('registers a device that GET /v1/x402/countries shows as soon as the POST returns', async () => {
      const created = await api(service.url, 'POST', '/v1/admin/devices', device(), admin);
      expect(created.status).to.equal(201);
      expect(created.body).to.include({ name: 'modem-001', countryCode: 'US', status: 'online', slots: 1, registeredAt: '2026-11-20T10:00:00.000Z' });
      expect(created.body.upstream).to.equal('http://modem:****@127.0.0.1:18080');
      expect(created.body.id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);

      const countries = await api(service.url, 'GET', '/v1/x402/countries');
      expect(countries.status).to.equal(200);
      expect(countries.body).to.deep.include({ code: 'US', name: 'United States', availableDevices: 1, tier: 'both' });
    });

    it('counts per country and carrier, by tier, and drops offline and retired devices', async () => {
      const de1 = (await api(service.url, 'POST', '/v1/admin/devices', device({ countryCode: 'de', carrier: { name: 'Vodafone D2 GmbH', brand: 'Vodafone' }, tiers: ['shared'] }), admin)).body;
      const de2 = (await api(service.url, 'POST', '/v1/admin/devices', device({ countryCode: 'DE', carrier: { name: 'Vodafone D2 GmbH', brand: 'Vodafone' }, tiers: ['shared'] }), admin)).body;
      await api(service.url, 'POST', '/v1/admin/devices', device({ countryCode: 'DE', carrier: { name: 'Telefonica Germany', brand: 'O2' }, tiers: ['shared'] }), admin);

      let de = (await api(service.url, 'GET', '/v1/x402/countries')).body.find((c: any) => c.code === 'DE');
      expect(de).to.deep.equal({ code: 'DE', name: 'Germany', availableDevices: 3, tier: 'shared' });
      expect((await api(service.url, 'GET', '/v1/x402/countries?tier=private')).body.map((c: any) => c.code)).to.not.include('DE');

      const offline = await api(service.url, 'POST', `/v1/admin/devices/${de1.id}/health`, { online: false, latencyMs: 900 }, admin);
      expect(offline.status).to.equal(200);
      expect(offline.body).to.include({ status: 'offline', latencyMs: 900 });
      const retired = await api(service.url, 'DELETE', `/v1/admin/devices/${de2.id}`, undefined, admin);
      expect(retired.body.status).to.equal('retired');

      de = (await api(service.url, 'GET', '/v1/x402/countries')).body.find((c: any) => c.code === 'DE');
      expect(de.availableDevices).to.equal(1);
      const carriers = (await api(service.url, 'GET', '/v1/x402/carriers?country=de')).body;
      expect(carriers).to.deep.equal([
        { name: 'Telefonica Germany', brand: 'O2', mcc: null, mnc: null, technology: null, freeDeviceCount: 1 },
        { name: 'Vodafone D2 GmbH', brand: 'Vodafone', mcc: null, mnc: null, technology: null, freeDeviceCount: 0 },
      ]);

      const back = await api(service.url, 'POST', `/v1/admin/devices/${de1.id}/health`, { online: true, ip: '100.64.1.2' }, admin);
      expect(back.body).to.include({ status: 'online', ip: '100.64.1.2' });
      expect((await api(service.url, 'GET', `/v1/admin/devices/${de1.id}`)).status).to.equal(401);
      expect((await api(service.url, 'GET', `/v1/admin/devices/${de1.id}`, undefined, admin)).body.status).to.equal('online');
    });

    describe('errors in one shape, never a 500', () => {
      const cases: Array<[string, string, string, unknown, Record<string, string>, number, string]> = [
        ['no admin key', 'POST', '/v1/admin/devices', device(), {}, 401, 'ADMIN_KEY_REQUIRED'],
        ['wrong admin key', 'POST', '/v1/admin/devices', device(), { 'x-admin-key': 'nope-nope-nope-nope' }, 401, 'ADMIN_KEY_INVALID'],
        ['malformed JSON', 'POST', '/v1/admin/devices', '{"name":', admin, 400, 'INVALID_JSON'],
        ['missing fields', 'POST', '/v1/admin/devices', { name: 'x' }, admin, 400, 'VALIDATION_ERROR'],
        ['unknown field', 'POST', '/v1/admin/devices', device({ colour: 'red' }), admin, 400, 'VALIDATION_ERROR'],
        ['unknown country', 'POST', '/v1/admin/devices', device({ countryCode: 'XX' }), admin, 400, 'INVALID_COUNTRY'],
        ['bad upstream', 'POST', '/v1/admin/devices', device({ upstream: 'ftp://x:21' }), admin, 400, 'INVALID_UPSTREAM'],
        ['health of unknown device', 'POST', '/v1/admin/devices/nope/health', { online: true }, admin, 404, 'DEVICE_NOT_FOUND'],
        ['health with bad ip', 'POST', '/v1/admin/devices/nope/health', { online: true, ip: '999.1.1.1' }, admin, 400, 'VALIDATION_ERROR'],
        ['bad device id', 'DELETE', '/v1/admin/devices/a%20b', undefined, admin, 400, 'VALIDATION_ERROR'],
        ['bad tier', 'GET', '/v1/x402/countries?tier=gold', undefined, {}, 400, 'VALIDATION_ERROR'],
        ['carriers without country', 'GET', '/v1/x402/carriers', undefined, {}, 400, 'VALIDATION_ERROR'],
        ['unknown route', 'GET', '/v1/nothing', undefined, {}, 404, 'NOT_FOUND'],
      ];
      for (const [name, method, path, body, headers, status, code] of cases) {
        it(`${name} → ${status} ${code}`, async () => {
          const res = await api(service.url, method, path, body, headers);
          expect(res.status).to.equal(status);
          expect(res.body.error.code).to.equal(code);
          expect(res.body.error.message).to.be.a('string').and.not.empty;
          expect(res.body.error.details).to.be.an('object');
          expect(res.body.requestId).to.equal(res.headers.get('x-request-id'));
        });
      }

      it('refuses to retire a device twice with 409', async () => {
        const d = (await api(service.url, 'POST', '/v1/admin/devices', device(), admin)).body;
        expect((await api(service.url, 'DELETE', `/v1/admin/devices/${d.id}`, undefined, admin)).status).to.equal(200);
        const again = await api(service.url, 'DELETE', `/v1/admin/devices/${d.id}`, undefined, admin);
        expect(again.status).to.equal(409);
        expect(again.body.error.code).to.equal('DEVICE_RETIRED');
      });
    });

    it('reports health in seed 003 shape', async () => {
      const res = await api(service.url, 'GET', '/health');
      expect(res.status).to.equal(200);
      expect(res.body).to.include({ status: 'healthy', redis: 'in-process', eventstore: kind, version: '0.1.0' });
      expect(res.body.postgres).to.equal(kind === 'pglite' ? 'embedded' : 'connected');
    });
  });
}

describe('read-your-writes with the projector in another process', () => {
  it('an api-only service waits on the stored checkpoints of a projector it does not run', async function () {
    const { createTestDatabase } = await import('../support/services.ts');
    const { loadConfig } = await import('../../src/config.ts');
    const { startService } = await import('../../src/server.ts');
    const { PostgresEventStore } = await import('../../adapters/eventstore/postgres.ts');
    const { Projector } = await import('../../src/projector/projector.ts');
    const { projections } = await import('../../projections/index.ts');
    const pino = (await import('pino')).default;
    const kind = (await databaseKinds())[0]!;
    const t = await createTestDatabase(kind);
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', ADMIN_API_KEY: ADMIN_KEY, ROLES: 'api' });
    const service = await startService(config, fixedClock('2026-11-20T10:00:00Z'), pino({ level: 'silent' }), { database: t.database });
    // the "other process": its own store and projector over the same database
    const store = await PostgresEventStore.open(t.database);
    const projector = new Projector(t.database.db, store, projections);
    await projector.start();
    try {
      const created = await api(service.url!, 'POST', '/v1/admin/devices', device({ countryCode: 'FR' }), admin);
      expect(created.status).to.equal(201);
      const countries = await api(service.url!, 'GET', '/v1/x402/countries');
      expect(countries.body).to.deep.equal([{ code: 'FR', name: 'France', availableDevices: 1, tier: 'both' }]);
    } finally {
      await projector.stop();
      await store.close();
      await service.stop();
      await t.dispose();
    }
  });
});
