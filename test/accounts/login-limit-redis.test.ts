import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { systemClock } from '../../src/clock.ts';
import { api, startTestService } from '../support/service.ts';

/** With REDIS_URL the sign-in failures are counted across API instances: failures on one block sign-in on the other. */
describe('sign-in rate limit shared through Redis (two API instances, one Redis)', function () {
  this.timeout(60_000);
  const redisUrl = process.env.TEST_REDIS_URL;
  const databaseUrl = process.env.TEST_DATABASE_URL;
  let a: Awaited<ReturnType<typeof startTestService>>;
  let b: Awaited<ReturnType<typeof startTestService>>;
  before(async function () {
    if (!redisUrl || !databaseUrl) this.skip();
    const env = { JWT_SECRET: 'x'.repeat(40), LOGIN_MAX_FAILURES: '3', REDIS_URL: redisUrl! };
    a = await startTestService('postgres', systemClock, env);
    b = await startTestService('postgres', systemClock, env);
  });
  after(async () => { await a?.stop(); await b?.stop(); });

  it('blocks the e-mail on the second instance after the limit is spent on the first', async () => {
    // a fresh address each run: the Redis counters outlive the test (15 minutes)
    const email = `limit-${randomBytes(6).toString('hex')}@example.com`;
    for (let i = 0; i < 3; i++) expect((await api(a.url, 'POST', '/v1/login/signin', { email, password: 'wrong password' })).status).to.equal(403);
    const blocked = await api(b.url, 'POST', '/v1/login/signin', { email, password: 'wrong password' });
    expect(blocked.status, JSON.stringify(blocked.body)).to.equal(429);
    expect(blocked.body.error.code).to.equal('TOO_MANY_LOGIN_ATTEMPTS');
  });
});
