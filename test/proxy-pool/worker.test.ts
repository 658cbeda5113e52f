import { expect } from 'chai';
import net from 'node:net';
import { fixedClock } from '../../src/clock.ts';
import { CheckerRunner } from '../../src/proxy-pool/checker-runner.ts';
import { expireLeases } from '../../src/proxy-pool/leases.ts';
import { poolContext } from '../../src/proxy-pool/context.ts';
import { SourceScheduler } from '../../src/proxy-pool/scheduler.ts';
import { api, startTestService } from '../support/service.ts';
import { databaseKinds } from '../support/services.ts';
import { startListServer } from '../support/list-server.ts';
import { deadPort } from '../support/real-proxies.ts';

/** The worker's parts driven by hand: bounded concurrency, dead-proxy back-off, the cron scheduler. */
describe('proxy pool worker: checker runner and scheduler', function () {
  this.timeout(60_000);
  const clock = fixedClock('2026-11-20T12:00:00.000Z');
  let service: Awaited<ReturnType<typeof startTestService>>;
  let bearer: Record<string, string>;
  let lists: Awaited<ReturnType<typeof startListServer>>;
  const holders: net.Server[] = [];
  let open = 0;
  let peak = 0;

  before(async () => {
    service = await startTestService((await databaseKinds())[0]!, clock, {
      ROLES: 'api,projector', POOL_ALLOWED_PRIVATE_CIDRS: '127.0.0.0/8', POOL_CHECK_CONCURRENCY: '4', POOL_CHECK_TIMEOUT_MS: '300',
      POOL_RECHECK_DEAD_BASE_SECONDS: '60', POOL_RECHECK_DEAD_MAX_SECONDS: '200',
    });
    const reg = await api(service.url, 'POST', '/auth/register', { email: 'w@example.com', display_name: 'W' });
    bearer = { authorization: `Bearer ${reg.body.api_key.key}` };
    // Twelve "proxies" that accept and then say nothing: every check holds its connection until the timeout.
    const ports: number[] = [];
    for (let i = 0; i < 12; i++) {
      const s = net.createServer((socket) => { open++; peak = Math.max(peak, open); socket.resume(); socket.on('close', () => { open--; }); socket.on('error', () => {}); });
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
      holders.push(s);
      ports.push((s.address() as net.AddressInfo).port);
    }
    const dead = await deadPort();
    lists = await startListServer({
      '/silent.txt': { type: 'text/plain', body: ports.map((p) => `127.0.0.1:${p}`).join('\n') },
      '/dead.txt': { type: 'text/plain', body: `127.0.0.1:${dead}\n` },
    });
  });
  after(async () => {
    await service?.stop();
    await lists?.stop();
    for (const s of holders) { s.close(); }
  });

  const addAndScrape = async (path: string, cron: string | null = '0 0 1 1 *') => {
    const src = await api(service.url, 'POST', '/sources', { url: `${lists.base}${path}`, parser_name: 'plaintext', cron_schedule: cron }, bearer);
    expect(src.status, JSON.stringify(src.body)).to.equal(201);
    return src.body.id as string;
  };

  it('keeps at most POOL_CHECK_CONCURRENCY checks in flight', async () => {
    const id = await addAndScrape('/silent.txt');
    await api(service.url, 'POST', `/sources/${id}/scrape`, {}, bearer);
    const runner = new CheckerRunner(poolContext(service.infra), () => `${service.url}/judge`);
    const checked = await runner.runOnce();
    expect(checked).to.equal(12);
    expect(runner.maxInFlight).to.equal(4);
    // Seen from the proxies' side: a check's sockets are sequential, so four checks hold at most ~four
    // connections (a closing tcp_connect socket may overlap the next attempt for an instant).
    expect(peak).to.be.within(3, 8);
    const res = await api(service.url, 'GET', '/proxies?status=dead&limit=200', undefined, bearer);
    expect(res.body.total_count).to.equal(12);
    const detail = await api(service.url, 'GET', `/proxies/${res.body.items[0].id}`, undefined, bearer);
    expect(detail.body.recent_checks.map((c: any) => [c.checker_name, c.passed])).to.deep.equal([['protocol', false], ['tcp_connect', true]]);
  });

  it('re-checks dead proxies with back-off: 60 s, 120 s, then the 200 s ceiling', async () => {
    const db = service.infra.database.db;
    await db.deleteFrom('pp_proxies').execute(); // only the dead one from here on
    const id = await addAndScrape('/dead.txt');
    await api(service.url, 'POST', `/sources/${id}/scrape`, {}, bearer);
    const runner = new CheckerRunner(poolContext(service.infra), () => `${service.url}/judge`);
    const nextCheck = async () => {
      const row = await db.selectFrom('pp_proxies').select(['next_check_at', 'consecutive_failures']).executeTakeFirstOrThrow();
      return { inSeconds: (new Date(row.next_check_at).getTime() - clock.now().getTime()) / 1000, failures: row.consecutive_failures };
    };
    expect(await runner.runOnce()).to.equal(1);
    expect(await nextCheck()).to.deep.equal({ inSeconds: 60, failures: 1 });
    expect(await runner.runOnce()).to.equal(0); // not due yet
    clock.advance(60_000);
    expect(await runner.runOnce()).to.equal(1);
    expect(await nextCheck()).to.deep.equal({ inSeconds: 120, failures: 2 });
    clock.advance(120_000);
    await runner.runOnce();
    expect(await nextCheck()).to.deep.equal({ inSeconds: 200, failures: 3 });
  });

  it('the sweep expires leases whose time is up and takes back a lease that never got its debit', async () => {
    const ctx = poolContext(service.infra);
    const at = clock.now().toISOString();
    const proxy = { ip: '127.0.0.1', port: 1, protocol: 'http', country: null, anonymity: null };
    const meta = { correlationId: 't', causationId: null, actor: 'test', occurredAt: at };
    // As a crash between the lease and the debit would leave it: a lease, no PoolCreditDebited.
    const leased = (leaseId: string, proxyId: string, expiresAt: string) => service.infra.store.append(`pp-lease-${proxyId}`, [{
      type: 'PoolProxyLeased', data: { leaseId, proxyId, userId: 'u1', proxy, leasedAt: at, expiresAt }, metadata: meta,
    }], { expectedRevision: 'no_stream' });
    await leased('01a00000-0000-7000-8000-000000000001', 'p-unpaid', new Date(clock.now().getTime() + 3_600_000).toISOString());
    const r = await leased('01a00000-0000-7000-8000-000000000002', 'p-short', new Date(clock.now().getTime() + 30_000).toISOString());
    await service.infra.projector.waitFor(r.position, ['pp-leases'], 5000);
    expect(await expireLeases(ctx)).to.deep.equal({ expired: 0, cancelled: 0 }); // within the grace period
    clock.advance(61_000);
    const swept = await expireLeases(ctx);
    // the short one expired; its missing debit no longer matters once it is not active
    expect(swept.expired).to.equal(1);
    await new Promise((res) => setTimeout(res, 300));
    const rows = await service.infra.database.db.selectFrom('pp_leases').select(['proxy_id', 'status']).orderBy('proxy_id').execute();
    expect(rows).to.deep.equal([{ proxy_id: 'p-short', status: 'expired' }, { proxy_id: 'p-unpaid', status: 'cancelled' }]);
  });

  it('scrapes active sources on their cron schedule and forgets deleted ones', async () => {
    const id = await addAndScrape('/dead.txt', '* * * * * *'); // croner's seconds field: every second
    const scheduler = new SourceScheduler(poolContext(service.infra));
    await scheduler.reconcile();
    expect(scheduler.scheduled).to.include(id);
    const hitsBefore = lists.hits.length;
    await new Promise((r) => setTimeout(r, 2500));
    expect(lists.hits.length - hitsBefore).to.be.at.least(1);
    expect(scheduler.scrapes).to.be.at.least(1);
    const source = await api(service.url, 'GET', `/sources/${id}`, undefined, bearer);
    expect(source.body.last_scraped_at).to.be.a('string');
    await api(service.url, 'PATCH', `/sources/${id}`, { is_active: false }, bearer);
    await scheduler.reconcile();
    expect(scheduler.scheduled).not.to.include(id);
    scheduler.stop();
  });
});
