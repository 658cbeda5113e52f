/**
 * npm run bench:store — event store and projector throughput, PostgreSQL and PGlite side by side.
 *   append_eps    one writer, one event per append
 *   append16_eps  16 concurrent writers, one event per append
 *   rebuild_eps   devices read model rebuilt from >= 200k events
 * PostgreSQL comes from BENCH_DATABASE_URL / TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres);
 * a scratch database is created and dropped. The last line carries the PostgreSQL figures.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { openPglite, openPostgres, type Database } from '../adapters/db/database.ts';
import type { EventStore, NewEvent } from '../adapters/eventstore/port.ts';
import { PostgresEventStore } from '../adapters/eventstore/postgres.ts';
import { deviceStreamId } from '../domain/fleet/events.ts';
import { projections } from '../projections/index.ts';
import { Projector } from '../src/projector/projector.ts';

const APPENDS_SINGLE = Number(process.env.BENCH_APPENDS ?? 3000);
const WRITERS = 16;
const APPENDS_PER_WRITER = Number(process.env.BENCH_APPENDS_PER_WRITER ?? 400);
const REBUILD_EVENTS = Number(process.env.BENCH_REBUILD_EVENTS ?? 200_000);
const DEVICES = 1000;

const metadata = () => ({ correlationId: randomUUID(), causationId: null, actor: 'bench', occurredAt: new Date().toISOString() });
const report = (deviceId: string, i: number): NewEvent => ({
  type: 'DeviceHealthReported',
  data: { deviceId, online: i % 5 !== 0, latencyMs: i % 700, ip: `100.64.${(i >> 8) & 255}.${i & 255}`, reportedAt: new Date(1_790_000_000_000 + i).toISOString() },
  metadata: metadata(),
});

async function measureAppends(store: EventStore, writers: number, perWriter: number): Promise<number> {
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    for (let i = 0; i < perWriter; i++) {
      const deviceId = `w${w}-${i % 50}`;
      await store.append(deviceStreamId(deviceId), [report(deviceId, i)], { expectedRevision: 'any' });
    }
  }));
  return (writers * perWriter) / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function seedFleet(store: EventStore, total: number): Promise<number> {
  const ids = Array.from({ length: DEVICES }, () => randomUUID());
  let written = 0;
  for (const [i, deviceId] of ids.entries()) {
    await store.append(deviceStreamId(deviceId), [{
      type: 'DeviceRegistered',
      data: { deviceId, name: `modem-${i}`, countryCode: ['US', 'DE', 'GB', 'FR', 'ES', 'PL'][i % 6]!, carrier: { name: `Carrier ${i % 7}`, brand: `C${i % 7}` }, region: null, city: null, upstream: `http://u:p@10.1.${i >> 8}.${i & 255}:8080`, slots: 2, tiers: ['shared', 'private'], registeredAt: new Date(1_790_000_000_000).toISOString() },
      metadata: metadata(),
    }], { expectedRevision: 'no_stream' });
    written++;
  }
  // Bulk history: 500 reports per append keeps seeding quick; the rebuild still sees every event.
  for (let batch = 0; written < total; batch++) {
    const deviceId = ids[batch % DEVICES]!;
    const n = Math.min(500, total - written);
    await store.append(deviceStreamId(deviceId), Array.from({ length: n }, (_, k) => report(deviceId, written + k)), { expectedRevision: 'any' });
    written += n;
  }
  return written;
}

interface Figures { append: number; append16: number; rebuild: number; rebuilt: number }

async function run(name: string, database: Database): Promise<Figures> {
  const store = await PostgresEventStore.open(database);
  try {
    process.stderr.write(`${name}: appends, 1 writer…\n`);
    const append = await measureAppends(store, 1, APPENDS_SINGLE);
    process.stderr.write(`${name}: appends, ${WRITERS} writers…\n`);
    const append16 = await measureAppends(store, WRITERS, APPENDS_PER_WRITER);
    process.stderr.write(`${name}: seeding ${REBUILD_EVENTS} fleet events…\n`);
    await seedFleet(store, REBUILD_EVENTS);
    const projector = new Projector(database.db, store, projections);
    await projector.migrate();
    process.stderr.write(`${name}: rebuilding devices…\n`);
    const [result] = await projector.rebuild(['devices']);
    return { append, append16, rebuild: (result!.applied / result!.ms) * 1000, rebuilt: result!.applied };
  } finally {
    await store.close();
  }
}

const adminUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const scratch = `bench_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`create database ${scratch}`);
let postgres: Figures;
let pglite: Figures;
try {
  const url = new URL(adminUrl);
  url.pathname = `/${scratch}`;
  const database = await openPostgres(url.toString(), { poolSize: WRITERS + 4 });
  try { postgres = await run('postgres', database); } finally { await database.close(); }
} finally {
  await new Promise((r) => setTimeout(r, 200));
  await admin.query(`drop database if exists ${scratch} with (force)`);
  await admin.end();
}
{
  const database = await openPglite();
  try { pglite = await run('pglite', database); } finally { await database.close(); }
}

const f = (n: number) => Math.round(n).toLocaleString('en-US').padStart(10);
const r = (a: number, b: number) => (a / b).toFixed(2).padStart(10);
console.log(`\n${''.padEnd(22)}${'postgres'.padStart(10)}${'pglite'.padStart(10)}${'pglite/pg'.padStart(10)}`);
console.log(`${'append_eps (1 writer)'.padEnd(22)}${f(postgres.append)}${f(pglite.append)}${r(pglite.append, postgres.append)}`);
console.log(`${`append${WRITERS}_eps`.padEnd(22)}${f(postgres.append16)}${f(pglite.append16)}${r(pglite.append16, postgres.append16)}`);
console.log(`${'rebuild_eps'.padEnd(22)}${f(postgres.rebuild)}${f(pglite.rebuild)}${r(pglite.rebuild, postgres.rebuild)}`);
console.log(`${WRITERS} writers / 1 writer: postgres ${r(postgres.append16, postgres.append)}x, pglite ${r(pglite.append16, pglite.append)}x; events rebuilt: ${postgres.rebuilt}`);
console.log(`targets (2 cores): append16 >= 5,000/s ${postgres.append16 >= 5000 ? 'met' : 'NOT met'}; rebuild >= 20,000/s ${postgres.rebuild >= 20_000 ? 'met' : 'NOT met'}`);
console.log(`append_eps=${Math.round(postgres.append)} append16_eps=${Math.round(postgres.append16)} rebuild_eps=${Math.round(postgres.rebuild)}`);
