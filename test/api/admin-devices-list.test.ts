import { expect } from 'chai';
import { fleetDecider } from '../../domain/fleet/decide.ts';
import { deviceStreamId } from '../../domain/fleet/events.ts';
import { fixedClock } from '../../src/clock.ts';
import { handleCommand } from '../../src/commands/handle.ts';
import { ADMIN_KEY, api, startTestService } from '../support/service.ts';
import { databaseKinds } from '../support/services.ts';

const admin = { 'x-admin-key': ADMIN_KEY };
const device = (name: string, over: Record<string, unknown> = {}) => ({
  name, countryCode: 'US', carrier: { name: 'T-Mobile USA', brand: 'T-Mobile' }, upstream: 'http://modem:secret@127.0.0.1:18080', slots: 2, ...over,
});

/** Issue #8 item 8: GET /v1/admin/devices for operators (filters, cursor pages, slots, ports, last health). */
for (const kind of await databaseKinds()) {
  describe(`GET /v1/admin/devices (${kind})`, () => {
    let service: Awaited<ReturnType<typeof startTestService>>;
    const clock = fixedClock('2026-11-20T10:00:00.000Z');
    const ids: Record<string, string> = {};
    const allocate = async (name: string, portId: string, tier: 'shared' | 'private', holderKind: 'session' | 'account' = 'session') => {
      const h = await handleCommand(service.infra, fleetDecider, deviceStreamId(ids[name]!), {
        type: 'AllocateSlot', data: { deviceId: ids[name]!, portId, sessionId: `holder-${portId}`, holderKind, tier },
      }, { actor: 'test', correlationId: 'test' });
      await service.infra.projector.waitFor(h.position, undefined, 5000);
    };
    const list = async (query = '') => api(service.url, 'GET', `/v1/admin/devices${query}`, undefined, admin);
    const names = (body: any) => body.devices.map((d: any) => d.name);

    before(async () => {
      service = await startTestService(kind, clock);
      for (const [name, over] of [
        ['us-shared', {}], ['us-private', {}], ['us-idle', {}], ['us-offline', {}], ['de-1', { countryCode: 'DE', tiers: ['shared'] }], ['us-retired', {}],
      ] as const) {
        clock.advance(1000);
        ids[name] = (await api(service.url, 'POST', '/v1/admin/devices', device(name, over), admin)).body.id;
      }
      await allocate('us-shared', 'p1', 'shared');
      await allocate('us-private', 'p2', 'private');
      await allocate('de-1', 'p3', 'shared', 'account');
      await api(service.url, 'POST', `/v1/admin/devices/${ids['us-offline']}/health`, { online: false, latencyMs: 900 }, admin);
      await api(service.url, 'POST', `/v1/admin/devices/${ids['us-idle']}/health`, { online: true, latencyMs: 80, ip: '100.64.0.9' }, admin);
      await api(service.url, 'DELETE', `/v1/admin/devices/${ids['us-retired']}`, undefined, admin);
    });
    after(async () => service?.stop());

    it('lists every device with its slots, the ports it holds and its last health', async () => {
      const res = await list();
      expect(res.status).to.equal(200);
      expect(names(res.body)).to.deep.equal(['us-shared', 'us-private', 'us-idle', 'us-offline', 'de-1', 'us-retired']);
      expect(res.body.nextCursor).to.equal(null);
      const byName = Object.fromEntries(res.body.devices.map((d: any) => [d.name, d]));
      expect(byName['us-shared']).to.deep.include({ slots: 2, allocatedSlots: 1, freeSlots: { shared: 1, private: 0 }, upstream: 'http://modem:****@127.0.0.1:18080' });
      expect(byName['us-shared'].ports).to.deep.equal([{ portId: 'p1', sessionId: 'holder-p1', tier: 'shared', allocatedAt: byName['us-shared'].ports[0].allocatedAt }]);
      expect(byName['us-private'].freeSlots).to.deep.equal({ shared: 0, private: 0 }); // a private port holds the whole device
      expect(byName['us-private'].ports[0]).to.include({ portId: 'p2', tier: 'private' });
      expect(byName['de-1'].ports[0]).to.include({ portId: 'p3', accountId: 'holder-p3', tier: 'shared' });
      expect(byName['us-idle']).to.deep.include({ freeSlots: { shared: 2, private: 1 }, ports: [] });
      expect(byName['us-idle'].lastHealth).to.deep.include({ online: true, latencyMs: 80, ip: '100.64.0.9' });
      expect(byName['us-shared'].lastHealth).to.equal(null);
      expect(byName['us-offline']).to.deep.include({ status: 'offline', freeSlots: { shared: 0, private: 0 } });
      expect(JSON.stringify(res.body)).to.not.contain('secret');
    });

    it('filters by country, status, tier and free slots', async () => {
      expect(names((await list('?country=de')).body)).to.deep.equal(['de-1']);
      expect(names((await list('?status=offline')).body)).to.deep.equal(['us-offline']);
      expect(names((await list('?status=retired')).body)).to.deep.equal(['us-retired']);
      expect(names((await list('?country=US&status=online')).body)).to.deep.equal(['us-shared', 'us-private', 'us-idle']);
      expect(names((await list('?hasFreeSlots=true')).body)).to.deep.equal(['us-shared', 'us-idle', 'de-1']);
      expect(names((await list('?tier=private&hasFreeSlots=true')).body)).to.deep.equal(['us-idle']);
      expect(names((await list('?tier=shared&hasFreeSlots=false&status=online')).body)).to.deep.equal(['us-private']);
    });

    it('pages with a cursor, in a stable order, without repeats or gaps', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await list(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        expect(res.status).to.equal(200);
        expect(res.body.devices.length).to.be.at.most(2);
        seen.push(...names(res.body));
        cursor = res.body.nextCursor;
        pages++;
      } while (cursor);
      expect(pages).to.equal(3);
      expect(seen).to.deep.equal(names((await list()).body));
    });

    it('refuses bad filters with 400 in the one error shape, and needs the admin key', async () => {
      for (const q of ['?status=gone', '?tier=gold', '?hasFreeSlots=yes', '?limit=0', '?limit=201', '?cursor=!!', '?country=USA', '?colour=red']) {
        const res = await list(q);
        expect(res.status, q).to.equal(400);
        expect(res.body.error.code).to.equal('VALIDATION_ERROR');
      }
      expect((await api(service.url, 'GET', '/v1/admin/devices')).status).to.equal(401);
    });
  });
}
