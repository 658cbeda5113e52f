import { expect } from 'chai';
import { PostgresEventStore } from '../../adapters/eventstore/postgres.ts';
import type { RecordedEvent } from '../../adapters/eventstore/port.ts';
import { deviceStreamId } from '../../domain/fleet/events.ts';
import { devicesProjection } from '../../projections/devices.ts';
import { findPoolScore, poolScoresProjection, rankedDevices } from '../../projections/pool-scores.ts';
import { fixedClock } from '../../src/clock.ts';
import { DeviceProber, parseEgressIp, type ProbeOutcome, type ProberOptions } from '../../src/gateway/prober.ts';
import { Projector } from '../../src/projector/projector.ts';
import { collect } from '../support/events.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../support/services.ts';
import { fleetCommands, resetDatabase, startLab, testKeyring, type Lab } from './helpers.ts';

describe('parseEgressIp', () => {
  it('reads a JSON { ip } body or a bare address, IPv4 or IPv6', () => {
    expect(parseEgressIp('{"ip":"203.0.113.9"}')).to.equal('203.0.113.9');
    expect(parseEgressIp('{ "ip": "2001:db8::1", "country": "US" }\n')).to.equal('2001:db8::1');
    expect(parseEgressIp('198.51.100.7\n')).to.equal('198.51.100.7');
  });

  it('answers null for anything that is not an echo of an address', () => {
    for (const body of ['', '<!doctype html><title>Example Domain</title>', '{"ip":"not-an-ip"}', '{"origin":"1.2.3.4"}', '[1,2]', 'null', '1.2.3.4 5.6.7.8']) {
      expect(parseEgressIp(body), body).to.equal(null);
    }
  });
});

const PROJECTIONS = [devicesProjection, poolScoresProjection];

for (const kind of await databaseKinds()) {
  describe(`device prober (${kind})`, function () {
    this.timeout(30_000);
    let t: TestDatabase;
    let lab: Lab;
    let store: PostgresEventStore;
    let projector: Projector;
    let fleet: ReturnType<typeof fleetCommands>;
    const clock = fixedClock('2026-11-20T12:00:00.000Z');
    const probers: DeviceProber[] = [];

    const projected = async () => expect(await projector.waitFor(fleet.head, undefined, 10_000)).to.equal(true);
    /** A prober against the lab's origin; its reports move `fleet.head`. */
    const prober = (options: ProberOptions = {}) => {
      const p = new DeviceProber({ db: t.database.db, store, clock, secrets: testKeyring }, { probeUrl: lab.origin.url, timeoutMs: 3000, ...options });
      probers.push(p);
      return p;
    };
    const tick = async (p: DeviceProber) => {
      const outcomes = await p.tick();
      for (const o of outcomes) if (o.outcome === 'reported' && o.position > fleet.head) fleet.head = o.position;
      return new Map(outcomes.map((o) => [o.deviceId, o]));
    };
    const reported = (o: ProbeOutcome | undefined) => {
      expect(o?.outcome).to.equal('reported');
      return (o as Extract<ProbeOutcome, { outcome: 'reported' }>).result;
    };
    const streamOf = async (deviceId: string) => collect(store.readStream(deviceStreamId(deviceId))) as Promise<RecordedEvent[]>;
    const healthReports = async (deviceId: string) => (await streamOf(deviceId)).filter((e) => e.type === 'DeviceHealthReported');
    const ranked = async () => (await rankedDevices(t.database.db, { countryCode: 'US', tier: 'shared', limit: 10 })).map((d) => d.deviceId);

    before(async () => {
      t = await createTestDatabase(kind);
      lab = await startLab();
    });
    after(async () => {
      await lab?.close();
      await t?.dispose();
    });
    beforeEach(async () => {
      clock.set('2026-11-20T12:00:00.000Z');
      lab.origin.format = 'json';
      store = await PostgresEventStore.open(t.database);
      projector = new Projector(t.database.db, store, PROJECTIONS, { maxBatch: 50 });
      await projector.migrate();
      await resetDatabase(t.database.db, PROJECTIONS);
      await projector.start();
      fleet = fleetCommands(store, clock);
    });
    afterEach(async () => {
      await Promise.all(probers.splice(0).map((p) => p.stop()));
      await projector.stop();
      await store.close();
    });

    it('probes each device through its own upstream (HTTP CONNECT + Basic, SOCKS5 + user/pass) and reports online, latency and egress IP', async () => {
      const viaHttp = await lab.httpModem({ username: 'alice', password: 'p@ss:word', egressIp: '198.51.100.7' });
      const viaSocks = await lab.socksModem({ username: 'bob', password: 's3cret', egressIp: '203.0.113.9' });
      await fleet.register('m-http', { upstream: viaHttp.upstream });
      await fleet.register('m-socks', { upstream: viaSocks.upstream });
      await projected();

      const outcomes = await tick(prober());
      expect(reported(outcomes.get('m-http'))).to.deep.include({ online: true, ip: '198.51.100.7' });
      expect(reported(outcomes.get('m-socks'))).to.deep.include({ online: true, ip: '203.0.113.9' });
      expect([viaHttp.tunnels, viaSocks.tunnels, lab.origin.requests > 0]).to.deep.equal([1, 1, true]);

      const [event] = await healthReports('m-socks');
      expect(event?.data).to.deep.include({ deviceId: 'm-socks', online: true, ip: '203.0.113.9', reportedAt: clock.now().toISOString() });
      expect((event?.data as { latencyMs: number }).latencyMs).to.be.a('number').within(0, 3000);
      expect(event?.metadata.actor).to.equal('prober');

      await projected();
      expect(await ranked()).to.have.members(['m-http', 'm-socks']);
    });

    it('a modem that goes away is reported offline, its score falls to 0 and rankedDevices stops returning it', async () => {
      const viaHttp = await lab.httpModem({ username: 'alice', password: 'pw', egressIp: '198.51.100.7' });
      const viaSocks = await lab.socksModem({ username: 'bob', password: 'pw', egressIp: '203.0.113.9' });
      await fleet.register('m-http', { upstream: viaHttp.upstream });
      await fleet.register('m-socks', { upstream: viaSocks.upstream });
      await projected();
      const p = prober();
      await tick(p);
      await tick(p);
      await projected();
      expect(await ranked()).to.have.members(['m-http', 'm-socks']);
      expect((await findPoolScore(t.database.db, 'm-socks'))!.score).to.be.above(0.5);

      await viaSocks.shutDown();
      const outcomes = await tick(p);
      expect(reported(outcomes.get('m-socks'))).to.deep.include({ online: false });
      expect(reported(outcomes.get('m-http'))).to.deep.include({ online: true });
      const [, , last] = await healthReports('m-socks');
      expect(last?.data).to.deep.include({ online: false, latencyMs: null, ip: null });

      await projected();
      expect(await findPoolScore(t.database.db, 'm-socks')).to.deep.include({ score: 0, online: false, reports: 3n });
      expect(await ranked()).to.deep.equal(['m-http']);
    });

    it('an upstream that refuses our credentials is an offline modem', async () => {
      const viaHttp = await lab.httpModem({ username: 'alice', password: 'right', egressIp: '198.51.100.7' });
      const viaSocks = await lab.socksModem({ username: 'bob', password: 'right', egressIp: '203.0.113.9' });
      await fleet.register('bad-http', { upstream: viaHttp.upstream.replace(':right@', ':wrong@') });
      await fleet.register('bad-socks', { upstream: viaSocks.upstream.replace(':right@', ':wrong@') });
      await projected();
      const outcomes = await tick(prober());
      const http = reported(outcomes.get('bad-http'));
      expect(http.online).to.equal(false);
      expect(http.online === false && http.error).to.match(/407/);
      expect(reported(outcomes.get('bad-socks')).online).to.equal(false);
      expect([viaHttp.tunnels, viaSocks.tunnels]).to.deep.equal([0, 0]);
    });

    it('a modem that accepts but never answers is reported offline once the timeout passes', async () => {
      await fleet.register('silent', { upstream: await lab.blackHole() });
      await projected();
      const started = Date.now();
      const result = reported((await tick(prober({ timeoutMs: 300 }))).get('silent'));
      expect(Date.now() - started).to.be.below(2000);
      expect(result).to.deep.equal({ online: false, error: 'timed out after 300 ms' });
    });

    it('reads a plain-text echo, reports no IP when the target does not echo, and IP churn lowers the IP stability', async () => {
      const modem = await lab.httpModem({ username: 'u', password: 'p', egressIp: '198.51.100.7' });
      await fleet.register('rotating', { upstream: modem.upstream });
      await projected();
      const p = prober();

      lab.origin.format = 'text';
      expect(reported((await tick(p)).get('rotating'))).to.deep.include({ online: true, ip: '198.51.100.7' });
      lab.origin.format = 'html';
      expect(reported((await tick(p)).get('rotating'))).to.deep.include({ online: true, ip: null });
      lab.origin.format = 'json';
      await projected();
      expect(await findPoolScore(t.database.db, 'rotating')).to.deep.include({ ip_stability: 1, last_ip: '198.51.100.7' });

      for (const ip of ['198.51.100.8', '198.51.100.9']) {
        modem.egressIp = ip;
        expect(reported((await tick(p)).get('rotating'))).to.deep.include({ online: true, ip });
      }
      await projected();
      const row = (await findPoolScore(t.database.db, 'rotating'))!;
      expect(row.last_ip).to.equal('198.51.100.9');
      expect(row.ip_stability).to.be.closeTo(0.64, 1e-12);
      expect(row.score).to.be.above(0).and.below(1);
    });

    it('skips a device retired after the pass listed it: the device stream refuses the report', async () => {
      const modem = await lab.httpModem({ username: 'u', password: 'p', egressIp: '198.51.100.7' });
      await fleet.register('leaving', { upstream: modem.upstream });
      await projected();
      await projector.stop(); // fleet_devices still lists it as active
      await fleet.retire('leaving');

      const outcomes = await tick(prober());
      expect(outcomes.get('leaving')).to.deep.equal({ deviceId: 'leaving', outcome: 'retired' });
      expect((await streamOf('leaving')).map((e) => e.type)).to.deep.equal(['DeviceRegistered', 'DeviceRetired']);
    });

    it('probes at most `concurrency` devices at once', async () => {
      const modem = await lab.httpModem({ username: 'u', password: 'p', egressIp: '198.51.100.7', delayMs: 80 });
      for (let i = 0; i < 8; i++) await fleet.register(`m${i}`, { upstream: modem.upstream });
      await projected();
      const outcomes = await tick(prober({ concurrency: 3 }));
      expect([...outcomes.values()].filter((o) => o.outcome === 'reported' && o.result.online)).to.have.length(8);
      expect(modem.maxPending).to.equal(3);
    });

    it('start() probes at once and again after each interval; stop() ends it, and tick() still works afterwards', async () => {
      const modem = await lab.httpModem({ username: 'u', password: 'p', egressIp: '198.51.100.7' });
      await fleet.register('looped', { upstream: modem.upstream });
      await projected();
      const p = prober();
      p.start(20);
      const deadline = Date.now() + 10_000;
      while ((await healthReports('looped')).length < 3) {
        if (Date.now() > deadline) throw new Error('the prober did not repeat');
        await new Promise((r) => setTimeout(r, 20));
      }
      await p.stop();
      const count = (await healthReports('looped')).length;
      await new Promise((r) => setTimeout(r, 150));
      expect((await healthReports('looped')).length).to.equal(count);
      // a stopped prober can still run a pass by hand
      expect(reported((await tick(p)).get('looped'))).to.deep.include({ online: true });
    });

    it('stop() interrupts a pass at once and reports nothing for the probes it cut short', async () => {
      const modem = await lab.httpModem({ username: 'u', password: 'p', egressIp: '198.51.100.7' });
      await fleet.register('quick', { upstream: modem.upstream });
      await fleet.register('stuck', { upstream: await lab.blackHole() });
      await projected();
      const p = prober({ timeoutMs: 10_000 });
      p.start(60_000);
      const deadline = Date.now() + 10_000;
      while ((await healthReports('quick')).length < 1) {
        if (Date.now() > deadline) throw new Error('the prober never reported');
        await new Promise((r) => setTimeout(r, 20));
      }
      const started = Date.now();
      await p.stop();
      expect(Date.now() - started).to.be.below(1000);
      expect(await healthReports('stuck')).to.deep.equal([]);
    });
  });
}
