import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import pino from 'pino';
import { fixedClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startService, type Running } from '../../src/server.ts';
import { ADMIN_KEY, api } from '../support/service.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../support/services.ts';

/**
 * Issue #8 item 6: a failed append used to log the whole event (the database error's `params`) and request
 * URLs with their query. The service's own logger, writing to a file, is grepped after appends fail.
 */
for (const kind of await databaseKinds()) {
  describe(`logs carry no event data and no query parameters (${kind})`, () => {
    let t: TestDatabase;
    let running: Running;
    let dir: string;
    let logFile: string;

    before(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'pmx-log-'));
      logFile = path.join(dir, 'service.log');
      t = await createTestDatabase(kind);
      const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', ADMIN_API_KEY: ADMIN_KEY, ROLES: 'api,projector', DATA_DIR: dir, LOG_LEVEL: 'info' });
      running = await startService(config, fixedClock('2026-11-20T10:00:00.000Z'), createLogger('info', pino.destination({ dest: logFile, sync: true })), { database: t.database });
      // every append from now on fails inside the database, the way a constraint or encoding error does
      await sql`create function pmx_refuse() returns trigger language plpgsql as $$ begin raise exception 'append refused by test trigger'; end $$`.execute(t.database.db);
      await sql`create trigger pmx_refuse before insert on es_events for each row execute function pmx_refuse()`.execute(t.database.db);
    });
    after(async () => {
      await running?.stop();
      await t?.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    it('a failing append answers 500 and its log line has neither the event nor the query', async () => {
      const res = await api(running.url!, 'POST', '/v1/admin/devices?trace=QUERY-MARKER-7f3a&sig=s3cr3t', {
        name: 'EVENT-MARKER-modem-9c1d', countryCode: 'US', carrier: { name: 'CARRIER-MARKER-b2e4', brand: 'T' },
        upstream: 'http://modem-user:MODEM-PASSWORD-4411@127.0.0.1:18080', resetUrl: 'https://farm:FARM-PASSWORD-8822@farm.example/reset?token=FARM-TOKEN-5533',
      }, { 'x-admin-key': ADMIN_KEY });
      expect(res.status).to.equal(500);
      expect(res.body.error.code).to.equal('INTERNAL');
      const log = readFileSync(logFile, 'utf8');
      const failure = log.split('\n').filter((l) => l.includes('request failed'));
      expect(failure, 'the failure is logged').to.have.length(1);
      expect(failure[0]).to.contain('append refused by test trigger'); // what went wrong is still there
      for (const marker of ['EVENT-MARKER', 'CARRIER-MARKER', 'MODEM-PASSWORD', 'FARM-PASSWORD', 'FARM-TOKEN', 'QUERY-MARKER', 's3cr3t', 'sealed:v1:', ADMIN_KEY]) {
        expect(log, `log contains ${marker}`).to.not.contain(marker);
      }
      const request = log.split('\n').find((l) => l.includes('"msg":"request"') && l.includes('/v1/admin/devices'));
      expect(JSON.parse(request!).url).to.equal('/v1/admin/devices?[query redacted]');
    });
  });
}
