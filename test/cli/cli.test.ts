import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { openPglite, type Database } from '../../adapters/db/database.ts';
import { acquireLock } from '../../adapters/db/lockfile.ts';
import { PostgresEventStore } from '../../adapters/eventstore/postgres.ts';
import { projections } from '../../projections/index.ts';
import { Projector } from '../../src/projector/projector.ts';
import { appendFleetBacklog } from '../support/fleet-backlog.ts';
import { createTestDatabase, postgresAdminUrl } from '../support/services.ts';

const run = promisify(execFile);
const cli = (args: string[], env: Record<string, string>) =>
  run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env: { ...process.env, ...env, DATABASE_URL: env.DATABASE_URL ?? '' }, maxBuffer: 64 << 20 });

/** What the CLI is for, on each kind of database: audit export and rebuild from the shell. */
function cliSpec(open: () => Promise<{ env: Record<string, string>; database: Database; dispose(): Promise<void>; reopen?(): Promise<Database> }>) {
  it('exports a stream and $all as JSON lines and rebuilds the read model with a figure', async function () {
    this.timeout(90_000);
    const target = await open();
    let database = target.database;
    try {
      const store = await PostgresEventStore.open(database);
      await appendFleetBacklog(store, 5, 40);
      const all: string[] = [];
      const positions: string[] = [];
      for await (const e of store.readAll()) { all.push(`${e.streamId}:${e.revision}`); positions.push(e.position.toString()); }
      const projector = new Projector(database.db, store, projections);
      await projector.rebuild();
      const before = (await database.db.selectFrom('fleet_devices').selectAll().orderBy('device_id').execute());
      const stream = (await database.db.selectFrom('fleet_devices').select('device_id').orderBy('device_id').executeTakeFirstOrThrow()).device_id as string;
      await store.close();
      if (target.reopen) { await database.close(); }

      const exported = (await cli(['events', '--all', '--from', positions[10]!], target.env)).stdout.trim().split('\n').map((l) => JSON.parse(l));
      expect(exported.map((e) => `${e.streamId}:${e.revision}`)).to.deep.equal(all.slice(10));
      expect(exported[0]).to.have.keys('position', 'streamId', 'revision', 'id', 'type', 'data', 'metadata');
      expect(exported[0].position).to.equal(positions[10]);
      expect(exported[0].metadata).to.include.keys('correlationId', 'causationId', 'actor', 'occurredAt');

      const one = (await cli(['events', '--stream', `device-${stream}`], target.env)).stdout.trim().split('\n').map((l) => JSON.parse(l));
      expect(one.map((e) => e.revision)).to.deep.equal(one.map((_, i) => String(i)));
      expect(one.every((e) => e.streamId === `device-${stream}`)).to.equal(true);

      const rebuilt = await cli(['rebuild', '--projection', 'devices'], target.env);
      expect(rebuilt.stdout).to.match(/^rebuilt devices: 45 events in [\d.]+ s \(\d+ events\/s\)$/m);
      expect(rebuilt.stderr).to.match(/devices\s+\[#+\] 100% 45 events/);

      if (target.reopen) database = await target.reopen();
      const after = await database.db.selectFrom('fleet_devices').selectAll().orderBy('device_id').execute();
      expect(after).to.deep.equal(before);

      const bad = await cli(['rebuild', '--projection', 'nope'], target.env).catch((e) => e);
      expect(bad.code).to.equal(2);
      expect(bad.stderr).to.match(/unknown projection "nope"/);
      const usage = await cli(['events'], target.env).catch((e) => e);
      expect(usage.code).to.equal(2);
    } finally {
      await database.close().catch(() => {});
      await target.dispose();
    }
  });
}

describe('CLI (embedded PGlite in DATA_DIR)', () => {
  let dir: string;
  cliSpec(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pmx-cli-'));
    const pgliteDir = path.join(dir, 'pglite');
    return {
      env: { DATA_DIR: dir },
      database: await openPglite(pgliteDir),
      reopen: () => openPglite(pgliteDir),
      dispose: async () => rmSync(dir, { recursive: true, force: true }),
    };
  });

  it('refuses to open an embedded database another live process holds', async () => {
    const lockDir = mkdtempSync(path.join(tmpdir(), 'pmx-lock-'));
    try {
      const release = acquireLock(path.join(lockDir, 'pglite.lock'));
      expect(() => acquireLock(path.join(lockDir, 'pglite.lock'))).to.not.throw(); // same pid: ours
      release();
      const child = await run(process.execPath, ['-e', `require('fs').writeFileSync(${JSON.stringify(path.join(lockDir, 'pglite.lock'))}, String(process.ppid))`]);
      expect(child.stderr).to.equal('');
      const refused = await cli(['events', '--all'], { DATA_DIR: lockDir }).catch((e) => e);
      expect(refused.code).to.equal(1);
      expect(refused.stderr).to.match(/in use by process \d+/);
    } finally {
      rmSync(lockDir, { recursive: true, force: true });
    }
  });
});

if (await postgresAdminUrl()) {
  describe('CLI (PostgreSQL via DATABASE_URL)', () => {
    cliSpec(async () => {
      const t = await createTestDatabase('postgres');
      return { env: { DATABASE_URL: t.url! }, database: t.database, dispose: async () => {} };
    });
  });
}
