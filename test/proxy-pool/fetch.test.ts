import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FetchRefused, guardedFetch } from '../../adapters/proxy-pool/fetch.ts';
import { parseCidrList } from '../../adapters/gateway/ssrf.ts';

const loopback = (parseCidrList('127.0.0.0/8') as { ok: true; value: any[] }).value;

/** Source fetches: the gateway's SSRF guard, a size bound, a time bound, no redirects. */
describe('proxy-pool source fetch (SSRF guard, bounds)', () => {
  let server: http.Server;
  let base: string;
  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/big') { res.end('x'.repeat(200_000)); return; }
      if (req.url === '/slow') { setTimeout(() => res.end('late'), 3000); return; }
      if (req.url === '/redirect') { res.statusCode = 302; res.setHeader('location', 'http://169.254.169.254/'); res.end(); return; }
      res.end('1.2.3.4:80\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => { server.closeAllConnections(); server.close(); });

  const refusal = async (p: Promise<unknown>) => { try { await p; } catch (e) { return e as FetchRefused; } throw new Error('expected a refusal'); };

  it('refuses private, loopback and metadata addresses unless the allow-list opens them', async () => {
    const opts = { allowedPrivateCidrs: [], maxBytes: 1e6, timeoutMs: 2000 };
    for (const url of [`${base}/`, 'http://localhost:1/', 'http://169.254.169.254/', 'http://10.1.2.3/', 'http://[::1]:80/', 'http://2130706433/']) {
      expect((await refusal(guardedFetch(url, opts))).code, url).to.equal('URL_BLOCKED');
    }
    expect((await refusal(guardedFetch('ftp://example.com/x', opts))).code).to.equal('URL_INVALID');
    // A name that resolves to a private address is refused too (the resolver's answer is what is checked).
    const lookup = async () => [{ address: '192.168.1.1', family: 4 }];
    expect((await refusal(guardedFetch('http://list.example/', { ...opts, lookup }))).code).to.equal('URL_BLOCKED');
    expect((await guardedFetch(`${base}/`, { ...opts, allowedPrivateCidrs: loopback })).body).to.equal('1.2.3.4:80\n');
  });

  it('cuts a body off at maxBytes and a fetch off at timeoutMs; does not follow redirects', async () => {
    const opts = { allowedPrivateCidrs: loopback, maxBytes: 100_000, timeoutMs: 500 };
    expect((await refusal(guardedFetch(`${base}/big`, opts))).code).to.equal('TOO_LARGE');
    const started = Date.now();
    expect((await refusal(guardedFetch(`${base}/slow`, opts))).code).to.equal('FETCH_FAILED');
    expect(Date.now() - started).to.be.lessThan(2000);
    const redirect = await guardedFetch(`${base}/redirect`, opts);
    expect(redirect.status).to.equal(302);
  });
});
