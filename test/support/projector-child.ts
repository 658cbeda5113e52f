// A projector in its own process, for the SIGKILL test. Each batch is slowed so the kill lands mid-run.
import { openPostgres } from '../../adapters/db/database.ts';
import { PostgresEventStore } from '../../adapters/eventstore/postgres.ts';
import { devicesProjection } from '../../projections/devices.ts';
import { Projector } from '../../src/projector/projector.ts';

const database = await openPostgres(process.env.CHILD_DATABASE_URL!);
const store = await PostgresEventStore.open(database);
const slow = {
  ...devicesProjection,
  async apply(trx: Parameters<typeof devicesProjection.apply>[0], events: Parameters<typeof devicesProjection.apply>[1]) {
    await devicesProjection.apply(trx, events);
    await new Promise((r) => setTimeout(r, 5));
  },
};
await new Projector(database.db, store, [slow], { database, maxBatch: Number(process.env.CHILD_MAX_BATCH ?? 20) }).start();
