import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import pino from 'pino';
import { newKeyText } from '../../adapters/secrets/keyring.ts';
import { fixedClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import { loadKeyring, openResetUrl, openUpstream } from '../../src/fleet/secrets.ts';
import { startService } from '../../src/server.ts';
import { ADMIN_KEY, api } from '../support/service.ts';
import { createTestDatabase, postgresAdminUrl } from '../support/services.ts';

const run = promisify(execFile);
const cli = (args: string[], env: Record<string, string>) =>
  run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env: { ...process.env, ...env }, maxBuffer: 16 << 20 });

/** Issue #8 item 6: sealing keys, the embedded default key file, and key rotation with `npm run cli -- reseal`. */
describe('device secrets at rest: sealing key and key rotation', function () {
  this.timeout(120_000);

  it('the embedded default generates a key into DATA_DIR on first start, says so, and reuses it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pmx-key-'));
    try {
      const said: string[] = [];
      const logger = { warn: (_o: object, m?: string) => said.push(m ?? ''), info: () => {} } as never;
      const first = loadKeyring(loadConfig({ DATA_DIR: dir }), logger);
      const file = path.join(dir, 'secrets.key');
      expect(readFileSync(file, 'utf8').trim()).to.match(/^[0-9a-f]{64}$/);
      expect(statSync(file).mode & 0o777).to.equal(0o600);
      expect(said).to.have.length(1);
      expect(said[0]).to.match(/generated a new sealing key/);
      const second = loadKeyring(loadConfig({ DATA_DIR: dir }), logger);
      expect(said).to.have.length(1); // said once, on the start that made it
      expect(second.open(first.seal('hello'))).to.equal('hello');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reseal moves every device to the new key; afterwards the old key is not needed, and no secret is ever in clear', async function () {
    if (!(await postgresAdminUrl())) this.skip();
    const t = await createTestDatabase('postgres');
    const dir = mkdtempSync(path.join(tmpdir(), 'pmx-reseal-'));
    const [oldKey, newKey] = [newKeyText(), newKeyText()];
    const start = (env: Record<string, string>) =>
      startService(loadConfig({ PORT: '0', HOST: '127.0.0.1', ADMIN_API_KEY: ADMIN_KEY, ROLES: 'api,projector', DATA_DIR: dir, LOG_LEVEL: 'silent', ...env }), fixedClock('2026-11-20T10:00:00.000Z'), pino({ level: 'silent' }), { database: t.database });
    try {
      let service = await start({ SECRETS_KEY: oldKey });
      const upstream = 'http://modem:MODEM-PW-7781@127.0.0.1:18080';
      const resetUrl = 'https://farm:FARM-PW-2231@farm.example/reset?token=FARM-TOKEN-9917';
      const created = await api(service.url!, 'POST', '/v1/admin/devices', { name: 'm1', countryCode: 'US', carrier: { name: 'T-Mobile USA', brand: 'T-Mobile' }, upstream, resetUrl }, { 'x-admin-key': ADMIN_KEY });
      expect(created.status).to.equal(201);
      const oldId = service.infra.secrets.primaryId;
      await service.stop();

      const env = { DATABASE_URL: t.url!, SECRETS_KEY: newKey, SECRETS_KEY_PREVIOUS: oldKey, DATA_DIR: dir, LOG_LEVEL: 'silent' };
      expect((await cli(['reseal'], env)).stdout).to.match(/^resealed 1 of 1 active devices under key [0-9a-f]{8}$/m);
      expect((await cli(['reseal'], env)).stdout).to.match(/^resealed 0 of 1/m); // already under the new key

      const exported = (await cli(['events', '--stream', `device-${created.body.id}`], env)).stdout;
      for (const secret of ['MODEM-PW', 'FARM-PW', 'FARM-TOKEN']) expect(exported).to.not.contain(secret);
      const lines = exported.trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.map((l) => l.type)).to.deep.equal(['DeviceRegistered', 'DeviceSecretsResealed']);
      expect(lines[0].data.upstream).to.match(new RegExp(`^http://modem:sealed:v1:${oldId}:`));
      expect(lines[1].data.resetUrl).to.match(/^sealed:v1:/);
      expect(lines[1].data.resetUrl).to.not.contain(oldId);

      // the new key alone opens what the read models hold now
      service = await start({ SECRETS_KEY: newKey });
      await service.infra.projector.waitFor(await service.infra.store.headPosition(), undefined, 5000);
      const row = await service.infra.database.db.selectFrom('fleet_devices').select(['upstream', 'reset_url']).executeTakeFirstOrThrow();
      expect(openUpstream(service.infra.secrets, row.upstream as string)).to.equal(upstream);
      expect(openResetUrl(service.infra.secrets, row.reset_url as string)).to.equal(resetUrl);
      const pool = await service.infra.database.db.selectFrom('pool_scores').select('upstream').executeTakeFirstOrThrow();
      expect(openUpstream(service.infra.secrets, pool.upstream as string)).to.equal(upstream);
      await service.stop();
    } finally {
      await t.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
