import { expect } from 'chai';
import {
  cidrContains,
  classifyAddress,
  formatIp,
  parseCidr,
  parseCidrList,
  parseIp,
  parseIPv4Loose,
  resolveAndCheck,
  type Cidr,
  type LookupAddress,
  type LookupFn,
} from '../../adapters/gateway/ssrf.ts';

const noLookup: LookupFn = async (h) => {
  throw new Error(`lookup must not be called for ${h}`);
};
const answers = (...addrs: string[]): LookupFn => async () => addrs.map((address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 }));

function cidrs(s: string): Cidr[] {
  const r = parseCidrList(s);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

describe('gateway/ssrf', () => {
  describe('classifyAddress', () => {
    const blocked: Array<[string, string]> = [
      // loopback, including every inet_aton spelling
      ['127.0.0.1', 'loopback'],
      ['127.255.255.254', 'loopback'],
      ['127.1', 'loopback'],
      ['127.0.1', 'loopback'],
      ['0x7f.1', 'loopback'],
      ['0x7F000001', 'loopback'],
      ['2130706433', 'loopback'],
      ['0177.0.0.1', 'loopback'],
      ['017700000001', 'loopback'],
      ['0x7f.0.0.0x1', 'loopback'],
      ['127.0.0.1.', 'loopback'],
      ['0.0.0.0', 'unspecified'],
      ['0', 'unspecified'],
      ['0.1.2.3', 'unspecified'],
      ['10.0.0.1', 'private'],
      ['10.255.255.255', 'private'],
      ['012.1', 'private'], // octal 012 = 10
      ['172.16.0.1', 'private'],
      ['172.31.255.255', 'private'],
      ['192.168.1.1', 'private'],
      ['100.64.0.1', 'shared-address'],
      ['100.127.255.255', 'shared-address'],
      ['169.254.169.254', 'link-local'],
      ['0xa9fea9fe', 'link-local'], // 169.254.169.254
      ['192.0.0.8', 'ietf-protocol'],
      ['198.18.0.1', 'benchmarking'],
      ['198.19.255.255', 'benchmarking'],
      ['224.0.0.1', 'multicast'],
      ['239.255.255.250', 'multicast'],
      ['240.0.0.1', 'reserved'],
      ['255.255.255.254', 'reserved'],
      ['255.255.255.255', 'broadcast'],
      ['192.0.2.1', 'documentation'],
      // IPv6
      ['::', 'unspecified'],
      ['::1', 'loopback'],
      ['[::1]', 'loopback'],
      ['0:0:0:0:0:0:0:1', 'loopback'],
      ['fe80::1', 'link-local'],
      ['fe80::1%eth0', 'link-local'],
      ['febf:ffff::1', 'link-local'],
      ['fc00::1', 'unique-local'],
      ['fd00:ec2::254', 'unique-local'], // AWS IMDS over IPv6
      ['ff02::1', 'multicast'],
      ['ff00::', 'multicast'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['::ffff:7f00:1', 'loopback'],
      ['::ffff:10.0.0.1', 'private'],
      ['::ffff:169.254.169.254', 'link-local'],
      ['64:ff9b::127.0.0.1', 'loopback'],
      ['64:ff9b::a9fe:a9fe', 'link-local'],
      ['64:ff9b::c0a8:101', 'private'],
      ['2002:7f00:1::', 'loopback'], // 6to4 of 127.0.0.1
      ['2002:a00:1::1', 'private'], // 6to4 of 10.0.0.1
      ['2002:a9fe:a9fe::', 'link-local'],
      ['::127.0.0.1', 'reserved'], // deprecated IPv4-compatible
      ['::8.8.8.8', 'reserved'],
      ['64:ff9b:1::1', 'reserved'], // local-use NAT64
      ['100::1', 'reserved'], // discard-only
      ['2001:db8::1', 'documentation'],
      ['2001::1', 'ietf-protocol'], // Teredo
      ['fec0::1', 'site-local'],
      ['4000::1', 'reserved'], // outside global unicast
    ];
    for (const [ip, reason] of blocked) {
      it(`${ip} → ${reason}`, () => {
        expect(classifyAddress(ip)).to.equal(reason);
      });
    }

    const pub = ['8.8.8.8', '1.1.1.1', '172.15.255.255', '172.32.0.0', '100.63.255.255', '100.128.0.0', '198.17.255.255', '198.20.0.0', '223.255.255.255',
      '2606:4700::1111', '2a00:1450:4001:80b::200e', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1', '[2606:4700:4700::1111]', '134744072'];
    for (const ip of pub) {
      it(`${ip} → public`, () => {
        expect(classifyAddress(ip)).to.equal('public');
      });
    }

    for (const bad of ['', 'example.com', '1.2.3.4.5', '256.1.1.1', '1.2.3.999', '08.1.1.1', '1..2.3', '::g', '[1.2.3.4]', '4294967296', '1.16777216', ' 1.2.3.4']) {
      it(`${JSON.stringify(bad)} → invalid`, () => {
        expect(classifyAddress(bad)).to.equal('invalid');
      });
    }
  });

  describe('parsing', () => {
    it('reads inet_aton forms', () => {
      expect(parseIPv4Loose('1.2.3.4')).to.equal(0x01020304);
      expect(parseIPv4Loose('1.2.772')).to.equal(0x01020304);
      expect(parseIPv4Loose('1.131844')).to.equal(0x01020304);
      expect(parseIPv4Loose('16909060')).to.equal(0x01020304);
      expect(parseIPv4Loose('0x1.0x2.0x3.0x4')).to.equal(0x01020304);
      expect(parseIPv4Loose('01.02.03.04')).to.equal(0x01020304);
      expect(parseIPv4Loose('4294967295')).to.equal(0xffffffff);
      expect(parseIPv4Loose('1.2.3.256')).to.equal(undefined);
      expect(parseIPv4Loose('09')).to.equal(undefined);
    });

    it('formats IPv6 per RFC 5952', () => {
      const f = (s: string): string => formatIp(parseIp(s) as NonNullable<ReturnType<typeof parseIp>>);
      expect(f('2001:0DB8:0000:0000:0000:0000:0000:0001')).to.equal('2001:db8::1');
      expect(f('1:0:0:1:0:0:0:1')).to.equal('1:0:0:1::1');
      expect(f('1:0:0:0:1:0:0:0')).to.equal('1::1:0:0:0');
      expect(f('1:0:1:1:1:1:1:1')).to.equal('1:0:1:1:1:1:1:1');
      expect(f('::')).to.equal('::');
      expect(f('fe80::')).to.equal('fe80::');
      expect(f('10.1.2.3')).to.equal('10.1.2.3');
    });

    it('matches CIDRs at the edges', () => {
      const c = (s: string): Cidr => {
        const r = parseCidr(s);
        if (!r.ok) throw new Error(r.error);
        return r.value;
      };
      const ip = (s: string) => parseIp(s) as NonNullable<ReturnType<typeof parseIp>>;
      expect(cidrContains(c('172.16.0.0/12'), ip('172.31.255.255'))).to.equal(true);
      expect(cidrContains(c('172.16.0.0/12'), ip('172.32.0.0'))).to.equal(false);
      expect(cidrContains(c('0.0.0.0/0'), ip('8.8.8.8'))).to.equal(true);
      expect(cidrContains(c('0.0.0.0/0'), ip('::1'))).to.equal(false);
      expect(cidrContains(c('::/0'), ip('::1'))).to.equal(true);
      expect(cidrContains(c('::1'), ip('::1'))).to.equal(true);
      expect(cidrContains(c('::1/128'), ip('::2'))).to.equal(false);
      expect(cidrContains(c('10.0.0.5'), ip('10.0.0.5'))).to.equal(true);
    });

    it('parses allow lists and rejects bad entries clearly', () => {
      expect(cidrs('127.0.0.0/8,::1/128')).to.have.length(2);
      expect(cidrs(' 127.0.0.0/8 , ::1/128 ,')).to.have.length(2);
      expect(cidrs('')).to.deep.equal([]);
      const errOf = (s: string): string => {
        const r = parseCidrList(s);
        if (r.ok) throw new Error(`expected ${s} to fail`);
        return r.error;
      };
      expect(errOf('127.0.0.0/33')).to.match(/prefix must be 0-32/);
      expect(errOf('::1/129')).to.match(/prefix must be 0-128/);
      expect(errOf('10.0.0.1/8')).to.match(/host bits set; did you mean 10\.0\.0\.0\/8/);
      expect(errOf('localhost')).to.match(/not an IP address or CIDR/);
      expect(errOf('127.1/8')).to.match(/not an IP address/); // config must be written plainly
      expect(errOf('10.0.0.0/8/1')).to.match(/not an IP address/);
      expect(errOf('10.0.0.0/x')).to.match(/prefix/);
    });
  });

  describe('resolveAndCheck', () => {
    it('returns the resolved address to connect to, resolving exactly once', async () => {
      let calls = 0;
      const lookup: LookupFn = async (h) => {
        calls++;
        expect(h).to.equal('example.com');
        return [{ address: '93.184.215.14', family: 4 }, { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 }];
      };
      const r = await resolveAndCheck('example.com', { lookup });
      expect(r).to.deep.equal({
        ok: true,
        address: '93.184.215.14',
        family: 4,
        addresses: [{ address: '93.184.215.14', family: 4 }, { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 }],
      });
      expect(calls).to.equal(1);
    });

    it('strips one trailing dot before resolving', async () => {
      let seen = '';
      await resolveAndCheck('example.com.', { lookup: async (h) => { seen = h; return [{ address: '1.1.1.1', family: 4 }]; } });
      expect(seen).to.equal('example.com');
    });

    it('blocks a name that resolves to a private address', async () => {
      const r = await resolveAndCheck('metadata.google.internal', { lookup: answers('169.254.169.254') });
      expect(r).to.deep.include({ ok: false, kind: 'blocked', address: '169.254.169.254', reason: 'link-local' });
    });

    it('blocks the whole target when any answer is private (rebinding-style mixed answers)', async () => {
      const r = await resolveAndCheck('rebind.example', { lookup: answers('8.8.8.8', '127.0.0.1') });
      expect(r).to.deep.include({ ok: false, kind: 'blocked', address: '127.0.0.1', reason: 'loopback' });
    });

    it('returns IPv4-mapped answers as plain IPv4, and judges them by it', async () => {
      expect(await resolveAndCheck('x.example', { lookup: answers('::ffff:8.8.8.8') })).to.deep.include({ ok: true, address: '8.8.8.8', family: 4 });
      expect(await resolveAndCheck('x.example', { lookup: answers('::ffff:7f00:1') })).to.deep.include({ ok: false, reason: 'loopback', address: '127.0.0.1' });
    });

    it('checks IP literals without resolving, in every spelling', async () => {
      for (const host of ['127.1', '0x7f.1', '2130706433', '0177.0.0.1', '[::1]', '::1', '[::ffff:127.0.0.1]', '[fd00:ec2::254]', '169.254.169.254', '[64:ff9b::a00:1]', '[2002:a00:1::]']) {
        const r = await resolveAndCheck(host, { lookup: noLookup });
        expect(r.ok, host).to.equal(false);
        if (!r.ok) expect(r.kind, host).to.equal('blocked');
      }
      expect(await resolveAndCheck('0x08080808', { lookup: noLookup })).to.deep.include({ ok: true, address: '8.8.8.8' });
      expect(await resolveAndCheck('[2606:4700::1111]', { lookup: noLookup })).to.deep.include({ ok: true, address: '2606:4700::1111', family: 6 });
    });

    it('treats localhost names as loopback without asking the resolver', async () => {
      for (const host of ['localhost', 'LOCALHOST.', 'foo.localhost']) {
        expect(await resolveAndCheck(host, { lookup: noLookup }), host).to.deep.include({ ok: false, kind: 'blocked', reason: 'loopback' });
      }
    });

    it('rejects malformed hosts', async () => {
      for (const host of ['', '1.2.3.999', 'example.123', 'a..b', '-bad.example', 'exa mple.com', 'ex%61mple.com', '[::1', '[1.2.3.4]', 'ünïcode.example', `${'a'.repeat(64)}.com`, ':::']) {
        expect(await resolveAndCheck(host, { lookup: noLookup }), JSON.stringify(host)).to.deep.include({ ok: false, kind: 'invalid-host' });
      }
    });

    it('reports resolver failures', async () => {
      const enotfound: LookupFn = async () => { throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }); };
      expect(await resolveAndCheck('nx.example', { lookup: enotfound })).to.deep.equal({ ok: false, kind: 'resolve-failed', message: 'could not resolve "nx.example" (ENOTFOUND)' });
      expect(await resolveAndCheck('empty.example', { lookup: answers() })).to.deep.include({ ok: false, kind: 'resolve-failed' });
      expect(await resolveAndCheck('junk.example', { lookup: answers('not-an-ip') })).to.deep.include({ ok: false, kind: 'blocked', reason: 'invalid' });
    });

    describe('allowedPrivateCidrs', () => {
      const allowedPrivateCidrs = cidrs('127.0.0.0/8,::1/128');
      it('opens exactly the listed ranges', async () => {
        expect(await resolveAndCheck('127.0.0.1', { lookup: noLookup, allowedPrivateCidrs })).to.deep.include({ ok: true, address: '127.0.0.1' });
        expect(await resolveAndCheck('127.1', { lookup: noLookup, allowedPrivateCidrs })).to.deep.include({ ok: true, address: '127.0.0.1' });
        expect(await resolveAndCheck('[::1]', { lookup: noLookup, allowedPrivateCidrs })).to.deep.include({ ok: true, address: '::1', family: 6 });
        expect(await resolveAndCheck('localhost', { lookup: noLookup, allowedPrivateCidrs })).to.deep.include({ ok: true, address: '127.0.0.1' });
        expect(await resolveAndCheck('app.test', { lookup: answers('::ffff:127.0.0.1'), allowedPrivateCidrs })).to.deep.include({ ok: true, address: '127.0.0.1' });
      });
      it('keeps everything else closed', async () => {
        for (const host of ['10.0.0.1', '169.254.169.254', '[::2]', '[fe80::1]', '[64:ff9b::7f00:1]', '[2002:7f00:1::]']) {
          expect(await resolveAndCheck(host, { lookup: noLookup, allowedPrivateCidrs }), host).to.deep.include({ ok: false, kind: 'blocked' });
        }
      });
    });
  });
});
