import { expect } from 'chai';
import { fixedClock } from '../../src/clock.ts';
import type { ProxyCheck } from '../../domain/proxy-pool/proxies.ts';
import { proxyIdOf } from '../../src/proxy-pool/sources.ts';
import { api, startTestService } from '../support/service.ts';
import { databaseKinds } from '../support/services.ts';

/**
 * GET /proxies over a pool made of recorded events: every filter and sort, and keyset cursors that
 * stay correct while proxies are added and re-scored between pages.
 */
describe('proxy pool queries: filters, sorts, cursors', function () {
  this.timeout(60_000);
  const clock = fixedClock('2026-11-20T12:00:00.000Z');
  let service: Awaited<ReturnType<typeof startTestService>>;
  let bearer: Record<string, string>;
  let n = 0;

  const discover = async (count: number) => {
    const proxies = Array.from({ length: count }, () => { n++; const ip = `10.${Math.floor(n / 250)}.${n % 250}.1`; return { proxyId: proxyIdOf(ip, 8080), ip, port: 8080, protocol: 'http' as const, username: null, password: null }; });
    const at = clock.now().toISOString();
    await service.infra.store.append(`pp-scrape-t${n}`, [{ type: 'PoolProxiesDiscovered', data: { scrapeId: `t${n}`, sourceId: 's', discoveredAt: at, proxies }, metadata: { correlationId: 't', causationId: null, actor: 'test', occurredAt: at } }], { expectedRevision: 'no_stream' });
    return proxies;
  };
  const check = async (checks: Array<Partial<ProxyCheck> & { proxyId: string }>) => {
    const at = clock.now().toISOString();
    const full = checks.map((c) => ({ checkedAt: at, passed: true, protocol: 'http', anonymity: 'elite', exitIp: null, country: 'US', latencyMs: 100, results: [], nextCheckAt: at, ...c }));
    const r = await service.infra.store.append(`pp-checks-t${Math.random()}`, [{ type: 'PoolProxiesChecked', data: { runId: 'r', checks: full }, metadata: { correlationId: 't', causationId: null, actor: 'test', occurredAt: at } }], { expectedRevision: 'no_stream' });
    await service.infra.projector.waitFor(r.position, ['pp-proxies', 'pp-checks'], 10_000);
  };
  const page = async (qs: string) => {
    const res = await api(service.url, 'GET', `/proxies?${qs}`, undefined, bearer);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return res.body;
  };
  const all = async (qs: string, limit = 17, between?: () => Promise<void>) => {
    const items: any[] = [];
    let cursor: string | null = null;
    let first = true;
    do {
      const body: any = await page(`${qs}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      items.push(...body.items);
      cursor = body.next_cursor;
      if (first && between) await between();
      first = false;
    } while (cursor);
    return items;
  };

  before(async () => {
    service = await startTestService((await databaseKinds())[0]!, clock, { ROLES: 'api,projector' }); // no checker: the test owns the checks
    const reg = await api(service.url, 'POST', '/auth/register', { email: 'q@example.com', display_name: 'Q' });
    bearer = { authorization: `Bearer ${reg.body.api_key.key}` };
    const proxies = await discover(100);
    // Varied numbers: latency 20..1000 ms, some dead, countries US/DE, protocols by index.
    await check(proxies.map((p, i) => ({ proxyId: p.proxyId, passed: i % 5 !== 0, latencyMs: 20 + ((i * 37) % 980), country: i % 2 ? 'DE' : 'US', protocol: (['http', 'https', 'socks4', 'socks5'] as const)[i % 4]!, anonymity: (['transparent', 'anonymous', 'elite'] as const)[i % 3]! })));
    clock.advance(10 * 60_000);
    await check(proxies.slice(0, 30).map((p, i) => ({ proxyId: p.proxyId, passed: i % 3 !== 0, latencyMs: 300 })));
  });
  after(async () => service?.stop());

  it('pages through everything once, in order, for every sort and order', async () => {
    const key: Record<string, (p: any) => number> = {
      score: (p) => p.score, latency: (p) => p.avg_latency_ms ?? 1e15, uptime: (p) => p.uptime_pct ?? -1, last_checked: (p) => Date.parse(p.last_checked_at),
    };
    for (const sort of ['score', 'latency', 'uptime', 'last_checked']) {
      for (const order of ['asc', 'desc']) {
        const items = await all(`sort=${sort}&order=${order}`);
        expect(items, `${sort} ${order}`).to.have.length(100);
        expect(new Set(items.map((p) => p.id)).size).to.equal(100);
        const values = items.map(key[sort]!);
        const sorted = [...values].sort((a, b) => (order === 'asc' ? a - b : b - a));
        expect(values, `${sort} ${order}`).to.deep.equal(sorted);
      }
    }
    const body = await page('limit=5');
    expect(body.total_count).to.equal(100);
    expect(body.items.map((p: any) => p.score)).to.deep.equal([...body.items.map((p: any) => p.score)].sort((a: number, b: number) => b - a)); // desc by default
  });

  it('keeps a walk correct while proxies are added and re-scored between pages', async () => {
    const before = await all('sort=score', 100);
    let rescored: string[] = [];
    const items = await all('sort=score', 10, async () => {
      await discover(15); // new proxies, unchecked (score 0: they sort last)
      const victims = before.slice(40, 45).map((p: any) => p.id);
      rescored = victims;
      await check(victims.map((proxyId: string) => ({ proxyId, passed: false })));
    });
    const ids = items.map((p) => p.id);
    expect(new Set(ids).size, 'no proxy twice').to.equal(ids.length);
    const untouched = before.map((p: any) => p.id).filter((id: string) => !rescored.includes(id));
    for (const id of untouched) expect(ids, 'every proxy that stayed put is seen').to.include(id);
    expect(items.filter((p) => p.status === 'unchecked')).to.have.length(15);
  });

  it('filters by every seed parameter', async () => {
    const every = await all('sort=score', 200);
    const count = async (qs: string) => (await page(`${qs}&limit=200`)).total_count;
    const expectCount = async (qs: string, pred: (p: any) => boolean) => expect(await count(qs), qs).to.equal(every.filter(pred).length).and.to.be.greaterThan(0);
    await expectCount('status=active', (p) => p.status === 'active');
    await expectCount('status=dead', (p) => p.status === 'dead');
    await expectCount('status=unchecked', (p) => p.status === 'unchecked');
    await expectCount('protocol=socks4', (p) => p.protocol === 'socks4');
    await expectCount('anonymity=elite', (p) => p.anonymity === 'elite');
    await expectCount('country=de', (p) => p.country === 'DE');
    await expectCount('min_score=0.8', (p) => p.score >= 0.8);
    await expectCount('max_latency_ms=300', (p) => p.avg_latency_ms !== null && p.avg_latency_ms <= 300);
    await expectCount('min_uptime_pct=60', (p) => p.uptime_pct !== null && p.uptime_pct >= 60);
    await expectCount('verified_within_minutes=5', (p) => p.last_checked_at && Date.parse(p.last_checked_at) >= clock.now().getTime() - 5 * 60_000);
    await expectCount('status=active&protocol=http&country=US', (p) => p.status === 'active' && p.protocol === 'http' && p.country === 'US');
  });

  it('keeps the newest 50 stage results per proxy', async () => {
    const id = (await page('sort=score&limit=1')).items[0].id;
    const results = Array.from({ length: 5 }, (_, i) => ({ checker_name: `c${i}`, stage: 1, passed: true, latency_ms: 1, detail: 'ok' }));
    for (let i = 0; i < 12; i++) await check([{ proxyId: id, results: results.map((r) => ({ ...r, detail: `run ${i}` })) }]);
    const detail = await api(service.url, 'GET', `/proxies/${id}`, undefined, bearer);
    expect(detail.body.recent_checks[0].detail).to.equal('run 11');
    const kept = await service.infra.database.db.selectFrom('pp_checks').select(['detail']).where('proxy_id', '=', id).execute();
    expect(kept).to.have.length(50);
    expect(kept.some((k) => k.detail === 'run 1')).to.equal(false);
  });

  it('refuses bad parameters and foreign cursors with 400', async () => {
    const first = await page('sort=score&limit=5');
    const wrongSort = await api(service.url, 'GET', `/proxies?sort=latency&cursor=${first.next_cursor}`, undefined, bearer);
    expect(wrongSort.status).to.equal(400);
    expect(wrongSort.body.error.code).to.equal('INVALID_CURSOR');
    expect((await api(service.url, 'GET', '/proxies?cursor=garbage', undefined, bearer)).body.error.code).to.equal('INVALID_CURSOR');
    for (const qs of ['limit=201', 'min_score=2', 'sort=name', 'country=USA', 'protocol=ftp', 'unknown=1']) {
      expect((await api(service.url, 'GET', `/proxies?${qs}`, undefined, bearer)).status, qs).to.equal(400);
    }
    expect((await api(service.url, 'GET', '/proxies/not-an-id', undefined, bearer)).status).to.equal(400);
    expect((await api(service.url, 'GET', `/proxies/${proxyIdOf('9.9.9.9', 1)}`, undefined, bearer)).status).to.equal(404);
  });
});
