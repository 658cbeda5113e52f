import { expect } from 'chai';
import { formatUsername, parsePoolUsername, type ParsedUsername, type UsernameParseResult } from '../../domain/gateway/username.ts';

function ok(input: string, maxTtlSeconds?: number): ParsedUsername {
  const r = parsePoolUsername(input, maxTtlSeconds === undefined ? {} : { maxTtlSeconds });
  if (!r.ok) throw new Error(`expected ${input} to parse, got ${JSON.stringify(r)}`);
  return r.value;
}

function err(input: string, maxTtlSeconds?: number): string {
  const r: UsernameParseResult = parsePoolUsername(input, maxTtlSeconds === undefined ? {} : { maxTtlSeconds });
  if (r.ok || r.notPool) throw new Error(`expected ${input} to be a parse error, got ${JSON.stringify(r)}`);
  expect(r.error.code).to.equal('E_USERNAME_PARSE');
  return r.error.message;
}

describe('gateway/username', () => {
  describe('seed examples', () => {
    it('psx_USER_ID-mbl-us: account, pool, country, default rotation', () => {
      expect(ok('psx_USER_ID-mbl-us')).to.deep.equal({
        account: 'USER_ID', pool: 'mbl', country: 'us', rotation: 'auto10', rotationExplicit: false,
      });
    });

    it('psx_x402pool-mbl-pl and psx_USER_ID-mbl-de', () => {
      expect(ok('psx_x402pool-mbl-pl')).to.include({ account: 'x402pool', pool: 'mbl', country: 'pl' });
      expect(ok('psx_USER_ID-mbl-de')).to.include({ country: 'de' });
    });

    it('rejects the seed sticky example because its sid "bot01" is shorter than the documented 8', () => {
      expect(err('psx_USER_ID-mbl-us-sid-bot01-rot-sticky')).to.match(/sid "bot01" must be 8-64 characters.*got 5/);
      expect(ok('psx_USER_ID-mbl-us-sid-bot01_main-rot-sticky')).to.include({ sid: 'bot01_main', rotation: 'sticky', rotationExplicit: true });
    });
  });

  it('parses every key', () => {
    const p = ok('psx_acc1-peer-DE-city-Berlin-carrier-tmobile-isp-spectrum-asn-12345-sid-bot01_main-rot-hard-failover-samecarrier-ttl-1800-pin-device-modem001');
    expect(p).to.deep.equal({
      account: 'acc1', pool: 'peer', country: 'de', city: 'berlin', carrier: 'tmobile', isp: 'spectrum', asn: 12345,
      sid: 'bot01_main', rotation: 'hard', rotationExplicit: true, failover: 'samecarrier', ttlSeconds: 1800,
      pin: { value: 'device-modem001', honoured: false },
    });
  });

  it('accepts keys in any order and formats them canonically', () => {
    const p = ok('psx_a-any-any-ttl-60-rot-ondemand-city-paris');
    expect(formatUsername(p)).to.equal('psx_a-any-any-city-paris-rot-ondemand-ttl-60');
  });

  it('is case-insensitive after the account, except sid', () => {
    expect(ok('psx_AbC-MBL-Us-ROT-Sticky-CITY-NewYork')).to.include({ account: 'AbC', pool: 'mbl', country: 'us', rotation: 'sticky', city: 'newyork' });
    expect(err('psx_a-mbl-us-sid-Bot01_main')).to.match(/sid "Bot01_main" must be 8-64 characters of a-z/);
  });

  it('pin is greedy up to the next known key and is flagged not honoured', () => {
    const p = ok('psx_a-mbl-us-pin-device-modem001-sid-abcdefgh');
    expect(p.pin).to.deep.equal({ value: 'device-modem001', honoured: false });
    expect(p.sid).to.equal('abcdefgh');
    expect(ok('psx_a-mbl-us-pin-m1').pin).to.deep.equal({ value: 'm1', honoured: false });
    expect(formatUsername(p)).to.equal('psx_a-mbl-us-sid-abcdefgh-pin-device-modem001');
  });

  it('writes rot only when it was explicit or differs from the default', () => {
    expect(formatUsername(ok('psx_a-mbl-us'))).to.equal('psx_a-mbl-us');
    expect(formatUsername(ok('psx_a-mbl-us-rot-auto10'))).to.equal('psx_a-mbl-us-rot-auto10');
  });

  describe('not a pool username', () => {
    for (const u of ['', 'user123', 'PSX_abc-mbl-us', 'psx', 'pak_abc', ' psx_a-mbl-us']) {
      it(JSON.stringify(u), () => {
        expect(parsePoolUsername(u)).to.deep.equal({ ok: false, notPool: true });
      });
    }
  });

  describe('errors name the problem', () => {
    const cases: Array<[string, RegExp]> = [
      ['psx_', /missing account/],
      ['psx_-mbl-us', /missing account/],
      ['psx_a.b-mbl-us', /account "a\.b" must be 1-64 characters/],
      [`psx_${'a'.repeat(65)}-mbl-us`, /account .* must be 1-64/],
      ['psx_acc', /missing pool/],
      ['psx_acc-mobile-us', /unknown pool "mobile"; expected one of: mbl, peer, any/],
      ['psx_acc-mbl', /missing country/],
      ['psx_acc-mbl-usa', /country "usa" must be an ISO 3166-1 alpha-2 code/],
      ['psx_acc-mbl-uk', /not an ISO 3166-1 alpha-2 code; use "gb"/],
      ['psx_acc-mbl-xx', /country "xx"/],
      ['psx_acc-mbl-us-', /ends with "-"/],
      ['psx_acc-mbl--us', /empty token/],
      ['psx_acc-mbl-us-city', /token "city" needs a value, e.g. -city-newyork/],
      ['psx_acc-mbl-us-sdi-abcdefgh', /unknown token "sdi"; expected one of: city, carrier/],
      ['psx_acc-mbl-us-city-a-city-b', /token "city" appears more than once/],
      ['psx_acc-mbl-us-CITY-a-city-b', /token "city" appears more than once/],
      ['psx_acc-mbl-us-city-new york', /city "new york" must be 1-64 characters/],
      ['psx_acc-mbl-us-asn-0', /asn "0" must be a number from 1 to 4294967295/],
      ['psx_acc-mbl-us-asn-4294967296', /asn/],
      ['psx_acc-mbl-us-asn-as123', /asn "as123"/],
      ['psx_acc-mbl-us-asn-12345678901', /asn/],
      ['psx_acc-mbl-us-sid-abc', /sid "abc" must be 8-64/],
      [`psx_acc-mbl-us-sid-${'a'.repeat(65)}`, /sid .* must be 8-64 .*got 65/],
      ['psx_acc-mbl-us-rot-auto15', /rot "auto15" must be one of: sticky, auto5/],
      ['psx_acc-mbl-us-failover-random', /failover "random" must be one of: samecarrier/],
      ['psx_acc-mbl-us-ttl-0', /ttl "0" must be whole seconds from 1 to 3600/],
      ['psx_acc-mbl-us-ttl-3601', /from 1 to 3600/],
      ['psx_acc-mbl-us-ttl-7200', /from 1 to 3600/],
      ['psx_acc-mbl-us-ttl-1.5', /ttl "1\.5"/],
      ['psx_acc-mbl-us-ttl-+60', /ttl "\+60"/],
      ['psx_acc-mbl-us-pin-dev!ce', /pin "dev!ce" must be/],
      [`psx_acc-mbl-us-pin-${Array.from({ length: 10 }, () => 'x'.repeat(20)).join('-')}`, /pin is longer than 128/],
      [`psx_acc-mbl-us-city-${'a'.repeat(240)}`, /username is 260 characters; the maximum is 255/],
    ];
    for (const [input, re] of cases) {
      it(JSON.stringify(input.length > 60 ? `${input.slice(0, 60)}…` : input), () => {
        expect(err(input)).to.match(re);
      });
    }
  });

  it('ttl max is a parameter', () => {
    expect(ok('psx_a-mbl-us-ttl-7200', 7200).ttlSeconds).to.equal(7200);
    expect(err('psx_a-mbl-us-ttl-7201', 7200)).to.match(/from 1 to 7200/);
    expect(err('psx_a-mbl-us-ttl-61', 60)).to.match(/from 1 to 60/);
  });

  it('accepts the bounds of asn and sid', () => {
    expect(ok('psx_a-mbl-us-asn-1').asn).to.equal(1);
    expect(ok('psx_a-mbl-us-asn-4294967295').asn).to.equal(4294967295);
    expect(ok(`psx_a-mbl-us-sid-${'z'.repeat(64)}`).sid).to.have.length(64);
    expect(ok('psx_a-mbl-us-sid-________').sid).to.equal('________');
  });

  it('quotes echoed input so control characters cannot break the one-line error body', () => {
    const m = err('psx_acc-mbl-us-x\r\ny-1');
    expect(m).to.not.match(/[\r\n]/);
    expect(m).to.contain('"x\\r\\ny"');
  });

  it('truncates long echoed input', () => {
    const m = err(`psx_acc-mbl-us-${'q'.repeat(200)}-1`);
    expect(m.length).to.be.below(160);
    expect(m).to.contain('…');
  });
});
