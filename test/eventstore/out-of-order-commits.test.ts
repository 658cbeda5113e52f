import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import pg from 'pg';
import { pgPoolConfig } from '../../adapters/db/database.ts';
import { PostgresEventStore } from '../../adapters/eventstore/postgres.ts';
import type { RecordedEvent } from '../../adapters/eventstore/port.ts';
import { meta } from '../support/events.ts';
import { createTestDatabase, postgresAdminUrl, type TestDatabase } from '../support/services.ts';

/**
 * The bigserial gap: transaction A takes a lower position than B but commits after it. A reader that
 * checkpoints on "the highest position I have seen" then skips A forever. These tests open real
 * concurrent transactions on PostgreSQL (PGlite has one connection, so it cannot commit out of order).
 */
const describeOnPostgres = (await postgresAdminUrl()) ? describe : describe.skip;

describeOnPostgres('PostgreSQL event store: transactions committing out of position order', () => {
  let t: TestDatabase;
  let store: PostgresEventStore;
  let pool: pg.Pool;

  beforeEach(async () => {
    t = await createTestDatabase('postgres');
    store = await PostgresEventStore.open(t.database);
    pool = new pg.Pool(pgPoolConfig(t.url!, 20));
  });
  afterEach(async () => {
    await store.close();
    await pool.end();
    await t.dispose();
  });

  const payload = (type: string, data: object = {}) => JSON.stringify([{ id: randomUUID(), type, data, metadata: meta() }]);

  it('holds back a later-positioned event until the earlier transaction commits, then delivers both in order', async () => {
    const seen: RecordedEvent[] = [];
    const sub = store.subscribeToAll({ fromPosition: -1n }, async (batch) => { seen.push(...batch.events); });
    const slow = await pool.connect();
    let naiveCheckpoint: string;
    try {
      await slow.query('begin');
      const slowAppend = await slow.query('select * from es_append($1, $2, $3::jsonb)', ['slow', 'any', payload('Slow')]);
      const fast = await store.append('fast', [{ type: 'Fast', data: {}, metadata: meta() }], { expectedRevision: 'any' });
      expect(fast.position > BigInt(slowAppend.rows[0].last_position)).to.equal(true);

      // A naive reader (no horizon) sees Fast now and would move its checkpoint past Slow's position.
      const naive = await pool.query('select position, type from es_events where position > $1 order by position', [-1]);
      expect(naive.rows.map((r) => r.type)).to.deep.equal(['Fast']);
      naiveCheckpoint = naive.rows[0].position;

      await new Promise((r) => setTimeout(r, 700)); // longer than the idle poll: the subscriber had every chance
      expect(seen.map((e) => e.type)).to.deep.equal([]);
      await slow.query('commit');
    } catch (error) {
      await slow.query('rollback');
      await sub.stop();
      throw error;
    } finally {
      slow.release();
    }
    const deadline = Date.now() + 5000;
    while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await sub.stop();
    expect(seen.map((e) => e.type)).to.deep.equal(['Slow', 'Fast']);

    // ...whereas the naive reader, resuming after Fast, never sees Slow.
    const naiveLater = await pool.query('select type from es_events where position > $1', [naiveCheckpoint]);
    expect(naiveLater.rows).to.deep.equal([]);
  });

  it('delivers every event exactly once, in position order, under many concurrent writers with jittered commits', async () => {
    const writers = 16;
    const appendsEach = 25;
    const total = writers * appendsEach;
    const seen: RecordedEvent[] = [];
    let done!: () => void;
    const all = new Promise<void>((resolve) => { done = resolve; });
    const sub = store.subscribeToAll({ fromPosition: -1n, maxBatch: 37 }, async (batch) => {
      seen.push(...batch.events);
      if (seen.length >= total) done();
    });

    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        const client = await pool.connect();
        try {
          for (let i = 0; i < appendsEach; i++) {
            await client.query('begin');
            await client.query('select * from es_append($1, $2, $3::jsonb)', [`writer-${w}`, 'any', payload('Written', { w, i })]);
            // hold the transaction open a random while so commits land out of position order
            await client.query('select pg_sleep($1)', [((w * 7 + i * 13) % 5) / 1000]);
            await client.query('commit');
          }
        } finally {
          client.release();
        }
      }),
    );
    await Promise.race([all, new Promise((r) => setTimeout(r, 15_000))]);
    await sub.stop();

    expect(seen).to.have.length(total);
    expect(new Set(seen.map((e) => e.id)).size).to.equal(total);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.position > seen[i - 1]!.position).to.equal(true);
    for (let w = 0; w < writers; w++) {
      const mine = seen.filter((e) => e.streamId === `writer-${w}`).map((e) => (e.data as { i: number }).i);
      expect(mine).to.deep.equal(Array.from({ length: appendsEach }, (_, i) => i));
    }
  });
});
