import { expect } from 'chai';
import { sql } from 'kysely';
import type { Db } from '../../adapters/db/database.ts';
import { PostgresEventStore } from '../../adapters/eventstore/postgres.ts';
import { deviceStreamId, type Carrier, type Tier } from '../../domain/fleet/events.ts';
import { devicesProjection } from '../../projections/devices.ts';
import { findPoolScore, poolScoresProjection, rankedDevices, type RankQuery } from '../../projections/pool-scores.ts';
import { fixedClock } from '../../src/clock.ts';
import { Projector } from '../../src/projector/projector.ts';
import { appendFleetBacklog } from '../support/fleet-backlog.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../support/services.ts';
import { fleetCommands, resetDatabase, testKeyring } from './helpers.ts';
import { openUpstream } from '../../src/fleet/secrets.ts';

const snapshot = async (db: Db) => (await sql`select * from pool_scores order by device_id`.execute(db)).rows;

const PROJECTIONS = [devicesProjection, poolScoresProjection];

for (const kind of await databaseKinds()) {
  describe(`pool-scores projection (${kind})`, function () {
    this.timeout(30_000);
    let t: TestDatabase;
    let store: PostgresEventStore;
    let projector: Projector;
    let fleet: ReturnType<typeof fleetCommands>;
    const clock = fixedClock('2026-11-20T12:00:00.000Z');

    const register = (id: string, countryCode: string, carrier: Carrier, tiers?: Tier[]) => fleet.register(id, { countryCode, carrier, tiers });
    const report = (id: string, online: boolean, latencyMs?: number, ip?: string) => fleet.report(id, online, latencyMs, ip);
    const projected = async () => expect(await projector.waitFor(fleet.head, undefined, 10_000)).to.equal(true);
    const ranked = async (query: Partial<RankQuery> = {}) =>
      (await rankedDevices(t.database.db, { countryCode: 'any', tier: 'shared', limit: 50, ...query })).map((d) => d.deviceId);

    const tmo = { name: 'T-Mobile USA', brand: 'T-Mobile' };
    const att = { name: 'AT&T Mobility', brand: 'AT&T' };
    const vodafone = { name: 'Vodafone GmbH', brand: 'Vodafone' };

    before(async () => { t = await createTestDatabase(kind); });
    after(async () => { await t?.dispose(); });
    beforeEach(async () => {
      clock.set('2026-11-20T12:00:00.000Z');
      store = await PostgresEventStore.open(t.database);
      projector = new Projector(t.database.db, store, PROJECTIONS, { maxBatch: 5 });
      await projector.migrate();
      await resetDatabase(t.database.db, PROJECTIONS);
      await projector.start();
      fleet = fleetCommands(store, clock);
    });
    afterEach(async () => {
      await projector.stop();
      await store.close();
    });

    it('ranks eligible devices by score, then id; filters by country, carrier (name or brand), tier; honours exclude and limit', async () => {
      await register('us-fast', 'US', tmo);
      await register('us-slow', 'us', att);
      await register('us-twin', 'US', tmo); // same history as us-fast: the tie goes to the smaller id
      await register('de-mid', 'DE', vodafone, ['private']);
      await register('us-unprobed', 'US', tmo);
      for (let i = 0; i < 3; i++) {
        await report('us-fast', true, 200, '100.64.0.1');
        await report('us-twin', true, 200, '100.64.0.2');
        await report('us-slow', true, 2500, '100.64.0.3');
        await report('de-mid', true, 900, '100.64.0.4');
      }
      await projected();

      const all = await rankedDevices(t.database.db, { countryCode: 'any', tier: 'private', limit: 10 });
      expect(all.map((d) => d.deviceId)).to.deep.equal(['us-fast', 'us-twin', 'de-mid', 'us-slow']);
      expect(all[0]).to.deep.include({ countryCode: 'US', carrierName: 'T-Mobile USA', carrierBrand: 'T-Mobile', score: 1, latencyMs: 200, lastIp: '100.64.0.1' });
      expect(all[0]!.upstream).to.match(/^http:\/\/u:sealed:v1:/); // stored sealed; the gateway opens it in memory
      expect(openUpstream(testKeyring, all[0]!.upstream)).to.equal('http://u:p@127.0.0.1:9');
      expect(all[0]!.lastReportAt).to.match(/^2026-11-20T12:00:\d\d\.000Z$/);
      expect(all.map((d) => d.score)).to.satisfy((s: number[]) => s.every((x, i) => i === 0 || x <= s[i - 1]!));

      expect(await ranked()).to.deep.equal(['us-fast', 'us-twin', 'us-slow'], 'de-mid serves only private');
      expect(await ranked({ countryCode: 'us' })).to.deep.equal(['us-fast', 'us-twin', 'us-slow']);
      expect(await ranked({ countryCode: 'DE', tier: 'private' })).to.deep.equal(['de-mid']);
      expect(await ranked({ countryCode: 'PL' })).to.deep.equal([]);
      expect(await ranked({ carrier: 'at&t' })).to.deep.equal(['us-slow']);
      expect(await ranked({ carrier: 'T-MOBILE USA' })).to.deep.equal(['us-fast', 'us-twin']);
      expect(await ranked({ exclude: ['us-fast'] })).to.deep.equal(['us-twin', 'us-slow']);
      expect(await ranked({ limit: 1 })).to.deep.equal(['us-fast']);

      const unprobed = await findPoolScore(t.database.db, 'us-unprobed');
      expect(unprobed).to.deep.include({ status: 'active', score: 0, online: false, reports: 0n });
    });

    it('a device failing its probes falls to 0 and is excluded; when it recovers it comes back below a steady peer', async () => {
      await register('flaky', 'US', tmo);
      await register('steady', 'US', att);
      for (let i = 0; i < 5; i++) {
        await report('flaky', true, 150, '100.64.0.1');
        await report('steady', true, 400, '100.64.0.2');
      }
      await projected();
      expect(await ranked()).to.deep.equal(['flaky', 'steady'], 'the faster one leads while both are healthy');
      const before = (await findPoolScore(t.database.db, 'flaky'))!.score;

      for (let i = 0; i < 3; i++) await report('flaky', false);
      await projected();
      expect(await findPoolScore(t.database.db, 'flaky')).to.deep.include({ score: 0, online: false, reports: 8n });
      expect(await ranked()).to.deep.equal(['steady']);

      await report('flaky', true, 150, '100.64.0.9'); // back, with a new IP as modems do after a reconnect
      await projected();
      const after = (await findPoolScore(t.database.db, 'flaky'))!;
      expect(after.score).to.be.above(0).and.below(before);
      expect(after.ip_stability).to.be.below(1);
      expect(await ranked()).to.deep.equal(['steady', 'flaky']);
    });

    it('a retired device scores 0, is never ranked, and a stray report after retirement changes nothing', async () => {
      await register('old', 'US', tmo);
      await report('old', true, 200);
      await fleet.retire('old');
      // The decider refuses reports for retired devices; a raw append still must not revive the row.
      fleet.head = (await store.append(deviceStreamId('old'), [{
        type: 'DeviceHealthReported',
        data: { deviceId: 'old', online: true, latencyMs: 100, ip: null, reportedAt: clock.now().toISOString() },
        metadata: { correlationId: 'c', causationId: null, actor: 'test', occurredAt: clock.now().toISOString() },
      }], { expectedRevision: 'any' })).position;
      await projected();
      expect(await findPoolScore(t.database.db, 'old')).to.deep.include({ status: 'retired', score: 0, reports: 1n });
      expect(await ranked()).to.deep.equal([]);
    });

    it('a rebuild reproduces the table exactly, whatever the batch boundaries of the live run', async () => {
      fleet.head = await appendFleetBacklog(store, 20, 400);
      await projected(); // live, in batches of 5
      const live = await snapshot(t.database.db);
      expect(live).to.have.length(20);
      expect(live.reduce((n: bigint, r: any) => n + r.reports, 0n)).to.equal(400n);
      expect(live.some((r: any) => r.score > 0) && live.some((r: any) => r.score === 0)).to.equal(true);

      await projector.stop();
      await new Projector(t.database.db, store, [poolScoresProjection]).rebuild(['pool-scores']); // one batch of up to 2,000
      expect(await snapshot(t.database.db)).to.deep.equal(live);
    });
  });
}
