import { expect } from 'chai';
import fc from 'fast-check';
import { sql } from 'kysely';
import type { Db } from '../../adapters/db/database.ts';
import { migrate } from '../../adapters/db/migrations.ts';
import type { RecordedEvent } from '../../adapters/eventstore/port.ts';
import { poolStockProjection } from '../../projections/pool-stock.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../support/services.ts';

// The projection folds a batch in memory (rebuild speed); whatever the batching, the tables must be the
// ones applying the events one at a time gives.
const devices = ['d1', 'd2', 'd3'];
const step = fc.record({
  kind: fc.constantFrom('register', 'register-private', 'online', 'offline', 'offline', 'retire'),
  device: fc.constantFrom(...devices),
});

function toEvents(steps: Array<{ kind: string; device: string }>): RecordedEvent[] {
  return steps.map(({ kind, device }, i) => {
    const at = new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString();
    const base = { id: `e${i}`, streamId: `device-${device}`, revision: BigInt(i), position: BigInt(i), metadata: {}, createdAt: at } as const;
    switch (kind) {
      case 'register':
      case 'register-private':
        return { ...base, type: 'DeviceRegistered', data: { deviceId: device, name: device, countryCode: 'US', carrier: { name: 'T-Mobile' }, region: null, city: null, upstream: 'http://h:1', slots: 1, tiers: kind === 'register' ? ['shared', 'private'] : ['private'], registeredAt: at } };
      case 'retire':
        return { ...base, type: 'DeviceRetired', data: { deviceId: device, retiredAt: at } };
      default:
        return { ...base, type: 'DeviceHealthReported', data: { deviceId: device, online: kind === 'online', latencyMs: null, ip: null, reportedAt: at } };
    }
  }) as unknown as RecordedEvent[];
}

async function tables(db: Db) {
  const rows = await sql<Record<string, unknown>>`select device_id, pool, country_code, carrier, online, active from pool_stock_devices order by device_id`.execute(db);
  const spans = await sql<Record<string, unknown>>`select device_id, started_at::text, ended_at::text from pool_offline_spans order by device_id, started_at`.execute(db);
  return { devices: rows.rows, spans: spans.rows };
}

async function reset(db: Db) {
  await sql`delete from pool_stock_devices`.execute(db);
  await sql`delete from pool_offline_spans`.execute(db);
}

for (const kind of await databaseKinds()) {
  describe(`pool-stock projection: a folded batch equals one event at a time (${kind})`, function () {
    this.timeout(120_000);
    let t: TestDatabase;
    before(async () => {
      t = await createTestDatabase(kind);
      await migrate(t.database.db, poolStockProjection.migrations);
    });
    after(() => t?.dispose());

    it('for random histories of registrations, health flaps and retirements, cut into random batches', async () => {
      const db = t.database.db;
      await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 40 }), async (steps, cut) => {
        const events = toEvents(steps);
        await reset(db);
        for (const e of events) await db.transaction().execute((trx) => poolStockProjection.apply(trx, [e]));
        const oneByOne = await tables(db);
        await reset(db);
        for (let i = 0; i < events.length; i += cut) {
          await db.transaction().execute((trx) => poolStockProjection.apply(trx, events.slice(i, i + cut)));
        }
        expect(await tables(db)).to.deep.equal(oneByOne);
      }), { numRuns: kind === 'pglite' ? 40 : 80, seed: 7 });
    });
  });
}
