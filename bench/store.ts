/**
 * npm run bench:store — event store and projector throughput, with pgbench as the anchor.
 *   append_eps     one writer, one event per append             vs pgbench, 1 client, a one-row INSERT
 *   append16_eps   16 concurrent writers, one event per append  vs pgbench, 16 clients, same INSERT
 *   rebuild_eps    every projection rebuilt together from >= 200k events ($all read once)
 * Ours and pgbench alternate on the same scratch database, in BENCH_ROUNDS short rounds each (mean of the rounds). PostgreSQL comes from
 * BENCH_DATABASE_URL / TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres); PGlite
 * runs the same appends and rebuild (BENCH_PGLITE=0 skips it). The last line carries the ratios.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { openPglite, openPostgres, type Database } from '../adapters/db/database.ts';
import type { EventStore, NewEvent } from '../adapters/eventstore/port.ts';
import { PostgresEventStore } from '../adapters/eventstore/postgres.ts';
import { deviceStreamId } from '../domain/fleet/events.ts';
import { projections } from '../projections/index.ts';
import { Projector } from '../src/projector/projector.ts';
import { countingStore } from '../test/support/projections.ts';

const WRITERS = 16;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
/** Rounds of pgbench then ours per figure, SECONDS split between them. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const REBUILD_EVENTS = Number(process.env.BENCH_REBUILD_EVENTS ?? 200_000);
const DEVICES = 1000;
const run = promisify(execFile);

const metadata = () => ({ correlationId: randomUUID(), causationId: null, actor: 'bench', occurredAt: new Date().toISOString() });
const report = (deviceId: string, i: number): NewEvent => ({
  type: 'DeviceHealthReported',
  data: { deviceId, online: i % 5 !== 0, latencyMs: i % 700, ip: `100.64.${(i >> 8) & 255}.${i & 255}`, reportedAt: new Date(1_790_000_000_000 + i).toISOString() },
  metadata: metadata(),
});

/** Appends one event per call from `writers` concurrent writers for SECONDS; events per second. */
async function measureAppends(store: EventStore, writers: number, seconds = SECONDS): Promise<number> {
  const until = performance.now() + seconds * 1000;
  let appended = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    for (let i = 0; performance.now() < until; i++) {
      const deviceId = `w${w}-${i % 50}`;
      await store.append(deviceStreamId(deviceId), [report(deviceId, i)], { expectedRevision: 'any' });
      appended++;
    }
  }));
  return appended / ((performance.now() - started) / 1000);
}

/** pgbench with a one-row INSERT of a comparable row (jsonb payload, bigserial key), its tps. */
async function pgbench(url: string, clients: number, dir: string, seconds = SECONDS): Promise<number> {
  const script = path.join(dir, 'insert.sql');
  const row = JSON.stringify(report('pgbench', 1).data).replaceAll("'", "''");
  writeFileSync(script, `insert into pgbench_events (stream_id, type, data) values ('device-pgbench', 'DeviceHealthReported', '${row}');\n`);
  const u = new URL(url);
  const { stdout } = await run('pgbench', ['-n', '-f', script, '-c', String(clients), '-j', String(Math.min(clients, 2)), '-T', String(Math.max(1, Math.round(seconds))),
    '-h', u.hostname, '-p', u.port || '5432', '-U', decodeURIComponent(u.username || 'postgres'), u.pathname.slice(1)], { env: { ...process.env, PGPASSWORD: decodeURIComponent(u.password) } });
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout) ?? /tps = ([\d.]+)/.exec(stdout);
  if (!tps) throw new Error(`pgbench printed no tps:\n${stdout}`);
  return Number(tps[1]);
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

async function rebuildAll(database: Database, store: EventStore): Promise<{ eps: number; events: number; projections: number }> {
  const counting = countingStore(store);
  const projector = new Projector(database.db, counting, projections, { database });
  await projector.migrate();
  let events = 0;
  for await (const _ of store.readAll()) events++;
  const started = performance.now();
  await projector.rebuild();
  const ms = performance.now() - started;
  const served = [...counting.served.values()].reduce((a, b) => a + b, 0);
  if (served !== events) throw new Error(`the rebuild read ${served} events for ${events} in the store: $all was not read once`);
  return { eps: (events / ms) * 1000, events, projections: projector.projections.length };
}

interface Figures { append: number; append16: number; pgbench1: number; pgbench16: number; rebuild: number; rebuilt: number; projections: number }

const adminUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const scratch = `bench_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`create database ${scratch}`);
const dir = mkdtempSync(path.join(tmpdir(), 'bench-store-'));
let postgres!: Figures;
try {
  const url = new URL(adminUrl);
  url.pathname = `/${scratch}`;
  const database = await openPostgres(url.toString(), { poolSize: WRITERS + 4 });
  try {
    const store = await PostgresEventStore.open(database);
    await database.db.schema.createTable('pgbench_events').addColumn('id', 'bigserial', (c) => c.primaryKey())
      .addColumn('stream_id', 'text', (c) => c.notNull()).addColumn('type', 'text', (c) => c.notNull()).addColumn('data', 'jsonb', (c) => c.notNull()).execute();
    try {
      process.stderr.write('postgres: warming up…\n');
      await measureAppends(store, WRITERS, 1);
      process.stderr.write('postgres: pgbench 1 client, ours 1 writer, pgbench 16 clients, ours 16 writers…\n');
      // Interleaved in short rounds: this machine's WAL flush time drifts from minute to minute, and a ratio
      // of two measurements taken a minute apart measured the drift as much as the store.
      const side = async (clients: number) => {
        const ours: number[] = [];
        const theirs: number[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          theirs.push(await pgbench(url.toString(), clients, dir, SECONDS / ROUNDS));
          ours.push(await measureAppends(store, clients, SECONDS / ROUNDS));
        }
        const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
        return { ours: mean(ours), theirs: mean(theirs) };
      };
      const one = await side(1);
      const sixteen = await side(WRITERS);
      const [pgbench1, append, pgbench16, append16] = [one.theirs, one.ours, sixteen.theirs, sixteen.ours];
      process.stderr.write(`postgres: seeding ${REBUILD_EVENTS} fleet events, then rebuilding every projection…\n`);
      await seedFleet(store, REBUILD_EVENTS);
      const rebuilt = await rebuildAll(database, store);
      postgres = { append, append16, pgbench1, pgbench16, rebuild: rebuilt.eps, rebuilt: rebuilt.events, projections: rebuilt.projections };
    } finally {
      await store.close();
    }
  } finally {
    await database.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  await new Promise((r) => setTimeout(r, 200));
  await admin.query(`drop database if exists ${scratch} with (force)`);
  await admin.end();
}

let pglite: { append: number; append16: number; rebuild: number } | undefined;
if (process.env.BENCH_PGLITE !== '0') {
  const database = await openPglite();
  try {
    const store = await PostgresEventStore.open(database);
    process.stderr.write('pglite: appends, then seeding and rebuilding…\n');
    const append = await measureAppends(store, 1);
    const append16 = await measureAppends(store, WRITERS);
    await seedFleet(store, REBUILD_EVENTS);
    pglite = { append, append16, rebuild: (await rebuildAll(database, store)).eps };
    await store.close();
  } finally {
    await database.close();
  }
}

const f = (n: number | undefined) => (n === undefined ? '-' : Math.round(n).toLocaleString('en-US')).padStart(12);
const r = (a: number, b: number) => (a / b).toFixed(2);
console.log(`\n${''.padEnd(26)}${'postgres'.padStart(12)}${'pgbench'.padStart(12)}${'ratio'.padStart(8)}${'pglite'.padStart(12)}`);
console.log(`${'append_eps (1 writer)'.padEnd(26)}${f(postgres.append)}${f(postgres.pgbench1)}${r(postgres.append, postgres.pgbench1).padStart(8)}${f(pglite?.append)}`);
console.log(`${`append${WRITERS}_eps`.padEnd(26)}${f(postgres.append16)}${f(postgres.pgbench16)}${r(postgres.append16, postgres.pgbench16).padStart(8)}${f(pglite?.append16)}`);
console.log(`${`rebuild_eps (${postgres.projections} projections)`.padEnd(26)}${f(postgres.rebuild)}${''.padStart(12)}${''.padStart(8)}${f(pglite?.rebuild)}`);
console.log(`rebuild: ${postgres.rebuilt} events, $all read once for all ${postgres.projections} projections`);
console.log(`targets: append_ratio >= 0.6 ${postgres.append / postgres.pgbench1 >= 0.6 ? 'met' : 'NOT met'}; append16_ratio >= 0.6 ${postgres.append16 / postgres.pgbench16 >= 0.6 ? 'met' : 'NOT met'}; rebuild >= 20,000/s ${postgres.rebuild >= 20_000 ? 'met' : 'NOT met'}`);
console.log(`append_ratio=${r(postgres.append, postgres.pgbench1)} append16_ratio=${r(postgres.append16, postgres.pgbench16)} append_eps=${Math.round(postgres.append)} pgbench1_tps=${Math.round(postgres.pgbench1)} append16_eps=${Math.round(postgres.append16)} pgbench16_tps=${Math.round(postgres.pgbench16)} rebuild_eps=${Math.round(postgres.rebuild)}`);
