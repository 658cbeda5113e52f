import { expect } from 'chai';
import { sql } from 'kysely';
import { api } from '../support/service.ts';
import { admin, startPaidService } from '../support/x402.ts';
import { startListServer } from '../support/list-server.ts';
import { EXIT_ADDRESS, deadPort, realProxiesAvailable, startDante, startSquid, startTinyproxy, type RealProxy } from '../support/real-proxies.ts';

/**
 * The "done": register → sources in every parser's format → scrape → the real local proxies
 * (tinyproxy ×2, squid, dante SOCKS4 and SOCKS5) checked with the right protocol and anonymity →
 * credits bought with USDC on the local chain → leases → release → URL test → stats.
 */
describe('proxy pool end to end (real tinyproxy, squid, dante; local chains)', function () {
  this.timeout(180_000);
  let world: Awaited<ReturnType<typeof startPaidService>>;
  let url: string;
  let lists: Awaited<ReturnType<typeof startListServer>>;
  const proxies: Record<string, RealProxy> = {};
  let dead: number;
  let bearer: Record<string, string>;

  before(async function () {
    if (!realProxiesAvailable()) this.skip(); // .ci/run installs them; say so rather than pretend
    proxies.anonymous = await startTinyproxy({ via: true, connectAnyPort: false });
    proxies.elite = await startTinyproxy({ via: false, connectAnyPort: true });
    proxies.transparent = await startSquid();
    proxies.socks4 = await startDante(4);
    proxies.socks5 = await startDante(5);
    dead = await deadPort();
    const p = (k: string) => proxies[k]!.port;
    lists = await startListServer({
      '/list.txt': { type: 'text/plain', body: `# free proxies\n127.0.0.1:${p('anonymous')}\nhttp://127.0.0.1:${dead}\nnot a proxy line\n` },
      '/list.json': { type: 'application/json', body: JSON.stringify({ data: [{ addr: '127.0.0.1', p: String(p('elite')), kind: 'https' }, { addr: '127.0.0.1', p: p('anonymous') }] }) },
      '/list.csv': { type: 'text/csv', body: `ip,port,protocol\n127.0.0.1,${p('transparent')},http\n127.0.0.1,${p('socks4')},socks4\n` },
      '/list.html': { type: 'text/html', body: `<html><table><tr><th>IP Address</th><th>Port</th><th>Type</th></tr><tr><td>127.0.0.1</td><td>${p('socks5')}</td><td>SOCKS5</td></tr></table></html>` },
    });
    world = await startPaidService({ POOL_ALLOWED_PRIVATE_CIDRS: '127.0.0.0/8', POOL_CHECK_INTERVAL_MS: '100', POOL_CHECK_TIMEOUT_MS: '3000', POOL_CREDIT_PRICE_USDC: '0.05' });
    url = world.service.url;
  });
  after(async () => {
    await world?.stop();
    await lists?.stop();
    for (const p of Object.values(proxies)) await p.stop();
  });

  it('registers a user with a pp_ key shown once; keys list prefixes only; a revoked key stops working', async () => {
    const reg = await api(url, 'POST', '/auth/register', { email: 'Alice@Example.com', display_name: 'Alice' });
    expect(reg.status, JSON.stringify(reg.body)).to.equal(201);
    expect(reg.body.user).to.deep.include({ email: 'alice@example.com', display_name: 'Alice' });
    expect(reg.body.api_key.key).to.match(/^pp_[a-z0-9]{48}$/);
    expect(reg.body.api_key.prefix).to.equal(reg.body.api_key.key.slice(0, 8));
    bearer = { authorization: `Bearer ${reg.body.api_key.key}` };
    expect((await api(url, 'POST', '/auth/register', { email: 'alice@example.com', display_name: 'Again' })).body.error.code).to.equal('EMAIL_TAKEN');

    expect((await api(url, 'GET', '/account')).status).to.equal(401);
    expect((await api(url, 'GET', '/account', undefined, { authorization: 'Bearer pp_' + 'x'.repeat(48) })).status).to.equal(401);
    const account = await api(url, 'GET', '/account', undefined, bearer);
    expect(account.body).to.deep.include({ email: 'alice@example.com', display_name: 'Alice', credits: 0 });

    const second = await api(url, 'POST', '/auth/keys', { label: 'ci' }, bearer);
    expect(second.status).to.equal(201);
    const keys = await api(url, 'GET', '/auth/keys', undefined, bearer);
    expect(keys.body.items.map((k: any) => k.label)).to.deep.equal(['default', 'ci']);
    expect(JSON.stringify(keys.body)).not.to.include(second.body.key);
    expect(JSON.stringify(keys.body)).not.to.include(reg.body.api_key.key);
    const other = { authorization: `Bearer ${second.body.key}` };
    expect((await api(url, 'GET', '/account', undefined, other)).status).to.equal(200);
    expect((await api(url, 'DELETE', `/auth/keys/${second.body.id}`, undefined, bearer)).status).to.equal(204);
    expect((await api(url, 'GET', '/account', undefined, other)).status).to.equal(401);
  });

  it('adds sources (named and auto-detected parsers), refuses unknown parsers and blocked URLs, scrapes each', async () => {
    expect((await api(url, 'POST', '/sources', { url: `${lists.base}/list.txt`, parser_name: 'yaml' }, bearer)).status).to.equal(422);
    expect((await api(url, 'POST', '/sources', { url: `${lists.base}/list.txt`, cron_schedule: 'every tuesday' }, bearer)).body.error.code).to.equal('INVALID_CRON');
    const blocked = await api(url, 'POST', '/sources', { url: 'http://169.254.169.254/latest/meta-data', parser_name: 'plaintext' }, bearer);
    expect(blocked.status).to.equal(400);
    expect(blocked.body.error.code).to.equal('SOURCE_URL_BLOCKED');

    const txt = await api(url, 'POST', '/sources', { url: `${lists.base}/list.txt`, cron_schedule: '0 0 1 1 *' }, bearer);
    expect(txt.status, JSON.stringify(txt.body)).to.equal(201);
    expect(txt.body).to.deep.include({ parser_name: 'plaintext', default_protocol: 'http', is_active: true, last_scraped_at: null });
    const json = await api(url, 'POST', '/sources', { url: `${lists.base}/list.json`, parser_options: { ip_field: 'addr', port_field: 'p', protocol_field: 'kind' } }, bearer);
    expect(json.body.parser_name).to.equal('json');
    const csv = await api(url, 'POST', '/sources', { url: `${lists.base}/list.csv`, parser_name: 'csv' }, bearer);
    const html = await api(url, 'POST', '/sources', { url: `${lists.base}/list.html`, default_protocol: 'socks5' }, bearer);
    expect(html.body.parser_name).to.equal('html_table');

    const s1 = await api(url, 'POST', `/sources/${txt.body.id}/scrape`, {}, bearer);
    expect(s1.status, JSON.stringify(s1.body)).to.equal(200);
    expect(s1.body).to.deep.include({ source_id: txt.body.id, proxies_discovered: 2, proxies_new: 2, proxies_updated: 0 });
    expect(s1.body.duration_ms).to.be.a('number');
    const s2 = await api(url, 'POST', `/sources/${json.body.id}/scrape`, {}, bearer);
    expect(s2.body).to.deep.include({ proxies_discovered: 2, proxies_new: 1, proxies_updated: 1 }); // the anonymous tinyproxy is in both lists
    expect((await api(url, 'POST', `/sources/${csv.body.id}/scrape`, {}, bearer)).body.proxies_new).to.equal(2);
    expect((await api(url, 'POST', `/sources/${html.body.id}/scrape`, {}, bearer)).body.proxies_new).to.equal(1);

    const list = await api(url, 'GET', '/sources?limit=3', undefined, bearer);
    expect(list.body.total_count).to.equal(4);
    expect(list.body.items).to.have.length(3);
    const rest = await api(url, 'GET', `/sources?limit=3&cursor=${list.body.next_cursor}`, undefined, bearer);
    expect(rest.body.items.map((s: any) => s.id)).to.deep.equal([html.body.id]);
    expect(rest.body.next_cursor).to.equal(null);
    const patched = await api(url, 'PATCH', `/sources/${csv.body.id}`, { is_active: false }, bearer);
    expect(patched.body.is_active).to.equal(false);
    expect((await api(url, 'GET', '/sources?is_active=false', undefined, bearer)).body.total_count).to.equal(1);
  });

  it('checks every proxy with the real proxies: protocol, anonymity, exit address; the dead port is dead', async () => {
    let all: any[] = [];
    for (let i = 0; i < 150; i++) {
      const res = await api(url, 'GET', '/proxies?limit=200', undefined, bearer);
      all = res.body.items;
      if (all.length === 6 && all.every((p: any) => p.status !== 'unchecked')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const byPort = (port: number) => all.find((p) => p.port === port);
    const expectProxy = (name: string, protocol: string, anonymity: string) => {
      const p = byPort(proxies[name]!.port);
      expect(p, name).to.deep.include({ status: 'active', protocol, anonymity, exit_ip: EXIT_ADDRESS, country: null });
      expect(p.score, name).to.be.greaterThan(0.5);
      expect(p.uptime_pct).to.equal(100);
    };
    expectProxy('anonymous', 'http', 'anonymous'); // tinyproxy's Via header; CONNECT only to 443
    expectProxy('elite', 'https', 'elite'); // Via disabled, CONNECT to any port
    expectProxy('transparent', 'http', 'transparent'); // squid: X-Forwarded-For carries our address
    expectProxy('socks4', 'socks4', 'elite');
    expectProxy('socks5', 'socks5', 'elite');
    const d = byPort(dead);
    expect(d).to.deep.include({ status: 'dead', score: 0, uptime_pct: 0 });

    const detail = await api(url, 'GET', `/proxies/${byPort(proxies.transparent!.port).id}`, undefined, bearer);
    expect(detail.body.proxy.id).to.equal(byPort(proxies.transparent!.port).id);
    const checks = detail.body.recent_checks.map((c: any) => [c.checker_name, c.stage, c.passed]);
    expect(checks).to.deep.include.members([['tcp_connect', 1, true], ['protocol', 2, true], ['http_anonymity', 2, true], ['exit_ip', 2, true], ['geo_country', 3, true]]);
    expect(detail.body.recent_checks.find((c: any) => c.checker_name === 'http_anonymity').detail).to.match(/x-forwarded-for carries our address 127\.0\.0\.1/);
    const deadDetail = await api(url, 'GET', `/proxies/${d.id}`, undefined, bearer);
    expect(deadDetail.body.recent_checks.map((c: any) => c.checker_name)).to.deep.equal(['tcp_connect']); // later stages never ran

    expect((await api(url, 'GET', '/proxies?protocol=socks5', undefined, bearer)).body.items.map((p: any) => p.port)).to.deep.equal([proxies.socks5!.port]);
    expect((await api(url, 'GET', '/proxies?anonymity=elite', undefined, bearer)).body.total_count).to.equal(3);
    expect((await api(url, 'GET', '/proxies?status=dead', undefined, bearer)).body.total_count).to.equal(1);
    expect((await api(url, 'GET', '/proxies?verified_within_minutes=5&status=active', undefined, bearer)).body.total_count).to.equal(5);
    expect((await api(url, 'GET', '/proxies?status=zombie', undefined, bearer)).status).to.equal(400);
  });

  it('sells credits for USDC on the local chain (once per payment), then leases: exclusive, 402/404/409, release, expiry', async () => {
    const quote = await api(url, 'POST', '/account/credits/purchase?credits=3', undefined, bearer);
    expect(quote.status).to.equal(402);
    expect(quote.body.priceMicro).to.equal('150000');
    expect((await api(url, 'POST', '/proxies/acquire', {}, bearer)).body.error.code).to.equal('INSUFFICIENT_CREDITS');

    const tx = await world.chains.base.payUsdc(150_000n);
    const bought = await api(url, 'POST', '/account/credits/purchase?credits=3', undefined, { ...bearer, 'payment-signature': tx });
    expect(bought.status, JSON.stringify(bought.body)).to.equal(200);
    expect(bought.body).to.deep.include({ credits_added: 3, balance: 3 });
    const again = await api(url, 'POST', '/account/credits/purchase?credits=3', undefined, { ...bearer, 'payment-signature': tx });
    expect(again.body.error.code).to.equal('PAYMENT_ALREADY_USED');

    expect((await api(url, 'POST', '/proxies/acquire', { country: 'ZZ' }, bearer)).status).to.equal(404);
    const lease = await api(url, 'POST', '/proxies/acquire', { protocol: 'socks5', lease_duration_seconds: 60 }, bearer);
    expect(lease.status, JSON.stringify(lease.body)).to.equal(200);
    expect(lease.body.proxy).to.deep.equal({ ip: '127.0.0.1', port: proxies.socks5!.port, protocol: 'socks5', country: null, anonymity: 'elite' });
    expect(lease.body.credits_remaining).to.equal(2);
    expect(new Date(lease.body.expires_at).getTime() - world.clock.now().getTime()).to.equal(60_000);
    const taken = await api(url, 'POST', '/proxies/acquire', { protocol: 'socks5' }, bearer);
    expect(taken.status).to.equal(409);
    expect((await api(url, 'POST', '/proxies/acquire', { lease_duration_seconds: 3601 }, bearer)).status).to.equal(400);

    const leases = await api(url, 'GET', '/account/leases', undefined, bearer);
    expect(leases.body.items.map((l: any) => l.lease_id)).to.deep.equal([lease.body.lease_id]);
    const released = await api(url, 'POST', `/proxies/acquire/${lease.body.lease_id}/release`, {}, bearer);
    expect(released.body).to.deep.equal({ lease_id: lease.body.lease_id, status: 'released' });
    expect((await api(url, 'GET', '/account/leases', undefined, bearer)).body.items).to.deep.equal([]);

    const next = await api(url, 'POST', '/proxies/acquire', { protocol: 'socks5', lease_duration_seconds: 30 }, bearer);
    expect(next.status).to.equal(200);
    world.clock.advance(31_000); // the lease runs out: the proxy is free again without a release
    const afterExpiry = await api(url, 'POST', '/proxies/acquire', { protocol: 'socks5' }, bearer);
    expect(afterExpiry.status, JSON.stringify(afterExpiry.body)).to.equal(200);
    expect(afterExpiry.body.credits_remaining).to.equal(0);
    expect((await api(url, 'POST', '/proxies/acquire', {}, bearer)).status).to.equal(402);

    const credits = await api(url, 'GET', '/account/credits', undefined, bearer);
    expect(credits.body.balance).to.equal(0);
    expect(credits.body.recent_transactions.map((t: any) => [t.amount, t.tx_type])).to.deep.equal([[-1, 'acquire'], [-1, 'acquire'], [-1, 'acquire'], [3, 'purchase']]);
    expect(credits.body.recent_transactions[0].description).to.equal(`Proxy acquired: 127.0.0.1:${proxies.socks5!.port}`);
  });

  it('concurrent acquires never share a proxy and never spend a credit without a lease', async () => {
    const me = await api(url, 'GET', '/account', undefined, bearer);
    expect((await api(url, 'POST', `/v1/admin/pool/users/${me.body.id}/credits`, { credits: 3, description: 'test grant' }, admin)).body.balance).to.equal(3);
    // 5 active proxies, one still leased (socks5), 3 credits, 8 concurrent acquires.
    const results = await Promise.all(Array.from({ length: 8 }, () => api(url, 'POST', '/proxies/acquire', {}, bearer)));
    const ok = results.filter((r) => r.status === 200);
    expect(ok).to.have.length(3);
    expect(new Set(ok.map((r) => r.body.proxy.port)).size).to.equal(3);
    expect(ok.map((r) => r.body.proxy.port)).not.to.include(proxies.socks5!.port);
    for (const r of results.filter((x) => x.status !== 200)) expect([402, 409]).to.include(r.status);
    const credits = await api(url, 'GET', '/account/credits', undefined, bearer);
    expect(credits.body.balance).to.equal(0);
    expect(credits.body.recent_transactions.filter((t: any) => t.tx_type === 'acquire')).to.have.length(6);
    expect((await api(url, 'GET', '/account/leases', undefined, bearer)).body.items).to.have.length(4);
  });

  it('tests a URL through the good proxies and reports each result', async () => {
    const res = await api(url, 'POST', '/proxies/test', { url: `${lists.base}/list.txt`, count: 10, timeout_seconds: 5 }, bearer);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.results).to.have.length(5);
    expect(res.body.results.every((r: any) => r.reachable && r.status_code === 200 && r.error === null)).to.equal(true);
    expect(res.body.success_rate).to.equal(1);
    const missing = await api(url, 'POST', '/proxies/test', { url: `${lists.base}/nope`, count: 1, protocol: 'socks4' }, bearer);
    expect(missing.body.results[0]).to.deep.include({ reachable: true, status_code: 404 });
    expect((await api(url, 'POST', '/proxies/test', { url: 'http://10.0.0.1/', count: 1 }, bearer)).body.error.code).to.equal('URL_BLOCKED');
  });

  it('reports the pool and the plugins', async () => {
    const pool = await api(url, 'GET', '/stats/pool', undefined, bearer);
    expect(pool.body).to.deep.include({ total_proxies: 6, sources_active: 3, sources_total: 4 });
    expect(pool.body.by_status).to.deep.equal({ active: 5, dead: 1, unchecked: 0 });
    expect(pool.body.by_protocol).to.deep.equal({ http: 3, https: 1, socks4: 1, socks5: 1 });
    expect(pool.body.by_anonymity).to.deep.equal({ transparent: 1, anonymous: 1, elite: 3 });
    expect(pool.body.last_validation_at).to.be.a('string');
    const plugins = await api(url, 'GET', '/stats/plugins', undefined, bearer);
    expect(plugins.body.parsers.map((p: any) => p.name)).to.have.members(['plaintext', 'json', 'csv', 'html_table']);
    expect(plugins.body.checkers[0]).to.deep.equal({ name: 'tcp_connect', stage: 1, priority: 0 });
    expect(plugins.body.checkers.map((c: any) => c.name)).to.include.members(['protocol', 'http_anonymity', 'exit_ip', 'geo_country']);
  });

  it('deleting a source keeps its proxies', async () => {
    const sources = await api(url, 'GET', '/sources', undefined, bearer);
    for (const s of sources.body.items) expect((await api(url, 'DELETE', `/sources/${s.id}`, undefined, bearer)).status).to.equal(204);
    expect((await api(url, 'GET', '/sources', undefined, bearer)).body.total_count).to.equal(0);
    expect((await api(url, 'GET', '/proxies', undefined, bearer)).body.total_count).to.equal(6);
  });

  it('a rebuild of the proxy-pool read models gives the same tables', async () => {
    const db = world.service.infra.database.db;
    const tables: Record<string, string> = {
      pp_users: 'user_id', pp_api_keys: 'key_id', pp_credit_balances: 'user_id', pp_credit_transactions: 'event_id', pp_sources: 'source_id',
      pp_proxies: 'proxy_id', pp_leases: 'lease_id', pp_checks: 'proxy_id, created_at, checker_name',
    };
    const dump = async () => {
      const out: Record<string, unknown[]> = {};
      for (const [t, order] of Object.entries(tables)) {
        const rows = (await db.selectFrom(t).selectAll().orderBy(sql.raw(order)).execute()) as Array<Record<string, unknown>>;
        out[t] = rows.map(({ id: _id, ...r }) => (t === 'pp_checks' ? r : { id: _id, ...r })); // pp_checks.id is a serial
      }
      return out;
    };
    const before = await dump();
    expect(before.pp_checks!.length).to.be.greaterThan(20);
    await world.service.infra.projector.rebuild(['pp-accounts', 'pp-credits', 'pp-sources', 'pp-proxies', 'pp-checks', 'pp-leases']);
    expect(await dump()).to.deep.equal(before);
  });
});
