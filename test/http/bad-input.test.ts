import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { fixedClock } from '../../src/clock.ts';
import { ADMIN_KEY, api, startTestService } from '../support/service.ts';
import { databaseKinds, testRedisUrl } from '../support/services.ts';

const admin = { 'x-admin-key': ADMIN_KEY };
const device = (over: Record<string, unknown> = {}) => ({
  name: 'modem-001', countryCode: 'US', carrier: { name: 'T-Mobile USA', brand: 'T-Mobile' }, upstream: 'http://u:p@127.0.0.1:18080', ...over,
});
/** A documentation address (2001:db8::/32) no other run uses, so a block from an earlier run cannot leak in. */
const freshAddress = () => `2001:db8:${randomBytes(6).toString('hex').match(/.{4}/g)!.join(':')}::1`;
const expectShape = (res: { status: number; body: any; headers: Headers }, status: number, code: string) => {
  expect(res.status, JSON.stringify(res.body)).to.equal(status);
  expect(res.body.error.code).to.equal(code);
  expect(res.body.error.message).to.be.a('string').and.not.empty;
  expect(res.body.error.details).to.be.an('object');
  expect(res.body.requestId).to.be.a('string');
  expect(res.body).to.include({ statusCode: status, message: res.body.error.message }); // NestJS-style, as the README promises
};

/** Raw bytes to the API, for what fetch will not send (oversized headers, broken request lines). */
async function raw(base: string, request: string | Buffer): Promise<{ status: number; headers: string; body: string }> {
  const { hostname, port } = new URL(base);
  const socket = net.connect(Number(port), hostname);
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    socket.on('data', (c) => chunks.push(c));
    socket.on('end', resolve);
    socket.on('close', () => resolve());
    socket.on('error', reject);
    socket.write(request);
  });
  const text = Buffer.concat(chunks).toString('utf8');
  const [head = '', body = ''] = text.split('\r\n\r\n');
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), headers: head, body };
}

/** Issue #8 item 7: bad input that used to reach PostgreSQL (500), unknown carriers, Node's own 400/431, admin key guessing. */
describe('bad input gets a 4xx in the one error shape', () => {
  const kind = 'postgres' as const;
  let service: Awaited<ReturnType<typeof startTestService>>;
  before(async function () {
    if (!(await databaseKinds()).includes(kind)) this.skip();
    service = await startTestService(kind, fixedClock('2026-11-20T10:00:00.000Z'));
  });
  after(async () => service?.stop());

  describe('NUL and unpaired surrogates are refused on every surface', () => {
    const cases: Array<[string, string, string, unknown]> = [
      ['a NUL in a body string (device name)', 'POST', '/v1/admin/devices', device({ name: 'modem\u0000' })],
      ['a lone high surrogate in a nested body string (carrier name)', 'POST', '/v1/admin/devices', device({ carrier: { name: 'T-Mobile\ud800', brand: 'T' } })],
      ['a lone low surrogate in a body key', 'POST', '/v1/admin/devices', { ...device(), ['\udc00x']: 1 }],
      ['a NUL in a query value (carrier=%00)', 'GET', '/v1/x402/proxy?country=US&carrier=%00', undefined],
      ['a NUL in a query value of a listing', 'GET', '/v1/admin/devices?country=%00', undefined],
      ['a NUL in a route parameter', 'GET', '/v1/x402/session/abc%00def', undefined],
      ['a UTF-8 encoded surrogate in a route parameter', 'GET', '/v1/admin/devices/%ED%A0%80', undefined],
      ['a NUL in an agent name', 'POST', '/v1/x402/agents', { wallet: '0x' + 'a'.repeat(40), name: 'bot\u0000' }],
      // a route another context added: covered without that context doing anything
      ['a NUL in an account e-mail', 'POST', '/v1/auth/register', { email: 'a\u0000@example.com', password: 'correct horse battery staple' }],
    ];
    for (const [name, method, path, body] of cases) {
      it(`${name} → 400 VALIDATION_ERROR`, async () => {
        const res = await api(service.url, method, path, body, admin);
        expectShape(res, 400, 'VALIDATION_ERROR');
        expect(res.body.error.message).to.match(/NUL|surrogate|UTF-8/);
      });
    }

    it('a device registered with a NUL is not recorded, and clean strings with real astral characters still pass', async () => {
      const ok = await api(service.url, 'POST', '/v1/admin/devices', device({ name: 'modem 📶' }), admin);
      expect(ok.status).to.equal(201);
      expect(ok.body.name).to.equal('modem 📶');
    });
  });

  it('an unknown carrier on /v1/x402/proxy → 404 UNKNOWN_CARRIER with the carriers that exist (not 503, not an error log)', async () => {
    await api(service.url, 'POST', '/v1/admin/devices', device({ countryCode: 'PL', carrier: { name: 'Orange Polska', brand: 'Orange' } }), admin);
    const res = await api(service.url, 'GET', '/v1/x402/proxy?country=PL&carrier=Nope');
    expectShape(res, 404, 'UNKNOWN_CARRIER');
    expect(res.body.error.details.carriers.map((c: any) => c.name)).to.deep.equal(['Orange Polska']);
  });

  it("Node's own 431 (headers too large, or too many) and 400 (not HTTP) carry the JSON error shape", async () => {
    const big = await raw(service.url, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(big.status).to.equal(431);
    expect(big.headers).to.match(/content-type: application\/json/i);
    expect(JSON.parse(big.body).error.code).to.equal('HEADERS_TOO_LARGE');
    expect(JSON.parse(big.body)).to.include({ statusCode: 431, message: JSON.parse(big.body).error.message });
    const many = await raw(service.url, `GET /health HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 4000 }, (_, i) => `X-H${i}: vvvvvv`).join('\r\n')}\r\n\r\n`);
    expect(many.status).to.equal(431);
    expect(JSON.parse(many.body)).to.have.nested.property('error.code', 'HEADERS_TOO_LARGE');
    const junk = await raw(service.url, 'NOT HTTP AT ALL\r\n\r\n');
    expect(junk.status).to.equal(400);
    const parsed = JSON.parse(junk.body);
    expect(parsed.error).to.include({ code: 'BAD_REQUEST' });
    expect(parsed.requestId).to.be.a('string');
    expect(parsed).to.include({ statusCode: 400, message: parsed.error.message });
  });

  it('rate-limits failed admin authentication per client address: a burst of wrong keys turns into 429', async () => {
    const from = { 'x-forwarded-for': freshAddress() }; // the API trusts loopback proxies
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await api(service.url, 'GET', '/v1/admin/devices', undefined, { ...from, 'x-admin-key': `wrong-key-${i}-xxxxxxxx` })).status);
    expect(statuses.slice(0, 10)).to.deep.equal(Array(10).fill(401));
    expect(statuses.slice(10)).to.deep.equal(Array(20).fill(429));
    const blocked = await api(service.url, 'GET', '/v1/admin/devices', undefined, { ...from, ...admin });
    expectShape(blocked, 429, 'ADMIN_RATE_LIMITED'); // even the right key: a block that let it through would confirm guesses
    expect(Number(blocked.headers.get('retry-after'))).to.be.within(250, 300);
    expect((await api(service.url, 'GET', '/v1/admin/devices', undefined, { 'x-forwarded-for': freshAddress(), ...admin })).status).to.equal(200);
  });
});

describe('failed admin authentication is counted across API instances through Redis', () => {
  let a: Awaited<ReturnType<typeof startTestService>> | undefined;
  let b: Awaited<ReturnType<typeof startTestService>> | undefined;
  before(async function () {
    const redis = await testRedisUrl();
    if (!redis) this.skip();
    const kind = (await databaseKinds())[0]!;
    a = await startTestService(kind, fixedClock('2026-11-20T10:00:00.000Z'), { REDIS_URL: redis!, ADMIN_AUTH_MAX_FAILURES: '6' });
    b = await startTestService(kind, fixedClock('2026-11-20T10:00:00.000Z'), { REDIS_URL: redis!, ADMIN_AUTH_MAX_FAILURES: '6' });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
  });

  it('wrong keys sent to one instance block the address on the other', async () => {
    const from = { 'x-forwarded-for': freshAddress() };
    for (let i = 0; i < 3; i++) expect((await api(a!.url, 'GET', '/v1/admin/devices', undefined, { ...from, 'x-admin-key': 'wrong-key-aaaaaaaaaa' })).status).to.equal(401);
    for (let i = 0; i < 3; i++) expect((await api(b!.url, 'GET', '/v1/admin/devices', undefined, { ...from, 'x-admin-key': 'wrong-key-bbbbbbbbbb' })).status).to.equal(401);
    expect((await api(a!.url, 'GET', '/v1/admin/devices', undefined, { ...from, 'x-admin-key': 'wrong-key-cccccccccc' })).status).to.equal(429);
    expect((await api(b!.url, 'GET', '/v1/admin/devices', undefined, { ...from, ...admin })).status).to.equal(429);
  });
});
