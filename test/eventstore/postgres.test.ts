import { PostgresEventStore } from '../../adapters/eventstore/postgres.ts';
import { createTestDatabase, postgresAdminUrl } from '../support/services.ts';
import { eventStoreContract } from './contract.ts';

describe('event store contract: PGlite', () => {
  eventStoreContract(async () => {
    const t = await createTestDatabase('pglite');
    return { store: await PostgresEventStore.open(t.database), dispose: t.dispose };
  });
});

if (await postgresAdminUrl()) {
  describe('event store contract: PostgreSQL', () => {
    eventStoreContract(async () => {
      const t = await createTestDatabase('postgres');
      return { store: await PostgresEventStore.open(t.database), dispose: t.dispose };
    });
  });
} else {
  describe('event store contract: PostgreSQL', () => {
    it.skip('skipped: no PostgreSQL found (set TEST_DATABASE_URL or run a Docker engine)');
  });
}
