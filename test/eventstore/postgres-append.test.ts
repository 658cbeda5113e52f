import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import pg from 'pg';
import { LISTENERS_RECHECK_MS, openPostgres } from '../../adapters/db/database.ts';
import { PostgresEventStore } from '../../adapters/eventstore/postgres.ts';
import { WrongExpectedVersion } from '../../adapters/eventstore/port.ts';
import { collect, ev, uniqueStream } from '../support/events.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../support/services.ts';

/** The optimistic append (unique revision instead of a stream lock): the races and repeats it must get right. */
for (const kind of await databaseKinds()) {
  describe(`PostgreSQL event store appends (${kind})`, () => {
    let t: TestDatabase;
    let store: PostgresEventStore;
    beforeEach(async () => {
      t = await createTestDatabase(kind);
      store = await PostgresEventStore.open(t.database);
    });
    afterEach(async () => {
      await store.close();
      await t.dispose();
    });

    it("answers a repeat sent with 'any' with the first result (it collides on the event id, not the revision)", async () => {
      const stream = uniqueStream();
      await store.append(stream, [ev('Opened')], { expectedRevision: 'no_stream' });
      const ids = [randomUUID(), randomUUID()];
      const first = await store.append(stream, [ev('A', {}, ids[0]), ev('B', {}, ids[1])], { expectedRevision: 'any' });
      const again = await store.append(stream, [ev('A', {}, ids[0]), ev('B', {}, ids[1])], { expectedRevision: 'any' });
      expect(again).to.deep.equal(first);
      const repeatedWithRevision = await store.append(stream, [ev('A', {}, ids[0]), ev('B', {}, ids[1])], { expectedRevision: 0n });
      expect(repeatedWithRevision).to.deep.equal(first);
      expect((await collect(store.readStream(stream))).map((e) => e.type)).to.deep.equal(['Opened', 'A', 'B']);
    });

    it('refuses an append that repeats only some ids, or ids of another stream', async () => {
      const stream = uniqueStream();
      const id = randomUUID();
      await store.append(stream, [ev('A', {}, id)], { expectedRevision: 'no_stream' });
      for (const [target, events] of [[stream, [ev('A', {}, id), ev('B')]], [uniqueStream(), [ev('A', {}, id)]]] as const) {
        const error = await store.append(target, [...events], { expectedRevision: 'any' }).catch((e) => e);
        expect(error).to.be.instanceOf(RangeError);
      }
      expect(await collect(store.readStream(stream))).to.have.length(1);
    });

    it("lets concurrent 'any' appends to one stream all land, at consecutive revisions", async () => {
      const stream = uniqueStream();
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => store.append(stream, [ev('E', { i })], { expectedRevision: 'any' })));
      expect(results.map((r) => r.nextRevision).sort((a, b) => Number(a - b))).to.deep.equal(Array.from({ length: 12 }, (_, i) => BigInt(i)));
      const events = await collect(store.readStream(stream));
      expect(events.map((e) => e.revision)).to.deep.equal(Array.from({ length: 12 }, (_, i) => BigInt(i)));
    });

    it('keeps revisions dense when two processes append to one stream, each after the revision it last knew', async () => {
      // each store knows the revision it last appended or read; the other one's appends make that stale
      const other = await PostgresEventStore.open(t.database);
      try {
        const stream = uniqueStream();
        await store.append(stream, [ev('Opened')], { expectedRevision: 'no_stream' });
        for (let i = 0; i < 6; i++) {
          const writer = i % 2 === 0 ? other : store;
          const events = i % 3 === 0 ? [ev('E', { i }), ev('E', { i, second: true })] : [ev('E', { i })];
          await writer.append(stream, events, { expectedRevision: 'any' });
        }
        const revisions = (await collect(store.readStream(stream))).map((e) => e.revision);
        expect(revisions).to.deep.equal(Array.from({ length: 9 }, (_, i) => BigInt(i)));
        // an exact revision from a stale view is refused, however the store came to know the stream
        const stale = await store.append(stream, [ev('Late')], { expectedRevision: 3n }).catch((e) => e);
        expect(stale).to.be.instanceOf(WrongExpectedVersion).and.have.property('actual', 8n);
        await other.append(stream, [ev('Moved')], { expectedRevision: 8n });
        const behind = await store.append(stream, [ev('Late')], { expectedRevision: 8n }).catch((e) => e);
        expect(behind).to.be.instanceOf(WrongExpectedVersion).and.have.property('actual', 9n);
        // an exact revision the stream has not reached yet is refused too, not appended with a gap
        const ahead = await store.append(stream, [ev('Early')], { expectedRevision: 20n }).catch((e) => e);
        expect(ahead).to.be.instanceOf(WrongExpectedVersion).and.have.property('actual', 9n);
        const claim = await other.append(stream, [ev('Again')], { expectedRevision: 'no_stream' }).catch((e) => e);
        expect(claim).to.be.instanceOf(WrongExpectedVersion);
        expect((await collect(store.readStream(stream))).map((e) => e.revision)).to.deep.equal(Array.from({ length: 10 }, (_, i) => BigInt(i)));
      } finally {
        await other.close();
      }
    });

    it('appends after a revision it knows without looking the stream up', async () => {
      const used: string[] = [];
      const prepared = t.database.prepared.bind(t.database);
      t.database.prepared = (name, text, values) => { used.push(name); return prepared(name, text, values); };
      const stream = uniqueStream();
      await store.append(stream, [ev('Opened')], { expectedRevision: 'no_stream' });
      const sent = [0, 1, 2].map((i) => ev('E', { i }));
      for (const e of sent) await store.append(stream, [e], { expectedRevision: 'any' });
      await store.append(stream, [ev('F'), ev('G')], { expectedRevision: 3n });
      const unknown = uniqueStream();
      await store.append(unknown, [ev('X')], { expectedRevision: 'any' });
      expect(used).to.deep.equal(['es_append_one_at', 'es_append_one_at', 'es_append_one_at', 'es_append_one_at', 'es_append_at', 'es_append_lookup']);
      // one event or several, the same events as any other append writes them
      const events = await collect(store.readStream(stream));
      expect(events.map((e) => [e.type, e.revision, e.data])).to.deep.equal([['Opened', 0n, {}], ['E', 1n, { i: 0 }], ['E', 2n, { i: 1 }], ['E', 3n, { i: 2 }], ['F', 4n, {}], ['G', 5n, {}]]);
      expect(events[1]!.metadata).to.deep.equal(sent[0]!.metadata);
      expect(events[1]!.position > events[0]!.position).to.equal(true);
    });

    it('refuses an append carrying a bigint alone, while the appends sent with it are written', async () => {
      const streams = Array.from({ length: 12 }, () => uniqueStream());
      const outcomes = await Promise.allSettled(streams.map((stream, i) =>
        store.append(stream, [ev('E', i === 9 ? { amount: 5n } : { i })], { expectedRevision: 'any' })));
      expect(outcomes.map((o) => o.status)).to.deep.equal(streams.map((_, i) => (i === 9 ? 'rejected' : 'fulfilled')));
      expect(String((outcomes[9] as PromiseRejectedResult).reason)).to.include('"amount" is a bigint');
      for (const [i, stream] of streams.entries()) expect((await collect(store.readStream(stream))).length).to.equal(i === 9 ? 0 : 1);
      const stream = uniqueStream();
      await store.append(stream, [ev('Opened')], { expectedRevision: 'no_stream' });
      const top = await store.append(stream, [{ ...ev('E'), data: 7n }], { expectedRevision: 0n }).catch((e: Error) => e.message);
      expect(top).to.include('event value is a bigint');
    });

    it('writes the same ids appended concurrently once, and both callers get that result', async () => {
      const stream = uniqueStream();
      const events = [ev('A', {}, randomUUID())];
      const [a, b] = await Promise.all([0, 1].map(() => store.append(stream, events, { expectedRevision: 'no_stream' })));
      expect(a).to.deep.equal(b);
      expect(await collect(store.readStream(stream))).to.have.length(1);
      const other = await store.append(stream, [ev('B')], { expectedRevision: 'no_stream' }).catch((e) => e);
      expect(other).to.be.instanceOf(WrongExpectedVersion);
    });

    if (kind === 'postgres') {
      it('commits concurrent appends in shared transactions (group commit), each with its own outcome', async () => {
        const streams = Array.from({ length: 32 }, () => uniqueStream());
        const results = await Promise.all(streams.map((s) => store.append(s, [ev('Grouped')], { expectedRevision: 'no_stream' })));
        // positions are xid * 65536 + offset: fewer transactions than appends means they were grouped
        const transactions = new Set(results.map((r) => r.position / 65536n));
        expect(transactions.size).to.be.below(32);
        expect(new Set(results.map((r) => r.position)).size).to.equal(32);
        for (const [i, s] of streams.entries()) expect((await collect(store.readStream(s))).map((e) => e.position)).to.deep.equal([results[i]!.position]);
        // one stream claimed by 8 at once: exactly one wins, the others are told the stream exists
        const claimed = uniqueStream();
        const claims = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => store.append(claimed, [ev(`Claim${i}`)], { expectedRevision: 'no_stream' })));
        expect(claims.filter((c) => c.status === 'fulfilled')).to.have.length(1);
        for (const c of claims) if (c.status === 'rejected') expect(c.reason).to.be.instanceOf(WrongExpectedVersion);
        expect(await collect(store.readStream(claimed))).to.have.length(1);
      });

      /**
       * A writer on a pool of its own (another process, as far as NOTIFY goes) and a subscriber on this store;
       * `arrival` waits for a stream's first event at the subscriber and gives the delay since `sent`.
       */
      const withRemoteWriter = async (run: (elsewhere: PostgresEventStore, arrival: (stream: string, sent: number) => Promise<number>) => Promise<void>) => {
        const other = await openPostgres(t.url!);
        const elsewhere = await PostgresEventStore.open(other);
        const arrived = new Map<string, number>();
        const sub = store.subscribeToAll({ fromPosition: await store.headPosition() }, async (batch) => {
          for (const e of batch.events) arrived.set(e.streamId, performance.now());
        });
        try {
          await new Promise((r) => setTimeout(r, 100));
          await run(elsewhere, async (stream, sent) => {
            while (!arrived.has(stream) && performance.now() - sent < 3000) await new Promise((r) => setTimeout(r, 2));
            return arrived.get(stream)! - sent;
          });
        } finally {
          await sub.stop();
          await elsewhere.close();
          await other.close();
        }
      };

      it('wakes a subscriber in another process by NOTIFY, well before its fallback poll', () => withRemoteWriter(async (elsewhere, arrival) => {
        const delays: number[] = [];
        for (let i = 0; i < 5; i++) {
          await new Promise((r) => setTimeout(r, 150 + i * 37)); // the subscriber is idle, waiting
          const stream = uniqueStream();
          const sent = performance.now();
          await elsewhere.append(stream, [ev('Remote')], { expectedRevision: 'no_stream' });
          delays.push(await arrival(stream, sent));
        }
        // a 1 s poll alone would average ~500 ms; pushed, every one arrives within a few round trips
        for (const d of delays) expect(d).to.be.below(400);
      }));

      it('sends no NOTIFY while no other process listens, and notifies again as soon as one does', async () => {
        const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
        const appendSome = async () => {
          for (let i = 0; i < 5; i++) {
            await store.append(uniqueStream(), [ev('Quiet')], { expectedRevision: 'no_stream' });
            await sleep(20);
          }
          await sleep(150);
        };
        // a bare LISTEN (not a store's): hears every NOTIFY on the channel, and does not count as a listener
        const spy = new pg.Client({ connectionString: t.url! });
        await spy.connect();
        let heard = 0;
        spy.on('notification', () => heard++);
        await spy.query('LISTEN es_appended');
        try {
          await store.append(uniqueStream(), [ev('First')], { expectedRevision: 'no_stream' }); // the store asks who listens
          await sleep(LISTENERS_RECHECK_MS + 200);
          heard = 0;
          await appendSome();
          expect(heard, 'NOTIFYs with nobody else listening').to.equal(0);
          const other = await openPostgres(t.url!);
          const elsewhere = await PostgresEventStore.open(other);
          try {
            // it announced itself: no waiting for the store's next recheck
            await appendSome();
            expect(heard, 'NOTIFYs once another process listens').to.be.greaterThan(0);
          } finally {
            await elsewhere.close();
            await other.close();
          }
        } finally {
          await spy.end();
        }
      });

      it('wakes it for an append that lands while the previous NOTIFY is still in flight', () => withRemoteWriter(async (elsewhere, arrival) => {
        let worst = 0;
        for (let i = 0; i < 30; i++) {
          await new Promise((r) => setTimeout(r, 20 + (i % 7) * 3));
          // back to back: the second append returns while the first one's NOTIFY may still be on its way
          await elsewhere.append(uniqueStream(), [ev('First')], { expectedRevision: 'no_stream' });
          const stream = uniqueStream();
          const sent = performance.now();
          await elsewhere.append(stream, [ev('Second')], { expectedRevision: 'no_stream' });
          worst = Math.max(worst, await arrival(stream, sent));
        }
        // a coalesced NOTIFY that drops the later append leaves it to the 1 s fallback poll
        expect(worst).to.be.below(400);
      }));
    }
  });
}
