import { randomUUID } from 'node:crypto';
import type { EventStore } from '../../adapters/eventstore/port.ts';
import { deviceStreamId, type FleetEvent } from '../../domain/fleet/events.ts';
import { meta } from './events.ts';

/** A deterministic history: `devices` registrations, then `reports` health reports spread over them. */
export async function appendFleetBacklog(store: EventStore, devices: number, reports: number): Promise<bigint> {
  const ids = Array.from({ length: devices }, () => randomUUID());
  const registered: FleetEvent[] = ids.map((deviceId, i) => ({
    type: 'DeviceRegistered',
    data: {
      deviceId, name: `modem-${i}`, countryCode: ['US', 'DE', 'GB', 'PL'][i % 4]!, carrier: { name: `Carrier ${i % 3}`, brand: `C${i % 3}` },
      region: null, city: null, upstream: `http://u:p@10.0.0.${i % 250}:8080`, slots: 1 + (i % 3), tiers: ['shared', 'private'],
      registeredAt: `2026-11-01T00:00:${String(i % 60).padStart(2, '0')}.000Z`,
    },
  }));
  let last = 0n;
  for (const [i, event] of registered.entries()) {
    last = (await store.append(deviceStreamId(ids[i]!), [{ ...event, metadata: meta('seed') }], { expectedRevision: 'no_stream' })).position;
  }
  // Several reports per append keep seeding fast while still spreading them over many batches.
  for (let r = 0; r < reports; r += 10) {
    const deviceId = ids[(r / 10) % devices]!;
    const events = Array.from({ length: Math.min(10, reports - r) }, (_, k) => ({
      type: 'DeviceHealthReported',
      data: { deviceId, online: (r + k) % 3 !== 0, latencyMs: (r + k) % 500, ip: `100.64.0.${(r + k) % 250}`, reportedAt: `2026-11-02T00:00:00.${String((r + k) % 1000).padStart(3, '0')}Z` },
      metadata: meta('probe'),
    }));
    last = (await store.append(deviceStreamId(deviceId), events, { expectedRevision: 'any' })).position;
  }
  return last;
}
