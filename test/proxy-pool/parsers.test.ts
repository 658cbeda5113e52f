import { expect } from 'chai';
import { csvParser } from '../../adapters/proxy-pool/parsers/csv.ts';
import { htmlTableParser } from '../../adapters/proxy-pool/parsers/html-table.ts';
import { jsonParser } from '../../adapters/proxy-pool/parsers/json.ts';
import { plaintextParser } from '../../adapters/proxy-pool/parsers/plaintext.ts';
import { detectParser, parserNamed } from '../../adapters/proxy-pool/parsers/registry.ts';

const opts = (over: Record<string, string> = {}, defaultProtocol: 'http' | 'socks5' = 'http') => ({ defaultProtocol, options: over });
const p = (ip: string, port: number, protocol = 'http', username: string | null = null, password: string | null = null) => ({ ip, port, protocol, username, password });

describe('proxy-pool parser plugins', () => {
  it('plaintext: ip:port, proto://ip:port, user:pass@ip:port, IPv6 in brackets; comments, junk and repeats skipped', () => {
    const text = [
      '# list', '1.2.3.4:8080', 'socks5://5.6.7.8:1080', 'bob:s3cret@9.9.9.9:3128', 'https://u:p@10.1.1.1:443 extra words',
      '[2001:db8::1]:8080', 'host.example:80', '1.2.3.4:8080', '300.1.1.1:80', '1.1.1.1:70000', '',
    ].join('\r\n');
    expect(plaintextParser.parse(text, opts())).to.deep.equal([
      p('1.2.3.4', 8080), p('5.6.7.8', 1080, 'socks5'), p('9.9.9.9', 3128, 'http', 'bob', 's3cret'), p('10.1.1.1', 443, 'https', 'u', 'p'), p('2001:db8::1', 8080),
    ]);
    expect(plaintextParser.parse('1.2.3.4:1', opts({}, 'socks5'))[0]!.protocol).to.equal('socks5');
    expect(plaintextParser.supports('1.2.3.4:80\n5.6.7.8:81\n', null)).to.equal(true);
    expect(plaintextParser.supports('<html>hello</html>', null)).to.equal(false);
  });

  it('json: arrays of objects with configurable fields, wrapped lists, strings', () => {
    expect(jsonParser.parse(JSON.stringify([{ ip: '1.2.3.4', port: 80, protocol: 'SOCKS4' }, { host: '5.6.7.8', port: '81' }, { ip: 'x', port: 1 }]), opts()))
      .to.deep.equal([p('1.2.3.4', 80, 'socks4'), p('5.6.7.8', 81)]);
    expect(jsonParser.parse(JSON.stringify({ proxies: ['1.1.1.1:1', 'socks5://2.2.2.2:2'] }), opts())).to.deep.equal([p('1.1.1.1', 1), p('2.2.2.2', 2, 'socks5')]);
    const custom = JSON.stringify({ result: [{ a: '3.3.3.3', b: 33, c: 'https', u: 'me', w: 'pw' }] });
    expect(jsonParser.parse(custom, opts({ list_field: 'result', ip_field: 'a', port_field: 'b', protocol_field: 'c', username_field: 'u', password_field: 'w' })))
      .to.deep.equal([p('3.3.3.3', 33, 'https', 'me', 'pw')]);
    expect(jsonParser.supports('[{"ip":"1.1.1.1","port":1}]', null)).to.equal(true);
    expect(jsonParser.supports('1.1.1.1:80', null)).to.equal(false);
    expect(jsonParser.parse('{not json', opts())).to.deep.equal([]);
  });

  it('csv: header row, separators, quoted cells, custom columns, a single proxy column', () => {
    expect(csvParser.parse('IP,Port,Protocol\n1.2.3.4,80,socks5\n"5.6.7.8","81",http\nbad,row\n', opts())).to.deep.equal([p('1.2.3.4', 80, 'socks5'), p('5.6.7.8', 81)]);
    expect(csvParser.parse('addr;p\n1.1.1.1;10\n', opts({ ip_column: 'addr', port_column: 'p' }))).to.deep.equal([p('1.1.1.1', 10)]);
    expect(csvParser.parse('proxy\tcountry\n2.2.2.2:22\tDE\n', opts())).to.deep.equal([p('2.2.2.2', 22)]);
    expect(csvParser.supports('ip,port\n1.1.1.1,1', null)).to.equal(true);
    expect(csvParser.supports('1.1.1.1:1\n', null)).to.equal(false);
  });

  it('html_table: columns from headers (the free-proxy-list shape, Https yes/no), or the first cells', () => {
    const html = `<table class="t"><thead><tr><th>IP Address</th><th>Port</th><th>Code</th><th>Https</th></tr></thead>
      <tbody><tr><td>1.2.3.4</td><td>8080</td><td>US</td><td>yes</td></tr><tr><td><b>5.6.7.8</b></td><td>3128</td><td>DE</td><td>no</td></tr></tbody></table>
      <table><tr><td>9.9.9.9</td><td>1080</td></tr><tr><td>10.0.0.1:81</td></tr></table>`;
    expect(htmlTableParser.parse(html, opts())).to.deep.equal([p('1.2.3.4', 8080, 'https'), p('5.6.7.8', 3128), p('9.9.9.9', 1080), p('10.0.0.1', 81)]);
    expect(htmlTableParser.supports(html, 'text/html')).to.equal(true);
    expect(htmlTableParser.supports('1.1.1.1:80', 'text/plain')).to.equal(false);
  });

  it('the registry finds parsers by name and detects the format with supports()', () => {
    expect(parserNamed('csv')).to.equal(csvParser);
    expect(parserNamed('yaml')).to.equal(undefined);
    expect(detectParser('[{"ip":"1.1.1.1","port":1}]', 'application/json')?.name).to.equal('json');
    expect(detectParser('<table><tr><td>1.1.1.1</td><td>1</td></tr></table>', 'text/html')?.name).to.equal('html_table');
    expect(detectParser('ip,port\n1.1.1.1,1\n', 'text/csv')?.name).to.equal('csv');
    expect(detectParser('1.1.1.1:1\n2.2.2.2:2\n', 'text/plain')?.name).to.equal('plaintext');
    expect(detectParser('hello world', 'text/plain')).to.equal(undefined);
  });
});
