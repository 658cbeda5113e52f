import type { Db } from '../adapters/db/database.ts';
import type { Migration } from '../adapters/db/migrations.ts';
import type { RecordedEvent } from '../adapters/eventstore/port.ts';

/**
 * A read model: the tables it owns (its migrations), the event types it consumes, and how it applies
 * a batch of them inside the transaction the projector opens (which also moves its checkpoint).
 */
export interface Projection {
  name: string;
  eventTypes: readonly string[];
  migrations: readonly Migration[];
  /** Emptied by a rebuild. */
  tables: readonly string[];
  apply(trx: Db, events: RecordedEvent[]): Promise<void>;
}
