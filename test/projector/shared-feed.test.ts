import { expect } from 'chai';
import { openPostgres, type Database } from '../../adapters/db/database.ts';
import { PostgresEventStore } from '../../adapters/eventstore/postgres.ts';
import type { EventStore } from '../../adapters/eventstore/port.ts';
import { Projector } from '../../src/projector/projector.ts';
import { ev, uniqueStream } from '../support/events.ts';
import { countingStore, recorded, recorder } from '../support/projections.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../support/services.ts';

async function appendTicks(store: EventStore, appends: number, perAppend = 1, type = 'Tick'): Promise<bigint> {
  let last = 0n;
  for (let i = 0; i < appends; i++) {
    last = (await store.append(uniqueStream('tick'), Array.from({ length: perAppend }, () => ev(type)), { expectedRevision: 'no_stream' })).position;
  }
  return last;
}

const elapsed = async <T>(run: () => Promise<T>): Promise<[T, number]> => {
  const t0 = performance.now();
  const value = await run();
  return [value, performance.now() - t0];
};

for (const kind of await databaseKinds()) {
  describe(`projector: one reader for every projection (${kind})`, function () {
    this.timeout(120_000);
    let t: TestDatabase;
    let store: PostgresEventStore;
    const projectors: Projector[] = [];
    const projector = (...args: ConstructorParameters<typeof Projector>) => {
      const p = new Projector(...args);
      projectors.push(p);
      return p;
    };

    beforeEach(async () => {
      t = await createTestDatabase(kind);
      store = await PostgresEventStore.open(t.database);
    });
    /** An api-only process's own connections (its LISTEN is another process's, as far as PostgreSQL can tell). */
    const elsewhere: Database[] = [];
    const apiOnlyDatabase = async () => {
      const database = await openPostgres(t.url!);
      elsewhere.push(database);
      return database;
    };
    afterEach(async () => {
      await Promise.all(projectors.splice(0).map((p) => p.stop()));
      await Promise.all(elsewhere.splice(0).map((d) => d.close()));
      await store.close();
      await t.dispose();
    });

    it('with ten projections registered, serves each appended event to the projector once', async () => {
      const counted = countingStore(store);
      const ten = Array.from({ length: 10 }, (_, i) => recorder(`r${i}`, { types: i % 2 ? ['Tick'] : ['Tick', 'Tock'] }));
      await appendTicks(store, 30, 3); // a backlog to catch up on
      const p = projector(t.database.db, counted, ten);
      await p.start();
      await appendTicks(store, 20, 1, 'Tock');
      const last = await appendTicks(store, 40); // live
      expect(await p.waitFor(last, undefined, 20_000)).to.equal(true);

      const all = [];
      for await (const e of store.readAll()) all.push(e);
      expect(all).to.have.length(150);
      for (const e of all) expect(counted.served.get(e.id), `${e.type} at ${e.position}`).to.equal(1);
      expect(counted.subscriptions).to.equal(1);
      for (const [i, r] of ten.entries()) expect(await recorded(t.database.db, r.name)).to.have.length(i % 2 ? 130 : 150);
    });

    // On PGlite (one connection) a slow projection transaction holds every query, appends included: nothing to show there.
    (kind === 'postgres' ? it : it.skip)('a write that names one read model returns without waiting for an unrelated slow projection', async () => {
      const fast = recorder('fast');
      const slow = recorder('slow', { slowMs: 3000 });
      const p = projector(t.database.db, store, [fast, slow]);
      await p.start();
      for (let i = 0; i < 3; i++) {
        const position = await appendTicks(store, 1);
        const [reached, ms] = await elapsed(() => p.waitFor(position, ['fast'], 5000));
        expect(reached).to.equal(true);
        expect(ms, 'fast read model waited for the slow one').to.be.below(1500);
        expect(await p.waitFor(position, ['slow'], 0)).to.equal(false);
      }
      const head = await store.headPosition();
      expect(await p.waitFor(head, ['slow'], 20_000)).to.equal(true);
      expect(await recorded(t.database.db, 'slow')).to.deep.equal(await recorded(t.database.db, 'fast'));
    });

    it('a projection that throws on one event retries alone, with back-off, while the others advance past it', async () => {
      let broken = true;
      const steady = recorder('steady', { types: ['Tick', 'Poison'] });
      const poisoned = recorder('poisoned', { types: ['Tick', 'Poison'], failOn: (e) => broken && e.type === 'Poison' });
      const p = projector(t.database.db, store, [steady, poisoned], { retryDelayMs: 50, maxRetryDelayMs: 400 });
      await p.start();
      const before = await appendTicks(store, 5);
      expect(await p.waitFor(before, undefined, 10_000)).to.equal(true);
      const poison = await appendTicks(store, 1, 1, 'Poison');
      const after = await appendTicks(store, 5);
      expect(await p.waitFor(after, ['steady'], 5000)).to.equal(true);
      const attemptsAt = poisoned.attempts;
      await new Promise((r) => setTimeout(r, 1200));
      // 50, 100, 200, 400, 400 ms: a handful of attempts, not a tight loop
      expect(poisoned.attempts - attemptsAt).to.be.within(1, 6);
      expect(await p.waitFor(poison, ['poisoned'], 0)).to.equal(false);
      const more = await appendTicks(store, 3);
      expect(await p.waitFor(more, ['steady'], 5000)).to.equal(true);

      const status = new Map((await p.status()).map((s) => [s.name, s]));
      expect(status.get('steady')).to.include({ state: 'live', lag: 0, lastError: null });
      expect(status.get('poisoned')!.state).to.equal('failing');
      expect(status.get('poisoned')!.lag).to.equal(9); // the poison and the eight after it
      expect(status.get('poisoned')!.lastError!.message).to.match(/cannot take Poison/);

      broken = false;
      expect(await p.waitFor(more, ['poisoned'], 10_000)).to.equal(true);
      expect(await recorded(t.database.db, 'poisoned')).to.deep.equal(await recorded(t.database.db, 'steady'));
      expect(await recorded(t.database.db, 'steady')).to.have.length(14);
    });

    it('a projection added to a running system catches up while writes keep returning with read-your-writes for the others', async () => {
      const live = recorder('live');
      const p = projector(t.database.db, store, [live], { maxBatch: 100 });
      await p.start();
      const backlog = await appendTicks(store, 40, 25); // 1,000 events
      expect(await p.waitFor(backlog, ['live'], 20_000)).to.equal(true);

      const late = recorder('late', { slowMs: 40 }); // ~10 batches of 100: it takes a while
      await p.add(late);
      let overtaken = 0;
      for (let i = 0; i < 8; i++) {
        const position = await appendTicks(store, 1);
        const [reached, ms] = await elapsed(() => p.waitFor(position, ['live'], 5000));
        expect(reached).to.equal(true);
        expect(ms).to.be.below(2000);
        if (!(await p.waitFor(position, ['late'], 0))) overtaken++;
      }
      expect(overtaken, 'the writes should have returned while the new projection was still catching up').to.be.greaterThan(0);
      const head = await store.headPosition();
      expect(await p.waitFor(head, ['late'], 30_000)).to.equal(true);
      const rows = await recorded(t.database.db, 'late');
      expect(rows).to.have.length(1008);
      expect(rows).to.deep.equal(await recorded(t.database.db, 'live'));
      // ...and it rejoined the shared reader: new events reach it without a second subscription.
      const deadline = Date.now() + 5000;
      let state = '';
      while (state !== 'live' && Date.now() < deadline) {
        state = (await p.status()).find((s) => s.name === 'late')!.state;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(state).to.equal('live');
    });

    if (kind === 'postgres') {
      it('an api-only process keeps a notification that arrived while nobody waited (listening from its first waitFor)', async () => {
        const ticks = recorder('ticks');
        const others = recorder('others', { types: ['Other'] });
        const running = projector(t.database.db, store, [ticks, others], { database: t.database });
        await running.start();
        const api = await apiOnlyDatabase();
        const apiOnly = projector(api.db, store, [ticks, others], { database: api });
        expect(await apiOnly.waitFor(-1n, ['ticks'], 1000)).to.equal(true); // answers at once, and is listening from here on
        const position = await appendTicks(store, 1);
        expect(await running.waitFor(position, ['ticks', 'others'], 3000)).to.equal(true);
        await new Promise((r) => setTimeout(r, 300)); // the projector's NOTIFY goes out while nobody waits
        // 'others' takes no Tick: its stored checkpoint is written lazily, only the notification tells of its progress.
        const [reached, ms] = await elapsed(() => apiOnly.waitFor(position, ['others'], 3000));
        expect(reached).to.equal(true);
        expect(ms, 'the notification was lost: it waited for the 1 s fallback').to.be.below(500);
      });

      it('an api-only process is told of progress by notification, also for read models the write did not touch', async () => {
        const ticks = recorder('ticks');
        const others = recorder('others', { types: ['Other'] });
        const running = projector(t.database.db, store, [ticks, others], { database: t.database });
        await running.start();
        const api = await apiOnlyDatabase();
        const apiOnly = projector(api.db, store, [ticks, others], { database: api });
        expect(await apiOnly.waitFor(-1n, ['ticks'], 1000)).to.equal(true); // listening from here on
        for (let i = 0; i < 5; i++) {
          const position = await appendTicks(store, 1);
          // 'others' takes no Tick: its stored checkpoint is written lazily, the notification carries its progress.
          const [reached, ms] = await elapsed(() => apiOnly.waitFor(position, ['ticks', 'others'], 3000));
          expect(reached).to.equal(true);
          expect(ms, 'waited for the 1 s fallback instead of the notification').to.be.below(800);
        }
      });
    }
  });
}
