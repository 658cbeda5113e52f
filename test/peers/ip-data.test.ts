import { expect } from 'chai';
import { lookupIp, parseOverrides } from '../../adapters/relay/ip-data.ts';
import { ipTypeOf } from '../../domain/peers/classify.ts';

/** Server-side classification from the bundled @ip-location-db data, both families (the IPv6 table loads on first use). */
describe('peer IP classification from bundled ASN data', function () {
  this.timeout(60_000); // first use parses the CSVs (seconds on a loaded machine)
  const classify = async (ip: string) => {
    const f = await lookupIp(ip, []);
    return { asn: f.asn, type: ipTypeOf(f.asn, f.org) };
  };

  it('classifies IPv6 addresses by their ASN: a cloud as datacenter, a mobile carrier as mobile', async () => {
    expect(await classify('2001:4860:4860::8888')).to.deep.equal({ asn: 15169, type: 'datacenter' }); // Google
    expect(await classify('2607:fb90:1234::1')).to.deep.equal({ asn: 21928, type: 'mobile' }); // T-Mobile USA
    expect((await lookupIp('::ffff:8.8.8.8', [])).asn).to.equal(15169); // v4-mapped goes to the IPv4 table
  });

  it('overrides come first for either family', async () => {
    const o = parseOverrides('2001:db8::/32=mobile:DE');
    expect(await lookupIp('2001:db8::5', o)).to.deep.include({ overrideType: 'mobile', country: 'DE' });
  });

  it('an override may name the ASN and its holder (tests give loopback peers a network)', async () => {
    const o = parseOverrides('127.0.0.2/32=residential:DE:3320:Deutsche Telekom AG,127.0.0.0/8=mobile');
    expect(await lookupIp('127.0.0.2', o)).to.deep.equal({ asn: 3320, org: 'Deutsche Telekom AG', country: 'DE', overrideType: 'residential' });
    expect(await lookupIp('127.0.0.9', o)).to.deep.equal({ asn: null, org: null, country: null, overrideType: 'mobile' });
    expect(() => parseOverrides('127.0.0.1/32=mobile:US:x')).to.throw(/CIDR=type\[:CC\[:ASN\[:org\]\]\]/);
  });
});
