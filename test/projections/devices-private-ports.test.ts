import { expect } from 'chai';
import fc from 'fast-check';
import { sql } from 'kysely';
import type { Db } from '../../adapters/db/database.ts';
import { migrate } from '../../adapters/db/migrations.ts';
import type { RecordedEvent } from '../../adapters/eventstore/port.ts';
import { devicesProjection } from '../../projections/devices.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../support/services.ts';

// The devices read model recounts a device's private ports only when a private slot came or went (a shared
// purchase, the common case, costs no statement for it), and counts slots without reading the row when a device
// only took or gave back slots in a batch. Whatever the mix and the batching, the counts must be the slots the
// device holds, which is what keeps shared buyers off a privately held modem and off a full one.
const devices = ['d1', 'd2'];
const ports = ['p1', 'p2', 'p3', 'p4'];
// a health report now and then: a batch that mixes one with slot events folds that device's row instead
const step = fc.record({ device: fc.constantFrom(...devices), port: fc.constantFrom(...ports), tier: fc.constantFrom('shared', 'private'), health: fc.boolean() });
type Step = { device: string; port: string; tier: string; health: boolean };

/** Each step allocates the port when it is free and releases it when held (on its device). */
function toEvents(steps: Step[]): { events: RecordedEvent[]; held: Map<string, { device: string; tier: string }> } {
  const at = (i: number) => new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString();
  let position = 0n;
  const event = (type: string, data: object): RecordedEvent => {
    position++;
    return { id: `e${position}`, streamId: 's', revision: 0n, position, type, data, metadata: {} } as unknown as RecordedEvent;
  };
  const events = devices.map((deviceId, i) => event('DeviceRegistered', {
    deviceId, name: deviceId, countryCode: 'US', carrier: { name: 'C', brand: 'C' }, region: null, city: null,
    upstream: 'http://127.0.0.1:9', slots: 8, tiers: ['shared', 'private'], registeredAt: at(i),
  }));
  const held = new Map<string, { device: string; tier: string }>();
  steps.forEach(({ device, port, tier, health }, i) => {
    if (health) {
      events.push(event('DeviceHealthReported', { deviceId: device, online: true, latencyMs: i, ip: null, reportedAt: at(100 + i) }));
      return;
    }
    const holder = held.get(port);
    if (holder) {
      held.delete(port);
      events.push(event('DeviceSlotReleased', { deviceId: holder.device, portId: port, releasedAt: at(100 + i) }));
    } else {
      held.set(port, { device, tier });
      events.push(event('DeviceSlotAllocated', { deviceId: device, portId: port, sessionId: `s-${port}`, holderKind: 'session', tier, allocatedAt: at(100 + i) }));
    }
  });
  return { events, held };
}

for (const kind of await databaseKinds()) {
  describe(`devices projection: private ports counted in any batching (${kind})`, function () {
    this.timeout(120_000);
    let t: TestDatabase;
    before(async () => {
      t = await createTestDatabase(kind);
      await migrate(t.database.db, devicesProjection.migrations);
    });
    after(() => t?.dispose());

    it('for random private and shared slots taken and given back, cut into random batches', async () => {
      const db = t.database.db;
      await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 30 }), fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 40 }), async (steps, cuts) => {
        await sql`delete from fleet_slots`.execute(db);
        await sql`delete from fleet_devices`.execute(db);
        const { events, held } = toEvents(steps);
        for (let at = 0, c = 0; at < events.length; c++) {
          const size = cuts[c % cuts.length]!;
          await db.transaction().execute((trx: Db) => devicesProjection.apply(trx, events.slice(at, at + size)));
          at += size;
        }
        const rows = await sql<{ device_id: string; private_ports: number; allocated_slots: number }>`select device_id, private_ports, allocated_slots from fleet_devices order by device_id`.execute(db);
        const expected = devices.map((d) => ({
          device_id: d,
          private_ports: [...held.values()].filter((h) => h.device === d && h.tier === 'private').length,
          allocated_slots: [...held.values()].filter((h) => h.device === d).length,
        }));
        expect(rows.rows).to.deep.equal(expected);
      }), { numRuns: 60 });
    });
  });
}
