import { expect } from 'chai';
import { parseConnectAuthority, parseProxyAuthorization } from '../../adapters/gateway/http-proxy-auth.ts';

const basic = (userPass: string): string => `Basic ${Buffer.from(userPass, 'utf8').toString('base64')}`;

describe('gateway/http-proxy-auth', () => {
  describe('parseProxyAuthorization', () => {
    it('splits at the first colon: "-" in the username, ":" in the password', () => {
      expect(parseProxyAuthorization(basic('psx_acc-mbl-us-sid-bot01_main:pak_a:b:c'))).to.deep.equal({
        ok: true,
        value: { username: 'psx_acc-mbl-us-sid-bot01_main', password: 'pak_a:b:c' },
      });
    });

    it('accepts any scheme case, surrounding whitespace, an empty password and UTF-8', () => {
      expect(parseProxyAuthorization(`  bAsIc ${Buffer.from('u:').toString('base64')}  `)).to.deep.equal({ ok: true, value: { username: 'u', password: '' } });
      expect(parseProxyAuthorization(basic('ünï:cødé'))).to.deep.equal({ ok: true, value: { username: 'ünï', password: 'cødé' } });
    });

    it('missing header or another scheme → E_AUTH_REQUIRED (so the gateway sends a challenge)', () => {
      for (const h of [undefined, '', '   ']) {
        expect(parseProxyAuthorization(h)).to.deep.equal({ ok: false, error: { code: 'E_AUTH_REQUIRED', message: 'missing Proxy-Authorization header' } });
      }
      expect(parseProxyAuthorization('Bearer abc')).to.deep.equal({
        ok: false,
        error: { code: 'E_AUTH_REQUIRED', message: 'unsupported Proxy-Authorization scheme "Bearer"; use Basic' },
      });
    });

    const invalid: Array<[string, string, RegExp]> = [
      ['no colon', basic('justauser'), /must be username:password/],
      ['empty username', basic(':secret'), /username is empty/],
      ['bad base64 characters', 'Basic dXNlcjpw!XNz', /not valid base64/],
      ['unpadded base64', 'Basic dXNlcjpwYQ', /not valid base64/],
      ['no credentials after the scheme', 'Basic', /not valid base64/],
      ['two tokens', 'Basic dXNlcjpwYXNz extra', /must be "Basic <base64/],
      ['invalid UTF-8', `Basic ${Buffer.from([0x75, 0x3a, 0xff]).toString('base64')}`, /not valid UTF-8/],
      ['control characters', basic('us\ner:pass'), /control characters/],
      ['control characters in the password', basic('user:pa\u0000ss'), /control characters/],
      ['oversized', `Basic ${'A'.repeat(5000)}`, /too long/],
    ];
    for (const [name, header, re] of invalid) {
      it(`${name} → E_AUTH_INVALID`, () => {
        const r = parseProxyAuthorization(header);
        if (r.ok) throw new Error('expected failure');
        expect(r.error.code).to.equal('E_AUTH_INVALID');
        expect(r.error.message).to.match(re);
      });
    }
  });

  describe('parseConnectAuthority', () => {
    const good: Array<[string, { host: string; hostType: string; port: number }]> = [
      ['example.com:443', { host: 'example.com', hostType: 'domain', port: 443 }],
      ['API.Example.COM:8443', { host: 'api.example.com', hostType: 'domain', port: 8443 }],
      ['93.184.215.14:80', { host: '93.184.215.14', hostType: 'ipv4', port: 80 }],
      ['[2606:4700::1111]:443', { host: '2606:4700::1111', hostType: 'ipv6', port: 443 }],
      ['[::FFFF:1.2.3.4]:1', { host: '::ffff:1.2.3.4', hostType: 'ipv6', port: 1 }],
      ['0x7f.1:22', { host: '0x7f.1', hostType: 'domain', port: 22 }], // the SSRF guard reads this as 127.0.0.1
      ['my_host.internal:65535', { host: 'my_host.internal', hostType: 'domain', port: 65535 }],
    ];
    for (const [input, value] of good) {
      it(`${input}`, () => {
        expect(parseConnectAuthority(input)).to.deep.equal({ ok: true, value });
      });
    }

    const bad: Array<[string, RegExp]> = [
      ['', /empty; expected host:port/],
      ['example.com', /needs a port: host:port/],
      ['example.com:', /port "" must be a number/],
      [':443', /empty host/],
      ['example.com:0', /port 0 must be from 1 to 65535/],
      ['example.com:65536', /port 65536/],
      ['example.com:443x', /port "443x"/],
      ['example.com:+443', /port "\+443"/],
      ['example.com:123456', /port "123456"/],
      ['2606:4700::1111:443', /IPv6 addresses must be bracketed/],
      ['[2606:4700::1111]', /needs a port: \[ipv6\]:port/],
      ['[2606:4700::1111]443', /needs a port/],
      ['[2606:4700::1111:443', /without a closing "\]"/],
      ['[not-v6]:443', /is not an IPv6 address/],
      ['[fe80::1%25eth0]:443', /zone ids are not allowed/],
      ['user@example.com:443', /userinfo/],
      ['exa mple.com:443', /not allowed in a host name/],
      ['example.com/path:443', /not allowed in a host name/],
      [`${'a'.repeat(301)}:1`, /too long/],
    ];
    for (const [input, re] of bad) {
      it(`rejects ${JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}…` : input)}`, () => {
        const r = parseConnectAuthority(input);
        if (r.ok) throw new Error(`expected failure, got ${JSON.stringify(r)}`);
        expect(r.error.message).to.match(re);
      });
    }
  });
});
