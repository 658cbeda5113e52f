import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { WrongExpectedVersion, type EventStore } from '../../adapters/eventstore/port.ts';
import { collect, ev, gather, meta, uniqueStream } from '../support/events.ts';

/**
 * The behaviour every event store implementation must show. Streams get unique names, so the
 * suite also runs against a shared server (EventStoreDB) that holds other events.
 */
export function eventStoreContract(open: () => Promise<{ store: EventStore; dispose(): Promise<void> }>) {
  let store: EventStore;
  let dispose: () => Promise<void>;

  before(async () => ({ store, dispose } = await open()));
  after(async () => { await store?.close(); await dispose?.(); });

  describe('append and readStream', () => {
    it('appends to a new stream and reads the events back with their metadata', async () => {
      const stream = uniqueStream();
      const m = meta('operator:1');
      const result = await store.append(stream, [{ type: 'A', data: { n: 1 }, metadata: m }, ev('B', { n: 2 })], { expectedRevision: 'no_stream' });
      expect(result.nextRevision).to.equal(1n);
      const events = await collect(store.readStream(stream));
      expect(events.map((e) => [e.type, e.revision, e.data])).to.deep.equal([['A', 0n, { n: 1 }], ['B', 1n, { n: 2 }]]);
      expect(events[0]!.metadata).to.include({ correlationId: m.correlationId, actor: 'operator:1', occurredAt: m.occurredAt });
      expect(events[0]!.metadata.causationId).to.equal(null);
      expect(events[1]!.position > events[0]!.position).to.equal(true);
      expect(result.position).to.equal(events[1]!.position);
      expect(events[0]!.id).to.match(/^[0-9a-f-]{36}$/);
    });

    it('reads from a revision', async () => {
      const stream = uniqueStream();
      await store.append(stream, [ev('A'), ev('B'), ev('C')], { expectedRevision: 'no_stream' });
      const events = await collect(store.readStream(stream, { fromRevision: 1n }));
      expect(events.map((e) => e.type)).to.deep.equal(['B', 'C']);
    });

    it('reads nothing from a stream that does not exist', async () => {
      expect(await collect(store.readStream(uniqueStream()))).to.deep.equal([]);
    });

    it('enforces the expected revision', async () => {
      const stream = uniqueStream();
      await expectWrongVersion(store.append(stream, [ev('A')], { expectedRevision: 'stream_exists' }), 'no_stream');
      await expectWrongVersion(store.append(stream, [ev('A')], { expectedRevision: 0n }), 'no_stream');
      await store.append(stream, [ev('A')], { expectedRevision: 'no_stream' });
      await expectWrongVersion(store.append(stream, [ev('B')], { expectedRevision: 'no_stream' }), 0n);
      await expectWrongVersion(store.append(stream, [ev('B')], { expectedRevision: 5n }), 0n);
      expect((await store.append(stream, [ev('B')], { expectedRevision: 0n })).nextRevision).to.equal(1n);
      expect((await store.append(stream, [ev('C')], { expectedRevision: 'stream_exists' })).nextRevision).to.equal(2n);
      expect((await store.append(stream, [ev('D')], { expectedRevision: 'any' })).nextRevision).to.equal(3n);
      expect((await collect(store.readStream(stream))).map((e) => e.type)).to.deep.equal(['A', 'B', 'C', 'D']);
    });

    it('lets exactly one of many concurrent writers at the same revision win', async () => {
      const stream = uniqueStream();
      await store.append(stream, [ev('Opened')], { expectedRevision: 'no_stream' });
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => store.append(stream, [ev('Claimed', { i })], { expectedRevision: 0n })),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).to.be.instanceOf(WrongExpectedVersion);
      expect(await collect(store.readStream(stream))).to.have.length(2);
    });

    it('makes no_stream a claim: one winner among concurrent claimers', async () => {
      const stream = uniqueStream('payment-base');
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, () => store.append(stream, [ev('PaymentClaimed')], { expectedRevision: 'no_stream' })),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
    });

    it('is idempotent by event id', async () => {
      const stream = uniqueStream();
      const ids = [randomUUID(), randomUUID()];
      const first = await store.append(stream, [ev('A', {}, ids[0]), ev('B', {}, ids[1])], { expectedRevision: 'no_stream' });
      const again = await store.append(stream, [ev('A', {}, ids[0]), ev('B', {}, ids[1])], { expectedRevision: 'no_stream' });
      expect(again.nextRevision).to.equal(first.nextRevision);
      expect(await collect(store.readStream(stream))).to.have.length(2);
    });

    it('refuses bigints in event data (they would come back as strings)', async () => {
      let error: unknown;
      try { await store.append(uniqueStream(), [ev('A', { amount: 5n })], { expectedRevision: 'any' }); } catch (e) { error = e; }
      expect(error).to.be.instanceOf(TypeError);
    });
  });

  describe('readAll', () => {
    it('reads every stream in strictly increasing position order, from an inclusive position', async () => {
      const a = uniqueStream(), b = uniqueStream();
      await store.append(a, [ev('A1')], { expectedRevision: 'no_stream' });
      const mid = await store.append(b, [ev('B1'), ev('B2')], { expectedRevision: 'no_stream' });
      await store.append(a, [ev('A2')], { expectedRevision: 0n });
      const mine = (await collect(store.readAll())).filter((e) => e.streamId === a || e.streamId === b);
      expect(mine.map((e) => e.type)).to.deep.equal(['A1', 'B1', 'B2', 'A2']);
      const all = await collect(store.readAll());
      for (let i = 1; i < all.length; i++) expect(all[i]!.position > all[i - 1]!.position).to.equal(true);
      const fromMid = (await collect(store.readAll({ fromPosition: mid.position }))).filter((e) => e.streamId === a || e.streamId === b);
      expect(fromMid.map((e) => e.type)).to.deep.equal(['B2', 'A2']);
      expect(await collect(store.readAll({ fromPosition: mid.position, maxCount: 1 }))).to.have.length(1);
      expect(await store.headPosition()).to.equal(all[all.length - 1]!.position);
    });
  });

  describe('subscribeToAll', () => {
    it('catches up, then goes live, and resumes after a checkpoint', async () => {
      const stream = uniqueStream();
      const start = await store.headPosition();
      const first = await store.append(stream, [ev('Past1'), ev('Past2')], { expectedRevision: 'no_stream' });
      const seen = gather(store, { fromPosition: start }, (events) => events.filter((e) => e.streamId === stream).length >= 3);
      await new Promise((r) => setTimeout(r, 50));
      await store.append(stream, [ev('Live1')], { expectedRevision: 1n });
      const { events } = await seen;
      expect(events.filter((e) => e.streamId === stream).map((e) => e.type)).to.deep.equal(['Past1', 'Past2', 'Live1']);

      const resumed = await gather(store, { fromPosition: first.position }, (evs) => evs.some((e) => e.streamId === stream));
      expect(resumed.events.filter((e) => e.streamId === stream).map((e) => e.type)).to.deep.equal(['Live1']);
    });

    it('delivers only the requested event types and still advances the checkpoint past others', async () => {
      const stream = uniqueStream();
      const tag = `T${randomUUID().replaceAll('-', '')}`;
      const before = await store.headPosition();
      await store.append(stream, [ev(`${tag}Kept`), ev('Other'), ev(`${tag}Kept`), ev('Other')], { expectedRevision: 'no_stream' });
      const last = await store.append(stream, [ev('Other')], { expectedRevision: 3n });
      const { events, checkpoint } = await gather(store, { fromPosition: before, eventTypes: [`${tag}Kept`] }, (_, cp) => cp >= last.position);
      expect(events.map((e) => e.type)).to.deep.equal([`${tag}Kept`, `${tag}Kept`]);
      expect(checkpoint >= last.position).to.equal(true);
    });
  });
}

async function expectWrongVersion(promise: Promise<unknown>, actual: bigint | 'no_stream') {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(WrongExpectedVersion);
    expect((error as WrongExpectedVersion).actual).to.equal(actual);
    return;
  }
  expect.fail('expected WrongExpectedVersion');
}
