import { expect } from 'chai';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { AccountBudget, MemoryBudgetLedger, RedisBudgetLedger, type BudgetLedger } from '../../src/gateway/budget.ts';
import { testRedisUrl } from '../support/services.ts';

const MB = 1_000_000;

/** The ledger contract, for the in-process ledger and the Redis one: never grants past what was bought. */
for (const kind of ['memory', 'redis'] as const) {
  describe(`gateway budget ledger (${kind}, #8)`, () => {
    let ledger: BudgetLedger;
    let redis: Redis | undefined;
    const key = () => `session-${randomBytes(6).toString('hex')}`;

    before(async function () {
      if (kind === 'memory') return void (ledger = new MemoryBudgetLedger());
      const url = await testRedisUrl();
      if (!url) return this.skip();
      redis = new Redis(url);
      ledger = new RedisBudgetLedger(redis);
    });
    after(() => redis?.disconnect());

    it('grants exactly what is left to many concurrent leases, never more', async () => {
      const account = key();
      const balance = { totalBytes: BigInt(50 * MB), usedBytes: 0n };
      const grants = await Promise.all(Array.from({ length: 200 }, () => ledger.lease(account, MB, balance)));
      expect(grants.reduce((a, b) => a + b, 0)).to.equal(50 * MB);
      expect(await ledger.lease(account, MB, balance)).to.equal(0);
    });

    it('shrinks slices as the balance nears its end, and takes back what was not spent', async () => {
      const account = key();
      const balance = { totalBytes: BigInt(2 * MB), usedBytes: 0n };
      const first = await ledger.lease(account, 10 * MB, balance);
      expect(first).to.be.below(2 * MB).and.at.least(64 * 1024); // at most 1/8 of what is left
      await ledger.giveBack(account, first);
      let total = 0;
      for (let g = await ledger.lease(account, 10 * MB, balance); g > 0; g = await ledger.lease(account, 10 * MB, balance)) total += g;
      expect(total).to.equal(2 * MB);
    });

    it('seeds from the metered usage of the read model (an expired or lost entry)', async () => {
      const account = key();
      expect(await ledger.lease(account, MB, { totalBytes: BigInt(10 * MB), usedBytes: BigInt(10 * MB - 1000) })).to.equal(1000);
    });

    it('AccountBudget: connections share the instance slice; the last to close gives it back', async () => {
      const account = key();
      const balance = { totalBytes: BigInt(8 * MB), usedBytes: 0n };
      const budget = new AccountBudget(account, ledger, () => balance, { sliceBytes: MB, idleReturnMs: 60_000, now: Date.now, onError: (e) => { throw e; } });
      budget.open();
      budget.open();
      expect(await budget.refill()).to.equal(true);
      const held = budget.held();
      expect(held).to.be.greaterThan(0);
      expect(budget.take(100)).to.equal(100);
      await budget.close();
      expect(budget.held(), 'one connection still open').to.be.greaterThan(0);
      await new Promise((r) => setTimeout(r, 20)); // a background lease may be in flight
      await budget.close();
      expect(budget.held()).to.equal(0);
      // everything but the 100 bytes spent is available again
      let total = 0;
      for (let g = await ledger.lease(account, 8 * MB, balance); g > 0; g = await ledger.lease(account, 8 * MB, balance)) total += g;
      expect(total).to.equal(8 * MB - 100);
    });
  });
}
