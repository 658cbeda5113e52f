import { spawn } from 'node:child_process';
import { expect } from 'chai';
import { sql } from 'kysely';
import type { Db } from '../../adapters/db/database.ts';
import { PostgresEventStore } from '../../adapters/eventstore/postgres.ts';
import { projections } from '../../projections/index.ts';
import { readCheckpoint } from '../../src/projector/checkpoints.ts';
import { Projector } from '../../src/projector/projector.ts';
import { appendFleetBacklog } from '../support/fleet-backlog.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../support/services.ts';

const snapshot = async (db: Db) => (await sql`select * from fleet_devices order by device_id`.execute(db)).rows;

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const kind of await databaseKinds()) {
  describe(`projector crash safety (${kind})`, function () {
    this.timeout(120_000);
    let t: TestDatabase;
    let store: PostgresEventStore;
    let head: bigint;

    beforeEach(async () => {
      t = await createTestDatabase(kind);
      store = await PostgresEventStore.open(t.database);
      head = await appendFleetBacklog(store, 40, 1500);
    });
    afterEach(async () => {
      await store.close();
      await t.dispose();
    });

    it('a transaction aborted between applying a batch and storing its checkpoint leaves the read model equal to a clean rebuild', async () => {
      const db = t.database.db;
      const first = new Projector(db, store, projections, { database: t.database, maxBatch: 50, retryDelayMs: 10 });
      await first.migrate();
      // The crash: once the projector is halfway, every checkpoint write fails after the batch was applied.
      const halfway = (await readAllPositions(store))[800]!;
      await sql.raw(`
        create function fail_checkpoint() returns trigger language plpgsql as $$
        begin
          if new.position > ${halfway} then raise exception 'simulated crash at checkpoint'; end if;
          return new;
        end $$`).execute(db);
      await sql.raw(`create trigger crash before update on projection_checkpoints for each row execute function fail_checkpoint();`).execute(db);
      await first.start();
      await waitUntil(async () => (await readCheckpoint(db, 'devices')) > 0n);
      await new Promise((r) => setTimeout(r, 300)); // several failed attempts at the same batch
      await first.stop();
      const stuckAt = await readCheckpoint(db, 'devices');
      expect(stuckAt <= halfway && stuckAt > 0n).to.equal(true);

      await sql`drop trigger crash on projection_checkpoints`.execute(db);
      const second = new Projector(db, store, projections, { database: t.database, maxBatch: 50 });
      await second.start();
      expect(await second.waitFor(head, undefined, 20_000)).to.equal(true);
      await second.stop();
      const resumed = await snapshot(db);

      await new Projector(db, store, projections, { database: t.database }).rebuild(['devices']);
      const rebuilt = await snapshot(db);
      expect(resumed).to.have.length(40);
      expect(resumed).to.deep.equal(rebuilt);
      const reports = rebuilt.reduce((sum: number, row: any) => sum + Number(row.health_reports), 0);
      expect(reports).to.equal(1500); // every report counted once
    });

    it('two projectors racing over the same read model never apply an event twice', async () => {
      const db = t.database.db;
      const a = new Projector(db, store, projections, { database: t.database, maxBatch: 7 });
      const b = new Projector(db, store, projections, { database: t.database, maxBatch: 11 });
      await Promise.all([a.start(), b.start()]);
      expect(await a.waitFor(head, undefined, 30_000)).to.equal(true);
      await Promise.all([a.stop(), b.stop()]);
      const raced = await snapshot(db);
      await a.rebuild(['devices']);
      expect(raced).to.deep.equal(await snapshot(db));
    });

    if (kind === 'postgres') {
      it('a projector process killed with SIGKILL mid-batch resumes to the same read model as a clean rebuild', async () => {
        const db = t.database.db;
        await new Projector(db, store, projections, { database: t.database }).migrate();
        const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/projector-child.ts'], {
          env: { ...process.env, CHILD_DATABASE_URL: t.url!, CHILD_MAX_BATCH: '20' },
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        const exited = new Promise((resolve) => child.once('exit', resolve));
        await waitUntil(async () => (await readCheckpoint(db, 'devices')) > 0n, 60_000);
        child.kill('SIGKILL');
        await exited;
        const killedAt = await readCheckpoint(db, 'devices');
        expect(killedAt < head, 'the child should not have finished before it was killed').to.equal(true);

        const resume = new Projector(db, store, projections, { database: t.database, maxBatch: 20 });
        await resume.start();
        expect(await resume.waitFor(head, undefined, 30_000)).to.equal(true);
        await resume.stop();
        const resumed = await snapshot(db);
        await resume.rebuild(['devices']);
        expect(resumed).to.deep.equal(await snapshot(db));
      });
    }
  });
}

async function readAllPositions(store: PostgresEventStore): Promise<bigint[]> {
  const positions: bigint[] = [];
  for await (const e of store.readAll()) positions.push(e.position);
  return positions;
}
