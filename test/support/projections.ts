import { sql } from 'kysely';
import type { Db } from '../../adapters/db/database.ts';
import type { EventStore, RecordedEvent, SubscribeOptions, SubscriptionBatch } from '../../adapters/eventstore/port.ts';
import type { Projection } from '../../projections/projection.ts';

export interface RecorderOptions {
  types?: string[];
  /** Wait inside every batch (a slow read model). */
  slowMs?: number;
  /** Thrown while it returns true for an event of the batch (a failing read model). */
  failOn?: (event: RecordedEvent) => boolean;
}

/** A read model that records every event it is given, once per position (a repeat would break the primary key). */
export function recorder(name: string, options: RecorderOptions = {}): Projection & { attempts: number } {
  const table = `rec_${name.replaceAll('-', '_')}`;
  const projection = {
    name,
    eventTypes: options.types ?? ['Tick'],
    tables: [table],
    attempts: 0,
    migrations: [{
      id: `test-recorder/${name}`,
      async up(db: Db) {
        await sql`create table ${sql.table(table)} (position numeric(40) primary key, type text not null)`.execute(db);
      },
    }],
    async apply(trx: Db, events: RecordedEvent[]) {
      projection.attempts++;
      if (options.slowMs) await new Promise((r) => setTimeout(r, options.slowMs));
      const bad = options.failOn && events.find(options.failOn);
      if (bad) throw new Error(`${name} cannot take ${bad.type} at ${bad.position}`);
      await trx.insertInto(table).values(events.map((e) => ({ position: e.position.toString(), type: e.type }))).execute();
    },
  };
  return projection;
}

export async function recorded(db: Db, name: string): Promise<bigint[]> {
  const rows = await sql<{ position: string }>`select position::text as position from ${sql.table(`rec_${name.replaceAll('-', '_')}`)} order by position`.execute(db);
  return rows.rows.map((r) => BigInt(r.position));
}

/**
 * The store with its reads counted: how often each event was served to a reader, through subscriptions
 * or readAll. The projector's own reads are all the reads in a test that uses this.
 */
export function countingStore(inner: EventStore): EventStore & { served: Map<string, number>; subscriptions: number } {
  const served = new Map<string, number>();
  const count = (events: RecordedEvent[]) => { for (const e of events) served.set(e.id, (served.get(e.id) ?? 0) + 1); };
  const counting = {
    kind: inner.kind,
    served,
    subscriptions: 0,
    append: inner.append.bind(inner),
    readStream: inner.readStream.bind(inner),
    async *readAll(options?: { fromPosition?: bigint; maxCount?: number }) {
      for await (const e of inner.readAll(options)) {
        count([e]);
        yield e;
      }
    },
    subscribeToAll(options: SubscribeOptions, handler: (batch: SubscriptionBatch) => Promise<void>) {
      counting.subscriptions++;
      return inner.subscribeToAll(options, async (batch) => {
        count(batch.events);
        await handler(batch);
      });
    },
    headPosition: inner.headPosition.bind(inner),
    ping: inner.ping.bind(inner),
    close: inner.close.bind(inner),
  };
  return counting;
}
