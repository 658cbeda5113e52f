import { expect } from 'chai';
import fc from 'fast-check';
import { sql } from 'kysely';
import type { Db } from '../../adapters/db/database.ts';
import { migrate } from '../../adapters/db/migrations.ts';
import type { RecordedEvent } from '../../adapters/eventstore/port.ts';
import { accountNotificationsProjection } from '../../projections/account-notifications.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../support/services.ts';

// The projection reads the ports of flapping devices once per batch (rebuild speed); whatever the
// batching, and with ports created, moved and deleted between the reports, the notices raised must be the
// ones applying the events one at a time gives.
const devices = ['d1', 'd2'];
const ports = ['p1', 'p2', 'p3'];
const step = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constantFrom('online', 'offline'), device: fc.constantFrom(...devices) }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constantFrom('create', 'create', 'rotate', 'delete'), device: fc.constantFrom(...devices), port: fc.constantFrom(...ports) }), weight: 1 },
);
type Step = { kind: string; device: string; port?: string };

function toEvents(steps: Step[]): RecordedEvent[] {
  return steps.map(({ kind, device, port }, i) => {
    const at = new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString();
    const base = { id: `e${i}`, streamId: `s-${i}`, revision: 0n, position: BigInt(i + 1), metadata: {}, createdAt: at } as const;
    switch (kind) {
      case 'create':
        return { ...base, type: 'AccountPortCreated', data: { portId: port, accountId: 'a1', name: port, displayName: `Port ${port}`, slotType: 'shared', deviceId: device, countryCode: 'US', carrierId: null, cityId: null, createdAt: at } };
      case 'rotate':
        return { ...base, type: 'AccountPortRotated', data: { portId: port, accountId: 'a1', toDeviceId: device } };
      case 'delete':
        return { ...base, type: 'AccountPortDeleted', data: { portId: port, accountId: 'a1', deviceId: device, reason: 'deleted', deletedAt: at } };
      default:
        return { ...base, type: 'DeviceHealthReported', data: { deviceId: device, online: kind === 'online', latencyMs: null, ip: null, reportedAt: at } };
    }
  }) as unknown as RecordedEvent[];
}

const TABLES = ['account_notifications', 'account_notice_ports', 'account_notice_devices', 'account_notice_traffic'];
async function tables(db: Db) {
  const notices = await sql<Record<string, unknown>>`select notification_id, account_id, kind, entity_id, position::text from account_notifications order by position, notification_id`.execute(db);
  const states = await sql<Record<string, unknown>>`select device_id, online from account_notice_devices order by device_id`.execute(db);
  return { notices: notices.rows, devices: states.rows };
}
async function reset(db: Db) {
  for (const table of TABLES) await sql`delete from ${sql.table(table)}`.execute(db);
}

for (const kind of await databaseKinds()) {
  describe(`account-notifications projection: a batch equals one event at a time (${kind})`, function () {
    this.timeout(120_000);
    let t: TestDatabase;
    before(async () => {
      t = await createTestDatabase(kind);
      await migrate(t.database.db, accountNotificationsProjection.migrations);
    });
    after(() => t?.dispose());

    it('for random health flaps with ports created, rotated and deleted in between, cut into random batches', async () => {
      const db = t.database.db;
      let noticed = 0;
      await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 10, maxLength: 40, size: 'max' }), fc.integer({ min: 2, max: 40 }), async (steps, cut) => {
        const events = toEvents(steps);
        await reset(db);
        for (const e of events) await db.transaction().execute((trx) => accountNotificationsProjection.apply(trx, [e]));
        const oneByOne = await tables(db);
        noticed += oneByOne.notices.length;
        await reset(db);
        for (let i = 0; i < events.length; i += cut) {
          await db.transaction().execute((trx) => accountNotificationsProjection.apply(trx, events.slice(i, i + cut)));
        }
        expect(await tables(db)).to.deep.equal(oneByOne);
      }), { numRuns: kind === 'pglite' ? 40 : 80, seed: 11 });
      expect(noticed, 'the histories raised port notices').to.be.greaterThan(100);
    });
  });
}
