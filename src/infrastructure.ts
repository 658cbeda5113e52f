import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { MemoryKeyValue } from '../adapters/cache/memory.ts';
import type { KeyValue } from '../adapters/cache/port.ts';
import { openPglite, openPostgres, type Database } from '../adapters/db/database.ts';
import { acquireLock } from '../adapters/db/lockfile.ts';
import type { EventStore } from '../adapters/eventstore/port.ts';
import { toPaymentConfig } from '../adapters/payments/config.ts';
import type { PaymentProcessor } from '../adapters/payments/port.ts';
import { PostgresEventStore } from '../adapters/eventstore/postgres.ts';
import { projections } from '../projections/index.ts';
import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import { AggregateCache } from './commands/aggregates.ts';
import { Projector } from './projector/projector.ts';
import type { Keyring } from '../adapters/secrets/keyring.ts';
import { loadKeyring } from './fleet/secrets.ts';

/** Everything with I/O, wired from config: the three runtime shapes of docs/architecture.md. */
export interface Infrastructure {
  config: Config;
  clock: Clock;
  logger: Logger;
  database: Database;
  store: EventStore;
  kv: KeyValue;
  projector: Projector;
  /** null when no payment network is configured. */
  payments: PaymentProcessor | null;
  /** In-process signals between roles of this process (e.g. the gateway hears of a regenerated password at once). */
  events: EventEmitter;
  /** Seals and opens device secrets (src/fleet/secrets.ts). */
  secrets: Keyring;
  /** The folds of streams this process last wrote, so its next command there needs no read (commands/handle.ts). */
  aggregates: AggregateCache;
  close(): Promise<void>;
}

/** `given` lets tests hand in a database they made (and will drop), or a payment processor. */
export async function openInfrastructure(config: Config, clock: Clock, logger: Logger, given: { database?: Database; payments?: PaymentProcessor } = {}): Promise<Infrastructure> {
  const closers: Array<() => Promise<void>> = [];
  try {
    const secrets = loadKeyring(config, logger);
    let database = given.database;
    if (!database && config.DATABASE_URL) database = await openPostgres(config.DATABASE_URL);
    if (!database) {
      const dir = embeddedDir(config.DATA_DIR);
      const unlock = acquireLock(`${dir}.lock`);
      closers.push(async () => unlock());
      database = await openPglite(dir);
    }
    if (!given.database) closers.push(() => database.close());
    // Clients of services that are not configured are not even loaded.
    const store: EventStore = config.EVENTSTORE_URL
      ? await (await import('../adapters/eventstore/eventstoredb.ts')).EventStoreDbEventStore.connect(config.EVENTSTORE_URL)
      : await PostgresEventStore.open(database);
    closers.push(() => store.close());
    const kv: KeyValue = config.REDIS_URL
      ? await (await import('../adapters/cache/redis.ts')).RedisKeyValue.connect(config.REDIS_URL)
      : new MemoryKeyValue(clock);
    closers.push(() => kv.close());
    const payments = given.payments ?? (await openPayments(config, clock));
    if (payments && !given.payments) closers.push(() => payments.close());
    const projector = new Projector(database.db, store, projections, { logger, database });
    await projector.migrate();
    logger.info({ database: database.kind, eventStore: store.kind, coordination: kv.kind }, 'infrastructure ready');
    return {
      config, clock, logger, database, store, kv, projector, payments, secrets, events: new EventEmitter().setMaxListeners(0), aggregates: new AggregateCache(),
      async close() {
        await projector.stop();
        for (const close of closers.reverse()) await close().catch((err) => logger.error({ err }, 'close failed'));
      },
    };
  } catch (error) {
    for (const close of closers.reverse()) await close().catch(() => {});
    throw error;
  }
}

async function openPayments(config: Config, clock: Clock): Promise<PaymentProcessor | null> {
  const paymentConfig = toPaymentConfig(config);
  if (!paymentConfig.base && !paymentConfig.solana) return null;
  const { createPaymentProcessor } = await import('../adapters/payments/processor.ts');
  return createPaymentProcessor(paymentConfig, { now: () => clock.now() });
}

function embeddedDir(dataDir: string): string {
  const dir = path.resolve(dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  return dir;
}
