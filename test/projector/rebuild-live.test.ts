import { expect } from 'chai';
import { sql } from 'kysely';
import { PostgresEventStore } from '../../adapters/eventstore/postgres.ts';
import { projections } from '../../projections/index.ts';
import { Projector } from '../../src/projector/projector.ts';
import { meta } from '../support/events.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../support/services.ts';

/**
 * A rebuild next to the live projector of a running system, while writes go on: the live lane, told by
 * the compare-and-set that its checkpoint moved, catches up over the same events the rebuild is applying.
 * Whoever applies a batch must own the checkpoint first, or the other's inserts meet a duplicate key.
 */
for (const kind of (await databaseKinds()).filter((k) => k === 'postgres')) {
  describe(`projector: rebuild next to a live projector under writes (${kind})`, function () {
    this.timeout(120_000);
    let t: TestDatabase;
    let store: PostgresEventStore;
    before(async () => {
      t = await createTestDatabase(kind);
      store = await PostgresEventStore.open(t.database);
    });
    after(async () => {
      await store.close();
      await t.dispose();
    });

    it('neither the rebuild nor the live lane fails on the other\'s writes, and the result equals a quiet rebuild', async () => {
      const db = t.database.db;
      const live = new Projector(db, store, projections, { database: t.database, maxBatch: 20, retryDelayMs: 10 });
      await live.start();
      let n = 0;
      // each claim is a plain insert in x402_payments: applying one twice is a duplicate key
      const claim = async () => {
        const claimKey = `rebuild-live-${n++}`;
        return (await store.append(`payment-${claimKey}`, [{ type: 'PaymentClaimed', data: {
          claimKey, purpose: { kind: 'purchase', sessionId: `s-${claimKey}` }, network: 'base', proof: 'tx_hash', transaction: `0x${n}`, payer: '0xpayer',
          amountMicro: '1000', claimedAt: '2026-11-20T10:00:00.000Z',
        }, metadata: meta('test') }], { expectedRevision: 'no_stream' })).position;
      };
      let head = 0n;
      for (let i = 0; i < 800; i++) head = await claim();
      let writing = true;
      const writer = (async () => {
        while (writing) head = await claim();
      })();
      try {
        for (let round = 0; round < 3; round++) await live.rebuild(['sessions']);
      } finally {
        writing = false;
        await writer;
      }
      expect(await live.waitFor(head, ['sessions'], 30_000)).to.equal(true);
      // the live lane only ever stepped back (checkpoint moved); it never failed on a row the rebuild wrote
      const status = (await live.status()).find((s) => s.name === 'sessions')!;
      await live.stop();
      expect(status.lastError).to.equal(null);
      const rows = async () => (await sql`select claim_key, transaction from x402_payments order by claim_key`.execute(db)).rows;
      const raced = await rows();
      expect(raced.length).to.be.greaterThan(800);
      await new Projector(db, store, projections, { database: t.database }).rebuild(['sessions']);
      expect(raced).to.deep.equal(await rows());
    });
  });
}
